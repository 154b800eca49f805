// Crucible against the wire behaviour of the servers people run (issue 12's "Done when"): the real model
// client and solve loop over real HTTP to fixtures that reproduce Ollama (test/fixtures/ollamaServer.ts),
// vLLM and llama.cpp (test/fixtures/openAiServers.ts), with the CLI's default settings unless a case names
// one. Candidates run in the real sandbox.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { modelSettingsFromOptions } from '../../src/cli/modelOptions';
import { taskFromRow } from '../../src/cli/tasks';
import { createModelClient } from '../../src/core/model/client';
import { ModelError } from '../../src/core/model/errors';
import { runDoctor } from '../../src/core/model/doctor';
import type { ModelSettings } from '../../src/core/model/types';
import { createProcessSandbox } from '../../src/core/sandbox/processSandbox';
import type { Sandbox } from '../../src/core/sandbox/types';
import { solve } from '../../src/core/solve/solve';
import { createVerifier } from '../../src/core/verify/verifier';
import type { Verifier } from '../../src/core/verify/types';
import type { Budget, Task } from '../../src/core/types';
import { HUMANEVAL_FILE, hasData, requireData } from '../fixtures/data';
import { startOllamaServer, type ChatBody, type OllamaTestServer } from '../fixtures/ollamaServer';
import { LLAMA_CPP_PATH, VLLM_MODEL, startOaiServer } from '../fixtures/openAiServers';

const py = (code: string): string => `Here is the function:\n\n\`\`\`python\n${code}\n\`\`\`\n`;
const DEFAULT_BUDGET: Budget = { samples: 2, refineRounds: 3, maxTokens: 0, wallMs: 0 };
const lastUser = (body: { messages: { content: string }[] }): string =>
  body.messages[body.messages.length - 1]?.content ?? '';

interface HumanEvalRow {
  task_id: string;
  prompt: string;
  canonical_solution: string;
  test: string;
  entry_point: string;
}

/** The first three HumanEval rows; none without ../shared/data (the tests that need them skip). */
const humanEval: HumanEvalRow[] = !hasData(HUMANEVAL_FILE)
  ? []
  : gunzipSync(readFileSync(HUMANEVAL_FILE))
      .toString('utf8')
      .trim()
      .split('\n')
      .slice(0, 3)
      .map((l) => JSON.parse(l) as HumanEvalRow);

/** The reference solution of the HumanEval task the request is about, as a model would answer it. */
function humanEvalAnswer(body: { messages: { content: string }[] }): string {
  const text = body.messages.map((m) => m.content).join('\n');
  const row = humanEval.find((r) => text.includes(`def ${r.entry_point}(`)) ?? humanEval[0]!;
  return py(row.prompt + row.canonical_solution);
}

function simpleTask(id: string, name: string, op: string): Task {
  return {
    id,
    language: 'python',
    prompt: `def ${name}(a, b):\n    """Return a ${op} b."""\n`,
    entryPoint: name,
    tests: `assert ${name}(6, 3) == 6 ${op} 3\nassert ${name}(2, 5) == 2 ${op} 5`,
    testsOrigin: 'user',
    origin: 'user',
    completionStyle: 'function',
  };
}

/** The CLI's defaults for a host (and model), as `crucible solve --host … --model …` would use them. */
function defaults(
  host: string | string[],
  model: string,
  over: Partial<ModelSettings> = {},
  provider?: 'openai',
): ModelSettings {
  return {
    ...modelSettingsFromOptions({ host: host as string, model, ...(provider ? { provider } : {}) }, {}),
    ...over,
  };
}

describe('real server behaviour (Ollama, vLLM, llama.cpp fixtures)', function () {
  this.timeout(60000);
  let sandbox: Sandbox;
  let verifier: Verifier;
  const servers: { close(): Promise<void> }[] = [];
  const track = <T extends { close(): Promise<void> }>(s: T): T => (servers.push(s), s);

  before(() => {
    sandbox = createProcessSandbox();
    verifier = createVerifier(sandbox);
  });
  after(async () => {
    await sandbox.dispose();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close().catch(() => undefined)));
  });

  describe('reasoning models', function () {
    before(function () {
      requireData(this, HUMANEVAL_FILE);
    });
    const LONG_THOUGHT = 'Let me think about the edge cases first. '.repeat(260); // about 1,350 chunks of 8: more than num_predict 1024

    it('Ollama: a thinking model verifies the HumanEval tasks its answers solve, with think sent as false by default', async () => {
      const server = track(
        await startOllamaServer({
          models: [{ name: 'qwen3:8b', contextLength: 40960, family: 'qwen3', thinking: true }],
          respond: (body) => ({ content: humanEvalAnswer(body), thinking: LONG_THOUGHT, chunkSize: 8 }),
        }),
      );
      const model = createModelClient(defaults(server.url, 'qwen3:8b'));
      for (const row of humanEval) {
        const outcome = await solve(taskFromRow(row), { model, verifier }, { budget: DEFAULT_BUDGET });
        assert.equal(
          outcome.stopReason,
          'verified',
          `${row.task_id}: ${outcome.error ?? ''} ${outcome.notes.join('; ')}`,
        );
      }
      const chats = server.requests.filter((r) => r.path === '/api/chat' && (r.body as ChatBody).messages.length > 0);
      assert.ok(chats.length >= humanEval.length);
      assert.ok(
        chats.every((r) => r.body.think === false),
        'think: false is sent explicitly',
      );
    });

    it('Ollama with thinking turned on: the reasoning stays in the trace, out of the code, and num_predict leaves room for the answer', async () => {
      const server = track(
        await startOllamaServer({
          models: [{ name: 'qwen3:8b', contextLength: 40960, family: 'qwen3', thinking: true }],
          respond: (body) => ({ content: humanEvalAnswer(body), thinking: LONG_THOUGHT, chunkSize: 8 }),
        }),
      );
      const model = createModelClient(defaults(server.url, 'qwen3:8b', { think: true }));
      const outcome = await solve(taskFromRow(humanEval[0]!), { model, verifier }, { budget: DEFAULT_BUDGET });
      assert.equal(outcome.stopReason, 'verified', outcome.error);
      const best = outcome.best!.candidate;
      assert.match(best.reasoning!, /^Let me think about the edge cases/);
      assert.doesNotMatch(best.code, /Let me think/);
      const chat = server.requests.find((r) => r.path === '/api/chat' && r.body.messages.length > 0)!;
      assert.equal(chat.body.think, true);
      assert.equal(chat.body.options.num_predict, 4096, 'the answer keeps its 1024 tokens next to the thinking');
    });

    it('vLLM: a model that always reasons, starving the answer, is asked once more with a larger limit and verifies; the Outcome says so', async () => {
      const server = track(
        await startOaiServer({
          flavor: 'vllm',
          respond: (body) => ({ content: humanEvalAnswer(body), reasoning: LONG_THOUGHT }),
        }),
      );
      const model = createModelClient(defaults(server.url, VLLM_MODEL, {}, 'openai'));
      const outcome = await solve(taskFromRow(humanEval[1]!), { model, verifier }, { budget: DEFAULT_BUDGET });
      assert.equal(outcome.stopReason, 'verified', `${outcome.error ?? ''} ${outcome.notes.join('; ')}`);
      assert.ok(
        outcome.notes.some((n) =>
          /empty because it used up the token limit while thinking.*asked for once more/.test(n),
        ),
        outcome.notes.join('\n'),
      );
      assert.match(outcome.best!.candidate.reasoning!, /edge cases/);
      const limits = server.requests
        .filter((r) => r.path === '/v1/chat/completions')
        .map((r) => r.body.max_tokens as number);
      assert.equal(limits[0], 1024);
      assert.ok(
        limits.slice(1).some((l) => l >= 4096),
        `later limits ${limits.join(', ')}`,
      );
    });
  });

  describe('one failed request costs one sample, not the task', () => {
    const addTask = simpleTask('add', 'add', '+');
    const RIGHT = py('def add(a, b):\n    return a + b');

    it('Ollama: an {"error"} line mid-stream (a runner crash) loses that sample; the other verifies', async () => {
      const server = track(
        await startOllamaServer({
          respond: (_b, i) =>
            i === 0
              ? { content: RIGHT, fault: 'error-mid-stream', chunkDelayMs: 5 }
              : { content: RIGHT, delayBeforeHeadersMs: 50 },
        }),
      );
      const outcome = await solve(
        addTask,
        { model: createModelClient(defaults(server.url, 'qwen2.5-coder:7b')), verifier },
        { budget: DEFAULT_BUDGET },
      );
      assert.equal(outcome.stopReason, 'verified', outcome.error);
      assert.equal(outcome.attempts.length, 1);
      assert.ok(
        outcome.notes.some((n) => /one sample was lost.*reported an error.*unexpected EOF/.test(n)),
        outcome.notes.join('\n'),
      );
    });

    it('Ollama: the repeat-limit stream that ends with no done line loses that sample only', async () => {
      const server = track(
        await startOllamaServer({
          respond: (_b, i) =>
            i === 0 ? { content: RIGHT, fault: 'truncated' } : { content: RIGHT, delayBeforeHeadersMs: 50 },
        }),
      );
      const outcome = await solve(
        addTask,
        { model: createModelClient(defaults(server.url, 'qwen2.5-coder:7b')), verifier },
        { budget: DEFAULT_BUDGET },
      );
      assert.equal(outcome.stopReason, 'verified', outcome.error);
      assert.ok(
        outcome.notes.some((n) => /one sample was lost.*ended early/.test(n)),
        outcome.notes.join('\n'),
      );
    });

    it('vLLM: a CUDA error event followed by [DONE] loses that sample only, and its text is shown', async () => {
      const server = track(
        await startOaiServer({
          flavor: 'vllm',
          respond: (_b, i) => (i === 0 ? { content: RIGHT, fault: 'error-mid-stream' } : RIGHT),
        }),
      );
      const outcome = await solve(
        addTask,
        { model: createModelClient(defaults(server.url, VLLM_MODEL, {}, 'openai')), verifier },
        { budget: DEFAULT_BUDGET },
      );
      assert.equal(outcome.stopReason, 'verified', outcome.error);
      assert.ok(
        outcome.notes.some((n) => /one sample was lost.*CUDA error: an illegal memory access/.test(n)),
        outcome.notes.join('\n'),
      );
    });

    it('llama.cpp: an error event mid-stream loses that sample only, and its text is shown', async () => {
      const server = track(
        await startOaiServer({
          flavor: 'llama.cpp',
          respond: (_b, i) => (i === 0 ? { content: RIGHT, fault: 'error-mid-stream' } : RIGHT),
        }),
      );
      const outcome = await solve(
        addTask,
        { model: createModelClient(defaults(server.url, 'qwen2.5-coder-7b', {}, 'openai')), verifier },
        { budget: DEFAULT_BUDGET },
      );
      assert.equal(outcome.stopReason, 'verified', outcome.error);
      assert.ok(
        outcome.notes.some((n) => /one sample was lost.*Compute error/.test(n)),
        outcome.notes.join('\n'),
      );
    });
  });

  describe('llama.cpp', () => {
    const RIGHT = py('def add(a, b):\n    return a + b');

    it('a server still loading for 8 s (503 "Loading model" on every path) is waited for', async function () {
      this.timeout(40000);
      const server = track(await startOaiServer({ flavor: 'llama.cpp', loadingMs: 8000, respond: () => RIGHT }));
      const model = createModelClient(defaults(server.url, 'qwen2.5-coder-7b', {}, 'openai'));
      const outcome = await solve(simpleTask('add', 'add', '+'), { model, verifier }, { budget: DEFAULT_BUDGET });
      assert.equal(outcome.stopReason, 'verified', outcome.error);
      assert.ok(server.requests.length > 3, 'it asked again while the model loaded');
      assert.equal(server.requests.at(-1)!.path, '/v1/chat/completions');
    });

    it('a single-model server without --alias (the GGUF path as id) works under any model name, with its /props context', async () => {
      const server = track(await startOaiServer({ flavor: 'llama.cpp', nCtx: 6144, slots: 1, respond: () => RIGHT }));
      const model = createModelClient(defaults(server.url, 'qwen2.5-coder-7b', {}, 'openai'));
      assert.equal(await model.contextLength(), 6144, "the slot's n_ctx from /props");
      assert.equal(model.load.capacity, 1, '/props total_slots bounds the requests in flight');
      const outcome = await solve(simpleTask('add', 'add', '+'), { model, verifier }, { budget: DEFAULT_BUDGET });
      assert.equal(outcome.stopReason, 'verified', outcome.error);
      const chat = server.requests.find((r) => r.path === '/v1/chat/completions')!;
      assert.equal(chat.body.model, LLAMA_CPP_PATH);
      const report = await runDoctor({ client: model, python: 'python3' });
      const check = report.checks.find((c) => c.id === 'model')!;
      assert.equal(check.status, 'ok', check.detail);
      assert.match(check.detail, /served as .*qwen2\.5-coder-7b-instruct-q4_k_m\.gguf.*context 6144/);
    });

    it('exceed_context_size_error becomes the prompt-size error that names --num-ctx', async () => {
      const server = track(await startOaiServer({ flavor: 'llama.cpp', nCtx: 64 }));
      const model = createModelClient(defaults(server.url, 'any', {}, 'openai'));
      await assert.rejects(model.chat({ messages: [{ role: 'user', content: 'x'.repeat(2000) }] }), (err: unknown) => {
        assert.ok(err instanceof ModelError);
        assert.match(
          err.message,
          /does not fit the context window .*\(500 tokens against a context of 64\).*--num-ctx/,
        );
        return true;
      });
    });
  });

  describe('queueing on the server', () => {
    it('a request queued behind a 4 s generation (OLLAMA_NUM_PARALLEL=1) survives a 3 s first-token timeout; the parallelism is learned', async () => {
      const server = track(
        await startOllamaServer({
          numParallel: 1,
          respond: (body) =>
            lastUser(body).includes('slow')
              ? { content: 'a'.repeat(320), chunkSize: 8, chunkDelayMs: 100 }
              : 'quick answer',
        }),
      );
      const model = createModelClient(defaults(server.url, 'qwen2.5-coder:7b', { firstTokenTimeoutMs: 3000 }));
      assert.equal(model.load.capacity, 2);
      const slow = model.chat({ messages: [{ role: 'user', content: 'slow' }] });
      while (server.activeGenerations === 0) await new Promise((r) => setTimeout(r, 20));
      const queued = model.chat({ messages: [{ role: 'user', content: 'fast' }] });
      const [a, b] = await Promise.all([slow, queued]);
      assert.equal(a.text.length, 320);
      assert.equal(b.text, 'quick answer');
      assert.equal(server.maxActiveGenerations, 1, 'the server ran one at a time');
      assert.equal(model.load.capacity, 1, 'the client learned to send one at a time');
    });

    it('with the default first-token timeout, a server that starts each queued request as another ends is learned from twice', async () => {
      const server = track(
        await startOllamaServer({
          numParallel: 1,
          respond: (body) =>
            lastUser(body).includes('slow')
              ? { content: 'a'.repeat(80), chunkSize: 8, chunkDelayMs: 40 }
              : 'quick answer',
        }),
      );
      const model = createModelClient(defaults(server.url, 'qwen2.5-coder:7b'));
      for (let round = 0; round < 2; round++) {
        assert.equal(model.load.capacity, 2, `before round ${round}`);
        let streaming!: () => void;
        const firstToken = new Promise<void>((resolve) => (streaming = resolve));
        const slow = model.chat({ messages: [{ role: 'user', content: 'slow' }], onToken: () => streaming() });
        await firstToken; // the slow answer is streaming
        await Promise.all([slow, model.chat({ messages: [{ role: 'user', content: 'fast' }] })]);
      }
      assert.equal(model.load.capacity, 1);
    });
  });

  describe('length-cut answers', () => {
    it('an answer cut at the token limit is named on the Attempt and in the notes; the refinement gets a larger limit and asks for only the code', async () => {
      const server = track(
        await startOllamaServer({
          respond: (body) =>
            /cut off at the token limit/.test(lastUser(body))
              ? py('def add(a, b):\n    return a + b')
              : {
                  content: 'Here is the function:\n\n```python\ndef add(a, b):\n    return (a +',
                  doneReason: 'length',
                },
        }),
      );
      const model = createModelClient(defaults(server.url, 'qwen2.5-coder:7b'));
      const outcome = await solve(
        simpleTask('add', 'add', '+'),
        { model, verifier },
        { budget: { ...DEFAULT_BUDGET, samples: 1 } },
      );
      assert.equal(outcome.stopReason, 'verified', outcome.error);
      assert.equal(outcome.attempts[0]!.doneReason, 'length');
      assert.equal(outcome.attempts[1]!.doneReason, undefined);
      assert.ok(
        outcome.notes.some((n) =>
          /answer r0c0 was cut at the token limit \(1024 tokens\) \(done_reason "length"\)/.test(n),
        ),
        outcome.notes.join('\n'),
      );
      const chats = server.requests.filter((r) => r.path === '/api/chat' && r.body.messages.length > 0);
      assert.equal(chats[0]!.body.options.num_predict, 1024);
      assert.equal(chats.at(-1)!.body.options.num_predict, 2048);
    });
  });

  describe('several servers, one pool', () => {
    it('two hosts share a run; samples of one task stay on one host; losing a host mid-run loses no task', async () => {
      const respond = (body: ChatBody) => {
        const name = /def (\w+)\(/.exec(body.messages.map((m) => m.content).join('\n'))?.[1] ?? 'add';
        const op = { add: '+', sub: '-', mul: '*', mod: '%', pow2: '**', fdiv: '//' }[name] ?? '+';
        return { content: py(`def ${name}(a, b):\n    return a ${op} b`), chunkSize: 4, chunkDelayMs: 15 };
      };
      const a = track(await startOllamaServer({ respond }));
      const b = track(await startOllamaServer({ respond }));
      const model = createModelClient(defaults([a.url, b.url], 'qwen2.5-coder:7b'));
      assert.deepEqual(
        model.members.map((m) => m.settings.host),
        [a.url, b.url],
      );
      const tasks = [
        simpleTask('t1', 'add', '+'),
        simpleTask('t2', 'sub', '-'),
        simpleTask('t3', 'mul', '*'),
        simpleTask('t4', 'mod', '%'),
        simpleTask('t5', 'fdiv', '//'),
      ];
      const served = (s: OllamaTestServer, name: string) =>
        s.requests.filter(
          (r) =>
            r.path === '/api/chat' &&
            r.body.messages.length > 0 &&
            JSON.stringify(r.body.messages).includes(`def ${name}(`),
        ).length;
      const outcomes = [];
      for (const [i, task] of tasks.entries()) {
        const running = solve(task, { model, verifier }, { budget: DEFAULT_BUDGET });
        if (i === 2) {
          // Take down the host that is streaming this task's answer, mid-stream.
          const deadline = Date.now() + 10000;
          while (a.activeGenerations === 0 && b.activeGenerations === 0 && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 5));
          await (a.activeGenerations > 0 ? a : b).close();
        }
        outcomes.push(await running);
      }
      for (const o of outcomes)
        assert.equal(o.stopReason, 'verified', `${o.task.id}: ${o.error ?? ''} ${o.notes.join('; ')}`);
      // Both hosts answered before the loss, and each of those tasks stayed on one host.
      for (const name of ['add', 'sub'])
        assert.ok((served(a, name) === 0) !== (served(b, name) === 0), `${name} went to one host`);
      assert.ok(
        served(a, 'add') + served(a, 'sub') > 0 && served(b, 'add') + served(b, 'sub') > 0,
        'both hosts took part',
      );
    });
  });
});
