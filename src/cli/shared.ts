// Pieces every `crucible` subcommand uses: flag parsers, and `guarded()`, the wrapper that turns an
// action's result or failure into the exit code (every command's action runs inside it).

import { InvalidArgumentError } from 'commander';
import { processIo, type CliIo } from './io';

/** A commander parser for a flag that takes a whole number of at least `min`; anything else is a usage error naming the flag. */
export function wholeNumber(flag: string, min: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be a whole number ≥ ${min}.`);
    return n;
  };
}

/**
 * The wrapper of every command's action: runs it and sets the exit code to what it returns. A throw is
 * reported on stderr as `crucible <command>: <message>` (setting names turned into flags) and ends with
 * `codeFor(err)` (default: 2 for usage errors, else 1). Writes through `io` (default: the real process).
 */
export async function guarded(
  command: string,
  fn: () => Promise<number>,
  codeFor: (err: unknown) => number = exitCodeFor,
  io: CliIo = processIo(),
): Promise<void> {
  try {
    io.setExitCode(await fn());
  } catch (err) {
    io.err(`crucible ${command}: ${cliText(err instanceof Error ? err.message : String(err))}\n`);
    io.setExitCode(codeFor(err));
  }
}

/** Exit codes, as the README says: 0 the run completed, 1 it failed (or skipped input), 2 usage, 130 interrupted. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** A wrong command line found after parsing (a file that is not there, --out onto an input): exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit code for a thrown error: usage errors (and unreadable input files) are 2, anything else 1. */
export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError || (err as { usage?: unknown } | undefined)?.usage === true
    ? EXIT_USAGE
    : EXIT_FAILED;
}

/**
 * Core messages name the VS Code setting and the CLI flag ("raise crucible.x (CLI: --y)"); on the
 * command line only the flag means anything, so the setting is dropped and bare setting names become flags.
 */
export function cliText(message: string): string {
  const names: [RegExp, string][] = [
    [/crucible\.ollama\.host/g, '--host'],
    [/crucible\.provider/g, '--provider'],
    [/crucible\.ollama\.headers/g, '--header'],
    [/crucible\.request\.firstTokenTimeoutSeconds/g, '--first-token-timeout'],
    [/crucible\.request\.stallTimeoutSeconds/g, '--stall-timeout'],
    [/crucible\.generation\.numPredict/g, '--num-predict'],
    [/crucible\.generation\.numCtx/g, '--num-ctx'],
    [/crucible\.generation\.\*/g, 'the sampling flags (--temperature, --top-p, --num-predict, …)'],
    [/crucible\.sandbox\.python/g, '--python (or CRUCIBLE_PYTHON)'],
    [/crucible\.dataset\.folder/g, '--dataset'],
    [/crucible\.tests\.generateWhenMissing/g, 'drop --no-generate-tests'],
    [/crucible\.selfPlay\.seeds/g, '--seeds'],
  ];
  let text = message
    // "set "crucible.x" (CLI: --flag DIR)" → "set --flag DIR"
    .replace(/\(crucible\.[A-Za-z]+(?:\.[A-Za-z*]+)*, CLI: ([^)]*)\)/g, '($1)')
    .replace(/"?crucible\.[A-Za-z]+(?:\.[A-Za-z*]+)*"?\s*\(CLI: ([^)]*)\)/g, '$1')
    .replace(/with Crucible: Select Model \(CLI: ([^)]*)\)/g, 'with $1')
    .replace(/Crucible: Select Model/g, '`crucible models`')
    .replace(/point the python setting at an interpreter/g, 'pass --python PATH (or set CRUCIBLE_PYTHON)');
  for (const [re, flag] of names) text = text.replace(re, flag);
  return text.replace(/\.\.(\s|$)/g, '.$1');
}

const DURATION_UNITS: { [unit: string]: number } = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A commander parser for a time flag: "500ms", "10s", "5m", "1h", or a bare number in `bareUnit`
 * (so the old `--timeout-ms 500` and `--first-token-timeout 300` keep working). Returns milliseconds.
 */
export function duration(flag: string, bareUnit: 'ms' | 's', minMs = 1): (value: string) => number {
  return (value: string) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(value);
    const ms = m ? Number(m[1]) * DURATION_UNITS[(m[2] ?? bareUnit).toLowerCase()]! : NaN;
    if (!Number.isFinite(ms) || ms < minMs)
      throw new InvalidArgumentError(
        `${flag} takes a duration such as 500ms, 10s or 5m (at least ${minMs} ms), got "${value}".`,
      );
    return Math.round(ms);
  };
}

/** Examples for a command's --help, as one block after the options. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/** The interpreter for Python candidates: --python, else CRUCIBLE_PYTHON, else the sandbox's default. */
export function pythonFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return flag?.trim() || env.CRUCIBLE_PYTHON?.trim() || undefined;
}

/**
 * Caps a requested concurrency at the work there is and at 4× the cores (past that, workers only
 * contend); returns the value to use and, when it was lowered, a note saying so.
 */
export function capConcurrency(
  requested: number,
  jobs: number,
  cores: number,
  flag = '--concurrency',
): { value: number; note?: string } {
  const limit = Math.max(1, Math.min(Math.max(1, jobs), Math.max(1, cores) * 4));
  if (requested <= limit) return { value: requested };
  const why =
    jobs < requested && jobs <= cores * 4
      ? `there ${jobs === 1 ? 'is 1 job' : `are ${jobs} jobs`}`
      : `4 × ${cores} core${cores === 1 ? '' : 's'}`;
  return { value: limit, note: `${flag} ${requested} lowered to ${limit} (${why})` };
}
