// The dataset store with writers in other processes (test/fixtures/dataset/writer.ts, bundled once): three at
// once, and writers killed at random instants or mid-line. (The store in one process: test/unit/datasetStore.)
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { recordFromOutcome } from '../../src/core/dataset/record';
import { DATA_FILE, LOCK_FILE, openDataset, readRecords } from '../../src/core/dataset/store';
import type { DatasetProblem } from '../../src/core/dataset/store';
import type { DatasetRecord } from '../../src/core/types';
import { failedOutcome } from '../fixtures/dataset/build';

const meta = { extensionVersion: 'test' };

async function collect(dir: string, problems: DatasetProblem[] = []): Promise<DatasetRecord[]> {
  const out: DatasetRecord[] = [];
  for await (const r of readRecords(dir, (p) => problems.push(p))) out.push(r);
  return out;
}

function lines(dir: string): string[] {
  return readFileSync(join(dir, DATA_FILE), 'utf8').split('\n');
}

describe('dataset store: several processes', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crucible-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  let writer: string;
  before(async () => {
    writer = join(mkdtempSync(join(tmpdir(), 'crucible-writer-')), 'writer.cjs');
    await build({
      entryPoints: [join(__dirname, '../fixtures/dataset/writer.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: writer,
      logLevel: 'error',
    });
  });

  function run(
    args: string[],
    onLine?: (line: string) => void,
  ): { child: ChildProcess; done: Promise<number>; acked: string[]; ready: Promise<void> } {
    const child = spawn(process.execPath, [writer, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let buffer = '';
    let stderr = '';
    let onReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => {
      onReady = resolve;
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const line of parts) {
        if (line === 'ready') onReady();
        else if (line.startsWith('ok ')) acked.push(line.slice(3));
        onLine?.(line);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const done = new Promise<number>((resolve) =>
      child.on('exit', (code) => {
        if (code) process.stderr.write(stderr);
        resolve(code ?? -1);
      }),
    );
    return { child, done, acked, ready };
  }

  it('three writers at once: no interleaving, duplicates across processes dropped', async () => {
    const a = run([dir, 'a', '30']);
    const b = run([dir, 'b', '30']);
    const c = run([dir, 'a', '30']); // same Records as the first writer
    assert.deepEqual(await Promise.all([a.done, b.done, c.done]), [0, 0, 0]);
    const all = lines(dir);
    assert.equal(all.pop(), '');
    assert.equal(all.length, 60, 'each distinct DatasetRecord exactly once');
    const ids = all.map((l) => (JSON.parse(l) as DatasetRecord).task.id).sort();
    const expected = [...Array(30).keys()].flatMap((i) => [`a_${i}`, `b_${i}`]).sort();
    assert.deepEqual(ids, expected);
    assert.equal(a.acked.length + c.acked.length, 30, 'each of a_* acknowledged by exactly one writer');
    assert.ok(!existsSync(join(dir, LOCK_FILE)));
  });

  async function killMany(
    mode: 'big' | 'slow',
    kills: number,
  ): Promise<{ acked: string[]; records: DatasetRecord[]; problems: DatasetProblem[] }> {
    const acked: string[] = [];
    for (let round = 0; round < kills; round++) {
      // slow: kill as soon as the writer reports a long line half written, after 0-2 finished Records.
      const skip = Math.floor(Math.random() * 3);
      let mids = 0;
      let acknowledged: () => void = () => undefined;
      const firstAck = new Promise<void>((resolve) => (acknowledged = resolve));
      const w = run([dir, `${mode}${round}`, '0', mode], (line) => {
        if (line.startsWith('ok ')) acknowledged();
        if (mode === 'slow' && line === 'mid' && mids++ === skip) w.child.kill('SIGKILL');
      });
      await w.ready;
      if (mode === 'big') {
        // Once it has written something (however loaded the machine), kill it at an arbitrary instant.
        await Promise.race([firstAck, w.done]);
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 120)));
        w.child.kill('SIGKILL');
      }
      await w.done;
      acked.push(...w.acked);
    }
    const problems: DatasetProblem[] = [];
    const records = await collect(dir, problems);
    const stored = new Set(records.map((r) => r.task.id));
    for (const id of acked) assert.ok(stored.has(id), `acknowledged ${id} is missing`);
    assert.ok(problems.length <= kills, `at most one torn line per kill, got ${problems.length}`);
    for (const p of problems) assert.match(p.reason, /corrupt line|torn/);
    // Only the torn fragments fail to parse; every other line is a whole DatasetRecord.
    const all = lines(dir).filter((l) => l.trim());
    assert.equal(all.length, records.length + problems.length);
    assert.equal(new Set(records.map((r) => r.hash)).size, records.length, 'no duplicates');
    // The store still works after all that (taking over any lock a killed writer held).
    const store = await openDataset(dir);
    assert.equal((await store.append(recordFromOutcome(failedOutcome('after'), meta))).appended, true);
    const final = await collect(dir);
    assert.equal(final[final.length - 1]!.task.id, 'after');
    assert.ok(!existsSync(join(dir, LOCK_FILE)));
    return { acked, records, problems };
  }

  it('a writer killed at random instants, many times: every acknowledged DatasetRecord is there, all complete lines parse', async () => {
    const { acked } = await killMany('big', 6);
    assert.ok(acked.length >= 1, `writers made progress (${acked.length} acknowledged)`);
  });

  it('a slow writer killed mid-line, many times: torn lines are reported and skipped, nothing acknowledged is lost', async () => {
    const { acked, problems } = await killMany('slow', 6);
    assert.ok(problems.length >= 3, `kills landed mid-line and left torn lines behind (${problems.length} of 6)`);
    assert.ok(acked.length >= 1, `writers made progress (${acked.length} acknowledged)`);
  });
});
