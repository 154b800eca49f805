// Reading task files (JSON lines) for `crucible solve` and `crucible eval`.
// Shapes accepted, one object per line:
//   HumanEval: task_id, prompt, entry_point, test (defines check(candidate)), optional language;
//   MBPP:      task_id, text, code (reference, unused), test_list, optional test_setup_code;
//   generic:   id|task_id, prompt, optional entry_point, tests|test, language, context.
// A malformed line is reported with its line number and skipped; the other lines still run.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Language, Task } from '../core/types';
import { LANGUAGES } from '../core/types';

export interface TaskLine {
  task: Task;
  /** 1-based line number in the file. */
  line: number;
}

export interface TaskFileError {
  line: number;
  message: string;
}

export interface TaskFile {
  tasks: TaskLine[];
  errors: TaskFileError[];
}

const LANGUAGE_ALIASES: { [alias: string]: Language } = {
  python: 'python',
  py: 'python',
  python3: 'python',
  javascript: 'javascript',
  js: 'javascript',
  node: 'javascript',
  typescript: 'typescript',
  ts: 'typescript',
};

function languageOf(value: unknown): Language {
  if (value === undefined || value === null || value === '') return 'python';
  if (typeof value !== 'string' || !LANGUAGE_ALIASES[value.toLowerCase()]) {
    throw new Error(`"language" is ${JSON.stringify(value)}; use one of ${LANGUAGES.join(', ')}`);
  }
  return LANGUAGE_ALIASES[value.toLowerCase()]!;
}

function str(row: { [key: string]: unknown }, key: string, required: boolean): string | undefined {
  const v = row[key];
  if (v === undefined || v === null) {
    if (required) throw new Error(`missing "${key}"`);
    return undefined;
  }
  if (typeof v !== 'string') throw new Error(`"${key}" must be a string, not ${Array.isArray(v) ? 'an array' : typeof v}`);
  return v;
}

function idOf(row: { [key: string]: unknown }): string {
  const v = row.task_id ?? row.id;
  if (typeof v === 'string' && v.trim() !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new Error('missing "task_id" (or "id")');
}

/** HumanEval tests define check(candidate) and leave calling it to the harness; the call is added when missing. */
function humanEvalTests(test: string, entryPoint: string, language: Language): string {
  if (language !== 'python' || !/^def check\(/m.test(test)) return test;
  if (new RegExp(`^check\\(\\s*${entryPoint}\\s*\\)`, 'm').test(test)) return test;
  return `${test.replace(/\s+$/, '')}\n\ncheck(${entryPoint})\n`;
}

/** The function an MBPP row's tests call: the first name in `assert name(`. */
function mbppEntryPoint(tests: string[], code: string | undefined): string | undefined {
  for (const t of tests) {
    const m = /assert\s+(?:not\s+)?\(?\s*(?:set\(|sorted\(|math\.isclose\()?\s*([A-Za-z_]\w*)\s*\(/.exec(t);
    if (m && m[1] !== 'set' && m[1] !== 'sorted' && m[1] !== 'abs') return m[1];
  }
  const d = code ? /^def\s+([A-Za-z_]\w*)\s*\(/m.exec(code) : null;
  return d?.[1];
}

/** Turns one parsed row into a Task; throws an Error whose message says what is wrong. */
export function taskFromRow(row: unknown): Task {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new Error('a task line must be a JSON object');
  const r = row as { [key: string]: unknown };
  const id = idOf(r);
  const language = languageOf(r.language);

  if (Array.isArray(r.test_list) && typeof r.text === 'string') {
    // MBPP: the description plus the tests it must pass (MBPP's own prompt format shows them).
    const tests = r.test_list.filter((t): t is string => typeof t === 'string');
    if (tests.length === 0) throw new Error('"test_list" holds no test strings');
    const entryPoint = mbppEntryPoint(tests, typeof r.code === 'string' ? r.code : undefined);
    const setup = str(r, 'test_setup_code', false);
    return {
      id,
      language,
      prompt: `${r.text.trim()}\nYour code should pass these tests:\n${tests.join('\n')}`,
      ...(entryPoint ? { entryPoint } : {}),
      tests: tests.join('\n'),
      testsOrigin: 'user',
      origin: 'benchmark',
      ...(setup && setup.trim() !== '' ? { context: setup } : {}),
      completionStyle: 'function',
    };
  }

  const prompt = str(r, 'prompt', true)!;
  if (prompt.trim() === '') throw new Error('"prompt" is empty');
  const entryPoint = str(r, 'entry_point', false) ?? str(r, 'entryPoint', false);
  const rawTests = str(r, 'test', false) ?? str(r, 'tests', false) ?? '';
  const context = str(r, 'context', false);
  const humanEval = r.task_id !== undefined && entryPoint !== undefined && typeof r.test === 'string';
  const tests = humanEval ? humanEvalTests(rawTests, entryPoint!, language) : rawTests;
  const style = r.completion_style ?? r.completionStyle;
  return {
    id,
    language,
    prompt,
    ...(entryPoint ? { entryPoint } : {}),
    tests,
    testsOrigin: tests.trim() === '' ? 'none' : 'user',
    origin: humanEval ? 'benchmark' : 'user',
    ...(context ? { context } : {}),
    completionStyle: style === 'function' ? 'function' : style === 'continuation' || humanEval ? 'continuation' : 'function',
  };
}

/** Parses task file text. Blank lines are skipped; every other bad line becomes an error naming its line. */
export function parseTasks(text: string): TaskFile {
  const tasks: TaskLine[] = [];
  const errors: TaskFileError[] = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '') return;
    let row: unknown;
    try {
      row = JSON.parse(trimmed);
    } catch (err) {
      errors.push({ line, message: `not valid JSON (${err instanceof Error ? err.message : String(err)}); each line must be one JSON object` });
      return;
    }
    try {
      const task = taskFromRow(row);
      const earlier = seen.get(task.id);
      if (earlier !== undefined) {
        errors.push({ line, message: `task_id ${JSON.stringify(task.id)} repeats line ${earlier}; give each task its own id` });
        return;
      }
      seen.set(task.id, line);
      tasks.push({ task, line });
    } catch (err) {
      errors.push({ line, message: err instanceof Error ? err.message : String(err) });
    }
  });
  return { tasks, errors };
}

/** Reads a task file (`-` for stdin). Throws only when the file cannot be read at all. */
export function readTasks(path: string): TaskFile {
  let bytes: Buffer;
  try {
    bytes = path === '-' ? readFileSync(0) : readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new Error(`cannot read task file ${path}: ${why}; pass a JSON-lines file with one task per line`);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new Error(`task file ${path} looks gzip-compressed but does not decompress (${(err as Error).message}); check the download`);
    }
  }
  return parseTasks(bytes.toString('utf8'));
}
