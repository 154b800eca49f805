// "What should my model do with its budget?" Runs the same tasks under several strategies at an equal
// budget and reports pass@1, tokens and wall time per solved task, and the success rate of each round.
//
// The loop sees only the task's description (as for a function without tests: it writes its own tests and
// checks them against the candidates); the task's own tests then grade the one answer the loop returns. So
// pass@1 is honest (one answer per task, judged by tests the loop never saw), and strategies that select
// well (S*) or use feedback well (refine, trace) can show it.
//
//   resample  fresh samples every round, no feedback
//   refine    critique and refine the most promising failures with execution feedback
//   trace     refine, with a runtime trace of the failing input in the refine prompt (LDB-style)
//   sstar     fresh samples, with S* selection: distinguishing inputs judged by an oracle or the model

import type { Budget, Outcome, Task } from '../types';
import { taskForCode } from './placement';
import { solve } from './solve';
import type { SolveDeps, SolveOptions } from './types';

export const STRATEGIES = ['resample', 'refine', 'trace', 'sstar'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export function isStrategy(name: string): name is StrategyName {
  return (STRATEGIES as readonly string[]).includes(name);
}

/** The loop's options for a strategy. */
export function strategyOptions(name: StrategyName): Pick<SolveOptions, 'refineMode' | 'traces' | 'distinguish'> {
  switch (name) {
    case 'resample':
      return { refineMode: 'resample', traces: false, distinguish: false };
    case 'refine':
      return { refineMode: 'feedback', traces: false, distinguish: false };
    case 'trace':
      return { refineMode: 'feedback', traces: true, distinguish: false };
    case 'sstar':
      return { refineMode: 'resample', traces: false, distinguish: true };
  }
}

export interface RoundStats {
  /** Round index (1 = the first round after the samples). */
  round: number;
  /** Candidates written in this round (tasks still unsolved by the loop at that point). */
  attempted: number;
  /** Of those, how many passed the loop's tests. */
  passed: number;
}

export interface StrategyRow {
  strategy: StrategyName;
  tasks: number;
  /** Tasks whose returned answer passes the task's own tests. */
  solved: number;
  passAt1: number;
  /** Completion tokens over all tasks. */
  completionTokens: number;
  promptTokens: number;
  /** Completion tokens per solved task (all tokens spent, divided by tasks solved); null when none was solved. */
  tokensPerSolved: number | null;
  wallMs: number;
  wallMsPerSolved: number | null;
  /** Share of round-0 candidates that passed the loop's tests. */
  firstRound: RoundStats;
  /** Per later round: candidates and how many passed (the fix rate, for refine and trace). */
  rounds: RoundStats[];
  /** Tasks the loop itself called verified (by its generated tests), and of those, how many were right. */
  loopVerified: number;
  loopVerifiedCorrect: number;
  unconfirmed: number;
  errors: number;
}

export interface StrategyReport {
  model: string;
  tasks: number;
  budget: Budget;
  strategies: StrategyRow[];
  /** Tasks left out because they have no tests to grade with. */
  ungraded: string[];
  /** Per strategy and task: solved or not, for the JSON file. */
  perTask: {
    strategy: StrategyName;
    taskId: string;
    solved: boolean;
    loopVerified: boolean;
    unconfirmed: boolean;
    completionTokens: number;
    durationMs: number;
    stopReason: Outcome['stopReason'];
    error?: string;
  }[];
}

export interface StrategyRunOptions {
  strategies: StrategyName[];
  budget: Budget;
  signal?: AbortSignal;
  /** Called after each task of each strategy. */
  onTask?: (strategy: StrategyName, task: Task, solved: boolean, done: number, total: number) => void;
}

/** The task as the loop sees it: its description only. */
export function blindTask(task: Task): Task {
  return { ...task, tests: '', testsOrigin: 'none', origin: task.origin === 'benchmark' ? 'benchmark' : task.origin };
}

/** Whether `outcome`'s answer passes the task's own tests. */
async function grade(task: Task, outcome: Outcome, deps: SolveDeps, signal?: AbortSignal): Promise<boolean> {
  const best = outcome.best;
  if (!best || best.candidate.code.trim() === '') return false;
  const verdict = await deps.verifier.verify(taskForCode(task, best.candidate.code), best.candidate, signal);
  return verdict.passed;
}

/** Per-round pass counts of one Outcome, added into `into`. */
function addRounds(outcome: Outcome, first: RoundStats, later: Map<number, RoundStats>): void {
  for (const a of outcome.attempts) {
    const r = a.candidate.round;
    const stats = r === 0 ? first : (later.get(r) ?? { round: r, attempted: 0, passed: 0 });
    stats.attempted++;
    if (a.verdict.passed) stats.passed++;
    if (r > 0) later.set(r, stats);
  }
}

export async function evaluateStrategies(
  tasks: Task[],
  deps: SolveDeps,
  options: StrategyRunOptions,
): Promise<StrategyReport> {
  const graded = tasks.filter((t) => t.tests.trim() !== '' && t.testsOrigin !== 'none');
  const ungraded = tasks.filter((t) => !graded.includes(t)).map((t) => t.id);
  const report: StrategyReport = {
    model: deps.model.settings.model,
    tasks: graded.length,
    budget: options.budget,
    strategies: [],
    ungraded,
    perTask: [],
  };
  const total = graded.length * options.strategies.length;
  let done = 0;
  for (const strategy of options.strategies) {
    const row: StrategyRow = {
      strategy,
      tasks: graded.length,
      solved: 0,
      passAt1: 0,
      completionTokens: 0,
      promptTokens: 0,
      tokensPerSolved: null,
      wallMs: 0,
      wallMsPerSolved: null,
      firstRound: { round: 0, attempted: 0, passed: 0 },
      rounds: [],
      loopVerified: 0,
      loopVerifiedCorrect: 0,
      unconfirmed: 0,
      errors: 0,
    };
    const later = new Map<number, RoundStats>();
    for (const task of graded) {
      if (options.signal?.aborted) break;
      const outcome = await solve(blindTask(task), deps, {
        budget: options.budget,
        generateTests: true,
        ...(options.signal ? { signal: options.signal } : {}),
        ...strategyOptions(strategy),
      });
      if (outcome.stopReason === 'cancelled' && options.signal?.aborted) break;
      const solved = await grade(task, outcome, deps, options.signal);
      row.completionTokens += outcome.usage.completionTokens;
      row.promptTokens += outcome.usage.promptTokens;
      row.wallMs += outcome.durationMs;
      if (solved) row.solved++;
      if (outcome.verified) {
        row.loopVerified++;
        if (solved) row.loopVerifiedCorrect++;
      }
      if (outcome.unconfirmed) row.unconfirmed++;
      if (outcome.stopReason === 'error') row.errors++;
      addRounds(outcome, row.firstRound, later);
      report.perTask.push({
        strategy,
        taskId: task.id,
        solved,
        loopVerified: outcome.verified,
        unconfirmed: outcome.unconfirmed === true,
        completionTokens: outcome.usage.completionTokens,
        durationMs: outcome.durationMs,
        stopReason: outcome.stopReason,
        ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      });
      options.onTask?.(strategy, task, solved, ++done, total);
    }
    row.passAt1 = row.tasks > 0 ? row.solved / row.tasks : 0;
    row.tokensPerSolved = row.solved > 0 ? Math.round(row.completionTokens / row.solved) : null;
    row.wallMsPerSolved = row.solved > 0 ? Math.round(row.wallMs / row.solved) : null;
    row.rounds = [...later.values()].sort((a, b) => a.round - b.round);
    report.strategies.push(row);
  }
  return report;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const share = (s: RoundStats): string =>
  s.attempted === 0 ? '–' : `${s.passed}/${s.attempted} ${pct(s.passed / s.attempted)}`;

/** The report as a table: one row per strategy. */
export function formatStrategyTable(r: StrategyReport): string {
  const maxRound = Math.max(0, ...r.strategies.flatMap((s) => s.rounds.map((x) => x.round)));
  const header = [
    'strategy',
    'pass@1',
    'tokens/solved',
    'wall s/solved',
    'round 0',
    ...Array.from({ length: maxRound }, (_, i) => `round ${i + 1}`),
    'loop verified (right)',
  ];
  const rows = r.strategies.map((s) => [
    s.strategy,
    `${s.solved}/${s.tasks} ${pct(s.passAt1)}`,
    s.tokensPerSolved === null ? '–' : String(s.tokensPerSolved),
    s.wallMsPerSolved === null ? '–' : (s.wallMsPerSolved / 1000).toFixed(2),
    share(s.firstRound),
    ...Array.from({ length: maxRound }, (_, i) => {
      const x = s.rounds.find((y) => y.round === i + 1);
      return x ? share(x) : '–';
    }),
    `${s.loopVerified} (${s.loopVerifiedCorrect})`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const b = r.budget;
  const lines = [
    `model ${r.model} · ${r.tasks} tasks · equal budget per task: ${b.samples} sample(s), ${b.refineRounds} later round(s)${b.maxTokens > 0 ? `, ${b.maxTokens} completion tokens` : ''}`,
    "the loop sees each task's description only (it writes its own tests); the task's tests grade the one answer it returns",
    line(header),
    ...rows.map(line),
    "round n: candidates of that round that passed the loop's tests (for refine and trace, the fix rate)",
  ];
  if (r.ungraded.length > 0)
    lines.push(`note: ${r.ungraded.length} task(s) without tests were left out (nothing to grade them with)`);
  const errors = r.strategies.filter((s) => s.errors > 0).map((s) => `${s.strategy} ${s.errors}`);
  if (errors.length > 0) lines.push(`note: tasks that ended in error: ${errors.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The budget a strategy report recommends: the strategy with the best pass@1 (ties: fewer tokens per
 * solved task), as `samples`/`rounds` settings. Resample-style winners spend rounds on samples.
 */
export function recommendedBudget(
  r: StrategyReport,
): { strategy: StrategyName; samples: number; rounds: number } | undefined {
  const best = [...r.strategies].sort(
    (a, b) => b.passAt1 - a.passAt1 || (a.tokensPerSolved ?? Infinity) - (b.tokensPerSolved ?? Infinity),
  )[0];
  if (!best) return undefined;
  const { samples, refineRounds } = r.budget;
  if (best.strategy === 'resample' || best.strategy === 'sstar') {
    return { strategy: best.strategy, samples: Math.min(16, samples * (refineRounds + 1)), rounds: 0 };
  }
  // Refining: keep as many rounds as still fixed something.
  const useful = best.rounds.filter((x) => x.passed > 0).map((x) => x.round);
  return {
    strategy: best.strategy,
    samples,
    rounds: useful.length > 0 ? Math.max(...useful) : Math.min(1, refineRounds),
  };
}
