// Deduction and abduction tasks (Absolute Zero's task types) from a user's own function: built in the real
// sandbox, judged by the real verifier, stored in a real dataset and exported as P3 with `kind` in `notes`.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProcessSandbox } from '../../src/core/sandbox/processSandbox';
import type { Sandbox } from '../../src/core/sandbox/types';
import { createVerifier } from '../../src/core/verify/verifier';
import { openDataset } from '../../src/core/dataset/store';
import { recordFromOutcome, recordFromPuzzle } from '../../src/core/dataset/record';
import { exportDataset } from '../../src/core/dataset/export';
import { DEFAULT_ALLOWED_IMPORTS } from '../../src/core/selfplay/probe';
import { reasoningPuzzles, reasoningSourcesFromRecords } from '../../src/core/selfplay/reasoning';
import { solutionSource } from '../../src/core/selfplay/puzzle';
import type { Outcome, DatasetRecord } from '../../src/core/types';

const RUNNING_MAX = `def running_max(values):
    out = []
    best = None
    for v in values:
        best = v if best is None or v > best else best
        out.append(best)
    return out`;
const limits = { satTimeoutMs: 500, solTimeoutMs: 3000, allowedImports: DEFAULT_ALLOWED_IMPORTS };

describe('self-play reasoning tasks: deduction and abduction (real sandbox)', function () {
  this.timeout(60_000);
  let sandbox: Sandbox;
  let dir: string;
  before(() => {
    sandbox = createProcessSandbox({ workers: 2 });
    dir = mkdtempSync(join(tmpdir(), 'crucible-reasoning-'));
  });
  after(async () => {
    await sandbox.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds verified deduction and abduction puzzles from a verified function in the dataset and exports them P3-style', async () => {
    const verifier = createVerifier(sandbox);
    // A verified solve of the user's own function, as the dataset holds it.
    const outcome = {
      task: {
        id: 'sample.py::running_max',
        language: 'python',
        prompt: 'def running_max(values):\n    """Running maximum."""\n',
        entryPoint: 'running_max',
        tests:
          'assert running_max([1, 3, 2, 5, 4]) == [1, 3, 3, 5, 5]\nassert running_max([-2, -5, -1]) == [-2, -2, -1]\nassert running_max(open("x")) == []',
        testsOrigin: 'user',
        origin: 'user',
      },
      verified: true,
      verifiedByGeneratedTests: false,
      best: {
        candidate: { id: 'r0c0', code: RUNNING_MAX, language: 'python', round: 0 },
        verdict: {
          status: 'passed',
          passed: true,
          testsPassed: 3,
          testsTotal: 3,
          durationMs: 1,
          feedback: '',
          failures: [],
        },
      },
      attempts: [],
      rounds: 1,
      stopReason: 'verified',
      usage: { promptTokens: 0, completionTokens: 0, durationMs: 0 },
      durationMs: 1,
      notes: [],
    } as unknown as Outcome;
    outcome.attempts = [outcome.best!];
    const sources = reasoningSourcesFromRecords([recordFromOutcome(outcome, { extensionVersion: 'test' })]);
    assert.equal(sources.length, 1);
    assert.deepEqual(sources[0]!.calls, [
      'running_max([1, 3, 2, 5, 4])',
      'running_max([-2, -5, -1])',
      'running_max(open("x"))',
    ]);

    const { puzzles, skipped } = await reasoningPuzzles(
      { sandbox, verifier },
      sources[0]!,
      ['deduction', 'abduction'],
      limits,
    );
    assert.deepEqual(
      puzzles.map((p) => p.kind),
      ['deduction', 'abduction', 'deduction', 'abduction'],
    );
    assert.ok(
      skipped.some((s) => /open\("x"\)\): arguments are not literals/.test(s)),
      skipped.join(' | '),
    );
    const deduction = puzzles[0]!;
    assert.equal(deduction.ansType, 'List[int]');
    assert.match(deduction.sat, /^def sat\(answer: List\[int\]\):/);
    assert.match(deduction.sat, /return running_max\(\[1, 3, 2, 5, 4\]\) == answer$/);
    assert.equal(solutionSource(deduction), 'def sol():\n    return [1, 3, 3, 5, 5]\n');
    const abduction = puzzles[1]!;
    assert.match(abduction.sat, /^def sat\(x: List\[int\]\):/);
    assert.match(abduction.sat, /return running_max\(x\) == \[1, 3, 3, 5, 5\]$/);
    // Each is a real puzzle: a wrong answer fails it, another right input solves the abduction.
    assert.equal((await verifier.judgePuzzle(deduction, 'def sol():\n    return [1, 3, 2, 5, 4]')).passed, false);
    assert.equal((await verifier.judgePuzzle(abduction, 'def sol():\n    return [1, 3, 3, 5, 5]')).passed, true);

    const store = await openDataset(join(dir, 'ds'));
    for (const p of puzzles) await store.append(recordFromPuzzle(p, { extensionVersion: 'test', verified: true }));
    const out = join(dir, 'p3.json');
    await exportDataset(join(dir, 'ds'), { format: 'p3', out, readme: false });
    const entries = JSON.parse(readFileSync(out, 'utf8')) as {
      name: string;
      notes: string;
      sat: string;
      sol_bodies: string[];
    }[];
    assert.equal(entries.length, 4);
    const kinds = entries.map((e) => (JSON.parse(e.notes) as { kind: string }).kind).sort();
    assert.deepEqual(kinds, ['abduction', 'abduction', 'deduction', 'deduction']);
    assert.ok(entries.every((e) => e.sol_bodies.length === 1 && e.sat.startsWith('def sat(')));
    const records: DatasetRecord[] = [];
    for await (const r of store.read()) records.push(r);
    assert.ok(records.every((r) => r.task.origin === 'self-play' && r.verified));
  });
});
