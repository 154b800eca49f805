import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordFromOutcome } from '../../src/core/dataset/record';
import { DATA_FILE, DatasetError, LOCK_FILE, openDataset, readRecords } from '../../src/core/dataset/store';
import type { DatasetIo, DatasetProblem } from '../../src/core/dataset/store';
import type { DatasetRecord } from '../../src/core/types';
import { easyOutcome } from '../fixtures/dataset/build';

// Writers in other processes, killed mid-write: test/cli/datasetWriters.test.ts.

const meta = { extensionVersion: 'test' };

async function collect(dir: string, problems: DatasetProblem[] = []): Promise<DatasetRecord[]> {
  const out: DatasetRecord[] = [];
  for await (const r of readRecords(dir, (p) => problems.push(p))) out.push(r);
  return out;
}

function lines(dir: string): string[] {
  return readFileSync(join(dir, DATA_FILE), 'utf8').split('\n');
}

describe('dataset store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crucible-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("appends one fsync'd JSON line per DatasetRecord and streams them back", async () => {
    const store = await openDataset(join(dir, 'nested', 'ds'));
    for (const id of ['a', 'b', 'c'])
      assert.equal((await store.append(recordFromOutcome(easyOutcome(id), meta))).appended, true);
    const file = lines(join(dir, 'nested', 'ds'));
    assert.equal(file.length, 4);
    assert.equal(file[3], '', 'ends with a newline');
    const read: DatasetRecord[] = [];
    for await (const r of store.read()) read.push(r);
    assert.deepEqual(
      read.map((r) => r.task.id),
      ['a', 'b', 'c'],
    );
    assert.ok(!existsSync(join(dir, 'nested', 'ds', LOCK_FILE)), 'lock released');
  });

  it('detects a torn last line on open, reports its line number, skips it, and appends on a fresh line', async () => {
    const store = await openDataset(dir);
    await store.append(recordFromOutcome(easyOutcome('a'), meta));
    await store.append(recordFromOutcome(easyOutcome('b'), meta));
    const whole = JSON.stringify(recordFromOutcome(easyOutcome('torn'), meta));
    appendFileSync(join(dir, DATA_FILE), whole.slice(0, Math.floor(whole.length / 2)));

    const reported: DatasetProblem[] = [];
    const reopened = await openDataset(dir, { onProblem: (p) => reported.push(p) });
    assert.equal(reported.length, 1);
    assert.equal(reported[0]!.line, 3);
    assert.match(reported[0]!.reason, /torn last line/);
    assert.equal(reopened.size(), 2);

    assert.equal((await reopened.append(recordFromOutcome(easyOutcome('c'), meta))).appended, true);
    const problems: DatasetProblem[] = [];
    const records = await collect(dir, problems);
    assert.deepEqual(
      records.map((r) => r.task.id),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(
      problems.map((p) => p.line),
      [3],
    );
    assert.match(problems[0]!.reason, /corrupt line/);
    assert.equal(lines(dir).length, 5, 'fragment, then the new record on its own line');
  });

  it('reports a corrupt line in the middle (hand edit) with its line number and keeps reading', async () => {
    const store = await openDataset(dir);
    await store.append(recordFromOutcome(easyOutcome('a'), meta));
    appendFileSync(join(dir, DATA_FILE), '{"oops": \n{"schema":1}\n');
    await store.append(recordFromOutcome(easyOutcome('b'), meta));
    const problems: DatasetProblem[] = [];
    const records = await collect(dir, problems);
    assert.deepEqual(
      records.map((r) => r.task.id),
      ['a', 'b'],
    );
    assert.deepEqual(
      problems.map((p) => p.line),
      [2, 3],
    );
    assert.match(problems[0]!.reason, /corrupt line skipped/);
    assert.match(problems[1]!.reason, /not a Crucible record/);
    const reopened = await openDataset(dir);
    assert.deepEqual(
      reopened.problems().map((p) => p.line),
      [2, 3],
    );
  });

  it('takes over a lock left by a dead process', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dir, LOCK_FILE), `${dead.stdout}@${hostname()} ${Date.now()} 1`);
    const store = await openDataset(dir, { lockTimeoutMs: 30_000 });
    const started = Date.now();
    assert.equal((await store.append(recordFromOutcome(easyOutcome('a'), meta))).appended, true);
    assert.ok(Date.now() - started < 10_000, 'took the lock over instead of waiting it out');
    assert.ok(!existsSync(join(dir, LOCK_FILE)));
  });

  it('gives up on a lock held by a live process with an error naming the lock file, keeping the DatasetRecord', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      writeFileSync(join(dir, LOCK_FILE), `${holder.pid}@${hostname()} ${Date.now()} 1`);
      const store = await openDataset(dir, { lockTimeoutMs: 300 });
      const record = recordFromOutcome(easyOutcome('a'), meta);
      await assert.rejects(store.append(record), (err: unknown) => {
        assert.ok(err instanceof DatasetError);
        assert.equal(err.code, 'ELOCKED');
        assert.ok(err.message.includes(join(dir, LOCK_FILE)));
        assert.match(err.message, /delete/);
        return true;
      });
      assert.deepEqual(
        store.pending().map((r) => r.id),
        [record.id],
      );
    } finally {
      holder.kill('SIGKILL');
    }
  });

  describe('full disk', () => {
    it('ENOSPC from the fs layer: clear error, file left as it was, DatasetRecord kept and written on the next append', async () => {
      let full = true;
      const io: DatasetIo = {
        async write(handle, data) {
          if (!full) {
            await handle.write(data, 0, data.length);
            return;
          }
          await handle.write(data, 0, Math.floor(data.length / 2)); // part of the line reaches the disk
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        },
      };
      const store = await openDataset(dir, { io });
      full = false;
      await store.append(recordFromOutcome(easyOutcome('a'), meta));
      const sizeBefore = statSync(join(dir, DATA_FILE)).size;
      full = true;
      const kept = recordFromOutcome(easyOutcome('b'), meta);
      await assert.rejects(store.append(kept), (err: unknown) => {
        assert.ok(err instanceof DatasetError);
        assert.equal(err.code, 'ENOSPC');
        assert.ok(err.message.includes(dir), 'names the folder');
        assert.match(err.message, /is full.*Free space.*crucible\.dataset\.folder/s);
        assert.equal(err.kept[0]!.id, kept.id);
        return true;
      });
      assert.equal(statSync(join(dir, DATA_FILE)).size, sizeBefore, 'partial line truncated away');
      assert.deepEqual(
        store.pending().map((r) => r.id),
        [kept.id],
      );
      assert.equal(store.has(kept.hash), true);

      full = false;
      assert.equal((await store.append(recordFromOutcome(easyOutcome('c'), meta))).appended, true);
      assert.deepEqual(store.pending(), []);
      const problems: DatasetProblem[] = [];
      assert.deepEqual(
        (await collect(dir, problems)).map((r) => r.task.id),
        ['a', 'b', 'c'],
      );
      assert.deepEqual(problems, []);
    });

    it('a real full tmpfs: ENOSPC is reported, nothing torn, the kept DatasetRecord is written once space is freed', async function () {
      if (process.platform !== 'linux') this.skip();
      const mnt = join(dir, 'mnt');
      mkdirSync(mnt);
      const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { encoding: 'utf8' });
      if (mount.status !== 0) {
        // Mounting needs root (CAP_SYS_ADMIN); the injected-fs test above covers the same path.
        this.skip();
      }
      try {
        const ds = join(mnt, 'ds');
        const store = await openDataset(ds);
        const big = (i: number) =>
          recordFromOutcome(easyOutcome(`big${i}`, `def big${i}(x):\n    return x * x  # ${'y'.repeat(9000)}\n`), meta);
        let error: unknown;
        let written = 0;
        for (let i = 0; i < 20 && !error; i++) {
          try {
            await store.append(big(i));
            written++;
          } catch (err) {
            error = err;
          }
        }
        assert.ok(error instanceof DatasetError, `expected a DatasetError, got ${String(error)}`);
        assert.equal(error.code, 'ENOSPC');
        assert.ok(error.message.includes(ds));
        assert.ok(written > 0);
        assert.equal(store.pending().length, 1);
        const problems: DatasetProblem[] = [];
        assert.equal((await collect(ds, problems)).length, written);
        assert.deepEqual(problems, [], 'no torn line left behind');
        // Free space: drop the first records' file and write what was kept.
        writeFileSync(join(ds, DATA_FILE), '');
        await store.flush();
        assert.equal(store.pending().length, 0);
        assert.equal((await collect(ds)).length, 1);
      } finally {
        spawnSync('umount', [mnt]);
      }
    });
  });
});
