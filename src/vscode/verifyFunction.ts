// Verifying a function as it stands in the editor against its tests (no model): the "Verify" code lens and
// command, the Testing view's runs, verify-on-save and the re-check after a result was applied all come here.
// Verdicts are cached by the function's text and its tests, so an unchanged function is not run again.
import * as vscode from 'vscode';
import type { FunctionInfo } from '../core/parse/functions';
import type { TaskDetails } from '../core/parse/taskFromCode';
import type { Candidate, Verdict } from '../core/types';
import type { DocumentIndex } from './documentIndex';
import type { FunctionRuns } from './functionRuns';
import type { Jobs } from './jobs';
import type { Services } from './services';
import type { VerifyCache } from './verifyCache';
import { cacheKey, dedent, unitAt } from './engine';
import { isAbortError } from './cancel';
import { log } from './log';
import { forEditor } from './messages';
import type { VerifyResult } from './testing';
import { failureSummary } from './messages';

export interface VerifierParts {
  index: DocumentIndex;
  cache: VerifyCache;
  services: Services;
  jobs: Jobs;
  runs: FunctionRuns;
  /** Shows a result in the Testing view and the problems. */
  report: (doc: vscode.TextDocument, fn: FunctionInfo, result: VerifyResult) => void;
}

/** Same key as DocumentIndex.testedFunctions computes: the function's text as it stands in the file, plus its tests. */
function keyOf(d: TaskDetails): string {
  return cacheKey(d.fn?.text ?? d.task.currentCode ?? '', d.task.tests, d.task.language);
}

export class FunctionVerifier {
  constructor(private readonly parts: VerifierParts) {}

  /** Verifies the function's current code against its tests (no model). Uses the cache unless `force`. */
  async verify(
    doc: vscode.TextDocument,
    fn: FunctionInfo,
    force: boolean,
    signal?: AbortSignal,
  ): Promise<VerifyResult | undefined> {
    const { index, cache, runs } = this.parts;
    const d = await index.taskFor(doc, fn);
    if (d.task.testsOrigin !== 'user' || !d.task.tests.trim()) {
      void vscode.window.setStatusBarMessage(
        `Crucible: ${fn.name} has no tests to verify against (doctest, assert, pytest/unittest or node:assert)`,
        6000,
      );
      return undefined;
    }
    const key = keyOf(d);
    const hit = cache.get(key);
    if (!force && hit) {
      const result: VerifyResult = { ...hit, failures: hit.failures ?? [] };
      this.parts.report(doc, fn, result);
      return result;
    }
    const uri = doc.uri.toString();
    if (runs.has(uri, fn.qualifiedName)) return undefined;
    runs.start(uri, fn.qualifiedName, 'verify');
    try {
      const verdict = await this.run(d, fn, signal);
      const first = verdict.failures[0];
      const summary = first ? failureSummary(first) : verdict.status;
      const failures = verdict.failures.slice(0, 10);
      const entry = {
        testsPassed: verdict.testsPassed,
        testsTotal: verdict.testsTotal || d.testCount,
        passed: verdict.passed,
        summary,
        failures,
        at: Date.now(),
      };
      await cache.set(key, entry);
      log.info(
        `Crucible: ${fn.qualifiedName} ${verdict.passed ? 'verified' : 'failed'} ${entry.testsPassed}/${entry.testsTotal}${verdict.passed ? '' : `\n${verdict.feedback}`}`,
      );
      const result: VerifyResult = { ...entry, durationMs: verdict.durationMs };
      this.parts.report(doc, fn, result);
      return result;
    } catch (err) {
      if (isAbortError(err)) {
        void vscode.window.setStatusBarMessage('Crucible: verification cancelled', 4000);
      } else {
        log.error(`Crucible: verifying ${fn.qualifiedName} failed: ${(err as Error)?.message ?? String(err)}`);
        void vscode.window
          .showWarningMessage(
            `Crucible could not run the tests of ${fn.name}: ${forEditor((err as Error)?.message ?? String(err))}`,
            'Show Log',
          )
          .then((c) => c && log.show());
      }
      return undefined;
    } finally {
      runs.end(uri, fn.qualifiedName);
    }
  }

  /** Runs the function's current code through the verifier as a cancellable job. */
  private run(d: TaskDetails, fn: FunctionInfo, signal: AbortSignal | undefined): Promise<Verdict> {
    return this.parts.jobs.run(
      `Verifying ${fn.name}`,
      async (jobSignal) => {
        const verifier = await this.parts.services.verifier();
        const candidate: Candidate = {
          id: `current-${fn.qualifiedName}`,
          code: dedent(' '.repeat(fn.startColumn) + fn.text),
          language: d.task.language,
          round: 0,
        };
        return verifier.verify(d.task, candidate, jobSignal);
      },
      signal,
    );
  }

  /**
   * After a result was applied at `at`: re-runs the function's tests (no model) so its code lens, test item
   * and problems show the verdict of the code now in the file.
   */
  async verifyAfterEdit(uri: vscode.Uri, at: vscode.Position): Promise<void> {
    try {
      const doc = await vscode.workspace.openTextDocument(uri);
      const fns = await this.parts.index.functionsOf(doc, true);
      const unit = unitAt(fns, doc.offsetAt(doc.validatePosition(at)) + 1);
      if ('error' in unit) return;
      const d = await this.parts.index.taskFor(doc, unit);
      if (d.task.testsOrigin !== 'user' || !d.task.tests.trim()) return;
      await this.verify(doc, unit, false);
    } catch (err) {
      log.debug(`Crucible: re-verifying after apply: ${(err as Error)?.message ?? String(err)}`);
    }
  }
}
