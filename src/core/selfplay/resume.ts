// Self-play resume in one place: what to do about a saved run (continue it, refuse to overwrite it, or
// offer it to the person) for the loop, the CLI (--resume) and the VS Code command (which asks), and the
// state a run starts from: the saved one with its new target and budget, or a fresh one.

import { randomBytes } from 'node:crypto';
import { readState, STATE_VERSION, type SelfPlayState } from './state';
import { SelfPlayError } from './types';

/**
 * How the caller means to treat a saved run:
 * - 'resume': continue it; it must exist (CLI --resume, and the loop when told to resume);
 * - 'new': start a new run; a saved one in the way is an error, never overwritten;
 * - 'ask': find out what is there, so the person can choose (VS Code).
 */
export type ResumeMode = 'resume' | 'new' | 'ask';

export type ResumePlan =
  /** Nothing saved: start a new run. */
  | { kind: 'new' }
  /** Continue the saved run. */
  | { kind: 'resume'; saved: SelfPlayState }
  /** 'ask' only: a run stopped before it finished; resume it, or discard it to start anew. */
  | { kind: 'offer'; saved: SelfPlayState }
  /** 'ask' only: the saved run reached its target or used up its budget; discard it and start anew (its puzzles are in the dataset). */
  | { kind: 'finished'; saved: SelfPlayState };

/**
 * Reads the checkpoint at `statePath` and says what to do with it. Throws SelfPlayError when the caller's
 * intent does not fit what is there (resuming needs a checkpoint; a new run never overwrites one), and
 * StateFileError for a file that cannot be read or is not a checkpoint; each message names the fix.
 */
export async function planResume(statePath: string | undefined, mode: ResumeMode): Promise<ResumePlan> {
  if (mode === 'resume' && !statePath)
    throw new SelfPlayError('Resuming needs a state file (CLI: --state FILE, default in the dataset folder).');
  const saved = statePath ? await readState(statePath) : undefined;
  if (!saved) {
    if (mode === 'resume')
      throw new SelfPlayError(
        `Nothing to resume: there is no self-play state at ${statePath}. Run without --resume to start a new run.`,
      );
    return { kind: 'new' };
  }
  if (mode === 'resume') return { kind: 'resume', saved };
  if (mode === 'ask') return isFinished(saved) ? { kind: 'finished', saved } : { kind: 'offer', saved };
  throw new SelfPlayError(
    `A self-play run is already saved at ${statePath} (${saved.accepted.length} accepted). Pass --resume to continue it, or delete the file (or pick another --state) to start over.`,
  );
}

/** A saved run that has nothing left to do: its target met or its generation budget used up. */
export function isFinished(saved: SelfPlayState): boolean {
  return saved.accepted.length >= saved.target || saved.generated >= saved.maxGenerations;
}

/** The run's target when none is asked for: a resumed run keeps its own, a new one takes `fallback`. */
export function plannedCount(plan: ResumePlan, fallback: number): number {
  return plan.kind === 'resume' ? plan.saved.target : fallback;
}

export interface StartOptions {
  count: number;
  samples: number;
  seedCount: number;
  maxGenerations?: number;
  seed?: number;
}

/**
 * The state a run starts from. A resumed run takes the new target and keeps its generation budget, grown
 * by 10 per puzzle when the target is raised (unless `maxGenerations` is given); a new run gets 10 × count.
 */
export function startState(saved: SelfPlayState | undefined, options: StartOptions, now: () => number): SelfPlayState {
  const maxGenerations =
    options.maxGenerations ??
    (saved ? saved.maxGenerations + Math.max(0, options.count - saved.target) * 10 : options.count * 10);
  if (saved) {
    saved.target = options.count;
    saved.maxGenerations = maxGenerations;
    return saved;
  }
  return {
    version: STATE_VERSION,
    runId: randomBytes(4).toString('hex'),
    createdAt: new Date(now()).toISOString(),
    updatedAt: new Date(now()).toISOString(),
    target: options.count,
    samples: options.samples,
    maxGenerations,
    seedCount: options.seedCount,
    nextTicket: 0,
    generated: 0,
    accepted: [],
    rejected: {},
    curriculum: { arms: {} },
    ladder: [],
    ladderStats: { requested: 0, accepted: 0 },
    history: [],
    rng: options.seed ?? (Math.random() * 2 ** 32) >>> 0,
    usage: { promptTokens: 0, completionTokens: 0, durationMs: 0 },
    modelRequests: 0,
    sandboxJobs: 0,
    elapsedMs: 0,
  };
}
