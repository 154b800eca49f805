// Verify-on-save: when a file is saved (and crucible.verifyOnSave.enabled is on), its functions that have
// tests and no cached verdict for their current text are verified, once the saves have settled, as one
// cancellable job.
import * as vscode from 'vscode';
import type { DocumentIndex } from './documentIndex';
import type { Jobs } from './jobs';
import type { VerifyCache } from './verifyCache';
import type { FunctionVerifier } from './verifyFunction';
import { featureEnabled, Keys } from './config';
import { isSupportedLanguage } from './engine';
import { log } from './log';

/** Saves must settle this long before the file is verified. */
const SAVE_DEBOUNCE_MS = 500;
/** Most functions verified for one save. */
const MAX_VERIFY_ON_SAVE = 20;

export class VerifyOnSave implements vscode.Disposable {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly listener: vscode.Disposable;

  constructor(
    private readonly index: DocumentIndex,
    private readonly cache: VerifyCache,
    private readonly verifier: FunctionVerifier,
    private readonly jobs: Jobs,
  ) {
    this.listener = vscode.workspace.onDidSaveTextDocument((doc) => this.schedule(doc));
  }

  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.listener.dispose();
  }

  private schedule(doc: vscode.TextDocument): void {
    if (!isSupportedLanguage(doc.languageId) || !featureEnabled(Keys.verifyOnSave, doc.uri)) return;
    const uri = doc.uri.toString();
    const pending = this.timers.get(uri);
    if (pending) clearTimeout(pending);
    this.timers.set(
      uri,
      setTimeout(() => {
        this.timers.delete(uri);
        void this.verifySaved(doc).catch((err: unknown) =>
          log.warn(`Crucible: verify on save failed: ${(err as Error)?.message ?? String(err)}`),
        );
      }, SAVE_DEBOUNCE_MS),
    );
  }

  private async verifySaved(doc: vscode.TextDocument): Promise<void> {
    const source = new vscode.CancellationTokenSource();
    try {
      const tested = (await this.index.testedFunctions(doc, source.token))
        .filter((t) => !this.cache.has(t.key))
        .slice(0, MAX_VERIFY_ON_SAVE);
      if (!tested.length) return;
      log.info(
        `Crucible: verifying ${tested.length} function(s) of ${vscode.workspace.asRelativePath(doc.uri)} on save`,
      );
      // One cancellable job for the whole batch: "Crucible: Cancel" stops it, not just the current function.
      const controller = new AbortController();
      const tracked = this.jobs.track(`Verifying ${tested.length} function(s) on save`, controller);
      try {
        for (const t of tested) {
          if (controller.signal.aborted) break;
          await this.verifier.verify(doc, t.fn, false, controller.signal);
        }
      } finally {
        tracked.dispose();
      }
    } finally {
      source.dispose();
    }
  }
}
