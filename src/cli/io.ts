// Where a CLI command writes and what it listens to. Commands take a CliIo instead of touching
// process.stdout, process.stderr, signals or process.exitCode, so tests can run them in-process and
// capture what they print. `processIo()` is the real terminal; `captureIo()` records for tests.
import { createProgress, type Progress } from './progress';

export interface CliIo {
  /** Results (JSON lines, tables): stdout. */
  out(text: string): void;
  /** Messages, warnings, summaries: stderr. */
  err(text: string): void;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  /** A progress bar on stderr (drawn only on a terminal; see progress.ts for the rules). */
  progress(format: string, resultsOnStdout: boolean): Progress;
  /** Calls `handler` on SIGINT and SIGTERM until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
  /** Calls `handler` when the reader of stdout goes away (EPIPE, e.g. `| head`) until the returned function is called. */
  onStdoutClosed(handler: () => void): () => void;
  /** The command's exit code. */
  setExitCode(code: number): void;
}

/** The real process: stdout, stderr, signals and process.exitCode. */
export function processIo(): CliIo {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    get stdoutIsTTY() {
      return process.stdout.isTTY === true;
    },
    get stderrIsTTY() {
      return process.stderr.isTTY === true;
    },
    progress: (format, resultsOnStdout) => createProgress(format, resultsOnStdout),
    onInterrupt(handler) {
      process.once('SIGINT', handler);
      process.once('SIGTERM', handler);
      return () => {
        process.removeListener('SIGINT', handler);
        process.removeListener('SIGTERM', handler);
      };
    },
    onStdoutClosed(handler) {
      const listener = (err: NodeJS.ErrnoException): void => {
        if (err.code === 'EPIPE') handler();
      };
      process.stdout.on('error', listener);
      return () => void process.stdout.removeListener('error', listener);
    },
    setExitCode(code) {
      process.exitCode = code;
    },
  };
}

/** A progress that draws nothing and sends its notes to `err`. */
export function silentProgress(err: (text: string) => void): Progress {
  return {
    drawn: false,
    start: () => undefined,
    update: () => undefined,
    increment: () => undefined,
    note: (text) => err(text.replace(/\n?$/, '\n')),
    stop: () => undefined,
  };
}

export interface CapturedIo extends CliIo {
  stdout(): string;
  stderr(): string;
  exitCode(): number | undefined;
  /** Delivers an interrupt (as SIGINT would). */
  interrupt(): void;
}

/** An in-memory CliIo for tests: not a terminal, no bar, signals only through `interrupt()`. */
export function captureIo(): CapturedIo {
  let out = '';
  let err = '';
  let code: number | undefined;
  const interrupts = new Set<() => void>();
  const io: CapturedIo = {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    stdoutIsTTY: false,
    stderrIsTTY: false,
    progress: () => silentProgress(io.err),
    onInterrupt(handler) {
      interrupts.add(handler);
      return () => void interrupts.delete(handler);
    },
    onStdoutClosed: () => () => undefined,
    setExitCode: (c) => void (code = c),
    stdout: () => out,
    stderr: () => err,
    exitCode: () => code,
    interrupt: () => [...interrupts].forEach((h) => h()),
  };
  return io;
}
