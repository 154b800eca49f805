// The vLLM and llama.cpp fixtures on the wire, read with plain fetch: the shapes the client is tested
// against are the ones the upstream sources write (see the file header of test/fixtures/openAiServers.ts).
// (llama.cpp while it loads, which takes real time: test/cli/modelClientTimeouts.test.ts.)
import { strict as assert } from 'node:assert';
import { startOllamaServer } from '../fixtures/ollamaServer';
import { VLLM_MODEL, startOaiServer, type OaiTestServer } from '../fixtures/openAiServers';
import { events, post } from '../fixtures/modelTests';

describe('vLLM and llama.cpp fixtures (wire shapes)', () => {
  let server: OaiTestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('vLLM: role chunk, reasoning apart from content, a usage chunk with no choices, then [DONE]', async () => {
    server = await startOaiServer({
      flavor: 'vllm',
      respond: () => ({ content: 'answer', reasoning: 'thought', chunkSize: 3 }),
    });
    const res = await post(`${server.url}/chat/completions`, {
      model: VLLM_MODEL,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const data = await events(res);
    assert.equal(data.at(-1), '[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.reasoning ?? '').join(''), 'thought');
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'answer');
    const usage = chunks.at(-1);
    assert.deepEqual(usage.choices, []);
    assert.equal(usage.usage.completion_tokens, 5);
    assert.equal(chunks.at(-2).choices[0].finish_reason, 'stop');
  });

  it('vLLM: a mid-stream error event is followed by [DONE]; an unknown model is 404 "does not exist"', async () => {
    server = await startOaiServer({
      flavor: 'vllm',
      respond: () => ({ content: 'abcdefgh'.repeat(4), fault: 'error-mid-stream' }),
    });
    const data = await events(
      await post(`${server.url}/chat/completions`, {
        model: VLLM_MODEL,
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      }),
    );
    assert.equal(data.at(-1), '[DONE]');
    assert.match(JSON.parse(data.at(-2)!).error.message, /CUDA error/);
    const missing = await post(`${server.url}/chat/completions`, { model: 'other', messages: [], stream: true });
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).error.message, /The model `other` does not exist/);
    const models = await (await fetch(`${server.url}/models`)).json();
    assert.equal(models.data[0].max_model_len, 32768);
    assert.equal(models.data[0].owned_by, 'vllm');
  });

  it('llama.cpp: an error mid-stream is one error event and no [DONE]; an oversized prompt is 400 exceed_context_size_error', async () => {
    server = await startOaiServer({
      flavor: 'llama.cpp',
      nCtx: 32,
      respond: () => ({ content: 'abcdefgh'.repeat(4), fault: 'error-mid-stream' }),
    });
    const data = await events(
      await post(`${server.url}/chat/completions`, {
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      }),
    );
    assert.notEqual(data.at(-1), '[DONE]');
    assert.deepEqual(JSON.parse(data.at(-1)!), {
      error: { code: 500, message: 'Compute error.', type: 'server_error' },
    });
    const big = await post(`${server.url}/chat/completions`, {
      model: 'm',
      messages: [{ role: 'user', content: 'x'.repeat(400) }],
      stream: true,
    });
    assert.equal(big.status, 400);
    const err = (await big.json()).error;
    assert.equal(err.type, 'exceed_context_size_error');
    assert.deepEqual([err.n_prompt_tokens, err.n_ctx], [100, 32]);
  });

  it('Ollama: a thinking model thinks unless told not to, in message.thinking, and the thinking counts against num_predict', async () => {
    const ollama = await startOllamaServer({
      models: [
        { name: 'qwen3:8b', thinking: true, contextLength: 40960 },
        { name: 'plain:1b', contextLength: 8192 },
      ],
      respond: () => ({ content: 'answer', thinking: 'x'.repeat(80), chunkSize: 8 }),
    });
    try {
      const lines = async (body: object) =>
        (await (await post(`${ollama.url}/api/chat`, body)).text())
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
      const thinking = await lines({
        model: 'qwen3:8b',
        messages: [{ role: 'user', content: 'hi' }],
        options: { num_predict: 5 },
      });
      assert.equal(thinking.map((l) => l.message?.thinking ?? '').join(''), 'x'.repeat(40));
      assert.equal(thinking.map((l) => l.message?.content ?? '').join(''), '');
      assert.equal(thinking.at(-1).done_reason, 'length');
      const plain = await lines({
        model: 'qwen3:8b',
        messages: [{ role: 'user', content: 'hi' }],
        think: false,
        options: { num_predict: 5 },
      });
      assert.equal(plain.map((l) => l.message?.content ?? '').join(''), 'answer');
      assert.equal(plain.at(-1).done_reason, 'stop');
      const refused = await post(`${ollama.url}/api/chat`, {
        model: 'plain:1b',
        messages: [{ role: 'user', content: 'hi' }],
        think: true,
      });
      assert.equal(refused.status, 400);
      assert.deepEqual(await refused.json(), { error: '"plain:1b" does not support thinking' });
      const fine = await post(`${ollama.url}/api/chat`, {
        model: 'plain:1b',
        messages: [{ role: 'user', content: 'hi' }],
        think: false,
      });
      assert.equal(fine.status, 200, 'think: false is accepted by every model');
      await fine.text();
    } finally {
      await ollama.close();
    }
  });
});
