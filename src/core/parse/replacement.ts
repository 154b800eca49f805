// Turns a verified candidate into the text that replaces a function in the user's file: the candidate's
// definition of that function (not its imports or extra helpers), keeping `export` and the indentation
// of the original.

import type { Language } from '../types';
import { defaultParser, type CodeParser } from './loader';
import { dedent, findFunctions, type FunctionInfo } from './functions';

/** Re-indents `text` (column-0 code) so its first line sits at the original's column. */
export function reindentTo(text: string, column: number, indentUnit = ' '): string {
  const pad = indentUnit.repeat(column);
  return text
    .split('\n')
    .map((l, i) => (i === 0 || !l.trim() ? l.trimEnd() : pad + l))
    .join('\n');
}

/** Column of `offset` in `code`. */
function columnOf(code: string, offset: number): number {
  return offset - (code.lastIndexOf('\n', offset - 1) + 1);
}

/**
 * The candidate's definition text, with the user's Python docstring in place of whatever docstring the model
 * wrote (or left out): the docstring is the user's spec and often holds their doctests, which the result was
 * verified against; applying a result must not delete or rewrite them.
 */
function withOriginalDocstring(code: string, match: FunctionInfo, original: FunctionInfo): string {
  if (original.language !== 'python' || !original.docRange) return match.text;
  const raw = original.text.slice(
    original.docRange.start - original.startOffset,
    original.docRange.end - original.startOffset,
  );
  if (!raw) return match.text;
  const fromColumn = columnOf(original.text, original.docRange.start - original.startOffset) + original.startColumn;
  const toColumn = columnOf(code, match.body.start);
  const pad = ' '.repeat(toColumn);
  const lines = raw.split('\n').map((line, i) => {
    if (i === 0 || !line.trim()) return line.trimEnd();
    const lead = /^[ \t]*/.exec(line)?.[0].length ?? 0;
    return pad + line.slice(Math.min(lead, fromColumn));
  });
  if (match.docRange) {
    const from = match.docRange.start - match.startOffset;
    return match.text.slice(0, from) + lines.join('\n') + match.text.slice(match.docRange.end - match.startOffset);
  }
  const at = match.body.start - match.startOffset;
  return match.text.slice(0, at) + lines.join('\n') + '\n' + pad + match.text.slice(at);
}

/**
 * The replacement for `original` (a function in the user's file at column `original.startColumn`),
 * taken from `candidateCode`. Falls back to the whole candidate when it defines no function of that name.
 */
export async function replacementFor(
  original: FunctionInfo,
  candidateCode: string,
  language: Language,
  parser: CodeParser = defaultParser(),
  lineIndent?: string,
): Promise<string> {
  const code = dedent(candidateCode.replace(/\r\n?/g, '\n')).trim();
  let text = code;
  try {
    const fns = await findFunctions(code, language, parser);
    const match =
      fns.find((f) => f.name === original.name && f.parents.length === 0) ?? fns.find((f) => f.name === original.name);
    if (match) text = dedent(' '.repeat(match.startColumn) + withOriginalDocstring(code, match, original));
  } catch {
    // Parser trouble: use the candidate as it is.
  }
  if (language !== 'python' && original.exported && !/^export\b/.test(text)) {
    const prefix = /^export\s+default\s+/.exec(original.text)?.[0] ?? 'export ';
    text = prefix + text;
  }
  const unit = lineIndent && lineIndent.startsWith('\t') ? '\t' : ' ';
  const column = unit === '\t' ? (lineIndent ?? '').length : original.startColumn;
  return reindentTo(text, column, unit);
}

/**
 * How to show `newText` (replacing `oldText`) as ghost text, which VS Code renders only for insertions:
 * insert `insertText` at `offset` (relative to the start of the old text), then, once accepted, delete
 * `deleteLength` characters at `deleteOffset` (relative to the start, after the insertion). The insertion
 * starts at the first non-blank character of the first line that differs, and whole new lines are shown
 * above the old lines they replace. Applying both gives exactly `newText`; `insertText` is empty when the
 * change is a pure deletion (nothing to show as ghost text).
 */
export interface GhostEdit {
  offset: number;
  insertText: string;
  deleteOffset: number;
  deleteLength: number;
}

export function ghostEdit(oldText: string, newText: string): GhostEdit {
  // Common prefix, cut back to a line start, then forward over the indentation both share.
  let p = 0;
  const max = Math.min(oldText.length, newText.length);
  while (p < max && oldText[p] === newText[p]) p++;
  if (p === oldText.length && p === newText.length)
    return { offset: p, insertText: '', deleteOffset: p, deleteLength: 0 };
  const lineStart = oldText.lastIndexOf('\n', p - 1) + 1;
  let offset = lineStart;
  while (offset < p && (oldText[offset] === ' ' || oldText[offset] === '\t')) offset++;
  // Common suffix of what is left, not overlapping the prefix.
  let s = 0;
  while (
    s < oldText.length - offset &&
    s < newText.length - offset &&
    oldText[oldText.length - 1 - s] === newText[newText.length - 1 - s]
  )
    s++;
  if (oldText.length - s === offset) {
    // Nothing old is replaced: a pure insertion.
    const insertText = newText.slice(offset, newText.length - s);
    return { offset, insertText, deleteOffset: offset + insertText.length, deleteLength: 0 };
  }
  // Old text is replaced: end both parts at a line end, show the new lines above the old ones.
  while (s > 0 && oldText[oldText.length - s] !== '\n') s--;
  const removed = oldText.slice(offset, oldText.length - s);
  const added = newText.slice(offset, newText.length - s);
  if (!added.trim()) return { offset, insertText: '', deleteOffset: offset, deleteLength: 0 };
  const indent = oldText.slice(lineStart, offset);
  return {
    offset,
    insertText: `${added}\n${indent}`,
    deleteOffset: offset + added.length,
    deleteLength: 1 + indent.length + removed.length,
  };
}
