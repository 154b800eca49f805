// The commands of the editor features, as one table: which command id runs what. The code lens, light
// bulb, Testing view and inline suggestions invoke them with a document and an offset; from the command
// palette they act on the function at the cursor.
import * as vscode from 'vscode';
import type { FunctionInfo } from '../core/parse/functions';
import type { DocumentIndex } from './documentIndex';
import type { RefineController } from './refineController';
import type { SuggestionController } from './suggestionController';
import type { FunctionVerifier } from './verifyFunction';
import { REFINE_COMMAND, VERIFY_COMMAND } from './codeLens';
import { isSupportedLanguage, unitAt } from './engine';
import { ACCEPT_COMMAND, ACCEPTED_COMMAND, DISMISS_COMMAND, SHOW_COMMAND } from './inlineSuggestions';
import { log } from './log';

export interface InlineCommandParts {
  index: DocumentIndex;
  verifier: FunctionVerifier;
  refiner: RefineController;
  suggestions: SuggestionController;
}

/** The function a command is about: at `offsetArg` in `uriArg`, else at the cursor. Says why when there is none. */
async function resolveTarget(
  index: DocumentIndex,
  uriArg: vscode.Uri | string | undefined,
  offsetArg: number | undefined,
): Promise<{ doc: vscode.TextDocument; fn: FunctionInfo } | undefined> {
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
    void vscode.window.setStatusBarMessage(
      `Crucible supports Python, JavaScript and TypeScript; this file is ${doc.languageId}`,
      5000,
    );
    return undefined;
  }
  const fns = await index.functionsOf(doc, true);
  const unit = unitAt(fns, offset);
  if ('error' in unit) {
    log.info(`Crucible: ${unit.error}`);
    void vscode.window.setStatusBarMessage(`Crucible: ${unit.error}`, 6000);
    return undefined;
  }
  return { doc, fn: unit };
}

/** "Verify Function": runs the function's tests now (no cache) and says the result in the status bar. */
async function verifyCommand(
  parts: InlineCommandParts,
  uriArg?: vscode.Uri | string,
  offsetArg?: number,
): Promise<void> {
  const target = await resolveTarget(parts.index, uriArg, offsetArg);
  if (!target) return;
  const result = await parts.verifier.verify(target.doc, target.fn, true);
  if (result) {
    const text = result.passed
      ? `${target.fn.name}: verified ${result.testsPassed}/${result.testsTotal}`
      : `${target.fn.name}: ${result.testsPassed}/${result.testsTotal} passing`;
    void vscode.window.setStatusBarMessage(`${result.passed ? '$(pass)' : '$(error)'} Crucible: ${text}`, 6000);
  }
}

async function refineCommand(
  parts: InlineCommandParts,
  uriArg?: vscode.Uri | string,
  offsetArg?: number,
  hint?: string,
): Promise<void> {
  const target = await resolveTarget(parts.index, uriArg, offsetArg);
  if (target) await parts.refiner.refine(target.doc, target.fn, hint);
}

function command<A extends unknown[]>(id: string, run: (...args: A) => unknown): vscode.Disposable {
  return vscode.commands.registerCommand(id, run as (...args: unknown[]) => unknown);
}

/** Registers the editor features' commands. */
export function registerInlineCommands(parts: InlineCommandParts): vscode.Disposable[] {
  const { suggestions } = parts;
  return [
    command(REFINE_COMMAND, (uri?: vscode.Uri | string, offset?: number, hint?: string) =>
      refineCommand(parts, uri, offset, hint),
    ),
    command(VERIFY_COMMAND, (uri?: vscode.Uri | string, offset?: number) => verifyCommand(parts, uri, offset)),
    command(ACCEPTED_COMMAND, (uri: string, id: number, deleteAt?: number, removed?: string, replacement?: string) =>
      suggestions.accepted(uri, id, deleteAt, removed, replacement),
    ),
    command(SHOW_COMMAND, (uri: string, id: number) => suggestions.show(uri, id)),
    command(ACCEPT_COMMAND, (uri: string, id: number) => suggestions.apply(uri, id)),
    command(DISMISS_COMMAND, (uri: string, id: number) => suggestions.dismiss(uri, id)),
  ];
}
