// The solve engine's contract: solve(task, deps, options) → Outcome, with events for progress UIs.
// The loop (sample → verify → critique → refine → select) lives in core/solve/solve.ts.

import type { ModelClient } from '../model/types';
import type { Verifier } from '../verify/types';
import type { Sandbox } from '../sandbox/types';
import type { SyntaxReport } from '../parse/syntax';
import type { Attempt, Budget, Candidate, Language, Outcome, Verdict } from '../types';

export interface SolveDeps {
  model: ModelClient;
  verifier: Verifier;
  /** Clock, injectable for tests and benchmarks. Defaults to Date.now. */
  now?: () => number;
  /** The syntax pre-check before the sandbox, injectable for benchmarks. Defaults to core/parse/syntax checkSyntax. */
  checkSyntax?: (language: Language, code: string) => Promise<SyntaxReport>;
  /** Runs the runtime tracer for refine prompts (traces are left out without it). */
  sandbox?: Sandbox;
}

/** What the engine reports while it works. UIs render these; the CLI prints them as JSON lines when asked. */
export type SolveEvent =
  | { kind: 'round'; round: number; rounds: number }
  | { kind: 'tests'; origin: 'user' | 'generated'; count: number }
  | { kind: 'generating'; round: number; index: number; of: number }
  | { kind: 'token'; round: number; index: number; text: string }
  | { kind: 'candidate'; candidate: Candidate }
  | { kind: 'verdict'; attempt: Attempt }
  | { kind: 'critique'; candidateId: string; critique: string }
  | { kind: 'note'; message: string }
  | { kind: 'done'; outcome: Outcome };

export interface SolveOptions {
  budget: Budget;
  signal?: AbortSignal;
  onEvent?: (event: SolveEvent) => void;
  /** When the task has no tests: ask the model to write some (labelled `generated`). Default true. */
  generateTests?: boolean;
  /**
   * How rounds after the first spend the budget: `feedback` (default) critiques and refines the most
   * promising failures; `resample` draws fresh samples without feedback.
   */
  refineMode?: 'feedback' | 'resample';
  /** Add a runtime trace of the failing input to refine prompts (Python; needs deps.sandbox). Default true. */
  traces?: boolean;
  /** S*: when passing candidates tie or disagree, ask for inputs that tell them apart and select by them. Default true. */
  distinguish?: boolean;
}

export type { Verdict };
