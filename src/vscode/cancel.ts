// Cancellation: VS Code's CancellationToken at the edge, an AbortSignal everywhere in core.
import type * as vscode from 'vscode';

export function toAbortSignal(
  token: vscode.CancellationToken,
  ...more: AbortSignal[]
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort(new Error('Cancelled'));
  if (token.isCancellationRequested) abort();
  const sub = token.onCancellationRequested(abort);
  for (const other of more) {
    if (other.aborted) abort();
    else other.addEventListener('abort', abort, { once: true });
  }
  return { signal: controller.signal, dispose: () => sub.dispose() };
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || /abort|cancel/i.test(err.message));
}
