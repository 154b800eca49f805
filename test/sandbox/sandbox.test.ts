import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createProcessSandbox, formatIsolationReport, resolveLimits } from '../../src/core/sandbox/processSandbox';
import type { ProcessSandbox } from '../../src/core/sandbox/processSandbox';
import type { IsolationReport, RunResult } from '../../src/core/sandbox/types';
import {
  childrenOf,
  isAlive,
  jobsStarted,
  processesOwnedBy,
  processesWithMarker,
  settle,
} from '../fixtures/hostile/leftovers';

const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;

function py(source: string): string {
  return source.replace(/^\n/, '');
}

async function noLeftovers(sb: ProcessSandbox): Promise<void> {
  const uids = sb.jobUids();
  assert.deepEqual(
    await settle(() => processesOwnedBy(uids)),
    [],
    `processes still running as job uids ${uids.join(',')}`,
  );
  // A worker's children are its judge zygote (PID 1 of its namespace) and its candidate zygote (which, in its own
  // PID namespace, has one child: the zygote proper). Between jobs none of them has a job process.
  const workers = sb.workerPids();
  const kids = childrenOf(workers);
  assert.ok(kids.length <= 2 * workers.length, `workers have extra children: ${kids.join(',')}`);
  const grandchildren = await settle(() => childrenOf(kids), 200);
  assert.ok(grandchildren.length <= workers.length, `zygotes have extra children: ${grandchildren.join(',')}`);
  assert.deepEqual(await settle(() => childrenOf(grandchildren)), [], 'an idle worker still runs job processes');
}

describe('sandbox: process sandbox basics', function () {
  this.timeout(30_000);
  let sb: ProcessSandbox;
  let report: IsolationReport;

  before(async function () {
    if (!hasPython) this.skip();
    sb = createProcessSandbox({ workers: 2 });
    await sb.ready();
    report = await sb.isolation();
  });

  after(async () => {
    await sb?.dispose();
  });

  afterEach(async () => {
    if (sb) await noLeftovers(sb);
  });

  it('runs Python: stdout, stderr, exit code, stdin and the fd-3 report channel', async () => {
    const r = await sb.run({
      language: 'python',
      source: py(`
import os, sys
data = sys.stdin.read()
print("out:" + data.upper())
print("err line", file=sys.stderr)
os.write(3, b"REPORT 1\\n")
with open(3, "w", closefd=False) as rep:
    rep.write("REPORT 2\\n")
sys.exit(3)
`),
      stdin: 'héllo',
    });
    assert.equal(r.status, 'exited');
    assert.equal(r.exitCode, 3);
    assert.equal(r.signal, null);
    assert.equal(r.stdout, 'out:HÉLLO\n');
    assert.equal(r.stderr, 'err line\n');
    assert.equal(r.report, 'REPORT 1\nREPORT 2\n');
    assert.equal(r.stdoutTruncated, false);
    assert.ok(r.durationMs > 0 && r.durationMs < 5000);
  });

  it('runs Python isolated (-I), with a fresh module state per job', async () => {
    const a = await sb.run({
      language: 'python',
      source: 'import sys, json\njson.MARK = 1\nprint(sys.flags.isolated, __name__, "" in sys.path)',
    });
    assert.equal(a.stdout, '1 __main__ False\n');
    const b = await sb.run({ language: 'python', source: 'import json\nprint(hasattr(json, "MARK"))' });
    assert.equal(b.stdout, 'False\n');
  });

  it('large stdin is delivered whole', async () => {
    const big = 'x'.repeat(300_000) + '\n';
    const r = await sb.run({ language: 'python', source: 'import sys\nprint(len(sys.stdin.read()))', stdin: big });
    assert.equal(r.stdout, `${big.length}\n`);
  });

  it('an uncaught Python exception exits 1 with a traceback trimmed to the program', async () => {
    const r = await sb.run({ language: 'python', source: 'def f(x):\n    return 1 / x\n\nf(0)\n' });
    assert.equal(r.status, 'exited');
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /main\.py", line 4, in <module>/);
    assert.match(r.stderr, /main\.py", line 2, in f/);
    assert.match(r.stderr, /ZeroDivisionError: division by zero/);
    assert.doesNotMatch(r.stderr, /<string>|run_python_program/, 'worker frames leak into the traceback');
  });

  it('Python exit forms: sys.exit(None), sys.exit("msg"), os._exit(7), SyntaxError', async () => {
    const [a, b, c, d] = await Promise.all([
      sb.run({ language: 'python', source: 'import sys\nprint("a")\nsys.exit()' }),
      sb.run({ language: 'python', source: 'import sys\nsys.exit("bye")' }),
      sb.run({ language: 'python', source: 'import os\nprint("c", flush=True)\nos._exit(7)' }),
      sb.run({ language: 'python', source: 'def (:\n' }),
    ]);
    assert.deepEqual([a.exitCode, a.stdout], [0, 'a\n']);
    assert.deepEqual([b.exitCode, b.stderr], [1, 'bye\n']);
    assert.deepEqual([c.exitCode, c.stdout], [7, 'c\n']);
    assert.equal(d.exitCode, 1);
    assert.match(d.stderr, /SyntaxError/);
  });

  it('atexit handlers and non-daemon threads run before a Python job ends', async () => {
    const r = await sb.run({
      language: 'python',
      source: py(`
import atexit, threading, time
atexit.register(lambda: print("atexit ran"))
def work():
    time.sleep(0.05)
    print("thread done", flush=True)
threading.Thread(target=work).start()
print("main done")
`),
    });
    assert.equal(r.stdout, 'main done\nthread done\natexit ran\n');
  });

  it('gives each job a fresh temp dir as cwd, HOME and TMPDIR, and removes it afterwards', async () => {
    const src = py(`
import os, tempfile
open("scratch.txt", "w").write("x")
print(os.getcwd())
print(os.environ["HOME"] == os.getcwd() == os.environ["TMPDIR"] == tempfile.gettempdir())
print(sorted(os.listdir(".")))
`);
    const a = await sb.run({ language: 'python', source: src });
    const b = await sb.run({ language: 'python', source: src });
    const [dirA, sameA, listA] = a.stdout.trim().split('\n');
    const [dirB] = b.stdout.trim().split('\n');
    assert.equal(sameA, 'True');
    assert.equal(listA, "['main.py', 'scratch.txt']");
    assert.notEqual(dirA, dirB);
    // Look at the dir through the worker's own view of the filesystem (it may have a private /tmp).
    for (const pid of sb.workerPids()) {
      assert.equal(existsSync(`/proc/${pid}/root${dirA}`), false, `${dirA} still exists for worker ${pid}`);
    }
    assert.equal(existsSync(dirA!), false);
  });

  it('reduces the environment to an allowlist', async () => {
    process.env.CRUCIBLE_TEST_TOKEN = 'tok-123-secret';
    try {
      const r = await sb.run({ language: 'python', source: 'import os\nprint(sorted(os.environ))' });
      const names = JSON.parse(r.stdout.trim().replace(/'/g, '"')) as string[];
      assert.ok(!names.includes('CRUCIBLE_TEST_TOKEN'));
      for (const n of names)
        assert.match(
          n,
          /^(PATH|LANG|LC_ALL|TZ|USER|LOGNAME|HOME|TMPDIR|TMP|TEMP|PWD|PYTHONIOENCODING|PYTHONDONTWRITEBYTECODE|NODE_NO_WARNINGS)$/,
        );
      const js = await sb.run({
        language: 'javascript',
        source: 'console.log(JSON.stringify(Object.keys(process.env)))',
      });
      assert.ok(!(JSON.parse(js.stdout) as string[]).includes('CRUCIBLE_TEST_TOKEN'));
    } finally {
      delete process.env.CRUCIBLE_TEST_TOKEN;
    }
  });

  it('runs JavaScript: stdout, stderr, exit code, stdin and fd 3', async () => {
    const r = await sb.run({
      language: 'javascript',
      source: [
        "const fs = require('fs');",
        "const input = fs.readFileSync(0, 'utf8');",
        "console.log('js:' + input.trim());",
        "console.error('js err');",
        "fs.writeSync(3, 'R1\\n');",
        'process.exitCode = 4;',
      ].join('\n'),
      stdin: 'abc\n',
    });
    assert.equal(r.status, 'exited');
    assert.deepEqual([r.exitCode, r.stdout, r.stderr, r.report], [4, 'js:abc\n', 'js err\n', 'R1\n']);
  });

  it('a JavaScript exception exits 1 with its stack', async () => {
    const r = await sb.run({
      language: 'javascript',
      source: 'function f() { throw new TypeError("bad thing"); }\nf();',
    });
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /TypeError: bad thing/);
    assert.match(r.stderr, /main\.js:1/);
  });

  it('runs TypeScript after transpiling it (types stripped, imports work)', async () => {
    const r = await sb.run({
      language: 'typescript',
      source: [
        "import { writeSync } from 'fs';",
        'interface P { x: number; y: number }',
        'const add = (p: P): number => p.x + p.y;',
        'enum E { A = 2 }',
        'console.log(add({ x: 1, y: E.A }));',
        "writeSync(3, 'ts report');",
      ].join('\n'),
    });
    assert.equal(r.status, 'exited');
    assert.deepEqual([r.exitCode, r.stdout, r.report], [0, '3\n', 'ts report']);
  });

  it('TypeScript stack traces point at main.ts lines', async () => {
    const r = await sb.run({
      language: 'typescript',
      source: 'type N = number;\n\n\nfunction boom(n: N): N {\n  throw new Error("boom " + n);\n}\nboom(1);\n',
    });
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /Error: boom 1/);
    assert.match(r.stderr, /main\.ts:5:/);
  });

  it('a TypeScript syntax error fails the job with the compiler message (not a sandbox error)', async () => {
    const r = await sb.run({ language: 'typescript', source: 'const x: number = ;\n' });
    assert.equal(r.status, 'exited');
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /main\.ts:1:\d+: error: /);
  });

  describe('limits, each with its own status', () => {
    it('wall time -> timeout (Python sleep)', async () => {
      const t = Date.now();
      const r = await sb.run({
        language: 'python',
        source: 'import time\nprint("start", flush=True)\ntime.sleep(30)',
        limits: { wallMs: 400 },
      });
      assert.equal(r.status, 'timeout');
      assert.equal(r.stdout, 'start\n', 'output before the timeout is kept');
      assert.ok(Date.now() - t < 3000, `took ${Date.now() - t} ms`);
    });

    it('wall time -> timeout (JavaScript busy loop)', async () => {
      const r = await sb.run({ language: 'javascript', source: 'for (;;) {}', limits: { wallMs: 600 } });
      assert.equal(r.status, 'timeout');
    });

    it('CPU time -> timeout, before the wall limit', async () => {
      const t = Date.now();
      const r = await sb.run({
        language: 'python',
        source: 'while True:\n    pass',
        limits: { cpuMs: 500, wallMs: 8000 },
      });
      assert.equal(r.status, 'timeout');
      assert.ok(r.signal === 'SIGXCPU' || r.signal === 'SIGKILL', `signal ${r.signal}`);
      assert.ok(Date.now() - t < 6000, `took ${Date.now() - t} ms`);
    });

    it('CPU time counts all threads of the program', async () => {
      const r = await sb.run({
        language: 'python',
        source:
          'import threading\ndef spin():\n    while True:\n        pass\nfor _ in range(3):\n    threading.Thread(target=spin, daemon=True).start()\nimport time\ntime.sleep(30)',
        limits: { cpuMs: 400, wallMs: 8000 },
      });
      assert.equal(r.status, 'timeout');
      assert.ok(r.durationMs < 5000, `took ${r.durationMs} ms`);
    });

    it('memory -> memory (Python)', async () => {
      const r = await sb.run({
        language: 'python',
        source: 'x = [bytearray(50 * 1024 * 1024) for _ in range(20)]\nprint("allocated")',
        limits: { memoryMb: 128 },
      });
      assert.equal(r.status, 'memory');
      assert.equal(r.stdout, '');
    });

    it('memory -> memory (JavaScript heap)', async () => {
      const r = await sb.run({
        language: 'javascript',
        source: 'const a = []; for (;;) a.push(new Array(1e5).fill(1.5));',
        limits: { memoryMb: 96 },
      });
      assert.equal(r.status, 'memory');
    });

    it('memory limit lets a program use what it was given', async () => {
      const r = await sb.run({
        language: 'python',
        source: 'b = bytearray(100 * 1024 * 1024)\nprint(len(b))',
        limits: { memoryMb: 160 },
      });
      assert.equal(r.status, 'exited');
      assert.equal(r.stdout, `${100 * 1024 * 1024}\n`);
    });

    it('stdout over the cap -> output_limit, keeping exactly the cap', async () => {
      const r = await sb.run({
        language: 'python',
        source: 'import sys\nwhile True:\n    sys.stdout.write("y" * 1000)',
        limits: { outputBytes: 5000 },
      });
      assert.equal(r.status, 'output_limit');
      assert.equal(r.stdoutTruncated, true);
      assert.equal(r.stdout, 'y'.repeat(5000));
    });

    it('stderr over the cap -> output_limit', async () => {
      const r = await sb.run({
        language: 'javascript',
        source: 'for (;;) process.stderr.write("e".repeat(1000));',
        limits: { outputBytes: 4096 },
      });
      assert.equal(r.status, 'output_limit');
      assert.equal(r.stderrTruncated, true);
      assert.equal(r.stderr.length, 4096);
    });

    it('file size -> the write fails (RLIMIT_FSIZE)', async () => {
      const r = await sb.run({
        language: 'python',
        source: py(`
try:
    with open("big.bin", "wb") as f:
        f.write(b"z" * 100000)
    print("wrote")
except OSError as e:
    print("refused", e.errno)
`),
        limits: { fileSizeBytes: 10_000 },
      });
      assert.equal(r.stdout, 'refused 27\n'); // EFBIG
    });

    it('open files -> EMFILE (RLIMIT_NOFILE)', async () => {
      const r = await sb.run({
        language: 'python',
        source: py(`
fs = []
try:
    for i in range(1000):
        fs.append(open("main.py"))
except OSError as e:
    print("stopped", e.errno, len(fs) < 40)
`),
        limits: { openFiles: 32 },
      });
      assert.equal(r.stdout, 'stopped 24 True\n'); // EMFILE
    });

    it('a bad limit value is a clear error', async () => {
      const r = await sb.run({ language: 'python', source: 'print(1)', limits: { wallMs: -5 } });
      assert.equal(r.status, 'error');
      assert.match(r.error ?? '', /invalid limit wallMs=-5/);
      assert.equal(typeof resolveLimits({ memoryMb: Number.NaN }), 'string');
    });
  });

  it('runs jobs concurrently across workers', async () => {
    const src = (i: number) => `import time\nt0 = time.time()\ntime.sleep(0.3)\nprint(${i}, t0, time.time())`;
    const rs = await Promise.all([0, 1, 2, 3].map((i) => sb.run({ language: 'python', source: src(i) })));
    const spans = rs.map((r) => r.stdout.trim().split(' ').map(Number));
    assert.deepEqual(
      spans.map((x) => x[0]),
      [0, 1, 2, 3],
    );
    // Two workers: some pair of jobs must have run at the same time.
    const overlaps = spans.some((a, i) => spans.some((b, j) => i !== j && a[1]! < b[2]! && b[1]! < a[2]!));
    assert.ok(overlaps, `no two jobs overlapped: ${JSON.stringify(spans)}`);
  });

  it('an AbortSignal cancels a running job and a queued one', async () => {
    const ac = new AbortController();
    const t = Date.now();
    const running = sb.run({ language: 'python', source: 'import time\ntime.sleep(20)' }, ac.signal);
    const other = sb.run({ language: 'python', source: 'import time\ntime.sleep(20)' }, ac.signal);
    const queued = sb.run({ language: 'python', source: 'print("never")' }, ac.signal);
    await jobsStarted(sb, 2);
    ac.abort();
    const rs = await Promise.all([running, other, queued]);
    for (const r of rs) {
      assert.equal(r.status, 'error');
      assert.equal(r.error, 'cancelled');
    }
    assert.ok(Date.now() - t < 3000);
    const pre = await sb.run({ language: 'python', source: 'print(1)' }, AbortSignal.abort());
    assert.equal(pre.error, 'cancelled');
  });

  it('an unsupported language is an error', async () => {
    const r = await sb.run({ language: 'ruby' as never, source: 'puts 1' });
    assert.equal(r.status, 'error');
    assert.match(r.error ?? '', /unsupported language: ruby/);
  });

  it('recovers when a worker is killed mid-job', async () => {
    const before = sb.workerPids();
    const job = sb.run({ language: 'python', source: 'import time\ntime.sleep(10)' });
    const job2 = sb.run({ language: 'python', source: 'import time\ntime.sleep(10)' });
    await jobsStarted(sb, 2);
    for (const pid of before) process.kill(pid, 'SIGKILL');
    const [r, r2] = await Promise.all([job, job2]);
    for (const x of [r, r2]) {
      assert.equal(x.status, 'error');
      assert.match(x.error ?? '', /worker died during the job \(signal SIGKILL\); it was restarted/);
    }
    const next = await sb.run({ language: 'python', source: 'print("alive")' });
    assert.equal(next.stdout, 'alive\n');
    const after = sb.workerPids();
    assert.equal(after.length, 2);
    assert.ok(after.every((p) => !before.includes(p)));
  });

  it('kills and replaces a worker that stops answering', async () => {
    const local = createProcessSandbox({ workers: 1, backstopMs: 400 });
    try {
      await local.ready();
      const [w] = local.workerPids();
      const job = local.run({ language: 'python', source: 'import time\ntime.sleep(30)', limits: { wallMs: 300 } });
      await jobsStarted(local);
      // Freeze the worker and its zygote: it can neither time the job out nor answer.
      const frozen = [w!, ...childrenOf([w!])];
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
      const r = await job;
      assert.equal(r.status, 'error');
      assert.match(r.error ?? '', /did not answer within 700 ms; it was killed and restarted/);
      assert.deepEqual(await settle(() => frozen.filter(isAlive), 2000), [], 'the frozen worker survived');
      const next = await local.run({ language: 'python', source: 'print("fresh")' });
      assert.equal(next.stdout, 'fresh\n');
      assert.notEqual(local.workerPids()[0], w);
    } finally {
      await local.dispose();
    }
  });

  it('reports the isolation it measured, and formats it', () => {
    assert.equal(report.platform, process.platform);
    assert.ok(['blocked', 'open'].includes(report.network));
    assert.ok(report.notes.some((n) => n.startsWith('network:')));
    assert.ok(report.notes.some((n) => n.startsWith('memory:')));
    assert.match(report.python ?? '', /^3\.\d+/);
    const text = formatIsolationReport(report);
    assert.match(text, new RegExp(`network\\s+${report.network}`));
    assert.match(text, new RegExp(`processes\\s+${report.processes}`));
    console.log(`      ${text.split('\n').join('\n      ')}`);
  });

  it('dispose stops every worker and later runs fail cleanly', async () => {
    const local = createProcessSandbox({ workers: 2 });
    await local.ready();
    const r = await local.run({ language: 'python', source: 'print(2)' });
    assert.equal(r.stdout, '2\n');
    const pids = local.workerPids();
    assert.equal(pids.length, 2);
    const slow = local.run({ language: 'python', source: 'import time\ntime.sleep(30)' });
    await jobsStarted(local);
    await local.dispose();
    const s = await slow;
    assert.equal(s.status, 'error');
    assert.deepEqual(await settle(() => pids.filter(isAlive)), []);
    assert.deepEqual(await settle(() => processesOwnedBy(local.jobUids())), []);
    const late = await local.run({ language: 'python', source: 'print(3)' });
    assert.equal(late.status, 'error');
    assert.match(late.error ?? '', /disposed/);
  });

  it('a missing Python interpreter: Python jobs fail naming it, JavaScript still runs (best-effort)', async () => {
    const broken = createProcessSandbox({ workers: 1, python: '/nonexistent/python3' });
    try {
      const r = await broken.run({ language: 'python', source: 'print(1)' });
      assert.equal(r.status, 'error');
      assert.match(r.error ?? '', /\/nonexistent\/python3 \(ENOENT\)\. Install Python 3/);
      const js = await broken.run({
        language: 'javascript',
        source: 'console.log(6 * 7); require("fs").writeSync(3, "r")',
      });
      assert.deepEqual([js.status, js.exitCode, js.stdout, js.report], ['exited', 0, '42\n', 'r']);
      const loop = await broken.run({ language: 'javascript', source: 'for (;;) {}', limits: { wallMs: 400 } });
      assert.equal(loop.status, 'timeout');
      const flood = await broken.run({
        language: 'javascript',
        source: 'for (;;) console.log("x".repeat(100))',
        limits: { outputBytes: 1000 },
      });
      assert.equal(flood.status, 'output_limit');
      const report = await broken.isolation();
      assert.equal(report.network, 'open');
      assert.equal(report.processes, 'best-effort');
      assert.ok(report.notes.some((n) => /Python worker unavailable/.test(n)));
    } finally {
      await broken.dispose();
    }
  });

  it('without namespaces (fallback) still runs jobs and kills a detached grandchild', async () => {
    const plain = createProcessSandbox({ workers: 1, namespaces: false });
    try {
      const marker = `crucible-fallback-${process.pid}-${Date.now()}`;
      const r: RunResult = await plain.run({
        language: 'python',
        source: py(`
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(30)", "${marker}"])
    os._exit(0)
time.sleep(0.2)
print("ok")
`),
      });
      assert.equal(r.stdout, 'ok\n');
      assert.deepEqual(await settle(() => processesWithMarker(marker)), []);
      const t = await plain.run({ language: 'python', source: 'while True: pass', limits: { wallMs: 300 } });
      assert.equal(t.status, 'timeout');
      const report = await plain.isolation();
      assert.equal(report.processes, 'best-effort', 'no PID namespace, so containment must not be claimed');
      assert.equal(report.network, 'open', 'no network namespace, so the probe must find the network open');
    } finally {
      await plain.dispose();
    }
  });
});

describe('sandbox: through bubblewrap (the path for machines without unprivileged user namespaces)', function () {
  this.timeout(120_000);
  const hasBwrap = existsSync('/usr/bin/bwrap') || existsSync('/bin/bwrap');

  it('judges a pair job inside bwrap and reports the bwrap path with its isolation', async function () {
    if (!hasPython || !hasBwrap || process.platform !== 'linux') this.skip();
    process.env.CRUCIBLE_SANDBOX_BWRAP = '1';
    const local = createProcessSandbox({ workers: 1 });
    try {
      const good = await local.runPair({
        language: 'python',
        candidate: 'def add(a, b):\n    return a + b\n',
        spec: { mode: 'tests', tests: 'assert add(1, 2) == 3\n' },
      });
      assert.match(good.report, /"ok": true/);
      assert.match(good.report, /"t": "end"/);
      const report = await local.isolation();
      assert.equal(report.path, 'bwrap');
      assert.equal(report.network, 'blocked');
    } finally {
      delete process.env.CRUCIBLE_SANDBOX_BWRAP;
      await local.dispose();
    }
  });
});
