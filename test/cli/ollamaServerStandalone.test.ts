// The Ollama-protocol test server run standalone, as its own process (through tsx), the way a developer
// points the extension at it by hand.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ollama } from 'ollama';

describe('ollama test server, standalone', () => {
  it('runs standalone with a reply script and prints its URL', async function () {
    this.timeout(20000);
    const dir = mkdtempSync(join(tmpdir(), 'crucible-ollama-'));
    try {
      writeFileSync(join(dir, 'replies.json'), JSON.stringify(['first', { content: 'second' }]));
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(__dirname, '../fixtures/ollamaServer.ts'),
          '--port',
          '0',
          '--script',
          join(dir, 'replies.json'),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (d) => {
            out += String(d);
            if (out.includes('\n')) resolve(out.split('\n')[0]!);
          });
          child.on('exit', (code) => reject(new Error(`exited ${code}`)));
        });
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
        const client = new Ollama({ host: url });
        const a = await client.chat({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: '1' }] });
        const b = await client.chat({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: '2' }] });
        const c = await client.chat({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: '3' }] });
        assert.deepEqual([a.message.content, b.message.content, c.message.content], ['first', 'second', 'second']);
      } finally {
        child.kill('SIGTERM');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
