// Text for people in the editor: no Markdown backticks in notifications (they show literally), no CLI
// flags, and the right fix for the right cause.

import type { TestFailure } from '../core/types';

/** Removes CLI hints such as "(CLI: --host or OLLAMA_HOST)" and turns `code` into 'code' for plain-text toasts. */
export function forEditor(message: string): string {
  let text = message
    .replace(/\s*\(CLI:[^)]*\)/g, '')
    .replace(/;\s*CLI:[^.;)]*/g, '')
    .replace(/`([^`]+)`/g, "'$1'");
  // A host name that does not resolve is a typo in the setting, not a server that is not running.
  if (/\b(ENOTFOUND|EAI_AGAIN)\b/.test(text)) {
    text = text.replace(
      /Start it with 'ollama serve' or set crucible\.ollama\.host/,
      'The host name does not resolve: check crucible.ollama.host for a typo',
    );
  }
  return text;
}

/** One failing test in one line: the test, expected, got, the error (the parts it has). */
export function failureSummary(f: TestFailure, separator = ' · '): string {
  return [
    f.test,
    f.expected !== undefined ? `expected ${f.expected}` : '',
    f.actual !== undefined ? `got ${f.actual}` : '',
    f.error ?? '',
  ]
    .filter(Boolean)
    .join(separator);
}

export function errorText(err: unknown): string {
  return forEditor(err instanceof Error ? err.message : String(err));
}

/** A name for plain-text messages: running_max becomes 'running_max'. */
export function quoted(name: string): string {
  return `'${name}'`;
}
