// "Crucible: Generate Self-Play Puzzles" and "Crucible: Stop Self-Play". The run goes on in the
// background with a cancellable notification and a status-bar item (accepted/rejected counts); a stopped
// run keeps every accepted puzzle, and the next run offers to resume from the checkpoint.
import * as vscode from 'vscode';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { ModelClient } from '../core/model/types';
import type { Sandbox } from '../core/sandbox/types';
import type { Verifier } from '../core/verify/types';
import type { Puzzle } from '../core/types';
import type { ResumePlan } from '../core/selfplay/resume';
import {
  createModelClient,
  createProcessSandbox,
  formatReport,
  loadSeedFile,
  planResume,
  selfPlay,
  sharedDataset,
  shippedSeeds,
} from './engine';
import type { SelfPlayEvent, SelfPlayReport } from '../core/selfplay/types';
import { selfPlaySettings } from './config';
import { log } from './log';
import { VERSION } from '../core/version';
import { SELF_PLAY_DEFAULTS } from '../core/defaults';

export interface SelfPlayFeatureDeps {
  model: () => ModelClient;
  verifier: () => Promise<Verifier>;
  datasetFolder: () => string;
  /** The shared sandbox; without it self-play starts (and disposes) its own for the probes. */
  sandbox?: () => Promise<Sandbox>;
}

const RUNNING_KEY = 'crucible.selfPlayRunning';
const STATE_FILE = 'selfplay-state.json';

export function registerSelfPlay(context: vscode.ExtensionContext, deps: SelfPlayFeatureDeps): void {
  const feature = new SelfPlayFeature(deps);
  context.subscriptions.push(
    feature,
    vscode.commands.registerCommand('crucible.generateSelfPlay', () => feature.generate()),
    vscode.commands.registerCommand('crucible.stopSelfPlay', () => feature.stop()),
  );
  feature.setRunning(false);
}

/** What one run is asked to do, gathered from the person before it starts. */
interface RunRequest {
  folder: string;
  statePath: string;
  resume: boolean;
  count: number;
  model: ModelClient;
  seeds: Puzzle[];
  samples: number;
}

type NotificationProgress = vscode.Progress<{ message?: string; increment?: number }>;

/** The two commands, the status-bar item, and the one run that may be going on. */
class SelfPlayFeature implements vscode.Disposable {
  private current: AbortController | undefined;
  private readonly item: vscode.StatusBarItem;

  constructor(private readonly deps: SelfPlayFeatureDeps) {
    this.item = vscode.window.createStatusBarItem('crucible.selfPlay', vscode.StatusBarAlignment.Left, 99);
    this.item.name = 'Crucible Self-Play';
    this.item.command = 'crucible.stopSelfPlay';
  }

  dispose(): void {
    this.item.dispose();
    this.current?.abort(new Error('Cancelled'));
  }

  setRunning(running: boolean): void {
    void vscode.commands.executeCommand('setContext', RUNNING_KEY, running);
    if (!running) this.item.hide();
  }

  stop(): void {
    if (!this.current) {
      void vscode.window.showInformationMessage('Crucible: no self-play run is going on.');
      return;
    }
    this.current.abort(new Error('Cancelled'));
  }

  async generate(): Promise<void> {
    if (this.current) {
      const choice = await vscode.window.showInformationMessage(
        'Crucible: a self-play run is already going on.',
        'Stop It',
      );
      if (choice === 'Stop It') this.stop();
      return;
    }
    const folder = this.deps.datasetFolder();
    const statePath = join(folder, STATE_FILE);
    const plan = await chooseResume(statePath);
    if (!plan) return;
    // A resumed run offers its own target (as `plannedCount` does for the CLI).
    const count = await askCount(plan.kind === 'resume' ? plan.saved.target : SELF_PLAY_DEFAULTS.count);
    if (count === undefined) return;
    const model = await chooseModel(this.deps.model());
    if (!model) return;
    const settings = selfPlaySettings();
    const seeds = await loadSeeds(settings.seedsFile);
    if (!seeds) return;
    await this.run({
      folder,
      statePath,
      resume: plan.kind === 'resume',
      count,
      model,
      seeds,
      samples: settings.samples,
    });
  }

  /** Runs self-play with a cancellable notification and the status-bar item, then announces the report. */
  private async run(request: RunRequest): Promise<void> {
    const { deps, item } = this;
    const controller = new AbortController();
    this.current = controller;
    this.setRunning(true);
    item.text = '$(beaker~spin) Self-play starting…';
    item.tooltip = 'Crucible self-play is starting. Click to stop it.';
    item.show();
    let ownSandbox: Sandbox | undefined;
    let finished: SelfPlayReport | undefined;
    try {
      const verifier = await deps.verifier();
      const sandbox = deps.sandbox ? await deps.sandbox() : (ownSandbox = createProcessSandbox());
      const dataset = await sharedDataset(request.folder);
      const { model, seeds, count, samples, statePath, resume } = request;
      finished = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Crucible self-play', cancellable: true },
        async (progress, token) => {
          const sub = token.onCancellationRequested(() => controller.abort(new Error('Cancelled')));
          try {
            const options = {
              seeds,
              count,
              samples,
              statePath,
              resume,
              extensionVersion: VERSION,
              signal: controller.signal,
              onEvent: this.listener(progress),
            };
            return await selfPlay({ model, verifier, sandbox, dataset }, options);
          } finally {
            sub.dispose();
          }
        },
      );
    } catch (err) {
      showFailure(err as Error);
    } finally {
      this.current = undefined;
      this.setRunning(false);
      if (ownSandbox) await ownSandbox.dispose();
    }
    // After the run is marked stopped: the message waits for the person, the commands must not.
    if (finished) void announce(finished);
  }

  /** Shows the run's progress in the notification, the status bar and the log. */
  private listener(progress: NotificationProgress): (event: SelfPlayEvent) => void {
    const { item } = this;
    let reported = 0;
    return (event) => {
      if (event.kind === 'generating') return;
      if (event.kind === 'note') return log.info(`self-play: ${event.message}`);
      if (event.kind === 'done') return;
      const p = event.progress;
      const text = `${p.accepted}/${p.target} accepted · ${p.rejected} rejected`;
      const increment = p.target > 0 ? ((p.accepted - reported) / p.target) * 100 : 0;
      reported = p.accepted;
      progress.report({ message: text, increment });
      item.text = `$(beaker~spin) Self-play ${p.accepted}/${p.target} · ${p.rejected} rejected`;
      item.tooltip = 'Crucible self-play is running. Click to stop it (accepted puzzles are kept).';
      item.show();
      if (event.kind === 'rejected')
        log.debug(`self-play: ticket ${event.ticket} rejected (${event.reason}): ${event.detail}`);
      if (event.kind === 'accepted')
        log.info(`self-play: accepted ${event.puzzle.name} (solved ${event.solved}/${event.answered})`);
    };
  }
}

/**
 * What to do about a saved run (planResume in 'ask' mode): a corrupt checkpoint may be deleted, a finished
 * run is discarded (its puzzles are in the dataset), an unfinished one is offered. The plan is 'new' or
 * 'resume'; undefined when the person backs out.
 */
async function chooseResume(statePath: string): Promise<ResumePlan | undefined> {
  let plan: ResumePlan;
  try {
    plan = await planResume(statePath, 'ask');
  } catch (err) {
    const fix = await vscode.window.showWarningMessage(
      `Crucible: ${(err as Error).message}`,
      'Delete It and Start Over',
    );
    if (fix !== 'Delete It and Start Over') return undefined;
    await fsp.rm(statePath, { force: true });
    return { kind: 'new' };
  }
  if (plan.kind === 'finished') {
    await fsp.rm(statePath, { force: true });
    return { kind: 'new' };
  }
  if (plan.kind !== 'offer') return plan;
  const { saved } = plan;
  const pick = await vscode.window.showQuickPick(
    [
      {
        label: `Resume the saved run`,
        description: `${saved.accepted.length}/${saved.target} accepted, ${saved.generated} written`,
        resume: true,
      },
      {
        label: 'Start a new run',
        description: 'the saved progress is discarded; accepted puzzles stay in the dataset',
        resume: false,
      },
    ],
    { title: 'Crucible: Self-Play', placeHolder: 'A self-play run was stopped before it finished' },
  );
  if (!pick) return undefined;
  if (pick.resume) return { kind: 'resume', saved };
  await fsp.rm(statePath, { force: true });
  return { kind: 'new' };
}

async function askCount(initial: number): Promise<number | undefined> {
  const countText = await vscode.window.showInputBox({
    title: 'Crucible: Self-Play',
    prompt: 'How many puzzles should be accepted?',
    value: String(initial),
    validateInput: (v) =>
      /^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 100_000 ? undefined : 'A whole number from 1 to 100000',
  });
  return countText === undefined ? undefined : Number(countText.trim());
}

/** The model that writes and solves the puzzles, picked from the server's list (the current one first); undefined when the person backs out. */
async function chooseModel(model: ModelClient): Promise<ModelClient | undefined> {
  try {
    const models = await model.listModels();
    const items = models.map((m) => ({
      label: m.name,
      description: [m.parameterSize, m.name === model.settings.model ? 'current' : ''].filter(Boolean).join(' · '),
    }));
    items.sort((a, b) => Number(b.label === model.settings.model) - Number(a.label === model.settings.model));
    if (!items.length) return model;
    const pick = await vscode.window.showQuickPick(items, {
      title: 'Crucible: Self-Play',
      placeHolder: 'Model that writes and solves the puzzles',
    });
    if (!pick) return undefined;
    return pick.label !== model.settings.model ? createModelClient({ ...model.settings, model: pick.label }) : model;
  } catch (err) {
    const go = await vscode.window.showWarningMessage(
      `Crucible: cannot list models (${(err as Error).message}). Use ${model.settings.model}?`,
      'Use It',
    );
    return go === 'Use It' ? model : undefined;
  }
}

/** The seed puzzles (the configured P3 file, else the shipped set); undefined after showing why the file cannot be used. */
async function loadSeeds(seedsFile: string): Promise<Puzzle[] | undefined> {
  try {
    return seedsFile ? (await loadSeedFile(seedsFile)).puzzles : shippedSeeds();
  } catch (err) {
    const open = await vscode.window.showErrorMessage(`Crucible: ${(err as Error).message}`, 'Open Settings');
    if (open) void vscode.commands.executeCommand('workbench.action.openSettings', 'crucible.selfPlay.seeds');
    return undefined;
  }
}

function showFailure(err: Error): void {
  log.error(`self-play failed: ${err.message}`);
  void vscode.window
    .showErrorMessage(`Crucible self-play: ${err.message}`, 'Check Setup', 'Open Settings', 'Show Log')
    .then((choice) => {
      if (choice === 'Check Setup') void vscode.commands.executeCommand('crucible.checkSetup');
      else if (choice === 'Open Settings')
        void vscode.commands.executeCommand('workbench.action.openSettings', 'crucible');
      else if (choice === 'Show Log') void vscode.commands.executeCommand('crucible.showLog');
    });
}

async function announce(report: SelfPlayReport): Promise<void> {
  log.info(`self-play report:\n${formatReport(report)}`);
  const summary = `${report.accepted}/${report.target} puzzles accepted, ${report.generated - report.accepted} rejected`;
  const actions = ['Show Report', 'Show Dataset'];
  let choice: string | undefined;
  if (report.stopReason === 'error')
    choice = await vscode.window.showErrorMessage(
      `Crucible self-play stopped: ${report.error}. ${summary}; run it again to resume.`,
      ...actions,
    );
  else if (report.stopReason === 'cancelled')
    choice = await vscode.window.showInformationMessage(
      `Crucible self-play stopped: ${summary}. Run it again to resume.`,
      ...actions,
    );
  else choice = await vscode.window.showInformationMessage(`Crucible self-play: ${summary}.`, ...actions);
  if (choice === 'Show Report') log.show();
  if (choice === 'Show Dataset') void vscode.commands.executeCommand('crucible.showDataset');
}
