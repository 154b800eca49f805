// Opt-in: runs against a real Ollama when OLLAMA_HOST is set (e.g. OLLAMA_HOST=http://127.0.0.1:11434,
// optionally CRUCIBLE_MODEL=qwen2.5-coder:1.5b). Skipped otherwise; no other test needs a real server.
import { strict as assert } from 'node:assert';
import { createModelClient } from '../../src/core/model/client';
import { ModelError } from '../../src/core/model/errors';
import { extractCode } from '../../src/core/model/extract';
import { hostFromEnv } from '../../src/cli/modelOptions';
import type { ModelSettings } from '../../src/core/model/types';

describe('real Ollama (opt-in: set OLLAMA_HOST)', function () {
  this.timeout(10 * 60 * 1000);
  let settings: ModelSettings;

  before(function () {
    const host = hostFromEnv(process.env.OLLAMA_HOST);
    if (!host) {
      console.log('    (skipped: set OLLAMA_HOST=http://127.0.0.1:11434 to run against a real Ollama)');
      this.skip();
    }
    settings = {
      provider: 'ollama',
      host: host!,
      model: process.env.CRUCIBLE_MODEL || 'qwen2.5-coder:7b',
      options: { temperature: 0, seed: 1, num_predict: 200 },
      keepAlive: '5m',
      firstTokenTimeoutMs: 5 * 60 * 1000,
      requestTimeoutMs: 60 * 1000,
      maxParallel: 1,
      headers: {},
      maxRetries: 1,
    };
  });

  it('reports a version, lists models and reads the context length', async function () {
    const client = createModelClient(settings);
    assert.match(await client.version!(), /\d+\.\d+/);
    const models = await client.listModels();
    if (!models.some((m) => m.name === settings.model || m.name === `${settings.model}:latest`)) {
      console.log(`    (skipped: ${settings.model} is not installed; set CRUCIBLE_MODEL to an installed model)`);
      this.skip();
    }
    const ctx = await client.contextLength();
    assert.ok(ctx !== undefined && ctx >= 512, `context length ${ctx}`);
  });

  it('streams an answer with usage, and code can be extracted from it', async function () {
    const client = createModelClient(settings);
    const models = await client.listModels();
    if (!models.some((m) => m.name === settings.model || m.name === `${settings.model}:latest`)) this.skip();
    let tokens = 0;
    const r = await client.chat({
      messages: [
        {
          role: 'user',
          content: 'Write a Python function add(a, b) that returns a + b. Answer with one ```python block only.',
        },
      ],
      onToken: () => tokens++,
    });
    assert.ok(tokens > 1);
    assert.ok(r.usage.completionTokens > 0 && r.usage.promptTokens > 0 && r.usage.durationMs > 0);
    const code = extractCode(r.text, 'python', 'add');
    assert.ok(code.code !== null && /def add/.test(code.code), r.text);
  });

  it('cancel stops the request', async function () {
    const client = createModelClient({ ...settings, options: { ...settings.options, num_predict: 2000 } });
    const models = await client.listModels();
    if (!models.some((m) => m.name === settings.model || m.name === `${settings.model}:latest`)) this.skip();
    const ac = new AbortController();
    let n = 0;
    await assert.rejects(
      client.chat({
        messages: [{ role: 'user', content: 'Count from 1 to 500, one number per line.' }],
        signal: ac.signal,
        onToken: () => {
          if (++n === 5) ac.abort();
        },
      }),
      (err: unknown) => err instanceof ModelError && err.kind === 'cancelled',
    );
  });

  it('a missing model names `ollama pull`', async () => {
    const client = createModelClient({ ...settings, model: 'crucible-no-such-model:0b' });
    await assert.rejects(
      client.chat({ messages: [{ role: 'user', content: 'hi' }] }),
      (err: unknown) => err instanceof ModelError && err.kind === 'model_missing' && /ollama pull/.test(err.message),
    );
  });
});
