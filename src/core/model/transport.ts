// Shared plumbing for both providers: one AbortController per request fed by the caller's signal and
// by two timers (first token, stall between chunks), a fetch wrapper that carries that signal and
// watches streamed lines, and the mapping from low-level failures to ModelError with a fix in the message.

import { ModelError, cancelledError, httpError, modelMissingError, unreachableError } from './errors';
import type { ModelSettings } from './types';

export type FetchLike = typeof fetch;
export type AbortReason = 'cancelled' | 'first-token' | 'stall' | 'request';

/** Owns one request's abort controller and its timers. Call `progress()` on every received chunk. */
export class RequestGuard {
  readonly controller = new AbortController();
  reason: AbortReason | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private hooks: (() => void)[] = [];
  private readonly onOuterAbort = (): void => this.abort('cancelled');

  constructor(
    private readonly outer: AbortSignal | undefined,
    firstMs: number,
    private readonly stallMs: number,
    firstKind: AbortReason = 'first-token',
  ) {
    if (outer?.aborted) this.abort('cancelled');
    else outer?.addEventListener('abort', this.onOuterAbort, { once: true });
    if (!this.reason) this.arm(firstKind, firstMs);
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
    if (!this.reason) this.arm('stall', this.stallMs);
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
}

/**
 * Wraps fetch: every call also listens to `signal`; for NDJSON bodies (`watchNdjson`) each complete line
 * is checked before the client sees it, so a garbage line fails the stream with MalformedLineError.
 */
export function guardedFetch(base: FetchLike, signal: AbortSignal, state: ExchangeState, watchNdjson: boolean): FetchLike {
  return (async (input: Parameters<FetchLike>[0], init?: RequestInit) => {
    const signals = init?.signal ? [signal, init.signal] : [signal];
    const res = await base(input, { ...init, signal: signals.length > 1 ? AbortSignal.any(signals) : signal });
    state.headersReceived = true;
    state.status = res.status;
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

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ECONNABORTED']);
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

/** Turns whatever a request threw into a ModelError whose message names the fix. */
export function toModelError(err: unknown, ctx: FailureContext): ModelError {
  const { settings, guard, state } = ctx;
  const partial = ctx.partialText !== undefined && ctx.partialText !== '' ? { partialText: ctx.partialText } : {};
  const model = ctx.model !== undefined ? { model: ctx.model } : {};
  const host = settings.host;
  if (guard.reason === 'cancelled') return cancelledError(settings, ctx.partialText);
  if (guard.reason === 'first-token') {
    return new ModelError(
      'timeout',
      `No answer from ${ctx.model ?? 'the model'} at ${host} within ${seconds(settings.firstTokenTimeoutMs)} (first-token timeout). A cold model can take minutes to load: raise crucible.request.firstTokenTimeoutSeconds (CLI: --first-token-timeout), or check the server's load.`,
      { host, timeout: 'first-token', ...model },
    );
  }
  if (guard.reason === 'stall') {
    return new ModelError(
      'timeout',
      `${ctx.model ?? 'The model'} at ${host} stopped streaming for ${seconds(settings.requestTimeoutMs)} after ${ctx.partialText?.length ?? 0} characters (stall timeout). Check the server's load and log, or raise crucible.request.stallTimeoutSeconds (CLI: --stall-timeout).`,
      { host, timeout: 'stall', ...model, ...partial },
    );
  }
  if (guard.reason === 'request') {
    return new ModelError(
      'timeout',
      `No answer from ${host} within ${seconds(ctx.requestMs ?? settings.requestTimeoutMs)} while ${ctx.what}. Check that crucible.ollama.host points at a working server, or raise crucible.request.stallTimeoutSeconds (CLI: --stall-timeout).`,
      { host, timeout: 'request', ...model },
    );
  }
  if (err instanceof ModelError) return err;
  if (state.streamError !== undefined) {
    return new ModelError(
      'http',
      `${settings.provider === 'openai' ? 'The server' : 'Ollama'} at ${host} reported an error while ${ctx.what}: ${state.streamError}. Check the server's log; a runner crash often means too little memory for the model or num_ctx.`,
      { host, ...model, ...partial },
    );
  }
  if (err instanceof MalformedLineError || state.malformed) {
    const bad = err instanceof MalformedLineError ? err : state.malformed!;
    return new ModelError(
      'bad_response',
      `The server at ${host} sent a line that is not JSON while ${ctx.what} (${bad.message}). The answer was discarded; try again, and check that crucible.ollama.host and crucible.provider point at a real ${settings.provider === 'openai' ? 'OpenAI-compatible server' : 'Ollama server'} (not a proxy error page).`,
      { host, ...model, ...partial, retryable: true },
    );
  }
  const status = (err as { status_code?: unknown })?.status_code;
  if (typeof status === 'number') {
    const text = String((err as { error?: unknown }).error ?? (err as Error).message ?? '');
    if (status === 404 && /not found/i.test(text) && ctx.model !== undefined) return modelMissingError(settings, ctx.model, text);
    return httpError(settings, status, text, ctx.model);
  }
  const message = err instanceof Error ? err.message : String(err);
  const code = causeCode(err);
  if (!state.headersReceived) {
    if (code && UNREACHABLE_CODES.has(code)) return unreachableError(settings, code, err);
    if (code && RESET_CODES.has(code)) {
      return new ModelError(
        'bad_response',
        `The connection to ${host} dropped before an answer while ${ctx.what} (${code}). Try again; if it keeps happening, check the server's log and any proxy in front of it.`,
        { host, ...model, retryable: true, cause: err },
      );
    }
    if (err instanceof TypeError) {
      const cause = (err as { cause?: unknown }).cause;
      const why = code ?? (cause instanceof Error && cause.message ? cause.message : message);
      return unreachableError(settings, why, err);
    }
  }
  if (/did not receive done or success response/i.test(message) || /ended without/i.test(message)) {
    return new ModelError(
      'bad_response',
      `The answer from ${host} ended early while ${ctx.what}: the stream closed without its final message. Try again; if it keeps happening, check the server's log and any proxy timeout in front of it.`,
      { host, ...model, ...partial, retryable: true },
    );
  }
  if (err instanceof SyntaxError) {
    return new ModelError(
      'bad_response',
      `The server at ${host} sent a body that is not JSON while ${ctx.what} (${message}). Check that crucible.ollama.host and crucible.provider point at a real ${settings.provider === 'openai' ? 'OpenAI-compatible server' : 'Ollama server'}.`,
      { host, ...model, retryable: true },
    );
  }
  if (message === 'terminated' || (code && RESET_CODES.has(code)) || /terminated|other side closed|socket/i.test(message)) {
    return new ModelError(
      'bad_response',
      `The connection to ${host} dropped while ${ctx.what}${ctx.partialText ? ` (after ${ctx.partialText.length} characters)` : ''}. Try again; if it keeps happening, check the server's log and any proxy timeout in front of it.`,
      { host, ...model, ...partial, retryable: true, cause: err },
    );
  }
  return new ModelError('bad_response', `Unexpected failure from ${host} while ${ctx.what}: ${message}. Try again, and run \`crucible doctor\` to check the setup.`, {
    host,
    ...model,
    ...partial,
    cause: err,
  });
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
 * Runs an idempotent call with its own request timeout, retrying failures marked retryable
 * (dropped connection, 502/503/504, a garbled body) with exponential backoff, up to `maxRetries` times.
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
  for (let attempt = 0; ; attempt++) {
    const guard = new RequestGuard(signal, requestMs, requestMs, 'request');
    const state: ExchangeState = { headersReceived: false };
    try {
      return await call(guard, state);
    } catch (err) {
      const failure = toModelError(err, { settings, guard, state, what, requestMs, ...(model !== undefined ? { model } : {}) });
      if (!failure.retryable || attempt >= Math.max(0, settings.maxRetries)) throw failure;
      try {
        await sleep(baseDelayMs * 2 ** attempt, signal);
      } catch {
        throw cancelledError(settings);
      }
    } finally {
      guard.dispose();
    }
  }
}
