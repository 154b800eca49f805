// Benchmark jobs generated at test time from ../shared/data (never copied into the repo): every HumanEval
// canonical solution, a `return None` variant and a mutant of each, and every P3 train puzzle with a
// reference solution. Each comes with the program the plain interpreter runs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ROOT, SHARED_DATA, type PlainJob } from './harness';
import { loadCaseDir, plainProgram, toJob, type CorpusCase, type Expect } from '../corpus/cases';

/** P3 train puzzles whose reference solution exceeds Python 3.11's default int/str digit limit. */
const P3_BEYOND_DIGIT_LIMIT = new Set(['FivePowers:0', 'BoxVolume:1']);

export interface BenchCase {
  id: string;
  job: object;
  plain: PlainJob;
  expect: Expect;
}

export const HUMANEVAL_FILE = join(SHARED_DATA, 'humaneval/HumanEval.jsonl.gz');
export const P3_FILE = join(SHARED_DATA, 'p3/train.json');

export interface HumanEvalTask {
  task_id: string;
  prompt: string;
  canonical_solution: string;
  test: string;
  entry_point: string;
}

export function loadHumanEval(): HumanEvalTask[] | undefined {
  if (!existsSync(HUMANEVAL_FILE)) return undefined;
  return gunzipSync(readFileSync(HUMANEVAL_FILE))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as HumanEvalTask);
}

/** Mutations tried in order on the canonical solution; the first that changes the text is used. */
const MUTATIONS: [RegExp, string][] = [
  [/ == /, ' != '],
  [/ <= /, ' < '],
  [/ >= /, ' > '],
  [/ < /, ' <= '],
  [/ > /, ' >= '],
  [/ \+ 1\b/, ' + 2'],
  [/ - 1\b/, ' - 2'],
  [/\bTrue\b/, 'False'],
  [/\bFalse\b/, 'True'],
  [/ \+ /, ' - '],
  [/ \* /, ' + '],
  [/\[1:\]/, '[2:]'],
  [/\breverse=True\b/, 'reverse=False'],
];

export function mutate(code: string): string | undefined {
  for (const [re, rep] of MUTATIONS) {
    const out = code.replace(re, rep);
    if (out !== code) return out;
  }
  return undefined;
}

export function humanEvalProgram(t: HumanEvalTask, completion: string): string {
  return `${t.prompt}${completion}\n\n${t.test}\n\ncheck(${t.entry_point})\n`;
}

export function humanEvalCases(tasks: HumanEvalTask[]): BenchCase[] {
  const out: BenchCase[] = [];
  for (const t of tasks) {
    const variants: [string, string, Expect][] = [
      [t.task_id, t.canonical_solution, 'pass'],
      [`${t.task_id}/wrong-none`, '    return None\n', 'fail'],
    ];
    const m = mutate(t.canonical_solution);
    if (m) variants.push([`${t.task_id}/mutant`, m, 'any']);
    for (const [id, completion, expect] of variants) {
      out.push({
        id,
        expect,
        job: { task_id: id, prompt: t.prompt, completion, test: t.test, entry_point: t.entry_point },
        plain: { id, runner: 'python', program: humanEvalProgram(t, completion) },
      });
    }
  }
  return out;
}

export interface P3Puzzle {
  name: string;
  sat: string;
  ans_type: string;
  sol_header: string;
  sol_docstring?: string;
  sol_bodies: string[];
  module?: string;
}

export function loadP3(): P3Puzzle[] | undefined {
  if (!existsSync(P3_FILE)) return undefined;
  return JSON.parse(readFileSync(P3_FILE, 'utf8')) as P3Puzzle[];
}

/** The plain side of a P3 job: run sol(), check the answer's type exactly (as `crucible verify` does), then sat(ans) is True. */
export function p3Program(p: P3Puzzle): string {
  return [
    'from typing import *',
    p.sol_header,
    ...(p.sol_docstring ? [p.sol_docstring] : []),
    p.sol_bodies[0],
    '',
    p.sat,
    '',
    'def _crucible_type_ok(x, t):',
    '    t = t.replace(" ", "")',
    '    simple = {"int": int, "float": float, "str": str, "bool": bool}',
    '    if t in simple:',
    '        return type(x) is simple[t]',
    '    if t.startswith("List[") and t.endswith("]"):',
    '        return type(x) is list and all(_crucible_type_ok(e, t[5:-1]) for e in x)',
    '    raise ValueError("unsupported answer type " + t)',
    '',
    '_crucible_answer = sol()',
    `assert _crucible_type_ok(_crucible_answer, ${JSON.stringify(p.ans_type)}), "answer is not a " + ${JSON.stringify(p.ans_type)}`,
    'assert sat(_crucible_answer) is True',
    '',
  ].join('\n');
}

export function p3Cases(puzzles: P3Puzzle[]): BenchCase[] {
  return puzzles
    .filter((p) => p.sol_bodies.length > 0)
    .map((p) => ({
      id: p.name,
      // A few reference solutions need more than Python 3.11's 4,300-digit int/str limit (FivePowers:0,
      // BoxVolume:1): they fail under python3 and must fail under crucible too, so only agreement is required.
      expect: (P3_BEYOND_DIGIT_LIMIT.has(p.name) ? 'any' : 'pass') as Expect,
      job: {
        name: p.name,
        sat: p.sat,
        ans_type: p.ans_type,
        sol_header: p.sol_header,
        sol_docstring: p.sol_docstring,
        sol_bodies: [p.sol_bodies[0]],
        module: p.module,
      },
      plain: { id: p.name, runner: 'python' as const, program: p3Program(p) },
    }));
}

export const IDIOM_DIR = join(ROOT, 'test/corpus/differential/python');

/** The idiom corpus (test/corpus/differential/python/*.cases) as jobs with their plain programs. */
export function idiomCases(): BenchCase[] {
  return loadCaseDir(IDIOM_DIR, 'py')
    .flatMap((f) => f.cases)
    .map((c: CorpusCase) => ({
      id: c.id,
      expect: c.expect,
      job: toJob(c),
      plain: { id: c.id, runner: c.runner, program: plainProgram(c) },
    }));
}
