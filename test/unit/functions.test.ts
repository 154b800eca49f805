import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findFunctions, functionAt, isTooLarge, type FunctionInfo } from '../../src/core/parse/functions';

const fixture = (name: string): string => readFileSync(join(__dirname, '../fixtures/code', name), 'utf8');
const byName = (fns: FunctionInfo[], q: string): FunctionInfo => {
  const f = fns.find((x) => x.qualifiedName === q);
  assert.ok(f, `no function ${q} in ${fns.map((x) => x.qualifiedName).join(', ')}`);
  return f;
};

describe('parse/functions', () => {
  describe('python', () => {
    const code = fixture('shapes.py');
    let fns: FunctionInfo[];
    before(async () => {
      fns = await findFunctions(code, 'python');
    });

    it('finds top-level, async, decorated, methods and nested functions in source order', () => {
      assert.deepEqual(
        fns.map((f) => f.qualifiedName),
        ['helper', 'area', 'fetch', 'Shape.__init__', 'Shape.describe', 'Shape.describe.inner', 'add', 'test_add_more'],
      );
      assert.equal(byName(fns, 'fetch').isAsync, true);
      assert.equal(byName(fns, 'Shape.describe').kind, 'method');
      assert.equal(byName(fns, 'Shape.describe').className, 'Shape');
      assert.equal(byName(fns, 'Shape.describe.inner').kind, 'function');
    });

    it('includes decorators in the range and reports 0-based lines and columns', () => {
      const area = byName(fns, 'area');
      assert.ok(area.text.startsWith('@lru_cache(maxsize=None)\ndef area'));
      assert.equal(code.slice(area.startOffset, area.endOffset), area.text);
      assert.equal(area.startLine, code.split('\n').indexOf('@lru_cache(maxsize=None)'));
      assert.equal(area.startColumn, 0);
      assert.ok(area.text.endsWith('return math.pi * r * r'));
      const describe = byName(fns, 'Shape.describe');
      assert.equal(describe.startColumn, 4);
      assert.ok(describe.text.startsWith('@staticmethod'));
      assert.equal(describe.signature, 'def describe(n):');
    });

    it('extracts signature, cleaned docstring and body range', () => {
      const area = byName(fns, 'area');
      assert.equal(area.signature, 'def area(r: float) -> float:');
      assert.equal(area.docstring?.split('\n')[0], 'Area of a circle.');
      assert.ok(area.docstring?.includes('>>> round(area(2.0), 2)\n12.57'));
      assert.ok(code.slice(area.body.start, area.body.end).startsWith('"""Area'));
      assert.equal(byName(fns, 'helper').docstring, undefined);
    });

    it('functionAt returns the innermost function around an offset', async () => {
      const inInner = code.indexOf('return str(k)');
      assert.equal((await functionAt(code, 'python', inInner))?.qualifiedName, 'Shape.describe.inner');
      const inDescribe = code.indexOf('return inner(n)');
      assert.equal((await functionAt(code, 'python', inDescribe))?.qualifiedName, 'Shape.describe');
      assert.equal(await functionAt(code, 'python', code.indexOf('SCALE = 2')), undefined);
    });

    it('skips a definition with a syntax error but keeps the healthy ones around it', async () => {
      const broken = fixture('broken.py');
      const names = (await findFunctions(broken, 'python')).map((f) => f.name);
      assert.ok(names.includes('good'), names.join(','));
      assert.ok(!names.includes('bad'), names.join(','));
      const all = await findFunctions(broken, 'python', undefined, { includeBroken: true });
      assert.equal(all.find((f) => f.name === 'bad')?.hasError, true);
    });
  });

  describe('javascript', () => {
    const code = fixture('util.js');
    it('finds declarations, arrow functions, function expressions, methods and class-field arrows', async () => {
      const fns = await findFunctions(code, 'javascript');
      assert.deepEqual(
        fns.map((f) => `${f.qualifiedName}:${f.kind}`),
        [
          'clamp:function',
          'double:arrow',
          'greet:functionExpression',
          'Counter.constructor:method',
          'Counter.inc:method',
          'Counter.reset:method',
        ],
      );
      const clamp = byName(fns, 'clamp');
      assert.equal(clamp.signature, 'function clamp(x, lo, hi)');
      assert.equal(clamp.docstring, 'Clamps a number.\n@param {number} x');
      assert.ok(clamp.docRange && clamp.docRange.end < clamp.startOffset);
      const double = byName(fns, 'double');
      assert.equal(double.text, 'const double = (x) => x * 2;');
      assert.equal(byName(fns, 'greet').isAsync, true);
      assert.equal(byName(fns, 'Counter.inc').docstring, 'Adds one.');
    });

    it('functionAt counts the JSDoc above a function as part of it', async () => {
      const f = await functionAt(code, 'javascript', code.indexOf('Clamps a number'));
      assert.equal(f?.name, 'clamp');
    });
  });

  describe('typescript', () => {
    const code = fixture('math.ts');
    it('handles exported functions, typed arrows, default exports, generators and static async methods', async () => {
      const fns = await findFunctions(code, 'typescript');
      assert.deepEqual(
        fns.map((f) => f.qualifiedName),
        ['sumPair', 'scale', 'main', 'Vec.constructor', 'Vec.len', 'Vec.zero', 'ticks', 'unused'],
      );
      const sum = byName(fns, 'sumPair');
      assert.equal(sum.exported, true);
      assert.equal(sum.signature, 'export function sumPair(p: Pair): number');
      assert.ok(sum.docstring?.includes('@example sumPair({ a: 1, b: 2 }) // 3'));
      const scale = byName(fns, 'scale');
      assert.equal(scale.kind, 'arrow');
      assert.equal(scale.signature, 'export const scale = <T extends number>(x: T, k = 2): number =>');
      assert.equal(byName(fns, 'Vec.zero').isAsync, true);
      assert.equal(byName(fns, 'ticks').isAsync, true);
      assert.equal(byName(fns, 'unused').exported, false);
    });

    it('reports UTF-16 offsets and columns after non-ASCII text', async () => {
      const src = 'const s = "héllo😀";\nexport function f(a: string): string {\n  return a;\n}\n';
      const [f] = await findFunctions(src, 'typescript');
      assert.equal(f?.startOffset, src.indexOf('export'));
      assert.equal(f?.startLine, 1);
      assert.equal(f?.endColumn, 1);
      assert.equal(src.slice(f!.startOffset, f!.endOffset), f!.text);
    });
  });

  describe('degrading quietly', () => {
    it('returns no functions for files over the size limits', async () => {
      const many = Array.from({ length: 5200 }, (_, i) => `def f${i}(): pass`).join('\n');
      assert.equal(isTooLarge(many), true);
      assert.deepEqual(await findFunctions(many, 'python'), []);
      const wide = `def f():\n    return ${'1 + '.repeat(60_000)}1\n`;
      assert.equal(isTooLarge(wide), true);
      assert.deepEqual(await findFunctions(wide, 'python'), []);
      assert.equal(isTooLarge('def f(): pass\n'), false);
    });

    it('finds nothing in garbage without throwing', async () => {
      assert.deepEqual(await findFunctions('}}} def ((( => function', 'javascript'), []);
      assert.deepEqual(await findFunctions('', 'python'), []);
    });
  });
});
