// "Refine and Verify Function" (code lens, light bulb, Testing view's "fix"): a background solve of one
// function, shown in the trace history, whose verified result is offered as an inline suggestion (or in a
// side editor when inline suggestions are off). A result for code that changed during the run is dropped.
import * as vscode from 'vscode';
import type { FunctionInfo } from '../core/parse/functions';
import type { TaskDetails } from '../core/parse/taskFromCode';
import type { SolveEvent } from '../core/solve/types';
import type { Language, Outcome } from '../core/types';
import { evidenceText } from '../core/solve/evidence';
import type { DocumentIndex } from './documentIndex';
import type { FunctionRuns } from './functionRuns';
import type { Jobs } from './jobs';
import type { Services } from './services';
import type { SuggestionController } from './suggestionController';
import type { RunTarget, TraceView } from './traceView';
import type { VerifyCache } from './verifyCache';
import { cacheForm, cacheKey, isStale, replacementFor } from './engine';
import { isAbortError } from './cancel';
import { featureEnabled, Keys } from './config';
import { log } from './log';
import { forEditor } from './messages';

export interface RefineParts {
  index: DocumentIndex;
  services: Services;
  jobs: Jobs;
  runs: FunctionRuns;
  cache: VerifyCache;
  suggestions: SuggestionController;
  trace?: TraceView;
  onOutcome?: (outcome: Outcome) => void;
  /** Redraws the code lens. */
  changed: () => void;
}

function describeEvent(event: SolveEvent): string | undefined {
  switch (event.kind) {
    case 'round':
      return `round ${event.round + 1}/${event.rounds}`;
    case 'generating':
      return `round ${event.round + 1} · sampling ${event.index + 1}/${event.of}`;
    case 'verdict': {
      const v = event.attempt.verdict;
      return `round ${event.attempt.candidate.round + 1} · ${v.passed ? 'passed' : v.status}${v.testsTotal ? ` ${v.testsPassed}/${v.testsTotal}` : ''}`;
    }
    case 'tests':
      return `${event.count} ${event.origin} test(s)`;
    default:
      return undefined;
  }
}

/** Says why a run gave no verified refinement: the best attempt's score and its first failing tests. */
function reportUnverified(fn: FunctionInfo, outcome: Outcome): void {
  const v = outcome.best?.verdict;
  const failing = v?.failures
    .map((f) => f.test)
    .slice(0, 3)
    .join('; ');
  log.info(
    `Crucible: no verified refinement of ${fn.qualifiedName} (${outcome.stopReason})${v ? `: best ${v.testsPassed}/${v.testsTotal}\n${v.feedback}` : ''}`,
  );
  void vscode.window
    .showWarningMessage(
      `Crucible could not verify a refinement of ${fn.name} within the budget${v && v.testsTotal ? ` (best attempt: ${v.testsPassed}/${v.testsTotal} passing${failing ? `; failing: ${failing}` : ''})` : v ? ' (no attempt ran a test)' : ''}.`,
      'Show Trace',
      'Show Log',
    )
    .then((c) => {
      if (c === 'Show Trace') void vscode.commands.executeCommand('crucible.trace.focus');
      else if (c) log.show();
    });
}

/** Says a refinement run failed (not cancelled): a warning with "Check Setup" and "Show Log". */
function reportFailure(fn: FunctionInfo, file: string, err: unknown): void {
  log.error(`Crucible: refining ${fn.qualifiedName} failed: ${(err as Error)?.message ?? String(err)}`);
  void vscode.window
    .showWarningMessage(
      `Crucible could not refine ${fn.name} in ${file}: ${forEditor((err as Error)?.message ?? String(err))}`,
      'Check Setup',
      'Show Log',
    )
    .then((c) => {
      if (c === 'Check Setup') void vscode.commands.executeCommand('crucible.checkSetup');
      else if (c) log.show();
    });
}

export class RefineController {
  constructor(private readonly parts: RefineParts) {}

  /** Refines `fn` of `doc` in the background and offers a verified result. One run per function at a time. */
  async refine(doc: vscode.TextDocument, fn: FunctionInfo, hint?: string): Promise<void> {
    const { runs } = this.parts;
    const uri = doc.uri.toString();
    if (runs.has(uri, fn.qualifiedName)) {
      void vscode.window.setStatusBarMessage(`Crucible: ${fn.name} is already being worked on`, 4000);
      return;
    }
    const originalText = fn.text;
    // Marked as running before the first await, so a double click cannot start a second run.
    runs.start(uri, fn.qualifiedName, 'refine');
    let outcome: Outcome;
    let details: TaskDetails;
    const file = doc.isUntitled ? doc.uri.path : vscode.workspace.asRelativePath(doc.uri);
    const trace: { run?: ReturnType<TraceView['begin']> } = {};
    try {
      details = await this.parts.index.taskFor(doc, fn, hint);
      outcome = await this.solve(doc, fn, details, hint, trace);
      this.parts.onOutcome?.(outcome);
    } catch (err) {
      if (trace.run) this.parts.trace?.fail(trace.run, isAbortError(err) ? 'cancelled' : 'failed');
      if (isAbortError(err)) void vscode.window.setStatusBarMessage('Crucible: cancelled', 4000);
      else reportFailure(fn, file, err);
      return;
    } finally {
      runs.end(uri, fn.qualifiedName);
    }
    await this.present(doc, fn, originalText, details, outcome);
  }

  /** The solve as a background job, with its attempts and progress in the trace history. */
  private solve(
    doc: vscode.TextDocument,
    fn: FunctionInfo,
    details: TaskDetails,
    hint: string | undefined,
    trace: { run?: ReturnType<TraceView['begin']> },
  ): Promise<Outcome> {
    const view = this.parts.trace;
    const file = doc.isUntitled ? doc.uri.path : vscode.workspace.asRelativePath(doc.uri);
    const target: RunTarget = {
      uri: doc.uri,
      range: new vscode.Range(doc.positionAt(fn.startOffset), doc.positionAt(fn.endOffset)),
      originalText: fn.text,
      fn,
    };
    return this.parts.jobs.run(`${hint ? 'Fixing' : 'Refining'} ${fn.name}`, async (signal, report, job) => {
      // Background refinements are in the trace history too, each cancellable on its own.
      const run = (trace.run = view?.begin(details.task, { background: true, jobId: job.id, target, file }));
      const result = await this.parts.services.solve({
        task: details.task,
        signal,
        scope: doc.uri,
        onEvent: (event) => {
          if (event.kind === 'verdict' && run) view?.addAttempt(run, event.attempt);
          const detail = describeEvent(event);
          if (detail) {
            report(detail);
            if (run) view?.setStatus(run, detail);
          }
        },
      });
      if (run) view?.finish(run, result);
      return result;
    });
  }

  private async present(
    doc: vscode.TextDocument,
    fn: FunctionInfo,
    originalText: string,
    details: TaskDetails,
    outcome: Outcome,
  ): Promise<void> {
    const best = outcome.best;
    if (outcome.stopReason === 'cancelled') {
      void vscode.window.setStatusBarMessage('Crucible: cancelled', 4000);
      return;
    }
    if (outcome.stopReason === 'error') {
      log.error(`Crucible: refining ${fn.qualifiedName}: ${outcome.error ?? 'unknown error'}`);
      void vscode.window
        .showWarningMessage(
          `Crucible could not refine ${fn.name}: ${forEditor(outcome.error ?? 'the solve failed')}`,
          'Show Log',
        )
        .then((c) => c && log.show());
      return;
    }
    if (!outcome.verified || !best) {
      reportUnverified(fn, outcome);
      return;
    }
    // The document may have changed during the run: find the function again and drop stale results.
    const fresh = await vscode.workspace.openTextDocument(doc.uri);
    const now = (await this.parts.index.functionsOf(fresh, true)).filter((f) => f.qualifiedName === fn.qualifiedName);
    const current = now.sort(
      (a, b) => Math.abs(a.startOffset - fn.startOffset) - Math.abs(b.startOffset - fn.startOffset),
    )[0];
    if (!current || isStale(originalText, current.text)) {
      log.info(`Crucible: ${fn.qualifiedName} changed while it was being refined; the verified result was dropped`);
      void vscode.window.setStatusBarMessage(
        `Crucible: ${fn.name} changed during the run; the result was dropped`,
        6000,
      );
      return;
    }
    const lineIndent = /^[ \t]*/.exec(fresh.lineAt(current.startLine).text)?.[0] ?? '';
    const replacement = await replacementFor(
      current,
      best.candidate.code,
      fresh.languageId as Language,
      this.parts.index.parser,
      lineIndent,
    );
    const v = best.verdict;
    const evidence = evidenceText(outcome);
    const label = evidence ? `verified (${evidence})` : `verified ${v.testsPassed}/${v.testsTotal}`;
    // Remember the verdict for the new text, so the lens shows it right after the suggestion is accepted.
    if (details.task.testsOrigin === 'user') {
      await this.parts.cache.set(cacheKey(replacement, details.task.tests, details.task.language), {
        testsPassed: v.testsPassed,
        testsTotal: v.testsTotal,
        passed: true,
        summary: '',
        failures: [],
        at: Date.now(),
      });
    }
    if (cacheForm(replacement) === cacheForm(current.text)) {
      void vscode.window.setStatusBarMessage(`Crucible: ${fn.name} is already ${label}; nothing to change`, 6000);
      this.parts.changed();
      return;
    }
    if (!featureEnabled(Keys.inlineSuggestions, fresh.uri)) {
      log.info(`Crucible: inline suggestions are off; verified refinement of ${fn.qualifiedName}:\n${replacement}`);
      const side = await vscode.workspace.openTextDocument({ language: fresh.languageId, content: replacement });
      await vscode.window.showTextDocument(side, { preview: true, viewColumn: vscode.ViewColumn.Beside });
      return;
    }
    await this.parts.suggestions.offer(
      fresh,
      current,
      { uri: fresh.uri.toString(), qualifiedName: fn.qualifiedName, originalText, replacement, label },
      fn.name,
    );
    this.parts.changed();
  }
}
