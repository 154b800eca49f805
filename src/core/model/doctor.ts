// Setup checks shared by `crucible doctor` and "Crucible: Check Setup": Node, Python, the model server,
// the model (installed, context length) and the sandbox's isolation report. Each check says what it
// found and, when something is wrong, how to fix it.

import { execFile } from 'node:child_process';
import type { IsolationReport } from '../sandbox/types';
import { ModelError } from './errors';
import type { ModelClient, ModelSettings } from './types';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  id: 'node' | 'python' | 'server' | 'model' | 'sandbox';
  title: string;
  status: CheckStatus;
  /** What was found, e.g. "Ollama 0.12.6 at http://127.0.0.1:11434". */
  detail: string;
  /** How to fix it, when status is warn or fail. */
  fix?: string;
  /** A failing required check makes the whole report fail (exit code 1). */
  required: boolean;
  /** Extra lines (e.g. the sandbox's notes on what it tried). */
  notes?: string[];
}

export interface DoctorReport {
  ok: boolean;
  checks: Check[];
}

export interface DoctorDeps {
  client: ModelClient;
  /** Python interpreter to check. Default `python3`. */
  python?: string;
  /** The sandbox's isolation report; omitted = the check is skipped. */
  isolation?: () => Promise<IsolationReport>;
  /** Node version to judge (default: the running one). */
  nodeVersion?: string;
  signal?: AbortSignal;
}

export const MIN_NODE = [20, 19] as const;
export const MIN_PYTHON = [3, 9] as const;

function atLeast(version: string, min: readonly [number, number]): boolean {
  const m = /(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

function normalizeName(name: string): string {
  const tail = name.slice(name.lastIndexOf('/') + 1);
  return tail.includes(':') ? name : `${name}:latest`;
}

/** Runs `<python> --version`; resolves with the version text or an error description. */
export function pythonVersion(python: string, timeoutMs = 10_000): Promise<{ version?: string; error?: string }> {
  return new Promise((resolve) => {
    execFile(python, ['--version'], { timeout: timeoutMs, windowsHide: true }, (err, stdout, stderr) => {
      const text = `${stdout}${stderr}`.trim();
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        resolve({
          error:
            code === 'ENOENT'
              ? `${python} was not found on PATH`
              : `${python} --version failed: ${text || err.message}`,
        });
      } else resolve({ version: text.replace(/^Python\s+/i, '') });
    });
  });
}

function nodeCheck(version: string): Check {
  const ok = atLeast(version.replace(/^v/, ''), MIN_NODE);
  return {
    id: 'node',
    title: 'Node.js',
    status: ok ? 'ok' : 'fail',
    detail: `Node ${version}`,
    ...(ok
      ? {}
      : {
          fix: `Crucible needs Node ${MIN_NODE.join('.')} or newer: install it from https://nodejs.org or with your version manager.`,
        }),
    required: true,
  };
}

async function pythonCheck(python: string): Promise<Check> {
  const r = await pythonVersion(python);
  if (r.error) {
    return {
      id: 'python',
      title: 'Python',
      status: 'fail',
      detail: r.error,
      fix: `Install Python ${MIN_PYTHON.join('.')}+ or point crucible.sandbox.python (CLI: --python) at an interpreter.`,
      required: true,
    };
  }
  const ok = atLeast(r.version ?? '', MIN_PYTHON);
  return {
    id: 'python',
    title: 'Python',
    status: ok ? 'ok' : 'fail',
    detail: `Python ${r.version} (${python})`,
    ...(ok
      ? {}
      : {
          fix: `Python tasks need Python ${MIN_PYTHON.join('.')}+: install a newer one and set crucible.sandbox.python (CLI: --python).`,
        }),
    required: true,
  };
}

function serverName(s: ModelSettings): string {
  return s.provider === 'openai' ? 'OpenAI-compatible server' : 'Ollama';
}

function fixOf(err: unknown): { detail: string; fix?: string } {
  if (err instanceof ModelError) {
    // ModelError messages end with their fix; keep the whole message as detail, the fix is in it.
    return { detail: err.message };
  }
  return { detail: err instanceof Error ? err.message : String(err) };
}

function isolationSummary(r: IsolationReport): { status: CheckStatus; detail: string; fix?: string; notes?: string[] } {
  const parts = [
    `network ${r.network}`,
    `processes ${r.processes}`,
    `filesystem ${r.filesystem}`,
    `memory ${r.memory}`,
  ];
  const weak = [
    r.network === 'open' && 'network',
    r.processes === 'best-effort' && 'processes',
    r.filesystem === 'shared' && 'filesystem',
    r.memory === 'best-effort' && 'memory',
  ].filter(Boolean);
  const detail = `${r.platform}: ${parts.join(', ')}`;
  const notes = r.notes.length ? { notes: [...r.notes] } : {};
  if (weak.length === 0) return { status: 'ok', detail, ...notes };
  return {
    status: 'warn',
    detail,
    ...notes,
    fix: `Candidates still run in separate processes under limits, but ${weak.join(', ')} isolation is weaker here. On Linux, allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) or run inside a container for full isolation.`,
  };
}

/** The server check and the model check for one server. */
async function serverChecks(client: ModelClient, signal: AbortSignal | undefined): Promise<Check[]> {
  const s = client.settings;
  const checks: Check[] = [];
  // Server: version (Ollama) or the model list (OpenAI-compatible) proves it answers.
  let reachable = false;
  let installed: string[] = [];
  try {
    const version = client.version ? await client.version(signal) : undefined;
    const models = await client.listModels(signal);
    installed = models.map((m) => m.name);
    reachable = true;
    checks.push({
      id: 'server',
      title: 'Model server',
      status: 'ok',
      detail: `${serverName(s)}${version ? ` ${version}` : ''} at ${s.host}, ${models.length} model(s)`,
      required: true,
    });
  } catch (err) {
    checks.push({ id: 'server', title: 'Model server', status: 'fail', ...fixOf(err), required: true });
  }

  if (!reachable) {
    checks.push({
      id: 'model',
      title: 'Model',
      status: 'skip',
      detail: `${s.model}: not checked (the server at ${s.host} is not reachable)`,
      required: true,
    });
    return checks;
  }
  const want = s.provider === 'openai' ? s.model : normalizeName(s.model);
  const listed = installed.some((n) => (s.provider === 'openai' ? n : normalizeName(n)) === want);
  // An OpenAI-compatible server with exactly one model serves it under any name (llama.cpp without --alias lists its GGUF path).
  const servedAs = !listed && s.provider === 'openai' && installed.length === 1 ? installed[0] : undefined;
  if (!listed && servedAs === undefined) {
    checks.push(missingModelCheck(s, installed));
    return checks;
  }
  checks.push(await modelCheck(client, signal, servedAs));
  return checks;
}

/** The model check when the server does not list the configured model. */
function missingModelCheck(s: ModelClient['settings'], installed: string[]): Check {
  const some = installed.slice(0, 5).join(', ');
  return {
    id: 'model',
    title: 'Model',
    status: 'fail',
    detail: `${s.model} is not installed at ${s.host}${installed.length ? ` (installed: ${some}${installed.length > 5 ? ', …' : ''})` : ' (no models installed)'}`,
    fix:
      s.provider === 'openai'
        ? 'Pick a model the server offers: set crucible.model (CLI: --model), see `crucible models --provider openai`.'
        : `Run \`ollama pull ${s.model}\`, or pick an installed model with Crucible: Select Model (CLI: --model, see \`crucible models\`).`,
    required: true,
  };
}

/** The model check for an installed model: its context length, a warning when it is small or unknown. */
async function modelCheck(
  client: ModelClient,
  signal: AbortSignal | undefined,
  servedAs: string | undefined,
): Promise<Check> {
  const s = client.settings;
  let ctxText = 'context length unknown';
  let status: CheckStatus = 'ok';
  let fix: string | undefined;
  try {
    const used = await client.contextLength(s.model, signal);
    const show = (client as { showModel?: (m: string, sig?: AbortSignal) => Promise<{ contextLength?: number }> })
      .showModel;
    const trained = show ? (await show.call(client, s.model, signal)).contextLength : undefined;
    if (used !== undefined) {
      ctxText = `context ${used} tokens${trained !== undefined && trained !== used ? ` (the model supports ${trained})` : ''}`;
      if (used < 4096) {
        status = 'warn';
        fix =
          'A context under 4096 tokens leaves little room for feedback: raise crucible.generation.numCtx (CLI: --num-ctx) if the model supports it.';
      }
    } else if (s.provider === 'openai') {
      ctxText = 'context length set by the server (not visible through /v1)';
    } else {
      status = 'warn';
      fix = 'Ollama did not report a context length: set crucible.generation.numCtx (CLI: --num-ctx) explicitly.';
    }
  } catch (err) {
    status = 'warn';
    ctxText = `context length unknown: ${err instanceof Error ? err.message : String(err)}`;
  }
  const name = servedAs !== undefined ? `${s.model} (served as ${servedAs}, the server's only model)` : s.model;
  return {
    id: 'model',
    title: 'Model',
    status,
    detail: `${name}, ${ctxText}`,
    ...(fix ? { fix } : {}),
    required: true,
  };
}

/** Runs every check; dependent checks are skipped when the server cannot be reached. */
export async function runDoctor(deps: DoctorDeps): Promise<DoctorReport> {
  const checks: Check[] = [nodeCheck(deps.nodeVersion ?? process.version)];
  const pythonP = pythonCheck(deps.python ?? 'python3');
  const isolationP: Promise<Check> = deps.isolation
    ? deps.isolation().then(
        (r) => ({ id: 'sandbox', title: 'Sandbox', required: true, ...isolationSummary(r) }),
        (err: unknown) => ({
          id: 'sandbox',
          title: 'Sandbox',
          status: 'fail',
          detail: `The sandbox could not start: ${err instanceof Error ? err.message : String(err)}`,
          fix: 'Check crucible.sandbox.python (CLI: --python) and that the machine can start child processes.',
          required: true,
        }),
      )
    : Promise.resolve({ id: 'sandbox', title: 'Sandbox', status: 'skip', detail: 'not checked', required: false });

  // Every server of a pool is checked on its own: the run may send requests to any of them.
  const members = (deps.client as { members?: ModelClient[] }).members ?? [deps.client];
  const perServer = await Promise.all(members.map((m) => serverChecks(m, deps.signal)));
  checks.push(await pythonP);
  for (const c of perServer) checks.push(...c);
  checks.push(await isolationP);
  return {
    ok: checks.every((c) => !(c.required && (c.status === 'fail' || (c.id === 'model' && c.status === 'skip')))),
    checks,
  };
}

const MARK: { [K in CheckStatus]: string } = { ok: '✓', warn: '!', fail: '✗', skip: '-' };

/** Plain-text report: one line per check, its fix indented below when something is wrong. */
export function formatDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.title.length));
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${MARK[c.status]} ${c.title.padEnd(width)}  ${c.detail}`);
    for (const n of c.notes ?? []) lines.push(`  ${' '.repeat(width)}  · ${n}`);
    if (c.fix && c.status !== 'ok') lines.push(`  ${' '.repeat(width)}  fix: ${c.fix}`);
  }
  lines.push(
    report.ok ? 'Everything Crucible needs is in place.' : 'Some required checks failed: see the fixes above.',
  );
  return lines.join('\n');
}
