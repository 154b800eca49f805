// Background work (solves started from code actions, code lens, save) with a status-bar item that
// shows progress and cancels on click. Every job gets an AbortSignal that "Crucible: Cancel" aborts.
import * as vscode from 'vscode';

interface Job {
  id: number;
  title: string;
  detail: string;
  controller: AbortController;
}

export class Jobs implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('crucible.jobs', vscode.StatusBarAlignment.Left, 100);
  private readonly running = new Map<number, Job>();
  private seq = 0;

  constructor() {
    this.item.name = 'Crucible';
    this.item.command = 'crucible.cancel';
  }

  /** Runs `work` as a background job; its progress shows in the status bar until it settles. */
  async run<T>(title: string, work: (signal: AbortSignal, report: (detail: string) => void) => Promise<T>, parent?: AbortSignal): Promise<T> {
    const job: Job = { id: ++this.seq, title, detail: '', controller: new AbortController() };
    if (parent) {
      if (parent.aborted) job.controller.abort(parent.reason);
      else parent.addEventListener('abort', () => job.controller.abort(parent.reason), { once: true });
    }
    this.running.set(job.id, job);
    this.render();
    try {
      return await work(job.controller.signal, (detail) => {
        job.detail = detail;
        this.render();
      });
    } finally {
      this.running.delete(job.id);
      this.render();
    }
  }

  /** Starts a cancellable notification-style progress for foreground work and returns a signal for it. */
  track(title: string, controller: AbortController): vscode.Disposable {
    const job: Job = { id: ++this.seq, title, detail: '', controller };
    this.running.set(job.id, job);
    this.render();
    return new vscode.Disposable(() => {
      this.running.delete(job.id);
      this.render();
    });
  }

  get busy(): boolean {
    return this.running.size > 0;
  }

  cancelAll(): number {
    const n = this.running.size;
    for (const job of this.running.values()) job.controller.abort(new Error('Cancelled'));
    return n;
  }

  private render(): void {
    void vscode.commands.executeCommand('setContext', 'crucible.busy', this.running.size > 0);
    if (!this.running.size) {
      this.item.hide();
      return;
    }
    const jobs = [...this.running.values()];
    const first = jobs[0]!;
    const more = jobs.length > 1 ? ` (+${jobs.length - 1})` : '';
    this.item.text = `$(sync~spin) Crucible: ${first.title}${first.detail ? ` · ${first.detail}` : ''}${more}`;
    this.item.tooltip = `${jobs.map((j) => `${j.title}${j.detail ? `: ${j.detail}` : ''}`).join('\n')}\n\nClick to cancel.`;
    this.item.show();
  }

  dispose(): void {
    this.cancelAll();
    this.item.dispose();
  }
}
