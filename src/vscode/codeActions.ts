// The light bulb: "Refine and verify `name`" on a function, and "Fix with Crucible (verified)" on a
// diagnostic (from any language server) inside a function, with the diagnostic passed as the hint.
import * as vscode from 'vscode';
import type { FunctionInfo } from '../core/parse/functions';
import { unitAt } from './engine';
import { featureEnabled, Keys } from './config';
import { REFINE_COMMAND } from './codeLens';

export const REFINE_KIND = vscode.CodeActionKind.RefactorRewrite.append('crucible');
export const FIX_KIND = vscode.CodeActionKind.QuickFix.append('crucible');

/** The hint handed to the model for a diagnostic. */
export function diagnosticHint(diagnostic: vscode.Diagnostic): string {
  const source = diagnostic.source ? `${diagnostic.source}` : 'the editor';
  const code =
    typeof diagnostic.code === 'object' && diagnostic.code !== null ? diagnostic.code.value : diagnostic.code;
  const where = `line ${diagnostic.range.start.line + 1}`;
  return `Fix this problem reported by ${source}${code !== undefined ? ` (${String(code)})` : ''} at ${where}: ${diagnostic.message}`;
}

export class CrucibleCodeActions implements vscode.CodeActionProvider {
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [REFINE_KIND, FIX_KIND] };

  constructor(private readonly functionsOf: (doc: vscode.TextDocument) => Promise<FunctionInfo[]>) {}

  async provideCodeActions(
    document: vscode.TextDocument,
    range: vscode.Range | vscode.Selection,
    context: vscode.CodeActionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.CodeAction[]> {
    if (!featureEnabled(Keys.codeActions, document.uri)) return [];
    const functions = await this.functionsOf(document);
    if (token.isCancellationRequested || !functions.length) return [];
    const actions: vscode.CodeAction[] = [];
    const unit = unitAt(functions, document.offsetAt(range.start));
    if (!('error' in unit)) {
      const refine = new vscode.CodeAction(`Crucible: Refine and verify ${unit.name}`, REFINE_KIND);
      refine.command = { title: refine.title, command: REFINE_COMMAND, arguments: [document.uri, unit.startOffset] };
      actions.push(refine);
    }
    // One fix per function, carrying every diagnostic inside it.
    const byFunction = new Map<FunctionInfo, vscode.Diagnostic[]>();
    for (const diagnostic of context.diagnostics) {
      const around = unitAt(functions, document.offsetAt(diagnostic.range.start));
      if ('error' in around) continue;
      byFunction.set(around, [...(byFunction.get(around) ?? []), diagnostic]);
    }
    for (const [fn, diagnostics] of byFunction) {
      const fix = new vscode.CodeAction('Fix with Crucible (verified)', FIX_KIND);
      fix.diagnostics = diagnostics;
      fix.command = {
        title: fix.title,
        command: REFINE_COMMAND,
        arguments: [document.uri, fn.startOffset, diagnostics.map(diagnosticHint).join('\n')],
      };
      actions.push(fix);
    }
    return actions;
  }
}
