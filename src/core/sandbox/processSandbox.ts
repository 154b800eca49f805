// The process sandbox: candidate code never runs in this process. Python jobs go to a pool of warm
// worker processes (one per core) that fork a fresh child per job; JavaScript and TypeScript jobs run
// as Node child processes started by the same workers, so every job gets the same limits, isolation
// and process-tree kill. The worker itself is runtime/worker.py; verdicts come from pair jobs (docs/verdict.md).

import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { availableParallelism, homedir, tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { existsSync, realpathSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { DEFAULT_LIMITS } from './types';
import type {
  IsolationReport,
  Limits,
  PairRequest,
  PairResult,
  RunRequest,
  RunResult,
  Sandbox,
  TranspileOptions,
  TranspileResult,
} from './types';
import { join } from 'node:path';
import { probeIsolation, type WorkerCaps } from './isolationProbe';
import { runNodeDirect } from './directRunner';
import { transpileTypeScript } from './transpile';

export { formatIsolationReport } from './isolationProbe';

export interface ProcessSandboxOptions {
  /** Warm workers (concurrent jobs). Default: one per core. */
  workers?: number;
  /** Python interpreter. Default `python3`. */
  python?: string;
  /** Defaults for every job; a request's own limits override these. */
  limits?: Partial<Limits>;
  /** Node executable for JavaScript/TypeScript jobs. Default: the running Node. */
  node?: string;
  /** Use Linux namespaces (network, mount, PID) when available. Default true; false is for tests of the fallback. */
  namespaces?: boolean;
  /**
   * First uid jobs run as when the sandbox runs as root (worker i uses base + i). Default: a block above
   * 2,000,000 picked from this process id and a counter, so two sandboxes on one machine do not share uids.
   */
  uidBase?: number;
  /** How long past the wall limit the host waits for a worker's answer before killing it. Default 10000 ms. */
  backstopMs?: number;
}

/**
 * A run request with an optional Python prelude: trusted source (the verify harness) executed in the job's
 * `__main__` just before `source`. Each worker receives a given prelude once, compiles it in its zygote and keeps
 * the code object, so jobs pay neither its transfer nor its compile. Nothing of the prelude runs outside the job,
 * but it is compiled in the zygote: pass only the host's own code here (never candidate text).
 */
export interface PreludeRunRequest extends RunRequest {
  prelude?: string;
}

/** The sandbox plus a few introspection hooks the tests and `crucible doctor` use. */
export interface ProcessSandbox extends Sandbox {
  /** Python requests may carry a `prelude` (see PreludeRunRequest). */
  run(request: PreludeRunRequest, signal?: AbortSignal): Promise<RunResult>;
  /** Pids of the live worker processes. */
  workerPids(): number[];
  /** Uids jobs run as (empty when jobs keep the host user). Known once workers have started. */
  jobUids(): number[];
  /** Resolves when every worker has started (or failed to). */
  ready(): Promise<void>;
}

/** Environment a job sees: nothing from the host but these fixed values (HOME/TMPDIR are set per job). */
const JOB_ENV: Record<string, string> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  TZ: 'UTC',
  USER: 'sandbox',
  LOGNAME: 'sandbox',
  PYTHONIOENCODING: 'utf-8',
  PYTHONDONTWRITEBYTECODE: '1',
  NODE_NO_WARNINGS: '1',
};

/**
 * bubblewrap around a worker: new user (root inside, with its capabilities so the worker can add its own mount
 * and PID namespaces), network and IPC namespaces; the host's tree as it is (the worker hides what it must).
 */
const BWRAP_ARGS = [
  '--unshare-user',
  '--uid',
  '0',
  '--gid',
  '0',
  '--cap-add',
  'ALL',
  '--unshare-net',
  '--unshare-ipc',
  '--die-with-parent',
  '--dev-bind',
  '/',
  '/',
  '--',
];

/** bwrap on PATH, or undefined. */
function findBwrap(): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = join(dir || '.', 'bwrap');
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Seatbelt profile for macOS: everything allowed except network access. */
const MACOS_PROFILE = '(version 1)(allow default)(deny network*)';

/** The worker's own environment: enough to find the interpreter (pyenv shims need their variables), no secrets. */
function workerEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? JOB_ENV.PATH!, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
  for (const key of ['PYENV_VERSION', 'PYENV_ROOT', 'SYSTEMROOT']) {
    const v = process.env[key];
    if (v) env[key] = v;
  }
  return env;
}

/** Files of /etc a job still sees when /etc is hidden: what the dynamic linker and the clock read. */
const ETC_KEEP = ['/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/alternatives', '/etc/localtime'];

/** The folder Crucible runs from (the checkout, or the installed extension): the nearest one with a package.json. */
function projectRoot(): string {
  let dir = RUNTIME_DIR;
  for (let i = 0; i < 6; i++) {
    dir = dirname(dir);
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return '';
}

/** Extra address space Node needs beyond its heap (V8 reserves large virtual ranges at start-up). */
const NODE_AS_OVERHEAD_MB = 1024;
/** Time the worker gets beyond the wall limit before the host gives up on it and kills it. */
const BACKSTOP_MS = 10_000;

/**
 * The sandbox's own programs (worker.py, the judge and candidate runtimes). Bundled builds ship them in
 * dist/runtime beside the bundle; from a checkout (tests through tsx) they sit beside this file.
 */
export const RUNTIME_DIR = join(__dirname, 'runtime');
const WORKER_FILE = join(RUNTIME_DIR, 'worker.py');

interface WorkerHello {
  type: 'hello';
  pid: number;
  python: string;
  executable: string;
  caps: WorkerCaps;
  notes: string[];
  base: string;
  vmMb?: number;
  /** The candidate zygote's own set-up (its uid and namespaces). */
  candidate?: { caps?: WorkerCaps; notes?: string[] };
}

interface WorkerResult {
  type: 'result';
  id: number;
  status: RunResult['status'];
  exitCode?: number | null;
  signal?: string | null;
  stdout?: string;
  stderr?: string;
  report?: string;
  stdoutTruncated?: boolean;
  stderrTruncated?: boolean;
  reportTruncated?: boolean;
  durationMs?: number;
  cpuMs?: number;
  jobDir?: string;
  error?: string;
  judgeStdout?: string;
  judgeStderr?: string;
}

interface WorkerJob {
  type: 'job';
  id: number;
  kind: 'python' | 'exec' | 'pair';
  file?: string;
  source?: string;
  argv?: string[];
  stdin?: string;
  /** Pair jobs: the candidate's program, the judge's spec, and Node for JavaScript pairs. */
  language?: 'python' | 'javascript';
  candidate?: string;
  spec?: unknown;
  preamble?: string;
  node?: string;
  nodeArgs?: string[];
  env: Record<string, string>;
  limits: Limits & { asMb: number; reportBytes: number; processes: number };
  /** Python prelude: its key (cached by the worker) and, the first time a worker gets it, its text. */
  preludeKey?: string;
  prelude?: string;
}

/** Distinct preludes one worker caches; beyond that a job carries its prelude text and compiles it itself. */
const MAX_WORKER_PRELUDES = 16;
const preludeKeys = new Map<string, string>();
function preludeKey(text: string): string {
  let key = preludeKeys.get(text);
  if (!key) {
    key = createHash('sha256').update(text).digest('hex');
    if (preludeKeys.size < 64) preludeKeys.set(text, key);
  }
  return key;
}

interface Pending {
  job: WorkerJob;
  started: number;
  signal?: AbortSignal;
  onQueuedAbort?: () => void;
  resolve: (r: RunResult & Partial<PairResult>) => void;
}

function errorResult(error: string, started = Date.now()): RunResult {
  return {
    status: 'error',
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    report: '',
    durationMs: Date.now() - started,
    error,
  };
}

function decode(b64: string | undefined): string {
  return b64 ? Buffer.from(b64, 'base64').toString('utf8') : '';
}

/** Merge and validate limits; returns an error message for a bad value. */
export function resolveLimits(...layers: (Partial<Limits> | undefined)[]): Limits | string {
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const layer of layers) {
    if (!layer) continue;
    for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
      const v = layer[key];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
        return `invalid limit ${key}=${String(v)}: give a positive number`;
      }
      out[key] = v;
    }
  }
  return out;
}

class Worker {
  proc: ChildProcess | undefined;
  hello: WorkerHello | undefined;
  current: Pending | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private stderrTail = '';
  private backstop: NodeJS.Timeout | undefined;
  private abortListener: (() => void) | undefined;
  readonly started: Promise<void>;
  private markStarted!: () => void;
  exited = false;

  constructor(
    readonly index: number,
    private readonly pool: Pool,
  ) {
    this.started = new Promise((resolve) => (this.markStarted = resolve));
    this.spawn();
  }

  private spawn(): void {
    const cfg = {
      index: this.index,
      parentPid: process.pid,
      namespaces: this.pool.namespaces,
      // The judge runs as one uid and the candidate as the next: neither can signal or trace the other.
      uid: this.pool.uidBase + 2 * this.index,
      cuid: this.pool.uidBase + 2 * this.index + 1,
      hide: this.pool.hideDirs,
      keep: this.pool.keepDirs,
      execs: [this.pool.node],
      tmp: tmpdir(),
      tmpfsMb: 256,
    };
    let proc: ChildProcess;
    try {
      const args = ['-I', '-u', WORKER_FILE, JSON.stringify(cfg)];
      // macOS has no namespaces: the whole worker (and every job it forks) runs under a deny-network profile.
      const useSeatbelt = process.platform === 'darwin' && this.pool.namespaces;
      // Linux without unprivileged user namespaces (Ubuntu 23.10+ AppArmor): bubblewrap, which has a profile.
      const bwrap = !useSeatbelt && this.pool.namespaces ? this.pool.bwrap : undefined;
      if (bwrap) args[args.length - 1] = JSON.stringify({ ...cfg, bwrap });
      const command = useSeatbelt ? '/usr/bin/sandbox-exec' : (bwrap ?? this.pool.python);
      const argv = useSeatbelt
        ? ['-p', MACOS_PROFILE, this.pool.python, ...args]
        : bwrap
          ? [...BWRAP_ARGS, this.pool.python, ...args]
          : args;
      proc = spawn(command, argv, {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: workerEnv(),
      });
    } catch (e) {
      this.exited = true;
      this.pool.workerFailed(this, `cannot start ${this.pool.python}: ${(e as Error).message}`);
      this.markStarted();
      return;
    }
    this.proc = proc;
    proc.on('error', (e: NodeJS.ErrnoException) => {
      this.stderrTail += `\n${e.message}`;
      if (proc.pid === undefined && !this.exited) {
        // The interpreter could not be started at all (missing, not executable): no point retrying.
        this.exited = true;
        const fatal = e.code === 'ENOENT' || e.code === 'EACCES';
        this.pool.workerFailed(
          this,
          `cannot start the Python worker: ${this.pool.python} (${e.code ?? e.message})${fatal ? '. Install Python 3 or point the python setting at an interpreter.' : ''}`,
          fatal,
        );
        this.markStarted();
      }
    });
    proc.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    proc.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4000);
    });
    proc.stdin!.on('error', () => {
      /* the worker died; the exit handler deals with it */
    });
    proc.on('exit', (code, signal) => this.onExit(code, signal));
    this.unref();
  }

  /** Idle workers must not keep the host process alive; Pool.hold() keeps it alive while jobs wait. */
  private unref(): void {
    const p = this.proc;
    if (!p) return;
    p.unref();
    for (const stream of [p.stdin, p.stdout, p.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }

  get idle(): boolean {
    return !!this.hello && !this.current && !this.exited;
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 4) {
      const n = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + n) break;
      const body = this.buf.subarray(4, 4 + n).toString('utf8');
      this.buf = this.buf.subarray(4 + n);
      let msg: WorkerHello | WorkerResult;
      try {
        msg = JSON.parse(body) as WorkerHello | WorkerResult;
      } catch {
        this.kill();
        return;
      }
      if (msg.type === 'hello') {
        this.hello = msg;
        this.pool.workerReady(this);
        this.markStarted();
      } else if (msg.type === 'result') {
        this.finish(msg);
      }
    }
  }

  private finish(msg: WorkerResult): void {
    const p = this.current;
    if (!p || p.job.id !== msg.id) return;
    this.clearJob();
    const result: RunResult = {
      status: msg.status,
      exitCode: msg.exitCode ?? null,
      signal: msg.signal ?? null,
      stdout: decode(msg.stdout),
      stderr: decode(msg.stderr),
      stdoutTruncated: !!msg.stdoutTruncated,
      stderrTruncated: !!msg.stderrTruncated,
      report: decode(msg.report),
      durationMs: msg.durationMs ?? Date.now() - p.started,
    };
    if (msg.error) result.error = msg.error;
    if (p.job.kind === 'pair') {
      Object.assign(result, { judgeStdout: decode(msg.judgeStdout), judgeStderr: decode(msg.judgeStderr) });
    }
    if (msg.reportTruncated && result.status === 'exited') {
      result.status = 'output_limit';
    }
    p.resolve(result);
    this.pool.workerIdle(this);
  }

  private clearJob(): void {
    if (this.backstop) clearTimeout(this.backstop);
    this.backstop = undefined;
    if (this.abortListener && this.current?.signal)
      this.current.signal.removeEventListener('abort', this.abortListener);
    this.abortListener = undefined;
    this.current = undefined;
  }

  /** Prelude texts this worker process has been sent (and cached), by key. */
  private readonly preludes = new Set<string>();

  start(p: Pending): void {
    this.current = p;
    const { prelude, ...job } = p.job;
    if (prelude === undefined) {
      this.write(job);
    } else {
      const key = preludeKey(prelude);
      if (this.preludes.has(key)) {
        this.write({ ...job, preludeKey: key });
      } else if (this.preludes.size < MAX_WORKER_PRELUDES) {
        this.preludes.add(key);
        this.write({ ...job, preludeKey: key, prelude });
      } else {
        this.write({ ...job, prelude });
      }
    }
    const backstop = p.job.limits.wallMs + this.pool.backstopMs;
    this.backstop = setTimeout(() => {
      this.failCurrent(`the sandbox worker did not answer within ${backstop} ms; it was killed and restarted`);
      this.kill();
    }, backstop);
    if (p.signal) {
      this.abortListener = () => this.write({ type: 'cancel', id: p.job.id });
      p.signal.addEventListener('abort', this.abortListener, { once: true });
    }
  }

  private write(obj: unknown): void {
    const body = Buffer.from(JSON.stringify(obj), 'utf8');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length, 0);
    this.proc?.stdin?.write(Buffer.concat([head, body]));
  }

  private failCurrent(error: string): void {
    const p = this.current;
    if (!p) return;
    this.clearJob();
    p.resolve(errorResult(error, p.started));
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
    if (this.current) {
      this.failCurrent(`the sandbox worker died during the job (${how}); it was restarted${tail ? `: ${tail}` : ''}`);
    }
    if (!this.hello) {
      this.pool.workerFailed(
        this,
        `the Python worker (${this.pool.python}) failed to start (${how})${tail ? `: ${tail}` : ''}`,
      );
      this.markStarted();
    } else {
      this.pool.workerExited(this);
    }
  }

  kill(): void {
    if (this.proc && !this.exited) {
      try {
        this.proc.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  /** Close the worker's stdin (it exits) and kill it if it lingers. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || this.exited) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => this.kill(), 1000);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      proc.stdin?.end();
      if (this.exited) {
        clearTimeout(t);
        resolve();
      }
    });
  }
}

class Pool {
  readonly workers: Worker[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private failures = 0;
  /** Set when workers cannot be started at all; Python jobs fail with it, JavaScript falls back to direct runs. */
  fatal: string | undefined;
  disposed = false;
  readonly hideDirs: string[];
  readonly keepDirs: string[];
  /**
   * bubblewrap, once a worker has shown that it cannot isolate itself (no user namespace as non-root) and
   * bwrap is installed; CRUCIBLE_SANDBOX_BWRAP=1 asks for it from the start (tests of that path).
   */
  bwrap: string | undefined = process.env.CRUCIBLE_SANDBOX_BWRAP === '1' ? findBwrap() : undefined;

  constructor(
    readonly size: number,
    readonly python: string,
    readonly node: string,
    readonly namespaces: boolean,
    readonly uidBase: number,
    readonly backstopMs: number,
  ) {
    const home = homedir();
    // Home directories hold keys and tokens; /run holds sockets (Docker, D-Bus) that bypass the network namespace;
    // /etc describes the host; the checkout Crucible runs from and the current folder hold the user's code.
    this.hideDirs = Array.from(
      new Set(['/root', '/home', home, '/run', '/etc', projectRoot(), process.cwd()].filter((d) => d && d !== '/')),
    );
    let nodeReal = node;
    try {
      nodeReal = realpathSync(node);
    } catch {
      /* keep as given */
    }
    // Inside a hidden /etc, the dynamic linker's cache and the clock stay (an exec'd Node needs them).
    this.keepDirs = [dirname(dirname(nodeReal)), ...ETC_KEEP];
    for (let i = 0; i < size; i++) this.workers.push(new Worker(i, this));
  }

  submit(job: Omit<WorkerJob, 'id' | 'type'>, signal?: AbortSignal): Promise<RunResult & Partial<PairResult>> {
    const started = Date.now();
    if (this.disposed) return Promise.resolve(errorResult('the sandbox was disposed', started));
    if (this.fatal) return Promise.resolve(errorResult(this.fatal, started));
    if (signal?.aborted) return Promise.resolve(errorResult('cancelled', started));
    return new Promise((resolve) => {
      const pending: Pending = { job: { type: 'job', id: this.nextId++, ...job }, started, resolve };
      if (signal) {
        pending.signal = signal;
        pending.onQueuedAbort = () => {
          const i = this.queue.indexOf(pending);
          if (i >= 0) {
            this.queue.splice(i, 1);
            resolve(errorResult('cancelled', started));
          }
        };
        signal.addEventListener('abort', pending.onQueuedAbort, { once: true });
      }
      this.queue.push(pending);
      this.pump();
    });
  }

  private pump(): void {
    for (const w of this.workers) {
      if (!this.queue.length) return;
      if (w.idle) {
        const p = this.queue.shift()!;
        if (p.onQueuedAbort) p.signal?.removeEventListener('abort', p.onQueuedAbort);
        w.start(p);
      }
    }
  }

  workerReady(w: Worker): void {
    this.failures = 0;
    const caps = w.hello?.caps;
    if (
      caps &&
      !caps.userns &&
      !caps.net &&
      !this.bwrap &&
      this.namespaces &&
      process.platform === 'linux' &&
      process.getuid?.() !== 0
    ) {
      const bwrap = findBwrap();
      if (bwrap) {
        // This machine blocks user namespaces for the interpreter: start every worker again inside bubblewrap.
        this.bwrap = bwrap;
        for (const other of this.workers) if (other.idle) other.kill();
        return;
      }
    }
    this.pump();
  }

  workerIdle(_w: Worker): void {
    this.pump();
  }

  workerExited(w: Worker): void {
    if (this.disposed) return;
    this.respawn(w);
  }

  workerFailed(w: Worker, error: string, fatal = false): void {
    this.failures++;
    if (this.disposed) return;
    if (fatal) this.fatal = error;
    if (!fatal && this.failures <= 3 * this.size) {
      setTimeout(() => this.respawn(w), 100 * this.failures).unref();
    } else {
      // Give up: fail what is queued with the reason.
      this.fatal = error;
      for (const p of this.queue.splice(0)) p.resolve(errorResult(error, p.started));
    }
  }

  private respawn(w: Worker): void {
    if (this.disposed) return;
    const i = this.workers.indexOf(w);
    if (i < 0) return;
    this.workers[i] = new Worker(w.index, this);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const p of this.queue.splice(0)) p.resolve(errorResult('the sandbox was disposed', p.started));
    await Promise.all(this.workers.map((w) => w.stop()));
  }

  private holds = 0;
  private keepAlive: NodeJS.Timeout | undefined;

  /** Keep the event loop alive while someone waits on the workers (they are unref'd when idle). */
  async hold<T>(work: () => Promise<T>): Promise<T> {
    if (this.holds++ === 0) this.keepAlive = setInterval(() => undefined, 1 << 30);
    try {
      return await work();
    } finally {
      if (--this.holds === 0 && this.keepAlive) clearInterval(this.keepAlive);
    }
  }

  killAllSync(): void {
    for (const w of this.workers) w.kill();
  }
}

let instanceCounter = 0;

const interpreters = new Map<string, string>();
/**
 * The interpreter's own executable. A name found through a shim (pyenv's `python3` is a bash script that runs
 * `pyenv exec`) costs every worker start a shell and a lookup; the real path costs nothing. Falls back to the
 * name as given when the interpreter cannot be asked (it is then reported when a worker fails to start).
 */
function realInterpreter(python: string): string {
  const known = interpreters.get(python);
  if (known) return known;
  let real = python;
  try {
    const out = execFileSync(python, ['-I', '-c', 'import sys; print(sys.executable)'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (out.startsWith('/') && existsSync(out)) real = out;
  } catch {
    /* keep the name; starting the worker reports the problem */
  }
  interpreters.set(python, real);
  return real;
}

/** What the job functions share: the worker pool, the Node they start, and the sandbox's own default limits. */
interface JobHost {
  pool: Pool;
  node: string;
  baseLimits: Partial<Limits> | undefined;
}

/** Address space Python jobs add for the interpreter itself, as the first worker measured it. */
async function pythonVmMb(pool: Pool): Promise<number> {
  await pool.workers[0]?.started;
  return pool.workers.find((w) => w.hello?.vmMb)?.hello?.vmMb ?? 0;
}

async function runPairJob(host: JobHost, request: PairRequest, signal?: AbortSignal): Promise<PairResult> {
  const started = Date.now();
  const limits = resolveLimits(host.baseLimits, request.limits);
  if (typeof limits === 'string') return { ...errorResult(limits, started), judgeStdout: '', judgeStderr: '' };
  const vm = await pythonVmMb(host.pool);
  const js = request.language === 'javascript';
  const result = await host.pool.submit(
    {
      kind: 'pair',
      language: request.language,
      candidate: request.candidate,
      spec: request.spec,
      env: JOB_ENV,
      // P3 solutions use typing's names (List[int]) without importing them, as the P3 harness allows.
      ...(request.spec.mode === 'puzzle' || request.spec.mode === 'audit' ? { preamble: 'from typing import *' } : {}),
      ...(js
        ? {
            node: host.node,
            nodeArgs: [`--max-old-space-size=${Math.max(16, Math.floor(limits.memoryMb))}`, '--stack-size=2000'],
          }
        : {}),
      limits: {
        ...limits,
        // Answers and reports travel on their own channels: P3 answers of any size fit.
        reportBytes: Math.max(32 * 1024 * 1024, limits.outputBytes * 16),
        processes: 64,
        asMb: limits.memoryMb + (js ? NODE_AS_OVERHEAD_MB : vm),
      },
    },
    signal,
  );
  return { judgeStdout: '', judgeStderr: '', ...result };
}

/** Limits beyond the request's own that a single-program job carries. */
function runExtras(limits: Limits): { reportBytes: number; processes: number } {
  return { reportBytes: Math.max(1024 * 1024, limits.outputBytes * 16), processes: 64 };
}

async function runPythonJob(
  host: JobHost,
  request: PreludeRunRequest,
  limits: Limits,
  signal?: AbortSignal,
): Promise<RunResult> {
  const vm = await pythonVmMb(host.pool);
  return host.pool.submit(
    {
      kind: 'python',
      file: 'main.py',
      source: request.source,
      stdin: request.stdin ?? '',
      env: JOB_ENV,
      limits: { ...limits, ...runExtras(limits), asMb: limits.memoryMb + vm },
      ...(request.prelude !== undefined ? { prelude: request.prelude } : {}),
    },
    signal,
  );
}

async function runNodeJob(
  host: JobHost,
  request: RunRequest,
  limits: Limits,
  started: number,
  signal?: AbortSignal,
): Promise<RunResult> {
  const { pool, node } = host;
  let source = request.source;
  const stdin = request.stdin ?? '';
  const nodeArgs = [`--max-old-space-size=${Math.max(16, Math.floor(limits.memoryMb))}`];
  if (request.language === 'typescript') {
    // Stack traces then point at main.ts lines, not at the transpiled JavaScript.
    nodeArgs.push('--enable-source-maps');
    const out = await transpileTypeScript(source, { sourceMap: true });
    if ('error' in out) {
      if (out.sandboxError) return errorResult(out.error, started);
      return {
        ...errorResult('', started),
        status: 'exited',
        exitCode: 1,
        stderr: out.error,
        error: undefined,
      } as RunResult;
    }
    source = out.code;
  }
  const jobLimits = { ...limits, ...runExtras(limits), asMb: limits.memoryMb + NODE_AS_OVERHEAD_MB };
  await pool.workers[0]?.started;
  if (pool.fatal) return runNodeDirect({ node, nodeArgs, source, stdin, env: JOB_ENV, limits: jobLimits }, signal);
  return pool.submit(
    {
      kind: 'exec',
      file: 'main.js',
      source,
      argv: [node, ...nodeArgs, '{file}'],
      stdin,
      env: JOB_ENV,
      limits: jobLimits,
    },
    signal,
  );
}

async function runJob(host: JobHost, request: PreludeRunRequest, signal?: AbortSignal): Promise<RunResult> {
  const started = Date.now();
  const limits = resolveLimits(host.baseLimits, request.limits);
  if (typeof limits === 'string') return errorResult(limits, started);
  if (request.language === 'python') return runPythonJob(host, request, limits, signal);
  if (request.language === 'javascript' || request.language === 'typescript')
    return runNodeJob(host, request, limits, started, signal);
  return errorResult(`unsupported language: ${String(request.language)}`, started);
}

export function createProcessSandbox(options: ProcessSandboxOptions = {}): ProcessSandbox {
  const size = Math.max(1, Math.floor(options.workers ?? availableParallelism()));
  const python = realInterpreter(options.python ?? 'python3');
  const node = options.node ?? process.execPath;
  const uidBase = options.uidBase ?? 2_000_000 + ((process.pid * 16 + instanceCounter++) % 100_000) * 256;
  const pool = new Pool(
    Math.min(size, 256),
    python,
    node,
    options.namespaces ?? true,
    uidBase,
    options.backstopMs ?? BACKSTOP_MS,
  );
  const host: JobHost = { pool, node, baseLimits: options.limits };
  const onExit = () => pool.killAllSync();
  process.once('exit', onExit);
  let isolation: Promise<IsolationReport> | undefined;

  const sandbox: ProcessSandbox = {
    run(request: PreludeRunRequest, signal?: AbortSignal): Promise<RunResult> {
      return pool.hold(() => runJob(host, request, signal));
    },
    runPair(request: PairRequest, signal?: AbortSignal): Promise<PairResult> {
      return pool.hold(() => runPairJob(host, request, signal));
    },
    transpile(source: string, options?: TranspileOptions): Promise<TranspileResult> {
      return transpileTypeScript(source, options);
    },
    isolation(): Promise<IsolationReport> {
      isolation ??= pool.hold(() =>
        probeIsolation(sandbox, { python, node, hello: () => pool.workers.find((w) => w.hello)?.hello }),
      );
      return isolation;
    },
    async dispose(): Promise<void> {
      process.removeListener('exit', onExit);
      await pool.dispose();
    },
    workerPids(): number[] {
      return pool.workers.filter((w) => !w.exited && w.proc?.pid).map((w) => w.proc!.pid!);
    },
    jobUids(): number[] {
      return pool.workers
        .flatMap((w) => [w.hello?.caps.uid, w.hello?.candidate?.caps?.uid])
        .filter((u): u is number => typeof u === 'number' && u > 0);
    },
    ready(): Promise<void> {
      return pool.hold(() => Promise.all(pool.workers.map((w) => w.started)).then(() => undefined));
    },
  };
  return sandbox;
}
