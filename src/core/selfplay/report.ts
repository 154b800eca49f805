// The self-play run report as text (CLI, VS Code log) and accepted puzzles in P3's published layout.

import { p3Entry, p3Notes, type P3Entry } from '../dataset/p3';
import type { Puzzle } from '../types';
import { curriculumWindows } from './curriculum';
import type { SelfPlayState } from './state';
import { REJECT_REASONS, type ArmReport, type SelfPlayReport } from './types';

const REASON_TEXT: { [reason in (typeof REJECT_REASONS)[number]]: string } = {
  no_code: 'no puzzle in the answer',
  syntax: 'sat does not parse',
  untyped: 'answer type missing or unsupported',
  unsafe: 'imports / I/O not allowed',
  duplicate: 'near-duplicate',
  slow: 'sat too slow',
  nondeterministic: 'sat not deterministic',
  trivial: 'sat accepts a probe (trivial)',
  type_mismatch: 'answer type does not match',
  unsolved: 'no verified solution',
  no_wrong_answer: 'no known-failing answer',
  model_error: 'model failed to answer',
};

/** What the run knows about its own session, beside the state it saved. */
export interface SessionFacts {
  stopReason: SelfPlayReport['stopReason'];
  /** The error that stopped the run; it makes the stop reason 'error'. */
  error?: Error;
  /** This session's wall time. */
  durationMs: number;
  /** Puzzles settled before this session (a resumed run's earlier sessions). */
  generatedBefore: number;
  resumed: boolean;
  statePath?: string;
}

/** The run report from the state, the curriculum's arms (Curriculum.report()) and the session. */
export function buildReport(state: SelfPlayState, arms: readonly ArmReport[], session: SessionFacts): SelfPlayReport {
  const rejected = Object.fromEntries(
    REJECT_REASONS.map((r) => [r, state.rejected[r] ?? 0]),
  ) as SelfPlayReport['rejected'];
  const solveRates: { [rate: string]: number } = {};
  for (const a of state.accepted) {
    const key = (a.puzzle.solveRate ?? 0).toFixed(1);
    solveRates[key] = (solveRates[key] ?? 0) + 1;
  }
  const { durationMs } = session;
  const settled = state.generated - session.generatedBefore;
  const report: SelfPlayReport = {
    stopReason: session.error ? 'error' : session.stopReason,
    target: state.target,
    accepted: state.accepted.length,
    generated: state.generated,
    rejected,
    solveRates,
    curriculum: {
      arms: arms.filter((a) => a.pulls > 0),
      windows: curriculumWindows(state.history),
      ladder: { ...state.ladderStats },
    },
    puzzlesPerSecond: durationMs > 0 ? Math.round((settled / (durationMs / 1000)) * 1000) / 1000 : 0,
    modelRequests: state.modelRequests,
    sandboxJobs: state.sandboxJobs,
    durationMs,
    resumed: session.resumed,
  };
  if (session.error) report.error = session.error.message;
  if (session.statePath) report.statePath = session.statePath;
  return report;
}

export function formatReport(report: SelfPlayReport): string {
  const lines: string[] = [];
  const rejectedTotal = REJECT_REASONS.reduce((n, r) => n + report.rejected[r], 0);
  const how = {
    count: 'target reached',
    budget: 'generation budget used up',
    cancelled: 'stopped',
    error: 'stopped by an error',
  }[report.stopReason];
  lines.push(
    `Self-play: ${report.accepted}/${report.target} puzzles accepted, ${rejectedTotal} rejected, ${report.generated} written (${how}${report.resumed ? ', resumed run' : ''}).`,
  );
  if (report.error) lines.push(`Error: ${report.error}`);
  lines.push('', 'Rejected by reason:');
  for (const r of REJECT_REASONS)
    lines.push(`  ${r.padEnd(17)} ${String(report.rejected[r]).padStart(5)}  ${REASON_TEXT[r]}`);
  const rates = Object.entries(report.solveRates).sort((a, b) => Number(a[0]) - Number(b[0]));
  if (rates.length) lines.push('', `Accepted by solve rate: ${rates.map(([r, n]) => `${r}: ${n}`).join(', ')}`);
  const arms = report.curriculum.arms.slice(0, 8);
  if (arms.length) {
    lines.push('', 'Curriculum (topic/band: pulls, value, accepted, mean solve rate):');
    for (const a of arms)
      lines.push(
        `  ${a.arm.padEnd(28)} ${String(a.pulls).padStart(4)}  Q ${a.q.toFixed(2)}  ${String(a.accepted).padStart(3)} accepted${a.meanSolveRate !== undefined ? `  p̄ ${a.meanSolveRate.toFixed(2)}` : ''}`,
      );
  }
  if (report.curriculum.windows.length) {
    lines.push(
      '',
      'Where the curriculum went (tickets: easy/medium/hard asked, variants, busiest topic, mean solve rate):',
    );
    for (const w of report.curriculum.windows) {
      lines.push(
        `  ${`${w.fromTicket}-${w.toTicket}`.padEnd(10)} ${w.bands.easy}/${w.bands.medium}/${w.bands.hard}  variants ${w.variants}  ${w.topTopic ?? '-'}${w.meanSolveRate !== undefined ? `  p̄ ${w.meanSolveRate.toFixed(2)}` : ''}`,
      );
    }
  }
  lines.push(
    '',
    `Easier variants (LADDER): ${report.curriculum.ladder.requested} asked, ${report.curriculum.ladder.accepted} accepted.`,
  );
  lines.push(
    `Throughput: ${report.puzzlesPerSecond} puzzles checked/s; ${report.modelRequests} model requests, ${report.sandboxJobs} sandbox jobs, ${(report.durationMs / 1000).toFixed(1)} s.`,
  );
  if (report.statePath) lines.push(`Checkpoint: ${report.statePath}`);
  return `${lines.join('\n')}\n`;
}

/** A puzzle as a P3 `puzzles.json` entry (exactly P3's fields; Crucible's extras in `notes`). */
export function toP3(puzzle: Puzzle): P3Entry {
  return { ...p3Entry(puzzle), notes: p3Notes(puzzle) };
}
