import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractContext, importToRequire } from '../../src/core/parse/context';
import { findFunctions } from '../../src/core/parse/functions';
import { hasTrivialBody, isSolvableUnit, unitAt } from '../../src/core/parse/taskFromCode';

const fixture = (name: string): string => readFileSync(join(__dirname, '../fixtures/code', name), 'utf8');

describe('parse/context', () => {
  it('turns ES imports into require calls and drops type-only imports', () => {
    assert.equal(importToRequire("import fs from 'node:fs';"), "const fs = require('node:fs');");
    assert.equal(importToRequire("import { a, b as c, type T } from './m'"), "const { a, b: c } = require('./m');");
    assert.equal(importToRequire("import * as path from 'node:path'"), "const path = require('node:path');");
    assert.equal(
      importToRequire("import def, { x } from 'm'"),
      "const def = require('m');\nconst { x } = require('m');",
    );
    assert.equal(importToRequire("import './side-effect'"), "require('./side-effect');");
    assert.equal(importToRequire("import type { Buffer } from 'node:buffer'"), '');
  });

  it("keeps a method's class, drops exports, tests and module.exports from JS context", async () => {
    const util = fixture('util.js');
    const fns = await findFunctions(util, 'javascript');
    const double = fns.find((f) => f.name === 'double')!;
    const ctx = await extractContext(util, 'javascript', { start: double.startOffset, end: double.endOffset });
    assert.ok(!ctx.includes('const double'));
    assert.ok(ctx.includes('function clamp') && ctx.includes('class Counter'));
    assert.ok(!ctx.includes('module.exports') && !ctx.includes('assert.strictEqual'));
    const shapes = fixture('shapes.py');
    const py = await findFunctions(shapes, 'python');
    const describe = py.find((f) => f.qualifiedName === 'Shape.describe')!;
    const pyCtx = await extractContext(
      shapes,
      'python',
      { start: describe.startOffset, end: describe.endOffset },
      { keepEnclosing: true },
    );
    assert.ok(pyCtx.includes('class Shape') && pyCtx.includes('def add'));
    assert.ok(!pyCtx.includes('test_add_more') && !pyCtx.includes('__main__') && !pyCtx.includes('assert add'));
  });
});

describe('parse/taskFromCode units', () => {
  it('Python methods are units, nested functions are not, JS methods explain what to do', async () => {
    const shapes = fixture('shapes.py');
    const py = await findFunctions(shapes, 'python');
    assert.equal(
      isSolvableUnit(
        py.find((f) => f.qualifiedName === 'Shape.describe')!,
        py,
      ),
      true,
    );
    assert.equal(
      isSolvableUnit(
        py.find((f) => f.qualifiedName === 'Shape.describe.inner')!,
        py,
      ),
      false,
    );
    const inInner = unitAt(py, shapes.indexOf('return str(k)'));
    assert.ok(
      !('error' in inInner) && inInner.qualifiedName === 'Shape.describe',
      'the cursor in a nested function picks its enclosing unit',
    );
    const ts = fixture('math.ts');
    const tsFns = await findFunctions(ts, 'typescript');
    const inMethod = unitAt(tsFns, ts.indexOf('Math.hypot'));
    assert.ok('error' in inMethod && inMethod.error.includes('Vec.len'));
  });

  it('recognises stub bodies in both languages', async () => {
    const py =
      'def a():\n    """Doc."""\n    ...\n\ndef b():\n    raise NotImplementedError("later")\n\ndef c():\n    return 1\n';
    const pf = await findFunctions(py, 'python');
    assert.deepEqual(
      pf.map((f) => hasTrivialBody(py, f)),
      [true, true, false],
    );
    const js =
      "function a() {}\nfunction b() {\n  // TODO\n  throw new Error('not implemented');\n}\nconst c = () => 1;\n";
    const jf = await findFunctions(js, 'javascript');
    assert.deepEqual(
      jf.map((f) => hasTrivialBody(js, f)),
      [true, true, false],
    );
  });
});
