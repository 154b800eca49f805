// Reading what the extension left on disk: the saved file, the dataset, an export.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Lines of the dataset's records.jsonl (the extension's append-only store), parsed. */
export function datasetRecords(folder: string): unknown[] {
  const file = join(folder, 'records.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as unknown);
}

/** Runs the file's doctests with the real Python: the result on disk works, whatever the extension claimed. */
export function doctestPasses(file: string): { ok: boolean; output: string } {
  try {
    const output = execFileSync('python3', ['-m', 'doctest', '-v', file], { encoding: 'utf8', timeout: 20_000 });
    return { ok: true, output };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 15_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
