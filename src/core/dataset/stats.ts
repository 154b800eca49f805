// Dataset statistics, computed in one streaming pass: counts, pass@1 before vs after refinement,
// attempts-to-fix, difficulty, records over time, tasks per language, solution diversity, tokens.
import type { DatasetRecord } from '../types';
import { hashForm, taskKey } from './record';
import type { DatasetProblem } from './store';
import { readRecords } from './store';

export interface Count {
  [key: string]: number;
}

export interface DatasetStats {
  records: number;
  verified: number;
  unverified: number;
  /** Verified only by tests the model wrote. */
  verifiedByGeneratedTests: number;
  /** Distinct tasks (normalised prompt, tests, language). */
  tasks: number;
  verifiedTasks: number;
  byOrigin: Count;
  byTestsOrigin: Count;
  /** Verified Records by what verified them: "user" tests, "generated" tests only, or a self-play "puzzle" (its sat). */
  verifiedByTestsOrigin: Count;
  byModel: Count;
  byLanguage: Count;
  /** Distinct tasks per language. */
  tasksByLanguage: Count;
  /** Records per UTC day (YYYY-MM-DD), verified and not. */
  overTime: { day: string; verified: number; unverified: number }[];
  /** Among Records with attempts: share whose first attempt passed, and share finally verified. */
  passAt1: { before: number; after: number; solves: number };
  /** Verified Records by the refine round that produced the solution (0 = first samples). */
  roundsToFix: Count;
  /** Verified Records by the number of attempts made before and including the passing one. */
  attemptsToFix: Count;
  /** Records by difficulty in tenths ("0.0", "0.1", … "0.9"), "1.0" on its own (every first sample failed), plus "unknown". */
  difficulty: Count;
  /** Tasks by number of distinct verified solutions ("1", "2", …). */
  solutionsPerTask: Count;
  meanSolutionsPerTask: number;
  tokens: { prompt: number; completion: number };
  durationMs: number;
  firstRecord?: string;
  lastRecord?: string;
  problems: DatasetProblem[];
}

function bump(count: Count, key: string, by = 1): void {
  count[key] = (count[key] ?? 0) + by;
}

/** Adds the empty days between the first and the last (up to two years), so a timeline shows gaps. */
function fillDays(days: DatasetStats['overTime']): DatasetStats['overTime'] {
  const dated = days.filter((d) => d.day !== 'unknown');
  if (dated.length < 2) return days;
  const first = Date.parse(`${dated[0]!.day}T00:00:00Z`);
  const last = Date.parse(`${dated[dated.length - 1]!.day}T00:00:00Z`);
  const span = Math.round((last - first) / 86_400_000);
  if (!(span > 0 && span <= 731)) return days;
  const byDay = new Map(dated.map((d) => [d.day, d] as const));
  const out: DatasetStats['overTime'] = [];
  for (let i = 0; i <= span; i++) {
    const day = new Date(first + i * 86_400_000).toISOString().slice(0, 10);
    out.push(byDay.get(day) ?? { day, verified: 0, unverified: 0 });
  }
  return [...out, ...days.filter((d) => d.day === 'unknown')];
}

/** Folds Records into statistics. Memory grows with distinct tasks, not with Records. */
export class StatsBuilder {
  private readonly s: DatasetStats = {
    records: 0,
    verified: 0,
    unverified: 0,
    verifiedByGeneratedTests: 0,
    tasks: 0,
    verifiedTasks: 0,
    byOrigin: {},
    byTestsOrigin: {},
    verifiedByTestsOrigin: {},
    byModel: {},
    byLanguage: {},
    tasksByLanguage: {},
    overTime: [],
    passAt1: { before: 0, after: 0, solves: 0 },
    roundsToFix: {},
    attemptsToFix: {},
    difficulty: {},
    solutionsPerTask: {},
    meanSolutionsPerTask: 0,
    tokens: { prompt: 0, completion: 0 },
    durationMs: 0,
    problems: [],
  };
  private readonly days = new Map<string, { verified: number; unverified: number }>();
  /** task key → language and the hashes of its distinct verified solutions. */
  private readonly tasks = new Map<string, { language: string; solutions: Set<string> }>();
  private firstPassed = 0;
  private solvedWithAttempts = 0;

  add(record: DatasetRecord): void {
    const s = this.s;
    s.records++;
    if (record.verified) s.verified++;
    else s.unverified++;
    if (record.verified && record.verifiedByGeneratedTests) s.verifiedByGeneratedTests++;
    bump(s.byOrigin, record.task.origin ?? 'unknown');
    bump(s.byTestsOrigin, record.task.testsOrigin ?? 'unknown');
    if (record.verified)
      bump(
        s.verifiedByTestsOrigin,
        record.verifiedByGeneratedTests
          ? 'generated'
          : record.puzzle
            ? 'puzzle'
            : (record.task.testsOrigin ?? 'unknown'),
      );
    bump(s.byModel, record.model ?? 'unknown');
    bump(s.byLanguage, record.task.language);

    const day =
      typeof record.createdAt === 'string' && /^\d{4}-\d\d-\d\d/.test(record.createdAt)
        ? record.createdAt.slice(0, 10)
        : 'unknown';
    const d = this.days.get(day) ?? { verified: 0, unverified: 0 };
    if (record.verified) d.verified++;
    else d.unverified++;
    this.days.set(day, d);
    if (record.createdAt && (!s.firstRecord || record.createdAt < s.firstRecord)) s.firstRecord = record.createdAt;
    if (record.createdAt && (!s.lastRecord || record.createdAt > s.lastRecord)) s.lastRecord = record.createdAt;

    const key = taskKey(record.task);
    let task = this.tasks.get(key);
    if (!task) {
      task = { language: record.task.language, solutions: new Set() };
      this.tasks.set(key, task);
    }
    if (record.verified && record.solution !== undefined) task.solutions.add(hashForm(record.solution));

    const attempts = Array.isArray(record.attempts) ? record.attempts : [];
    if (attempts.length) {
      this.solvedWithAttempts++;
      if (attempts[0]?.verdict?.passed) this.firstPassed++;
      if (record.verified) {
        const index = attempts.findIndex((a) => a.verdict?.passed);
        if (index >= 0) {
          bump(s.attemptsToFix, String(index + 1));
          bump(s.roundsToFix, String(attempts[index]!.candidate?.round ?? 0));
        }
      }
    }
    if (typeof record.difficulty === 'number' && Number.isFinite(record.difficulty)) {
      // Exactly 1.0 (no first sample passed) is its own bin, not the top of "0.9".
      const bin = record.difficulty >= 1 ? 10 : Math.min(9, Math.max(0, Math.floor(record.difficulty * 10)));
      bump(s.difficulty, (bin / 10).toFixed(1));
    } else bump(s.difficulty, 'unknown');

    s.tokens.prompt += record.usage?.promptTokens ?? 0;
    s.tokens.completion += record.usage?.completionTokens ?? 0;
    s.durationMs += record.durationMs ?? 0;
  }

  problem(problem: DatasetProblem): void {
    this.s.problems.push(problem);
  }

  result(): DatasetStats {
    const s = { ...this.s };
    s.overTime = fillDays(
      [...this.days.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([day, v]) => ({ day, ...v })),
    );
    s.tasks = this.tasks.size;
    s.tasksByLanguage = {};
    s.solutionsPerTask = {};
    let verifiedTasks = 0;
    let solutions = 0;
    for (const task of this.tasks.values()) {
      bump(s.tasksByLanguage, task.language);
      if (task.solutions.size) {
        verifiedTasks++;
        solutions += task.solutions.size;
        bump(s.solutionsPerTask, String(task.solutions.size));
      }
    }
    s.verifiedTasks = verifiedTasks;
    s.meanSolutionsPerTask = verifiedTasks ? solutions / verifiedTasks : 0;
    let verifiedWithAttempts = 0;
    for (const n of Object.values(s.attemptsToFix)) verifiedWithAttempts += n;
    s.passAt1 = {
      solves: this.solvedWithAttempts,
      before: this.solvedWithAttempts ? this.firstPassed / this.solvedWithAttempts : 0,
      after: this.solvedWithAttempts ? verifiedWithAttempts / this.solvedWithAttempts : 0,
    };
    return s;
  }
}

/** Streams a dataset folder once and returns its statistics. */
export async function datasetStats(dir: string): Promise<DatasetStats> {
  const builder = new StatsBuilder();
  for await (const record of readRecords(dir, (p) => builder.problem(p))) builder.add(record);
  return builder.result();
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function countLine(count: Count): string {
  const entries = Object.entries(count).sort((a, b) => b[1] - a[1]);
  return entries.length ? entries.map(([k, v]) => `${k} ${v}`).join(', ') : '-';
}

function histogram(count: Count, order?: (a: string, b: string) => number): string[] {
  const keys = Object.keys(count).sort(order ?? ((a, b) => Number(a) - Number(b) || a.localeCompare(b)));
  const max = Math.max(1, ...Object.values(count));
  return keys.map(
    (k) => `  ${k.padStart(7)} │${'█'.repeat(Math.round(((count[k] ?? 0) / max) * 30)).padEnd(30)} ${count[k]}`,
  );
}

/** Human-readable summary for `crucible stats`. */
export function formatStats(s: DatasetStats, dir: string): string {
  const lines = [
    `Dataset ${dir}`,
    `  records            ${s.records} (verified ${s.verified}, unverified ${s.unverified}; verified only by generated tests ${s.verifiedByGeneratedTests})`,
    `  tasks              ${s.tasks} (with a verified solution ${s.verifiedTasks})`,
    `  origin             ${countLine(s.byOrigin)}`,
    `  tests origin       ${countLine(s.byTestsOrigin)}`,
    `  verified by tests  ${countLine(s.verifiedByTestsOrigin)}`,
    `  models             ${countLine(s.byModel)}`,
    `  languages          ${countLine(s.byLanguage)} (tasks: ${countLine(s.tasksByLanguage)})`,
    `  pass@1             ${pct(s.passAt1.before)} first attempt → ${pct(s.passAt1.after)} after refinement (${s.passAt1.solves} solves)`,
    `  solutions per task mean ${s.meanSolutionsPerTask.toFixed(2)}`,
    `  tokens             prompt ${s.tokens.prompt}, completion ${s.tokens.completion}; model+sandbox time ${(s.durationMs / 1000).toFixed(1)} s`,
  ];
  if (s.firstRecord) lines.push(`  period             ${s.firstRecord} … ${s.lastRecord}`);
  if (Object.keys(s.attemptsToFix).length)
    lines.push('', 'Attempts to fix (verified records)', ...histogram(s.attemptsToFix));
  if (Object.keys(s.roundsToFix).length) lines.push('', 'Round of the verified solution', ...histogram(s.roundsToFix));
  if (s.records)
    lines.push(
      '',
      'Difficulty (share of first samples that failed)',
      ...histogram(s.difficulty, (a, b) => (a === 'unknown' ? 1 : b === 'unknown' ? -1 : Number(a) - Number(b))),
    );
  if (s.overTime.length) {
    lines.push('', 'Records per day (verified/unverified)');
    for (const d of s.overTime.slice(-14)) lines.push(`  ${d.day}  ${d.verified}/${d.unverified}`);
  }
  if (s.problems.length) {
    lines.push('', `${s.problems.length} line(s) skipped:`);
    for (const p of s.problems.slice(0, 20)) lines.push(`  line ${p.line}: ${p.reason}`);
  }
  return lines.join('\n');
}
