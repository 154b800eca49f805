import { strict as assert } from 'node:assert';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetStats, formatStats } from '../../src/core/dataset/stats';
import { DATA_FILE } from '../../src/core/dataset/store';
import { fixtureItems, writeFixtureDataset } from '../fixtures/dataset/build';

describe('dataset stats', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crucible-stats-'));
    await writeFixtureDataset(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('counts Records, verification, origins, languages and tasks from the fixture', async () => {
    const items = fixtureItems();
    const outcomes = items.flatMap((i) => (i.outcome ? [i.outcome] : []));
    const puzzles = items.filter((i) => i.puzzle).length;
    const s = await datasetStats(dir);
    // One fixture item is a duplicate of another and was dropped by the store.
    assert.equal(s.records, items.length - 1);
    const verifiedOutcomes = outcomes.filter((o) => o.verified).length;
    assert.equal(s.verified, verifiedOutcomes + puzzles);
    assert.equal(s.unverified, s.records - s.verified);
    assert.equal(s.verifiedByGeneratedTests, outcomes.filter((o) => o.verifiedByGeneratedTests).length);
    assert.equal(s.byOrigin['self-play'], puzzles);
    assert.equal(s.byLanguage.javascript, 1);
    assert.equal(s.byLanguage.typescript, 1);
    assert.equal(s.verifiedByTestsOrigin.generated, 1);
    assert.equal(s.verifiedByTestsOrigin.puzzle, puzzles);
    assert.equal(s.verifiedByTestsOrigin.user, s.verified - 1 - puzzles);
    const distinctTasks = new Set(items.map((i) => (i.outcome ? i.outcome.task.id : i.puzzle!.name))).size;
    assert.equal(s.tasks, distinctTasks);
    assert.equal(s.byModel['qwen2.5-coder:7b'], s.records);
  });

  it('pass@1 before vs after refinement, attempts to fix, diversity, difficulty, days, tokens', async () => {
    const s = await datasetStats(dir);
    const outcomes = fixtureItems().flatMap((i) => (i.outcome ? [i.outcome] : []));
    const unique = outcomes.filter(
      (o, i) => !(o.task.id === 'hard0' && outcomes.findIndex((x) => x.task.id === 'hard0') !== i),
    );
    const firstPassed = unique.filter((o) => o.attempts[0]!.verdict.passed).length;
    const verified = unique.filter((o) => o.verified).length;
    assert.equal(s.passAt1.solves, unique.length);
    assert.ok(Math.abs(s.passAt1.before - firstPassed / unique.length) < 1e-9);
    assert.ok(Math.abs(s.passAt1.after - verified / unique.length) < 1e-9);
    assert.ok(s.passAt1.after > s.passAt1.before);
    // refinedOutcome fixes on the third attempt in round 1.
    assert.equal(
      s.attemptsToFix['3'],
      unique.filter((o) => o.verified && o.attempts.findIndex((a) => a.verdict.passed) === 2).length,
    );
    assert.equal(s.roundsToFix['1'], unique.filter((o) => o.verified && o.best!.candidate.round === 1).length);
    // double0 has two distinct verified solutions.
    assert.equal(s.solutionsPerTask['2'], 1);
    assert.ok(s.meanSolutionsPerTask > 1);
    assert.equal(
      Object.values(s.difficulty).reduce((a, b) => a + b, 0),
      s.records,
    );
    // Difficulty 1.0 (every first sample failed) has its own bin; it does not join 0.9.
    assert.ok((s.difficulty['1.0'] ?? 0) > 0 && (s.difficulty['0.0'] ?? 0) > 0);
    assert.equal(
      s.overTime.reduce((n, d) => n + d.verified + d.unverified, 0),
      s.records,
    );
    assert.deepEqual(
      s.overTime.map((d) => d.day),
      [...s.overTime.map((d) => d.day)].sort(),
    );
    // Consecutive days, gaps filled with zeroes (the fixture has no record on 2026-11-20).
    for (let i = 1; i < s.overTime.length; i++)
      assert.equal(Date.parse(s.overTime[i]!.day) - Date.parse(s.overTime[i - 1]!.day), 86_400_000);
    assert.deepEqual(
      s.overTime.find((d) => d.day === '2026-11-20'),
      { day: '2026-11-20', verified: 0, unverified: 0 },
    );
    assert.ok(s.tokens.completion > 0 && s.tokens.prompt > s.tokens.completion);
    const text = formatStats(s, dir);
    assert.match(text, new RegExp(`records\\s+${s.records} \\(verified ${s.verified}`));
    assert.match(text, /pass@1\s+\d+\.\d% first attempt → \d+\.\d% after refinement/);
  });

  it('reports corrupt lines instead of failing', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'crucible-stats-bad-'));
    try {
      appendFileSync(join(copy, DATA_FILE), '{"schema":1,"id":"x"}\nnot json at all\n');
      const s = await datasetStats(copy);
      assert.equal(s.records, 0);
      assert.deepEqual(
        s.problems.map((p) => p.line),
        [1, 2],
      );
      assert.match(formatStats(s, copy), /2 line\(s\) skipped:\n\s+line 1: not a Crucible record/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
