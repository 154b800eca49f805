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

export interface IsolationReport {
  platform: string;
  /** `blocked` when jobs run without network access. */
  network: 'blocked' | 'open';
  /** `contained` when every descendant of a job is guaranteed to die with it (PID namespace). */
  processes: 'contained' | 'best-effort';
  /** `private` when jobs cannot read the user's home directory (they run as another user or in a namespace). */
  filesystem: 'private' | 'shared';
  memory: 'enforced' | 'best-effort';
  /** Human-readable notes: what was tried, what was not available and why. */
  notes: string[];
  python?: string;
  node?: string;
}

export interface Sandbox {
  run(request: RunRequest, signal?: AbortSignal): Promise<RunResult>;
  isolation(): Promise<IsolationReport>;
  dispose(): Promise<void>;
}
