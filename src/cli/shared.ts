// Pieces every `crucible` subcommand can use: a whole-number flag parser and the guard that turns an
// action's result or failure into the exit code.

import { InvalidArgumentError } from 'commander';

/** A commander parser for a flag that takes a whole number of at least `min`; anything else is a usage error naming the flag. */
export function wholeNumber(flag: string, min: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be a whole number ≥ ${min}.`);
    return n;
  };
}

/**
 * Runs a command's action and sets `process.exitCode` to what it returns. A throw is reported on stderr as
 * `crucible <command>: <message>` and ends with `codeFor(err)` (default 1, a failed run).
 */
export async function guarded(command: string, fn: () => Promise<number>, codeFor: (err: unknown) => number = () => 1): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (err) {
    process.stderr.write(`crucible ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = codeFor(err);
  }
}
