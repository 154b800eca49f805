// The Verifier: runs each Candidate against its Task's tests as a pair job (a candidate process and a judge
// process, docs/verdict.md) and turns the judge's report into a Verdict. Python verdicts, puzzles and
// evaluations all go through the judge; nothing the candidate's process says is trusted.

import type { JudgeSpec, Limits, PairResult, RunResult, Sandbox } from '../sandbox/types';
import type { Candidate, Puzzle, Task, TestFailure, Verdict, VerdictStatus } from '../types';
import type { PuzzleAudit, PuzzleVerdict, Verifier } from './types';
import { trimOutput } from './judgeReport';
import { isCanon, renderCanon, type Canon } from './canonical';
import { formatFrames, parseJudgeReport, verdictFromPair } from './judgeReport';
import { transpileTypeScript } from '../sandbox/processSandbox';

export interface VerifierOptions {
  limits?: Partial<Limits>;
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

  function pythonPair(code: string, spec: JudgeSpec, signal?: AbortSignal): Promise<PairResult> {
    return sandbox.runPair({ language: 'python', candidate: code, spec, limits }, signal);
  }

  /** JavaScript/TypeScript sources as the runtimes take them: CommonJS (esbuild for TypeScript and ES modules). */
  async function jsSources(task: Task, candidate: Candidate, tests: string): Promise<{ code: string; tests: string; context: string } | Verdict> {
    let code = candidateProgram(task, candidate);
    let testSrc = tests;
    let context = trustedContext(task);
    const esm = /^\s*(import\s*[\w*{'"]|export\s)/m;
    if (task.language === 'typescript' || esm.test(code) || esm.test(testSrc)) {
      const c = await transpileTypeScript(code);
      if ('error' in c) return errorVerdict('error', `The candidate does not compile as TypeScript:\n${c.error.replace(/main\.ts/g, 'candidate.ts')}`);
      code = c.code;
      const t = await transpileTypeScript(testSrc);
      if ('error' in t) return errorVerdict('error', `The tests do not compile as TypeScript:\n${t.error.replace(/main\.ts/g, 'tests.ts')}`);
      testSrc = t.code;
      if (context) {
        const x = await transpileTypeScript(context);
        context = 'code' in x ? x.code : '';
      }
    }
    return { code, tests: testSrc, context };
  }

  function pair(task: Task, code: string, spec: JudgeSpec, signal?: AbortSignal): Promise<PairResult> {
    const language = task.language === 'python' ? 'python' : 'javascript';
    return sandbox.runPair({ language, candidate: code, spec, limits }, signal);
  }

  async function verify(task: Task, candidate: Candidate, signal?: AbortSignal): Promise<Verdict> {
    const tests = task.tests ?? '';
    const entryPoints = task.entryPoint ? [task.entryPoint] : [];
    if (task.language === 'python') {
      const code = candidateProgram(task, candidate);
      const run = await pair(task, code, { mode: 'tests', tests, context: trustedContext(task), entryPoints }, signal);
      return verdictFromPair(run, { candidateSource: code, noTests: !tests.trim() });
    }
    const prepared = await jsSources(task, candidate, tests);
    if (!('code' in prepared)) return prepared;
    const run = await pair(task, prepared.code, { mode: 'tests', tests: prepared.tests, context: prepared.context, entryPoints }, signal);
    return verdictFromPair(run, { candidateSource: prepared.code, noTests: !tests.trim() });
  }

  async function evaluate(task: Task, candidate: Candidate, calls: string[], signal?: AbortSignal): Promise<(string | null)[]> {
    const entryPoints = task.entryPoint ? [task.entryPoint] : [];
    let code = candidateProgram(task, candidate);
    let context = trustedContext(task);
    let jsCalls = calls;
    if (task.language !== 'python') {
      const prepared = await jsSources({ ...task, tests: '' }, candidate, '');
      if (!('code' in prepared)) return calls.map(() => null);
      code = prepared.code;
      context = prepared.context;
      if (task.language === 'typescript') {
        jsCalls = [];
        for (const c of calls) {
          const t = await transpileTypeScript(`(${c})`);
          jsCalls.push('code' in t ? t.code.replace(/;\s*$/, '') : 'undefined');
        }
      }
    }
    const run = await pair(task, code, { mode: 'evaluate', calls: jsCalls, context, entryPoints }, signal);
    const values = parseJudgeReport(run.report).lines.find((l) => l.t === 'values')?.values;
    if (run.status !== 'exited' || !Array.isArray(values)) return calls.map(() => null);
    return calls.map((_, i) => (typeof values[i] === 'string' ? (values[i] as string) : null));
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
