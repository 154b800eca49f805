// Code lens above each function that has tests: "✓ verified 5/5", "✗ 3/5 passing: Refine" or "▶ Verify".
// Lenses only show cached results; tests run when the user clicks (or on save when enabled), never on
// keystrokes. Computing lenses waits for edits to settle.
import * as vscode from 'vscode';
import type { FunctionInfo } from '../core/parse/functions';
import type { CachedVerification } from './verifyCache';
import { featureEnabled, Keys } from './config';
import { failureSummary } from './messages';
import { ACCEPT_COMMAND, DISMISS_COMMAND, SHOW_COMMAND } from './inlineSuggestions';

export const VERIFY_COMMAND = 'crucible.verifyFunction';
export const REFINE_COMMAND = 'crucible.refineFunction';

/** One function with user tests, and the cache key of its current text + tests. */
export interface TestedFunction {
  fn: FunctionInfo;
  key: string;
  testCount: number;
  testSources: string[];
}

/** A verified refinement waiting for the user, shown above its function. */
export interface PendingLens {
  fn: FunctionInfo;
  id: number;
  label: string;
}

export interface LensSource {
  /** Functions with a live (not stale) pending refinement. */
  pending(doc: vscode.TextDocument): Promise<PendingLens[]>;
  /** Solvable functions of the document that have user tests (cached per document version). */
  testedFunctions(doc: vscode.TextDocument, token: vscode.CancellationToken): Promise<TestedFunction[]>;
  cached(key: string): CachedVerification | undefined;
  /** `verify` / `refine` while a run for this function is going. */
  running(uri: string, qualifiedName: string): 'verify' | 'refine' | undefined;
  readonly onDidChange: vscode.Event<void>;
}

export function lensTitle(
  cached: CachedVerification | undefined,
  running: 'verify' | 'refine' | undefined,
): { title: string; command: string } {
  if (running === 'verify') return { title: '$(sync~spin) Crucible: verifying…', command: VERIFY_COMMAND };
  if (running === 'refine') return { title: '$(sync~spin) Crucible: refining…', command: REFINE_COMMAND };
  if (!cached) return { title: '▶ Verify', command: VERIFY_COMMAND };
  if (cached.passed) return { title: `✓ verified ${cached.testsPassed}/${cached.testsTotal}`, command: VERIFY_COMMAND };
  return { title: `✗ ${cached.testsPassed}/${cached.testsTotal} passing: Refine`, command: REFINE_COMMAND };
}

export class CrucibleCodeLens implements vscode.CodeLensProvider {
  readonly onDidChangeCodeLenses: vscode.Event<void>;

  constructor(private readonly source: LensSource) {
    this.onDidChangeCodeLenses = source.onDidChange;
  }

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    if (!featureEnabled(Keys.codeLens, document.uri)) return [];
    const tested = await this.source.testedFunctions(document, token);
    if (token.isCancellationRequested) return [];
    const uri = document.uri.toString();
    const lenses: vscode.CodeLens[] = [];
    const pending = await this.source.pending(document);
    for (const p of pending) {
      const range = new vscode.Range(p.fn.startLine, p.fn.startColumn, p.fn.startLine, p.fn.startColumn);
      lenses.push(
        new vscode.CodeLens(range, {
          title: `$(sparkle) ${p.label} refinement ready: Accept`,
          command: ACCEPT_COMMAND,
          arguments: [uri, p.id],
          tooltip:
            'Replace the function with the verified refinement (one undo step). With the cursor in the function it also shows as ghost text, the removed lines struck through: Tab accepts.',
        }),
        new vscode.CodeLens(range, {
          title: 'Show',
          command: SHOW_COMMAND,
          arguments: [uri, p.id],
          tooltip: 'Show the refinement as ghost text (Tab accepts, Escape dismisses)',
        }),
        new vscode.CodeLens(range, { title: 'Dismiss', command: DISMISS_COMMAND, arguments: [uri, p.id] }),
      );
    }
    // A function with a refinement ready shows only that: its old verdict describes code about to be replaced.
    const withPending = new Set(pending.map((p) => p.fn.qualifiedName));
    return lenses.concat(
      tested
        .filter(({ fn }) => !withPending.has(fn.qualifiedName))
        .map(({ fn, key, testCount, testSources }) => {
          const cached = this.source.cached(key);
          const { title, command } = lensTitle(cached, this.source.running(uri, fn.qualifiedName));
          const range = new vscode.Range(fn.startLine, fn.startColumn, fn.startLine, fn.startColumn);
          const failing = cached?.failures?.length
            ? cached.failures.map((f) => failureSummary(f))
            : cached?.summary
              ? [cached.summary]
              : [];
          const detail =
            cached && !cached.passed && failing.length
              ? `\n\nFailing:\n${failing.map((f) => `- ${f}`).join('\n')}\n\nClick to refine with Crucible.`
              : '';
          return new vscode.CodeLens(range, {
            title,
            command,
            arguments: [document.uri, fn.startOffset],
            tooltip: `${testCount} test(s) for ${fn.qualifiedName} from ${testSources.join(', ')}${detail}`,
          });
        }),
    );
  }
}
