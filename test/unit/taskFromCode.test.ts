import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTaskDetails, buildTaskFromCode, type TaskDetails } from '../../src/core/parse/taskFromCode';
import { doctestChecks, parseDoctest } from '../../src/core/parse/tests';

const dir = join(__dirname, '../fixtures/code');
const fixture = (name: string): string => readFileSync(join(dir, name), 'utf8');

// The built tests run by real interpreters: test/sandbox/taskFromCodeRuns.test.ts.

async function details(input: Parameters<typeof buildTaskDetails>[0]): Promise<TaskDetails> {
  const d = await buildTaskDetails(input);
  if ('error' in d) assert.fail(d.error);
  return d;
}

describe('parse/tests: doctest conversion', () => {
  it('turns >>> examples into asserts, continuation lines, exceptions and printed output', async () => {
    const doc = [
      'Adds.',
      '',
      '>>> f(1)',
      '2',
      ">>> f('a',",
      "...   'b')",
      "'ab'",
      '>>> f(None)',
      'Traceback (most recent call last):',
      '  ...',
      'TypeError: bad',
      '>>> print(f(2))',
      '3',
      '>>> x = f(0)  # doctest: +SKIP',
      '',
    ].join('\n');
    assert.equal(parseDoctest(doc).length, 4);
    const { checks, usesHelper } = await doctestChecks(doc);
    assert.equal(checks[0], 'assert f(1) == 2');
    assert.equal(checks[1], "assert f('a',\n  'b') == 'ab'");
    assert.ok(checks[2]!.startsWith('try:\n    f(None)\nexcept Exception as _crucible_e:'), checks[2]);
    assert.ok(checks[2]!.includes('"TypeError"'));
    assert.equal(checks[3], '_crucible_doctest("print(f(2))", "3")');
    assert.equal(usesHelper, true);
  });

  it('parenthesises comparisons so `== True` does not chain', async () => {
    const { checks } = await doctestChecks('>>> area(1.0) == math.pi\nTrue\n>>> g()\n[1, -2, (3, "x")]');
    assert.deepEqual(checks, ['assert (area(1.0) == math.pi) == True', 'assert g() == [1, -2, (3, "x")]']);
  });
});

describe('parse/taskFromCode', () => {
  const shapes = fixture('shapes.py');
  const testShapes = { path: 'tests/test_shapes.py', text: fixture('tests/test_shapes.py') };

  it('builds a Python Task from the cursor: prompt, current code, context, user tests from docstring, file and workspace', async () => {
    const d = await details({
      code: shapes,
      language: 'python',
      offset: shapes.indexOf('return a + b'),
      path: 'shapes.py',
      otherFiles: [testShapes],
    });
    const t = d.task;
    assert.equal(t.entryPoint, 'add');
    assert.equal(t.origin, 'user');
    assert.equal(t.testsOrigin, 'user');
    assert.ok(t.prompt.startsWith('def add(a, b):\n    """Add two numbers.'));
    assert.ok(!t.prompt.includes('return a + b'));
    assert.ok(t.currentCode?.endsWith('return a + b'));
    assert.ok(t.context?.includes('import math') && t.context.includes('def helper'));
    assert.ok(
      !t.context?.includes('def add') && !t.context?.includes('test_add_more') && !t.context?.includes('assert add'),
    );
    assert.deepEqual(d.testSources, ['docstring of add', 'shapes.py', 'tests/test_shapes.py']);
    assert.ok(t.tests.includes('assert add(1, 2) == 3'));
    assert.ok(t.tests.includes('test_add_more()'));
    assert.ok(t.tests.includes('_crucible_unittest(AddCase, "test_base".split())'));
    assert.ok(!t.tests.includes('test_param'), 'parametrized tests need pytest fixtures and are skipped');
    assert.ok(
      !t.tests.includes('from shapes import'),
      'the import of the user module must go: the candidate defines add',
    );
    assert.ok(t.tests.includes('assert add(triple(1), 1) == 4'), '`shapes.add` is rewritten to the candidate');
    assert.equal(d.range.start, shapes.indexOf('def add'));
  });

  it('skips a test file with syntax errors in places and still reads its healthy tests', async () => {
    const broken = {
      path: 'tests/test_broken.py',
      text: 'from shapes import add\n\ndef test_ok():\n    assert add(2, 2) == 4\n\ndef test_bad(:\n    assert add(\n',
    };
    const huge = {
      path: 'tests/test_huge.py',
      text: `def test_add_big():\n    assert add(1, 1) == 2\n${'x = 1\n'.repeat(6000)}`,
    };
    const d = await details({
      code: shapes,
      language: 'python',
      offset: shapes.indexOf('return a + b'),
      otherFiles: [broken, huge],
    });
    assert.ok(d.task.tests.includes('test_ok()'), d.task.tests);
    assert.ok(!d.task.tests.includes('test_bad'));
    assert.ok(!d.testSources.includes('tests/test_huge.py'), 'files over the size limit are skipped');
  });

  it('a Python method is solved as a plain function and re-attached to its class', async () => {
    const code =
      'class Acc:\n    def __init__(self):\n        self.n = 0\n\n    def bump(self, k):\n        """Adds k.\n\n        >>> Acc().bump(2)\n        2\n        """\n        self.n += k\n        return self.n\n';
    const { task } = await details({ code, language: 'python', offset: code.indexOf('self.n += k') });
    assert.equal(task.entryPoint, 'bump');
    assert.ok(task.prompt.startsWith('def bump(self, k):'), task.prompt);
    assert.ok(task.context?.includes('class Acc'));
    assert.ok(task.tests.startsWith('Acc.bump = bump'));
  });

  it('builds a JavaScript Task with node:assert tests from the file and a test file', async () => {
    const util = fixture('util.js');
    const other = { path: 'tests/util.test.js', text: fixture('tests/util.test.js') };
    const d = await details({
      code: util,
      language: 'javascript',
      offset: util.indexOf('Math.max'),
      otherFiles: [other],
    });
    assert.equal(d.task.entryPoint, 'clamp');
    assert.ok(d.task.prompt.startsWith('/**\n * Clamps a number.'));
    assert.ok(d.task.prompt.endsWith('function clamp(x, lo, hi)'));
    assert.ok(!d.task.context?.includes('module.exports'));
    assert.ok(d.task.tests.includes("test('clamp keeps values inside'"));
    assert.ok(!d.task.tests.includes('double(3)'));
    assert.equal(d.testCount, 4);
  });

  it('builds a TypeScript Task from an exported function, with JSDoc @example tests and a CommonJS context', async () => {
    const ts = fixture('math.ts');
    const d = await details({ code: ts, language: 'typescript', offset: ts.indexOf('p.a + p.b') });
    const t = d.task;
    assert.equal(t.entryPoint, 'sumPair');
    assert.ok(t.prompt.endsWith('export function sumPair(p: Pair): number'));
    assert.ok(t.tests.includes('assert.deepStrictEqual(sumPair({ a: 1, b: 2 }), 3);'));
    assert.ok(t.tests.includes('assert.deepStrictEqual(sumPair({ a: 2, b: 3 }), 5);'));
    assert.ok(!t.tests.includes("require('node:assert')"), 'the context already binds assert');
    assert.ok(t.context?.includes("const { strict: assert } = require('node:assert');"), t.context);
    assert.ok(!t.context?.includes('import type'));
    assert.ok(t.context?.includes('interface Pair'));
    assert.ok(t.context?.startsWith('const'));
  });

  it('a function without tests gets testsOrigin none, and a stub body is not sent as current code', async () => {
    const code = 'import re\n\ndef slug(s: str) -> str:\n    """Lowercase words joined by dashes."""\n    pass\n';
    const t = await buildTaskFromCode({ code, language: 'python', offset: code.indexOf('pass') });
    if ('error' in t) assert.fail(t.error);
    assert.equal(t.testsOrigin, 'none');
    assert.equal(t.tests, '');
    assert.equal(t.currentCode, undefined);
    assert.equal(t.context, 'import re');
  });

  it('passes a diagnostic as the hint', async () => {
    const t = await buildTaskFromCode({
      code: shapes,
      language: 'python',
      offset: shapes.indexOf('return a + b'),
      hint: ' "b" is possibly unbound ',
    });
    if ('error' in t) assert.fail(t.error);
    assert.equal(t.hint, '"b" is possibly unbound');
  });

  it('works on a selection', async () => {
    const start = shapes.indexOf('def helper');
    const end = shapes.indexOf('return x * SCALE') + 'return x * SCALE'.length;
    const d = await details({ code: shapes, language: 'python', selection: { start, end } });
    assert.equal(d.task.entryPoint, 'helper');
    assert.equal(d.task.currentCode, 'def helper(x):\n    return x * SCALE');
    assert.ok(d.task.tests.includes('assert helper(1) == 2'));
    assert.ok(d.task.context?.includes('SCALE = 2'));
    assert.deepEqual(d.range, { start, end });
  });

  it('gives clear errors: no function at the cursor, unsupported language, JS methods, huge files', async () => {
    const none = await buildTaskFromCode({ code: shapes, language: 'python', offset: shapes.indexOf('SCALE = 2') });
    assert.deepEqual(none, { error: 'Put the cursor inside a function or select code to solve.' });
    const rust = await buildTaskFromCode({ code: 'fn main() {}', language: 'rust', offset: 3 });
    assert.deepEqual(rust, { error: 'Crucible supports Python, JavaScript and TypeScript; this file is rust.' });
    const util = fixture('util.js');
    const method = await buildTaskFromCode({ code: util, language: 'javascript', offset: util.indexOf('this.n += 1') });
    assert.ok('error' in method && /Counter\.inc.*Select the whole class/.test(method.error));
    const huge = 'x = 1\n'.repeat(6000);
    const big = await buildTaskFromCode({ code: huge, language: 'python', offset: 3 });
    assert.ok('error' in big && /too large/.test(big.error));
  });

  it('a function with a syntax error can still be fixed (its broken body becomes the current code)', async () => {
    const broken = fixture('broken.py');
    const t = await buildTaskFromCode({
      code: broken,
      language: 'python',
      offset: broken.indexOf('(x +'),
      hint: 'SyntaxError',
    });
    if ('error' in t) assert.fail(t.error);
    assert.equal(t.entryPoint, 'bad');
    assert.ok(t.context?.includes('def good') && t.context.includes('def also_good'));
  });
});
