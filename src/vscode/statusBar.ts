// The Crucible status-bar item: model · server state · running jobs. Clicking it opens a menu (Select
// Model, Check Setup, pending results, Cancel a job, Show Log). The server is checked in the background
// with one cheap request (Ollama's /api/tags, or /models for an OpenAI-compatible server), backing off
// while it is down. It never shows a notification: problems surface here and when something runs.
import * as vscode from 'vscode';
import * as config from './config';
import type { Jobs } from './jobs';
import type { Proposals } from './proposals';
import { log } from './log';

export type ServerState = 'checking' | 'up' | 'model-missing' | 'down' | 'unauthorized';

const FIRST_CHECK_MS = 1500;
const UP_RECHECK_MS = 120_000;
const DOWN_BACKOFF_MS = [10_000, 20_000, 40_000, 80_000, 160_000, 300_000];
const REQUEST_TIMEOUT_MS = 4000;

function sameModel(a: string, b: string): boolean {
  const norm = (n: string): string => (n.slice(n.lastIndexOf('/') + 1).includes(':') ? n : `${n}:latest`);
  return norm(a) === norm(b);
}

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('crucible.status', vscode.StatusBarAlignment.Left, 100);
  private state: ServerState = 'checking';
  private detail = '';
  private checkedAt = 0;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: AbortController | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly jobs: Jobs,
    private readonly proposals: Proposals,
  ) {
    this.item.name = 'Crucible';
    this.item.command = 'crucible.showStatusMenu';
    this.subscriptions.push(
      this.item,
      jobs.onDidChange(() => this.render()),
      proposals.onDidChangeList(() => this.render()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (config.affects(e, config.Keys.host, config.Keys.model, config.Keys.provider, config.Keys.headers)) {
          this.failures = 0;
          this.schedule(300);
        }
      }),
      vscode.window.onDidChangeWindowState((w) => {
        // Coming back to the window after a while: look again (cheap), so the item is not stale.
        if (w.focused && Date.now() - this.checkedAt > 30_000) this.schedule(0);
      }),
      vscode.commands.registerCommand('crucible.showStatusMenu', () => this.menu()),
    );
    this.render();
    this.item.show();
    this.schedule(FIRST_CHECK_MS);
  }

  get serverState(): ServerState {
    return this.state;
  }

  /** Checks the server now (after Check Setup, Select Model, or a failed run). */
  refresh(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), ms);
  }

  private async check(): Promise<void> {
    this.inFlight?.abort();
    const controller = new AbortController();
    this.inFlight = controller;
    const settings = config.modelSettings();
    const openai = settings.provider === 'openai';
    const base = settings.host.replace(/\/+$/, '');
    const url = openai ? `${base}/models` : `${base}/api/tags`;
    if (this.state !== 'up' && this.state !== 'model-missing') {
      this.state = 'checking';
      this.render();
    }
    const timeout = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const res = await fetch(url, { headers: settings.headers ?? {}, signal: controller.signal });
      if (res.status === 401 || res.status === 403) {
        this.state = 'unauthorized';
        this.detail = `${base} answered HTTP ${res.status}: check crucible.ollama.headers`;
      } else if (!res.ok) {
        this.state = 'down';
        this.detail = `${base} answered HTTP ${res.status}`;
      } else {
        const body = (await res.json()) as { models?: { name?: string; model?: string }[]; data?: { id?: string }[] };
        const names = openai
          ? (body.data ?? []).map((m) => m.id ?? '')
          : (body.models ?? []).map((m) => m.name ?? m.model ?? '');
        const installed = names.some((n) => n && sameModel(n, settings.model));
        this.state = installed || (openai && names.length === 0) ? 'up' : 'model-missing';
        this.detail = installed
          ? `${settings.model} is available at ${base}`
          : `${settings.model} is not installed at ${base} (${names.length} other model(s))`;
      }
    } catch (err) {
      if (controller !== this.inFlight) return; // superseded by a newer check
      this.state = 'down';
      const cause = (err as { cause?: { code?: string } })?.cause?.code;
      this.detail =
        cause === 'ENOTFOUND' || cause === 'EAI_AGAIN'
          ? `the host name in ${base} does not resolve: check crucible.ollama.host for a typo`
          : controller.signal.aborted
            ? `no answer from ${base} within ${REQUEST_TIMEOUT_MS / 1000} s`
            : `nothing answers at ${base}${cause ? ` (${cause})` : ''}`;
    } finally {
      clearTimeout(timeout);
    }
    if (controller !== this.inFlight) return;
    this.checkedAt = Date.now();
    const wasDown = this.failures > 0;
    if (this.state === 'down' || this.state === 'unauthorized') {
      const wait = DOWN_BACKOFF_MS[Math.min(this.failures, DOWN_BACKOFF_MS.length - 1)]!;
      this.failures++;
      log.debug(`Crucible: server check: ${this.detail}; next check in ${wait / 1000} s`);
      this.schedule(wait);
    } else {
      if (wasDown) log.info(`Crucible: the server answers again: ${this.detail}`);
      this.failures = 0;
      this.schedule(UP_RECHECK_MS);
    }
    this.render();
  }

  private render(): void {
    const settings = config.modelSettings();
    const jobs = this.jobs.list();
    const server = {
      checking: '$(loading~spin) checking server',
      up: '$(check) server up',
      'model-missing': '$(warning) model not installed',
      down: '$(error) server down',
      unauthorized: '$(lock) server refused',
    }[this.state];
    const work =
      jobs.length === 0
        ? ''
        : jobs.length === 1
          ? ` · $(sync~spin) ${jobs[0]!.title}${jobs[0]!.detail ? `: ${jobs[0]!.detail}` : ''}`
          : ` · $(sync~spin) ${jobs.length} jobs`;
    const pending = this.proposals.all().length;
    this.item.text = `$(beaker) ${settings.model} · ${server}${work}${pending ? ` · $(diff) ${pending} pending` : ''}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(
      `**Crucible** · model \`${settings.model}\` (${config.settingSource(config.Keys.model).scope})\n\n`,
    );
    md.appendMarkdown(
      `Server \`${settings.host}\` (${config.settingSource(config.Keys.host).scope}): ${this.detail || this.state}\n\n`,
    );
    if (jobs.length)
      md.appendMarkdown(
        `Running:\n${jobs.map((j) => `- ${j.title}${j.detail ? `: ${j.detail}` : ''}`).join('\n')}\n\n`,
      );
    if (pending) md.appendMarkdown(`${pending} result(s) waiting for Apply or Discard\n\n`);
    md.appendMarkdown('Click for model, setup, jobs and log.');
    this.item.tooltip = md;
    this.item.backgroundColor =
      this.state === 'down' || this.state === 'unauthorized'
        ? new vscode.ThemeColor('statusBarItem.warningBackground')
        : undefined;
    this.item.accessibilityInformation = {
      label: `Crucible: model ${settings.model}, ${server.replace(/\$\([^)]+\)\s*/g, '')}, ${jobs.length} job(s) running`,
    };
  }

  private async menu(): Promise<void> {
    type Item = vscode.QuickPickItem & { run?: () => unknown };
    const settings = config.modelSettings();
    const items: Item[] = [
      {
        label: '$(symbol-class) Select Model…',
        description: settings.model,
        run: () => vscode.commands.executeCommand('crucible.selectModel'),
      },
      {
        label: '$(pulse) Check Setup',
        description: `${settings.host} · ${this.detail || this.state}`,
        run: () => vscode.commands.executeCommand('crucible.checkSetup'),
      },
    ];
    const pending = this.proposals.all();
    if (pending.length)
      items.push({
        label: '$(diff) Show Pending Results',
        description: `${pending.length} waiting`,
        run: () => vscode.commands.executeCommand('crucible.showPendingResults'),
      });
    const jobs = this.jobs.list();
    if (jobs.length) {
      items.push({ label: 'Running', kind: vscode.QuickPickItemKind.Separator });
      for (const job of jobs) {
        items.push({
          label: `$(stop-circle) Cancel: ${job.title}`,
          description: `${job.detail ? `${job.detail} · ` : ''}${Math.round((Date.now() - job.startedAt) / 1000)} s`,
          run: () => this.jobs.cancel(job.id),
        });
      }
      if (jobs.length > 1) items.push({ label: '$(close-all) Cancel All', run: () => this.jobs.cancelAll() });
      items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
    }
    items.push({ label: '$(output) Show Log', run: () => vscode.commands.executeCommand('crucible.showLog') });
    const chosen = await vscode.window.showQuickPick(items, {
      title: `Crucible · ${settings.model} · ${this.detail || this.state}`,
      placeHolder: 'Crucible',
    });
    await chosen?.run?.();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.inFlight?.abort();
    for (const d of this.subscriptions) d.dispose();
  }
}
