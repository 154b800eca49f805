// "Crucible: Solve and Verify": the function at the cursor (or the selection, or a typed task) goes
// through the self-correcting loop with a cancellable progress notification; the result opens as a diff
// with Apply and Discard.
import * as vscode from 'vscode';
import type { Attempt, Language, Outcome, Task } from '../core/types';
import type { SolveEvent } from '../core/solve/types';
import { buildTaskDetails, replacementFor } from './engine';
import { ensureModel, runAction } from './models';
import { toAbortSignal } from './cancel';
import { describeOutcome, type Run, type RunTarget, type TraceNode, type TraceView } from './traceView';
import { PROPOSED_SCHEME, type Proposals } from './proposals';
import { errorText, failureSummary, forEditor } from './messages';
import type { Jobs } from './jobs';
import type { Services } from './services';
import type { DocumentIndex } from './documentIndex';
import { log } from './log';

const SUPPORTED: ReadonlySet<string> = new Set(['python', 'javascript', 'typescript']);

export interface SolveUi {
  services: Services;
  /** The functions and test files the editor features see too (and the parser they share). */
  index: DocumentIndex;
  trace: TraceView;
  proposals: Proposals;
  jobs: Jobs;
  /** Called once a run has finished with an Outcome (the dataset notice, the walkthrough). */
  onOutcome?: (outcome: Outcome) => void;
}

/** A typed task's result in an Untitled editor: its status, and the editor it was started from. */
interface TypedResult {
  status: string;
  verified: boolean;
  code: string;
  origin?: { uri: vscode.Uri; position: vscode.Position; file: string };
}

/** Code lenses on an Untitled editor holding a typed task's result: what it is, and "Insert at Cursor". */
class TypedResultLens implements vscode.CodeLensProvider, vscode.Disposable {
  readonly results = new Map<string, TypedResult>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly closed = vscode.workspace.onDidCloseTextDocument((d) => this.results.delete(d.uri.toString()));

  set(uri: vscode.Uri, result: TypedResult): void {
    this.results.set(uri.toString(), result);
    this.changed.fire();
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const r = this.results.get(document.uri.toString());
    if (!r) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const lenses = [
      new vscode.CodeLens(top, {
        title: r.verified ? `$(pass) Crucible: ${r.status}` : `$(warning) Crucible: NOT verified: ${r.status}`,
        command: 'crucible.trace.focus',
        tooltip: 'Open the Crucible Trace view: every attempt with its verdict',
      }),
    ];
    if (r.origin) {
      lenses.push(
        new vscode.CodeLens(top, {
          title: `Insert at Cursor in ${r.origin.file}`,
          command: 'crucible.insertAtCursor',
          arguments: [document.uri],
        }),
      );
    }
    return lenses;
  }

  dispose(): void {
    this.changed.dispose();
    this.closed.dispose();
  }
}

export function registerSolveCommands(context: vscode.ExtensionContext, ui: SolveUi): void {
  const typed = new TypedResultLens();
  context.subscriptions.push(
    typed,
    vscode.languages.registerCodeLensProvider({ scheme: 'untitled' }, typed),
    vscode.commands.registerCommand('crucible.solveAndVerify', () => solveAtCursor(ui, typed)),
    vscode.commands.registerCommand('crucible.solveAndVerifyFromMenu', () => solveAtCursor(ui, typed)),
    vscode.commands.registerCommand('crucible.solveTypedTask', () => solveTypedTask(ui, typed)),
    vscode.commands.registerCommand('crucible.applyResult', async () => {
      const problem = await ui.proposals.apply(ui.proposals.shown() ?? ui.proposals.pending());
      if (problem) void vscode.window.showWarningMessage(problem);
    }),
    vscode.commands.registerCommand('crucible.applyUnverifiedResult', async () => {
      const problem = await ui.proposals.apply(ui.proposals.shown() ?? ui.proposals.pending());
      if (problem) void vscode.window.showWarningMessage(problem);
    }),
    vscode.commands.registerCommand('crucible.discardResult', () =>
      ui.proposals.discard(ui.proposals.shown() ?? ui.proposals.pending()),
    ),
    vscode.commands.registerCommand('crucible.showPendingResults', () => ui.proposals.pick()),
    vscode.commands.registerCommand('crucible.cancel', () => {
      const n = ui.jobs.cancelAll();
      if (!n) void vscode.window.setStatusBarMessage('Crucible: nothing to cancel', 3000);
    }),
    vscode.commands.registerCommand('crucible.cancelJob', (node?: TraceNode) => {
      if (node && node.kind === 'run' && node.run.jobId !== undefined) ui.jobs.cancel(node.run.jobId);
      else return ui.jobs.pickAndCancel();
      return undefined;
    }),
    vscode.commands.registerCommand('crucible.clearTrace', () => ui.trace.clear()),
    vscode.commands.registerCommand('crucible.showAttemptCode', async (attempt: Attempt) => {
      const doc = await vscode.workspace.openTextDocument({
        language: attempt.candidate.language,
        content: attempt.candidate.code,
      });
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
    vscode.commands.registerCommand('crucible.applyAttempt', (node?: TraceNode) => applyAttempt(ui, node)),
    vscode.commands.registerCommand('crucible.compareAttempt', (node?: TraceNode) => compareAttempt(node)),
    vscode.commands.registerCommand('crucible.insertAtCursor', (uri?: vscode.Uri) => insertAtCursor(typed, uri)),
    vscode.workspace.registerTextDocumentContentProvider(ATTEMPT_SCHEME, {
      provideTextDocumentContent: (uri) => attemptContent(ui, uri),
    }),
  );
}

const ATTEMPT_SCHEME = 'crucible-attempt';

function attemptOf(node: TraceNode | undefined): { run: Run; attempt: Attempt; index: number } | undefined {
  if (!node || node.kind !== 'attempt') return undefined;
  return { run: node.run, attempt: node.attempt, index: node.index };
}

/** The attempt's code as it would replace the run's target (only the target function, keeping indentation). */
async function attemptReplacement(
  ui: SolveUi,
  run: Run,
  attempt: Attempt,
): Promise<{ doc: vscode.TextDocument; replacement: string; range: vscode.Range } | undefined> {
  const target = run.target;
  if (!target) return undefined;
  const doc = await vscode.workspace.openTextDocument(target.uri);
  const indent = /^[ \t]*/.exec(doc.lineAt(Math.min(target.range.start.line, doc.lineCount - 1)).text)?.[0] ?? '';
  const replacement = target.fn
    ? await replacementFor(target.fn, attempt.candidate.code, run.task.language, ui.index.parser, indent)
    : attempt.candidate.code.trim();
  return { doc, replacement, range: target.range };
}

async function attemptContent(ui: SolveUi, uri: vscode.Uri): Promise<string> {
  const [runId, index] = uri.query.split('/').map(Number);
  const run = ui.trace.get(runId ?? -1);
  const attempt = run?.attempts[index ?? -1];
  if (!run || !attempt) return '';
  const found = await attemptReplacement(ui, run, attempt);
  if (!found) return attempt.candidate.code;
  const text = found.doc.getText();
  const at = text.indexOf(run.target!.originalText);
  if (at < 0) return found.replacement;
  return text.slice(0, at) + found.replacement + text.slice(at + run.target!.originalText.length);
}

/** "Apply This Attempt" in the trace: the attempt becomes a pending result (an unverified one asks before it is applied). */
async function applyAttempt(ui: SolveUi, node: TraceNode | undefined): Promise<void> {
  const found = attemptOf(node);
  if (!found) return;
  const { run, attempt, index } = found;
  const v = attempt.verdict;
  const status = v.passed
    ? `attempt ${index + 1}, verified ${v.testsPassed}/${v.testsTotal}`
    : `attempt ${index + 1}, NOT verified: ${passing(v)}`;
  if (!run.target) {
    const doc = await vscode.workspace.openTextDocument({
      language: run.task.language,
      content: attempt.candidate.code,
    });
    await vscode.window.showTextDocument(doc);
    return;
  }
  const r = await attemptReplacement(ui, run, attempt);
  if (!r) return;
  const proposal = await ui.proposals.show({
    target: run.target.uri,
    range: run.target.range,
    originalText: run.target.originalText,
    replacement: r.replacement,
    verified: v.passed,
    name: run.name,
    file: run.file ?? vscode.workspace.asRelativePath(run.target.uri),
    status,
    ...(v.passed ? {} : { failing: failingText(attempt) }),
  });
  void vscode.window.setStatusBarMessage(`Crucible: ${proposal.title}: Apply (Ctrl+Enter) or Discard`, 6000);
}

async function compareAttempt(node: TraceNode | undefined): Promise<void> {
  const found = attemptOf(node);
  if (!found) return;
  const { run, attempt, index } = found;
  const right = vscode.Uri.from({
    scheme: ATTEMPT_SCHEME,
    path:
      run.target?.uri.path ??
      `/attempt.${run.task.language === 'python' ? 'py' : run.task.language === 'typescript' ? 'ts' : 'js'}`,
    query: `${run.id}/${index}`,
  });
  const left =
    run.target?.uri ??
    vscode.Uri.from({
      scheme: ATTEMPT_SCHEME,
      path: right.path,
      query: `${run.id}/${run.attempts.indexOf(run.outcome?.best ?? attempt)}`,
    });
  await vscode.commands.executeCommand(
    'vscode.diff',
    left,
    right,
    `${run.name}: current ↔ round ${attempt.candidate.round + 1} attempt ${index + 1} (${attempt.verdict.passed ? 'passed' : passing(attempt.verdict)})`,
    { preview: true },
  );
}

async function insertAtCursor(typed: TypedResultLens, uri?: vscode.Uri): Promise<void> {
  const key = (uri ?? vscode.window.activeTextEditor?.document.uri)?.toString();
  const result = key ? typed.results.get(key) : undefined;
  if (!result?.origin) {
    void vscode.window.setStatusBarMessage('Crucible: this result was not started from a file', 4000);
    return;
  }
  const doc = await vscode.workspace.openTextDocument(result.origin.uri);
  const editor = await vscode.window.showTextDocument(doc, { preview: false });
  const at = doc.validatePosition(result.origin.position);
  const code = result.code.endsWith('\n') ? result.code : `${result.code}\n`;
  await editor.edit((b) => b.insert(at, code));
  void vscode.window.setStatusBarMessage(
    `Crucible: inserted ${result.verified ? 'the verified' : 'the NOT verified'} result into ${result.origin.file}`,
    6000,
  );
}

function passing(v: Attempt['verdict']): string {
  return v.testsTotal ? `${v.testsPassed}/${v.testsTotal} passing` : `${v.status}, no test ran`;
}

/** What fails in an attempt, in a sentence. */
function failingText(attempt: Attempt): string {
  const v = attempt.verdict;
  if (!v.testsTotal) return `It ran no test (${v.status}).${v.feedback ? ` ${v.feedback.split('\n')[0]}` : ''}`;
  const f = v.failures.slice(0, 3).map((x) => failureSummary(x, ', '));
  return `It passes ${v.testsPassed} of ${v.testsTotal} tests.${f.length ? ` Failing: ${f.join('; ')}.` : ''}`;
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

async function solveAtCursor(ui: SolveUi, typed: TypedResultLens): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.uri.scheme === PROPOSED_SCHEME) {
    await solveTypedTask(ui, typed);
    return;
  }
  const doc = editor.document;
  if (!SUPPORTED.has(doc.languageId)) {
    const choice = await vscode.window.showWarningMessage(
      `Crucible solves Python, JavaScript and TypeScript functions; this file is ${doc.languageId}.`,
      'Type a Task Instead',
    );
    if (choice) await solveTypedTask(ui, typed);
    return;
  }
  const language = doc.languageId as Language;
  const code = doc.getText();
  const selection = editor.selection;
  const offset = doc.offsetAt(selection.active);
  const otherFiles = await ui.index.testFiles(language, doc.uri);
  const details = await buildTaskDetails({
    code,
    language,
    offset,
    selection: selection.isEmpty
      ? undefined
      : { start: doc.offsetAt(selection.start), end: doc.offsetAt(selection.end) },
    otherFiles,
    path: vscode.workspace.asRelativePath(doc.uri),
    parser: ui.index.parser,
  });
  if ('error' in details) {
    void vscode.window.showWarningMessage(forEditor(details.error));
    return;
  }
  const built = details.task;
  // Range and original text come from the snapshot the Task was built from, not from the live document:
  // edits made while the solve runs must make the result stale, never shift it onto other code.
  const range = new vscode.Range(positionIn(code, details.range.start), positionIn(code, details.range.end));
  const originalText = code.slice(details.range.start, details.range.end);
  const file = vscode.workspace.asRelativePath(doc.uri);
  const name = built.entryPoint ?? 'the selection';
  const target: RunTarget = { uri: doc.uri, range, originalText, ...(details.fn ? { fn: details.fn } : {}) };
  const outcome = await runWithProgress(ui, built, `Solving ${name} in ${file}`, { scope: doc.uri, target, file });
  if (!outcome) return;
  await presentOutcome(ui, outcome, { ...target, name, file });
}

/** A function name the typed task asks for ("… is_palindrome(s) …", "a function called slugify"). */
export function nameFromPrompt(prompt: string): string | undefined {
  const named = /\b(?:called|named)\s+[`'"]?([A-Za-z_$][\w$]*)/.exec(prompt);
  if (named) return named[1];
  const call = /\b([A-Za-z_$][\w$]*)\s*\(/.exec(prompt);
  if (call && !/^(a|an|the|function|def|write|return|returns)$/i.test(call[1]!)) return call[1];
  return undefined;
}

/** Asks for the typed task and its language; undefined when either prompt is dismissed. */
async function askTypedTask(from: vscode.TextEditor | undefined): Promise<Task | undefined> {
  const prompt = await vscode.window.showInputBox({
    title: 'Crucible: Solve and Verify a Typed Task',
    prompt:
      'Describe the function to write, with its name. Include examples if you have them; without tests the model writes some, labelled as generated.',
    placeHolder: 'e.g. Write a Python function is_palindrome(s) that ignores case and punctuation',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim().length < 8 ? 'Describe the task in a few words at least.' : undefined),
  });
  if (!prompt) return undefined;
  const guessed = /\b(typescript|\bts\b)/i.test(prompt)
    ? 'typescript'
    : /\b(javascript|\bjs\b|node)/i.test(prompt)
      ? 'javascript'
      : from && SUPPORTED.has(from.document.languageId) && !/\bpython\b/i.test(prompt)
        ? from.document.languageId
        : 'python';
  const pick = await vscode.window.showQuickPick(
    [
      { label: 'Python', language: 'python' as Language },
      { label: 'JavaScript', language: 'javascript' as Language },
      { label: 'TypeScript', language: 'typescript' as Language },
    ].sort((a, b) => Number(b.language === guessed) - Number(a.language === guessed)),
    { title: 'Language of the solution' },
  );
  if (!pick) return undefined;
  const entryPoint = nameFromPrompt(prompt);
  return {
    id: `typed-${entryPoint ? `${entryPoint}-` : ''}${Date.now().toString(36)}`,
    language: pick.language,
    prompt: prompt.trim(),
    ...(entryPoint ? { entryPoint } : {}),
    tests: '',
    testsOrigin: 'none',
    origin: 'user',
    completionStyle: 'function',
  };
}

async function solveTypedTask(ui: SolveUi, typed: TypedResultLens): Promise<void> {
  // Remember where the user came from, so the result can be inserted there.
  const from = vscode.window.activeTextEditor;
  const origin =
    from && from.document.uri.scheme !== PROPOSED_SCHEME
      ? {
          uri: from.document.uri,
          position: from.selection.active,
          file: from.document.isUntitled ? from.document.uri.path : vscode.workspace.asRelativePath(from.document.uri),
        }
      : undefined;
  const task = await askTypedTask(from);
  if (!task) return;
  const name = task.entryPoint ?? 'the typed task';
  const outcome = await runWithProgress(ui, task, `Solving ${name}`, {});
  if (!outcome) return;
  if (outcome.stopReason === 'cancelled') {
    void vscode.window.setStatusBarMessage('Crucible: cancelled', 4000);
    return;
  }
  if (!outcome.best) {
    showUnsolved(outcome, name);
    return;
  }
  await showTypedResult(typed, task, outcome, outcome.best, origin);
}

/** The typed task's result in a new editor, its status on a code lens, and a button to insert it where the user was. */
async function showTypedResult(
  typed: TypedResultLens,
  task: Task,
  outcome: Outcome,
  best: Attempt,
  origin: TypedResult['origin'],
): Promise<void> {
  const name = task.entryPoint ?? 'the typed task';
  const doc = await vscode.workspace.openTextDocument({ language: task.language, content: best.candidate.code });
  // The result's status stays on the editor (a code lens) after the notification fades.
  const v = best.verdict;
  typed.set(doc.uri, {
    status: outcome.verified
      ? describeOutcome(outcome)
      : `the best attempt ${v.testsTotal ? `passes ${v.testsPassed}/${v.testsTotal} tests` : 'ran no test'}`,
    verified: outcome.verified,
    code: best.candidate.code,
    ...(origin ? { origin } : {}),
  });
  await vscode.window.showTextDocument(doc);
  const message = outcome.verified
    ? `Crucible: ${name} ${describeOutcome(outcome)}.${outcome.verifiedByGeneratedTests ? ' The tests were written by the model: review them in the trace.' : ''}`
    : `Crucible: ${name} is NOT verified: the budget ended and ${failingText(best)}`;
  const show = outcome.verified ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
  const choice = await show(message, ...(origin ? [`Insert at Cursor in ${origin.file}`] : []), 'Show Trace');
  if (choice?.startsWith('Insert at Cursor')) await insertAtCursor(typed, doc.uri);
  else followUp(choice);
}

/** Progress text; rounds are counted from 1, and the request counter only goes up. */
function progressText(
  event: SolveEvent,
  state: { rounds: number; round: number; requests: number },
): string | undefined {
  switch (event.kind) {
    case 'round':
      state.rounds = event.rounds;
      state.round = event.round;
      state.requests = 0;
      return event.round === 0
        ? `round 1 of ${event.rounds}: sampling candidates`
        : `round ${event.round + 1} of ${event.rounds}: refining with the feedback`;
    case 'tests':
      return event.origin === 'generated'
        ? `the model wrote ${event.count} test(s) (generated, not yours)`
        : `${event.count} test(s) found`;
    case 'generating':
      state.requests++;
      return `round ${event.round + 1} of ${state.rounds || '?'}: asking the model (request ${state.requests})`;
    case 'verdict': {
      const v = event.attempt.verdict;
      return `round ${event.attempt.candidate.round + 1}: ${v.passed ? 'passed' : v.status}${v.testsTotal ? ` ${v.testsPassed}/${v.testsTotal}` : ''}`;
    }
    case 'critique':
      return 'critiquing the failure';
    case 'note':
      return forEditor(event.message);
    default:
      return undefined;
  }
}

/** Runs one solve under a cancellable notification, feeding the trace view. Undefined when it could not start. */
async function runWithProgress(
  ui: SolveUi,
  task: Task,
  title: string,
  where: { scope?: vscode.Uri; target?: RunTarget; file?: string },
): Promise<Outcome | undefined> {
  const client = ui.services.model();
  try {
    if (!(await ensureModel(client, client.settings.model))) return undefined;
  } catch (err) {
    await showModelError(err);
    return undefined;
  }
  const controller = new AbortController();
  const tracked = ui.jobs.track(title, controller);
  const run = ui.trace.begin(task, {
    jobId: tracked.job.id,
    ...(where.target ? { target: where.target } : {}),
    ...(where.file ? { file: where.file } : {}),
  });
  await vscode.commands.executeCommand('crucible.trace.focus').then(undefined, () => undefined);
  const state = { rounds: 0, round: 0, requests: 0 };
  try {
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Crucible: ${title}`, cancellable: true },
      async (progress, token) => {
        const { signal, dispose } = toAbortSignal(token, controller.signal);
        try {
          const outcome = await ui.services.solve({
            task,
            signal,
            ...(where.scope ? { scope: where.scope } : {}),
            onEvent: (event) => {
              if (event.kind === 'verdict') ui.trace.addAttempt(run, event.attempt);
              const text = progressText(event, state);
              if (text) {
                progress.report({ message: text });
                ui.trace.setStatus(run, text);
                tracked.report(text);
              }
            },
          });
          ui.trace.finish(run, outcome);
          return outcome;
        } finally {
          dispose();
        }
      },
    );
    ui.onOutcome?.(outcome);
    return outcome;
  } catch (err) {
    ui.trace.fail(run, 'failed to start');
    log.error(err instanceof Error ? err : String(err));
    void vscode.window
      .showErrorMessage(`Crucible could not run: ${errorText(err)}`, 'Check Setup', 'Show Log')
      .then(followUp);
    return undefined;
  } finally {
    tracked.dispose();
  }
}

function followUp(choice: string | undefined): void {
  if (choice === 'Check Setup') void vscode.commands.executeCommand('crucible.checkSetup');
  else if (choice === 'Show Log') void vscode.commands.executeCommand('crucible.showLog');
  else if (choice === 'Select Model') void vscode.commands.executeCommand('crucible.selectModel');
  else if (choice === 'Open Settings') void runAction('Open Settings');
  else if (choice === 'Show Trace') void vscode.commands.executeCommand('crucible.trace.focus');
}

async function showModelError(err: unknown): Promise<void> {
  const message = errorText(err);
  log.error(`Model check failed: ${message}`);
  const choice = await vscode.window.showErrorMessage(
    `Crucible: ${message}`,
    'Check Setup',
    'Select Model',
    'Open Settings',
  );
  followUp(choice);
}

async function presentOutcome(ui: SolveUi, outcome: Outcome, target: PresentTarget): Promise<void> {
  const { name, file } = target;
  if (outcome.stopReason === 'cancelled') {
    void vscode.window.setStatusBarMessage('Crucible: cancelled', 4000);
    return;
  }
  if (outcome.stopReason === 'error') {
    const choice = await vscode.window.showErrorMessage(
      `Crucible: ${name} in ${file}: ${forEditor(outcome.error ?? 'the solve failed')}`,
      'Check Setup',
      'Show Trace',
      'Show Log',
    );
    followUp(choice);
    return;
  }
  const best = outcome.best;
  if (!best) {
    showUnsolved(outcome, `${name} in ${file}`);
    return;
  }
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target.uri.toString());
  if (!open && target.uri.scheme === 'untitled') {
    // The untitled file was closed while the run went on: show the result in a new one instead of a diff.
    const doc = await vscode.workspace.openTextDocument({
      language: outcome.task.language,
      content: best.candidate.code,
    });
    await vscode.window.showTextDocument(doc);
    void vscode.window.showInformationMessage(
      `Crucible: ${name} ${describeOutcome(outcome)}. The original file was closed, so the result opened in a new editor.`,
    );
    return;
  }
  const doc = open ?? (await vscode.workspace.openTextDocument(target.uri));
  const replacement = await replacementIn(doc, target, best.candidate.code, outcome.task.language);
  if (outcome.verified) await proposeVerified(ui, outcome, best, target, replacement);
  else await offerBestAttempt(ui, best, target, replacement);
}

type PresentTarget = RunTarget & { name: string; file: string };

/**
 * The text that replaces the target: only the target function from the candidate (keeping `export` and
 * indentation); a selection without a function gets the whole candidate, re-indented to the selection's column.
 */
async function replacementIn(
  doc: vscode.TextDocument,
  target: PresentTarget,
  code: string,
  language: Language,
): Promise<string> {
  const indent = /^[ \t]*/.exec(doc.lineAt(target.range.start.line).text)?.[0] ?? '';
  return target.fn
    ? await replacementFor(target.fn, code, language, undefined, indent)
    : code
        .trim()
        .split('\n')
        .map((line, i) => (i === 0 || !line.trim() || target.range.start.character === 0 ? line : indent + line))
        .join('\n');
}

/** A verified result: shown as a proposal, with Apply and Discard. */
async function proposeVerified(
  ui: SolveUi,
  outcome: Outcome,
  best: Attempt,
  target: PresentTarget,
  replacement: string,
): Promise<void> {
  const { name, file } = target;
  const v = best.verdict;
  const label = `verified ${v.testsPassed}/${v.testsTotal}${outcome.verifiedByGeneratedTests ? ' by generated tests' : ''}`;
  const proposal = await ui.proposals.show({
    target: target.uri,
    range: target.range,
    originalText: target.originalText,
    replacement,
    verified: true,
    name,
    file,
    status: label,
  });
  const choice = await vscode.window.showInformationMessage(
    `Crucible: ${name} in ${file} ${describeOutcome(outcome)}.${outcome.verifiedByGeneratedTests ? ' The tests were written by the model, not by you: review them.' : ''}`,
    'Apply',
    'Discard',
  );
  // The buttons act on this run's proposal, even if another run has finished since.
  if (choice === 'Apply') {
    const problem = await ui.proposals.apply(proposal);
    if (problem) void vscode.window.showWarningMessage(problem);
  } else if (choice === 'Discard') await ui.proposals.discard(proposal);
}

/** An unverified result: a warning that can show the best attempt as a proposal marked NOT verified. */
async function offerBestAttempt(ui: SolveUi, best: Attempt, target: PresentTarget, replacement: string): Promise<void> {
  const { name, file } = target;
  const v = best.verdict;
  const choice = await vscode.window.showWarningMessage(
    `Crucible: ${name} in ${file} is not verified, the budget ended. ${v.testsTotal ? `The best attempt passes ${v.testsPassed}/${v.testsTotal} tests` : 'No attempt ran a test'}${
      v.failures.length
        ? `; failing: ${v.failures
            .slice(0, 3)
            .map((f) => f.test)
            .filter(Boolean)
            .join('; ')}`
        : ''
    }.`,
    'Show Best Attempt',
    'Show Trace',
  );
  if (choice === 'Show Best Attempt') {
    await ui.proposals.show({
      target: target.uri,
      range: target.range,
      originalText: target.originalText,
      replacement,
      verified: false,
      name,
      file,
      status: `best attempt, NOT verified (${passing(v)})`,
      failing: failingText(best),
    });
  } else followUp(choice);
}

function showUnsolved(outcome: Outcome, what: string): void {
  void vscode.window
    .showWarningMessage(
      `Crucible: ${what}: ${describeOutcome(outcome)}. No attempt produced code that could run.`,
      'Show Trace',
      'Show Log',
    )
    .then(followUp);
}
