// The verify layer's contract: turn a Candidate and a Task's tests into a Verdict, decided outside
// the candidate's process.

import type { Candidate, Puzzle, Task, Verdict } from '../types';

export interface PuzzleVerdict extends Verdict {
  /** The answer `sol()` returned, type-tagged JSON, when it returned one. */
  answer?: string;
}

export interface Verifier {
  /** Run the candidate against the task's tests. */
  verify(task: Task, candidate: Candidate, signal?: AbortSignal): Promise<Verdict>;
  /**
   * Run the candidate (with the task's context) and evaluate each call expression, e.g. `add(1, 2)`.
   * Returns one canonical, type-tagged rendering per call, or null where the call raised.
   * Used to compare candidates' behaviour on extra inputs.
   */
  evaluate(task: Task, candidate: Candidate, calls: string[], signal?: AbortSignal): Promise<(string | null)[]>;
  /** Solve `puzzle` with `solution` (source defining `sol()`): sol() runs in the candidate process, sat(answer) in the judge. */
  judgePuzzle(puzzle: Puzzle, solution: string, signal?: AbortSignal): Promise<PuzzleVerdict>;
  /**
   * Self-play's audit: judgePuzzle with sat(answer) run `repeats` times in the judge (determinism and speed),
   * the per-run results, and how long sol() took in the candidate process.
   */
  auditPuzzle(
    puzzle: Puzzle,
    solution: string,
    audit: { repeats: number; satTimeoutMs?: number },
    signal?: AbortSignal,
  ): Promise<PuzzleAudit>;
}

export interface PuzzleAudit {
  verdict: PuzzleVerdict;
  satResults: { ok: boolean; value?: string; error?: string; ms: number }[];
  solMs?: number;
}
