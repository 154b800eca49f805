// Task files for `crucible solve` / `crucible eval`: HumanEval, MBPP and generic rows; malformed lines.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HUMANEVAL_FILE, requireData } from '../fixtures/data';
import { parseTasks, readTasks, taskFromRow } from '../../src/cli/tasks';

const fixtures = join(__dirname, '../fixtures/tasks');

describe('cli task files', () => {
  it('reads HumanEval rows as continuation tasks whose tests call check(entry_point)', () => {
    const { tasks, errors } = readTasks(join(fixtures, 'small.jsonl'));
    assert.deepEqual(errors, []);
    assert.equal(tasks.length, 2);
    const t = tasks[0]!.task;
    assert.equal(t.id, 'T/add');
    assert.equal(t.language, 'python');
    assert.equal(t.entryPoint, 'add');
    assert.equal(t.completionStyle, 'continuation');
    assert.equal(t.origin, 'benchmark');
    assert.equal(t.testsOrigin, 'user');
    assert.match(t.tests, /def check\(candidate\):[\s\S]*\ncheck\(add\)\n$/);
  });

  it('reads MBPP rows: tests from test_list, entry point from the asserts, tests shown in the prompt', () => {
    const { tasks, errors } = readTasks(join(fixtures, 'mbpp.jsonl'));
    assert.deepEqual(errors, []);
    const t = tasks[0]!.task;
    assert.equal(t.id, '601');
    assert.equal(t.entryPoint, 'min_of_two');
    assert.equal(t.tests.split('\n').length, 3);
    assert.match(
      t.prompt,
      /^Write a function to find the minimum of two numbers\.\nYour code should pass these tests:\nassert min_of_two\(1, 2\) == 1/,
    );
    assert.equal(t.completionStyle, 'function');
  });

  it('marks a row without tests as testsOrigin none, and reads JS/TS language aliases', () => {
    const t = taskFromRow({ id: 'x', prompt: 'Write add(a, b).', entry_point: 'add', language: 'js' });
    assert.equal(t.testsOrigin, 'none');
    assert.equal(t.language, 'javascript');
    assert.equal(t.origin, 'user');
    assert.equal(taskFromRow({ id: 'y', prompt: 'p', language: 'TypeScript', tests: 'x' }).language, 'typescript');
  });

  it('reports every malformed line with its line number and what to fix, and keeps the good ones', () => {
    const { tasks, errors } = readTasks(join(fixtures, 'malformed.jsonl'));
    assert.deepEqual(
      tasks.map((t) => [t.task.id, t.line]),
      [
        ['T/add', 1],
        ['T/double', 7],
      ],
    );
    assert.deepEqual(
      errors.map((e) => e.line),
      [2, 3, 5, 6],
    );
    assert.match(errors[0]!.message, /not valid JSON .*each line must be one JSON object/);
    assert.match(errors[1]!.message, /missing "prompt"/);
    assert.match(errors[2]!.message, /"language" is "cobol"; use one of python, javascript, typescript/);
    assert.match(errors[3]!.message, /id "T\/add" repeats line 1; give each row its own id/);
  });

  it('rejects non-object rows and wrong field types clearly', () => {
    const { errors } = parseTasks('[1, 2]\n{"task_id": "a", "prompt": 5}\n{"prompt": "p"}\n');
    assert.deepEqual(
      errors.map((e) => e.message),
      ['a task line must be a JSON object', '"prompt" must be a string, not number', 'missing "task_id" or "id"'],
    );
  });

  it('reads gzip-compressed files as they are, and names the fix for a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crucible-tasks-'));
    try {
      const file = join(dir, 'tasks.jsonl.gz');
      writeFileSync(
        file,
        gzipSync('{"task_id": "g", "prompt": "def g():\\n", "entry_point": "g", "test": "assert g() is None"}\n'),
      );
      assert.equal(readTasks(file).tasks[0]!.task.id, 'g');
      assert.throws(
        () => readTasks(join(dir, 'missing.jsonl')),
        /cannot read task file .*missing\.jsonl: no such file; pass a JSON-lines file/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the HumanEval file from ../shared/data', function () {
    requireData(this, HUMANEVAL_FILE);
    const file = readTasks(HUMANEVAL_FILE);
    assert.deepEqual(file.errors, []);
    assert.equal(file.tasks.length, 164);
    assert.ok(file.tasks.every((t) => t.task.tests.includes(`check(${t.task.entryPoint})`)));
  });
});
