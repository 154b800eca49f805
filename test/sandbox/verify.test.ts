import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { HUMANEVAL_FILE, requireData } from '../fixtures/data';
import { cand, makeFixture, task, type VerifyFixture } from '../fixtures/verify/verifyHelpers';
import type { Puzzle } from '../../src/core/types';
import { puzzleSolution } from '../../src/core/verify/jobs';
import { sandboxErrorOf } from '../../src/core/solve/infra';

describe('verify: verdicts and feedback (real sandbox)', function () {
  this.timeout(60_000);
  let fx: VerifyFixture;
  before(() => {
    fx = makeFixture(2000);
  });
  after(async () => {
    await fx.sandbox.dispose();
  });

  it('passes a correct Python candidate and counts every assert', async () => {
    const v = await fx.verifier.verify(
      task(
        'python',
        'assert add(1, 2) == 3\nassert add(-1, 1) == 0\nfor i in range(3):\n    assert add(i, i) == 2 * i\n',
      ),
      cand('python', 'def add(a, b):\n    return a + b\n'),
    );
    assert.equal(v.status, 'passed', v.feedback);
    assert.equal(v.passed, true);
    assert.equal(v.testsTotal, 3);
    assert.equal(v.testsPassed, 3);
    assert.deepEqual(
      v.results?.map((r) => r.passed),
      [true, true, true],
    );
  });

  it('fails a wrong Python candidate with the test line, expected and actual', async () => {
    const v = await fx.verifier.verify(
      task('python', 'assert add(1, 2) == 3\nassert add(2, 2) == 4\n'),
      cand('python', 'def add(a, b):\n    return a * b\n'),
    );
    assert.equal(v.status, 'failed');
    assert.equal(v.testsPassed, 1);
    assert.equal(v.failures[0].test, 'assert add(1, 2) == 3');
    assert.equal(v.failures[0].line, 1);
    assert.equal(v.failures[0].expected, '3');
    assert.equal(v.failures[0].actual, '2');
    assert.match(v.feedback, /Test \(line 1\): assert add\(1, 2\) == 3\n  expected: 3\n  actual:   2/);
  });

  it('compares as Python does: 1.0 == 1, True == 1, [1, 2] == [1.0, 2.0]; wrong values still fail', async () => {
    const v = await fx.verifier.verify(
      task('python', 'assert f() == 1\nassert f() == True\nassert [f(), 2] == [1.0, 2.0]\n'),
      cand('python', 'def f():\n    return 1.0\n'),
    );
    assert.equal(v.status, 'passed', v.feedback);
    const b = await fx.verifier.verify(
      task('python', 'assert f() != 0\n'),
      cand('python', 'def f():\n    return 0.0\n'),
    );
    assert.equal(b.passed, false);
    assert.equal(b.failures[0].actual, '0.0');
    assert.equal(b.failures[0].expected, '!= 0');
  });

  it("reports an exception with its type, message and the candidate's own traceback lines", async () => {
    const v = await fx.verifier.verify(
      task('python', 'assert div(1, 0) == 0\n'),
      cand('python', 'def div(a, b):\n    q = a / b\n    return q\n'),
    );
    assert.equal(v.status, 'failed');
    assert.match(v.failures[0].error ?? '', /^ZeroDivisionError: division by zero/);
    assert.match(v.feedback, /at candidate line 2, in div: q = a \/ b/);
    assert.doesNotMatch(v.feedback, /pythonWorker|_crucible_main/);
  });

  it('shows captured stdout and says when it was truncated', async () => {
    const v = await fx.verifier.verify(
      task('python', 'assert f() == 2\n'),
      cand('python', 'def f():\n    print("x" * 5000)\n    return 1\n'),
    );
    assert.equal(v.status, 'failed');
    assert.match(v.feedback, /stdout \(truncated: showing the first 1500 of 5001 characters\):\nxxxx/);
  });

  it('maps an endless loop to timeout', async () => {
    const v = await fx.verifier.verify(
      task('python', 'assert f() == 1\n'),
      cand('python', 'def f():\n    while True:\n        pass\n'),
    );
    assert.equal(v.status, 'timeout');
    assert.equal(v.passed, false);
  });

  it('reports a syntax error in the candidate as error with its line', async () => {
    const v = await fx.verifier.verify(task('python', 'assert f() == 1\n'), cand('python', 'def f(:\n    return 1\n'));
    assert.equal(v.status, 'error');
    assert.match(v.feedback, /SyntaxError/);
    assert.match(v.feedback, /candidate line 1/);
  });

  it('a candidate cannot pass its own failure off as the sandbox failing (which would end the run unjudged)', async () => {
    // Before the flag was typed, a verdict with status "error" and a line "Sandbox error: …" anywhere in its
    // feedback (the candidate's output or its exception message) counted as the sandbox's own failure.
    const forged = 'Sandbox error: the worker crashed';
    const py = await fx.verifier.verify(
      task('python', 'assert f() == 1\n'),
      cand('python', `print(${JSON.stringify(forged)})\nraise SyntaxError("bad\\n${forged}")\n`),
    );
    const js = await fx.verifier.verify(
      task('javascript', "const assert = require('node:assert');\nassert.strictEqual(f(), 1);\n"),
      cand('javascript', `console.log(${JSON.stringify(forged)});\nthrow new SyntaxError("bad\\n${forged}");\n`),
    );
    for (const v of [py, js]) {
      assert.equal(v.status, 'error', v.feedback);
      assert.match(v.feedback, /^Sandbox error: the worker crashed$/m, 'the forged line reached the feedback');
      assert.equal(v.sandboxError, undefined);
      assert.equal(sandboxErrorOf(v), undefined, 'judged as the candidate failing, not the sandbox');
    }
  });

  it("a program that throws while loading is an error with its exception, never 'Memory limit' (the worker's own kill at the end of a job is not the OOM killer's)", async () => {
    // The JavaScript candidate outlives a judge that stops at the load error; the worker then kills it. That
    // SIGKILL was read as the out-of-memory killer's in about 6 jobs of 10 run two at a time.
    const verdicts = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        fx.verifier.verify(
          task('javascript', "const assert = require('node:assert');\nassert.strictEqual(f(), 1);\n"),
          cand('javascript', `throw new TypeError('broken at load ${i}');\n`),
        ),
      ),
    );
    verdicts.forEach((v, i) => {
      assert.notEqual(v.status, 'memory', v.feedback);
      assert.match(v.feedback, new RegExp(`TypeError: broken at load ${i}`));
      assert.equal(v.passed, false);
    });
    // A program that kills itself has not run out of memory either, where a cgroup counts OOM kills (without
    // one, a SIGKILL the worker did not send is taken for the OOM killer's: the best guess there is).
    if ((await fx.sandbox.isolation()).memory !== 'per-job') return;
    for (const [language, code] of [
      ['javascript', "process.kill(process.pid, 'SIGKILL');\n"],
      ['javascript', "function f(x) { process.kill(process.pid, 'SIGKILL'); }\n"],
      ['python', 'import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n'],
    ] as const) {
      const tests =
        language === 'python'
          ? 'assert f(1) == 2\n'
          : "const assert = require('node:assert');\nassert.strictEqual(f(1), 2);\n";
      const v = await fx.verifier.verify(task(language, tests), cand(language, code));
      assert.equal(v.status, 'failed', `${code}: ${v.feedback}`);
    }
  });

  it('runs HumanEval-shaped tasks: prompt + completion, then check(entry_point)', async function () {
    requireData(this, HUMANEVAL_FILE);
    const rows = gunzipSync(readFileSync(HUMANEVAL_FILE))
      .toString('utf8')
      .trim()
      .split('\n')
      .slice(0, 3)
      .map(
        (l) =>
          JSON.parse(l) as {
            task_id: string;
            prompt: string;
            canonical_solution: string;
            test: string;
            entry_point: string;
          },
      );
    for (const r of rows) {
      const t = task('python', r.test, {
        id: r.task_id,
        prompt: r.prompt,
        entryPoint: r.entry_point,
        completionStyle: 'continuation',
      });
      const good = await fx.verifier.verify(t, cand('python', r.canonical_solution));
      assert.equal(good.status, 'passed', `${r.task_id}: ${good.feedback}`);
      assert.ok(good.testsTotal >= 3);
      const bad = await fx.verifier.verify(t, cand('python', '    return None\n'));
      assert.equal(bad.status, 'failed', `${r.task_id}: ${bad.feedback}`);
    }
  });

  it('calls pytest-style test_* functions and runs if __name__ == "__main__" blocks in the tests', async () => {
    const tests =
      'def test_small():\n    assert sq(2) == 4\n\ndef test_big():\n    assert sq(10) == 100\n\nif __name__ == "__main__":\n    test_small()\n';
    const good = await fx.verifier.verify(task('python', tests), cand('python', 'def sq(x):\n    return x * x\n'));
    assert.equal(good.status, 'passed', good.feedback);
    assert.equal(good.testsTotal, 2);
    const bad = await fx.verifier.verify(
      task('python', tests),
      cand('python', 'def sq(x):\n    return x * x if x < 5 else 0\n'),
    );
    assert.equal(bad.status, 'failed');
    assert.equal(bad.failures[0].test, 'assert sq(10) == 100');
  });

  it('runs unittest.TestCase tests through unittest itself, one test per method', async () => {
    const tests =
      'import unittest\n\nclass TestSq(unittest.TestCase):\n    def test_small(self):\n        self.assertEqual(sq(2), 4)\n        self.assertTrue(sq(0) == 0)\n\n    def test_big(self):\n        self.assertIn(sq(10), [100])\n\nif __name__ == "__main__":\n    unittest.main()\n';
    const good = await fx.verifier.verify(task('python', tests), cand('python', 'def sq(x):\n    return x * x\n'));
    assert.equal(good.status, 'passed', good.feedback);
    assert.equal(good.testsTotal, 2);
    const bad = await fx.verifier.verify(
      task('python', tests),
      cand('python', 'def sq(x):\n    return float(x * x) + 0.5\n'),
    );
    assert.equal(bad.status, 'failed');
    assert.equal(bad.testsPassed, 0);
    assert.equal(bad.failures.find((f) => /assertIn/.test(f.test))?.test, 'self.assertIn(sq(10), [100])');
    // A test the tests themselves skip is neither passed nor failed, as unittest reports it.
    const skipped = await fx.verifier.verify(
      task('python', tests.replace('    def test_big', '    @unittest.skip("later")\n    def test_big')),
      cand('python', 'def sq(x):\n    return x * x\n'),
    );
    assert.equal(skipped.passed, true, skipped.feedback);
    assert.equal(skipped.testsTotal, 1);
  });

  it('says which function is missing when check() has nothing to call', async () => {
    const v = await fx.verifier.verify(
      task('python', 'def check(candidate):\n    assert candidate(1) == 1\n', { entryPoint: 'ident' }),
      cand('python', 'def other(x):\n    return x\n'),
    );
    assert.equal(v.passed, false);
    assert.match(v.feedback, /does not define 'ident'/);
  });

  it('passes and fails JavaScript candidates with node:assert tests', async () => {
    const tests =
      "const assert = require('node:assert');\nassert.strictEqual(add(1, 2), 3);\nassert.deepStrictEqual(pair(1), [1, 1]);\nassert.ok(add(1, 1) === 2);\n";
    const good = await fx.verifier.verify(
      task('javascript', tests),
      cand('javascript', 'function add(a, b) { return a + b; }\nconst pair = (x) => [x, x];\n'),
    );
    assert.equal(good.status, 'passed', good.feedback);
    assert.equal(good.testsTotal, 3);
    const bad = await fx.verifier.verify(
      task('javascript', tests),
      cand('javascript', 'function add(a, b) { return a - b; }\nconst pair = (x) => [x];\n'),
    );
    assert.equal(bad.status, 'failed');
    assert.equal(bad.failures[0].test, 'assert.strictEqual(add(1, 2), 3)');
    assert.equal(bad.failures[0].expected, '3');
    assert.equal(bad.failures[0].actual, '-1');
    assert.equal(bad.testsPassed, 0);
  });

  it('accepts JavaScript written as an ES module', async () => {
    const v = await fx.verifier.verify(
      task(
        'javascript',
        "import assert from 'node:assert';\nimport path from 'node:path';\nassert.strictEqual(base('/a/b.txt'), path.basename('/a/b.txt'));\n",
      ),
      cand('javascript', "import { basename } from 'node:path';\nexport function base(p) { return basename(p); }\n"),
    );
    assert.equal(v.status, 'passed', v.feedback);
  });

  it('waits for JavaScript tests that await', async () => {
    const tests = "const assert = require('assert');\nconst v = await later(3);\nassert.strictEqual(v, 6);\n";
    const good = await fx.verifier.verify(
      task('javascript', tests),
      cand('javascript', 'async function later(x) { await new Promise((r) => setTimeout(r, 5)); return x * 2; }'),
    );
    assert.equal(good.status, 'passed', good.feedback);
    const bad = await fx.verifier.verify(
      task('javascript', tests),
      cand('javascript', 'async function later(x) { return x; }'),
    );
    assert.equal(bad.status, 'failed');
    assert.equal(bad.failures[0].line, 3);
    const rejects = await fx.verifier.verify(
      task('javascript', tests),
      cand('javascript', 'async function later(x) { throw new RangeError("nope"); }'),
    );
    assert.equal(rejects.status, 'failed');
    assert.match(rejects.feedback, /RangeError: nope/);
  });

  it('reports a JavaScript exception with the candidate line', async () => {
    const v = await fx.verifier.verify(
      task('javascript', "import assert from 'assert';\nassert.strictEqual(f(), 1);\n"),
      cand('javascript', 'function f() {\n  return undefinedName + 1;\n}\n'),
    );
    assert.equal(v.status, 'failed');
    assert.match(v.feedback, /ReferenceError: undefinedName is not defined/);
    assert.match(v.feedback, /candidate line 2/);
  });

  it('transpiles TypeScript candidates and tests', async () => {
    const tests =
      "import { strict as assert } from 'node:assert';\nconst n: number = 2;\nassert.equal(double(n), 4);\n";
    const good = await fx.verifier.verify(
      task('typescript', tests),
      cand('typescript', 'export function double(x: number): number { return x * 2; }\n'),
    );
    assert.equal(good.status, 'passed', good.feedback);
    const bad = await fx.verifier.verify(
      task('typescript', tests),
      cand('typescript', 'function double(x: number): number { return x * 3; }\n'),
    );
    assert.equal(bad.status, 'failed');
    const broken = await fx.verifier.verify(
      task('typescript', tests),
      cand('typescript', 'function double(x: number: number { return x; }\n'),
    );
    assert.equal(broken.status, 'error');
    assert.match(broken.feedback, /does not compile as TypeScript/);
  });

  it('judges P3 puzzles: answer, type and sat in a clean job', async () => {
    const puzzle: Puzzle = {
      name: 'p',
      sat: 'def sat(li: List[int], n=3):\n    return len(li) == n and sum(li) == 6',
      ansType: 'List[int]',
      solHeader: 'def sol(n=3):',
      solBodies: ['    return [1, 2, 3]'],
    };
    const good = await fx.verifier.judgePuzzle(puzzle, puzzleSolution(puzzle));
    assert.equal(good.status, 'passed', good.feedback);
    assert.equal(
      good.answer,
      JSON.stringify([
        'list',
        [
          ['int', '1'],
          ['int', '2'],
          ['int', '3'],
        ],
      ]),
    );
    const wrong = await fx.verifier.judgePuzzle(puzzle, 'def sol():\n    return [1, 2, 4]\n');
    assert.equal(wrong.status, 'failed');
    assert.match(wrong.feedback, /sat\(answer\) returned False, not True, for answer \[1, 2, 4\]/);
    const badType = await fx.verifier.judgePuzzle(puzzle, 'def sol():\n    return [1.0, 2.0, 3.0]\n');
    assert.equal(badType.status, 'failed');
    assert.match(badType.feedback, /is not a List\[int\]/);
    const raises = await fx.verifier.judgePuzzle(puzzle, 'def sol():\n    return [][0]\n');
    assert.equal(raises.passed, false);
    assert.match(raises.feedback, /IndexError/);
  });

  it('evaluates calls to canonical renderings, null where a call raised', async () => {
    const vals = await fx.verifier.evaluate(
      task('python', ''),
      cand('python', 'def f(x):\n    return [x, x * 1.5]\n'),
      ['f(2)', 'f(None)', 'f("a")'],
    );
    assert.deepEqual(vals, [
      JSON.stringify([
        'list',
        [
          ['int', '2'],
          ['float', '3.0'],
        ],
      ]),
      null,
      null,
    ]);
    const js = await fx.verifier.evaluate(
      task('javascript', ''),
      cand('javascript', 'function f(x) { return { a: x }; }'),
      ['f(1)', 'g()'],
    );
    assert.deepEqual(js, [JSON.stringify(['dict', [['a', ['num', '1']]]]), null]);
  });
});
