// Typed model-layer errors. Every message says what went wrong and how to fix it; none contains headers.

import type { Usage } from '../types';
import type { ModelSettings } from './types';

/**
 * `unreachable`: nothing answers (or the host is not a usable URL). `loading`: the server answers but is still
 * loading the model (llama.cpp's 503 "Loading model"). `timeout` says which timer fired (`first-token`, `queued`
 * when the request waited behind other requests to the same server, `stall`, `request`).
 */
export type ModelErrorKind =
  'unreachable' | 'loading' | 'model_missing' | 'timeout' | 'cancelled' | 'http' | 'bad_response';

export type TimeoutKind = 'first-token' | 'queued' | 'stall' | 'request';

export interface ModelErrorDetails {
  host?: string;
  model?: string;
  /** HTTP status, when the server answered with one. */
  status?: number;
  /** For timeouts: which one fired. */
  timeout?: TimeoutKind;
  /** True when repeating the same idempotent call may succeed (dropped connection, 502/503/504). */
  retryable?: boolean;
  /** Text received before the failure, so nothing in progress is lost. */
  partialText?: string;
  /** The server's Retry-After, ms, when it sent one. */
  retryAfterMs?: number;
  /** The answer was empty because the token limit was hit (done_reason / finish_reason "length"). */
  lengthCut?: boolean;
  /** The request never reached the model (refused connection, 503 while loading or busy): safe to send again. */
  neverProcessed?: boolean;
  cause?: unknown;
}

export class ModelError extends Error {
  readonly kind: ModelErrorKind;
  readonly host?: string;
  readonly model?: string;
  readonly status?: number;
  readonly timeout?: TimeoutKind;
  readonly retryable: boolean;
  readonly partialText?: string;
  readonly retryAfterMs?: number;
  readonly lengthCut?: boolean;
  readonly neverProcessed?: boolean;
  /** Tokens the failed request still cost (estimated from what streamed), so token budgets count them. */
  usage?: Usage;

  constructor(kind: ModelErrorKind, message: string, details: ModelErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'ModelError';
    this.kind = kind;
    if (details.host !== undefined) this.host = details.host;
    if (details.model !== undefined) this.model = details.model;
    if (details.status !== undefined) this.status = details.status;
    if (details.timeout !== undefined) this.timeout = details.timeout;
    if (details.partialText !== undefined) this.partialText = details.partialText;
    this.retryable = details.retryable ?? false;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.lengthCut) this.lengthCut = true;
    if (details.neverProcessed) this.neverProcessed = true;
  }
}

export function isModelError(err: unknown, kind?: ModelErrorKind): err is ModelError {
  return err instanceof ModelError && (kind === undefined || err.kind === kind);
}

function serverName(settings: Pick<ModelSettings, 'provider'>): string {
  return settings.provider === 'openai' ? 'the OpenAI-compatible server' : 'Ollama';
}

export function unreachableError(
  settings: Pick<ModelSettings, 'provider' | 'host'>,
  detail: string,
  cause?: unknown,
  retryable = false,
): ModelError {
  const fix =
    settings.provider === 'openai'
      ? 'Check that the server is running and that crucible.ollama.host (CLI: --host) is its base URL including /v1'
      : 'Start it with `ollama serve` or set crucible.ollama.host (CLI: --host or OLLAMA_HOST)';
  return new ModelError(
    'unreachable',
    `Cannot reach ${serverName(settings)} at ${settings.host} (${detail}). ${fix}.`,
    {
      host: settings.host,
      cause,
      retryable,
      neverProcessed: true,
    },
  );
}

/** A host setting that cannot be a server URL (empty, a mistyped scheme such as `http//x`). */
export function badHostError(settings: Pick<ModelSettings, 'host'>, why: string): ModelError {
  return new ModelError(
    'unreachable',
    `'${settings.host}' is not a usable server URL (${why}). Set crucible.ollama.host (CLI: --host) to a URL such as http://127.0.0.1:11434 (Ollama) or http://gpu-box:8000/v1 (OpenAI-compatible).`,
    { host: settings.host },
  );
}

/** The server answers, but is still loading the model (llama.cpp's 503 "Loading model" on every path). */
export function loadingError(
  settings: Pick<ModelSettings, 'provider' | 'host'>,
  waitedMs: number,
  serverText: string,
  model?: string,
): ModelError {
  return new ModelError(
    'loading',
    `${settings.provider === 'openai' ? 'The server' : 'Ollama'} at ${settings.host} is still loading the model after ${Math.round(waitedMs / 1000)} s (HTTP 503: ${serverText || 'Loading model'}). Wait for the load to finish, or raise crucible.request.firstTokenTimeoutSeconds (CLI: --first-token-timeout), which also bounds how long Crucible waits for a load.`,
    { host: settings.host, status: 503, neverProcessed: true, ...(model !== undefined ? { model } : {}) },
  );
}

export function modelMissingError(
  settings: Pick<ModelSettings, 'provider' | 'host'>,
  model: string,
  serverText?: string,
): ModelError {
  const fix =
    settings.provider === 'openai'
      ? `Load it on the server, or pick one the server offers with Crucible: Select Model (CLI: crucible models --provider openai)`
      : `Run \`ollama pull ${model}\` or pick one with Crucible: Select Model (CLI: crucible models)`;
  const said = serverText ? ` The server said: ${serverText}.` : '';
  return new ModelError('model_missing', `Model '${model}' is not installed at ${settings.host}.${said} ${fix}.`, {
    host: settings.host,
    model,
    status: 404,
  });
}

export function httpError(
  settings: Pick<ModelSettings, 'provider' | 'host'>,
  status: number,
  serverText: string,
  model?: string,
): ModelError {
  let fix: string;
  if (status === 401 || status === 403)
    fix =
      'The server or a proxy in front of it refused the credentials: check crucible.ollama.headers (CLI: --header "Authorization=Bearer …")';
  else if (status === 400)
    fix =
      'The server rejected the request: check the generation settings (crucible.generation.*) and that the server version is recent';
  else if (status >= 500)
    fix =
      settings.provider === 'openai'
        ? "Check the server's log"
        : "Check Ollama's log (`journalctl -u ollama`, or ~/.ollama/logs/server.log); a runner crash often means too little memory for the model or num_ctx";
  else fix = 'Check crucible.ollama.host and crucible.provider';
  const text = serverText.trim() || '(no error text)';
  return new ModelError(
    'http',
    `${serverName(settings)} at ${settings.host} answered HTTP ${status}: ${text}. ${fix}.`,
    {
      host: settings.host,
      status,
      retryable: status === 502 || status === 503 || status === 504,
      // A 503 (loading, or Ollama's "server busy" queue limit) is answered before the model sees the request.
      neverProcessed: status === 503,
      ...(model !== undefined ? { model } : {}),
    },
  );
}

export function cancelledError(settings: Pick<ModelSettings, 'host'>, partialText?: string): ModelError {
  return new ModelError('cancelled', 'The model request was cancelled.', {
    host: settings.host,
    ...(partialText !== undefined ? { partialText } : {}),
  });
}
