// Tests the model writes when a Task has none, cross-checked against the candidates as CodeT does:
// candidates that pass the same tests form a group, a group scores (members × tests passed), and a
// test no candidate passes, while candidates agree among themselves, is taken to be wrong and dropped.

import type { Language } from '../types';

/** Splits text into complete statements that start with `assert`, joining lines until brackets balance. */
export function parseAsserts(text: string, language: Language): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  const starts = language === 'python' ? /^assert[\s(]/ : /^assert(\.\w+)?\s*\(/;
  let i = 0;
  while (i < lines.length) {
    const first = lines[i]!.trim();
    i++;
    if (!starts.test(first)) continue;
    let stmt = first;
    while (depth(stmt) > 0 && i < lines.length) {
      stmt += `\n${lines[i]!.replace(/\s+$/, '')}`;
      i++;
    }
    if (depth(stmt) !== 0) continue; // cut off: unusable
    if (language !== 'python' && !stmt.endsWith(';')) stmt += ';';
    if (!out.includes(stmt)) out.push(stmt);
  }
  return out;
}

/** Bracket depth of a statement, skipping string literals and comments (good enough for one-line asserts). */
function depth(s: string): number {
  let d = 0;
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '#' ) {
      const nl = s.indexOf('\n', i);
      if (nl < 0) break;
      i = nl;
    } else if (c === '(' || c === '[' || c === '{') d++;
    else if (c === ')' || c === ']' || c === '}') d--;
  }
  return d;
}

/** Joins generated asserts into the tests text a Verifier runs (JS/TS get node:assert). */
export function testsSource(asserts: string[], language: Language): string {
  if (language === 'python') return asserts.join('\n');
  const needsImport = !asserts.some((a) => /require\(['"](node:)?assert/.test(a));
  return `${needsImport ? "const assert = require('node:assert');\n" : ''}${asserts.join('\n')}`;
}

export interface CrossCheck {
  /** Index of tests kept (trusted). */
  kept: number[];
  /** Index of tests dropped as probably wrong. */
  dropped: number[];
  /** Per candidate: passes every kept test. */
  passesKept: boolean[];
  /** Per candidate: its CodeT score (size of its agreement group × tests it passes). */
  scores: number[];
}

/**
 * CodeT-style cross-check of generated tests and candidates. `matrix[c][t]` is true when candidate
 * c passes test t (candidates whose code never ran have all false).
 *
 * A test is dropped when no candidate passes it, while at least two candidates agree (pass exactly
 * the same non-empty set of tests): independent samples that agree with each other but not with a
 * test are better evidence than the test. At least one test is always kept when any test passes.
 */
export function crossCheck(matrix: boolean[][], testCount: number): CrossCheck {
  const keys = matrix.map((row) => row.map((p) => (p ? '1' : '0')).join(''));
  const group = new Map<string, number>();
  keys.forEach((k, c) => {
    if (matrix[c]!.some(Boolean)) group.set(k, (group.get(k) ?? 0) + 1);
  });
  const consensus = [...group.values()].some((n) => n >= 2);
  const kept: number[] = [];
  const dropped: number[] = [];
  for (let t = 0; t < testCount; t++) {
    const passedBy = matrix.filter((row) => row[t]).length;
    if (passedBy === 0 && consensus) dropped.push(t);
    else kept.push(t);
  }
  const scores = matrix.map((row, c) => {
    const passed = row.filter(Boolean).length;
    return passed === 0 ? 0 : (group.get(keys[c]!) ?? 1) * passed;
  });
  const passesKept = matrix.map((row) => kept.length > 0 && kept.every((t) => row[t]));
  return { kept, dropped, passesKept, scores };
}

/** The call expressions `entry(...)` found in tests or docstring examples, for comparing candidates' outputs. */
export function callsOf(text: string, entryPoint: string): string[] {
  const calls: string[] = [];
  const re = new RegExp(`\\b${entryPoint.replace(/[$]/g, '\\$')}\\s*\\(`, 'g');
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const start = m.index;
    let d = 0;
    let end = -1;
    let quote: string | undefined;
    for (let i = start + m[0].length - 1; i < text.length; i++) {
      const c = text[i]!;
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = undefined;
        continue;
      }
      if (c === '"' || c === "'" || c === '`') quote = c;
      else if (c === '(' || c === '[' || c === '{') d++;
      else if (c === ')' || c === ']' || c === '}') {
        d--;
        if (d === 0) {
          end = i + 1;
          break;
        }
      }
    }
    if (end > 0) {
      const call = text.slice(start, end).replace(/\s*\n\s*/g, ' ');
      if (call.length <= 400 && !calls.includes(call)) calls.push(call);
    }
  }
  return calls;
}

/**
 * Extra inputs: the calls from the tests and examples, plus variants with each integer literal moved
 * by one, so candidates that agree on the tests can still be told apart. At most `limit` calls.
 */
export function extraCalls(sources: string[], entryPoint: string, limit = 24): string[] {
  const base = sources.flatMap((s) => callsOf(s, entryPoint));
  const out: string[] = [];
  const add = (c: string): void => {
    if (out.length < limit && !out.includes(c)) out.push(c);
  };
  for (const c of base) add(c);
  for (const c of base) {
    const inner = c.slice(entryPoint.length);
    const bumped = inner.replace(/(?<![\w.])(\d+)(?![\w.])/g, (d) => String(Number(d) + 1));
    if (bumped !== inner) add(entryPoint + bumped);
  }
  return out;
}
