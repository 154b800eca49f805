// The real entry point, dist/cli.js, for commands whose other tests run them in-process (test/unit/cliExport and
// test/unit/modelCli): exit codes and output of a real process.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCrucible } from '../fixtures/cli';
import { writeFixtureDataset } from '../fixtures/dataset/build';
import { startOllamaServer, type OllamaTestServer } from '../fixtures/ollamaServer';

describe('crucible entry point (spawned dist/cli.js)', function () {
  this.timeout(60_000);
  let root: string;
  let server: OllamaTestServer;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'crucible-cli-entry-'));
    await writeFixtureDataset(join(root, 'ds'));
    server = await startOllamaServer({
      models: [
        {
          name: 'qwen2.5-coder:7b',
          contextLength: 32768,
          family: 'qwen2',
          parameterSize: '7.6B',
          sizeBytes: 4_683_087_332,
        },
        { name: 'tiny:1b', contextLength: 2048, family: 'gemma3', parameterSize: '1B', sizeBytes: 815_000_000 },
      ],
    });
  });
  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('stats and export run as a real process with exit codes', async () => {
    const ok = await runCrucible(['stats', join(root, 'ds'), '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok((JSON.parse(ok.stdout) as { records: number }).records > 0);
    const bad = await runCrucible(['export', join(root, 'nope'), '--format', 'sft']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /No dataset folder/);
  });

  it('models --json against the test server', async () => {
    // Asynchronous on purpose: the test server lives in this process and must keep answering.
    const r = await runCrucible(['models', '--host', server.url, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout).map((m: { name: string }) => m.name),
      ['qwen2.5-coder:7b', 'tiny:1b'],
    );
  });
});
