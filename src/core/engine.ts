// The application layer both front ends use (the CLI's solve/eval and the VS Code services): the lazy
// sandbox, and one solve-and-record step with one rule for what reaches the dataset and one set of
// metadata on every Record. Front ends keep only what is theirs: reading settings or flags, progress,
// and how a dataset write failure is shown.

import type { ModelSettings } from './model/types';
import { createProcessSandbox, type ProcessSandboxOptions } from './sandbox/processSandbox';
import type { Sandbox } from './sandbox/types';
import { transpileTypeScript } from './sandbox/transpile';
import { solve } from './solve/solve';
import type { SolveDeps, SolveOptions } from './solve/types';
import { recordFromOutcome, type RecordMeta } from './dataset/record';
import type { DatasetStore } from './dataset/store';
import type { Outcome, DatasetRecord, Task } from './types';
import { VERSION } from './version';

// ───────────────────────── the lazy sandbox

/** How long dispose() waits for the workers to end before it lets the process go on. */
const DISPOSE_WAIT_MS = 5000;

/**
 * The process sandbox, created on first use (a run against a dead model server never starts a Python
 * worker) and disposed once: a second dispose() waits for the first. While it disposes, a timer keeps the
 * event loop alive (idle workers are unref'd), for at most DISPOSE_WAIT_MS.
 */
export function lazySandbox(
  options: ProcessSandboxOptions,
  create: (options: ProcessSandboxOptions) => Sandbox = createProcessSandbox,
): Sandbox {
  let real: Sandbox | undefined;
  let disposing: Promise<void> | undefined;
  const get = (): Sandbox => {
    // A call after dispose() reaches the disposed sandbox (which refuses it), never a new one left running.
    if (!real && disposing) throw new Error('The sandbox was disposed; start a new one.');
    return (real ??= create(options));
  };
  const dispose = async (): Promise<void> => {
    if (!real) return;
    const keep = setInterval(() => undefined, 250);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        real.dispose(),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, DISPOSE_WAIT_MS))),
      ]);
    } finally {
      clearInterval(keep);
      if (timer) clearTimeout(timer);
    }
  };
  return {
    run: async (request, signal) => get().run(request, signal),
    runPair: async (request, signal) => get().runPair(request, signal),
    // Transpiling needs no worker: a TypeScript task that does not compile starts none.
    transpile: (source, opts) => transpileTypeScript(source, opts),
    isolation: async () => get().isolation(),
    dispose: () => (disposing ??= dispose()),
  };
}

// ───────────────────────── solve and record

/**
 * The one logging rule: an Outcome becomes a dataset Record when it says something about the task.
 * - Not when it was cancelled: the user stopped it, so it is neither a success nor a failure of the model
 *   (a rerun, or --resume, solves it again).
 * - Not when it has no attempt: nothing was generated (the server was down, the model missing), so there is
 *   nothing to learn from.
 * - Not when the sandbox failed: that is the machine's fault, not the candidate's (the CLI stops the run
 *   and writes no outcome line for it either).
 * Everything else is recorded, verified or not: failed attempts are the data preference pairs come from.
 */
export function shouldRecord(outcome: Outcome): boolean {
  if (outcome.stopReason === 'cancelled') return false;
  if (outcome.attempts.length === 0) return false;
  return !(outcome.stopReason === 'error' && outcome.sandboxFailed);
}

/**
 * The one metadata set of a solve Record: the model that answered (else the configured one), the
 * generation options it ran with, the version, and the header values that must never be stored.
 */
export function recordMeta(outcome: Outcome, settings: ModelSettings, extensionVersion: string = VERSION): RecordMeta {
  return {
    model: outcome.model ?? settings.model,
    options: { ...settings.options },
    extensionVersion,
    redact: Object.values(settings.headers ?? {}),
  };
}

/** The Record of a solve, under the one rule and with the one metadata set; undefined when the rule skips it. */
export function solveRecord(
  outcome: Outcome,
  settings: ModelSettings,
  extensionVersion: string = VERSION,
): DatasetRecord | undefined {
  return shouldRecord(outcome)
    ? recordFromOutcome(outcome, recordMeta(outcome, settings, extensionVersion))
    : undefined;
}

/** Where and how a solve is logged. Without it (or with no dataset) nothing is recorded. */
export interface Recording {
  /** The dataset to append to, opened when the first Record is written; undefined: logging is off. */
  dataset: (() => DatasetStore | Promise<DatasetStore>) | undefined;
  /** The model settings of the run (the model name, generation options and headers for the metadata). */
  settings: ModelSettings;
  extensionVersion?: string;
}

export interface Recorded {
  outcome: Outcome;
  /** The Record made of the Outcome, when the logging rule keeps it (written or not). */
  record?: DatasetRecord;
  /** Set when the Record could not be written; the front end reports it (the Outcome is never lost). */
  error?: unknown;
  /** The dataset the Record went to, or was meant to. */
  dataset?: DatasetStore;
}

/**
 * Appends the Record of `outcome` when logging is on and the rule keeps it. Never throws for a dataset
 * failure: it comes back in `error` for the front end to show (or keep) its own way.
 */
export async function recordOutcome(outcome: Outcome, recording: Recording | undefined): Promise<Recorded> {
  if (!recording?.dataset) return { outcome };
  const record = solveRecord(outcome, recording.settings, recording.extensionVersion);
  if (!record) return { outcome };
  let dataset: DatasetStore | undefined;
  try {
    dataset = await recording.dataset();
    await dataset.append(record);
    return { outcome, record, dataset };
  } catch (error) {
    return { outcome, record, error, ...(dataset ? { dataset } : {}) };
  }
}

/** Solves `task`, then records the Outcome (see recordOutcome): the one path both front ends take. */
export async function solveAndRecord(
  task: Task,
  deps: SolveDeps,
  options: SolveOptions,
  recording?: Recording,
): Promise<Recorded> {
  return recordOutcome(await solve(task, deps, options), recording);
}

// ───────────────────────── self-play resume

// Whether a self-play run starts fresh, resumes, offers the choice or is already finished: one decision for
// the CLI and the editor (the loop itself asks the same function).
export { planResume, plannedCount, type ResumePlan } from './selfplay/resume';
