// How a result that rests on model-written tests is described: by the evidence behind it (distinct
// programs that agree, tests kept and dropped), never by a bare "verified N/N". Pure text, no imports
// beyond types, so the thin VS Code bundle can use it without loading the engine.

import type { Outcome } from '../types';

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * e.g. "generated tests: 2 distinct programs agree, 5 of 6 tests kept (1 dropped)". Undefined when the
 * Outcome did not use generated tests.
 */
export function evidenceText(outcome: Pick<Outcome, 'evidence' | 'unconfirmed'>): string | undefined {
  const e = outcome.evidence;
  if (!e) return undefined;
  const kept = `${e.testsKept} of ${e.testsTotal} ${e.testsTotal === 1 ? 'test' : 'tests'} kept`;
  const left: string[] = [];
  if (e.testsDropped > 0) left.push(`${e.testsDropped} dropped by cross-check`);
  if (e.testsContradictingExamples > 0) left.push(`${e.testsContradictingExamples} contradicting the task's examples`);
  const tests = `${kept}${left.length ? ` (${left.join(', ')})` : ''}`;
  if (outcome.unconfirmed) {
    return `generated tests: unconfirmed, every candidate was the same program; ${tests}`;
  }
  const agree =
    e.agreeingPrograms >= 2
      ? `${plural(e.agreeingPrograms, 'distinct program')} agree`
      : `${plural(e.agreeingPrograms, 'program')} of ${plural(e.distinctPrograms, 'distinct one')} passes`;
  return `generated tests: ${agree}, ${tests}`;
}
