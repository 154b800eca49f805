// The contract between the sandbox (runs untrusted programs under limits) and the verify layer
// (builds harnessed programs and turns their reports into Verdicts).

import type { Language } from '../types';

export interface Limits {
  /** Wall-clock time for the whole job, ms. */
  wallMs: number;
  /** CPU time, ms. */
  cpuMs: number;
  /** Memory (address space / heap), MiB. */
  memoryMb: number;
  /** Bytes of stdout and of stderr kept (each); more ends the job with `output_limit`. */
  outputBytes: number;
  /** Largest file the job may write, bytes. */
  fileSizeBytes: number;
  /** Open file descriptors. */
  openFiles: number;
}

export const DEFAULT_LIMITS: Limits = {
  wallMs: 10_000,
  cpuMs: 10_000,
  memoryMb: 512,
  outputBytes: 64 * 1024,
  fileSizeBytes: 1024 * 1024,
  openFiles: 64,
};

export interface RunRequest {
  language: Language;
  /** The whole program text: harness, candidate and tests, as the verify layer assembled it. */
  source: string;
  stdin?: string;
  limits?: Partial<Limits>;
}

/** How a run ended, as far as the sandbox can tell. The verify layer decides passed/failed. */
export type RunStatus = 'exited' | 'timeout' | 'memory' | 'output_limit' | 'error';

export interface RunResult {
  status: RunStatus;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /**
   * Everything the program wrote to the report channel (file descriptor 3). The harness writes
   * nonce-tagged, type-tagged lines here; the verify layer parses them outside the candidate's process.
   */
  report: string;
  durationMs: number;
  /** Set when status is `error`: what went wrong in the sandbox itself (not in the candidate). */
  error?: string;
}

/**
 * What the judge process does with a pair job (see docs/verdict.md). The judge runs the tests (or the puzzle's
 * `sat`) exactly as written, with the candidate's entry points bound to proxies into the candidate process.
 */
export interface JudgeSpec {
  mode: 'tests' | 'evaluate' | 'puzzle' | 'audit';
  /** Test code, as written (Python, or CommonJS JavaScript). */
  tests?: string;
  /** Trusted code the task defines (a HumanEval prompt, the user's file around the function); runs in the judge. */
  context?: string;
  /** Names the tests call that the candidate must define (always bound to the candidate's). */
  entryPoints?: string[];
  /** `evaluate`: call expressions. */
  calls?: string[];
  /** `puzzle`/`audit`: the puzzle's `sat` source and its answer type. */
  sat?: string;
  ansType?: string;
  /** `audit`: how many times sat(answer) runs (determinism), stopping after a call slower than satTimeoutMs. */
  repeats?: number;
  satTimeoutMs?: number;
}

export interface PairRequest {
  language: 'python' | 'javascript';
  /** The candidate's whole program (CommonJS for JavaScript). It runs alone in the candidate process. */
  candidate: string;
  spec: JudgeSpec;
  limits?: Partial<Limits>;
}

/** A pair job's outcome. `stdout`/`stderr` are the candidate's; `report` is the judge's report channel. */
export interface PairResult extends RunResult {
  judgeStdout: string;
  judgeStderr: string;
}

export interface IsolationReport {
  platform: string;
  /** `blocked` when jobs run without network access. */
  network: 'blocked' | 'open';
  /** `contained` when every descendant of a job is guaranteed to die with it (PID namespace). */
  processes: 'contained' | 'best-effort';
  /** `private` when jobs cannot read the user's home, /etc or the folder Crucible runs from; `partial` when only the home is hidden. */
  filesystem: 'private' | 'partial' | 'shared';
  /** `per-job` when a cgroup limits a job's whole process tree; `enforced` per process (RLIMIT_AS). */
  memory: 'per-job' | 'enforced' | 'best-effort';
  /** SysV IPC private to each job (IPC namespace). */
  ipc?: 'private' | 'shared';
  /** Kernel keyrings refused to jobs. */
  keyring?: 'blocked' | 'shared';
  /** Socket families other than unix/inet/inet6 refused. */
  sockets?: 'restricted' | 'open';
  /** How verdicts are decided: always by a judge process apart from the candidate's. */
  verdict?: 'separate processes';
  /** The isolation path this machine gives: real root, unprivileged user namespaces, bubblewrap, macOS sandbox-exec, none. */
  path?: 'root' | 'userns' | 'bwrap' | 'sandbox-exec' | 'none';
  /** Human-readable notes: what was tried, what was not available and why. */
  notes: string[];
  python?: string;
  node?: string;
}

/** TypeScript (or ES-module JavaScript) as CommonJS, or the compiler's message. */
export type TranspileResult = { code: string } | { error: string; sandboxError: boolean };

export interface TranspileOptions {
  /** Append an inline source map (the sandbox runs such code with --enable-source-maps). */
  sourceMap?: boolean;
}

export interface Sandbox {
  run(request: RunRequest, signal?: AbortSignal): Promise<RunResult>;
  /** Runs a candidate and a judge as two processes joined only by an RPC channel; the judge writes the report. */
  runPair(request: PairRequest, signal?: AbortSignal): Promise<PairResult>;
  /**
   * Turns TypeScript or ES-module source into the CommonJS the JavaScript runtimes take (pair jobs run only
   * CommonJS). `error` carries the compiler's message, with `sandboxError` set when no compiler could be loaded.
   * Runs nothing of the source.
   */
  transpile(source: string, options?: TranspileOptions): Promise<TranspileResult>;
  isolation(): Promise<IsolationReport>;
  dispose(): Promise<void>;
}
