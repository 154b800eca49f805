import { strict as assert } from 'node:assert';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { registerExport } from '../../src/cli/commands/export';
import { registerStats } from '../../src/cli/commands/stats';
import { DATA_FILE } from '../../src/core/dataset/store';
import { writeFixtureDataset } from '../fixtures/dataset/build';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The two commands on a program configured like src/cli/main.ts (exitOverride, usage errors → 2),
 * so these tests do not depend on the other subcommands. test/cli/entryPoint.test.ts runs the real dist/cli.js.
 */
async function main(args: string[]): Promise<number> {
  const program = new Command().name('crucible').showHelpAfterError().exitOverride();
  registerExport(program);
  registerStats(program);
  try {
    await program.parseAsync(args, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`crucible: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** Runs the real CLI entry in this process, capturing its output. */
async function cli(...args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  process.exitCode = undefined;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
    process.exitCode = undefined;
  }
}

describe('crucible export / stats', () => {
  let root: string;
  let ds: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'crucible-cli-ds-'));
    ds = join(root, 'ds');
    await writeFixtureDataset(ds);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('export DIR --format sft --out FILE --split 0.8 writes both sides and a README', async () => {
    const out = join(root, 'sft', 'data.jsonl');
    const r = await cli('export', ds, '--format', 'sft', '--out', out, '--split', '0.8');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Wrote \d+ examples \(\d+ tasks\) to .*data\.train\.jsonl/);
    assert.ok(existsSync(join(root, 'sft', 'data.train.jsonl')));
    assert.ok(existsSync(join(root, 'sft', 'data.valid.jsonl')));
    assert.ok(existsSync(join(root, 'sft', 'data.README.md')), 'a file --out gets its own README beside it');
    const first = JSON.parse(readFileSync(join(root, 'sft', 'data.train.jsonl'), 'utf8').split('\n')[0]!) as {
      messages: unknown[];
    };
    assert.equal(first.messages.length, 3);
  });

  it('export --dataset DIR --format dpo --json --balance --min-difficulty reports a JSON result', async () => {
    const out = join(root, 'dpo.jsonl');
    const r = await cli(
      'export',
      '--dataset',
      ds,
      '--format',
      'dpo',
      '--out',
      out,
      '--json',
      '--balance',
      '--min-difficulty',
      '0.5',
    );
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { format: string; train: number; files: { train: string } };
    assert.equal(result.format, 'dpo');
    assert.ok(result.train > 0);
    assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, result.train);
  });

  it('export --format p3 and traces work from the CLI too', async () => {
    const p3 = await cli('export', ds, '--format', 'p3', '--out', join(root, 'p3', 'puzzles.json'));
    assert.equal(p3.code, 0, p3.stderr);
    assert.ok(Array.isArray(JSON.parse(readFileSync(join(root, 'p3', 'puzzles.json'), 'utf8'))));
    const traces = await cli('export', ds, '--format', 'traces', '--out', join(root, 'tr', 'traces.jsonl'));
    assert.equal(traces.code, 0, traces.stderr);
    assert.match(traces.stdout, /Wrote [1-9]\d* examples/);
  });

  it('usage errors exit 2 with a message naming the fix', async () => {
    const noDir = await cli('export', '--format', 'sft');
    assert.equal(noDir.code, 2);
    assert.match(noDir.stderr, /give the dataset folder/);
    const badFormat = await cli('export', ds, '--format', 'csv');
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /sft, dpo, traces, p3|Allowed choices/);
    const noFormat = await cli('export', ds);
    assert.equal(noFormat.code, 2);
    const badSplit = await cli('export', ds, '--format', 'sft', '--split', '1.5');
    assert.equal(badSplit.code, 2);
    assert.match(badSplit.stderr, /--split must be a share in \(0, 1\]/);
    const badDate = await cli('export', ds, '--format', 'sft', '--since', 'yesterday-ish');
    assert.equal(badDate.code, 2);
    assert.match(badDate.stderr, /--since "yesterday-ish" is not a date/);
    const noStatsDir = await cli('stats');
    assert.equal(noStatsDir.code, 2);
  });

  it('a missing or wrong dataset folder exits 1 and says what to pass', async () => {
    const missing = await cli('export', join(root, 'nope'), '--format', 'sft');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No dataset folder at .*nope/);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const notDataset = await cli('stats', empty);
    assert.equal(notDataset.code, 1);
    assert.match(notDataset.stderr, /holds no records\.jsonl/);
    const file = join(root, 'afile');
    writeFileSync(file, 'x');
    const isFile = await cli('stats', '--dataset', file);
    assert.equal(isFile.code, 1);
    assert.match(isFile.stderr, /is a file, not a dataset folder/);
  });

  it('stats prints a summary, --json the numbers; corrupt lines are reported with line numbers', async () => {
    const text = await cli('stats', ds);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /records\s+\d+ \(verified \d+/);
    assert.match(text.stdout, /pass@1/);
    const json = await cli('stats', ds, '--json');
    assert.equal(json.code, 0);
    const stats = JSON.parse(json.stdout) as { records: number; verified: number };
    assert.ok(stats.records > stats.verified && stats.verified > 0);

    const bad = join(root, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, DATA_FILE), readFileSync(join(ds, DATA_FILE)));
    appendFileSync(join(bad, DATA_FILE), '{broken\n');
    const withBad = await cli('stats', bad, '--json');
    assert.equal(withBad.code, 0);
    assert.match(withBad.stderr, new RegExp(`line ${stats.records + 1}: corrupt line skipped`));
    assert.equal((JSON.parse(withBad.stdout) as { records: number }).records, stats.records);
  });
});
