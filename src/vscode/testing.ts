// Crucible in the Testing view and the Problems panel: each function with tests (doctests, asserts,
// pytest/unittest, node:assert) is a test item; running it is a Crucible verification (the sandbox, no
// model); failing tests come back as test messages (expected versus actual) at their lines, and as
// problems. "Fix with Crucible" on a failed test starts a refinement with the failure as the hint.
import * as vscode from 'vscode';
import type { FunctionInfo } from '../core/parse/functions';
import type { TestFailure } from '../core/types';
import type { TestedFunction } from './codeLens';
import { featureEnabled, Keys } from './config';
import { log } from './log';
import { failureSummary } from './messages';

export interface VerifyResult {
  passed: boolean;
  testsPassed: number;
  testsTotal: number;
  failures: TestFailure[];
  durationMs?: number;
}

/** What the Testing view needs from the editor features. */
export interface TestSource {
  testedFunctions(doc: vscode.TextDocument, token: vscode.CancellationToken): Promise<TestedFunction[]>;
  functionsOf(doc: vscode.TextDocument, broken: boolean): Promise<FunctionInfo[]>;
  /** Verifies the function now (no cache), as a cancellable job. Undefined when it could not run. */
  verifyNow(doc: vscode.TextDocument, fn: FunctionInfo, signal: AbortSignal): Promise<VerifyResult | undefined>;
}

export const FIX_FROM_TEST_COMMAND = 'crucible.fixFailedTest';
const LANGUAGES = new Set(['python', 'javascript', 'typescript']);

/** The line of the document where a failing test is written (the doctest's `>>>` line, the assert), near `fn`. */
export function failureLine(doc: vscode.TextDocument, fn: FunctionInfo, failure: TestFailure): number {
  // A doctest is judged as `assert <call> == <want>`: look for the call, which is what the file has.
  const test = failure.test.replace(/^\s*>>>\s*/, '').trim();
  const asserted = /^assert\s+(.+?)\s*(==|!=|\bis\b|\bin\b)\s*/.exec(test);
  const probe = asserted ? asserted[1]!.trim() : test.replace(/^assert(\.\w+)?\s*\(?/, '').trim();
  if (probe) {
    const text = doc.getText();
    let best = -1;
    for (let i = text.indexOf(probe); i !== -1; i = text.indexOf(probe, i + 1)) {
      if (best === -1 || Math.abs(i - fn.startOffset) < Math.abs(best - fn.startOffset)) best = i;
    }
    if (best >= 0) return doc.positionAt(best).line;
  }
  return fn.startLine;
}

export class CrucibleTesting implements vscode.Disposable {
  private readonly controller = vscode.tests.createTestController('crucible', 'Crucible');
  readonly diagnostics = vscode.languages.createDiagnosticCollection('crucible');
  private readonly disposables: vscode.Disposable[] = [];
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly source: TestSource) {
    this.controller.resolveHandler = async (item) => {
      if (!item) for (const doc of vscode.workspace.textDocuments) await this.refresh(doc);
    };
    this.controller.refreshHandler = async () => {
      for (const doc of vscode.workspace.textDocuments) await this.refresh(doc);
    };
    this.controller.createRunProfile(
      'Verify with Crucible',
      vscode.TestRunProfileKind.Run,
      (request, token) => this.run(request, token),
      true,
    );
    this.disposables.push(
      this.controller,
      this.diagnostics,
      vscode.workspace.onDidOpenTextDocument((doc) => this.schedule(doc, 0)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (!e.contentChanges.length) return;
        // Problems were found in the code as it was; after an edit they would point at the wrong code.
        this.diagnostics.delete(e.document.uri);
        this.schedule(e.document, 1000);
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        this.diagnostics.delete(doc.uri);
        if (doc.uri.scheme !== 'file') this.controller.items.delete(doc.uri.toString());
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration(`crucible.${Keys.testing}`)) return;
        this.controller.items.replace([]);
        this.diagnostics.clear();
        for (const doc of vscode.workspace.textDocuments) this.schedule(doc, 0);
      }),
      vscode.commands.registerCommand(
        FIX_FROM_TEST_COMMAND,
        (arg?: vscode.TestItem | { test?: vscode.TestItem; message?: vscode.TestMessage }) => this.fix(arg),
      ),
    );
    for (const doc of vscode.workspace.textDocuments) this.schedule(doc, 0);
  }

  private schedule(doc: vscode.TextDocument, ms: number): void {
    if (!LANGUAGES.has(doc.languageId) || (doc.uri.scheme !== 'file' && doc.uri.scheme !== 'untitled')) return;
    const key = doc.uri.toString();
    const old = this.timers.get(key);
    if (old) clearTimeout(old);
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        void this.refresh(doc).catch((err: unknown) => log.debug(`Crucible: test items of ${key}: ${String(err)}`));
      }, ms),
    );
  }

  /** Lists the document's functions that have tests as test items (one file item, one child per function). */
  async refresh(doc: vscode.TextDocument): Promise<void> {
    if (!LANGUAGES.has(doc.languageId)) return;
    const key = doc.uri.toString();
    if (!featureEnabled(Keys.testing, doc.uri)) {
      this.controller.items.delete(key);
      return;
    }
    const source = new vscode.CancellationTokenSource();
    try {
      const tested = await this.source.testedFunctions(doc, source.token);
      if (!tested.length) {
        this.controller.items.delete(key);
        return;
      }
      let file = this.controller.items.get(key);
      if (!file) {
        file = this.controller.createTestItem(
          key,
          doc.isUntitled ? doc.uri.path : vscode.workspace.asRelativePath(doc.uri),
          doc.uri,
        );
        this.controller.items.add(file);
      }
      const children = tested.map((t) => {
        const id = `${key}#${t.fn.qualifiedName}`;
        const item = file!.children.get(id) ?? this.controller.createTestItem(id, t.fn.qualifiedName, doc.uri);
        item.range = new vscode.Range(t.fn.startLine, t.fn.startColumn, t.fn.startLine, t.fn.startColumn);
        item.description = `${t.testCount} test${t.testCount === 1 ? '' : 's'}`;
        item.tags = [];
        return item;
      });
      file.children.replace(children);
    } finally {
      source.dispose();
    }
  }

  private async run(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> {
    const run = this.controller.createTestRun(request, 'Crucible', true);
    const queue: vscode.TestItem[] = [];
    const add = (item: vscode.TestItem): void => {
      if (request.exclude?.includes(item)) return;
      if (item.children.size) item.children.forEach(add);
      else queue.push(item);
    };
    if (request.include) request.include.forEach(add);
    else this.controller.items.forEach(add);
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort(new Error('Cancelled')));
    try {
      for (const item of queue) run.enqueued(item);
      for (const item of queue) {
        if (token.isCancellationRequested) {
          run.skipped(item);
          continue;
        }
        await this.runOne(run, item, controller.signal);
      }
    } finally {
      sub.dispose();
      run.end();
    }
  }

  private async runOne(run: vscode.TestRun, item: vscode.TestItem, signal: AbortSignal): Promise<void> {
    if (!item.uri) return;
    run.started(item);
    const started = Date.now();
    try {
      const doc = await vscode.workspace.openTextDocument(item.uri);
      const name = item.id.slice(item.id.lastIndexOf('#') + 1);
      const fn = (await this.source.functionsOf(doc, true)).find((f) => f.qualifiedName === name);
      if (!fn) {
        run.errored(
          item,
          new vscode.TestMessage(`${name} is no longer in ${vscode.workspace.asRelativePath(doc.uri)}.`),
        );
        return;
      }
      const result = await this.source.verifyNow(doc, fn, signal);
      const duration = result?.durationMs ?? Date.now() - started;
      if (!result) {
        if (signal.aborted) run.skipped(item);
        else
          run.errored(
            item,
            new vscode.TestMessage(`Crucible could not run the tests of ${name}; see Crucible: Show Log.`),
            duration,
          );
        return;
      }
      run.appendOutput(
        `${name}: ${result.passed ? 'verified' : 'failed'} ${result.testsPassed}/${result.testsTotal}\r\n`,
        undefined,
        item,
      );
      if (result.passed) run.passed(item, duration);
      else run.failed(item, this.messages(doc, fn, result), duration);
    } catch (err) {
      run.errored(item, new vscode.TestMessage(err instanceof Error ? err.message : String(err)), Date.now() - started);
    }
  }

  /** Test messages for a failed verification: expected versus actual, at the failing test's line. */
  private messages(doc: vscode.TextDocument, fn: FunctionInfo, result: VerifyResult): vscode.TestMessage[] {
    const failures = result.failures.length
      ? result.failures
      : [{ test: fn.qualifiedName, error: `${result.testsPassed}/${result.testsTotal} tests pass` }];
    return failures.slice(0, 10).map((f) => {
      const text = `${fn.qualifiedName}: ${f.test}${f.error ? `\n${f.error}` : ''}`;
      const message =
        f.expected !== undefined && f.actual !== undefined
          ? vscode.TestMessage.diff(text, f.expected, f.actual)
          : new vscode.TestMessage(failureSummary(f));
      message.location = new vscode.Location(doc.uri, new vscode.Position(failureLine(doc, fn, f), 0));
      message.contextValue = 'crucibleFailure';
      return message;
    });
  }

  /** Shows a verification's failures in the Problems panel (and clears them when it passes). */
  report(doc: vscode.TextDocument, fn: FunctionInfo, result: VerifyResult): void {
    const others = (this.diagnostics.get(doc.uri) ?? []).filter(
      (d) => (d as vscode.Diagnostic & { fnName?: string }).fnName !== fn.qualifiedName,
    );
    const mine =
      result.passed || !featureEnabled(Keys.testing, doc.uri)
        ? []
        : result.failures.slice(0, 10).map((f) => {
            const line = failureLine(doc, fn, f);
            const d = new vscode.Diagnostic(
              doc.lineAt(line).range,
              `${fn.qualifiedName} fails a test: ${failureSummary(f)}`,
              vscode.DiagnosticSeverity.Warning,
            ) as vscode.Diagnostic & { fnName?: string };
            d.source = 'Crucible';
            d.fnName = fn.qualifiedName;
            return d;
          });
    this.diagnostics.set(doc.uri, [...others, ...mine]);
  }

  private fix(arg?: vscode.TestItem | { test?: vscode.TestItem; message?: vscode.TestMessage }): void {
    const item =
      arg && 'id' in arg && typeof (arg as vscode.TestItem).id === 'string'
        ? (arg as vscode.TestItem)
        : (arg as { test?: vscode.TestItem })?.test;
    const message = arg && 'message' in arg ? (arg as { message?: vscode.TestMessage }).message : undefined;
    if (!item?.uri || !item.range) {
      void vscode.window.setStatusBarMessage('Crucible: pick a function in the Testing view', 4000);
      return;
    }
    const text = message ? (typeof message.message === 'string' ? message.message : message.message.value) : '';
    const hint = text
      ? `This test fails: ${text}${message?.expectedOutput !== undefined ? `\nExpected: ${message.expectedOutput}\nActual: ${message.actualOutput ?? ''}` : ''}`
      : undefined;
    void vscode.workspace
      .openTextDocument(item.uri)
      .then((doc) =>
        vscode.commands.executeCommand('crucible.refineFunction', item.uri, doc.offsetAt(item.range!.start), hint),
      );
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }
}
