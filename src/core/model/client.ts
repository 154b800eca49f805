// The model client: one interface (ModelClient), two providers.
//
// - `ollama`: the official `ollama` package. Chat always streams (so timeouts and cancel work) through
//   an AbortableAsyncIterator; cancel calls its `abort()` and aborts the fetch, which closes the HTTP
//   connection so Ollama stops generating. `num_ctx` is always sent explicitly: the configured value, or
//   the model's own context length capped at DEFAULT_NUM_CTX_CAP, pinned per model for the client's
//   life (a changing num_ctx makes Ollama reload the model).
// - `openai`: any OpenAI-compatible /v1 server, with fetch and server-sent events. It cannot set num_ctx.
//
// Both: the caller's AbortSignal end to end; a first-token timeout separate from the stall timeout
// between chunks; at most `maxParallel` chat requests in flight per client (queued requests can be
// cancelled); retries with backoff for idempotent calls only (tags, show, version, /v1/models), never for
// chat; usage (tokens, duration) per answer; ModelError with a fix in every message. Headers are sent
// on every request and never logged or put in messages.

import { Ollama } from 'ollama';
import type { ChatResponse, ProgressResponse } from 'ollama';
import { ModelError, cancelledError, modelMissingError } from './errors';
import { Limiter } from './limiter';
import { estimateMessagesTokens, estimateTokens } from './promptBudget';
import {
  type ExchangeState,
  type FetchLike,
  MalformedLineError,
  RequestGuard,
  guardedFetch,
  toModelError,
  withRetries,
} from './transport';
import type { ChatRequest, ChatResult, GenerationOptions, ModelClient, ModelInfo, ModelSettings, PullProgress } from './types';

/** Largest num_ctx pinned automatically when crucible.generation.numCtx is 0 (KV cache memory grows with it). */
export const DEFAULT_NUM_CTX_CAP = 16384;

/** What the server says about one model. */
export interface ModelDetails {
  name: string;
  /** `<family>.context_length` from /api/show model_info (the most the model was trained for). */
  contextLength?: number;
  /** A `num_ctx` PARAMETER in the model's Modelfile. */
  numCtxParameter?: number;
  family?: string;
  parameterSize?: string;
}

export interface CrucibleModelClient extends ModelClient {
  /** Raw facts about a model (context length as trained, Modelfile num_ctx). `contextLength()` is the window actually used. */
  showModel(model?: string, signal?: AbortSignal): Promise<ModelDetails>;
  /** Chat requests running now / waiting for a slot. */
  readonly load: { active: number; queued: number };
}

export interface ModelClientDeps {
  fetch?: FetchLike;
}

/** Settings with headers replaced by their names only: safe to log. */
export function redactSettings(settings: ModelSettings): Omit<ModelSettings, 'headers'> & { headers: string[] } {
  return { ...settings, headers: Object.keys(settings.headers ?? {}) };
}

export function createModelClient(settings: ModelSettings, deps: ModelClientDeps = {}): CrucibleModelClient {
  const fetchImpl: FetchLike = deps.fetch ?? globalThis.fetch.bind(globalThis);
  const clean: ModelSettings = {
    ...settings,
    host: normalizeHost(settings.host, settings.provider),
    headers: { ...(settings.headers ?? {}) },
    options: { ...(settings.options ?? {}) },
    maxParallel: Math.max(1, Math.floor(settings.maxParallel || 1)),
    maxRetries: Math.max(0, Math.floor(settings.maxRetries ?? 0)),
  };
  return clean.provider === 'openai' ? new OpenAiClient(clean, fetchImpl) : new OllamaClient(clean, fetchImpl);
}

function normalizeHost(host: string, provider: ModelSettings['provider']): string {
  let h = (host || '').trim() || (provider === 'openai' ? 'http://127.0.0.1:11434/v1' : 'http://127.0.0.1:11434');
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(h)) h = `http://${h}`;
  h = h.replace(/\/+$/, '');
  if (provider === 'openai') {
    try {
      const u = new URL(h);
      if (u.pathname === '' || u.pathname === '/') h = `${h}/v1`;
    } catch {
      // Left as given: the first request reports it as unreachable.
    }
  }
  return h;
}

/** Ollama accepts keep_alive as a duration string ("10m") or a number of seconds; "-1" must be a number. */
function keepAliveValue(k: string | undefined): string | number | undefined {
  if (k === undefined || k === '') return undefined;
  return /^-?\d+$/.test(k.trim()) ? Number(k.trim()) : k.trim();
}

function emptyAnswerError(settings: ModelSettings, model: string, doneReason: string | undefined): ModelError {
  const why = doneReason === 'length' ? ' It hit the token limit before writing anything: raise crucible.generation.numPredict (CLI: --num-predict).' : ' Try again, or pick another model with Crucible: Select Model.';
  return new ModelError('bad_response', `${model} at ${settings.host} returned an empty answer (done_reason: ${doneReason ?? 'none'}).${why}`, {
    host: settings.host,
    model,
  });
}

abstract class BaseClient {
  protected readonly limiter: Limiter;

  constructor(
    readonly settings: ModelSettings,
    protected readonly fetchImpl: FetchLike,
  ) {
    this.limiter = new Limiter(settings.maxParallel);
  }

  get load(): { active: number; queued: number } {
    return { active: this.limiter.active, queued: this.limiter.queued };
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    return this.limiter.run(() => this.chatNow(request), request.signal, () => cancelledError(this.settings));
  }

  protected abstract chatNow(request: ChatRequest): Promise<ChatResult>;

  protected mergedOptions(request: ChatRequest): GenerationOptions {
    return { ...this.settings.options, ...(request.options ?? {}) };
  }
}

class OllamaClient extends BaseClient implements CrucibleModelClient {
  private readonly details = new Map<string, Promise<ModelDetails>>();
  private readonly pinnedCtx = new Map<string, number | undefined>();

  private ollama(signal: AbortSignal, state: ExchangeState, watch: boolean): Ollama {
    return new Ollama({ host: this.settings.host, headers: this.settings.headers, fetch: guardedFetch(this.fetchImpl, signal, state, watch) });
  }

  protected async chatNow(request: ChatRequest): Promise<ChatResult> {
    const s = this.settings;
    const model = s.model;
    const options = this.mergedOptions(request);
    if (options.num_ctx === undefined) {
      const pinned = await this.pinnedContext(model, request.signal);
      if (pinned !== undefined) options.num_ctx = pinned;
    }
    const guard = new RequestGuard(request.signal, s.firstTokenTimeoutMs, s.requestTimeoutMs);
    const state: ExchangeState = { headersReceived: false };
    const started = Date.now();
    let text = '';
    let final: ChatResponse | undefined;
    try {
      const client = this.ollama(guard.signal, state, true);
      const keepAlive = keepAliveValue(s.keepAlive);
      const stream = await client.chat({
        model,
        messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
        stream: true,
        options,
        ...(keepAlive !== undefined ? { keep_alive: keepAlive } : {}),
      });
      guard.onAbort(() => stream.abort());
      // The first-token timer keeps running until the first chunk: some servers send headers at once
      // and only then evaluate the prompt.
      for await (const part of stream) {
        guard.progress();
        const piece = part.message?.content ?? '';
        if (piece) {
          text += piece;
          request.onToken?.(piece);
        }
        if (part.done) final = part;
      }
      if (guard.reason) throw new Error('aborted');
    } catch (err) {
      throw toModelError(err, { settings: s, guard, state, model, what: `generating with ${model}`, partialText: text });
    } finally {
      guard.dispose();
    }
    if (!text.trim()) throw emptyAnswerError(s, model, final?.done_reason);
    const promptTokens = typeof final?.prompt_eval_count === 'number' ? final.prompt_eval_count : estimateMessagesTokens(request.messages);
    const completionTokens = typeof final?.eval_count === 'number' ? final.eval_count : estimateTokens(text);
    const durationMs = typeof final?.total_duration === 'number' && final.total_duration > 0 ? final.total_duration / 1e6 : Date.now() - started;
    return {
      text,
      model: final?.model ?? model,
      usage: { promptTokens, completionTokens, durationMs },
      ...(final?.done_reason ? { doneReason: final.done_reason } : {}),
    };
  }

  /** The num_ctx sent with every chat for this model: configured, else min(model context, cap), else the Modelfile's. */
  private async pinnedContext(model: string, signal?: AbortSignal): Promise<number | undefined> {
    if (this.pinnedCtx.has(model)) return this.pinnedCtx.get(model);
    const d = await this.showModel(model, signal);
    const value = d.contextLength !== undefined ? Math.min(d.contextLength, DEFAULT_NUM_CTX_CAP) : d.numCtxParameter;
    this.pinnedCtx.set(model, value);
    return value;
  }

  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    return withRetries(this.settings, 'listing models', signal, async (guard, state) => {
      const list = await this.ollama(guard.signal, state, false).list();
      if (!list || !Array.isArray(list.models)) throw new SyntaxError('no "models" array in /api/tags');
      return list.models.map((m) => {
        const info: ModelInfo = { name: m.name ?? m.model };
        if (typeof m.size === 'number') info.sizeBytes = m.size;
        if (m.details?.parameter_size) info.parameterSize = m.details.parameter_size;
        if (m.details?.family) info.family = m.details.family;
        if (m.modified_at) info.modifiedAt = String(m.modified_at);
        return info;
      });
    });
  }

  showModel(model = this.settings.model, signal?: AbortSignal): Promise<ModelDetails> {
    const cached = this.details.get(model);
    if (cached) return cached;
    const p = withRetries(
      this.settings,
      `reading details of ${model}`,
      signal,
      async (guard, state) => {
        const show = (await this.ollama(guard.signal, state, false).show({ model })) as unknown as {
          model_info?: { [key: string]: unknown };
          parameters?: string;
          details?: { family?: string; parameter_size?: string };
        };
        const d: ModelDetails = { name: model };
        const info = show.model_info ?? {};
        const arch = typeof info['general.architecture'] === 'string' ? (info['general.architecture'] as string) : undefined;
        const key = arch && typeof info[`${arch}.context_length`] === 'number' ? `${arch}.context_length` : Object.keys(info).find((k) => k.endsWith('.context_length') && typeof info[k] === 'number');
        if (key) d.contextLength = info[key] as number;
        const m = /(?:^|\n)\s*num_ctx\s+(\d+)/.exec(show.parameters ?? '');
        if (m) d.numCtxParameter = Number(m[1]);
        if (show.details?.family) d.family = show.details.family;
        if (show.details?.parameter_size) d.parameterSize = show.details.parameter_size;
        return d;
      },
      model,
    );
    this.details.set(model, p);
    // Failures are not cached: the next call asks again (the user may have pulled the model meanwhile).
    p.catch(() => this.details.delete(model));
    return p;
  }

  async contextLength(model = this.settings.model, signal?: AbortSignal): Promise<number | undefined> {
    if (this.settings.options.num_ctx !== undefined && this.settings.options.num_ctx > 0) return this.settings.options.num_ctx;
    return this.pinnedContext(model, signal);
  }

  async pull(model: string, onProgress: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    const s = this.settings;
    const guard = new RequestGuard(signal, s.firstTokenTimeoutMs, s.requestTimeoutMs);
    const state: ExchangeState = { headersReceived: false };
    let ok = false;
    try {
      const stream = await this.ollama(guard.signal, state, true).pull({ model, stream: true });
      guard.onAbort(() => stream.abort());
      guard.progress();
      for await (const p of stream as AsyncIterable<ProgressResponse>) {
        guard.progress();
        const out: PullProgress = { status: p.status };
        if (typeof p.completed === 'number') out.completed = p.completed;
        if (typeof p.total === 'number') out.total = p.total;
        onProgress(out);
        if (p.status === 'success') ok = true;
      }
      if (guard.reason) throw new Error('aborted');
    } catch (err) {
      if (state.streamError !== undefined && /file does not exist|not found|manifest unknown/i.test(state.streamError)) {
        throw new ModelError(
          'model_missing',
          `Ollama at ${s.host} cannot pull '${model}': ${state.streamError}. Check the name at https://ollama.com/library (names look like qwen2.5-coder:7b), or pick an installed model with Crucible: Select Model.`,
          { host: s.host, model },
        );
      }
      throw toModelError(err, { settings: s, guard, state, model, what: `pulling ${model}` });
    } finally {
      guard.dispose();
    }
    if (!ok) throw new ModelError('bad_response', `Pulling '${model}' from ${s.host} ended without "success". Run \`ollama pull ${model}\` in a terminal to see why.`, { host: s.host, model });
    this.details.delete(model);
    this.pinnedCtx.delete(model);
  }

  async version(signal?: AbortSignal): Promise<string> {
    return withRetries(this.settings, 'reading the server version', signal, async (guard, state) => {
      const v = await this.ollama(guard.signal, state, false).version();
      if (!v || typeof v.version !== 'string') throw new SyntaxError('no "version" in /api/version');
      return v.version;
    });
  }
}

interface OpenAiChunk {
  choices?: { delta?: { content?: string | null }; message?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  model?: string;
  error?: unknown;
}

function openAiErrorText(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: unknown; message?: unknown; detail?: unknown };
    const e = j.error;
    if (typeof e === 'string') return e;
    if (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string') return (e as { message: string }).message;
    if (typeof j.message === 'string') return j.message;
    if (typeof j.detail === 'string') return j.detail;
  } catch {
    // not JSON: use the text itself
  }
  return body.slice(0, 300);
}

class OpenAiClient extends BaseClient implements CrucibleModelClient {
  private headers(extra?: { [k: string]: string }): { [k: string]: string } {
    return { Accept: 'application/json', ...(extra ?? {}), ...this.settings.headers };
  }

  /** Throws a ModelError for a non-2xx response. */
  private async checkOk(res: Response, model?: string): Promise<void> {
    if (res.ok) return;
    const text = openAiErrorText(await res.text().catch(() => ''));
    // ResponseError-shaped, so toModelError maps 404 "not found" to model_missing and the rest to http.
    throw Object.assign(new Error(text), { status_code: res.status, error: text, model });
  }

  protected async chatNow(request: ChatRequest): Promise<ChatResult> {
    const s = this.settings;
    const model = s.model;
    const o = this.mergedOptions(request);
    const body: { [k: string]: unknown } = {
      model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      stream: true,
      stream_options: { include_usage: true },
    };
    if (o.temperature !== undefined) body.temperature = o.temperature;
    if (o.top_p !== undefined) body.top_p = o.top_p;
    if (o.seed !== undefined) body.seed = o.seed;
    if (o.num_predict !== undefined) body.max_tokens = o.num_predict;
    if (o.stop && o.stop.length) body.stop = o.stop;
    const guard = new RequestGuard(request.signal, s.firstTokenTimeoutMs, s.requestTimeoutMs);
    const state: ExchangeState = { headersReceived: false };
    const started = Date.now();
    let text = '';
    let finish: string | undefined;
    let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
    let answeredModel: string | undefined;
    try {
      const f = guardedFetch(this.fetchImpl, guard.signal, state, false);
      const res = await f(`${s.host}/chat/completions`, {
        method: 'POST',
        headers: this.headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
        body: JSON.stringify(body),
      });
      await this.checkOk(res, model);
      if (!res.body) throw new SyntaxError('no response body');
      let sawDone = false;
      for await (const data of sseData(res.body)) {
        guard.progress();
        if (data === '[DONE]') {
          sawDone = true;
          break;
        }
        let chunk: OpenAiChunk;
        try {
          chunk = JSON.parse(data) as OpenAiChunk;
        } catch {
          throw new MalformedSse(data);
        }
        if (chunk.error !== undefined) {
          state.streamError = typeof chunk.error === 'string' ? chunk.error : openAiErrorText(JSON.stringify({ error: chunk.error }));
          throw new Error(state.streamError);
        }
        if (chunk.model) answeredModel = chunk.model;
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices?.[0];
        const piece = choice?.delta?.content ?? choice?.message?.content ?? '';
        if (piece) {
          text += piece;
          request.onToken?.(piece);
        }
        if (choice?.finish_reason) finish = choice.finish_reason;
      }
      if (guard.reason) throw new Error('aborted');
      if (!sawDone && !finish) throw new Error('stream ended without [DONE] or a finish_reason');
    } catch (err) {
      const e = err instanceof MalformedSse ? malformedAsLine(err) : err;
      throw toModelError(e, { settings: s, guard, state, model, what: `generating with ${model}`, partialText: text });
    } finally {
      guard.dispose();
    }
    if (!text.trim()) throw emptyAnswerError(s, model, finish);
    return {
      text,
      model: answeredModel ?? model,
      usage: {
        promptTokens: usage?.prompt_tokens ?? estimateMessagesTokens(request.messages),
        completionTokens: usage?.completion_tokens ?? estimateTokens(text),
        durationMs: Date.now() - started,
      },
      ...(finish ? { doneReason: finish } : {}),
    };
  }

  private async getJson(path: string, what: string, signal?: AbortSignal, model?: string): Promise<unknown> {
    return withRetries(
      this.settings,
      what,
      signal,
      async (guard, state) => {
        const f = guardedFetch(this.fetchImpl, guard.signal, state, false);
        const res = await f(`${this.settings.host}${path}`, { headers: this.headers() });
        await this.checkOk(res, model);
        return (await res.json()) as unknown;
      },
      model,
    );
  }

  private async modelEntries(signal?: AbortSignal): Promise<{ id: string; max_model_len?: number; owned_by?: string }[]> {
    const j = (await this.getJson('/models', 'listing models', signal)) as { data?: unknown };
    if (!j || !Array.isArray(j.data)) throw new ModelError('bad_response', `${this.settings.host}/models did not return a model list. Check that crucible.ollama.host is the server's base URL including /v1.`, { host: this.settings.host });
    return j.data.filter((d): d is { id: string } => !!d && typeof (d as { id?: unknown }).id === 'string');
  }

  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    return (await this.modelEntries(signal)).map((d) => ({ name: d.id }));
  }

  async showModel(model = this.settings.model, signal?: AbortSignal): Promise<ModelDetails> {
    const entry = (await this.modelEntries(signal)).find((d) => d.id === model);
    if (!entry) throw modelMissingError(this.settings, model);
    return { name: model, ...(typeof entry.max_model_len === 'number' ? { contextLength: entry.max_model_len } : {}) };
  }

  /** The configured num_ctx if set (the server decides; /v1 cannot change it), else what the server reports (vLLM's max_model_len). */
  async contextLength(model = this.settings.model, signal?: AbortSignal): Promise<number | undefined> {
    if (this.settings.options.num_ctx !== undefined && this.settings.options.num_ctx > 0) return this.settings.options.num_ctx;
    return (await this.showModel(model, signal)).contextLength;
  }
}

class MalformedSse extends Error {
  constructor(readonly data: string) {
    super(data);
  }
}

function malformedAsLine(err: MalformedSse): Error {
  return new MalformedLineError(`data: ${err.data}`);
}

/** Yields the `data:` payloads of a server-sent event stream, one per event. */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (line === '') {
          if (data.length) yield data.join('\n');
          data = [];
        } else if (line.startsWith('data:')) {
          data.push(line.slice(5).replace(/^ /, ''));
        }
        // Comments (":") and other fields (event:, id:, retry:) are ignored.
      }
      if (done) {
        if (buffer.startsWith('data:')) data.push(buffer.slice(5).replace(/^ /, ''));
        if (data.length) yield data.join('\n');
        return;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
