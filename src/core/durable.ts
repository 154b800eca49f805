// Durability helpers: an fsync'd file is only safe once the directory entry pointing at it is too.
import { closeSync, fsyncSync, openSync, promises as fsp } from 'node:fs';

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
