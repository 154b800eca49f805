// Self-play's shapes: why a model-written puzzle was rejected, what the loop reports while it runs, and
// the run report it ends with.

import type { ModelClient } from '../model/types';
import type { Sandbox } from '../sandbox/types';
import type { Verifier } from '../verify/types';
import type { Puzzle, DatasetRecord } from '../types';

/** A self-play run that cannot start as asked (bad options, a saved run in the way, nothing to resume); the message names the fix. */
export class SelfPlayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelfPlayError';
  }
}

/**
 * Why a generated puzzle was not accepted. Each has a counter in the run report.
 * - no_code: the answer held no `def sat` (a broken or chatty model answer)
 * - syntax: sat does not parse or load (or a parameter after the answer lacks a default)
 * - untyped: sat's first argument has no annotation, or one outside int/float/str/bool/List[...]
 * - unsafe: imports outside the allowlist, I/O, eval/exec, dunder access
 * - duplicate: same normalised AST (alpha-equivalent: names, docstrings, imports and constant formatting do
 *   not count) as a seed, an accepted puzzle or one being checked, or the same verdicts on a shared probe set of answers
 * - slow: a call of sat ran past the time limit (or the job ran out of memory)
 * - nondeterministic: the same answer gave different results
 * - trivial: sat accepted a probe (0, "", [], None, a random value of its type)
 * - type_mismatch: the only answers sat accepted are not of the annotated type
 * - unsolved: none of the n independent solutions verified
 * - no_wrong_answer: no plausible wrong answer the model proposed (its `wrong()`, a failed solver's answer) is
 *   known to be rejected by sat, so nothing shows the puzzle tells right from wrong (Self-Challenging)
 * - model_error: the model failed to answer (timeout, HTTP error) for this puzzle
 */
export const REJECT_REASONS = [
  'no_code',
  'syntax',
  'untyped',
  'unsafe',
  'duplicate',
  'slow',
  'nondeterministic',
  'trivial',
  'type_mismatch',
  'unsolved',
  'no_wrong_answer',
  'model_error',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Difficulty bands of the curriculum, by solve rate. */
export type Band = 'easy' | 'medium' | 'hard';
export const BANDS: readonly Band[] = ['easy', 'medium', 'hard'];

/** The dataset store as self-play uses it (core/dataset/store.ts `DatasetStore` fits). */
export interface PuzzleSink {
  append(record: DatasetRecord): Promise<unknown>;
}

export interface SelfPlayDeps {
  model: ModelClient;
  verifier: Verifier;
  /** Runs the validity probes (parse, determinism, time, triviality) and the answer-type audit. */
  sandbox: Sandbox;
  /** Accepted puzzles go here (origin: self-play). */
  dataset?: PuzzleSink;
  now?: () => number;
}

export interface SelfPlayOptions {
  /** Example puzzles for the few-shot prompts (the shipped set or a P3 file). */
  seeds: Puzzle[];
  /** Stop once this many puzzles are accepted. */
  count: number;
  /** Most generation requests (puzzles written) in the whole run, resumed runs included. Default 10 × count. */
  maxGenerations?: number;
  /** Independent solutions asked for per puzzle; the solve rate is verified / answered. */
  samples: number;
  /** Examples shown in each generation prompt (default 3). */
  examples?: number;
  /** Puzzles in flight at once, so the model and the sandbox overlap (default: model maxParallel + 1, at least 2). */
  concurrency?: number;
  /** Time limit of one call of sat, ms (default 1000). */
  satTimeoutMs?: number;
  /** Time limit of one sol() in the audit, ms (default 5000). */
  solTimeoutMs?: number;
  /** Modules puzzles may import. */
  allowedImports?: string[];
  /** Temperature for puzzle writing and solving; self-play needs variety, default max(configured, 0.8). */
  temperature?: number;
  /** Share of tickets that take a waiting easier-variant request (LADDER) when there is one (default 0.5). */
  ladderShare?: number;
  /** Checkpoint file, rewritten atomically after every settled puzzle. */
  statePath?: string;
  /** Continue the run saved at statePath (it must exist). Without it an existing state file is an error. */
  resume?: boolean;
  /** Seed of the run's random choices (examples, curriculum, probes). */
  seed?: number;
  /** Recorded in dataset Records. */
  extensionVersion?: string;
  signal?: AbortSignal;
  onEvent?: (event: SelfPlayEvent) => void;
}

export interface Progress {
  target: number;
  accepted: number;
  rejected: number;
  /** Puzzles written and settled (accepted + rejected). */
  generated: number;
  maxGenerations: number;
  inFlight: number;
}

export type SelfPlayEvent =
  | { kind: 'started'; resumed: boolean; progress: Progress }
  | { kind: 'generating'; ticket: number; arm: string; variantOf?: string }
  | { kind: 'rejected'; ticket: number; reason: RejectReason; detail: string; name?: string; progress: Progress }
  | { kind: 'accepted'; ticket: number; puzzle: Puzzle; solved: number; answered: number; progress: Progress }
  | { kind: 'note'; message: string }
  | { kind: 'done'; report: SelfPlayReport };

export interface ArmReport {
  arm: string;
  topic: string;
  band: Band;
  pulls: number;
  q: number;
  accepted: number;
  meanSolveRate?: number;
}

export interface CurriculumWindow {
  fromTicket: number;
  toTicket: number;
  bands: { [band in Band]: number };
  variants: number;
  topTopic?: string;
  meanSolveRate?: number;
}

export interface SelfPlayReport {
  stopReason: 'count' | 'budget' | 'cancelled' | 'error';
  error?: string;
  target: number;
  accepted: number;
  generated: number;
  rejected: { [reason in RejectReason]: number };
  /** Accepted puzzles by solve rate, rounded to tenths. */
  solveRates: { [rate: string]: number };
  curriculum: {
    arms: ArmReport[];
    windows: CurriculumWindow[];
    ladder: { requested: number; accepted: number };
  };
  /** Puzzles settled per second of this session's wall time. */
  puzzlesPerSecond: number;
  modelRequests: number;
  sandboxJobs: number;
  durationMs: number;
  resumed: boolean;
  statePath?: string;
}
