import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { recordFromOutcome } from '../../src/core/dataset/record';
import { DATA_FILE, DatasetError, LOCK_FILE, openDataset, readRecords } from '../../src/core/dataset/store';
import type { DatasetIo, DatasetProblem } from '../../src/core/dataset/store';
import type { DatasetRecord } from '../../src/core/types';
import { easyOutcome, failedOutcome } from '../fixtures/dataset/build';

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
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'crucible-store-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends one fsync\'d JSON line per Record and streams them back', async () => {
    const store = await openDataset(join(dir, 'nested', 'ds'));
    for (const id of ['a', 'b', 'c']) assert.equal((await store.append(recordFromOutcome(easyOutcome(id), meta))).appended, true);
    const file = lines(join(dir, 'nested', 'ds'));
    assert.equal(file.length, 4);
    assert.equal(file[3], '', 'ends with a newline');
    const read: DatasetRecord[] = [];
    for await (const r of store.read()) read.push(r);
    assert.deepEqual(read.map((r) => r.task.id), ['a', 'b', 'c']);
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
    assert.deepEqual(records.map((r) => r.task.id), ['a', 'b', 'c']);
    assert.deepEqual(problems.map((p) => p.line), [3]);
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
    assert.deepEqual(records.map((r) => r.task.id), ['a', 'b']);
    assert.deepEqual(problems.map((p) => p.line), [2, 3]);
    assert.match(problems[0]!.reason, /corrupt line skipped/);
    assert.match(problems[1]!.reason, /not a Crucible record/);
    const reopened = await openDataset(dir);
    assert.deepEqual(reopened.problems().map((p) => p.line), [2, 3]);
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

  it('gives up on a lock held by a live process with an error naming the lock file, keeping the Record', async () => {
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
      assert.deepEqual(store.pending().map((r) => r.id), [record.id]);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  describe('full disk', () => {
    it('ENOSPC from the fs layer: clear error, file left as it was, Record kept and written on the next append', async () => {
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
      assert.deepEqual(store.pending().map((r) => r.id), [kept.id]);
      assert.equal(store.has(kept.hash), true);

      full = false;
      assert.equal((await store.append(recordFromOutcome(easyOutcome('c'), meta))).appended, true);
      assert.deepEqual(store.pending(), []);
      const problems: DatasetProblem[] = [];
      assert.deepEqual((await collect(dir, problems)).map((r) => r.task.id), ['a', 'b', 'c']);
      assert.deepEqual(problems, []);
    });

    it('a real full tmpfs: ENOSPC is reported, nothing torn, the kept Record is written once space is freed', async function () {
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
        const big = (i: number) => recordFromOutcome(easyOutcome(`big${i}`, `def big${i}(x):\n    return x * x  # ${'y'.repeat(9000)}\n`), meta);
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

  describe('several processes', function () {
    let writer: string;
    before(async () => {
      writer = join(mkdtempSync(join(tmpdir(), 'crucible-writer-')), 'writer.cjs');
      await build({ entryPoints: [join(__dirname, '../fixtures/dataset/writer.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: writer, logLevel: 'error' });
    });

    function run(args: string[], onLine?: (line: string) => void): { child: ChildProcess; done: Promise<number>; acked: string[]; ready: Promise<void> } {
      const child = spawn(process.execPath, [writer, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const acked: string[] = [];
      let buffer = '';
      let stderr = '';
      let onReady: () => void = () => undefined;
      const ready = new Promise<void>((resolve) => { onReady = resolve; });
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
      child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
      const done = new Promise<number>((resolve) => child.on('exit', (code) => {
        if (code) process.stderr.write(stderr);
        resolve(code ?? -1);
      }));
      return { child, done, acked, ready };
    }

    it('three writers at once: no interleaving, duplicates across processes dropped', async () => {
      const a = run([dir, 'a', '30']);
      const b = run([dir, 'b', '30']);
      const c = run([dir, 'a', '30']); // same Records as the first writer
      assert.deepEqual(await Promise.all([a.done, b.done, c.done]), [0, 0, 0]);
      const all = lines(dir);
      assert.equal(all.pop(), '');
      assert.equal(all.length, 60, 'each distinct Record exactly once');
      const ids = all.map((l) => (JSON.parse(l) as DatasetRecord).task.id).sort();
      const expected = [...Array(30).keys()].flatMap((i) => [`a_${i}`, `b_${i}`]).sort();
      assert.deepEqual(ids, expected);
      assert.equal(a.acked.length + c.acked.length, 30, 'each of a_* acknowledged by exactly one writer');
      assert.ok(!existsSync(join(dir, LOCK_FILE)));
    });

    async function killMany(mode: 'big' | 'slow', kills: number): Promise<{ acked: string[]; records: DatasetRecord[]; problems: DatasetProblem[] }> {
      const acked: string[] = [];
      for (let round = 0; round < kills; round++) {
        // slow: kill as soon as the writer reports a long line half written, after 0-2 finished Records.
        const skip = Math.floor(Math.random() * 3);
        let mids = 0;
        const w = run([dir, `${mode}${round}`, '0', mode], (line) => {
          if (mode === 'slow' && line === 'mid' && mids++ === skip) w.child.kill('SIGKILL');
        });
        await w.ready;
        if (mode === 'big') {
          // Let it write for a while, then kill at an arbitrary instant.
          await new Promise((r) => setTimeout(r, 30 + Math.floor(Math.random() * 120)));
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
      // Only the torn fragments fail to parse; every other line is a whole Record.
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

    it('a writer killed at random instants, many times: every acknowledged Record is there, all complete lines parse', async () => {
      const { acked } = await killMany('big', 6);
      assert.ok(acked.length >= 1, `writers made progress (${acked.length} acknowledged)`);
    });

    it('a slow writer killed mid-line, many times: torn lines are reported and skipped, nothing acknowledged is lost', async () => {
      const { acked, problems } = await killMany('slow', 6);
      assert.ok(problems.length >= 3, `kills landed mid-line and left torn lines behind (${problems.length} of 6)`);
      assert.ok(acked.length >= 1, `writers made progress (${acked.length} acknowledged)`);
    });
  });
});
