// The self-correcting loop: sample k candidates, verify each, and while none passes, take the most
// promising failures through critique (from the execution feedback) and refine, until a candidate is
// verified or the Budget ends. Never throws for model, server or sandbox faults: they end the
// Outcome with stopReason 'error' and a message that names the fix.

import { setMaxListeners } from 'node:events';
import type { ChatMessage, GenerationOptions } from '../model/types';
import { isModelError } from '../model/errors';
import { extractCode } from '../model/extract';
import { fitPrompt } from '../model/promptBudget';
import { checkSyntax } from '../parse/syntax';
import type { Attempt, Candidate, Outcome, Task, TestFailure, Usage, Verdict } from '../types';
import { crossCheck, extraCalls, parseAsserts, testsSource } from './generatedTests';
import {
  critiqueInstruction,
  noCodeInstruction,
  refineInstruction,
  sampleInstruction,
  systemPrompt,
  taskPrompt,
  testsPrompt,
} from './prompts';
import { choosePassing, rankFailures } from './select';
import type { SolveDeps, SolveEvent, SolveOptions } from './types';

/** Feedback for an answer with no code in it. */
export const NO_CODE_FEEDBACK = 'no code block found';

/** Context length assumed when the server cannot tell and no num_ctx is configured. */
const FALLBACK_CONTEXT = 4096;
/** Tokens kept free for the answer when num_predict is not set. */
const FALLBACK_ANSWER_TOKENS = 1024;
/** How many asserts the model is asked for when the task has none. */
const GENERATED_TEST_COUNT = 8;
/** An answer left empty by the token limit is asked for once more with this many times the limit. */
const EMPTY_RETRY_BOOST = 4;
/** After an answer was cut at the token limit, later requests get this many times the limit. */
const LENGTH_CUT_BOOST = 2;
/** Added to a refine instruction when the parent answer was cut at the token limit. */
const CUT_INSTRUCTION = 'Your previous answer was cut off at the token limit before it was complete. Reply with only the complete code, no explanation.';

/** One answered model request, as the loop uses it. */
interface Reply {
  text: string;
  usage: Usage;
  reasoning?: string;
  doneReason?: string;
  /** The token limit it was sent with, when one was sent. */
  limit?: number;
}

/** Why the loop is unwinding. */
class Stop extends Error {
  constructor(readonly reason: 'cancelled' | 'budget') {
    super(reason);
  }
}

// ---------------------------------------------------------------------------------------------
// Code placement: a continuation task (HumanEval) is prompt + completion, but chat models usually
// answer with the whole function. Both shapes are accepted.

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function definitionRe(task: Task): RegExp | undefined {
  const name = task.entryPoint;
  if (!name) return undefined;
  const n = escapeRe(name);
  return task.language === 'python'
    ? new RegExp(`^[ \\t]*(async[ \\t]+)?def[ \\t]+${n}[ \\t]*\\(`, 'm')
    : new RegExp(`(^|\\W)(function\\*?[ \\t]+${n}[ \\t]*[<(]|(const|let|var)[ \\t]+${n}[ \\t]*[=:])`, 'm');
}

/** True when `code` defines the task's entry point itself (a whole function, not a continuation body). */
export function definesEntryPoint(task: Task, code: string): boolean {
  const re = definitionRe(task);
  return re !== undefined && re.test(code);
}

/** The prompt text before the entry point's definition: imports and helpers a whole-function answer still needs. */
function promptPreamble(task: Task): string {
  const re = definitionRe(task);
  const m = re ? re.exec(task.prompt) : null;
  return m ? task.prompt.slice(0, m.index + (m[1] && task.language !== 'python' ? m[1].length : 0)).trimEnd() : '';
}

/** The Task as the verifier must see it for this candidate's code. */
export function taskForCode(task: Task, code: string): Task {
  if (task.completionStyle !== 'continuation' || !definesEntryPoint(task, code)) return task;
  const preamble = promptPreamble(task);
  const context = [preamble, task.context ?? ''].filter((s) => s.trim() !== '').join('\n\n');
  return { ...task, completionStyle: 'function', ...(context ? { context } : {}) };
}

/** The code a user would keep: the whole function (for a continuation body, prompt + body). */
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

export function solutionOf(task: Task, code: string): string {
  if (task.completionStyle === 'continuation' && !definesEntryPoint(task, code)) return task.prompt + code;
  return code;
}

// ---------------------------------------------------------------------------------------------

function failedVerdict(status: Verdict['status'], feedback: string, failures: TestFailure[] = []): Verdict {
  return { status, passed: false, testsPassed: 0, testsTotal: 0, durationMs: 0, feedback, failures };
}

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

/** Counting semaphore for model requests. */
class Slots {
  private waiting: (() => void)[] = [];
  private free: number;
  constructor(size: number) {
    this.free = Math.max(1, size);
  }
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

interface GeneratedTests {
  asserts: string[];
  /** Per attempt id: pass/fail per assert. */
  results: Map<string, boolean[]>;
  kept: number[];
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
  private readonly slots: Slots;
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

  constructor(
    task: Task,
    private readonly deps: SolveDeps,
    private readonly options: SolveOptions,
  ) {
    this.task = task;
    this.now = deps.now ?? Date.now;
    this.started = this.now();
    this.slots = new Slots(deps.model.settings.maxParallel || 1);
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
  private async chat(messages: ChatMessage[], signal: AbortSignal, round: number, index: number): Promise<Reply> {
    try {
      return await this.chatOnce(messages, signal, round, index, 1);
    } catch (err) {
      if (!isModelError(err) || !err.lengthCut || signal.aborted) throw err;
      const limit = this.generationOptions(EMPTY_RETRY_BOOST)?.num_predict;
      this.note(`an answer was empty because it used up the token limit${/thinking/.test(err.message) ? ' while thinking' : ''}; that sample was asked for once more with a limit of ${limit ?? 'several times the'} tokens`);
      return this.chatOnce(messages, signal, round, index, EMPTY_RETRY_BOOST);
    }
  }

  private async chatOnce(messages: ChatMessage[], signal: AbortSignal, round: number, index: number, boost: number): Promise<Reply> {
    this.checkBudget();
    const taking = this.slots.take();
    let release: () => void;
    try {
      release = await raceAbort(taking, signal, () => this.stopReason());
    } catch (err) {
      void taking.then((r) => r()); // the slot, once granted, goes straight back
      throw err;
    }
    try {
      this.checkBudget();
      if (signal.aborted) throw this.stopReason();
      const opts = this.generationOptions(boost);
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
      return {
        text: result.text,
        usage: result.usage,
        ...(result.reasoning ? { reasoning: result.reasoning } : {}),
        ...(result.doneReason ? { doneReason: result.doneReason } : {}),
        ...((opts?.num_predict ?? this.deps.model.settings.options.num_predict) !== undefined ? { limit: opts?.num_predict ?? this.deps.model.settings.options.num_predict } : {}),
      };
    } catch (err) {
      if (isModelError(err) && err.usage) addUsage(this.usage, err.usage);
      if (signal.aborted) throw err instanceof Stop ? err : this.stopReason();
      throw err;
    } finally {
      release();
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
    let stopReason: Outcome['stopReason'] = 'budget';
    let error: string | undefined;
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
      }
    } finally {
      if (this.wallTimer) clearTimeout(this.wallTimer);
      outer?.removeEventListener('abort', onOuterAbort);
      this.control.abort(); // release anything still in flight
    }
    if (!best || !best.verdict.passed) best = this.bestSoFar();
    const verified = best?.verdict.passed === true;
    if (verified) stopReason = 'verified';
    const outcome: Outcome = {
      task: this.task,
      verified,
      verifiedByGeneratedTests: verified && this.task.testsOrigin === 'generated',
      ...(best ? { best } : {}),
      attempts: this.attempts,
      rounds: this.rounds,
      stopReason,
      ...(error !== undefined ? { error } : {}),
      usage: { ...this.usage },
      durationMs: this.now() - this.started,
      ...(this.modelName ?? this.deps.model.settings.model ? { model: this.modelName ?? this.deps.model.settings.model } : {}),
      notes: this.notes,
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
    const hasTests = task.tests.trim() !== '' && task.testsOrigin !== 'none' && containsChecks(task.tests, task.language);
    if (task.tests.trim() !== '' && task.testsOrigin !== 'none' && !hasTests) {
      this.note('the task\'s tests contain no check (no assert, raise, throw or check() call), so they cannot verify anything; treated as a task without tests');
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
    this.contextLength = configured && configured > 0 ? configured : ctx ?? FALLBACK_CONTEXT;
    if (hasTests) this.emit({ kind: 'tests', origin: 'user', count: countTests(task) });

    // Round 0: k samples (and, when the task has no tests, a request for tests alongside).
    this.rounds = 1;
    this.emit({ kind: 'round', round: 0, rounds: budget.rounds + 1 });
    const firstMessages = this.messages([], sampleInstruction(task));
    const testsPromise = wantGenerated ? this.writeTests() : undefined;
    if (testsPromise) {
      testsPromise.catch(() => undefined); // awaited below; this only marks the rejection as handled
      this.testsReady = testsPromise;
    }
    const round0 = await this.runRound(
      0,
      Array.from({ length: samples }, (_, i) => ({ index: i, messages: firstMessages })),
      !wantGenerated,
    );
    if (testsPromise) await testsPromise;
    let found = await this.verifiedAmong(round0);
    if (found) return found;
    if (budget.rounds === 0) this.endIfNothingAnswered();

    // Refine rounds.
    const refined = new Set<string>();
    for (let round = 1; round <= budget.rounds; round++) {
      this.checkBudget();
      this.rounds = round + 1;
      this.emit({ kind: 'round', round, rounds: budget.rounds + 1 });
      const ranked = this.generated ? this.rankedByGenerated() : rankFailures(this.attempts);
      const fresh = ranked.filter((a) => !refined.has(a.candidate.id));
      const parents = (fresh.length > 0 ? fresh : ranked).slice(0, samples);
      for (const p of parents) refined.add(p.candidate.id);
      // Nothing to refine (every request so far failed): this round samples afresh instead.
      const jobs = parents.length > 0 ? parents.map((parent, index) => ({ index, parent })) : Array.from({ length: samples }, (_, i) => ({ index: i, messages: this.messages([], sampleInstruction(task)) }));
      const attempts = await this.runRound(round, jobs, !this.generated);
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
  private async runRound(
    round: number,
    jobs: { index: number; messages?: ChatMessage[]; parent?: Attempt }[],
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
          : await this.sampleOne(round, job.index, jobs.length, job.messages!, signal);
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
    const fault = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof Stop) && !isModelError(r.reason));
    if (fault && !done.some((a) => a.verdict.passed)) throw fault.reason;
    return done;
  }

  private requestFailed(err: unknown): void {
    this.failedRequests++;
    this.lastFailure = err;
    this.note(`a model request failed, so one sample was lost (the others and the rounds left go on): ${errorText(err)}`);
  }

  private nextId(round: number): string {
    return `r${round}c${this.candidateSeq++}`;
  }

  /** A first-round candidate: one model request, then syntax check and verification. */
  private async sampleOne(round: number, index: number, of: number, messages: ChatMessage[], signal: AbortSignal): Promise<Attempt | undefined> {
    this.emit({ kind: 'generating', round, index, of });
    const reply = await this.chat(messages, signal, round, index);
    return this.judge(round, reply, undefined);
  }

  /** A refine step: critique (from the execution feedback) then a new candidate. */
  private async refineOne(round: number, index: number, of: number, parent: Attempt, signal: AbortSignal): Promise<Attempt | undefined> {
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
      instruction = refineInstruction(this.task, failures, feedback, critique);
    }
    if (parent.doneReason === 'length') instruction = `${instruction}\n\n${CUT_INSTRUCTION}`;
    this.emit({ kind: 'generating', round, index, of });
    const reply = await this.chat(this.messages(history, instruction), signal, round, index);
    return this.judge(round, reply, parent.candidate.id);
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
    return a.verdict.failures.filter((f) => kept.has(f.test.trim()) || [...kept].some((k) => k.includes(f.test.trim())));
  }

  private feedbackOf(a: Attempt): string {
    const g = this.generated;
    if (!g || g.kept.length === g.asserts.length || a.verdict.testsTotal === 0) return a.verdict.feedback;
    const failures = this.relevantFailures(a);
    if (failures.length === 0) return a.verdict.feedback;
    return failures
      .map((f) => [`Failing test: ${f.test}`, f.expected !== undefined ? `Expected: ${f.expected}` : '', f.actual !== undefined ? `Actual: ${f.actual}` : '', f.error ? `Error: ${f.error}` : '']
        .filter(Boolean)
        .join('\n'))
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
      this.note(`answer ${candidate.id} was cut at the token limit${reply.limit !== undefined ? ` (${reply.limit} tokens)` : ''} (done_reason "length"); later requests get ${LENGTH_CUT_BOOST}× the limit and refinements of it ask for only the code`);
    }
    this.emit({ kind: 'candidate', candidate });
    let verdict: Verdict;
    if (code.trim() === '') {
      verdict = failedVerdict('error', extracted.code === null ? `${NO_CODE_FEEDBACK}: ${extracted.reason}` : `${NO_CODE_FEEDBACK}: the code block was empty.`);
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
    if (!g) {
      // Verification is not a model request: it finishes even if the round stops early, so that passing candidates can be compared.
      return raceAbort(this.deps.verifier.verify(task, candidate, this.signal), this.signal, () => this.stopReason());
    }
    const verdict = await raceAbort(this.deps.verifier.verify(task, candidate, this.signal), this.signal, () => this.stopReason());
    g.results.set(candidate.id, await this.perTest(task, candidate, verdict, g.asserts));
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
        const v = await raceAbort(this.deps.verifier.verify(one, candidate, this.signal), this.signal, () => this.stopReason());
        return v.passed;
      }),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Tests the model writes.

  private async writeTests(): Promise<void> {
    const messages: ChatMessage[] = [
      { role: 'system', content: systemPrompt(this.task.language) },
      { role: 'user', content: testsPrompt(this.task, GENERATED_TEST_COUNT) },
    ];
    let reply: Reply;
    try {
      reply = await this.chat(messages, this.signal, 0, -1);
    } catch (err) {
      // One failed request must not cost the task its tests: ask once more.
      if (!isModelError(err) || err.kind === 'cancelled' || this.signal.aborted) throw err;
      this.requestFailed(err);
      reply = await this.chat(messages, this.signal, 0, -1);
    }
    let asserts = parseAsserts(reply.text, this.task.language);
    if (this.task.entryPoint) {
      const name = this.task.entryPoint;
      asserts = asserts.filter((a) => a.includes(name));
    }
    if (asserts.length === 0) {
      throw new Error(
        `Task ${this.task.id} has no tests and the model wrote none that could be used: add assert lines or doctest examples to the task.`,
      );
    }
    this.generated = { asserts, results: new Map(), kept: asserts.map((_, i) => i) };
    this.task = { ...this.task, tests: testsSource(asserts, this.task.language), testsOrigin: 'generated' };
    this.emit({ kind: 'tests', origin: 'generated', count: asserts.length });
    this.note(`the task has no tests: the model wrote ${asserts.length}; a result they verify is labelled "generated tests"`);
  }

  /** Re-runs the CodeT cross-check over every attempt so far. */
  private recheck(): void {
    const g = this.generated;
    if (!g) return;
    const ids = [...g.results.keys()];
    const check = crossCheck(ids.map((id) => g.results.get(id)!), g.asserts.length);
    const newlyDropped = check.dropped.filter((i) => g.kept.includes(i));
    if (newlyDropped.length > 0) {
      const dropped = newlyDropped.map((i) => g.asserts[i]!);
      this.note(`dropped ${dropped.length} generated test(s) that no candidate passes while candidates agree: ${dropped.join(' | ')}`);
    }
    g.kept = check.kept;
  }

  /** Attempts by CodeT score: consensus group size × generated tests passed (kept tests only). */
  private rankedByGenerated(): Attempt[] {
    const g = this.generated;
    if (!g) return rankFailures(this.attempts);
    const ids = this.attempts.map((a) => a.candidate.id);
    const matrix = ids.map((id) => g.kept.map((t) => g.results.get(id)?.[t] ?? false));
    const check = crossCheck(matrix, g.kept.length);
    const score = new Map(ids.map((id, i) => [id, check.scores[i]!]));
    const fallback = rankFailures(this.attempts);
    const order = new Map(fallback.map((a, i) => [a.candidate.id, i]));
    return fallback.sort(
      (a, b) => (score.get(b.candidate.id) ?? 0) - (score.get(a.candidate.id) ?? 0) || order.get(a.candidate.id)! - order.get(b.candidate.id)!,
    );
  }

  private passesKept(a: Attempt): boolean {
    const g = this.generated;
    if (!g) return a.verdict.passed;
    const r = g.results.get(a.candidate.id);
    return !!r && g.kept.length > 0 && g.kept.every((t) => r[t]);
  }

  /**
   * The verified attempt to keep, if any attempt of this round passes: chosen by tests passed,
   * agreement on extra inputs, then simpler code. With generated tests the chosen one is verified
   * again against the kept tests only, so its Verdict is the one it is labelled with.
   */
  private async selectVerified(candidates: Attempt[]): Promise<Attempt | undefined> {
    const passing = candidates.filter((a) => this.passesKept(a));
    if (passing.length === 0) return undefined;
    let signatures: (string | undefined)[] | undefined;
    if (passing.length > 1 && this.task.entryPoint) {
      const calls = extraCalls([this.task.tests, this.task.prompt], this.task.entryPoint);
      if (calls.length > 0) {
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
    }
    const chosen = choosePassing(passing, signatures)!;
    const g = this.generated;
    if (!g) return chosen;
    const keptAsserts = g.kept.map((i) => g.asserts[i]!);
    this.task = { ...this.task, tests: testsSource(keptAsserts, this.task.language) };
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
