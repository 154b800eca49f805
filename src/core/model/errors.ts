// Typed model-layer errors. Every message says what went wrong and how to fix it; none contains headers.

import type { ModelSettings } from './types';

export type ModelErrorKind = 'unreachable' | 'model_missing' | 'timeout' | 'cancelled' | 'http' | 'bad_response';

export interface ModelErrorDetails {
  host?: string;
  model?: string;
  /** HTTP status, when the server answered with one. */
  status?: number;
  /** For timeouts: which one fired. */
  timeout?: 'first-token' | 'stall' | 'request';
  /** True when repeating the same idempotent call may succeed (dropped connection, 502/503/504). */
  retryable?: boolean;
  /** Text received before the failure, so nothing in progress is lost. */
  partialText?: string;
  cause?: unknown;
}

export class ModelError extends Error {
  readonly kind: ModelErrorKind;
  readonly host?: string;
  readonly model?: string;
  readonly status?: number;
  readonly timeout?: 'first-token' | 'stall' | 'request';
  readonly retryable: boolean;
  readonly partialText?: string;

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
  }
}

export function isModelError(err: unknown, kind?: ModelErrorKind): err is ModelError {
  return err instanceof ModelError && (kind === undefined || err.kind === kind);
}

function serverName(settings: Pick<ModelSettings, 'provider'>): string {
  return settings.provider === 'openai' ? 'the OpenAI-compatible server' : 'Ollama';
}

export function unreachableError(settings: Pick<ModelSettings, 'provider' | 'host'>, detail: string, cause?: unknown, retryable = false): ModelError {
  const fix =
    settings.provider === 'openai'
      ? 'Check that the server is running and that crucible.ollama.host (CLI: --host) is its base URL including /v1'
      : 'Start it with `ollama serve` or set crucible.ollama.host (CLI: --host or OLLAMA_HOST)';
  return new ModelError('unreachable', `Cannot reach ${serverName(settings)} at ${settings.host} (${detail}). ${fix}.`, {
    host: settings.host,
    cause,
    retryable,
  });
}

export function modelMissingError(settings: Pick<ModelSettings, 'provider' | 'host'>, model: string, serverText?: string): ModelError {
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

export function httpError(settings: Pick<ModelSettings, 'provider' | 'host'>, status: number, serverText: string, model?: string): ModelError {
  let fix: string;
  if (status === 401 || status === 403) fix = 'The server or a proxy in front of it refused the credentials: check crucible.ollama.headers (CLI: --header "Authorization=Bearer …")';
  else if (status === 400) fix = 'The server rejected the request: check the generation settings (crucible.generation.*) and that the server version is recent';
  else if (status >= 500) fix = settings.provider === 'openai' ? "Check the server's log" : "Check Ollama's log (`journalctl -u ollama`, or ~/.ollama/logs/server.log); a runner crash often means too little memory for the model or num_ctx";
  else fix = 'Check crucible.ollama.host and crucible.provider';
  const text = serverText.trim() || '(no error text)';
  return new ModelError('http', `${serverName(settings)} at ${settings.host} answered HTTP ${status}: ${text}. ${fix}.`, {
    host: settings.host,
    status,
    retryable: status === 502 || status === 503 || status === 504,
    ...(model !== undefined ? { model } : {}),
  });
}

export function cancelledError(settings: Pick<ModelSettings, 'host'>, partialText?: string): ModelError {
  return new ModelError('cancelled', 'The model request was cancelled.', {
    host: settings.host,
    ...(partialText !== undefined ? { partialText } : {}),
  });
}
