// Browsing and deleting dataset records for "Crucible: Show Dataset". Records are read with the core's
// reader; a delete rewrites records.jsonl without the record's line, under the same lock file the store's
// appends take (so it never interleaves with a write), atomically (temp file, fsync, rename). The store
// notices the shorter file and indexes it again before its next append.
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DATA_FILE, LOCK_FILE } from '../core/dataset/files';

const LOCK_TIMEOUT_MS = 5000;

export interface RecordRow {
  id: string;
  createdAt: string;
  name: string;
  language: string;
  verified: boolean;
  generatedTests: boolean;
  attempts: number;
  model: string;
  origin: string;
}

/** The newest `limit` records, newest first, summarised for the dataset view. */
export async function listRecords(folder: string, limit = 200): Promise<{ rows: RecordRow[]; total: number }> {
  let text: string;
  try {
    text = await fsp.readFile(join(folder, DATA_FILE), 'utf8');
  } catch {
    return { rows: [], total: 0 };
  }
  const rows: RecordRow[] = [];
  const lines = text.split('\n').filter((l) => l.trim());
  for (let i = lines.length - 1; i >= 0 && rows.length < limit; i--) {
    try {
      const r = JSON.parse(lines[i]!) as {
        id?: string;
        createdAt?: string;
        task?: { id?: string; entryPoint?: string; language?: string; origin?: string };
        verified?: boolean;
        verifiedByGeneratedTests?: boolean;
        attempts?: unknown[];
        model?: string;
      };
      if (!r.id) continue;
      rows.push({
        id: r.id,
        createdAt: r.createdAt ?? '',
        name: r.task?.entryPoint ?? r.task?.id ?? '(task)',
        language: r.task?.language ?? '',
        verified: r.verified === true,
        generatedTests: r.verifiedByGeneratedTests === true,
        attempts: Array.isArray(r.attempts) ? r.attempts.length : 0,
        model: r.model ?? '',
        origin: r.task?.origin ?? '',
      });
    } catch {
      // A corrupt line is reported by the statistics; it is not a record to list.
    }
  }
  return { rows, total: lines.length };
}

async function lock(folder: string, timeoutMs: number): Promise<() => Promise<void>> {
  const path = join(folder, LOCK_FILE);
  const mine = `${process.pid}@${hostname()} ${Date.now()} delete`;
  const started = Date.now();
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    try {
      const handle = await fsp.open(path, 'wx');
      try {
        await handle.writeFile(mine);
      } finally {
        await handle.close();
      }
      return async () => {
        if ((await fsp.readFile(path, 'utf8').catch(() => '')) === mine) await fsp.unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() - started > timeoutMs)
        throw new Error(`the dataset is busy (${path} is held by another writer); try again in a moment`, {
          cause: err,
        });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Removes the records with these ids from records.jsonl. Returns how many lines were removed.
 * `lockTimeoutMs` (how long to wait for another writer's lock) is there for tests.
 */
export async function deleteRecords(
  folder: string,
  ids: readonly string[],
  lockTimeoutMs = LOCK_TIMEOUT_MS,
): Promise<number> {
  const want = new Set(ids);
  const file = join(folder, DATA_FILE);
  const release = await lock(folder, lockTimeoutMs);
  try {
    const text = await fsp.readFile(file, 'utf8');
    let removed = 0;
    const kept = text.split('\n').filter((line) => {
      if (!line.trim()) return true;
      try {
        const id = (JSON.parse(line) as { id?: string }).id;
        if (id && want.has(id)) {
          removed++;
          return false;
        }
      } catch {
        // Keep lines we cannot read: deleting is about the records the user picked, nothing else.
      }
      return true;
    });
    if (!removed) return 0;
    const out = kept.join('\n').replace(/\n{2,}/g, '\n');
    const temp = `${file}.${process.pid}.delete.tmp`;
    const handle = await fsp.open(temp, 'w');
    try {
      await handle.writeFile(out === '\n' ? '' : out);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, file);
    return removed;
  } finally {
    await release();
  }
}
