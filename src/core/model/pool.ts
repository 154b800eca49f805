// Several servers serving the same model, used as one ModelClient (crucible.ollama.hosts, CLI: --host
// given more than once).
//
// - Each request goes to the least-busy healthy server (requests in flight and waiting, against what the
//   server runs at once). Requests with the same `affinity` (one task's samples and refine rounds) stay on
//   the server that answered the first of them while it is healthy, so its prompt cache is reused.
// - A server that fails in a way that is its own fault (unreachable, loading, timed out, a 5xx, a dropped
//   stream, a missing model) is taken out of rotation, and the request is sent to another server. The
//   sample that was lost is only the one in flight on the failing server; nothing else of the task.
// - A server out of rotation is asked again with its model list (/api/tags or /v1/models), with a growing
//   delay, and comes back as soon as it answers.
//
// Several boxes are well served this way; for more than a few, a real load balancer (a vLLM server with
// several GPUs, or a LiteLLM proxy in front of many servers) does this better, and Crucible talks to it as
// one OpenAI-compatible host (see the README).

import type { CrucibleModelClient, ModelDetails } from './client';
import { ModelError, cancelledError } from './errors';
import type { ChatRequest, ChatResult, ModelInfo, ModelSettings } from './types';

/** First and largest delay before a server out of rotation is asked again, ms. */
const PROBE_FIRST_MS = 1_000;
const PROBE_MAX_MS = 30_000;
/** After the first server reported its context window, how long the others may take, ms. */
const CONTEXT_GRACE_MS = 2_000;
/** How many task affinities are remembered. */
const AFFINITY_LIMIT = 1_000;

interface Member {
  client: CrucibleModelClient;
  healthy: boolean;
  failures: number;
  /** performance.now() after which an unhealthy member may be probed again. */
  probeAt: number;
  probing?: Promise<void>;
  lastError?: ModelError;
}

/** True when a failure says the server is in trouble, not the request: the request may go to another server. */
export function isServerFault(err: unknown): boolean {
  if (!(err instanceof ModelError)) return false;
  switch (err.kind) {
    case 'unreachable':
    case 'loading':
    case 'timeout':
    case 'model_missing':
      return true;
    case 'http':
      return (err.status ?? 0) >= 500 || err.status === 429;
    case 'bad_response':
      return err.retryable && !err.lengthCut;
    default:
      return false;
  }
}

export class PoolClient implements CrucibleModelClient {
  private readonly pool: Member[];
  private readonly affinity = new Map<string, Member>();
  /** Where the search for the least-busy server starts, so idle servers take turns. */
  private turn = 0;

  constructor(
    readonly settings: ModelSettings,
    clients: CrucibleModelClient[],
    private readonly now: () => number = () => performance.now(),
  ) {
    this.pool = clients.map((client) => ({ client, healthy: true, failures: 0, probeAt: 0 }));
  }

  get members(): CrucibleModelClient[] {
    return this.pool.map((m) => m.client);
  }

  get load(): { active: number; queued: number; capacity: number } {
    let active = 0;
    let queued = 0;
    let capacity = 0;
    for (const m of this.pool) {
      const l = m.client.load;
      active += l.active;
      queued += l.queued;
      if (m.healthy) capacity += l.capacity;
    }
    return { active, queued, capacity: Math.max(1, capacity) };
  }

  /** Hosts in rotation now. */
  get healthyHosts(): string[] {
    return this.pool.filter((m) => m.healthy).map((m) => m.client.settings.host);
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    const tried = new Set<Member>();
    let last: unknown;
    for (;;) {
      if (request.signal?.aborted) throw cancelledError(this.settings);
      const member = this.pick(request.affinity, tried);
      if (!member) throw last ?? this.noServerError();
      tried.add(member);
      // Claimed at once, so the task's other requests already in flight follow it there.
      if (request.affinity !== undefined && member.healthy) this.remember(request.affinity, member);
      try {
        const result = await member.client.chat(request);
        this.markUp(member);
        return { ...result, host: member.client.settings.host };
      } catch (err) {
        if (!isServerFault(err) || request.signal?.aborted) throw err;
        this.markDown(member, err as ModelError);
        last = err;
      }
    }
  }

  private remember(key: string, member: Member): void {
    this.affinity.delete(key);
    this.affinity.set(key, member);
    if (this.affinity.size > AFFINITY_LIMIT) this.affinity.delete(this.affinity.keys().next().value!);
  }

  /** The affinity's server if healthy, else the least-busy healthy one; probes servers due for a check. */
  private pick(affinity: string | undefined, tried: Set<Member>): Member | undefined {
    this.probeDue();
    const sticky = affinity !== undefined ? this.affinity.get(affinity) : undefined;
    if (sticky && sticky.healthy && !tried.has(sticky)) return sticky;
    let best: Member | undefined;
    let bestScore = Infinity;
    const n = this.pool.length;
    const start = this.turn++ % n;
    for (let k = 0; k < n; k++) {
      const m = this.pool[(start + k) % n]!;
      if (!m.healthy || tried.has(m)) continue;
      const l = m.client.load;
      const score = (l.active + l.queued) / Math.max(1, l.capacity);
      if (score < bestScore) {
        best = m;
        bestScore = score;
      }
    }
    if (best) return best;
    // Nothing healthy is left: try the ones out of rotation that this request has not tried, longest-failed last.
    return this.pool.filter((m) => !tried.has(m)).sort((a, b) => a.failures - b.failures)[0];
  }

  private markUp(m: Member): void {
    m.healthy = true;
    m.failures = 0;
    delete m.lastError;
  }

  private markDown(m: Member, err: ModelError): void {
    m.healthy = false;
    m.failures++;
    m.lastError = err;
    m.probeAt = this.now() + Math.min(PROBE_MAX_MS, PROBE_FIRST_MS * 2 ** Math.min(m.failures - 1, 6));
    for (const [key, member] of this.affinity) if (member === m) this.affinity.delete(key);
  }

  /** Asks each server out of rotation whose delay has passed for its model list; one that answers is back. */
  private probeDue(): void {
    const t = this.now();
    for (const m of this.pool) {
      if (m.healthy || m.probing || t < m.probeAt) continue;
      const signal = AbortSignal.timeout(Math.max(1_000, Math.min(this.settings.requestTimeoutMs, 10_000)));
      m.probing = m.client
        .listModels(signal)
        .then(
          () => this.markUp(m),
          (err: unknown) => {
            if (err instanceof ModelError) this.markDown(m, err);
            else m.probeAt = this.now() + PROBE_MAX_MS;
          },
        )
        .finally(() => delete m.probing);
    }
  }

  /** Waits for the probes now running (tests and doctor use it to see the pool as it is). */
  async settle(): Promise<void> {
    this.probeDue();
    await Promise.all(this.pool.map((m) => m.probing ?? Promise.resolve()));
  }

  private noServerError(): ModelError {
    const hosts = this.pool.map((m) => m.client.settings.host).join(', ');
    return new ModelError(
      'unreachable',
      `No server of the pool (${hosts}) could answer. Run \`crucible doctor\` to see each one.`,
      { host: this.settings.host },
    );
  }

  /** The first server (in rotation first) that answers `call`. */
  private async first<T>(call: (c: CrucibleModelClient) => Promise<T>, signal?: AbortSignal): Promise<T> {
    let last: unknown;
    const order = [...this.pool].sort((a, b) => Number(b.healthy) - Number(a.healthy));
    for (const m of order) {
      if (signal?.aborted) throw cancelledError(this.settings);
      try {
        const v = await call(m.client);
        this.markUp(m);
        return v;
      } catch (err) {
        if (!isServerFault(err)) throw err;
        this.markDown(m, err as ModelError);
        last = err;
      }
    }
    throw last ?? this.noServerError();
  }

  listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    return this.first((c) => c.listModels(signal), signal);
  }

  showModel(model?: string, signal?: AbortSignal): Promise<ModelDetails> {
    return this.first((c) => c.showModel(model, signal), signal);
  }

  version(signal?: AbortSignal): Promise<string> {
    return this.first((c) => (c.version ? c.version(signal) : Promise.resolve('')), signal);
  }

  /**
   * The smallest window among the servers that answer: a request may go to any of them. Once one has
   * answered, the others get a short grace (a server still loading must not hold up the run).
   */
  async contextLength(model?: string, signal?: AbortSignal): Promise<number | undefined> {
    const known: number[] = [];
    const errors: unknown[] = [];
    let firstAnswer: (() => void) | undefined;
    const answered = new Promise<void>((resolve) => (firstAnswer = resolve));
    const all = Promise.allSettled(
      this.pool.map((m) =>
        m.client.contextLength(model, signal).then(
          (v) => {
            if (v !== undefined) known.push(v);
            firstAnswer?.();
          },
          (err: unknown) => void errors.push(err),
        ),
      ),
    );
    await Promise.race([
      all,
      answered.then(() => Promise.race([all, new Promise((r) => setTimeout(r, CONTEXT_GRACE_MS).unref?.())])),
    ]);
    if (known.length > 0) return Math.min(...known);
    await all;
    if (known.length > 0) return Math.min(...known);
    if (errors.length === this.pool.length) throw errors[0];
    return undefined;
  }
}

export function createPool(settings: ModelSettings, clients: CrucibleModelClient[]): PoolClient {
  return new PoolClient({ ...settings, maxParallel: settings.maxParallel * clients.length }, clients);
}
