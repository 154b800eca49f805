// Every verdict cheat from issue 2 as its own test: each must end not-passed. Where the cheat would pass a naive
// runner (exit code 0 / printed marker / native ==), the test also shows that, so the check cannot be vacuous.
import { strict as assert } from 'node:assert';
import { cand, makeFixture, task, type VerifyFixture } from '../fixtures/verify/verifyHelpers';
import type { Language } from '../../src/core/types';
import type { Puzzle } from '../../src/core/types';

describe('verify: verdict cheats never pass (real sandbox)', function () {
  this.timeout(60_000);
  let fx: VerifyFixture;
  before(() => {
    fx = makeFixture(3000);
  });
  after(async () => {
    await fx.sandbox.dispose();
  });

  async function notPassed(language: Language, code: string, tests: string, extra = {}): Promise<string> {
    const v = await fx.verifier.verify(task(language, tests, extra), cand(language, code));
    assert.equal(v.passed, false, `cheat passed: ${v.feedback}`);
    assert.notEqual(v.status, 'passed');
    return v.feedback;
  }

  /** The same program without the harness, as a naive runner would run it: exit code and stdout. */
  async function naive(language: Language, program: string): Promise<{ exitCode: number | null; stdout: string }> {
    const r = await fx.sandbox.run({ language, source: program });
    return { exitCode: r.exitCode, stdout: r.stdout };
  }

  const PY_TESTS = 'assert f(2) == 4\nassert f(3) == 9\n';

  it('sys.exit(0) before the tests run', async () => {
    const code = 'import sys\ndef f(x):\n    return 0\nsys.exit(0)\n';
    assert.equal((await naive('python', code + PY_TESTS)).exitCode, 0);
    const fb = await notPassed('python', code, PY_TESTS);
    assert.match(fb, /exited while loading|cannot pass/);
  });

  it('os._exit(0) before the tests run', async () => {
    const code = 'import os\ndef f(x):\n    return 0\nos._exit(0)\n';
    assert.equal((await naive('python', code + PY_TESTS)).exitCode, 0);
    const fb = await notPassed('python', code, PY_TESTS);
    assert.match(fb, /candidate process ended before the tests finished/);
  });

  it('os._exit(0) from inside the function under test (fewer tests ran)', async () => {
    await notPassed(
      'python',
      'import os\ndef f(x):\n    if x == 3:\n        os._exit(0)\n    return x * x\n',
      PY_TESTS,
    );
  });

  it('printing PASSED (and forged report lines on fd 3) then exiting 0', async () => {
    const code =
      'import os, sys\nprint("PASSED")\nprint("All tests passed")\nsys.stdout.flush()\nos.write(3, b"plan {}\\nend {}\\n0123456789abcdef end {}\\n")\nos._exit(0)\n';
    const n = await naive('python', code);
    assert.equal(n.exitCode, 0);
    assert.match(n.stdout, /PASSED/);
    await notPassed('python', code, PY_TESTS);
  });

  it('half a line written to fd 3 cannot swallow a failing report', async () => {
    const code =
      'import os\ndef f(x):\n    if x == 2:\n        os.write(3, b"garbage-without-newline")\n        return 0\n    return x * x\n';
    await notPassed('python', code, 'for i in range(1, 4):\n    assert f(i) == i * i\n');
    const js =
      "const fs = require('fs');\nfunction f(x) { if (x === 2) { fs.writeSync(3, 'junk'); return 0; } return x * x; }\n";
    await notPassed(
      'javascript',
      js,
      "const assert = require('assert');\nfor (const i of [1, 2, 3]) assert.strictEqual(f(i), i * i);\n",
    );
  });

  it('an object whose __eq__ always returns True', async () => {
    const code =
      'class Any:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\ndef f(x):\n    return Any()\n';
    assert.equal((await naive('python', code + PY_TESTS)).exitCode, 0);
    const fb = await notPassed('python', code, PY_TESTS);
    assert.match(fb, /expected: 4/);
  });

  it('an int subclass with an always-True __eq__ is compared by its real value', async () => {
    const code =
      'class Evil(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\ndef f(x):\n    return Evil(0)\n';
    assert.equal((await naive('python', code + PY_TESTS)).exitCode, 0);
    const fb = await notPassed('python', code, PY_TESTS);
    assert.match(fb, /actual: {3}0/);
  });

  it('monkeypatched AssertionError / assert machinery', async () => {
    const code =
      'import builtins\nclass Quiet(BaseException):\n    pass\nbuiltins.AssertionError = Quiet\ndef f(x):\n    return 0\n';
    await notPassed('python', code, PY_TESTS);
  });

  it('monkeypatched test helper (math.isclose) and sys.modules replacement', async () => {
    const tests = 'import math\nassert math.isclose(area(2.0), 12.566, rel_tol=1e-3)\n';
    const patched = 'import math\nmath.isclose = lambda *a, **k: True\ndef area(r):\n    return 0.0\n';
    assert.equal((await naive('python', patched + tests)).exitCode, 0);
    await notPassed('python', patched, tests);
    const swapped =
      'import sys, types\nfake = types.ModuleType("math")\nfake.isclose = lambda *a, **k: True\nsys.modules["math"] = fake\ndef area(r):\n    return 0.0\n';
    assert.equal((await naive('python', swapped + tests)).exitCode, 0);
    await notPassed('python', swapped, tests);
  });

  it('monkeypatched builtins so that test loops run zero times', async () => {
    const code = 'import builtins\nbuiltins.range = lambda *a: []\ndef f(x):\n    return 0\n';
    const tests = 'for i in range(1, 4):\n    assert f(i) == i * i\n';
    assert.equal((await naive('python', code + tests)).exitCode, 0);
    await notPassed('python', code, tests);
  });

  it('overwriting the harness reporting function by name', async () => {
    const code =
      'import builtins\n__crucible_report__ = lambda *a, **k: None\nbuiltins.__crucible_report__ = __crucible_report__\ndef f(x):\n    return 0\n';
    await notPassed('python', code, PY_TESTS);
  });

  it('gc and frames find nothing to forge: the tests and the verdict live in another process', async () => {
    // Hunting through every object and frame of its own process, the candidate finds no test text and no report channel.
    const hunt =
      'import gc, sys\ndef f(x):\n    seen = [o for o in gc.get_objects() if isinstance(o, str) and "assert f(" in o]\n    fr = sys._getframe()\n    while fr.f_back is not None:\n        fr = fr.f_back\n    return len(seen) + 7\n';
    await notPassed('python', hunt, PY_TESTS);
    // The same introspection in an honest program is just Python: it passes, as it would under python3.
    const honest = 'import gc, sys\ngc.collect()\ndef f(x):\n    sys._getframe(0)\n    return x * x\n';
    const v = await fx.verifier.verify(task('python', PY_TESTS), cand('python', honest));
    assert.equal(v.status, 'passed', v.feedback);
  });

  it('skipped tests (unittest.SkipTest) do not count as passed', async () => {
    await notPassed('python', 'import unittest\ndef f(x):\n    raise unittest.SkipTest("skip")\n', PY_TESTS);
    await notPassed('python', 'import unittest\nraise unittest.SkipTest("skip everything")\n', PY_TESTS);
  });

  it('fewer tests ran than exist: a HumanEval check() that is never called', async () => {
    const tests = 'def check(candidate):\n    assert candidate(2) == 4\n';
    // The candidate redefines check so the harness's call does nothing: the plan still has the assert site.
    const code = 'def sq(x):\n    return 0\nimport builtins\nbuiltins.check = lambda c: None\n';
    await notPassed('python', code, tests, { entryPoint: 'sq' });
  });

  it('P3: sol() that monkeypatches sat or returns a str subclass with a lying count()', async () => {
    const puzzle: Puzzle = {
      name: 'oo',
      sat: "def sat(s: str):\n    return s.count('o') == 1000 and s.count('oo') == 0",
      ansType: 'str',
      solHeader: 'def sol():',
      solBodies: [],
    };
    const patchSat =
      'def sat(s):\n    return True\nimport builtins\nbuiltins.sat = sat\ndef sol():\n    return "nope"\n';
    const v1 = await fx.verifier.judgePuzzle(puzzle, patchSat);
    assert.equal(v1.passed, false, v1.feedback);
    const liar =
      'class S(str):\n    def count(self, sub, *a):\n        return 1000 if sub == "o" else 0\ndef sol():\n    return S("o")\n';
    const v2 = await fx.verifier.judgePuzzle(puzzle, liar);
    assert.equal(v2.passed, false, v2.feedback);
    assert.equal(v2.answer, JSON.stringify(['str', 'o']));
    const exit = 'import os\ndef sol():\n    os._exit(0)\n';
    const v3 = await fx.verifier.judgePuzzle(puzzle, exit);
    assert.equal(v3.passed, false, v3.feedback);
  });

  const JS_TESTS = "const assert = require('node:assert');\nassert.equal(f(2), 4);\nassert.strictEqual(f(3), 9);\n";

  it('JS: process.exit(0) before the tests run', async () => {
    const code = 'function f(x) { return 0; }\nprocess.exit(0);\n';
    assert.equal((await naive('javascript', code)).exitCode, 0);
    assert.match(await notPassed('javascript', code, JS_TESTS), /ended before|stopped before/);
  });

  it("JS: process.on('exit') printing PASSED and forcing exit code 0", async () => {
    const code =
      "process.on('exit', () => { console.log('PASSED'); process.exitCode = 0; });\nfunction f(x) { if (x === 3) process.exit(0); return x * x; }\n";
    await notPassed('javascript', code, JS_TESTS);
  });

  it('JS: valueOf / Symbol.toPrimitive objects against loose assert.equal', async () => {
    const valueOf = 'function f(x) { return { valueOf() { return x * x; } }; }\n';
    const t = "const assert = require('assert');\nassert.equal(f(2), 4);\n";
    assert.equal((await naive('javascript', `${valueOf}\n${t}`)).exitCode, 0);
    assert.match(await notPassed('javascript', valueOf, t), /expected: 4\n  actual: .*valueOf/);
    const prim = 'function f(x) { return { [Symbol.toPrimitive]() { return x * x; } }; }\n';
    assert.equal((await naive('javascript', `${prim}\n${t}`)).exitCode, 0);
    await notPassed('javascript', prim, t);
  });

  it('JS: a Proxy that impersonates the expected array', async () => {
    const code = 'function f(x) { return new Proxy([x, x], {}); }\n';
    const t = "const assert = require('assert');\nassert.deepStrictEqual(f(1), [1, 1]);\n";
    assert.equal((await naive('javascript', `${code}\n${t}`)).exitCode, 0);
    assert.match(await notPassed('javascript', code, t), /deepStrictEqual\(f\(1\), \[1, 1\]\)/);
  });

  it('JS: monkeypatched assert module, JSON and Array methods do not reach the verdict', async () => {
    const code =
      'const a = require(\'assert\');\na.strictEqual = () => {};\na.equal = () => {};\nJSON.stringify = () => \'["ok",["num","4"]]\';\nArray.prototype.join = function () { return \'\'; };\nfunction f(x) { return 0; }\n';
    await notPassed('javascript', code, JS_TESTS);
  });

  it('JS: an unclosed comment cannot swallow the tests', async () => {
    await notPassed('javascript', 'function f(x) { return x * x; }\n/*', JS_TESTS + '\n// */\n');
  });

  it('JS: throwing before the tests and calling the site factory by name', async () => {
    await notPassed(
      'javascript',
      'function f(x) { return 0; }\ntry { __crucible_site(0).strictEqual(4, 4); } catch (e) {}\n',
      JS_TESTS,
    );
  });
});
