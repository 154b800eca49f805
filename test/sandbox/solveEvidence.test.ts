// Issue 15: results verified only by generated tests cannot be gamed by sameness, S* picks between tied
// candidates, and refine prompts carry a runtime trace. End to end: the real `ollama` client over HTTP to
// the Ollama-protocol test server (scripted answers), candidates in the real process sandbox.
import { strict as assert } from 'node:assert';
import { createModelClient } from '../../src/core/model/client';
import { createProcessSandbox } from '../../src/core/sandbox/processSandbox';
import type { Sandbox } from '../../src/core/sandbox/types';
import { createVerifier } from '../../src/core/verify/verifier';
import type { Verifier } from '../../src/core/verify/types';
import { solve } from '../../src/core/solve/solve';
import { evidenceText } from '../../src/core/solve/evidence';
import type { SolveDeps } from '../../src/core/solve/types';
import type { Budget, Task } from '../../src/core/types';
import { startOllamaServer, type ChatBody, type OllamaTestServer, type ScriptedReply } from '../fixtures/ollamaServer';
import { testModelSettings } from '../fixtures/stack';

const py = (code: string): string => `\`\`\`python\n${code}\n\`\`\``;

const slugTask: Task = {
  id: 'slugify',
  language: 'python',
  prompt:
    'def slugify(text):\n    """Lower-case text, with each run of characters other than letters and digits turned into one hyphen, and no hyphen at either end."""\n',
  entryPoint: 'slugify',
  tests: '',
  testsOrigin: 'none',
  origin: 'user',
  completionStyle: 'function',
};
const BUGGY_SLUG = py("def slugify(text):\n    return text.lower().replace(' ', '-')");
const FIXED_SLUG = py(
  "import re\n\ndef slugify(text):\n    return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')",
);
// Four tests; the last two expose the buggy version.
const SLUG_TESTS = py(
  [
    'assert slugify("Hello World") == "hello-world"',
    'assert slugify("abc") == "abc"',
    'assert slugify("  Hello   World  ") == "hello-world"',
    'assert slugify("Hello, World!") == "hello-world"',
  ].join('\n'),
);
const REVEALING = ['slugify("  Hello   World  ")', 'slugify("Hello, World!")'];

type Kind = 'tests' | 'critique' | 'refine' | 'distinguish' | 'judge' | 'sample';
function lastUser(body: ChatBody): string {
  return body.messages[body.messages.length - 1]?.content ?? '';
}
function kindOf(body: ChatBody): Kind {
  const last = lastUser(body);
  if (/test assertions/.test(last)) return 'tests';
  if (/Explain in a few sentences what is wrong/.test(last)) return 'critique';
  if (/Now write the corrected|held no code block/.test(last)) return 'refine';
  if (/return different results/.test(last)) return 'distinguish';
  if (/Two implementations disagree/.test(last)) return 'judge';
  return 'sample';
}
const budget = (b: Partial<Budget> = {}): Budget => ({ samples: 2, refineRounds: 2, maxTokens: 0, wallMs: 0, ...b });

describe('solve: evidence, S* and traces (test server, real sandbox)', function () {
  this.timeout(30000);
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

  async function serve(respond: (body: ChatBody, index: number) => string | ScriptedReply): Promise<SolveDeps> {
    server = await startOllamaServer({ respond });
    return { model: createModelClient(testModelSettings(server.url)), verifier, sandbox };
  }
  const bodies = (): ChatBody[] =>
    server!.requests.filter((r) => r.path === '/api/chat').map((r) => r.body as ChatBody);

  it('does not verify a model that returns the same buggy function every time: copies do not outvote the tests', async () => {
    const deps = await serve((body) => {
      const k = kindOf(body);
      if (k === 'tests') return SLUG_TESTS;
      if (k === 'critique') return 'It only replaces single spaces.';
      return BUGGY_SLUG;
    });
    const outcome = await solve(slugTask, deps, { budget: budget() });
    assert.equal(outcome.verified, false, outcome.notes.join(' / '));
    assert.equal(outcome.verifiedByGeneratedTests, false);
    assert.equal(outcome.stopReason, 'budget');
    assert.ok(!outcome.notes.some((n) => /dropped/.test(n)), `no test was dropped: ${outcome.notes.join(' / ')}`);
    for (const call of REVEALING)
      assert.ok(outcome.task.tests.includes(call), `the revealing test on ${call} is still there`);
    assert.equal(outcome.evidence?.distinctPrograms, 1);
    assert.equal(outcome.evidence?.testsDropped, 0);
    assert.ok(outcome.attempts.length >= 4, 'the refine rounds ran');
    assert.ok(outcome.attempts.every((a) => !a.verdict.passed));
  });

  it('verifies a model that fixes the bug after feedback, with no revealing test dropped, and shows the evidence', async () => {
    const deps = await serve((body) => {
      const k = kindOf(body);
      if (k === 'tests') return SLUG_TESTS;
      if (k === 'critique') return 'Runs of spaces and punctuation must become one hyphen, and the ends trimmed.';
      return k === 'refine' ? FIXED_SLUG : BUGGY_SLUG;
    });
    const outcome = await solve(slugTask, deps, { budget: budget() });
    assert.equal(outcome.verified, true, outcome.notes.join(' / '));
    assert.equal(outcome.verifiedByGeneratedTests, true);
    assert.match(outcome.best!.candidate.code, /re\.sub/);
    assert.equal(outcome.best!.candidate.round, 1, 'the fix came from a refine round');
    assert.equal(outcome.best!.verdict.testsTotal, 4, 'verified against all four tests');
    for (const call of REVEALING)
      assert.ok(outcome.task.tests.includes(call), `the revealing test on ${call} was kept`);
    assert.deepEqual(
      { ...outcome.evidence },
      {
        distinctPrograms: 2,
        agreeingPrograms: 1,
        testsKept: 4,
        testsDropped: 0,
        testsTotal: 4,
        testsContradictingExamples: 0,
      },
    );
    assert.equal(evidenceText(outcome), 'generated tests: 1 program of 2 distinct ones passes, 4 of 4 tests kept');
    // The refine prompt showed the run: a trace of the buggy code on a failing input, with variable values.
    const refine = bodies().find((b) => kindOf(b) === 'refine')!;
    assert.match(lastUser(refine), /runtime trace/);
    assert.match(lastUser(refine), /Trace of slugify\("(  Hello   World  |Hello, World!)"\)/);
    assert.match(lastUser(refine), /text='(  Hello   World  |Hello, World!)'/);
    assert.match(lastUser(refine), /Result: '(--hello---world--|hello,-world!)'/);
  });

  it('keeps a result unconfirmed (not verified) when every candidate is the same program', async () => {
    const deps = await serve((body) => (kindOf(body) === 'tests' ? SLUG_TESTS : FIXED_SLUG));
    const outcome = await solve(slugTask, deps, { budget: budget({ refineRounds: 1 }) });
    assert.equal(outcome.verified, false);
    assert.equal(outcome.unconfirmed, true);
    assert.equal(outcome.stopReason, 'budget');
    assert.ok(
      outcome.best && /re\.sub/.test(outcome.best.candidate.code),
      'the passing candidate is still the best attempt',
    );
    assert.equal(outcome.attempts.length, 4, 'a further round of fresh samples looked for a second program');
    assert.ok(outcome.notes.some((n) => /^unconfirmed: /.test(n)));
    assert.match(
      evidenceText(outcome)!,
      /^generated tests: unconfirmed, every candidate was the same program; 4 of 4 tests kept$/,
    );
    // The samples asked in two prompt styles, at different temperatures and seeds.
    const samples = bodies().filter((b) => kindOf(b) === 'sample');
    assert.ok(
      samples.some((b) => /edge cases/.test(lastUser(b))) && samples.some((b) => !/edge cases/.test(lastUser(b))),
    );
    assert.equal(new Set(samples.map((b) => b.options?.seed)).size, samples.length, 'every sample has its own seed');
    assert.ok(new Set(samples.map((b) => b.options?.temperature)).size >= 2);
    const tests = bodies().filter((b) => kindOf(b) === 'tests');
    assert.equal(tests.length, 2, 'tests were asked for in two styles');
    assert.notEqual(tests[0]!.options?.temperature, tests[1]!.options?.temperature);
  });

  it("leaves out generated tests that contradict the task's own examples", async () => {
    const task: Task = {
      ...slugTask,
      id: 'double',
      prompt: 'def double(n):\n    """Twice n.\n    >>> double(3)\n    6\n    """\n',
      entryPoint: 'double',
    };
    const deps = await serve((body, i) =>
      kindOf(body) === 'tests'
        ? py('assert double(3) == 7\nassert double(0) == 0\nassert double(5) == 10')
        : i % 2 === 0
          ? py('def double(n):\n    return 2 * n')
          : py('def double(n):\n    return n + n'),
    );
    const outcome = await solve(task, deps, { budget: budget({ refineRounds: 1 }) });
    assert.equal(outcome.verified, true, outcome.notes.join(' / '));
    assert.doesNotMatch(outcome.task.tests, /== 7/);
    assert.equal(outcome.evidence?.testsContradictingExamples, 1);
    assert.ok(
      outcome.notes.some((n) => /contradicts the task's example double\(3\) → 6/.test(n)),
      outcome.notes.join(' / '),
    );
    assert.match(
      evidenceText(outcome)!,
      /2 distinct programs agree, 2 of 3 tests kept \(1 contradicting the task's examples\)/,
    );
  });

  it('S*: picks the correct one of two candidates that tie on the given tests, and records the distinguishing input', async () => {
    const task: Task = {
      id: 'clamp',
      language: 'python',
      prompt: 'def clamp0(x):\n    """Return x, or 0 when x is negative."""\n',
      entryPoint: 'clamp0',
      tests: 'assert clamp0(5) == 5\nassert clamp0(0) == 0',
      testsOrigin: 'user',
      origin: 'user',
      completionStyle: 'function',
    };
    const ABS = py('def clamp0(x):\n    return abs(x)'); // shorter, passes both tests, wrong on negatives
    const MAX = py('def clamp0(x):\n    return max(x, 0)');
    let release!: () => void;
    const both = new Promise<void>((r) => (release = r));
    let samples = 0;
    server = await startOllamaServer({
      respond: async (body) => {
        const k = kindOf(body);
        if (k === 'distinguish') return py('clamp0(-3)\nclamp0(7)');
        if (k === 'judge') {
          // The model works the answer out from the description: clamp0(-3) is 0.
          const text = lastUser(body);
          const a = /A returns: (.*)/.exec(text)![1]!.trim();
          return `A negative x gives 0.\nAnswer: ${a === '0' ? 'A' : 'B'}`;
        }
        const mine = ++samples;
        if (mine === 2) release();
        await both; // both samples are in before either is judged
        return { content: mine === 1 ? ABS : MAX, chunkSize: 4096 };
      },
    });
    const deps: SolveDeps = { model: createModelClient(testModelSettings(server.url)), verifier, sandbox };
    const outcome = await solve(task, deps, { budget: budget({ refineRounds: 0 }) });
    assert.equal(outcome.verified, true, outcome.error);
    assert.equal(
      outcome.attempts.filter((a) => a.verdict.passed).length,
      2,
      `both candidates pass the given tests: ${outcome.notes.join(' / ')} ${outcome.attempts.map((a) => a.candidate.code).join(' | ')}`,
    );
    assert.match(outcome.best!.candidate.code, /max\(x, 0\)/, outcome.notes.join(' / '));
    assert.ok(outcome.distinguishing, outcome.notes.join(' / '));
    const d = outcome.distinguishing!.find((x) => x.call === 'clamp0(-3)')!;
    assert.ok(d, JSON.stringify(outcome.distinguishing));
    assert.deepEqual(d.outputs.map((o) => o.output).sort(), ['0', '3']);
    assert.equal(d.chosen, outcome.best!.candidate.id);
    assert.equal(d.judgedBy, 'model');
    assert.equal(d.test, 'assert clamp0(-3) == 0');
    assert.ok(
      outcome.distinguishing!.some((x) => x.call === 'clamp0(7)' && x.judgedBy === 'none'),
      'an input on which they agree is recorded, not judged',
    );

    // Without S*, the tie goes to the simpler code: the wrong one.
    await server.close();
    samples = 0;
    server = await startOllamaServer({ respond: (_b, i) => ({ content: i % 2 === 0 ? ABS : MAX, chunkSize: 4096 }) });
    const plain = await solve(
      task,
      { ...deps, model: createModelClient(testModelSettings(server.url, { maxParallel: 1 })) },
      { budget: budget({ refineRounds: 0 }), distinguish: false },
    );
    assert.match(plain.best!.candidate.code, /abs\(x\)/);
  });

  it("S*: uses the tests' own oracle when an assert covers the distinguishing input", async () => {
    const task: Task = {
      id: 'sign',
      language: 'python',
      prompt: 'def sign(x):\n    """-1, 0 or 1 by the sign of x.\n    sign(-4) == -1\n    """\n',
      entryPoint: 'sign',
      tests: 'assert sign(3) == 1\nassert sign(0) == 0',
      testsOrigin: 'user',
      origin: 'user',
      completionStyle: 'function',
    };
    const deps = await serve((body, i) => {
      if (kindOf(body) === 'judge') return 'Answer: A'; // never asked: the example decides
      return i % 2 === 0
        ? py('def sign(x):\n    return (x > 0) - (x < 0)')
        : py('def sign(x):\n    return 1 if x > 0 else 0');
    });
    const outcome = await solve(task, deps, { budget: budget({ refineRounds: 0 }) });
    assert.equal(outcome.verified, true, outcome.error);
    assert.match(outcome.best!.candidate.code, /\(x > 0\) - \(x < 0\)/);
    const judged = (outcome.distinguishing ?? []).filter((d) => d.judgedBy !== 'none');
    assert.ok(judged.length >= 1, JSON.stringify(outcome.distinguishing));
    assert.ok(
      judged.every((d) => d.judgedBy === 'oracle'),
      JSON.stringify(judged),
    );
    assert.ok(
      judged.some((d) => d.call === 'sign(-4)' && d.test === 'assert sign(-4) == -1'),
      JSON.stringify(judged),
    );
    assert.equal(bodies().filter((b) => kindOf(b) === 'judge').length, 0, 'the model was not asked');
    assert.ok(judged.every((d) => d.chosen === outcome.best!.candidate.id));
  });
});
