// The model layer's contract. Providers: Ollama (native API, via the `ollama` package) and any
// OpenAI-compatible server. Everything above core/model talks to a ModelClient only.

import type { Usage } from '../types';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Generation options, named as Ollama names them. */
export interface GenerationOptions {
  temperature?: number;
  top_p?: number;
  seed?: number;
  num_ctx?: number;
  num_predict?: number;
  stop?: string[];
}

export type ProviderKind = 'ollama' | 'openai';

/** Everything the model layer needs to know, read in one place (VS Code settings or CLI flags). */
export interface ModelSettings {
  provider: ProviderKind;
  /** e.g. http://127.0.0.1:11434 (Ollama) or http://gpu-box:8000/v1 (OpenAI-compatible). With `hosts`, the first of them. */
  host: string;
  /** Several servers serving the same model, used as one pool (crucible.ollama.hosts, CLI: --host given more than once). */
  hosts?: string[];
  /**
   * Let reasoning models think before answering (Ollama's `think`). Default false: solve and refine want
   * code, and thinking counts against num_predict. Ollama 0.12+ turns thinking on by default for
   * thinking-capable models (server/routes.go ChatHandler), so `think` is always sent explicitly.
   */
  think?: boolean;
  model: string;
  options: GenerationOptions;
  /** Ollama keep_alive, e.g. "5m". */
  keepAlive?: string;
  /** Time allowed for the first token (a cold model may need minutes to load), ms. */
  firstTokenTimeoutMs: number;
  /** Time allowed between two streamed chunks once streaming has started, ms. */
  requestTimeoutMs: number;
  /** Requests in flight at once against this server. */
  maxParallel: number;
  /** Extra HTTP headers, e.g. Authorization for a proxy in front of a remote server. Never logged. */
  headers: { [name: string]: string };
  /** Retries of idempotent calls after a dropped connection. */
  maxRetries: number;
}

export interface ChatRequest {
  messages: ChatMessage[];
  options?: GenerationOptions;
  signal?: AbortSignal;
  /** Called with each streamed piece of text. */
  onToken?: (text: string) => void;
  /** Overrides ModelSettings.think for this request. */
  think?: boolean;
  /** Requests with the same affinity (e.g. one task's samples) go to the same server of a pool, so its prompt cache is reused. */
  affinity?: string;
}

export interface ChatResult {
  text: string;
  model: string;
  usage: Usage;
  /** "stop", or "length" when the token limit cut the answer. */
  doneReason?: string;
  /** The model's reasoning (Ollama `thinking`, vLLM `reasoning` / `reasoning_content`), kept apart from the answer. */
  reasoning?: string;
  /** The server that answered. */
  host?: string;
  /** Set when the client cut the answer (num_predict or the byte cap): why, in words. */
  truncated?: string;
}

export interface ModelInfo {
  name: string;
  sizeBytes?: number;
  parameterSize?: string;
  family?: string;
  modifiedAt?: string;
}

export interface PullProgress {
  status: string;
  completed?: number;
  total?: number;
}

export interface ModelClient {
  readonly settings: ModelSettings;
  chat(request: ChatRequest): Promise<ChatResult>;
  listModels(signal?: AbortSignal): Promise<ModelInfo[]>;
  /** The model's context length in tokens, when the server can tell. */
  contextLength(model?: string, signal?: AbortSignal): Promise<number | undefined>;
  /** Download a model (Ollama only); progress is streamed. */
  pull?(model: string, onProgress: (p: PullProgress) => void, signal?: AbortSignal): Promise<void>;
  version?(signal?: AbortSignal): Promise<string>;
}
