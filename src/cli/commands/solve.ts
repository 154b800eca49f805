// `crucible solve TASKS.jsonl` and `crucible eval TASKS.jsonl`: run the self-correcting loop over a
// task file, writing one Outcome line per task as it completes (appended and fsync'd, so a killed
// run keeps what it finished; --resume skips those). `eval` also prints pass@1 before refinement
// (the first round) against after it.

import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { addModelOptions, modelSettingsFromOptions, type ModelOptionValues } from '../modelOptions';
import { guarded, wholeNumber } from '../shared';
import { createModelClient } from '../../core/model/client';
import { createProcessSandbox, type ProcessSandboxOptions } from '../../core/sandbox/processSandbox';
import { createVerifier } from '../../core/verify/verifier';
import { openDataset, type DatasetStore } from '../../core/dataset/store';
import { recordFromOutcome } from '../../core/dataset/record';
import { solve, solutionOf } from '../../core/solve/solve';
import type { SolveDeps } from '../../core/solve/types';
import type { Sandbox } from '../../core/sandbox/types';
import type { Budget, Outcome } from '../../core/types';
import { VERSION } from '../../core/version';
import { syncDirectorySync } from '../../core/durable';
import { dirname, resolve } from 'node:path';
import { readTasks, type TaskLine } from '../tasks';
import { runStrategyEval, type StrategyEvalOptions } from './evalStrategies';

/** One line of OUTCOMES.jsonl. */
export interface OutcomeLine {
  task_id: string;
  verified: boolean;
  /** True when only tests the model wrote verified it: say so wherever the result is shown. */
  verifiedByGeneratedTests: boolean;
  testsOrigin: string;
  stopReason: Outcome['stopReason'];
  error?: string;
  /** The verified code, or the best attempt's code when nothing was verified. */
  solution: string | null;
  /** True when a first-round candidate was verified (before any refinement). */
  verifiedInFirstRound: boolean;
  rounds: number;
  attempts: {
    id: string;
    round: number;
    parentId?: string;
    status: string;
    passed: boolean;
    testsPassed: number;
    testsTotal: number;
    feedback: string;
    critique?: string;
    code: string;
    completionTokens?: number;
  }[];
  tokens: { prompt: number; completion: number };
  modelMs: number;
  durationMs: number;
  model?: string;
  notes: string[];
  /** With generated tests: distinct programs that agree, tests kept and dropped. */
  evidence?: Outcome['evidence'];
  /** The best candidate passes the generated tests, but every candidate was the same program: not verified. */
  unconfirmed?: boolean;
  /** S*: inputs that told the top candidates apart, their outputs and the choice made. */
  distinguishing?: Outcome['distinguishing'];
}

/** What a run keeps of a line once it is written: the counts need no code, feedback or notes (long runs stay small). */
function slim(line: OutcomeLine): OutcomeLine {
  return { ...line, solution: null, attempts: [], notes: [] };
}

export function outcomeLine(outcome: Outcome): OutcomeLine {
  const best = outcome.best;
  return {
    task_id: outcome.task.id,
    verified: outcome.verified,
    verifiedByGeneratedTests: outcome.verifiedByGeneratedTests,
    testsOrigin: outcome.task.testsOrigin,
    stopReason: outcome.stopReason,
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    solution: best && best.candidate.code.trim() !== '' ? solutionOf(outcome.task, best.candidate.code) : null,
    verifiedInFirstRound: outcome.verified && best?.candidate.round === 0,
    rounds: outcome.rounds,
    attempts: outcome.attempts.map((a) => ({
      id: a.candidate.id,
      round: a.candidate.round,
      ...(a.candidate.parentId ? { parentId: a.candidate.parentId } : {}),
      status: a.verdict.status,
      passed: a.verdict.passed,
      testsPassed: a.verdict.testsPassed,
      testsTotal: a.verdict.testsTotal,
      feedback: a.verdict.feedback,
      ...(a.critique !== undefined ? { critique: a.critique } : {}),
      code: a.candidate.code,
      ...(a.candidate.usage ? { completionTokens: a.candidate.usage.completionTokens } : {}),
    })),
    tokens: { prompt: outcome.usage.promptTokens, completion: outcome.usage.completionTokens },
    modelMs: outcome.usage.durationMs,
    durationMs: outcome.durationMs,
    ...(outcome.model ? { model: outcome.model } : {}),
    notes: outcome.notes,
    ...(outcome.evidence ? { evidence: outcome.evidence } : {}),
    ...(outcome.unconfirmed ? { unconfirmed: true } : {}),
    ...(outcome.distinguishing ? { distinguishing: outcome.distinguishing } : {}),
  };
}

interface RunOptions {
  samples: number;
  rounds: number;
  maxTokens: number;
  wallSeconds: number;
  out?: string;
  resume?: boolean;
  dataset?: string;
  generateTests: boolean;
  limit?: number;
  timeoutMs?: number;
  memoryMb?: number;
  python?: string;
  [key: string]: unknown;
}

/** Reads the task_ids already finished in an OUTCOMES file (errors and cancels are not finished: they run again). */
export function finishedIn(path: string): { done: Map<string, OutcomeLine>; problems: string[] } {
  const done = new Map<string, OutcomeLine>();
  const problems: string[] = [];
  if (!existsSync(path)) return { done, problems };
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      const line = JSON.parse(raw) as OutcomeLine;
      if (typeof line.task_id !== 'string') throw new Error('no task_id');
      if (line.stopReason === 'error' || line.stopReason === 'cancelled') done.delete(line.task_id);
      else done.set(line.task_id, slim(line));
    } catch {
      // A run killed mid-write leaves at most one torn last line; anything else is worth a word.
      problems.push(`${path} line ${i + 1} is not a complete outcome; that task runs again`);
    }
  });
  return { done, problems };
}

/** Appends one line and fsyncs, starting a fresh line if the file ends in a torn one. */
class OutcomeWriter {
  private fd: number | undefined;
  constructor(private readonly path: string | undefined, private readonly toStdout: boolean) {
    if (!path) return;
    try {
      const created = !existsSync(path);
      this.fd = openSync(path, 'a+');
      if (created) syncDirectorySync(dirname(resolve(path)));
      // A torn last line (killed run) must not glue onto the next outcome: look at the last byte only.
      const size = fstatSync(this.fd).size;
      if (size > 0) {
        const last = Buffer.alloc(1);
        readSync(this.fd, last, 0, 1, size - 1);
        if (last[0] !== 0x0a) writeSync(this.fd, '\n');
      }
    } catch (err) {
      throw this.failure(err);
    }
  }
  private failure(err: unknown): Error {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const fix =
      code === 'ENOSPC' || code === 'EDQUOT'
        ? 'free disk space or pick another --out'
        : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? 'pick a writable --out file'
          : 'check the --out path';
    return new Error(`cannot write outcomes to ${this.path} (${code}): ${fix}; outcomes already written are kept, rerun with --resume to continue`);
  }
  write(line: OutcomeLine): void {
    const text = `${JSON.stringify(line)}\n`;
    if (this.fd === undefined) {
      if (this.toStdout) process.stdout.write(text);
      return;
    }
    try {
      writeSync(this.fd, text);
    } catch (err) {
      throw this.failure(err);
    }
    try {
      fsyncSync(this.fd);
    } catch (err) {
      // Character devices and some file systems cannot fsync; the write itself went through.
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw this.failure(err);
    }
  }
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface RunSummary {
  lines: OutcomeLine[];
  malformed: number;
  skipped: number;
  interrupted: boolean;
  /** stdout was closed (e.g. `| head`) and the run stopped before every task ran. */
  stdoutClosed?: boolean;
  /** Dataset records that could not be written (full disk) by the end of the run. */
  datasetUnwritten?: number;
  model: string;
}

/**
 * The process sandbox, started on first use (a run against a dead server never starts Python workers),
 * and disposed while something keeps the event loop alive (idle workers are unref'd), for at most 5 s.
 */
export function lazySandbox(options: ProcessSandboxOptions): Sandbox {
  let real: Sandbox | undefined;
  const get = (): Sandbox => (real ??= createProcessSandbox(options));
  return {
    run: (request, signal) => get().run(request, signal),
    runPair: (request, signal) => get().runPair(request, signal),
    isolation: () => get().isolation(),
    async dispose() {
      if (!real) return;
      const keep = setInterval(() => undefined, 250);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([real.dispose(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
      } finally {
        clearInterval(keep);
        if (timer) clearTimeout(timer);
      }
    },
  };
}

/** Runs every task of the file, in order; shared by `solve` and `eval`. */
async function runTasks(file: string, opts: RunOptions, command: string): Promise<RunSummary> {
  const taskFile = readTasks(file);
  for (const e of taskFile.errors) process.stderr.write(`crucible ${command}: ${file} line ${e.line}: ${e.message}\n`);
  let tasks: TaskLine[] = taskFile.tasks;
  if (opts.limit !== undefined) tasks = tasks.slice(0, opts.limit);

  const previous = new Map<string, OutcomeLine>();
  if (opts.resume) {
    if (!opts.out) throw new Error('--resume needs --out OUTCOMES.jsonl: it skips the tasks already written there');
    const { done, problems } = finishedIn(opts.out);
    for (const p of problems) process.stderr.write(`crucible ${command}: ${p}\n`);
    for (const [id, line] of done) previous.set(id, line);
  }
  const todo = tasks.filter((t) => !previous.has(t.task.id));
  const kept = tasks.filter((t) => previous.has(t.task.id)).map((t) => previous.get(t.task.id)!);

  const settings = modelSettingsFromOptions(opts as ModelOptionValues);
  const writer = new OutcomeWriter(opts.out, command === 'solve');
  const model = createModelClient(settings);
  const sandbox = lazySandbox({
    ...(opts.python ? { python: opts.python } : {}),
    limits: { ...(opts.timeoutMs ? { wallMs: opts.timeoutMs, cpuMs: opts.timeoutMs } : {}), ...(opts.memoryMb ? { memoryMb: opts.memoryMb } : {}) },
  });
  const verifier = createVerifier(sandbox);
  const deps: SolveDeps = { model, verifier, sandbox };
  let dataset: DatasetStore | undefined;
  if (opts.dataset) dataset = await openDataset(opts.dataset);
  const budget: Budget = { samples: opts.samples, rounds: opts.rounds, maxTokens: opts.maxTokens, wallMs: opts.wallSeconds * 1000 };

  const control = new AbortController();
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    control.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // `crucible solve tasks.jsonl | head`: a closed stdout ends the run quietly instead of crashing on EPIPE.
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') {
      stdoutClosed = true;
      control.abort();
    }
  };
  let stdoutClosed = false;
  process.stdout.on('error', onStdoutError);

  const bar =
    process.stderr.isTTY && todo.length > 0
      ? new SingleBar({ format: `${command} [{bar}] {value}/{total} tasks | verified {verified} | {task}`, stream: process.stderr, hideCursor: true }, undefined)
      : undefined;
  const lines: OutcomeLine[] = [...kept];
  let verifiedCount = kept.filter((l) => l.verified).length;
  let errorsInARow = 0;
  bar?.start(todo.length, 0, { verified: verifiedCount, task: '' });
  try {
    for (const { task } of todo) {
      if (control.signal.aborted) break;
      bar?.update({ task: task.id });
      const outcome = await solve(task, deps, { budget, signal: control.signal, generateTests: opts.generateTests });
      if (outcome.stopReason === 'cancelled' && (interrupted || stdoutClosed)) break;
      const line = outcomeLine(outcome);
      writer.write(line);
      lines.push(slim(line));
      if (line.verified) verifiedCount++;
      if (dataset) {
        try {
          await dataset.append(recordFromOutcome(outcome, { extensionVersion: VERSION, ...(outcome.model ? { model: outcome.model } : {}), redact: Object.values(settings.headers ?? {}) }));
        } catch (err) {
          process.stderr.write(`crucible ${command}: dataset: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      }
      bar?.increment(1, { verified: verifiedCount });
      if (outcome.stopReason === 'error') {
        errorsInARow++;
        if (!bar) process.stderr.write(`crucible ${command}: ${task.id}: ${outcome.error}\n`);
        if (errorsInARow >= 2) {
          bar?.stop();
          process.stderr.write(`crucible ${command}: stopping after ${errorsInARow} tasks in a row ended in error: ${outcome.error}\n`);
          break;
        }
      } else errorsInARow = 0;
    }
  } finally {
    bar?.stop();
    writer.close();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.stdout.removeListener('error', onStdoutError);
    await sandbox.dispose();
  }
  if (interrupted) process.stderr.write(`crucible ${command}: interrupted; finished tasks are kept${opts.out ? `, rerun with --resume to continue` : ''}\n`);
  // Records the dataset kept in memory after a write error get one last try; any still unwritten are named, never dropped silently.
  let datasetUnwritten = 0;
  if (dataset && dataset.pending().length > 0) {
    await dataset.flush().catch(() => undefined);
    datasetUnwritten = dataset.pending().length;
    if (datasetUnwritten > 0) {
      process.stderr.write(
        `crucible ${command}: ${datasetUnwritten} dataset record(s) could not be written to ${opts.dataset}; free space there (or pick another --dataset)${opts.out ? ` and rerun with --resume: the Outcomes are in ${opts.out}` : ' and rerun'}\n`,
      );
    }
  }
  return { lines, malformed: taskFile.errors.length, skipped: kept.length, interrupted, stdoutClosed, datasetUnwritten, model: settings.model };
}

function exitCodeOf(summary: RunSummary): number {
  if (summary.interrupted || summary.stdoutClosed || (summary.datasetUnwritten ?? 0) > 0 || summary.malformed > 0) return 1;
  if (summary.lines.some((l) => l.stopReason === 'error')) return 1;
  return 0;
}

export interface EvalReport {
  model: string;
  tasks: number;
  samples: number;
  rounds: number;
  /** pass@1 (samples = 1) or pass@k of the first round: verified before any refinement. */
  before: { passed: number; rate: number };
  after: { passed: number; rate: number };
  /** Verified only by tests the model wrote (counted in `after`, labelled). */
  verifiedByGeneratedTests: number;
  errors: number;
}

export function evalReport(lines: OutcomeLine[], model: string, samples: number, rounds: number): EvalReport {
  const n = lines.length;
  const before = lines.filter((l) => l.verifiedInFirstRound).length;
  const after = lines.filter((l) => l.verified).length;
  const rate = (x: number): number => (n === 0 ? 0 : x / n);
  return {
    model,
    tasks: n,
    samples,
    rounds,
    before: { passed: before, rate: rate(before) },
    after: { passed: after, rate: rate(after) },
    verifiedByGeneratedTests: lines.filter((l) => l.verifiedByGeneratedTests).length,
    errors: lines.filter((l) => l.stopReason === 'error').length,
  };
}

export function formatEvalTable(r: EvalReport): string {
  const k = r.samples === 1 ? 'pass@1' : `pass@${r.samples}`;
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const rows: [string, string, string][] = [
    ['', 'verified', 'rate'],
    [`${k} before refinement`, `${r.before.passed}/${r.tasks}`, pct(r.before.rate)],
    [`${k} after ${r.rounds} refine round${r.rounds === 1 ? '' : 's'}`, `${r.after.passed}/${r.tasks}`, pct(r.after.rate)],
    ['gain from self-correction', `+${r.after.passed - r.before.passed}`, `+${((r.after.rate - r.before.rate) * 100).toFixed(1)} pts`],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  const body = rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c.padStart(9)}`).join('\n');
  const extra: string[] = [];
  if (r.verifiedByGeneratedTests > 0) extra.push(`${r.verifiedByGeneratedTests} verified only by tests the model wrote (generated tests)`);
  if (r.errors > 0) extra.push(`${r.errors} task(s) ended in error (see the outcome lines)`);
  return `model ${r.model} · ${r.tasks} tasks · ${r.samples} sample(s) per round\n${body}\n${extra.map((e) => `note: ${e}\n`).join('')}`;
}

function addRunOptions(cmd: Command, defaultSamples: number): Command {
  cmd
    .argument('<tasks>', 'JSON-lines task file (HumanEval or MBPP shape; .gz is fine; - for stdin)')
    .option('--samples <k>', 'candidates sampled in the first round', wholeNumber('--samples', 1), defaultSamples)
    .option('--rounds <r>', 'critique-and-refine rounds after the first', wholeNumber('--rounds', 0), 3)
    .option('--max-tokens <n>', 'most completion tokens per task (0: no limit)', wholeNumber('--max-tokens', 0), 0)
    .option('--wall-seconds <s>', 'most wall time per task, seconds (0: no limit)', wholeNumber('--wall-seconds', 0), 0)
    .option('--out <file>', 'append one Outcome JSON line per task here (default: stdout)')
    .option('--resume', 'skip task_ids already finished in --out')
    .option('--dataset <dir>', 'also log every solve to the dataset in this folder')
    .option('--no-generate-tests', 'do not ask the model for tests when a task has none')
    .option('--limit <n>', 'run only the first n tasks', wholeNumber('--limit', 1))
    .option('--timeout-ms <n>', 'wall and CPU time for one test run, ms (default 10000)', wholeNumber('--timeout-ms', 100))
    .option('--memory-mb <n>', 'memory for one test run, MiB (default 512)', wholeNumber('--memory-mb', 32))
    .option('--python <path>', 'Python interpreter for Python candidates (default python3)');
  addModelOptions(cmd);
  return cmd;
}

export function registerSolve(program: Command): void {
  addRunOptions(
    program.command('solve').description('Solve every task in a file with the self-correcting loop; one Outcome JSON line per task.'),
    2,
  ).action(async (file: string, opts: RunOptions) => {
    await guarded('solve', async () => {
      const summary = await runTasks(file, opts, 'solve');
      const verified = summary.lines.filter((l) => l.verified).length;
      const generated = summary.lines.filter((l) => l.verifiedByGeneratedTests).length;
      if (!process.stderr.isTTY || opts.out) {
        process.stderr.write(
          `crucible solve: ${verified}/${summary.lines.length} verified${generated ? ` (${generated} by generated tests only)` : ''}${summary.skipped ? `, ${summary.skipped} resumed from ${opts.out}` : ''}${summary.malformed ? `, ${summary.malformed} malformed line(s) skipped` : ''}\n`,
        );
      }
      return exitCodeOf(summary);
    });
  });

  addRunOptions(
    program
      .command('eval')
      .description('Run the tasks and print pass@1 before refinement against after it: what self-correction is worth for your model. With --strategies, compare ways to spend the budget.')
      .option('--json', 'print the report as JSON')
      .option('--strategies <list>', 'compare strategies at an equal budget: resample, refine, trace, sstar (comma-separated)')
      .option('--report <file>', 'with --strategies: where the JSON report goes (default crucible-eval.json)'),
    1,
  ).action(async (file: string, opts: RunOptions & { json?: boolean; strategies?: string; report?: string }) => {
    await guarded('eval', async () => {
      if (opts.strategies !== undefined) return runStrategyEval(file, opts as StrategyEvalOptions);
      const summary = await runTasks(file, opts, 'eval');
      const report = evalReport(summary.lines, summary.model, opts.samples, opts.rounds);
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatEvalTable(report));
      return exitCodeOf(summary);
    });
  });
}
