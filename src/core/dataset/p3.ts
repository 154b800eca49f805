// The Python Programming Puzzles (P3) `puzzles.json` entry, exactly as the P3 repository writes it:
// name, sat, ans_type, sol_header, sol_docstring, sol_bodies, module, notes, weight. Crucible's own facts
// (self-play solve rate, topic) go in `notes`, which P3 tools show and otherwise ignore.
import type { Puzzle } from '../types';

export interface P3Entry {
  name: string;
  sat: string;
  ans_type: string;
  sol_header: string;
  sol_docstring: string;
  sol_bodies: string[];
  module: string;
  notes: string;
  weight: number;
}

/** The module P3 expects is a file name (`study.py`); a self-play topic becomes `crucible_<topic>.py`. */
export function p3Module(module: string | undefined): string {
  if (module && /^[\w.-]+\.py$/.test(module)) return module;
  const topic =
    (module ?? 'selfplay')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'selfplay';
  return `crucible_${topic}.py`;
}

/** A P3 entry for a puzzle; `bodies` defaults to the puzzle's own solution bodies. */
export function p3Entry(puzzle: Puzzle, bodies: string[] = puzzle.solBodies, docstring = ''): P3Entry {
  const notes: string[] = [];
  if (puzzle.module && !/\.py$/.test(puzzle.module)) notes.push(`Crucible self-play topic: ${puzzle.module}.`);
  if (typeof puzzle.solveRate === 'number')
    notes.push(`Crucible self-play solve rate: ${puzzle.solveRate.toFixed(3)}.`);
  return {
    name: puzzle.name,
    sat: puzzle.sat,
    ans_type: puzzle.ansType,
    sol_header: puzzle.solHeader,
    sol_docstring: docstring,
    sol_bodies: [...bodies],
    module: p3Module(puzzle.module),
    notes: notes.join(' '),
    weight: 1.0,
  };
}

/**
 * P3's free-text `notes`, as JSON with a `kind` field (puzzle, deduction or abduction), the solve rate
 * and the known-failing answers when there are any.
 */
export function p3Notes(puzzle: Puzzle): string {
  return JSON.stringify({
    kind: puzzle.kind ?? 'puzzle',
    ...(puzzle.solveRate !== undefined ? { solveRate: Number(puzzle.solveRate.toFixed(3)) } : {}),
    ...(puzzle.wrongAnswers && puzzle.wrongAnswers.length ? { wrongAnswers: puzzle.wrongAnswers } : {}),
  });
}

/** A `puzzles.json` text: a JSON array, one entry per line (diff-friendly), as P3 tools read it. */
export function p3FileText(entries: P3Entry[]): string {
  return `[\n${entries.map((e) => `  ${JSON.stringify(e)}`).join(',\n')}${entries.length ? '\n' : ''}]\n`;
}

/**
 * A Puzzle as read from disk. Datasets and self-play checkpoints written before Crucible 0.9 kept the solve
 * rate under `difficulty`, a word the Record uses for 1 − solve rate; it is read as `solveRate`.
 */
export function upgradePuzzle<T extends Puzzle | undefined>(puzzle: T): T {
  const old = puzzle as (Puzzle & { difficulty?: unknown }) | undefined;
  if (!old || typeof old !== 'object' || !('difficulty' in old)) return puzzle;
  const { difficulty, ...rest } = old;
  return (
    rest.solveRate === undefined && typeof difficulty === 'number' ? { ...rest, solveRate: difficulty } : rest
  ) as T;
}
