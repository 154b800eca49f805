// The Verifier: runs each Candidate against its Task's tests as a pair job (a candidate process and a judge
// process, docs/verdict.md) and turns the judge's report into a Verdict. Python verdicts, puzzles and
// evaluations all go through the judge; nothing the candidate's process says is trusted.

import type { JudgeSpec, Limits, PairResult, RunResult, Sandbox } from '../sandbox/types';
import type { Candidate, Language, Puzzle, Task, TestFailure, Verdict, VerdictStatus } from '../types';
import type { PuzzleAudit, Verifier } from './types';
import { isCanon, renderCanon, type Canon } from './canonical';
import {
  LIMIT_TEXT,
  formatFrames,
  parseJudgeReport,
  trimOutput,
  verdictFromPair,
  type ParsedReport,
} from './judgeReport';

export interface VerifierOptions {
  limits?: Partial<Limits>;
}

/** The candidate's whole program: context, then the code (or prompt + completion for continuation-style tasks). */
export function candidateProgram(task: Task, candidate: Candidate): string {
  const body = task.completionStyle === 'continuation' ? task.prompt + candidate.code : candidate.code;
  return task.context ? `${task.context}\n${body}` : body;
}

function errorVerdict(status: VerdictStatus, message: string, durationMs = 0, failures: TestFailure[] = []): Verdict {
  return {
    status,
    passed: false,
    testsPassed: 0,
    testsTotal: 1,
    durationMs: Math.round(durationMs),
    feedback: message,
    failures,
  };
}

/** Maps a run that did not end normally to a Verdict, or returns undefined when the run ended normally. */
function abnormal(run: RunResult, what: string): Verdict | undefined {
  const lim = LIMIT_TEXT[run.status];
  if (lim) return withOutput(errorVerdict(lim[0], `${lim[1]} (${what})`, run.durationMs), run);
  if (run.status === 'error') {
    const sandboxError = run.error ?? 'the sandbox could not run the program';
    return { ...errorVerdict('error', `Sandbox error: ${sandboxError}.`, run.durationMs), sandboxError };
  }
  return undefined;
}

function withOutput(v: Verdict, run: RunResult): Verdict {
  const parts = [v.feedback];
  const so = trimOutput('stdout', run.stdout, run.stdoutTruncated);
  const se = trimOutput('stderr', run.stderr, run.stderrTruncated);
  if (so) parts.push(so);
  if (se) parts.push(se);
  return { ...v, feedback: parts.join('\n'), stdout: run.stdout, stderr: run.stderr };
}

/**
 * Trusted context for the judge: code the task itself defines, which the tests may use (a HumanEval prompt's
 * imports and helpers, the user's file around the function). It runs in the judge, never the completion.
 */
export function trustedContext(task: Task): string {
  const parts: string[] = [];
  if (task.context) parts.push(task.context);
  if (task.completionStyle === 'continuation' && task.prompt) parts.push(task.prompt);
  return parts.join('\n');
}

/** What every verifier call needs: the sandbox its pair jobs run in, and the limits they carry. */
interface VerifyHost {
  sandbox: Sandbox;
  limits: Partial<Limits> | undefined;
}

function pair(
  host: VerifyHost,
  language: Language,
  code: string,
  spec: JudgeSpec,
  signal?: AbortSignal,
): Promise<PairResult> {
  return host.sandbox.runPair(
    { language: language === 'python' ? 'python' : 'javascript', candidate: code, spec, limits: host.limits },
    signal,
  );
}

/** Matches JavaScript that is an ES module (the runtimes take CommonJS, so such code is transpiled). */
const ESM = /^\s*(import\s*[\w*{'"]|export\s)/m;

/** JavaScript/TypeScript sources as the runtimes take them: CommonJS (esbuild for TypeScript and ES modules). */
async function jsSources(
  sandbox: Sandbox,
  task: Task,
  candidate: Candidate,
  tests: string,
): Promise<{ code: string; tests: string; context: string } | Verdict> {
  let code = candidateProgram(task, candidate);
  let testSrc = tests;
  let context = trustedContext(task);
  if (task.language === 'typescript' || ESM.test(code) || ESM.test(testSrc)) {
    const c = await sandbox.transpile(code);
    if ('error' in c)
      return errorVerdict(
        'error',
        `The candidate does not compile as TypeScript:\n${c.error.replace(/main\.ts/g, 'candidate.ts')}`,
      );
    code = c.code;
    const t = await sandbox.transpile(testSrc);
    if ('error' in t)
      return errorVerdict(
        'error',
        `The tests do not compile as TypeScript:\n${t.error.replace(/main\.ts/g, 'tests.ts')}`,
      );
    testSrc = t.code;
    if (context) {
      const x = await sandbox.transpile(context);
      context = 'code' in x ? x.code : '';
    }
  }
  return { code, tests: testSrc, context };
}

async function verifyCandidate(
  host: VerifyHost,
  task: Task,
  candidate: Candidate,
  signal?: AbortSignal,
): Promise<Verdict> {
  const tests = task.tests ?? '';
  const entryPoints = task.entryPoint ? [task.entryPoint] : [];
  if (task.language === 'python') {
    const code = candidateProgram(task, candidate);
    const run = await pair(
      host,
      task.language,
      code,
      { mode: 'tests', tests, context: trustedContext(task), entryPoints },
      signal,
    );
    return verdictFromPair(run, { candidateSource: code, noTests: !tests.trim() });
  }
  const prepared = await jsSources(host.sandbox, task, candidate, tests);
  if (!('code' in prepared)) return prepared;
  const run = await pair(
    host,
    task.language,
    prepared.code,
    { mode: 'tests', tests: prepared.tests, context: prepared.context, entryPoints },
    signal,
  );
  return verdictFromPair(run, { candidateSource: prepared.code, noTests: !tests.trim() });
}

/** TypeScript call expressions as JavaScript ones; a call that does not compile evaluates `undefined`. */
async function jsCallsOf(sandbox: Sandbox, calls: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const c of calls) {
    const t = await sandbox.transpile(`(${c})`);
    out.push('code' in t ? t.code.replace(/;\s*$/, '') : 'undefined');
  }
  return out;
}

async function evaluateCalls(
  host: VerifyHost,
  task: Task,
  candidate: Candidate,
  calls: string[],
  signal?: AbortSignal,
): Promise<(string | null)[]> {
  const entryPoints = task.entryPoint ? [task.entryPoint] : [];
  let code = candidateProgram(task, candidate);
  let context = trustedContext(task);
  let jsCalls = calls;
  if (task.language !== 'python') {
    const prepared = await jsSources(host.sandbox, { ...task, tests: '' }, candidate, '');
    if (!('code' in prepared)) return calls.map(() => null);
    code = prepared.code;
    context = prepared.context;
    if (task.language === 'typescript') jsCalls = await jsCallsOf(host.sandbox, calls);
  }
  const run = await pair(host, task.language, code, { mode: 'evaluate', calls: jsCalls, context, entryPoints }, signal);
  const values = parseJudgeReport(run.report).lines.find((l) => l.t === 'values')?.values;
  if (run.status !== 'exited' || !Array.isArray(values)) return calls.map(() => null);
  return calls.map((_, i) => (typeof values[i] === 'string' ? (values[i] as string) : null));
}

async function auditPuzzle(
  host: VerifyHost,
  puzzle: Puzzle,
  solution: string,
  audit: { repeats: number; satTimeoutMs?: number },
  signal?: AbortSignal,
): Promise<PuzzleAudit> {
  // sol() runs in the candidate process; the type check and sat(answer) run in the judge, on the answer as data.
  const { repeats, satTimeoutMs } = audit;
  const spec: JudgeSpec = {
    mode: repeats > 1 ? 'audit' : 'puzzle',
    sat: puzzle.sat,
    ansType: puzzle.ansType,
    entryPoints: ['sol'],
    repeats,
    ...(satTimeoutMs ? { satTimeoutMs } : {}),
  };
  const run = await pair(host, 'python', solution, spec, signal);
  return puzzleAudit(run, puzzle, solution);
}

/** The audit of a puzzle pair job that ended before sol() returned an answer, or undefined when it returned one. */
function answerMissing(run: PairResult, rep: ParsedReport, solution: string): PuzzleAudit | undefined {
  const duration = Math.round(run.durationMs);
  const bad = abnormal(run, 'while judging the puzzle');
  if (bad) return { verdict: bad, satResults: [] };
  if (rep.load) {
    const err = String(rep.load.error ?? 'the solution failed to load');
    return {
      verdict: errorVerdict(
        /^(SyntaxError|IndentationError)/.test(err) ? 'error' : 'failed',
        `FAILED: the solution raised ${err} while loading.`,
        duration,
        [{ test: 'sol()', error: err }],
      ),
      satResults: [],
    };
  }
  if (rep.fatal) {
    const where = rep.fatal.where;
    const msg = String(rep.fatal.error ?? 'the judge failed');
    return {
      verdict: withOutput(
        errorVerdict(
          where === 'candidate' ? 'failed' : 'error',
          `${where === 'candidate' ? 'FAILED' : 'ERROR'}: ${msg}.`,
          duration,
          [{ test: 'sol()', error: msg }],
        ),
        run,
      ),
      satResults: [],
    };
  }
  const ans = rep.lines.find((l) => l.t === 'answer');
  if (!rep.ended || !ans) {
    return {
      verdict: withOutput(
        errorVerdict(
          'error',
          'ERROR: the judge stopped before sol() returned; a run that does not finish cannot pass.',
          duration,
        ),
        run,
      ),
      satResults: [],
    };
  }
  if (ans.ok !== true) {
    const err = String(ans.error ?? 'sol() failed');
    const frames = formatFrames(ans.frames, solution);
    return {
      verdict: withOutput(
        errorVerdict('failed', `FAILED: sol() raised:\n${[err, ...frames].join('\n')}`, duration, [
          { test: 'sol()', error: err },
        ]),
        run,
      ),
      satResults: [],
    };
  }
  return undefined;
}

/** The Verdict of a puzzle (or audit) pair job: sol()'s answer, its type check, then sat(answer). */
function puzzleAudit(run: PairResult, puzzle: Puzzle, solution: string): PuzzleAudit {
  const rep = parseJudgeReport(run.report);
  const missing = answerMissing(run, rep, solution);
  if (missing) return missing;
  const duration = Math.round(run.durationMs);
  const ans = rep.lines.find((l) => l.t === 'answer')!;
  const canon = ans.canon as Canon | null;
  const answerText = canon ? JSON.stringify(canon) : undefined;
  const shown = canon && isCanon(canon) ? renderCanon(canon, 200) : String(ans.repr ?? '?');
  if (ans.type_ok !== true) {
    const msg = typeof ans.type_ok === 'string' ? ans.type_ok : `the answer ${shown} is not a ${puzzle.ansType}`;
    return {
      verdict: {
        ...errorVerdict(typeof ans.type_ok === 'string' ? 'error' : 'failed', `FAILED: ${msg}.`, duration, [
          { test: `isinstance(answer, ${puzzle.ansType})`, expected: puzzle.ansType, actual: shown },
        ]),
        ...(answerText ? { answer: answerText } : {}),
      },
      satResults: [],
      solMs: Number(ans.ms) || undefined,
    };
  }
  const satLine = rep.lines.find((l) => l.t === 'sat');
  const satResults = (Array.isArray(satLine?.results) ? satLine!.results : []) as SatResult[];
  const first = satResults[0];
  const base = { ...(answerText ? { answer: answerText } : {}) };
  if (!first)
    return {
      verdict: { ...errorVerdict('error', 'ERROR: the puzzle check did not finish.', duration), ...base },
      satResults,
    };
  const solMs = Number(ans.ms) || undefined;
  if (first.error) {
    return {
      verdict: {
        ...errorVerdict('failed', `FAILED: sat(answer) raised for answer ${shown}:\n${first.error}`, duration, [
          { test: 'sat(answer)', actual: shown, error: first.error },
        ]),
        ...base,
      },
      satResults,
      solMs,
    };
  }
  if (!first.ok) {
    return {
      verdict: {
        ...errorVerdict(
          'failed',
          `FAILED: sat(answer) returned ${first.value ?? '?'}, not True, for answer ${shown}.`,
          duration,
          [{ test: 'sat(answer) is True', expected: 'True', actual: first.value }],
        ),
        ...base,
        results: [{ test: 'sat(answer) is True', passed: false }],
      },
      satResults,
      solMs,
    };
  }
  return {
    verdict: {
      status: 'passed',
      passed: true,
      testsPassed: 1,
      testsTotal: 1,
      durationMs: duration,
      feedback: `PASSED: sat(answer) is True for answer ${shown}.`,
      failures: [],
      results: [{ test: 'sat(answer) is True', passed: true }],
      ...base,
    },
    satResults,
    solMs,
  };
}

export function createVerifier(sandbox: Sandbox, options: VerifierOptions = {}): Verifier {
  const host: VerifyHost = { sandbox, limits: options.limits };
  return {
    verify: (task, candidate, signal) => verifyCandidate(host, task, candidate, signal),
    evaluate: (task, candidate, calls, signal) => evaluateCalls(host, task, candidate, calls, signal),
    judgePuzzle: (puzzle, solution, signal) =>
      auditPuzzle(host, puzzle, solution, { repeats: 1 }, signal).then((r) => r.verdict),
    auditPuzzle: (puzzle, solution, audit, signal) => auditPuzzle(host, puzzle, solution, audit, signal),
  };
}

/** One run of sat(answer) in the judge (self-play's determinism and speed checks). */
export interface SatResult {
  ok: boolean;
  value?: string;
  error?: string;
  ms: number;
}
