// "Crucible Trace": the last runs (Solve and Verify, typed tasks, background refinements from the light
// bulb, the code lens or the Testing view), newest first, each with every attempt, its verdict and feedback.
// An attempt can be applied (through the same diff and confirmation as any result) or compared with the
// current code; a running run can be cancelled from its row.
import * as vscode from 'vscode';
import type { Attempt, Outcome, Task } from '../core/types';
import { evidenceText } from '../core/solve/evidence';
import type { FunctionInfo } from '../core/parse/functions';
import { failureSummary } from './messages';

export const MAX_RUNS = 10;

/** Where a run's result goes: the function (or selection) it was started on. */
export interface RunTarget {
  uri: vscode.Uri;
  range: vscode.Range;
  originalText: string;
  fn?: FunctionInfo;
}

export interface Run {
  id: number;
  task: Task;
  /** The function's name, or a short form of the typed task. */
  name: string;
  /** The file (relative), when the run is about one. */
  file?: string;
  background: boolean;
  startedAt: number;
  status: string;
  attempts: Attempt[];
  outcome?: Outcome;
  jobId?: number;
  target?: RunTarget;
}

export type TraceNode =
  | { kind: 'run'; run: Run }
  | { kind: 'attempt'; run: Run; attempt: Attempt; index: number }
  | { kind: 'line'; text: string; icon?: string }
  | { kind: 'code'; run: Run; attempt: Attempt };

export function runName(task: Task): string {
  if (task.entryPoint) return task.entryPoint;
  const words = task.prompt.replace(/\s+/g, ' ').trim();
  return words.length > 40 ? `${words.slice(0, 40)}…` : words;
}

export class TraceView implements vscode.TreeDataProvider<TraceNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TraceNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private runs: Run[] = [];
  private seq = 0;

  /** Starts a new run for `task`; the oldest run beyond the last MAX_RUNS is dropped. */
  begin(task: Task, options: { background?: boolean; jobId?: number; target?: RunTarget; file?: string } = {}): Run {
    const run: Run = {
      id: ++this.seq,
      task,
      name: runName(task),
      ...(options.file ? { file: options.file } : {}),
      background: options.background ?? false,
      startedAt: Date.now(),
      status: 'running…',
      attempts: [],
      ...(options.jobId !== undefined ? { jobId: options.jobId } : {}),
      ...(options.target ? { target: options.target } : {}),
    };
    this.runs.unshift(run);
    this.runs.length = Math.min(this.runs.length, MAX_RUNS);
    this.changed.fire(undefined);
    return run;
  }

  setStatus(run: Run, status: string): void {
    run.status = status;
    this.changed.fire(undefined);
  }

  addAttempt(run: Run, attempt: Attempt): void {
    run.attempts.push(attempt);
    this.changed.fire(undefined);
  }

  finish(run: Run, outcome: Outcome): void {
    run.outcome = outcome;
    run.attempts = outcome.attempts;
    run.status = describeOutcome(outcome);
    delete run.jobId;
    this.changed.fire(undefined);
  }

  /** A run ended without an Outcome (it could not start, or threw). */
  fail(run: Run, status: string): void {
    run.status = status;
    delete run.jobId;
    this.changed.fire(undefined);
  }

  list(): readonly Run[] {
    return this.runs;
  }

  get(id: number): Run | undefined {
    return this.runs.find((r) => r.id === id);
  }

  clear(): void {
    this.runs = this.runs.filter((r) => r.jobId !== undefined);
    this.changed.fire(undefined);
  }

  getTreeItem(node: TraceNode): vscode.TreeItem {
    switch (node.kind) {
      case 'run': {
        const { run } = node;
        const newest = this.runs[0] === run;
        const item = new vscode.TreeItem(
          run.name,
          newest ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
        );
        item.id = `run-${run.id}`;
        item.description = [
          run.status,
          run.file,
          run.background ? 'background' : '',
          new Date(run.startedAt).toLocaleTimeString(),
        ]
          .filter(Boolean)
          .join(' · ');
        const outcome = run.outcome;
        item.iconPath =
          run.jobId !== undefined
            ? new vscode.ThemeIcon('sync~spin')
            : outcome?.verified
              ? new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'))
              : outcome
                ? new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'))
                : new vscode.ThemeIcon('beaker');
        item.tooltip = `${run.task.prompt.slice(0, 500)}\n\n${run.status}`;
        item.contextValue = run.jobId !== undefined ? 'crucibleRunRunning' : 'crucibleRun';
        return item;
      }
      case 'attempt': {
        const { candidate, verdict } = node.attempt;
        const label = `Round ${candidate.round + 1} · attempt ${node.index + 1}`;
        const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `run-${node.run.id}-attempt-${node.index}`;
        item.description = `${verdict.passed ? 'passed' : verdict.status}${verdict.testsTotal ? ` · ${verdict.testsPassed}/${verdict.testsTotal} tests` : verdict.passed ? '' : ' · no test ran'} · ${Math.round(verdict.durationMs)} ms`;
        item.iconPath = new vscode.ThemeIcon(
          verdict.passed ? 'pass' : 'error',
          new vscode.ThemeColor(verdict.passed ? 'testing.iconPassed' : 'testing.iconFailed'),
        );
        item.tooltip = new vscode.MarkdownString().appendCodeblock(verdict.feedback || verdict.status, 'text');
        item.contextValue = verdict.passed ? 'crucibleAttempt.passed' : 'crucibleAttempt.failed';
        return item;
      }
      case 'line': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.tooltip = node.text;
        if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon);
        return item;
      }
      case 'code': {
        const item = new vscode.TreeItem('Show code', vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('code');
        item.command = { command: 'crucible.showAttemptCode', title: 'Show code', arguments: [node.attempt] };
        return item;
      }
    }
  }

  getChildren(node?: TraceNode): TraceNode[] {
    if (!node) return this.runs.map((run): TraceNode => ({ kind: 'run', run }));
    if (node.kind === 'run') {
      const { run } = node;
      const tests: TraceNode = {
        kind: 'line',
        icon: 'checklist',
        text:
          run.task.testsOrigin === 'generated' || run.outcome?.verifiedByGeneratedTests
            ? 'Tests: generated by the model (not yours)'
            : run.task.testsOrigin === 'user'
              ? 'Tests: yours'
              : run.outcome
                ? 'Tests: none found'
                : 'Tests: looking…',
      };
      return [tests, ...run.attempts.map((attempt, index): TraceNode => ({ kind: 'attempt', run, attempt, index }))];
    }
    if (node.kind === 'attempt') {
      const { verdict, critique } = node.attempt;
      const lines: TraceNode[] = verdict.failures.slice(0, 20).map((f): TraceNode => ({
        kind: 'line',
        icon: 'debug-breakpoint-log',
        text: failureSummary(f),
      }));
      if (!lines.length && !verdict.passed) {
        lines.push(
          ...verdict.feedback
            .split('\n')
            .filter((l) => l.trim())
            .slice(0, 8)
            .map((text): TraceNode => ({ kind: 'line', text })),
        );
      }
      if (critique)
        lines.push({ kind: 'line', icon: 'comment', text: `Critique: ${critique.replace(/\s+/g, ' ').slice(0, 300)}` });
      lines.push({ kind: 'code', run: node.run, attempt: node.attempt });
      return lines;
    }
    return [];
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** "verified 3/3 in 2 rounds", counted as people count: the first round is round 1. */
export function describeOutcome(outcome: Outcome): string {
  const best = outcome.best?.verdict;
  const tests = best && best.testsTotal ? ` ${best.testsPassed}/${best.testsTotal}` : '';
  const evidence = evidenceText(outcome);
  const label = evidence ? ` (${evidence})` : outcome.verifiedByGeneratedTests ? ' (generated tests)' : '';
  if (outcome.unconfirmed) return `not verified: ${evidence ?? 'unconfirmed'}`;
  switch (outcome.stopReason) {
    case 'verified':
      return `verified${evidence ? '' : tests}${label} in ${outcome.rounds} round${outcome.rounds === 1 ? '' : 's'}`;
    case 'cancelled':
      return 'cancelled';
    case 'error':
      return `error: ${outcome.error ?? 'unknown'}`;
    default:
      return outcome.best && !best?.testsTotal
        ? 'not verified: budget ended, no attempt ran a test'
        : `not verified: budget ended${tests ? ` (best${tests})` : ''}`;
  }
}
