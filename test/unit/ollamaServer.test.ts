// The Ollama-protocol test server, exercised through the real `ollama` client and plain fetch.
// (Run standalone as its own process: test/cli/ollamaServerStandalone.test.ts.)
import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import { closedPortUrl, scripted, startOllamaServer, type OllamaTestServer } from '../fixtures/ollamaServer';

describe('ollama test server', () => {
  let server: OllamaTestServer;
  afterEach(async () => {
    await server?.close();
  });

  it('streams /api/chat as NDJSON ending with done and usage, through the ollama client', async () => {
    server = await startOllamaServer({
      respond: () => ({ content: 'def add(a, b):\n    return a + b\n', chunkSize: 5, promptTokens: 42, evalTokens: 9 }),
    });
    const client = new Ollama({ host: server.url });
    const stream = await client.chat({
      model: 'qwen2.5-coder:7b',
      messages: [{ role: 'user', content: 'add' }],
      stream: true,
    });
    const pieces: string[] = [];
    let last: any;
    for await (const part of stream) {
      pieces.push(part.message.content);
      last = part;
    }
    assert.equal(pieces.join(''), 'def add(a, b):\n    return a + b\n');
    assert.ok(pieces.length > 5, `expected several chunks, got ${pieces.length}`);
    assert.equal(last.done, true);
    assert.equal(last.done_reason, 'stop');
    assert.equal(last.prompt_eval_count, 42);
    assert.equal(last.eval_count, 9);
    assert.ok(last.total_duration > 0 && last.eval_duration > 0);
    assert.equal(server.requests[0]!.path, '/api/chat');
    assert.equal(server.requests[0]!.body.messages[0].content, 'add');
  });

  it('answers stream:false chat and /api/generate, passing index and body to the responder', async () => {
    const seen: { index: number; model: string; first: string }[] = [];
    server = await startOllamaServer({
      respond: (body, index) => {
        seen.push({ index, model: body.model, first: body.messages[0]!.content });
        return `answer ${index}`;
      },
    });
    const client = new Ollama({ host: server.url });
    const chat = await client.chat({
      model: 'qwen2.5-coder:7b',
      messages: [{ role: 'user', content: 'hi' }],
      stream: false,
    });
    assert.equal(chat.message.content, 'answer 0');
    assert.equal(chat.done, true);
    const gen = await client.generate({ model: 'llama3.2', prompt: 'why', system: 'sys', stream: false });
    assert.equal(gen.response, 'answer 1');
    assert.deepEqual(seen, [
      { index: 0, model: 'qwen2.5-coder:7b', first: 'hi' },
      { index: 1, model: 'llama3.2', first: 'sys' },
    ]);
  });

  it('lists models, shows context length, reports version and 404s unknown models', async () => {
    server = await startOllamaServer({
      models: [{ name: 'tiny:1b', contextLength: 4096, family: 'gemma3', parameterSize: '1B', sizeBytes: 815_000_000 }],
    });
    const client = new Ollama({ host: server.url });
    const list = await client.list();
    assert.equal(list.models.length, 1);
    assert.equal(list.models[0]!.name, 'tiny:1b');
    assert.equal(list.models[0]!.size, 815_000_000);
    assert.equal(list.models[0]!.details.parameter_size, '1B');
    const show = (await client.show({ model: 'tiny:1b' })) as any;
    assert.equal(show.model_info['gemma3.context_length'], 4096);
    assert.match((await client.version()).version, /^\d+\.\d+\.\d+$/);
    await assert.rejects(
      client.show({ model: 'nope' }),
      (err: any) => err.status_code === 404 && /model 'nope' not found/.test(err.message),
    );
    await assert.rejects(
      client.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }], stream: true }),
      (err: any) => err.status_code === 404 && /model 'nope' not found/.test(err.message),
    );
  });

  it('streams pull progress with digest/total/completed and installs pullable models', async () => {
    server = await startOllamaServer({ models: [], pullable: ['phi4-mini'] });
    const client = new Ollama({ host: server.url });
    const progress: any[] = [];
    for await (const p of await client.pull({ model: 'phi4-mini', stream: true })) progress.push(p);
    assert.equal(progress[0].status, 'pulling manifest');
    assert.equal(progress.at(-1).status, 'success');
    const downloads = progress.filter((p) => p.digest);
    assert.ok(downloads.length >= 4);
    assert.ok(downloads.some((p) => p.completed === p.total && p.total > 0));
    assert.deepEqual(
      (await client.list()).models.map((m) => m.name),
      ['phi4-mini:latest'],
    );
    const bad = await client.pull({ model: 'no-such-model', stream: true });
    await assert.rejects(
      (async () => {
        for await (const _ of bad) void _;
      })(),
      /file does not exist/,
    );
  });

  it('counts a stream the client aborts, and frees the connection', async () => {
    server = await startOllamaServer({ respond: () => ({ content: 'x'.repeat(400), chunkSize: 1, chunkDelayMs: 20 }) });
    const client = new Ollama({ host: server.url });
    const stream = await client.chat({
      model: 'qwen2.5-coder:7b',
      messages: [{ role: 'user', content: 'go' }],
      stream: true,
    });
    let n = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of stream) {
          if (++n === 3) stream.abort();
        }
      })(),
      (err: Error) => err.name === 'AbortError',
    );
    await server.waitForAborted(1, 1000);
    assert.equal(server.abortedStreams, 1);
  });

  it('injects faults: 500, drop, truncated, malformed line, stall, slow headers', async () => {
    server = await startOllamaServer({
      respond: scripted([
        { content: 'out of memory', fault: 'http-500' },
        { content: 'abcdefghijklmnop', chunkSize: 2, fault: 'drop-mid-stream' },
        { content: 'abcdefghijklmnop', chunkSize: 2, fault: 'truncated' },
        { content: 'abcdefghijklmnop', chunkSize: 2, fault: 'malformed-json' },
        { content: 'abcdefghijklmnop', chunkSize: 2, fault: 'stall' },
        { content: 'late', delayBeforeHeadersMs: 150 },
      ]),
    });
    const url = `${server.url}/api/chat`;
    const post = (signal?: AbortSignal): Promise<Response> =>
      fetch(url, {
        method: 'POST',
        body: JSON.stringify({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'x' }] }),
        ...(signal ? { signal } : {}),
      });
    const r500 = await post();
    assert.equal(r500.status, 500);
    assert.deepEqual(await r500.json(), { error: 'out of memory' });
    const drop = await post();
    await assert.rejects(drop.text(), /terminated/);
    const truncated = await (await post()).text();
    assert.ok(!truncated.includes('"done":true'));
    assert.equal(truncated.trim().split('\n').length, 4);
    const malformed = (await (await post()).text()).trim().split('\n');
    assert.equal(
      malformed.filter((l) => {
        try {
          JSON.parse(l);
          return false;
        } catch {
          return true;
        }
      }).length,
      1,
    );
    assert.ok(malformed.at(-1)!.includes('"done":true'));
    const ac = new AbortController();
    const stall = await post(ac.signal);
    const reader = stall.body!.getReader();
    await reader.read();
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(
      (async () => {
        for (;;) {
          const r = await reader.read();
          if (r.done) break;
        }
      })(),
    );
    await server.waitForAborted(1, 1000);
    const t0 = Date.now();
    const late = await post();
    assert.ok(Date.now() - t0 >= 140, 'headers should wait delayBeforeHeadersMs');
    assert.equal(late.status, 200);
  });

  it('serves OpenAI-compatible SSE and non-streamed completions and /v1/models', async () => {
    server = await startOllamaServer({
      respond: () => ({ content: 'hello world', chunkSize: 3, promptTokens: 7, evalTokens: 4 }),
    });
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t0ken' },
      body: JSON.stringify({
        model: 'qwen2.5-coder:7b',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = (await res.text())
      .split('\n\n')
      .filter(Boolean)
      .map((e) => e.replace(/^data: /, ''));
    assert.equal(events.at(-1), '[DONE]');
    const parsed = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.equal(parsed.map((p) => p.choices[0]?.delta?.content ?? '').join(''), 'hello world');
    assert.deepEqual(parsed.at(-1).usage, { prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 });
    assert.equal(server.requests[0]!.headers.authorization, 'Bearer t0ken');
    const whole = await (
      await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'qwen2.5-coder:7b', messages: [] }),
      })
    ).json();
    assert.equal(whole.choices[0].message.content, 'hello world');
    const models = await (await fetch(`${server.url}/v1/models`)).json();
    assert.deepEqual(
      models.data.map((m: any) => m.id),
      ['qwen2.5-coder:7b', 'llama3.2:latest'],
    );
    const missing = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'ghost', messages: [] }),
    });
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).error.message, /model "ghost" not found/);
  });

  it('closedPortUrl refuses connections', async () => {
    server = await startOllamaServer();
    const dead = await closedPortUrl();
    await assert.rejects(
      new Ollama({ host: dead }).list(),
      (err: any) => /fetch failed/.test(err.message) && err.cause?.code === 'ECONNREFUSED',
    );
  });
});
