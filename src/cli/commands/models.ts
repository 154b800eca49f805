import type { Command } from 'commander';

// Placeholder: replaced by the issue that owns `crucible models`.
export function registerModels(program: Command): void {
  program.command('models').description('(not built yet)').action(() => {
    process.stderr.write('crucible models: not built yet\n');
    process.exitCode = 1;
  });
}
