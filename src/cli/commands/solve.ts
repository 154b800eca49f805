import type { Command } from 'commander';

// Placeholder: replaced by the issue that owns `crucible solve`.
export function registerSolve(program: Command): void {
  program.command('solve').description('(not built yet)').action(() => {
    process.stderr.write('crucible solve: not built yet\n');
    process.exitCode = 1;
  });
}
