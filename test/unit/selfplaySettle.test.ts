// What a settled self-play ticket does to the run's books, and the run report built from them.
import { strict as assert } from 'node:assert';
import { Curriculum } from '../../src/core/selfplay/curriculum';
import { buildReport } from '../../src/core/selfplay/report';
import { startState } from '../../src/core/selfplay/resume';
import { MAX_HISTORY, MAX_LADDER_QUEUE, settle, type Ledger } from '../../src/core/selfplay/settle';
import type { Accepted, Rejected } from '../../src/core/selfplay/ticket';
import type { Puzzle } from '../../src/core/types';

const PUZZLE: Puzzle = {
  name: 'SelfPlay_r_1:0',
  sat: 'def sat(x: int):\n    return x == 3',
  ansType: 'int',
  solHeader: 'def sol():',
  solBodies: ['    return 3'],
  solveRate: 0.5,
};

function ledger(): Ledger {
  const state = startState(undefined, { count: 3, samples: 2, seedCount: 1, seed: 1 }, () => 0);
  return {
    state,
    curriculum: new Curriculum(['numbers'], state.curriculum),
    acceptedHashes: new Map(),
    modelFailuresInARow: 2,
  };
}

function accepted(over: Partial<Accepted> = {}): Accepted {
  return {
    kind: 'accepted',
    puzzle: PUZZLE,
    hash: 'h1',
    solved: 1,
    answered: 2,
    attempts: [],
    usage: { promptTokens: 0, completionTokens: 0, durationMs: 0 },
    durationMs: 5,
    ...over,
  };
}

describe('self-play settle', () => {
  it('an accepted puzzle joins the archive and the hash index, teaches the curriculum and resets the failure streak', () => {
    const l = ledger();
    settle(l, { ticket: 4, arm: 'numbers/medium' }, accepted());
    assert.deepEqual(l.state.accepted, [{ puzzle: PUZZLE, hash: 'h1', arm: 'numbers/medium', solved: 1, answered: 2 }]);
    assert.equal(l.acceptedHashes.get('h1'), PUZZLE.name);
    assert.equal(l.modelFailuresInARow, 0);
    assert.equal(l.state.generated, 1);
    assert.deepEqual(l.state.history, [{ ticket: 4, arm: 'numbers/medium', accepted: true, solveRate: 0.5 }]);
    const arm = l.curriculum.report().find((a) => a.arm === 'numbers/medium')!;
    assert.deepEqual([arm.pulls, arm.accepted, arm.meanSolveRate], [1, 1, 0.5]);
    assert.equal(arm.q, 0.65, 'Q moved toward the reward 4·½·½ = 1 by α = 0.3');
  });

  it('a rejection is counted under its reason, model errors extend the streak, unsolved puzzles queue a variant while there is room', () => {
    const l = ledger();
    const modelError: Rejected = { kind: 'rejected', reason: 'model_error', detail: 'HTTP 500' };
    settle(l, { ticket: 0, arm: 'numbers/easy' }, modelError);
    assert.equal(l.modelFailuresInARow, 3);
    const ladder = { parent: PUZZLE, arm: 'numbers/hard', depth: 1 };
    for (let i = 0; i < MAX_LADDER_QUEUE + 2; i++)
      settle(
        l,
        { ticket: i + 1, arm: 'numbers/hard' },
        { kind: 'rejected', reason: 'unsolved', detail: '0 of 2', solveRate: 0, ladder },
      );
    assert.equal(l.modelFailuresInARow, 0);
    assert.equal(l.state.ladder.length, MAX_LADDER_QUEUE);
    assert.deepEqual(l.state.rejected, { model_error: 1, unsolved: MAX_LADDER_QUEUE + 2 });
    assert.equal(l.state.generated, MAX_LADDER_QUEUE + 3);
    assert.deepEqual(l.state.accepted, []);
  });

  it('a variant is counted for the ladder and in the history, but does not teach the curriculum', () => {
    const l = ledger();
    const variant = { parent: PUZZLE, arm: 'numbers/hard', depth: 1 };
    settle(l, { ticket: 7, arm: 'numbers/hard', variant }, accepted());
    assert.equal(l.state.ladderStats.accepted, 1);
    assert.deepEqual(l.state.history, [
      { ticket: 7, arm: 'numbers/hard', accepted: true, variant: true, solveRate: 0.5 },
    ]);
    assert.equal(l.curriculum.report().find((a) => a.arm === 'numbers/hard')!.pulls, 0);
  });

  it('keeps at most MAX_HISTORY history entries, dropping the oldest', () => {
    const l = ledger();
    for (let i = 0; i < MAX_HISTORY + 3; i++)
      settle(l, { ticket: i, arm: 'numbers/easy' }, { kind: 'rejected', reason: 'no_code', detail: '' });
    assert.equal(l.state.history.length, MAX_HISTORY);
    assert.equal(l.state.history[0]!.ticket, 3);
  });
});

describe('self-play buildReport', () => {
  it("reports every reason, solve rates by tenths, the arms that were pulled and this session's throughput", () => {
    const l = ledger();
    settle(l, { ticket: 0, arm: 'numbers/medium' }, accepted());
    settle(
      l,
      { ticket: 1, arm: 'numbers/medium' },
      accepted({ hash: 'h2', puzzle: { ...PUZZLE, name: 'b', solveRate: 0.54 } }),
    );
    settle(l, { ticket: 2, arm: 'numbers/easy' }, { kind: 'rejected', reason: 'slow', detail: '' });
    const report = buildReport(l.state, l.curriculum.report(), {
      stopReason: 'budget',
      durationMs: 2000,
      generatedBefore: 1,
      resumed: true,
      statePath: '/tmp/s.json',
    });
    assert.equal(report.stopReason, 'budget');
    assert.deepEqual([report.accepted, report.generated, report.target], [2, 3, 3]);
    assert.equal(report.rejected.slow, 1);
    assert.equal(report.rejected.model_error, 0);
    assert.equal(Object.keys(report.rejected).length, 12);
    assert.deepEqual(report.solveRates, { '0.5': 2 });
    assert.deepEqual(report.curriculum.arms.map((a) => a.arm).sort(), ['numbers/easy', 'numbers/medium']);
    assert.equal(report.puzzlesPerSecond, 1, '2 puzzles settled in this session in 2 s');
    assert.equal(report.resumed, true);
    assert.equal(report.statePath, '/tmp/s.json');
    assert.equal(report.error, undefined);
    const failed = buildReport(l.state, [], {
      stopReason: 'count',
      error: new Error('disk full'),
      durationMs: 0,
      generatedBefore: 0,
      resumed: false,
    });
    assert.deepEqual(
      [failed.stopReason, failed.error, failed.puzzlesPerSecond, 'statePath' in failed],
      ['error', 'disk full', 0, false],
    );
  });
});
