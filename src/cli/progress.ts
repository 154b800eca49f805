// The progress bar of long CLI runs (solve, eval, selfplay). Rules:
// - drawn on stderr, and only when stderr is a terminal;
// - not drawn when results go to stdout and stdout is that terminal too (bar text would sit in the results);
// - never switches line wrap off (cli-progress's default, linewrap: false, sends ESC[?7l); with linewrap: true
//   it cuts each bar line to the terminal width instead;
// - the bar's line is cleared when it stops, so the summary line that ends every run starts clean.
import { SingleBar } from 'cli-progress';

export interface Progress {
  start(total: number, value: number, payload: { [key: string]: unknown }): void;
  update(value: number | undefined, payload: { [key: string]: unknown }): void;
  increment(payload: { [key: string]: unknown }): void;
  /** Writes one message line to stderr without tearing the bar. */
  note(text: string): void;
  stop(): void;
  /** True when a bar is drawn (other progress lines should then stay quiet). */
  readonly drawn: boolean;
}

export function shouldDrawBar(
  resultsOnStdout: boolean,
  streams: { stderr: { isTTY?: boolean }; stdout: { isTTY?: boolean } } = process,
): boolean {
  if (streams.stderr.isTTY !== true) return false;
  if (resultsOnStdout && streams.stdout.isTTY === true) return false;
  return true;
}

export function createProgress(format: string, resultsOnStdout: boolean): Progress {
  const draw = shouldDrawBar(resultsOnStdout);
  const bar = draw
    ? new SingleBar(
        { format, stream: process.stderr, hideCursor: true, linewrap: true, clearOnComplete: true, barsize: 20 },
        undefined,
      )
    : undefined;
  let running = false;
  return {
    drawn: draw,
    start(total, value, payload) {
      if (!bar) return;
      bar.start(total, value, payload);
      running = true;
    },
    update(value, payload) {
      if (!bar || !running) return;
      if (value === undefined) bar.update(payload);
      else bar.update(value, payload);
    },
    increment(payload) {
      if (bar && running) bar.increment(1, payload);
    },
    note(text) {
      if (bar && running) {
        process.stderr.write(`\r\x1b[2K${text.replace(/\n?$/, '\n')}`);
        bar.render();
      } else process.stderr.write(text.replace(/\n?$/, '\n'));
    },
    stop() {
      if (bar && running) bar.stop();
      running = false;
    },
  };
}
