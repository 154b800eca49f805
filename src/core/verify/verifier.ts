// The Verifier: assembles harnessed programs, runs them in the sandbox, and decides Verdicts in this process.

import { randomBytes } from 'node:crypto';
import type { Limits, RunRequest, RunResult, Sandbox } from '../sandbox/types';
import type { Candidate, Puzzle, Task, TestFailure, Verdict, VerdictStatus } from '../types';
import type { PuzzleVerdict, Verifier } from './types';
import { buildPythonCall, buildPythonProgram, harnessCompileProgram, PYTHON_HARNESS_PRELUDE, type PythonPayload } from './pythonHarness';
import { buildJsProgram, rewriteJsTests } from './jsHarness';
import { collectReport, formatError, trimOutput, verdictFromRun, type ErrorInfo, type Leaf } from './report';
import { isCanon, matchesAnsType, renderCanon, type Canon } from './canonical';
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

export function createVerifier(sandbox: Sandbox, options: VerifierOptions = {}): Verifier {
  const limits = options.limits;

  async function runJob(language: 'python' | 'javascript', source: string, nonce: string, signal?: AbortSignal): Promise<RunResult> {
    return sandbox.run({ language, source, stdin: nonce + '\n', limits }, signal);
  }

  // A sandbox that keeps a compiled prelude per worker gets the harness as the prelude: each job then sends and
  // compiles only a one-line call. Otherwise every job carries the (marshalled) harness itself.
  const preludeSandbox = (sandbox as { supportsPrelude?: boolean }).supportsPrelude === true;
  function runPython(payload: PythonPayload, nonce: string, signal?: AbortSignal): Promise<RunResult> {
    if (preludeSandbox) {
      const request: RunRequest & { prelude: string } = {
        language: 'python', source: buildPythonCall(payload), prelude: PYTHON_HARNESS_PRELUDE, stdin: nonce + '\n', limits,
      };
      return sandbox.run(request, signal);
    }
    return python(payload).then((source) => runJob('python', source, nonce, signal));
  }

  // The harness compiled once by the sandbox's own Python (marshal is version-specific), then reused by every job.
  // Only our harness source runs in that job; if it fails, jobs carry the harness source instead.
  let compiled: Promise<string | undefined> | undefined;
  function compiledHarness(): Promise<string | undefined> {
    if (!compiled) {
      compiled = sandbox.run({ language: 'python', source: harnessCompileProgram(), limits }).then(
        (r) => {
          const line = r.report.trim();
          return r.status === 'exited' && r.exitCode === 0 && /^[A-Za-z0-9+/=]+$/.test(line) ? line : undefined;
        },
        () => undefined,
      );
    }
    return compiled;
  }
  async function python(payload: PythonPayload): Promise<string> {
    return buildPythonProgram(payload, await compiledHarness());
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
    const nonce = newNonce();
    let verdict: Verdict;
    if (task.language === 'python') {
      const code = candidateProgram(task, candidate);
      const run = await runPython({ mode: 'tests', code, tests, entryPoint: task.entryPoint }, nonce, signal);
      verdict = verdictFromRun(run, { nonce, files: { '<candidate>': code, '<tests>': tests }, style: { language: 'python' } });
    } else {
      const prepared = await jsSources(task, candidate, tests);
      if (!('code' in prepared)) return prepared;
      const source = buildJsProgram({ mode: 'tests', code: prepared.code, tests: prepared.tests });
      const run = await runJob('javascript', source, nonce, signal);
      verdict = verdictFromRun(run, { nonce, files: { 'candidate.js': prepared.code, 'tests.js': prepared.tests }, style: { language: 'javascript' }, plan: prepared.sites });
    }
    if (!tests.trim() && verdict.status === 'passed') {
      verdict = { ...verdict, testsPassed: 0, testsTotal: 0, feedback: 'PASSED: no tests; the program ran without error.' };
    }
    return verdict;
  }

  async function evaluate(task: Task, candidate: Candidate, calls: string[], signal?: AbortSignal): Promise<(string | null)[]> {
    const nonce = newNonce();
    let run: RunResult;
    if (task.language === 'python') {
      run = await runPython({ mode: 'evaluate', code: candidateProgram(task, candidate), calls }, nonce, signal);
    } else {
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
      run = await runJob('javascript', buildJsProgram({ mode: 'evaluate', code: prepared.code, tests: '', calls: jsCalls }), nonce, signal);
    }
    const { byKind, ended } = collectReport(run, nonce);
    const values = byKind.get('values')?.[0] as Leaf[] | undefined;
    if (!ended || !values) return calls.map(() => null);
    return calls.map((_, i) => {
      const leaf = values[i];
      return leaf && leaf[0] === 'ok' && isCanon(leaf[1]) ? JSON.stringify(leaf[1]) : null;
    });
  }

  async function judgePuzzle(puzzle: Puzzle, solution: string, signal?: AbortSignal): Promise<PuzzleVerdict> {
    const files = { '<candidate>': solution, '<puzzle>': puzzle.sat };
    // Job 1: run sol() and report its answer. Nothing else is trusted from this job.
    const n1 = newNonce();
    const run1 = await runPython({ mode: 'sol', code: solution }, n1, signal);
    const bad1 = abnormal(run1, 'while running sol()');
    if (bad1) return bad1;
    const r1 = collectReport(run1, n1);
    const cerr = (r1.byKind.get('cerror')?.[0] ?? r1.byKind.get('error')?.[0]) as ErrorInfo | undefined;
    if (cerr) {
      return withOutput(errorVerdict(r1.byKind.has('cerror') ? 'error' : 'failed', `FAILED: sol() raised:\n${formatError(cerr, files)}`, run1.durationMs,
        [{ test: 'sol()', error: cerr.error }]), run1);
    }
    const answerLeaf = r1.byKind.get('answer')?.[0] as Leaf | undefined;
    if (!r1.ended || !answerLeaf) {
      return withOutput(errorVerdict('error', `ERROR: the program stopped before sol() returned (exit code ${run1.exitCode ?? run1.signal}); code that exits the process cannot pass.`, run1.durationMs), run1);
    }
    if (answerLeaf[0] !== 'ok' || !isCanon(answerLeaf[1])) {
      const why = answerLeaf[0] === 'bad' ? String(answerLeaf[1]) : 'malformed answer';
      return withOutput(errorVerdict('failed', `FAILED: the answer of sol() cannot be checked: ${why}.`, run1.durationMs, [{ test: 'sol()', error: why }]), run1);
    }
    const answer: Canon = answerLeaf[1];
    const answerText = JSON.stringify(answer);
    const typeOk = matchesAnsType(answer, puzzle.ansType);
    if (typeOk !== true) {
      const msg = typeOk === false ? `the answer ${renderCanon(answer, 120)} is not a ${puzzle.ansType}` : typeOk;
      return { ...errorVerdict(typeOk === false ? 'failed' : 'error', `FAILED: ${msg}.`, run1.durationMs, [{ test: `isinstance(answer, ${puzzle.ansType})`, expected: puzzle.ansType, actual: renderCanon(answer, 120) }]), answer: answerText };
    }
    // Job 2: a clean process where candidate code never ran: sat(answer) is True?
    const n2 = newNonce();
    const run2 = await runPython({ mode: 'sat', code: puzzle.sat, answer: answerText }, n2, signal);
    const bad2 = abnormal(run2, 'while checking sat(answer)');
    if (bad2) return { ...bad2, durationMs: Math.round(run1.durationMs + run2.durationMs), answer: answerText };
    const r2 = collectReport(run2, n2);
    const serr = r2.byKind.get('error')?.[0] as ErrorInfo | undefined;
    const satLeaf = r2.byKind.get('sat')?.[0] as Leaf | undefined;
    const duration = Math.round(run1.durationMs + run2.durationMs);
    if (serr) {
      return { ...errorVerdict('failed', `FAILED: sat(answer) raised for answer ${renderCanon(answer, 200)}:\n${formatError(serr, files)}`, duration, [{ test: 'sat(answer)', actual: renderCanon(answer, 200), error: serr.error }]), answer: answerText };
    }
    if (!r2.ended || !satLeaf) return { ...errorVerdict('error', 'ERROR: the puzzle check did not finish.', duration), answer: answerText };
    const ok = satLeaf[0] === 'ok' && isCanon(satLeaf[1]) && satLeaf[1][0] === 'bool' && satLeaf[1][1] === true;
    if (!ok) {
      const got = satLeaf[0] === 'ok' && isCanon(satLeaf[1]) ? renderCanon(satLeaf[1], 100) : 'a value that is not True';
      return { ...errorVerdict('failed', `FAILED: sat(answer) returned ${got}, not True, for answer ${renderCanon(answer, 200)}.`, duration,
        [{ test: 'sat(answer) is True', expected: 'True', actual: got }]), answer: answerText, results: [{ test: 'sat(answer) is True', passed: false }] };
    }
    return {
      status: 'passed', passed: true, testsPassed: 1, testsTotal: 1, durationMs: duration,
      feedback: `PASSED: sat(answer) is True for answer ${renderCanon(answer, 200)}.`, failures: [],
      results: [{ test: 'sat(answer) is True', passed: true }], answer: answerText,
    };
  }

  return { verify, evaluate, judgePuzzle };
}
