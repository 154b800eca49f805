// Puzzles written before the rename Puzzle.difficulty → solveRate (datasets and self-play checkpoints) still
// read with their solve rate.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { upgradePuzzle } from '../../src/core/dataset/p3';
import { parseLine } from '../../src/core/dataset/store';
import { STATE_VERSION, readState } from '../../src/core/selfplay/state';
import type { Puzzle } from '../../src/core/types';

const OLD = {
  name: 'P:0',
  sat: 'def sat(x: int):\n    return x == 3',
  ansType: 'int',
  solHeader: 'def sol():',
  solBodies: ['    return 3'],
  difficulty: 0.25,
};

describe('puzzles written before solveRate', () => {
  it('upgradePuzzle moves a legacy difficulty to solveRate and leaves new puzzles alone', () => {
    const up = upgradePuzzle(OLD as unknown as Puzzle);
    assert.equal(up.solveRate, 0.25);
    assert.ok(!('difficulty' in up));
    const fresh: Puzzle = { ...(up as Puzzle), solveRate: 0.5 };
    assert.equal(upgradePuzzle(fresh), fresh);
    assert.equal(upgradePuzzle(undefined), undefined);
  });

  it('a dataset line with a legacy puzzle reads with its solve rate; the Record keeps its own difficulty', () => {
    const line = JSON.stringify({
      schema: 1,
      id: 'r',
      hash: 'h',
      createdAt: '2026-01-01T00:00:00Z',
      task: { id: 't', language: 'python', prompt: 'p' },
      verified: true,
      verifiedByGeneratedTests: false,
      attempts: [],
      puzzle: OLD,
      usage: { promptTokens: 0, completionTokens: 0, durationMs: 0 },
      durationMs: 0,
      extensionVersion: 'old',
      difficulty: 0.75,
    });
    const { record, problem } = parseLine({ line: 1, text: line, complete: true, end: line.length });
    assert.equal(problem, undefined);
    assert.equal(record?.puzzle?.solveRate, 0.25);
    assert.equal(record?.difficulty, 0.75);
  });

  it('a self-play checkpoint with legacy puzzles resumes with their solve rates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crucible-legacy-'));
    try {
      const path = join(dir, 'state.json');
      writeFileSync(
        path,
        JSON.stringify({
          version: STATE_VERSION,
          runId: 'r',
          generated: 1,
          accepted: [{ puzzle: OLD, hash: 'h', arm: 'a', solved: 1, answered: 4 }],
          ladder: [{ parent: OLD, arm: 'a', depth: 1 }],
        }),
      );
      const state = await readState(path);
      assert.equal(state?.accepted[0]?.puzzle.solveRate, 0.25);
      assert.equal(state?.ladder[0]?.parent.solveRate, 0.25);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
