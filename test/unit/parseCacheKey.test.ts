import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheKey, isStale, cacheForm } from '../../src/core/parse/cacheKey';
import { findFunctions } from '../../src/core/parse/functions';
import { ghostEdit, replacementFor } from '../../src/core/parse/replacement';

const fixture = (name: string): string => readFileSync(join(__dirname, '../fixtures/code', name), 'utf8');

describe('parse/cacheKey', () => {
  it('is a sha256 hex that ignores line endings, trailing spaces and block indentation', () => {
    const a = cacheKey('def f(x):\n    return x\n', 'assert f(1) == 1', 'python');
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.equal(cacheKey('    def f(x):   \r\n        return x', 'assert f(1) == 1\n', 'python'), a);
    assert.equal(cacheForm('  a\n    b  \n'), 'a\n  b');
  });

  it('changes with the function body, the tests and the language', () => {
    const a = cacheKey('def f(x):\n    return x', 'assert f(1) == 1', 'python');
    assert.notEqual(cacheKey('def f(x):\n    return x + 0', 'assert f(1) == 1', 'python'), a);
    assert.notEqual(cacheKey('def f(x):\n    return x', 'assert f(2) == 2', 'python'), a);
    assert.notEqual(cacheKey('def f(x):\n    return x', 'assert f(1) == 1', 'javascript'), a);
  });

  it('keys real functions from a parse: editing one function leaves the other keys alone', async () => {
    const code = fixture('math.ts');
    const before = await findFunctions(code, 'typescript');
    const edited = code.replace('return p.a + p.b;', 'return p.b + p.a;');
    const after = await findFunctions(edited, 'typescript');
    const key = (fs: typeof before, n: string) => cacheKey(fs.find((f) => f.name === n)!.text, '', 'typescript');
    assert.notEqual(key(after, 'sumPair'), key(before, 'sumPair'));
    assert.equal(key(after, 'scale'), key(before, 'scale'));
    assert.equal(key(after, 'len'), key(before, 'len'));
  });

  it('isStale: unchanged or whitespace-at-line-end edits are fresh, real edits and vanished functions are stale', () => {
    assert.equal(isStale('def f():\n    return 1', 'def f():\n    return 1  \r\n'), false);
    assert.equal(isStale('def f():\n    return 1', 'def f():\n    return 2'), true);
    assert.equal(isStale('def f():\n    return 1', undefined), true);
  });
});

describe('parse/replacement', () => {
  it('takes only the function from a candidate and re-indents a method to its column', async () => {
    const code = fixture('shapes.py');
    const describe = (await findFunctions(code, 'python')).find((f) => f.qualifiedName === 'Shape.describe')!;
    const candidate =
      'import os\n\n@staticmethod\ndef describe(n):\n    """Describe n."""\n    return str(n)\n\nprint(describe(1))\n';
    const text = await replacementFor(describe, candidate, 'python');
    // The user's docstring (''' quotes) is kept over the model's.
    assert.equal(text, "@staticmethod\n    def describe(n):\n        '''Describe n.'''\n        return str(n)");
  });

  it('keeps `export` when the candidate dropped it', async () => {
    const code = fixture('math.ts');
    const sum = (await findFunctions(code, 'typescript')).find((f) => f.name === 'sumPair')!;
    const text = await replacementFor(
      sum,
      '```\nfunction sumPair(p: Pair): number {\n  return p.b + p.a;\n}\n',
      'typescript',
    );
    assert.equal(text, 'export function sumPair(p: Pair): number {\n  return p.b + p.a;\n}');
  });
});

describe("parse/replacement: the user's docstring survives", () => {
  it("puts the original docstring (and its doctests) back when the candidate leaves it out, at the method's indentation", async () => {
    const user =
      'class A:\n    def f(self, x):\n        """Double it.\n\n        >>> A().f(2)\n        4\n        """\n        raise NotImplementedError\n';
    const fn = (await findFunctions(user, 'python')).find((f) => f.name === 'f')!;
    const text = await replacementFor(fn, 'def f(self, x):\n    y = x * 2\n    return y\n', 'python');
    assert.equal(
      text,
      'def f(self, x):\n        """Double it.\n\n        >>> A().f(2)\n        4\n        """\n        y = x * 2\n        return y',
    );
  });

  it("replaces a docstring the model rewrote with the user's own", async () => {
    const user = 'def g(v):\n    """Doc.\n    >>> g(1)\n    1\n    """\n    pass\n';
    const fn = (await findFunctions(user, 'python'))[0]!;
    assert.equal(
      await replacementFor(fn, 'def g(v):\n    """Mine."""\n    return v\n', 'python'),
      'def g(v):\n    """Doc.\n    >>> g(1)\n    1\n    """\n    return v',
    );
    assert.equal(
      await replacementFor(fn, 'def g(v):\n    return v\n', 'python'),
      'def g(v):\n    """Doc.\n    >>> g(1)\n    1\n    """\n    return v',
    );
  });
});

describe('parse/replacement: ghostEdit', () => {
  const apply = (old: string, e: ReturnType<typeof ghostEdit>): string => {
    const inserted = old.slice(0, e.offset) + e.insertText + old.slice(e.offset);
    return inserted.slice(0, e.deleteOffset) + inserted.slice(e.deleteOffset + e.deleteLength);
  };
  const cases: [string, string][] = [
    [
      'def f(x):\n    """Doc."""\n    raise NotImplementedError',
      'def f(x):\n    """Doc."""\n    out = []\n    for v in x:\n        out.append(v)\n    return out',
    ],
    ['def f(a, b):\n    return a - b', 'def f(a, b):\n    return a + b'],
    ['function f() {\n  return 1;\n}', 'function f() {\n  const x = 1;\n  return x;\n}'],
    ['def f():\n    a = 1\n    b = 2\n    return a', 'def f():\n    a = 1\n    return a'],
    ['same', 'same'],
    ['def f():\n\treturn 1', 'def f():\n\tif x:\n\t\treturn 2\n\treturn 1'],
  ];
  for (const [old, neu] of cases) {
    it(`rebuilds the new text exactly: ${JSON.stringify(neu.slice(-18))}`, () => {
      const e = ghostEdit(old, neu);
      if (old === neu) assert.equal(e.insertText, '');
      else assert.equal(apply(old, e), neu);
      assert.ok(!/[ \t]/.test(old[e.offset] ?? ''), 'the insertion starts at a non-blank character');
    });
  }

  it('shows whole new lines above the old ones, and the old ones are what gets deleted', () => {
    const old = 'def f(x):\n    """Doc."""\n    raise NotImplementedError';
    const e = ghostEdit(old, 'def f(x):\n    """Doc."""\n    y = x\n    return y');
    assert.equal(e.offset, old.indexOf('raise'));
    assert.equal(e.insertText, 'y = x\n    return y\n    ');
    const inserted = old.slice(0, e.offset) + e.insertText + old.slice(e.offset);
    assert.equal(inserted.slice(e.deleteOffset, e.deleteOffset + e.deleteLength), '\n    raise NotImplementedError');
  });

  it('a pure insertion deletes nothing; a pure deletion has no ghost text', () => {
    const ins = ghostEdit('def f():\n    return a', 'def f():\n    b = 2\n    return a');
    assert.equal(ins.deleteLength, 0);
    assert.equal(ins.insertText, 'b = 2\n    ');
    assert.equal(ghostEdit('x = 1\ny = 2', 'x = 1\n').insertText, '');
  });
});
