// Verify jobs as JSON lines (the `crucible verify` input), shared by the CLI and other batch users.
// Three shapes:
//   generic:   {"id", "language": "python"|"javascript"|"typescript", "code", "test"}
//   HumanEval: {"task_id", "prompt", "completion", "test", "entry_point"}   (program = prompt + completion, then check(entry_point))
//   P3:        {"name", "sat", "ans_type", "sol_header", "sol_bodies"}      (solved when sat(sol()) is True and the type matches)

import type { Candidate, Puzzle, Task, Verdict } from '../types';
import { LANGUAGES } from '../types';
import type { Verifier } from './types';

export type VerifyJob =
  | { kind: 'tests'; id: string; task: Task; candidate: Candidate }
  | { kind: 'puzzle'; id: string; puzzle: Puzzle; solution: string };

export type ParsedLine = { ok: true; job: VerifyJob } | { ok: false; id?: string; error: string };

function str(o: { [k: string]: unknown }, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

type JobObject = { [k: string]: unknown };

/** The error when any of `keys` is not a string field of `o`. */
function need(o: JobObject, lineNo: number, keys: string[], shape: string, id?: string): ParsedLine | undefined {
  const missing = keys.filter((k) => typeof o[k] !== 'string');
  if (missing.length) {
    return {
      ok: false,
      id,
      error: `line ${lineNo}: ${shape} job needs string field(s) ${missing.map((k) => `"${k}"`).join(', ')}`,
    };
  }
  return undefined;
}

/** Parses one JSONL line (1-based `lineNo` for messages). */
export function parseJobLine(line: string, lineNo: number): ParsedLine {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (e) {
    return {
      ok: false,
      error: `line ${lineNo}: not valid JSON (${(e as Error).message}); each line must be one JSON object`,
    };
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return {
      ok: false,
      error: `line ${lineNo}: expected a JSON object, got ${Array.isArray(obj) ? 'an array' : obj === null ? 'null' : typeof obj}`,
    };
  }
  const o = obj as JobObject;
  if ('sat' in o || 'sol_bodies' in o || 'ans_type' in o) return parsePuzzleJob(o, lineNo);
  if ('task_id' in o || 'entry_point' in o || 'completion' in o) return parseHumanEvalJob(o, lineNo);
  return parseGenericJob(o, lineNo);
}

/** The P3 shape: {name, sat, ans_type, sol_header, sol_bodies}. */
function parsePuzzleJob(o: JobObject, lineNo: number): ParsedLine {
  const id = str(o, 'name');
  const bad = need(o, lineNo, ['name', 'sat', 'ans_type', 'sol_header'], 'a P3 puzzle', id);
  if (bad) return bad;
  const bodies = o.sol_bodies;
  if (!Array.isArray(bodies) || bodies.some((b) => typeof b !== 'string')) {
    return { ok: false, id, error: `line ${lineNo}: a P3 puzzle job needs "sol_bodies" as an array of strings` };
  }
  if (bodies.length === 0)
    return { ok: false, id, error: `line ${lineNo}: "sol_bodies" is empty: there is no solution to verify` };
  const puzzle: Puzzle = {
    name: id as string,
    sat: o.sat as string,
    ansType: o.ans_type as string,
    solHeader: o.sol_header as string,
    solBodies: bodies as string[],
    module: str(o, 'module'),
  };
  return {
    ok: true,
    job: { kind: 'puzzle', id: puzzle.name, puzzle, solution: puzzleSolution(puzzle, str(o, 'sol_docstring')) },
  };
}

/** The HumanEval shape: {task_id, prompt, completion, test, entry_point}. */
function parseHumanEvalJob(o: JobObject, lineNo: number): ParsedLine {
  const id = str(o, 'task_id');
  const bad = need(o, lineNo, ['task_id', 'prompt', 'completion', 'test', 'entry_point'], 'a HumanEval', id);
  if (bad) return bad;
  const task: Task = {
    id: id as string,
    language: 'python',
    prompt: o.prompt as string,
    entryPoint: o.entry_point as string,
    tests: o.test as string,
    testsOrigin: 'user',
    origin: 'benchmark',
    completionStyle: 'continuation',
  };
  return {
    ok: true,
    job: {
      kind: 'tests',
      id: task.id,
      task,
      candidate: { id: `${task.id}#completion`, code: o.completion as string, language: 'python', round: 0 },
    },
  };
}

/** The generic shape: {id, language, code, test}. */
function parseGenericJob(o: JobObject, lineNo: number): ParsedLine {
  const id = str(o, 'id');
  const bad = need(o, lineNo, ['id', 'language', 'code', 'test'], 'a generic', id);
  if (bad) {
    return {
      ok: false,
      id,
      error: `${bad.ok ? '' : bad.error} (or use the HumanEval shape {task_id, prompt, completion, test, entry_point} or the P3 shape {name, sat, ans_type, sol_header, sol_bodies})`,
    };
  }
  const language = o.language as string;
  if (!(LANGUAGES as readonly string[]).includes(language)) {
    return {
      ok: false,
      id,
      error: `line ${lineNo}: "language" must be one of ${LANGUAGES.join(', ')}, got "${language}"`,
    };
  }
  const lang = language as Task['language'];
  const task: Task = {
    id: id as string,
    language: lang,
    prompt: '',
    tests: o.test as string,
    testsOrigin: 'user',
    origin: 'user',
  };
  return {
    ok: true,
    job: {
      kind: 'tests',
      id: task.id,
      task,
      candidate: { id: `${task.id}#code`, code: o.code as string, language: lang, round: 0 },
    },
  };
}

/** The source defining `sol()` for the first reference body: header, optional docstring, body. */
export function puzzleSolution(puzzle: Puzzle, docstring?: string, body = 0): string {
  return [puzzle.solHeader, ...(docstring ? [docstring] : []), puzzle.solBodies[body] ?? ''].join('\n') + '\n';
}

/** Runs one parsed job. */
export function runJob(verifier: Verifier, job: VerifyJob, signal?: AbortSignal): Promise<Verdict> {
  return job.kind === 'puzzle'
    ? verifier.judgePuzzle(job.puzzle, job.solution, signal)
    : verifier.verify(job.task, job.candidate, signal);
}
