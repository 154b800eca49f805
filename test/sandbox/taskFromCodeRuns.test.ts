// Tasks built from code (parse/taskFromCode) whose tests really run: context + candidate + tests as one program in
// python3 or node, passing with the right function and failing with a wrong one. (The building itself, without
// running anything: test/unit/taskFromCode.test.ts.)
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTaskDetails, type TaskDetails } from '../../src/core/parse/taskFromCode';
import type { Task } from '../../src/core/types';

const dir = join(__dirname, '../fixtures/code');
const fixture = (name: string): string => readFileSync(join(dir, name), 'utf8');

/** Runs context + candidate + tests as one real program; returns whether it exited 0 and its stderr. */
function run(task: Task, candidate: string, pythonArgs: string[] = []): { ok: boolean; stderr: string } {
  const work = mkdtempSync(join(tmpdir(), 'crucible-task-'));
  const sep = task.language === 'python' ? '\n\n' : '\n';
  const program = [task.context ?? '', candidate, task.tests].join(sep);
  const file = join(work, task.language === 'python' ? 'prog.py' : 'prog.cjs');
  writeFileSync(file, program);
  try {
    execFileSync(
      task.language === 'python' ? 'python3' : process.execPath,
      [...(task.language === 'python' ? pythonArgs : []), file],
      { cwd: work, stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 },
    );
    return { ok: true, stderr: '' };
  } catch (err) {
    return { ok: false, stderr: String((err as { stderr?: Buffer }).stderr ?? err) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function details(input: Parameters<typeof buildTaskDetails>[0]): Promise<TaskDetails> {
  const d = await buildTaskDetails(input);
  if ('error' in d) assert.fail(d.error);
  return d;
}

describe('parse/taskFromCode: the built tests run', function () {
  this.timeout(60_000);
  const shapes = fixture('shapes.py');
  const testShapes = { path: 'tests/test_shapes.py', text: fixture('tests/test_shapes.py') };

  it('the Python tests really run: they pass with the right function and fail with a wrong one', async () => {
    const { task } = await details({
      code: shapes,
      language: 'python',
      offset: shapes.indexOf('return a + b'),
      otherFiles: [testShapes],
    });
    const good = run(task, 'def add(a, b):\n    return a + b\n');
    assert.ok(good.ok, good.stderr);
    const bad = run(task, 'def add(a, b):\n    return a + b + (1 if (a, b) == (1, 2) else 0)\n');
    assert.equal(bad.ok, false);
    assert.match(bad.stderr, /AssertionError/);
    const noRaise = run(task, 'def add(a, b):\n    if b is None: return a\n    return a + b\n');
    assert.equal(noRaise.ok, false);
    assert.match(noRaise.stderr, /expected TypeError/);
  });

  it('pytest.raises and pytest.approx work where pytest is not installed (python -S hides site-packages)', async () => {
    const { task } = await details({
      code: shapes,
      language: 'python',
      offset: shapes.indexOf('return a + b'),
      otherFiles: [testShapes],
    });
    assert.ok(task.tests.includes('except ImportError:'));
    const good = run(task, 'def add(a, b):\n    return a + b\n', ['-S']);
    assert.ok(good.ok, good.stderr);
    const noRaise = run(
      task,
      'def add(a, b):\n    if a is None: return b\n    if b is None: raise TypeError("no")\n    return a + b\n',
      ['-S'],
    );
    assert.equal(noRaise.ok, false);
    assert.match(noRaise.stderr, /DID NOT RAISE/);
  });

  it('a failing unittest method fails the run', async () => {
    const { task } = await details({
      code: shapes,
      language: 'python',
      offset: shapes.indexOf('return a + b'),
      otherFiles: [testShapes],
    });
    // Right on every example except add(10, 1) (only the unittest case uses it).
    const r = run(task, 'def add(a, b):\n    if a == 10 and b == 1: return 0\n    return a + b\n');
    assert.equal(r.ok, false);
    assert.match(r.stderr, /AddCase\.test_base failed/);
  });

  it('a test file with syntax errors in places: its healthy tests run', async () => {
    const broken = {
      path: 'tests/test_broken.py',
      text: 'from shapes import add\n\ndef test_ok():\n    assert add(2, 2) == 4\n\ndef test_bad(:\n    assert add(\n',
    };
    const d = await details({
      code: shapes,
      language: 'python',
      offset: shapes.indexOf('return a + b'),
      otherFiles: [broken],
    });
    assert.ok(run(d.task, 'def add(a, b):\n    return a + b\n').ok);
  });

  it('a Python method solved as a plain function runs re-attached to its class', async () => {
    const code =
      'class Acc:\n    def __init__(self):\n        self.n = 0\n\n    def bump(self, k):\n        """Adds k.\n\n        >>> Acc().bump(2)\n        2\n        """\n        self.n += k\n        return self.n\n';
    const { task } = await details({ code, language: 'python', offset: code.indexOf('self.n += k') });
    assert.ok(run(task, 'def bump(self, k):\n    self.n += k\n    return self.n\n').ok);
    assert.equal(run(task, 'def bump(self, k):\n    return k + 1\n').ok, false);
  });

  it("a JavaScript Task's node:assert tests run in node", async () => {
    const util = fixture('util.js');
    const other = { path: 'tests/util.test.js', text: fixture('tests/util.test.js') };
    const d = await details({
      code: util,
      language: 'javascript',
      offset: util.indexOf('Math.max'),
      otherFiles: [other],
    });
    const good = run(d.task, 'function clamp(x, lo, hi) {\n  return Math.min(hi, Math.max(lo, x));\n}\n');
    assert.ok(good.ok, good.stderr);
    const bad = run(d.task, 'function clamp(x, lo, hi) {\n  return x < lo ? lo : x;\n}\n');
    assert.equal(bad.ok, false);
    assert.match(bad.stderr, /AssertionError/);
  });
});
