// Content hashes for cached verification results, and the staleness check for inline suggestions.
// Whitespace-only edits (trailing spaces, line endings, indentation of the whole block) do not change a
// key; any other edit to the function or its tests does.

import { createHash } from 'node:crypto';
import type { Language } from '../types';
import { dedent } from './functions';

/** The form of code that verify-cache keys hash (an edit that changes only this is not a new run): CRLF → LF, trailing spaces dropped, common indentation removed, outer blank lines trimmed. */
export function cacheForm(text: string): string {
  const lines = text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.replace(/[ \t]+$/, ''));
  return dedent(lines.join('\n')).replace(/^\n+|\n+$/g, '');
}

/** sha256 (hex) over the language, the normalised function text and the normalised tests. */
export function cacheKey(functionText: string, testsText: string, language: Language): string {
  const h = createHash('sha256');
  h.update('crucible-verify-v1\0');
  h.update(language);
  h.update('\0');
  h.update(cacheForm(functionText));
  h.update('\0');
  h.update(cacheForm(testsText));
  return h.digest('hex');
}

/** True when the function's text changed (beyond whitespace at line ends / line endings) since `originalText`. */
export function isStale(originalText: string, currentText: string | undefined): boolean {
  if (currentText === undefined) return true;
  const norm = (t: string): string =>
    t
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .map((l) => l.replace(/[ \t]+$/, ''))
      .join('\n')
      .replace(/^\n+|\n+$/g, '');
  return norm(originalText) !== norm(currentText);
}
