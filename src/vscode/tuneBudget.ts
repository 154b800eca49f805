// "Crucible: Tune Budget for This Model": a short `crucible eval --strategies` on the sample tasks shipped
// with the extension (media/tuneTasks.json), then sets crucible.budget.samples / budget.rounds to what
// worked best for the configured model at an equal token budget.
import * as vscode from 'vscode';
import type { Task } from '../core/types';
import * as config from './config';
import { evaluateStrategies, formatStrategyTable, recommendedBudget } from './engine';
import { log } from './log';
import type { Services } from './services';

/** Completion tokens per task in the short run: enough for a few samples or a couple of refine rounds. */
const TUNE_TOKENS = 3000;

export function registerTuneBudget(context: vscode.ExtensionContext, services: Services): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('crucible.tuneBudget', () => tuneBudget(context, services)),
  );
}

async function tuneBudget(context: vscode.ExtensionContext, services: Services): Promise<void> {
  const file = vscode.Uri.joinPath(context.extensionUri, 'media', 'tuneTasks.json');
  const tasks = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(file))) as Task[];
  const model = services.model();
  const current = config.budget();
  const budget = {
    samples: Math.max(2, current.samples),
    refineRounds: Math.min(2, Math.max(1, current.refineRounds)),
    maxTokens: TUNE_TOKENS,
    wallMs: 0,
  };
  const report = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Crucible: tuning the budget for ${model.settings.model}`,
      cancellable: true,
    },
    async (progress, token) => {
      const control = new AbortController();
      token.onCancellationRequested(() => control.abort());
      const [verifier, sandbox] = await Promise.all([services.verifier(), services.sandbox()]);
      return evaluateStrategies(
        tasks,
        { model, verifier, sandbox },
        {
          strategies: ['resample', 'refine', 'trace', 'sstar'],
          budget,
          signal: control.signal,
          onTask: (strategy, task, _solved, done, total) =>
            progress.report({ message: `${strategy}: ${task.id} (${done}/${total})`, increment: 100 / total }),
        },
      );
    },
  );
  log.info(`Tune budget for ${model.settings.model}:\n${formatStrategyTable(report)}`);
  const errors = report.strategies.reduce((n, s) => n + s.errors, 0);
  const pick = recommendedBudget(report);
  if (!pick || errors === report.tasks * report.strategies.length) {
    void vscode.window
      .showWarningMessage(
        'Crucible: the tuning run could not solve anything (see the log); the budget was left as it was.',
        'Show Log',
      )
      .then((c) => c && log.show());
    return;
  }
  const best = report.strategies.find((s) => s.strategy === pick.strategy)!;
  const choice = await vscode.window.showInformationMessage(
    `Crucible: for ${model.settings.model}, "${pick.strategy}" did best (pass@1 ${best.solved}/${best.tasks}). Set budget.samples = ${pick.samples} and budget.rounds = ${pick.rounds}?`,
    'Set Budget',
    'Show Table',
  );
  if (choice === 'Show Table') log.show();
  if (choice !== 'Set Budget') return;
  const settings = vscode.workspace.getConfiguration(config.SECTION);
  await settings.update(config.Keys.samples, pick.samples, vscode.ConfigurationTarget.Global);
  await settings.update(config.Keys.rounds, pick.rounds, vscode.ConfigurationTarget.Global);
  void vscode.window.showInformationMessage(
    `Crucible: budget set to ${pick.samples} sample(s) and ${pick.rounds} round(s) (user settings).`,
  );
}
