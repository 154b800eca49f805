// The model client against the Ollama-protocol test server: real HTTP, the real `ollama` package.
// (Timeouts, retry backoff and loading servers, which take real time: test/cli/modelClientTimeouts.test.ts.)
import { strict as assert } from 'node:assert';
import { createModelClient, DEFAULT_NUM_CTX_CAP, redactSettings } from '../../src/core/model/client';
import { ModelError } from '../../src/core/model/errors';
import type { ModelSettings } from '../../src/core/model/types';
import { retryAfterMs, retryDelay } from '../../src/core/model/transport';
import {
  closedPortUrl,
  scripted,
  startOllamaServer,
  type OllamaTestServer,
  type StartOptions,
} from '../fixtures/ollamaServer';
import { MODEL, rejectsWith, settingsFor, user } from '../fixtures/modelTests';

describe('model client (ollama provider)', () => {
  let server: OllamaTestServer;
  const start = async (opts: StartOptions = {}) => (server = await startOllamaServer(opts));
  afterEach(async () => {
    await server?.close();
  });

  it('streams tokens, keeps usage, and sends options, think: false and keep_alive; no num_ctx when /api/ps reports the window', async () => {
    await start({
      respond: () => ({ content: 'def f():\n    return 1\n', chunkSize: 4, promptTokens: 33, evalTokens: 7 }),
    });
    const client = createModelClient(settingsFor(server.url, { options: { temperature: 0.3, seed: 5 } }));
    const tokens: string[] = [];
    const result = await client.chat({
      messages: user('write f'),
      options: { temperature: 0.7 },
      onToken: (t) => tokens.push(t),
    });
    assert.equal(result.text, 'def f():\n    return 1\n');
    assert.ok(tokens.length >= 5);
    assert.equal(tokens.join(''), result.text);
    assert.equal(result.model, MODEL);
    assert.equal(result.doneReason, 'stop');
    assert.equal(result.usage.promptTokens, 33);
    assert.equal(result.usage.completionTokens, 7);
    assert.ok(result.usage.durationMs > 0);
    const chat = server.requests.find((r) => r.path === '/api/chat')!;
    assert.equal(chat.body.stream, true);
    assert.equal(chat.body.keep_alive, '10m');
    assert.equal(chat.body.think, false);
    // The loaded model's window comes from /api/ps: sending num_ctx would override OLLAMA_CONTEXT_LENGTH and reload it.
    assert.deepEqual(chat.body.options, { temperature: 0.7, seed: 5 });
    assert.equal(await client.contextLength(), 32768);
    // Decided once per model, not per request.
    await client.chat({ messages: user('again') });
    assert.equal(server.requests.filter((r) => r.path === '/api/show').length, 1);
    assert.equal(server.requests.filter((r) => r.path === '/api/ps').length, 1);
    assert.equal(server.requests.filter((r) => r.path === '/api/chat').length, 2);
  });

  it('num_ctx: loads a model that is not loaded to read its window; an Ollama without ps context_length gets the capped trained context', async () => {
    await start({
      models: [{ name: MODEL, contextLength: 32768, family: 'qwen2', loaded: false, loadedContext: 8192 }],
    });
    const client = createModelClient(settingsFor(server.url));
    assert.equal(await client.contextLength(), 8192);
    const load = server.requests.find((r) => r.path === '/api/chat')!;
    assert.deepEqual(load.body.messages, []);
    await client.chat({ messages: user('hi') });
    const chats = server.requests.filter((r) => r.path === '/api/chat');
    assert.equal(chats.length, 2);
    assert.equal(chats[1]!.body.options.num_ctx, undefined);
    await server.close();
    await start({ reportsContext: false });
    const old = createModelClient(settingsFor(server.url));
    await old.chat({ messages: user('hi') });
    assert.equal(
      server.requests.find((r) => r.path === '/api/chat')!.body.options.num_ctx,
      Math.min(32768, DEFAULT_NUM_CTX_CAP),
    );
    assert.equal(await old.contextLength(), DEFAULT_NUM_CTX_CAP);
  });

  it('sends an explicit num_ctx without asking /api/show, and a numeric keep_alive for "-1"', async () => {
    await start();
    const client = createModelClient(settingsFor(server.url, { options: { num_ctx: 8192 }, keepAlive: '-1' }));
    const r = await client.chat({ messages: user('hi') });
    assert.equal(r.text, 'Hello from the Crucible test server.');
    const chat = server.requests.find((q) => q.path === '/api/chat')!;
    assert.equal(chat.body.options.num_ctx, 8192);
    assert.equal(chat.body.keep_alive, -1);
    assert.equal(server.requests.filter((q) => q.path === '/api/show').length, 0);
    assert.equal(await client.contextLength(), 8192);
  });

  it('cancel mid-stream rejects with cancelled, keeps the partial text and closes the connection within 100 ms', async () => {
    await start({ respond: () => ({ content: 'y'.repeat(500), chunkSize: 1, chunkDelayMs: 10 }) });
    const client = createModelClient(settingsFor(server.url, { options: { num_ctx: 4096 } }));
    // Measured on the second cancel: the first one in a process also pays for lazily loaded abort code
    // (about 30-100 ms on a loaded machine), which is not connection time.
    for (const round of [0, 1]) {
      const ac = new AbortController();
      let seen = 0;
      let t0 = 0;
      const p = client.chat({
        messages: user('long'),
        signal: ac.signal,
        onToken: () => {
          if (++seen === 5) {
            t0 = performance.now();
            ac.abort();
          }
        },
      });
      const err = await rejectsWith(p, 'cancelled');
      assert.ok((err.partialText ?? '').length >= 5);
      await server.waitForAborted(round + 1, 2000);
      const released = server.abortTimes[round]! - t0;
      if (round === 1) assert.ok(released < 100, `connection released after ${released} ms`);
    }
    assert.equal(server.requests.filter((r) => r.path === '/api/chat').length, 2);
  });

  it('an already-aborted signal never sends the request', async () => {
    await start();
    const client = createModelClient(settingsFor(server.url, { options: { num_ctx: 4096 } }));
    const ac = new AbortController();
    ac.abort();
    await rejectsWith(client.chat({ messages: user('x'), signal: ac.signal }), 'cancelled');
    assert.equal(server.requests.filter((r) => r.path === '/api/chat').length, 0);
  });

  it('stall timeout fires when a started stream stops, keeping the partial text', async () => {
    await start({ respond: () => ({ content: 'abcdefghijklmnop', chunkSize: 2, fault: 'stall' }) });
    const client = createModelClient(
      settingsFor(server.url, { firstTokenTimeoutMs: 5000, requestTimeoutMs: 150, options: { num_ctx: 4096 } }),
    );
    const err = await rejectsWith(
      client.chat({ messages: user('x') }),
      'timeout',
      /stall timeout.*stallTimeoutSeconds/,
    );
    assert.equal(err.timeout, 'stall');
    assert.equal(err.partialText, 'abcdefgh');
    await server.waitForAborted(1, 500);
  });

  it('a dead server is unreachable, with the fix in the message, for chat and for listing', async () => {
    const dead = await closedPortUrl();
    server = await startOllamaServer();
    // No retries: the backoff after a refused connection is tested in test/cli/modelClientTimeouts.test.ts.
    const client = createModelClient(settingsFor(dead, { maxRetries: 0 }));
    await rejectsWith(
      client.chat({ messages: user('x') }),
      'unreachable',
      /Cannot reach Ollama at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. Start it with `ollama serve` or set crucible\.ollama\.host/,
    );
    await rejectsWith(client.listModels(), 'unreachable', /ollama serve/);
    await rejectsWith(
      createModelClient(settingsFor(dead, { maxRetries: 0, options: { num_ctx: 2048 } })).chat({ messages: user('x') }),
      'unreachable',
    );
    // A port fetch refuses to use names the reason instead of a bare "fetch failed".
    await rejectsWith(
      createModelClient(settingsFor('http://127.0.0.1:1', { maxRetries: 0 })).listModels(),
      'unreachable',
      /\(bad port\)/,
    );
  });

  it('a missing model names `ollama pull` and Select Model (both via /api/show and via /api/chat)', async () => {
    await start();
    const pinned = createModelClient(settingsFor(server.url, { model: 'ghost:1b' }));
    await rejectsWith(
      pinned.chat({ messages: user('x') }),
      'model_missing',
      /Model 'ghost:1b' is not installed.*`ollama pull ghost:1b`.*Crucible: Select Model/,
    );
    const explicit = createModelClient(settingsFor(server.url, { model: 'ghost:1b', options: { num_ctx: 2048 } }));
    const err = await rejectsWith(
      explicit.chat({ messages: user('x') }),
      'model_missing',
      /model 'ghost:1b' not found/,
    );
    assert.equal(err.status, 404);
  });

  it("HTTP 500 shows Ollama's own error text and where to look", async () => {
    await start({
      respond: () => ({ content: 'llama runner process has terminated: signal: killed', fault: 'http-500' }),
    });
    const client = createModelClient(settingsFor(server.url, { options: { num_ctx: 4096 } }));
    const err = await rejectsWith(
      client.chat({ messages: user('x') }),
      'http',
      /HTTP 500: llama runner process has terminated: signal: killed\. Check Ollama's log/,
    );
    assert.equal(err.status, 500);
  });

  it('a malformed JSON line fails the answer as bad_response (not silently skipped)', async () => {
    await start({ respond: () => ({ content: 'abcdefghijklmnop', chunkSize: 2, fault: 'malformed-json' }) });
    const client = createModelClient(settingsFor(server.url, { options: { num_ctx: 4096 } }));
    const err = await rejectsWith(
      client.chat({ messages: user('x') }),
      'bad_response',
      /not JSON.*malformed JSON line/,
    );
    assert.equal(err.partialText, 'abcdefgh');
  });

  it('a connection dropped mid-stream is bad_response with the partial text; chat is not retried', async () => {
    await start({ respond: () => ({ content: 'abcdefghijklmnop', chunkSize: 2, fault: 'drop-mid-stream' }) });
    const client = createModelClient(settingsFor(server.url, { options: { num_ctx: 4096 } }));
    const err = await rejectsWith(
      client.chat({ messages: user('x') }),
      'bad_response',
      /dropped while generating.*after 8 characters.*Try again/,
    );
    assert.equal(err.partialText, 'abcdefgh');
    assert.equal(server.requests.filter((r) => r.path === '/api/chat').length, 1);
  });

  it('an error line inside a started stream is http with the server text, keeping the partial text', async () => {
    await start({
      respond: () => ({
        content: 'abcdefghijklmnop',
        chunkSize: 2,
        fault: 'error-mid-stream',
        errorText: 'CUDA error: out of memory',
      }),
    });
    const client = createModelClient(settingsFor(server.url, { options: { num_ctx: 4096 } }));
    const err = await rejectsWith(
      client.chat({ messages: user('x') }),
      'http',
      /reported an error while generating with qwen2\.5-coder:7b: CUDA error: out of memory\..*too little memory/,
    );
    assert.equal(err.partialText, 'abcdefgh');
  });

  it('a stream that ends without its done message is bad_response', async () => {
    await start({ respond: () => ({ content: 'abcdefghijklmnop', chunkSize: 2, fault: 'truncated' }) });
    const client = createModelClient(settingsFor(server.url, { options: { num_ctx: 4096 } }));
    await rejectsWith(client.chat({ messages: user('x') }), 'bad_response', /ended early/);
  });

  it('an empty answer is bad_response naming num_predict when it hit the limit', async () => {
    await start({
      respond: scripted([
        { content: '   ', doneReason: 'length' },
        { content: '', doneReason: 'stop' },
      ]),
    });
    const client = createModelClient(settingsFor(server.url, { options: { num_ctx: 4096 } }));
    await rejectsWith(
      client.chat({ messages: user('x') }),
      'bad_response',
      /empty answer \(done_reason: length\).*numPredict/,
    );
    await rejectsWith(client.chat({ messages: user('x') }), 'bad_response', /empty answer \(done_reason: stop\)/);
  });

  it('custom headers reach the server on every call and never appear in errors or redacted settings', async () => {
    await start({ respond: () => ({ content: 'x', fault: 'http-500' }) });
    const secret = 'Bearer s3cr3t-token';
    const s = settingsFor(server.url, { headers: { Authorization: secret, 'X-Team': 'red' } });
    const client = createModelClient(s);
    await client.listModels();
    await client.version!();
    const err = await rejectsWith(client.chat({ messages: user('x') }), 'http');
    for (const path of ['/api/tags', '/api/version', '/api/show', '/api/chat']) {
      const r = server.requests.find((q) => q.path === path)!;
      assert.equal(r.headers.authorization, secret, path);
      assert.equal(r.headers['x-team'], 'red', path);
    }
    assert.ok(!err.message.includes('s3cr3t') && !String(err.stack).includes('s3cr3t'));
    assert.ok(!JSON.stringify(redactSettings(s)).includes('s3cr3t'));
    assert.deepEqual(redactSettings(s).headers, ['Authorization', 'X-Team']);
  });

  it('keeps at most maxParallel chats in flight; queued ones can be cancelled', async () => {
    await start({ respond: (_b, i) => ({ content: `answer-${i}`, chunkSize: 1, chunkDelayMs: 15 }) });
    const client = createModelClient(settingsFor(server.url, { maxParallel: 2, options: { num_ctx: 4096 } }));
    const ac = new AbortController();
    const runs = [0, 1, 2, 3, 4].map((i) =>
      client.chat({ messages: user(`q${i}`), ...(i === 4 ? { signal: ac.signal } : {}) }),
    );
    while (server.activeGenerations < 2) await new Promise((r) => setTimeout(r, 5)); // both answers have started
    assert.deepEqual(client.load, { active: 2, queued: 3, capacity: 2 });
    ac.abort();
    const settled = await Promise.allSettled(runs);
    assert.equal(settled.filter((s) => s.status === 'fulfilled').length, 4);
    const last = settled[4]!;
    assert.ok(last.status === 'rejected' && last.reason instanceof ModelError && last.reason.kind === 'cancelled');
    assert.equal(server.maxActiveGenerations, 2);
    assert.equal(server.requests.filter((r) => r.path === '/api/chat').length, 4);
  });

  it('lists models with size and parameter size, and reads context length (loaded, small, Modelfile, unknown)', async () => {
    await start({
      models: [
        { name: 'big:70b', contextLength: 131072, family: 'llama', parameterSize: '70B', sizeBytes: 42_000_000_000 },
        { name: 'small:1b', contextLength: 2048, family: 'gemma3' },
        { name: 'custom:latest', family: 'qwen2', numCtxParameter: 6144 },
      ],
    });
    const client = createModelClient(settingsFor(server.url, { model: 'big:70b' }));
    const models = await client.listModels();
    assert.deepEqual(models[0], {
      name: 'big:70b',
      sizeBytes: 42_000_000_000,
      parameterSize: '70B',
      family: 'llama',
      modifiedAt: '2026-01-01T00:00:00Z',
    });
    // The loaded window (/api/ps), not the trained one.
    assert.equal(await client.contextLength(), 32768);
    assert.equal((await client.showModel('big:70b')).contextLength, 131072);
    assert.equal(await client.contextLength('small:1b'), 2048);
    assert.equal(await client.contextLength('custom'), 6144);
    await rejectsWith(client.contextLength('nope:1b'), 'model_missing', /ollama pull nope:1b/);
  });

  it('pulls with streamed progress; an unknown name says where to look', async () => {
    await start({ models: [], pullable: ['tiny:1b'], pullChunkDelayMs: 2 });
    const client = createModelClient(settingsFor(server.url, { model: 'tiny:1b' }));
    const progress: { status: string; completed?: number; total?: number }[] = [];
    await client.pull!('tiny:1b', (p) => progress.push(p));
    assert.equal(progress[0]!.status, 'pulling manifest');
    assert.equal(progress.at(-1)!.status, 'success');
    assert.ok(progress.some((p) => p.total !== undefined && p.completed === p.total));
    assert.deepEqual(
      (await client.listModels()).map((m) => m.name),
      ['tiny:1b'],
    );
    await rejectsWith(
      client.pull!('nonexistent', () => {}),
      'model_missing',
      /cannot pull 'nonexistent'.*ollama\.com\/library/,
    );
  });

  it('pull can be cancelled and closes its connection', async () => {
    await start({ models: [], pullable: ['tiny:1b'], pullChunkDelayMs: 30 });
    const client = createModelClient(settingsFor(server.url));
    const ac = new AbortController();
    const p = client.pull!(
      'tiny:1b',
      (pr) => {
        if (pr.completed) ac.abort();
      },
      ac.signal,
    );
    await rejectsWith(p, 'cancelled');
    await server.waitForAborted(1, 500);
    assert.deepEqual(server.models, []);
  });
});

describe('model client (openai provider)', () => {
  let server: OllamaTestServer;
  afterEach(async () => {
    await server?.close();
  });
  const openai = (url: string, over: Partial<ModelSettings> = {}) =>
    createModelClient(settingsFor(url, { provider: 'openai', ...over }));

  it('streams SSE, keeps usage, maps options, sends headers, and appends /v1 to a bare host', async () => {
    server = await startOllamaServer({
      respond: () => ({ content: 'print("hi")', chunkSize: 3, promptTokens: 12, evalTokens: 5 }),
    });
    const client = openai(server.url, {
      headers: { Authorization: 'Bearer abc' },
      options: { temperature: 0.1, num_predict: 99, seed: 3, stop: ['###'] },
    });
    assert.equal(client.settings.host, `${server.url}/v1`);
    const tokens: string[] = [];
    const r = await client.chat({ messages: user('hi'), onToken: (t) => tokens.push(t) });
    assert.equal(r.text, 'print("hi")');
    assert.ok(tokens.length >= 3);
    assert.deepEqual({ p: r.usage.promptTokens, c: r.usage.completionTokens }, { p: 12, c: 5 });
    assert.equal(r.doneReason, 'stop');
    const req = server.requests.find((q) => q.path === '/v1/chat/completions')!;
    assert.equal(req.headers.authorization, 'Bearer abc');
    assert.equal(req.body.max_tokens, 99);
    assert.equal(req.body.temperature, 0.1);
    assert.equal(req.body.seed, 3);
    assert.deepEqual(req.body.stop, ['###']);
    assert.deepEqual(
      (await client.listModels()).map((m) => m.name),
      ['qwen2.5-coder:7b', 'llama3.2:latest'],
    );
    assert.equal(await client.contextLength(), undefined);
    assert.equal(await openai(server.url, { options: { num_ctx: 8192 } }).contextLength(), 8192);
  });
});

describe('model client: what the error says (unreachable, loading, queued, stalled) and when a request is sent again', () => {
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('retryDelay: 503 waits as long as a load may take, honouring Retry-After; refused connections a few times; other chat failures never', () => {
    const s = { firstTokenTimeoutMs: 10_000, maxRetries: 2 };
    const loading = new ModelError('loading', 'loading', { status: 503, retryAfterMs: 1500, neverProcessed: true });
    assert.equal(retryDelay(loading, 7, 9_000, s, false), 1000, 'never past the first-token budget');
    assert.equal(retryDelay(loading, 7, 2_000, s, false), 1500, 'Retry-After wins over the backoff');
    assert.equal(retryDelay(loading, 0, 10_001, s, false), undefined);
    const refused = new ModelError('unreachable', 'Cannot reach Ollama at x (ECONNREFUSED).', { neverProcessed: true });
    assert.ok(retryDelay(refused, 1, 0, s, false)! > 0);
    assert.equal(retryDelay(refused, 2, 0, s, false), undefined);
    const dropped = new ModelError('bad_response', 'dropped', { retryable: true });
    assert.equal(
      retryDelay(dropped, 0, 0, s, false),
      undefined,
      'a started generation is not sent again by the client',
    );
    assert.ok(retryDelay(dropped, 0, 0, s, true)! > 0, 'an idempotent call is');
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(new Date(Date.now() + 60_000).toUTCString())! > 50_000, true);
    assert.equal(retryAfterMs('soon'), undefined);
  });
});
