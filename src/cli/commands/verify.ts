// `crucible verify JOBS.jsonl`: verify many jobs (generic, HumanEval, P3) in the sandbox, one JSON line out per job.
// Input goes through the same reader as `solve` (gzip, BOM, CRLF, JSON lines or a P3 JSON array).
import type { Command } from 'commander';
import { cpus } from 'node:os';
import { lazySandbox } from '../../core/engine';
import { processIo, type CliIo } from '../io';
import { addSandboxOptions, sandboxOptionsOf, type SandboxOptionValues } from '../sandboxOptions';
import type { Verifier } from '../../core/verify/types';
import { createVerifier } from '../../core/verify/verifier';
import { puzzleSolution, runJob, type VerifyJob } from '../../core/verify/jobs';
import { probeSandbox, sandboxErrorOf } from '../../core/solve/infra';
import type { Limits } from '../../core/sandbox/types';
import type { Language, Puzzle, Task } from '../../core/types';
import { IdRegistry, MISSING_ENTRY_POINT, idOf, inferEntryPoint, inputRows, languageOf, readInputText } from '../input';
import {
  EXIT_FAILED,
  EXIT_INTERRUPTED,
  EXIT_OK,
  capConcurrency,
  cliText,
  examples,
  exitCodeFor,
  guarded,
  pythonFrom,
  wholeNumber,
} from '../shared';

interface VerifyOptions extends SandboxOptionValues {
  concurrency?: number;
}

interface OutLine {
  id: string | null;
  status: string;
  passed: boolean;
  durationMs: number;
  feedback: string;
  line?: number;
}

const SHAPES =
  'the generic shape {id, language, code, test}, the HumanEval shape {task_id, prompt, completion, test, entry_point} or the P3 shape {name, sat, ans_type, sol_header, sol_bodies}';

function field(o: { [k: string]: unknown }, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

function need(o: { [k: string]: unknown }, keys: string[], shape: string): void {
  const missing = keys.filter((k) => typeof o[k] !== 'string');
  if (missing.length) throw new Error(`${shape} job needs string field(s) ${missing.map((k) => `"${k}"`).join(', ')}`);
}

/** One input row as a verify job; throws an Error saying what is wrong (with the same rules as `solve`). */
export function jobFromRow(value: unknown): VerifyJob {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(
      `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`,
    );
  }
  const o = value as { [k: string]: unknown };
  if ('sat' in o || 'sol_bodies' in o || 'ans_type' in o) {
    const id = idOf(o, ['name']);
    need(o, ['sat', 'ans_type', 'sol_header'], 'a P3 puzzle');
    const bodies = o.sol_bodies;
    if (!Array.isArray(bodies) || bodies.some((b) => typeof b !== 'string'))
      throw new Error('a P3 puzzle job needs "sol_bodies" as an array of strings');
    if (bodies.length === 0) throw new Error('"sol_bodies" is empty: there is no solution to verify');
    const puzzle: Puzzle = {
      name: id,
      sat: o.sat as string,
      ansType: o.ans_type as string,
      solHeader: o.sol_header as string,
      solBodies: bodies as string[],
      module: field(o, 'module'),
    };
    return { kind: 'puzzle', id, puzzle, solution: puzzleSolution(puzzle, field(o, 'sol_docstring')) };
  }
  if ('completion' in o || 'entry_point' in o || ('task_id' in o && 'prompt' in o)) {
    const id = idOf(o, ['task_id', 'id']);
    need(o, ['prompt', 'completion', 'test'], 'a HumanEval');
    const language = languageOf(o.language);
    const entryPoint = field(o, 'entry_point') ?? inferEntryPoint(o.prompt as string, language);
    if (!entryPoint) throw new Error(MISSING_ENTRY_POINT);
    const task: Task = {
      id,
      language,
      prompt: o.prompt as string,
      entryPoint,
      tests: o.test as string,
      testsOrigin: 'user',
      origin: 'benchmark',
      completionStyle: 'continuation',
    };
    return {
      kind: 'tests',
      id,
      task,
      candidate: { id: `${id}#completion`, code: o.completion as string, language, round: 0 },
    };
  }
  let id: string;
  try {
    id = idOf(o, ['id', 'task_id']);
    need(o, ['code', 'test'], 'a generic');
  } catch (err) {
    throw new Error(`${(err as Error).message} (use ${SHAPES})`, { cause: err });
  }
  const language: Language = languageOf(o.language);
  const task: Task = { id, language, prompt: '', tests: o.test as string, testsOrigin: 'user', origin: 'user' };
  const entryPoint = field(o, 'entry_point');
  if (entryPoint) task.entryPoint = entryPoint;
  return { kind: 'tests', id, task, candidate: { id: `${id}#code`, code: o.code as string, language, round: 0 } };
}

/** One input line: the job it holds, or why it is not one. */
interface Parsed {
  line: number;
  where: string;
  job?: VerifyJob;
  id?: string;
  error?: string;
}

/** The jobs of `file` in input order, malformed lines included (with the id they name, if any). */
function parseJobs(file: string): Parsed[] {
  const { rows, problems } = inputRows(readInputText(file, 'jobs file'));
  const parsed: Parsed[] = problems.map((p) => ({ line: p.line, where: p.where, error: p.message }));
  const ids = new IdRegistry();
  for (const { value, line, where } of rows) {
    try {
      const job = jobFromRow(value);
      ids.claim(job.id, where);
      parsed.push({ line, where, job });
    } catch (err) {
      const raw = value as { [k: string]: unknown } | null;
      const id =
        raw && typeof raw === 'object'
          ? (['id', 'task_id', 'name']
              .map((k) => raw[k])
              .find((v) => (typeof v === 'string' && v.trim() !== '') || typeof v === 'number') as
              string | number | undefined)
          : undefined;
      parsed.push({ line, where, error: (err as Error).message, ...(id !== undefined ? { id: String(id) } : {}) });
    }
  }
  return parsed.sort((a, b) => a.line - b.line);
}

/** A verify run in progress: verdict lines are printed in input order as soon as the ones before them are done. */
class VerifyRun {
  readonly results: (OutLine | undefined)[];
  readonly counts: { [status: string]: number } = {};
  readonly control = new AbortController();
  flushed = 0;
  malformed = 0;
  interrupted = false;
  /** Set when the sandbox itself failed: the run stops. */
  infrastructure: string | undefined;
  private next = 0;

  constructor(
    private readonly file: string,
    readonly parsed: Parsed[],
    private readonly verifier: Verifier,
    private readonly io: CliIo,
  ) {
    this.results = new Array(parsed.length);
  }

  flush(): void {
    while (this.flushed < this.results.length && this.results[this.flushed]) {
      this.io.out(JSON.stringify(this.results[this.flushed]) + '\n');
      this.flushed++;
    }
  }

  /** Probes the sandbox once, then runs the jobs on `workers` × 2 workers (each waits on the sandbox's pool). */
  async runAll(workers: number): Promise<void> {
    // The sandbox is tried once before any job: one that cannot start ends the run with its own error, not N error lines.
    const languages = this.parsed.flatMap((p) =>
      p.job ? [p.job.kind === 'puzzle' ? 'python' : p.job.task.language] : [],
    ) as Language[];
    const broken = languages.length ? await probeSandbox(this.verifier, languages, this.control.signal) : undefined;
    if (broken) {
      this.infrastructure = `the ${broken.language} sandbox cannot run: ${broken.error}`;
      return;
    }
    await Promise.all(
      Array.from({ length: Math.min(workers * 2, Math.max(1, this.parsed.length)) }, () => this.worker()),
    );
  }

  private async worker(): Promise<void> {
    for (;;) {
      if (this.control.signal.aborted || this.infrastructure) return;
      const i = this.next++;
      if (i >= this.parsed.length) return;
      const out = await this.verdictLine(this.parsed[i]!);
      if (this.control.signal.aborted) return;
      this.counts[out.status] = (this.counts[out.status] ?? 0) + 1;
      this.results[i] = out;
      this.flush();
    }
  }

  private async verdictLine(p: Parsed): Promise<OutLine> {
    if (!p.job) {
      this.malformed++;
      this.io.err(`crucible verify: ${this.file} ${p.where}: ${p.error}\n`);
      return {
        id: p.id ?? null,
        line: p.line,
        status: 'error',
        passed: false,
        durationMs: 0,
        feedback: `Malformed job: ${p.where}: ${p.error}`,
      };
    }
    try {
      const v = await runJob(this.verifier, p.job, this.control.signal);
      const sandboxError = sandboxErrorOf(v);
      if (sandboxError && !this.control.signal.aborted) this.infrastructure = `the sandbox failed: ${sandboxError}`;
      return { id: p.job.id, status: v.status, passed: v.passed, durationMs: v.durationMs, feedback: v.feedback };
    } catch (e) {
      return {
        id: p.job.id,
        status: 'error',
        passed: false,
        durationMs: 0,
        feedback: `Verify error: ${(e as Error).message}`,
      };
    }
  }

  /** The summary on stderr and the exit code. */
  finish(startedMs: number): number {
    this.flush();
    const secs = (Date.now() - startedMs) / 1000;
    const summary = Object.entries(this.counts)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    const head = `crucible verify: ${this.flushed}/${this.parsed.length} jobs (${summary || 'none'})${this.malformed ? `, ${this.malformed} malformed line(s) skipped` : ''} in ${secs.toFixed(2)} s (${(this.flushed / Math.max(secs, 1e-3)).toFixed(1)} jobs/s)`;
    if (this.interrupted) {
      this.io.err(
        `${head}\ncrucible verify: interrupted; the ${this.flushed} verdict line(s) printed are complete, run again to verify the rest\n`,
      );
      return EXIT_INTERRUPTED;
    }
    if (this.infrastructure) {
      this.io.err(`${head}\ncrucible verify: stopped: ${cliText(this.infrastructure)}\n`);
      return EXIT_FAILED;
    }
    this.io.err(`${head}\n`);
    return this.malformed > 0 ? EXIT_FAILED : EXIT_OK;
  }
}

/** `crucible verify`: verifies every job of `file` and returns the exit code. */
export async function runVerify(file: string, opts: VerifyOptions, io: CliIo): Promise<number> {
  const parsed = parseJobs(file);
  const limits: Partial<Limits> = {};
  if (opts.timeout !== undefined) {
    limits.wallMs = opts.timeout;
    limits.cpuMs = opts.timeout;
  }
  if (opts.memoryMb !== undefined) limits.memoryMb = opts.memoryMb;
  const cores = Math.max(1, cpus().length);
  const cap = capConcurrency(opts.concurrency ?? cores, parsed.filter((p) => p.job).length, cores);
  if (cap.note && opts.concurrency !== undefined) io.err(`crucible verify: note: ${cap.note}\n`);
  const python = pythonFrom(opts.python);

  const started = Date.now();
  // Started on first use, and disposed safely even when no job ever ran (a file of malformed lines only).
  const sandbox = lazySandbox({ workers: cap.value, limits, ...(python ? { python } : {}) });
  const run = new VerifyRun(file, parsed, createVerifier(sandbox, { limits }), io);
  const stopListening = io.onInterrupt(() => {
    run.interrupted = true;
    run.control.abort();
  });
  try {
    await run.runAll(cap.value);
  } finally {
    stopListening();
    await sandbox.dispose();
  }
  return run.finish(started);
}

export function registerVerify(program: Command, io: CliIo = processIo()): void {
  const cmd = program
    .command('verify')
    .description(
      'Verify jobs from a JSONL file (or a P3 puzzles.json, or - for stdin) in the sandbox; prints one JSON verdict line per job, in input order.',
    )
    .argument(
      '<jobs>',
      'JSON lines (.gz is fine) or a JSON array of jobs: generic {id, language, code, test}, HumanEval or P3; - reads stdin',
    )
    .option(
      '--concurrency <n>',
      'jobs run at once (default: one per core; capped at the job count and 4 × cores)',
      wholeNumber('--concurrency', 1),
    );
  addSandboxOptions(cmd)
    .addHelpText(
      'after',
      examples(
        'crucible verify jobs.jsonl --concurrency 2',
        'crucible verify humaneval-completions.jsonl.gz --timeout 5s',
        'crucible verify puzzles.json          # a P3 puzzles.json: every sol_body must satisfy sat',
        'cat jobs.jsonl | crucible verify -',
      ),
    )
    .action(async (file: string, opts: VerifyOptions) => {
      await guarded('verify', () => runVerify(file, sandboxOptionsOf(opts), io), exitCodeFor, io);
    });
}
