// Prompt sizing: deliberate shrinking with notes, never silent truncation.
import { strict as assert } from 'node:assert';
import {
  estimateMessagesTokens,
  estimateTokens,
  fitPrompt,
  PromptTooLargeError,
  renderPrompt,
  trimMiddle,
  type PromptParts,
} from '../../src/core/model/promptBudget';

const lines = (n: number, prefix = 'line') =>
  Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}: AssertionError: expected 1 got 2`).join('\n');

function parts(history: PromptParts['history']): PromptParts {
  return {
    system: 'You write Python functions. Answer with one ```python block.',
    task: 'def add(a, b):\n    """Return a + b."""',
    history,
    instruction: 'Fix the function so the failing tests pass.',
  };
}

describe('estimateTokens', () => {
  it('is zero for empty text and grows with length', () => {
    assert.equal(estimateTokens(''), 0);
    assert.ok(estimateTokens('a'.repeat(100)) < estimateTokens('a'.repeat(1000)));
  });

  it('is conservative: at least one token per 4 characters of code, more for symbols and non-ASCII', () => {
    const code = 'def f(x):\n    return [y * 2 for y in x if y % 3 == 0]\n'.repeat(20);
    assert.ok(estimateTokens(code) >= code.length / 4, `${estimateTokens(code)} < ${code.length / 4}`);
    assert.ok(estimateTokens('((((((((((') > estimateTokens('aaaaaaaaaa'));
    assert.equal(estimateTokens('日本語'), 3 + 0);
  });
});

describe('fitPrompt', () => {
  it('renders system + one user message (task, attempts, instruction) and adds no notes when it fits', () => {
    const { messages, notes } = fitPrompt(
      parts([{ code: 'def add(a, b):\n    return a - b', feedback: 'assert add(1, 2) == 3 failed: got -1' }]),
      8192,
      1024,
    );
    assert.deepEqual(notes, []);
    assert.equal(messages.length, 2);
    assert.equal(messages[0]!.role, 'system');
    assert.equal(messages[1]!.role, 'user');
    const u = messages[1]!.content;
    assert.ok(
      u.indexOf('def add(a, b):\n    """Return') < u.indexOf('## Attempt 1') &&
        u.indexOf('## Attempt 1') < u.indexOf('Fix the function'),
    );
    assert.match(u, /```\ndef add\(a, b\):\n    return a - b\n```\nFeedback:\nassert add/);
  });

  it('drops the oldest attempts first and says so', () => {
    const history = [1, 2, 3, 4].map((i) => ({
      code: `def add(a, b):\n    return a * ${i}\n${'# pad\n'.repeat(40)}`,
      feedback: `attempt ${i} failed`,
    }));
    const full = estimateMessagesTokens(renderPrompt(parts(history)));
    const ctx = Math.floor(full * 0.6) + 100;
    const { messages, notes } = fitPrompt(parts(history), ctx, 100);
    assert.ok(estimateMessagesTokens(messages) <= ctx - 100);
    const u = messages[1]!.content;
    assert.ok(!u.includes('attempt 1 failed'));
    assert.ok(u.includes('attempt 4 failed'), 'the newest attempt is kept');
    assert.match(notes[0]!, /dropped the \d+ oldest of 4 earlier attempt/);
    // Attempts keep their original numbers so the model is not misled about how many came before.
    assert.match(u, /## Attempt 4/);
  });

  it('trims long feedback keeping head and tail with an explicit marker', () => {
    const history = [{ code: 'def add(a, b):\n    return 0', feedback: lines(400) }];
    const full = estimateMessagesTokens(renderPrompt(parts(history)));
    const { messages, notes } = fitPrompt(parts(history), Math.floor(full / 3), 50);
    const u = messages[1]!.content;
    assert.match(u, /line 1: AssertionError/);
    assert.match(u, /line 400: AssertionError/);
    assert.match(u, /\[\.\.\. \d+ lines trimmed \.\.\.\]/);
    assert.ok(!u.includes('line 200:'));
    assert.ok(
      notes.some((n) => /trimmed \d+ lines from the feedback of attempt 1/.test(n)),
      notes.join('\n'),
    );
  });

  it('drops the last attempt when trimming is not enough', () => {
    const history = [{ code: `def add(a, b):\n${'    x = 1\n'.repeat(600)}    return 0`, feedback: 'short' }];
    const bare = estimateMessagesTokens(renderPrompt(parts([])));
    const { messages, notes } = fitPrompt(parts(history), bare + 60, 50);
    assert.ok(!messages[1]!.content.includes('## Attempt'));
    assert.match(notes.at(-1)!, /dropped the last earlier attempt/);
  });

  it('throws PromptTooLargeError naming num_ctx when the task alone does not fit', () => {
    const big: PromptParts = { ...parts([]), task: 'x = 1\n'.repeat(3000) };
    assert.throws(
      () => fitPrompt(big, 2048, 512),
      (err: unknown) =>
        err instanceof PromptTooLargeError &&
        /context window is 2048 tokens with 512 kept for the answer/.test(err.message) &&
        /num_ctx \(crucible\.generation\.numCtx, CLI: --num-ctx\)/.test(err.message),
    );
  });

  it('trimMiddle leaves short text alone', () => {
    assert.deepEqual(trimMiddle('a\nb\nc', 2, 2), { text: 'a\nb\nc', trimmed: 0 });
    assert.equal(trimMiddle(lines(10), 2, 2).text.split('\n')[2], '[... 6 lines trimmed ...]');
  });
});
