// `crucible solve TASKS.jsonl` and `crucible eval TASKS.jsonl`: run the self-correcting loop over a
// task file, writing one Outcome line per task as it completes (appended and fsync'd, so a killed
// run keeps what it finished; --resume skips those). `eval` also prints pass@1 before refinement
// (the first round) against after it.

import { closeSync, constants as fsConstants, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, promises as fsp, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { addModelOptions, modelSettingsFromOptions, type ModelOptionValues } from '../modelOptions';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError, cliText, duration, examples, guarded, pythonFrom, wholeNumber } from '../shared';
import { createProgress } from '../progress';
import { DATA_FILE, DatasetError, LOCK_FILE } from '../../core/dataset/store';
import { isSandboxFailureText, probeSandbox } from '../../core/solve/infra';
import type { Language, Record as DatasetRecord } from '../../core/types';
import { createModelClient } from '../../core/model/client';
import { createProcessSandbox, type ProcessSandboxOptions } from '../../core/sandbox/processSandbox';
import { createVerifier } from '../../core/verify/verifier';
import { openDataset, type DatasetStore } from '../../core/dataset/store';
import { recordFromOutcome } from '../../core/dataset/record';
import { solve, solutionOf } from '../../core/solve/solve';
import type { SolveDeps } from '../../core/solve/types';
import type { Sandbox } from '../../core/sandbox/types';
import { transpileTypeScript } from '../../core/sandbox/transpile';
import type { Budget, Outcome } from '../../core/types';
import { VERSION } from '../../core/version';
import { syncDirectorySync } from '../../core/durable';
import { dirname, join, resolve } from 'node:path';
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

/** Reads the task_ids already finished in an OUTCOMES file (errors and cancels are not finished: they run again). */
export function finishedIn(path: string): { done: Map<string, OutcomeLine>; problems: string[]; records: DatasetRecord[] } {
  const done = new Map<string, OutcomeLine>();
  const problems: string[] = [];
  const records: DatasetRecord[] = [];
  if (!existsSync(path)) return { done, problems, records };
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      const line = JSON.parse(raw) as OutcomeLine;
      if (typeof line.task_id !== 'string') throw new Error('no task_id');
      if (line.datasetRecord && typeof line.datasetRecord === 'object') records.push(line.datasetRecord);
      if (line.stopReason === 'error' || line.stopReason === 'cancelled') done.delete(line.task_id);
      else done.set(line.task_id, slim(line));
    } catch {
      // A run killed mid-write leaves at most one torn last line; anything else is worth a word.
      problems.push(`${path} line ${i + 1} is not a complete outcome; that task runs again`);
    }
  });
  return { done, problems, records };
}

/** Appends one line and fsyncs, starting a fresh line if the file ends in a torn one. */
class OutcomeWriter {
  private fd: number | undefined;
  written = 0;
  constructor(private readonly path: string | undefined, private readonly toStdout: boolean) {
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
      const fix = code === 'EISDIR' ? 'it is a folder; name a file' : code === 'ENOTDIR' || code === 'EEXIST' ? 'a part of the path is a file, not a folder' : outFix(code);
      throw new Error(`cannot open --out ${path} (${code}): ${fix}; nothing was run`);
    }
  }
  private failure(err: unknown): Error {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const kept = this.written ? `the ${this.written} outcome(s) written are kept, rerun with --resume to continue` : 'no outcome was written yet';
    return new Error(`cannot write outcomes to ${this.path} (${code}): ${outFix(code)}; ${kept}`);
  }
  write(line: OutcomeLine): void {
    const text = `${JSON.stringify(line)}\n`;
    if (this.fd === undefined) {
      if (this.toStdout) process.stdout.write(text);
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
    return { code, persistent: true, message: `the dataset folder ${dir} is not writable (${code}${code === 'EROFS' ? ': read-only file system' : ''}); make it writable or pass another --dataset` };
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return { code, persistent: false, message: `the dataset folder ${dir} is full (${code}); free space on that disk or pass a --dataset on another disk` };
  }
  return { code, persistent: false, message: cliText(err instanceof Error ? err.message : String(err)) };
}

/** Before a run: the dataset folder exists (or is created) and can be written. Throws the failure's message. */
export async function checkDatasetWritable(dir: string): Promise<void> {
  try {
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`--dataset ${dir} is a file; pass a folder`);
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
    throw new Error(`${datasetFailure(err, dir).message}; nothing was run`);
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
    // Transpiling needs no worker: a TypeScript task that does not compile starts none.
    transpile: (source, options) => transpileTypeScript(source, options),
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
  if (opts.resume && !opts.out) throw new UsageError('--resume needs --out OUTCOMES.jsonl: it skips the tasks already written there');
  checkOutTarget(opts.out, [{ path: file, what: 'the task file this run reads' }, ...datasetFiles(opts.dataset)]);
  const taskFile = readTasks(file);
  for (const e of taskFile.errors) process.stderr.write(`crucible ${command}: ${file} ${e.where ?? `line ${e.line}`}: ${e.message}\n`);
  let tasks: TaskLine[] = taskFile.tasks;
  if (opts.limit !== undefined) tasks = tasks.slice(0, opts.limit);

  const previous = new Map<string, OutcomeLine>();
  let carried: DatasetRecord[] = [];
  if (opts.resume) {
    const { done, problems, records } = finishedIn(opts.out!);
    for (const p of problems) process.stderr.write(`crucible ${command}: ${p}\n`);
    for (const [id, line] of done) previous.set(id, line);
    carried = records;
  }
  const todo = tasks.filter((t) => !previous.has(t.task.id));
  const kept = tasks.filter((t) => previous.has(t.task.id)).map((t) => previous.get(t.task.id)!);

  const settings = modelSettingsFromOptions(opts as ModelOptionValues);
  let dataset: DatasetStore | undefined;
  if (opts.dataset) {
    await checkDatasetWritable(opts.dataset);
    dataset = await openDataset(opts.dataset);
  }
  // Records an earlier run could not write (they travel in its Outcome lines) are written first.
  if (dataset && carried.length) {
    let written = 0;
    for (const record of carried) {
      try {
        if ((await dataset.append(record)).appended) written++;
      } catch (err) {
        const f = datasetFailure(err, opts.dataset!);
        throw new Error(`cannot write the ${carried.length - written} dataset record(s) kept in ${opts.out}: ${f.message}, then rerun with --resume`);
      }
    }
    if (written) process.stderr.write(`crucible ${command}: wrote ${written} dataset record(s) an earlier run kept in ${opts.out}\n`);
  }
  const writer = new OutcomeWriter(opts.out, command === 'solve');
  const model = createModelClient(settings);
  const python = pythonFrom(opts.python);
  const sandbox = lazySandbox({
    ...(python ? { python } : {}),
    limits: { ...(opts.timeout ? { wallMs: opts.timeout, cpuMs: opts.timeout } : {}), ...(opts.memoryMb ? { memoryMb: opts.memoryMb } : {}) },
  });
  const verifier = createVerifier(sandbox);
  const deps: SolveDeps = { model, verifier, sandbox };
  const budget: Budget = { samples: opts.samples, rounds: opts.rounds, maxTokens: opts.maxTokens, wallMs: opts.wallTime };

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

  const resultsOnStdout = command === 'solve' && !opts.out;
  const bar = createProgress(`${command} [{bar}] {value}/{total} tasks | verified {verified} | {task}`, resultsOnStdout);
  const lines: OutcomeLine[] = [...kept];
  let verifiedCount = kept.filter((l) => l.verified).length;
  let errorsInARow = 0;
  let datasetFailuresInARow = 0;
  let failure: string | undefined;
  try {
    // The sandbox is tried once before the model is asked anything: a missing interpreter ends the run here.
    if (todo.length) {
      const broken = await probeSandbox(verifier, todo.map((t) => t.task.language) as Language[], control.signal);
      if (broken) failure = `the ${broken.language} sandbox cannot run: ${broken.error}`;
    }
    if (!failure) bar.start(todo.length, 0, { verified: verifiedCount, task: '' });
    for (const { task } of failure ? [] : todo) {
      if (control.signal.aborted) break;
      bar.update(undefined, { task: task.id.length > 40 ? `${task.id.slice(0, 39)}…` : task.id });
      const outcome = await solve(task, deps, { budget, signal: control.signal, generateTests: opts.generateTests });
      if (outcome.stopReason === 'cancelled' && (interrupted || stdoutClosed)) break;
      if (outcome.stopReason === 'error' && isSandboxFailureText(outcome.error)) {
        // Not the task's fault: nothing is written for it (a rerun with --resume does it again).
        failure = outcome.error!;
        break;
      }
      const line = outcomeLine(outcome);
      if (dataset) {
        const record = recordFromOutcome(outcome, { extensionVersion: VERSION, ...(outcome.model ? { model: outcome.model } : {}), redact: Object.values(settings.headers ?? {}) });
        try {
          await dataset.append(record);
          datasetFailuresInARow = 0;
        } catch (err) {
          // The Record travels in the Outcome line until a run (this one, or one with --resume) writes it.
          if (!dataset.has(record.hash) || dataset.pending().some((r) => r.hash === record.hash)) line.datasetRecord = record;
          datasetFailuresInARow++;
          const f = datasetFailure(err, opts.dataset!);
          if (f.persistent || datasetFailuresInARow >= 2) failure = f.message;
          else bar.note(`crucible ${command}: dataset: ${f.message}; the record is kept in the outcome line`);
        }
      }
      writer.write(line);
      lines.push(slim(line));
      if (line.verified) verifiedCount++;
      bar.increment({ verified: verifiedCount });
      if (failure) break;
      if (outcome.stopReason === 'error') {
        errorsInARow++;
        bar.note(`crucible ${command}: ${task.id}: ${cliText(outcome.error ?? 'error')}`);
        if (errorsInARow >= 2) {
          failure = `${errorsInARow} tasks in a row ended in error: ${cliText(outcome.error ?? '')}`;
          break;
        }
      } else errorsInARow = 0;
    }
  } finally {
    bar.stop();
    writer.close();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.stdout.removeListener('error', onStdoutError);
    await sandbox.dispose();
  }
  // Records the dataset kept in memory after a write error get one last try; the rest are in their Outcome lines.
  let datasetUnwritten = 0;
  if (dataset && dataset.pending().length > 0) {
    await dataset.flush().catch(() => undefined);
    datasetUnwritten = dataset.pending().length;
  }
  if (failure) process.stderr.write(`crucible ${command}: stopped: ${cliText(failure)}\n`);
  if (datasetUnwritten > 0) {
    process.stderr.write(
      `crucible ${command}: ${datasetUnwritten} dataset record(s) could not be written to ${opts.dataset}; ${opts.out ? `they are kept in ${opts.out}: fix the dataset folder and rerun with --resume to write them` : 'they are in the outcome lines printed above (field datasetRecord); use --out FILE to make them resumable'}\n`,
    );
  }
  return { lines, malformed: taskFile.errors.length, skipped: kept.length, interrupted, stdoutClosed, datasetUnwritten, ...(failure ? { failure } : {}), model: settings.model };
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
  if (summary.failure || summary.stdoutClosed || (summary.datasetUnwritten ?? 0) > 0 || summary.malformed > 0) return EXIT_FAILED;
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
    [`${k} after ${r.rounds} refine round${r.rounds === 1 ? '' : 's'}`, `${r.after.passed}/${r.tasks}`, pct(r.after.rate)],
    ['gain from self-correction', `+${r.after.passed - r.before.passed}`, `+${((r.after.rate - r.before.rate) * 100).toFixed(1)} pts`],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  const body = rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c.padStart(9)}`).join('\n');
  const extra: string[] = [];
  if (r.verifiedByGeneratedTests > 0) extra.push(`${r.verifiedByGeneratedTests} verified only by tests the model wrote (generated tests)`);
  if (r.errors > 0) extra.push(`${r.errors} task(s) ended in error and are not counted above (see the outcome lines)`);
  return `model ${r.model} · ${r.tasks} tasks · ${r.samples} sample(s) per round\n${body}\n${extra.map((e) => `note: ${e}\n`).join('')}`;
}

function addRunOptions(cmd: Command, defaultSamples: number): Command {
  cmd
    .argument('<tasks>', 'task file: JSON lines (HumanEval, MBPP or {id, prompt, tests}; .gz is fine) or a JSON array; - for stdin')
    .option('--samples <k>', 'candidates sampled in the first round', wholeNumber('--samples', 1), defaultSamples)
    .option('--rounds <r>', 'critique-and-refine rounds after the first', wholeNumber('--rounds', 0), 3)
    .option('--max-tokens <n>', 'most completion tokens per task (0: no limit)', wholeNumber('--max-tokens', 0), 0)
    .option('--wall-time <duration>', 'most wall time per task, e.g. 90s or 5m (0: no limit)', duration('--wall-time', 's', 0), 0)
    .addOption(new Option('--wall-seconds <s>', 'old name of --wall-time').argParser(duration('--wall-seconds', 's', 0)).hideHelp())
    .option('--out <file>', 'append one Outcome JSON line per task here (default: stdout)')
    .option('--resume', 'skip task_ids already finished in --out, and write the dataset records kept there')
    .option('--dataset <dir>', 'also log every solve to the dataset in this folder')
    .option('--no-generate-tests', 'do not ask the model for tests when a task has none')
    .option('--limit <n>', 'run only the first n tasks', wholeNumber('--limit', 1))
    .option('--timeout <duration>', 'wall and CPU time for one test run, e.g. 500ms or 10s (default 10s)', duration('--timeout', 'ms', 100))
    .addOption(new Option('--timeout-ms <n>', 'old name of --timeout (ms)').argParser(duration('--timeout-ms', 'ms', 100)).hideHelp())
    .option('--memory-mb <n>', 'memory for one test run, MiB (default 512)', wholeNumber('--memory-mb', 32))
    .option('--python <path>', 'Python interpreter for Python candidates (env CRUCIBLE_PYTHON; default python3)');
  addModelOptions(cmd);
  return cmd;
}

/** Old flag names land in the new keys. */
function normalise(opts: RunOptions & { wallSeconds?: number; timeoutMs?: number }): RunOptions {
  if (opts.wallSeconds !== undefined && !opts.wallTime) opts.wallTime = opts.wallSeconds;
  if (opts.timeoutMs !== undefined && opts.timeout === undefined) opts.timeout = opts.timeoutMs;
  return opts;
}

function summaryLine(command: string, summary: RunSummary, out: string | undefined): string {
  const verified = summary.lines.filter((l) => l.verified).length;
  const generated = summary.lines.filter((l) => l.verifiedByGeneratedTests).length;
  const errors = summary.lines.filter((l) => l.stopReason === 'error').length;
  return `crucible ${command}: ${verified}/${summary.lines.length} verified${generated ? ` (${generated} by generated tests only)` : ''}${errors ? `, ${errors} ended in error` : ''}${summary.skipped ? `, ${summary.skipped} resumed from ${out}` : ''}${summary.malformed ? `, ${summary.malformed} malformed line(s) skipped` : ''}\n`;
}

export function registerSolve(program: Command): void {
  addRunOptions(
    program.command('solve').description('Solve every task in a file with the self-correcting loop; one Outcome JSON line per task.'),
    2,
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
      await guarded('solve', async () => {
        const summary = await runTasks(file, opts, 'solve');
        process.stderr.write(summary.interrupted ? `${summaryLine('solve', summary, opts.out)}${interruptedText('solve', summary, opts.out)}\n` : summaryLine('solve', summary, opts.out));
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
      await guarded('eval', async () => {
        if (opts.strategies !== undefined) return runStrategyEval(file, opts as unknown as StrategyEvalOptions);
        const summary = await runTasks(file, opts, 'eval');
        const report = evalReport(summary.lines, summary.model, opts.samples, opts.rounds);
        process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatEvalTable(report));
        if (summary.interrupted) process.stderr.write(`${interruptedText('eval', summary, opts.out)}\n`);
        return exitCodeOf(summary);
      });
    });
}
