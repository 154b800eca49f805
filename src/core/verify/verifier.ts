// The Verifier: runs each Candidate against its Task's tests as a pair job (a candidate process and a judge
// process, docs/verdict.md) and turns the judge's report into a Verdict. Python verdicts, puzzles and
// evaluations all go through the judge; nothing the candidate's process says is trusted.

import { randomBytes } from 'node:crypto';
import type { JudgeSpec, Limits, PairResult, RunResult, Sandbox } from '../sandbox/types';
import type { Candidate, Puzzle, Task, TestFailure, Verdict, VerdictStatus } from '../types';
import type { PuzzleAudit, PuzzleVerdict, Verifier } from './types';
import { buildJsProgram, rewriteJsTests } from './jsHarness';
import { collectReport, trimOutput, verdictFromRun, type Leaf } from './report';
import { isCanon, renderCanon, type Canon } from './canonical';
import { formatFrames, parseJudgeReport, verdictFromPair } from './judgeReport';
import { transpileTypeScript } from '../sandbox/processSandbox';

export interface VerifierOptions {
  limits?: Partial<Limits>;
}

function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/** The candidate's whole program: context, then the code (or prompt + completion for continuation-style tasks). */
export function candidateProgram(task: Task, candidate: Candidate): string {
  const body = task.completionStyle === 'continuation' ? task.prompt + candidate.code : candidate.code;
  return task.context ? `${task.context}\n${body}` : body;
}

function errorVerdict(status: VerdictStatus, message: string, durationMs = 0, failures: TestFailure[] = []): Verdict {
  return { status, passed: false, testsPassed: 0, testsTotal: 1, durationMs: Math.round(durationMs), feedback: message, failures };
}

const LIMIT_TEXT: { [k: string]: [VerdictStatus, string] } = {
  timeout: ['timeout', 'Timeout: the program did not finish within the time limit.'],
  memory: ['memory', 'Memory limit: the program used more memory than allowed.'],
  output_limit: ['output_limit', 'Output limit: the program wrote more output than allowed.'],
};

/** Maps a run that did not end normally to a Verdict, or returns undefined when the run ended normally. */
function abnormal(run: RunResult, what: string): Verdict | undefined {
  const lim = LIMIT_TEXT[run.status];
  if (lim) return withOutput(errorVerdict(lim[0], `${lim[1]} (${what})`, run.durationMs), run);
  if (run.status === 'error') return errorVerdict('error', `Sandbox error: ${run.error ?? 'the sandbox could not run the program'}.`, run.durationMs);
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

export function createVerifier(sandbox: Sandbox, options: VerifierOptions = {}): Verifier {
  const limits = options.limits;

  async function runJob(language: 'python' | 'javascript', source: string, nonce: string, signal?: AbortSignal): Promise<RunResult> {
    return sandbox.run({ language, source, stdin: nonce + '\n', limits }, signal);
  }

  function pythonPair(code: string, spec: JudgeSpec, signal?: AbortSignal): Promise<PairResult> {
    return sandbox.runPair({ language: 'python', candidate: code, spec, limits }, signal);
  }

  async function jsSources(task: Task, candidate: Candidate, tests: string): Promise<{ code: string; tests: string; sites: ReturnType<typeof rewriteJsTests>['sites'] } | Verdict> {
    let code = candidateProgram(task, candidate);
    let rewritten;
    try {
      rewritten = rewriteJsTests(tests);
    } catch (e) {
      return errorVerdict('error', `The tests cannot be prepared: ${(e as Error).message}.`);
    }
    let testSrc = rewritten.source;
    // TypeScript always, and JavaScript written as an ES module (import/export), go through esbuild to CommonJS.
    const esm = /^\s*(import\s*[\w*{'"]|export\s)/m;
    if (task.language === 'typescript' || esm.test(code) || esm.test(testSrc)) {
      const c = await transpileTypeScript(code);
      if ('error' in c) return errorVerdict('error', `The candidate does not compile as TypeScript:\n${c.error.replace(/main\.ts/g, 'candidate.ts')}`);
      code = c.code;
      const t = await transpileTypeScript(testSrc);
      if ('error' in t) return errorVerdict('error', `The tests do not compile as TypeScript:\n${t.error.replace(/main\.ts/g, 'tests.ts')}`);
      testSrc = t.code;
    }
    // Tests that await run inside an async function (same first line, so line numbers hold); the harness waits for it.
    if (/\bawait\b/.test(testSrc)) testSrc = `return (async () => { ${testSrc}\n})();`;
    return { code, tests: testSrc, sites: rewritten.sites };
  }

  async function verify(task: Task, candidate: Candidate, signal?: AbortSignal): Promise<Verdict> {
    const tests = task.tests ?? '';
    if (task.language === 'python') {
      const code = candidateProgram(task, candidate);
      const spec: JudgeSpec = { mode: 'tests', tests, context: trustedContext(task), entryPoints: task.entryPoint ? [task.entryPoint] : [] };
      const run = await pythonPair(code, spec, signal);
      return verdictFromPair(run, { candidateSource: code, noTests: !tests.trim() });
    }
    const nonce = newNonce();
    const prepared = await jsSources(task, candidate, tests);
    if (!('code' in prepared)) return prepared;
    const source = buildJsProgram({ mode: 'tests', code: prepared.code, tests: prepared.tests });
    const run = await runJob('javascript', source, nonce, signal);
    let verdict = verdictFromRun(run, { nonce, files: { 'candidate.js': prepared.code, 'tests.js': prepared.tests }, style: { language: 'javascript' }, plan: prepared.sites });
    if (!tests.trim() && verdict.status === 'passed') {
      verdict = { ...verdict, testsPassed: 0, testsTotal: 0, feedback: 'PASSED: no tests; the program ran without error.' };
    }
    return verdict;
  }

  async function evaluate(task: Task, candidate: Candidate, calls: string[], signal?: AbortSignal): Promise<(string | null)[]> {
    if (task.language === 'python') {
      const spec: JudgeSpec = { mode: 'evaluate', calls, context: trustedContext(task), entryPoints: task.entryPoint ? [task.entryPoint] : [] };
      const run = await pythonPair(candidateProgram(task, candidate), spec, signal);
      const values = parseJudgeReport(run.report).lines.find((l) => l.t === 'values')?.values;
      if (run.status !== 'exited' || !Array.isArray(values)) return calls.map(() => null);
      return calls.map((_, i) => (typeof values[i] === 'string' ? (values[i] as string) : null));
    }
    const nonce = newNonce();
    const prepared = await jsSources({ ...task, tests: '' }, candidate, '');
    if (!('code' in prepared)) return calls.map(() => null);
    let jsCalls = calls;
    if (task.language === 'typescript') {
      jsCalls = [];
      for (const c of calls) {
        const t = await transpileTypeScript(`(${c})`);
        jsCalls.push('code' in t ? t.code.replace(/;\s*$/, '') : 'undefined');
      }
    }
    const run = await runJob('javascript', buildJsProgram({ mode: 'evaluate', code: prepared.code, tests: '', calls: jsCalls }), nonce, signal);
    const { byKind, ended } = collectReport(run, nonce);
    const values = byKind.get('values')?.[0] as Leaf[] | undefined;
    if (!ended || !values) return calls.map(() => null);
    return calls.map((_, i) => {
      const leaf = values[i];
      return leaf && leaf[0] === 'ok' && isCanon(leaf[1]) ? JSON.stringify(leaf[1]) : null;
    });
  }

  async function judgePuzzle(puzzle: Puzzle, solution: string, signal?: AbortSignal): Promise<PuzzleVerdict> {
    return judgePuzzleRun(puzzle, solution, { repeats: 1 }, signal).then((r) => r.verdict);
  }

  async function judgePuzzleRun(puzzle: Puzzle, solution: string, audit: { repeats: number; satTimeoutMs?: number }, signal?: AbortSignal): Promise<PuzzleAudit> {
    // sol() runs in the candidate process; the type check and sat(answer) run in the judge, on the answer as data.
    const { repeats, satTimeoutMs } = audit;
    const spec: JudgeSpec = { mode: repeats > 1 ? 'audit' : 'puzzle', sat: puzzle.sat, ansType: puzzle.ansType, entryPoints: ['sol'], repeats, ...(satTimeoutMs ? { satTimeoutMs } : {}) };
    const run = await pythonPair(solution, spec, signal);
    const rep = parseJudgeReport(run.report);
    const duration = Math.round(run.durationMs);
    const bad = abnormal(run, 'while judging the puzzle');
    if (bad) return { verdict: bad, satResults: [] };
    if (rep.load) {
      const err = String(rep.load.error ?? 'the solution failed to load');
      return { verdict: errorVerdict(/^(SyntaxError|IndentationError)/.test(err) ? 'error' : 'failed', `FAILED: the solution raised ${err} while loading.`, duration, [{ test: 'sol()', error: err }]), satResults: [] };
    }
    if (rep.fatal) {
      const where = rep.fatal.where;
      const msg = String(rep.fatal.error ?? 'the judge failed');
      return { verdict: withOutput(errorVerdict(where === 'candidate' ? 'failed' : 'error', `${where === 'candidate' ? 'FAILED' : 'ERROR'}: ${msg}.`, duration, [{ test: 'sol()', error: msg }]), run), satResults: [] };
    }
    const ans = rep.lines.find((l) => l.t === 'answer');
    if (!rep.ended || !ans) {
      return { verdict: withOutput(errorVerdict('error', 'ERROR: the judge stopped before sol() returned; a run that does not finish cannot pass.', duration), run), satResults: [] };
    }
    if (ans.ok !== true) {
      const err = String(ans.error ?? 'sol() failed');
      const frames = formatFrames(ans.frames, solution);
      return { verdict: withOutput(errorVerdict('failed', `FAILED: sol() raised:\n${[err, ...frames].join('\n')}`, duration, [{ test: 'sol()', error: err }]), run), satResults: [] };
    }
    const canon = ans.canon as Canon | null;
    const answerText = canon ? JSON.stringify(canon) : undefined;
    const shown = canon && isCanon(canon) ? renderCanon(canon, 200) : String(ans.repr ?? '?');
    if (ans.type_ok !== true) {
      const msg = typeof ans.type_ok === 'string' ? ans.type_ok : `the answer ${shown} is not a ${puzzle.ansType}`;
      return {
        verdict: { ...errorVerdict(typeof ans.type_ok === 'string' ? 'error' : 'failed', `FAILED: ${msg}.`, duration, [{ test: `isinstance(answer, ${puzzle.ansType})`, expected: puzzle.ansType, actual: shown }]), ...(answerText ? { answer: answerText } : {}) },
        satResults: [],
        solMs: Number(ans.ms) || undefined,
      };
    }
    const satLine = rep.lines.find((l) => l.t === 'sat');
    const satResults = (Array.isArray(satLine?.results) ? satLine!.results : []) as SatResult[];
    const first = satResults[0];
    const base = { ...(answerText ? { answer: answerText } : {}) };
    if (!first) return { verdict: { ...errorVerdict('error', 'ERROR: the puzzle check did not finish.', duration), ...base }, satResults };
    if (first.error) {
      return { verdict: { ...errorVerdict('failed', `FAILED: sat(answer) raised for answer ${shown}:\n${first.error}`, duration, [{ test: 'sat(answer)', actual: shown, error: first.error }]), ...base }, satResults, solMs: Number(ans.ms) || undefined };
    }
    if (!first.ok) {
      return {
        verdict: { ...errorVerdict('failed', `FAILED: sat(answer) returned ${first.value ?? '?'}, not True, for answer ${shown}.`, duration, [{ test: 'sat(answer) is True', expected: 'True', actual: first.value }]), ...base, results: [{ test: 'sat(answer) is True', passed: false }] },
        satResults,
        solMs: Number(ans.ms) || undefined,
      };
    }
    return {
      verdict: {
        status: 'passed', passed: true, testsPassed: 1, testsTotal: 1, durationMs: duration,
        feedback: `PASSED: sat(answer) is True for answer ${shown}.`, failures: [],
        results: [{ test: 'sat(answer) is True', passed: true }], ...base,
      },
      satResults,
      solMs: Number(ans.ms) || undefined,
    };
  }

  return { verify, evaluate, judgePuzzle, auditPuzzle: judgePuzzleRun };
}

/** One run of sat(answer) in the judge (self-play's determinism and speed checks). */
export interface SatResult {
  ok: boolean;
  value?: string;
  error?: string;
  ms: number;
}
