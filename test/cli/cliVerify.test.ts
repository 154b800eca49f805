// `crucible verify` as a user runs it: a spawned CLI process (dist/cli.js), real JSONL files, real sandbox.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runCrucible, type CliRun } from '../fixtures/cli';

const fixture = join(REPO_ROOT, 'test/fixtures/verify/mixed.jsonl');

function cli(args: string[], stdin?: string): Promise<CliRun> {
  return runCrucible(args, { stdin });
}

interface Out {
  id: string | null;
  status: string;
  passed: boolean;
  durationMs: number;
  feedback: string;
  line?: number;
}

describe('crucible verify (spawned CLI)', function () {
  this.timeout(90_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'crucible-cli-verify-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies all three shapes in input order, reports malformed lines and exits 1 (input was skipped)', async () => {
    const r = await cli(['verify', fixture, '--concurrency', '2', '--timeout-ms', '3000']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /5 malformed line\(s\) skipped/);
    const out = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Out);
    assert.deepEqual(
      out.map((o) => [o.id, o.status]),
      [
        ['py-pass', 'passed'],
        ['py-fail', 'failed'],
        [null, 'error'],
        ['no-test', 'error'],
        ['cobol', 'error'],
        ['js-pass', 'passed'],
        ['HE/1', 'passed'],
        ['P/1', 'passed'],
        ['P/2', 'error'],
        ['exit-cheat', 'failed'],
        [null, 'error'],
      ],
    );
    for (const o of out) {
      assert.deepEqual(
        Object.keys(o)
          .filter((k) => k !== 'line')
          .sort(),
        ['durationMs', 'feedback', 'id', 'passed', 'status'],
      );
      assert.equal(o.passed, o.status === 'passed');
      assert.equal(typeof o.durationMs, 'number');
    }
    assert.match(out[1].feedback, /expected: 3\n  actual:   -1/);
    assert.match(out[2].feedback, /line 3: not valid JSON/);
    assert.equal(out[2].line, 3);
    assert.match(out[3].feedback, /line 4: a generic job needs string field\(s\) "test"/);
    assert.match(out[4].feedback, /line 5: "language" is "cobol"; use one of python, javascript, typescript/);
    assert.match(out[8].feedback, /line 10: "sol_bodies" is empty/);
    assert.match(out[10].feedback, /line 12: expected a JSON object, got an array/);
    assert.equal(out[9].passed, false);
    assert.match(r.stderr, /line 3: not valid JSON/);
    assert.match(r.stderr, /11 jobs \(.*4 passed.*\), 5 malformed line\(s\)/);
  });

  it('reads jobs from stdin with -', async () => {
    const line = JSON.stringify({
      id: 'stdin',
      language: 'javascript',
      code: 'const f = () => 2;',
      test: "const assert = require('assert');\nassert.strictEqual(f(), 2);\n",
    });
    const r = await cli(['verify', '-'], line + '\n');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as Out;
    assert.equal(out.id, 'stdin');
    assert.equal(out.status, 'passed', out.feedback);
  });

  it('applies --timeout-ms as its own status', async () => {
    const file = join(dir, 'loop.jsonl');
    writeFileSync(
      file,
      JSON.stringify({
        id: 'loop',
        language: 'python',
        code: 'def f():\n    while True:\n        pass\n',
        test: 'assert f() == 1\n',
      }) + '\n',
    );
    const r = await cli(['verify', file, '--timeout-ms', '700']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as Out;
    assert.equal(out.status, 'timeout');
    assert.ok(out.durationMs < 5000, `took ${out.durationMs} ms`);
  });

  it('exits 2 with a clear message for usage errors', async () => {
    const bad = await cli(['verify', fixture, '--concurrency', 'many']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--concurrency must be a whole number ≥ 1/);
    const missing = await cli(['verify', join(dir, 'nope.jsonl')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read jobs file .*nope\.jsonl: no such file/);
    const noArg = await cli(['verify']);
    assert.equal(noArg.code, 2);
    assert.match(noArg.stderr, /missing required argument 'jobs'/);
  });
});
