// `crucible`: the headless command line over the same core the extension uses.
import { Command, CommanderError } from 'commander';
import { registerVerify } from './commands/verify';
import { registerModels } from './commands/models';
import { registerDoctor } from './commands/doctor';
import { registerSolve } from './commands/solve';
import { registerExport } from './commands/export';
import { registerStats } from './commands/stats';
import { registerSelfplay } from './commands/selfplay';
import { VERSION } from '../core/version';
import { processIo, type CliIo } from './io';

/** Exit codes: 0 the run completed (whatever the verdicts), 1 the run failed or skipped input, 2 usage error, 130 interrupted. */
export const EXIT_USAGE = 2;

/** The `crucible` program; every command writes through `io` (tests pass a captureIo()). */
export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command();
  program
    .name('crucible')
    .description('Self-correcting code generation on local models, verified in a sandbox.')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  crucible doctor                                   # is the server, the model and Python ready?
  crucible verify jobs.jsonl                        # judge code without a model
  crucible solve tasks.jsonl --out outcomes.jsonl --dataset data/
  crucible eval tasks.jsonl --model qwen2.5-coder:7b
  crucible export data/ --format sft --out exports/sft
  crucible selfplay --dataset data/ --count 50

Exit codes: 0 the run completed, 1 it failed or skipped input (named on stderr), 2 usage error, 130 interrupted.
Run crucible <command> --help for its flags and examples.
`,
    );
  registerVerify(program, io);
  registerModels(program, io);
  registerDoctor(program, io);
  registerSolve(program, io);
  registerExport(program, io);
  registerStats(program, io);
  registerSelfplay(program, io);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; anything else is a usage error.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    process.stderr.write(`crucible: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** `crucible stats | head`: a reader that goes away ends the command quietly instead of with an EPIPE stack trace. */
function quietOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // A command that handles it itself (solve/eval stop and keep finished work) has its own listener.
    if (err.code === 'EPIPE' && process.stdout.listenerCount('error') === 1)
      process.exit(typeof process.exitCode === 'number' && process.exitCode !== 0 ? process.exitCode : 1);
  });
}

if (require.main === module) {
  quietOnClosedStdout();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`crucible: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
