// Runs the puzzle probe (src/core/sandbox/runtime/py/puzzles.py) in the sandbox and reads its report. It
// inspects and probes a model-written puzzle's sat (no candidate solution runs there); solutions are judged
// and audited through the judge/candidate pair (Verifier.judgePuzzle, auditPuzzle).

let probeSource: string | undefined;
function puzzleProbeSource(): string {
  probeSource ??= readFileSync(join(RUNTIME_DIR, 'py', 'puzzles.py'), 'utf8');
  return probeSource;
}

import { randomBytes } from 'node:crypto';
import type { RunResult, Sandbox } from '../sandbox/types';
import type { Puzzle } from '../types';
import type { Verifier } from '../verify/types';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNTIME_DIR } from '../sandbox/processSandbox';
import type { RejectReason } from './types';

/** Modules a puzzle's sat may import. Everything else (os, sys, subprocess, socket, ...) is rejected as unsafe. */
export const DEFAULT_ALLOWED_IMPORTS: readonly string[] = [
  'math',
  'cmath',
  'itertools',
  'functools',
  'collections',
  'string',
  're',
  'heapq',
  'bisect',
  'fractions',
  'decimal',
  'operator',
  'statistics',
  'random',
  'typing',
  'copy',
  'numbers',
];

export class HarnessError extends Error {
  constructor(
    message: string,
    readonly result?: RunResult,
  ) {
    super(message);
    this.name = 'HarnessError';
  }
}

export interface ProbeLimits {
  satTimeoutMs: number;
  solTimeoutMs: number;
  allowedImports: readonly string[];
}

export interface InspectResult {
  ok: boolean;
  reason?: RejectReason;
  detail?: string;
  ansType?: string;
  sat?: string;
  sol?: string | null;
  solHeader?: string;
  /** sha256 of sat's normalised AST (variables renamed, docstrings dropped); set whenever sat parsed. */
  hash?: string;
  probes?: number;
  /** The generator's `wrong()` answer, when it wrote one: ok when sat rejects it (value is its repr). */
  wrong?: { ok: boolean; value?: string; detail?: string };
}

export interface AuditEntry {
  index: number;
  parsed: boolean;
  headerMatches?: boolean;
  body?: string;
  ran?: boolean;
  typeOk?: boolean;
  answerType?: string;
  /** One letter per repeated sat(answer): T true, F false, E raised, S slow. */
  satResults?: string;
  detail?: string;
}

async function runHarness(
  sandbox: Sandbox,
  request: object,
  wallMs: number,
  signal?: AbortSignal,
): Promise<{ report?: { [key: string]: unknown }; result: RunResult }> {
  const nonce = randomBytes(12).toString('hex');
  const result = await sandbox.run(
    {
      language: 'python',
      source: puzzleProbeSource(),
      stdin: JSON.stringify({ ...request, nonce }),
      limits: { wallMs, cpuMs: wallMs, outputBytes: 256 * 1024 },
    },
    signal,
  );
  const text = result.report ?? '';
  const prefix = `${nonce} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  if (!line) return { result };
  try {
    return { report: JSON.parse(line.slice(prefix.length)) as { [key: string]: unknown }, result };
  } catch {
    return { result };
  }
}

function limitsFailure(result: RunResult, what: string): InspectResult | undefined {
  if (result.status === 'timeout')
    return {
      ok: false,
      reason: 'slow',
      detail: `${what} ran past the sandbox time limit (${Math.round(result.durationMs)} ms)`,
    };
  if (result.status === 'memory')
    return { ok: false, reason: 'slow', detail: `${what} ran out of memory in the sandbox` };
  if (result.status === 'output_limit')
    return { ok: false, reason: 'unsafe', detail: `${what} wrote more output than the sandbox allows` };
  return undefined;
}

/** Parses, checks and probes a model-written puzzle (sat and, optionally, sol) in one sandbox job. */
export async function inspectPuzzle(
  sandbox: Sandbox,
  code: string,
  limits: ProbeLimits,
  seed: number,
  signal?: AbortSignal,
): Promise<InspectResult> {
  // About 25 probes, each run twice: give the job room for all of them plus interpreter start.
  const wallMs = Math.min(60_000, 5_000 + limits.satTimeoutMs * 6);
  const { report, result } = await runHarness(
    sandbox,
    {
      mode: 'inspect',
      code,
      satTimeoutMs: limits.satTimeoutMs,
      allowedImports: limits.allowedImports,
      seed,
      randomProbes: 8,
    },
    wallMs,
    signal,
  );
  if (!report) {
    const limited = limitsFailure(result, 'sat');
    if (limited) return limited;
    throw new HarnessError(
      `The puzzle probe did not report (sandbox status ${result.status}${result.error ? `: ${result.error}` : ''}; stderr: ${result.stderr.slice(-300).trim() || 'empty'}). Check the sandbox with \`crucible doctor\`.`,
      result,
    );
  }
  if (report.reason === 'harness') throw new HarnessError(`The puzzle probe failed: ${String(report.detail)}`, result);
  const out: InspectResult = { ok: report.ok === true };
  if (typeof report.reason === 'string') out.reason = report.reason as RejectReason;
  if (typeof report.detail === 'string') out.detail = report.detail;
  if (typeof report.ansType === 'string') out.ansType = report.ansType;
  if (typeof report.sat === 'string') out.sat = report.sat;
  if (typeof report.sol === 'string' || report.sol === null) out.sol = report.sol as string | null;
  if (typeof report.solHeader === 'string') out.solHeader = report.solHeader;
  if (typeof report.normalized === 'string') out.hash = report.normalized;
  if (typeof report.probes === 'number') out.probes = report.probes;
  if (report.wrong && typeof report.wrong === 'object') out.wrong = report.wrong as InspectResult['wrong'];
  return out;
}

/**
 * Checks solutions the judge accepted: sat's determinism on the answers at `determinism` (sat(answer) run five
 * times in the judge process; sol() ran in the candidate process, so nothing the solution does can touch the
 * count). The answer's type was already checked by the judge before sat ran.
 */
export async function auditSolutions(
  verifier: Verifier,
  puzzle: Puzzle,
  solutions: string[],
  determinism: number[],
  limits: ProbeLimits,
  signal?: AbortSignal,
): Promise<AuditEntry[]> {
  const out: AuditEntry[] = solutions.map((_, index) => ({ index, parsed: true, ran: true, typeOk: true }));
  for (const index of determinism) {
    const code = solutions[index];
    if (code === undefined) continue;
    const audit = await verifier.auditPuzzle(puzzle, code, { repeats: 5, satTimeoutMs: limits.satTimeoutMs }, signal);
    const entry = out[index]!;
    if (!audit.verdict.passed && audit.satResults.length === 0) {
      entry.ran = false;
      entry.detail = audit.verdict.feedback.split('\n')[0];
      if (audit.verdict.status === 'timeout') entry.satResults = 'S';
      continue;
    }
    entry.satResults = audit.satResults
      .map((r) => (r.ms > limits.satTimeoutMs ? 'S' : r.error ? 'E' : r.ok ? 'T' : 'F'))
      .join('');
  }
  return out;
}

/** Normalised-AST hashes of many sat sources in one job (null where a source does not parse). */
export async function normaliseMany(
  sandbox: Sandbox,
  sources: string[],
  signal?: AbortSignal,
): Promise<(string | null)[]> {
  if (sources.length === 0) return [];
  const { report, result } = await runHarness(
    sandbox,
    { mode: 'normalize', sources },
    30_000 + sources.length * 20,
    signal,
  );
  if (!report || !Array.isArray(report.normalized)) {
    throw new HarnessError(
      `Normalising the seed puzzles failed (sandbox status ${result.status}; ${result.stderr.slice(-300).trim() || 'no output'}).`,
      result,
    );
  }
  return (report.normalized as (string | null)[]).map((n) => (typeof n === 'string' ? n : null));
}

/**
 * Behaviour fingerprints: for each sat, its annotation and its verdicts (T/F/E/S) on one shared probe set:
 * fixed probes of its type plus every answer the `solutions` (sources defining sol()) return. Two puzzles
 * with equal fingerprints that accept something are the same puzzle in behaviour. Null where a sat fails to load.
 */
export async function behaviourFingerprints(
  sandbox: Sandbox,
  sats: string[],
  solutions: string[],
  limits: ProbeLimits,
  signal?: AbortSignal,
): Promise<(string | null)[]> {
  if (sats.length === 0) return [];
  const wallMs = Math.min(
    120_000,
    5_000 + solutions.length * limits.solTimeoutMs + sats.length * (solutions.length + 20) * limits.satTimeoutMs,
  );
  const { report, result } = await runHarness(
    sandbox,
    { mode: 'behave', sats, solutions, satTimeoutMs: limits.satTimeoutMs, solTimeoutMs: limits.solTimeoutMs },
    wallMs,
    signal,
  );
  if (!report || !Array.isArray(report.fingerprints)) {
    if (result.status === 'timeout' || result.status === 'memory') return sats.map(() => null);
    throw new HarnessError(
      `The behaviour probe did not report (sandbox status ${result.status}; ${result.stderr.slice(-300).trim() || 'no output'}).`,
      result,
    );
  }
  return (report.fingerprints as unknown[]).map((f) => (typeof f === 'string' ? f : null));
}

export interface ReasonedCall {
  call: string;
  args?: (string | null)[];
  argTypes?: string[];
  output?: string;
  outputType?: string;
  skip?: string;
}

/** Runs a function (Python source defining `entry`) on literal calls in the sandbox; inputs and outputs as literals. */
export async function reasonCalls(
  sandbox: Sandbox,
  code: string,
  entry: string,
  calls: string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ReasonedCall[] | string> {
  const { report, result } = await runHarness(
    sandbox,
    { mode: 'reason', code, entry, calls, timeoutMs },
    Math.min(60_000, 5_000 + calls.length * timeoutMs),
    signal,
  );
  if (!report) return `the function did not run in the sandbox (status ${result.status})`;
  if (report.ok !== true) return String(report.detail ?? 'the function did not load');
  return report.results as ReasonedCall[];
}
