// Every command runs inside guarded() and writes through a CliIo: in-process, with nothing on the real terminal.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/main';
import { captureIo } from '../../src/cli/io';
import { UsageError, guarded } from '../../src/cli/shared';

async function run(args: string[]): Promise<ReturnType<typeof captureIo>> {
  const io = captureIo();
  await buildProgram(io).parseAsync(args, { from: 'user' });
  return io;
}

describe('cli: guarded() and CliIo', () => {
  const before = process.exitCode;
  afterEach(() => {
    process.exitCode = before;
  });

  it('guarded: the return value is the exit code; a usage error is 2, anything else 1, named after the command', async () => {
    const io = captureIo();
    await guarded('x', async () => 0, undefined, io);
    assert.equal(io.exitCode(), 0);
    await guarded(
      'x',
      async () => {
        throw new UsageError('give a file');
      },
      undefined,
      io,
    );
    assert.equal(io.exitCode(), 2);
    await guarded(
      'x',
      async () => {
        throw new Error('raise crucible.ollama.host (CLI: --host URL)');
      },
      undefined,
      io,
    );
    assert.equal(io.exitCode(), 1);
    assert.equal(io.stderr(), 'crucible x: give a file\ncrucible x: raise --host URL\n');
    assert.equal(process.exitCode, before, 'process.exitCode is left alone');
  });

  it('stats and export report a wrong command line as usage (exit 2) through the CliIo', async () => {
    const stats = await run(['stats']);
    assert.equal(stats.exitCode(), 2);
    assert.match(stats.stderr(), /^crucible stats: give the dataset folder/);
    const exp = await run(['export', 'a', '--dataset', 'b', '--format', 'sft']);
    assert.equal(exp.exitCode(), 2);
    assert.match(exp.stderr(), /^crucible export: DIR and --dataset name different folders/);
    assert.equal(stats.stdout() + exp.stdout(), '');
  });

  it('a missing dataset folder is a failed run (exit 1), and verify of an empty file prints its summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crucible-io-'));
    try {
      const stats = await run(['stats', join(dir, 'nothing-here')]);
      assert.equal(stats.exitCode(), 1);
      assert.match(stats.stderr(), /^crucible stats: /);
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(dir, 'jobs.jsonl'), '');
      const verify = await run(['verify', join(dir, 'jobs.jsonl')]);
      assert.equal(verify.exitCode(), 0, verify.stderr());
      assert.match(verify.stderr(), /^crucible verify: 0\/0 jobs \(none\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
