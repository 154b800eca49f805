import * as vscode from 'vscode';

// Placeholder wiring; the VS Code features of issues 2-7 register here.
export function activateCrucible(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Crucible', { log: true });
  context.subscriptions.push(log);
}
