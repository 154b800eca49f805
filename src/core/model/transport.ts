// Shared plumbing for both providers: one AbortController per request fed by the caller's signal and
// by two timers (first token, stall between chunks), a fetch wrapper that carries that signal and
// watches streamed lines, and the mapping from low-level failures to ModelError with a fix in the message.

import { Agent, fetch as undiciFetch } from 'undici';
import { ModelError, cancelledError, httpError, loadingError, modelMissingError, unreachableError } from './errors';
import type { ModelSettings } from './types';

export type FetchLike = typeof fetch;
export type AbortReason = 'cancelled' | 'first-token' | 'queued' | 'stall' | 'request';

/**
 * The fetch every client uses unless a test injects its own: undici's fetch with our own Agent.
 *
 * Node's global fetch is undici with a default `headersTimeout` and `bodyTimeout` of 300 s, and Ollama and
 * llama.cpp send no headers until the first token (Ollama's `streamResponse` in server/routes.go writes the
 * header with the first chunk; llama.cpp's `handle_completions_impl` waits for the first result before it
 * sets the status). A cold load longer than 300 s then failed with UND_ERR_HEADERS_TIMEOUT whatever
 * crucible.request.firstTokenTimeoutSeconds said. Here `headersTimeout` is off: RequestGuard owns the
 * first-token timer, and it knows when a request is only queued behind others (which may take longer than
 * any fixed bound). `bodyTimeout` is a backstop a little above the stall timeout, which RequestGuard
 * enforces first. The global Agent cannot be swapped (Node does not export it), and an Agent from the
 * `undici` package must go with that package's own fetch, so both come from it.
 */
export function createHttpFetch(settings: Pick<ModelSettings, 'requestTimeoutMs'>): FetchLike {
  const stall =
    settings.requestTimeoutMs > 0 && Number.isFinite(settings.requestTimeoutMs) ? settings.requestTimeoutMs : 0;
  const agent = new Agent({ headersTimeout: 0, bodyTimeout: stall > 0 ? stall + 5_000 : 0, connectTimeout: 15_000 });
  return ((input: Parameters<FetchLike>[0], init?: RequestInit) =>
    undiciFetch(
      input as never,
      { ...(init ?? {}), dispatcher: agent } as never,
    ) as unknown as Promise<Response>) as FetchLike;
}

/**
 * What one client knows about the requests in flight to its server, shared by their RequestGuards: how many
 * are streaming, when a chunk last arrived, and the parallelism the server turned out to have.
 *
 * Servers queue what they cannot run at once (Ollama's OLLAMA_NUM_PARALLEL, 1 on many machines; llama.cpp's
 * slots; vLLM's scheduler) and send no headers to a queued request. Its first-token timer must not run while
 * the server is busy streaming another answer to us: it is queued, not dead.
 */
export class HostActivity {
  /** Requests that have their first chunk and are not finished. */
  streaming = 0;
  /** performance.now() of the last chunk or end of any streaming request. */
  lastActivityAt = 0;
  /** performance.now() when a streaming request last ended. */
  lastEndAt = -Infinity;
  /** The server's parallelism as observed (a request waited while this many streamed) or reported (llama.cpp /props total_slots). */
  learnedParallel: number | undefined;
  private readonly listeners: ((n: number) => void)[] = [];
  private readonly sightings = new Map<number, number>();

  /**
   * A request sent while `n` others streamed got its first token right after one of them ended: a hint that
   * the server runs `n` at once. Acted on at the second sighting, so one coincidence lowers nothing.
   */
  sighted(n: number): void {
    const count = (this.sightings.get(n) ?? 0) + 1;
    this.sightings.set(n, count);
    if (count >= 2) this.learn(n);
  }

  onLearned(listener: (n: number) => void): void {
    this.listeners.push(listener);
  }

  learn(n: number): void {
    const v = Math.max(1, Math.floor(n));
    if (this.learnedParallel !== undefined && v >= this.learnedParallel) return;
    this.learnedParallel = v;
    for (const l of this.listeners) l(v);
  }

  touch(): void {
    this.lastActivityAt = performance.now();
  }
}

/** Owns one request's abort controller and its timers. Call `progress()` on every received chunk. */
export class RequestGuard {
  readonly controller = new AbortController();
  reason: AbortReason | undefined;
  /** True once the request waited while other requests to the same server were streaming. */
  queued = false;
  /** How long the request waited in the server's queue, ms. */
  queuedMs = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private hooks: (() => void)[] = [];
  private readonly onOuterAbort = (): void => this.abort('cancelled');
  private started = false;
  private readonly createdAt = performance.now();
  private mostStreamingSeen = 0;
  /** Requests to the same server that were streaming when this one was sent. */
  private readonly othersAtStart: number;

  constructor(
    private readonly outer: AbortSignal | undefined,
    private readonly firstMs: number,
    private readonly stallMs: number,
    firstKind: AbortReason = 'first-token',
    private readonly activity?: HostActivity,
  ) {
    this.othersAtStart = activity?.streaming ?? 0;
    if (outer?.aborted) this.abort('cancelled');
    else outer?.addEventListener('abort', this.onOuterAbort, { once: true });
    if (!this.reason) {
      if (activity && firstKind === 'first-token') this.armFirstToken(firstMs);
      else this.arm(firstKind, firstMs);
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Something to run when the request is aborted, e.g. the ollama iterator's `abort()`. */
  onAbort(hook: () => void): void {
    if (this.reason) hook();
    else this.hooks.push(hook);
  }

  progress(): void {
    if (this.reason) return;
    if (!this.started && this.activity) {
      this.started = true;
      // It waited while others streamed and starts now: the server runs about that many at once.
      const now = performance.now();
      if (this.queued && this.mostStreamingSeen > 0) this.activity.learn(this.mostStreamingSeen);
      else if (
        this.othersAtStart > 0 &&
        this.activity.lastEndAt >= this.createdAt &&
        now - this.activity.lastEndAt < 250
      )
        this.activity.sighted(this.othersAtStart);
      if (this.queued) this.queuedMs = now - this.createdAt;
      this.activity.streaming++;
    }
    this.started = true;
    this.activity?.touch();
    this.arm('stall', this.stallMs);
  }

  /**
   * The first-token timer, queue-aware: when it fires while other requests to the same server are streaming,
   * the request is queued behind them, so the timer is checked again later instead of failing it. Once they
   * are done, the request gets the whole first-token time again from the moment the server became free.
   */
  private armFirstToken(ms: number): void {
    const activity = this.activity!;
    this.clearTimer();
    if (!(ms > 0) || !Number.isFinite(ms)) return;
    this.timer = setTimeout(() => {
      if (this.reason || this.started) return;
      const now = performance.now();
      if (activity.streaming > 0) {
        this.queued = true;
        this.mostStreamingSeen = Math.max(this.mostStreamingSeen, activity.streaming);
        this.armFirstToken(Math.min(this.firstMs, 250));
        return;
      }
      const idleFor = now - activity.lastActivityAt;
      if (this.queued && idleFor < this.firstMs) {
        this.armFirstToken(this.firstMs - idleFor);
        return;
      }
      this.abort(this.queued ? 'queued' : 'first-token');
    }, ms);
    (this.timer as { unref?: () => void }).unref?.();
  }

  abort(reason: AbortReason): void {
    if (this.reason) return;
    this.reason = reason;
    this.clearTimer();
    for (const h of this.hooks.splice(0)) {
      try {
        h();
      } catch {
        // An abort hook failing must not hide the abort itself.
      }
    }
    this.controller.abort(new Error(`request aborted: ${reason}`));
  }

  dispose(): void {
    this.clearTimer();
    this.outer?.removeEventListener('abort', this.onOuterAbort);
    if (this.activity && this.started) {
      this.started = false;
      this.activity.streaming = Math.max(0, this.activity.streaming - 1);
      this.activity.touch();
      this.activity.lastEndAt = performance.now();
    }
  }

  private arm(kind: AbortReason, ms: number): void {
    this.clearTimer();
    if (!(ms > 0) || !Number.isFinite(ms)) return;
    this.timer = setTimeout(() => this.abort(kind), ms);
    // A pending timer must never keep the process alive on its own.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** A streamed line that is not JSON: the stream is failed at that point rather than skipping it. */
export class MalformedLineError extends Error {
  constructor(readonly line: string) {
    super(`malformed JSON line: ${line.length > 120 ? `${line.slice(0, 119)}…` : line}`);
    this.name = 'MalformedLineError';
  }
}

/** What the fetch wrapper learned about the exchange. */
export interface ExchangeState {
  headersReceived: boolean;
  status?: number;
  /** An `{"error": ...}` object sent inside a 200 stream (Ollama does this for failures after the headers). */
  streamError?: string;
  /** A streamed line that was not JSON; the stream was ended there. */
  malformed?: MalformedLineError;
  /** The server's Retry-After header, ms. */
  retryAfterMs?: number;
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

/**
 * Wraps fetch: every call also listens to `signal`; for NDJSON bodies (`watchNdjson`) each complete line
 * is checked before the client sees it, so a garbage line fails the stream with MalformedLineError.
 */
export function guardedFetch(
  base: FetchLike,
  signal: AbortSignal,
  state: ExchangeState,
  watchNdjson: boolean,
): FetchLike {
  return (async (input: Parameters<FetchLike>[0], init?: RequestInit) => {
    const signals = init?.signal ? [signal, init.signal] : [signal];
    const res = await base(input, { ...init, signal: signals.length > 1 ? AbortSignal.any(signals) : signal });
    state.headersReceived = true;
    state.status = res.status;
    const after = retryAfterMs(res.headers.get('retry-after'));
    if (after !== undefined) state.retryAfterMs = after;
    if (!watchNdjson || !res.ok || !res.body) return res;
    return new Response(res.body.pipeThrough(ndjsonWatch(state)), {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  }) as FetchLike;
}

function ndjsonWatch(state: ExchangeState): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  let buffer = '';
  const check = (line: string): MalformedLineError | undefined => {
    const text = line.trim();
    if (!text) return undefined;
    try {
      const value = JSON.parse(text) as unknown;
      if (value && typeof value === 'object' && typeof (value as { error?: unknown }).error === 'string') {
        state.streamError = (value as { error: string }).error;
      }
      return undefined;
    } catch {
      return new MalformedLineError(text);
    }
  };
  const encoder = new TextEncoder();
  return new TransformStream<Uint8Array, Uint8Array>({
    // Complete lines are checked and passed on one by one, so the lines before a garbage line still arrive.
    transform(chunk, controller) {
      buffer += decoder.decode(chunk, { stream: true });
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const bad = check(line);
        if (bad) {
          // Erroring here would discard the good lines still queued; end the stream instead and let
          // toModelError report the garbage line recorded in `state`.
          state.malformed = bad;
          controller.terminate();
          return;
        }
        controller.enqueue(encoder.encode(`${line}\n`));
      }
    },
    flush(controller) {
      buffer += decoder.decode();
      const bad = check(buffer);
      if (bad) state.malformed = bad;
      else if (buffer) controller.enqueue(encoder.encode(buffer));
    },
  });
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'ECONNABORTED',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function causeCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface FailureContext {
  settings: Pick<ModelSettings, 'provider' | 'host' | 'firstTokenTimeoutMs' | 'requestTimeoutMs'>;
  guard: RequestGuard;
  state: ExchangeState;
  model?: string;
  /** What was being done, e.g. "chat" or "listing models", for messages. */
  what: string;
  /** Text received so far. */
  partialText?: string;
  /** Milliseconds the `request` timeout allows (idempotent calls). */
  requestMs?: number;
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

/** The ModelError for each timer RequestGuard can fire; the message names the setting to raise. */
const TIMEOUT_ERRORS: { [R in Exclude<AbortReason, 'cancelled'>]: (ctx: FailureContext) => ModelError } = {
  'first-token': ({ settings, state, model }) =>
    new ModelError(
      'timeout',
      `No answer from ${model ?? 'the model'} at ${settings.host} within ${seconds(settings.firstTokenTimeoutMs)} (first-token timeout)${state.headersReceived ? ': the server accepted the request but sent no token' : ''}. A cold model can take minutes to load: raise crucible.request.firstTokenTimeoutSeconds (CLI: --first-token-timeout), or check the server's load.`,
      { host: settings.host, timeout: 'first-token', ...modelOf(model) },
    ),
  queued: ({ settings, guard, model }) =>
    new ModelError(
      'timeout',
      `${model ?? 'The model'} at ${settings.host} queued this request for ${seconds(guard.queuedMs || 0)} behind other requests, then sent no token within ${seconds(settings.firstTokenTimeoutMs)} after they finished (queued, then first-token timeout). The server runs fewer requests at once than crucible.request.maxParallel (CLI: --max-parallel): lower it, raise OLLAMA_NUM_PARALLEL on the server, or raise crucible.request.firstTokenTimeoutSeconds.`,
      { host: settings.host, timeout: 'queued', ...modelOf(model) },
    ),
  stall: ({ settings, model, partialText }) =>
    new ModelError(
      'timeout',
      `${model ?? 'The model'} at ${settings.host} stalled: it stopped streaming for ${seconds(settings.requestTimeoutMs)} after ${partialText?.length ?? 0} characters (stall timeout). Check the server's load and log, or raise crucible.request.stallTimeoutSeconds (CLI: --stall-timeout).`,
      { host: settings.host, timeout: 'stall', ...modelOf(model), ...partialOf(partialText) },
    ),
  request: ({ settings, model, requestMs, what }) =>
    new ModelError(
      'timeout',
      `No answer from ${settings.host} within ${seconds(requestMs ?? settings.requestTimeoutMs)} while ${what}. Check that crucible.ollama.host points at a working server, or raise crucible.request.stallTimeoutSeconds (CLI: --stall-timeout).`,
      { host: settings.host, timeout: 'request', ...modelOf(model) },
    ),
};

function modelOf(model: string | undefined): { model?: string } {
  return model !== undefined ? { model } : {};
}

function partialOf(partialText: string | undefined): { partialText?: string } {
  return partialText !== undefined && partialText !== '' ? { partialText } : {};
}

/** What a real server of the configured provider is called, for messages about answers that are not its. */
function serverKind(settings: FailureContext['settings']): string {
  return settings.provider === 'openai' ? 'OpenAI-compatible server' : 'Ollama server';
}

/** An error the server reported in the stream, or a streamed line that is not JSON; undefined for anything else. */
function streamFailure(err: unknown, ctx: FailureContext): ModelError | undefined {
  const { settings, state } = ctx;
  const details = { host: settings.host, ...modelOf(ctx.model), ...partialOf(ctx.partialText) };
  if (state.streamError !== undefined) {
    return new ModelError(
      'http',
      `${settings.provider === 'openai' ? 'The server' : 'Ollama'} at ${settings.host} reported an error while ${ctx.what}: ${state.streamError}. Check the server's log; a runner crash often means too little memory for the model or num_ctx.`,
      details,
    );
  }
  if (err instanceof MalformedLineError || state.malformed) {
    const bad = err instanceof MalformedLineError ? err : state.malformed!;
    return new ModelError(
      'bad_response',
      `The server at ${settings.host} sent a line that is not JSON while ${ctx.what} (${bad.message}). The answer was discarded; try again, and check that crucible.ollama.host and crucible.provider point at a real ${serverKind(settings)} (not a proxy error page).`,
      { ...details, retryable: true },
    );
  }
  return undefined;
}

/** An HTTP error status (the `ResponseError` shape: `status_code`, `error`, `body`); undefined for anything else. */
function statusFailure(err: unknown, ctx: FailureContext): ModelError | undefined {
  const { settings, state } = ctx;
  const status = (err as { status_code?: unknown })?.status_code;
  if (typeof status !== 'number') return undefined;
  const text = String((err as { error?: unknown }).error ?? (err as Error).message ?? '');
  const body = String((err as { body?: unknown }).body ?? text);
  if (status === 404 && /not found|does not exist/i.test(text) && ctx.model !== undefined)
    return modelMissingError(settings, ctx.model, text);
  if (status === 503 && /loading/i.test(text)) return withRetryAfter(loadingError(settings, 0, text, ctx.model), state);
  if (status === 400 && /exceed_context_size_error|exceeds the available context size/i.test(body))
    return contextSizeError(settings, body, text, ctx.model);
  return withRetryAfter(httpError(settings, status, text, ctx.model), state);
}

/** A connection that failed before any header arrived: nothing answers, or it dropped; undefined for anything else. */
function connectFailure(
  err: unknown,
  ctx: FailureContext,
  message: string,
  code: string | undefined,
): ModelError | undefined {
  const { settings } = ctx;
  if (ctx.state.headersReceived) return undefined;
  if (code && UNREACHABLE_CODES.has(code)) return unreachableError(settings, code, err);
  if (code && RESET_CODES.has(code)) {
    return new ModelError(
      'bad_response',
      `The connection to ${settings.host} dropped before an answer while ${ctx.what} (${code}). Try again; if it keeps happening, check the server's log and any proxy in front of it.`,
      { host: settings.host, ...modelOf(ctx.model), retryable: true, cause: err },
    );
  }
  if (err instanceof TypeError) {
    const cause = (err as { cause?: unknown }).cause;
    const why = code ?? (cause instanceof Error && cause.message ? cause.message : message);
    return unreachableError(settings, why, err);
  }
  return undefined;
}

/** A stream cut short, a body that is not JSON, a dropped connection, or (last) an unexpected failure. */
function answerFailure(err: unknown, ctx: FailureContext, message: string, code: string | undefined): ModelError {
  const host = ctx.settings.host;
  const details = { host, ...modelOf(ctx.model), ...partialOf(ctx.partialText) };
  if (/did not receive done or success response/i.test(message) || /ended without/i.test(message)) {
    return new ModelError(
      'bad_response',
      `The answer from ${host} ended early while ${ctx.what}: the stream closed without its final message. Try again; if it keeps happening, check the server's log and any proxy timeout in front of it.`,
      { ...details, retryable: true },
    );
  }
  if (err instanceof SyntaxError) {
    return new ModelError(
      'bad_response',
      `The server at ${host} sent a body that is not JSON while ${ctx.what} (${message}). Check that crucible.ollama.host and crucible.provider point at a real ${serverKind(ctx.settings)}.`,
      { host, ...modelOf(ctx.model), retryable: true },
    );
  }
  if (
    message === 'terminated' ||
    (code && RESET_CODES.has(code)) ||
    /terminated|other side closed|socket/i.test(message)
  ) {
    return new ModelError(
      'bad_response',
      `The connection to ${host} dropped while ${ctx.what}${ctx.partialText ? ` (after ${ctx.partialText.length} characters)` : ''}. Try again; if it keeps happening, check the server's log and any proxy timeout in front of it.`,
      { ...details, retryable: true, cause: err },
    );
  }
  return new ModelError(
    'bad_response',
    `Unexpected failure from ${host} while ${ctx.what}: ${message}. Try again, and run \`crucible doctor\` to check the setup.`,
    {
      ...details,
      cause: err,
    },
  );
}

/** Turns whatever a request threw into a ModelError whose message names the fix. */
export function toModelError(err: unknown, ctx: FailureContext): ModelError {
  const reason = ctx.guard.reason;
  if (reason === 'cancelled') return cancelledError(ctx.settings, ctx.partialText);
  if (reason) return TIMEOUT_ERRORS[reason](ctx);
  if (err instanceof ModelError) return err;
  const reported = streamFailure(err, ctx) ?? statusFailure(err, ctx);
  if (reported) return reported;
  const message = err instanceof Error ? err.message : String(err);
  const code = causeCode(err);
  return connectFailure(err, ctx, message, code) ?? answerFailure(err, ctx, message, code);
}

function withRetryAfter(e: ModelError, state: ExchangeState): ModelError {
  if (state.retryAfterMs !== undefined) (e as { retryAfterMs?: number }).retryAfterMs = state.retryAfterMs;
  return e;
}

/**
 * llama.cpp answers a prompt longer than its slot's context with HTTP 400 and
 * `{"error": {"type": "exceed_context_size_error", "n_prompt_tokens": N, "n_ctx": M, ...}}`
 * (tools/server/server-task.cpp `server_task_result_error::to_json`, sent by server-context.cpp).
 */
function contextSizeError(
  settings: Pick<ModelSettings, 'provider' | 'host'>,
  body: string,
  text: string,
  model?: string,
): ModelError {
  let prompt: number | undefined;
  let ctx: number | undefined;
  try {
    const e = (JSON.parse(body) as { error?: { n_prompt_tokens?: unknown; n_ctx?: unknown } }).error;
    if (typeof e?.n_prompt_tokens === 'number') prompt = e.n_prompt_tokens;
    if (typeof e?.n_ctx === 'number') ctx = e.n_ctx;
  } catch {
    // the message text still says it
  }
  const sizes = prompt !== undefined && ctx !== undefined ? `${prompt} tokens against a context of ${ctx}` : text;
  return new ModelError(
    'http',
    `The prompt does not fit the context window of the server at ${settings.host} (${sizes}). Tell Crucible the server's real context with crucible.generation.numCtx (CLI: --num-ctx) so it shrinks the prompt to fit, or start the server with a larger context (llama-server -c, per slot: -c divided by --parallel).`,
    { host: settings.host, status: 400, ...(model !== undefined ? { model } : {}) },
  );
}

/**
 * How long to wait before sending a failed request again, or undefined to give up. Only failures that
 * never reached the model are repeated for generation (`idempotent` false): a refused connection while
 * the server starts (up to maxRetries), and 503 (llama.cpp loading a model, Ollama's full queue) for as
 * long as the first-token timeout allows a load to take. Idempotent calls also repeat retryable failures.
 * A Retry-After from the server wins over the backoff.
 */
export function retryDelay(
  failure: ModelError,
  attempt: number,
  elapsedMs: number,
  settings: Pick<ModelSettings, 'firstTokenTimeoutMs' | 'maxRetries'>,
  idempotent: boolean,
  baseDelayMs = 250,
): number | undefined {
  if (failure.kind === 'cancelled') return undefined;
  const backoff = Math.min(2_000, baseDelayMs * 2 ** Math.min(attempt, 8));
  if (failure.status === 503) {
    const budget = Math.max(settings.firstTokenTimeoutMs, 0);
    if (elapsedMs >= budget) return undefined;
    return Math.min(failure.retryAfterMs ?? backoff, Math.max(50, budget - elapsedMs));
  }
  if (attempt >= Math.max(0, settings.maxRetries)) return undefined;
  if (failure.kind === 'unreachable' && failure.neverProcessed && /ECONNREFUSED|ECONNRESET/.test(failure.message))
    return failure.retryAfterMs ?? backoff;
  if (idempotent && failure.retryable) return failure.retryAfterMs ?? backoff;
  return undefined;
}

/** Waits `ms`, or rejects early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs an idempotent call with its own request timeout, repeating it after failures `retryDelay` allows
 * (dropped connection, 502/503/504, a garbled body, a server still loading), with backoff.
 */
export async function withRetries<T>(
  settings: Pick<ModelSettings, 'provider' | 'host' | 'firstTokenTimeoutMs' | 'requestTimeoutMs' | 'maxRetries'>,
  what: string,
  signal: AbortSignal | undefined,
  call: (guard: RequestGuard, state: ExchangeState) => Promise<T>,
  model?: string,
  baseDelayMs = 150,
): Promise<T> {
  const requestMs = settings.requestTimeoutMs;
  const started = performance.now();
  for (let attempt = 0; ; attempt++) {
    const guard = new RequestGuard(signal, requestMs, requestMs, 'request');
    const state: ExchangeState = { headersReceived: false };
    let delay: number | undefined;
    let failure: ModelError;
    try {
      return await call(guard, state);
    } catch (err) {
      failure = toModelError(err, {
        settings,
        guard,
        state,
        what,
        requestMs,
        ...(model !== undefined ? { model } : {}),
      });
      delay = retryDelay(failure, attempt, performance.now() - started, settings, true, baseDelayMs);
      if (delay === undefined) {
        if (failure.kind === 'loading')
          throw loadingError(settings, performance.now() - started, 'Loading model', model);
        throw failure;
      }
    } finally {
      guard.dispose();
    }
    try {
      await sleep(delay, signal);
    } catch {
      throw cancelledError(settings);
    }
  }
}
