// Probes what the sandbox actually enforces on this machine by running small hostile jobs through it:
// connect to a local listener, leave a detached grandchild behind, read the home directory, allocate
// past the memory limit. The report claims only what the probes observed.

import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import type { IsolationReport, Sandbox } from './types';

/** What a worker (or its candidate zygote) found it could do, from its hello message (worker.py's CAPS). */
export interface WorkerCaps {
  net: boolean;
  mnt: boolean;
  userns: boolean;
  pid: boolean;
  uid: number | null;
  subreaper: boolean;
  killfilter?: boolean;
  hidden?: string[];
  kept?: string[];
  cgroup?: string | null;
}

/** What the worker said about its own set-up (a subset of its hello message). */
export interface WorkerSetup {
  python: string;
  caps: WorkerCaps;
  notes: string[];
  /** The candidate zygote's own set-up: candidates run there, judges in the worker. */
  candidate?: { caps?: WorkerCaps; notes?: string[] };
}

export interface ProbeContext {
  python: string;
  node: string;
  hello: () => WorkerSetup | undefined;
}

/** Pids of processes whose command line contains `marker`. */
export function findProcesses(marker: string): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'latin1').includes(marker)) out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

async function probeNetwork(sandbox: Sandbox, notes: string[]): Promise<IsolationReport['network']> {
  const accepted: Socket[] = [];
  const server = createServer((s) => {
    accepted.push(s);
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const r = await sandbox.run({
      language: 'python',
      source: [
        'import socket',
        'try:',
        `    socket.create_connection(("127.0.0.1", ${port}), timeout=2).close()`,
        '    print("connected")',
        'except OSError as e:',
        '    print("refused", type(e).__name__, e)',
      ].join('\n'),
      limits: { wallMs: 5000 },
    });
    const line = r.stdout.trim();
    if (accepted.length > 0 || line.startsWith('connected')) {
      notes.push(`network: a job connected to a local TCP listener (${line || r.status})`);
      return 'open';
    }
    if (r.status === 'exited' && line.startsWith('refused')) {
      notes.push(`network: a job could not reach a local TCP listener (${line.slice(8)})`);
      return 'blocked';
    }
    notes.push(`network: probe inconclusive (${r.status}${r.error ? `: ${r.error}` : ''}); assuming open`);
    return 'open';
  } finally {
    server.close();
  }
}

async function probeProcesses(
  sandbox: Sandbox,
  setup: WorkerSetup | undefined,
  notes: string[],
): Promise<IsolationReport['processes']> {
  if (process.platform !== 'linux') {
    notes.push('processes: no /proc to verify; process-group kill only');
    return 'best-effort';
  }
  const marker = `crucible-probe-${process.pid}-${Date.now().toString(36)}`;
  const r = await sandbox.run({
    language: 'python',
    source: [
      'import os, sys',
      'if os.fork() == 0:',
      '    os.setsid()',
      '    if os.fork() == 0:',
      `        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(30)", "${marker}"])`,
      '    os._exit(0)',
      'os.wait()',
      'import time',
      'time.sleep(0.2)',
      'print("spawned")',
    ].join('\n'),
    limits: { wallMs: 5000 },
  });
  const left = findProcesses(marker);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (r.stdout.trim() !== 'spawned') {
    notes.push(
      `processes: probe job did not run as expected (${r.status}: ${(r.error ?? r.stderr).trim().slice(0, 200)})`,
    );
    return 'best-effort';
  }
  if (left.length > 0) {
    notes.push('processes: a setsid, double-forked grandchild outlived its job (killed by the probe)');
    return 'best-effort';
  }
  if (setup?.caps.pid) {
    notes.push(
      'processes: jobs run in a PID namespace that is emptied after every job; a detached grandchild died with its job',
    );
    return 'contained';
  }
  notes.push(
    'processes: a detached grandchild died with its job, but without a PID namespace this is best-effort (subreaper and process-tree kill)',
  );
  return 'best-effort';
}

async function probeFilesystem(
  sandbox: Sandbox,
  setup: WorkerSetup | undefined,
  notes: string[],
): Promise<IsolationReport['filesystem']> {
  const home = homedir();
  let hostEntries: string[] = [];
  try {
    hostEntries = readdirSync(home);
  } catch {
    /* unreadable even to us */
  }
  const r = await sandbox.run({
    language: 'python',
    source: [
      'import os, json',
      'try:',
      `    print(json.dumps({"entries": os.listdir(${JSON.stringify(home)})}))`,
      'except OSError as e:',
      '    print(json.dumps({"error": type(e).__name__ + ": " + str(e)}))',
    ].join('\n'),
  });
  let seen: { entries?: string[]; error?: string };
  try {
    seen = JSON.parse(r.stdout.trim()) as typeof seen;
  } catch {
    notes.push(`filesystem: probe inconclusive (${r.status}); assuming shared`);
    return 'shared';
  }
  if (seen.error) {
    notes.push(`filesystem: a job cannot read ${home} (${seen.error})`);
    return 'private';
  }
  const visible = (seen.entries ?? []).filter((e) => hostEntries.includes(e));
  // Entries that only lead to directories bound back on purpose (the interpreter's own prefix, read-only).
  const keptTops = new Set(
    (setup?.caps.kept ?? []).filter((k) => k.startsWith(home + '/')).map((k) => k.slice(home.length + 1).split('/')[0]),
  );
  const leaked = visible.filter((e) => !keptTops.has(e));
  if (hostEntries.length > 0 && leaked.length === 0) {
    const kept = visible.length
      ? `; only ${visible.join(', ')} (the interpreter's own files, read-only) is reachable`
      : '';
    notes.push(
      `filesystem: ${home} looks empty to a job (${hostEntries.length - visible.length} of ${hostEntries.length} entries hidden${kept})`,
    );
    return 'private';
  }
  if (hostEntries.length === 0) {
    notes.push(`filesystem: ${home} is empty here, so hiding it cannot be verified; reported as shared`);
  } else {
    notes.push(
      `filesystem: a job can list ${home} (${visible.length} of ${hostEntries.length} entries visible: ${visible.slice(0, 5).join(', ')})`,
    );
  }
  return 'shared';
}

async function probeMemory(sandbox: Sandbox, notes: string[]): Promise<IsolationReport['memory']> {
  const [py, js] = await Promise.all([
    sandbox.run({
      language: 'python',
      source: 'b = bytearray(400 * 1024 * 1024)\nprint(len(b))',
      limits: { memoryMb: 64, wallMs: 5000 },
    }),
    sandbox.run({
      language: 'javascript',
      source: 'const a = []; for (;;) a.push(Buffer.alloc(16 * 1024 * 1024, 1));',
      limits: { memoryMb: 64, wallMs: 8000 },
    }),
  ]);
  const ok = py.status === 'memory' && js.status === 'memory';
  notes.push(
    `memory: 400 MB in Python under a 64 MB limit -> ${py.status}; unbounded Buffers in Node under 64 MB -> ${js.status}`,
  );
  return ok ? 'enforced' : 'best-effort';
}

/** SysV IPC: a segment one job creates must not be visible to the next (IPC namespace per job). */
async function probeIpc(sandbox: Sandbox, notes: string[]): Promise<IsolationReport['ipc']> {
  const key = 0x43720000 + (process.pid % 0xffff);
  const lib = 'import ctypes, ctypes.util\nlibc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)\n';
  const make = await sandbox.run({ language: 'python', source: `${lib}print(libc.shmget(${key}, 1 << 20, 0o1666))` });
  const seen = await sandbox.run({
    language: 'python',
    source: `${lib}i = libc.shmget(${key}, 0, 0o666)\nprint(i)\nif i >= 0:\n    libc.shmctl(i, 0, None)`,
  });
  const created = Number(make.stdout.trim());
  const found = Number(seen.stdout.trim());
  if (!(created >= 0)) {
    notes.push(
      `ipc: a job could not create a SysV segment (${make.status}: ${make.stdout.trim() || make.stderr.trim().slice(-120)}); nothing to share`,
    );
    return 'private';
  }
  if (found >= 0) {
    notes.push('ipc: a SysV shared-memory segment made by one job was visible to the next (removed by the probe)');
    return 'shared';
  }
  notes.push('ipc: each job has its own IPC namespace; a SysV segment made by one job was gone for the next');
  return 'private';
}

/** Kernel keyrings: add_key/keyctl are refused, so no key can pass between jobs of one uid. */
async function probeKeyring(sandbox: Sandbox, notes: string[]): Promise<IsolationReport['keyring']> {
  const src = [
    'import ctypes, ctypes.util, os',
    'libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)',
    'libc.syscall.restype = ctypes.c_long',
    'NR = {"x86_64": 248, "aarch64": 217}.get(os.uname().machine)',
    'r = libc.syscall(NR, b"user", b"crucible-probe", b"x", 1, -4) if NR else -1',
    'print(r, ctypes.get_errno())',
  ].join('\n');
  const r = await sandbox.run({ language: 'python', source: src });
  const [ret, errno] = r.stdout.trim().split(' ').map(Number);
  if (ret !== undefined && ret < 0 && errno === 1) {
    notes.push(
      'keyring: add_key/keyctl/request_key are refused (EPERM) by a seccomp filter; no key can pass between jobs',
    );
    return 'blocked';
  }
  if (ret !== undefined && ret >= 0) {
    notes.push('keyring: a job could add a key to its user keyring, which later jobs of the same uid may read');
    return 'shared';
  }
  notes.push(`keyring: probe inconclusive (${r.status}: ${r.stdout.trim() || r.stderr.trim().slice(-120)})`);
  return 'shared';
}

/** Socket families: only AF_UNIX, AF_INET and AF_INET6 may be created. */
async function probeSockets(sandbox: Sandbox, notes: string[]): Promise<IsolationReport['sockets']> {
  const src = [
    'import socket',
    'out = []',
    'for name, fam, kind in (("netlink", 16, 3), ("packet", 17, 3), ("vsock", 40, 1), ("alg", 38, 5)):',
    '    try:',
    '        socket.socket(fam, kind).close()',
    '        out.append(name + ":open")',
    '    except OSError as e:',
    '        out.append(name + ":" + (e.strerror or str(e.errno)).replace(" ", "-"))',
    'print(" ".join(out))',
  ].join('\n');
  const r = await sandbox.run({ language: 'python', source: src });
  const line = r.stdout.trim();
  if (!line) {
    notes.push(`sockets: probe inconclusive (${r.status})`);
    return 'open';
  }
  const opened = line.split(' ').filter((x) => x.endsWith(':open'));
  notes.push(`sockets: families other than unix/inet/inet6 -> ${line}`);
  return opened.length === 0 ? 'restricted' : 'open';
}

/** The host's own files: /etc and the folder Crucible runs from must not be readable by a job. */
async function probeHostFiles(sandbox: Sandbox, notes: string[]): Promise<string[]> {
  const paths = ['/etc/hostname', '/etc/passwd', '/etc/os-release', process.cwd()];
  const src = `import os, json\nout = {}\nfor p in ${JSON.stringify(paths)}:\n    try:\n        out[p] = ('dir:%d' % len(os.listdir(p))) if os.path.isdir(p) else ('file:%d' % len(open(p, 'rb').read()))\n    except OSError as e:\n        out[p] = 'hidden:' + type(e).__name__\nprint(json.dumps(out))`;
  const r = await sandbox.run({ language: 'python', source: src });
  let seen: { [p: string]: string } = {};
  try {
    seen = JSON.parse(r.stdout.trim()) as typeof seen;
  } catch {
    notes.push(`host files: probe inconclusive (${r.status})`);
    return paths;
  }
  const readable = paths.filter((p) => {
    const v = seen[p] ?? '';
    return v.startsWith('file:') || (v.startsWith('dir:') && v !== 'dir:0');
  });
  notes.push(`host files: ${paths.map((p) => `${p} ${readable.includes(p) ? 'readable' : 'hidden'}`).join(', ')}`);
  return readable;
}

async function nodeVersion(sandbox: Sandbox): Promise<string | undefined> {
  const r = await sandbox.run({ language: 'javascript', source: 'console.log(process.version)' });
  return r.status === 'exited' && r.exitCode === 0 ? r.stdout.trim() : undefined;
}

export async function probeIsolation(sandbox: Sandbox, ctx: ProbeContext): Promise<IsolationReport> {
  const notes: string[] = [];
  // A first job makes sure the workers are up before we read their set-up.
  const warm = await sandbox.run({ language: 'python', source: 'import sys; print(sys.version.split()[0])' });
  const setup = ctx.hello();
  if (warm.status !== 'exited' || !setup) {
    notes.push(`Python worker unavailable (${warm.error ?? warm.status}); nothing could be probed`);
    return {
      platform: process.platform,
      network: 'open',
      processes: 'best-effort',
      filesystem: 'shared',
      memory: 'best-effort',
      notes,
    };
  }
  const netNotes: string[] = [];
  const procNotes: string[] = [];
  const fsNotes: string[] = [];
  const memNotes: string[] = [];
  const extraNotes: string[] = [];
  const [network, processes, filesystem, memory, node, ipc, keyring, sockets, hostReadable] = await Promise.all([
    probeNetwork(sandbox, netNotes),
    probeProcesses(sandbox, setup, procNotes),
    probeFilesystem(sandbox, setup, fsNotes),
    probeMemory(sandbox, memNotes),
    nodeVersion(sandbox),
    probeIpc(sandbox, extraNotes),
    probeKeyring(sandbox, extraNotes),
    probeSockets(sandbox, extraNotes),
    probeHostFiles(sandbox, fsNotes),
  ]);
  notes.push(...netNotes, ...procNotes, ...fsNotes, ...memNotes, ...extraNotes);
  notes.push(...setupNotes(setup));
  const cgroup = setup.caps.cgroup ?? null;
  const fsState: IsolationReport['filesystem'] =
    filesystem === 'private' && hostReadable.length === 0 ? 'private' : filesystem === 'private' ? 'partial' : 'shared';
  const report: IsolationReport = {
    platform: process.platform,
    network,
    processes,
    filesystem: fsState,
    memory: cgroup && memory === 'enforced' ? 'per-job' : memory,
    ipc,
    keyring,
    sockets,
    verdict: 'separate processes',
    path: sandboxPath(setup),
    notes,
    python: setup.python,
  };
  const advice = desktopAdvice(report, setup);
  if (advice) notes.push(advice);
  if (node) report.node = node;
  else notes.push(`node: ${ctx.node} did not run inside the sandbox`);
  return report;
}

/** The notes on how this machine's sandbox isolates jobs: its mechanisms, the two sides of a verdict, cgroups, limits. */
function setupNotes(setup: WorkerSetup): string[] {
  const notes: string[] = [];
  const c = setup.caps;
  const cgroup = c.cgroup ?? null;
  const mechanisms = [
    c.userns ? 'user namespace' : '',
    c.net ? 'network namespace' : '',
    c.mnt
      ? 'mount namespace (private /tmp, /var/tmp, /dev/shm; hidden ' + (c.hidden?.join(', ') || 'nothing') + ')'
      : '',
    c.pid
      ? 'PID namespace per worker, emptied after every job'
      : c.subreaper
        ? 'subreaper + process-tree kill'
        : 'process-group kill',
    !c.pid && c.killfilter ? 'seccomp filter: a job can signal only itself' : '',
    c.uid ? `jobs run as uid ${c.uid}` : 'jobs run as the host user',
  ].filter(Boolean);
  notes.push(`mechanisms: ${mechanisms.join('; ')}`);
  const cc = setup.candidate?.caps;
  const judgeUid = c.uid;
  const candUid = cc?.uid;
  const separate = judgeUid && candUid && judgeUid !== candUid;
  notes.push(
    `verdicts: the judge and the candidate are two processes${separate ? ` (uids ${judgeUid} and ${candUid})` : ' of the same uid'}` +
      `${cc?.pid && c.pid ? ' in separate PID namespaces' : ''}; the tests never reach the candidate's process and only the judge holds the report channel`,
  );
  notes.push(
    cgroup
      ? `cgroup: one per side (${cgroup}): memory and pids for a job's whole process tree, a CPU quota of one core, CPU counted for the whole tree`
      : `cgroup: none (${setup.notes.find((n) => n.startsWith('cgroup:'))?.slice(8) ?? 'unavailable'}); CPU is counted over the job's processes and memory is limited per process`,
  );
  notes.push(
    'limits: wall time (SIGKILL), CPU (sampled every 50 ms, RLIMIT_CPU as backstop), memory (RLIMIT_AS; Node also --max-old-space-size), output caps, RLIMIT_FSIZE, RLIMIT_NOFILE' +
      (c.uid ? ', RLIMIT_NPROC 64 (per-worker uid)' : '; no process-count limit (jobs share the host uid)'),
  );
  for (const n of setup.notes) notes.push(`worker: ${n}`);
  return notes;
}

/** Which isolation path this machine gives the sandbox. */
function sandboxPath(setup: WorkerSetup): IsolationReport['path'] {
  if (process.platform === 'darwin') return 'sandbox-exec';
  if (setup.notes.some((n) => n.startsWith('bwrap:'))) return 'bwrap';
  if (setup.caps.userns) return 'userns';
  if (setup.caps.net && setup.caps.mnt) return 'root';
  return 'none';
}

/** What a desktop user must install for full isolation, when the machine lacks it. */
function desktopAdvice(report: IsolationReport, setup: WorkerSetup): string | undefined {
  if (report.path !== 'none') return undefined;
  const why = setup.notes.find((n) => /user namespace/.test(n)) ?? 'unprivileged user namespaces are not available';
  return (
    `fix: ${why}. On Ubuntu 23.10 and later AppArmor blocks them for programs without a profile; install bubblewrap ` +
    "(`sudo apt install bubblewrap`), which ships one, and Crucible runs its sandbox through `bwrap`. Until then jobs share the network and the host's files."
  );
}

/** Plain-text rendering for `crucible doctor` and closing notes. */
export function formatIsolationReport(report: IsolationReport): string {
  const lines = [
    `Sandbox isolation on ${report.platform}:`,
    `  network     ${report.network}`,
    `  processes   ${report.processes}`,
    `  filesystem  ${report.filesystem}`,
    `  memory      ${report.memory}`,
  ];
  if (report.ipc) lines.push(`  ipc         ${report.ipc}`);
  if (report.keyring) lines.push(`  keyring     ${report.keyring}`);
  if (report.sockets) lines.push(`  sockets     ${report.sockets}`);
  if (report.verdict) lines.push(`  verdict     ${report.verdict} (judge and candidate)`);
  if (report.path) lines.push(`  path        ${report.path}`);
  if (report.python) lines.push(`  python      ${report.python}`);
  if (report.node) lines.push(`  node        ${report.node}`);
  if (report.notes.length) {
    lines.push('  notes:');
    for (const n of report.notes) lines.push(`    - ${n}`);
  }
  return lines.join('\n');
}
