// Crucible while you edit: code actions, inline suggestions of verified refinements, code lens with
// verification status, and verify-on-save. Registered once from activate(); the toggles are read per
// request and re-read when settings change.
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import type { CodeParser } from '../core/parse/loader';
import { createParser, defaultParser } from './engine';
import type { FunctionInfo } from '../core/parse/functions';
import { dedent, findFunctions, isTooLarge } from './engine';
import type { TaskDetails } from '../core/parse/taskFromCode';
import { buildTaskForFunction, isSolvableUnit, isSupportedLanguage, unitAt } from './engine';
import type { SourceFile } from '../core/parse/tests';
import { findUserTestsMany } from './engine';
import { cacheKey, isStale, normaliseCode } from './engine';
import { replacementFor } from './engine';
import type { Candidate, Language, Outcome } from '../core/types';
import type { SolveEvent } from '../core/solve/types';
import type { Services } from './services';
import { Jobs } from './jobs';
import { affects, featureEnabled, Keys } from './config';
import { log } from './log';
import { isAbortError } from './cancel';
import { VerifyCache } from './verifyCache';
import { CrucibleCodeActions } from './codeActions';
import { CrucibleCodeLens, REFINE_COMMAND, VERIFY_COMMAND, type LensSource, type PendingLens, type TestedFunction } from './codeLens';
import { evidenceText } from '../core/solve/evidence';
import { ACCEPT_COMMAND, ACCEPTED_COMMAND, CrucibleInlineSuggestions, DISMISS_COMMAND, ghostStart, liveSuggestionAt, removedRange, SHOW_COMMAND, SuggestionStore, type Suggestion } from './inlineSuggestions';
import type { RunTarget, TraceView } from './traceView';
import { CrucibleTesting, failureText, type VerifyResult } from './testing';
import { forEditor } from './messages';

const SELECTOR: vscode.DocumentSelector = [
  { language: 'python', scheme: 'file' },
  { language: 'python', scheme: 'untitled' },
  { language: 'javascript', scheme: 'file' },
  { language: 'javascript', scheme: 'untitled' },
  { language: 'typescript', scheme: 'file' },
  { language: 'typescript', scheme: 'untitled' },
];
const TEST_GLOBS: { [L in Language]: string } = {
  python: '**/{test_*.py,*_test.py,tests/**/*.py}',
  javascript: '**/*.{test,spec}.{js,mjs,cjs}',
  typescript: '**/*.{test,spec}.ts',
};
const TEST_FILE = /(^|\/)(test_[^/]*\.py|[^/]*_test\.py|tests\/.*\.py|[^/]*\.(test|spec)\.[cm]?[jt]s)$/;
const TEST_EXCLUDE = '**/{node_modules,.git,.venv,venv,dist}/**';
const MAX_TEST_FILES = 40;
const MAX_TEST_FILE_BYTES = 200_000;
const TEST_FILES_TTL_MS = 30_000;
/** Edits must settle this long before lenses are recomputed. */
const EDIT_DEBOUNCE_MS = 400;
const SAVE_DEBOUNCE_MS = 500;
const MAX_VERIFY_ON_SAVE = 20;

/**
 * Registers the light bulb actions, the inline suggestion provider, the code lens, verify-on-save and the
 * `crucible.refineFunction` / `crucible.verifyFunction` commands. Pass the extension's Jobs so the status
 * bar and "Crucible: Cancel" cover these runs too.
 */
export function registerInlineFeatures(
  context: vscode.ExtensionContext,
  services: Services,
  jobs?: Jobs,
  trace?: TraceView,
  onOutcome?: (outcome: Outcome) => void,
): InlineFeatures {
  const ownJobs = jobs ?? new Jobs();
  if (!jobs) context.subscriptions.push(ownJobs);
  const features = new InlineFeatures(context, services, ownJobs, trace, onOutcome);
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

/** Tells the user a suggestion no longer fits its function. */
function droppedMessage(s: Suggestion): void {
  void vscode.window.setStatusBarMessage(`Crucible: ${s.qualifiedName} changed since the refinement began; the suggestion was dropped`, 6000);
}

/** The deleted lines of a refinement shown as ghost text: struck through, so the whole change is visible. */
const DELETED_LINES = vscode.window.createTextEditorDecorationType({
  textDecoration: 'line-through',
  opacity: '0.6',
  backgroundColor: new vscode.ThemeColor('diffEditor.removedLineBackground'),
  isWholeLine: true,
  overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.deletedForeground'),
  overviewRulerLane: vscode.OverviewRulerLane.Left,
  after: { contentText: '  ← removed by the refinement', color: new vscode.ThemeColor('editorCodeLens.foreground'), fontStyle: 'italic' },
});

function sleep(ms: number, token?: vscode.CancellationToken): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    token?.onCancellationRequested(() => {
      clearTimeout(timer);
      resolve();
    });
  });
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

export class InlineFeatures implements vscode.Disposable, LensSource {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly parser: CodeParser;
  private readonly cache: VerifyCache;
  private readonly suggestions = new SuggestionStore();
  private readonly lensChanged = new vscode.EventEmitter<void>();
  readonly onDidChange = this.lensChanged.event;
  private toggles = readToggles();
  private readonly parsed = new Map<string, { version: number; fns: Promise<FunctionInfo[]> }>();
  private readonly tested = new Map<string, { version: number; result: Promise<TestedFunction[]> }>();
  private readonly lastEdit = new Map<string, number>();
  private readonly runningJobs = new Map<string, 'verify' | 'refine'>();
  private readonly testFiles = new Map<Language, { at: number; files: Promise<SourceFile[]> }>();
  private readonly saveTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private selectionTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly testing: CrucibleTesting;
  /** Editors showing a refinement's deleted lines struck through, and the suggestion they belong to. */
  private readonly struck = new Map<vscode.TextEditor, { uri: string; id: number; start: number; end: number }>();

  constructor(
    context: vscode.ExtensionContext,
    private readonly services: Services,
    private readonly jobs: Jobs,
    private readonly trace?: TraceView,
    private readonly onOutcome?: (outcome: Outcome) => void,
  ) {
    const wasmDir = vscode.Uri.joinPath(context.extensionUri, 'dist', 'wasm').fsPath;
    this.parser = existsSync(wasmDir) ? createParser({ wasmDir }) : defaultParser();
    this.cache = new VerifyCache(context.workspaceState);
    const functionsOf = (doc: vscode.TextDocument) => this.functionsOf(doc, true);
    this.testing = new CrucibleTesting({
      testedFunctions: (doc, token) => this.testedFunctions(doc, token),
      functionsOf: (doc, broken) => this.functionsOf(doc, broken),
      verifyNow: (doc, fn, signal) => this.verify(doc, fn, true, signal),
    });
    this.disposables.push(
      this.testing,
      this.suggestions,
      this.lensChanged,
      vscode.languages.registerCodeActionsProvider(SELECTOR, new CrucibleCodeActions(functionsOf), CrucibleCodeActions.metadata),
      vscode.languages.registerInlineCompletionItemProvider(
        SELECTOR,
        new CrucibleInlineSuggestions(this.suggestions, functionsOf, (doc, s, fn) => this.strike(doc, s, fn)),
      ),
      vscode.languages.registerCodeLensProvider(SELECTOR, new CrucibleCodeLens(this)),
      vscode.commands.registerCommand(REFINE_COMMAND, (uri?: vscode.Uri | string, offset?: number, hint?: string) => this.refine(uri, offset, hint)),
      vscode.commands.registerCommand(VERIFY_COMMAND, (uri?: vscode.Uri | string, offset?: number) => this.verifyCommand(uri, offset)),
      vscode.commands.registerCommand(ACCEPTED_COMMAND, (uri: string, id: number, deleteAt?: number, removed?: string, replacement?: string) =>
        this.accepted(uri, id, deleteAt, removed, replacement),
      ),
      vscode.commands.registerCommand(SHOW_COMMAND, (uri: string, id: number) => this.showSuggestion(uri, id)),
      vscode.commands.registerCommand(ACCEPT_COMMAND, (uri: string, id: number) => this.applySuggestion(uri, id)),
      vscode.commands.registerCommand(DISMISS_COMMAND, (uri: string, id: number) => {
        this.suggestions.remove(uri, id);
        this.unstrike(uri);
        this.lensChanged.fire();
      }),
      this.suggestions.onDidChange(() => this.lensChanged.fire()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!affects(e, Keys.codeActions, Keys.inlineSuggestions, Keys.codeLens, Keys.verifyOnSave)) return;
        this.toggles = readToggles();
        log.info(`Crucible editor features: ${JSON.stringify(this.toggles)}`);
        this.lensChanged.fire();
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (!e.contentChanges.length) return;
        this.lastEdit.set(e.document.uri.toString(), Date.now());
        // Typing (or accepting) ends the preview of what a refinement removes.
        this.unstrike(e.document.uri.toString());
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        const uri = doc.uri.toString();
        this.parsed.delete(`all|${uri}`);
        this.parsed.delete(`healthy|${uri}`);
        this.tested.delete(uri);
        this.lastEdit.delete(uri);
        this.suggestions.clear(uri);
      }),
      vscode.workspace.onDidSaveTextDocument((doc) => {
        if (TEST_FILE.test(doc.uri.path)) {
          // A test file changed: re-read the workspace tests and recompute lenses.
          this.testFiles.clear();
          this.tested.clear();
          this.lensChanged.fire();
        }
        this.scheduleVerifyOnSave(doc);
      }),
      vscode.workspace.onDidCreateFiles(() => this.testFiles.clear()),
      vscode.workspace.onDidDeleteFiles(() => this.testFiles.clear()),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        this.maybeTriggerSuggestion(e.textEditor);
        const shown = this.struck.get(e.textEditor);
        if (shown) {
          const at = e.textEditor.document.offsetAt(e.selections[0]!.active);
          // The ghost text goes away when the cursor leaves where it starts; so do the struck-through lines.
          if (at < shown.start - 1 || at > shown.end) this.unstrike(shown.uri);
        }
      }),
      vscode.window.onDidChangeActiveTextEditor(() => {
        for (const [editor, shown] of this.struck) if (editor !== vscode.window.activeTextEditor) this.unstrike(shown.uri);
      }),
    );
  }

  /** Strikes through the lines the refinement offered as ghost text removes (VS Code's ghost text shows only insertions). */
  private strike(doc: vscode.TextDocument, s: Suggestion, fn: FunctionInfo): void {
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === doc);
    const range = removedRange(fn, s.replacement);
    if (!editor || !range) return;
    const start = doc.positionAt(range.start);
    const end = doc.positionAt(Math.max(range.start, range.end));
    editor.setDecorations(DELETED_LINES, [new vscode.Range(start, end)]);
    this.struck.set(editor, { uri: doc.uri.toString(), id: s.id, start: range.start, end: fn.endOffset });
  }

  private unstrike(uri: string): void {
    for (const [editor, shown] of [...this.struck]) {
      if (shown.uri !== uri) continue;
      editor.setDecorations(DELETED_LINES, []);
      this.struck.delete(editor);
    }
  }

  /**
   * After a result was applied at `at`: re-runs the function's tests (no model) so its code lens, test item
   * and problems show the verdict of the code now in the file.
   */
  async verifyAfterEdit(uri: vscode.Uri, at: vscode.Position): Promise<void> {
    try {
      const doc = await vscode.workspace.openTextDocument(uri);
      const fns = await this.functionsOf(doc, true);
      const unit = unitAt(fns, doc.offsetAt(doc.validatePosition(at)) + 1);
      if ('error' in unit) return;
      const d = await this.details(doc, unit);
      if (d.task.testsOrigin !== 'user' || !d.task.tests.trim()) return;
      await this.verify(doc, unit, false);
    } catch (err) {
      log.debug(`Crucible: re-verifying after apply: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  dispose(): void {
    for (const timer of this.saveTimers.values()) clearTimeout(timer);
    if (this.selectionTimer) clearTimeout(this.selectionTimer);
    for (const d of this.disposables) d.dispose();
    // A private parser (created for dist/wasm) holds its grammars until disposed; the shared one is not ours.
    if (this.parser !== defaultParser()) this.parser.dispose();
  }

  // ───────────────────────── parsing and tests, cached per document version

  /** Functions of a document; [] for unsupported languages, huge files or parser trouble (logged, no toast). */
  functionsOf(doc: vscode.TextDocument, broken: boolean): Promise<FunctionInfo[]> {
    const uri = doc.uri.toString();
    if (!isSupportedLanguage(doc.languageId)) return Promise.resolve([]);
    const slot = `${broken ? 'all' : 'healthy'}|${uri}`;
    const hit = this.parsed.get(slot);
    if (hit && hit.version === doc.version) return hit.fns;
    const text = doc.getText();
    const fns = isTooLarge(text)
      ? Promise.resolve<FunctionInfo[]>([])
      : findFunctions(text, doc.languageId as Language, this.parser, { includeBroken: broken }).catch((err: unknown) => {
          log.warn(`Crucible: could not parse ${doc.uri.fsPath || uri}: ${(err as Error)?.message ?? String(err)}`);
          return [];
        });
    if (isTooLarge(text)) log.debug(`Crucible: ${uri} is too large for editor features`);
    this.parsed.set(slot, { version: doc.version, fns });
    return fns;
  }

  private async workspaceTests(language: Language, exclude: vscode.Uri): Promise<SourceFile[]> {
    if (!vscode.workspace.workspaceFolders?.length) return [];
    let entry = this.testFiles.get(language);
    if (!entry || Date.now() - entry.at > TEST_FILES_TTL_MS) {
      const files = (async () => {
        const uris = await vscode.workspace.findFiles(TEST_GLOBS[language], TEST_EXCLUDE, MAX_TEST_FILES);
        const out: (SourceFile & { uri: string })[] = [];
        for (const uri of uris) {
          try {
            const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
            const text = open ? open.getText() : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
            if (text.length <= MAX_TEST_FILE_BYTES) out.push({ path: vscode.workspace.asRelativePath(uri), text, uri: uri.toString() });
          } catch {
            // An unreadable file is simply not a test source.
          }
        }
        return out;
      })().catch(() => []);
      entry = { at: Date.now(), files };
      this.testFiles.set(language, entry);
    }
    const all = (await entry.files) as (SourceFile & { uri?: string })[];
    return all.filter((f) => f.uri !== exclude.toString()).map(({ path, text }) => ({ path, text }));
  }

  private async details(doc: vscode.TextDocument, fn: FunctionInfo, hint?: string): Promise<TaskDetails> {
    const language = doc.languageId as Language;
    const otherFiles = await this.workspaceTests(language, doc.uri);
    return buildTaskForFunction(
      { code: doc.getText(), language, path: vscode.workspace.asRelativePath(doc.uri), otherFiles, parser: this.parser, ...(hint ? { hint } : {}) },
      fn,
    );
  }

  /** Same key as testedFunctions computes: the function's text as it stands in the file, plus its tests. */
  private keyOf(d: TaskDetails): string {
    return cacheKey(d.fn?.text ?? d.task.currentCode ?? '', d.task.tests, d.task.language);
  }

  async testedFunctions(doc: vscode.TextDocument, token: vscode.CancellationToken): Promise<TestedFunction[]> {
    if (!isSupportedLanguage(doc.languageId)) return [];
    const uri = doc.uri.toString();
    // Debounce: let a burst of edits settle before re-deriving tests.
    const since = Date.now() - (this.lastEdit.get(uri) ?? 0);
    if (since < EDIT_DEBOUNCE_MS) await sleep(EDIT_DEBOUNCE_MS - since, token);
    if (token.isCancellationRequested) return [];
    const hit = this.tested.get(uri);
    if (hit && hit.version === doc.version) return hit.result;
    const version = doc.version;
    const result = (async () => {
      const fns = await this.functionsOf(doc, false);
      const units = fns.filter((fn) => isSolvableUnit(fn, fns));
      const out: TestedFunction[] = [];
      if (!units.length) return out;
      const language = doc.languageId as Language;
      try {
        const otherFiles = await this.workspaceTests(language, doc.uri);
        const found = await findUserTestsMany({ code: doc.getText(), language, fns: units, otherFiles, path: vscode.workspace.asRelativePath(doc.uri), parser: this.parser });
        for (const fn of units) {
          const tests = found.get(fn.qualifiedName);
          if (!tests || tests.origin !== 'user' || !tests.count) continue;
          out.push({ fn, key: cacheKey(fn.text, tests.tests, language), testCount: tests.count, testSources: tests.sources });
        }
      } catch (err) {
        log.debug(`Crucible: could not collect tests of ${uri}: ${(err as Error)?.message ?? String(err)}`);
      }
      return out;
    })();
    this.tested.set(uri, { version, result });
    return result;
  }

  async pending(doc: vscode.TextDocument): Promise<PendingLens[]> {
    const uri = doc.uri.toString();
    if (!this.suggestions.forUri(uri).length) return [];
    const fns = await this.functionsOf(doc, true);
    const out: PendingLens[] = [];
    for (const s of [...this.suggestions.forUri(uri)]) {
      const fn = fns.find((f) => f.qualifiedName === s.qualifiedName);
      if (!fn) continue;
      const live = liveSuggestionAt(this.suggestions, uri, fns, fn.startOffset);
      if (live && live.suggestion.id === s.id) out.push({ fn: live.fn, id: s.id, label: s.label });
    }
    return out;
  }

  /**
   * A pending suggestion with its document opened and its function found as the code stands now: `live` is the
   * suggestion that still fits that function, undefined when the function changed or is gone.
   */
  private async locateSuggestion(
    uri: string,
    id: number,
  ): Promise<{ s: Suggestion; doc: vscode.TextDocument; live: ReturnType<typeof liveSuggestionAt> } | undefined> {
    const s = this.suggestions.get(uri, id);
    if (!s) return undefined;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
    const fns = await this.functionsOf(doc, true);
    const fn = fns.find((f) => f.qualifiedName === s.qualifiedName);
    const live = fn ? liveSuggestionAt(this.suggestions, uri, fns, fn.startOffset) : undefined;
    return { s, doc, live };
  }

  /** Applies a pending suggestion as one workspace edit (one undo step), unless the function changed since. */
  private async applySuggestion(uri: string, id: number): Promise<void> {
    const found = await this.locateSuggestion(uri, id);
    if (!found) return;
    const { s, doc, live } = found;
    if (!live || live.suggestion.id !== id) {
      droppedMessage(s);
      this.suggestions.remove(uri, id);
      return;
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(live.fn.startOffset), doc.positionAt(live.fn.endOffset)), s.replacement);
    const ok = await vscode.workspace.applyEdit(edit);
    if (ok) await this.accepted(uri, id);
    else void vscode.window.setStatusBarMessage('Crucible: the edit could not be applied', 6000);
  }

  cached(key: string) {
    return this.cache.get(key);
  }

  running(uri: string, qualifiedName: string): 'verify' | 'refine' | undefined {
    return this.runningJobs.get(`${uri}#${qualifiedName}`);
  }

  // ───────────────────────── commands

  private async resolveTarget(uriArg: vscode.Uri | string | undefined, offsetArg: number | undefined): Promise<{ doc: vscode.TextDocument; fn: FunctionInfo } | undefined> {
    let doc: vscode.TextDocument | undefined;
    let offset = offsetArg;
    if (uriArg) {
      const uri = typeof uriArg === 'string' ? vscode.Uri.parse(uriArg) : uriArg;
      doc = await vscode.workspace.openTextDocument(uri);
    } else {
      const editor = vscode.window.activeTextEditor;
      doc = editor?.document;
      if (editor && offset === undefined) offset = doc!.offsetAt(editor.selection.active);
    }
    if (!doc || offset === undefined) {
      void vscode.window.setStatusBarMessage('Crucible: put the cursor inside a function', 4000);
      return undefined;
    }
    if (!isSupportedLanguage(doc.languageId)) {
      log.info(`Crucible: ${doc.languageId} is not supported by the editor features`);
      void vscode.window.setStatusBarMessage(`Crucible supports Python, JavaScript and TypeScript; this file is ${doc.languageId}`, 5000);
      return undefined;
    }
    const fns = await this.functionsOf(doc, true);
    const unit = unitAt(fns, offset);
    if ('error' in unit) {
      log.info(`Crucible: ${unit.error}`);
      void vscode.window.setStatusBarMessage(`Crucible: ${unit.error}`, 6000);
      return undefined;
    }
    return { doc, fn: unit };
  }

  private async verifyCommand(uriArg?: vscode.Uri | string, offsetArg?: number): Promise<void> {
    const target = await this.resolveTarget(uriArg, offsetArg);
    if (!target) return;
    const result = await this.verify(target.doc, target.fn, true);
    if (result) {
      const text = result.passed ? `${target.fn.name}: verified ${result.testsPassed}/${result.testsTotal}` : `${target.fn.name}: ${result.testsPassed}/${result.testsTotal} passing`;
      void vscode.window.setStatusBarMessage(`${result.passed ? '$(pass)' : '$(error)'} Crucible: ${text}`, 6000);
    }
  }

  /** Verifies the function's current code against its tests (no model). Uses the cache unless `force`. */
  private async verify(doc: vscode.TextDocument, fn: FunctionInfo, force: boolean, signal?: AbortSignal): Promise<VerifyResult | undefined> {
    const d = await this.details(doc, fn);
    if (d.task.testsOrigin !== 'user' || !d.task.tests.trim()) {
      void vscode.window.setStatusBarMessage(`Crucible: ${fn.name} has no tests to verify against (doctest, assert, pytest/unittest or node:assert)`, 6000);
      return undefined;
    }
    const key = this.keyOf(d);
    const hit = this.cache.get(key);
    if (!force && hit) {
      const result: VerifyResult = { ...hit, failures: hit.failures ?? [] };
      this.testing.report(doc, fn, result);
      return result;
    }
    const runKey = `${doc.uri.toString()}#${fn.qualifiedName}`;
    if (this.runningJobs.has(runKey)) return undefined;
    this.runningJobs.set(runKey, 'verify');
    this.lensChanged.fire();
    try {
      const verdict = await this.jobs.run(
        `Verifying ${fn.name}`,
        async (jobSignal) => {
          const verifier = await this.services.verifier();
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
      const first = verdict.failures[0];
      const summary = first ? failureText(first) : verdict.status;
      const failures = verdict.failures.slice(0, 10);
      const entry = { testsPassed: verdict.testsPassed, testsTotal: verdict.testsTotal || d.testCount, passed: verdict.passed, summary, failures, at: Date.now() };
      await this.cache.set(key, entry);
      log.info(`Crucible: ${fn.qualifiedName} ${verdict.passed ? 'verified' : 'failed'} ${entry.testsPassed}/${entry.testsTotal}${verdict.passed ? '' : `\n${verdict.feedback}`}`);
      const result: VerifyResult = { ...entry, durationMs: verdict.durationMs };
      this.testing.report(doc, fn, result);
      return result;
    } catch (err) {
      if (isAbortError(err)) {
        void vscode.window.setStatusBarMessage('Crucible: verification cancelled', 4000);
      } else {
        log.error(`Crucible: verifying ${fn.qualifiedName} failed: ${(err as Error)?.message ?? String(err)}`);
        void vscode.window.showWarningMessage(`Crucible could not run the tests of ${fn.name}: ${forEditor((err as Error)?.message ?? String(err))}`, 'Show Log').then((c) => c && log.show());
      }
      return undefined;
    } finally {
      this.runningJobs.delete(runKey);
      this.lensChanged.fire();
    }
  }

  private async refine(uriArg?: vscode.Uri | string, offsetArg?: number, hint?: string): Promise<void> {
    const target = await this.resolveTarget(uriArg, offsetArg);
    if (!target) return;
    const { doc, fn } = target;
    const uri = doc.uri.toString();
    const runKey = `${uri}#${fn.qualifiedName}`;
    if (this.runningJobs.has(runKey)) {
      void vscode.window.setStatusBarMessage(`Crucible: ${fn.name} is already being worked on`, 4000);
      return;
    }
    const originalText = fn.text;
    // Marked as running before the first await, so a double click cannot start a second run.
    this.runningJobs.set(runKey, 'refine');
    this.lensChanged.fire();
    let outcome: Outcome;
    let details: Awaited<ReturnType<typeof this.details>>;
    const file = doc.isUntitled ? doc.uri.path : vscode.workspace.asRelativePath(doc.uri);
    let run: ReturnType<TraceView['begin']> | undefined;
    try {
      details = await this.details(doc, fn, hint);
      const target: RunTarget = { uri: doc.uri, range: new vscode.Range(doc.positionAt(fn.startOffset), doc.positionAt(fn.endOffset)), originalText, fn };
      outcome = await this.jobs.run(`${hint ? 'Fixing' : 'Refining'} ${fn.name}`, async (signal, report, job) => {
        // Background refinements are in the trace history too, each cancellable on its own.
        run = this.trace?.begin(details.task, { background: true, jobId: job.id, target, file });
        const result = await this.services.solve({
          task: details.task,
          signal,
          scope: doc.uri,
          onEvent: (event) => {
            if (event.kind === 'verdict' && run) this.trace?.addAttempt(run, event.attempt);
            const detail = describeEvent(event);
            if (detail) {
              report(detail);
              if (run) this.trace?.setStatus(run, detail);
            }
          },
        });
        if (run) this.trace?.finish(run, result);
        return result;
      });
      this.onOutcome?.(outcome);
    } catch (err) {
      if (run) this.trace?.fail(run, isAbortError(err) ? 'cancelled' : 'failed');
      if (isAbortError(err)) {
        void vscode.window.setStatusBarMessage('Crucible: cancelled', 4000);
      } else {
        log.error(`Crucible: refining ${fn.qualifiedName} failed: ${(err as Error)?.message ?? String(err)}`);
        void vscode.window.showWarningMessage(`Crucible could not refine ${fn.name} in ${file}: ${forEditor((err as Error)?.message ?? String(err))}`, 'Check Setup', 'Show Log').then((c) => {
          if (c === 'Check Setup') void vscode.commands.executeCommand('crucible.checkSetup');
          else if (c) log.show();
        });
      }
      return;
    } finally {
      this.runningJobs.delete(runKey);
      this.lensChanged.fire();
    }
    await this.present(doc, fn, originalText, details, outcome);
  }

  private async present(doc: vscode.TextDocument, fn: FunctionInfo, originalText: string, details: TaskDetails, outcome: Outcome): Promise<void> {
    const best = outcome.best;
    if (outcome.stopReason === 'cancelled') {
      void vscode.window.setStatusBarMessage('Crucible: cancelled', 4000);
      return;
    }
    if (outcome.stopReason === 'error') {
      log.error(`Crucible: refining ${fn.qualifiedName}: ${outcome.error ?? 'unknown error'}`);
      void vscode.window.showWarningMessage(`Crucible could not refine ${fn.name}: ${forEditor(outcome.error ?? 'the solve failed')}`, 'Show Log').then((c) => c && log.show());
      return;
    }
    if (!outcome.verified || !best) {
      const v = best?.verdict;
      const failing = v?.failures.map((f) => f.test).slice(0, 3).join('; ');
      log.info(`Crucible: no verified refinement of ${fn.qualifiedName} (${outcome.stopReason})${v ? `: best ${v.testsPassed}/${v.testsTotal}\n${v.feedback}` : ''}`);
      void vscode.window.showWarningMessage(
        `Crucible could not verify a refinement of ${fn.name} within the budget${v && v.testsTotal ? ` (best attempt: ${v.testsPassed}/${v.testsTotal} passing${failing ? `; failing: ${failing}` : ''})` : v ? ' (no attempt ran a test)' : ''}.`,
        'Show Trace',
        'Show Log',
      ).then((c) => {
        if (c === 'Show Trace') void vscode.commands.executeCommand('crucible.trace.focus');
        else if (c) log.show();
      });
      return;
    }
    // The document may have changed during the run: find the function again and drop stale results.
    const fresh = await vscode.workspace.openTextDocument(doc.uri);
    const now = (await this.functionsOf(fresh, true)).filter((f) => f.qualifiedName === fn.qualifiedName);
    const current = now.sort((a, b) => Math.abs(a.startOffset - fn.startOffset) - Math.abs(b.startOffset - fn.startOffset))[0];
    if (!current || isStale(originalText, current.text)) {
      log.info(`Crucible: ${fn.qualifiedName} changed while it was being refined; the verified result was dropped`);
      void vscode.window.setStatusBarMessage(`Crucible: ${fn.name} changed during the run; the result was dropped`, 6000);
      return;
    }
    const lineIndent = /^[ \t]*/.exec(fresh.lineAt(current.startLine).text)?.[0] ?? '';
    const replacement = await replacementFor(current, best.candidate.code, fresh.languageId as Language, this.parser, lineIndent);
    const v = best.verdict;
    const evidence = evidenceText(outcome);
    const label = evidence ? `verified (${evidence})` : `verified ${v.testsPassed}/${v.testsTotal}`;
    // Remember the verdict for the new text, so the lens shows it right after the suggestion is accepted.
    if (details.task.testsOrigin === 'user') {
      await this.cache.set(cacheKey(replacement, details.task.tests, details.task.language), { testsPassed: v.testsPassed, testsTotal: v.testsTotal, passed: true, summary: '', failures: [], at: Date.now() });
    }
    if (normaliseCode(replacement) === normaliseCode(current.text)) {
      void vscode.window.setStatusBarMessage(`Crucible: ${fn.name} is already ${label}; nothing to change`, 6000);
      this.lensChanged.fire();
      return;
    }
    if (!featureEnabled(Keys.inlineSuggestions, fresh.uri)) {
      log.info(`Crucible: inline suggestions are off; verified refinement of ${fn.qualifiedName}:\n${replacement}`);
      const doc2 = await vscode.workspace.openTextDocument({ language: fresh.languageId, content: replacement });
      await vscode.window.showTextDocument(doc2, { preview: true, viewColumn: vscode.ViewColumn.Beside });
      return;
    }
    this.suggestions.add({ uri: fresh.uri.toString(), qualifiedName: fn.qualifiedName, originalText, replacement, label });
    log.info(`Crucible: ${label} refinement of ${fn.qualifiedName} is ready as an inline suggestion`);
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === fresh.uri.toString());
    const cursor = editor ? fresh.offsetAt(editor.selection.active) : -1;
    if (editor && cursor >= current.startOffset && cursor <= current.endOffset) {
      const shown = vscode.window.activeTextEditor === editor ? editor : await vscode.window.showTextDocument(editor.document, editor.viewColumn);
      await this.revealGhost(shown, current, replacement);
      void vscode.window.setStatusBarMessage(`Crucible: ${label} refinement of ${fn.name}: Tab accepts, Escape dismisses`, 8000);
    } else {
      void vscode.window.setStatusBarMessage(`Crucible: ${label} refinement of ${fn.name} is ready: put the cursor in the function to see it`, 8000);
    }
    this.lensChanged.fire();
  }

  /**
   * Runs after VS Code inserted the ghost text: removes the old lines the new ones replace, joined to the
   * same undo step, and checks the function now reads exactly as the verified replacement.
   */
  private async accepted(uri: string, id: number, deleteAt?: number, removed?: string, replacement?: string): Promise<void> {
    const s = this.suggestions.get(uri, id);
    this.suggestions.remove(uri, id);
    this.unstrike(uri);
    if (deleteAt !== undefined && removed) {
      const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri);
      if (!editor) {
        log.warn('Crucible: the editor closed before the accepted suggestion was completed');
        return;
      }
      const doc = editor.document;
      const range = new vscode.Range(doc.positionAt(deleteAt), doc.positionAt(deleteAt + removed.length));
      if (doc.getText(range) !== removed) {
        log.warn(`Crucible: after accepting, the old lines of ${s?.qualifiedName ?? 'the function'} were not where expected; they were left in place (Undo restores the old code)`);
        void vscode.window.setStatusBarMessage('Crucible: the old lines were left in place; check the function', 8000);
        return;
      }
      const ok = await editor.edit((b) => b.delete(range), { undoStopBefore: false, undoStopAfter: true });
      if (!ok) log.warn('Crucible: could not remove the replaced lines after accepting the suggestion');
      if (replacement && s) {
        const fns = await this.functionsOf(doc, true);
        const now = fns.find((f) => f.qualifiedName === s.qualifiedName);
        if (!now || isStale(replacement, now.text)) log.warn(`Crucible: after accepting, ${s.qualifiedName} does not read as the verified code; check the result (Undo restores the old code)`);
      }
    }
    if (s) log.info(`Crucible: accepted the ${s.label} refinement of ${s.qualifiedName}`);
    // Lenses, test items and problems follow the accepted code (the verdict is cached under its text).
    this.tested.delete(uri);
    this.lensChanged.fire();
  }

  /** Moves the cursor to where a suggestion's ghost text starts and shows it. */
  private async showSuggestion(uri: string, id: number): Promise<void> {
    const found = await this.locateSuggestion(uri, id);
    if (!found) return;
    const { s, doc, live } = found;
    if (!live) {
      droppedMessage(s);
      return;
    }
    const editor = await vscode.window.showTextDocument(doc);
    await this.revealGhost(editor, live.fn, s.replacement);
  }

  private async revealGhost(editor: vscode.TextEditor, fn: FunctionInfo, replacement: string): Promise<void> {
    const start = ghostStart(fn, replacement);
    if (start === undefined) {
      void vscode.window.setStatusBarMessage('Crucible: this refinement only removes code: use "Accept" above the function', 6000);
      return;
    }
    const at = editor.document.positionAt(start);
    editor.selection = new vscode.Selection(at, at);
    editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
  }

  /** When the cursor moves into a function with a pending suggestion, show it. */
  private maybeTriggerSuggestion(editor: vscode.TextEditor): void {
    const uri = editor.document.uri.toString();
    if (!this.suggestions.forUri(uri).length || !this.toggles.inlineSuggestions) return;
    if (this.selectionTimer) clearTimeout(this.selectionTimer);
    this.selectionTimer = setTimeout(() => {
      void (async () => {
        if (vscode.window.activeTextEditor !== editor) return;
        const offset = editor.document.offsetAt(editor.selection.active);
        const fns = await this.functionsOf(editor.document, true);
        const inside = fns.some((f) => offset >= f.startOffset && offset <= f.endOffset && this.suggestions.forUri(uri).some((s) => s.qualifiedName === f.qualifiedName));
        if (inside) await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
      })();
    }, 250);
  }

  // ───────────────────────── verify on save

  private scheduleVerifyOnSave(doc: vscode.TextDocument): void {
    if (!isSupportedLanguage(doc.languageId) || !featureEnabled(Keys.verifyOnSave, doc.uri)) return;
    const uri = doc.uri.toString();
    const pending = this.saveTimers.get(uri);
    if (pending) clearTimeout(pending);
    this.saveTimers.set(
      uri,
      setTimeout(() => {
        this.saveTimers.delete(uri);
        void this.verifyOnSave(doc).catch((err: unknown) => log.warn(`Crucible: verify on save failed: ${(err as Error)?.message ?? String(err)}`));
      }, SAVE_DEBOUNCE_MS),
    );
  }

  private async verifyOnSave(doc: vscode.TextDocument): Promise<void> {
    const source = new vscode.CancellationTokenSource();
    try {
      const tested = (await this.testedFunctions(doc, source.token)).filter((t) => !this.cache.has(t.key)).slice(0, MAX_VERIFY_ON_SAVE);
      if (!tested.length) return;
      log.info(`Crucible: verifying ${tested.length} function(s) of ${vscode.workspace.asRelativePath(doc.uri)} on save`);
      // One cancellable job for the whole batch: "Crucible: Cancel" stops it, not just the current function.
      const controller = new AbortController();
      const tracked = this.jobs.track(`Verifying ${tested.length} function(s) on save`, controller);
      try {
        for (const t of tested) {
          if (controller.signal.aborted) break;
          await this.verify(doc, t.fn, false, controller.signal);
        }
      } finally {
        tracked.dispose();
      }
    } finally {
      source.dispose();
    }
  }
}
