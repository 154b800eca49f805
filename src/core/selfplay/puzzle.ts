// Puzzles in the P3 layout: reading seed files, building Puzzles from source, and pulling puzzle and
// solution code out of model answers. Parsing that needs Python's own grammar (validity, normalised
// ASTs) happens in the sandbox, see harness.ts and probe.ts.

import { promises as fsp } from 'node:fs';
import type { Puzzle } from '../types';

export class SeedFileError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'SeedFileError';
  }
}

/** The answer type from `def sat(x: T, ...)`, or undefined when the first argument has no annotation. */
export function answerTypeOf(sat: string): string | undefined {
  const m = /def\s+sat\s*\(\s*[A-Za-z_]\w*\s*:/.exec(sat);
  if (!m) return undefined;
  let depth = 0;
  let i = m.index + m[0].length;
  const start = i;
  for (; i < sat.length; i++) {
    const c = sat[i]!;
    if (c === '[' || c === '(') depth++;
    else if (c === ']') depth--;
    else if (c === ')' && depth-- === 0) break;
    else if ((c === ',' || c === '=') && depth === 0) break;
  }
  const type = sat.slice(start, i).trim();
  return type || undefined;
}

/** The header and body of a `def sol(...)` function: P3 stores them apart. */
export function splitFunction(source: string): { header: string; body: string } | undefined {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const start = lines.findIndex((l) => /^def\s+sol\s*\(/.test(l));
  if (start < 0) return undefined;
  let end = start;
  // The header may span lines; it ends at the first line ending with ':' (outside a string, good enough for headers).
  while (end < lines.length && !/\)\s*(->\s*[^:]+)?:\s*(#.*)?$/.test(lines[end]!)) end++;
  if (end >= lines.length) return undefined;
  const body = lines.slice(end + 1);
  while (body.length && body[body.length - 1]!.trim() === '') body.pop();
  return { header: lines.slice(start, end + 1).join('\n'), body: body.join('\n') };
}

/** A Puzzle from a sat source and a reference `def sol(...)` source. */
export function puzzleFromSource(name: string, sat: string, sol: string, module?: string): Puzzle {
  const split = splitFunction(sol);
  const puzzle: Puzzle = {
    name,
    sat: sat.trim(),
    ansType: answerTypeOf(sat) ?? '',
    solHeader: split?.header ?? 'def sol():',
    solBodies: split ? [split.body] : [],
  };
  if (module !== undefined) puzzle.module = module;
  return puzzle;
}

/** The reference solver of a puzzle as one source (header + first body), or undefined when it has none. */
export function solutionSource(puzzle: Puzzle, index = 0): string | undefined {
  const body = puzzle.solBodies[index];
  if (body === undefined) return undefined;
  return `${puzzle.solHeader.trimEnd()}\n${body.replace(/^\n+/, '').trimEnd()}\n`;
}

/** P3 names carry an instance suffix (`Study_1:0`); the family is the part before it. */
export function familyOf(name: string): string {
  return name.replace(/:\d+$/, '');
}

/** The topic of a puzzle for the curriculum: its P3 module without `.py`, or `misc`. */
export function topicOf(puzzle: Puzzle): string {
  return (puzzle.module ?? '').replace(/\.py$/, '').trim() || 'misc';
}

interface P3Entry {
  name?: unknown;
  sat?: unknown;
  ans_type?: unknown;
  ansType?: unknown;
  sol_header?: unknown;
  solHeader?: unknown;
  sol_bodies?: unknown;
  solBodies?: unknown;
  module?: unknown;
}

/** One entry of a P3 file (snake_case as published, or Crucible's camelCase Puzzle); a reason when unusable. */
export function puzzleFromP3(entry: unknown, index: number): Puzzle | string {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return `entry ${index + 1} is not an object`;
  const e = entry as P3Entry;
  if (typeof e.sat !== 'string' || !/def\s+sat\s*\(/.test(e.sat))
    return `entry ${index + 1} has no "sat" with def sat(...)`;
  const name = typeof e.name === 'string' && e.name ? e.name : `puzzle${index + 1}:0`;
  const ansType =
    typeof e.ans_type === 'string' ? e.ans_type : typeof e.ansType === 'string' ? e.ansType : answerTypeOf(e.sat);
  if (!ansType) return `entry ${index + 1} (${name}): sat's first argument has no type and no "ans_type" is given`;
  const header =
    typeof e.sol_header === 'string' ? e.sol_header : typeof e.solHeader === 'string' ? e.solHeader : 'def sol():';
  const rawBodies = Array.isArray(e.sol_bodies) ? e.sol_bodies : Array.isArray(e.solBodies) ? e.solBodies : [];
  const puzzle: Puzzle = {
    name,
    sat: e.sat.trim(),
    ansType,
    solHeader: header,
    solBodies: rawBodies.filter((b): b is string => typeof b === 'string' && b.trim() !== ''),
  };
  if (typeof e.module === 'string' && e.module) puzzle.module = e.module;
  return puzzle;
}

export interface SeedFile {
  puzzles: Puzzle[];
  /** Entries that were skipped, with why. */
  skipped: string[];
}

/** Reads a P3-format seed file: a JSON array (like P3's train.json) or JSON lines, one puzzle per entry. */
export async function loadSeedFile(path: string): Promise<SeedFile> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EISDIR'
          ? 'is a folder'
          : `cannot be read (${code ?? String(err)})`;
    throw new SeedFileError(
      `Seed file ${path} ${why}. Pass a P3-format JSON file (e.g. ../shared/data/p3/train.json) or leave --seeds out to use the shipped seeds.`,
      path,
    );
  }
  let entries: unknown[];
  const trimmed = text.trim();
  if (!trimmed)
    throw new SeedFileError(
      `Seed file ${path} is empty. It should hold a JSON array of P3 puzzles (name, sat, ans_type, sol_header, sol_bodies).`,
      path,
    );
  if (trimmed.startsWith('[')) {
    try {
      entries = JSON.parse(trimmed) as unknown[];
    } catch (err) {
      throw new SeedFileError(
        `Seed file ${path} is not valid JSON (${(err as Error).message}). Fix the file or point --seeds at another P3 file.`,
        path,
      );
    }
  } else {
    entries = [];
    const lines = trimmed.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (!line) continue;
      try {
        entries.push(JSON.parse(line));
      } catch (err) {
        throw new SeedFileError(
          `Seed file ${path}, line ${i + 1}: not valid JSON (${(err as Error).message}). A seed file is a JSON array or one JSON puzzle per line.`,
          path,
        );
      }
    }
  }
  const puzzles: Puzzle[] = [];
  const skipped: string[] = [];
  entries.forEach((entry, i) => {
    const p = puzzleFromP3(entry, i);
    if (typeof p === 'string') skipped.push(p);
    else puzzles.push(p);
  });
  if (puzzles.length === 0) {
    throw new SeedFileError(
      `Seed file ${path} holds no usable P3 puzzle${skipped.length ? ` (${skipped[0]})` : ''}. Each entry needs "sat" with def sat(x: T, ...).`,
      path,
    );
  }
  return { puzzles, skipped };
}

/** The fenced code blocks of a model answer, in order; python/py/untagged blocks only. */
export function codeBlocks(answer: string): string[] {
  const out: string[] = [];
  const fence = /(^|\n)[ \t]*(`{3,}|~{3,})[ \t]*([\w+-]*)[^\n]*\n([\s\S]*?)(?:\n[ \t]*\2[ \t]*(?=\n|$)|$)/g;
  for (let m = fence.exec(answer); m; m = fence.exec(answer)) {
    const lang = (m[3] ?? '').toLowerCase();
    if (lang && !['python', 'py', 'python3'].includes(lang)) continue;
    out.push(m[4]!.replace(/\s+$/, ''));
  }
  return out;
}

/** The puzzle code of a generation answer (sat, and sol if given), or undefined when there is no `def sat`. */
export function puzzleCodeOf(answer: string): string | undefined {
  const blocks = codeBlocks(answer);
  const withSat = blocks.filter((b) => /(^|\n)[ \t]*def\s+sat\s*\(/.test(b));
  if (withSat.length) {
    // sat and sol may come in separate blocks: keep every block that defines one of them.
    const related = blocks.filter((b) => /(^|\n)[ \t]*(def\s+(sat|sol)\s*\(|from\s+\w+\s+import|import\s+\w+)/.test(b));
    return related.map(dedent).join('\n\n');
  }
  if (blocks.length === 0 && /(^|\n)def\s+sat\s*\(/.test(answer)) {
    // No fences: take the text from the first def or import on.
    const start = answer.search(/(^|\n)(from\s+\w+\s+import|import\s+\w+|def\s+sat\s*\()/);
    return dedent(answer.slice(Math.max(0, start)).trim());
  }
  return undefined;
}

/** The solver code of a solving answer (must define `sol`), or undefined. */
export function solutionCodeOf(answer: string): string | undefined {
  const blocks = codeBlocks(answer).filter((b) => /(^|\n)\s*def\s+sol\s*\(/.test(b));
  if (blocks.length) return dedent(blocks[blocks.length - 1]!);
  if (/(^|\n)def\s+sol\s*\(/.test(answer) && !/`{3}/.test(answer)) {
    const start = answer.search(/(^|\n)(from\s+\w+\s+import|import\s+\w+|def\s+sol\s*\()/);
    return dedent(answer.slice(Math.max(0, start)).trim());
  }
  return undefined;
}

function dedent(code: string): string {
  const lines = code.replace(/\r\n?/g, '\n').split('\n');
  const indents = lines.filter((l) => l.trim()).map((l) => /^[ \t]*/.exec(l)![0].length);
  const min = indents.length ? Math.min(...indents) : 0;
  return min ? lines.map((l) => l.slice(Math.min(min, /^[ \t]*/.exec(l)![0].length))).join('\n') : code;
}

/**
 * A solution body that runs under `header` even when the solver wrote its own parameters: the solver's
 * whole function becomes a nested helper that the stored header calls with its defaults.
 */
export function bodyUnderHeader(source: string): string {
  const inner = source
    .trimEnd()
    .split('\n')
    .map((l) => (l.trim() ? `    ${l}` : l))
    .join('\n');
  return `${inner}\n    return sol()`;
}
