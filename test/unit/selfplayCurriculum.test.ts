// The self-play curriculum: the reward (learning signal of a solve rate), the bands, the non-stationary
// bandit's update and choice rule, example selection and the trajectory report.
import { strict as assert } from 'node:assert';
import {
  Curriculum,
  Rng,
  armKey,
  bandOf,
  curriculumWindows,
  pickExamples,
  rewardOf,
  type HistoryEntry,
} from '../../src/core/selfplay/curriculum';
import { shippedSeeds } from '../../src/core/selfplay/seeds';
import { familyOf, topicOf } from '../../src/core/selfplay/puzzle';
import type { Puzzle } from '../../src/core/types';

describe('self-play curriculum', () => {
  it('rewards intermediate solve rates: 1 at one half, 0 when always or never solved or rejected', () => {
    assert.equal(rewardOf(0.5), 1);
    assert.equal(rewardOf(0), 0);
    assert.equal(rewardOf(1), 0);
    assert.equal(rewardOf(undefined), 0);
    assert.equal(rewardOf(0.25), 0.75);
    assert.ok(rewardOf(0.75) > rewardOf(0.9) && rewardOf(0.9) > rewardOf(1));
  });

  it('bands by solve rate: easy when always solved, hard at one quarter or less, medium between', () => {
    assert.equal(bandOf(1), 'easy');
    assert.equal(bandOf(0.75), 'medium');
    assert.equal(bandOf(0.5), 'medium');
    assert.equal(bandOf(0.25), 'hard');
    assert.equal(bandOf(0), 'hard');
  });

  it('updates an arm with a constant step, Q ← Q + α(r − Q), so it tracks a changing reward', () => {
    const c = new Curriculum(['strings'], undefined, { alpha: 0.5, initialQ: 0.5 });
    const key = armKey('strings', 'medium');
    c.update(key, 0.5, true); // r = 1
    assert.equal(c.q(key), 0.75);
    c.update(key, 1, true); // r = 0: always solved, no signal
    assert.equal(c.q(key), 0.375);
    c.update(key, undefined, false); // rejected
    assert.equal(c.q(key), 0.1875);
    // Non-stationary: after the arm turns useful again its value recovers within a few pulls.
    for (let i = 0; i < 6; i++) c.update(key, 0.5, true);
    assert.ok(c.q(key)! > 0.95, String(c.q(key)));
    const report = c.report().find((a) => a.arm === key)!;
    assert.equal(report.pulls, 9);
    assert.equal(report.accepted, 8);
  });

  it('draws arms with a learning signal far more often than arms without (softmax over Q)', () => {
    const c = new Curriculum(['a', 'b'], undefined, { alpha: 1, temperature: 0.15 });
    for (const band of ['easy', 'medium', 'hard'] as const) {
      c.update(armKey('a', band), 0, true); // never solved: Q 0
      c.update(armKey('b', band), 1, true); // always solved: Q 0
    }
    c.update(armKey('b', 'medium'), 0.5, true); // Q 1
    const rng = new Rng(42);
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const k = c.choose(rng);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const best = counts.get(armKey('b', 'medium')) ?? 0;
    assert.ok(best > 1900, `b/medium drawn ${best} of 2000`);
    // Every arm stays possible (exploration) in principle; with equal Q the draw is uniform.
    const flat = new Curriculum(['x', 'y']);
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) seen.add(flat.choose(rng));
    assert.equal(seen.size, 6);
  });

  it('survives a checkpoint: a curriculum rebuilt from its snapshot keeps every value', () => {
    const c = new Curriculum(['a']);
    c.update(armKey('a', 'hard'), 0.25, true);
    const copy = new Curriculum(['a'], JSON.parse(JSON.stringify(c.snapshot())));
    assert.deepEqual(copy.report(), c.report());
  });

  it('picks diverse examples: topic first, no two of one P3 family, accepted puzzles of the band first', () => {
    const seeds: Puzzle[] = [
      ...[0, 1, 2].map((i) => ({
        name: `Sum:${i}`,
        sat: `def sat(x: int, n=${i}):\n    return x == n`,
        ansType: 'int',
        solHeader: 'def sol():',
        solBodies: ['    return 0'],
        module: 'numbers.py',
      })),
      {
        name: 'Other:0',
        sat: 'def sat(x: int):\n    return x == 9',
        ansType: 'int',
        solHeader: 'def sol():',
        solBodies: ['    return 9'],
        module: 'numbers.py',
      },
      ...shippedSeeds(),
    ];
    const accepted: Puzzle = {
      name: 'SelfPlay_1_3:0',
      sat: 'def sat(x: int):\n    return x == 77',
      ansType: 'int',
      solHeader: 'def sol():',
      solBodies: ['    return 77'],
      module: 'numbers',
      solveRate: 0.5,
    };
    const rng = new Rng(1);
    for (let i = 0; i < 20; i++) {
      const picked = pickExamples(rng, 'numbers', 'medium', seeds, [accepted], 3);
      assert.equal(picked.length, 3);
      assert.equal(new Set(picked.map((p) => familyOf(p.name))).size, 3, 'one example per family');
      assert.equal(picked[0]!.name, accepted.name, 'an accepted puzzle of the band comes first');
      assert.ok(picked.every((p) => topicOf(p) === 'numbers'));
    }
    const hard = pickExamples(rng, 'numbers', 'hard', seeds, [accepted], 3);
    assert.ok(!hard.some((p) => p.name === accepted.name), 'a medium puzzle is not an example for the hard band');
  });

  it('reports where the curriculum went, window by window', () => {
    const history: HistoryEntry[] = [];
    for (let t = 0; t < 20; t++) {
      history.push({
        ticket: t,
        arm: armKey(t < 10 ? 'strings' : 'graphs', t < 10 ? 'easy' : 'hard'),
        accepted: t % 2 === 0,
        solveRate: t < 10 ? 1 : 0.25,
      });
    }
    history.push({ ticket: 20, arm: armKey('graphs', 'hard'), variant: true, accepted: false });
    const windows = curriculumWindows(history, 3);
    assert.equal(windows.length, 3);
    assert.deepEqual(windows[0]!.bands, { easy: 7, medium: 0, hard: 0 });
    assert.equal(windows[0]!.topTopic, 'strings');
    assert.equal(windows[0]!.meanSolveRate, 1);
    assert.equal(windows[2]!.topTopic, 'graphs');
    assert.equal(windows[2]!.variants, 1);
    assert.equal(windows[2]!.meanSolveRate, 0.25);
  });
});
