// runPool: a bounded pool of workers pulling jobs one at a time.
import { strict as assert } from 'node:assert';
import { runPool } from '../../src/core/util/runPool';

/** A job that finishes when the test says so. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('runPool', () => {
  it('runs every job once, never more than width at a time', async () => {
    const jobs = Array.from({ length: 20 }, (_, i) => i);
    let next = 0;
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await runPool(
      3,
      () => (next < jobs.length ? jobs[next++] : undefined),
      async (job) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, (job * 7) % 5));
        running--;
        done.push(job);
      },
    );
    assert.equal(most, 3);
    assert.deepEqual(
      [...done].sort((a, b) => a - b),
      jobs,
    );
  });

  it('starts workers in order, each up to its first await, and asks take() again only when a job ends', async () => {
    const log: string[] = [];
    const gates = [gate(), gate(), gate()];
    let n = 0;
    const pool = runPool(
      2,
      () => (n < 3 ? n++ : undefined),
      async (job) => {
        log.push(`start ${job}`);
        await gates[job]!.promise;
        log.push(`end ${job}`);
      },
    );
    assert.deepEqual(log, ['start 0', 'start 1'], 'both workers started synchronously, the third job waits');
    gates[1]!.open();
    await tick();
    assert.deepEqual(log, ['start 0', 'start 1', 'end 1', 'start 2']);
    gates[0]!.open();
    gates[2]!.open();
    await pool;
    assert.deepEqual(log.slice(4).sort(), ['end 0', 'end 2']);
  });

  it('lets take() stop the pool from state the jobs change', async () => {
    let budget = 5;
    let started = 0;
    await runPool(
      4,
      () => (budget > 0 ? (budget--, ++started) : undefined),
      async () => {
        await tick();
      },
    );
    assert.equal(started, 5);
    let stop = false;
    const ran: number[] = [];
    let i = 0;
    await runPool(
      2,
      () => (stop ? undefined : i++),
      async (job) => {
        ran.push(job);
        await tick();
        if (job === 3) stop = true;
      },
    );
    assert.ok(ran.includes(3) && ran.length <= 5, `ran ${ran.join(',')}`);
  });

  it('runs at least one worker, and none of the jobs when take() has none', async () => {
    for (const width of [0, -2, Number.NaN, 1.7]) {
      let concurrent = 0;
      let most = 0;
      let n = 0;
      await runPool(
        width,
        () => (n < 3 ? n++ : undefined),
        async () => {
          concurrent++;
          most = Math.max(most, concurrent);
          await tick();
          concurrent--;
        },
      );
      assert.equal(n, 3, `width ${width}`);
      assert.equal(most, 1, `width ${width}`);
    }
    let asked = 0;
    await runPool(
      3,
      () => {
        asked++;
        return undefined;
      },
      async () => assert.fail('no job to run'),
    );
    assert.equal(asked, 3, 'each worker asked once and stopped');
  });

  it("rejects with a job's error while the other workers finish their own jobs", async () => {
    let n = 0;
    const finished: number[] = [];
    await assert.rejects(
      runPool(
        2,
        () => (n < 4 ? n++ : undefined),
        async (job) => {
          await tick();
          if (job === 0) throw new Error('job 0 broke');
          finished.push(job);
        },
      ),
      /job 0 broke/,
    );
    await tick();
    await tick();
    assert.ok(finished.includes(1), 'the other worker was not stopped');
  });
});
