// Telling the sandbox's own failure (no interpreter, a worker that keeps crashing) from a candidate's.
// The verifier reports both as a Verdict with status "error"; only a sandbox failure has `sandboxError` set
// (its feedback also says "Sandbox error: …" for people, but the text decides nothing: a candidate can print
// anything). Such a verdict says nothing about the candidate: it is never fed back to the model, never
// counted as a failed attempt, and a run that meets one stops instead of burning its budget.

import type { Language, Task, Verdict } from '../types';
import type { Verifier } from '../verify/types';

/** Thrown by the solve loop when the sandbox itself failed; the Outcome ends with stopReason "error". */
export class SandboxFailure extends Error {
  constructor(readonly detail: string) {
    super(`The sandbox failed (not the candidate's fault; nothing was sent to the model): ${detail}`);
    this.name = 'SandboxFailure';
  }
}

/** The sandbox's own error in a verdict, or undefined when the verdict judges the candidate. */
export function sandboxErrorOf(verdict: Pick<Verdict, 'status' | 'sandboxError'>): string | undefined {
  return verdict.status === 'error' && verdict.sandboxError ? verdict.sandboxError : undefined;
}

const PROBES: { [L in Language]: { code: string; tests: string } } = {
  python: { code: 'def crucible_probe():\n    return 1\n', tests: 'assert crucible_probe() == 1\n' },
  javascript: {
    code: 'function crucible_probe() { return 1; }\n',
    tests: "const assert = require('node:assert');\nassert.strictEqual(crucible_probe(), 1);\n",
  },
  typescript: {
    code: 'function crucible_probe(): number { return 1; }\n',
    tests: "import assert from 'node:assert';\nassert.strictEqual(crucible_probe(), 1);\n",
  },
};

/**
 * Runs one trivial job per language through the verifier before any real work: returns the sandbox's
 * error for the first language whose sandbox cannot start, or undefined when every one runs.
 */
export async function probeSandbox(
  verifier: Verifier,
  languages: Iterable<Language>,
  signal?: AbortSignal,
): Promise<{ language: Language; error: string } | undefined> {
  for (const language of new Set(languages)) {
    const probe = PROBES[language];
    const task: Task = {
      id: `crucible-probe-${language}`,
      language,
      prompt: '',
      entryPoint: 'crucible_probe',
      tests: probe.tests,
      testsOrigin: 'user',
      origin: 'user',
    };
    const verdict = await verifier.verify(
      task,
      { id: `${task.id}#code`, code: probe.code, language, round: 0 },
      signal,
    );
    const error = sandboxErrorOf(verdict);
    if (error) return { language, error };
  }
  return undefined;
}
