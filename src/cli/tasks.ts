// Reading task files (JSON lines) for `crucible solve` and `crucible eval`.
// Shapes accepted, one object per line:
//   HumanEval: task_id, prompt, entry_point, test (defines check(candidate)), optional language;
//   MBPP:      task_id, text, code (reference, unused), test_list, optional test_setup_code;
//   generic:   id|task_id, prompt, optional entry_point, tests|test, language, context.
// A malformed line is reported with its line number and skipped; the other lines still run.

import type { Language, Task } from '../core/types';
import {
  IdRegistry,
  MISSING_ENTRY_POINT,
  idOf as rowId,
  inferEntryPoint,
  inputRows,
  languageOf,
  readInputText,
} from './input';

export interface TaskLine {
  task: Task;
  /** 1-based line number in the file (position for a JSON array). */
  line: number;
}

export interface TaskFileError {
  line: number;
  message: string;
  /** "line 3", or "entry 3" in a JSON array. */
  where?: string;
}

export interface TaskFile {
  tasks: TaskLine[];
  errors: TaskFileError[];
}

function str(row: { [key: string]: unknown }, key: string, required: boolean): string | undefined {
  const v = row[key];
  if (v === undefined || v === null) {
    if (required) throw new Error(`missing "${key}"`);
    return undefined;
  }
  if (typeof v !== 'string')
    throw new Error(`"${key}" must be a string, not ${Array.isArray(v) ? 'an array' : typeof v}`);
  return v;
}

function idOf(row: { [key: string]: unknown }): string {
  return rowId(row, ['task_id', 'id']);
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
  if (row === null || typeof row !== 'object' || Array.isArray(row))
    throw new Error('a task line must be a JSON object');
  const r = row as { [key: string]: unknown };
  if ('sat' in r || 'sol_bodies' in r || 'ans_type' in r) {
    throw new Error(
      'this is a P3 puzzle (sat, sol_bodies); crucible solve runs tasks with tests. Check its solutions with crucible verify, or seed self-play with it: crucible selfplay --seeds FILE',
    );
  }
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
  const rawTests = str(r, 'test', false) ?? str(r, 'tests', false) ?? '';
  const context = str(r, 'context', false);
  // HumanEval: tests that define check(candidate). The harness calls check(entry_point), so the entry point
  // is taken from the prompt when the row has none, and the row is rejected when the prompt has none either.
  const humanEval =
    r.task_id !== undefined &&
    typeof r.test === 'string' &&
    (r.entry_point !== undefined || /^def check\(/m.test(rawTests));
  const entryPoint = str(r, 'entry_point', false) ?? str(r, 'entryPoint', false) ?? inferEntryPoint(prompt, language);
  if (humanEval && entryPoint === undefined) throw new Error(MISSING_ENTRY_POINT);
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
    completionStyle:
      style === 'function' ? 'function' : style === 'continuation' || humanEval ? 'continuation' : 'function',
  };
}

/** Parses task file text (JSON lines or a JSON array). Blank lines are skipped; every other bad row becomes an error naming where it is. */
export function parseTasks(text: string): TaskFile {
  const tasks: TaskLine[] = [];
  const { rows, problems } = inputRows(text);
  const errors: TaskFileError[] = problems.map((p) => ({ line: p.line, where: p.where, message: p.message }));
  const ids = new IdRegistry();
  for (const { value, line, where } of rows) {
    try {
      const task = taskFromRow(value);
      ids.claim(task.id, where);
      tasks.push({ task, line });
    } catch (err) {
      errors.push({ line, where, message: err instanceof Error ? err.message : String(err) });
    }
  }
  errors.sort((a, b) => a.line - b.line);
  return { tasks, errors };
}

/** Reads a task file (`-` for stdin). Throws (an InputFileError, a usage error) only when the file cannot be read at all. */
export function readTasks(path: string): TaskFile {
  return parseTasks(readInputText(path, 'task file'));
}
