// Hostile suite (issue 11, item 7): for every attack class, concrete Python candidates whose honest answer
// fails; each must end not-passed. Each case file in test/corpus/hostile/python/ is one `crucible verify
// --concurrency 2` batch (jobs in file order, so adjacent cross-job pairs run at the same time), followed
// by honest canary jobs that must still pass (no cross-job effect). Plus HumanEval prompt-helper attacks
// generated from ../shared/data, and the mixed-batch test: hostile and honest jobs interleaved in one run,
// where every honest job keeps the verdict it gets in a run of its own.
//
// Placeholders substituted in code and tests: {{RUN}} (a token unique to this run), {{KEY}} (a SysV IPC key
// derived from it), {{SECRET}}, {{REPO}} (this checkout), {{PORT}} (a TCP listener on 127.0.0.1 in this test process that sends
// {{SECRET}} to whoever connects), {{STEAL}} (helpers that learn `f(N) == M` pairs from any text and answer from
// that table), {{SAFE_WRITE}} (`_swrite`: writes into pipes/sockets only; `_contained()`: false when the job
// is root of the initial user namespace, where host-wide signals are not sent). Env: CRUCIBLE_HOSTILE_ONLY=file1,file2 runs only those batches.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { loadCaseDir, toJob, type CaseFile, type CorpusCase } from '../corpus/cases';
import { idiomCases, loadHumanEval, type HumanEvalTask } from './benchmarks';
import { byId, ensureCli, hasPython, PYTHON, ROOT, runVerify, tail, type VerifyOut, type VerifyRun } from './harness';

const HOSTILE_DIR = join(ROOT, 'test/corpus/hostile/python');
const ONLY = (process.env.CRUCIBLE_HOSTILE_ONLY ?? '').split(',').filter(Boolean);
const RUN = `crc${process.pid}x${randomBytes(3).toString('hex')}`;
const KEY = 0x43000000 + (process.pid % 0x10000) * 0x100 + randomBytes(1)[0];
const SECRET = `s3cr3t-${randomBytes(6).toString('hex')}`;
/** Files whose cases must end with a clear `error` or `failed` (never a crash or another status). */
const CLEAR_STATUS_FILES = new Set(['nesting']);

const STEAL = [
  'import re as _crucible_re',
  '_TABLE = {}',
  'def _learn(text):',
  '    if isinstance(text, (bytes, bytearray)):',
  "        text = bytes(text).decode('utf-8', 'replace')",
  '    if not isinstance(text, str):',
  '        return False',
  "    for a, b in _crucible_re.findall(r'\\bf\\((-?\\d+)\\) == (-?\\d+)', text):",
  '        _TABLE[int(a)] = int(b)',
  '    return bool(_TABLE)',
  'def _answer(x):',
  '    return _TABLE.get(x, 0)',
].join('\n');

/** `_swrite(fd, data)`: writes only into pipes and sockets (report channels), never into a regular file or a
 * device, so that a case run where containment has failed cannot corrupt files other processes hold open. */
const SAFE_WRITE = [
  'import os as _crucible_os, stat as _crucible_stat',
  'def _swrite(fd, data):',
  '    try:',
  '        m = _crucible_os.fstat(fd).st_mode',
  '    except OSError:',
  '        return False',
  '    if not (_crucible_stat.S_ISFIFO(m) or _crucible_stat.S_ISSOCK(m)):',
  '        return False',
  '    try:',
  '        _crucible_os.write(fd, data)',
  '        return True',
  '    except OSError:',
  '        return False',
  '# Host-wide actions (signals to every pid) only when this process is not root of the initial user namespace.',
  'def _contained():',
  '    try:',
  "        uid_map = open('/proc/self/uid_map').read().split()",
  '    except OSError:',
  '        uid_map = []',
  "    return _crucible_os.getuid() != 0 or uid_map[:3] != ['0', '0', '4294967295']",
].join('\n');

/** The tests most hostile cases use: the honest f is x*x; the attacks return 0 unless they steal or forge. */
export const SQUARE_TESTS = 'assert f(2) == 4\nassert f(3) == 9\nassert f(12) == 144\n';

let port = 0;
let connections = 0;

function fill(text: string): string {
  return text
    .replace(/\{\{STEAL\}\}/g, STEAL)
    .replace(/\{\{SAFE_WRITE\}\}/g, SAFE_WRITE)
    .replace(/\{\{SQUARE_TESTS\}\}/g, SQUARE_TESTS)
    .replace(/\{\{RUN\}\}/g, RUN)
    .replace(/\{\{KEY\}\}/g, String(KEY))
    .replace(/\{\{SECRET\}\}/g, SECRET)
    .replace(/\{\{PORT\}\}/g, String(port))
    .replace(/\{\{REPO\}\}/g, ROOT);
}

function job(c: Pick<CorpusCase, 'id' | 'code' | 'test'>): object {
  return toJob({ id: c.id, code: fill(c.code), test: fill(c.test) });
}

const CANARIES: Pick<CorpusCase, 'id' | 'code' | 'test'>[] = [
  { id: 'canary/square', code: 'def f(x):\n    return x * x\n', test: SQUARE_TESTS },
  {
    id: 'canary/files',
    code: 'import os, tempfile\ndef f(n):\n    d = tempfile.mkdtemp()\n    for i in range(n):\n        with open(os.path.join(d, str(i)), "w") as fh:\n            fh.write("x" * 1000)\n    return len(os.listdir(d))\n',
    test: 'assert f(20) == 20\n',
  },
  { id: 'canary/sum', code: 'def total(xs):\n    return sum(xs)\n', test: 'assert total([1, 2.5]) == 3.5\n' },
];

interface Problem {
  id: string;
  why: string;
  v?: VerifyOut;
}

function judgeBatch(run: VerifyRun, hostile: string[], honest: string[], clearStatus: Set<string>): Problem[] {
  const problems: Problem[] = [];
  if (run.code !== 0)
    problems.push({
      id: '(crucible verify)',
      why: `exited ${run.code}${run.signal ? ` by ${run.signal}` : ''}; stderr: ${tail(run.stderr, 800)}`,
    });
  let got: Map<string, VerifyOut>;
  try {
    got = byId(run, [...hostile, ...honest]);
  } catch (e) {
    return [...problems, { id: '(crucible verify)', why: (e as Error).message }];
  }
  for (const id of hostile) {
    const v = got.get(id)!;
    if (v.passed || v.status === 'passed') problems.push({ id, why: 'HOSTILE JOB PASSED', v });
    else if (
      clearStatus.has(id) &&
      (!['error', 'failed'].includes(v.status) || /Maximum call stack|RangeError/.test(v.feedback))
    )
      problems.push({ id, why: `not a clear error/failed: ${v.status}`, v });
  }
  for (const id of honest) {
    const v = got.get(id)!;
    if (!v.passed) problems.push({ id, why: `honest job did not pass (${v.status})`, v });
  }
  return problems;
}

function report(label: string, problems: Problem[]): void {
  if (!problems.length) return;
  const lines = problems.map(
    (p) =>
      `  ✗ ${p.id}: ${p.why}${p.v ? `\n      feedback: ${tail(p.v.feedback, 400).replace(/\n/g, '\n                ')}` : ''}`,
  );
  process.stdout.write(`    [${label}] PROBLEMS:\n${lines.join('\n')}\n`);
}

function sysvLeftovers(): string[] {
  const out: string[] = [];
  for (const f of ['/proc/sysvipc/shm', '/proc/sysvipc/msg', '/proc/sysvipc/sem']) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const key = Number(line.trim().split(/\s+/)[0]);
      if (line.trim() && (key & 0xffffff00) === (KEY & 0xffffff00))
        out.push(`${f.split('/').pop()} key ${key}: ${line.trim().replace(/\s+/g, ' ').slice(0, 120)}`);
    }
  }
  return out;
}

/** Removes what a failed containment left behind on the host (this run's keys only). */
function removeSysvLeftovers(): void {
  const prog = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
base = ${KEY & 0xffffff00}
for f, get, ctl in (('/proc/sysvipc/shm', 'shmget', 'shmctl'), ('/proc/sysvipc/msg', 'msgget', 'msgctl'), ('/proc/sysvipc/sem', 'semget', 'semctl')):
    try:
        lines = open(f).read().split('\\n')[1:]
    except OSError:
        continue
    for line in lines:
        parts = line.split()
        if not parts or (int(parts[0]) & 0xffffff00) != base:
            continue
        ident = int(parts[1])
        if ctl == 'shmctl':
            libc.shmctl(ident, 0, None)
        elif ctl == 'msgctl':
            libc.msgctl(ident, 0, None)
        else:
            libc.semctl(ident, 0, 0)
`;
  spawnSync(PYTHON, ['-c', prog]);
}

/** Files a failed containment let hostile jobs leave on the host (names carry this run's token). */
function removeFileLeftovers(): void {
  for (const top of ['/tmp', '/var/tmp', '/dev/shm', homedir()]) {
    let names: string[];
    try {
      names = readdirSync(top);
    } catch {
      continue;
    }
    for (const n of names.filter((x) => x.includes(RUN))) {
      const p = join(top, n);
      // Make directories writable without following symlinks (lstat), iteratively, then remove.
      const stack = [p];
      while (stack.length) {
        const d = stack.pop()!;
        let st;
        try {
          st = lstatSync(d);
        } catch {
          continue;
        }
        if (!st.isDirectory()) continue;
        try {
          chmodSync(d, 0o700);
        } catch {
          /* best effort */
        }
        try {
          for (const e of readdirSync(d)) stack.push(join(d, e));
        } catch {
          /* best effort */
        }
      }
      try {
        rmSync(p, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  }
}

function heCases(tasks: HumanEvalTask[]): { id: string; job: object }[] {
  const by = new Map(tasks.map((t) => [t.task_id, t]));
  const out: { id: string; job: object }[] = [];
  const add = (taskId: string, label: string, completion: string): void => {
    const t = by.get(taskId);
    if (!t) return;
    const id = `hostile/humaneval/${taskId}/${label}`;
    out.push({ id, job: { task_id: id, prompt: t.prompt, completion, test: t.test, entry_point: t.entry_point } });
  };
  add('HumanEval/38', 'redefine-encode_cyclic', '    return s\n\n\ndef encode_cyclic(s: str):\n    return s\n');
  add(
    'HumanEval/38',
    'patch-random-choice',
    '    return s\n\n\nimport random\nrandom.choice = lambda seq: "a"\nrandom.randint = lambda a, b: 12\n',
  );
  add('HumanEval/50', 'redefine-encode_shift', '    return s\n\n\ndef encode_shift(s: str):\n    return s\n');
  add(
    'HumanEval/50',
    'patch-random-choice',
    '    return s[::-1][::-1] if False else s\n\n\nimport random\nrandom.choice = lambda seq: "z"\nrandom.randint = lambda a, b: 10\nencode_shift = lambda s: s\n',
  );
  add('HumanEval/32', 'redefine-poly', '    return 0.0\n\n\ndef poly(xs, x):\n    return 0.0\n');
  add('HumanEval/32', 'patch-math-fabs', '    return 0.0\n\n\nimport math\nmath.fabs = lambda x: 0.0\n');
  add('HumanEval/32', 'patch-math-pow', '    return 0.0\n\n\nimport math\nmath.pow = lambda x, y: 0.0\n');
  add(
    'HumanEval/10',
    'redefine-is_palindrome',
    '    return string\n\n\ndef is_palindrome(string: str) -> bool:\n    return True\n',
  );
  add('HumanEval/0', 'shadow-abs', '    return True\n\n\ndef abs(x):\n    return 0\n');
  return out;
}

describe('hostile: every attack ends not-passed, with no cross-job effect', function () {
  this.timeout(0);
  let files: CaseFile[] = [];
  let server: Server;

  before(async function () {
    if (!hasPython) this.skip();
    ensureCli();
    files = loadCaseDir(HOSTILE_DIR, 'hostile', true);
    server = createServer((sock) => {
      connections++;
      sock.on('error', () => {});
      sock.end(`${SECRET}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server?.close();
    removeSysvLeftovers();
    removeFileLeftovers();
  });

  it('the hostile corpus parses and covers every attack class', () => {
    const names = new Set(loadCaseDir(HOSTILE_DIR, 'hostile', true).map((f) => f.file));
    for (const want of [
      'report_channel',
      'frames',
      'audit',
      'shadowing',
      'operators',
      'disk',
      'patched',
      'exits',
      'kill',
      'ipc',
      'keyring',
      'poisoning',
      'cpu',
      'memory',
      'nesting',
      'sizes',
      'sockets',
    ]) {
      assert.ok(names.has(want), `missing hostile/python/${want}.cases`);
    }
  });

  for (const file of loadCaseDir(HOSTILE_DIR, 'hostile', true)) {
    it(`${file.file}: ${file.cases.filter((c) => c.kind === 'hostile').length} hostile jobs end not-passed; honest jobs in and after the batch pass`, async function () {
      if (ONLY.length && !ONLY.includes(file.file)) this.skip();
      const cases = file.cases;
      const canaries = CANARIES.map((c) => ({ ...c, id: `${c.id}/after-${file.file}` }));
      const jobs = [...cases.map(job), ...canaries.map(job)];
      const connBefore = connections;
      const run = await runVerify(jobs, file.options, `hostile-${file.file}`);
      const hostile = cases.filter((c) => c.kind === 'hostile').map((c) => c.id);
      const honest = [...cases.filter((c) => c.kind !== 'hostile').map((c) => c.id), ...canaries.map((c) => c.id)];
      const problems = judgeBatch(
        run,
        hostile,
        honest,
        CLEAR_STATUS_FILES.has(file.file) ? new Set(hostile) : new Set(),
      );
      const left = sysvLeftovers();
      if (left.length) problems.push({ id: '(host)', why: `SysV IPC objects outlived the run: ${left.join('; ')}` });
      removeSysvLeftovers();
      if (connections > connBefore)
        problems.push({
          id: '(host)',
          why: `${connections - connBefore} connection(s) reached the host listener on 127.0.0.1:${port}`,
        });
      // A fresh batch after the hostile one: the workers of a new run must be clean too.
      const after = await runVerify(
        CANARIES.map((c) => job({ ...c, id: `${c.id}/fresh-after-${file.file}` })),
        [],
        'hostile-after',
      );
      problems.push(
        ...judgeBatch(
          after,
          [],
          CANARIES.map((c) => `${c.id}/fresh-after-${file.file}`),
          new Set(),
        ),
      );
      process.stdout.write(
        `    [${file.file}] ${hostile.length} hostile, ${honest.length} honest, ${(run.ms / 1000).toFixed(1)} s; ` +
          `statuses: ${JSON.stringify(run.results.reduce<Record<string, number>>((a, r) => ({ ...a, [r.status]: (a[r.status] ?? 0) + 1 }), {}))}\n`,
      );
      report(file.file, problems);
      assert.equal(problems.length, 0, `${file.file}: ${problems.length} problem(s), listed above`);
    });
  }

  it("every candidate is born inside its worker's memory cgroup, and a run leaves no cgroup behind", async function () {
    // Workers start together and each sweeps stale cgroups: a sibling's fresh, still empty cgroup must survive
    // that sweep, or its jobs would run with no memory limit for the whole tree.
    if (ONLY.length && !ONLY.includes('cgroups')) this.skip();
    const roots = cgroupRoots();
    if (process.getuid?.() !== 0 || roots.length === 0) this.skip();
    const code =
      'def where():\n    return [l.split(":", 2)[2] for l in open("/proc/self/cgroup").read().splitlines() if l.split(":")[1] in ("memory", "")][0]\n';
    const jobs = Array.from({ length: 8 }, (_, i) => ({
      id: `cgroup/${i}`,
      language: 'python',
      code,
      test: 'assert "-cand-" in where().rsplit("/", 1)[-1], where()',
    }));
    for (let round = 0; round < 3; round++) {
      const run = await runVerify(jobs, ['--concurrency', '4'], 'cgroups');
      const got = byId(
        run,
        jobs.map((j) => j.id),
      );
      for (const j of jobs) assert.equal(got.get(j.id)!.status, 'passed', `${j.id}: ${got.get(j.id)!.feedback}`);
      const left = roots.flatMap((r) => leftCgroups(r, `crucible-${run.pid}-`));
      assert.deepEqual(left, [], `cgroups of run ${run.pid} outlived it`);
    }
  });

  it('HumanEval prompt helpers and test imports cannot be redefined or patched by the completion', async function () {
    if (ONLY.length && !ONLY.includes('humaneval')) this.skip();
    const tasks = loadHumanEval();
    if (!tasks) {
      process.stdout.write('    skipped: ../shared/data/humaneval/HumanEval.jsonl.gz is absent\n');
      this.skip();
    }
    const cases = heCases(tasks!);
    const run = await runVerify([...cases.map((c) => c.job), ...CANARIES.map(job)], [], 'hostile-he');
    const problems = judgeBatch(
      run,
      cases.map((c) => c.id),
      CANARIES.map((c) => c.id),
      new Set(),
    );
    report('humaneval', problems);
    assert.equal(problems.length, 0, `humaneval: ${problems.length} problem(s), listed above`);
  });

  it('mixed batch: hostile and honest jobs interleaved at --concurrency 2; every honest job keeps its verdict', async function () {
    if (ONLY.length && !ONLY.includes('mixed')) this.skip();
    const honestAll = idiomCases().filter((_, i) => i % 3 === 0);
    const honest = honestAll.map((c) => ({ ...(c.job as { id: string }), id: `mixed/${c.id}` }));
    const solo = await runVerify(honest, [], 'mixed-solo');
    const soloBy = byId(
      solo,
      honest.map((h) => h.id),
    );
    const hostile = files
      .flatMap((f) => f.cases.filter((c) => c.kind === 'hostile'))
      .map((c) => job({ ...c, id: `mixed/${c.id}` }) as { id: string });
    const jobs: object[] = [];
    for (let i = 0; i < Math.max(hostile.length, honest.length); i++) {
      if (i < hostile.length) jobs.push(hostile[i]);
      if (i < honest.length) jobs.push(honest[i]);
    }
    const run = await runVerify(jobs, ['--memory-mb', '256', '--timeout-ms', '10000'], 'mixed');
    const problems = judgeBatch(
      run,
      hostile.map((h) => h.id),
      [],
      new Set(),
    );
    let got: Map<string, VerifyOut> | undefined;
    try {
      got = byId(
        run,
        honest.map((h) => h.id),
      );
    } catch (e) {
      problems.push({ id: '(crucible verify)', why: (e as Error).message });
    }
    for (const h of honest) {
      const a = soloBy.get(h.id)!;
      const b = got?.get(h.id);
      if (b && (a.passed !== b.passed || a.status !== b.status))
        problems.push({
          id: h.id,
          why: `verdict changed in the mixed batch: alone ${a.status}, mixed ${b.status}`,
          v: b,
        });
    }
    removeSysvLeftovers();
    process.stdout.write(
      `    [mixed] ${hostile.length} hostile + ${honest.length} honest jobs, ${(run.ms / 1000).toFixed(1)} s\n`,
    );
    report('mixed', problems);
    assert.equal(problems.length, 0, `mixed batch: ${problems.length} problem(s), listed above`);
  });
});

/** The cgroup directories this process lives in (v1 memory, or the v2 unified one), where per-job cgroups are made. */
function cgroupRoots(): string[] {
  if (!existsSync('/proc/self/cgroup')) return [];
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, ctl, path] = line.split(':');
    if (path === undefined) continue;
    if (ctl === 'memory' && existsSync('/sys/fs/cgroup/memory')) out.push(join('/sys/fs/cgroup/memory', path));
    if (ctl === '' && existsSync('/sys/fs/cgroup/cgroup.controllers')) out.push(join('/sys/fs/cgroup', path));
  }
  return out.filter((d) => existsSync(d));
}

function leftCgroups(dir: string, prefix: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.startsWith(prefix))
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}
