// The one place Crucible's default values live. The VS Code settings (package.json
// `contributes.configuration`, read by src/vscode/config.ts), the CLI flags (src/cli) and the core use
// these values; test/unit/defaults.test.ts checks that every package.json default equals the value here.
//
// A leaf: this file imports nothing, so the thin VS Code bundle (dist/extension.js) may import its values
// without pulling any engine code in. Keep it that way: plain constants only.

/** The model server, when neither a setting, a flag nor OLLAMA_HOST names one. */
export const DEFAULT_HOST = 'http://127.0.0.1:11434';
/** The OpenAI-compatible base URL on the same default host. */
export const DEFAULT_OPENAI_HOST = `${DEFAULT_HOST}/v1`;

/** Model, connection and sampling defaults (crucible.model, crucible.ollama.*, crucible.generation.*, crucible.request.*). */
export const MODEL_DEFAULTS = {
  provider: 'ollama' as 'ollama' | 'openai',
  host: DEFAULT_HOST,
  /** Extra hosts used as one pool; none by default. */
  hosts: [] as readonly string[],
  model: 'qwen2.5-coder:7b',
  keepAlive: '10m',
  headers: {} as { readonly [name: string]: string },
  think: false,
  temperature: 0.2,
  topP: 0.95,
  /** No fixed seed: each request samples freely. */
  seed: null as number | null,
  /** 0: num_ctx is not sent; the server's own context window applies. */
  numCtx: 0,
  numPredict: 1024,
  stop: [] as readonly string[],
  firstTokenTimeoutSeconds: 300,
  stallTimeoutSeconds: 60,
  maxParallel: 2,
  /** Retries of idempotent calls after a dropped connection (CLI only: no setting). */
  maxRetries: 2,
} as const;

/** The solve budget (crucible.budget.*; CLI --samples, --rounds, --max-tokens, --wall-time). */
export const BUDGET_DEFAULTS = {
  samples: 2,
  /** Refine rounds after the first. */
  refineRounds: 3,
  /** 0: no limit. */
  maxTokens: 0,
  /** 0: no limit. */
  wallSeconds: 0,
} as const;

/** `crucible eval` samples one candidate per round by default: its table reads as pass@1. */
export const EVAL_SAMPLES = 1;

/** Limits of one sandbox run and its interpreter (crucible.sandbox.*; CLI --timeout, --memory-mb, --python). */
export const SANDBOX_DEFAULTS = {
  timeoutMs: 10_000,
  memoryMb: 512,
  python: 'python3',
} as const;

/** Ask the model for tests when a task has none (crucible.tests.generateWhenMissing; CLI --no-generate-tests). */
export const GENERATE_TESTS_WHEN_MISSING = true;

/** Editor features (VS Code only). */
export const FEATURE_DEFAULTS = {
  codeLens: true,
  codeActions: true,
  inlineSuggestions: true,
  verifyOnSave: false,
  testing: true,
} as const;

/** The dataset (crucible.dataset.*). An empty folder means the extension's global storage. */
export const DATASET_DEFAULTS = {
  enabled: true,
  folder: '',
} as const;

/**
 * Self-play (crucible.selfPlay.* and `crucible selfplay`). An empty seeds file means the shipped seeds. `count`
 * is the puzzles to accept, `examples` the seed puzzles shown in each prompt; sat and sol run under their own
 * time limits (ms) inside the sandbox's.
 */
export const SELF_PLAY_DEFAULTS = {
  samples: 4,
  seeds: '',
  count: 10,
  examples: 3,
  satTimeoutMs: 1000,
  solTimeoutMs: 5000,
} as const;

/** BUDGET_DEFAULTS in the shape of the core's Budget (wall time in ms). */
export const DEFAULT_BUDGET = {
  samples: BUDGET_DEFAULTS.samples,
  refineRounds: BUDGET_DEFAULTS.refineRounds,
  maxTokens: BUDGET_DEFAULTS.maxTokens,
  wallMs: BUDGET_DEFAULTS.wallSeconds * 1000,
} as const;
