// The self-play checkpoint: everything a killed run needs to resume, rewritten atomically (temp file,
// fsync, rename) after every settled puzzle, so a crash loses at most the puzzles in flight.

import { upgradePuzzle } from '../dataset/p3';
import { promises as fsp } from 'node:fs';
import type { Puzzle, Usage } from '../types';
import type { CurriculumState, HistoryEntry } from './curriculum';
import { writeFileAtomic } from '../durable';
import type { RejectReason } from './types';

export const STATE_VERSION = 1;

export interface AcceptedPuzzle {
  puzzle: Puzzle;
  hash: string;
  arm: string;
  solved: number;
  answered: number;
}

export interface LadderItem {
  parent: Puzzle;
  arm: string;
  depth: number;
}

export interface SelfPlayState {
  version: number;
  runId: string;
  createdAt: string;
  updatedAt: string;
  /** The options the run started with; a resumed run keeps its target unless told otherwise. */
  target: number;
  samples: number;
  maxGenerations: number;
  seedCount: number;
  /** Next ticket number (tickets in flight at a crash are re-issued under new numbers). */
  nextTicket: number;
  /** Puzzles written and settled. */
  generated: number;
  accepted: AcceptedPuzzle[];
  rejected: { [reason in RejectReason]?: number };
  curriculum: CurriculumState;
  ladder: LadderItem[];
  ladderStats: { requested: number; accepted: number };
  history: HistoryEntry[];
  rng: number;
  usage: Usage;
  modelRequests: number;
  sandboxJobs: number;
  elapsedMs: number;
}

export class StateFileError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'StateFileError';
  }
}

export async function readState(path: string): Promise<SelfPlayState | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(`Cannot read the self-play state ${path} (${(err as Error).message}).`, path);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(
      `The self-play state ${path} is not valid JSON (${(err as Error).message}). Delete it to start a new run.`,
      path,
    );
  }
  const s = value as Partial<SelfPlayState>;
  if (
    !s ||
    typeof s !== 'object' ||
    s.version !== STATE_VERSION ||
    !Array.isArray(s.accepted) ||
    typeof s.generated !== 'number' ||
    typeof s.runId !== 'string'
  ) {
    throw new StateFileError(
      `The self-play state ${path} is not a Crucible self-play checkpoint (version ${STATE_VERSION}). Delete it or pass another --state file.`,
      path,
    );
  }
  const state = s as SelfPlayState;
  for (const a of state.accepted) a.puzzle = upgradePuzzle(a.puzzle);
  for (const item of state.ladder ?? []) item.parent = upgradePuzzle(item.parent);
  return state;
}

/** Writes the state atomically: a crash leaves either the old or the new file, never a torn one. */
export function writeState(path: string, state: SelfPlayState): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(state));
}

/** Serialises checkpoint writes: at most one in flight, and the latest state always ends up on disk. */
export class Checkpointer {
  private running: Promise<void> | undefined;
  private queued: (() => SelfPlayState) | undefined;
  private failure: Error | undefined;

  constructor(private readonly path: string) {}

  /** Schedules a write of `snapshot()` (taken when the write starts, so bursts collapse into one write). */
  save(snapshot: () => SelfPlayState): void {
    this.queued = snapshot;
    if (!this.running) this.running = this.drain();
  }

  private async drain(): Promise<void> {
    while (this.queued) {
      const take = this.queued;
      this.queued = undefined;
      try {
        await writeState(this.path, take());
      } catch (err) {
        this.failure = err instanceof Error ? err : new Error(String(err));
      }
    }
    this.running = undefined;
  }

  /** Waits for pending writes; throws the last write failure, if any. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.failure) {
      const f = this.failure;
      this.failure = undefined;
      throw new StateFileError(
        `Cannot write the self-play state ${this.path} (${f.message}). Free disk space or pass another --state file; accepted puzzles are in the dataset.`,
        this.path,
      );
    }
  }

  get lastError(): Error | undefined {
    return this.failure;
  }
}
