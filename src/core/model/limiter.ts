// A small counting semaphore: at most `max` tasks run at once; waiting tasks can be cancelled.

export class Limiter {
  private running = 0;
  private readonly waiting: { start: () => void }[] = [];
  private limit: number;

  constructor(max: number) {
    if (!Number.isFinite(max) || max < 1) throw new RangeError(`Limiter: max must be at least 1, got ${max}`);
    this.limit = max;
  }

  get max(): number {
    return this.limit;
  }

  /** Changes how many may run at once; running tasks finish, waiting ones start as slots free up. */
  setMax(max: number): void {
    this.limit = Math.max(1, Math.floor(max));
    while (this.running < this.limit && this.waiting.length > 0) this.waiting.shift()!.start();
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `task` when a slot is free. If `signal` aborts while waiting, rejects with `onAbort()` and never runs it. */
  async run<T>(
    task: () => Promise<T>,
    signal?: AbortSignal,
    onAbort: () => unknown = () => signal?.reason,
  ): Promise<T> {
    await this.acquire(signal, onAbort);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(signal: AbortSignal | undefined, onAbort: () => unknown): Promise<void> {
    if (signal?.aborted) return Promise.reject(onAbort());
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        start: () => {
          signal?.removeEventListener('abort', abort);
          this.running++;
          resolve();
        },
      };
      const abort = (): void => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(onAbort());
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.waiting.push(entry);
    });
  }

  private release(): void {
    this.running--;
    if (this.running < this.limit) this.waiting.shift()?.start();
  }
}
