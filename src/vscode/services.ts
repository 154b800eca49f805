// The services the VS Code features share, built once in activate() and started lazily on first use.
// Features receive this object; they never build their own sandbox, model client or dataset store.
import type * as vscode from 'vscode';
import type { ModelClient } from '../core/model/types';
import type { Sandbox } from '../core/sandbox/types';
import type { Verifier } from '../core/verify/types';
import type { Outcome, Task } from '../core/types';
import type { SolveEvent } from '../core/solve/types';
import type { Budget } from '../core/types';

export interface SolveRequest {
  task: Task;
  budget?: Budget;
  signal?: AbortSignal;
  onEvent?: (event: SolveEvent) => void;
}

export interface Services {
  readonly context: vscode.ExtensionContext;
  /** The warm sandbox, started on first use and disposed with the extension. */
  sandbox(): Promise<Sandbox>;
  verifier(): Promise<Verifier>;
  /** A model client for the current settings (rebuilt when settings change). */
  model(): ModelClient;
  /** Runs the self-correcting loop with the current settings and logs the Outcome to the dataset when enabled. */
  solve(request: SolveRequest): Promise<Outcome>;
}
