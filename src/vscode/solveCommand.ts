// "Crucible: Solve and Verify": the function at the cursor (or the selection, or a typed task) goes
// through the self-correcting loop with a cancellable progress notification; the result opens as a diff
// with Apply and Discard.
import * as vscode from 'vscode';
import type { Attempt, Language, Outcome, Task } from '../core/types';
import type { SolveEvent } from '../core/solve/types';
import { buildTaskDetails, replacementFor } from './engine';
import type { FunctionInfo } from '../core/parse/functions';
import { ensureModel } from './models';
import { toAbortSignal } from './cancel';
import { describeOutcome, type TraceView } from './traceView';
import type { Proposals } from './proposals';
import type { Jobs } from './jobs';
import type { Services } from './services';
import { log } from './log';

const SUPPORTED: ReadonlySet<string> = new Set(['python', 'javascript', 'typescript']);
const TEST_GLOBS: { [L in Language]: string } = {
  python: '**/{test_*.py,*_test.py,tests/**/*.py}',
  javascript: '**/*.{test,spec}.{js,mjs,cjs}',
  typescript: '**/*.{test,spec}.ts',
};
const MAX_TEST_FILES = 40;
const MAX_TEST_FILE_BYTES = 200_000;

export interface SolveUi {
  services: Services;
  trace: TraceView;
  proposals: Proposals;
  jobs: Jobs;
}

export function registerSolveCommands(context: vscode.ExtensionContext, ui: SolveUi): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('crucible.solveAndVerify', () => solveAtCursor(ui)),
    vscode.commands.registerCommand('crucible.solveTypedTask', () => solveTypedTask(ui)),
    vscode.commands.registerCommand('crucible.applyResult', async () => {
      const problem = await ui.proposals.apply(ui.proposals.shown() ?? ui.proposals.pending());
      if (problem) void vscode.window.showWarningMessage(problem);
    }),
    vscode.commands.registerCommand('crucible.discardResult', () => ui.proposals.discard(ui.proposals.shown() ?? ui.proposals.pending())),
    vscode.commands.registerCommand('crucible.cancel', () => {
      const n = ui.jobs.cancelAll();
      if (!n) void vscode.window.setStatusBarMessage('Crucible: nothing to cancel', 3000);
    }),
    vscode.commands.registerCommand('crucible.showAttemptCode', async (attempt: Attempt) => {
      const doc = await vscode.workspace.openTextDocument({ language: attempt.candidate.language, content: attempt.candidate.code });
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
  );
}

/** The position of `offset` in `text` (what `TextDocument.positionAt` would say for a document holding `text`). */
function positionIn(text: string, offset: number): vscode.Position {
  let line = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return new vscode.Position(line, offset - lineStart);
}

/** Tests in the workspace that may exercise the function (pytest / unittest / node:assert files). */
async function workspaceTestFiles(language: Language, exclude: vscode.Uri): Promise<{ path: string; text: string }[]> {
  if (!vscode.workspace.workspaceFolders?.length) return [];
  const uris = await vscode.workspace.findFiles(TEST_GLOBS[language], '**/{node_modules,.git,.venv,venv,dist}/**', MAX_TEST_FILES);
  const files: { path: string; text: string }[] = [];
  for (const uri of uris) {
    if (uri.toString() === exclude.toString()) continue;
    try {
      const bytes = await vscode.workspace.fs.readFile(uri);
      if (bytes.byteLength <= MAX_TEST_FILE_BYTES) files.push({ path: vscode.workspace.asRelativePath(uri), text: new TextDecoder().decode(bytes) });
    } catch {
      // Unreadable files are simply not test sources.
    }
  }
  return files;
}

async function solveAtCursor(ui: SolveUi): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    await solveTypedTask(ui);
    return;
  }
  const doc = editor.document;
  if (!SUPPORTED.has(doc.languageId)) {
    const choice = await vscode.window.showWarningMessage(
      `Crucible solves Python, JavaScript and TypeScript functions; this file is ${doc.languageId}.`,
      'Type a Task Instead',
    );
    if (choice) await solveTypedTask(ui);
    return;
  }
  const language = doc.languageId as Language;
  const code = doc.getText();
  const selection = editor.selection;
  const offset = doc.offsetAt(selection.active);
  const otherFiles = await workspaceTestFiles(language, doc.uri);
  const details = await buildTaskDetails({
    code,
    language,
    offset,
    selection: selection.isEmpty ? undefined : { start: doc.offsetAt(selection.start), end: doc.offsetAt(selection.end) },
    otherFiles,
    path: vscode.workspace.asRelativePath(doc.uri),
  });
  if ('error' in details) {
    void vscode.window.showWarningMessage(details.error);
    return;
  }
  const built = details.task;
  // Range and original text come from the snapshot the Task was built from, not from the live document:
  // edits made while the solve runs must make the result stale, never shift it onto other code.
  const range = new vscode.Range(positionIn(code, details.range.start), positionIn(code, details.range.end));
  const originalText = code.slice(details.range.start, details.range.end);
  const outcome = await runWithProgress(ui, built, `Solving ${built.entryPoint ? `\`${built.entryPoint}\`` : 'selection'}`, doc.uri);
  if (!outcome) return;
  await presentOutcome(ui, outcome, { uri: doc.uri, range, originalText, fn: details.fn });
}

async function solveTypedTask(ui: SolveUi): Promise<void> {
  const prompt = await vscode.window.showInputBox({
    title: 'Crucible: Solve and Verify a Typed Task',
    prompt: 'Describe the function to write. Include examples if you have them; without tests the model writes some, labelled as generated.',
    placeHolder: 'e.g. Write a Python function is_palindrome(s) that ignores case and punctuation',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim().length < 8 ? 'Describe the task in a few words at least.' : undefined),
  });
  if (!prompt) return;
  const guessed = /\b(typescript|\bts\b)/i.test(prompt) ? 'typescript' : /\b(javascript|\bjs\b|node)/i.test(prompt) ? 'javascript' : 'python';
  const pick = await vscode.window.showQuickPick(
    [
      { label: 'Python', language: 'python' as Language },
      { label: 'JavaScript', language: 'javascript' as Language },
      { label: 'TypeScript', language: 'typescript' as Language },
    ].sort((a, b) => Number(b.language === guessed) - Number(a.language === guessed)),
    { title: 'Language of the solution' },
  );
  if (!pick) return;
  const task: Task = {
    id: `typed-${Date.now().toString(36)}`,
    language: pick.language,
    prompt: prompt.trim(),
    tests: '',
    testsOrigin: 'none',
    origin: 'user',
    completionStyle: 'function',
  };
  const outcome = await runWithProgress(ui, task, 'Solving the typed task');
  if (!outcome) return;
  if (!outcome.best) {
    showUnsolved(outcome);
    return;
  }
  const doc = await vscode.workspace.openTextDocument({ language: task.language, content: outcome.best.candidate.code });
  await vscode.window.showTextDocument(doc);
  void vscode.window.showInformationMessage(`Crucible: ${describeOutcome(outcome)}.`);
}

function eventText(event: SolveEvent): string | undefined {
  switch (event.kind) {
    case 'round':
      return event.round === 0 ? 'sampling candidates' : `refine round ${event.round} of ${event.rounds - 1}`;
    case 'tests':
      return event.origin === 'generated' ? `the model wrote ${event.count} test(s) (generated, not yours)` : `${event.count} test(s) found`;
    case 'generating':
      return `round ${event.round}: asking the model (${event.index + 1}/${event.of})`;
    case 'verdict': {
      const v = event.attempt.verdict;
      return `round ${event.attempt.candidate.round}: ${v.status}${v.testsTotal ? ` ${v.testsPassed}/${v.testsTotal}` : ''}`;
    }
    case 'critique':
      return 'critiquing the failure';
    case 'note':
      return event.message;
    default:
      return undefined;
  }
}

/** Runs one solve under a cancellable notification, feeding the trace view. Undefined when it could not start. */
async function runWithProgress(ui: SolveUi, task: Task, title: string, scope?: vscode.Uri): Promise<Outcome | undefined> {
  const client = ui.services.model();
  try {
    if (!(await ensureModel(client, client.settings.model))) return undefined;
  } catch (err) {
    await showModelError(err);
    return undefined;
  }
  ui.trace.begin(task);
  await vscode.commands.executeCommand('crucible.trace.focus').then(undefined, () => undefined);
  const controller = new AbortController();
  const tracked = ui.jobs.track(title, controller);
  try {
    return await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Crucible: ${title}`, cancellable: true },
      async (progress, token) => {
        const { signal, dispose } = toAbortSignal(token, controller.signal);
        try {
          const outcome = await ui.services.solve({
            task,
            signal,
            ...(scope ? { scope } : {}),
            onEvent: (event) => {
              if (event.kind === 'verdict') ui.trace.addAttempt(event.attempt);
              const text = eventText(event);
              if (text) {
                progress.report({ message: text });
                ui.trace.setStatus(text);
              }
            },
          });
          ui.trace.finish(outcome);
          return outcome;
        } finally {
          dispose();
        }
      },
    );
  } catch (err) {
    ui.trace.setStatus('failed to start');
    log.error(err instanceof Error ? err : String(err));
    void vscode.window.showErrorMessage(`Crucible could not run: ${err instanceof Error ? err.message : String(err)}`, 'Check Setup', 'Show Log').then(followUp);
    return undefined;
  } finally {
    tracked.dispose();
  }
}

function followUp(choice: string | undefined): void {
  if (choice === 'Check Setup') void vscode.commands.executeCommand('crucible.checkSetup');
  else if (choice === 'Show Log') void vscode.commands.executeCommand('crucible.showLog');
  else if (choice === 'Select Model') void vscode.commands.executeCommand('crucible.selectModel');
  else if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'crucible');
  else if (choice === 'Show Trace') void vscode.commands.executeCommand('crucible.trace.focus');
}

async function showModelError(err: unknown): Promise<void> {
  const message = err instanceof Error ? err.message : String(err);
  log.error(`Model check failed: ${message}`);
  const choice = await vscode.window.showErrorMessage(`Crucible: ${message}`, 'Check Setup', 'Select Model', 'Open Settings');
  followUp(choice);
}

async function presentOutcome(ui: SolveUi, outcome: Outcome, target: { uri: vscode.Uri; range: vscode.Range; originalText: string; fn?: FunctionInfo }): Promise<void> {
  if (outcome.stopReason === 'cancelled') {
    void vscode.window.setStatusBarMessage('Crucible: cancelled', 4000);
    return;
  }
  if (outcome.stopReason === 'error') {
    const choice = await vscode.window.showErrorMessage(`Crucible: ${outcome.error ?? 'the solve failed'}`, 'Check Setup', 'Show Trace', 'Show Log');
    followUp(choice);
    return;
  }
  const best = outcome.best;
  if (!best) {
    showUnsolved(outcome);
    return;
  }
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target.uri.toString());
  if (!open && target.uri.scheme === 'untitled') {
    // The untitled file was closed while the run went on: show the result in a new one instead of a diff.
    const doc = await vscode.workspace.openTextDocument({ language: outcome.task.language, content: best.candidate.code });
    await vscode.window.showTextDocument(doc);
    void vscode.window.showInformationMessage(`Crucible: ${describeOutcome(outcome)}. The original file was closed, so the result opened in a new editor.`);
    return;
  }
  const doc = open ?? (await vscode.workspace.openTextDocument(target.uri));
  const indent = /^[ \t]*/.exec(doc.lineAt(target.range.start.line).text)?.[0] ?? '';
  // Only the target function from the candidate replaces the user's function (keeping `export` and indentation);
  // a selection without a function gets the whole candidate, re-indented to the selection's column.
  const replacement = target.fn
    ? await replacementFor(target.fn, best.candidate.code, outcome.task.language, undefined, indent)
    : best.candidate.code
        .trim()
        .split('\n')
        .map((line, i) => (i === 0 || !line.trim() || target.range.start.character === 0 ? line : indent + line))
        .join('\n');
  if (outcome.verified) {
    const label = outcome.verifiedByGeneratedTests ? 'verified by generated tests' : 'verified';
    const proposal = await ui.proposals.show({
      target: target.uri,
      range: target.range,
      originalText: target.originalText,
      replacement,
      title: `Crucible: ${outcome.task.entryPoint ?? 'result'} (${label})`,
      verified: true,
    });
    const choice = await vscode.window.showInformationMessage(
      `Crucible: ${describeOutcome(outcome)}.${outcome.verifiedByGeneratedTests ? ' The tests were written by the model, not by you: review them.' : ''}`,
      'Apply',
      'Discard',
    );
    // The buttons act on this run's proposal, even if another run has finished since.
    if (choice === 'Apply') {
      const problem = await ui.proposals.apply(proposal);
      if (problem) void vscode.window.showWarningMessage(problem);
    } else if (choice === 'Discard') await ui.proposals.discard(proposal);
    return;
  }
  const failing = best.verdict.failures.slice(0, 3).map((f) => f.test).filter(Boolean);
  const choice = await vscode.window.showWarningMessage(
    `Crucible: not verified, the budget ended. Best attempt passes ${best.verdict.testsPassed}/${best.verdict.testsTotal} tests${failing.length ? `; failing: ${failing.join('; ')}` : ''}.`,
    'Show Best Attempt',
    'Show Trace',
  );
  if (choice === 'Show Best Attempt') {
    await ui.proposals.show({
      target: target.uri,
      range: target.range,
      originalText: target.originalText,
      replacement,
      title: `Crucible: best attempt, NOT verified (${best.verdict.testsPassed}/${best.verdict.testsTotal})`,
      verified: false,
    });
  } else followUp(choice);
}

function showUnsolved(outcome: Outcome): void {
  void vscode.window
    .showWarningMessage(`Crucible: ${describeOutcome(outcome)}. No candidate produced code that could run.`, 'Show Trace', 'Show Log')
    .then(followUp);
}
