// The solve loop's pure parts: prompts, selection, generated-test parsing and the CodeT cross-check.
import { strict as assert } from 'node:assert';
import type { Attempt, Task, Verdict } from '../../src/core/types';
import { callsOf, crossCheck, extraCalls, parseAsserts, testsSource } from '../../src/core/solve/generatedTests';
import {
  critiqueInstruction,
  refineInstruction,
  showsTests,
  taskPrompt,
  testsPrompt,
} from '../../src/core/solve/prompts';
import { choosePassing, codeSize, rankFailures } from '../../src/core/solve/select';
import { definesEntryPoint, solutionOf, taskForCode } from '../../src/core/solve/placement';

const baseTask: Task = {
  id: 't',
  language: 'python',
  prompt: 'import math\n\ndef helper(x):\n    return x\n\ndef area(r):\n    """Area of a circle."""\n',
  entryPoint: 'area',
  tests: 'assert area(1) > 3',
  testsOrigin: 'user',
  origin: 'benchmark',
  completionStyle: 'continuation',
};

function attempt(
  id: string,
  passed: number,
  total: number,
  code = 'def f():\n    return 1',
  round = 0,
  status: Verdict['status'] = 'failed',
): Attempt {
  return {
    candidate: { id, code, language: 'python', round },
    verdict: {
      status: passed === total && total > 0 ? 'passed' : status,
      passed: passed === total && total > 0,
      testsPassed: passed,
      testsTotal: total,
      durationMs: 1,
      feedback: '',
      failures: [],
    },
  };
}

describe('solve prompts', () => {
  it('shows a continuation task as code to complete and hides benchmark tests', () => {
    const text = taskPrompt(baseTask);
    assert.match(text, /Complete this Python code/);
    assert.match(text, /```python\nimport math/);
    assert.equal(showsTests(baseTask), false);
    assert.doesNotMatch(text, /assert area/);
  });

  it("shows the user's own tests, context and current code for a user task", () => {
    const t: Task = {
      ...baseTask,
      origin: 'user',
      completionStyle: 'function',
      context: 'PI = 3.14',
      currentCode: 'def area(r): return 0',
      hint: 'fix the formula',
    };
    const text = taskPrompt(t);
    assert.match(text, /It must pass these tests:\n\n```python\nassert area\(1\) > 3/);
    assert.match(text, /PI = 3\.14/);
    assert.match(text, /def area\(r\): return 0/);
    assert.match(text, /Note: fix the formula/);
  });

  it('fences a signature-with-docstring prompt as code and leaves prose as it is', () => {
    const sig: Task = {
      ...baseTask,
      origin: 'user',
      completionStyle: 'function',
      prompt: 'def area(r):\n    """Area."""\n',
    };
    assert.match(taskPrompt(sig), /Write the function `area` in Python\.\n\n```python\ndef area\(r\):/);
    const prose: Task = { ...sig, prompt: 'Compute the area of a circle of radius r.' };
    assert.match(taskPrompt(prose), /in Python\.\n\nCompute the area/);
  });

  it('refine instruction carries the failing test, expected, actual, error and the critique', () => {
    const text = refineInstruction(
      baseTask,
      [{ test: 'assert area(2) == 12.56', expected: '12.56', actual: '4', error: 'AssertionError' }],
      'fb',
      'It squares wrongly.',
    );
    assert.match(text, /Failing test: assert area\(2\) == 12\.56/);
    assert.match(text, /Expected: 12\.56/);
    assert.match(text, /Actual: 4/);
    assert.match(text, /Error: AssertionError/);
    assert.match(text, /It squares wrongly\./);
    assert.match(critiqueInstruction(baseTask), /Do not write the corrected code yet/);
  });

  it('asks for asserts in the language of the task', () => {
    assert.match(testsPrompt(baseTask, 5), /Write 5 test assertions for `area`.*assert area\(\.\.\.\) == expected/s);
    assert.match(
      testsPrompt({ ...baseTask, language: 'javascript' }, 3),
      /assert\.deepStrictEqual\(area\(\.\.\.\), expected\);/,
    );
  });
});

describe('solve code placement', () => {
  it('tells a whole function from a continuation body', () => {
    assert.equal(definesEntryPoint(baseTask, 'def area(r):\n    return 3.14 * r * r\n'), true);
    assert.equal(definesEntryPoint(baseTask, '    return 3.14 * r * r\n'), false);
    const js: Task = { ...baseTask, language: 'javascript', entryPoint: 'area' };
    assert.equal(definesEntryPoint(js, 'function area(r) { return r; }'), true);
    assert.equal(definesEntryPoint(js, 'const area = (r) => r;'), true);
    assert.equal(definesEntryPoint(js, 'return r * r; }'), false);
  });

  it('gives a whole-function answer the prompt preamble (imports, helpers) as context', () => {
    const t = taskForCode(baseTask, 'def area(r):\n    return math.pi * r * r\n');
    assert.equal(t.completionStyle, 'function');
    assert.match(t.context!, /^import math\n\ndef helper\(x\):\n    return x$/);
    assert.equal(taskForCode(baseTask, '    return 1\n'), baseTask);
  });

  it('builds the solution text a user keeps', () => {
    assert.equal(solutionOf(baseTask, '    return 1\n'), `${baseTask.prompt}    return 1\n`);
    assert.equal(solutionOf(baseTask, 'def area(r):\n    return 1\n'), 'def area(r):\n    return 1\n');
  });
});

describe('solve selection', () => {
  it('ranks failures by tests passed, then code that ran, then simpler code', () => {
    const a = attempt('a', 1, 4);
    const b = attempt('b', 3, 4);
    const c = attempt('c', 0, 0, 'x', 0, 'error');
    const d = attempt('d', 0, 4);
    assert.deepEqual(
      rankFailures([a, c, b, d]).map((x) => x.candidate.id),
      ['b', 'a', 'd', 'c'],
    );
  });

  it('chooses by tests passed, then agreement on extra inputs, then simpler code', () => {
    const long = attempt('long', 3, 3, 'def f(x):\n    y = x\n    # comment\n    return y + 0');
    const short = attempt('short', 3, 3, 'def f(x):\n    return x');
    const odd = attempt('odd', 3, 3, 'def f(x): return x');
    // No signatures: simpler wins (comments do not count).
    assert.equal(choosePassing([long, short])!.candidate.id, 'short');
    // Agreement beats simplicity: long and short agree, odd (shortest) disagrees.
    assert.equal(choosePassing([odd, long, short], ['[2]', '[1]', '[1]'])!.candidate.id, 'short');
    assert.equal(choosePassing([odd, long], ['[2]', '[1]'])!.candidate.id, 'odd');
    // More tests passed beats everything.
    const more = attempt('more', 4, 4, 'def f(x):\n    return x if x else x');
    assert.equal(choosePassing([short, more], ['[1]', '[1]'])!.candidate.id, 'more');
    assert.equal(choosePassing([]), undefined);
    assert.ok(codeSize('a = 1  # note', 'python') < codeSize('a = 1  # note\nb = 2', 'python'));
  });
});

describe('generated tests', () => {
  it('parses python asserts, joining multi-line ones and ignoring prose', () => {
    const text =
      'Here you go:\nassert add(1, 2) == 3\nassert add(\n    -1, 1) == 0\nprint(add(1, 1))\nassert add(1, 2) == 3\nassert add((1, 2'; // duplicate and cut-off dropped
    assert.deepEqual(parseAsserts(text, 'python'), ['assert add(1, 2) == 3', 'assert add(\n    -1, 1) == 0']);
  });

  it('parses node:assert calls for JavaScript and adds the import', () => {
    const asserts = parseAsserts(
      'assert.strictEqual(add(1, 2), 3)\nassert.deepStrictEqual(pair(1), [1, 1]);\nconsole.log(1)',
      'javascript',
    );
    assert.deepEqual(asserts, ['assert.strictEqual(add(1, 2), 3);', 'assert.deepStrictEqual(pair(1), [1, 1]);']);
    assert.match(testsSource(asserts, 'javascript'), /^const assert = require\('node:assert'\);\n/);
  });

  it('drops a test no candidate passes when candidates agree, CodeT style', () => {
    // Three candidates; two agree (pass tests 0,1), test 2 is passed by nobody: dropped.
    const m = [
      [true, true, false],
      [true, true, false],
      [true, false, false],
    ];
    const c = crossCheck(m, 3);
    assert.deepEqual(c.kept, [0, 1]);
    assert.deepEqual(c.dropped, [2]);
    assert.deepEqual(c.passesKept, [true, true, false]);
    assert.deepEqual(c.scores, [4, 4, 1]);
  });

  it('keeps every test without consensus (a lone candidate is no evidence against a test)', () => {
    const c = crossCheck(
      [
        [true, false],
        [false, true],
      ],
      2,
    );
    assert.deepEqual(c.kept, [0, 1]);
    assert.deepEqual(c.passesKept, [false, false]);
    const none = crossCheck(
      [
        [false, false],
        [false, false],
      ],
      2,
    );
    assert.deepEqual(none.kept, [0, 1]);
  });

  it('finds calls of the entry point and bumps integer literals for extra inputs', () => {
    assert.deepEqual(callsOf('assert add(1, (2)) == 3\nassert add("a)", 4) == 5', 'add'), [
      'add(1, (2))',
      'add("a)", 4)',
    ]);
    const extra = extraCalls(['>>> add(1, 2)\nassert add(1, 2) == 3'], 'add');
    assert.deepEqual(extra, ['add(1, 2)', 'add(2, 3)']);
  });
});

describe('failedVerdict (one helper for solve and self-play)', () => {
  it('says no test ran: testsTotal 0, so front ends show "no test ran" and ranking scores it 0', async () => {
    const { failedVerdict } = await import('../../src/core/solve/verdict');
    const v = failedVerdict('error', 'no code block found');
    assert.deepEqual(v, {
      status: 'error',
      passed: false,
      testsPassed: 0,
      testsTotal: 0,
      durationMs: 0,
      feedback: 'no code block found',
      failures: [],
    });
    const withFailure = failedVerdict('timeout', 'too slow', [
      { test: 'assert sat(sol()) is True', error: 'too slow' },
    ]);
    assert.equal(withFailure.testsTotal, 0);
    assert.equal(withFailure.failures.length, 1);
  });
});
