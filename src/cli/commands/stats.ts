// `crucible stats DIR`: what the self-training dataset holds.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { datasetStats, formatStats } from '../../core/dataset/stats';
import { checkDatasetDir } from '../../core/dataset/store';
import { examples } from '../shared';

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('Summarise the self-training dataset: counts, pass@1 before and after refinement, difficulty, diversity.')
    .argument('[dir]', 'dataset folder (the one holding records.jsonl)')
    .option('--dataset <dir>', 'dataset folder (same as the DIR argument)')
    .option('--json', 'print the statistics as JSON')
    .addHelpText('after', examples('crucible stats data/', 'crucible stats --dataset data/ --json'))
    .action(async (dirArg: string | undefined, flags: { dataset?: string; json?: boolean }) => {
      const dir = dirArg ?? flags.dataset;
      if (!dir) {
        process.stderr.write('crucible stats: give the dataset folder: crucible stats DIR (or --dataset DIR).\n');
        process.exitCode = 2;
        return;
      }
      if (dirArg && flags.dataset && resolve(dirArg) !== resolve(flags.dataset)) {
        process.stderr.write('crucible stats: DIR and --dataset name different folders; give one.\n');
        process.exitCode = 2;
        return;
      }
      const problem = await checkDatasetDir(dir);
      if (problem) {
        process.stderr.write(`crucible stats: ${problem}\n`);
        process.exitCode = 1;
        return;
      }
      try {
        const stats = await datasetStats(dir);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(stats)}\n`);
          for (const p of stats.problems) process.stderr.write(`crucible stats: ${dir}: line ${p.line}: ${p.reason}\n`);
        } else process.stdout.write(`${formatStats(stats, dir)}\n`);
      } catch (err) {
        process.stderr.write(`crucible stats: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      }
    });
}
