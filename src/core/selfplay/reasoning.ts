// Two task kinds that are cheap to verify and seedable from the user's own functions (Absolute Zero):
//   deduction  given a program and an input, predict the output  → sat(answer) checks f(input) == answer
//   abduction  given a program and an output, find an input      → sat(x) checks f(x) == output
// Both become P3 puzzles (sat/sol), judged like every puzzle (sol() in one sandbox job, sat(answer) in a
// clean one), and carry their kind (exported in P3's `notes`). The program runs only in the sandbox.

import type { DatasetRecord, Puzzle } from '../types';
import type { Sandbox } from '../sandbox/types';
import type { Verifier } from '../verify/types';
import { callsOf } from '../solve/generatedTests';
import { inspectPuzzle, reasonCalls, type ProbeLimits } from './probe';

export type ReasoningKind = 'deduction' | 'abduction';

/** A function to build tasks from: its source, entry point and calls with literal arguments. */
export interface ReasoningSource {
  name: string;
  code: string;
  entryPoint: string;
  calls: string[];
}

export interface ReasoningResult {
  puzzles: Puzzle[];
  /** Why a call or a task was left out. */
  skipped: string[];
}

/** Answer types a P3 sat may take. */
const SIMPLE = /^(int|float|str|bool)$/;
function ansTypeOk(t: string | undefined): t is string {
  return t !== undefined && (SIMPLE.test(t) || /^List\[(int|float|str|bool)\]$/.test(t));
}

const indent = (code: string): string =>
  code
    .replace(/\s+$/, '')
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : `    ${l}`))
    .join('\n');

/** The P3 puzzles of one call: a deduction, and an abduction when the function takes one argument. */
export function puzzlesOfCall(
  source: ReasoningSource,
  index: number,
  call: { args: (string | null)[]; argTypes: string[]; output: string; outputType: string },
  kinds: readonly ReasoningKind[],
): { puzzle: Puzzle; sol: string }[] {
  const out: { puzzle: Puzzle; sol: string }[] = [];
  const f = source.entryPoint;
  if (call.args.some((a) => a === null)) return out;
  const args = (call.args as string[]).join(', ');
  const base = source.name.replace(/[^\w]/g, '_');
  if (kinds.includes('deduction') && ansTypeOk(call.outputType)) {
    const sat = `def sat(answer: ${call.outputType}):\n    """What does ${f}(${args.length > 60 ? '...' : args}) return?"""\n${indent(source.code)}\n    return ${f}(${args}) == answer`;
    const sol = `def sol():\n    return ${call.output}`;
    out.push({
      puzzle: {
        name: `Deduction_${base}_${index}:0`,
        sat,
        ansType: call.outputType,
        solHeader: 'def sol():',
        solBodies: [`    return ${call.output}`],
        module: 'deduction',
        kind: 'deduction',
      },
      sol,
    });
  }
  if (kinds.includes('abduction') && call.args.length === 1 && ansTypeOk(call.argTypes[0])) {
    const sat = `def sat(x: ${call.argTypes[0]}):\n    """Find an input on which ${f} returns ${call.output.length > 60 ? 'the value below' : call.output}."""\n${indent(source.code)}\n    return ${f}(x) == ${call.output}`;
    const sol = `def sol():\n    return ${args}`;
    out.push({
      puzzle: {
        name: `Abduction_${base}_${index}:0`,
        sat,
        ansType: call.argTypes[0]!,
        solHeader: 'def sol():',
        solBodies: [`    return ${args}`],
        module: 'abduction',
        kind: 'abduction',
      },
      sol,
    });
  }
  return out;
}

/**
 * Deduction and abduction puzzles from one function: runs it on its calls in the sandbox, builds the
 * puzzles, keeps those that pass the puzzle filters (safe, deterministic, fast, not trivial) and whose
 * reference answer the verifier accepts.
 */
export async function reasoningPuzzles(
  deps: { sandbox: Sandbox; verifier: Verifier },
  source: ReasoningSource,
  kinds: readonly ReasoningKind[],
  limits: ProbeLimits,
  signal?: AbortSignal,
): Promise<ReasoningResult> {
  const skipped: string[] = [];
  const ran = await reasonCalls(
    deps.sandbox,
    source.code,
    source.entryPoint,
    source.calls,
    limits.solTimeoutMs,
    signal,
  );
  if (typeof ran === 'string') return { puzzles: [], skipped: [`${source.name}: ${ran}`] };
  const puzzles: Puzzle[] = [];
  let index = 0;
  for (const r of ran) {
    if (r.skip || r.output === undefined || !r.args || !r.argTypes || !r.outputType) {
      skipped.push(`${source.name}: ${r.call}: ${r.skip ?? 'no output'}`);
      continue;
    }
    for (const { puzzle, sol } of puzzlesOfCall(
      source,
      index++,
      { args: r.args, argTypes: r.argTypes, output: r.output, outputType: r.outputType },
      kinds,
    )) {
      const inspected = await inspectPuzzle(deps.sandbox, `${puzzle.sat}\n\n${sol}`, limits, index, signal);
      if (!inspected.ok) {
        skipped.push(`${puzzle.name}: ${inspected.reason}: ${inspected.detail ?? ''}`.trim());
        continue;
      }
      const verdict = await deps.verifier.judgePuzzle(puzzle, sol, signal);
      if (!verdict.passed) {
        skipped.push(`${puzzle.name}: the reference answer does not verify: ${verdict.feedback.split('\n')[0]}`);
        continue;
      }
      puzzles.push(puzzle);
    }
  }
  return { puzzles, skipped };
}

/** The user's own verified Python functions in the dataset, with the calls of their tests as inputs. */
export function reasoningSourcesFromRecords(records: Iterable<DatasetRecord>, limitPerFunction = 4): ReasoningSource[] {
  const out: ReasoningSource[] = [];
  const seen = new Set<string>();
  for (const r of records) {
    const entry = r.task.entryPoint;
    if (
      !r.verified ||
      r.task.language !== 'python' ||
      !entry ||
      !r.solution ||
      r.puzzle ||
      r.task.origin === 'self-play'
    )
      continue;
    const key = `${entry}\n${r.solution}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const doctests = r.task.prompt
      .split('\n')
      .filter((l) => /^\s*>>>/.test(l))
      .join('\n');
    const calls = callsOf(`${r.task.tests}\n${doctests}`, entry)
      .concat(callsOf(r.task.tests, 'candidate').map((c) => entry + c.slice('candidate'.length)))
      .filter((c, i, all) => all.indexOf(c) === i)
      .slice(0, limitPerFunction);
    if (calls.length > 0) out.push({ name: r.task.id, code: r.solution, entryPoint: entry, calls });
  }
  return out;
}
