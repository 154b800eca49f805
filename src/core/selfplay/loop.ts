// Self-play: the model writes programming puzzles in the P3 format, solves them, and keeps what the
// interpreter verifies (after "Language Models Can Teach Themselves to Program Better").
//
// One ticket = one puzzle written (ticket.ts): pick a curriculum arm (or an easier-variant request for a
// puzzle that beat the solver), prompt with a few diverse examples, extract the code, run the validity
// filters in the sandbox (parse, typed answer, imports, near-duplicate, time, determinism, triviality), then
// ask for n independent solutions and judge each (sol() in one sandbox job, sat(answer) in a clean one). A
// puzzle with at least one verified solution of the annotated type is accepted; its solve rate (the share of samples that solved it) is kept as Puzzle.solveRate.
//
// Several tickets run at once (`concurrency`), so while one puzzle waits for the model another is being
// probed or judged: the sandbox and the model overlap. Each settled ticket (settle.ts) updates the
// checkpoint atomically; `resume` continues a killed run from it (resume.ts).

import { setMaxListeners } from 'node:events';
import { recordFromPuzzle } from '../dataset/record';
import { isModelError } from '../model/errors';
import type { ChatMessage, ChatResult } from '../model/types';
import type { Puzzle, Usage } from '../types';
import { runPool } from '../util/runPool';
import { SELF_PLAY_DEFAULTS } from '../defaults';
import { VERSION } from '../version';
import { Curriculum, Rng } from './curriculum';
import { DEFAULT_ALLOWED_IMPORTS, normaliseMany, type ProbeLimits } from './probe';
import { topicOf } from './puzzle';
import { buildReport } from './report';
import { planResume, startState, type ResumePlan } from './resume';
import { settle, type Ledger } from './settle';
import { Checkpointer, type SelfPlayState } from './state';
import { addUsage, Cancelled, runTicket, type Accepted, type Settled, type Ticket, type TicketRun } from './ticket';
import {
  SelfPlayError,
  type Progress,
  type SelfPlayDeps,
  type SelfPlayEvent,
  type SelfPlayOptions,
  type SelfPlayReport,
} from './types';

export { SelfPlayError } from './types';

/** Consecutive puzzles lost to model errors before the run stops: the server is likely down or broken. */
const MAX_MODEL_FAILURES_IN_A_ROW = 5;

/** Runs self-play to the target, the generation budget, a cancel or a fatal error, and reports. */
export async function selfPlay(deps: SelfPlayDeps, options: SelfPlayOptions): Promise<SelfPlayReport> {
  const now = deps.now ?? Date.now;
  const sessionStart = now();
  checkOptions(options);
  const plan = await planResume(options.statePath, options.resume === true ? 'resume' : 'new');
  return new SelfPlayRun(deps, options, plan, sessionStart).run();
}

function checkOptions(options: SelfPlayOptions): void {
  if (!Number.isInteger(options.count) || options.count < 1)
    throw new SelfPlayError(`count must be a whole number ≥ 1 (got ${options.count}).`);
  if (!Number.isInteger(options.samples) || options.samples < 1)
    throw new SelfPlayError(`samples must be a whole number ≥ 1 (got ${options.samples}).`);
  if (options.seeds.length === 0)
    throw new SelfPlayError('No seed puzzles: pass a P3 file with --seeds or use the shipped seeds.');
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** One self-play session: a new run, or a saved one resumed. */
class SelfPlayRun {
  private readonly now: () => number;
  private readonly state: SelfPlayState;
  private readonly resumed: boolean;
  private readonly elapsedBefore: number;
  private readonly generatedBefore: number;
  private readonly rng: Rng;
  private readonly ledger: Ledger;
  private readonly checkpoint: Checkpointer | undefined;
  private readonly limits: ProbeLimits;
  private readonly temperature: number;
  /** Every request and sandbox job in flight listens on this signal. */
  private readonly stop = new AbortController();
  /** The caller's cancel, passed on to `stop`. */
  private readonly onOuterAbort = (): void => this.stop.abort(new Cancelled('cancelled'));
  private readonly seedHashes = new Map<string, string>();
  private readonly tickets: TicketRun;
  private fatal: Error | undefined;
  private inFlight = 0;
  /** Accepted puzzles being appended to the dataset: they count against the target already. */
  private reserving = 0;

  constructor(
    private readonly deps: SelfPlayDeps,
    private readonly options: SelfPlayOptions,
    plan: ResumePlan,
    private readonly sessionStart: number,
  ) {
    this.now = deps.now ?? Date.now;
    const saved = plan.kind === 'resume' ? plan.saved : undefined;
    this.resumed = saved !== undefined;
    const { count, samples, maxGenerations, seed } = options;
    this.state = startState(saved, { count, samples, seedCount: options.seeds.length, maxGenerations, seed }, this.now);
    this.elapsedBefore = this.state.elapsedMs;
    this.generatedBefore = this.state.generated;
    this.rng = new Rng(this.state.rng);
    const topics = [...new Set(options.seeds.map(topicOf))].sort();
    const acceptedHashes = new Map<string, string>(this.state.accepted.map((a) => [a.hash, a.puzzle.name]));
    this.ledger = {
      state: this.state,
      curriculum: new Curriculum(topics, this.state.curriculum),
      acceptedHashes,
      modelFailuresInARow: 0,
    };
    this.checkpoint = options.statePath ? new Checkpointer(options.statePath) : undefined;
    this.limits = {
      satTimeoutMs: options.satTimeoutMs ?? SELF_PLAY_DEFAULTS.satTimeoutMs,
      solTimeoutMs: options.solTimeoutMs ?? SELF_PLAY_DEFAULTS.solTimeoutMs,
      allowedImports: options.allowedImports ?? DEFAULT_ALLOWED_IMPORTS,
    };
    this.temperature = options.temperature ?? Math.max(deps.model.settings.options.temperature ?? 0, 0.8);
    setMaxListeners(0, this.stop.signal);
    this.tickets = this.ticketRun();
  }

  async run(): Promise<SelfPlayReport> {
    const { options, state } = this;
    if (options.signal?.aborted) this.onOuterAbort();
    else options.signal?.addEventListener('abort', this.onOuterAbort, { once: true });
    // Seeds' normalised hashes, for near-duplicate detection.
    try {
      const hashes = await normaliseMany(
        this.deps.sandbox,
        options.seeds.map((s) => s.sat),
        this.stop.signal,
      );
      state.sandboxJobs++;
      hashes.forEach((h, i) => {
        if (h && !this.seedHashes.has(h)) this.seedHashes.set(h, options.seeds[i]!.name);
      });
    } catch (err) {
      if (this.stop.signal.aborted) return this.finish('cancelled');
      this.fatal = err as Error;
      return this.finish('error');
    }
    this.emit({ kind: 'started', resumed: this.resumed, progress: this.progress() });
    const concurrency = Math.max(1, options.concurrency ?? Math.max(2, this.deps.model.settings.maxParallel + 1));
    await runPool(
      concurrency,
      () => this.take(),
      (t) => this.work(t),
    );
    const userCancelled = options.signal?.aborted === true;
    return this.finish(
      this.fatal ? 'error' : state.accepted.length >= state.target ? 'count' : userCancelled ? 'cancelled' : 'budget',
    );
  }

  private emit(event: SelfPlayEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A failing listener must not stop the run.
    }
  }

  private progress(): Progress {
    const { state } = this;
    return {
      target: state.target,
      accepted: state.accepted.length,
      rejected: state.generated - state.accepted.length,
      generated: state.generated,
      maxGenerations: state.maxGenerations,
      inFlight: this.inFlight,
    };
  }

  /** A copy of the state as it is now, for the checkpoint. */
  private snapshot(): SelfPlayState {
    const { state } = this;
    state.rng = this.rng.state;
    state.curriculum = this.ledger.curriculum.snapshot();
    state.updatedAt = new Date(this.now()).toISOString();
    state.elapsedMs = this.elapsedBefore + (this.now() - this.sessionStart);
    return JSON.parse(JSON.stringify(state)) as SelfPlayState;
  }

  /** What tickets see of the run. */
  private ticketRun(): TicketRun {
    const { options } = this;
    return {
      deps: this.deps,
      limits: this.limits,
      seeds: options.seeds,
      examples: options.examples ?? SELF_PLAY_DEFAULTS.examples,
      samples: options.samples,
      rng: this.rng,
      runId: this.state.runId,
      signal: this.stop.signal,
      seedHashes: this.seedHashes,
      acceptedHashes: this.ledger.acceptedHashes,
      pending: new Set<string>(),
      acceptedPuzzles: (): Puzzle[] => this.state.accepted.map((a) => a.puzzle),
      chat: (messages, usage) => this.chat(messages, usage),
      emit: (event) => this.emit(event),
      countSandboxJobs: (n) => {
        this.state.sandboxJobs += n;
      },
      now: this.now,
    };
  }

  private async chat(messages: ChatMessage[], usage: Usage): Promise<ChatResult> {
    const { signal } = this.stop;
    if (signal.aborted) throw new Cancelled('cancelled');
    this.state.modelRequests++;
    try {
      const res = await this.deps.model.chat({ messages, options: { temperature: this.temperature }, signal });
      addUsage(usage, res.usage);
      addUsage(this.state.usage, res.usage);
      return res;
    } catch (err) {
      if (signal.aborted || isModelError(err, 'cancelled')) throw new Cancelled('cancelled');
      throw err;
    }
  }

  /** The next ticket, or undefined when the run should start no more: stopped, target met, or budget used. */
  private take(): Ticket | undefined {
    const { state } = this;
    if (
      this.stop.signal.aborted ||
      state.accepted.length >= state.target ||
      state.generated + this.inFlight >= state.maxGenerations
    )
      return undefined;
    const ticket = state.nextTicket++;
    this.inFlight++;
    if (state.ladder.length && this.rng.next() < (this.options.ladderShare ?? 0.5)) {
      const variant = state.ladder.shift()!;
      state.ladderStats.requested++;
      return { ticket, arm: variant.arm, variant };
    }
    return { ticket, arm: this.ledger.curriculum.choose(this.rng) };
  }

  private async work(t: Ticket): Promise<void> {
    let outcome: Settled | undefined;
    try {
      outcome = await runTicket(this.tickets, t);
    } catch (err) {
      if (!(err instanceof Cancelled) && !this.stop.signal.aborted) this.fail(asError(err), true);
    }
    try {
      if (outcome) await this.settle(t, outcome);
    } catch (err) {
      this.fail(asError(err));
    } finally {
      // In flight until settled (settle counts it as generated): a ticket being stored still holds its place
      // in the generation budget, so the run never writes more puzzles than maxGenerations.
      this.inFlight--;
      // An accepted puzzle's hash stays taken while it is stored (see TicketRun.pending).
      if (outcome?.kind === 'accepted') this.tickets.pending.delete(outcome.hash);
    }
  }

  /** Stops the run for `err` (kept as the cause unless one is already, or `replace` says so). */
  private fail(err: Error, replace = false): void {
    if (replace || !this.fatal) this.fatal = err;
    this.stop.abort(this.fatal);
  }

  private async settle(t: Ticket, outcome: Settled): Promise<void> {
    const { state } = this;
    if (outcome.kind === 'accepted') {
      if (state.accepted.length + this.reserving >= state.target) return; // the target was met meanwhile
      // After a fatal failure (e.g. the dataset's disk is full) nothing more is appended: a store that kept a
      // failed Record would otherwise write it with the next append, a record for a puzzle never accepted.
      if (this.fatal) return;
      await this.archive(t, outcome);
    }
    settle(this.ledger, t, outcome);
    if (outcome.kind === 'accepted') {
      this.emit({
        kind: 'accepted',
        ticket: t.ticket,
        puzzle: outcome.puzzle,
        solved: outcome.solved,
        answered: outcome.answered,
        progress: this.progress(),
      });
    } else {
      this.emit({
        kind: 'rejected',
        ticket: t.ticket,
        reason: outcome.reason,
        detail: outcome.detail,
        ...(outcome.name ? { name: outcome.name } : {}),
        progress: this.progress(),
      });
    }
    this.checkpoint?.save(() => this.snapshot());
    if (this.checkpoint?.lastError && !this.fatal) this.fail(this.checkpoint.lastError);
    const failures = this.ledger.modelFailuresInARow;
    if (failures >= MAX_MODEL_FAILURES_IN_A_ROW && !this.fatal) {
      const last = outcome.kind === 'rejected' ? outcome.detail : '';
      this.fail(
        new SelfPlayError(
          `The model failed on ${failures} puzzles in a row (last: ${last}). Check the server with \`crucible doctor\`; resume with --resume.`,
        ),
      );
    }
    if (state.accepted.length >= state.target) this.stop.abort(new Cancelled('count'));
  }

  /** Appends the accepted puzzle's Record to the dataset, counted against the target while it is written. */
  private async archive(t: Ticket, outcome: Accepted): Promise<void> {
    const { deps, options } = this;
    this.reserving++;
    try {
      if (!deps.dataset) return;
      const { settings } = deps.model;
      await deps.dataset.append(
        recordFromPuzzle(outcome.puzzle, {
          attempts: outcome.attempts,
          usage: outcome.usage,
          durationMs: outcome.durationMs,
          model: settings.model,
          options: {
            ...settings.options,
            temperature: this.temperature,
            selfPlay: { arm: t.arm, solved: outcome.solved, answered: outcome.answered },
          },
          extensionVersion: options.extensionVersion ?? VERSION,
          redact: Object.values(settings.headers ?? {}),
        }),
      );
    } finally {
      this.reserving--;
    }
  }

  /** Writes the last checkpoint and reports. */
  private async finish(stopReason: SelfPlayReport['stopReason']): Promise<SelfPlayReport> {
    this.options.signal?.removeEventListener('abort', this.onOuterAbort);
    if (this.checkpoint) {
      this.checkpoint.save(() => this.snapshot());
      try {
        await this.checkpoint.flush();
      } catch (err) {
        if (!this.fatal) this.fatal = err as Error;
        stopReason = 'error';
      }
    }
    const report = buildReport(this.state, this.ledger.curriculum.report(), {
      stopReason,
      durationMs: this.now() - this.sessionStart,
      generatedBefore: this.generatedBefore,
      resumed: this.resumed,
      ...(this.fatal ? { error: this.fatal } : {}),
      ...(this.options.statePath ? { statePath: this.options.statePath } : {}),
    });
    this.emit({ kind: 'done', report });
    return report;
  }
}
