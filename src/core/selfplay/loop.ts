// Self-play: the model writes programming puzzles in the P3 format, solves them, and keeps what the
// interpreter verifies (after "Language Models Can Teach Themselves to Program Better").
//
// One ticket = one puzzle written: pick a curriculum arm (or an easier-variant request for a puzzle that
// beat the solver), prompt with a few diverse examples, extract the code, run the validity filters in the
// sandbox (parse, typed answer, imports, near-duplicate, time, determinism, triviality), then ask for n
// independent solutions and judge each (sol() in one sandbox job, sat(answer) in a clean one). A puzzle
// with at least one verified solution of the annotated type is accepted; its solve rate is its difficulty.
//
// Several tickets run at once (`concurrency`), so while one puzzle waits for the model another is being
// probed or judged: the sandbox and the model overlap. Each settled ticket updates the checkpoint
// atomically; `resume` continues a killed run from it.

import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { isModelError } from '../model/errors';
import { extractCode, stripReasoning } from '../model/extract';
import type { ChatMessage, ChatResult } from '../model/types';
import { recordFromPuzzle } from '../dataset/record';
import type { Attempt, Candidate, Puzzle, Usage, Verdict } from '../types';
import { VERSION } from '../version';
import { Curriculum, Rng, curriculumWindows, parseArm, pickExamples } from './curriculum';
import { DEFAULT_ALLOWED_IMPORTS, auditSolutions, behaviourFingerprints, inspectPuzzle, normaliseMany, type ProbeLimits } from './probe';
import { valueSource } from '../solve/generatedTests';
import type { PuzzleVerdict } from '../verify/types';
import { generationPrompt, solvePrompt, variantPrompt } from './prompts';
import { bodyUnderHeader, puzzleCodeOf, solutionSource, topicOf } from './puzzle';
import { Checkpointer, readState, STATE_VERSION, type AcceptedPuzzle, type LadderItem, type SelfPlayState } from './state';
import { REJECT_REASONS, type Progress, type RejectReason, type SelfPlayDeps, type SelfPlayEvent, type SelfPlayOptions, type SelfPlayReport } from './types';

export class SelfPlayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelfPlayError';
  }
}

/** Consecutive puzzles lost to model errors before the run stops: the server is likely down or broken. */
const MAX_MODEL_FAILURES_IN_A_ROW = 5;
/** Easier-variant requests waiting at most; each unsolved puzzle adds one, up to this depth of variants. */
const MAX_LADDER_QUEUE = 16;
const MAX_LADDER_DEPTH = 2;
/** Puzzles of the same answer type (accepted first, then seeds) a new puzzle's behaviour is compared with. */
const MAX_BEHAVIOUR_PEERS = 24;
/** Empty values of each answer type: every puzzle rejects them, so they show nothing as wrong answers. */
const TRIVIAL_ANSWERS = new Set(['0', '0.0', '""', "''", '[]', 'False', 'True', 'None']);

type Settled =
  | { kind: 'rejected'; reason: RejectReason; detail: string; name?: string; solveRate?: number; ladder?: LadderItem }
  | { kind: 'accepted'; puzzle: Puzzle; hash: string; solved: number; answered: number; attempts: Attempt[]; usage: Usage; durationMs: number };

interface Ticket {
  ticket: number;
  arm: string;
  variant?: LadderItem;
}

class Cancelled extends Error {}

function emptyUsage(): Usage {
  return { promptTokens: 0, completionTokens: 0, durationMs: 0 };
}

function addUsage(into: Usage, more: Usage | undefined): void {
  if (!more) return;
  into.promptTokens += more.promptTokens;
  into.completionTokens += more.completionTokens;
  into.durationMs += more.durationMs;
}

function failedVerdict(feedback: string, status: Verdict['status'] = 'error'): Verdict {
  return { status, passed: false, testsPassed: 0, testsTotal: 1, durationMs: 0, feedback, failures: [{ test: 'assert sat(sol()) is True', error: feedback }] };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The saved run to continue, checked against the caller's intent: resuming needs a checkpoint, and a new
 * run never overwrites one. Throws SelfPlayError (or StateFileError for a corrupt file) naming the fix.
 */
export async function savedRun(statePath: string | undefined, resume: boolean): Promise<SelfPlayState | undefined> {
  if (resume && !statePath) throw new SelfPlayError('Resuming needs a state file (CLI: --state FILE, default in the dataset folder).');
  const existing = statePath ? await readState(statePath) : undefined;
  if (resume && !existing) throw new SelfPlayError(`Nothing to resume: there is no self-play state at ${statePath}. Run without --resume to start a new run.`);
  if (existing && !resume) {
    throw new SelfPlayError(`A self-play run is already saved at ${statePath} (${existing.accepted.length} accepted). Pass --resume to continue it, or delete the file (or pick another --state) to start over.`);
  }
  return existing;
}

export async function selfPlay(deps: SelfPlayDeps, options: SelfPlayOptions): Promise<SelfPlayReport> {
  const now = deps.now ?? Date.now;
  const sessionStart = now();
  if (!Number.isInteger(options.count) || options.count < 1) throw new SelfPlayError(`count must be a whole number ≥ 1 (got ${options.count}).`);
  if (!Number.isInteger(options.samples) || options.samples < 1) throw new SelfPlayError(`samples must be a whole number ≥ 1 (got ${options.samples}).`);
  if (options.seeds.length === 0) throw new SelfPlayError('No seed puzzles: pass a P3 file with --seeds or use the shipped seeds.');
  const limits: ProbeLimits = {
    satTimeoutMs: options.satTimeoutMs ?? 1000,
    solTimeoutMs: options.solTimeoutMs ?? 5000,
    allowedImports: options.allowedImports ?? DEFAULT_ALLOWED_IMPORTS,
  };
  const emit = (event: SelfPlayEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A failing listener must not stop the run.
    }
  };

  // ---- state: new or resumed ----
  let state: SelfPlayState;
  let resumed = false;
  const existing = await savedRun(options.statePath, options.resume === true);
  // A resumed run keeps its generation budget, grown by 10 per puzzle when the target is raised.
  const maxGenerations =
    options.maxGenerations ?? (existing ? existing.maxGenerations + Math.max(0, options.count - existing.target) * 10 : options.count * 10);
  if (existing) {
    state = existing;
    resumed = true;
    state.target = options.count;
    state.maxGenerations = maxGenerations;
  } else {
    state = {
      version: STATE_VERSION,
      runId: randomBytes(4).toString('hex'),
      createdAt: new Date(now()).toISOString(),
      updatedAt: new Date(now()).toISOString(),
      target: options.count,
      samples: options.samples,
      maxGenerations,
      seedCount: options.seeds.length,
      nextTicket: 0,
      generated: 0,
      accepted: [],
      rejected: {},
      curriculum: { arms: {} },
      ladder: [],
      ladderStats: { requested: 0, accepted: 0 },
      history: [],
      rng: options.seed ?? (Math.random() * 2 ** 32) >>> 0,
      usage: emptyUsage(),
      modelRequests: 0,
      sandboxJobs: 0,
      elapsedMs: 0,
    };
  }
  const elapsedBefore = state.elapsedMs;
  const generatedBefore = state.generated;
  const rng = new Rng(state.rng);
  const topics = [...new Set(options.seeds.map(topicOf))].sort();
  const curriculum = new Curriculum(topics, state.curriculum);
  const checkpoint = options.statePath ? new Checkpointer(options.statePath) : undefined;
  const snapshot = (): SelfPlayState => {
    state.rng = rng.state;
    state.curriculum = curriculum.snapshot();
    state.updatedAt = new Date(now()).toISOString();
    state.elapsedMs = elapsedBefore + (now() - sessionStart);
    return JSON.parse(JSON.stringify(state)) as SelfPlayState;
  };

  const stop = new AbortController();
  // Every request and sandbox job in flight listens on this signal.
  setMaxListeners(0, stop.signal);
  const onOuterAbort = (): void => stop.abort(new Cancelled('cancelled'));
  if (options.signal?.aborted) onOuterAbort();
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  let fatal: Error | undefined;
  let inFlight = 0;
  let reserving = 0;
  let modelFailuresInARow = 0;
  const pending = new Set<string>();
  const acceptedHashes = new Map<string, string>(state.accepted.map((a) => [a.hash, a.puzzle.name]));
  const seedHashes = new Map<string, string>();
  const temperature = options.temperature ?? Math.max(deps.model.settings.options.temperature ?? 0, 0.8);
  const genOptions = { temperature };

  const progress = (): Progress => ({
    target: state.target,
    accepted: state.accepted.length,
    rejected: state.generated - state.accepted.length,
    generated: state.generated,
    maxGenerations: state.maxGenerations,
    inFlight,
  });

  const finish = async (stopReason: SelfPlayReport['stopReason']): Promise<SelfPlayReport> => {
    options.signal?.removeEventListener('abort', onOuterAbort);
    if (checkpoint) {
      checkpoint.save(snapshot);
      try {
        await checkpoint.flush();
      } catch (err) {
        if (!fatal) fatal = err as Error;
        stopReason = 'error';
      }
    }
    const rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, state.rejected[r] ?? 0])) as SelfPlayReport['rejected'];
    const solveRates: { [rate: string]: number } = {};
    for (const a of state.accepted) {
      const key = (a.puzzle.difficulty ?? 0).toFixed(1);
      solveRates[key] = (solveRates[key] ?? 0) + 1;
    }
    const durationMs = now() - sessionStart;
    const report: SelfPlayReport = {
      stopReason: fatal ? 'error' : stopReason,
      target: state.target,
      accepted: state.accepted.length,
      generated: state.generated,
      rejected,
      solveRates,
      curriculum: { arms: curriculum.report().filter((a) => a.pulls > 0), windows: curriculumWindows(state.history), ladder: { ...state.ladderStats } },
      puzzlesPerSecond: durationMs > 0 ? Math.round(((state.generated - generatedBefore) / (durationMs / 1000)) * 1000) / 1000 : 0,
      modelRequests: state.modelRequests,
      sandboxJobs: state.sandboxJobs,
      durationMs,
      resumed,
    };
    if (fatal) report.error = fatal.message;
    if (options.statePath) report.statePath = options.statePath;
    emit({ kind: 'done', report });
    return report;
  };

  // ---- seeds: normalised hashes for near-duplicate detection ----
  try {
    const hashes = await normaliseMany(deps.sandbox, options.seeds.map((s) => s.sat), stop.signal);
    state.sandboxJobs++;
    hashes.forEach((h, i) => {
      if (h && !seedHashes.has(h)) seedHashes.set(h, options.seeds[i]!.name);
    });
  } catch (err) {
    if (stop.signal.aborted) return finish('cancelled');
    fatal = err as Error;
    return finish('error');
  }
  emit({ kind: 'started', resumed, progress: progress() });

  const acceptedPuzzles = (): Puzzle[] => state.accepted.map((a) => a.puzzle);

  const chat = async (messages: ChatMessage[], usage: Usage): Promise<ChatResult> => {
    if (stop.signal.aborted) throw new Cancelled('cancelled');
    state.modelRequests++;
    try {
      const res = await deps.model.chat({ messages, options: genOptions, signal: stop.signal });
      addUsage(usage, res.usage);
      addUsage(state.usage, res.usage);
      return res;
    } catch (err) {
      if (stop.signal.aborted || isModelError(err, 'cancelled')) throw new Cancelled('cancelled');
      throw err;
    }
  };

  const isFatalModelError = (err: unknown): boolean => isModelError(err, 'unreachable') || isModelError(err, 'model_missing');

  const runTicket = async (t: Ticket): Promise<Settled> => {
    const started = now();
    const usage = emptyUsage();
    const { topic, band } = parseArm(t.arm);
    const messages = t.variant
      ? variantPrompt(t.variant.parent, limits.allowedImports)
      : generationPrompt(pickExamples(rng, topic, band, options.seeds, acceptedPuzzles(), options.examples ?? 3), topic, band, limits.allowedImports);
    emit({ kind: 'generating', ticket: t.ticket, arm: t.arm, ...(t.variant ? { variantOf: t.variant.parent.name } : {}) });

    let answer: ChatResult;
    try {
      answer = await chat(messages, usage);
    } catch (err) {
      if (err instanceof Cancelled || isFatalModelError(err)) throw err;
      return { kind: 'rejected', reason: 'model_error', detail: errorText(err) };
    }
    const code = puzzleCodeOf(stripReasoning(answer.text).text);
    if (!code) return { kind: 'rejected', reason: 'no_code', detail: `the answer holds no def sat(...): ${JSON.stringify(answer.text.slice(0, 80))}` };

    const inspected = await inspectPuzzle(deps.sandbox, code, limits, (rng.state ^ Math.imul(t.ticket + 1, 2654435761)) >>> 0, stop.signal);
    state.sandboxJobs++;
    if (stop.signal.aborted) throw new Cancelled('cancelled');
    const early: RejectReason[] = ['syntax', 'untyped', 'unsafe'];
    if (!inspected.ok && (!inspected.hash || early.includes(inspected.reason ?? 'syntax'))) {
      return { kind: 'rejected', reason: inspected.reason ?? 'syntax', detail: inspected.detail ?? 'sat did not pass the checks' };
    }
    const hash = inspected.hash!;
    const twin = seedHashes.get(hash) ?? acceptedHashes.get(hash) ?? (pending.has(hash) ? 'a puzzle being checked' : undefined);
    if (twin) return { kind: 'rejected', reason: 'duplicate', detail: `same normalised AST as ${seedHashes.has(hash) ? 'seed ' : acceptedHashes.has(hash) ? 'accepted puzzle ' : ''}${twin}` };
    if (!inspected.ok) return { kind: 'rejected', reason: inspected.reason ?? 'syntax', detail: inspected.detail ?? 'sat did not pass the checks' };

    pending.add(hash);
    try {
      const name = `SelfPlay_${state.runId}_${t.ticket}:0`;
      const puzzle: Puzzle = { name, sat: inspected.sat!, ansType: inspected.ansType!, solHeader: inspected.solHeader!, solBodies: [], module: topic };
      const solveMessages = solvePrompt(puzzle);

      // n independent solutions, each judged as soon as it arrives; the generator's own solver alongside.
      const solveOne = async (i: number): Promise<{ attempt?: Attempt; modelError?: string }> => {
        let res: ChatResult;
        try {
          res = await chat(solveMessages, usage);
        } catch (err) {
          if (err instanceof Cancelled || isFatalModelError(err)) throw err;
          return { modelError: errorText(err) };
        }
        const extracted = extractCode(res.text, 'python', 'sol');
        const candidate: Candidate = { id: `${name}#${i}`, code: extracted.code ?? '', language: 'python', round: 0, answer: res.text, usage: res.usage };
        if (extracted.code === null || !/(^|\n)\s*def\s+sol\s*\(/.test(extracted.code)) {
          const why = extracted.code === null ? extracted.reason : 'The code does not define sol().';
          return { attempt: { candidate, verdict: failedVerdict(why) } };
        }
        const verdict = await deps.verifier.judgePuzzle(puzzle, extracted.code, stop.signal);
        state.sandboxJobs += 2;
        return { attempt: { candidate, verdict } };
      };
      const judgeGenerator = async (): Promise<Attempt | undefined> => {
        if (!inspected.sol) return undefined;
        const candidate: Candidate = { id: `${name}#generator`, code: inspected.sol, language: 'python', round: 0 };
        const verdict = await deps.verifier.judgePuzzle(puzzle, inspected.sol, stop.signal);
        state.sandboxJobs += 2;
        return { candidate, verdict };
      };
      const [solverResults, generatorAttempt] = await Promise.all([Promise.all(Array.from({ length: options.samples }, (_, i) => solveOne(i))), judgeGenerator()]);
      if (stop.signal.aborted) throw new Cancelled('cancelled');

      const attempts = solverResults.flatMap((r) => (r.attempt ? [r.attempt] : []));
      const answered = attempts.length;
      if (answered === 0) return { kind: 'rejected', reason: 'model_error', detail: solverResults.find((r) => r.modelError)?.modelError ?? 'no answers' };

      // Audit what the judge accepted: the answer's type against the annotation, sat's determinism on it.
      const passed = [...attempts, ...(generatorAttempt ? [generatorAttempt] : [])].filter((a) => a.verdict.passed);
      let typeMismatches = 0;
      const bodies: string[] = [];
      if (passed.length) {
        const audit = await auditSolutions(deps.verifier, puzzle, passed.map((a) => a.candidate.code), [0], limits, stop.signal);
        state.sandboxJobs++;
        if (stop.signal.aborted) throw new Cancelled('cancelled');
        for (const entry of audit) {
          const attempt = passed[entry.index];
          if (!attempt) continue;
          if (entry.satResults?.includes('S')) {
            return { kind: 'rejected', reason: 'slow', detail: `sat(answer) ran longer than ${limits.satTimeoutMs} ms on a verified answer` };
          }
          if (entry.satResults && /[^T]/.test(entry.satResults)) {
            return { kind: 'rejected', reason: 'nondeterministic', detail: `sat gave ${entry.satResults.split('').join(',')} on the same verified answer` };
          }
          if (entry.typeOk === false) {
            typeMismatches++;
            attempt.verdict = {
              ...attempt.verdict,
              status: 'failed',
              passed: false,
              testsPassed: 0,
              feedback: `sat accepted the answer, but it is a ${entry.answerType ?? 'value'} and sat's answer type is ${puzzle.ansType}.`,
            };
            continue;
          }
          const body = bodyUnderHeader(attempt.candidate.code);
          if (!bodies.includes(body)) bodies.push(body);
        }
      }
      const solved = attempts.filter((a) => a.verdict.passed).length;
      const solveRate = solved / answered;
      if (solved === 0) {
        const ladder: LadderItem | undefined = (t.variant?.depth ?? 0) < MAX_LADDER_DEPTH ? { parent: puzzle, arm: t.arm, depth: (t.variant?.depth ?? 0) + 1 } : undefined;
        // The judge checks the answer's type before sat; the audit re-checks what it passed. A puzzle whose
        // own solver, or every solver, returns the wrong type contradicts its annotation.
        const wrongType = (a: Attempt): boolean => a.verdict.failures.some((f) => f.test.startsWith('isinstance(answer')) || /sat's answer type is/.test(a.verdict.feedback);
        const generatorWrong = generatorAttempt !== undefined && wrongType(generatorAttempt);
        if (typeMismatches > 0 || generatorWrong || attempts.every(wrongType)) {
          return { kind: 'rejected', reason: 'type_mismatch', detail: `the answers are not of sat's annotated type ${puzzle.ansType}${generatorWrong ? ' (the puzzle’s own solver returns another type)' : ''}`, name, solveRate: 0 };
        }
        const genNote = generatorAttempt?.verdict.passed ? ' (the generator’s own solution verified)' : '';
        return { kind: 'rejected', reason: 'unsolved', detail: `0 of ${answered} solutions verified${genNote}`, name, solveRate: 0, ...(ladder ? { ladder } : {}) };
      }
      // Known-failing examples: the generator's wrong(), and answers of failed solvers that sat rejected.
      const wrongAnswers: string[] = [];
      if (inspected.wrong?.ok && inspected.wrong.value !== undefined) wrongAnswers.push(inspected.wrong.value);
      for (const a of attempts) {
        const answer = (a.verdict as PuzzleVerdict).answer;
        if (a.verdict.passed || a.verdict.status !== 'failed' || answer === undefined || /sat's answer type is|is not a /.test(a.verdict.feedback)) continue;
        const text = valueSource(answer, 'python');
        if (text !== undefined && !TRIVIAL_ANSWERS.has(text) && !wrongAnswers.includes(text)) wrongAnswers.push(text);
      }
      if (wrongAnswers.length === 0) {
        const why = inspected.wrong && !inspected.wrong.ok ? ` (${inspected.wrong.detail ?? 'its wrong() did not count'})` : inspected.wrong ? '' : ' (the generator wrote no wrong() and every solver was right)';
        return { kind: 'rejected', reason: 'no_wrong_answer', detail: `no plausible wrong answer is known to fail sat${why}`, name, solveRate };
      }
      // Behaviour: the same verdicts as an accepted puzzle or a seed on a shared probe set means the same puzzle.
      const others = [...acceptedPuzzles(), ...options.seeds].filter((p) => p.ansType.replace(/\s+/g, '') === puzzle.ansType.replace(/\s+/g, '')).slice(0, MAX_BEHAVIOUR_PEERS);
      if (others.length > 0) {
        const verified = attempts.filter((a) => a.verdict.passed).map((a) => a.candidate.code);
        const peerSolutions = others.map((p) => solutionSource(p)).filter((x): x is string => x !== undefined);
        const prints = await behaviourFingerprints(deps.sandbox, [puzzle.sat, ...others.map((p) => p.sat)], [...verified.slice(0, 2), ...peerSolutions], limits, stop.signal);
        state.sandboxJobs++;
        if (stop.signal.aborted) throw new Cancelled('cancelled');
        const mine = prints[0];
        if (mine && /:.*T/.test(mine)) {
          const twin = others.find((_, k) => prints[k + 1] === mine);
          if (twin) return { kind: 'rejected', reason: 'duplicate', detail: `same verdicts as ${acceptedPuzzles().includes(twin) ? 'accepted puzzle' : 'seed'} ${twin.name} on every probe answer (a duplicate in behaviour)` };
        }
      }
      // Solver bodies come first (they are what the model can do unaided), then the generator's.
      const accepted: Puzzle = { ...puzzle, solBodies: bodies, difficulty: solveRate, wrongAnswers };
      const allAttempts = generatorAttempt ? [...attempts, generatorAttempt] : attempts;
      return { kind: 'accepted', puzzle: accepted, hash, solved, answered, attempts: allAttempts, usage, durationMs: now() - started };
    } finally {
      pending.delete(hash);
    }
  };

  const settle = async (t: Ticket, outcome: Settled): Promise<void> => {
    if (outcome.kind === 'accepted') {
      if (state.accepted.length + reserving >= state.target) return; // the target was met meanwhile
      // After a fatal failure (e.g. the dataset's disk is full) nothing more is appended: a store that kept a
      // failed Record would otherwise write it with the next append, a record for a puzzle never accepted.
      if (fatal) return;
      reserving++;
      try {
        if (deps.dataset) {
          await deps.dataset.append(
            recordFromPuzzle(outcome.puzzle, {
              attempts: outcome.attempts,
              usage: outcome.usage,
              durationMs: outcome.durationMs,
              model: deps.model.settings.model,
              options: { ...deps.model.settings.options, temperature, selfPlay: { arm: t.arm, solved: outcome.solved, answered: outcome.answered } },
              extensionVersion: options.extensionVersion ?? VERSION,
              redact: Object.values(deps.model.settings.headers ?? {}),
            }),
          );
        }
      } finally {
        reserving--;
      }
      const entry: AcceptedPuzzle = { puzzle: outcome.puzzle, hash: outcome.hash, arm: t.arm, solved: outcome.solved, answered: outcome.answered };
      state.accepted.push(entry);
      acceptedHashes.set(outcome.hash, outcome.puzzle.name);
      if (t.variant) state.ladderStats.accepted++;
      modelFailuresInARow = 0;
    } else {
      state.rejected[outcome.reason] = (state.rejected[outcome.reason] ?? 0) + 1;
      modelFailuresInARow = outcome.reason === 'model_error' ? modelFailuresInARow + 1 : 0;
      if (outcome.ladder && state.ladder.length < MAX_LADDER_QUEUE) state.ladder.push(outcome.ladder);
    }
    state.generated++;
    const solveRate = outcome.kind === 'accepted' ? outcome.puzzle.difficulty : outcome.solveRate;
    if (!t.variant) curriculum.update(t.arm, solveRate, outcome.kind === 'accepted');
    state.history.push({ ticket: t.ticket, arm: t.arm, accepted: outcome.kind === 'accepted', ...(t.variant ? { variant: true } : {}), ...(solveRate !== undefined ? { solveRate } : {}) });
    if (state.history.length > 5000) state.history.splice(0, state.history.length - 5000);
    if (outcome.kind === 'accepted') {
      emit({ kind: 'accepted', ticket: t.ticket, puzzle: outcome.puzzle, solved: outcome.solved, answered: outcome.answered, progress: progress() });
    } else {
      emit({ kind: 'rejected', ticket: t.ticket, reason: outcome.reason, detail: outcome.detail, ...(outcome.name ? { name: outcome.name } : {}), progress: progress() });
    }
    checkpoint?.save(snapshot);
    if (checkpoint?.lastError && !fatal) {
      fatal = checkpoint.lastError;
      stop.abort(fatal);
    }
    if (modelFailuresInARow >= MAX_MODEL_FAILURES_IN_A_ROW && !fatal) {
      fatal = new SelfPlayError(`The model failed on ${modelFailuresInARow} puzzles in a row (last: ${outcome.kind === 'rejected' ? outcome.detail : ''}). Check the server with \`crucible doctor\`; resume with --resume.`);
      stop.abort(fatal);
    }
    if (state.accepted.length >= state.target) stop.abort(new Cancelled('count'));
  };

  const canStart = (): boolean => !stop.signal.aborted && state.accepted.length < state.target && state.generated + inFlight < state.maxGenerations;

  const nextTicket = (): Ticket => {
    const ticket = state.nextTicket++;
    if (state.ladder.length && rng.next() < (options.ladderShare ?? 0.5)) {
      const variant = state.ladder.shift()!;
      state.ladderStats.requested++;
      return { ticket, arm: variant.arm, variant };
    }
    return { ticket, arm: curriculum.choose(rng) };
  };

  const worker = async (): Promise<void> => {
    while (canStart()) {
      const t = nextTicket();
      inFlight++;
      let outcome: Settled | undefined;
      try {
        outcome = await runTicket(t);
      } catch (err) {
        if (!(err instanceof Cancelled) && !stop.signal.aborted) {
          fatal = err instanceof Error ? err : new Error(String(err));
          stop.abort(fatal);
        }
      } finally {
        inFlight--;
      }
      if (outcome) {
        try {
          await settle(t, outcome);
        } catch (err) {
          if (!fatal) fatal = err instanceof Error ? err : new Error(String(err));
          stop.abort(fatal);
        }
      }
    }
  };

  const concurrency = Math.max(1, options.concurrency ?? Math.max(2, deps.model.settings.maxParallel + 1));
  await Promise.all(Array.from({ length: concurrency }, () => worker()));

  const userCancelled = options.signal?.aborted === true;
  const reason: SelfPlayReport['stopReason'] = fatal ? 'error' : state.accepted.length >= state.target ? 'count' : userCancelled ? 'cancelled' : 'budget';
  return finish(reason);
}

