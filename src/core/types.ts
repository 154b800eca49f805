// The nouns Crucible is built from. Every layer (core, VS Code, CLI, dataset, docs) uses these words.
// This file holds data shapes only: no behaviour, no imports of Node or VS Code.

export type Language = 'python' | 'javascript' | 'typescript';
export const LANGUAGES: readonly Language[] = ['python', 'javascript', 'typescript'];

/** Where a Task's tests came from. `generated` tests were written by the model and are labelled so everywhere. */
export type TestsOrigin = 'user' | 'generated' | 'none';

/** Where a Task itself came from. */
export type TaskOrigin = 'user' | 'benchmark' | 'self-play';

/** A unit of work: write (or fix) one piece of code so that its tests pass. */
export interface Task {
  id: string;
  language: Language;
  /** What the model is asked for: a signature with docstring, a HumanEval prompt, or free text. */
  prompt: string;
  /** The function the tests exercise, if there is one. */
  entryPoint?: string;
  /** Test code that runs after the candidate and fails by raising/throwing. Empty when there are none yet. */
  tests: string;
  testsOrigin: TestsOrigin;
  origin: TaskOrigin;
  /** Surrounding code (imports, helpers) the candidate may rely on; prepended when it runs. */
  context?: string;
  /** HumanEval style: the program is prompt + completion (the model continues the prompt). */
  completionStyle?: 'function' | 'continuation';
  /** The code the user already has, when refining rather than writing from scratch. */
  currentCode?: string;
  /** Extra feedback from the editor, e.g. a diagnostic the user wants fixed. */
  hint?: string;
}

/** One piece of code proposed by the model. */
export interface Candidate {
  id: string;
  code: string;
  language: Language;
  /** 0 for the first samples, n for the n-th refine round. */
  round: number;
  /** The candidate this one refines, if any. */
  parentId?: string;
  /** The model's whole answer, before code extraction. */
  answer?: string;
  /** The model's reasoning before the answer, when it thought (kept for the trace, never taken as code). */
  reasoning?: string;
  usage?: Usage;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Wall time the model spent on this request, ms. */
  durationMs: number;
}

export type VerdictStatus = 'passed' | 'failed' | 'error' | 'timeout' | 'memory' | 'output_limit';

/** One failing check, in terms a model can act on. */
export interface TestFailure {
  /** The failing test's source line (e.g. `assert add(1, 2) == 3`). */
  test: string;
  line?: number;
  expected?: string;
  actual?: string;
  /** Exception type and message, e.g. `ZeroDivisionError: division by zero`. */
  error?: string;
}

/** The sandbox's judgement of one Candidate against one set of tests. Decided outside the candidate's process. */
export interface Verdict {
  status: VerdictStatus;
  passed: boolean;
  testsPassed: number;
  testsTotal: number;
  durationMs: number;
  /** Formatted feedback for the model and the user: failing test, expected vs actual, error, trimmed output. */
  feedback: string;
  failures: TestFailure[];
  /** One entry per check that ran, in order, when the harness could tell them apart. */
  results?: { test: string; passed: boolean }[];
  stdout?: string;
  stderr?: string;
  /**
   * Set only when the sandbox itself failed (no interpreter, a worker that keeps crashing): what went wrong.
   * Such a verdict (status "error") judges nothing about the candidate. It is a field, not a line of the
   * feedback, so that nothing the candidate prints or raises can make its own failure look like one.
   */
  sandboxError?: string;
}

/** A Candidate with its Verdict: one step of the trace. */
export interface Attempt {
  candidate: Candidate;
  verdict: Verdict;
  /** The model's critique of this attempt, from its execution feedback, if one was asked for. */
  critique?: string;
  /** Why the model stopped: "length" when the token limit cut this answer short. */
  doneReason?: string;
}

/** How much work one solve may spend. */
export interface Budget {
  /** Candidates sampled in the first round. */
  samples: number;
  /** Refine rounds after the first. */
  refineRounds: number;
  /** Total completion tokens across all requests; 0 = unlimited. */
  maxTokens: number;
  /** Wall time for the whole solve, ms; 0 = unlimited. */
  wallMs: number;
}

/**
 * What a result verified by generated tests rests on: how many distinct programs (copies count once)
 * agreed, and which of the model's tests were kept. Shown instead of a bare "verified N/N".
 */
export interface TestEvidence {
  /** Distinct programs among the candidates that ran. */
  distinctPrograms: number;
  /** Distinct programs that pass every kept test and behave like the result on probe inputs. */
  agreeingPrograms: number;
  testsKept: number;
  testsDropped: number;
  testsTotal: number;
  /** Generated tests left out because they contradict the task's own examples. */
  testsContradictingExamples: number;
}

/** An input that tells two candidates apart (S*), what each returned, and which one was taken as right. */
export interface DistinguishingInput {
  call: string;
  /** Per candidate id: the output as source text, or null when the call raised. */
  outputs: { candidateId: string; output: string | null }[];
  /** The candidate whose output was taken as right, if any. */
  chosen?: string;
  /** Who decided: an assert of the task's tests with the same call, the model, or nobody. */
  judgedBy: 'oracle' | 'model' | 'none';
  /** The confirmed input as a test (`assert call == output`). */
  test?: string;
}

/** The result of one solve: the best Candidate, its Verdict and the whole trace. */
export interface Outcome {
  task: Task;
  verified: boolean;
  /** True when the only tests that verified it were written by the model. */
  verifiedByGeneratedTests: boolean;
  best?: Attempt;
  attempts: Attempt[];
  rounds: number;
  /** Why the solve ended. */
  stopReason: 'verified' | 'budget' | 'cancelled' | 'error';
  error?: string;
  /** Set with stopReason "error" when the sandbox itself failed (Verdict.sandboxError): nothing was judged. */
  sandboxFailed?: true;
  usage: Usage;
  durationMs: number;
  model?: string;
  /** Notes such as prompt shrinking, recorded so nothing is silently dropped. */
  notes: string[];
  /** With generated tests: the evidence behind the result. */
  evidence?: TestEvidence;
  /**
   * True when the best candidate passes every kept generated test but every candidate was the same
   * program: nothing independent confirms it, so it is not verified.
   */
  unconfirmed?: boolean;
  /** Inputs that told the top candidates apart (S*), with the outputs and the choice made. */
  distinguishing?: DistinguishingInput[];
}

/** A programming puzzle in the P3 layout: solved by `x` with `sat(x) is True`. */
export interface Puzzle {
  name: string;
  sat: string;
  ansType: string;
  solHeader: string;
  solBodies: string[];
  module?: string;
  /** Solve rate in [0, 1] measured by self-play; undefined when unknown. */
  solveRate?: number;
  /**
   * What kind of task the puzzle encodes: a model-written puzzle, or (Absolute Zero's task types) a
   * deduction (predict a program's output for an input) or an abduction (find an input for an output).
   * Exported in P3's `notes` as `{"kind": ...}`. Undefined means `puzzle`.
   */
  kind?: 'puzzle' | 'deduction' | 'abduction';
  /** Answers the puzzle is known to reject (plausible wrong answers the model proposed), as Python literals. */
  wrongAnswers?: string[];
}

/** One entry in the self-training dataset (see core/dataset). */
export interface DatasetRecord {
  schema: 1;
  id: string;
  /** Content hash of the normalised task and solution, used to drop duplicates. */
  hash: string;
  createdAt: string;
  task: Pick<Task, 'id' | 'language' | 'prompt' | 'entryPoint' | 'tests' | 'testsOrigin' | 'origin'>;
  verified: boolean;
  verifiedByGeneratedTests: boolean;
  solution?: string;
  verdict?: Verdict;
  attempts: Attempt[];
  puzzle?: Puzzle;
  model?: string;
  options?: { [key: string]: unknown };
  usage: Usage;
  durationMs: number;
  extensionVersion: string;
  difficulty?: number;
}
