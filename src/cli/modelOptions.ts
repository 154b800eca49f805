// CLI flags → ModelSettings, shared by every command that talks to a model (models, doctor, solve,
// eval, selfplay). Precedence: flag, then environment (OLLAMA_HOST, CRUCIBLE_MODEL, CRUCIBLE_PROVIDER),
// then the same defaults as the VS Code settings.

import { InvalidArgumentError, type Command } from 'commander';
import { hostProblem } from '../core/model/client';
import type { ModelSettings, ProviderKind } from '../core/model/types';
import { duration } from './shared';
import { DEFAULT_HOST, DEFAULT_OPENAI_HOST, MODEL_DEFAULTS as M } from '../core/defaults';

export { DEFAULT_HOST };
export const DEFAULT_MODEL = M.model;

export interface ModelOptionValues {
  /** One host, or several (--host given more than once) used as one pool. */
  host?: string | string[];
  provider?: string;
  model?: string;
  temperature?: number;
  topP?: number;
  seed?: number;
  numCtx?: number;
  numPredict?: number;
  stop?: string[];
  keepAlive?: string;
  think?: boolean;
  maxParallel?: number;
  maxRetries?: number;
  header?: string[];
  /** Seconds. */
  firstTokenTimeout?: number;
  /** Seconds. */
  stallTimeout?: number;
}

function numberIn(flag: string, min: number, max = Infinity, integer = false): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      const range = max === Infinity ? `at least ${min}` : `between ${min} and ${max}`;
      throw new InvalidArgumentError(
        `${flag} must be ${integer ? 'an integer ' : 'a number '}${range}, got "${value}".`,
      );
    }
    return n;
  };
}

/** Flags that only shape generation: not shown by commands that generate nothing. */
const SAMPLING_FLAGS = new Set([
  '--temperature',
  '--top-p',
  '--seed',
  '--num-ctx',
  '--num-predict',
  '--stop',
  '--keep-alive',
  '--max-parallel',
  '--think',
]);

/** A duration flag ("500ms", "90s", "5m"; a bare number is seconds), returned in seconds. */
function seconds(flag: string): (value: string) => number {
  const parse = duration(flag, 's', 10);
  return (value: string) => parse(value) / 1000;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** --host, repeatable: each value must be a usable URL; an empty one or a typo is a usage error, not a fallback. */
function hostArg(value: string, previous: string[] | string | undefined): string[] {
  const why = hostProblem(value);
  if (why !== undefined)
    throw new InvalidArgumentError(
      `--host "${value}" is not a usable server URL: ${why} (e.g. http://127.0.0.1:11434).`,
    );
  return [...(previous === undefined ? [] : Array.isArray(previous) ? previous : [previous]), value];
}

function headerArg(value: string, previous: string[] | undefined): string[] {
  parseHeader(value);
  return collect(value, previous);
}

/** "Name=Value" or "Name: Value". Throws a usage error naming the expected form. */
export function parseHeader(value: string): [string, string] {
  const m = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*(?:=|:)\s*(.*)$/.exec(value);
  if (!m)
    throw new InvalidArgumentError(
      `--header expects NAME=VALUE (e.g. --header "Authorization=Bearer …"), got a value without a name.`,
    );
  return [m[1]!, m[2]!];
}

/**
 * Adds the model flags to a command. A flag the command already defines (e.g. its own --seed) is left
 * alone: the command's definition wins, and its value still lands in the same option key.
 */
export function addModelOptions(cmd: Command, use: { sampling?: boolean } = {}): Command {
  const sampling = use.sampling !== false;
  const taken = new Set(cmd.options.map((o) => o.long));
  interface Adder {
    option(flags: string, description: string, parse?: (value: string, previous: never) => unknown): Adder;
  }
  const add: Adder = {
    option(flags, description, parse) {
      const long = /--[\w-]+/.exec(flags)?.[0];
      // Commands that only talk to the server (models, doctor) show no sampling flags they would ignore.
      if (!sampling && long && SAMPLING_FLAGS.has(long)) return add;
      if (!long || !taken.has(long)) {
        if (parse) cmd.option(flags, description, parse as (value: string, previous: unknown) => unknown);
        else cmd.option(flags, description);
      }
      return add;
    },
  };
  add
    .option(
      '--host <url>',
      `model server URL (env OLLAMA_HOST; default ${DEFAULT_HOST}; for --provider openai the base URL with /v1); repeat it to spread requests over several servers`,
      hostArg,
    )
    .option('--provider <kind>', `ollama or openai (env CRUCIBLE_PROVIDER; default ${M.provider})`, (v: string) => {
      if (v !== 'ollama' && v !== 'openai')
        throw new InvalidArgumentError(`--provider must be "ollama" or "openai", got "${v}".`);
      return v;
    })
    .option('--model <name>', `model name (env CRUCIBLE_MODEL; default ${DEFAULT_MODEL})`)
    .option('--temperature <t>', `sampling temperature (default ${M.temperature})`, numberIn('--temperature', 0, 2))
    .option('--top-p <p>', `nucleus sampling top_p (default ${M.topP})`, numberIn('--top-p', 0, 1))
    .option('--seed <n>', 'fixed seed for reproducible answers', numberIn('--seed', -2147483648, 2147483647, true))
    .option(
      '--num-ctx <n>',
      'context window (num_ctx), sent to Ollama only when given; default: the window the server loaded the model with',
      numberIn('--num-ctx', 256, Infinity, true),
    )
    .option(
      '--think',
      'let reasoning models think before answering (default off: thinking spends the token limit; num_predict is multiplied by 4 when on)',
    )
    .option(
      '--num-predict <n>',
      `most tokens per answer (default ${M.numPredict})`,
      numberIn('--num-predict', 16, Infinity, true),
    )
    .option('--stop <text>', 'stop sequence (repeatable)', collect)
    .option('--keep-alive <duration>', `how long Ollama keeps the model loaded (default ${M.keepAlive})`)
    .option(
      '--max-parallel <n>',
      `requests in flight at once (default ${M.maxParallel})`,
      numberIn('--max-parallel', 1, 32, true),
    )
    .option(
      '--max-retries <n>',
      `retries of idempotent calls after a dropped connection (default ${M.maxRetries})`,
      numberIn('--max-retries', 0, 10, true),
    )
    .option('--header <name=value>', 'extra HTTP header for every request, repeatable (never logged)', headerArg)
    .option(
      '--first-token-timeout <duration>',
      `how long to wait for the first token, e.g. 90s or 5m; a bare number is seconds (default ${M.firstTokenTimeoutSeconds / 60}m)`,
      seconds('--first-token-timeout'),
    )
    .option(
      '--stall-timeout <duration>',
      `how long a started answer may stall between chunks, e.g. 60s (default ${M.stallTimeoutSeconds}s)`,
      seconds('--stall-timeout'),
    );
  return cmd;
}

/** OLLAMA_HOST may be "0.0.0.0:11434" (a bind address) or lack a scheme; make it a URL a client can use. */
export function hostFromEnv(value: string | undefined): string | undefined {
  if (!value || !value.trim()) return undefined;
  let h = value.trim();
  const schemeless = !/^[a-z][a-z0-9+.-]*:\/\//i.test(h);
  if (schemeless) h = `http://${h}`;
  h = h.replace('://0.0.0.0', '://127.0.0.1');
  try {
    const u = new URL(h);
    // Like Ollama itself: a bare host name means port 11434.
    if (schemeless && !u.port) h = `http://${u.host}:11434${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    // Left as given; the first request reports it.
  }
  return h.replace(/\/+$/, '');
}

export function modelSettingsFromOptions(opts: ModelOptionValues, env: NodeJS.ProcessEnv = process.env): ModelSettings {
  const provider = (opts.provider ?? env.CRUCIBLE_PROVIDER ?? M.provider) as ProviderKind;
  if (provider !== 'ollama' && provider !== 'openai')
    throw new InvalidArgumentError(`CRUCIBLE_PROVIDER must be "ollama" or "openai", got "${String(provider)}".`);
  const headers: { [name: string]: string } = {};
  for (const h of opts.header ?? []) {
    const [name, value] = parseHeader(h);
    headers[name] = value;
  }
  const given = (Array.isArray(opts.host) ? opts.host : opts.host !== undefined ? [opts.host] : []).map((h) =>
    h.trim(),
  );
  for (const h of given) {
    const why = hostProblem(h);
    if (why !== undefined)
      throw new InvalidArgumentError(`--host "${h}" is not a usable server URL: ${why} (e.g. http://127.0.0.1:11434).`);
  }
  const flagHosts = given.map((h) => (provider === 'ollama' ? hostFromEnv(h)! : h));
  const host =
    flagHosts[0] ||
    (provider === 'ollama' ? hostFromEnv(env.OLLAMA_HOST) : undefined) ||
    (provider === 'openai' ? DEFAULT_OPENAI_HOST : DEFAULT_HOST);
  return {
    provider,
    host,
    ...(flagHosts.length > 1 ? { hosts: flagHosts } : {}),
    model: opts.model?.trim() || env.CRUCIBLE_MODEL?.trim() || DEFAULT_MODEL,
    options: {
      temperature: opts.temperature ?? M.temperature,
      top_p: opts.topP ?? M.topP,
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.numCtx !== undefined ? { num_ctx: opts.numCtx } : {}),
      num_predict: opts.numPredict ?? M.numPredict,
      ...(opts.stop && opts.stop.length ? { stop: opts.stop } : {}),
    },
    keepAlive: opts.keepAlive ?? M.keepAlive,
    think: opts.think ?? M.think,
    firstTokenTimeoutMs: Math.round((opts.firstTokenTimeout ?? M.firstTokenTimeoutSeconds) * 1000),
    requestTimeoutMs: Math.round((opts.stallTimeout ?? M.stallTimeoutSeconds) * 1000),
    maxParallel: opts.maxParallel ?? M.maxParallel,
    headers,
    maxRetries: opts.maxRetries ?? M.maxRetries,
  };
}
