// The solve loop end to end: the real `ollama` client talks HTTP to the Ollama-protocol test server,
// candidates run in the real process sandbox through the real verifier.
import { strict as assert } from 'node:assert';
import { createModelClient } from '../../src/core/model/client';
import type { ModelSettings } from '../../src/core/model/types';
import { createProcessSandbox } from '../../src/core/sandbox/processSandbox';
import type { Sandbox } from '../../src/core/sandbox/types';
import { createVerifier } from '../../src/core/verify/verifier';
import type { Verifier } from '../../src/core/verify/types';
import { NO_CODE_FEEDBACK, solve } from '../../src/core/solve/solve';
import type { SolveEvent } from '../../src/core/solve/types';
import type { Budget, Task } from '../../src/core/types';
import {
  closedPortUrl,
  startOllamaServer,
  type ChatBody,
  type OllamaTestServer,
  type ScriptedReply,
} from '../fixtures/ollamaServer';
import { TEST_MODEL, testModelSettings } from '../fixtures/stack';

const addTask: Task = {
  id: 'add',
  language: 'python',
  prompt: 'def add(a, b):\n    """Return the sum of a and b."""\n',
  entryPoint: 'add',
  tests: 'assert add(1, 2) == 3\nassert add(2, 2) == 4',
  testsOrigin: 'user',
  origin: 'user',
  completionStyle: 'function',
};

/** A user's JavaScript function task: with tests they are the user's, without it is untested. */
const jsTask = (t: Pick<Task, 'id' | 'prompt' | 'entryPoint' | 'tests'>): Task => ({
  ...t,
  language: 'javascript',
  testsOrigin: t.tests ? 'user' : 'none',
  origin: 'user',
  completionStyle: 'function',
});

const py = (code: string): string => `Here is the function:\n\n\`\`\`python\n${code}\n\`\`\`\n`;
const WRONG_ADD = py('def add(a, b):\n    return a - b');
const RIGHT_ADD = py('def add(a, b):\n    return a + b');

type Kind = 'sample' | 'critique' | 'refine' | 'tests';

/** What the loop asked for, from the last user message. */
function kindOf(body: ChatBody): Kind {
  const last = body.messages[body.messages.length - 1]?.content ?? '';
  if (/test assertions/.test(last)) return 'tests';
  if (/Explain in a few sentences what is wrong/.test(last)) return 'critique';
  if (/Now write the corrected|held no code block/.test(last)) return 'refine';
  return 'sample';
}

function lastUser(body: ChatBody): string {
  return body.messages[body.messages.length - 1]?.content ?? '';
}

function chatBodies(server: OllamaTestServer): ChatBody[] {
  return server.requests.filter((r) => r.path === '/api/chat').map((r) => r.body as ChatBody);
}

const budget = (b: Partial<Budget> = {}): Budget => ({ samples: 1, refineRounds: 2, maxTokens: 0, wallMs: 0, ...b });

describe('solve (end to end through the test server)', function () {
  this.timeout(20000);
  let sandbox: Sandbox;
  let verifier: Verifier;
  let server: OllamaTestServer | undefined;

  before(() => {
    sandbox = createProcessSandbox();
    verifier = createVerifier(sandbox);
  });
  after(async () => {
    await sandbox.dispose();
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function serve(
    respond: (body: ChatBody, index: number) => string | ScriptedReply | Promise<ScriptedReply>,
    extra: Partial<ModelSettings> = {},
  ) {
    server = await startOllamaServer({ respond });
    const model = createModelClient(testModelSettings(server.url, extra));
    return { model, verifier };
  }

  it('fixes a wrong first answer with execution feedback (critique, then refine)', async () => {
    const deps = await serve((body) => {
      const k = kindOf(body);
      if (k === 'critique') return 'It subtracts b instead of adding it.';
      return k === 'refine' ? RIGHT_ADD : WRONG_ADD;
    });
    const events: SolveEvent[] = [];
    const outcome = await solve(addTask, deps, { budget: budget(), onEvent: (e) => events.push(e) });
    assert.equal(outcome.stopReason, 'verified', outcome.error);
    assert.equal(outcome.verified, true);
    assert.equal(outcome.verifiedByGeneratedTests, false);
    assert.equal(outcome.rounds, 2);
    assert.equal(outcome.attempts.length, 2);
    const [first, second] = outcome.attempts;
    assert.equal(first!.verdict.passed, false);
    assert.equal(first!.critique, 'It subtracts b instead of adding it.');
    assert.equal(second!.candidate.parentId, first!.candidate.id);
    assert.equal(outcome.best!.candidate.id, second!.candidate.id);
    assert.match(outcome.best!.candidate.code, /return a \+ b/);
    assert.ok(outcome.usage.completionTokens > 0);

    const refine = chatBodies(server!).find((b) => kindOf(b) === 'refine')!;
    const text = lastUser(refine);
    assert.match(text, /assert add\(1, 2\) == 3/, 'the refine prompt names the failing test');
    assert.match(text, /Expected: 3\b/, 'the refine prompt says what was expected');
    assert.match(text, /Actual: -1\b/, 'the refine prompt says what came out');
    assert.match(text, /return a - b/, 'the refine prompt shows the failed code');
    assert.match(text, /It subtracts b instead of adding it\./, 'the refine prompt carries the critique');
    const kinds = events.map((e) => e.kind);
    for (const k of ['round', 'generating', 'token', 'candidate', 'verdict', 'critique', 'done'] as const)
      assert.ok(kinds.includes(k), `event ${k}`);
  });

  it('ends with stopReason budget when no answer is ever right, keeping the best attempt', async () => {
    const deps = await serve((body) => (kindOf(body) === 'critique' ? 'Still wrong.' : WRONG_ADD));
    const outcome = await solve(addTask, deps, { budget: budget({ samples: 2, refineRounds: 2 }) });
    assert.equal(outcome.stopReason, 'budget');
    assert.equal(outcome.verified, false);
    assert.equal(outcome.rounds, 3);
    assert.equal(outcome.attempts.length, 6, '2 samples + 2 refined per round for 2 rounds');
    assert.ok(outcome.attempts.every((a) => !a.verdict.passed && a.verdict.testsTotal > 0));
    assert.ok(outcome.best);
    assert.equal(outcome.error, undefined);
  });

  it('cancels mid-stream: aborts the HTTP request and returns promptly', async () => {
    const long = py(`def add(a, b):\n${'    # thinking\n'.repeat(200)}    return a + b`);
    const deps = await serve(() => ({ content: long, chunkSize: 4, chunkDelayMs: 20 }));
    const control = new AbortController();
    const outcome = await solve(addTask, deps, {
      budget: budget({ samples: 2 }),
      signal: control.signal,
      onEvent: (e) => {
        if (e.kind === 'token') control.abort();
      },
    });
    assert.equal(outcome.stopReason, 'cancelled');
    assert.equal(outcome.verified, false);
    // The stream takes seconds to finish: an aborted one (not a finished one) shows solve did not wait for it.
    // How soon it returns is measured by bench/latency.ts.
    await server!.waitForAborted(1, 2000);
    assert.ok(server!.abortedStreams >= 1);
  });

  it('turns an answer with no code into a failed attempt and asks again', async () => {
    const deps = await serve((body, index) =>
      index === 0
        ? 'Sorry, I would rather describe it: add the numbers.'
        : kindOf(body) === 'refine'
          ? RIGHT_ADD
          : WRONG_ADD,
    );
    const outcome = await solve(addTask, deps, { budget: budget() });
    assert.equal(outcome.verified, true, outcome.error);
    const first = outcome.attempts[0]!;
    assert.equal(first.verdict.passed, false);
    assert.ok(first.verdict.feedback.startsWith(`${NO_CODE_FEEDBACK}: `), first.verdict.feedback);
    assert.equal(first.candidate.code, '');
    assert.equal(first.critique, undefined, 'nothing ran, so no critique was asked for');
    const again = chatBodies(server!)[1]!;
    assert.match(lastUser(again), /held no code block/);
  });

  it('reports a syntax error from the pre-check without running the sandbox, and refines from it', async () => {
    const broken = py('def add(a, b)\n    return a + b');
    const deps = await serve((body) => (kindOf(body) === 'refine' ? RIGHT_ADD : broken));
    const outcome = await solve(addTask, deps, { budget: budget() });
    assert.equal(outcome.verified, true, outcome.error);
    const first = outcome.attempts[0]!;
    assert.equal(first.verdict.status, 'error');
    assert.equal(first.verdict.testsTotal, 0, 'no tests ran');
    assert.match(first.verdict.feedback, /does not parse[\s\S]*line 1/);
    const refine = chatBodies(server!).find((b) => kindOf(b) === 'refine')!;
    assert.match(lastUser(refine), /does not parse/);
    assert.equal(chatBodies(server!).filter((b) => kindOf(b) === 'critique').length, 0);
  });

  it('writes tests when the task has none, cross-checks them and labels the result', async () => {
    const task: Task = { ...addTask, id: 'add-untested', tests: '', testsOrigin: 'none' };
    const deps = await serve((body, index) => {
      if (kindOf(body) === 'tests') {
        // One of the model's tests is wrong; the two agreeing candidates outvote it.
        return py('assert add(1, 2) == 3\nassert add(0, 0) == 0\nassert add(2, 2) == 5\nassert add(-1, 1) == 0');
      }
      // Two different programs that agree: independent evidence (copies of one program would not be).
      return index % 2 === 0 ? RIGHT_ADD : py('def add(a, b):\n    total = b + a\n    return total');
    });
    const events: SolveEvent[] = [];
    const outcome = await solve(task, deps, {
      budget: budget({ samples: 2, refineRounds: 1 }),
      onEvent: (e) => events.push(e),
    });
    assert.equal(outcome.verified, true, `${outcome.error} ${outcome.notes.join(' / ')}`);
    assert.equal(outcome.verifiedByGeneratedTests, true);
    assert.equal(outcome.task.testsOrigin, 'generated');
    assert.doesNotMatch(outcome.task.tests, /== 5/, 'the wrong test was dropped');
    assert.match(outcome.task.tests, /assert add\(-1, 1\) == 0/);
    assert.equal(outcome.best!.verdict.passed, true);
    assert.ok(
      outcome.notes.some((n) => /dropped 1 generated test/.test(n)),
      outcome.notes.join(' / '),
    );
    const t = events.find((e) => e.kind === 'tests');
    assert.deepEqual(t, { kind: 'tests', origin: 'generated', count: 4 });
  });

  it('writes node:assert tests for an untested JavaScript task and labels the result', async () => {
    const task = jsTask({
      id: 'js-untested',
      prompt: '/** Returns the larger of a and b. */\nfunction larger(a, b) {}\n',
      entryPoint: 'larger',
      tests: '',
    });
    const deps = await serve((body) =>
      kindOf(body) === 'tests'
        ? '```javascript\nassert.strictEqual(larger(1, 2), 2);\nassert.strictEqual(larger(5, -1), 5);\nassert.deepStrictEqual(larger(3, 3), 3);\n```'
        : /edge cases/.test(lastUser(body))
          ? '```javascript\nfunction larger(a, b) {\n  return Math.max(a, b);\n}\n```'
          : '```javascript\nfunction larger(a, b) {\n  return a > b ? a : b;\n}\n```',
    );
    const outcome = await solve(task, deps, { budget: budget({ samples: 2, refineRounds: 1 }) });
    assert.equal(
      outcome.verified,
      true,
      `${outcome.error} ${outcome.attempts.map((a) => a.verdict.feedback).join('\n')}`,
    );
    assert.equal(outcome.verifiedByGeneratedTests, true);
    assert.equal(outcome.best!.verdict.testsTotal, 3);
    assert.match(
      outcome.task.tests,
      /^const assert = require\('node:assert'\);\nassert\.strictEqual\(larger\(1, 2\), 2\);/,
    );
  });

  it('ends with an error naming the fix when the model writes no usable tests for an untested task', async () => {
    const task: Task = { ...addTask, tests: '', testsOrigin: 'none' };
    const deps = await serve((body) =>
      kindOf(body) === 'tests' ? 'You could test it with a few numbers.' : RIGHT_ADD,
    );
    const outcome = await solve(task, deps, { budget: budget() });
    assert.equal(outcome.stopReason, 'error');
    assert.equal(outcome.verified, false);
    assert.match(
      outcome.error!,
      /has no tests and the model wrote none that could be used: add assert lines or doctest examples/,
    );
  });

  it('does not verify anything without tests when generated tests are off, and says how to fix it', async () => {
    const task: Task = { ...addTask, tests: '', testsOrigin: 'none' };
    const deps = await serve(() => RIGHT_ADD);
    const outcome = await solve(task, deps, { budget: budget(), generateTests: false });
    assert.equal(outcome.stopReason, 'error');
    assert.match(outcome.error!, /has no tests.*add assert lines/);
    assert.equal(chatBodies(server!).length, 0);
  });

  it("treats tests that cannot fail (comments, pass) as no tests: a wrong answer is never verified as the user's", async () => {
    for (const tests of ['# TODO write tests\n', 'pass\n', 'print(add(1, 2))\n']) {
      const task: Task = { ...addTask, tests, testsOrigin: 'user' };
      const deps = await serve(() => WRONG_ADD);
      const outcome = await solve(task, deps, { budget: budget({ refineRounds: 0 }), generateTests: false });
      assert.equal(outcome.verified, false, `tests ${JSON.stringify(tests)} verified a wrong answer`);
      assert.equal(outcome.stopReason, 'error');
      assert.ok(
        outcome.notes.some((n) => /contain no check/.test(n)),
        outcome.notes.join('\n'),
      );
      await server?.close();
      server = undefined;
    }
  });

  it('ends with an error outcome (not a throw) naming the fix when the server is down', async () => {
    const model = createModelClient(testModelSettings(await closedPortUrl()));
    const outcome = await solve(addTask, { model, verifier }, { budget: budget() });
    assert.equal(outcome.stopReason, 'error');
    assert.equal(outcome.verified, false);
    assert.match(outcome.error!, /ollama serve/);
    assert.deepEqual(outcome.attempts, []);
  });

  it('ends with an error naming `ollama pull` when the model is not installed', async () => {
    const deps = await serve(() => RIGHT_ADD, { model: 'nosuch-coder:1b' });
    const outcome = await solve(addTask, deps, { budget: budget() });
    assert.equal(outcome.stopReason, 'error');
    assert.match(outcome.error!, /ollama pull nosuch-coder:1b/);
    assert.equal(chatBodies(server!).length, 0, 'no generation was attempted');
  });

  it('shrinks the prompt to the context window and records that in the notes', async () => {
    server = await startOllamaServer({
      models: [{ name: TEST_MODEL, contextLength: 1400, family: 'qwen2' }],
      respond: (body) =>
        kindOf(body) === 'critique'
          ? 'Wrong sign.'
          : py(`def add(a, b):\n${'    # a long explanation of the approach\n'.repeat(30)}    return a - b`),
    });
    const model = createModelClient(testModelSettings(server.url, { options: { num_predict: 256 } }));
    const notes: string[] = [];
    const outcome = await solve(
      addTask,
      { model, verifier },
      { budget: budget({ refineRounds: 2 }), onEvent: (e) => e.kind === 'note' && notes.push(e.message) },
    );
    assert.equal(outcome.stopReason, 'budget', outcome.error);
    assert.ok(
      outcome.notes.some((n) => /^Prompt shrunk: dropped the 1 oldest of 2 earlier attempt/.test(n)),
      outcome.notes.join('\n'),
    );
    assert.deepEqual(notes, outcome.notes, 'every note was also an event');
    // The window came from /api/ps (the loaded model's); num_ctx is not sent, so Ollama keeps its own choice.
    assert.equal(chatBodies(server).at(-1)!.options?.num_ctx, undefined);
  });

  it('stops at the token budget and caps num_predict to what is left', async () => {
    const deps = await serve((body) => ({
      content: kindOf(body) === 'critique' ? 'Wrong sign.' : WRONG_ADD,
      evalTokens: 50,
    }));
    const outcome = await solve(addTask, deps, { budget: budget({ maxTokens: 60, refineRounds: 3 }) });
    assert.equal(outcome.stopReason, 'budget');
    assert.equal(outcome.usage.completionTokens, 100, 'the sample and the critique, then nothing more');
    const bodies = chatBodies(server!);
    assert.equal(bodies.length, 2);
    assert.equal(bodies[0]!.options?.num_predict, 60);
    assert.equal(bodies[1]!.options?.num_predict, 10);
    assert.ok(outcome.notes.some((n) => /token budget used up: 100 of 60/.test(n)));
  });

  it('stops at the wall-time budget and aborts the request in flight', async () => {
    const deps = await serve(() => ({ content: WRONG_ADD, delayBeforeHeadersMs: 2000 }));
    const outcome = await solve(addTask, deps, { budget: budget({ wallMs: 200 }) });
    assert.equal(outcome.stopReason, 'budget');
    assert.ok(outcome.notes.some((n) => /wall-time budget used up: 200 ms/.test(n)));
    await server!.waitForAborted(1, 2000);
  });

  it('solves a JavaScript task the same way (node:assert tests, feedback, refine)', async () => {
    const task = jsTask({
      id: 'js-add',
      prompt: '/** Returns the sum of a and b. */\nfunction add(a, b) {}\n',
      entryPoint: 'add',
      tests:
        "const assert = require('node:assert');\nassert.strictEqual(add(1, 2), 3);\nassert.strictEqual(add(2, 2), 4);",
    });
    const js = (code: string): string => `\`\`\`javascript\n${code}\n\`\`\``;
    const deps = await serve((body) => {
      const k = kindOf(body);
      if (k === 'critique') return 'It subtracts.';
      return js(
        k === 'refine' ? 'function add(a, b) {\n  return a + b;\n}' : 'function add(a, b) {\n  return a - b;\n}',
      );
    });
    const outcome = await solve(task, deps, { budget: budget() });
    assert.equal(
      outcome.verified,
      true,
      `${outcome.error} ${outcome.attempts.map((a) => a.verdict.feedback).join('\n')}`,
    );
    assert.equal(outcome.attempts.length, 2);
    const refine = chatBodies(server!).find((b) => kindOf(b) === 'refine')!;
    assert.match(lastUser(refine), /assert\.strictEqual\(add\(1, 2\), 3\)/);
  });

  it('accepts a HumanEval continuation body as well as a whole function', async () => {
    const task: Task = {
      id: 'HumanEval/x',
      language: 'python',
      prompt: 'from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """Sum of xs."""\n',
      entryPoint: 'total',
      tests:
        'def check(candidate):\n    assert candidate([1, 2]) == 3\n    assert candidate([]) == 0\n\ncheck(total)\n',
      testsOrigin: 'user',
      origin: 'benchmark',
      completionStyle: 'continuation',
    };
    const deps = await serve((_b, i) =>
      i === 0 ? py('    return sum(xs) + 1') : py('def total(xs: List[int]) -> int:\n    return sum(xs)'),
    );
    const outcome = await solve(task, deps, { budget: budget() });
    assert.equal(
      outcome.verified,
      true,
      `${outcome.error} ${outcome.attempts.map((a) => a.verdict.feedback).join('\n')}`,
    );
    const [body, whole] = outcome.attempts;
    assert.equal(
      body!.verdict.status,
      'failed',
      `the body ran after the prompt and failed on its value: ${body!.verdict.feedback}`,
    );
    assert.ok(body!.verdict.testsPassed < body!.verdict.testsTotal);
    assert.equal(whole!.verdict.passed, true, 'the whole function ran with the prompt imports as context');
  });

  it('a server failing mid-solve costs the failed samples, not the task: the attempts so far are kept and the failure is named', async () => {
    const deps = await serve((_b, i) =>
      i === 0 ? WRONG_ADD : { content: 'CUDA error: out of memory', fault: 'http-500' },
    );
    const outcome = await solve(addTask, deps, { budget: budget() });
    assert.equal(outcome.stopReason, 'budget', outcome.error);
    assert.equal(outcome.error, undefined);
    assert.ok(
      outcome.notes.some((n) =>
        /a model request failed, so one sample was lost.*HTTP 500: CUDA error: out of memory/.test(n),
      ),
      outcome.notes.join('\n'),
    );
    assert.equal(outcome.attempts.length, 1);
    assert.equal(outcome.best!.candidate.id, outcome.attempts[0]!.candidate.id);
  });

  it('ends in error only when no request of the task could be answered', async () => {
    const deps = await serve(() => ({ content: 'CUDA error: out of memory', fault: 'http-500' }));
    const outcome = await solve(addTask, deps, { budget: budget({ samples: 2, refineRounds: 1 }) });
    assert.equal(outcome.stopReason, 'error');
    assert.match(outcome.error!, /HTTP 500: CUDA error: out of memory/);
    assert.equal(outcome.attempts.length, 0);
    // Round 0 lost both samples, so the refine round sampled afresh instead of refining nothing.
    assert.equal(chatBodies(server!).length, 4);
  });

  it('stops as soon as a candidate is verified, aborting the other request in flight', async () => {
    const slow = `${RIGHT_ADD}\n${'More explanation follows. '.repeat(100)}`;
    const deps = await serve((_b, i) => (i === 0 ? RIGHT_ADD : { content: slow, chunkSize: 8, chunkDelayMs: 20 }));
    const outcome = await solve(addTask, deps, { budget: budget({ samples: 2 }) });
    assert.equal(outcome.stopReason, 'verified');
    assert.equal(outcome.attempts.length, 1, 'the slow second sample was abandoned');
    await server!.waitForAborted(1, 2000);
  });

  it('chooses among passing candidates by agreement on extra inputs before simpler code', async () => {
    const task: Task = {
      ...addTask,
      id: 'clamp',
      prompt: 'def clamp0(x):\n    """Return x, or 0 when x is negative.\n    >>> clamp0(-3)\n    0\n    """\n',
      entryPoint: 'clamp0',
      tests: 'assert clamp0(5) == 5\nassert clamp0(0) == 0',
    };
    const answers = [
      py('def clamp0(x):\n    return abs(x)'), // shortest, passes the tests, disagrees on clamp0(-3)
      py('def clamp0(x):\n    if x < 0:\n        return 0\n    return x'),
      py('def clamp0(x):\n    return max(x, 0)'),
    ];
    // All three answers are held until all three requests arrived, so all are sampled before any verdict.
    let release!: () => void;
    const allAsked = new Promise<void>((resolve) => (release = resolve));
    let asked = 0;
    const deps = await serve(
      async (_b: ChatBody, i: number) => {
        if (++asked === 3) release();
        await allAsked;
        return { content: answers[i % 3]!, chunkSize: 4096 };
      },
      { maxParallel: 3 },
    );
    const outcome = await solve(task, deps, { budget: budget({ samples: 3 }) });
    assert.equal(outcome.verified, true, outcome.error);
    const passing = outcome.attempts.filter((a) => a.verdict.passed);
    assert.equal(passing.length, 3, 'all three were verified');
    assert.match(outcome.best!.candidate.code, /max\(x, 0\)/);
  });
});
