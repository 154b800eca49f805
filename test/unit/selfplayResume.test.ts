// Self-play resume planning: what the loop, the CLI and VS Code do about a saved run, and the state a
// resumed or new run starts from. Files only; no model or sandbox.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFinished, planResume, plannedCount, startState } from '../../src/core/selfplay/resume';
import { STATE_VERSION, StateFileError, writeState, type SelfPlayState } from '../../src/core/selfplay/state';
import { SelfPlayError } from '../../src/core/selfplay/types';

function saved(over: Partial<SelfPlayState> = {}): SelfPlayState {
  const s = startState(undefined, { count: 5, samples: 2, seedCount: 10, seed: 1 }, () => 0);
  return { ...s, runId: 'cafe0001', generated: 12, accepted: [], ...over };
}

describe('self-play resume: planResume', () => {
  let dir: string;
  let statePath: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crucible-resume-'));
    statePath = join(dir, 'state.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts new when nothing is saved, and refuses to resume nothing or without a state file', async () => {
    assert.deepEqual(await planResume(statePath, 'new'), { kind: 'new' });
    assert.deepEqual(await planResume(statePath, 'ask'), { kind: 'new' });
    assert.deepEqual(await planResume(undefined, 'new'), { kind: 'new' });
    assert.deepEqual(await planResume(undefined, 'ask'), { kind: 'new' });
    await assert.rejects(
      planResume(statePath, 'resume'),
      (err: Error) => err instanceof SelfPlayError && /Nothing to resume.*Run without --resume/.test(err.message),
    );
    await assert.rejects(
      planResume(undefined, 'resume'),
      (err: Error) => err instanceof SelfPlayError && /needs a state file/.test(err.message),
    );
  });

  it('resumes a saved run, and never lets a new run overwrite it', async () => {
    await writeState(statePath, saved());
    const plan = await planResume(statePath, 'resume');
    assert.equal(plan.kind, 'resume');
    assert.ok(plan.kind === 'resume' && plan.saved.runId === 'cafe0001');
    await assert.rejects(
      planResume(statePath, 'new'),
      (err: Error) => err instanceof SelfPlayError && /already saved .*\(0 accepted\).*--resume/.test(err.message),
    );
    assert.ok(existsSync(statePath), 'planning never deletes the checkpoint');
  });

  it('offers an unfinished run and marks a finished one (target met or budget used) for the person to start anew', async () => {
    await writeState(statePath, saved({ generated: 3 }));
    assert.equal((await planResume(statePath, 'ask')).kind, 'offer');
    await writeState(
      statePath,
      saved({
        target: 1,
        accepted: [
          {
            puzzle: { name: 'p', sat: '', ansType: 'int', solHeader: '', solBodies: [] },
            hash: 'h',
            arm: 'a/easy',
            solved: 1,
            answered: 1,
          },
        ],
      }),
    );
    assert.equal((await planResume(statePath, 'ask')).kind, 'finished');
    await writeState(statePath, saved({ generated: 50, maxGenerations: 50 }));
    const plan = await planResume(statePath, 'ask');
    assert.equal(plan.kind, 'finished');
    assert.ok(existsSync(statePath), 'planning leaves discarding to the front end');
  });

  it('throws StateFileError naming the fix for a corrupt or foreign checkpoint, whatever the mode', async () => {
    writeFileSync(statePath, '{"version": 1, "accep');
    for (const mode of ['resume', 'new', 'ask'] as const) {
      await assert.rejects(
        planResume(statePath, mode),
        (err: Error) => err instanceof StateFileError && /not valid JSON.*Delete it/.test(err.message),
        mode,
      );
    }
    writeFileSync(statePath, JSON.stringify({ version: STATE_VERSION + 1, runId: 'x', generated: 0, accepted: [] }));
    await assert.rejects(planResume(statePath, 'ask'), StateFileError);
  });
});

describe('self-play resume: counts and start state', () => {
  it('isFinished: target met or budget used', () => {
    assert.equal(isFinished(saved({ generated: 3 })), false);
    assert.equal(isFinished(saved({ generated: 50, maxGenerations: 50 })), true);
    assert.equal(isFinished(saved({ target: 0 })), true);
  });

  it("plannedCount keeps a resumed run's target and gives a new run the fallback", () => {
    assert.equal(plannedCount({ kind: 'resume', saved: saved({ target: 7 }) }, 10), 7);
    assert.equal(plannedCount({ kind: 'new' }, 10), 10);
    assert.equal(plannedCount({ kind: 'offer', saved: saved({ target: 7 }) }, 20), 20);
  });

  it('a new run gets a fresh state with a 10 × count budget and the given seed', () => {
    const s = startState(undefined, { count: 4, samples: 3, seedCount: 9, seed: 42 }, () => Date.UTC(2026, 0, 2));
    assert.equal(s.version, STATE_VERSION);
    assert.match(s.runId, /^[0-9a-f]{8}$/);
    assert.equal(s.createdAt, '2026-01-02T00:00:00.000Z');
    assert.deepEqual(
      [s.target, s.samples, s.seedCount, s.maxGenerations, s.rng, s.generated, s.nextTicket],
      [4, 3, 9, 40, 42, 0, 0],
    );
    assert.equal(
      startState(undefined, { count: 4, samples: 1, seedCount: 1, maxGenerations: 7 }, Date.now).maxGenerations,
      7,
    );
    const a = startState(undefined, { count: 1, samples: 1, seedCount: 1 }, Date.now);
    assert.ok(Number.isInteger(a.rng) && a.rng >= 0 && a.rng < 2 ** 32);
  });

  it('a resumed run takes the new target and grows its budget by 10 per puzzle added', () => {
    const before = saved({ target: 5, maxGenerations: 50, generated: 20 });
    const raised = startState(before, { count: 8, samples: 9, seedCount: 1 }, Date.now);
    assert.equal(raised, before, 'the saved state itself carries on');
    assert.deepEqual([raised.target, raised.maxGenerations, raised.samples, raised.generated], [8, 80, 2, 20]);
    const lowered = startState(
      saved({ target: 5, maxGenerations: 50 }),
      { count: 3, samples: 1, seedCount: 1 },
      Date.now,
    );
    assert.deepEqual([lowered.target, lowered.maxGenerations], [3, 50]);
    const told = startState(
      saved({ target: 5, maxGenerations: 50 }),
      { count: 8, samples: 1, seedCount: 1, maxGenerations: 60 },
      Date.now,
    );
    assert.equal(told.maxGenerations, 60);
  });
});
