// Builds a Task from code in the editor: the function at the cursor (or the selected code), its signature
// and docstring as the prompt, its current body when refining, the user's own tests and the file's
// imports and helpers as context.

import { LANGUAGES, type Language, type Task } from '../types';
import { defaultParser, type CodeParser } from './loader';
import { dedent, findFunctions, isTooLarge, type FunctionInfo } from './functions';
import { findUserTests, type SourceFile } from './tests';
import { extractContext } from './context';

export interface CodeTaskInput {
  code: string;
  /** The editor's language id; anything but python/javascript/typescript gets a clear error. */
  language: Language | string;
  /** Cursor offset (UTF-16), used when there is no selection. */
  offset?: number;
  selection?: { start: number; end: number };
  /** Workspace files that may hold tests (pytest/unittest/node:assert files). */
  otherFiles?: SourceFile[];
  /** Extra feedback for the model, e.g. a diagnostic message. */
  hint?: string;
  /** Display path of the file, for test sources and the Task id. */
  path?: string;
  parser?: CodeParser;
}

export interface CodeTaskError {
  error: string;
}

/** Where the tests of a built Task came from (also usable by UIs). */
export interface TaskDetails {
  task: Task;
  /** The function the Task is about (undefined for a selection with no function in it). */
  fn?: FunctionInfo;
  /** The range of the code the Task's result replaces. */
  range: { start: number; end: number };
  testSources: string[];
  testCount: number;
}

export const NO_FUNCTION_ERROR = 'Put the cursor inside a function or select code to solve.';
export const TOO_LARGE_ERROR =
  'This file is too large for Crucible to parse (over 200 KB or 5000 lines): select the code to solve instead.';

export function unsupportedLanguageError(language: string): string {
  return `Crucible supports Python, JavaScript and TypeScript; this file is ${language || 'of an unknown language'}.`;
}

export function isSupportedLanguage(language: string): language is Language {
  return (LANGUAGES as readonly string[]).includes(language);
}

/** Whether `fn` can be solved on its own: top-level functions, and Python methods (re-attached to their class). */
export function isSolvableUnit(fn: FunctionInfo, all: readonly FunctionInfo[]): boolean {
  const functionNames = new Set(all.map((f) => f.qualifiedName));
  // No enclosing function (classes are fine in Python).
  for (let i = 1; i <= fn.parents.length; i++) if (functionNames.has(fn.parents.slice(0, i).join('.'))) return false;
  if (fn.language === 'python') return true;
  return fn.kind !== 'method' && fn.parents.length === 0;
}

/** The innermost solvable function around `offset`, or an error that says what to do. */
export function unitAt(all: readonly FunctionInfo[], offset: number): FunctionInfo | CodeTaskError {
  const around = all.filter((f) => {
    const from = f.docRange && f.docRange.start < f.startOffset ? f.docRange.start : f.startOffset;
    return offset >= from && offset <= f.endOffset;
  });
  around.sort((a, b) => a.endOffset - a.startOffset - (b.endOffset - b.startOffset));
  const unit = around.find((f) => isSolvableUnit(f, all));
  if (unit) return unit;
  const method = around.find((f) => f.kind === 'method');
  if (method) {
    return {
      error: `\`${method.qualifiedName}\` is a class method; Crucible solves standalone JavaScript/TypeScript functions. Select the whole class to solve it as a unit.`,
    };
  }
  return { error: NO_FUNCTION_ERROR };
}

const TRIVIAL_BODY =
  /^\s*(pass|\.\.\.|raise\s+NotImplementedError(\(.*\))?|throw\s+new\s+Error\(.*\);?|return;?|\/\/.*|#.*)?\s*$/;

/** True when the body holds nothing worth refining (pass, ..., raise NotImplementedError, a TODO). */
export function hasTrivialBody(code: string, fn: FunctionInfo): boolean {
  let body = code.slice(fn.body.start, fn.body.end);
  if (fn.docRange && fn.docRange.start >= fn.body.start) body = code.slice(fn.docRange.end, fn.body.end);
  if (fn.language !== 'python') body = body.replace(/^\s*\{/, '').replace(/\}\s*$/, '');
  return body
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .every((l) => TRIVIAL_BODY.test(l));
}

/** Text of a definition as if it started at column 0 (methods lose their class indentation). */
function atColumnZero(code: string, start: number, end: number, column: number): string {
  return dedent(' '.repeat(column) + code.slice(start, end));
}

function promptFor(code: string, fn: FunctionInfo): string {
  if (fn.language === 'python') {
    const end = fn.docRange && fn.docRange.start > fn.startOffset ? fn.docRange.end : fn.body.start;
    return atColumnZero(code, fn.startOffset, end, fn.startColumn).replace(/\s+$/, '');
  }
  const doc =
    fn.docRange && fn.docRange.start < fn.startOffset ? `${code.slice(fn.docRange.start, fn.docRange.end)}\n` : '';
  return `${doc}${fn.signature}`;
}

function taskId(path: string | undefined, name: string): string {
  const base = (path ?? 'editor').replace(/[^\w.-]+/g, '_');
  return `user-${base}-${name}-${Date.now().toString(36)}`;
}

/** Builds the Task for one function (the code actions and code lens call this directly). */
export async function buildTaskForFunction(
  input: Omit<CodeTaskInput, 'offset' | 'selection'> & { language: Language },
  fn: FunctionInfo,
): Promise<TaskDetails> {
  const parser = input.parser ?? defaultParser();
  const { code, language } = input;
  const jsDocStart = fn.docRange && fn.docRange.start < fn.startOffset ? fn.docRange.start : fn.startOffset;
  const context = await extractContext(
    code,
    language,
    { start: jsDocStart, end: fn.endOffset },
    { keepEnclosing: fn.className !== undefined, parser },
  );
  const found = await findUserTests({
    code,
    language,
    fn,
    ...(input.path ? { path: input.path } : {}),
    ...(input.otherFiles ? { otherFiles: input.otherFiles } : {}),
    parser,
  });
  const refining = !hasTrivialBody(code, fn);
  const task: Task = {
    id: taskId(input.path, fn.qualifiedName),
    language,
    prompt: promptFor(code, fn),
    entryPoint: fn.name,
    tests: found.tests,
    testsOrigin: found.origin,
    origin: 'user',
    completionStyle: 'function',
    ...(context.trim() ? { context } : {}),
    ...(refining ? { currentCode: atColumnZero(code, fn.startOffset, fn.endOffset, fn.startColumn) } : {}),
    ...(input.hint?.trim() ? { hint: input.hint.trim() } : {}),
  };
  return {
    task,
    fn,
    range: { start: fn.startOffset, end: fn.endOffset },
    testSources: found.sources,
    testCount: found.count,
  };
}

/** Like buildTaskFromCode, with the function and range it chose. */
export async function buildTaskDetails(input: CodeTaskInput): Promise<TaskDetails | CodeTaskError> {
  const { code } = input;
  const language = input.language;
  if (!isSupportedLanguage(language)) return { error: unsupportedLanguageError(language) };
  const parser = input.parser ?? defaultParser();
  const sel = input.selection;
  if (sel && sel.end > sel.start) {
    const text = code.slice(sel.start, sel.end);
    if (!text.trim()) return { error: NO_FUNCTION_ERROR };
    // A function fully inside the selection gives the entry point and the tests.
    const all = isTooLarge(code) ? [] : await findFunctions(code, language, parser, { includeBroken: true });
    const inside = all.filter((f) => f.startOffset >= sel.start && f.endOffset <= sel.end && isSolvableUnit(f, all));
    const fn = inside[0];
    const context = isTooLarge(code) ? '' : await extractContext(code, language, sel, { parser });
    const found = fn
      ? await findUserTests({
          code,
          language,
          fn,
          ...(input.path ? { path: input.path } : {}),
          ...(input.otherFiles ? { otherFiles: input.otherFiles } : {}),
          parser,
        })
      : { tests: '', origin: 'none' as const, sources: [], count: 0 };
    const column = sel.start - (code.lastIndexOf('\n', sel.start - 1) + 1);
    const body = atColumnZero(code, sel.start, sel.end, column).replace(/\s+$/, '');
    const task: Task = {
      id: taskId(input.path, fn?.qualifiedName ?? 'selection'),
      language,
      prompt: fn ? promptFor(code, fn) : body,
      ...(fn ? { entryPoint: fn.name } : {}),
      tests: found.tests,
      testsOrigin: found.origin,
      origin: 'user',
      completionStyle: 'function',
      currentCode: body,
      ...(context.trim() ? { context } : {}),
      ...(input.hint?.trim() ? { hint: input.hint.trim() } : {}),
    };
    return {
      task,
      ...(fn ? { fn } : {}),
      range: { start: sel.start, end: sel.end },
      testSources: found.sources,
      testCount: found.count,
    };
  }
  if (isTooLarge(code)) return { error: TOO_LARGE_ERROR };
  if (input.offset === undefined) return { error: NO_FUNCTION_ERROR };
  const all = await findFunctions(code, language, parser, { includeBroken: true });
  const unit = unitAt(all, input.offset);
  if ('error' in unit) return unit;
  return buildTaskForFunction({ ...input, language, parser }, unit);
}

/**
 * Builds a Task from the function at the cursor (or the selected code).
 * Returns `{ error }` with a message for the user when there is nothing to solve.
 */
export async function buildTaskFromCode(input: CodeTaskInput): Promise<Task | CodeTaskError> {
  const details = await buildTaskDetails(input);
  return 'error' in details ? details : details.task;
}
