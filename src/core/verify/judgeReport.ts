// Turns a pair job's report (the judge's fd-4 lines, see docs/verdict.md) into a Verdict. The judge decided
// every test in a real interpreter; this file only counts, labels and formats. Nothing the candidate process
// wrote is trusted: its stdout/stderr only appear as trimmed text in the feedback.

import type { PairResult } from '../sandbox/types';
import type { TestFailure, Verdict, VerdictStatus } from '../types';

/** One line of the judge's report. Fields beyond `t` depend on the kind. */
export interface JudgeLine {
  t: 'test' | 'values' | 'answer' | 'sat' | 'fatal' | 'load' | 'end';
  [key: string]: unknown;
}

export interface ParsedReport {
  lines: JudgeLine[];
  ended: boolean;
  tests: JudgeLine[];
  fatal?: JudgeLine;
  load?: JudgeLine;
}

export function parseJudgeReport(report: string): ParsedReport {
  const lines: JudgeLine[] = [];
  let ended = false;
  for (const raw of report.split('\n')) {
    if (!raw.trim()) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      continue;
    }
    if (!obj || typeof obj !== 'object' || typeof (obj as JudgeLine).t !== 'string') continue;
    const line = obj as JudgeLine;
    if (ended) continue;
    if (line.t === 'end') ended = true;
    lines.push(line);
  }
  return {
    lines,
    ended,
    tests: lines.filter((l) => l.t === 'test'),
    fatal: lines.find((l) => l.t === 'fatal'),
    load: lines.find((l) => l.t === 'load'),
  };
}

export function trimOutput(label: string, text: string, truncatedBySandbox: boolean, max = 1500): string | undefined {
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

/** A candidate traceback as the judge received it: [file, line, function] frames of the candidate's program. */
export function formatFrames(frames: unknown, candidateSource: string): string[] {
  if (!Array.isArray(frames)) return [];
  const lines = candidateSource.split('\n');
  const out: string[] = [];
  for (const raw of frames.slice(-8)) {
    // Python frames are [file, line, function]; JavaScript ones "candidate.js:LINE".
    const js = typeof raw === 'string' ? /^candidate\.js:(\d+)/.exec(raw) : null;
    const f = js ? ['candidate', Number(js[1]), ''] : raw;
    if (!Array.isArray(f) || typeof f[1] !== 'number') continue;
    const fn = typeof f[2] === 'string' ? f[2] : '';
    const text = lines[f[1] - 1]?.trim();
    out.push(`  at candidate line ${f[1]}${fn && fn !== '<module>' ? `, in ${fn}` : ''}${text ? `: ${text}` : ''}`);
  }
  return out;
}

const OPS: { [op: string]: string } = {
  Lt: '<',
  LtE: '<=',
  Gt: '>',
  GtE: '>=',
  In: 'in',
  NotIn: 'not in',
  NotEq: '!=',
  IsNot: 'is not',
};

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function testText(t: JudgeLine): string {
  return (str(t.source) ?? str(t.name) ?? 'test').replace(/;\s*$/, '');
}

function failureOf(t: JudgeLine, candidateSource: string): TestFailure {
  const f: TestFailure = { test: testText(t) };
  if (typeof t.line === 'number') f.line = t.line;
  const op = str(t.op);
  const expected = str(t.expected);
  if (expected !== undefined) f.expected = op && OPS[op] ? `${OPS[op]} ${expected}` : expected;
  if (str(t.actual) !== undefined) f.actual = str(t.actual);
  const error = str(t.error);
  if (error && !(error === 'AssertionError' && f.expected !== undefined)) {
    const frames = formatFrames(t.frames, candidateSource);
    f.error = [error, ...frames].join('\n');
  }
  return f;
}

/** Status and text for a run the sandbox ended at a limit. */
export const LIMIT_TEXT: { [k: string]: [VerdictStatus, string] } = {
  timeout: ['timeout', 'Timeout: the program did not finish within the time limit.'],
  memory: ['memory', 'Memory limit: the program used more memory than allowed.'],
  output_limit: ['output_limit', 'Output limit: the program wrote more output than allowed.'],
};

export interface VerdictOptions {
  /** The candidate's program as it ran (for traceback lines). */
  candidateSource: string;
  /** The tests had no text at all: a program that loads is all there is to check. */
  noTests: boolean;
  /** Text for the status line when a mode needs its own (puzzles). */
}

/** What a report says about the run as a whole: its status, the notes under the count, and the adjusted total. */
interface Classified {
  status: VerdictStatus;
  notes: string[];
  testsTotal: number;
  /** The sandbox's own failure (see Verdict.sandboxError). */
  sandboxError?: string;
}

/**
 * Decides the status of a `tests` pair job from how the run ended and what the judge reported. `failures` gains
 * the entries a load error, a candidate crash or an empty run add (the feedback lists them with the rest).
 */
function classify(
  run: PairResult,
  rep: ParsedReport,
  failing: JudgeLine[],
  failures: TestFailure[],
  opts: VerdictOptions,
): Classified {
  const notes: string[] = [];
  const testsTotal = rep.tests.length;
  const limit = LIMIT_TEXT[run.status];
  if (limit) return { status: limit[0], notes: [limit[1]], testsTotal };
  if (run.status === 'error') {
    const sandboxError = run.error ?? 'the sandbox could not run the program';
    return { status: 'error', notes: [`Sandbox error: ${sandboxError}.`], testsTotal, sandboxError };
  }
  if (rep.load) {
    const err = str(rep.load.error) ?? 'the program failed to load';
    const syntax = /^(SyntaxError|IndentationError|TabError)\b/.test(err);
    const line = typeof rep.load.line === 'number' ? rep.load.line : undefined;
    const text = [
      `The candidate's program raised ${err}${line ? ` (candidate line ${line})` : ''} before any test ran.`,
      ...formatFrames(rep.load.frames, opts.candidateSource),
    ];
    failures.unshift({ test: 'loading the candidate', error: err, ...(line ? { line } : {}) });
    return { status: syntax ? 'error' : 'failed', notes: [text.join('\n')], testsTotal: Math.max(1, testsTotal) };
  }
  if (rep.fatal && rep.fatal.where !== 'candidate') {
    return {
      status: 'error',
      notes: [`The tests could not be judged: ${str(rep.fatal.error) ?? 'the judge failed'}.`],
      testsTotal,
    };
  }
  if (rep.fatal && /raised while loading: (SyntaxError|IndentationError)\b/.test(str(rep.fatal.error) ?? '')) {
    return {
      status: 'error',
      notes: [`The candidate's program ${str(rep.fatal.error)!.replace(/^the candidate /, '')}.`],
      testsTotal,
    };
  }
  if (rep.fatal) {
    if (!failing.some((t) => t.fatal === true))
      notes.push(`${str(rep.fatal.error) ?? 'The candidate process ended early'}.`);
    if (failures.length === 0)
      failures.push({ test: 'tests', error: str(rep.fatal.error) ?? 'the candidate process ended early' });
    return { status: 'failed', notes, testsTotal: Math.max(1, testsTotal) };
  }
  if (!rep.ended)
    return {
      status: 'error',
      notes: ['ERROR: the judge stopped before the tests finished; a run that does not finish cannot pass.'],
      testsTotal,
    };
  if (rep.tests.length === 0) {
    if (opts.noTests) return { status: 'passed', notes, testsTotal };
    failures.push({ test: 'tests', error: 'No test ran' });
    return { status: 'failed', notes: ['No test ran: the tests define checks but nothing calls them.'], testsTotal: 1 };
  }
  let status: VerdictStatus = failing.length === 0 ? 'passed' : 'failed';
  if (failing.some((t) => /^MemoryError\b/.test(str(t.error) ?? ''))) status = 'memory';
  return { status, notes, testsTotal };
}

/** The feedback text: the count line, the notes, up to five failures, and the candidate's output when it failed. */
function feedbackText(
  run: PairResult,
  rep: ParsedReport,
  c: Classified,
  testsPassed: number,
  failures: TestFailure[],
): string {
  const passed = c.status === 'passed';
  const out: string[] = [];
  if (passed && rep.tests.length === 0) out.push('PASSED: no tests; the program ran without error.');
  else out.push(`${passed ? 'PASSED' : c.status.toUpperCase()}: ${testsPassed}/${c.testsTotal} tests passed.`);
  out.push(...c.notes);
  const shown = failures.filter((f) => f.test !== 'loading the candidate');
  for (const f of shown.slice(0, 5)) {
    out.push(`Test${f.line ? ` (line ${f.line})` : ''}: ${f.test}`);
    if (f.expected !== undefined) out.push(`  expected: ${f.expected}`);
    if (f.actual !== undefined) out.push(`  actual:   ${f.actual}`);
    if (f.error)
      out.push(
        f.error
          .split('\n')
          .map((l) => (l.startsWith('  at ') ? l : `  ${l}`))
          .join('\n'),
      );
  }
  if (shown.length > 5) out.push(`… and ${shown.length - 5} more failing tests.`);
  if (!passed) {
    const so = trimOutput('stdout', run.stdout, run.stdoutTruncated);
    const se = trimOutput('stderr', run.stderr, run.stderrTruncated);
    if (so) out.push(so);
    if (se) out.push(se);
  }
  return out.join('\n');
}

/** The Verdict for a `tests` pair job. */
export function verdictFromPair(run: PairResult, opts: VerdictOptions): Verdict {
  const rep = parseJudgeReport(run.report);
  const results = rep.tests.map((t) => ({ test: testText(t), passed: t.ok === true }));
  const failing = rep.tests.filter((t) => t.ok !== true);
  // Checks not reached because an earlier one failed count against the total, but are not failures to show.
  const failures = failing.filter((t) => t.unreached !== true).map((t) => failureOf(t, opts.candidateSource));
  const testsPassed = rep.tests.length - failing.length;
  const c = classify(run, rep, failing, failures, opts);
  return {
    status: c.status,
    passed: c.status === 'passed',
    testsPassed,
    testsTotal: c.testsTotal,
    durationMs: Math.round(run.durationMs),
    feedback: feedbackText(run, rep, c, testsPassed, failures),
    failures,
    results,
    stdout: run.stdout,
    stderr: run.stderr,
    ...(c.sandboxError !== undefined ? { sandboxError: c.sandboxError } : {}),
  };
}
