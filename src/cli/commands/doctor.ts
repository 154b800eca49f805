import type { Command } from 'commander';

// Placeholder: replaced by the issue that owns `crucible doctor`.
export function registerDoctor(program: Command): void {
  program.command('doctor').description('(not built yet)').action(() => {
    process.stderr.write('crucible doctor: not built yet\n');
    process.exitCode = 1;
  });
}
