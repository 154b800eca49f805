// Verified refinements waiting as inline suggestions: offering one (ghost text at the function, with the
// lines it removes struck through), showing, accepting, applying and dismissing it, and dropping it when the
// function changed since the refinement began.
import * as vscode from 'vscode';
import type { FunctionInfo } from '../core/parse/functions';
import type { DocumentIndex } from './documentIndex';
import type { PendingLens } from './codeLens';
import { isStale } from './engine';
import { ghostStart, liveSuggestionAt, removedRange, SuggestionStore, type Suggestion } from './inlineSuggestions';
import { log } from './log';

/** The deleted lines of a refinement shown as ghost text: struck through, so the whole change is visible. */
const DELETED_LINES = vscode.window.createTextEditorDecorationType({
  textDecoration: 'line-through',
  opacity: '0.6',
  backgroundColor: new vscode.ThemeColor('diffEditor.removedLineBackground'),
  isWholeLine: true,
  overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.deletedForeground'),
  overviewRulerLane: vscode.OverviewRulerLane.Left,
  after: {
    contentText: '  ← removed by the refinement',
    color: new vscode.ThemeColor('editorCodeLens.foreground'),
    fontStyle: 'italic',
  },
});

/** Tells the user a suggestion no longer fits its function. */
function droppedMessage(s: Suggestion): void {
  void vscode.window.setStatusBarMessage(
    `Crucible: ${s.qualifiedName} changed since the refinement began; the suggestion was dropped`,
    6000,
  );
}

export class SuggestionController implements vscode.Disposable {
  readonly store = new SuggestionStore();
  /** Editors showing a refinement's deleted lines struck through, and the suggestion they belong to. */
  private readonly struck = new Map<vscode.TextEditor, { uri: string; id: number; start: number; end: number }>();
  private selectionTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly disposables: vscode.Disposable[];

  /**
   * `changed` redraws the code lens; `enabled` says whether inline suggestions are on (the toggle as last read).
   */
  constructor(
    private readonly index: DocumentIndex,
    private readonly changed: () => void,
    private readonly enabled: () => boolean,
  ) {
    this.disposables = [
      this.store,
      // Typing (or accepting) ends the preview of what a refinement removes.
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length) this.unstrike(e.document.uri.toString());
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => this.store.clear(doc.uri.toString())),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        this.maybeTrigger(e.textEditor);
        const shown = this.struck.get(e.textEditor);
        if (shown) {
          const at = e.textEditor.document.offsetAt(e.selections[0]!.active);
          // The ghost text goes away when the cursor leaves where it starts; so do the struck-through lines.
          if (at < shown.start - 1 || at > shown.end) this.unstrike(shown.uri);
        }
      }),
      vscode.window.onDidChangeActiveTextEditor(() => {
        for (const [editor, shown] of this.struck)
          if (editor !== vscode.window.activeTextEditor) this.unstrike(shown.uri);
      }),
    ];
  }

  dispose(): void {
    if (this.selectionTimer) clearTimeout(this.selectionTimer);
    for (const d of this.disposables) d.dispose();
  }

  /** Strikes through the lines the refinement offered as ghost text removes (VS Code's ghost text shows only insertions). */
  strike(doc: vscode.TextDocument, s: Suggestion, fn: FunctionInfo): void {
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

  /** Offers a verified replacement of `current` (the function as it stands now in `doc`) as an inline suggestion. */
  async offer(doc: vscode.TextDocument, current: FunctionInfo, s: Omit<Suggestion, 'id'>, name: string): Promise<void> {
    this.store.add(s);
    log.info(`Crucible: ${s.label} refinement of ${s.qualifiedName} is ready as an inline suggestion`);
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === doc.uri.toString());
    const cursor = editor ? doc.offsetAt(editor.selection.active) : -1;
    if (editor && cursor >= current.startOffset && cursor <= current.endOffset) {
      const shown =
        vscode.window.activeTextEditor === editor
          ? editor
          : await vscode.window.showTextDocument(editor.document, editor.viewColumn);
      await this.revealGhost(shown, current, s.replacement);
      void vscode.window.setStatusBarMessage(
        `Crucible: ${s.label} refinement of ${name}: Tab accepts, Escape dismisses`,
        8000,
      );
    } else {
      void vscode.window.setStatusBarMessage(
        `Crucible: ${s.label} refinement of ${name} is ready: put the cursor in the function to see it`,
        8000,
      );
    }
  }

  /** Functions with a live (not stale) pending suggestion, for the code lens. */
  async pending(doc: vscode.TextDocument): Promise<PendingLens[]> {
    const uri = doc.uri.toString();
    if (!this.store.forUri(uri).length) return [];
    const fns = await this.index.functionsOf(doc, true);
    const out: PendingLens[] = [];
    for (const s of [...this.store.forUri(uri)]) {
      const fn = fns.find((f) => f.qualifiedName === s.qualifiedName);
      if (!fn) continue;
      const live = liveSuggestionAt(this.store, uri, fns, fn.startOffset);
      if (live && live.suggestion.id === s.id) out.push({ fn: live.fn, id: s.id, label: s.label });
    }
    return out;
  }

  /**
   * A pending suggestion with its document opened and its function found as the code stands now: `live` is the
   * suggestion that still fits that function, undefined when the function changed or is gone.
   */
  private async locate(
    uri: string,
    id: number,
  ): Promise<{ s: Suggestion; doc: vscode.TextDocument; live: ReturnType<typeof liveSuggestionAt> } | undefined> {
    const s = this.store.get(uri, id);
    if (!s) return undefined;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
    const fns = await this.index.functionsOf(doc, true);
    const fn = fns.find((f) => f.qualifiedName === s.qualifiedName);
    const live = fn ? liveSuggestionAt(this.store, uri, fns, fn.startOffset) : undefined;
    return { s, doc, live };
  }

  /** Applies a pending suggestion as one workspace edit (one undo step), unless the function changed since. */
  async apply(uri: string, id: number): Promise<void> {
    const found = await this.locate(uri, id);
    if (!found) return;
    const { s, doc, live } = found;
    if (!live || live.suggestion.id !== id) {
      droppedMessage(s);
      this.store.remove(uri, id);
      return;
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(
      doc.uri,
      new vscode.Range(doc.positionAt(live.fn.startOffset), doc.positionAt(live.fn.endOffset)),
      s.replacement,
    );
    const ok = await vscode.workspace.applyEdit(edit);
    if (ok) await this.accepted(uri, id);
    else void vscode.window.setStatusBarMessage('Crucible: the edit could not be applied', 6000);
  }

  dismiss(uri: string, id: number): void {
    this.store.remove(uri, id);
    this.unstrike(uri);
    this.changed();
  }

  /**
   * Runs after VS Code inserted the ghost text: removes the old lines the new ones replace, joined to the
   * same undo step, and checks the function now reads exactly as the verified replacement.
   */
  async accepted(uri: string, id: number, deleteAt?: number, removed?: string, replacement?: string): Promise<void> {
    const s = this.store.get(uri, id);
    this.store.remove(uri, id);
    this.unstrike(uri);
    if (deleteAt !== undefined && removed) {
      const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri);
      if (!editor) {
        log.warn('Crucible: the editor closed before the accepted suggestion was completed');
        return;
      }
      if (!(await this.removeReplaced(editor, deleteAt, removed, s))) return;
      if (replacement && s) {
        const fns = await this.index.functionsOf(editor.document, true);
        const now = fns.find((f) => f.qualifiedName === s.qualifiedName);
        if (!now || isStale(replacement, now.text))
          log.warn(
            `Crucible: after accepting, ${s.qualifiedName} does not read as the verified code; check the result (Undo restores the old code)`,
          );
      }
    }
    if (s) log.info(`Crucible: accepted the ${s.label} refinement of ${s.qualifiedName}`);
    // Lenses, test items and problems follow the accepted code (the verdict is cached under its text).
    this.index.forgetTests(uri);
    this.changed();
  }

  /** Deletes the old lines an accepted ghost text replaces; false when they were not where expected (left in place). */
  private async removeReplaced(
    editor: vscode.TextEditor,
    deleteAt: number,
    removed: string,
    s: Suggestion | undefined,
  ): Promise<boolean> {
    const doc = editor.document;
    const range = new vscode.Range(doc.positionAt(deleteAt), doc.positionAt(deleteAt + removed.length));
    if (doc.getText(range) !== removed) {
      log.warn(
        `Crucible: after accepting, the old lines of ${s?.qualifiedName ?? 'the function'} were not where expected; they were left in place (Undo restores the old code)`,
      );
      void vscode.window.setStatusBarMessage('Crucible: the old lines were left in place; check the function', 8000);
      return false;
    }
    const ok = await editor.edit((b) => b.delete(range), { undoStopBefore: false, undoStopAfter: true });
    if (!ok) log.warn('Crucible: could not remove the replaced lines after accepting the suggestion');
    return true;
  }

  /** Moves the cursor to where a suggestion's ghost text starts and shows it. */
  async show(uri: string, id: number): Promise<void> {
    const found = await this.locate(uri, id);
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
      void vscode.window.setStatusBarMessage(
        'Crucible: this refinement only removes code: use "Accept" above the function',
        6000,
      );
      return;
    }
    const at = editor.document.positionAt(start);
    editor.selection = new vscode.Selection(at, at);
    editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
  }

  /** When the cursor moves into a function with a pending suggestion, show it. */
  private maybeTrigger(editor: vscode.TextEditor): void {
    const uri = editor.document.uri.toString();
    if (!this.store.forUri(uri).length || !this.enabled()) return;
    if (this.selectionTimer) clearTimeout(this.selectionTimer);
    this.selectionTimer = setTimeout(() => {
      void (async () => {
        if (vscode.window.activeTextEditor !== editor) return;
        const offset = editor.document.offsetAt(editor.selection.active);
        const fns = await this.index.functionsOf(editor.document, true);
        const inside = fns.some(
          (f) =>
            offset >= f.startOffset &&
            offset <= f.endOffset &&
            this.store.forUri(uri).some((s) => s.qualifiedName === f.qualifiedName),
        );
        if (inside) await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
      })();
    }, 250);
  }
}
