// The JavaScript judge/candidate pair (src/core/sandbox/runtime/js), run by the real sandbox worker.
// 1. A differential suite: every fixture program (honest and wrong variants) is judged by the pair and by plain
//    `node file.js` (candidate and tests concatenated); the verdicts must agree 100%.
// 2. Hostile candidates: each attack must end not-passed.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transform } from 'esbuild';
import { createProcessSandbox, type ProcessSandbox } from '../../src/core/sandbox/processSandbox';

const ROOT = join(__dirname, '..', '..');
const CASES = join(ROOT, 'test', 'fixtures', 'jsRuntime');

export interface PairJob {
  spec: { mode: 'tests' | 'evaluate'; tests: string; context?: string; entryPoints?: string[]; calls?: string[] };
  candidate: string;
  timeout?: number;
}
export interface ReportLine {
  t: string;
  ok?: boolean;
  [k: string]: unknown;
}
export interface PairResult {
  report: ReportLine[];
  judge: { code: number | null; stdout: string; stderr: string; timeout?: boolean };
  candidate: { code: number | null; stdout: string; stderr: string };
}

function run(
  cmd: string,
  args: string[],
  input: string,
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = opts.timeoutMs ? setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs) : undefined;
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('error', reject);
    p.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(input);
  });
}

let sandbox: ProcessSandbox | undefined;
after(async () => {
  await sandbox?.dispose();
});

/** Runs jobs through the real sandbox: the worker starts both Node processes, two jobs at a time. */
export async function runPair(jobs: PairJob[]): Promise<PairResult[]> {
  if (!jobs.length) return [];
  sandbox ??= createProcessSandbox({ workers: 2 });
  const sb = sandbox;
  return mapLimit(jobs, 2, async (job) => {
    const wallMs = (job.timeout ?? 20) * 1000; // PairJob.timeout is in seconds
    const r = await sb.runPair({
      language: 'javascript',
      candidate: job.candidate,
      spec: job.spec,
      limits: { wallMs, cpuMs: wallMs },
    });
    const report = r.report
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as ReportLine];
        } catch {
          return [];
        }
      });
    return {
      report,
      judge: {
        code: r.exitCode,
        stdout: r.judgeStdout,
        stderr: r.judgeStderr + (r.error ? `\nsandbox: ${r.error}` : ''),
        timeout: r.status === 'timeout',
      },
      candidate: { code: null, stdout: r.stdout, stderr: r.stderr },
    };
  });
}

/** The verdict rule of docs/verdict.md. */
export function passed(r: PairResult): boolean {
  const rep = r.report;
  const tests = rep.filter((l) => l.t === 'test');
  return (
    rep.some((l) => l.t === 'end') &&
    !rep.some((l) => l.t === 'fatal') &&
    tests.length > 0 &&
    tests.every((l) => l.ok === true)
  );
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const k = next++;
        out[k] = await fn(items[k]);
      }
    }),
  );
  return out;
}

// ───────── fixtures: test/fixtures/jsRuntime/*.cases.js and typescript.cases.txt (TypeScript, kept out of tsc)
// Each file holds cases: `//## name [flags]`, then sections `//# candidate`, `//# tests`, and any number of
// `//# wrong` (a variant of the candidate). Flags: `ts` (TypeScript: transpiled by esbuild for both runs), `tla` (the
// tests use top-level await: plain node runs them inside an async function), `module` (plain node loads the candidate
// as ./util.js and the tests as a separate file).

interface Case {
  file: string;
  name: string;
  flags: Set<string>;
  candidate: string;
  wrong: string[];
  tests: string;
}

function loadCases(): Case[] {
  const out: Case[] = [];
  for (const f of readdirSync(CASES)
    .filter((n) => /\.cases\.(js|txt)$/.test(n))
    .sort()) {
    const text = readFileSync(join(CASES, f), 'utf8');
    const parts = text.split(/^\/\/## /m).slice(1);
    for (const part of parts) {
      const nl = part.indexOf('\n');
      const [name, ...flags] = part.slice(0, nl).trim().split(/\s+/);
      const c: Case = { file: f, name: name!, flags: new Set(flags), candidate: '', wrong: [], tests: '' };
      if (f.startsWith('typescript.')) c.flags.add('ts');
      const sections = part
        .slice(nl + 1)
        .split(/^\/\/# /m)
        .slice(1);
      for (const s of sections) {
        const snl = s.indexOf('\n');
        const kind = s.slice(0, snl).trim();
        const body = s.slice(snl + 1);
        if (kind === 'candidate') c.candidate = body;
        else if (kind === 'tests') c.tests = body;
        else if (kind === 'wrong') c.wrong.push(body);
        else throw new Error(`${f}: ${name}: unknown section ${kind}`);
      }
      out.push(c);
    }
  }
  return out;
}

async function ts(src: string): Promise<string> {
  return (await transform(src, { loader: 'ts', format: 'cjs', target: 'node20' })).code;
}

interface Program {
  label: string;
  candidate: string;
  tests: string;
  flags: Set<string>;
  honest: boolean;
}

async function programs(): Promise<Program[]> {
  const out: Program[] = [];
  for (const c of loadCases()) {
    const variants = [{ code: c.candidate, honest: true }, ...c.wrong.map((w) => ({ code: w, honest: false }))];
    let k = 0;
    for (const v of variants) {
      const candidate = c.flags.has('ts') ? await ts(v.code) : v.code;
      const tests = c.flags.has('ts') ? await ts(c.tests) : c.tests;
      out.push({
        label: `${c.file}:${c.name}${v.honest ? '' : `#wrong${++k}`}`,
        candidate,
        tests,
        flags: c.flags,
        honest: v.honest,
      });
    }
  }
  return out;
}

async function plainNode(p: Program): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'plain-'));
  try {
    const tests = p.flags.has('tla') ? `(async () => {\n${p.tests}\n})();\n` : p.tests;
    if (p.flags.has('module')) {
      writeFileSync(join(dir, 'util.js'), p.candidate);
      writeFileSync(join(dir, 'main.js'), tests);
    } else {
      writeFileSync(join(dir, 'main.js'), `${p.candidate}\n${tests}`);
    }
    const r = await run(process.execPath, ['main.js'], '', { cwd: dir, timeoutMs: 30_000 });
    return r.code === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function describeReport(r: PairResult): string {
  return (
    JSON.stringify(r.report).slice(0, 1500) +
    (r.judge?.stderr ? `\njudge stderr: ${r.judge.stderr.slice(0, 800)}` : '') +
    (r.candidate?.stderr ? `\ncandidate stderr: ${r.candidate.stderr.slice(0, 500)}` : '')
  );
}

describe('JS runtime pair: differential against plain node', function () {
  this.timeout(900_000);
  it('agrees with `node file.js` on every fixture program (honest and wrong)', async () => {
    const progs = await programs();
    const only = process.env.JSRUNTIME_ONLY;
    const sel = only ? progs.filter((p) => p.label.includes(only)) : progs;
    const [plain, pair] = await Promise.all([
      mapLimit(sel, 1, plainNode),
      runPair(
        sel.map((p) => ({
          spec: { mode: 'tests' as const, tests: p.tests, context: '', entryPoints: [] },
          candidate: p.candidate,
          timeout: 30,
        })),
      ),
    ]);
    const disagree: string[] = [];
    let honestPass = 0;
    let wrongFail = 0;
    for (let k = 0; k < sel.length; k++) {
      const a = plain[k];
      const b = passed(pair[k]!);
      if (sel[k]!.honest && a) honestPass++;
      if (!sel[k]!.honest && !a) wrongFail++;
      if (a !== b)
        disagree.push(
          `${sel[k]!.label}: node ${a ? 'passed' : 'failed'}, pair ${b ? 'passed' : 'failed'}\n  ${describeReport(pair[k]!)}`,
        );
    }
    const summary = `${sel.length} programs (${sel.filter((p) => p.honest).length} honest, ${sel.filter((p) => !p.honest).length} wrong); node passes ${honestPass} honest, fails ${wrongFail} wrong; agreement ${sel.length - disagree.length}/${sel.length}`;
    console.log(`      ${summary}`);
    assert.equal(disagree.length, 0, `${summary}\n${disagree.join('\n')}`);
    if (!only) {
      assert.ok(sel.length >= 100, summary);
      // The fixtures are meaningful: honest programs pass and wrong ones fail under plain node.
      assert.equal(honestPass, sel.filter((p) => p.honest).length, 'an honest fixture fails under plain node');
      assert.equal(wrongFail, sel.filter((p) => !p.honest).length, 'a wrong fixture passes under plain node');
    }
  });
});

export { loadCases, programs };

// ───────── hostile candidates (issue 11's JS attack classes): each must end not-passed

const T = "const assert = require('node:assert');\nassert.equal(f(2), 4);\nassert.strictEqual(f(3), 9);\n";

const HOSTILE: { name: string; candidate: string; tests?: string; why?: RegExp }[] = [
  {
    name: 'inspector: evaluateOnCallFrame / Runtime.evaluate looking for the nonce and the tests',
    candidate: `const inspector = require('node:inspector');
const s = new inspector.Session(); s.connect();
let found = '';
s.post('Runtime.evaluate', { expression: 'typeof nonce !== "undefined" ? nonce : (typeof __crucible !== "undefined" ? "c" : "")' }, (e, r) => { found = JSON.stringify(r); });
s.post('Debugger.enable', () => {});
s.on('Debugger.paused', (m) => { s.post('Debugger.evaluateOnCallFrame', { callFrameId: m.params.callFrames[0].callFrameId, expression: 'nonce' }, () => {}); });
function f(x) { return 0; }`,
  },
  {
    name: "process.binding('fs').writeBuffer replaced to rewrite frames in flight",
    candidate: `const b = process.binding('fs');
const orig = b.writeBuffer;
b.writeBuffer = function (fd, buf, ...rest) { const s = Buffer.from(buf).toString().replace(/"ok":false/g, '"ok":true '); return orig.call(this, fd, Buffer.from(s), ...rest); };
b.writeString = function () { return 0; };
function f(x) { return 0; }`,
  },
  {
    name: 'Math.abs overridden (tests compare with a tolerance)',
    candidate: 'Math.abs = () => 0;\nfunction f(x) { return 0; }',
    tests: "const assert = require('assert');\nassert.ok(Math.abs(f(2) - 4) < 1e-9);\n",
  },
  {
    name: 'Array.prototype.sort overridden (tests sort the result)',
    candidate: 'Array.prototype.sort = function () { return [1, 2, 3]; };\nfunction f(xs) { return [9, 9, 9]; }',
    tests: "const assert = require('assert');\nassert.deepStrictEqual(f([3, 1, 2]).sort(), [1, 2, 3]);\n",
  },
  {
    name: 'JSON.stringify overridden (tests compare JSON)',
    candidate: "JSON.stringify = () => '[1,2]';\nfunction f() { return [2, 1]; }",
    tests: "const assert = require('assert');\nassert.strictEqual(JSON.stringify(f()), '[1,2]');\n",
  },
  {
    name: 'a global assert replaced (tests use assert undeclared)',
    candidate:
      'globalThis.assert = Object.assign(() => {}, { equal() {}, strictEqual() {}, deepStrictEqual() {}, ok() {}, rejects: async () => {} });\nfunction f(x) { return 0; }',
    tests: 'assert.equal(f(2), 4);\nassert.strictEqual(f(3), 9);\n',
  },
  {
    name: 'a top-level const assert in the candidate (tests use assert undeclared)',
    candidate: 'const assert = { equal() {}, strictEqual() {} };\nfunction f(x) { return 0; }',
    tests: 'assert.equal(f(2), 4);\n',
  },
  {
    name: "the assert module patched in the candidate's realm",
    candidate:
      "const a = require('assert');\na.strictEqual = () => {};\na.equal = () => {};\nfunction f(x) { return 0; }",
  },
  {
    name: 'assert.rejects with a global assert patched',
    candidate: 'globalThis.assert = { rejects: async () => {} };\nasync function g() { return 1; }',
    tests: "const assert = require('assert');\n(async () => { await assert.rejects(g(), Error); })();\n",
  },
  {
    name: 'assert.notEqual(undefined, null) is judged as Node judges it',
    candidate: 'function f() { return undefined; }',
    tests: "const assert = require('assert');\nassert.notEqual(f(), null);\n",
  },
  {
    name: 'assert.throws(fn, /regex/) with an unrelated error',
    candidate: 'function f(x) { return x.nope.deeper; }',
    tests: "const assert = require('assert');\nassert.throws(() => f({}), /invalid input/);\n",
  },
  {
    name: 'valueOf object against loose assert.equal',
    candidate: 'function f(x) { return { valueOf() { return x * x; } }; }',
  },
  {
    name: 'Symbol.toPrimitive object against loose assert.equal',
    candidate: 'function f(x) { return { [Symbol.toPrimitive]() { return x * x; } }; }',
  },
  {
    name: 'class instance with valueOf/toString (class not named by the tests)',
    candidate:
      'class N { constructor(v) { this.v = v; } valueOf() { return this.v; } toString() { return String(this.v); } }\nfunction f(x) { return new N(x * x); }',
  },
  {
    name: 'a Proxy that impersonates the expected array',
    candidate: 'function f(x) { return new Proxy([x, x], { get(t, k) { return k === "length" ? 2 : 1; } }); }',
    tests: "const assert = require('assert');\nassert.deepStrictEqual(f(1), [1, 1]);\n",
  },
  {
    name: 'a Proxy that claims every key and value',
    candidate:
      'function f() { return new Proxy({}, { ownKeys: () => ["a"], getOwnPropertyDescriptor: () => ({ value: 1, enumerable: true, configurable: true }), get: () => 1 }); }',
    tests: "const assert = require('assert');\nassert.deepStrictEqual(f(), { a: 1 });\n",
  },
  {
    name: 'process.exit(0) while loading',
    candidate: 'function f(x) { return 0; }\nprocess.exit(0);',
    why: /ended before it was ready|exited/,
  },
  {
    name: 'process.exit(0) inside the function under test',
    candidate: 'function f(x) { if (x === 3) process.exit(0); return x * x; }',
  },
  {
    name: "process.on('exit') forcing exit code 0",
    candidate:
      "process.on('exit', () => { process.exitCode = 0; });\nfunction f(x) { if (x === 3) process.exit(1); return x * x; }",
  },
  {
    name: 'forged report lines on fd 4 and fd 1',
    candidate:
      'const fs = require(\'fs\');\ntry { fs.writeSync(4, \'{"t":"test","name":"x","ok":true}\\n{"t":"end"}\\n\'); } catch (e) {}\nconsole.log(\'{"t":"end"}\');\nfunction f(x) { return 0; }',
  },
  {
    name: 'forged frames on fd 3 (a reply before the question)',
    candidate:
      "const fs = require('fs');\nconst body = Buffer.from(JSON.stringify({ k: 'ok', i: 2, v: 4 }));\nconst h = Buffer.alloc(4); h.writeUInt32BE(body.length);\nfs.writeSync(3, Buffer.concat([h, body]));\nfunction f(x) { return 0; }",
  },
  {
    name: 'garbage written to fd 3 in the middle of a call',
    candidate:
      "const fs = require('fs');\nfunction f(x) { if (x === 2) { fs.writeSync(3, 'junk'); return 4; } return x * x; }",
    tests: "const assert = require('assert');\nfor (const i of [1, 2, 3]) assert.strictEqual(f(i), i * i);\n",
  },
  {
    name: 'fd 3 closed by the candidate',
    candidate: "require('fs').closeSync(3);\nfunction f(x) { return x * x; }",
  },
  {
    name: 'reading the tests from disk (cwd and parent directories)',
    candidate:
      "const fs = require('fs');\nconst files = fs.readdirSync('.');\nconst table = files.length ? fs.readFileSync(files[0], 'utf8') : '';\nfunction f(x) { return table.includes('f(2)') ? x * x : 0; }",
  },
  {
    name: "a judge callback's constructor (Function) used to run code",
    candidate:
      "function apply(cb, x) { try { const F = cb.constructor; F('return process')().binding('fs'); } catch (e) {} try { cb.__proto__.constructor('throw 1')(); } catch (e) {} return 0; }",
    tests: "const assert = require('assert');\nassert.strictEqual(apply((v) => v + 1, 1), 2);\n",
  },
  {
    name: 'deeply nested return value (100000 levels)',
    candidate: 'function f(x) { let v = 0; for (let i = 0; i < 100000; i++) v = [v]; return v; }',
    tests: "const assert = require('assert');\nassert.ok(Array.isArray(f(1)));\n",
  },
  {
    name: 'deeply nested object via a thrown error',
    candidate:
      'function f(x) { let v = {}; for (let i = 0; i < 100000; i++) v = { v }; const e = new Error("deep"); e.payload = v; throw e; }',
    tests: "const assert = require('assert');\nassert.throws(() => f(1), /deep/);\nassert.strictEqual(f(2), 4);\n",
  },
  {
    name: 'the candidate swallows its own uncaught errors and keeps serving wrong answers',
    candidate: "process.on('uncaughtException', () => {});\nfunction f(x) { return 0; }",
  },
  {
    name: 'a thenable that resolves to the expected value only when the tests are not looking',
    candidate: 'function f(x) { return { then(r) { r(0); } }; }',
    tests: "const assert = require('assert');\n(async () => { assert.strictEqual(await f(2), 4); })();\n",
  },
  {
    name: 'monkeypatched Object.prototype and Function.prototype in the candidate',
    candidate:
      'Object.prototype.equals = () => true;\nFunction.prototype.call = function () { return 4; };\nObject.defineProperty(Object.prototype, "length", { get() { return 4; } });\nfunction f(x) { return {}; }',
  },
];

describe('JS runtime pair: hostile candidates end not-passed', function () {
  this.timeout(600_000);
  it(`all ${HOSTILE.length} attacks fail`, async () => {
    const results = await runPair(
      HOSTILE.map((h) => ({
        spec: { mode: 'tests' as const, tests: h.tests ?? T, context: '', entryPoints: [] },
        candidate: h.candidate,
        timeout: 20,
      })),
    );
    const bad: string[] = [];
    results.forEach((r, k) => {
      const h = HOSTILE[k]!;
      if (passed(r)) bad.push(`${h.name}: PASSED\n  ${describeReport(r)}`);
      else if (h.why && !h.why.test(JSON.stringify(r.report)))
        bad.push(`${h.name}: not passed, but not for the expected reason\n  ${describeReport(r)}`);
    });
    assert.equal(bad.length, 0, bad.join('\n'));
  });

  it('an honest job still passes next to them, and the judge reports expected/actual on a failing assert', async () => {
    const [good, bad] = await runPair([
      { spec: { mode: 'tests', tests: T }, candidate: 'function f(x) { return x * x; }' },
      { spec: { mode: 'tests', tests: T }, candidate: 'function f(x) { return x + x; }' },
    ]);
    assert.ok(passed(good!), describeReport(good!));
    assert.ok(!passed(bad!));
    const fail = bad!.report.find((l) => l.t === 'test' && l.ok === false)!;
    assert.equal(fail.line, 3);
    assert.equal(fail.expected, '9');
    assert.equal(fail.actual, '6');
  });

  it('evaluate mode renders canonical values, null where a call raised', async () => {
    const [r] = await runPair([
      {
        spec: { mode: 'evaluate', tests: '', calls: ['f(1)', 'g()', 'f(null)'] },
        candidate: 'function f(x) { return { a: x }; }',
      },
    ]);
    const values = r!.report.find((l) => l.t === 'values') as unknown as { values: (string | null)[] };
    assert.deepEqual(values.values, [
      JSON.stringify(['dict', [['a', ['num', '1']]]]),
      null,
      JSON.stringify(['dict', [['a', ['null']]]]),
    ]);
  });

  it('entry points: bound even when the tests do not declare them; a missing one is fatal', async () => {
    const [ok, missing] = await runPair([
      {
        spec: {
          mode: 'tests',
          tests: "const assert = require('assert');\nassert.strictEqual(solve(2), 3);\n",
          entryPoints: ['solve'],
        },
        candidate: 'function solve(x) { return x + 1; }',
      },
      {
        spec: {
          mode: 'tests',
          tests: "const assert = require('assert');\nassert.strictEqual(solve(2), 3);\n",
          entryPoints: ['solve'],
        },
        candidate: 'function other(x) { return x + 1; }',
      },
    ]);
    assert.ok(passed(ok!), describeReport(ok!));
    assert.match(JSON.stringify(missing!.report), /does not define 'solve'/);
  });

  it("trusted context runs in the judge: its helpers are the task's, not the candidate's", async () => {
    const context = 'function helper(x) { return x * 10; }';
    const [r, cheat] = await runPair([
      {
        spec: {
          mode: 'tests',
          tests: "const assert = require('assert');\nassert.strictEqual(f(helper(1)), 11);\n",
          context,
        },
        candidate: 'function f(x) { return x + 1; }',
      },
      {
        spec: {
          mode: 'tests',
          tests: "const assert = require('assert');\nassert.strictEqual(f(helper(1)), 11);\n",
          context,
        },
        candidate: 'function helper(x) { return 9; }\nfunction f(x) { return x + 2; }',
      },
    ]);
    assert.ok(passed(r!), describeReport(r!));
    assert.ok(!passed(cheat!));
  });

  it("the host's current test()/describe() shim still works: each top-level call is a test, async failures fail", async () => {
    const shim =
      "const assert = require('node:assert');\nconst __crucibleRun = (_name, body) => {\n  const result = body();\n  if (result && typeof result.then === 'function') result.then(undefined, (error) => { process.exitCode = 1; throw error; });\n};\nconst test = __crucibleRun;\nconst it = __crucibleRun;\nconst describe = (_name, body) => { body(); };\ntest('adds', () => { assert.strictEqual(add(1, 2), 3); });\ndescribe('more', () => { it('async', async () => { assert.strictEqual(await later(2), 4); }); });\n";
    const [good, bad] = await runPair([
      {
        spec: { mode: 'tests', tests: shim },
        candidate: 'function add(a, b) { return a + b; }\nasync function later(x) { return x * 2; }',
      },
      {
        spec: { mode: 'tests', tests: shim },
        candidate: 'function add(a, b) { return a + b; }\nasync function later(x) { return x * 3; }',
      },
    ]);
    assert.ok(passed(good!), describeReport(good!));
    assert.equal(good!.report.filter((l) => l.t === 'test').length, 2);
    assert.ok(!passed(bad!));
  });
});
