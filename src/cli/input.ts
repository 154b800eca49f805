// The one input reader behind every `crucible` command that reads task or job files (solve, eval, verify).
// Bytes: a file or `-` (stdin); gzip is decompressed, a UTF-8 BOM dropped, CRLF line ends accepted.
// Layout: JSON lines, or one JSON array (a P3 `puzzles.json`). Rows: the same id rules, language aliases
// and entry_point rule everywhere, so a file that one command accepts, the other accepts too.

import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Language } from '../core/types';
import { LANGUAGES } from '../core/types';

/** A file that cannot be read at all: the command line names the wrong thing (exit 2). */
export class InputFileError extends Error {
  readonly usage = true;
  constructor(message: string) {
    super(message);
    this.name = 'InputFileError';
  }
}

/** One row of an input file: its value and where it is ("line 3", or "entry 3" in a JSON array). */
export interface InputRow {
  value: unknown;
  /** 1-based line number (JSON lines) or array position (JSON array). */
  line: number;
  where: string;
}

export interface InputProblem {
  line: number;
  where: string;
  message: string;
}

export interface InputRows {
  rows: InputRow[];
  problems: InputProblem[];
  layout: 'jsonl' | 'array';
}

/** Reads a whole input (`-` for stdin) as text: gunzipped when it is gzip, without a BOM. */
export function readInputText(path: string, what = 'input file'): string {
  let bytes: Buffer;
  try {
    if (path !== '-' && statSync(path).isDirectory())
      throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    bytes = path === '-' ? readFileSync(0) : readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (err as Error).message;
    throw new InputFileError(
      `cannot read ${what} ${path}: ${why}; pass a JSON-lines file (one object per line, .gz is fine) or a JSON array`,
    );
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new InputFileError(
        `${what} ${path} looks gzip-compressed but does not decompress (${(err as Error).message}); check the download`,
      );
    }
  }
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text;
}

/** Splits input text into rows: a JSON array when the text starts with `[`, else JSON lines (blank lines skipped). */
export function inputRows(text: string): InputRows {
  const rows: InputRow[] = [];
  const problems: InputProblem[] = [];
  if (/^\s*\[/.test(text)) {
    try {
      const value = JSON.parse(text) as unknown;
      if (Array.isArray(value)) {
        value.forEach((v, i) => rows.push({ value: v, line: i + 1, where: `entry ${i + 1}` }));
        return { rows, problems, layout: 'array' };
      }
    } catch (err) {
      // Either a JSON array with a mistake in it, or JSON lines whose first line is an array: say both.
      const first = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
      let firstParses = false;
      try {
        JSON.parse(first);
        firstParses = true;
      } catch {
        /* not JSON lines either */
      }
      if (!firstParses) {
        problems.push({
          line: 1,
          where: 'the JSON array',
          message: `not valid JSON (${(err as Error).message}); a file that starts with "[" must be one JSON array of objects`,
        });
        return { rows, problems, layout: 'array' };
      }
    }
  }
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed === '') return;
    try {
      rows.push({ value: JSON.parse(trimmed) as unknown, line: i + 1, where: `line ${i + 1}` });
    } catch (err) {
      problems.push({
        line: i + 1,
        where: `line ${i + 1}`,
        message: `not valid JSON (${err instanceof Error ? err.message : String(err)}); each line must be one JSON object`,
      });
    }
  });
  return { rows, problems, layout: 'jsonl' };
}

const LANGUAGE_ALIASES: { [alias: string]: Language } = {
  python: 'python',
  py: 'python',
  python3: 'python',
  javascript: 'javascript',
  js: 'javascript',
  node: 'javascript',
  nodejs: 'javascript',
  typescript: 'typescript',
  ts: 'typescript',
};

/** A language name or alias (any case); missing means Python. Throws naming the accepted values. */
export function languageOf(value: unknown): Language {
  if (value === undefined || value === null || value === '') return 'python';
  if (typeof value !== 'string' || !LANGUAGE_ALIASES[value.trim().toLowerCase()]) {
    throw new Error(`"language" is ${JSON.stringify(value)}; use one of ${LANGUAGES.join(', ')} (or py, js, ts)`);
  }
  return LANGUAGE_ALIASES[value.trim().toLowerCase()]!;
}

/** The id of a row: the first of `keys` present; a non-empty string or a finite number. Throws otherwise. */
export function idOf(row: { [key: string]: unknown }, keys: string[]): string {
  const key = keys.find((k) => row[k] !== undefined && row[k] !== null);
  const v = key ? row[key] : undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string' && v.trim() !== '') return v;
  const names = keys.map((k) => `"${k}"`).join(' or ');
  if (v === undefined) throw new Error(`missing ${names}`);
  throw new Error(`${names} must be a non-empty string or a number, got ${JSON.stringify(v)}`);
}

/** Ids must be unique within a file; call for each accepted row in order. */
export class IdRegistry {
  private readonly seen = new Map<string, string>();
  /** Throws when `id` was used by an earlier row. */
  claim(id: string, where: string): void {
    const earlier = this.seen.get(id);
    if (earlier !== undefined) throw new Error(`id ${JSON.stringify(id)} repeats ${earlier}; give each row its own id`);
    this.seen.set(id, where);
  }
}

/**
 * The function a row's tests exercise when it names none: the last top-level function the prompt
 * defines (HumanEval prompts put helpers first). Undefined when the prompt defines none.
 */
export function inferEntryPoint(prompt: string, language: Language): string | undefined {
  const re =
    language === 'python'
      ? /^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(/gm
      : /^(?:export\s+)?(?:async\s+)?(?:function\s*\*?\s*([A-Za-z_$][\w$]*)\s*[(<]|(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(?:async\s*)?(?:function\b|\([^)]*\)\s*(?::[^=]+)?=>|[A-Za-z_$][\w$]*\s*=>))/gm;
  let name: string | undefined;
  for (const m of prompt.matchAll(re)) name = m[1] ?? m[2];
  return name;
}

/** The message for a row that needs an entry point and has none anywhere: the same in every command. */
export const MISSING_ENTRY_POINT =
  'missing "entry_point" and the prompt defines no function to take it from; add "entry_point": "<the function the tests call>"';
