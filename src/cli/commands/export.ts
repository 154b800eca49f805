import type { Command } from 'commander';

// Placeholder: replaced by the issue that owns `crucible export`.
export function registerExport(program: Command): void {
  program.command('export').description('(not built yet)').action(() => {
    process.stderr.write('crucible export: not built yet\n');
    process.exitCode = 1;
  });
}
