import type { Command } from 'commander';

// Placeholder: replaced by the issue that owns `crucible stats`.
export function registerStats(program: Command): void {
  program.command('stats').description('(not built yet)').action(() => {
    process.stderr.write('crucible stats: not built yet\n');
    process.exitCode = 1;
  });
}
