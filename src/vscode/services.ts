// The services the VS Code features share, built once in activate() and started lazily on first use.
// Features receive this object; they never build their own sandbox, model client or dataset store.
import * as vscode from 'vscode';
import type { ModelClient } from '../core/model/types';
import type { Sandbox } from '../core/sandbox/types';
import type { Verifier } from '../core/verify/types';
import type { Budget, Outcome, Task } from '../core/types';
import type { SolveEvent } from '../core/solve/types';
import { createModelClient, createVerifier, lazySandbox, sharedDataset, solveAndRecord } from './engine';
import * as config from './config';
import { log } from './log';

/** How long a replaced sandbox stays up for the runs that still use it. */
const RETIRED_SANDBOX_GRACE_MS = 10 * 60_000;

export interface SolveRequest {
  task: Task;
  budget?: Budget;
  signal?: AbortSignal;
  onEvent?: (event: SolveEvent) => void;
  /** The document the Task comes from, so folder-level settings (budget, generated tests) apply. */
  scope?: vscode.Uri;
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
  /** Where dataset Records are written. */
  datasetFolder(): string;
}

export class ExtensionServices implements Services, vscode.Disposable {
  private sandboxPromise: Promise<Sandbox> | undefined;
  private verifierPromise: Promise<Verifier> | undefined;
  private client: ModelClient | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly retired = new Set<() => Promise<void>>();

  constructor(readonly context: vscode.ExtensionContext) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(config.SECTION)) {
          // Model settings are cheap to rebuild; the sandbox is rebuilt only when its own settings change.
          this.client = undefined;
          if (config.affects(event, config.Keys.python, config.Keys.sandboxMemory, config.Keys.sandboxTimeout)) {
            void this.resetSandbox();
          }
        }
      }),
    );
  }

  sandbox(): Promise<Sandbox> {
    if (!this.sandboxPromise) {
      const started = Date.now();
      this.sandboxPromise = Promise.resolve().then(() => {
        const sandbox = lazySandbox({ python: config.pythonPath(), limits: config.sandboxLimits() });
        void sandbox.isolation().then(
          (report) =>
            log.info(
              `Sandbox ready in ${Date.now() - started} ms: network ${report.network}, processes ${report.processes}, filesystem ${report.filesystem}, memory ${report.memory}`,
            ),
          (err) => log.warn(`Sandbox isolation probe failed: ${String(err)}`),
        );
        return sandbox;
      });
      // A failed start must not stay cached: the next call tries again (e.g. after fixing crucible.sandbox.python).
      this.sandboxPromise.catch(() => {
        this.sandboxPromise = undefined;
      });
    }
    return this.sandboxPromise;
  }

  verifier(): Promise<Verifier> {
    if (!this.verifierPromise) {
      this.verifierPromise = this.sandbox().then((sandbox) =>
        createVerifier(sandbox, { limits: config.sandboxLimits() }),
      );
      this.verifierPromise.catch(() => {
        this.verifierPromise = undefined;
      });
    }
    return this.verifierPromise;
  }

  model(): ModelClient {
    if (!this.client) this.client = createModelClient(config.modelSettings());
    return this.client;
  }

  datasetFolder(): string {
    return config.datasetFolder(this.context);
  }

  /** Solves with the current settings; the engine's solveAndRecord logs the Outcome under its one rule when the dataset is on. */
  async solve(request: SolveRequest): Promise<Outcome> {
    const model = this.model();
    const verifier = await this.verifier();
    const sandbox = await this.sandbox();
    const folder = this.datasetFolder();
    const { outcome, error } = await solveAndRecord(
      request.task,
      { model, verifier, sandbox },
      {
        budget: request.budget ?? config.budget(request.scope),
        signal: request.signal,
        onEvent: request.onEvent,
        generateTests: config.generateTestsWhenMissing(request.scope),
      },
      { dataset: config.datasetEnabled() ? () => sharedDataset(folder) : undefined, settings: model.settings },
    );
    log.info(
      `Solve ${request.task.id}: ${outcome.stopReason}, ${outcome.attempts.length} attempt(s), ${Math.round(outcome.durationMs)} ms`,
    );
    if (error !== undefined) this.reportDatasetFailure(folder, error);
    return outcome;
  }

  /** A dataset write failure is reported but never loses the Outcome itself. */
  private reportDatasetFailure(folder: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    log.error(`Could not write the dataset record to ${folder}: ${message}`);
    void vscode.window
      .showWarningMessage(`Crucible could not log this result to the dataset: ${message}`, 'Open Settings')
      .then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'crucible.dataset');
      });
  }

  /**
   * New runs get a new sandbox; the old one stays up for runs still using it (disposing it under them would
   * turn correct candidates into failures) and is disposed after a grace period or with the extension.
   */
  private async resetSandbox(): Promise<void> {
    const old = this.sandboxPromise;
    this.sandboxPromise = undefined;
    this.verifierPromise = undefined;
    if (!old) return;
    const retire = () => {
      this.retired.delete(retire);
      return old.then(
        (s) => s.dispose(),
        () => undefined,
      );
    };
    this.retired.add(retire);
    setTimeout(() => void retire(), RETIRED_SANDBOX_GRACE_MS).unref?.();
  }

  dispose(): void {
    for (const d of this.subscriptions) d.dispose();
    void this.resetSandbox();
    for (const retire of [...this.retired]) void retire();
  }
}
