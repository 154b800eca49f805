// The Verdict of a candidate that never reached its tests: no code could be taken from the answer, the
// code does not parse, or (in self-play) the answer could not be turned into a program. Shared by the solve
// loop and self-play so both report such a candidate the same way.
import type { TestFailure, Verdict } from '../types';

/**
 * A failed Verdict for a candidate whose tests did not run. `testsTotal` is 0 because no test ran: every
 * front end reads `testsTotal === 0` as "no test ran" (rather than "0/N passing", which would claim the
 * tests ran and failed), and ranking (`select.ts`) scores it 0 either way.
 */
export function failedVerdict(status: Verdict['status'], feedback: string, failures: TestFailure[] = []): Verdict {
  return { status, passed: false, testsPassed: 0, testsTotal: 0, durationMs: 0, feedback, failures };
}
