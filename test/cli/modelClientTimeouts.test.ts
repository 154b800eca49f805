// The model client and the server fixtures where real time passes: first-token, stall and queue timeouts, retry
// backoff, a llama.cpp server still loading. Each test waits a second or more on purpose, so they are not in the
// unit tier (test/unit/modelClient.test.ts and openAiServers.test.ts hold the rest).
import { strict as assert } from 'node:assert';
import { createModelClient } from '../../src/core/model/client';
import type { ModelSettings } from '../../src/core/model/types';
import {
  closedPortUrl,
  scripted,
  startOllamaServer,
  type OllamaTestServer,
  type StartOptions,
} from '../fixtures/ollamaServer';
import { LLAMA_CPP_PATH, startOaiServer, type OaiTestServer } from '../fixtures/openAiServers';
import { events, post, rejectsWith, settingsFor, user } from '../fixtures/modelTests';

describe('model client: timeouts and retries (ollama provider)', () => {
  let server: OllamaTestServer;
  const start = async (opts: StartOptions = {}) => (server = await startOllamaServer(opts));
  afterEach(async () => {
    await server?.close();
  });

  it('first-token timeout fires while the model loads, and is separate from the stall timeout', async () => {
    await start({
      respond: scripted([
        { content: 'late', delayBeforeHeadersMs: 2000 },
        { content: 'slow start ok', delayBeforeHeadersMs: 300, chunkDelayMs: 5 },
      ]),
    });
    const quickFirst = createModelClient(
      settingsFor(server.url, { firstTokenTimeoutMs: 150, requestTimeoutMs: 5000, options: { num_ctx: 4096 } }),
    );
    const err = await rejectsWith(
      quickFirst.chat({ messages: user('x') }),
      'timeout',
      /first-token timeout.*firstTokenTimeoutSeconds/,
    );
    assert.equal(err.timeout, 'first-token');
    await server.waitForAborted(1, 500);
    // A 300 ms wait for the first token is fine when only the stall timeout (100 ms) is short.
    const shortStall = createModelClient(
      settingsFor(server.url, { firstTokenTimeoutMs: 2000, requestTimeoutMs: 100, options: { num_ctx: 4096 } }),
    );
    assert.equal((await shortStall.chat({ messages: user('y') })).text, 'slow start ok');
    // Headers first, then a long prompt evaluation: still the first-token timeout's business.
    server.respond = () => ({ content: 'evaluated', delayBeforeFirstChunkMs: 300 });
    assert.equal((await shortStall.chat({ messages: user('z') })).text, 'evaluated');
    server.respond = () => ({ content: 'never', delayBeforeFirstChunkMs: 2000 });
    const err2 = await rejectsWith(quickFirst.chat({ messages: user('w') }), 'timeout');
    assert.equal(err2.timeout, 'first-token');
  });

  it('retries idempotent calls after dropped connections and 503, with a limit', async () => {
    await start();
    const client = createModelClient(settingsFor(server.url, { maxRetries: 2 }));
    server.failNext('/api/tags', 2, 'drop');
    assert.equal((await client.listModels()).length, 2);
    assert.equal(server.requests.filter((r) => r.path === '/api/tags').length, 3);
    server.failNext('/api/version', 1, 503);
    assert.match(await client.version!(), /^\d+\.\d+\.\d+$/);
    server.failNext('/api/tags', 3, 'drop');
    await rejectsWith(client.listModels(), 'bad_response', /dropped before an answer while listing models/);
    server.failNext('/api/tags', 1, 401);
    await rejectsWith(client.listModels(), 'http', /HTTP 401.*crucible\.ollama\.headers/);
  });
});

describe('model client: timeouts (openai provider)', () => {
  let server: OllamaTestServer;
  afterEach(async () => {
    await server?.close();
  });
  const openai = (url: string, over: Partial<ModelSettings> = {}) =>
    createModelClient(settingsFor(url, { provider: 'openai', ...over }));

  it('faults: missing model, 500, malformed event, error mid-stream, cancel, both timeouts, dead host', async () => {
    server = await startOllamaServer({
      respond: scripted([
        { content: 'boom', fault: 'http-500' },
        { content: 'abcdefghij', chunkSize: 2, fault: 'malformed-json' },
        { content: 'z'.repeat(300), chunkSize: 1, chunkDelayMs: 10 },
      ]),
    });
    await rejectsWith(
      openai(server.url, { model: 'ghost' }).chat({ messages: user('x') }),
      'model_missing',
      /Model 'ghost' is not installed.*model "ghost" not found/,
    );
    const client = openai(`${server.url}/v1`);
    await rejectsWith(client.chat({ messages: user('x') }), 'http', /HTTP 500: boom/);
    await rejectsWith(client.chat({ messages: user('x') }), 'bad_response', /not JSON/);
    const ac = new AbortController();
    let n = 0;
    await rejectsWith(
      client.chat({
        messages: user('x'),
        signal: ac.signal,
        onToken: () => {
          if (++n === 3) ac.abort();
        },
      }),
      'cancelled',
    );
    await server.waitForAborted(1, 1000);
    // Headers at once, first chunk 300 ms later: judged by the first-token timeout, not the stall timeout.
    server.respond = scripted([
      { content: 'prompt took a while', delayBeforeFirstChunkMs: 300 },
      { content: 'abcdefgh', chunkSize: 2, fault: 'error-mid-stream', errorText: 'server overloaded' },
      { content: 'late', delayBeforeHeadersMs: 1000 },
      { content: 'abcdefgh', chunkSize: 2, fault: 'stall' },
    ]);
    assert.equal(
      (await openai(server.url, { firstTokenTimeoutMs: 2000, requestTimeoutMs: 100 }).chat({ messages: user('x') }))
        .text,
      'prompt took a while',
    );
    await rejectsWith(client.chat({ messages: user('x') }), 'http', /server overloaded/);
    const timed = openai(server.url, { firstTokenTimeoutMs: 100, requestTimeoutMs: 100 });
    await rejectsWith(timed.chat({ messages: user('x') }), 'timeout', /first-token timeout/);
    const stalled = await rejectsWith(timed.chat({ messages: user('x') }), 'timeout', /stall timeout/);
    assert.equal(stalled.partialText, 'abcd');
    const dead = await closedPortUrl();
    await rejectsWith(
      openai(dead).chat({ messages: user('x') }),
      'unreachable',
      /OpenAI-compatible server.*including \/v1/,
    );
  });
});

describe('model client: loading, queued, stalled', () => {
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('a llama.cpp server that is still loading when the first-token time is up says "still loading", not "cannot be reached"', async () => {
    const server = await startOaiServer({ flavor: 'llama.cpp', loadingMs: 60_000 });
    servers.push(server);
    const client = createModelClient(
      settingsFor(server.url, { provider: 'openai', model: 'm', firstTokenTimeoutMs: 1200 }),
    );
    const err = await rejectsWith(
      client.chat({ messages: user('hi') }),
      'loading',
      /still loading the model after \d+ s \(HTTP 503: Loading model\).*--first-token-timeout/,
    );
    assert.equal(err.status, 503);
    assert.ok(server.requests.length >= 2, 'it asked again meanwhile');
  });

  it('a request queued behind others that then gets no token says "queued"; a started answer that stops says "stalled"', async () => {
    const server = await startOllamaServer({
      numParallel: 1,
      respond: (body) => {
        const last = body.messages.at(-1)!.content;
        if (last === 'slow') return { content: 'a'.repeat(80), chunkSize: 8, chunkDelayMs: 100 };
        if (last === 'stuck') return { content: 'never', delayBeforeHeadersMs: 5000 };
        return { content: 'abcdefgh'.repeat(4), fault: 'stall' };
      },
    });
    servers.push(server);
    const client = createModelClient(settingsFor(server.url, { firstTokenTimeoutMs: 600, requestTimeoutMs: 500 }));
    const slow = client.chat({ messages: user('slow') });
    while (server.activeGenerations === 0) await new Promise((r) => setTimeout(r, 10));
    const stuck = client.chat({ messages: user('stuck') });
    await slow;
    const q = await rejectsWith(
      stuck,
      'timeout',
      /queued this request for .* behind other requests.*\(queued, then first-token timeout\).*--max-parallel/,
    );
    assert.equal(q.timeout, 'queued');
    const s = await rejectsWith(client.chat({ messages: user('stall') }), 'timeout', /stalled: it stopped streaming/);
    assert.equal(s.timeout, 'stall');
    assert.ok(s.usage && s.usage.completionTokens > 0, 'what streamed before the stall is counted');
  });
});

describe('llama.cpp fixture while loading', () => {
  let server: OaiTestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('llama.cpp: 503 "Loading model" on every path while loading; then the GGUF path as model id, /props, any model name', async () => {
    server = await startOaiServer({
      flavor: 'llama.cpp',
      loadingMs: 1500,
      nCtx: 4096,
      slots: 2,
      respond: () => ({ content: 'ok', reasoning: 'hm' }),
    });
    for (const path of ['/v1/models', '/props', '/health']) {
      const res: Response = await fetch(`${server.root}${path}`);
      assert.equal(res.status, 503, path);
      assert.deepEqual(await res.json(), { error: { message: 'Loading model', type: 'unavailable_error', code: 503 } });
    }
    // Ready signal: /health turns 200 once the model has loaded.
    while ((await fetch(`${server.root}/health`)).status === 503) await new Promise((r) => setTimeout(r, 50));
    const models = await (await fetch(`${server.url}/models`)).json();
    assert.equal(models.data.length, 1);
    assert.equal(models.data[0].id, LLAMA_CPP_PATH);
    assert.equal(models.data[0].meta.n_ctx_train, 32768);
    const props = await (await fetch(`${server.root}/props`)).json();
    assert.equal(props.default_generation_settings.n_ctx, 4096);
    assert.equal(props.total_slots, 2);
    const data = await events(
      await post(`${server.url}/chat/completions`, {
        model: 'whatever-you-like',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      }),
    );
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.reasoning_content ?? '').join(''), 'hm');
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'ok');
  });
});
