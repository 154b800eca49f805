// `crucible solve TASKS.jsonl` and `crucible eval TASKS.jsonl`: run the self-correcting loop over a
// task file, writing one Outcome line per task as it completes (appended and fsync'd, so a killed
// run keeps what it finished; --resume skips those). `eval` also prints pass@1 before refinement
// (the first round) against after it.

import {
  closeSync,
  constants as fsConstants,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  promises as fsp,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { Option, type Command } from 'commander';
import { addModelOptions, modelSettingsFromOptions, type ModelOptionValues } from '../modelOptions';
import {
  EXIT_FAILED,
  EXIT_INTERRUPTED,
  EXIT_OK,
  UsageError,
  cliText,
  duration,
  examples,
  exitCodeFor,
  guarded,
  pythonFrom,
  wholeNumber,
} from '../shared';
import type { Progress } from '../progress';
import { processIo, type CliIo } from '../io';
import { DATA_FILE, DatasetError, LOCK_FILE } from '../../core/dataset/store';
import { probeSandbox } from '../../core/solve/infra';
import type { Language, DatasetRecord, Task } from '../../core/types';
import { createModelClient } from '../../core/model/client';
import { createVerifier } from '../../core/verify/verifier';
import { openDataset, type DatasetStore } from '../../core/dataset/store';
import { lazySandbox, solveAndRecord, type Recording } from '../../core/engine';
import type { ModelSettings } from '../../core/model/types';
import { BUDGET_DEFAULTS, EVAL_SAMPLES } from '../../core/defaults';
import { solutionOf } from '../../core/solve/placement';
import type { SolveDeps } from '../../core/solve/types';
import type { Sandbox } from '../../core/sandbox/types';
import type { Budget, Outcome } from '../../core/types';
import { syncDirectorySync } from '../../core/durable';
import { dirname, join, resolve } from 'node:path';
import { readTasks, type TaskLine } from '../tasks';
import { addSandboxOptions, sandboxOptionsOf } from '../sandboxOptions';
import { runStrategyEval, type StrategyEvalOptions } from './evalStrategies';

/** One line of OUTCOMES.jsonl. */
export interface OutcomeLine {
  /** The task's id (the `id` or `task_id` of its line in the task file). */
  id: string;
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
  /**
   * The dataset Record of this solve, present only when it could not be written to --dataset when the
   * line was written (full or read-only disk). `--resume` writes it; nothing is lost.
   */
  datasetRecord?: DatasetRecord;
}

/** What a run keeps of a line once it is written: the counts need no code, feedback or notes (long runs stay small). */
function slim(line: OutcomeLine): OutcomeLine {
  const { datasetRecord: _record, ...rest } = line;
  return { ...rest, solution: null, attempts: [], notes: [] };
}

export function outcomeLine(outcome: Outcome): OutcomeLine {
  const best = outcome.best;
  return {
    id: outcome.task.id,
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
  /** Wall time per task, ms (0: no limit). */
  wallTime: number;
  out?: string;
  resume?: boolean;
  dataset?: string;
  generateTests: boolean;
  limit?: number;
  /** Wall and CPU time of one test run, ms. */
  timeout?: number;
  memoryMb?: number;
  python?: string;
  [key: string]: unknown;
}

/**
 * Reads the ids of the tasks already finished in an OUTCOMES file (errors and cancels are not finished: they run
 * again). Files from earlier versions name the task `task_id`; those are read too, so --resume continues an old run.
 */
export function finishedIn(path: string): {
  done: Map<string, OutcomeLine>;
  problems: string[];
  records: DatasetRecord[];
} {
  const done = new Map<string, OutcomeLine>();
  const problems: string[] = [];
  const records: DatasetRecord[] = [];
  if (!existsSync(path)) return { done, problems, records };
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      const line = withId(JSON.parse(raw) as OutcomeLine & { task_id?: unknown });
      if (line.datasetRecord && typeof line.datasetRecord === 'object') records.push(line.datasetRecord);
      if (line.stopReason === 'error' || line.stopReason === 'cancelled') done.delete(line.id);
      else done.set(line.id, slim(line));
    } catch {
      // A run killed mid-write leaves at most one torn last line; anything else is worth a word.
      problems.push(`${path} line ${i + 1} is not a complete outcome; that task runs again`);
    }
  });
  return { done, problems, records };
}

/** An outcome line with its id under `id`, also when an older Crucible wrote it as `task_id`. */
function withId(line: OutcomeLine & { task_id?: unknown }): OutcomeLine {
  if (typeof line.id === 'string') return line;
  if (typeof line.task_id !== 'string') throw new Error('no id');
  const { task_id: id, ...rest } = line;
  return { ...rest, id };
}

/** Appends one line and fsyncs, starting a fresh line if the file ends in a torn one. */
class OutcomeWriter {
  private fd: number | undefined;
  written = 0;
  /** Without a path, lines go to `toStdout` (solve) or nowhere (eval, which prints a table instead). */
  constructor(
    private readonly path: string | undefined,
    private readonly toStdout: ((text: string) => void) | undefined,
  ) {
    if (!path) return;
    try {
      mkdirSync(dirname(resolve(path)), { recursive: true });
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
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      const fix =
        code === 'EISDIR'
          ? 'it is a folder; name a file'
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? 'a part of the path is a file, not a folder'
            : outFix(code);
      throw new Error(`cannot open --out ${path} (${code}): ${fix}; nothing was run`, { cause: err });
    }
  }
  private failure(err: unknown): Error {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const kept = this.written
      ? `the ${this.written} outcome(s) written are kept, rerun with --resume to continue`
      : 'no outcome was written yet';
    return new Error(`cannot write outcomes to ${this.path} (${code}): ${outFix(code)}; ${kept}`);
  }
  write(line: OutcomeLine): void {
    const text = `${JSON.stringify(line)}\n`;
    if (this.fd === undefined) {
      this.toStdout?.(text);
      this.written++;
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
    this.written++;
  }
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function outFix(code: string): string {
  return code === 'ENOSPC' || code === 'EDQUOT'
    ? 'free disk space or pick another --out'
    : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? 'pick a writable --out file'
      : 'check the --out path';
}

/** Whether two paths name the same file (same path, or the same inode through a link). */
export function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** --out must not be an input of the run or a file of the dataset: refuse it (usage) before anything runs. */
export function checkOutTarget(out: string | undefined, inputs: { path: string; what: string }[]): void {
  if (!out) return;
  for (const input of inputs) {
    if (input.path !== '-' && sameFile(out, input.path)) {
      throw new UsageError(`--out ${out} is ${input.what}; writing there would overwrite it. Pick another --out file.`);
    }
  }
}

/** The dataset's own files: no --out may name one of them. */
export function datasetFiles(dir: string | undefined): { path: string; what: string }[] {
  if (!dir) return [];
  return [
    { path: dir, what: 'the --dataset folder' },
    { path: join(dir, DATA_FILE), what: `the dataset's ${DATA_FILE}` },
    { path: join(dir, LOCK_FILE), what: "the dataset's lock file" },
    { path: join(dir, 'selfplay-state.json'), what: "the dataset's self-play checkpoint" },
  ];
}

/** A dataset write that failed: what to tell the user and whether it will fail again (read-only, no permission). */
export function datasetFailure(err: unknown, dir: string): { code: string; persistent: boolean; message: string } {
  const code = err instanceof DatasetError ? err.code : ((err as NodeJS.ErrnoException)?.code ?? 'EIO');
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return {
      code,
      persistent: true,
      message: `the dataset folder ${dir} is not writable (${code}${code === 'EROFS' ? ': read-only file system' : ''}); make it writable or pass another --dataset`,
    };
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return {
      code,
      persistent: false,
      message: `the dataset folder ${dir} is full (${code}); free space on that disk or pass a --dataset on another disk`,
    };
  }
  return { code, persistent: false, message: cliText(err instanceof Error ? err.message : String(err)) };
}

/** Before a run: the dataset folder exists (or is created) and can be written. Throws the failure's message. */
export async function checkDatasetWritable(dir: string): Promise<void> {
  try {
    if (existsSync(dir) && !statSync(dir).isDirectory())
      throw new UsageError(`--dataset ${dir} is a file; pass a folder`);
    try {
      await fsp.mkdir(dir, { recursive: true });
    } catch (err) {
      // mkdir -p on a read-only file system reports ENOENT for the first missing part: ask the deepest existing folder why.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      let parent = resolve(dir);
      while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
      await fsp.access(parent, fsConstants.W_OK);
      throw err;
    }
    await fsp.access(dir, fsConstants.W_OK);
    if (existsSync(join(dir, DATA_FILE))) await fsp.access(join(dir, DATA_FILE), fsConstants.W_OK);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new Error(`${datasetFailure(err, dir).message}; nothing was run`, { cause: err });
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
  /** Why the run stopped early: the sandbox or the dataset failed for good. */
  failure?: string;
  model: string;
}

/** What a run will do: the tasks to solve, the lines an earlier run finished, and the Records it kept. */
interface RunPlan {
  todo: TaskLine[];
  kept: OutcomeLine[];
  carried: DatasetRecord[];
  malformed: number;
}

/** Checks the flags against the files, reads the tasks and, with --resume, what an earlier run finished. */
function planRun(file: string, opts: RunOptions, command: string, io: CliIo): RunPlan {
  if (opts.resume && !opts.out)
    throw new UsageError('--resume needs --out OUTCOMES.jsonl: it skips the tasks already written there');
  checkOutTarget(opts.out, [{ path: file, what: 'the task file this run reads' }, ...datasetFiles(opts.dataset)]);
  const taskFile = readTasks(file);
  for (const e of taskFile.errors)
    io.err(`crucible ${command}: ${file} ${e.where ?? `line ${e.line}`}: ${e.message}\n`);
  let tasks: TaskLine[] = taskFile.tasks;
  if (opts.limit !== undefined) tasks = tasks.slice(0, opts.limit);

  const previous = new Map<string, OutcomeLine>();
  let carried: DatasetRecord[] = [];
  if (opts.resume) {
    const { done, problems, records } = finishedIn(opts.out!);
    for (const p of problems) io.err(`crucible ${command}: ${p}\n`);
    for (const [id, line] of done) previous.set(id, line);
    carried = records;
  }
  return {
    todo: tasks.filter((t) => !previous.has(t.task.id)),
    kept: tasks.filter((t) => previous.has(t.task.id)).map((t) => previous.get(t.task.id)!),
    carried,
    malformed: taskFile.errors.length,
  };
}

/** Opens --dataset (checked writable first) and writes the Records an earlier run could not (they travel in its Outcome lines). */
async function openRunDataset(
  opts: RunOptions,
  carried: DatasetRecord[],
  command: string,
  io: CliIo,
): Promise<DatasetStore | undefined> {
  if (!opts.dataset) return undefined;
  await checkDatasetWritable(opts.dataset);
  const dataset = await openDataset(opts.dataset);
  let written = 0;
  for (const record of carried) {
    try {
      if ((await dataset.append(record)).appended) written++;
    } catch (err) {
      const f = datasetFailure(err, opts.dataset);
      throw new Error(
        `cannot write the ${carried.length - written} dataset record(s) kept in ${opts.out}: ${f.message}, then rerun with --resume`,
        { cause: err },
      );
    }
  }
  if (written) io.err(`crucible ${command}: wrote ${written} dataset record(s) an earlier run kept in ${opts.out}\n`);
  return dataset;
}

/** The tasks of one `solve` or `eval` run, solved in order; stops early when the sandbox, the dataset or the model keeps failing. */
class TaskRun {
  readonly control = new AbortController();
  interrupted = false;
  stdoutClosed = false;
  failure: string | undefined;
  readonly lines: OutcomeLine[];
  private verifiedCount: number;
  private errorsInARow = 0;
  private datasetFailuresInARow = 0;
  private readonly bar: Progress;

  constructor(
    private readonly command: string,
    private readonly opts: RunOptions,
    private readonly deps: SolveDeps,
    private readonly settings: ModelSettings,
    private readonly dataset: DatasetStore | undefined,
    private readonly writer: OutcomeWriter,
    kept: OutcomeLine[],
    io: CliIo,
  ) {
    this.lines = [...kept];
    this.verifiedCount = kept.filter((l) => l.verified).length;
    this.bar = io.progress(
      `${command} [{bar}] {value}/{total} tasks | verified {verified} | {task}`,
      command === 'solve' && !opts.out,
    );
  }

  async runAll(todo: TaskLine[]): Promise<void> {
    try {
      // The sandbox is tried once before the model is asked anything: a missing interpreter ends the run here.
      if (todo.length) {
        const broken = await probeSandbox(
          this.deps.verifier,
          todo.map((t) => t.task.language) as Language[],
          this.control.signal,
        );
        if (broken) this.failure = `the ${broken.language} sandbox cannot run: ${broken.error}`;
      }
      if (this.failure) return;
      this.bar.start(todo.length, 0, { verified: this.verifiedCount, task: '' });
      for (const { task } of todo) {
        if (this.control.signal.aborted) break;
        this.bar.update(undefined, { task: task.id.length > 40 ? `${task.id.slice(0, 39)}…` : task.id });
        if (!(await this.runOne(task))) break;
      }
    } finally {
      this.bar.stop();
    }
  }

  /** Solves one task, records it and writes its line; false when the run must stop. */
  private async runOne(task: Task): Promise<boolean> {
    const recording: Recording | undefined = this.dataset
      ? { dataset: () => this.dataset!, settings: this.settings }
      : undefined;
    const { outcome, record, error } = await solveAndRecord(
      task,
      this.deps,
      { budget: budgetOf(this.opts), signal: this.control.signal, generateTests: this.opts.generateTests },
      recording,
    );
    if (outcome.stopReason === 'cancelled' && (this.interrupted || this.stdoutClosed)) return false;
    if (outcome.stopReason === 'error' && outcome.sandboxFailed) {
      // Not the task's fault: nothing is written for it (a rerun with --resume does it again).
      this.failure = outcome.error!;
      return false;
    }
    const line = outcomeLine(outcome);
    if (record && error !== undefined) this.datasetWriteFailed(line, record, error);
    else if (record) this.datasetFailuresInARow = 0;
    this.writer.write(line);
    this.lines.push(slim(line));
    if (line.verified) this.verifiedCount++;
    this.bar.increment({ verified: this.verifiedCount });
    if (this.failure) return false;
    if (outcome.stopReason !== 'error') {
      this.errorsInARow = 0;
      return true;
    }
    this.errorsInARow++;
    this.bar.note(`crucible ${this.command}: ${task.id}: ${cliText(outcome.error ?? 'error')}`);
    if (this.errorsInARow < 2) return true;
    this.failure = `${this.errorsInARow} tasks in a row ended in error: ${cliText(outcome.error ?? '')}`;
    return false;
  }

  /** The Record travels in the Outcome line until a run (this one, or one with --resume) writes it. */
  private datasetWriteFailed(line: OutcomeLine, record: DatasetRecord, err: unknown): void {
    const dataset = this.dataset!;
    if (!dataset.has(record.hash) || dataset.pending().some((r) => r.hash === record.hash)) line.datasetRecord = record;
    this.datasetFailuresInARow++;
    const f = datasetFailure(err, this.opts.dataset!);
    if (f.persistent || this.datasetFailuresInARow >= 2) this.failure = f.message;
    else this.bar.note(`crucible ${this.command}: dataset: ${f.message}; the record is kept in the outcome line`);
  }
}

function budgetOf(opts: RunOptions): Budget {
  return { samples: opts.samples, refineRounds: opts.rounds, maxTokens: opts.maxTokens, wallMs: opts.wallTime };
}

/** The solve dependencies of a run: the model client and a sandbox started on first use. */
function runDeps(opts: RunOptions, settings: ModelSettings): SolveDeps & { sandbox: Sandbox } {
  const python = pythonFrom(opts.python);
  const sandbox = lazySandbox({
    ...(python ? { python } : {}),
    limits: {
      ...(opts.timeout ? { wallMs: opts.timeout, cpuMs: opts.timeout } : {}),
      ...(opts.memoryMb ? { memoryMb: opts.memoryMb } : {}),
    },
  });
  return { model: createModelClient(settings), verifier: createVerifier(sandbox), sandbox };
}

/** Records the dataset kept in memory after a write error get one last try; says where the rest are. */
async function finishDataset(
  dataset: DatasetStore | undefined,
  opts: RunOptions,
  command: string,
  io: CliIo,
): Promise<number> {
  if (!dataset || dataset.pending().length === 0) return 0;
  await dataset.flush().catch(() => undefined);
  const unwritten = dataset.pending().length;
  if (unwritten > 0) {
    const where = opts.out
      ? `they are kept in ${opts.out}: fix the dataset folder and rerun with --resume to write them`
      : 'they are in the outcome lines printed above (field datasetRecord); use --out FILE to make them resumable';
    io.err(`crucible ${command}: ${unwritten} dataset record(s) could not be written to ${opts.dataset}; ${where}\n`);
  }
  return unwritten;
}

/** Runs every task of the file, in order; shared by `solve` and `eval`. */
async function runTasks(file: string, opts: RunOptions, command: string, io: CliIo): Promise<RunSummary> {
  const plan = planRun(file, opts, command, io);
  const settings = modelSettingsFromOptions(opts as ModelOptionValues);
  const dataset = await openRunDataset(opts, plan.carried, command, io);
  const writer = new OutcomeWriter(opts.out, command === 'solve' ? io.out : undefined);
  const deps = runDeps(opts, settings);
  const run = new TaskRun(command, opts, deps, settings, dataset, writer, plan.kept, io);
  const stopInterrupt = io.onInterrupt(() => {
    run.interrupted = true;
    run.control.abort();
  });
  // `crucible solve tasks.jsonl | head`: a closed stdout ends the run quietly instead of crashing on EPIPE.
  const stopStdout = io.onStdoutClosed(() => {
    run.stdoutClosed = true;
    run.control.abort();
  });
  try {
    await run.runAll(plan.todo);
  } finally {
    writer.close();
    stopInterrupt();
    stopStdout();
    await deps.sandbox.dispose();
  }
  if (run.failure) io.err(`crucible ${command}: stopped: ${cliText(run.failure)}\n`);
  const datasetUnwritten = await finishDataset(dataset, opts, command, io);
  const { interrupted, stdoutClosed, failure, lines } = run;
  return {
    lines,
    malformed: plan.malformed,
    skipped: plan.kept.length,
    interrupted,
    stdoutClosed,
    datasetUnwritten,
    ...(failure ? { failure } : {}),
    model: settings.model,
  };
}

/** The one-line message of an interrupted run: what was kept and how to go on. */
function interruptedText(command: string, summary: RunSummary, out: string | undefined): string {
  const done = summary.lines.length - summary.skipped;
  return out
    ? `crucible ${command}: interrupted; ${done} finished outcome(s) of this run are kept in ${out}; rerun the same command with --resume to continue`
    : `crucible ${command}: interrupted; ${done} finished outcome(s) were printed; rerun with --out FILE to make a run resumable`;
}

function exitCodeOf(summary: RunSummary): number {
  if (summary.interrupted) return EXIT_INTERRUPTED;
  if (summary.failure || summary.stdoutClosed || (summary.datasetUnwritten ?? 0) > 0 || summary.malformed > 0)
    return EXIT_FAILED;
  if (summary.lines.some((l) => l.stopReason === 'error')) return EXIT_FAILED;
  return EXIT_OK;
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

export function evalReport(all: OutcomeLine[], model: string, samples: number, rounds: number): EvalReport {
  // A task that ended in error (model server, sandbox) was not attempted to the end: it is no failure of the model's code.
  const lines = all.filter((l) => l.stopReason !== 'error');
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
    errors: all.length - lines.length,
  };
}

export function formatEvalTable(r: EvalReport): string {
  const k = r.samples === 1 ? 'pass@1' : `pass@${r.samples}`;
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const rows: [string, string, string][] = [
    ['', 'verified', 'rate'],
    [`${k} before refinement`, `${r.before.passed}/${r.tasks}`, pct(r.before.rate)],
    [
      `${k} after ${r.rounds} refine round${r.rounds === 1 ? '' : 's'}`,
      `${r.after.passed}/${r.tasks}`,
      pct(r.after.rate),
    ],
    [
      'gain from self-correction',
      `+${r.after.passed - r.before.passed}`,
      `+${((r.after.rate - r.before.rate) * 100).toFixed(1)} pts`,
    ],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  const body = rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c.padStart(9)}`).join('\n');
  const extra: string[] = [];
  if (r.verifiedByGeneratedTests > 0)
    extra.push(`${r.verifiedByGeneratedTests} verified only by tests the model wrote (generated tests)`);
  if (r.errors > 0) extra.push(`${r.errors} task(s) ended in error and are not counted above (see the outcome lines)`);
  return `model ${r.model} · ${r.tasks} tasks · ${r.samples} sample(s) per round\n${body}\n${extra.map((e) => `note: ${e}\n`).join('')}`;
}

function addRunOptions(cmd: Command, defaultSamples: number): Command {
  cmd
    .argument(
      '<tasks>',
      'task file: JSON lines (HumanEval, MBPP or {id, prompt, tests}; .gz is fine) or a JSON array; - for stdin',
    )
    .option('--samples <k>', 'candidates sampled in the first round', wholeNumber('--samples', 1), defaultSamples)
    .option(
      '--rounds <r>',
      'critique-and-refine rounds after the first',
      wholeNumber('--rounds', 0),
      BUDGET_DEFAULTS.refineRounds,
    )
    .option(
      '--max-tokens <n>',
      'most completion tokens per task (0: no limit)',
      wholeNumber('--max-tokens', 0),
      BUDGET_DEFAULTS.maxTokens,
    )
    .option(
      '--wall-time <duration>',
      'most wall time per task, e.g. 90s or 5m (0: no limit)',
      duration('--wall-time', 's', 0),
      BUDGET_DEFAULTS.wallSeconds * 1000,
    )
    .addOption(
      new Option('--wall-seconds <s>', 'old name of --wall-time')
        .argParser(duration('--wall-seconds', 's', 0))
        .hideHelp(),
    )
    .option('--out <file>', 'append one Outcome JSON line per task here (default: stdout)')
    .option('--resume', 'skip the tasks already finished in --out, and write the dataset records kept there')
    .option('--dataset <dir>', 'also log every solve to the dataset in this folder')
    .option('--no-generate-tests', 'do not ask the model for tests when a task has none')
    .option('--limit <n>', 'run only the first n tasks', wholeNumber('--limit', 1));
  addSandboxOptions(cmd);
  addModelOptions(cmd);
  return cmd;
}

/** Old flag names land in the new keys. */
function normalise(opts: RunOptions & { wallSeconds?: number; timeoutMs?: number }): RunOptions {
  if (opts.wallSeconds !== undefined && !opts.wallTime) opts.wallTime = opts.wallSeconds;
  return sandboxOptionsOf(opts);
}

function summaryLine(command: string, summary: RunSummary, out: string | undefined): string {
  const verified = summary.lines.filter((l) => l.verified).length;
  const generated = summary.lines.filter((l) => l.verifiedByGeneratedTests).length;
  const errors = summary.lines.filter((l) => l.stopReason === 'error').length;
  return `crucible ${command}: ${verified}/${summary.lines.length} verified${generated ? ` (${generated} by generated tests only)` : ''}${errors ? `, ${errors} ended in error` : ''}${summary.skipped ? `, ${summary.skipped} resumed from ${out}` : ''}${summary.malformed ? `, ${summary.malformed} malformed line(s) skipped` : ''}\n`;
}

export function registerSolve(program: Command, io: CliIo = processIo()): void {
  addRunOptions(
    program
      .command('solve')
      .description('Solve every task in a file with the self-correcting loop; one Outcome JSON line per task.'),
    BUDGET_DEFAULTS.samples,
  )
    .addHelpText(
      'after',
      examples(
        'crucible solve tasks.jsonl --model qwen2.5-coder:7b --samples 2 --rounds 3 --out outcomes.jsonl --dataset data/',
        'crucible solve HumanEval.jsonl.gz --limit 20 --out he.jsonl --timeout 5s',
        'crucible solve tasks.jsonl --out outcomes.jsonl --dataset data/ --resume   # continue a stopped run',
      ),
    )
    .action(async (file: string, raw: RunOptions) => {
      const opts = normalise(raw);
      await guarded(
        'solve',
        async () => {
          const summary = await runTasks(file, opts, 'solve', io);
          io.err(
            summary.interrupted
              ? `${summaryLine('solve', summary, opts.out)}${interruptedText('solve', summary, opts.out)}\n`
              : summaryLine('solve', summary, opts.out),
          );
          return exitCodeOf(summary);
        },
        exitCodeFor,
        io,
      );
    });

  addRunOptions(
    program
      .command('eval')
      .description(
        'Run the tasks and print pass@1 before refinement against after it: what self-correction is worth for your model. With --strategies, compare ways to spend the budget.',
      )
      .option('--json', 'print the report as JSON')
      .option(
        '--strategies <list>',
        'compare strategies at an equal budget: resample, refine, trace, sstar (comma-separated)',
      )
      .option('--report <file>', 'with --strategies: where the JSON report goes (default crucible-eval.json)'),
    EVAL_SAMPLES,
  )
    .addHelpText(
      'after',
      examples(
        'crucible eval tasks.jsonl --model qwen2.5-coder:7b',
        'crucible eval HumanEval.jsonl.gz --limit 50 --rounds 3 --out eval-outcomes.jsonl --json',
      ),
    )
    .action(async (file: string, raw: RunOptions & { json?: boolean; strategies?: string; report?: string }) => {
      const opts = normalise(raw);
      await guarded(
        'eval',
        async () => {
          if (opts.strategies !== undefined) return runStrategyEval(file, opts as unknown as StrategyEvalOptions, io);
          const summary = await runTasks(file, opts, 'eval', io);
          const report = evalReport(summary.lines, summary.model, opts.samples, opts.rounds);
          io.out(opts.json ? `${JSON.stringify(report)}\n` : formatEvalTable(report));
          if (summary.interrupted) io.err(`${interruptedText('eval', summary, opts.out)}\n`);
          return exitCodeOf(summary);
        },
        exitCodeFor,
        io,
      );
    });
}
