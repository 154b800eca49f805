// The self-correcting loop: sample k candidates, verify each, and while none passes, take the most
// promising failures through critique (from the execution feedback) and refine, until a candidate is
// verified or the Budget ends. Never throws for model, server or sandbox faults: they end the
// Outcome with stopReason 'error' and a message that names the fix.

import { setMaxListeners } from 'node:events';
import { SandboxFailure, sandboxErrorOf } from './infra';
import type { ChatMessage, GenerationOptions } from '../model/types';
import { isModelError } from '../model/errors';
import { Limiter } from '../model/limiter';
import { extractCode } from '../model/extract';
import { fitPrompt } from '../model/promptBudget';
import { checkSyntax } from '../parse/syntax';
import type {
  Attempt,
  Candidate,
  DistinguishingInput,
  Outcome,
  Task,
  TestEvidence,
  TestFailure,
  Usage,
  Verdict,
} from '../types';
import {
  assertParts,
  contradictsExamples,
  crossCheckPrograms,
  distinguishingCalls,
  examplesOf,
  extraCalls,
  judgedChoice,
  parseAsserts,
  programIds,
  testsSource,
  valueSource,
} from './generatedTests';
import {
  critiqueInstruction,
  distinguishPrompt,
  judgeOutputPrompt,
  noCodeInstruction,
  refineInstruction,
  sampleInstruction,
  sampleInstructionEdgeCases,
  systemPrompt,
  taskPrompt,
  testsPrompt,
  testsPromptWorked,
} from './prompts';
import { definesEntryPoint, solutionOf, taskForCode } from './placement';
import { choosePassing, rankFailures } from './select';
import { failingCall, formatTrace, traceRun } from './trace';
import type { SolveDeps, SolveEvent, SolveOptions } from './types';
import { failedVerdict } from './verdict';

/** Feedback for an answer with no code in it. */
export const NO_CODE_FEEDBACK = 'no code block found';

/** Context length assumed when the server cannot tell and no num_ctx is configured. */
const FALLBACK_CONTEXT = 4096;
/** Tokens kept free for the answer when num_predict is not set. */
const FALLBACK_ANSWER_TOKENS = 1024;
/** How many asserts the model is asked for when the task has none (first prompt style; the second asks for half). */
const GENERATED_TEST_COUNT = 8;
/** An answer left empty by the token limit is asked for once more with this many times the limit. */
const EMPTY_RETRY_BOOST = 4;
/** After an answer was cut at the token limit, later requests get this many times the limit. */
const LENGTH_CUT_BOOST = 2;
/** Added to a refine instruction when the parent answer was cut at the token limit. */
const CUT_INSTRUCTION =
  'Your previous answer was cut off at the token limit before it was complete. Reply with only the complete code, no explanation.';

/** One answered model request, as the loop uses it. */
interface Reply {
  text: string;
  usage: Usage;
  reasoning?: string;
  doneReason?: string;
  /** The token limit it was sent with, when one was sent. */
  limit?: number;
}
/** Inputs asked for, and outputs judged, per S* comparison. */
const DISTINGUISH_INPUTS = 4;
const DISTINGUISH_JUDGED = 3;

/** Why the loop is unwinding. */
class Stop extends Error {
  constructor(readonly reason: 'cancelled' | 'budget') {
    super(reason);
  }
}

/**
 * True when test code can fail at all: it asserts, raises/throws, or calls a HumanEval-style check().
 * A test file holding only comments, `pass` or prints would "pass" every candidate.
 */
export function containsChecks(tests: string, language: Task['language']): boolean {
  const code = language === 'python' ? tests.replace(/#.*$/gm, '') : tests.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  return language === 'python'
    ? /\b(assert|raise)\b|\bcheck\s*\(|\.assert\w*\s*\(|\bunittest\b|\bdoctest\b/.test(code)
    : /\bassert\b|\bthrow\b|\bexpect\s*\(/.test(code);
}

// ---------------------------------------------------------------------------------------------

function addUsage(total: Usage, u: Usage | undefined): void {
  if (!u) return;
  total.promptTokens += u.promptTokens;
  total.completionTokens += u.completionTokens;
  total.durationMs += u.durationMs;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Resolves or rejects with `promise`, or rejects with `Stop` as soon as `signal` aborts (the promise runs on, ignored). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, reason: () => Stop): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(reason());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

interface GeneratedTests {
  asserts: string[];
  /** Per attempt id: pass/fail per assert. */
  results: Map<string, boolean[]>;
  kept: number[];
  /** Per attempt id: outputs on the probe calls (one string), undefined when they could not be run. */
  probes: Map<string, string | undefined>;
  /** Probe inputs: the calls of the tests and the examples, and variants of them. */
  calls: string[];
  /** Generated tests left out because they contradict the task's own examples. */
  contradicting: number;
  /** Per attempt id: its code (known before the attempt joins the trace). */
  codes: Map<string, string>;
}

/** An input on which two candidates' outputs (as JSON, null when it raised) differ. */
interface Difference {
  call: string;
  outA: string | null;
  outB: string | null;
}

/** The inputs among `calls` where two candidates' recorded outputs (JSON arrays, one per call) differ. */
function knownDifferences(sigA: string | undefined, sigB: string | undefined, calls: string[]): Difference[] {
  if (sigA === undefined || sigB === undefined || sigA === sigB) return [];
  const outsA = JSON.parse(sigA) as (string | null)[];
  const outsB = JSON.parse(sigB) as (string | null)[];
  return calls
    .map((call, k) => ({ call, outA: outsA[k] ?? null, outB: outsB[k] ?? null }))
    .filter((d) => d.outA !== d.outB);
}

/** One solve in progress. */
class SolveRun {
  private readonly now: () => number;
  private readonly started: number;
  private readonly attempts: Attempt[] = [];
  private readonly usage: Usage = { promptTokens: 0, completionTokens: 0, durationMs: 0 };
  private readonly notes: string[] = [];
  private readonly control = new AbortController();
  private stopCause: 'cancelled' | 'budget' | undefined;
  private wallTimer: ReturnType<typeof setTimeout> | undefined;
  private candidateSeq = 0;
  private rounds = 0;
  private modelName: string | undefined;
  private contextLength = FALLBACK_CONTEXT;
  /** Model requests in flight at once (this solve's share of crucible.request.maxParallel). */
  private readonly limiter: Limiter;
  private generated: GeneratedTests | undefined;
  /** While the model writes tests, candidates wait for them before they are verified. */
  private testsReady: Promise<void> | undefined;
  private syntaxAvailable = true;
  private task: Task;
  /** Model requests that were answered, and the last one that failed (a failed request is a failed sample). */
  private answered = 0;
  private failedRequests = 0;
  private lastFailure: unknown;
  /** Multiplies num_predict after an answer was cut at the token limit, so the next ones are not cut at the same place. */
  private predictBoost = 1;
  /** A passing candidate that nothing independent confirms (every candidate was the same program). */
  private unconfirmed: Attempt | undefined;
  private readonly distinguishing: DistinguishingInput[] = [];
  /** Candidate pairs already compared by S* (ids joined), so a pair costs requests once. */
  private readonly compared = new Map<string, string>();
  private evidence: TestEvidence | undefined;
  private readonly baseSeed: number;
  private sampleSeq = 0;
  private traceWarned = false;

  constructor(
    task: Task,
    private readonly deps: SolveDeps,
    private readonly options: SolveOptions,
  ) {
    this.task = task;
    this.now = deps.now ?? Date.now;
    this.started = this.now();
    const parallel = deps.model.settings.maxParallel;
    this.limiter = new Limiter(Number.isFinite(parallel) && parallel >= 1 ? Math.floor(parallel) : 1);
    const seed = deps.model.settings.options.seed;
    this.baseSeed = typeof seed === 'number' ? seed : Math.floor(Math.random() * 1_000_000);
    // Every request and sandbox run in flight listens for the abort; many may be in flight at once.
    setMaxListeners(0, this.control.signal);
  }

  private emit(event: SolveEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A broken listener must not break the solve.
    }
  }

  private note(message: string): void {
    if (this.notes.includes(message)) return;
    this.notes.push(message);
    this.emit({ kind: 'note', message });
  }

  private get signal(): AbortSignal {
    return this.control.signal;
  }

  private stopReason(): Stop {
    return new Stop(this.stopCause ?? 'cancelled');
  }

  /** Throws Stop when the solve must end before spending more (cancelled, wall time or tokens used up). */
  private checkBudget(): void {
    if (this.signal.aborted) throw this.stopReason();
    const { maxTokens } = this.options.budget;
    if (maxTokens > 0 && this.usage.completionTokens >= maxTokens) {
      this.stopCause ??= 'budget';
      this.note(`token budget used up: ${this.usage.completionTokens} of ${maxTokens} completion tokens`);
      throw new Stop('budget');
    }
  }

  /** The answer's token limit for the next request: the configured one, raised after length cuts, within the token budget. */
  private generationOptions(boost = 1): GenerationOptions | undefined {
    const { maxTokens } = this.options.budget;
    const configured = this.deps.model.settings.options.num_predict;
    const factor = this.predictBoost * boost;
    const base = configured && configured > 0 ? configured : factor > 1 ? FALLBACK_ANSWER_TOKENS : undefined;
    const raised = base !== undefined ? base * factor : undefined;
    if (maxTokens <= 0) return factor > 1 && raised !== undefined ? { num_predict: raised } : undefined;
    const left = Math.max(1, maxTokens - this.usage.completionTokens);
    return { num_predict: raised !== undefined ? Math.min(raised, left) : left };
  }

  private reserveForAnswer(): number {
    const p = this.deps.model.settings.options.num_predict;
    return p && p > 0 ? p : FALLBACK_ANSWER_TOKENS;
  }

  private messages(history: { code: string; feedback: string }[], instruction: string): ChatMessage[] {
    const fitted = fitPrompt(
      { system: systemPrompt(this.task.language), task: taskPrompt(this.task), history, instruction },
      this.contextLength,
      this.reserveForAnswer(),
    );
    for (const n of fitted.notes) this.note(n);
    return fitted.messages;
  }

  /**
   * One model request, holding a parallelism slot; tokens are streamed as events. An answer that is empty
   * because the token limit was used up (often by thinking) is asked for once more with a larger limit.
   * Tokens spent by failed requests count against the budget too.
   */
  private async chat(
    messages: ChatMessage[],
    signal: AbortSignal,
    round: number,
    index: number,
    extra?: GenerationOptions,
  ): Promise<Reply> {
    try {
      return await this.chatOnce(messages, signal, round, index, 1, extra);
    } catch (err) {
      if (!isModelError(err) || !err.lengthCut || signal.aborted) throw err;
      const limit = this.generationOptions(EMPTY_RETRY_BOOST)?.num_predict;
      this.note(
        `an answer was empty because it used up the token limit${/thinking/.test(err.message) ? ' while thinking' : ''}; that sample was asked for once more with a limit of ${limit ?? 'several times the'} tokens`,
      );
      return this.chatOnce(messages, signal, round, index, EMPTY_RETRY_BOOST, extra);
    }
  }

  private async chatOnce(
    messages: ChatMessage[],
    signal: AbortSignal,
    round: number,
    index: number,
    boost: number,
    extra?: GenerationOptions,
  ): Promise<Reply> {
    this.checkBudget();
    // Waiting for a slot ends with the stop reason as soon as the solve is stopped.
    return this.limiter.run(
      () => this.request(messages, signal, round, index, boost, extra),
      signal,
      () => this.stopReason(),
    );
  }

  /** The request itself, once it holds a slot. */
  private async request(
    messages: ChatMessage[],
    signal: AbortSignal,
    round: number,
    index: number,
    boost: number,
    extra?: GenerationOptions,
  ): Promise<Reply> {
    try {
      this.checkBudget();
      if (signal.aborted) throw this.stopReason();
      const budgeted = this.generationOptions(boost);
      const opts = extra || budgeted ? { ...(extra ?? {}), ...(budgeted ?? {}) } : undefined;
      const result = await raceAbort(
        this.deps.model.chat({
          messages,
          ...(opts ? { options: opts } : {}),
          signal,
          affinity: this.task.id,
          onToken: (text) => this.emit({ kind: 'token', round, index, text }),
        }),
        signal,
        () => this.stopReason(),
      );
      addUsage(this.usage, result.usage);
      this.answered++;
      this.modelName ??= result.model;
      if (result.truncated) this.note(`round ${round}, answer ${index + 1}: ${result.truncated}`);
      return {
        text: result.text,
        usage: result.usage,
        ...(result.reasoning ? { reasoning: result.reasoning } : {}),
        ...(result.doneReason ? { doneReason: result.doneReason } : {}),
        ...((opts?.num_predict ?? this.deps.model.settings.options.num_predict) !== undefined
          ? { limit: opts?.num_predict ?? this.deps.model.settings.options.num_predict }
          : {}),
      };
    } catch (err) {
      if (isModelError(err) && err.usage) addUsage(this.usage, err.usage);
      if (signal.aborted) throw err instanceof Stop ? err : this.stopReason();
      throw err;
    }
  }

  // -------------------------------------------------------------------------------------------

  async run(): Promise<Outcome> {
    const outer = this.options.signal;
    const onOuterAbort = (): void => {
      this.stopCause ??= 'cancelled';
      this.control.abort();
    };
    if (outer?.aborted) onOuterAbort();
    else outer?.addEventListener('abort', onOuterAbort, { once: true });
    const { wallMs } = this.options.budget;
    if (wallMs > 0) {
      this.wallTimer = setTimeout(() => {
        if (!this.stopCause) this.note(`wall-time budget used up: ${wallMs} ms`);
        this.stopCause ??= 'budget';
        this.control.abort();
      }, wallMs);
    }
    let stopReason: Outcome['stopReason'];
    let error: string | undefined;
    let sandboxFailed = false;
    let best: Attempt | undefined;
    try {
      best = await this.loop();
      stopReason = best?.verdict.passed ? 'verified' : 'budget';
    } catch (err) {
      if (err instanceof Stop) stopReason = err.reason;
      else if (this.signal.aborted && this.stopCause) stopReason = this.stopCause;
      else {
        stopReason = 'error';
        error = errorText(err);
        sandboxFailed = err instanceof SandboxFailure;
      }
    } finally {
      if (this.wallTimer) clearTimeout(this.wallTimer);
      outer?.removeEventListener('abort', onOuterAbort);
      this.control.abort(); // release anything still in flight
    }
    if (!best || !best.verdict.passed) best = this.unconfirmed ?? this.bestSoFar();
    const unconfirmed = best !== undefined && best === this.unconfirmed;
    const verified = best?.verdict.passed === true && !unconfirmed;
    if (unconfirmed) {
      this.note(
        'unconfirmed: the best candidate passes every kept generated test, but every candidate was the same program, so nothing independent of the model confirms it; not verified',
      );
    }
    if (this.generated) this.evidence = this.evidenceFor(best);
    if (verified) stopReason = 'verified';
    else if (stopReason === 'verified') stopReason = 'budget';
    const outcome: Outcome = {
      task: this.task,
      verified,
      verifiedByGeneratedTests: verified && this.task.testsOrigin === 'generated',
      ...(best ? { best } : {}),
      attempts: this.attempts,
      rounds: this.rounds,
      stopReason,
      ...(error !== undefined ? { error } : {}),
      ...(sandboxFailed ? { sandboxFailed: true as const } : {}),
      usage: { ...this.usage },
      durationMs: this.now() - this.started,
      ...((this.modelName ?? this.deps.model.settings.model)
        ? { model: this.modelName ?? this.deps.model.settings.model }
        : {}),
      notes: this.notes,
      ...(this.evidence ? { evidence: this.evidence } : {}),
      ...(unconfirmed ? { unconfirmed: true } : {}),
      ...(this.distinguishing.length > 0 ? { distinguishing: this.distinguishing } : {}),
    };
    this.emit({ kind: 'done', outcome });
    return outcome;
  }

  private bestSoFar(): Attempt | undefined {
    if (this.attempts.length === 0) return undefined;
    if (this.generated) {
      const ranked = this.rankedByGenerated();
      return ranked[0];
    }
    return rankFailures(this.attempts)[0];
  }

  private async loop(): Promise<Attempt | undefined> {
    const task = this.task;
    const budget = this.options.budget;
    const samples = Math.max(1, Math.floor(budget.samples));
    const hasTests =
      task.tests.trim() !== '' && task.testsOrigin !== 'none' && containsChecks(task.tests, task.language);
    if (task.tests.trim() !== '' && task.testsOrigin !== 'none' && !hasTests) {
      this.note(
        "the task's tests contain no check (no assert, raise, throw or check() call), so they cannot verify anything; treated as a task without tests",
      );
    }
    const wantGenerated = !hasTests && this.options.generateTests !== false;
    if (!hasTests && !wantGenerated) {
      throw new Error(
        `Task ${task.id} has no tests, so no candidate can be verified: add assert lines or doctest examples, or allow generated tests (crucible.tests.generateWhenMissing).`,
      );
    }

    const ctx = await raceAbort(
      this.deps.model.contextLength(undefined, this.signal).catch((err: unknown) => {
        // No server or no such model: nothing else will work either, and the message names the fix.
        if (isModelError(err, 'unreachable') || isModelError(err, 'model_missing')) throw err;
        return undefined; // otherwise fall back to a conservative window
      }),
      this.signal,
      () => this.stopReason(),
    );
    const configured = this.deps.model.settings.options.num_ctx;
    this.contextLength = configured && configured > 0 ? configured : (ctx ?? FALLBACK_CONTEXT);
    if (hasTests) this.emit({ kind: 'tests', origin: 'user', count: countTests(task) });

    // Round 0: k samples (and, when the task has no tests, a request for tests alongside).
    this.rounds = 1;
    this.emit({ kind: 'round', round: 0, rounds: budget.refineRounds + 1 });
    const testsPromise = wantGenerated ? this.writeTests() : undefined;
    if (testsPromise) {
      testsPromise.catch(() => undefined); // awaited below; this only marks the rejection as handled
      this.testsReady = testsPromise;
    }
    const round0 = await this.runRound(0, this.sampleJobs(samples), !wantGenerated);
    if (testsPromise) await testsPromise;
    let found = await this.verifiedAmong(round0);
    if (found) return found;
    if (budget.refineRounds === 0) this.endIfNothingAnswered();

    // Refine rounds.
    const refined = new Set<string>();
    for (let round = 1; round <= budget.refineRounds; round++) {
      this.checkBudget();
      this.rounds = round + 1;
      this.emit({ kind: 'round', round, rounds: budget.refineRounds + 1 });
      let attempts: Attempt[];
      const ranked = this.generated ? this.rankedByGenerated() : rankFailures(this.attempts);
      if (this.options.refineMode === 'resample' || this.unconfirmed || ranked.length === 0) {
        // Fresh samples: the resample strategy, a passing program that needs a second, different one to confirm
        // it, or nothing to refine (every request so far failed).
        attempts = await this.runRound(round, this.sampleJobs(samples), !this.generated);
      } else {
        const fresh = ranked.filter((a) => !refined.has(a.candidate.id));
        const parents = (fresh.length > 0 ? fresh : ranked).slice(0, samples);
        for (const p of parents) refined.add(p.candidate.id);
        attempts = await this.runRound(
          round,
          parents.map((parent, index) => ({ index, parent })),
          !this.generated,
        );
      }
      found = await this.verifiedAmong(attempts);
      if (found) return found;
    }
    this.endIfNothingAnswered();
    return undefined;
  }

  /** A task ends in error only when no model request in it could be answered. */
  private endIfNothingAnswered(): void {
    if (this.attempts.length === 0 && this.failedRequests > 0) throw this.lastFailure;
  }

  /**
   * Runs one round of jobs in parallel (model requests limited by maxParallel). With `stopOnPass`,
   * the first verified candidate aborts the round's other model requests; verifications already
   * running finish so that selection can compare them.
   */
  /**
   * First-round style jobs: sample i alternates between two prompt styles, and its temperature and seed
   * differ, so that independent candidates really are independent.
   */
  private sampleJobs(samples: number): { index: number; messages: ChatMessage[]; options: GenerationOptions }[] {
    const base = this.deps.model.settings.options.temperature ?? 0.2;
    return Array.from({ length: samples }, (_, index) => {
      const n = this.sampleSeq++;
      const style = n % 2 === 0 ? sampleInstruction(this.task) : sampleInstructionEdgeCases(this.task);
      const temperature = n === 0 ? base : Math.min(1.2, Math.max(base, 0.2) + 0.2 * Math.min(n, 4));
      return { index, messages: this.messages([], style), options: { temperature, seed: this.baseSeed + n } };
    });
  }

  private async runRound(
    round: number,
    jobs: { index: number; messages?: ChatMessage[]; parent?: Attempt; options?: GenerationOptions }[],
    stopOnPass: boolean,
  ): Promise<Attempt[]> {
    const roundControl = new AbortController();
    const signal = AbortSignal.any([this.signal, roundControl.signal]);
    setMaxListeners(0, signal);
    const done: Attempt[] = [];
    const results = await Promise.allSettled(
      jobs.map(async (job) => {
        const attempt = job.parent
          ? await this.refineOne(round, job.index, jobs.length, job.parent, signal)
          : await this.sampleOne(round, job.index, jobs.length, job.messages!, signal, job.options);
        if (attempt) {
          done.push(attempt);
          if (stopOnPass && attempt.verdict.passed) roundControl.abort();
        }
        return attempt;
      }),
    );
    if (this.signal.aborted) throw this.stopReason();
    for (const r of results) {
      if (r.status !== 'rejected' || r.reason instanceof Stop) continue;
      // A failed model request is a failed sample: the others and the rounds left go on.
      if (isModelError(r.reason) && r.reason.kind !== 'cancelled') this.requestFailed(r.reason);
    }
    // Any other fault (the sandbox, a prompt that cannot fit) ends the solve, unless something passed.
    const fault = results.find(
      (r): r is PromiseRejectedResult =>
        r.status === 'rejected' && !(r.reason instanceof Stop) && !isModelError(r.reason),
    );
    if (fault && !done.some((a) => a.verdict.passed)) throw fault.reason;
    return done;
  }

  private requestFailed(err: unknown): void {
    this.failedRequests++;
    this.lastFailure = err;
    this.note(
      `a model request failed, so one sample was lost (the others and the rounds left go on): ${errorText(err)}`,
    );
  }

  private nextId(round: number): string {
    return `r${round}c${this.candidateSeq++}`;
  }

  /** A first-round candidate: one model request, then syntax check and verification. */
  private async sampleOne(
    round: number,
    index: number,
    of: number,
    messages: ChatMessage[],
    signal: AbortSignal,
    options?: GenerationOptions,
  ): Promise<Attempt | undefined> {
    this.emit({ kind: 'generating', round, index, of });
    const reply = await this.chat(messages, signal, round, index, options);
    return this.judge(round, reply, undefined);
  }

  /** A refine step: critique (from the execution feedback) then a new candidate. */
  private async refineOne(
    round: number,
    index: number,
    of: number,
    parent: Attempt,
    signal: AbortSignal,
  ): Promise<Attempt | undefined> {
    const history = this.lineage(parent);
    const failures = this.relevantFailures(parent);
    const feedback = history[history.length - 1]?.feedback ?? parent.verdict.feedback;
    let instruction: string;
    if (parent.candidate.code.trim() === '') {
      instruction = noCodeInstruction(this.task);
    } else {
      let critique = parent.critique;
      if (critique === undefined && parent.verdict.testsTotal > 0 && parent.doneReason !== 'length') {
        // Only code that ran gets a critique; a syntax error already says what is wrong.
        this.emit({ kind: 'generating', round, index, of });
        try {
          const reply = await this.chat(this.messages(history, critiqueInstruction(this.task)), signal, round, index);
          critique = reply.text.trim();
          parent.critique = critique;
          this.emit({ kind: 'critique', candidateId: parent.candidate.id, critique });
        } catch (err) {
          // A failed critique request costs the critique, not the refinement.
          if (!isModelError(err) || err.kind === 'cancelled') throw err;
          this.requestFailed(err);
        }
      }
      const trace = this.options.traces === false ? undefined : await this.traceOf(parent, failures);
      instruction = refineInstruction(this.task, failures, feedback, critique, trace);
    }
    if (parent.doneReason === 'length') instruction = `${instruction}\n\n${CUT_INSTRUCTION}`;
    this.emit({ kind: 'generating', round, index, of });
    const reply = await this.chat(this.messages(history, instruction), signal, round, index);
    return this.judge(round, reply, parent.candidate.id);
  }

  /**
   * A compact runtime trace of `parent` on the input of its first failing test, capped to a share of the
   * context window. Undefined when there is no sandbox, the language has no tracer or no call is found.
   */
  private async traceOf(parent: Attempt, failures: TestFailure[]): Promise<string | undefined> {
    const sandbox = this.deps.sandbox;
    const entry = this.task.entryPoint;
    if (!sandbox || !entry || parent.verdict.testsTotal === 0) return undefined;
    if (this.task.language !== 'python') {
      if (!this.traceWarned)
        this.note(`runtime traces are available for Python only; ${this.task.language} refine prompts carry none`);
      this.traceWarned = true;
      return undefined;
    }
    const call = failures.map((f) => failingCall(f, entry)).find((c) => c !== undefined);
    if (!call) return undefined;
    const task = taskForCode(this.task, parent.candidate.code);
    const program = [task.context ?? '', solutionOf(task, parent.candidate.code)]
      .filter((x) => x.trim() !== '')
      .join('\n\n');
    try {
      const trace = await raceAbort(traceRun(sandbox, 'python', program, call, this.signal), this.signal, () =>
        this.stopReason(),
      );
      if (!trace || (trace.events.length === 0 && trace.error === undefined)) return undefined;
      // About a tenth of the context window, at ~3 characters a token, and never more than 2,400 characters.
      const maxChars = Math.min(2400, Math.floor(this.contextLength * 0.3));
      return formatTrace(trace, program, maxChars);
    } catch (err) {
      if (err instanceof Stop) throw err;
      this.note(`runtime trace unavailable: ${errorText(err)}`);
      return undefined;
    }
  }

  /** The parent chain, oldest first, as history for the prompt. */
  private lineage(attempt: Attempt): { code: string; feedback: string }[] {
    const chain: Attempt[] = [];
    let a: Attempt | undefined = attempt;
    while (a && chain.length < 8) {
      chain.unshift(a);
      const parentId: string | undefined = a.candidate.parentId;
      a = parentId ? this.attempts.find((x) => x.candidate.id === parentId) : undefined;
    }
    return chain.map((x) => ({
      code: x.candidate.code.trim() !== '' ? x.candidate.code : (x.candidate.answer ?? '').slice(0, 2000),
      feedback: this.feedbackOf(x),
    }));
  }

  /** Failures to show the model: for generated tests, only the tests still trusted. */
  private relevantFailures(a: Attempt): TestFailure[] {
    const g = this.generated;
    if (!g) return a.verdict.failures;
    const kept = new Set(g.kept.map((i) => g.asserts[i]!.trim()));
    return a.verdict.failures.filter(
      (f) => kept.has(f.test.trim()) || [...kept].some((k) => k.includes(f.test.trim())),
    );
  }

  private feedbackOf(a: Attempt): string {
    const g = this.generated;
    if (!g || g.kept.length === g.asserts.length || a.verdict.testsTotal === 0) return a.verdict.feedback;
    const failures = this.relevantFailures(a);
    if (failures.length === 0) return a.verdict.feedback;
    return failures
      .map((f) =>
        [
          `Failing test: ${f.test}`,
          f.expected !== undefined ? `Expected: ${f.expected}` : '',
          f.actual !== undefined ? `Actual: ${f.actual}` : '',
          f.error ? `Error: ${f.error}` : '',
        ]
          .filter(Boolean)
          .join('\n'),
      )
      .join('\n\n');
  }

  /** Turns an answer into an Attempt: extraction, syntax check, verification. */
  private async judge(round: number, reply: Reply, parentId: string | undefined): Promise<Attempt> {
    const answer = reply.text;
    const usage = reply.usage;
    const extracted = extractCode(answer, this.task.language, this.task.entryPoint);
    const code = extracted.code ?? '';
    const candidate: Candidate = {
      id: this.nextId(round),
      code,
      language: this.task.language,
      round,
      ...(parentId ? { parentId } : {}),
      answer,
      ...(reply.reasoning ? { reasoning: reply.reasoning } : {}),
      usage,
    };
    const cut = reply.doneReason === 'length';
    if (cut) {
      // Named in the Outcome, and the next requests get a larger limit so they are not cut at the same place.
      this.predictBoost = Math.max(this.predictBoost, LENGTH_CUT_BOOST);
      this.note(
        `answer ${candidate.id} was cut at the token limit${reply.limit !== undefined ? ` (${reply.limit} tokens)` : ''} (done_reason "length"); later requests get ${LENGTH_CUT_BOOST}× the limit and refinements of it ask for only the code`,
      );
    }
    this.emit({ kind: 'candidate', candidate });
    let verdict: Verdict;
    if (code.trim() === '') {
      verdict = failedVerdict(
        'error',
        extracted.code === null
          ? `${NO_CODE_FEEDBACK}: ${extracted.reason}`
          : `${NO_CODE_FEEDBACK}: the code block was empty.`,
      );
    } else {
      const syntax = await this.syntaxFeedback(code);
      if (syntax) verdict = failedVerdict('error', syntax);
      else verdict = await this.verify(candidate);
    }
    const attempt: Attempt = { candidate, verdict, ...(cut ? { doneReason: 'length' } : {}) };
    this.attempts.push(attempt);
    this.emit({ kind: 'verdict', attempt });
    return attempt;
  }

  private async syntaxFeedback(code: string): Promise<string | undefined> {
    if (!this.syntaxAvailable) return undefined;
    const body = this.task.completionStyle === 'continuation' && !definesEntryPoint(this.task, code);
    const text = body ? this.task.prompt + code : code;
    try {
      const report = await (this.deps.checkSyntax ?? checkSyntax)(this.task.language, text);
      return report.ok ? undefined : report.feedback;
    } catch (err) {
      this.syntaxAvailable = false;
      this.note(`syntax pre-check unavailable, the sandbox alone judges syntax: ${errorText(err)}`);
      return undefined;
    }
  }

  private async verify(candidate: Candidate): Promise<Verdict> {
    if (this.testsReady) await raceAbort(this.testsReady, this.signal, () => this.stopReason());
    const g = this.generated;
    const task = taskForCode(this.task, candidate.code);
    // Verification is not a model request: it finishes even if the round stops early, so that passing candidates can be compared.
    const verdict = await raceAbort(this.deps.verifier.verify(task, candidate, this.signal), this.signal, () =>
      this.stopReason(),
    );
    // The sandbox's own failure is not the candidate's: it ends the solve, and is never fed back to the model.
    const broken = sandboxErrorOf(verdict);
    if (broken) throw new SandboxFailure(broken);
    if (!g) return verdict;
    g.codes.set(candidate.id, candidate.code);
    g.results.set(candidate.id, await this.perTest(task, candidate, verdict, g.asserts));
    g.probes.set(
      candidate.id,
      verdict.testsTotal > 0 ? await this.probeSignature(task, candidate, g.calls) : undefined,
    );
    this.recheck();
    return verdict;
  }

  /** Pass/fail of each generated assert for one candidate, from the verdict when it tells them apart, else one run per assert. */
  private async perTest(task: Task, candidate: Candidate, verdict: Verdict, asserts: string[]): Promise<boolean[]> {
    if (verdict.passed) return asserts.map(() => true);
    if (verdict.results && verdict.results.length === asserts.length) return verdict.results.map((r) => r.passed);
    if (verdict.testsTotal === 0) return asserts.map(() => false);
    return Promise.all(
      asserts.map(async (a) => {
        const one = { ...task, tests: testsSource([a], task.language) };
        const v = await raceAbort(this.deps.verifier.verify(one, candidate, this.signal), this.signal, () =>
          this.stopReason(),
        );
        return v.passed;
      }),
    );
  }

  /** The candidate's outputs on the probe calls as one string (its behaviour), or undefined when they could not be run. */
  private async probeSignature(task: Task, candidate: Candidate, calls: string[]): Promise<string | undefined> {
    if (calls.length === 0) return undefined;
    try {
      const outs = await raceAbort(this.deps.verifier.evaluate(task, candidate, calls, this.signal), this.signal, () =>
        this.stopReason(),
      );
      return JSON.stringify(outs);
    } catch (err) {
      if (err instanceof Stop) throw err;
      return undefined;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Tests the model writes.

  /**
   * Two test-writing requests in different prompt styles, temperatures and seeds; their asserts are merged.
   * Asserts that contradict the task's own examples are left out (and counted).
   */
  private async writeTests(): Promise<void> {
    const base = this.deps.model.settings.options.temperature ?? 0.2;
    const system = { role: 'system' as const, content: systemPrompt(this.task.language) };
    const ask = (): Promise<Reply>[] => [
      this.chat([system, { role: 'user', content: testsPrompt(this.task, GENERATED_TEST_COUNT) }], this.signal, 0, -1, {
        temperature: base,
        seed: this.baseSeed + 1000,
      }),
      this.chat(
        [system, { role: 'user', content: testsPromptWorked(this.task, GENERATED_TEST_COUNT / 2) }],
        this.signal,
        0,
        -2,
        {
          temperature: Math.min(1.2, Math.max(base, 0.2) + 0.4),
          seed: this.baseSeed + 1001,
        },
      ),
    ];
    let replies = await Promise.allSettled(ask());
    const stopped = (): PromiseRejectedResult | undefined =>
      replies.find(
        (r): r is PromiseRejectedResult =>
          r.status === 'rejected' &&
          (r.reason instanceof Stop || (isModelError(r.reason) && r.reason.kind === 'cancelled')),
      );
    if (stopped()) throw stopped()!.reason;
    for (const r of replies) if (r.status === 'rejected' && isModelError(r.reason)) this.requestFailed(r.reason);
    if (replies.every((r) => r.status === 'rejected') && !this.signal.aborted) {
      // Failed requests must not cost the task its tests: ask once more.
      replies = await Promise.allSettled(ask());
      if (stopped()) throw stopped()!.reason;
    }
    const texts = replies.flatMap((r) => (r.status === 'fulfilled' ? [r.value.text] : []));
    if (texts.length === 0) throw (replies[0] as PromiseRejectedResult).reason;
    let asserts: string[] = [];
    for (const text of texts)
      for (const a of parseAsserts(text, this.task.language)) if (!asserts.includes(a)) asserts.push(a);
    let contradicting = 0;
    if (this.task.entryPoint) {
      const name = this.task.entryPoint;
      asserts = asserts.filter((a) => a.includes(name));
      const examples = examplesOf(this.task.prompt, name);
      if (examples.length > 0) {
        const consistent = asserts.filter((a) => {
          const ex = contradictsExamples(a, examples, name, this.task.language);
          if (ex)
            this.note(
              `left out a generated test that contradicts the task's example ${ex.call} → ${ex.expected}: ${a}`,
            );
          return !ex;
        });
        contradicting = asserts.length - consistent.length;
        asserts = consistent;
      }
    }
    if (asserts.length === 0) {
      throw new Error(
        `Task ${this.task.id} has no tests and the model wrote none that could be used: add assert lines or doctest examples to the task.`,
      );
    }
    const calls = this.task.entryPoint ? extraCalls([asserts.join('\n'), this.task.prompt], this.task.entryPoint) : [];
    this.generated = {
      asserts,
      results: new Map(),
      kept: asserts.map((_, i) => i),
      probes: new Map(),
      calls,
      contradicting,
      codes: new Map(),
    };
    this.task = { ...this.task, tests: testsSource(asserts, this.task.language), testsOrigin: 'generated' };
    this.emit({ kind: 'tests', origin: 'generated', count: asserts.length });
    this.note(
      `the task has no tests: the model wrote ${asserts.length}; a result they verify is labelled "generated tests"`,
    );
  }

  /** Re-runs the CodeT cross-check over every attempt so far. */
  private recheck(): void {
    const g = this.generated;
    if (!g) return;
    const ids = [...g.results.keys()];
    const check = crossCheckPrograms(
      ids.map((id) => g.results.get(id)!),
      g.asserts.length,
      this.programsOf(ids),
      ids.map((id) => g.probes.get(id)),
    );
    const newlyDropped = check.dropped.filter((i) => g.kept.includes(i));
    if (newlyDropped.length > 0) {
      const dropped = newlyDropped.map((i) => g.asserts[i]!);
      this.note(
        `dropped ${dropped.length} generated test(s) that no candidate passes while distinct programs agree: ${dropped.join(' | ')}`,
      );
    }
    g.kept = check.kept;
  }

  /** Attempts by CodeT score: consensus group size × generated tests passed (kept tests only). */
  private rankedByGenerated(): Attempt[] {
    const g = this.generated;
    if (!g) return rankFailures(this.attempts);
    const ids = this.attempts.map((a) => a.candidate.id);
    const matrix = ids.map((id) => g.kept.map((t) => g.results.get(id)?.[t] ?? false));
    const check = crossCheckPrograms(
      matrix,
      g.kept.length,
      this.programsOf(ids),
      ids.map((id) => g.probes.get(id)),
    );
    const score = new Map(ids.map((id, i) => [id, check.scores[i]!]));
    const fallback = rankFailures(this.attempts);
    const order = new Map(fallback.map((a, i) => [a.candidate.id, i]));
    return fallback.sort(
      (a, b) =>
        (score.get(b.candidate.id) ?? 0) - (score.get(a.candidate.id) ?? 0) ||
        order.get(a.candidate.id)! - order.get(b.candidate.id)!,
    );
  }

  /** Program index per attempt id: candidates that are the same program (programKey) share one. */
  private programsOf(ids: string[]): number[] {
    const code = new Map(this.attempts.map((a) => [a.candidate.id, a.candidate.code]));
    const pending = this.generated?.codes;
    return programIds(
      ids.map((id) => code.get(id) ?? pending?.get(id) ?? ''),
      this.task.language,
    );
  }

  /** Distinct programs among the attempts whose code ran. */
  private distinctPrograms(): number {
    const ran = this.attempts.filter((a) => a.verdict.testsTotal > 0 && a.candidate.code.trim() !== '');
    return new Set(
      programIds(
        ran.map((a) => a.candidate.code),
        this.task.language,
      ),
    ).size;
  }

  /** The evidence behind a result of generated tests. */
  private evidenceFor(best: Attempt | undefined): TestEvidence | undefined {
    const g = this.generated;
    if (!g) return undefined;
    let agreeing = 0;
    if (best && this.passesKept(best)) {
      const ids = this.attempts.map((a) => a.candidate.id);
      const programs = this.programsOf(ids);
      const bestProbe = g.probes.get(best.candidate.id);
      const agreeingPrograms = new Set<number>();
      ids.forEach((id, i) => {
        const a = this.attempts[i]!;
        if (this.passesKept(a) && g.probes.get(id) === bestProbe) agreeingPrograms.add(programs[i]!);
      });
      agreeing = agreeingPrograms.size;
    }
    return {
      distinctPrograms: this.distinctPrograms(),
      agreeingPrograms: agreeing,
      testsKept: g.kept.length,
      testsDropped: g.asserts.length - g.kept.length,
      testsTotal: g.asserts.length + g.contradicting,
      testsContradictingExamples: g.contradicting,
    };
  }

  private passesKept(a: Attempt): boolean {
    const g = this.generated;
    if (!g) return a.verdict.passed;
    const r = g.results.get(a.candidate.id);
    return !!r && g.kept.length > 0 && g.kept.every((t) => r[t]);
  }

  /**
   * The verified attempt to keep, if any attempt of this round passes: chosen by tests passed,
   * agreement on extra inputs, then simpler code; when the top two passing programs tie or disagree on
   * extra inputs, S* decides between them. With generated tests the chosen one is verified again against
   * the kept tests (and the inputs S* confirmed), so its Verdict is the one it is labelled with; and a
   * candidate that is the only program ever seen stays unconfirmed.
   */
  private async selectVerified(candidates: Attempt[]): Promise<Attempt | undefined> {
    const passing = candidates.filter((a) => this.passesKept(a));
    if (passing.length === 0) return undefined;
    let signatures: (string | undefined)[] | undefined;
    const calls = this.task.entryPoint ? extraCalls([this.task.tests, this.task.prompt], this.task.entryPoint) : [];
    if (passing.length > 1 && calls.length > 0) {
      signatures = await Promise.all(
        passing.map(async (a) => {
          try {
            const outs = await raceAbort(
              this.deps.verifier.evaluate(taskForCode(this.task, a.candidate.code), a.candidate, calls, this.signal),
              this.signal,
              () => this.stopReason(),
            );
            return JSON.stringify(outs);
          } catch (err) {
            if (err instanceof Stop) throw err;
            return undefined;
          }
        }),
      );
    }
    let chosen = choosePassing(passing, signatures)!;

    let confirmedTests: string[] = [];
    if (this.options.distinguish !== false && this.task.entryPoint && passing.length > 1) {
      const decided = await this.distinguish(chosen, passing, signatures, calls);
      chosen = decided.chosen;
      confirmedTests = decided.tests;
    }
    const g = this.generated;
    if (!g) return chosen;
    if (this.distinctPrograms() < 2) {
      // Copies of one program agree with themselves; the model's own tests are all that back it.
      this.unconfirmed = chosen;
      return undefined;
    }
    this.unconfirmed = undefined;
    const keptAsserts = g.kept.map((i) => g.asserts[i]!);
    this.task = {
      ...this.task,
      tests: testsSource(
        [...keptAsserts, ...confirmedTests.filter((t) => !keptAsserts.includes(t))],
        this.task.language,
      ),
    };
    const verdict = await raceAbort(
      this.deps.verifier.verify(taskForCode(this.task, chosen.candidate.code), chosen.candidate, this.signal),
      this.signal,
      () => this.stopReason(),
    );
    if (verdict.passed) return { ...chosen, verdict };
    // The whole kept set failed although each assert passed on its own (a timeout, a crash, state leaking
    // between asserts): record that, so this candidate is not chosen again, and let the rounds go on.
    const index = this.attempts.indexOf(chosen);
    if (index >= 0) this.attempts[index] = { ...chosen, verdict };
    return undefined;
  }

  /**
   * S*: the preferred passing candidate against the best other passing program. Inputs where their outputs
   * differ come from the extra calls, or else from the model; each difference (up to a few) is judged by
   * an assert of the task with the same call when there is one, else by the model from the description.
   * The candidate with more judged inputs on its side is chosen (a tie keeps the preferred one).
   * Model or budget trouble here never ends the solve: the preferred candidate is kept.
   */
  private async distinguish(
    preferred: Attempt,
    passing: Attempt[],
    signatures: (string | undefined)[] | undefined,
    calls: string[],
  ): Promise<{ chosen: Attempt; tests: string[] }> {
    const programs = programIds(
      passing.map((a) => a.candidate.code),
      this.task.language,
    );
    const pi = passing.indexOf(preferred);
    const rival = passing
      .map((a, i) => ({ a, i }))
      .filter(({ i }) => programs[i] !== programs[pi])
      .sort((x, y) => y.a.verdict.testsPassed - x.a.verdict.testsPassed || x.i - y.i)[0];

    if (!rival) return { chosen: preferred, tests: [] };
    const pairKey = [preferred.candidate.id, rival.a.candidate.id].sort().join('|');
    const earlier = this.compared.get(pairKey);
    if (earlier !== undefined)
      return { chosen: earlier === rival.a.candidate.id ? rival.a : preferred, tests: this.testsFor(earlier) };
    const [A, B] = [preferred, rival.a];
    try {
      let differing = knownDifferences(signatures?.[pi], signatures?.[rival.i], calls);
      // A tie on everything we could run: ask the model where the two part ways.
      if (differing.length === 0) differing = await this.askedDifferences(A, B);
      if (differing.length === 0) {
        this.note(
          `S*: ${A.candidate.id} and ${B.candidate.id} gave the same outputs on every input tried; kept ${A.candidate.id}`,
        );
        this.compared.set(pairKey, A.candidate.id);
        return { chosen: A, tests: [] };
      }
      const { votesA, votesB } = await this.judgeDifferences(A, B, differing);
      const chosen = votesB > votesA ? B : A;
      this.compared.set(pairKey, chosen.candidate.id);
      this.note(
        `S*: ${A.candidate.id} and ${B.candidate.id} differ on ${differing.length} input(s); ${votesA} judged for ${A.candidate.id}, ${votesB} for ${B.candidate.id}; chose ${chosen.candidate.id}`,
      );
      return { chosen, tests: this.testsFor(chosen.candidate.id) };
    } catch (err) {
      if (this.signal.aborted) throw err instanceof Stop ? err : this.stopReason();
      this.note(
        `S* could not compare ${A.candidate.id} and ${B.candidate.id} (${errorText(err)}); kept ${A.candidate.id}`,
      );
      return { chosen: A, tests: [] };
    }
  }

  /**
   * S*, when the known inputs do not tell A and B apart: the model proposes inputs, both programs run on
   * them, and the inputs where the outputs differ are returned (the others are recorded as undecided).
   */
  private async askedDifferences(A: Attempt, B: Attempt): Promise<Difference[]> {
    const reply = await this.chat(
      [
        { role: 'system', content: systemPrompt(this.task.language) },
        { role: 'user', content: distinguishPrompt(this.task, A.candidate.code, B.candidate.code, DISTINGUISH_INPUTS) },
      ],
      this.signal,
      this.rounds - 1,
      -3,
    );
    const asked = distinguishingCalls(reply.text, this.task.entryPoint!, DISTINGUISH_INPUTS);
    if (asked.length === 0) return [];
    const [outsA, outsB] = await Promise.all(
      [A, B].map((x) =>
        raceAbort(
          this.deps.verifier.evaluate(taskForCode(this.task, x.candidate.code), x.candidate, asked, this.signal),
          this.signal,
          () => this.stopReason(),
        ),
      ),
    );
    const all = asked.map((call, k) => ({ call, outA: outsA![k] ?? null, outB: outsB![k] ?? null }));
    for (const same of all.filter((d) => d.outA === d.outB)) this.recordDifference(A, B, same, undefined, 'none');
    return all.filter((d) => d.outA !== d.outB);
  }

  /**
   * Judges each input where A and B differ: by the task's own oracle (its asserts and examples) when it
   * speaks to any of them, else by the model for the first few. Every judgement is recorded.
   */
  private async judgeDifferences(
    A: Attempt,
    B: Attempt,
    differing: Difference[],
  ): Promise<{ votesA: number; votesB: number }> {
    const votes = { votesA: 0, votesB: 0 };
    const count = (d: Difference, winner: 'A' | 'B' | undefined, judgedBy: DistinguishingInput['judgedBy']): void => {
      if (winner === 'A') votes.votesA++;
      if (winner === 'B') votes.votesB++;
      this.recordDifference(A, B, d, winner, judgedBy);
    };
    const oracles = await Promise.all(differing.map((d) => this.oracleFor(d.call, d.outA, d.outB, A)));
    if (oracles.some((o) => o !== undefined)) {
      differing.forEach((d, k) => {
        if (oracles[k]) count(d, oracles[k], 'oracle');
      });
      return votes;
    }
    for (const d of differing.slice(0, DISTINGUISH_JUDGED)) {
      const reply = await this.chat(
        [
          { role: 'system', content: systemPrompt(this.task.language) },
          {
            role: 'user',
            content: judgeOutputPrompt(
              this.task,
              d.call,
              this.shown(d.outA) ?? 'an error (it raised)',
              this.shown(d.outB) ?? 'an error (it raised)',
            ),
          },
        ],
        this.signal,
        this.rounds - 1,
        -4,
      );
      const winner = judgedChoice(reply.text);
      count(d, winner, winner ? 'model' : 'none');
    }
    return votes;
  }

  /** Adds one S* input to the trace: both outputs, the winner if any, and the confirmed test. */
  private recordDifference(
    A: Attempt,
    B: Attempt,
    d: Difference,
    winner: 'A' | 'B' | undefined,
    judgedBy: DistinguishingInput['judgedBy'],
  ): void {
    const shownA = this.shown(d.outA);
    const shownB = this.shown(d.outB);
    const out = winner === 'A' ? shownA : winner === 'B' ? shownB : undefined;
    const test = out !== undefined && out !== null ? this.testOf(d.call, out) : undefined;
    this.distinguishing.push({
      call: d.call,
      outputs: [
        { candidateId: A.candidate.id, output: shownA },
        { candidateId: B.candidate.id, output: shownB },
      ],
      ...(winner ? { chosen: winner === 'A' ? A.candidate.id : B.candidate.id } : {}),
      judgedBy,
      ...(test ? { test } : {}),
    });
  }

  /** The confirmed S* inputs that went the way of `candidateId`, as tests. */
  private testsFor(candidateId: string): string[] {
    return this.distinguishing.filter((d) => d.chosen === candidateId && d.test).map((d) => d.test!);
  }

  private shown(json: string | null): string | null {
    if (json === null) return null;
    return valueSource(json, this.task.language) ?? json;
  }

  private testOf(call: string, output: string): string {
    return this.task.language === 'python'
      ? `assert ${call} == ${output}`
      : `assert.deepStrictEqual(${call}, ${output});`;
  }

  /**
   * The tests' own oracle: an assert of the task (its tests, or kept generated tests) or an example in its
   * description, on the same call.
   * Its expected side is evaluated like an output and compared with both; 'A' or 'B' when exactly one matches.
   */
  private async oracleFor(
    call: string,
    outA: string | null,
    outB: string | null,
    any: Attempt,
  ): Promise<'A' | 'B' | undefined> {
    const entry = this.task.entryPoint!;
    const g = this.generated;
    const sources = g ? g.kept.map((i) => g.asserts[i]!) : this.task.tests.split('\n');
    const compact = (x: string): string => x.replace(/\s+/g, '');
    const known = [
      ...sources.flatMap((line) => {
        const parts = assertParts(line, entry, this.task.language);
        return parts ? [parts] : [];
      }),
      ...examplesOf(this.task.prompt, entry),
    ];
    for (const parts of known) {
      if (compact(parts.call) !== compact(call)) continue;
      const [expected] = await raceAbort(
        this.deps.verifier.evaluate(
          taskForCode(this.task, any.candidate.code),
          any.candidate,
          [parts.expected],
          this.signal,
        ),
        this.signal,
        () => this.stopReason(),
      );
      if (expected === null || expected === undefined) continue;
      if (expected === outA && expected !== outB) return 'A';
      if (expected === outB && expected !== outA) return 'B';
    }
    return undefined;
  }

  private verifiedAmong(latest: Attempt[]): Promise<Attempt | undefined> {
    // With generated tests all attempts so far compete: the kept set may have changed since earlier rounds.
    return this.selectVerified(this.generated ? this.attempts : latest);
  }
}

function countTests(task: Task): number {
  const asserts = task.tests.split('\n').filter((l) => /^\s*assert\b/.test(l)).length;
  return Math.max(1, asserts);
}

/** Runs the self-correcting loop on one Task. Resolves with the Outcome; never rejects for model, server or sandbox faults. */
export function solve(task: Task, deps: SolveDeps, options: SolveOptions): Promise<Outcome> {
  return new SolveRun(task, deps, options).run();
}
