// `crucible stats DIR`: what the self-training dataset holds.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { datasetStats, formatStats } from '../../core/dataset/stats';
import { checkDatasetDir } from '../../core/dataset/store';
import { EXIT_OK, UsageError, examples, exitCodeFor, guarded } from '../shared';
import { processIo, type CliIo } from '../io';

/** The statistics of the dataset in `dir` (or --dataset), as a table or JSON; the exit code. */
export async function runStats(
  dirArg: string | undefined,
  flags: { dataset?: string; json?: boolean },
  io: CliIo,
): Promise<number> {
  const dir = dirArg ?? flags.dataset;
  if (!dir) throw new UsageError('give the dataset folder: crucible stats DIR (or --dataset DIR).');
  if (dirArg && flags.dataset && resolve(dirArg) !== resolve(flags.dataset))
    throw new UsageError('DIR and --dataset name different folders; give one.');
  const problem = await checkDatasetDir(dir);
  if (problem) throw new Error(problem);
  const stats = await datasetStats(dir);
  if (flags.json) {
    io.out(`${JSON.stringify(stats)}\n`);
    for (const p of stats.problems) io.err(`crucible stats: ${dir}: line ${p.line}: ${p.reason}\n`);
  } else io.out(`${formatStats(stats, dir)}\n`);
  return EXIT_OK;
}

export function registerStats(program: Command, io: CliIo = processIo()): void {
  program
    .command('stats')
    .description(
      'Summarise the self-training dataset: counts, pass@1 before and after refinement, difficulty, diversity.',
    )
    .argument('[dir]', 'dataset folder (the one holding records.jsonl)')
    .option('--dataset <dir>', 'dataset folder (same as the DIR argument)')
    .option('--json', 'print the statistics as JSON')
    .addHelpText('after', examples('crucible stats data/', 'crucible stats --dataset data/ --json'))
    .action((dirArg: string | undefined, flags: { dataset?: string; json?: boolean }) =>
      guarded('stats', () => runStats(dirArg, flags, io), exitCodeFor, io),
    );
}
