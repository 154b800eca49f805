// Running work (foreground solves, background refinements and verifications, verify-on-save). Every job
// has its own AbortController: the status-bar menu, the trace view and "Crucible: Cancel a Job…" cancel
// one job; "Crucible: Cancel Running Work" cancels them all. The status bar (statusBar.ts) shows them.
import * as vscode from 'vscode';

export interface Job {
  id: number;
  title: string;
  detail: string;
  startedAt: number;
  /** True for work started from the light bulb, code lens, Testing view or save (no progress notification). */
  background: boolean;
  controller: AbortController;
}

export class Jobs implements vscode.Disposable {
  private readonly running = new Map<number, Job>();
  private seq = 0;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  /** Runs `work` as a background job; it is listed (and cancellable) until it settles. */
  async run<T>(
    title: string,
    work: (signal: AbortSignal, report: (detail: string) => void, job: Job) => Promise<T>,
    parent?: AbortSignal,
  ): Promise<T> {
    const job: Job = {
      id: ++this.seq,
      title,
      detail: '',
      startedAt: Date.now(),
      background: true,
      controller: new AbortController(),
    };
    if (parent) {
      if (parent.aborted) job.controller.abort(parent.reason);
      else parent.addEventListener('abort', () => job.controller.abort(parent.reason), { once: true });
    }
    this.add(job);
    try {
      return await work(
        job.controller.signal,
        (detail) => {
          job.detail = detail;
          this.render();
        },
        job,
      );
    } finally {
      this.remove(job.id);
    }
  }

  /** Lists foreground work (with its own progress notification) so it can be cancelled from the status bar too. */
  track(title: string, controller: AbortController): vscode.Disposable & { job: Job; report(detail: string): void } {
    const job: Job = { id: ++this.seq, title, detail: '', startedAt: Date.now(), background: false, controller };
    this.add(job);
    return {
      job,
      report: (detail: string) => {
        job.detail = detail;
        this.render();
      },
      dispose: () => this.remove(job.id),
    };
  }

  get busy(): boolean {
    return this.running.size > 0;
  }

  list(): Job[] {
    return [...this.running.values()];
  }

  get(id: number): Job | undefined {
    return this.running.get(id);
  }

  /** Cancels one job; false when it already ended. */
  cancel(id: number): boolean {
    const job = this.running.get(id);
    if (!job) return false;
    job.controller.abort(new Error('Cancelled'));
    return true;
  }

  cancelAll(): number {
    const n = this.running.size;
    for (const job of this.running.values()) job.controller.abort(new Error('Cancelled'));
    return n;
  }

  /** "Crucible: Cancel a Job…": one job from a quick pick (no pick when only one runs). */
  async pickAndCancel(): Promise<void> {
    const jobs = this.list();
    if (!jobs.length) {
      void vscode.window.setStatusBarMessage('Crucible: nothing to cancel', 3000);
      return;
    }
    const chosen =
      jobs.length === 1
        ? jobs[0]
        : (
            await vscode.window.showQuickPick(
              jobs.map((j) => ({ label: `$(stop-circle) ${j.title}`, description: j.detail, job: j })),
              { title: 'Crucible: Cancel a Job', placeHolder: 'Which job should stop?' },
            )
          )?.job;
    if (chosen && this.cancel(chosen.id))
      void vscode.window.setStatusBarMessage(`Crucible: cancelled ${chosen.title}`, 4000);
  }

  private add(job: Job): void {
    this.running.set(job.id, job);
    this.render();
  }

  private remove(id: number): void {
    this.running.delete(id);
    this.render();
  }

  private render(): void {
    void vscode.commands.executeCommand('setContext', 'crucible.busy', this.running.size > 0);
    this.changed.fire();
  }

  dispose(): void {
    this.cancelAll();
    this.changed.dispose();
  }
}
