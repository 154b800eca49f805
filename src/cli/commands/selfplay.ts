// `crucible selfplay`: the model writes programming puzzles (P3 format), solves them, and the verified
// pairs go to the dataset. Runs headless for hours: checkpoints after every puzzle, `--resume` continues
// a killed run, progress on stderr (a bar on a terminal, a line now and then otherwise), the report at the end.

import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { addModelOptions, modelSettingsFromOptions } from '../modelOptions';
import {
  EXIT_FAILED,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
  capConcurrency,
  cliText,
  duration,
  examples,
  exitCodeFor,
  guarded,
  pythonFrom,
  wholeNumber,
} from '../shared';
import { processIo, type CliIo } from '../io';
import { checkDatasetWritable, checkOutTarget, datasetFiles } from './solve';
import { probeSandbox } from '../../core/solve/infra';
import { p3FileText } from '../../core/dataset/p3';
import { createModelClient } from '../../core/model/client';
import { createProcessSandbox } from '../../core/sandbox/processSandbox';
import { createVerifier } from '../../core/verify/verifier';
import { openDataset, type DatasetStore } from '../../core/dataset/store';
import { SelfPlayError, selfPlay } from '../../core/selfplay/loop';
import { planResume, plannedCount } from '../../core/engine';
import { loadSeedFile } from '../../core/selfplay/puzzle';
import { shippedSeeds } from '../../core/selfplay/seeds';
import { formatReport, toP3 } from '../../core/selfplay/report';
import type { SelfPlayDeps, SelfPlayEvent, SelfPlayReport } from '../../core/selfplay/types';
import type { Puzzle, DatasetRecord } from '../../core/types';
import { readRecords } from '../../core/dataset/store';
import { recordFromPuzzle } from '../../core/dataset/record';
import { DEFAULT_ALLOWED_IMPORTS } from '../../core/selfplay/probe';
import { reasoningPuzzles, reasoningSourcesFromRecords } from '../../core/selfplay/reasoning';
import { VERSION } from '../../core/version';
import { writeFileAtomic } from '../../core/durable';
import { cpus } from 'node:os';
import { SELF_PLAY_DEFAULTS } from '../../core/defaults';
import { addPythonOption } from '../sandboxOptions';

interface SelfplayOptions {
  count?: number;
  seeds?: string;
  samples: number;
  dataset?: string;
  state?: string;
  resume?: boolean;
  out?: string;
  maxGenerations?: number;
  concurrency?: number;
  examples: number;
  satTimeout: number;
  runSeed?: number;
  temperature?: number;
  python?: string;
  json?: boolean;
  quiet?: boolean;
  reasoning?: boolean;
}

/** Where the checkpoint lives unless --state says otherwise: beside the dataset, else in the current folder. */
export function defaultStatePath(opts: Pick<SelfplayOptions, 'dataset' | 'state'>): string {
  if (opts.state) return resolve(opts.state);
  return opts.dataset ? join(resolve(opts.dataset), 'selfplay-state.json') : resolve('crucible-selfplay-state.json');
}

/**
 * `--reasoning`: deduction and abduction puzzles from the user's own verified Python functions in the
 * dataset (their tests' calls are the inputs), appended to the same dataset. No model is needed.
 */
async function runReasoning(opts: SelfplayOptions, io: CliIo): Promise<number> {
  if (!opts.dataset)
    throw new SelfPlayError('--reasoning reads your verified functions from the dataset: pass --dataset DIR.');
  const dataset = await openDataset(opts.dataset);
  const records: DatasetRecord[] = [];
  for await (const r of readRecords(resolve(opts.dataset))) records.push(r);
  const sources = reasoningSourcesFromRecords(records);
  const sandbox = createProcessSandbox();
  const verifier = createVerifier(sandbox);
  const limits = {
    satTimeoutMs: opts.satTimeout,
    solTimeoutMs: SELF_PLAY_DEFAULTS.solTimeoutMs,
    allowedImports: DEFAULT_ALLOWED_IMPORTS,
  };
  const counts = { deduction: 0, abduction: 0 };
  const skipped: string[] = [];
  const puzzles: Puzzle[] = [];
  try {
    for (const source of sources) {
      const result = await reasoningPuzzles({ sandbox, verifier }, source, ['deduction', 'abduction'], limits);
      skipped.push(...result.skipped);
      for (const puzzle of result.puzzles) {
        await dataset.append(recordFromPuzzle(puzzle, { extensionVersion: VERSION, verified: true }));
        counts[puzzle.kind as 'deduction' | 'abduction']++;
        puzzles.push(puzzle);
      }
    }
  } finally {
    await sandbox.dispose();
  }
  if (opts.out)
    await writeFileAtomic(resolve(opts.out), `${JSON.stringify({ puzzles: puzzles.map(toP3) }, null, 1)}\n`);
  const summary = {
    functions: sources.length,
    deduction: counts.deduction,
    abduction: counts.abduction,
    skipped: skipped.length,
  };
  io.out(
    opts.json
      ? `${JSON.stringify(summary)}\n`
      : `Reasoning tasks from ${sources.length} verified function(s): ${counts.deduction} deduction, ${counts.abduction} abduction puzzle(s) added to ${opts.dataset}; ${skipped.length} left out${skipped.length ? ` (first: ${skipped[0]})` : ''}.\n`,
  );
  return 0;
}

async function seedsFor(opts: SelfplayOptions, io: CliIo): Promise<Puzzle[]> {
  if (!opts.seeds) return shippedSeeds();
  const file = await loadSeedFile(opts.seeds);
  if (file.skipped.length && !opts.quiet)
    io.err(
      `crucible selfplay: ${file.skipped.length} seed entr${file.skipped.length === 1 ? 'y' : 'ies'} skipped (first: ${file.skipped[0]})\n`,
    );
  return file.puzzles;
}

/** The model, the dataset and a sandbox that runs Python; an exit code when the sandbox cannot start. */
async function setUp(opts: SelfplayOptions, io: CliIo): Promise<SelfPlayDeps | number> {
  const settings = await modelSettingsFromOptions(opts as never);
  const model = createModelClient(settings);
  let dataset: DatasetStore | undefined;
  if (opts.dataset) {
    await checkDatasetWritable(opts.dataset);
    dataset = await openDataset(opts.dataset);
  }
  const python = pythonFrom(opts.python);
  const sandbox = createProcessSandbox(python ? { python } : {});
  const verifier = createVerifier(sandbox);
  // Puzzles are judged in Python: a sandbox that cannot start ends the run before the model is asked anything.
  const broken = await probeSandbox(verifier, ['python']);
  if (broken) {
    await sandbox.dispose();
    io.err(`crucible selfplay: stopped: the python sandbox cannot run: ${cliText(broken.error)}\n`);
    return EXIT_FAILED;
  }
  return { model, verifier, sandbox, ...(dataset ? { dataset } : {}) };
}

/** SIGINT and SIGTERM stop the run (once; a second signal ends the process); `dispose` stops listening. */
function interruptOnSignals(io: CliIo): { signal: AbortSignal; interrupted: () => boolean; dispose: () => void } {
  const control = new AbortController();
  let interrupted = false;
  const dispose = io.onInterrupt(() => {
    if (interrupted) return;
    interrupted = true;
    control.abort(new Error('interrupted'));
  });
  return { signal: control.signal, interrupted: () => interrupted, dispose };
}

/** Progress on stderr: a bar on a terminal, else a line every 25 puzzles or every minute; nothing with --quiet. */
function progressReporter(
  opts: SelfplayOptions,
  statePath: string,
  io: CliIo,
): { onEvent: (event: SelfPlayEvent) => void; stop: () => void } {
  const bar =
    opts.quiet || opts.json
      ? undefined
      : io.progress(
          'selfplay [{bar}] {value}/{total} accepted | rejected {rejected} | written {generated}/{budget} | {last}',
          !opts.json,
        );
  let lastLine = Date.now();
  let barStarted = false;
  const onEvent = (event: SelfPlayEvent): void => {
    if (event.kind === 'started') {
      const p = event.progress;
      if (bar?.drawn) {
        bar.start(p.target, p.accepted, {
          rejected: p.rejected,
          generated: p.generated,
          budget: p.maxGenerations,
          last: event.resumed ? 'resumed' : '',
        });
        barStarted = true;
      } else if (!opts.quiet) {
        io.err(
          `crucible selfplay: ${event.resumed ? 'resuming' : 'starting'}: ${p.accepted}/${p.target} accepted, ${p.generated} written; checkpoint ${statePath}\n`,
        );
      }
      return;
    }
    if (event.kind !== 'accepted' && event.kind !== 'rejected') return;
    const p = event.progress;
    const last =
      event.kind === 'accepted' ? `accepted (solved ${event.solved}/${event.answered})` : `rejected: ${event.reason}`;
    if (bar?.drawn)
      bar.update(p.accepted, {
        rejected: p.rejected,
        generated: p.generated,
        budget: p.maxGenerations,
        last: last.length > 50 ? `${last.slice(0, 49)}…` : last,
      });
    else if (!opts.quiet && (p.generated % 25 === 0 || Date.now() - lastLine > 60_000)) {
      lastLine = Date.now();
      io.err(
        `crucible selfplay: ${p.accepted}/${p.target} accepted, ${p.rejected} rejected, ${p.generated}/${p.maxGenerations} written\n`,
      );
    }
  };
  return { onEvent, stop: () => barStarted && bar?.stop() };
}

/** --out: exactly P3's puzzles.json, a JSON array of entries (the report is on stdout, or --json). A failed write makes the run an error. */
async function writeOut(opts: SelfplayOptions, statePath: string, report: SelfPlayReport, io: CliIo): Promise<void> {
  if (!opts.out) return;
  const state = JSON.parse(await fsp.readFile(statePath, 'utf8')) as { accepted: { puzzle: Puzzle }[] };
  try {
    await writeFileAtomic(resolve(opts.out), p3FileText(state.accepted.map((a) => toP3(a.puzzle))));
  } catch (err) {
    io.err(
      `crucible selfplay: cannot write --out ${opts.out} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the accepted puzzles are in the checkpoint ${statePath}${opts.dataset ? ' and the dataset' : ''}\n`,
    );
    report.stopReason = report.stopReason === 'cancelled' ? report.stopReason : 'error';
  }
}

/** The exit code of a finished run, with the hint for an interrupted or failed one. */
function exitFor(report: SelfPlayReport, interrupted: boolean, statePath: string, io: CliIo): number {
  if (interrupted) {
    io.err(
      `crucible selfplay: interrupted; ${report.accepted ?? ''} accepted puzzle(s) are kept in ${statePath}; rerun the same command with --resume to continue\n`,
    );
    return EXIT_INTERRUPTED;
  }
  if (report.stopReason === 'error') {
    if (report.error) io.err(`crucible selfplay: stopped: ${cliText(report.error)}\n`);
    return EXIT_FAILED;
  }
  if (report.stopReason === 'cancelled') return EXIT_FAILED;
  return EXIT_OK;
}

async function run(opts: SelfplayOptions, io: CliIo): Promise<number> {
  if (opts.reasoning) return runReasoning(opts, io);
  const seeds = await seedsFor(opts, io);
  const statePath = defaultStatePath(opts);
  checkOutTarget(opts.out, [
    ...(opts.seeds ? [{ path: opts.seeds, what: 'the --seeds file this run reads' }] : []),
    { path: statePath, what: "this run's checkpoint (--state)" },
    ...datasetFiles(opts.dataset),
  ]);
  // Checked before anything starts: a saved run in the way, or nothing to resume, is a usage error.
  const plan = await planResume(statePath, opts.resume === true ? 'resume' : 'new');
  const count = opts.count ?? plannedCount(plan, SELF_PLAY_DEFAULTS.count);
  const deps = await setUp(opts, io);
  if (typeof deps === 'number') return deps;
  const concurrency =
    opts.concurrency !== undefined ? capConcurrency(opts.concurrency, count, cpus().length) : undefined;
  if (concurrency?.note && !opts.quiet) io.err(`crucible selfplay: note: ${concurrency.note}\n`);
  const interrupt = interruptOnSignals(io);
  const progress = progressReporter(opts, statePath, io);
  let report: SelfPlayReport;
  try {
    report = await selfPlay(deps, {
      seeds,
      count,
      samples: opts.samples,
      examples: opts.examples,
      satTimeoutMs: opts.satTimeout,
      statePath,
      extensionVersion: VERSION,
      signal: interrupt.signal,
      onEvent: progress.onEvent,
      ...(opts.resume ? { resume: true } : {}),
      ...(opts.maxGenerations !== undefined ? { maxGenerations: opts.maxGenerations } : {}),
      ...(concurrency !== undefined ? { concurrency: concurrency.value } : {}),
      ...(opts.runSeed !== undefined ? { seed: opts.runSeed } : {}),
      ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
    });
  } finally {
    progress.stop();
    interrupt.dispose();
    await deps.sandbox.dispose();
  }
  // A Record the dataset kept in memory after a failed write belongs to a puzzle the run did not accept (the
  // loop stops on that failure and claims nothing it could not store): it is not flushed, so records never
  // exceed accepted puzzles. --resume carries on from the checkpoint.
  await writeOut(opts, statePath, report, io);
  io.out(opts.json ? `${JSON.stringify(report)}\n` : formatReport(report));
  return exitFor(report, interrupt.interrupted(), statePath, io);
}

export function registerSelfplay(program: Command, io: CliIo = processIo()): void {
  const cmd = program
    .command('selfplay')
    .description(
      'The model writes P3 programming puzzles and solves them; verified pairs go to the dataset (origin: self-play).',
    )
    .option(
      '--count <n>',
      `stop once this many puzzles are accepted (default ${SELF_PLAY_DEFAULTS.count}; a resumed run keeps its own)`,
      wholeNumber('--count', 1),
    )
    .option(
      '--seeds <file>',
      'P3-format JSON file of example puzzles (default: the shipped seed set), e.g. ../shared/data/p3/train.json',
    )
    .option('--dataset <dir>', 'append accepted puzzles to the dataset in this folder')
    .option(
      '--state <file>',
      'checkpoint file (default: <dataset>/selfplay-state.json or ./crucible-selfplay-state.json)',
    )
    .option('--resume', 'continue the run saved in the checkpoint')
    .option(
      '--out <file>',
      "also write the accepted puzzles to this file as P3's puzzles.json (a JSON array; crucible verify reads it)",
    )
    .option(
      '--max-generations <n>',
      'most puzzles written in the whole run (default: 10 × count)',
      wholeNumber('--max-generations', 1),
    )
    .option(
      '--concurrency <n>',
      'puzzles in flight at once (default: --max-parallel + 1)',
      wholeNumber('--concurrency', 1),
    )
    .option('--json', 'print the report as JSON')
    .option('--quiet', 'no progress output')
    .addHelpText(
      'after',
      examples(
        'crucible selfplay --dataset data/ --count 50',
        'crucible selfplay --dataset data/ --count 200 --seeds ../shared/data/p3/train.json --out puzzles.json',
        'crucible selfplay --dataset data/ --resume              # continue a stopped run',
        'crucible verify puzzles.json                            # check the accepted puzzles again',
      ),
    );
  addPuzzleOptions(cmd);
  addPythonOption(cmd, 'puzzles');
  addModelOptions(cmd);
  cmd.action(async (opts: SelfplayOptions) => {
    // A saved run in the way, or nothing to resume: the command line needs changing (usage).
    await guarded(
      'selfplay',
      () => run(opts, io),
      (err) => (err instanceof SelfPlayError || err instanceof UsageError ? EXIT_USAGE : exitCodeFor(err)),
      io,
    );
  });
}

/** How puzzles are written and judged: samples per puzzle, examples per prompt, sat's time limit, the run's seed. */
function addPuzzleOptions(cmd: Command): Command {
  return cmd
    .option(
      '--samples <n>',
      "independent solutions per puzzle (the share that pass is the puzzle's solve rate)",
      wholeNumber('--samples', 1),
      SELF_PLAY_DEFAULTS.samples,
    )
    .option(
      '--examples <n>',
      'example puzzles in each prompt',
      wholeNumber('--examples', 1),
      SELF_PLAY_DEFAULTS.examples,
    )
    .option(
      '--sat-timeout <duration>',
      'time limit of one call of sat, e.g. 500ms or 2s',
      duration('--sat-timeout', 'ms', 10),
      SELF_PLAY_DEFAULTS.satTimeoutMs,
    )
    .option(
      '--run-seed <n>',
      "seed of the run's own random choices (examples, curriculum, probes)",
      wholeNumber('--run-seed', 0),
    )
    .option(
      '--reasoning',
      'instead: deduction and abduction puzzles from your verified Python functions in --dataset (kind in P3 notes)',
    );
}
