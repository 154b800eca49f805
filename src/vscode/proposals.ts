// Verified results waiting for the user's decision: shown as a diff, applied as one undoable edit,
// and never applied over edits made since the run began.
import * as vscode from 'vscode';

export const PROPOSED_SCHEME = 'crucible-proposed';

export interface Proposal {
  id: string;
  target: vscode.Uri;
  /** Range of the code the proposal replaces, as it was when the run began. */
  range: vscode.Range;
  /** The replaced text when the run began; the proposal is stale once the document no longer has it there. */
  originalText: string;
  replacement: string;
  title: string;
  verified: boolean;
}

export class Proposals implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly byId = new Map<string, Proposal>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private current: Proposal | undefined;
  private seq = 0;
  private readonly tabs = vscode.window.tabGroups.onDidChangeTabs((event) => this.onTabsClosed(event));

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

  /** Opens the diff for a new proposal and makes it the pending one. */
  async show(p: Omit<Proposal, 'id'>): Promise<Proposal> {
    const proposal: Proposal = { ...p, id: String(++this.seq) };
    this.byId.set(proposal.id, proposal);
    this.current = proposal;
    await vscode.commands.executeCommand('setContext', 'crucible.resultPending', true);
    const right = vscode.Uri.from({ scheme: PROPOSED_SCHEME, path: proposal.target.path, query: proposal.id });
    await vscode.commands.executeCommand('vscode.diff', proposal.target, right, proposal.title, { preview: true });
    return proposal;
  }

  pending(): Proposal | undefined {
    return this.current;
  }

  /** The proposal in the active diff editor, if the user is looking at one. */
  shown(): Proposal | undefined {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    if (input instanceof vscode.TabInputTextDiff && input.modified.scheme === PROPOSED_SCHEME) return this.byId.get(input.modified.query);
    return undefined;
  }

  /** Forgets proposals whose diff the user closed by hand, so Apply never writes code nobody can see. */
  private onTabsClosed(event: vscode.TabChangeEvent): void {
    for (const tab of event.closed) {
      const input = tab.input;
      if (!(input instanceof vscode.TabInputTextDiff) || input.modified.scheme !== PROPOSED_SCHEME) continue;
      const proposal = this.byId.get(input.modified.query);
      if (proposal) void this.discard(proposal);
    }
  }

  /** True when the target document still holds the original text at the proposal's range. */
  isStale(doc: vscode.TextDocument, proposal: Proposal): boolean {
    return doc.getText(proposal.range) !== proposal.originalText;
  }

  /** Applies the pending proposal as a single edit (one undo step). Returns a reason when it cannot. */
  async apply(proposal = this.current): Promise<string | undefined> {
    if (!proposal || !this.byId.has(proposal.id)) return 'There is no result to apply (it was discarded or its diff was closed).';
    const doc = await vscode.workspace.openTextDocument(proposal.target);
    if (this.isStale(doc, proposal)) {
      await this.discard(proposal);
      return 'The code changed after the run began, so the result was not applied over your edits. Run Solve and Verify again.';
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(proposal.target, proposal.range, proposal.replacement);
    const ok = await vscode.workspace.applyEdit(edit);
    await this.discard(proposal);
    if (!ok) return 'VS Code refused the edit (is the file read-only?).';
    await vscode.window.showTextDocument(doc, { preview: false });
    return undefined;
  }

  async discard(proposal = this.current): Promise<void> {
    if (!proposal || !this.byId.has(proposal.id)) return;
    this.byId.delete(proposal.id);
    if (this.current?.id === proposal.id) this.current = [...this.byId.values()].pop();
    await vscode.commands.executeCommand('setContext', 'crucible.resultPending', this.current !== undefined);
    // Close the diff editor showing this proposal, if it is open.
    for (const group of vscode.window.tabGroups.all) {
      for (const tab of group.tabs) {
        const input = tab.input;
        if (input instanceof vscode.TabInputTextDiff && input.modified.scheme === PROPOSED_SCHEME && input.modified.query === proposal.id) {
          await vscode.window.tabGroups.close(tab);
        }
      }
    }
  }

  dispose(): void {
    this.tabs.dispose();
    this.changed.dispose();
    this.byId.clear();
  }
}
