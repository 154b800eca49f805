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

/**
 * The replacement for `original` (a function in the user's file at column `original.startColumn`),
 * taken from `candidateCode`. Falls back to the whole candidate when it defines no function of that name.
 */
export async function replacementFor(original: FunctionInfo, candidateCode: string, language: Language, parser: CodeParser = defaultParser(), lineIndent?: string): Promise<string> {
  const code = dedent(candidateCode.replace(/\r\n?/g, '\n')).trim();
  let text = code;
  try {
    const fns = await findFunctions(code, language, parser);
    const match = fns.find((f) => f.name === original.name && f.parents.length === 0) ?? fns.find((f) => f.name === original.name);
    if (match) text = dedent(' '.repeat(match.startColumn) + match.text);
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
