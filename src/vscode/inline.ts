// Crucible while you edit: code actions, inline suggestions of verified refinements, code lens with
// verification status, the Testing view, and verify-on-save. Registered once from activate(); the toggles are
// read per request and re-read when settings change. The rooms: DocumentIndex (functions and tests),
// FunctionVerifier (verify a function), RefineController (refine one), SuggestionController (the inline
// suggestions), VerifyOnSave, and the command table in inlineCommands.ts.
import * as vscode from 'vscode';
import type { Outcome } from '../core/types';
import type { Services } from './services';
import { Jobs } from './jobs';
import { affects, featureEnabled, Keys } from './config';
import { log } from './log';
import { VerifyCache } from './verifyCache';
import { CrucibleCodeActions } from './codeActions';
import { CrucibleCodeLens, type LensSource, type PendingLens, type TestedFunction } from './codeLens';
import { CrucibleInlineSuggestions } from './inlineSuggestions';
import type { TraceView } from './traceView';
import { CrucibleTesting } from './testing';
import { DocumentIndex } from './documentIndex';
import { FunctionRuns } from './functionRuns';
import { FunctionVerifier } from './verifyFunction';
import { RefineController } from './refineController';
import { SuggestionController } from './suggestionController';
import { VerifyOnSave } from './verifyOnSave';
import { registerInlineCommands } from './inlineCommands';

const SELECTOR: vscode.DocumentSelector = [
  { language: 'python', scheme: 'file' },
  { language: 'python', scheme: 'untitled' },
  { language: 'javascript', scheme: 'file' },
  { language: 'javascript', scheme: 'untitled' },
  { language: 'typescript', scheme: 'file' },
  { language: 'typescript', scheme: 'untitled' },
];

/**
 * Registers the light bulb actions, the inline suggestion provider, the code lens, verify-on-save and the
 * `crucible.refineFunction` / `crucible.verifyFunction` commands. Pass the extension's Jobs so the status
 * bar and "Crucible: Cancel" cover these runs too, and its DocumentIndex so "Solve and Verify" sees the same
 * tests (without one, the features make their own).
 */
export function registerInlineFeatures(
  context: vscode.ExtensionContext,
  services: Services,
  jobs?: Jobs,
  trace?: TraceView,
  onOutcome?: (outcome: Outcome) => void,
  index?: DocumentIndex,
): InlineFeatures {
  const ownJobs = jobs ?? new Jobs();
  if (!jobs) context.subscriptions.push(ownJobs);
  const ownIndex = index ?? new DocumentIndex();
  if (!index) context.subscriptions.push(ownIndex);
  const features = new InlineFeatures(context, services, ownJobs, ownIndex, trace, onOutcome);
  context.subscriptions.push(features);
  return features;
}

interface Toggles {
  codeActions: boolean;
  inlineSuggestions: boolean;
  codeLens: boolean;
  verifyOnSave: boolean;
}

function readToggles(): Toggles {
  return {
    codeActions: featureEnabled(Keys.codeActions),
    inlineSuggestions: featureEnabled(Keys.inlineSuggestions),
    codeLens: featureEnabled(Keys.codeLens),
    verifyOnSave: featureEnabled(Keys.verifyOnSave),
  };
}

/** The editor features put together; the code lens reads its state through this (LensSource). */
export class InlineFeatures implements vscode.Disposable, LensSource {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly lensChanged = new vscode.EventEmitter<void>();
  readonly onDidChange = this.lensChanged.event;
  private toggles = readToggles();
  private readonly cache: VerifyCache;
  private readonly runs = new FunctionRuns(() => this.lensChanged.fire());
  private readonly verifier: FunctionVerifier;
  private readonly suggestions: SuggestionController;

  constructor(
    context: vscode.ExtensionContext,
    services: Services,
    jobs: Jobs,
    private readonly index: DocumentIndex,
    trace?: TraceView,
    onOutcome?: (outcome: Outcome) => void,
  ) {
    const changed = (): void => this.lensChanged.fire();
    const cache = (this.cache = new VerifyCache(context.workspaceState));
    const testing = new CrucibleTesting({
      testedFunctions: (doc, token) => index.testedFunctions(doc, token),
      functionsOf: (doc, broken) => index.functionsOf(doc, broken),
      verifyNow: (doc, fn, signal) => this.verifier.verify(doc, fn, true, signal),
    });
    const verifier = (this.verifier = new FunctionVerifier({
      index,
      cache,
      services,
      jobs,
      runs: this.runs,
      report: (doc, fn, r) => testing.report(doc, fn, r),
    }));
    const suggestions = (this.suggestions = new SuggestionController(
      index,
      changed,
      () => this.toggles.inlineSuggestions,
    ));
    const refiner = new RefineController({
      index,
      services,
      jobs,
      runs: this.runs,
      cache,
      suggestions,
      changed,
      ...(trace ? { trace } : {}),
      ...(onOutcome ? { onOutcome } : {}),
    });
    this.disposables.push(
      testing,
      suggestions,
      this.lensChanged,
      ...this.providers(),
      ...registerInlineCommands({ index, verifier, refiner, suggestions }),
    );
    this.disposables.push(
      suggestions.store.onDidChange(changed),
      index.onDidChangeTests(changed),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!affects(e, Keys.codeActions, Keys.inlineSuggestions, Keys.codeLens, Keys.verifyOnSave)) return;
        this.toggles = readToggles();
        log.info(`Crucible editor features: ${JSON.stringify(this.toggles)}`);
        changed();
      }),
      new VerifyOnSave(index, cache, verifier, jobs),
    );
  }

  private providers(): vscode.Disposable[] {
    const functionsOf = (doc: vscode.TextDocument) => this.index.functionsOf(doc, true);
    return [
      vscode.languages.registerCodeActionsProvider(
        SELECTOR,
        new CrucibleCodeActions(functionsOf),
        CrucibleCodeActions.metadata,
      ),
      vscode.languages.registerInlineCompletionItemProvider(
        SELECTOR,
        new CrucibleInlineSuggestions(this.suggestions.store, functionsOf, (doc, s, fn) =>
          this.suggestions.strike(doc, s, fn),
        ),
      ),
      vscode.languages.registerCodeLensProvider(SELECTOR, new CrucibleCodeLens(this)),
    ];
  }

  /**
   * After a result was applied at `at`: re-runs the function's tests (no model) so its code lens, test item
   * and problems show the verdict of the code now in the file.
   */
  verifyAfterEdit(uri: vscode.Uri, at: vscode.Position): Promise<void> {
    return this.verifier.verifyAfterEdit(uri, at);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  // ───────────────────────── LensSource

  testedFunctions(doc: vscode.TextDocument, token: vscode.CancellationToken): Promise<TestedFunction[]> {
    return this.index.testedFunctions(doc, token);
  }

  pending(doc: vscode.TextDocument): Promise<PendingLens[]> {
    return this.suggestions.pending(doc);
  }

  cached(key: string) {
    return this.cache.get(key);
  }

  running(uri: string, qualifiedName: string): 'verify' | 'refine' | undefined {
    return this.runs.get(uri, qualifiedName);
  }
}
