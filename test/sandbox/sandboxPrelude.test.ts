import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createProcessSandbox } from '../../src/core/sandbox/processSandbox';
import type { ProcessSandbox } from '../../src/core/sandbox/processSandbox';

const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;

// The Python prelude (the verify harness in production): sent once per worker, compiled in the zygote, executed in
// every job's own __main__ before the job's source. Nothing of it may leak from one job into the next.
describe('sandbox: Python prelude kept per worker', function () {
  this.timeout(30_000);
  let sb: ProcessSandbox;

  before(async function () {
    if (!hasPython) this.skip();
    sb = createProcessSandbox({ workers: 2 });
    await sb.ready();
  });

  after(async () => {
    await sb?.dispose();
  });

  const prelude = 'COUNTER = [0]\ndef helper(x):\n    COUNTER[0] += 1\n    return x * 2\n';

  it('runs the prelude in the job namespace before the source, in every job, on every worker', async () => {
    const runs = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        sb.run({ language: 'python', prelude, source: `print(helper(${i}), COUNTER[0], __name__)\n` }),
      ),
    );
    runs.forEach((r, i) => {
      assert.equal(r.status, 'exited', r.stderr);
      assert.equal(r.exitCode, 0, r.stderr);
      // COUNTER is 1 in every job: state a job changes in the prelude's objects does not reach the next job.
      assert.equal(r.stdout.trim(), `${i * 2} 1 __main__`);
    });
  });

  it('a job changing prelude state does not affect later jobs', async () => {
    const a = await sb.run({
      language: 'python',
      prelude,
      source: 'COUNTER[0] = 100\ndef helper(x):\n    return -1\nprint(helper(1))\n',
    });
    assert.equal(a.stdout.trim(), '-1');
    for (let i = 0; i < 4; i++) {
      const b = await sb.run({ language: 'python', prelude, source: 'print(helper(3), COUNTER[0])\n' });
      assert.equal(b.stdout.trim(), '6 1');
    }
  });

  it('a prelude that does not compile fails each job like a program with a syntax error, and the worker survives', async () => {
    const bad = 'def broken(:\n    pass\n';
    for (let i = 0; i < 3; i++) {
      const r = await sb.run({ language: 'python', prelude: bad, source: 'print("never")\n' });
      assert.equal(r.status, 'exited');
      assert.equal(r.exitCode, 1);
      assert.match(r.stderr, /SyntaxError/);
      assert.doesNotMatch(r.stdout, /never/);
    }
    const ok = await sb.run({ language: 'python', prelude, source: 'print(helper(5))\n' });
    assert.equal(ok.stdout.trim(), '10');
  });

  it('an exception raised by the prelude shows up as the job failing', async () => {
    const r = await sb.run({
      language: 'python',
      prelude: 'raise ValueError("prelude says no")\n',
      source: 'print("never")\n',
    });
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /ValueError: prelude says no/);
  });

  it('more distinct preludes than a worker caches still run correctly', async () => {
    const runs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => sb.run({ language: 'python', prelude: `P = ${i}\n`, source: 'print(P)\n' })),
    );
    runs.forEach((r, i) => assert.equal(r.stdout.trim(), String(i), r.stderr));
  });

  it('jobs without a prelude are unaffected by preludes sent earlier', async () => {
    const r = await sb.run({ language: 'python', source: 'print("helper" in globals(), "P" in globals())\n' });
    assert.equal(r.stdout.trim(), 'False False');
  });
});
