// Results waiting for the user's decision: shown as a diff, applied as one undoable edit, and never
// applied over edits made since the run began. A proposal lives until it is applied, discarded, or its
// code changes: closing or replacing its diff tab does not lose it ("Crucible: Show Pending Results").
import * as vscode from 'vscode';

export const PROPOSED_SCHEME = 'crucible-proposed';

export interface Proposal {
  id: string;
  target: vscode.Uri;
  /** Range of the code the proposal replaces (moved along when code above it changes). */
  range: vscode.Range;
  /** The replaced text when the run began; the proposal is dropped once the document no longer has it. */
  originalText: string;
  replacement: string;
  title: string;
  verified: boolean;
  /** The function the result is for (or "selection"), and the file, for messages and the pending list. */
  name: string;
  file: string;
  /** e.g. "verified 3/3" or "NOT verified: 1/3 passing". */
  status: string;
  /** For an unverified attempt: what fails, said before it is applied. */
  failing?: string;
}

export type NewProposal = Omit<Proposal, 'id' | 'title'> & { title?: string };

/** The right-hand side of a proposal's diff: the authority says whether it is verified (menus and keys use it). */
export function proposalUri(p: Pick<Proposal, 'id' | 'target' | 'verified'>): vscode.Uri {
  return vscode.Uri.from({
    scheme: PROPOSED_SCHEME,
    authority: p.verified ? 'verified' : 'unverified',
    path: p.target.path || '/result',
    query: p.id,
  });
}

export class Proposals implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly byId = new Map<string, Proposal>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly applied = new vscode.EventEmitter<Proposal>();
  /** Fires after a proposal was written to its document. */
  readonly onDidApply = this.applied.event;
  private readonly listChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeList = this.listChanged.event;
  private current: Proposal | undefined;
  private seq = 0;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor() {
    this.subscriptions.push(
      this.changed,
      this.applied,
      this.listChanged,
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length) this.follow(e.document);
      }),
    );
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const proposal = this.byId.get(uri.query);
    if (!proposal) return '';
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === proposal.target.toString());
    if (!doc) return proposal.replacement;
    const text = doc.getText();
    const start = doc.offsetAt(proposal.range.start);
    const end = doc.offsetAt(proposal.range.end);
    return text.slice(0, start) + proposal.replacement + text.slice(end);
  }

  /** Opens the diff for a new proposal (a normal tab, not a preview one) and makes it the pending one. */
  async show(p: NewProposal): Promise<Proposal> {
    const id = String(++this.seq);
    const proposal: Proposal = { ...p, id, title: p.title ?? `Crucible: ${p.name} in ${p.file} (${p.status})` };
    this.byId.set(proposal.id, proposal);
    this.current = proposal;
    await this.updateContext();
    await this.open(proposal);
    return proposal;
  }

  /** Opens (or re-opens) the diff of a pending proposal. */
  async open(proposal: Proposal): Promise<void> {
    await vscode.commands.executeCommand('vscode.diff', proposal.target, proposalUri(proposal), proposal.title, {
      preview: false,
    });
  }

  pending(): Proposal | undefined {
    return this.current;
  }

  all(): Proposal[] {
    return [...this.byId.values()];
  }

  get(id: string): Proposal | undefined {
    return this.byId.get(id);
  }

  /** The proposal in the active diff editor, if the user is looking at one. */
  shown(): Proposal | undefined {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    if (input instanceof vscode.TabInputTextDiff && input.modified.scheme === PROPOSED_SCHEME)
      return this.byId.get(input.modified.query);
    return undefined;
  }

  /**
   * Follows edits of a target document: a proposal moves with the code above it, and is dropped (with a word
   * in the status bar) once the code it replaces is no longer there.
   */
  private follow(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    for (const p of [...this.byId.values()]) {
      if (p.target.toString() !== key) continue;
      if (doc.getText(p.range) === p.originalText) continue;
      const text = doc.getText();
      const old = doc.offsetAt(p.range.start);
      // The nearest occurrence of the original text: the code moved, it did not change.
      let best = -1;
      for (let i = text.indexOf(p.originalText); i !== -1; i = text.indexOf(p.originalText, i + 1)) {
        if (best === -1 || Math.abs(i - old) < Math.abs(best - old)) best = i;
      }
      if (best >= 0 && p.originalText) {
        p.range = new vscode.Range(doc.positionAt(best), doc.positionAt(best + p.originalText.length));
        this.changed.fire(proposalUri(p));
      } else {
        void vscode.window.setStatusBarMessage(
          `Crucible: the result for ${p.name} was dropped because its code changed`,
          8000,
        );
        void this.discard(p);
      }
    }
  }

  /** True when the target document no longer holds the original text at the proposal's range. */
  isStale(doc: vscode.TextDocument, proposal: Proposal): boolean {
    return doc.getText(proposal.range) !== proposal.originalText;
  }

  /**
   * Applies a proposal as a single edit (one undo step). An unverified one is applied only after the user
   * confirms, being told what fails. Returns a reason when it was not applied (undefined when applied or
   * when the user chose not to).
   */
  async apply(proposal = this.current): Promise<string | undefined> {
    if (!proposal || !this.byId.has(proposal.id))
      return 'There is no result to apply: it was applied or discarded, or its code changed.';
    if (!proposal.verified) {
      const APPLY = 'Apply Unverified Code';
      const choice = await vscode.window.showWarningMessage(
        `${proposal.name} in ${proposal.file}: this attempt is NOT verified.`,
        {
          modal: true,
          detail: `${proposal.failing ?? proposal.status}\n\nApplying it writes code that fails its tests.`,
        },
        APPLY,
      );
      if (choice !== APPLY) return undefined;
    }
    const doc = await vscode.workspace.openTextDocument(proposal.target);
    if (this.isStale(doc, proposal)) {
      await this.discard(proposal);
      return `The code of ${proposal.name} changed after the run began, so the result was not applied over your edits. Run Solve and Verify again.`;
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(proposal.target, proposal.range, proposal.replacement);
    const ok = await vscode.workspace.applyEdit(edit);
    if (!ok) return 'VS Code refused the edit (is the file read-only?).';
    await this.discard(proposal);
    await vscode.window.showTextDocument(doc, { preview: false });
    this.applied.fire(proposal);
    return undefined;
  }

  async discard(proposal = this.current): Promise<void> {
    if (!proposal || !this.byId.has(proposal.id)) return;
    this.byId.delete(proposal.id);
    if (this.current?.id === proposal.id) this.current = [...this.byId.values()].pop();
    await this.updateContext();
    // Close the diff editor showing this proposal, if it is open.
    for (const group of vscode.window.tabGroups.all) {
      for (const tab of group.tabs) {
        const input = tab.input;
        if (
          input instanceof vscode.TabInputTextDiff &&
          input.modified.scheme === PROPOSED_SCHEME &&
          input.modified.query === proposal.id
        ) {
          await vscode.window.tabGroups.close(tab);
        }
      }
    }
  }

  /** "Crucible: Show Pending Results": every open proposal; picking one opens its diff again. */
  async pick(): Promise<void> {
    const items = [...this.byId.values()].reverse().map((p) => ({
      label: `${p.verified ? '$(pass)' : '$(warning)'} ${p.name}`,
      description: `${p.file} · ${p.status}`,
      proposal: p,
    }));
    if (!items.length) {
      void vscode.window.showInformationMessage(
        'Crucible: no pending results. Results wait here until you apply or discard them, or their code changes.',
      );
      return;
    }
    const chosen = await vscode.window.showQuickPick(items, {
      title: 'Crucible: Pending Results',
      placeHolder: 'Open a result to review, apply or discard it',
    });
    if (chosen) await this.open(chosen.proposal);
  }

  private async updateContext(): Promise<void> {
    this.listChanged.fire();
    await vscode.commands.executeCommand('setContext', 'crucible.resultPending', this.byId.size > 0);
  }

  dispose(): void {
    for (const d of this.subscriptions) d.dispose();
    this.byId.clear();
  }
}
