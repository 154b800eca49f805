// Verified refinements offered as ghost text. Accepting one replaces its function's whole text in one undo
// step; it is offered only while the function's text is what it was when the run began: a stale
// suggestion is dropped, never applied over newer edits.
// VS Code renders ghost text only for insertions at the cursor, so the new lines are offered as an
// insertion above the old ones, the old ones are shown struck through meanwhile (so the deletion is
// visible), and the accept command removes them with `undoStopBefore: false` (VS Code pushes no undo stop
// after accepting, so both edits undo together).
import * as vscode from 'vscode';
import { ghostEdit, isStale } from './engine';
import type { FunctionInfo } from '../core/parse/functions';
import { featureEnabled, Keys } from './config';
import { log } from './log';

export const ACCEPTED_COMMAND = 'crucible.inlineSuggestionAccepted';
/** Applies a pending suggestion as one edit (the code lens offers it too, for when ghost text is not shown). */
export const ACCEPT_COMMAND = 'crucible.acceptRefinement';
export const DISMISS_COMMAND = 'crucible.dismissRefinement';
/** Moves the cursor to where the ghost text starts and shows it. */
export const SHOW_COMMAND = 'crucible.showRefinement';

export interface Suggestion {
  id: number;
  uri: string;
  qualifiedName: string;
  /** The function's text when the run began. */
  originalText: string;
  /** The verified replacement for the whole definition. */
  replacement: string;
  /** e.g. `verified 5/5` or `verified 3/3 (generated tests)`. */
  label: string;
}

export class SuggestionStore {
  private readonly byUri = new Map<string, Suggestion[]>();
  private seq = 0;
  private readonly changed = new vscode.EventEmitter<string>();
  readonly onDidChange = this.changed.event;

  add(s: Omit<Suggestion, 'id'>): Suggestion {
    const full: Suggestion = { ...s, id: ++this.seq };
    const list = (this.byUri.get(s.uri) ?? []).filter((x) => x.qualifiedName !== s.qualifiedName);
    list.push(full);
    this.byUri.set(s.uri, list);
    this.changed.fire(s.uri);
    return full;
  }

  forUri(uri: string): readonly Suggestion[] {
    return this.byUri.get(uri) ?? [];
  }

  get(uri: string, id: number): Suggestion | undefined {
    return this.forUri(uri).find((s) => s.id === id);
  }

  remove(uri: string, id: number): void {
    const list = this.forUri(uri).filter((s) => s.id !== id);
    if (list.length) this.byUri.set(uri, list);
    else this.byUri.delete(uri);
    this.changed.fire(uri);
  }

  clear(uri: string): void {
    if (this.byUri.delete(uri)) this.changed.fire(uri);
  }

  dispose(): void {
    this.byUri.clear();
    this.changed.dispose();
  }
}

/** The text the accept command removes once the ghost text is in: the old lines the new ones replace. */
export function removedAfterInsert(oldText: string, edit: ReturnType<typeof ghostEdit>): string {
  const inserted = oldText.slice(0, edit.offset) + edit.insertText + oldText.slice(edit.offset);
  return inserted.slice(edit.deleteOffset, edit.deleteOffset + edit.deleteLength);
}

/**
 * How a refinement is shown as ghost text. VS Code renders only insertions, so the new lines are inserted
 * *below* the old lines they replace (which stay real lines, shown struck through), and accepting removes
 * the old lines in the same undo step. A pure insertion is offered as it is.
 */
export interface GhostPlan {
  /** Document offset of the insertion (where the cursor must be for the ghost text to show). */
  at: number;
  insertText: string;
  /** After the insertion: where the old lines start, and their text (removed on accept); '' when none. */
  deleteAt: number;
  removed: string;
  /** Before the insertion: the old code the refinement removes (struck through while shown). */
  struck?: { start: number; end: number };
}

export function ghostPlan(fn: FunctionInfo, replacement: string): GhostPlan | undefined {
  const edit = ghostEdit(fn.text, replacement);
  if (!edit.insertText) return undefined;
  if (edit.deleteLength === 0) {
    return {
      at: fn.startOffset + edit.offset,
      insertText: edit.insertText,
      deleteAt: fn.startOffset + edit.deleteOffset,
      removed: '',
    };
  }
  // ghostEdit offers `added + "\n" + indent` above the old lines; offer `"\n" + indent + added` below them instead.
  const lineStart = fn.text.lastIndexOf('\n', edit.offset - 1) + 1;
  const indent = fn.text.slice(lineStart, edit.offset);
  const added = edit.insertText.slice(0, edit.insertText.length - 1 - indent.length);
  const removedLength = edit.deleteLength - 1 - indent.length;
  const removed = fn.text.slice(edit.offset, edit.offset + removedLength);
  const start = fn.startOffset + edit.offset;
  return {
    at: start + removedLength,
    insertText: `\n${indent}${added}`,
    deleteAt: start,
    removed: `${removed}\n${indent}`,
    struck: { start, end: start + removedLength },
  };
}

/** The old code a refinement removes, as document offsets (before the ghost text is inserted). */
export function removedRange(fn: FunctionInfo, replacement: string): { start: number; end: number } | undefined {
  return ghostPlan(fn, replacement)?.struck;
}

/** Where the ghost text of a suggestion starts in the document (the cursor must sit there to see it). */
export function ghostStart(fn: FunctionInfo, replacement: string): number | undefined {
  return ghostPlan(fn, replacement)?.at;
}

/** The suggestion (if any) for the function around `offset`, dropping stale ones on the way. */
export function liveSuggestionAt(
  store: SuggestionStore,
  uri: string,
  functions: readonly FunctionInfo[],
  offset: number,
): { suggestion: Suggestion; fn: FunctionInfo } | undefined {
  for (const s of [...store.forUri(uri)]) {
    const candidates = functions.filter((f) => f.qualifiedName === s.qualifiedName);
    if (!candidates.length) {
      log.info(`Crucible: dropped the suggestion for ${s.qualifiedName}: the function is gone`);
      store.remove(uri, s.id);
      continue;
    }
    const fn = candidates.find((f) => offset >= f.startOffset && offset <= f.endOffset);
    if (!fn) continue;
    if (isStale(s.originalText, fn.text)) {
      log.info(`Crucible: dropped the suggestion for ${s.qualifiedName}: it changed since the refinement began`);
      store.remove(uri, s.id);
      continue;
    }
    return { suggestion: s, fn };
  }
  return undefined;
}

export class CrucibleInlineSuggestions implements vscode.InlineCompletionItemProvider {
  constructor(
    private readonly store: SuggestionStore,
    private readonly functionsOf: (doc: vscode.TextDocument) => Promise<FunctionInfo[]>,
    /** Called when a suggestion is offered, to show what it removes. */
    private readonly onOffer?: (doc: vscode.TextDocument, suggestion: Suggestion, fn: FunctionInfo) => void,
  ) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    _context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    if (!featureEnabled(Keys.inlineSuggestions, document.uri)) return undefined;
    const uri = document.uri.toString();
    if (!this.store.forUri(uri).length) return undefined;
    const functions = await this.functionsOf(document);
    if (token.isCancellationRequested) return undefined;
    const live = liveSuggestionAt(this.store, uri, functions, document.offsetAt(position));
    if (!live) return undefined;
    const { suggestion, fn } = live;
    // VS Code shows ghost text only for insertions at (or after) the cursor: insert the new lines above
    // the old ones, and delete the old ones when the suggestion is accepted (same undo step).
    const plan = ghostPlan(fn, suggestion.replacement);
    if (!plan) return undefined; // a pure deletion: the code lens offers it
    const at = document.positionAt(plan.at);
    const item = new vscode.InlineCompletionItem(plan.insertText, new vscode.Range(at, at), {
      title: `Crucible: ${suggestion.label}`,
      command: ACCEPTED_COMMAND,
      arguments: [uri, suggestion.id, plan.deleteAt, plan.removed, suggestion.replacement],
    });
    log.debug(`Crucible: offering the ${suggestion.label} refinement of ${fn.qualifiedName}`);
    this.onOffer?.(document, suggestion, fn);
    return [item];
  }
}
