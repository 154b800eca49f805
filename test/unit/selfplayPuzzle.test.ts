// Self-play puzzles: seed files (P3's train split, broken files) and code extraction from model answers.
// (The validity filters in the real sandbox: test/sandbox/selfplayPuzzleFilters.test.ts.)
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  answerTypeOf,
  bodyUnderHeader,
  loadSeedFile,
  puzzleCodeOf,
  SeedFileError,
  solutionCodeOf,
} from '../../src/core/selfplay/puzzle';
import { P3_TRAIN_FILE, requireData } from '../fixtures/data';

describe('self-play puzzles: files and answers', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crucible-seeds-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads P3's published train split as seeds", async function () {
    requireData(this, P3_TRAIN_FILE);
    const { puzzles, skipped } = await loadSeedFile(P3_TRAIN_FILE);
    assert.equal(puzzles.length + skipped.length, 636);
    assert.ok(puzzles.length >= 630);
    const study = puzzles.find((p) => p.name === 'Study_1:0')!;
    assert.equal(study.ansType, 'str');
    assert.equal(study.solHeader, 'def sol():');
    assert.equal(study.module, 'study.py');
    assert.ok(study.solBodies[0]!.includes("return ('h' + 'o') * 1000"));
  });

  it('reads JSON lines and camelCase puzzles, skipping unusable entries with a reason', async () => {
    const file = join(dir, 'seeds.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({
          name: 'A:0',
          sat: 'def sat(x: int):\n    return x == 4',
          ansType: 'int',
          solHeader: 'def sol():',
          solBodies: ['    return 4'],
        }),
        JSON.stringify({ name: 'B:0', sat: 'return 3' }),
        JSON.stringify({ name: 'C:0', sat: 'def sat(li: List[List[int]], n=3):\n    return len(li) == n' }),
      ].join('\n'),
    );
    const { puzzles, skipped } = await loadSeedFile(file);
    assert.deepEqual(
      puzzles.map((p) => p.name),
      ['A:0', 'C:0'],
    );
    assert.equal(puzzles[1]!.ansType, 'List[List[int]]');
    assert.equal(skipped.length, 1);
    assert.match(skipped[0]!, /entry 2 has no "sat"/);
  });

  it('names the problem and the fix for missing, empty, malformed and useless seed files', async () => {
    await assert.rejects(
      loadSeedFile(join(dir, 'none.json')),
      (e: Error) => e instanceof SeedFileError && /does not exist.*--seeds/.test(e.message),
    );
    writeFileSync(join(dir, 'empty.json'), '  \n');
    await assert.rejects(loadSeedFile(join(dir, 'empty.json')), /is empty/);
    writeFileSync(join(dir, 'broken.json'), '[{"sat": ');
    await assert.rejects(loadSeedFile(join(dir, 'broken.json')), /not valid JSON/);
    writeFileSync(join(dir, 'lines.jsonl'), '{"sat": "def sat(x: int):\\n    return x == 1"}\n{oops\n');
    await assert.rejects(loadSeedFile(join(dir, 'lines.jsonl')), /line 2: not valid JSON/);
    writeFileSync(join(dir, 'useless.json'), '[{"name": "x"}, 3]');
    await assert.rejects(loadSeedFile(join(dir, 'useless.json')), /no usable P3 puzzle/);
    await assert.rejects(loadSeedFile(dir), /is a folder/);
  });

  it('pulls puzzle code out of model answers: split blocks, untagged fences, reasoning, bare code, no code', () => {
    const split =
      'Puzzle:\n```python\ndef sat(x: int):\n    return x == 3\n```\nSolver:\n```py\ndef sol():\n    return 3\n```\nOutput:\n```text\n3\n```';
    assert.equal(puzzleCodeOf(split), 'def sat(x: int):\n    return x == 3\n\ndef sol():\n    return 3');
    assert.equal(
      puzzleCodeOf('```\n  def sat(s: str):\n      return s == "a"\n```'),
      'def sat(s: str):\n    return s == "a"',
    );
    assert.equal(puzzleCodeOf('Sure.\ndef sat(x: int):\n    return x > 5'), 'def sat(x: int):\n    return x > 5');
    assert.equal(puzzleCodeOf('I cannot help with that.'), undefined);
    assert.equal(puzzleCodeOf('```python\nprint("hi")\n```'), undefined);
    assert.equal(
      solutionCodeOf('```python\ndef sol():\n    return 1\n```\nbetter:\n```python\ndef sol():\n    return 2\n```'),
      'def sol():\n    return 2',
    );
    assert.equal(answerTypeOf('def sat(li: List[List[int]], n=3):'), 'List[List[int]]');
    assert.equal(answerTypeOf('def sat(x, n=3):'), undefined);
  });

  it('keeps a solution with its own parameters runnable under the stored header', () => {
    const body = bodyUnderHeader('def sol(m=4):\n    return m * 2');
    assert.equal(body, '    def sol(m=4):\n        return m * 2\n    return sol()');
  });
});
