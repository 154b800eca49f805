// An output file written under a temp name beside its target and renamed into place only when complete, so a
// cancelled or failed export never leaves a half-written file where a finished one was expected.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { syncDirectory } from '../durable';

/** A temp file renamed over the target on commit; removed on abort. */
export class AtomicFile {
  private handle: FileHandle | undefined;
  private readonly temp: string;
  private buffer: string[] = [];
  private buffered = 0;

  constructor(readonly path: string) {
    this.temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  }

  async open(): Promise<void> {
    this.handle = await fsp.open(this.temp, 'w');
  }

  async write(text: string): Promise<void> {
    this.buffer.push(text);
    this.buffered += text.length;
    if (this.buffered >= 1 << 16) await this.drain();
  }

  private async drain(): Promise<void> {
    if (!this.buffer.length) return;
    const data = this.buffer.join('');
    this.buffer = [];
    this.buffered = 0;
    await this.handle!.writeFile(data, 'utf8');
  }

  async commit(): Promise<void> {
    await this.drain();
    await this.handle!.sync();
    await this.handle!.close();
    this.handle = undefined;
    await fsp.rename(this.temp, this.path);
    await syncDirectory(dirname(this.path));
  }

  async abort(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await fsp.unlink(this.temp).catch(() => undefined);
  }

  /** Writes `text` as the whole file: open, write, commit (abort on failure). */
  static async writeWhole(path: string, text: string): Promise<void> {
    const file = new AtomicFile(path);
    await file.open();
    try {
      await file.write(text);
      await file.commit();
    } catch (err) {
      await file.abort();
      throw err;
    }
  }
}
