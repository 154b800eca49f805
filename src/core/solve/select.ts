// Choosing among attempts: which failures are worth refining, which passing candidate wins.

import type { Attempt, Language } from '../types';

/** Size of the code with comments and blank space removed: the "simpler code" tie-breaker. */
export function codeSize(code: string, language: Language): number {
  let text = code;
  if (language === 'python') {
    text = text.replace(/(^|\n)\s*#[^\n]*/g, '$1');
  } else {
    text = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\n)\s*\/\/[^\n]*/g, '$1');
  }
  return text.replace(/\s+/g, '').length;
}

/** Share of tests passed, 0 when none ran. */
function passShare(a: Attempt): number {
  return a.verdict.testsTotal > 0 ? a.verdict.testsPassed / a.verdict.testsTotal : 0;
}

/** Whether the failure came from the pre-run syntax check or an answer without code (nothing ran). */
export function ranNothing(a: Attempt): boolean {
  return a.verdict.testsTotal === 0 && a.verdict.status === 'error';
}

/**
 * The most promising failures first: most tests passed, then code that ran over code that did not,
 * then the later round (it already carries earlier feedback), then simpler code.
 */
export function rankFailures(attempts: Attempt[]): Attempt[] {
  return [...attempts].sort(
    (a, b) =>
      b.verdict.testsPassed - a.verdict.testsPassed ||
      passShare(b) - passShare(a) ||
      Number(ranNothing(a)) - Number(ranNothing(b)) ||
      b.candidate.round - a.candidate.round ||
      codeSize(a.candidate.code, a.candidate.language) - codeSize(b.candidate.code, b.candidate.language),
  );
}

/**
 * Chooses among passing attempts: most tests passed, then agreement of outputs on extra inputs
 * (`signatures[i]` is attempt i's outputs rendered as one string; the largest group of equal
 * signatures wins), then simpler code, then the earlier attempt.
 */
export function choosePassing(passing: Attempt[], signatures?: (string | undefined)[]): Attempt | undefined {
  if (passing.length === 0) return undefined;
  const agreement = passing.map((_, i) => {
    const sig = signatures?.[i];
    if (sig === undefined) return 0;
    return signatures!.filter((s) => s === sig).length;
  });
  const order = passing.map((_, i) => i);
  order.sort((i, j) => {
    const a = passing[i]!;
    const b = passing[j]!;
    return (
      b.verdict.testsPassed - a.verdict.testsPassed ||
      agreement[j]! - agreement[i]! ||
      codeSize(a.candidate.code, a.candidate.language) - codeSize(b.candidate.code, b.candidate.language) ||
      i - j
    );
  });
  return passing[order[0]!];
}

/** The best attempt overall when nothing passed: the top of rankFailures. */
export function bestFailure(attempts: Attempt[]): Attempt | undefined {
  return rankFailures(attempts)[0];
}
