// Exports for fine-tuning, streamed in two passes over the store (the first keeps only small per-task
// facts, the second writes), each output written to a temp file and renamed into place. The formats and
// their writers are in formats.ts; the README beside the data is readme.template.md, filled in by readme.ts.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname, extname } from 'node:path';
import type { Language, DatasetRecord, TaskOrigin } from '../types';
import { AtomicFile } from './atomicFile';
import {
  EXPORT_FORMATS,
  formatWriter,
  type ExportFormat,
  type ExportSink,
  type FormatWriter,
  type Side,
} from './formats';
import { writeReadme } from './readme';
import { taskKey } from './record';
import type { DatasetProblem } from './store';
import { readRecords } from './store';

export { EXPORT_FORMATS, fixChain, userMessage, type ExportFormat } from './formats';
export { baseCheckpoint } from './readme';

export interface ExportFilters {
  /** Keep Records verified only by model-written tests (default false: they are excluded). */
  includeGenerated?: boolean;
  model?: string;
  language?: Language;
  origin?: TaskOrigin;
  since?: Date;
  until?: Date;
  /** Keep Records whose difficulty (share of first samples that failed) is at least this; unknown difficulty is dropped. */
  minDifficulty?: number;
}

export interface ExportOptions extends ExportFilters {
  format: ExportFormat;
  /** Output file. With a split, `<stem>.train<ext>` and `<stem>.valid<ext>` are written instead. */
  out: string;
  /** Share of tasks for training, in (0, 1]; 1 (default) writes one file. Split by task, never by Record. */
  split?: number;
  /** Downsample over-represented difficulty bands so easy tasks do not crowd out hard ones. */
  balance?: boolean;
  /** Changes which tasks land in validation and which Records balancing keeps. */
  seed?: string;
  /** Most DPO pairs per task (default 8). */
  maxPairsPerTask?: number;
  /** Write a README beside the data (default true): `<stem>.README.md`, or `readmePath` when given. */
  readme?: boolean;
  /** Where the README goes (e.g. `README.md` of a folder that holds only this export). */
  readmePath?: string;
  signal?: AbortSignal;
  onProgress?: (progress: { phase: 'scan' | 'write'; records: number; total?: number }) => void;
}

export interface ExportResult {
  format: ExportFormat;
  files: { train: string; valid?: string; readme?: string };
  /** Examples written (lines, or puzzles for p3). */
  train: number;
  valid: number;
  trainTasks: number;
  validTasks: number;
  /** Records read, and Records passing the filters. */
  records: number;
  selected: number;
  /** Records dropped by balancing. */
  balancedOut: number;
  problems: DatasetProblem[];
}

export class ExportCancelled extends Error {
  constructor() {
    super('Export cancelled; no output file was written.');
    this.name = 'ExportCancelled';
  }
}

function unit(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 0x1_0000_0000;
}

/** Whether a Record passes the filters (format-independent part). */
export function passesFilters(record: DatasetRecord, f: ExportFilters): boolean {
  if (f.model && record.model !== f.model) return false;
  if (f.language && record.task.language !== f.language) return false;
  if (f.origin && record.task.origin !== f.origin) return false;
  const created = Date.parse(record.createdAt);
  if (f.since && !(created >= f.since.getTime())) return false;
  if (f.until && !(created <= f.until.getTime())) return false;
  if (f.minDifficulty !== undefined && !(typeof record.difficulty === 'number' && record.difficulty >= f.minDifficulty))
    return false;
  return true;
}

/** Where each side of a split goes. */
export function outputPaths(out: string, split: number): { train: string; valid?: string } {
  if (split >= 1) return { train: out };
  const ext = extname(out);
  const stem = ext ? out.slice(0, -ext.length) : out;
  return { train: `${stem}.train${ext || '.jsonl'}`, valid: `${stem}.valid${ext || '.jsonl'}` };
}

function checkCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ExportCancelled();
}

/** What the first pass learns: which Records to write (by ordinal in the store) and each task's side. */
interface Scan {
  records: number;
  selected: number;
  eligible: Set<number>;
  /** Task key → whether the task is held out for validation. */
  heldOut: Map<string, boolean>;
  /** Records per model, for the README. */
  models: Map<string, number>;
  /** Difficulty band → the band's Records, each with a seeded random rank (only when balancing). */
  bands: Map<string, { ordinal: number; rank: number }[]>;
}

/** Pass 1: filters, the format's interest, per-task facts, difficulty bands. */
async function scanRecords(
  dir: string,
  options: ExportOptions,
  writer: FormatWriter,
  problems: DatasetProblem[],
): Promise<Scan> {
  const split = options.split ?? 1;
  const seed = options.seed ?? 'crucible';
  const scan: Scan = {
    records: 0,
    selected: 0,
    eligible: new Set(),
    heldOut: new Map(),
    models: new Map(),
    bands: new Map(),
  };
  let ordinal = -1;
  for await (const record of readRecords(dir, (p) => problems.push(p))) {
    ordinal++;
    scan.records++;
    if (scan.records % 500 === 0) {
      checkCancelled(options.signal);
      options.onProgress?.({ phase: 'scan', records: scan.records });
    }
    if (!passesFilters(record, options) || !writer.wants(record)) continue;
    scan.selected++;
    scan.eligible.add(ordinal);
    const key = taskKey(record.task);
    if (!scan.heldOut.has(key)) scan.heldOut.set(key, split < 1 && unit(`${seed}\u0000${key}`) >= split);
    writer.scan?.(record, key);
    if (record.model) scan.models.set(record.model, (scan.models.get(record.model) ?? 0) + 1);
    if (options.balance) {
      const band =
        typeof record.difficulty === 'number'
          ? String(Math.min(9, Math.max(0, Math.floor(record.difficulty * 10))))
          : 'unknown';
      const list = scan.bands.get(band) ?? [];
      list.push({ ordinal, rank: unit(`${seed}\u0000${record.hash}`) });
      scan.bands.set(band, list);
    }
  }
  checkCancelled(options.signal);
  return scan;
}

/**
 * Caps every difficulty band at the mean band size: crowded (usually easy) bands are thinned, sparse
 * (usually hard) bands keep everything. Drops the thinned Records from `eligible`; returns how many.
 */
function balanceBands(scan: Scan): number {
  if (scan.bands.size <= 1) return 0;
  let dropped = 0;
  const cap = Math.ceil([...scan.bands.values()].reduce((sum, l) => sum + l.length, 0) / scan.bands.size);
  for (const list of scan.bands.values()) {
    if (list.length <= cap) continue;
    list.sort((a, b) => a.rank - b.rank);
    for (const item of list.slice(cap)) {
      scan.eligible.delete(item.ordinal);
      dropped++;
    }
  }
  return dropped;
}

/** The train file and, with a split, the validation file: what went to each, committed or aborted together. */
class Sides implements ExportSink {
  readonly count = { train: 0, valid: 0 };
  readonly tasks = { train: new Set<string>(), valid: new Set<string>() };
  private readonly files: { train?: AtomicFile; valid?: AtomicFile };

  constructor(paths: { train: string; valid?: string }) {
    this.files = { train: new AtomicFile(paths.train), ...(paths.valid ? { valid: new AtomicFile(paths.valid) } : {}) };
  }

  private get open(): AtomicFile[] {
    return [this.files.train, this.files.valid].filter((f): f is AtomicFile => !!f);
  }

  async start(): Promise<void> {
    for (const f of this.open) await f.open();
  }

  async emit(side: Side, task: string, example: object): Promise<void> {
    await this.files[side]!.write(`${JSON.stringify(example)}\n`);
    this.count[side]++;
    this.tasks[side].add(task);
  }

  useTask(side: Side, task: string): void {
    this.tasks[side].add(task);
  }

  async writeSide(side: Side, text: string, count: number): Promise<void> {
    const file = this.files[side];
    if (!file) return;
    await file.write(text);
    this.count[side] = count;
  }

  /** Commits the files, except that with a split a side which got nothing is not written: no empty files. */
  async commit(): Promise<void> {
    const split = !!this.files.valid;
    if (split && this.count.valid === 0) {
      await this.files.valid!.abort();
      delete this.files.valid;
    }
    if (split && this.count.train === 0) {
      await this.files.train!.abort();
      delete this.files.train;
    }
    for (const f of this.open) await f.commit();
  }

  /** Whether a validation file is (still) part of the export. */
  get hasValid(): boolean {
    return !!this.files.valid;
  }

  async abort(): Promise<void> {
    for (const f of this.open) await f.abort();
  }
}

/** Pass 2: hands every eligible Record to the writer, then commits the files. */
async function writeRecords(
  dir: string,
  options: ExportOptions,
  writer: FormatWriter,
  scan: Scan,
  sides: Sides,
): Promise<void> {
  try {
    await sides.start();
    let n = -1;
    for await (const record of readRecords(dir)) {
      n++;
      if (n % 500 === 0) {
        checkCancelled(options.signal);
        options.onProgress?.({ phase: 'write', records: n, total: scan.records });
      }
      if (!scan.eligible.has(n)) continue;
      const key = taskKey(record.task);
      const heldOut = scan.heldOut.get(key);
      if (heldOut === undefined) continue;
      await writer.write(record, key, heldOut ? 'valid' : 'train', sides);
    }
    await writer.finish?.(sides);
    checkCancelled(options.signal);
    await sides.commit();
  } catch (err) {
    await sides.abort();
    throw err;
  }
}

/** Streams the dataset in `dir` into the chosen format. */
export async function exportDataset(dir: string, options: ExportOptions): Promise<ExportResult> {
  const split = options.split ?? 1;
  if (!(split > 0 && split <= 1)) throw new RangeError(`--split must be in (0, 1], got ${split}`);
  if (!EXPORT_FORMATS.includes(options.format))
    throw new RangeError(`Unknown format "${options.format}"; use one of ${EXPORT_FORMATS.join(', ')}.`);
  const writer = formatWriter(options.format, {
    includeGenerated: options.includeGenerated,
    maxPairsPerTask: options.maxPairsPerTask ?? 8,
  });
  const problems: DatasetProblem[] = [];
  const scan = await scanRecords(dir, options, writer, problems);
  const balancedOut = options.balance ? balanceBands(scan) : 0;

  const paths = outputPaths(options.out, split);
  await fsp.mkdir(dirname(paths.train), { recursive: true });
  const sides = new Sides(paths);
  await writeRecords(dir, options, writer, scan, sides);
  const result: ExportResult = {
    format: options.format,
    files: { train: paths.train, ...(sides.hasValid ? { valid: paths.valid } : {}) },
    train: sides.count.train,
    valid: sides.count.valid,
    trainTasks: sides.tasks.train.size,
    validTasks: sides.tasks.valid.size,
    records: scan.records,
    selected: scan.selected - balancedOut,
    balancedOut,
    problems,
  };
  if (options.readme !== false) {
    const model = [...scan.models.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    const facts = {
      ...result,
      unit: writer.unit,
      corrupt: problems.length,
      includeGenerated: !!options.includeGenerated,
      model,
    };
    result.files.readme = await writeReadme(facts, options.out, options.readmePath);
  }
  return result;
}
