// `crucible stats | head`: a reader that goes away must end the command quietly (exit 1, no stack trace).
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordFromOutcome } from '../../src/core/dataset/record';
import { openDataset } from '../../src/core/dataset/store';
import { easyOutcome, refinedOutcome } from '../fixtures/dataset/build';
import { REPO_ROOT, startCrucible } from '../fixtures/cli';
import { startOllamaServer } from '../fixtures/ollamaServer';

describe('CLI with a closed stdout', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crucible-pipe-'));
    const store = await openDataset(dir);
    for (let i = 0; i < 5; i++) {
      await store.append(recordFromOutcome(easyOutcome(`e${i}`), { extensionVersion: '0.0.0' }));
      await store.append(recordFromOutcome(refinedOutcome(`r${i}`), { extensionVersion: '0.0.0' }));
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const args of [['stats'], ['stats', '--json']]) {
    it(`crucible ${args.join(' ')} exits quietly when its reader is gone`, async () => {
      const run = startCrucible([...args, dir]);
      // Close our end before the CLI writes anything: its first write meets EPIPE.
      run.child.stdout!.destroy();
      const result = await run.done;
      assert.doesNotMatch(result.stderr, /Unhandled 'error' event|EPIPE|at .*\(node:/, result.stderr);
      assert.equal(result.code, 1);
    });
  }

  it('crucible solve (Outcomes on stdout) stops when its reader is gone and exits 1: not every task ran', async () => {
    const server = await startOllamaServer({
      respond: () => 'Here:\n```python\ndef add(a, b):\n    return a + b\n```\n',
    });
    try {
      const run = startCrucible([
        'solve',
        join(REPO_ROOT, 'test/fixtures/tasks/small.jsonl'),
        '--host',
        server.url,
        '--model',
        'qwen2.5-coder:7b',
        '--rounds',
        '0',
      ]);
      run.child.stdout!.destroy();
      const result = await run.done;
      assert.doesNotMatch(result.stderr, /Unhandled 'error' event|at .*\(node:/, result.stderr);
      assert.equal(result.code, 1, result.stderr);
    } finally {
      await server.close();
    }
  });
});
