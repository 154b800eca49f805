// The sandbox flags every command that runs code shares (solve, eval, verify): one text, one parser, one
// default, so `--timeout 10s` means the same wherever it is given.

import { Option, type Command } from 'commander';
import { SANDBOX_DEFAULTS } from '../core/defaults';
import { duration, wholeNumber } from './shared';

export interface SandboxOptionValues {
  /** Wall and CPU time of one sandbox run, ms. */
  timeout?: number;
  /** The old name of --timeout (hidden; read into `timeout`). */
  timeoutMs?: number;
  /** Memory of one sandbox run, MiB. */
  memoryMb?: number;
  python?: string;
}

/** `--python`, with the default the sandbox uses; `what` says what it runs ("Python candidates"). */
export function addPythonOption(cmd: Command, what: string): Command {
  return cmd.option(
    '--python <path>',
    `Python interpreter for ${what} (env CRUCIBLE_PYTHON; default ${SANDBOX_DEFAULTS.python})`,
  );
}

/** `--timeout` (and its hidden old name `--timeout-ms`), `--memory-mb` and `--python`. */
export function addSandboxOptions(cmd: Command): Command {
  cmd
    .option(
      '--timeout <duration>',
      `wall and CPU time of one sandbox run, e.g. 500ms or 10s (default ${SANDBOX_DEFAULTS.timeoutMs / 1000}s)`,
      duration('--timeout', 'ms', 100),
    )
    .addOption(
      new Option('--timeout-ms <n>', 'old name of --timeout (ms)')
        .argParser(duration('--timeout-ms', 'ms', 100))
        .hideHelp(),
    )
    .option(
      '--memory-mb <n>',
      `memory of one sandbox run, MiB (default ${SANDBOX_DEFAULTS.memoryMb})`,
      wholeNumber('--memory-mb', 32),
    );
  return addPythonOption(cmd, 'Python code');
}

/** The old flag name lands in the new key (an explicit --timeout wins). */
export function sandboxOptionsOf<T extends SandboxOptionValues>(opts: T): T {
  if (opts.timeout === undefined && opts.timeoutMs !== undefined) opts.timeout = opts.timeoutMs;
  return opts;
}
