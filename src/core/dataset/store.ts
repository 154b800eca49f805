// The dataset store: one append-only JSONL file per dataset folder.
//
// Guarantees:
// - Each Record is one line, written by a single O_APPEND write and fsync'd before `append` resolves,
//   so a killed writer loses at most the line it was writing; every complete line still parses.
// - Writers (several VS Code windows, CLI runs) take a lock file around "catch up, dedupe, append",
//   so lines never interleave and duplicates (same content hash) are dropped across processes.
//   A lock left by a dead process is taken over.
// - A torn last line (crash) or a corrupt line (hand edit) is reported with its line number and
//   skipped; the next append starts on a fresh line so it never glues onto the fragment.
// - A full disk (ENOSPC) or another write failure leaves the file as it was (the partial line is
//   truncated away), keeps the Record in memory and throws an error that names the folder and the fix.
import { upgradePuzzle } from './p3';
import { constants as fsConstants, createReadStream, existsSync, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { DatasetRecord } from '../types';
import { recordProblem } from './record';
import { syncDirectory } from '../durable';
import { DATA_FILE, LOCK_FILE } from './files';

export { DATA_FILE, LOCK_FILE } from './files';

export interface DatasetProblem {
  /** 1-based line number in records.jsonl. */
  line: number;
  reason: string;
}

export interface AppendResult {
  appended: boolean;
  reason?: 'duplicate';
}

/** Low-level writes, injectable so tests can simulate a full disk. */
export interface DatasetIo {
  write(handle: FileHandle, data: Buffer): Promise<void>;
}

export interface OpenOptions {
  /** Create the folder when it does not exist (default true). */
  create?: boolean;
  io?: DatasetIo;
  /** How long to wait for another writer's lock before giving up, ms (default 15 s). */
  lockTimeoutMs?: number;
  /** Called for each corrupt or torn line found while indexing. */
  onProblem?: (problem: DatasetProblem) => void;
}

export interface DatasetStore {
  readonly dir: string;
  readonly file: string;
  /** Appends a Record unless one with the same hash is already stored. Retries kept Records first. */
  append(record: DatasetRecord): Promise<AppendResult>;
  /** Writes Records kept in memory by an earlier failed append. */
  flush(): Promise<void>;
  /** Records kept in memory after a failed write, oldest first. */
  pending(): readonly DatasetRecord[];
  has(hash: string): boolean;
  /** Number of distinct Records indexed (stored, not pending). */
  size(): number;
  /** Corrupt or torn lines seen so far. */
  problems(): readonly DatasetProblem[];
  /** Streams the stored Records, skipping (and reporting) corrupt lines. */
  read(onProblem?: (problem: DatasetProblem) => void): AsyncIterable<DatasetRecord>;
}

export class DatasetError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly dir: string,
    readonly kept: readonly DatasetRecord[] = [],
  ) {
    super(message);
    this.name = 'DatasetError';
  }
}

const defaultIo: DatasetIo = {
  async write(handle, data) {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await handle.write(data, offset, data.length - offset);
      if (bytesWritten <= 0) throw Object.assign(new Error('write wrote nothing'), { code: 'EIO' });
      offset += bytesWritten;
    }
  },
};

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? '';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Turns a failed write into an error that names the folder and what to do. */
export function writeError(err: unknown, dir: string, kept: readonly DatasetRecord[]): DatasetError {
  const code = errCode(err) || 'EIO';
  const keptText = kept.length
    ? ` ${kept.length} record(s) are kept in memory and will be written on the next append.`
    : '';
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new DatasetError(
      `The dataset folder ${dir} is full (${code}).${keptText} Free space on that disk, or set "crucible.dataset.folder" (CLI: --dataset DIR) to a folder on another disk.`,
      code,
      dir,
      kept,
    );
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new DatasetError(
      `Cannot write the dataset folder ${dir} (${code}).${keptText} Make it writable, or set "crucible.dataset.folder" (CLI: --dataset DIR) to a writable folder.`,
      code,
      dir,
      kept,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new DatasetError(
    `Writing the dataset in ${dir} failed: ${message}.${keptText} Check the folder and disk, or set "crucible.dataset.folder" (CLI: --dataset DIR) to another folder.`,
    code,
    dir,
    kept,
  );
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface RawLine {
  /** 1-based. */
  line: number;
  text: string;
  /** False for a last line without a newline (possibly torn). */
  complete: boolean;
  /** Byte offset just past this line (and its newline). */
  end: number;
}

/** Streams the lines of `file` from byte `start`, with byte offsets; never loads the whole file. */
export async function* readLines(file: string, start = 0, firstLine = 1): AsyncGenerator<RawLine> {
  let stream;
  try {
    await fsp.access(file, fsConstants.R_OK);
    stream = createReadStream(file, { start });
  } catch (err) {
    if (errCode(err) === 'ENOENT') return;
    throw err;
  }
  let carry: Buffer[] = [];
  let carryLength = 0;
  let offset = start;
  let line = firstLine;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl < 0) break;
      const piece = chunk.subarray(from, nl);
      const text = carryLength ? Buffer.concat([...carry, piece]).toString('utf8') : piece.toString('utf8');
      offset += carryLength + piece.length + 1;
      carry = [];
      carryLength = 0;
      yield { line: line++, text, complete: true, end: offset };
      from = nl + 1;
    }
    if (from < chunk.length) {
      carry.push(chunk.subarray(from));
      carryLength += chunk.length - from;
    }
  }
  if (carryLength) {
    offset += carryLength;
    yield { line, text: Buffer.concat(carry).toString('utf8'), complete: false, end: offset };
  }
}

/** Parses one line; returns the Record or why it is unusable. */
export function parseLine(raw: RawLine): { record?: DatasetRecord; problem?: DatasetProblem } {
  const text = raw.text.trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const reason = raw.complete
      ? `corrupt line skipped (${err instanceof Error ? err.message : String(err)})`
      : 'torn last line skipped (a writer was killed while appending; the record on it is incomplete)';
    return { problem: { line: raw.line, reason } };
  }
  const why = recordProblem(value);
  if (why) return { problem: { line: raw.line, reason: `not a Crucible record, skipped: ${why}` } };
  const record = value as DatasetRecord;
  if (record.puzzle) record.puzzle = upgradePuzzle(record.puzzle);
  return { record };
}

/** Streams the Records of a dataset folder (no lock needed: writers only append whole lines). */
export async function* readRecords(
  dir: string,
  onProblem?: (problem: DatasetProblem) => void,
): AsyncGenerator<DatasetRecord> {
  for await (const raw of readLines(join(dir, DATA_FILE))) {
    const { record, problem } = parseLine(raw);
    if (problem) onProblem?.(problem);
    if (record) yield record;
  }
}

/** Whether `dir` looks like a dataset folder; returns a fix-naming reason when it does not. */
export async function checkDatasetDir(dir: string): Promise<string | undefined> {
  let info;
  try {
    info = await fsp.stat(dir);
  } catch (err) {
    if (errCode(err) === 'ENOENT')
      return `No dataset folder at ${dir}. Solve something with logging on first, or pass the folder that holds ${DATA_FILE} (--dataset DIR).`;
    return `Cannot read ${dir}: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (!info.isDirectory()) return `${dir} is a file, not a dataset folder. Pass the folder that holds ${DATA_FILE}.`;
  try {
    const file = await fsp.stat(join(dir, DATA_FILE));
    if (!file.isFile()) return `${join(dir, DATA_FILE)} is not a file.`;
  } catch {
    return `${dir} holds no ${DATA_FILE}, so it is not a Crucible dataset folder. Pass the folder that holds ${DATA_FILE} (--dataset DIR).`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Lock file

interface LockOwner {
  pid: number;
  host: string;
  time: number;
}

function parseOwner(text: string): LockOwner | undefined {
  const m = /^(\d+)@(\S*) (\d+)/.exec(text.trim());
  return m ? { pid: Number(m[1]), host: m[2] ?? '', time: Number(m[3]) } : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) === 'EPERM';
  }
}

async function lockIsStale(lockPath: string, text: string): Promise<boolean> {
  const owner = parseOwner(text);
  if (!owner) {
    // Created but not yet written (or garbage): stale once it has sat there a while.
    try {
      const info = await fsp.stat(lockPath);
      return Date.now() - info.mtimeMs > 5_000;
    } catch {
      return false;
    }
  }
  if (owner.host === hostname()) return owner.pid !== process.pid && !processAlive(owner.pid);
  // Another machine (network folder): trust the lock for a minute.
  return Date.now() - owner.time > 60_000;
}

let lockCounter = 0;
let hardLinks = true;

/**
 * Creates the lock file with its owner already inside: written to a private temp file, then
 * hard-linked into place (atomic, fails if the lock exists), so a lock is never seen empty even if
 * its writer is killed at any instant. Falls back to an exclusive create where links are unsupported.
 * Returns false when another writer holds the lock.
 */
async function createLockFile(lockPath: string, owner: string): Promise<boolean> {
  if (hardLinks) {
    const temp = `${lockPath}.${process.pid}.${lockCounter}.tmp`;
    try {
      await fsp.writeFile(temp, owner);
      await fsp.link(temp, lockPath);
      return true;
    } catch (err) {
      if (errCode(err) === 'EEXIST') return false;
      if (!['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP', 'EXDEV'].includes(errCode(err))) throw err;
      hardLinks = false;
    } finally {
      await fsp.unlink(temp).catch(() => undefined);
    }
  }
  let handle: FileHandle;
  try {
    handle = await fsp.open(lockPath, 'wx');
  } catch (err) {
    if (errCode(err) === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(owner);
  } finally {
    await handle.close();
  }
  return true;
}

async function acquireLock(dir: string, timeoutMs: number): Promise<() => Promise<void>> {
  const lockPath = join(dir, LOCK_FILE);
  const mine = `${process.pid}@${hostname()} ${Date.now()} ${++lockCounter}`;
  const started = Date.now();
  let delay = 2;
  const release = async (): Promise<void> => {
    try {
      if ((await fsp.readFile(lockPath, 'utf8')) === mine) await fsp.unlink(lockPath);
    } catch {
      /* already gone */
    }
  };
  for (;;) {
    try {
      if (await createLockFile(lockPath, mine)) return release;
    } catch (err) {
      if (errCode(err) === 'ENOENT')
        throw new DatasetError(
          `The dataset folder ${dir} disappeared. Create it again or set "crucible.dataset.folder" (CLI: --dataset DIR).`,
          'ENOENT',
          dir,
        );
      throw err;
    }
    let text: string;
    try {
      text = await fsp.readFile(lockPath, 'utf8');
    } catch {
      continue; // released meanwhile
    }
    if (await lockIsStale(lockPath, text)) {
      // Move the stale lock aside atomically; only if what we moved is still the stale one, drop it.
      const aside = `${lockPath}.stale-${process.pid}-${lockCounter}`;
      try {
        await fsp.rename(lockPath, aside);
        const moved = await fsp.readFile(aside, 'utf8');
        if (moved !== text) await fsp.link(aside, lockPath).catch(() => undefined);
        await fsp.unlink(aside).catch(() => undefined);
      } catch {
        /* someone else got there first */
      }
      continue;
    }
    if (Date.now() - started > timeoutMs) {
      throw new DatasetError(
        `The dataset in ${dir} stayed locked for ${Math.round(timeoutMs / 1000)} s by "${text.trim()}". If no Crucible window or CLI is writing to it, delete ${lockPath}.`,
        'ELOCKED',
        dir,
      );
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 50);
  }
}

// ---------------------------------------------------------------------------------------------
// The store

class JsonlStore implements DatasetStore {
  readonly file: string;
  private readonly hashes = new Set<string>();
  private readonly seenProblems: DatasetProblem[] = [];
  private readonly kept: DatasetRecord[] = [];
  /** Bytes of the file already indexed (always at a line start). */
  private indexed = 0;
  private nextLine = 1;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly io: DatasetIo,
    private readonly lockTimeoutMs: number,
    private readonly onProblem?: (p: DatasetProblem) => void,
  ) {
    this.file = join(dir, DATA_FILE);
  }

  /**
   * Indexes lines from `indexed` to the end. `final` (under the lock) treats a last line without a
   * newline as finished (torn, or whole but missing its newline); otherwise it is left for later.
   */
  async catchUp(final: boolean): Promise<void> {
    const size = await fsp.stat(this.file).then(
      (i) => i.size,
      () => 0,
    );
    if (size < this.indexed) {
      // The file shrank (edited by hand, or replaced): index it again from the start.
      this.hashes.clear();
      this.seenProblems.length = 0;
      this.indexed = 0;
      this.nextLine = 1;
    }
    for await (const raw of readLines(this.file, this.indexed, this.nextLine)) {
      const { record, problem } = parseLine(raw);
      if (!raw.complete && !final) {
        // Possibly still being written by another process: report a torn fragment, index it later.
        if (problem) this.report(problem);
        break;
      }
      if (problem) this.report(problem);
      if (record) this.hashes.add(record.hash);
      this.indexed = raw.end;
      this.nextLine = raw.line + 1;
    }
  }

  /** Whether the file is empty or ends with a newline (so the next line starts cleanly). */
  private async endsWithNewline(handle: FileHandle): Promise<boolean> {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const probe = await fsp.open(this.file, 'r');
    try {
      const buf = Buffer.alloc(1);
      await probe.read(buf, 0, 1, size - 1);
      return buf[0] === 0x0a;
    } finally {
      await probe.close();
    }
  }

  private report(problem: DatasetProblem): void {
    if (this.seenProblems.some((p) => p.line === problem.line)) return;
    this.seenProblems.push(problem);
    this.onProblem?.(problem);
  }

  has(hash: string): boolean {
    return this.hashes.has(hash) || this.kept.some((r) => r.hash === hash);
  }

  size(): number {
    return this.hashes.size;
  }

  problems(): readonly DatasetProblem[] {
    return this.seenProblems;
  }

  pending(): readonly DatasetRecord[] {
    return this.kept;
  }

  read(onProblem?: (problem: DatasetProblem) => void): AsyncIterable<DatasetRecord> {
    return readRecords(this.dir, onProblem);
  }

  append(record: DatasetRecord): Promise<AppendResult> {
    const run = this.tail.then(() => this.appendNow(record));
    this.tail = run.catch(() => undefined);
    return run;
  }

  flush(): Promise<void> {
    const run = this.tail.then(() => this.appendNow(undefined)).then(() => undefined);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async appendNow(record: DatasetRecord | undefined): Promise<AppendResult> {
    if (record && this.has(record.hash)) return { appended: false, reason: 'duplicate' };
    if (record) this.kept.push(record);
    if (this.kept.length === 0) return { appended: false };
    let release: () => Promise<void>;
    try {
      await fsp.mkdir(this.dir, { recursive: true });
      release = await acquireLock(this.dir, this.lockTimeoutMs);
    } catch (err) {
      if (err instanceof DatasetError) throw new DatasetError(err.message, err.code, this.dir, [...this.kept]);
      throw writeError(err, this.dir, [...this.kept]);
    }
    let result: AppendResult = { appended: false, reason: 'duplicate' };
    try {
      await this.catchUp(true);
      let handle: FileHandle | undefined;
      try {
        const created = !existsSync(this.file);
        handle = await fsp.open(this.file, 'a');
        if (created) await syncDirectory(this.dir);
        let needNewline = !(await this.endsWithNewline(handle));
        while (this.kept.length) {
          const next = this.kept[0]!;
          if (this.hashes.has(next.hash)) {
            this.kept.shift();
            continue;
          }
          const line = `${needNewline ? '\n' : ''}${JSON.stringify(next)}\n`;
          const data = Buffer.from(line, 'utf8');
          const before = (await handle.stat()).size;
          try {
            await this.io.write(handle, data);
            await handle.sync();
          } catch (err) {
            // Leave the file as it was: cut off whatever part of the line made it to disk.
            await handle.truncate(before).catch(() => undefined);
            throw writeError(err, this.dir, [...this.kept]);
          }
          needNewline = false;
          this.kept.shift();
          this.hashes.add(next.hash);
          this.indexed = before + data.length;
          this.nextLine += 1;
          if (next === record) result = { appended: true };
        }
      } catch (err) {
        if (err instanceof DatasetError) throw err;
        throw writeError(err, this.dir, [...this.kept]);
      } finally {
        await handle?.close().catch(() => undefined);
      }
    } finally {
      await release();
    }
    return result;
  }
}

/** Removes lock temp files (`records.lock.<pid>.<n>.tmp`, `records.lock.stale-<pid>-<n>`) left by dead processes. */
async function removeLockLeftovers(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^records\.lock\.(?:stale-)?(\d+)[.-]\d+(?:\.tmp)?$/.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    // Old ones only: on a shared network folder the pid may belong to another machine.
    const info = await fsp.stat(join(dir, name)).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > 60_000) await fsp.unlink(join(dir, name)).catch(() => undefined);
  }
}

/** Opens (and by default creates) the dataset folder and indexes the hashes already stored. */
export async function openDataset(dir: string, options: OpenOptions = {}): Promise<DatasetStore> {
  if (options.create !== false) {
    try {
      await fsp.mkdir(dir, { recursive: true });
    } catch (err) {
      throw writeError(err, dir, []);
    }
  } else {
    const why = await checkDatasetDir(dir);
    if (why) throw new DatasetError(why, 'ENODATASET', dir);
  }
  await removeLockLeftovers(dir);
  const store = new JsonlStore(dir, options.io ?? defaultIo, options.lockTimeoutMs ?? 15_000, options.onProblem);
  await store.catchUp(false);
  return store;
}

const shared = new Map<string, Promise<DatasetStore>>();

/**
 * One store per folder for the life of the process, so Records kept in memory after a failed write
 * (full disk) are retried on the next append instead of being dropped with a throwaway store.
 */
export function sharedDataset(dir: string, options: OpenOptions = {}): Promise<DatasetStore> {
  let store = shared.get(dir);
  if (!store) {
    store = openDataset(dir, options);
    shared.set(dir, store);
    store.catch(() => shared.delete(dir));
  }
  return store;
}
