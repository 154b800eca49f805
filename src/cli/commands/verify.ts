import type { Command } from 'commander';

// Placeholder: replaced by the issue that owns `crucible verify`.
export function registerVerify(program: Command): void {
  program.command('verify').description('(not built yet)').action(() => {
    process.stderr.write('crucible verify: not built yet\n');
    process.exitCode = 1;
  });
}
