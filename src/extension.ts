// Entry point of the VS Code extension: build services, register features, return. Nothing else.
import type * as vscode from 'vscode';
import { activateCrucible } from './vscode/activate';

export function activate(context: vscode.ExtensionContext): void {
  activateCrucible(context);
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
