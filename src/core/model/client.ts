// The model client: one interface (ModelClient), two providers.
//
// - `ollama`: the official `ollama` package. Chat always streams (so timeouts and cancel work) through
//   an AbortableAsyncIterator; cancel calls its `abort()` and aborts the fetch, which closes the HTTP
//   connection so Ollama stops generating. `think` is always sent (false unless turned on), and the
//   model's `thinking` is kept apart from the answer. When num_ctx is sent: see `contextPlan`.
// - `openai`: any OpenAI-compatible /v1 server (vLLM, llama.cpp's llama-server, LM Studio), with fetch and
//   server-sent events. It cannot set num_ctx; it reads the window from llama.cpp's /props or the model
//   list, accepts any model name when the server serves exactly one model, and keeps `reasoning` /
//   `reasoning_content` apart from the answer.
//
// Both: the caller's AbortSignal end to end; a first-token timeout separate from the stall timeout
// between chunks, that does not run while the request is queued behind our other requests to the same
// server; at most `maxParallel` chat requests in flight per client, lowered to the parallelism the server
// turns out to have; retries with backoff for idempotent calls, and for chat only when the request never
// reached the model (refused connection while starting, 503 while loading), honouring Retry-After; usage
// (tokens, duration) per answer and on failures; ModelError with a fix in every message. Headers are sent
// on every request and never logged or put in messages. Several hosts make a pool (pool.ts).

import { AnswerCap } from './answerCap';
import { Ollama } from 'ollama';
import type { ChatResponse, ProgressResponse } from 'ollama';
import { ModelError, badHostError, cancelledError, loadingError, modelMissingError } from './errors';
import { Limiter } from './limiter';
import { createPool } from './pool';
import { estimateMessagesTokens, estimateTokens } from './promptBudget';
import {
  type ExchangeState,
  type FetchLike,
  HostActivity,
  MalformedLineError,
  RequestGuard,
  createHttpFetch,
  guardedFetch,
  retryDelay,
  sleep,
  toModelError,
  withRetries,
} from './transport';
import type {
  ChatMessage,
  ChatRequest,
  ChatResult,
  GenerationOptions,
  ModelClient,
  ModelInfo,
  ModelSettings,
  PullProgress,
} from './types';
import type { Usage } from '../types';

/** Largest num_ctx sent automatically to an old Ollama that cannot report its window (KV cache memory grows with it). */
export const DEFAULT_NUM_CTX_CAP = 16384;

/**
 * When a model reasons (thinking turned on, or a server that streams reasoning whatever we ask), the token
 * limit is multiplied by this, so that the thinking cannot use up the room the answer needs.
 */
export const THINKING_BUDGET_FACTOR = 4;

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
  /** Chat requests running now / waiting for a slot, and how many may run at once (after learning the server's parallelism). */
  readonly load: { active: number; queued: number; capacity: number };
  /** One client per server: a pool's members, or this client itself. */
  readonly members: CrucibleModelClient[];
}

export interface ModelClientDeps {
  fetch?: FetchLike;
}

/** Settings with headers replaced by their names only: safe to log. */
export function redactSettings(settings: ModelSettings): Omit<ModelSettings, 'headers'> & { headers: string[] } {
  return { ...settings, headers: Object.keys(settings.headers ?? {}) };
}

export function createModelClient(settings: ModelSettings, deps: ModelClientDeps = {}): CrucibleModelClient {
  const fetchImpl: FetchLike = deps.fetch ?? createHttpFetch(settings);
  const hosts = (settings.hosts && settings.hosts.length > 0 ? settings.hosts : [settings.host]).map((h) =>
    normalizeHost(h, settings.provider),
  );
  const unique = [...new Set(hosts)];
  const clean: ModelSettings = {
    ...settings,
    host: unique[0]!,
    headers: { ...(settings.headers ?? {}) },
    options: { ...(settings.options ?? {}) },
    maxParallel: Math.max(1, Math.floor(settings.maxParallel || 1)),
    maxRetries: Math.max(0, Math.floor(settings.maxRetries ?? 0)),
  };
  delete clean.hosts;
  const one = (host: string): CrucibleModelClient => {
    const s = { ...clean, host };
    return s.provider === 'openai' ? new OpenAiClient(s, fetchImpl) : new OllamaClient(s, fetchImpl);
  };
  if (unique.length === 1) return one(unique[0]!);
  return createPool({ ...clean, hosts: unique }, unique.map(one));
}

/** Why a host setting cannot be a server URL, or undefined when it can. `http//x` and `http:/x` are typos, not host names. */
export function hostProblem(host: string): string | undefined {
  const h = host.trim();
  if (!h) return 'it is empty';
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/]/i.test(h)) {
    try {
      const u = new URL(h);
      if (!u.hostname) return 'it has no host name';
      if (u.protocol !== 'http:' && u.protocol !== 'https:')
        return `the scheme must be http or https, not ${u.protocol.replace(/:$/, '')}`;
      return undefined;
    } catch {
      return 'it is not a valid URL';
    }
  }
  if (/^[a-z][a-z0-9+.-]*:?\/\/?/i.test(h) && /^(https?)(:\/(?!\/)|\/\/|:(?!\d))/i.test(h))
    return 'the scheme is mistyped: write http://host:port';
  if (/\s/.test(h)) return 'it contains spaces';
  return undefined;
}

function normalizeHost(host: string, provider: ModelSettings['provider']): string {
  let h = (host || '').trim() || (provider === 'openai' ? 'http://127.0.0.1:11434/v1' : 'http://127.0.0.1:11434');
  if (hostProblem(h) !== undefined) return h; // reported by the first request (see BaseClient.hostCheck)
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

/** Ollama's rule: a name without a tag means `:latest`. */
function ollamaName(name: string): string {
  const tail = name.slice(name.lastIndexOf('/') + 1);
  return tail.includes(':') ? name : `${name}:latest`;
}

function emptyAnswerError(
  settings: ModelSettings,
  model: string,
  doneReason: string | undefined,
  reasoning: string,
  limit: number | undefined,
): ModelError {
  const cut = doneReason === 'length';
  const why = cut
    ? ` It hit the token limit${limit !== undefined ? ` of ${limit}` : ''}${reasoning ? ' while still thinking' : ''} before writing the answer: raise crucible.generation.numPredict (CLI: --num-predict)${reasoning ? ', or leave thinking off' : ''}.`
    : ' Try again, or pick another model with Crucible: Select Model.';
  return new ModelError(
    'bad_response',
    `${model} at ${settings.host} returned an empty answer (done_reason: ${doneReason ?? 'none'}${reasoning ? `, after ${reasoning.length} characters of reasoning` : ''}).${why}`,
    {
      host: settings.host,
      model,
      lengthCut: cut,
    },
  );
}

/** The token limit to send: the answer's own, plus room for thinking when the model thinks. */
function answerLimit(numPredict: number | undefined, thinks: boolean): number | undefined {
  if (numPredict === undefined || numPredict <= 0) return numPredict;
  return thinks ? numPredict * THINKING_BUDGET_FACTOR : numPredict;
}

/** What a failed request still cost, estimated from what streamed. */
function failedUsage(messages: ChatMessage[], text: string, reasoning: string, started: number): Usage {
  return {
    promptTokens: estimateMessagesTokens(messages),
    completionTokens: estimateTokens(text) + estimateTokens(reasoning),
    durationMs: Date.now() - started,
  };
}

abstract class BaseClient {
  protected readonly limiter: Limiter;
  /** Requests in flight to this server, shared by their guards (queue-aware first-token timer, learned parallelism). */
  readonly activity = new HostActivity();

  constructor(
    readonly settings: ModelSettings,
    protected readonly fetchImpl: FetchLike,
  ) {
    this.limiter = new Limiter(settings.maxParallel);
    // Never run more at once than the server does: the extra requests would only wait in its queue.
    this.activity.onLearned((n) => this.limiter.setMax(Math.min(settings.maxParallel, n)));
  }

  get load(): { active: number; queued: number; capacity: number } {
    return { active: this.limiter.active, queued: this.limiter.queued, capacity: this.limiter.max };
  }

  get members(): CrucibleModelClient[] {
    return [this as unknown as CrucibleModelClient];
  }

  /** Throws for a host setting that cannot work, before any request (a typo must not read as "start the server"). */
  protected hostCheck(): void {
    const why = hostProblem(this.settings.host);
    if (why !== undefined) throw badHostError(this.settings, why);
  }

  /**
   * One chat request, sent again (with backoff, honouring Retry-After) only when it never reached the model:
   * a refused connection while the server starts, or 503 while it loads the model (llama.cpp answers
   * "Loading model" on every path) for as long as the first-token timeout allows a load to take.
   */
  async chat(request: ChatRequest): Promise<ChatResult> {
    this.hostCheck();
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      let delay: number | undefined;
      try {
        return await this.limiter.run(
          () => this.chatNow(request),
          request.signal,
          () => cancelledError(this.settings),
        );
      } catch (err) {
        if (!(err instanceof ModelError)) throw err;
        const elapsed = performance.now() - started;
        delay = retryDelay(err, attempt, elapsed, this.settings, false);
        if (delay === undefined) {
          if (err.kind === 'loading') {
            const e = loadingError(this.settings, elapsed, 'Loading model', this.settings.model);
            if (err.usage) e.usage = err.usage;
            throw e;
          }
          throw err;
        }
      }
      try {
        await sleep(delay, request.signal);
      } catch {
        throw cancelledError(this.settings);
      }
    }
  }

  protected abstract chatNow(request: ChatRequest): Promise<ChatResult>;

  protected mergedOptions(request: ChatRequest): GenerationOptions {
    return { ...this.settings.options, ...(request.options ?? {}) };
  }
}

/** How the context window is handled for one model: the window to budget prompts with, and the num_ctx to send, if any. */
interface ContextPlan {
  window?: number;
  send?: number;
}

class OllamaClient extends BaseClient implements CrucibleModelClient {
  private readonly details = new Map<string, Promise<ModelDetails>>();
  private readonly plans = new Map<string, Promise<ContextPlan>>();

  private ollama(signal: AbortSignal, state: ExchangeState, watch: boolean): Ollama {
    return new Ollama({
      host: this.settings.host,
      headers: this.settings.headers,
      fetch: guardedFetch(this.fetchImpl, signal, state, watch),
    });
  }

  /** The request's options as sent: num_ctx by the context plan, num_predict raised for thinking. */
  private async requestOptions(request: ChatRequest): Promise<{ options: GenerationOptions; think: boolean }> {
    const options = this.mergedOptions(request);
    if (options.num_ctx === undefined) {
      const plan = await this.contextPlan(this.settings.model, request.signal);
      if (plan.send !== undefined) options.num_ctx = plan.send;
    }
    const think = request.think ?? this.settings.think ?? false;
    const limit = answerLimit(options.num_predict, think);
    if (limit !== undefined) options.num_predict = limit;
    return { options, think };
  }

  protected async chatNow(request: ChatRequest): Promise<ChatResult> {
    const s = this.settings;
    const model = s.model;
    const { options, think } = await this.requestOptions(request);
    const guard = new RequestGuard(
      request.signal,
      s.firstTokenTimeoutMs,
      s.requestTimeoutMs,
      'first-token',
      this.activity,
    );
    const state: ExchangeState = { headersReceived: false };
    const started = Date.now();
    let text = '';
    let reasoning = '';
    let final: ChatResponse | undefined;
    const cap = new AnswerCap(options.num_predict);
    try {
      const client = this.ollama(guard.signal, state, true);
      const keepAlive = keepAliveValue(s.keepAlive);
      const stream = await client.chat({
        model,
        messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
        stream: true,
        options,
        // Sent either way: Ollama 0.12+ thinks by default when the model can (server/routes.go ChatHandler
        // sets Think to true when the request leaves it out), and false is accepted by every model.
        think,
        ...(keepAlive !== undefined ? { keep_alive: keepAlive } : {}),
      });
      guard.onAbort(() => stream.abort());
      // The first-token timer keeps running until the first chunk: some servers send headers at once
      // and only then evaluate the prompt.
      for await (const part of stream) {
        guard.progress();
        const thought = part.message?.thinking ?? '';
        if (thought) reasoning += thought;
        const piece = cap.take(part.message?.content ?? '');
        if (piece) {
          text += piece;
          request.onToken?.(piece);
        }
        if (part.done) final = part;
        if (cap.truncated) {
          stream.abort();
          break;
        }
      }
      if (guard.reason) throw new Error('aborted');
    } catch (err) {
      const e = toModelError(err, {
        settings: s,
        guard,
        state,
        model,
        what: `generating with ${model}`,
        partialText: text,
      });
      e.usage = failedUsage(request.messages, text, reasoning, started);
      throw e;
    } finally {
      guard.dispose();
    }
    return this.chatResult(request, { text, reasoning, final, started, cap, numPredict: options.num_predict });
  }

  /** The finished exchange as a ChatResult (usage from the server's counts where it gave them), or the empty-answer error. */
  private chatResult(
    request: ChatRequest,
    got: {
      text: string;
      reasoning: string;
      final: ChatResponse | undefined;
      started: number;
      cap: AnswerCap;
      numPredict: number | undefined;
    },
  ): ChatResult {
    const { text, reasoning, final, started, cap } = got;
    const s = this.settings;
    const promptTokens =
      typeof final?.prompt_eval_count === 'number' ? final.prompt_eval_count : estimateMessagesTokens(request.messages);
    const completionTokens =
      typeof final?.eval_count === 'number' ? final.eval_count : estimateTokens(text) + estimateTokens(reasoning);
    const durationMs =
      typeof final?.total_duration === 'number' && final.total_duration > 0
        ? final.total_duration / 1e6
        : Date.now() - started;
    if (!text.trim()) {
      const e = emptyAnswerError(s, s.model, final?.done_reason, reasoning, got.numPredict);
      e.usage = { promptTokens, completionTokens, durationMs };
      throw e;
    }
    return {
      text,
      model: final?.model ?? s.model,
      usage: { promptTokens, completionTokens, durationMs },
      ...(cap.truncated
        ? { doneReason: 'length', truncated: cap.truncated }
        : final?.done_reason
          ? { doneReason: final.done_reason }
          : {}),
      ...(reasoning ? { reasoning } : {}),
      host: s.host,
    };
  }

  /**
   * When to send num_ctx, decided once per model and kept (a changed num_ctx makes Ollama reload the model):
   *
   * 1. crucible.generation.numCtx set: send it. The user asked for that window.
   * 2. The Modelfile sets num_ctx: send nothing. Ollama uses it anyway; budget prompts with it.
   * 3. /api/ps reports the loaded model's `context_length` (Ollama 0.9.6+, api/types.go
   *    ProcessModelResponse): send nothing and budget with it. That window is what OLLAMA_CONTEXT_LENGTH or
   *    Ollama's own VRAM-based choice picked; sending num_ctx would switch those off (server/routes.go
   *    `usesAutomaticNumCtx` is false as soon as the request has num_ctx, so the load-time OOM fallback in
   *    sched.go `reduceAutoNumCtxForLoadOOM` no longer applies) and reload the model. A model that is not
   *    loaded yet is loaded first with an empty chat (docs/api.md "Load a model"), then asked for again.
   * 4. An Ollama that reports no context_length (older than 0.9.6) defaults to 2048 or 4096 tokens and
   *    truncates longer prompts silently: send the model's trained context, capped at DEFAULT_NUM_CTX_CAP.
   */
  private contextPlan(model: string, signal?: AbortSignal): Promise<ContextPlan> {
    const cached = this.plans.get(model);
    if (cached) return cached;
    const p = this.decideContext(model, signal);
    this.plans.set(model, p);
    p.catch(() => this.plans.delete(model));
    return p;
  }

  private async decideContext(model: string, signal?: AbortSignal): Promise<ContextPlan> {
    const configured = this.settings.options.num_ctx;
    if (configured !== undefined && configured > 0) return { window: configured, send: configured };
    const d = await this.showModel(model, signal);
    if (d.numCtxParameter !== undefined) return { window: d.numCtxParameter };
    let loaded = await this.loadedContext(model, signal);
    if (loaded.reports && loaded.window === undefined) {
      await this.loadModel(model, signal);
      loaded = await this.loadedContext(model, signal);
    }
    if (loaded.window !== undefined) return { window: loaded.window };
    if (d.contextLength !== undefined) {
      const value = Math.min(d.contextLength, DEFAULT_NUM_CTX_CAP);
      return { window: value, send: value };
    }
    return {};
  }

  /** The loaded model's window from /api/ps; `reports` tells whether this Ollama reports windows at all. */
  private async loadedContext(model: string, signal?: AbortSignal): Promise<{ window?: number; reports: boolean }> {
    let ps: { models?: { name?: string; model?: string; context_length?: unknown }[] };
    try {
      ps = (await withRetries(this.settings, 'listing loaded models', signal, async (guard, state) =>
        this.ollama(guard.signal, state, false).ps(),
      )) as unknown as typeof ps;
    } catch (err) {
      if (err instanceof ModelError && (err.kind === 'cancelled' || err.kind === 'unreachable')) throw err;
      return { reports: false };
    }
    const list = Array.isArray(ps?.models) ? ps.models : [];
    const want = ollamaName(model);
    const entry = list.find((m) => ollamaName(m.name ?? m.model ?? '') === want);
    const reports = list.some((m) => typeof m.context_length === 'number') || list.length === 0;
    if (entry && typeof entry.context_length === 'number' && entry.context_length > 0)
      return { window: entry.context_length, reports: true };
    return { reports: reports && !entry };
  }

  /** Loads the model without generating (an empty chat, docs/api.md), bounded by the first-token timeout. */
  private async loadModel(model: string, signal?: AbortSignal): Promise<void> {
    const s = this.settings;
    const guard = new RequestGuard(signal, s.firstTokenTimeoutMs, s.firstTokenTimeoutMs);
    const state: ExchangeState = { headersReceived: false };
    try {
      const keepAlive = keepAliveValue(s.keepAlive);
      await this.ollama(guard.signal, state, false).chat({
        model,
        messages: [],
        stream: false,
        ...(keepAlive !== undefined ? { keep_alive: keepAlive } : {}),
      });
    } catch (err) {
      throw toModelError(err, { settings: s, guard, state, model, what: `loading ${model}` });
    } finally {
      guard.dispose();
    }
  }

  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    this.hostCheck();
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
    try {
      this.hostCheck();
    } catch (err) {
      return Promise.reject(err);
    }
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
        const arch =
          typeof info['general.architecture'] === 'string' ? (info['general.architecture'] as string) : undefined;
        const key =
          arch && typeof info[`${arch}.context_length`] === 'number'
            ? `${arch}.context_length`
            : Object.keys(info).find((k) => k.endsWith('.context_length') && typeof info[k] === 'number');
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
    this.hostCheck();
    if (this.settings.options.num_ctx !== undefined && this.settings.options.num_ctx > 0)
      return this.settings.options.num_ctx;
    return (await this.contextPlan(model, signal)).window;
  }

  async pull(model: string, onProgress: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    this.hostCheck();
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
      if (
        state.streamError !== undefined &&
        /file does not exist|not found|manifest unknown/i.test(state.streamError)
      ) {
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
    if (!ok)
      throw new ModelError(
        'bad_response',
        `Pulling '${model}' from ${s.host} ended without "success". Run \`ollama pull ${model}\` in a terminal to see why.`,
        { host: s.host, model },
      );
    this.details.delete(model);
    this.plans.delete(model);
  }

  async version(signal?: AbortSignal): Promise<string> {
    this.hostCheck();
    return withRetries(this.settings, 'reading the server version', signal, async (guard, state) => {
      const v = await this.ollama(guard.signal, state, false).version();
      if (!v || typeof v.version !== 'string') throw new SyntaxError('no "version" in /api/version');
      return v.version;
    });
  }
}

interface OpenAiDelta {
  content?: string | null;
  /** vLLM (vllm/entrypoints/openai/chat_completion/serving.py, DeltaMessage.reasoning). */
  reasoning?: string | null;
  /** llama.cpp (--reasoning-format deepseek, the default) and older vLLM. */
  reasoning_content?: string | null;
}

interface OpenAiChunk {
  choices?: { delta?: OpenAiDelta; message?: OpenAiDelta; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  model?: string;
  error?: unknown;
}

/** What a chat stream has delivered so far; kept when the stream fails (partial text, the usage estimate). */
interface OpenAiStreamed {
  text: string;
  reasoning: string;
  finish?: string;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  /** The model the server says answered. */
  answeredModel?: string;
  /** The stream ended with `data: [DONE]`. */
  sawDone: boolean;
}

/** One chat request in flight, as reading its stream needs it. */
interface OpenAiExchange {
  request: ChatRequest;
  /** The name sent to the server. */
  model: string;
  guard: RequestGuard;
  state: ExchangeState;
  cap: AnswerCap;
}

/** The /chat/completions body: streamed, with usage, and only the options the request sets. */
function openAiChatBody(
  request: ChatRequest,
  model: string,
  o: GenerationOptions,
  limit: number | undefined,
): { [k: string]: unknown } {
  const body: { [k: string]: unknown } = {
    model,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    stream: true,
    stream_options: { include_usage: true },
  };
  if (o.temperature !== undefined) body.temperature = o.temperature;
  if (o.top_p !== undefined) body.top_p = o.top_p;
  if (o.seed !== undefined) body.seed = o.seed;
  if (limit !== undefined) body.max_tokens = limit;
  if (o.stop && o.stop.length) body.stop = o.stop;
  return body;
}

/** One entry of /v1/models, with the context fields vLLM (max_model_len) and llama.cpp (meta) report. */
interface OpenAiModelEntry {
  id: string;
  max_model_len?: number;
  owned_by?: string;
  meta?: { n_ctx?: number; n_ctx_train?: number };
}

function openAiErrorText(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: unknown; message?: unknown; detail?: unknown };
    const e = j.error;
    if (typeof e === 'string') return e;
    if (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string')
      return (e as { message: string }).message;
    if (typeof j.message === 'string') return j.message;
    if (typeof j.detail === 'string') return j.detail;
  } catch {
    // not JSON: use the text itself
  }
  return body.slice(0, 300);
}

class OpenAiClient extends BaseClient implements CrucibleModelClient {
  /** Models seen reasoning: their token limit gets room for the thinking. */
  private readonly thinks = new Set<string>();
  private entries: Promise<OpenAiModelEntry[]> | undefined;
  private props: Promise<{ nCtx?: number; slots?: number }> | undefined;

  private headers(extra?: { [k: string]: string }): { [k: string]: string } {
    return { Accept: 'application/json', ...(extra ?? {}), ...this.settings.headers };
  }

  /** Throws a ModelError for a non-2xx response. */
  private async checkOk(res: Response, model?: string): Promise<void> {
    if (res.ok) return;
    const raw = await res.text().catch(() => '');
    const text = openAiErrorText(raw);
    // ResponseError-shaped, so toModelError maps 404 "not found" to model_missing, 503 "Loading model" to
    // loading, llama.cpp's exceed_context_size_error to the prompt-size error, and the rest to http.
    throw Object.assign(new Error(text), { status_code: res.status, error: text, body: raw, model });
  }

  /**
   * The name to send. llama.cpp without --alias lists the GGUF path as its only model and serves any name;
   * vLLM with one model rejects other names. So when the server serves exactly one model, that one is used
   * whatever it is called here.
   */
  private async servedName(model: string, signal?: AbortSignal): Promise<string> {
    const list = await this.modelEntries(signal);
    if (list.length === 1 && list[0]!.id !== model) return list[0]!.id;
    // Several models: the server decides (LM Studio loads unlisted models on demand; others answer 404).
    return model;
  }

  protected async chatNow(request: ChatRequest): Promise<ChatResult> {
    const s = this.settings;
    const model = await this.servedName(s.model, request.signal);
    const o = this.mergedOptions(request);
    const limit = answerLimit(o.num_predict, this.thinks.has(model) || (request.think ?? s.think ?? false));
    const guard = new RequestGuard(
      request.signal,
      s.firstTokenTimeoutMs,
      s.requestTimeoutMs,
      'first-token',
      this.activity,
    );
    const state: ExchangeState = { headersReceived: false };
    const started = Date.now();
    const got: OpenAiStreamed = { text: '', reasoning: '', sawDone: false };
    const cap = new AnswerCap(o.num_predict);
    try {
      const f = guardedFetch(this.fetchImpl, guard.signal, state, false);
      const res = await f(`${s.host}/chat/completions`, {
        method: 'POST',
        headers: this.headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
        body: JSON.stringify(openAiChatBody(request, model, o, limit)),
      });
      await this.checkOk(res, s.model);
      if (!res.body) throw new SyntaxError('no response body');
      await this.readChatStream(res.body, { request, model, guard, state, cap }, got);
      if (guard.reason) throw new Error('aborted');
      if (!got.sawDone && !got.finish) throw new Error('stream ended without [DONE] or a finish_reason');
    } catch (err) {
      const e = toModelError(err instanceof MalformedSse ? malformedAsLine(err) : err, {
        settings: s,
        guard,
        state,
        model: s.model,
        what: `generating with ${s.model}`,
        partialText: got.text,
      });
      e.usage = failedUsage(request.messages, got.text, got.reasoning, started);
      throw e;
    } finally {
      guard.dispose();
    }
    const used: Usage = {
      promptTokens: got.usage?.prompt_tokens ?? estimateMessagesTokens(request.messages),
      completionTokens: got.usage?.completion_tokens ?? estimateTokens(got.text) + estimateTokens(got.reasoning),
      durationMs: Date.now() - started,
    };
    if (!got.text.trim()) {
      const e = emptyAnswerError(s, s.model, got.finish, got.reasoning, limit);
      e.usage = used;
      throw e;
    }
    return {
      text: got.text,
      model: got.answeredModel ?? model,
      usage: used,
      ...(got.finish ? { doneReason: got.finish } : {}),
      ...(got.reasoning ? { reasoning: got.reasoning } : {}),
      host: s.host,
      ...(cap.truncated ? { truncated: cap.truncated } : {}),
    };
  }

  /** Reads a chat completion's event stream into `got`, until `[DONE]`, its end, or the answer cap. */
  private async readChatStream(
    body: ReadableStream<Uint8Array>,
    ex: OpenAiExchange,
    got: OpenAiStreamed,
  ): Promise<void> {
    for await (const data of sseData(body)) {
      ex.guard.progress();
      if (data === '[DONE]') {
        got.sawDone = true;
        break;
      }
      let chunk: OpenAiChunk;
      try {
        chunk = JSON.parse(data) as OpenAiChunk;
      } catch {
        throw new MalformedSse(data);
      }
      if (!this.takeChunk(chunk, ex, got)) break;
    }
  }

  /** Adds one streamed chunk to `got`; false once the answer cap cut the answer (the request is then aborted). */
  private takeChunk(chunk: OpenAiChunk, ex: OpenAiExchange, got: OpenAiStreamed): boolean {
    // vLLM sends `data: {"error": …}` then `data: [DONE]`; llama.cpp sends the error event and closes.
    if (chunk.error !== undefined) {
      ex.state.streamError =
        typeof chunk.error === 'string' ? chunk.error : openAiErrorText(JSON.stringify({ error: chunk.error }));
      throw new Error(ex.state.streamError);
    }
    if (chunk.model) got.answeredModel = chunk.model;
    if (chunk.usage) got.usage = chunk.usage;
    const choice = chunk.choices?.[0];
    const delta = choice?.delta ?? choice?.message;
    const thought = delta?.reasoning ?? delta?.reasoning_content ?? '';
    if (thought) {
      got.reasoning += thought;
      this.thinks.add(ex.model);
    }
    const piece = ex.cap.take(delta?.content ?? '');
    if (piece) {
      got.text += piece;
      ex.request.onToken?.(piece);
    }
    if (choice?.finish_reason) got.finish = choice.finish_reason;
    if (ex.cap.truncated) {
      got.finish = 'length';
      ex.guard.controller.abort();
      return false;
    }
    return true;
  }

  private async getJson(
    path: string,
    what: string,
    signal?: AbortSignal,
    model?: string,
    base = this.settings.host,
  ): Promise<unknown> {
    return withRetries(
      this.settings,
      what,
      signal,
      async (guard, state) => {
        const f = guardedFetch(this.fetchImpl, guard.signal, state, false);
        const res = await f(`${base}${path}`, { headers: this.headers() });
        await this.checkOk(res, model);
        return (await res.json()) as unknown;
      },
      model,
    );
  }

  private modelEntries(signal?: AbortSignal): Promise<OpenAiModelEntry[]> {
    if (this.entries) return this.entries;
    const p = (async () => {
      const j = (await this.getJson('/models', 'listing models', signal)) as { data?: unknown };
      if (!j || !Array.isArray(j.data))
        throw new ModelError(
          'bad_response',
          `${this.settings.host}/models did not return a model list. Check that crucible.ollama.host is the server's base URL including /v1.`,
          { host: this.settings.host },
        );
      return j.data.filter((d): d is OpenAiModelEntry => !!d && typeof (d as { id?: unknown }).id === 'string');
    })();
    // Kept for the client's life once it succeeds (a server's model list does not change under a run).
    this.entries = p;
    p.catch(() => {
      if (this.entries === p) this.entries = undefined;
    });
    return p;
  }

  /**
   * llama.cpp's /props (at the server root, not under /v1): `default_generation_settings.n_ctx` is the
   * context of one slot, the window a request really gets, and `total_slots` how many requests run at once
   * (tools/server/server-context.cpp get_props). Other servers answer 404; that is fine.
   */
  private serverProps(signal?: AbortSignal): Promise<{ nCtx?: number; slots?: number }> {
    if (this.props) return this.props;
    const root = this.settings.host.replace(/\/v1$/, '');
    const p = (async () => {
      try {
        const j = (await this.getJson('/props', 'reading /props', signal, undefined, root)) as {
          default_generation_settings?: { n_ctx?: unknown };
          total_slots?: unknown;
        };
        const out: { nCtx?: number; slots?: number } = {};
        if (typeof j?.default_generation_settings?.n_ctx === 'number' && j.default_generation_settings.n_ctx > 0)
          out.nCtx = j.default_generation_settings.n_ctx;
        if (typeof j?.total_slots === 'number' && j.total_slots > 0) out.slots = j.total_slots;
        return out;
      } catch (err) {
        if (err instanceof ModelError && (err.kind === 'cancelled' || err.kind === 'unreachable')) throw err;
        return {};
      }
    })();
    this.props = p;
    p.catch(() => (this.props = undefined));
    return p;
  }

  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    this.hostCheck();
    this.entries = undefined; // an explicit listing asks again
    return (await this.modelEntries(signal)).map((d) => ({ name: d.id }));
  }

  async showModel(model = this.settings.model, signal?: AbortSignal): Promise<ModelDetails> {
    this.hostCheck();
    const list = await this.modelEntries(signal);
    const entry = list.find((d) => d.id === model) ?? (list.length === 1 ? list[0] : undefined);
    if (!entry) throw modelMissingError(this.settings, model);
    const trained =
      typeof entry.max_model_len === 'number'
        ? entry.max_model_len
        : typeof entry.meta?.n_ctx_train === 'number'
          ? entry.meta.n_ctx_train
          : undefined;
    return { name: entry.id, ...(trained !== undefined ? { contextLength: trained } : {}) };
  }

  /**
   * The configured num_ctx if set (the server decides; /v1 cannot change it), else what the server reports:
   * llama.cpp's per-slot n_ctx (/props, or `meta.n_ctx` in newer model lists), vLLM's max_model_len, or
   * llama.cpp's `meta.n_ctx_train`.
   */
  async contextLength(model = this.settings.model, signal?: AbortSignal): Promise<number | undefined> {
    this.hostCheck();
    if (this.settings.options.num_ctx !== undefined && this.settings.options.num_ctx > 0)
      return this.settings.options.num_ctx;
    const [details, props] = await Promise.all([this.showModel(model, signal), this.serverProps(signal)]);
    if (props.slots !== undefined) this.activity.learn(props.slots);
    if (props.nCtx !== undefined) return props.nCtx;
    const list = await this.modelEntries(signal);
    const entry = list.find((d) => d.id === details.name);
    if (typeof entry?.meta?.n_ctx === 'number' && entry.meta.n_ctx > 0) return entry.meta.n_ctx;
    return details.contextLength;
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
