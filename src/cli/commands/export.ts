// `crucible export DIR --format sft|dpo|traces|p3`: training files from the dataset, written atomically.
import { Option } from 'commander';
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { datasetFiles, sameFile } from './solve';
import { EXIT_INTERRUPTED, EXIT_OK, UsageError, cliText, examples, exitCodeFor, guarded } from '../shared';
import { processIo, type CliIo } from '../io';
import { EXPORT_FORMATS, exportDataset } from '../../core/dataset/export';
import type { ExportFormat, ExportOptions, ExportResult } from '../../core/dataset/export';
import { checkDatasetDir } from '../../core/dataset/store';
import { LANGUAGES } from '../../core/types';
import type { Language, TaskOrigin } from '../../core/types';

interface ExportFlags {
  dataset?: string;
  format: ExportFormat;
  out?: string;
  split?: string;
  minDifficulty?: string;
  balance?: boolean;
  includeGenerated?: boolean;
  model?: string;
  language?: Language;
  origin?: TaskOrigin;
  since?: string;
  until?: string;
  splitSeed?: string;
  seed?: string;
  json?: boolean;
}

/**
 * Where an export goes. `--out` naming a .jsonl/.json file writes that file and `<stem>.README.md` beside it;
 * anything else (or nothing) is a folder that holds this export only: its data file and its own README.md.
 */
export function exportTarget(
  out: string | undefined,
  format: ExportFormat,
  now = new Date(),
): { file: string; readme?: string; folder?: string } {
  const ext = format === 'p3' ? 'json' : 'jsonl';
  const dataName = format === 'p3' ? 'puzzles.json' : `${format}.jsonl`;
  if (out && /\.jsonl?$/i.test(out) && !(existsSync(out) && statSync(out).isDirectory())) return { file: resolve(out) };
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const folder = resolve(out ?? `crucible-export-${format}-${stamp}`);
  void ext;
  return { file: join(folder, dataName), readme: join(folder, 'README.md'), folder };
}

/** An export's write failure in words that name the target and the fix, never a temp file. */
export function exportFailure(err: unknown, target: string): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
      return `cannot write the export to ${target} (${code}${code === 'EROFS' ? ': read-only file system' : ''}); pick a writable --out`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `cannot write the export to ${target} (${code}: the disk is full); free space or pick an --out on another disk. No partial file was left.`;
    case 'EISDIR':
      return `cannot write the export to ${target}: a folder is in the way; pick another --out`;
    case 'ENOTDIR':
    case 'EEXIST':
      return `cannot write the export to ${target}: a part of that path is a file, not a folder; pick another --out`;
    default:
      return cliText(err instanceof Error ? err.message : String(err));
  }
}

function parseDate(text: string | undefined, flag: string): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(`${flag} "${text}" is not a date; use e.g. 2026-01-31 or 2026-01-31T12:00:00Z.`);
  return date;
}

/** The dataset folder and the export options the flags ask for; a wrong flag is a usage error. */
function exportRequest(
  dirArg: string | undefined,
  flags: ExportFlags,
): { dir: string; options: Omit<ExportOptions, 'out'> } {
  const dir = dirArg ?? flags.dataset;
  if (!dir) throw new UsageError('give the dataset folder: crucible export DIR --format sft (or --dataset DIR).');
  if (dirArg && flags.dataset && resolve(dirArg) !== resolve(flags.dataset))
    throw new UsageError('DIR and --dataset name different folders; give one.');
  const split = flags.split === undefined ? 1 : Number(flags.split);
  if (!(split > 0 && split <= 1))
    throw new UsageError(`--split must be a share in (0, 1], e.g. 0.9; got "${flags.split}".`);
  const minDifficulty = flags.minDifficulty === undefined ? undefined : Number(flags.minDifficulty);
  if (minDifficulty !== undefined && !(minDifficulty >= 0 && minDifficulty <= 1))
    throw new UsageError(`--min-difficulty must be in [0, 1]; got "${flags.minDifficulty}".`);
  const since = parseDate(flags.since, '--since');
  const until = parseDate(flags.until, '--until');
  const options: Omit<ExportOptions, 'out'> = { format: flags.format, split };
  if (minDifficulty !== undefined) options.minDifficulty = minDifficulty;
  if (flags.balance) options.balance = true;
  if (flags.includeGenerated) options.includeGenerated = true;
  if (flags.model) options.model = flags.model;
  if (flags.language) options.language = flags.language;
  if (flags.origin) options.origin = flags.origin;
  if (since) options.since = since;
  if (until) options.until = until;
  if (flags.splitSeed ?? flags.seed) options.seed = (flags.splitSeed ?? flags.seed)!;
  return { dir, options };
}

/** Nothing an export writes may land on the dataset it reads: a usage error naming the file otherwise. */
function checkExportTarget(
  dir: string,
  target: ReturnType<typeof exportTarget>,
  split: number,
  flags: ExportFlags,
): void {
  const out = target.file;
  const written = [
    out,
    ...(target.readme ? [target.readme] : []),
    ...(split < 1 ? [out.replace(/(\.jsonl?)$/i, '.train$1'), out.replace(/(\.jsonl?)$/i, '.valid$1')] : []),
  ];
  for (const f of datasetFiles(dir)) {
    const hit =
      written.find((w) => sameFile(w, f.path)) ??
      (target.folder && sameFile(target.folder, dir) ? target.folder : undefined);
    if (hit)
      throw new UsageError(
        `--out ${flags.out} would write ${hit}, ${sameFile(hit, dir) ? 'the dataset folder itself' : f.what}, which this export reads. Pick an --out outside the dataset, e.g. --out exports/${flags.format}.`,
      );
  }
}

function printResult(result: ExportResult, dir: string, flags: ExportFlags, io: CliIo): void {
  for (const p of result.problems) io.err(`crucible export: ${dir}: line ${p.line}: ${p.reason}\n`);
  if (flags.json) {
    io.out(`${JSON.stringify(result)}\n`);
  } else {
    const unit = flags.format === 'p3' ? 'puzzles' : flags.format === 'dpo' ? 'pairs' : 'examples';
    io.out(`Wrote ${result.train} ${unit} (${result.trainTasks} tasks) to ${result.files.train}\n`);
    if (result.files.valid)
      io.out(`Wrote ${result.valid} ${unit} (${result.validTasks} tasks) to ${result.files.valid}\n`);
    if (result.files.readme) io.out(`README: ${result.files.readme}\n`);
    io.out(
      `${result.selected} of ${result.records} records selected${result.balancedOut ? `, ${result.balancedOut} thinned by --balance` : ''}.\n`,
    );
  }
  if (result.train + result.valid === 0) {
    const need =
      flags.format === 'dpo'
        ? ' and a failed attempt at the same task'
        : flags.format === 'traces'
          ? ' reached after a failed attempt'
          : flags.format === 'p3'
            ? ' of a self-play puzzle'
            : '';
    io.err(
      `crucible export: nothing to export as ${flags.format} with these filters (records need a verified solution${need}).\n`,
    );
  }
}

/** `crucible export`: checks the flags and the dataset, writes the export, and returns the exit code. */
export async function runExport(dirArg: string | undefined, flags: ExportFlags, io: CliIo): Promise<number> {
  const { dir, options } = exportRequest(dirArg, flags);
  const problem = await checkDatasetDir(dir);
  if (problem) throw new Error(problem);
  const target = exportTarget(flags.out, flags.format);
  checkExportTarget(dir, target, options.split ?? 1, flags);
  const controller = new AbortController();
  let interrupted = false;
  const stopListening = io.onInterrupt(() => {
    interrupted = true;
    controller.abort();
  });
  try {
    const result = await exportDataset(dir, {
      ...options,
      out: target.file,
      signal: controller.signal,
      ...(target.readme ? { readmePath: target.readme } : {}),
    });
    printResult(result, dir, flags, io);
    return EXIT_OK;
  } catch (err) {
    if (!interrupted) throw new Error(exportFailure(err, target.folder ?? target.file), { cause: err });
    io.err(
      'crucible export: interrupted; no output file was written (an earlier export at the same --out is untouched); run the command again\n',
    );
    return EXIT_INTERRUPTED;
  } finally {
    stopListening();
  }
}

export function registerExport(program: Command, io: CliIo = processIo()): void {
  program
    .command('export')
    .description('Export the self-training dataset for fine-tuning (sft, dpo, traces, p3).')
    .argument('[dir]', 'dataset folder (the one holding records.jsonl)')
    .option('--dataset <dir>', 'dataset folder (same as the DIR argument)')
    .addOption(new Option('--format <format>', 'output format').choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .option(
      '--out <path>',
      'a folder for this export (its data file and its own README.md; default crucible-export-<format>-<time>/), or a .jsonl/.json file (README beside it as <name>.README.md)',
    )
    .option(
      '--split <share>',
      'share of tasks for training, e.g. 0.9; writes train and valid files, split by task (a side with nothing is not written)',
    )
    .option(
      '--min-difficulty <d>',
      'keep records whose difficulty (share of first samples that failed, 0..1) is at least d',
    )
    .option('--balance', 'thin over-represented difficulty bands so easy tasks do not crowd out hard ones')
    .option('--include-generated', 'keep records verified only by model-written tests')
    .option('--model <name>', 'only records from this model')
    .addOption(new Option('--language <language>', 'only this language').choices([...LANGUAGES]))
    .addOption(new Option('--origin <origin>', 'only tasks of this origin').choices(['user', 'benchmark', 'self-play']))
    .option('--since <date>', 'only records created at or after this date')
    .option('--until <date>', 'only records created at or before this date')
    .option('--split-seed <text>', 'seed for the split and balancing (default "crucible")')
    .addOption(new Option('--seed <text>', 'old name of --split-seed').hideHelp())
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      examples(
        'crucible export data/ --format sft --out exports/sft-v1        # exports/sft-v1/sft.jsonl + README.md',
        'crucible export --dataset data/ --format sft --out sft.jsonl',
        'crucible export data/ --format dpo --split 0.9 --balance --out exports/dpo',
        'crucible export data/ --format p3 --out puzzles.json && crucible verify puzzles.json',
      ),
    )
    .action((dirArg: string | undefined, flags: ExportFlags) =>
      guarded('export', () => runExport(dirArg, flags, io), exitCodeFor, io),
    );
}
