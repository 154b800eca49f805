// What a finished ticket does to the run: the accepted puzzle joins the archive (and its hash the
// near-duplicate index), a rejection is counted under its reason and may queue an easier variant, the
// curriculum learns from the solve rate, and the history and the model-failure streak move on.
//
// The dataset append, the events and the checkpoint around it are the run's (loop.ts); this part only
// changes the ledger, synchronously, so an outcome is counted whole or not at all.

import type { Curriculum } from './curriculum';
import type { AcceptedPuzzle, SelfPlayState } from './state';
import type { Settled, Ticket } from './ticket';

/** Easier-variant requests waiting at most; each unsolved puzzle adds one while there is room. */
export const MAX_LADDER_QUEUE = 16;
/** History entries kept in the checkpoint (the oldest go first). */
export const MAX_HISTORY = 5000;

/** The run's books a settled ticket writes to. */
export interface Ledger {
  readonly state: SelfPlayState;
  readonly curriculum: Curriculum;
  /** Normalised-AST hash → name of every accepted puzzle. */
  readonly acceptedHashes: Map<string, string>;
  /** Tickets in a row lost to model errors; any other outcome resets it. */
  modelFailuresInARow: number;
}

/** Books one settled ticket. */
export function settle(ledger: Ledger, t: Ticket, outcome: Settled): void {
  const { state, curriculum } = ledger;
  if (outcome.kind === 'accepted') {
    const entry: AcceptedPuzzle = {
      puzzle: outcome.puzzle,
      hash: outcome.hash,
      arm: t.arm,
      solved: outcome.solved,
      answered: outcome.answered,
    };
    state.accepted.push(entry);
    ledger.acceptedHashes.set(outcome.hash, outcome.puzzle.name);
    if (t.variant) state.ladderStats.accepted++;
    ledger.modelFailuresInARow = 0;
  } else {
    state.rejected[outcome.reason] = (state.rejected[outcome.reason] ?? 0) + 1;
    ledger.modelFailuresInARow = outcome.reason === 'model_error' ? ledger.modelFailuresInARow + 1 : 0;
    if (outcome.ladder && state.ladder.length < MAX_LADDER_QUEUE) state.ladder.push(outcome.ladder);
  }
  state.generated++;
  const solveRate = outcome.kind === 'accepted' ? outcome.puzzle.solveRate : outcome.solveRate;
  // Variants answer an earlier ticket's arm; only the curriculum's own draws teach it.
  if (!t.variant) curriculum.update(t.arm, solveRate, outcome.kind === 'accepted');
  state.history.push({
    ticket: t.ticket,
    arm: t.arm,
    accepted: outcome.kind === 'accepted',
    ...(t.variant ? { variant: true } : {}),
    ...(solveRate !== undefined ? { solveRate } : {}),
  });
  if (state.history.length > MAX_HISTORY) state.history.splice(0, state.history.length - MAX_HISTORY);
}
