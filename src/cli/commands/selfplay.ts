import type { Command } from 'commander';

// Placeholder: replaced by the issue that owns `crucible selfplay`.
export function registerSelfplay(program: Command): void {
  program.command('selfplay').description('(not built yet)').action(() => {
    process.stderr.write('crucible selfplay: not built yet\n');
    process.exitCode = 1;
  });
}
