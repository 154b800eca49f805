// Turns a sandbox RunResult (the harness's nonce-tagged report on fd 3 plus stdout/stderr) into a Verdict.
// Everything here runs in the parent: the candidate's process only supplied values, never the decision.

import type { RunResult } from '../sandbox/types';
import type { TestFailure, Verdict, VerdictStatus } from '../types';
import { canonCompare, canonTruth, isCanon, renderCanon, renderJs, typeName, type Canon } from './canonical';

/** How the parent evaluates one assert site from its leaf values. */
export type Struct =
  | ['not', Struct]
  | ['and' | 'or', Struct[]]
  | ['cmp', string[], number[]]
  | ['truth', number]
  | ['throws', number, string | null]
  | ['fail', string];

export interface SitePlan {
  line: number;
  src: string;
  x?: Struct;
  required: boolean;
}

export interface ErrorInfo {
  error: string;
  frames: [string, number, string][];
}

export type Leaf = ['ok', Canon] | ['bad', string] | ['exc', ErrorInfo];

export interface ReportLine {
  kind: string;
  body: unknown;
}

/** Parses the fd-3 report: only lines that start with the nonce count; anything else is ignored. */
export function parseReport(report: string, nonce: string): { lines: ReportLine[]; foreign: number; corrupt: number } {
  // The harness starts every line with a newline, so bytes the candidate wrote to fd 3 cannot glue onto it. A line
  // that carries the nonce but does not parse (or does not start with it) was interleaved with other writes: that is
  // counted as corrupt and makes the run an error, so a lost failing report can never turn into a pass.
  const lines: ReportLine[] = [];
  let foreign = 0;
  let corrupt = 0;
  const prefix = nonce + ' ';
  for (const raw of report.split('\n')) {
    if (!raw) continue;
    if (!raw.startsWith(prefix)) {
      if (nonce && raw.includes(nonce)) corrupt++;
      else foreign++;
      continue;
    }
    const rest = raw.slice(prefix.length);
    const sp = rest.indexOf(' ');
    const kind = sp < 0 ? rest : rest.slice(0, sp);
    try {
      lines.push({ kind, body: sp < 0 ? null : JSON.parse(rest.slice(sp + 1)) });
    } catch {
      corrupt++;
    }
  }
  return { lines, foreign, corrupt };
}

export interface SourceFiles {
  /** Frame file name -> source text, used to quote the candidate's own lines in tracebacks. */
  [file: string]: string;
}

export interface RenderStyle {
  language: 'python' | 'javascript';
}

function show(v: Canon, style: RenderStyle): string {
  return style.language === 'python' ? renderCanon(v) : renderJs(v);
}

function showTyped(v: Canon, other: Canon | undefined, style: RenderStyle): string {
  const s = show(v, style);
  return other && other[0] !== v[0] ? `${s} (${typeName(v)})` : s;
}

export function formatError(info: ErrorInfo, files: SourceFiles): string {
  const out = [info.error];
  const frames = (info.frames ?? []).slice(-8);
  for (const [file, line, fn] of frames) {
    const text = files[file]?.split('\n')[line - 1]?.trim();
    const where = file.replace(/^<|>$/g, '').replace(/\.js$/, '');
    out.push(`  at ${where} line ${line}${fn && fn !== '<module>' ? `, in ${fn}` : ''}${text ? `: ${text}` : ''}`);
  }
  return out.join('\n');
}

type Eval = { ok: true; value: boolean } | { ok: false; error: string; info?: ErrorInfo };

interface SiteFailure extends TestFailure {
  kind: 'assert' | 'error';
}

function leafValue(leaves: Leaf[], i: number, files: SourceFiles): { v: Canon } | { error: string; info?: ErrorInfo } {
  const leaf = leaves[i];
  if (!leaf) return { error: 'the harness did not report this value' };
  if (leaf[0] === 'ok' && isCanon(leaf[1])) return { v: leaf[1] };
  if (leaf[0] === 'bad') return { error: `cannot compare the value: ${String(leaf[1])}` };
  if (leaf[0] === 'exc') return { error: formatError(leaf[1], files), info: leaf[1] };
  return { error: 'malformed value in the report' };
}

function evalStruct(s: Struct, leaves: Leaf[], files: SourceFiles): Eval {
  switch (s[0]) {
    case 'not': {
      const r = evalStruct(s[1], leaves, files);
      return r.ok ? { ok: true, value: !r.value } : r;
    }
    case 'and': case 'or': {
      for (const sub of s[1]) {
        const r = evalStruct(sub, leaves, files);
        if (!r.ok) return r;
        if (s[0] === 'and' && !r.value) return r;
        if (s[0] === 'or' && r.value) return r;
      }
      return { ok: true, value: s[0] === 'and' };
    }
    case 'truth': {
      const l = leafValue(leaves, s[1], files);
      if (!('v' in l)) return { ok: false, error: l.error, info: l.info };
      const t = canonTruth(l.v);
      if (t === undefined) return { ok: false, error: `cannot decide whether a ${typeName(l.v)} is true` };
      return { ok: true, value: t };
    }
    case 'cmp': {
      const [, ops, idx] = s;
      let left = leafValue(leaves, idx[0], files);
      if (!('v' in left)) return { ok: false, error: left.error, info: left.info };
      for (let i = 0; i < ops.length; i++) {
        const right = leafValue(leaves, idx[i + 1], files);
        if (!('v' in right)) return { ok: false, error: right.error, info: right.info };
        try {
          if (!canonCompare(ops[i], left.v, right.v)) return { ok: true, value: false };
        } catch (e) {
          return { ok: false, error: (e as Error).message };
        }
        left = right;
      }
      return { ok: true, value: true };
    }
    case 'throws': {
      const leaf = leaves[s[1]];
      if (!leaf) return { ok: false, error: 'the harness did not report this value' };
      if (leaf[0] !== 'exc') return { ok: true, value: false };
      if (s[2] && !leaf[1].error.startsWith(s[2])) return { ok: true, value: false };
      return { ok: true, value: true };
    }
    case 'fail':
      return { ok: true, value: false };
    default:
      return { ok: false, error: 'malformed assert structure' };
  }
}

function describeFailure(site: SitePlan, x: Struct, leaves: Leaf[], files: SourceFiles, style: RenderStyle, r: Eval): SiteFailure {
  const f: SiteFailure = { kind: 'assert', test: site.src, line: site.line };
  if (!r.ok) {
    f.kind = 'error';
    f.error = r.error;
    return f;
  }
  if (x[0] === 'cmp' && x[1].length === 1) {
    const a = leafValue(leaves, x[2][0], files);
    const b = leafValue(leaves, x[2][1], files);
    if ('v' in a && 'v' in b) {
      const op = x[1][0];
      if (op === 'Eq' || op === 'Is') {
        f.expected = showTyped(b.v, a.v, style);
        f.actual = showTyped(a.v, b.v, style);
      } else if (op === 'NotEq' || op === 'IsNot') {
        f.expected = `anything but ${show(b.v, style)}`;
        f.actual = show(a.v, style);
      } else {
        f.actual = `${show(a.v, style)} ${opText(op)} ${show(b.v, style)} is false`;
      }
    }
  } else if (x[0] === 'truth' || (x[0] === 'not' && x[1][0] === 'truth')) {
    const idx = x[0] === 'truth' ? x[1] : (x[1] as ['truth', number])[1];
    const a = leafValue(leaves, idx, files);
    if ('v' in a) {
      f.expected = x[0] === 'truth' ? 'a true value' : 'a false value';
      f.actual = show(a.v, style);
    }
  } else if (x[0] === 'throws') {
    f.expected = x[2] ? `an exception ${x[2]}` : 'an exception';
    const leaf = leaves[x[1]];
    f.actual = leaf && leaf[0] === 'exc' ? leaf[1].error : 'no exception';
  }
  return f;
}

function opText(op: string): string {
  return ({ Lt: '<', LtE: '<=', Gt: '>', GtE: '>=', In: 'in', NotIn: 'not in' } as { [k: string]: string })[op] ?? op;
}

function trimOutput(label: string, text: string, truncatedBySandbox: boolean, max = 1500): string | undefined {
  if (!text) return undefined;
  let body = text;
  let note = '';
  if (body.length > max) {
    body = body.slice(0, max);
    note = ` (truncated: showing the first ${max} of ${text.length} characters)`;
  } else if (truncatedBySandbox) {
    note = ' (truncated: the program wrote more than the output limit)';
  }
  return `${label}${note}:\n${body.replace(/\s+$/, '')}`;
}

export interface BuildOptions {
  nonce: string;
  files: SourceFiles;
  style: RenderStyle;
  /** Sites planned by the parent itself (JavaScript); Python's plan comes from the report. */
  plan?: SitePlan[];
  /** Number of tests when the test source has no assert (a raise-style script), for the count. */
  limitsNote?: string;
}

const LIMIT_STATUS: { [k: string]: VerdictStatus } = { timeout: 'timeout', memory: 'memory', output_limit: 'output_limit' };

/** Builds the Verdict for a `tests` run. */
export function verdictFromRun(run: RunResult, opts: BuildOptions): Verdict {
  const { lines, foreign, corrupt } = parseReport(run.report, opts.nonce);
  const { files, style } = opts;
  let plan: SitePlan[] | undefined = opts.plan;
  const failures: SiteFailure[] = [];
  const counts = new Map<number, { runs: number; failed: number }>();
  let ended = false;
  let ranCandidate = false;
  let candidateError: ErrorInfo | undefined;
  let testError: ErrorInfo | undefined;
  let fatal: string | undefined;
  let afterEnd = 0;
  for (const line of lines) {
    if (ended) { afterEnd++; continue; }
    switch (line.kind) {
      case 'plan': {
        const body = line.body as { sites?: SitePlan[] };
        if (!plan) plan = body.sites ?? [];
        break;
      }
      case 'ran': ranCandidate = true; break;
      case 'cerror': candidateError = line.body as ErrorInfo; break;
      case 'error': testError = line.body as ErrorInfo; break;
      case 'fatal': fatal = (line.body as { error: string }).error; break;
      case 'end': ended = true; break;
      case 'a': {
        const [site, leaves, dyn] = line.body as [number, Leaf[], Struct | undefined];
        const sp = plan?.[site];
        if (!sp) { fatal = fatal ?? `report for an unknown test site ${site}`; break; }
        const x = dyn ?? sp.x;
        const c = counts.get(site) ?? { runs: 0, failed: 0 };
        c.runs++;
        const r = x ? evalStruct(x, leaves, files) : { ok: false as const, error: 'no structure for this test' };
        if (!r.ok || !r.value) {
          c.failed++;
          if (failures.length < 20 && (c.failed === 1)) failures.push(describeFailure(sp, x ?? ['fail', ''], leaves, files, style, r));
        }
        counts.set(site, c);
        break;
      }
      default: break;
    }
  }
  const sites = plan ?? [];
  const results = sites.map((s, i) => {
    const c = counts.get(i);
    return { test: s.src, passed: !!c && c.runs > 0 && c.failed === 0 };
  });
  // Sites that had to run but never did.
  const missing = sites.map((s, i) => ({ s, i })).filter(({ s, i }) => s.required && !counts.get(i));
  const testsTotal = sites.length > 0 ? sites.length : 1;
  let testsPassed = sites.length > 0 ? results.filter((r) => r.passed).length : 0;

  let status: VerdictStatus;
  const notes: string[] = [];
  const limit = LIMIT_STATUS[run.status];
  if (limit) {
    status = limit;
    notes.push(run.status === 'timeout' ? `Timeout: the program did not finish within the time limit${opts.limitsNote ? ` (${opts.limitsNote})` : ''}.`
      : run.status === 'memory' ? 'Memory limit: the program used more memory than allowed.'
        : 'Output limit: the program wrote more output than allowed.');
  } else if (run.status === 'error') {
    status = 'error';
    notes.push(`Sandbox error: ${run.error ?? 'the sandbox could not run the program'}.`);
  } else if (fatal) {
    status = 'error';
    notes.push(`Harness error: ${fatal}`);
  } else if (corrupt > 0) {
    status = 'error';
    notes.push(`The report channel was corrupted (${corrupt} harness line(s) interleaved with other writes to file descriptor 3); the run cannot be trusted.`);
  } else if (!plan) {
    status = 'error';
    notes.push(`The test harness never started (exit code ${run.exitCode ?? run.signal}).`);
  } else if (candidateError) {
    status = 'error';
    notes.push(`The candidate's code raised before the tests ran:\n${formatError(candidateError, files)}`);
  } else if (!ended) {
    status = 'error';
    notes.push(ranCandidate
      ? `The program stopped before the tests finished (exit code ${run.exitCode ?? run.signal}${run.signal ? '' : ''}); code that exits the process (sys.exit, os._exit, process.exit) cannot pass.`
      : `The program stopped before the tests ran (exit code ${run.exitCode ?? run.signal}); code that exits the process (sys.exit, os._exit, process.exit) cannot pass.`);
  } else if (testError) {
    status = 'failed';
    const f: SiteFailure = { kind: 'error', test: lastTestLine(testError, files) ?? '(test code)', error: formatError(testError, files) };
    const tl = testError.frames.filter((fr) => fr[0] === '<tests>' || fr[0] === 'tests.js').pop();
    if (tl) f.line = tl[1];
    failures.push(f);
  } else if (failures.length > 0) {
    status = 'failed';
  } else if (sites.length > 0 && counts.size === 0) {
    status = 'failed';
    notes.push(`No test ran: none of the ${sites.length} assert(s) in the tests executed.`);
  } else if (missing.length > 0) {
    status = 'failed';
    for (const { s } of missing.slice(0, 5)) failures.push({ kind: 'assert', test: s.src, line: s.line, error: 'this test never ran' });
    notes.push(`Fewer tests ran than exist: ${missing.length} of ${sites.length} never ran.`);
  } else {
    status = 'passed';
  }
  if (afterEnd > 0 && status === 'passed') {
    status = 'error';
    notes.push('The harness reported after its end marker.');
  }
  if (status === 'passed' && sites.length === 0) testsPassed = 1;
  const passed = status === 'passed';
  if (foreign > 0 && !passed) notes.push(`(${foreign} line(s) on the report channel without the harness's tag were ignored.)`);

  const feedback = formatFeedback({ status, passed, testsPassed, testsTotal, failures, notes, run, failedCounts: counts, sites });
  const verdict: Verdict = {
    status,
    passed,
    testsPassed,
    testsTotal,
    durationMs: Math.round(run.durationMs),
    feedback,
    failures: failures.map(({ kind: _k, ...f }) => f),
    results,
    stdout: run.stdout,
    stderr: run.stderr,
  };
  return verdict;
}

function lastTestLine(info: ErrorInfo, files: SourceFiles): string | undefined {
  const fr = (info.frames ?? []).filter((f) => f[0] === '<tests>' || f[0] === 'tests.js').pop();
  if (!fr) return undefined;
  return files[fr[0]]?.split('\n')[fr[1] - 1]?.trim();
}

interface FeedbackParts {
  status: VerdictStatus;
  passed: boolean;
  testsPassed: number;
  testsTotal: number;
  failures: SiteFailure[];
  notes: string[];
  run: RunResult;
  failedCounts: Map<number, { runs: number; failed: number }>;
  sites: SitePlan[];
}

function formatFeedback(p: FeedbackParts): string {
  const out: string[] = [];
  if (p.passed) {
    out.push(`PASSED: ${p.testsPassed}/${p.testsTotal} tests passed.`);
  } else {
    out.push(`${p.status.toUpperCase()}: ${p.testsPassed}/${p.testsTotal} tests passed.`);
  }
  out.push(...p.notes);
  for (const f of p.failures.slice(0, 5)) {
    out.push(`Test${f.line ? ` (line ${f.line})` : ''}: ${f.test}`);
    if (f.expected !== undefined) out.push(`  expected: ${f.expected}`);
    if (f.actual !== undefined) out.push(`  actual:   ${f.actual}`);
    if (f.error) out.push(f.error.split('\n').map((l) => `  ${l}`).join('\n'));
  }
  if (p.failures.length > 5) out.push(`… and ${p.failures.length - 5} more failing tests.`);
  const so = trimOutput('stdout', p.run.stdout, p.run.stdoutTruncated);
  const se = trimOutput('stderr', p.run.stderr, p.run.stderrTruncated);
  if (!p.passed) {
    if (so) out.push(so);
    if (se) out.push(se);
  }
  return out.join('\n');
}

/** Generic single-value runs (puzzle `sol`, `sat`, `evaluate`): the kinds reported, or the error that stopped them. */
export function collectReport(run: RunResult, nonce: string): { byKind: Map<string, unknown[]>; ended: boolean } {
  const { lines, corrupt } = parseReport(run.report, nonce);
  if (corrupt > 0) return { byKind: new Map(), ended: false };
  const byKind = new Map<string, unknown[]>();
  let ended = false;
  for (const l of lines) {
    if (ended) break;
    if (l.kind === 'end') { ended = true; continue; }
    const xs = byKind.get(l.kind) ?? [];
    xs.push(l.body);
    byKind.set(l.kind, xs);
  }
  return { byKind, ended };
}

export { trimOutput };
