// One self-play ticket's life: the model writes a puzzle and the sandbox screens it (write), n independent
// solutions are asked for and judged alongside the generator's own (solve), what the judge accepted is
// re-checked (audit), and the pure `classify` decides what becomes of the puzzle: accepted, rejected under
// one reason, or (once) compared in behaviour with its peers first.
//
// A ticket touches nothing of the run but the counters `TicketRun` lends it; what its outcome does to the
// run (curriculum, accepted puzzles, checkpoint) is settle.ts's business.

import { isModelError } from '../model/errors';
import { extractCode, stripReasoning } from '../model/extract';
import type { ChatMessage, ChatResult } from '../model/types';
import { valueSource } from '../solve/generatedTests';
import { failedVerdict } from '../solve/verdict';
import type { Attempt, Candidate, Puzzle, Usage, Verdict } from '../types';
import type { PuzzleVerdict } from '../verify/types';
import { parseArm, pickExamples, type Rng } from './curriculum';
import {
  auditSolutions,
  behaviourFingerprints,
  inspectPuzzle,
  type AuditEntry,
  type InspectResult,
  type ProbeLimits,
} from './probe';
import { generationPrompt, solvePrompt, variantPrompt } from './prompts';
import { bodyUnderHeader, puzzleCodeOf, solutionSource } from './puzzle';
import type { LadderItem } from './state';
import type { RejectReason, SelfPlayDeps, SelfPlayEvent } from './types';

/** Easier variants asked for a puzzle nobody solved, at most this deep (a variant of a variant of ...). */
export const MAX_LADDER_DEPTH = 2;
/** Puzzles of the same answer type (accepted first, then seeds) a new puzzle's behaviour is compared with. */
export const MAX_BEHAVIOUR_PEERS = 24;
/** Empty values of each answer type: every puzzle rejects them, so they show nothing as wrong answers. */
const TRIVIAL_ANSWERS = new Set(['0', '0.0', '""', "''", '[]', 'False', 'True', 'None']);

/** One puzzle to write: its number, the curriculum arm asked for, and the unsolved puzzle it eases, if any. */
export interface Ticket {
  ticket: number;
  arm: string;
  variant?: LadderItem;
}

export interface Rejected {
  kind: 'rejected';
  reason: RejectReason;
  detail: string;
  name?: string;
  solveRate?: number;
  /** An easier variant to ask for (the puzzle was unsolved and not too deep a variant already). */
  ladder?: LadderItem;
}

export interface Accepted {
  kind: 'accepted';
  puzzle: Puzzle;
  hash: string;
  solved: number;
  answered: number;
  attempts: Attempt[];
  usage: Usage;
  durationMs: number;
}

/** How a ticket ended. */
export type Settled = Rejected | Accepted;

/** The run stopped (cancelled, target met, or a fatal error elsewhere): the ticket ends without an outcome. */
export class Cancelled extends Error {}

/** What a ticket borrows from its run. */
export interface TicketRun {
  readonly deps: SelfPlayDeps;
  readonly limits: ProbeLimits;
  readonly seeds: readonly Puzzle[];
  /** Examples in each generation prompt. */
  readonly examples: number;
  /** Independent solutions asked for per puzzle. */
  readonly samples: number;
  readonly rng: Rng;
  readonly runId: string;
  readonly signal: AbortSignal;
  /** Normalised-AST hashes of the seeds and of the accepted puzzles, with the name of the puzzle each belongs to. */
  readonly seedHashes: ReadonlyMap<string, string>;
  readonly acceptedHashes: ReadonlyMap<string, string>;
  /**
   * Hashes of the puzzles past the screen and not yet settled. A ticket adds its own and removes it, except
   * for an accepted puzzle, whose hash stays taken until the run has stored and counted it (then it is in
   * acceptedHashes) or dropped it.
   */
  readonly pending: Set<string>;
  acceptedPuzzles(): Puzzle[];
  /** One model request; usage is added to `usage` and the run's. Throws Cancelled once the run stops. */
  chat(messages: ChatMessage[], usage: Usage): Promise<ChatResult>;
  emit(event: SelfPlayEvent): void;
  countSandboxJobs(n: number): void;
  now(): number;
}

/** What the audit found in the answers the judge accepted. */
export interface AuditFindings {
  /** The first verified answer sat was slow (S) on or gave different results for: the puzzle is at fault. */
  satFault?: { reason: 'slow' | 'nondeterministic'; satResults: string };
  /** Verified answers not of sat's annotated type (their attempts are marked failed). */
  typeMismatches: number;
  /** Distinct bodies of the verified solutions of the right type, in the order judged. */
  bodies: string[];
}

/** Everything `classify` decides from; nothing in it is looked up elsewhere. */
export interface Evidence {
  ticket: Ticket;
  /** The puzzle as screened (sat, answer type, sol header, topic), without solutions yet. */
  puzzle: Puzzle;
  hash: string;
  /** The solvers' judged answers, after the audit (a pass of the wrong type is marked failed). */
  attempts: Attempt[];
  /** The first failed solver request, for when none answered. */
  modelError?: string;
  /** The generator's own solution, judged and audited like the solvers'. */
  generator?: Attempt;
  /** The generator's `wrong()` (InspectResult.wrong). */
  wrong?: InspectResult['wrong'];
  audit: AuditFindings;
  satTimeoutMs: number;
  /** Same-answer-type puzzles to compare behaviour with (accepted first, then seeds). */
  peers: readonly Puzzle[];
  /** After the comparison: the peer with the same verdicts on every probe answer, or null for none. */
  behaviourTwin?: { name: string; accepted: boolean } | null;
}

/** classify's answer: an outcome (without usage and time, which the ticket adds), or "compare behaviour first". */
export type Decision = Rejected | Omit<Accepted, 'usage' | 'durationMs'> | { kind: 'compare' };

export function runTicket(run: TicketRun, t: Ticket): Promise<Settled> {
  return new PuzzleTicket(run, t).run();
}

class PuzzleTicket {
  private readonly started: number;
  private readonly usage: Usage = emptyUsage();

  constructor(
    private readonly r: TicketRun,
    private readonly t: Ticket,
  ) {
    this.started = r.now();
  }

  async run(): Promise<Settled> {
    const written = await this.write();
    if ('kind' in written) return written;
    const { inspected, hash } = written; // write() has put the hash in pending
    let accepted = false;
    try {
      const name = `SelfPlay_${this.r.runId}_${this.t.ticket}:0`;
      const topic = parseArm(this.t.arm).topic;
      const puzzle: Puzzle = {
        name,
        sat: inspected.sat!,
        ansType: inspected.ansType!,
        solHeader: inspected.solHeader!,
        solBodies: [],
        module: topic,
      };
      const { attempts, modelError, generator } = await this.solve(puzzle, inspected);
      // Nothing to audit when no solver answered: classify rejects that as a model error.
      const passed = attempts.length
        ? [...attempts, ...(generator ? [generator] : [])].filter((a) => a.verdict.passed)
        : [];
      const audit = await this.audit(puzzle, passed);
      const peers = behaviourPeers(puzzle, this.r.acceptedPuzzles(), this.r.seeds);
      const evidence: Evidence = {
        ticket: this.t,
        puzzle,
        hash,
        attempts,
        generator,
        wrong: inspected.wrong,
        audit,
        satTimeoutMs: this.r.limits.satTimeoutMs,
        peers,
      };
      if (modelError !== undefined) evidence.modelError = modelError;
      for (;;) {
        const decision = classify(evidence);
        if (decision.kind === 'rejected') return decision;
        if (decision.kind === 'accepted') {
          accepted = true;
          return { ...decision, usage: this.usage, durationMs: this.r.now() - this.started };
        }
        evidence.behaviourTwin = await this.compareBehaviour(puzzle, attempts, peers);
      }
    } finally {
      if (!accepted) this.r.pending.delete(hash);
    }
  }

  /** Asks for a puzzle and screens it in the sandbox: a rejection, or the inspection and its hash. */
  private async write(): Promise<Rejected | { inspected: InspectResult; hash: string }> {
    const { r, t } = this;
    const { topic, band } = parseArm(t.arm);
    const messages = t.variant
      ? variantPrompt(t.variant.parent, r.limits.allowedImports)
      : generationPrompt(
          pickExamples(r.rng, topic, band, r.seeds, r.acceptedPuzzles(), r.examples),
          topic,
          band,
          r.limits.allowedImports,
        );
    r.emit({
      kind: 'generating',
      ticket: t.ticket,
      arm: t.arm,
      ...(t.variant ? { variantOf: t.variant.parent.name } : {}),
    });
    let answer: ChatResult;
    try {
      answer = await r.chat(messages, this.usage);
    } catch (err) {
      if (err instanceof Cancelled || isFatalModelError(err)) throw err;
      return { kind: 'rejected', reason: 'model_error', detail: errorText(err) };
    }
    const code = puzzleCodeOf(stripReasoning(answer.text).text);
    if (!code)
      return {
        kind: 'rejected',
        reason: 'no_code',
        detail: `the answer holds no def sat(...): ${JSON.stringify(answer.text.slice(0, 80))}`,
      };
    const inspected = await inspectPuzzle(
      r.deps.sandbox,
      code,
      r.limits,
      (r.rng.state ^ Math.imul(t.ticket + 1, 2654435761)) >>> 0,
      r.signal,
    );
    r.countSandboxJobs(1);
    if (r.signal.aborted) throw new Cancelled('cancelled');
    const rejected = screen(inspected, r);
    if (rejected) return rejected;
    // Taken in the same step as the screen (no await between): a twin screened next sees it as being checked.
    r.pending.add(inspected.hash!);
    return { inspected, hash: inspected.hash! };
  }

  /** n independent solutions, each judged as soon as it arrives; the generator's own solution alongside. */
  private async solve(
    puzzle: Puzzle,
    inspected: InspectResult,
  ): Promise<{ attempts: Attempt[]; modelError?: string; generator?: Attempt }> {
    const messages = solvePrompt(puzzle);
    const [results, generator] = await Promise.all([
      Promise.all(Array.from({ length: this.r.samples }, (_, i) => this.solveOne(puzzle, messages, i))),
      this.judgeGenerator(puzzle, inspected.sol),
    ]);
    if (this.r.signal.aborted) throw new Cancelled('cancelled');
    const modelError = results.find((x) => x.modelError)?.modelError;
    return {
      attempts: results.flatMap((x) => (x.attempt ? [x.attempt] : [])),
      ...(modelError !== undefined ? { modelError } : {}),
      ...(generator ? { generator } : {}),
    };
  }

  private async solveOne(
    puzzle: Puzzle,
    messages: ChatMessage[],
    i: number,
  ): Promise<{ attempt?: Attempt; modelError?: string }> {
    let res: ChatResult;
    try {
      res = await this.r.chat(messages, this.usage);
    } catch (err) {
      if (err instanceof Cancelled || isFatalModelError(err)) throw err;
      return { modelError: errorText(err) };
    }
    const extracted = extractCode(res.text, 'python', 'sol');
    const candidate: Candidate = {
      id: `${puzzle.name}#${i}`,
      code: extracted.code ?? '',
      language: 'python',
      round: 0,
      answer: res.text,
      usage: res.usage,
    };
    if (extracted.code === null || !/(^|\n)\s*def\s+sol\s*\(/.test(extracted.code)) {
      const why = extracted.code === null ? extracted.reason : 'The code does not define sol().';
      return { attempt: { candidate, verdict: notRun(why) } };
    }
    const verdict = await this.r.deps.verifier.judgePuzzle(puzzle, extracted.code, this.r.signal);
    this.r.countSandboxJobs(2);
    return { attempt: { candidate, verdict } };
  }

  private async judgeGenerator(puzzle: Puzzle, sol: string | null | undefined): Promise<Attempt | undefined> {
    if (!sol) return undefined;
    const candidate: Candidate = { id: `${puzzle.name}#generator`, code: sol, language: 'python', round: 0 };
    const verdict = await this.r.deps.verifier.judgePuzzle(puzzle, sol, this.r.signal);
    this.r.countSandboxJobs(2);
    return { candidate, verdict };
  }

  /** Re-checks what the judge accepted: the answer's type against the annotation, sat's determinism on it. */
  private async audit(puzzle: Puzzle, passed: Attempt[]): Promise<AuditFindings> {
    if (passed.length === 0) return { typeMismatches: 0, bodies: [] };
    const entries = await auditSolutions(
      this.r.deps.verifier,
      puzzle,
      passed.map((a) => a.candidate.code),
      [0],
      this.r.limits,
      this.r.signal,
    );
    this.r.countSandboxJobs(1);
    if (this.r.signal.aborted) throw new Cancelled('cancelled');
    return readAudit(entries, passed, puzzle.ansType);
  }

  /** The same verdicts as a peer on a shared probe set of answers means the same puzzle. */
  private async compareBehaviour(
    puzzle: Puzzle,
    attempts: Attempt[],
    peers: readonly Puzzle[],
  ): Promise<Evidence['behaviourTwin']> {
    const { r } = this;
    const verified = attempts.filter((a) => a.verdict.passed).map((a) => a.candidate.code);
    const peerSolutions = peers.map((p) => solutionSource(p)).filter((x): x is string => x !== undefined);
    const prints = await behaviourFingerprints(
      r.deps.sandbox,
      [puzzle.sat, ...peers.map((p) => p.sat)],
      [...verified.slice(0, 2), ...peerSolutions],
      r.limits,
      r.signal,
    );
    r.countSandboxJobs(1);
    if (r.signal.aborted) throw new Cancelled('cancelled');
    const mine = prints[0];
    if (!mine || !/:.*T/.test(mine)) return null;
    const twin = peers.find((_, k) => prints[k + 1] === mine);
    return twin ? { name: twin.name, accepted: r.acceptedPuzzles().includes(twin) } : null;
  }
}

/**
 * The screen after inspection: a puzzle that failed an early check (parse, typed answer, imports), has the
 * normalised AST of a seed, an accepted puzzle or one being checked, or failed a later probe is rejected;
 * undefined lets it through to the solvers.
 */
export function screen(
  inspected: InspectResult,
  known: Pick<TicketRun, 'seedHashes' | 'acceptedHashes' | 'pending'>,
): Rejected | undefined {
  const early: RejectReason[] = ['syntax', 'untyped', 'unsafe'];
  if (!inspected.ok && (!inspected.hash || early.includes(inspected.reason ?? 'syntax'))) {
    return {
      kind: 'rejected',
      reason: inspected.reason ?? 'syntax',
      detail: inspected.detail ?? 'sat did not pass the checks',
    };
  }
  const hash = inspected.hash!;
  const { seedHashes, acceptedHashes, pending } = known;
  const twin =
    seedHashes.get(hash) ?? acceptedHashes.get(hash) ?? (pending.has(hash) ? 'a puzzle being checked' : undefined);
  if (twin)
    return {
      kind: 'rejected',
      reason: 'duplicate',
      detail: `same normalised AST as ${seedHashes.has(hash) ? 'seed ' : acceptedHashes.has(hash) ? 'accepted puzzle ' : ''}${twin}`,
    };
  if (!inspected.ok)
    return {
      kind: 'rejected',
      reason: inspected.reason ?? 'syntax',
      detail: inspected.detail ?? 'sat did not pass the checks',
    };
  return undefined;
}

/**
 * Reads the audit of the passed attempts (`passed[entry.index]`), in order: the first answer sat was slow on
 * or inconsistent about ends the reading; a pass of the wrong type is marked failed on its attempt; the
 * others' bodies are collected once each.
 */
export function readAudit(entries: readonly AuditEntry[], passed: readonly Attempt[], ansType: string): AuditFindings {
  const findings: AuditFindings = { typeMismatches: 0, bodies: [] };
  for (const entry of entries) {
    const attempt = passed[entry.index];
    if (!attempt) continue;
    if (entry.satResults?.includes('S'))
      return { ...findings, satFault: { reason: 'slow', satResults: entry.satResults } };
    if (entry.satResults && /[^T]/.test(entry.satResults))
      return { ...findings, satFault: { reason: 'nondeterministic', satResults: entry.satResults } };
    if (entry.typeOk === false) {
      findings.typeMismatches++;
      attempt.verdict = {
        ...attempt.verdict,
        status: 'failed',
        passed: false,
        testsPassed: 0,
        feedback: `sat accepted the answer, but it is a ${entry.answerType ?? 'value'} and sat's answer type is ${ansType}.`,
      };
      continue;
    }
    const body = bodyUnderHeader(attempt.candidate.code);
    if (!findings.bodies.includes(body)) findings.bodies.push(body);
  }
  return findings;
}

/** Accepted puzzles, then seeds, with the same answer type as `puzzle` (whitespace aside), at most MAX_BEHAVIOUR_PEERS. */
export function behaviourPeers(puzzle: Puzzle, accepted: readonly Puzzle[], seeds: readonly Puzzle[]): Puzzle[] {
  const type = puzzle.ansType.replace(/\s+/g, '');
  return [...accepted, ...seeds].filter((p) => p.ansType.replace(/\s+/g, '') === type).slice(0, MAX_BEHAVIOUR_PEERS);
}

/**
 * Decides a screened, solved and audited puzzle, in this order: no solver answered (model_error); sat slow
 * or inconsistent on a verified answer; nothing verified (type_mismatch when the answers contradict the
 * annotation, else unsolved, which may ask for an easier variant); no answer known to fail sat
 * (no_wrong_answer); peers not yet compared ("compare"); the same behaviour as a peer (duplicate); else accepted.
 */
export function classify(e: Evidence): Decision {
  const { puzzle, attempts } = e;
  const answered = attempts.length;
  if (answered === 0) return { kind: 'rejected', reason: 'model_error', detail: e.modelError ?? 'no answers' };
  const fault = e.audit.satFault;
  if (fault?.reason === 'slow')
    return {
      kind: 'rejected',
      reason: 'slow',
      detail: `sat(answer) ran longer than ${e.satTimeoutMs} ms on a verified answer`,
    };
  if (fault)
    return {
      kind: 'rejected',
      reason: 'nondeterministic',
      detail: `sat gave ${fault.satResults.split('').join(',')} on the same verified answer`,
    };
  const solved = attempts.filter((a) => a.verdict.passed).length;
  if (solved === 0) return unsolved(e);
  const solveRate = solved / answered;
  const wrongAnswers = knownWrongAnswers(e);
  if (wrongAnswers.length === 0) {
    const { wrong } = e;
    const why =
      wrong && !wrong.ok
        ? ` (${wrong.detail ?? 'its wrong() did not count'})`
        : wrong
          ? ''
          : ' (the generator wrote no wrong() and every solver was right)';
    return {
      kind: 'rejected',
      reason: 'no_wrong_answer',
      detail: `no plausible wrong answer is known to fail sat${why}`,
      name: puzzle.name,
      solveRate,
    };
  }
  if (e.peers.length > 0 && e.behaviourTwin === undefined) return { kind: 'compare' };
  if (e.behaviourTwin) {
    const twin = e.behaviourTwin;
    return {
      kind: 'rejected',
      reason: 'duplicate',
      detail: `same verdicts as ${twin.accepted ? 'accepted puzzle' : 'seed'} ${twin.name} on every probe answer (a duplicate in behaviour)`,
    };
  }
  // Solver bodies come first (they are what the model can do unaided), then the generator's.
  const accepted: Puzzle = { ...puzzle, solBodies: e.audit.bodies, solveRate, wrongAnswers };
  return {
    kind: 'accepted',
    puzzle: accepted,
    hash: e.hash,
    solved,
    answered,
    attempts: e.generator ? [...attempts, e.generator] : attempts,
  };
}

/** Nothing verified: a contradicted annotation (type_mismatch), or unsolved with an easier variant to ask for. */
function unsolved(e: Evidence): Rejected {
  const { puzzle, ticket: t, generator, attempts } = e;
  const depth = t.variant?.depth ?? 0;
  const ladder: LadderItem | undefined =
    depth < MAX_LADDER_DEPTH ? { parent: puzzle, arm: t.arm, depth: depth + 1 } : undefined;
  // The judge checks the answer's type before sat; the audit re-checks what it passed. A puzzle whose own
  // solver, or every solver, returns the wrong type contradicts its annotation.
  const generatorWrong = generator !== undefined && wrongType(generator);
  if (e.audit.typeMismatches > 0 || generatorWrong || attempts.every(wrongType)) {
    const own = generatorWrong ? ' (the puzzle’s own solver returns another type)' : '';
    return {
      kind: 'rejected',
      reason: 'type_mismatch',
      detail: `the answers are not of sat's annotated type ${puzzle.ansType}${own}`,
      name: puzzle.name,
      solveRate: 0,
    };
  }
  const genNote = generator?.verdict.passed ? ' (the generator’s own solution verified)' : '';
  return {
    kind: 'rejected',
    reason: 'unsolved',
    detail: `0 of ${attempts.length} solutions verified${genNote}`,
    name: puzzle.name,
    solveRate: 0,
    ...(ladder ? { ladder } : {}),
  };
}

function wrongType(a: Attempt): boolean {
  return (
    a.verdict.failures.some((f) => f.test.startsWith('isinstance(answer')) ||
    /sat's answer type is/.test(a.verdict.feedback)
  );
}

/** Known-failing examples: the generator's wrong(), then answers of failed solvers that sat rejected (no empty values, no repeats). */
function knownWrongAnswers(e: Evidence): string[] {
  const out: string[] = [];
  if (e.wrong?.ok && e.wrong.value !== undefined) out.push(e.wrong.value);
  for (const a of e.attempts) {
    const answer = (a.verdict as PuzzleVerdict).answer;
    if (
      a.verdict.passed ||
      a.verdict.status !== 'failed' ||
      answer === undefined ||
      /sat's answer type is|is not a /.test(a.verdict.feedback)
    )
      continue;
    const text = valueSource(answer, 'python');
    if (text !== undefined && !TRIVIAL_ANSWERS.has(text) && !out.includes(text)) out.push(text);
  }
  return out;
}

export function emptyUsage(): Usage {
  return { promptTokens: 0, completionTokens: 0, durationMs: 0 };
}

export function addUsage(into: Usage, more: Usage | undefined): void {
  if (!more) return;
  into.promptTokens += more.promptTokens;
  into.completionTokens += more.completionTokens;
  into.durationMs += more.durationMs;
}

/** A self-play candidate that never reached `sat`: the shared no-test-ran Verdict, naming the check it missed. */
function notRun(feedback: string, status: Verdict['status'] = 'error'): Verdict {
  return failedVerdict(status, feedback, [{ test: 'assert sat(sol()) is True', error: feedback }]);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The server is down or lacks the model: no use writing more puzzles. */
function isFatalModelError(err: unknown): boolean {
  return isModelError(err, 'unreachable') || isModelError(err, 'model_missing');
}
