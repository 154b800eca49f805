// The editor's plain-text messages and dataset browsing: pure helpers of src/vscode that need no editor.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEditor } from '../../src/vscode/messages';
import { deleteRecords, listRecords } from '../../src/vscode/datasetRecords';
import { recordFromOutcome } from '../../src/core/dataset/record';
import { LOCK_FILE, openDataset, readRecords } from '../../src/core/dataset/store';
import type { DatasetProblem } from '../../src/core/dataset/store';
import type { DatasetRecord } from '../../src/core/types';
import { easyOutcome, failedOutcome } from '../fixtures/dataset/build';

describe('editor messages', () => {
  it('drops CLI hints and Markdown backticks, which show literally in notifications', () => {
    const text = forEditor(
      'Cannot reach Ollama at http://127.0.0.1:1 (ECONNREFUSED). Start it with `ollama serve` or set crucible.ollama.host (CLI: --host or OLLAMA_HOST).',
    );
    assert.equal(
      text,
      "Cannot reach Ollama at http://127.0.0.1:1 (ECONNREFUSED). Start it with 'ollama serve' or set crucible.ollama.host.",
    );
  });

  it('names a host-name typo as a typo, not as a server to start', () => {
    const text = forEditor(
      'Cannot reach Ollama at http://olama:11434 (ENOTFOUND). Start it with `ollama serve` or set crucible.ollama.host (CLI: --host or OLLAMA_HOST).',
    );
    assert.match(text, /host name does not resolve: check crucible\.ollama\.host for a typo/);
    assert.doesNotMatch(text, /ollama serve/);
  });
});

describe('dataset records in the editor (browse and delete)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crucible-records-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function all(): Promise<{ records: DatasetRecord[]; problems: DatasetProblem[] }> {
    const records: DatasetRecord[] = [];
    const problems: DatasetProblem[] = [];
    for await (const r of readRecords(dir, (p) => problems.push(p))) records.push(r);
    return { records, problems };
  }

  it('lists the newest first and deletes one record; the store keeps appending cleanly afterwards', async () => {
    const store = await openDataset(dir);
    const meta = { extensionVersion: 'test' };
    for (const id of ['a', 'b', 'c']) await store.append(recordFromOutcome(easyOutcome(id), meta));
    await store.append(recordFromOutcome(failedOutcome('d'), meta));
    const { rows, total } = await listRecords(dir);
    assert.equal(total, 4);
    assert.deepEqual(
      rows.map((r) => r.verified),
      [false, true, true, true],
    );
    const victim = rows[2]!;
    assert.equal(await deleteRecords(dir, [victim.id]), 1);
    let now = await all();
    assert.deepEqual(now.records.map((r) => r.id).includes(victim.id), false);
    assert.equal(now.records.length, 3);
    // The same store instance (which indexed the longer file) appends after the delete without a torn line.
    await store.append(recordFromOutcome(easyOutcome('e'), meta));
    await store.append(recordFromOutcome(easyOutcome('f'), meta));
    now = await all();
    assert.equal(now.records.length, 5);
    assert.deepEqual(now.problems, []);
    assert.equal(await deleteRecords(dir, ['no-such-id']), 0);
  });

  it('waits for a writer holding the lock, and gives up with a clear message', async () => {
    const store = await openDataset(dir);
    await store.append(recordFromOutcome(easyOutcome('a'), { extensionVersion: 'test' }));
    writeFileSync(join(dir, LOCK_FILE), 'someone else');
    const id = (await listRecords(dir)).rows[0]!.id;
    await assert.rejects(deleteRecords(dir, [id], 300), /dataset is busy/);
    rmSync(join(dir, LOCK_FILE));
    assert.equal(await deleteRecords(dir, [id]), 1);
  });
});
