// Hostile programs against the sandbox. Each must end within its limits, not succeed at what it tries,
// leave no process behind and change nothing outside its temp dir. Where this machine cannot enforce a
// property, the test says so (from the isolation report) and skips instead of passing silently.

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { homedir } from 'node:os';
import { createProcessSandbox } from '../../src/core/sandbox/processSandbox';
import type { ProcessSandbox } from '../../src/core/sandbox/processSandbox';
import type { IsolationReport, Limits, RunResult } from '../../src/core/sandbox/types';
import type { Language } from '../../src/core/types';
import { childrenOf, isAlive, processesOwnedBy, processesWithMarker, settle } from '../fixtures/hostile/leftovers';

const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;
const SECRET = `sk-crucible-fake-${process.pid}-do-not-leak`;
const RUN_ID = `crucible-hostile-${process.pid}-${Date.now().toString(36)}`;

interface Ctx {
  unsafe?: boolean;
  sb: ProcessSandbox;
  report: IsolationReport;
  port: number;
  connections: number;
}

interface Case {
  name: string;
  language: Language;
  /** Program text; MARKER, PORT, CANARY and TESTPID are substituted. */
  source: string;
  limits?: Partial<Limits>;
  /** Return a reason to skip on this machine, or undefined to run. */
  needs?: (report: IsolationReport) => string | undefined;
  check: (r: RunResult, ctx: Ctx) => void | Promise<void>;
}

const needsContainment = (r: IsolationReport) =>
  r.processes === 'contained'
    ? undefined
    : `processes are only ${r.processes} here: ${r.notes.find((n) => n.startsWith('processes:')) ?? ''}`;
const needsNetworkBlocked = (r: IsolationReport) =>
  r.network === 'blocked' ? undefined : `network is open here: ${r.notes.find((n) => n.startsWith('network:')) ?? ''}`;
const needsPrivateFs = (r: IsolationReport) =>
  r.filesystem === 'private'
    ? undefined
    : `home is readable by jobs here: ${r.notes.find((n) => n.startsWith('filesystem:')) ?? ''}`;
const needsMemory = (r: IsolationReport) =>
  r.memory === 'enforced' ? undefined : `memory limits are only ${r.memory} here`;

function notSucceeded(r: RunResult): void {
  assert.ok(
    !(r.status === 'exited' && r.exitCode === 0),
    `expected the program not to finish cleanly, got ${r.status}/${r.exitCode}: ${r.stdout.slice(0, 200)}`,
  );
}

const CANARY_DIRS = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock', process.cwd(), homedir(), '/etc'];
const UNIX_SOCKET = `/run/${RUN_ID}.sock`;

const cases: Case[] = [
  {
    name: 'Python infinite loop -> timeout',
    language: 'python',
    source: 'while True:\n    pass',
    limits: { wallMs: 700 },
    check: (r) => assert.equal(r.status, 'timeout'),
  },
  {
    name: 'Python loop that swallows every exception and ignores SIGTERM/SIGINT/SIGXCPU/SIGHUP -> timeout',
    language: 'python',
    source: [
      'import signal',
      'for s in (signal.SIGTERM, signal.SIGINT, signal.SIGXCPU, signal.SIGHUP, signal.SIGALRM):',
      '    signal.signal(s, signal.SIG_IGN)',
      'while True:',
      '    try:',
      '        while True:',
      '            pass',
      '    except BaseException:',
      '        pass',
    ].join('\n'),
    limits: { wallMs: 700 },
    check: (r) => assert.equal(r.status, 'timeout'),
  },
  {
    name: 'Python that ignores SIGXCPU is still stopped by the CPU limit',
    language: 'python',
    source: 'import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass',
    limits: { cpuMs: 500, wallMs: 15_000 },
    check: (r) => {
      // The worker samples CPU time (RLIMIT_CPU, whole seconds, is the backstop): killed long before the wall limit.
      assert.equal(r.status, 'timeout');
      assert.equal(r.signal, 'SIGKILL');
      assert.ok(r.durationMs < 8000, `took ${r.durationMs} ms`);
    },
  },
  {
    name: 'JavaScript that ignores SIGTERM and SIGINT in a busy loop -> timeout',
    language: 'javascript',
    source: "process.on('SIGTERM', () => {}); process.on('SIGINT', () => {}); for (;;) {}",
    limits: { wallMs: 800 },
    check: (r) => assert.equal(r.status, 'timeout'),
  },
  {
    name: 'JavaScript timer that keeps the event loop alive forever -> timeout',
    language: 'javascript',
    source: "setInterval(() => process.stdout.write('.'), 50);",
    limits: { wallMs: 600 },
    check: (r) => {
      assert.equal(r.status, 'timeout');
      assert.match(r.stdout, /^\.+$/);
    },
  },
  {
    name: 'TypeScript endless promise chain keeping the loop busy -> timeout',
    language: 'typescript',
    source: 'const spin = (n: number): Promise<number> => Promise.resolve(n + 1).then(spin);\nspin(0);',
    limits: { wallMs: 800, memoryMb: 128 },
    check: (r) => assert.ok(['timeout', 'memory'].includes(r.status), r.status),
  },
  {
    name: 'Python fork bomb is bounded and leaves nothing behind',
    language: 'python',
    source: ['import os', 'while True:', '    try:', '        os.fork()', '    except OSError:', '        pass'].join(
      '\n',
    ),
    limits: { wallMs: 1200 },
    needs: needsContainment,
    check: (r) => notSucceeded(r),
  },
  {
    name: 'shell fork bomb started from JavaScript is bounded and leaves nothing behind',
    language: 'javascript',
    source:
      "require('child_process').spawn('/bin/sh', ['-c', 'f() { f | f & }; f'], { stdio: 'ignore', detached: true }).unref();\nsetTimeout(() => {}, 60000);",
    limits: { wallMs: 1200 },
    needs: needsContainment,
    check: (r) => notSucceeded(r),
  },
  {
    name: 'Python setsid grandchild outliving its parent is killed with the job',
    language: 'python',
    source: [
      'import os, sys, time',
      'if os.fork() == 0:',
      '    os.setsid()',
      '    if os.fork() == 0:',
      '        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", "MARKER"])',
      '    os._exit(0)',
      'os.wait()',
      'time.sleep(0.2)',
      'print("parent done")',
    ].join('\n'),
    check: (r) => assert.equal(r.stdout, 'parent done\n'),
  },
  {
    name: 'Python double-forked daemon that would write outside later is killed first',
    language: 'python',
    source: [
      'import os, time',
      'if os.fork() == 0:',
      '    os.setsid()',
      '    if os.fork() == 0:',
      '        for fd in (0, 1, 2, 3):',
      '            os.close(fd)',
      '        time.sleep(0.8)',
      '        for d in ("/tmp", "/var/tmp", "/dev/shm", os.environ.get("HOME", "/tmp")):',
      '            try:',
      '                open(os.path.join(d, "CANARY"), "w").write("daemon was here")',
      '            except OSError:',
      '                pass',
      '        time.sleep(60)',
      '    os._exit(0)',
      'os.wait()',
      'print("daemon started")',
    ].join('\n'),
    check: async (r) => {
      assert.equal(r.stdout, 'daemon started\n');
      await new Promise((res) => setTimeout(res, 1000));
    },
  },
  {
    name: 'background process holding stdout open does not hold the job open',
    language: 'python',
    source: [
      'import os, time',
      'if os.fork() == 0:',
      '    time.sleep(60)',
      '    os._exit(0)',
      'print("main exits")',
    ].join('\n'),
    limits: { wallMs: 5000 },
    check: (r) => {
      assert.equal(r.stdout, 'main exits\n');
      assert.ok(r.durationMs < 2000, `job took ${r.durationMs} ms`);
    },
  },
  {
    name: 'JavaScript detached child (spawn detached + unref) is killed with the job',
    language: 'javascript',
    source:
      "const cp = require('child_process');\ncp.spawn('/bin/sleep', ['60', 'MARKER'], { detached: true, stdio: 'ignore' }).unref();\nconsole.log('spawned');",
    needs: needsContainment,
    check: (r) => assert.equal(r.stdout, 'spawned\n'),
  },
  {
    name: 'Python memory bomb -> memory',
    language: 'python',
    source: 'chunks = []\nwhile True:\n    chunks.append(b"x" * 10_000_000)',
    limits: { memoryMb: 128 },
    needs: needsMemory,
    check: (r) => assert.equal(r.status, 'memory'),
  },
  {
    name: 'JavaScript Buffer memory bomb -> memory',
    language: 'javascript',
    source: 'const a = []; for (;;) a.push(Buffer.alloc(8 * 1024 * 1024, 7));',
    limits: { memoryMb: 128 },
    needs: needsMemory,
    check: (r) => assert.equal(r.status, 'memory'),
  },
  {
    name: 'Python deep recursion with the recursion limit lifted crashes, not passes',
    language: 'python',
    source: 'import sys\nsys.setrecursionlimit(10**8)\ndef f(n):\n    return f(n + 1) + 1\nprint(f(0))',
    limits: { memoryMb: 64, wallMs: 6000 },
    check: (r) => {
      notSucceeded(r);
      assert.equal(r.stdout, '');
    },
  },
  {
    name: 'JavaScript deep recursion -> RangeError, exit 1',
    language: 'javascript',
    source: 'function f(n) { return f(n + 1) + 1; }\nconsole.log(f(0));',
    check: (r) => {
      assert.equal(r.exitCode, 1);
      assert.match(r.stderr, /RangeError: Maximum call stack size exceeded/);
    },
  },
  {
    name: 'Python huge single line -> output_limit with the cap kept',
    language: 'python',
    source: 'import sys\nsys.stdout.write("A" * 50_000_000)',
    check: (r) => {
      assert.equal(r.status, 'output_limit');
      assert.equal(r.stdout.length, 64 * 1024);
      assert.equal(r.stdoutTruncated, true);
    },
  },
  {
    name: 'JavaScript huge single line -> output_limit',
    language: 'javascript',
    source: "process.stdout.write('B'.repeat(30_000_000));",
    check: (r) => {
      assert.equal(r.status, 'output_limit');
      assert.equal(r.stdout.length, 64 * 1024);
    },
  },
  {
    name: 'flood on the report channel (fd 3) -> output_limit',
    language: 'python',
    source: 'import os\nwhile True:\n    os.write(3, b"R" * 65536)',
    check: (r) => assert.equal(r.status, 'output_limit'),
  },
  {
    name: 'invalid UTF-8 on stdout, stderr and fd 3 is decoded with replacement characters',
    language: 'python',
    source:
      'import os, sys\nsys.stdout.buffer.write(b"ok\\xff\\xfe\\x80abc\\xc3")\nsys.stderr.buffer.write(b"\\xed\\xa0\\x80err")\nos.write(3, b"\\xffrep")',
    check: (r) => {
      assert.equal(r.status, 'exited');
      assert.equal(r.stdout, 'ok\uFFFD\uFFFD\uFFFDabc\uFFFD');
      assert.match(r.stderr, /\uFFFD+err$/);
      assert.equal(r.report, '\uFFFDrep');
    },
  },
  {
    name: 'Python cannot read ~/.ssh, /root or /etc/shadow',
    language: 'python',
    source: [
      'import os',
      `home = ${JSON.stringify(homedir())}`,
      'for p in [os.path.join(home, ".ssh"), home, "/root", "/home"]:',
      '    try:',
      '        print(p, "LIST", os.listdir(p))',
      '    except OSError as e:',
      '        print(p, "DENIED", e.errno)',
      'for p in [os.path.join(home, ".ssh", "id_rsa"), os.path.join(home, ".ssh", "id_ed25519"), os.path.join(home, ".bashrc"), os.path.join(home, ".gitconfig"), "/etc/shadow"]:',
      '    try:',
      '        print(p, "READ", open(p).read()[:200])',
      '    except OSError as e:',
      '        print(p, "DENIED", e.errno)',
    ].join('\n'),
    needs: needsPrivateFs,
    check: (r) => {
      assert.equal(r.status, 'exited');
      assert.doesNotMatch(r.stdout, / READ /, r.stdout);
      const hostEntries = readdirSync(homedir()).filter((e) => e !== '.pyenv');
      for (const e of hostEntries) assert.ok(!r.stdout.includes(`'${e}'`), `job saw ${e} in the home directory`);
      for (const f of ['.bashrc', '.gitconfig']) {
        const path = `${homedir()}/${f}`;
        if (existsSync(path)) {
          const text = readFileSync(path, 'utf8').trim().slice(0, 40);
          if (text) assert.ok(!r.stdout.includes(text), `content of ${path} leaked`);
        }
      }
    },
  },
  {
    name: 'Python finds no secret in its environment or in other processes\u2019 environments',
    language: 'python',
    source: [
      'import os',
      'print(dict(os.environ))',
      'for p in ["/proc/self/environ", "/proc/1/environ", "/proc/TESTPID/environ", "/proc/TESTPID/cmdline"]:',
      '    try:',
      '        print(p, open(p, "rb").read())',
      '    except OSError as e:',
      '        print(p, "DENIED", e.errno)',
      'import subprocess',
      'try:',
      '    print(subprocess.run(["/bin/sh", "-c", "env; cat /proc/*/environ 2>/dev/null"], capture_output=True).stdout)',
      'except OSError as e:',
      '    print("sh", e)',
    ].join('\n'),
    check: (r) => {
      assert.equal(r.status, 'exited');
      for (const text of [r.stdout, r.stderr, r.report]) assert.ok(!text.includes(SECRET), 'the secret leaked');
      assert.match(r.stdout, /'PATH'/, 'the program did print its environment');
    },
  },
  {
    name: 'JavaScript finds no secret in process.env or /proc',
    language: 'javascript',
    source: [
      "const fs = require('fs');",
      'console.log(JSON.stringify(process.env));',
      "for (const p of ['/proc/self/environ', '/proc/1/environ', '/proc/TESTPID/environ', '/proc/' + process.ppid + '/environ']) {",
      "  try { console.log(p, fs.readFileSync(p, 'latin1')); } catch (e) { console.log(p, 'DENIED', e.code); }",
      '}',
    ].join('\n'),
    check: (r) => {
      assert.equal(r.status, 'exited');
      assert.ok(!(r.stdout + r.stderr).includes(SECRET), 'the secret leaked');
      assert.match(r.stdout, /"PATH"/);
    },
  },
  {
    name: 'Python writing outside its temp dir changes nothing on the host',
    language: 'python',
    source: [
      'import os',
      `dirs = ${JSON.stringify(CANARY_DIRS)} + [".."]`,
      'for d in dirs:',
      '    p = os.path.join(d, "CANARY")',
      '    try:',
      '        with open(p, "w") as f:',
      '            f.write("escaped")',
      '        print("WROTE", p)',
      '    except OSError as e:',
      '        print("DENIED", p, e.errno)',
    ].join('\n'),
    check: () => {
      /* the shared after-check proves no CANARY exists on the host */
    },
  },
  {
    name: 'files a job leaves in /tmp are gone before the next job',
    language: 'python',
    source: [
      'import os',
      'seen = [p for p in ("/tmp/CANARY", "/var/tmp/CANARY", "/dev/shm/CANARY") if os.path.exists(p)]',
      'print("seen", seen)',
      'for p in ("/tmp/CANARY", "/var/tmp/CANARY", "/dev/shm/CANARY"):',
      '    try:',
      '        open(p, "w").write("x")',
      '    except OSError:',
      '        pass',
    ].join('\n'),
    check: async (r, ctx) => {
      assert.equal(r.stdout, 'seen []\n');
      // Run the same check twice more; both workers must have wiped what the previous job wrote.
      const again = await Promise.all(
        [0, 1].map(() =>
          ctx.sb.run({
            language: 'python',
            source:
              'import os\nprint([p for p in ("/tmp/CANARY", "/var/tmp/CANARY", "/dev/shm/CANARY") if os.path.exists(p)])'.replace(
                /CANARY/g,
                `${RUN_ID}-canary`,
              ),
          }),
        ),
      );
      for (const a of again) assert.equal(a.stdout, '[]\n');
    },
  },
  {
    name: 'Python cannot connect to a local TCP listener or resolve names',
    language: 'python',
    source: [
      'import socket',
      'try:',
      '    socket.create_connection(("127.0.0.1", PORT), timeout=2).close()',
      '    print("CONNECTED")',
      'except OSError as e:',
      '    print("refused", e.errno)',
      'try:',
      '    print("RESOLVED", socket.getaddrinfo("example.com", 80)[:1])',
      'except OSError as e:',
      '    print("no dns", e.errno)',
    ].join('\n'),
    needs: needsNetworkBlocked,
    check: (r, ctx) => {
      assert.doesNotMatch(r.stdout, /CONNECTED|RESOLVED/);
      assert.equal(ctx.connections, 0, 'the listener saw a connection');
    },
  },
  {
    name: 'Python cannot reach a host Unix socket under /run (which bypasses the network namespace)',
    language: 'python',
    source: [
      'import socket',
      's = socket.socket(socket.AF_UNIX)',
      'try:',
      '    s.connect("UNIXSOCK")',
      '    print("CONNECTED")',
      'except OSError as e:',
      '    print("refused", e.errno)',
    ].join('\n'),
    needs: (r) =>
      r.notes.some((n) => /hidden [^)]*\/run/.test(n))
        ? undefined
        : '/run is not hidden from jobs here (no mount namespace)',
    check: (r, ctx) => {
      assert.match(r.stdout, /^refused /);
      assert.equal(ctx.connections, 0);
    },
  },
  {
    name: 'JavaScript cannot connect to a local TCP listener',
    language: 'javascript',
    source: [
      "const net = require('net');",
      "const s = net.connect(PORT, '127.0.0.1', () => { console.log('CONNECTED'); s.destroy(); });",
      "s.on('error', (e) => console.log('refused', e.code));",
    ].join('\n'),
    needs: needsNetworkBlocked,
    check: (r, ctx) => {
      assert.match(r.stdout, /^refused /);
      assert.equal(ctx.connections, 0);
    },
  },
  {
    name: 'Python kill of its parent (os.kill(os.getppid(), 9)) does not reach the worker',
    language: 'python',
    source:
      'import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n    print("sent")\nexcept OSError as e:\n    print("refused", e.errno)\nimport time\ntime.sleep(0.2)\nprint("still here")',
    check: () => undefined,
  },
  {
    name: 'Python kill(-1, SIGKILL) reaches nothing outside the job',
    language: 'python',
    source:
      'import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError as e:\n    print("refused", e.errno)\nprint("after")',
    check: () => undefined,
  },
  {
    name: 'JavaScript kill of its parent does not reach the worker',
    language: 'javascript',
    source:
      "try { process.kill(process.ppid, 'SIGKILL'); console.log('sent'); } catch (e) { console.log('refused', e.code); }",
    check: () => undefined,
  },
  {
    name: 'Python cannot raise its own limits or become root',
    language: 'python',
    source: [
      'import os, resource',
      'try:',
      '    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))',
      '    print("RAISED")',
      'except (ValueError, OSError) as e:',
      '    print("limit kept")',
      'try:',
      '    os.setuid(0)',
      '    print("ROOT")',
      'except OSError as e:',
      '    print("not root", e.errno)',
      'import subprocess',
      'r = subprocess.run(["/bin/sh", "-c", "id -u; su -c id root 2>&1 || true; sudo -n id 2>&1 || true"], capture_output=True, text=True)',
      'print(r.stdout)',
    ].join('\n'),
    needs: (r) =>
      r.notes.some((n) => /jobs run as uid \d+/.test(n))
        ? undefined
        : 'jobs keep the host user here (no uid to drop to)',
    check: (r) => {
      assert.doesNotMatch(r.stdout, /RAISED|ROOT/);
      assert.doesNotMatch(r.stdout.split('\n').slice(2).join('\n'), /uid=0\b|^0$/m);
    },
  },
  {
    name: 'only fds 0-3 are open in a job (no handle on the worker protocol to forge results)',
    language: 'python',
    source:
      'import os\nprint(sorted(int(f) for f in os.listdir("/proc/self/fd") if int(f) < 1000 and os.path.exists("/proc/self/fd/" + f)))',
    check: (r) => assert.equal(r.stdout, '[0, 1, 2, 3]\n'),
  },
  {
    name: 'JavaScript cannot write to fds beyond 3',
    language: 'javascript',
    source:
      "const fs = require('fs');\nconst ok = [];\nfor (let fd = 4; fd < 64; fd++) { try { fs.writeSync(fd, 'x'); ok.push(fd); } catch {} }\nconsole.log(JSON.stringify(ok));",
    check: (r) => {
      // Node opens a few descriptors of its own (epoll, eventfd); none of them is a pipe to the worker.
      assert.equal(r.status, 'exited');
      for (const fd of JSON.parse(r.stdout) as number[]) assert.ok(fd > 3);
    },
  },
  {
    name: 'a job that closes its stdout/stderr and sleeps is still timed out',
    language: 'python',
    source: 'import os, time\nos.close(1)\nos.close(2)\nos.close(3)\ntime.sleep(60)',
    limits: { wallMs: 600 },
    check: (r) => assert.equal(r.status, 'timeout'),
  },
  {
    name: 'a job that stops itself (SIGSTOP) is still timed out',
    language: 'python',
    source: 'import os, signal\nprint("stopping", flush=True)\nos.kill(os.getpid(), signal.SIGSTOP)\nprint("resumed")',
    limits: { wallMs: 600 },
    check: (r) => {
      assert.equal(r.status, 'timeout');
      assert.equal(r.stdout, 'stopping\n');
    },
  },
  {
    name: 'filling the disk stops at the file size limit and the private /tmp size',
    language: 'python',
    source: [
      'import os',
      'n = 0',
      'try:',
      '    while True:',
      '        with open("f%d" % n, "wb") as f:',
      '            f.write(b"z" * (1 << 20))',
      '        n += 1',
      'except OSError as e:',
      '    print("stopped after", n, "files:", e.strerror)',
      '    raise',
    ].join('\n'),
    limits: { wallMs: 4000 },
    needs: (r) =>
      r.notes.some((n) => n.includes('mount namespace'))
        ? undefined
        : 'no private /tmp here: the job dir is on the host disk',
    check: (r) => {
      notSucceeded(r);
      assert.match(r.stdout, /stopped after \d+ files/);
    },
  },
];

interface SuiteOptions {
  title: string;
  namespaces: boolean;
  select: (c: Case) => boolean;
  /** `needs` checks this suite deliberately runs anyway (it tests the best-effort path). */
  ignoreNeeds: ((r: IsolationReport) => string | undefined)[];
}

function hostileSuite(opts: SuiteOptions): void {
  describe(opts.title, function () {
    this.timeout(20_000);
    const ctx = { connections: 0 } as Ctx;
    let server: Server;
    let unixServer: Server | undefined;

    before(async function () {
      // The isolation probe runs a dozen jobs; on a loaded machine that takes a while.
      this.timeout(120_000);
      if (!hasPython) this.skip();
      process.env.CRUCIBLE_FAKE_SECRET = SECRET;
      process.env.GITHUB_TOKEN_FAKE_FOR_TEST = SECRET;
      server = createServer((s) => {
        ctx.connections++;
        s.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      ctx.port = (server.address() as AddressInfo).port;
      if (existsSync('/run')) {
        unixServer = createServer((s) => {
          ctx.connections++;
          s.destroy();
        });
        await new Promise<void>((resolve) => {
          unixServer!.once('error', () => resolve());
          unixServer!.listen(UNIX_SOCKET, resolve);
        });
        // World-writable, so only its invisibility can stop a job from connecting.
        if (existsSync(UNIX_SOCKET)) chmodSync(UNIX_SOCKET, 0o777);
      }
      ctx.sb = createProcessSandbox({ workers: 2, namespaces: opts.namespaces });
      ctx.report = await ctx.sb.isolation();
      // Safety first: signal 0 only checks permission. If a job could signal processes outside itself,
      // running kill(-1, SIGKILL) or a fork bomb here would hurt the machine: skip the suite instead.
      const probe = await ctx.sb.run({
        language: 'python',
        source:
          'import os\nfor t in (-1, 1, os.getppid()):\n    try:\n        os.kill(t, 0)\n        print("SIGNALABLE", t)\n    except OSError:\n        pass\nprint(os.getuid())',
      });
      if (probe.status !== 'exited' || /SIGNALABLE/.test(probe.stdout) || probe.stdout.trim() === '0') {
        console.log(
          `      skipped on this machine: jobs can signal other processes or run as root (${probe.stdout.trim() || probe.status}${probe.error ? `: ${probe.error}` : ''})`,
        );
        ctx.unsafe = true;
      }
    });

    after(async () => {
      delete process.env.CRUCIBLE_FAKE_SECRET;
      delete process.env.GITHUB_TOKEN_FAKE_FOR_TEST;
      server?.close();
      unixServer?.close();
      await ctx.sb?.dispose();
    });

    for (const c of cases.filter(opts.select)) {
      it(c.name, async function () {
        if (ctx.unsafe) this.skip();
        const skip = c.needs && !opts.ignoreNeeds.includes(c.needs) ? c.needs(ctx.report) : undefined;
        if (skip) {
          console.log(`      skipped on this machine: ${skip}`);
          this.skip();
        }
        const workersBefore = ctx.sb.workerPids();
        ctx.connections = 0;
        const marker = `${RUN_ID}-${opts.namespaces ? 'ns' : 'plain'}-${cases.indexOf(c)}`;
        const source = c.source
          .replace(/MARKER/g, marker)
          .replace(/PORT/g, String(ctx.port))
          .replace(/CANARY/g, `${RUN_ID}-canary`)
          .replace(/TESTPID/g, String(process.pid))
          .replace(/UNIXSOCK/g, UNIX_SOCKET);
        const wallMs = c.limits?.wallMs ?? 10_000;
        const t = Date.now();
        const r = await ctx.sb.run({ language: c.language, source, limits: c.limits });
        const took = Date.now() - t;
        assert.notEqual(r.status, 'error', `sandbox error: ${r.error}`);
        assert.ok(took < wallMs + 3000, `the job took ${took} ms with a ${wallMs} ms wall limit`);
        await c.check(r, ctx);
        // Nothing left behind: no process of the job's uid, nothing carrying the marker, no job processes under
        // the workers. A worker's children are its two zygotes (judge side, PID 1 of its namespace; candidate side,
        // whose zygote proper is its one child in a namespace of its own) and nothing below them.
        assert.deepEqual(await settle(() => processesWithMarker(marker)), [], 'a marked process survived its job');
        assert.deepEqual(await settle(() => processesOwnedBy(ctx.sb.jobUids())), [], 'a process of a job uid survived');
        const workers = ctx.sb.workerPids();
        const kids = childrenOf(workers);
        assert.ok(kids.length <= 2 * workers.length, `workers have extra children: ${kids.join(',')}`);
        const zygotes = opts.namespaces ? await settle(() => childrenOf(kids), 200) : [];
        assert.ok(zygotes.length <= workers.length, `zygotes have extra children: ${zygotes.join(',')}`);
        assert.deepEqual(
          await settle(() => childrenOf(opts.namespaces ? zygotes : kids)),
          [],
          'an idle worker still runs job processes',
        );
        // Nothing changed outside: no canary file anywhere the job tried to write.
        for (const d of CANARY_DIRS)
          assert.equal(existsSync(`${d}/${RUN_ID}-canary`), false, `the job wrote ${d}/${RUN_ID}-canary`);
        assert.equal(existsSync(`${process.cwd()}/../${RUN_ID}-canary`), false);
        // The test process and the workers are untouched (a job killed nothing outside itself).
        assert.ok(isAlive(process.pid));
        assert.deepEqual(ctx.sb.workerPids(), workersBefore, 'a worker was killed or restarted by the job');
      });
    }

    it('the pool still works after all of that', async () => {
      const rs = await Promise.all([
        ctx.sb.run({ language: 'python', source: 'print(sum(range(10)))' }),
        ctx.sb.run({ language: 'javascript', source: 'console.log([1, 2, 3].reduce((a, b) => a + b))' }),
      ]);
      assert.deepEqual(
        rs.map((r) => r.stdout),
        ['45\n', '6\n'],
      );
    });
  });
}

it('sandbox: has at least 30 hostile programs', () => {
  assert.ok(cases.length >= 30, `only ${cases.length}`);
});

hostileSuite({ title: 'sandbox: hostile programs', namespaces: true, select: () => true, ignoreNeeds: [] });

// The same programs where the fallback path matters (no namespaces: subreaper, process-tree and uid
// kill). Only programs whose harm the fallback claims to stop; the isolation report says the rest is open.
const FALLBACK_CASES = [
  'Python infinite loop -> timeout',
  'Python loop that swallows every exception and ignores SIGTERM/SIGINT/SIGXCPU/SIGHUP -> timeout',
  'JavaScript that ignores SIGTERM and SIGINT in a busy loop -> timeout',
  'Python fork bomb is bounded and leaves nothing behind',
  'Python setsid grandchild outliving its parent is killed with the job',
  'background process holding stdout open does not hold the job open',
  'JavaScript detached child (spawn detached + unref) is killed with the job',
  'Python memory bomb -> memory',
  'Python huge single line -> output_limit with the cap kept',
  'Python kill of its parent (os.kill(os.getppid(), 9)) does not reach the worker',
  'Python kill(-1, SIGKILL) reaches nothing outside the job',
  'only fds 0-3 are open in a job (no handle on the worker protocol to forge results)',
  'a job that stops itself (SIGSTOP) is still timed out',
];
hostileSuite({
  title: 'sandbox: hostile programs, fallback without namespaces',
  namespaces: false,
  select: (c) => FALLBACK_CASES.includes(c.name),
  ignoreNeeds: [needsContainment],
});
