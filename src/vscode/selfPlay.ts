// "Crucible: Generate Self-Play Puzzles" and "Crucible: Stop Self-Play". The run goes on in the
// background with a cancellable notification and a status-bar item (accepted/rejected counts); a stopped
// run keeps every accepted puzzle, and the next run offers to resume from the checkpoint.
import * as vscode from 'vscode';
import { existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { ModelClient } from '../core/model/types';
import type { Sandbox } from '../core/sandbox/types';
import type { Verifier } from '../core/verify/types';
import type { Puzzle } from '../core/types';
import { createModelClient, createProcessSandbox, formatReport, loadSeedFile, readState, selfPlay, sharedDataset, shippedSeeds } from './engine';
import type { SelfPlayEvent, SelfPlayReport } from '../core/selfplay/types';
import { selfPlaySettings } from './config';
import { log } from './log';
import { VERSION } from '../core/version';

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
  let current: AbortController | undefined;
  const item = vscode.window.createStatusBarItem('crucible.selfPlay', vscode.StatusBarAlignment.Left, 99);
  item.name = 'Crucible Self-Play';
  item.command = 'crucible.stopSelfPlay';
  context.subscriptions.push(item, { dispose: () => current?.abort(new Error('Cancelled')) });

  const setRunning = (running: boolean): void => {
    void vscode.commands.executeCommand('setContext', RUNNING_KEY, running);
    if (!running) item.hide();
  };

  const stop = (): void => {
    if (!current) {
      void vscode.window.showInformationMessage('Crucible: no self-play run is going on.');
      return;
    }
    current.abort(new Error('Cancelled'));
  };

  const generate = async (): Promise<void> => {
    if (current) {
      const choice = await vscode.window.showInformationMessage('Crucible: a self-play run is already going on.', 'Stop It');
      if (choice === 'Stop It') stop();
      return;
    }
    const folder = deps.datasetFolder();
    const statePath = join(folder, STATE_FILE);
    let resume = false;
    let saved: Awaited<ReturnType<typeof readState>>;
    try {
      saved = existsSync(statePath) ? await readState(statePath) : undefined;
    } catch (err) {
      const fix = await vscode.window.showWarningMessage(`Crucible: ${(err as Error).message}`, 'Delete It and Start Over');
      if (fix !== 'Delete It and Start Over') return;
      await fsp.rm(statePath, { force: true });
      saved = undefined;
    }
    if (saved && (saved.accepted.length >= saved.target || saved.generated >= saved.maxGenerations)) {
      // The saved run finished: start afresh (its puzzles are in the dataset).
      await fsp.rm(statePath, { force: true });
      saved = undefined;
    }
    if (saved) {
      const pick = await vscode.window.showQuickPick(
        [
          { label: `Resume the saved run`, description: `${saved.accepted.length}/${saved.target} accepted, ${saved.generated} written`, resume: true },
          { label: 'Start a new run', description: 'the saved progress is discarded; accepted puzzles stay in the dataset', resume: false },
        ],
        { title: 'Crucible: Self-Play', placeHolder: 'A self-play run was stopped before it finished' },
      );
      if (!pick) return;
      resume = pick.resume;
      if (!resume) await fsp.rm(statePath, { force: true });
    }

    const countText = await vscode.window.showInputBox({
      title: 'Crucible: Self-Play',
      prompt: 'How many puzzles should be accepted?',
      value: String(saved && resume ? saved.target : 20),
      validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 100_000 ? undefined : 'A whole number from 1 to 100000'),
    });
    if (countText === undefined) return;
    const count = Number(countText.trim());

    let model = deps.model();
    try {
      const models = await model.listModels();
      const items = models.map((m) => ({ label: m.name, description: [m.parameterSize, m.name === model.settings.model ? 'current' : ''].filter(Boolean).join(' · ') }));
      items.sort((a, b) => Number(b.label === model.settings.model) - Number(a.label === model.settings.model));
      if (items.length) {
        const pick = await vscode.window.showQuickPick(items, { title: 'Crucible: Self-Play', placeHolder: 'Model that writes and solves the puzzles' });
        if (!pick) return;
        if (pick.label !== model.settings.model) model = createModelClient({ ...model.settings, model: pick.label });
      }
    } catch (err) {
      const go = await vscode.window.showWarningMessage(`Crucible: cannot list models (${(err as Error).message}). Use ${model.settings.model}?`, 'Use It');
      if (go !== 'Use It') return;
    }

    const settings = selfPlaySettings();
    let seeds: Puzzle[];
    try {
      seeds = settings.seedsFile ? (await loadSeedFile(settings.seedsFile)).puzzles : shippedSeeds();
    } catch (err) {
      const open = await vscode.window.showErrorMessage(`Crucible: ${(err as Error).message}`, 'Open Settings');
      if (open) void vscode.commands.executeCommand('workbench.action.openSettings', 'crucible.selfPlay.seeds');
      return;
    }

    const controller = new AbortController();
    current = controller;
    setRunning(true);
    item.text = '$(beaker~spin) Self-play starting…';
    item.tooltip = 'Crucible self-play is starting. Click to stop it.';
    item.show();
    let ownSandbox: Sandbox | undefined;
    let finished: SelfPlayReport | undefined;
    try {
      const verifier = await deps.verifier();
      const sandbox = deps.sandbox ? await deps.sandbox() : (ownSandbox = createProcessSandbox());
      const dataset = await sharedDataset(folder);
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Crucible self-play', cancellable: true },
        async (progress, token) => {
          const sub = token.onCancellationRequested(() => controller.abort(new Error('Cancelled')));
          let reported = 0;
          const onEvent = (event: SelfPlayEvent): void => {
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
            if (event.kind === 'rejected') log.debug(`self-play: ticket ${event.ticket} rejected (${event.reason}): ${event.detail}`);
            if (event.kind === 'accepted') log.info(`self-play: accepted ${event.puzzle.name} (solved ${event.solved}/${event.answered})`);
          };
          try {
            return await selfPlay(
              { model, verifier, sandbox, dataset },
              { seeds, count, samples: settings.samples, statePath, resume, extensionVersion: VERSION, signal: controller.signal, onEvent },
            );
          } finally {
            sub.dispose();
          }
        },
      );
      finished = report;
    } catch (err) {
      log.error(`self-play failed: ${(err as Error).message}`);
      void vscode.window.showErrorMessage(`Crucible self-play: ${(err as Error).message}`, 'Check Setup', 'Open Settings', 'Show Log').then((choice) => {
        if (choice === 'Check Setup') void vscode.commands.executeCommand('crucible.checkSetup');
        else if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'crucible');
        else if (choice === 'Show Log') void vscode.commands.executeCommand('crucible.showLog');
      });
    } finally {
      current = undefined;
      setRunning(false);
      if (ownSandbox) await ownSandbox.dispose();
    }
    // After the run is marked stopped: the message waits for the person, the commands must not.
    if (finished) void announce(finished);
  };

  const announce = async (report: SelfPlayReport): Promise<void> => {
    log.info(`self-play report:\n${formatReport(report)}`);
    const summary = `${report.accepted}/${report.target} puzzles accepted, ${report.generated - report.accepted} rejected`;
    const actions = ['Show Report', 'Show Dataset'];
    let choice: string | undefined;
    if (report.stopReason === 'error') choice = await vscode.window.showErrorMessage(`Crucible self-play stopped: ${report.error}. ${summary}; run it again to resume.`, ...actions);
    else if (report.stopReason === 'cancelled') choice = await vscode.window.showInformationMessage(`Crucible self-play stopped: ${summary}. Run it again to resume.`, ...actions);
    else choice = await vscode.window.showInformationMessage(`Crucible self-play: ${summary}.`, ...actions);
    if (choice === 'Show Report') log.show();
    if (choice === 'Show Dataset') void vscode.commands.executeCommand('crucible.showDataset');
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('crucible.generateSelfPlay', generate),
    vscode.commands.registerCommand('crucible.stopSelfPlay', stop),
  );
  setRunning(false);
}
