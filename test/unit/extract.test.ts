// Code extraction from model answers, in the shapes local models actually produce.
import { strict as assert } from 'node:assert';
import { extractCode, findBlocks, stripReasoning } from '../../src/core/model/extract';
import { checkSyntax } from '../../src/core/parse/syntax';
import type { Language } from '../../src/core/types';

function code(answer: string, language: Language = 'python', entryPoint?: string): string {
  const r = extractCode(answer, language, entryPoint);
  assert.ok(r.code !== null, `expected code, got reason: ${'reason' in r ? r.reason : ''}`);
  return r.code;
}

function reason(answer: string, language: Language = 'python', entryPoint?: string): string {
  const r = extractCode(answer, language, entryPoint);
  assert.equal(r.code, null, `expected no code, got ${JSON.stringify(r.code)}`);
  return 'reason' in r ? r.reason : '';
}

const F = '```';

describe('extractCode', () => {
  it('takes a ```python block out of prose', () => {
    const r = extractCode(
      `Sure! Here is the function:\n\n${F}python\ndef add(a, b):\n    return a + b\n${F}\n\nThis adds two numbers.`,
      'python',
    );
    assert.deepEqual(r, { code: 'def add(a, b):\n    return a + b', blocks: 1 });
  });

  it('accepts ```py, ```python3 and ~~~ fences', () => {
    assert.equal(code(`${F}py\nx = 1\n${F}`), 'x = 1');
    assert.equal(code(`${F}python3\ny = 2\n${F}`), 'y = 2');
    assert.equal(code(`~~~python\nz = 3\n~~~`), 'z = 3');
  });

  it('accepts a fence with no language tag', () => {
    assert.equal(code(`Here:\n${F}\ndef f():\n    return 1\n${F}`), 'def f():\n    return 1');
  });

  it('takes js/javascript/ts/typescript tags for their languages, and the sibling tag with a note', () => {
    assert.equal(code(`${F}js\nfunction f() { return 1; }\n${F}`, 'javascript'), 'function f() { return 1; }');
    assert.equal(code(`${F}javascript\nconst g = () => 2;\n${F}`, 'javascript'), 'const g = () => 2;');
    assert.equal(
      code(`${F}ts\nfunction h(x: number): number { return x; }\n${F}`, 'typescript'),
      'function h(x: number): number { return x; }',
    );
    assert.equal(code(`${F}typescript\nconst k: number = 1;\n${F}`, 'typescript'), 'const k: number = 1;');
    const r = extractCode(`${F}js\nfunction f(a) { return a; }\n${F}`, 'typescript');
    assert.ok(r.code !== null && /block tagged js used for typescript/.test(r.note ?? ''));
  });

  it('with several blocks, picks the one defining the entry point (the last such one)', () => {
    const answer = [
      'First attempt:',
      `${F}python\ndef solve(xs):\n    return sum(xs)\n${F}`,
      'Wait, that is wrong for empty lists. Corrected:',
      `${F}python\ndef solve(xs):\n    return sum(xs) if xs else 0\n${F}`,
      'Example:',
      `${F}python\nprint(solve([1, 2, 3]))\n${F}`,
    ].join('\n');
    const r = extractCode(answer, 'python', 'solve');
    assert.ok(r.code !== null);
    assert.equal(r.code, 'def solve(xs):\n    return sum(xs) if xs else 0');
    assert.equal(r.blocks, 3);
    assert.match(r.note ?? '', /chose block 2 of 3/);
  });

  it('without an entry point, prefers the longest defining block over a usage example', () => {
    const answer = `${F}python\ndef longest_word(words):\n    best = ''\n    for w in words:\n        if len(w) > len(best):\n            best = w\n    return best\n${F}\n\nUsage:\n${F}python\nprint(longest_word(['a', 'bbb']))\nassert longest_word([]) == ''\n${F}`;
    assert.match(code(answer), /^def longest_word/);
  });

  it('adds helper blocks the chosen block calls', () => {
    const answer = `A helper first:\n${F}python\ndef is_prime(n):\n    return n > 1 and all(n % d for d in range(2, n))\n${F}\nThen the function:\n${F}python\ndef count_primes(xs):\n    return sum(1 for x in xs if is_prime(x))\n${F}`;
    const r = extractCode(answer, 'python', 'count_primes');
    assert.ok(r.code !== null);
    assert.match(r.code, /^def is_prime[\s\S]*\n\ndef count_primes/);
    assert.match(r.note ?? '', /combined 2 blocks/);
  });

  it('ignores blocks in other languages (shell, output) next to the code', () => {
    const answer = `Install nothing:\n${F}bash\npip install nothing\n${F}\n${F}python\ndef f():\n    return 42\n${F}\nOutput:\n${F}text\n42\n${F}`;
    assert.equal(code(answer), 'def f():\n    return 42');
  });

  it('takes an unclosed fence at the end of a cut-off answer, with a note', () => {
    const r = extractCode(
      `Here you go:\n${F}python\ndef fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n`,
      'python',
    );
    assert.ok(r.code !== null);
    assert.equal(r.code, 'def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)');
    assert.match(r.note ?? '', /not closed.*cut off/);
  });

  it('strips <think> reasoning, including code inside it', () => {
    const answer = `<think>\nMaybe:\n${F}python\ndef wrong():\n    pass\n${F}\nNo, better use a loop.\n</think>\n\n${F}python\ndef right():\n    return 1\n${F}`;
    const r = extractCode(answer, 'python');
    assert.ok(r.code !== null);
    assert.equal(r.code, 'def right():\n    return 1');
    assert.match(r.note ?? '', /reasoning/);
    // An answer whose template opened the tag: only the closing tag appears.
    assert.equal(code(`so I will write it\n</think>\n${F}python\nx = 1\n${F}`), 'x = 1');
  });

  it('reports an answer cut off inside its reasoning with the fix', () => {
    assert.match(
      reason('<think>\nLet me think about the edge cases first, then write'),
      /cut off inside its <think>.*numPredict/,
    );
  });

  it('takes bare code with no fences, dropping prose before and after', () => {
    assert.equal(code('def square(x):\n    return x * x\n'), 'def square(x):\n    return x * x');
    const answer =
      'Here is a solution that works.\n\nimport math\n\ndef hyp(a, b):\n    return math.sqrt(a * a + b * b)\n\nThis uses the Pythagorean theorem to compute it.';
    const r = extractCode(answer, 'python');
    assert.ok(r.code !== null);
    assert.equal(r.code, 'import math\n\ndef hyp(a, b):\n    return math.sqrt(a * a + b * b)');
    assert.equal(r.blocks, 0);
    assert.match(r.note ?? '', /no fenced block/);
    assert.equal(
      code('function twice(x) {\n  return 2 * x;\n}', 'javascript'),
      'function twice(x) {\n  return 2 * x;\n}',
    );
  });

  it('returns a reason for empty answers, prose-only answers and wrong-language blocks', () => {
    assert.match(reason(''), /empty/);
    assert.match(reason('   \n  '), /empty/);
    assert.match(reason('I am sorry, I cannot help with that request.'), /no code block and no python code/);
    assert.match(reason(`${F}java\nclass A {}\n${F}`), /tagged java, not python/);
  });

  it('dedents a fence nested in a list item', () => {
    const answer = `1. The function:\n   ${F}python\n   def f(x):\n       return x + 1\n   ${F}\n2. Done.`;
    assert.equal(code(answer), 'def f(x):\n    return x + 1');
  });

  it('keeps a JS entry point defined as a const arrow function', () => {
    const answer = `${F}javascript\nconst helper = (s) => s.trim();\n${F}\n${F}javascript\nconst normalize = (s) => helper(s).toLowerCase();\nmodule.exports = { normalize };\n${F}`;
    const r = extractCode(answer, 'javascript', 'normalize');
    assert.ok(r.code !== null);
    assert.match(r.code, /^const helper[\s\S]*const normalize/);
  });

  it('handles CRLF line endings and info strings after the tag', () => {
    assert.equal(
      code(`Text\r\n${F}python title="sol.py"\r\ndef f():\r\n    return 0\r\n${F}\r\n`),
      'def f():\n    return 0',
    );
  });

  it('findBlocks and stripReasoning expose the pieces', () => {
    const blocks = findBlocks(`${F}py\na\n${F}\ntext\n${F}\nb`);
    assert.deepEqual(
      blocks.map((b) => [b.tag, b.body, b.closed]),
      [
        ['py', 'a', true],
        ['', 'b', false],
      ],
    );
    assert.deepEqual(stripReasoning('<thinking>x</thinking>y'), { text: 'y', unclosed: false });
  });
});

describe('syntax check of an extracted candidate', () => {
  it('passes good code and words a syntax error as feedback with line and caret', async () => {
    const ok = await checkSyntax('python', code(`${F}python\ndef f(x):\n    return x + 1\n${F}`));
    assert.equal(ok.ok, true);
    assert.equal(ok.feedback, '');
    const bad = await checkSyntax('python', code(`${F}python\ndef f(x)\n    return x +\n${F}`));
    assert.equal(bad.ok, false);
    assert.match(bad.feedback, /The code does not parse:\nSyntaxError near line \d+/);
    assert.ok(bad.errors.length >= 1);
  });

  it('checks a cut-off JavaScript answer (unclosed brace) as a syntax error', async () => {
    const cut = code(`${F}js\nfunction f(a) {\n  if (a) {\n    return 1;\n`, 'javascript');
    const report = await checkSyntax('javascript', cut);
    assert.equal(report.ok, false);
    assert.match(report.feedback, /missing "}"|unexpected/);
  });
});
