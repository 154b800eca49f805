// Durability helpers: an fsync'd file is only safe once the directory entry pointing at it is too.
import { closeSync, fsyncSync, openSync, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Flushes a directory's entries (a new file, a rename) to disk. Platforms that cannot open or sync a
 * directory (Windows) are skipped: there the rename itself is the best that can be done.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR / EPERM / EINVAL on platforms without directory fsync.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** The synchronous form, for writers that are synchronous already. */
export function syncDirectorySync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // As above.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `text` to `path` atomically: a fsync'd temp file renamed over the target, then the directory
 * synced. A crash leaves either the old file or the new one, never a torn one.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await fsp.mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await fsp.open(tmp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (err) {
    // A full disk fails the write: no half-written temp file is left behind.
    await handle.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}
