// A bounded pool of workers over jobs handed out one at a time.

/**
 * Runs `work` on the jobs `take()` hands out, at most `width` at once (at least one). Each worker asks
 * `take()` for a job, awaits `work(job)`, and asks again; it stops when `take()` returns undefined, and the
 * pool settles once every worker has stopped.
 *
 * `take()` is called synchronously right before each job starts, so it may decide from state the running
 * jobs change (a budget, a target, a stop signal) and count the job as started. Workers start in order, each
 * running its first job up to that job's first await before the next worker starts.
 *
 * A job that throws rejects the pool while the other workers carry on to their own end: a caller that wants
 * every job tried catches inside `work`.
 */
export async function runPool<T>(
  width: number,
  take: () => T | undefined,
  work: (job: T) => Promise<void>,
): Promise<void> {
  const workers = Number.isFinite(width) ? Math.max(1, Math.floor(width)) : 1;
  const worker = async (): Promise<void> => {
    for (let job = take(); job !== undefined; job = take()) await work(job);
  };
  await Promise.all(Array.from({ length: workers }, worker));
}
