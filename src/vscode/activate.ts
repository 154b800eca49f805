// activate(): build the shared services, register every feature, return. Heavy work (tree-sitter,
// the sandbox's worker pool, the model connection) starts lazily on first use.
import * as vscode from 'vscode';
import { initLog, log } from './log';
import { ExtensionServices } from './services';
import { TraceView } from './traceView';
import { Proposals, PROPOSED_SCHEME } from './proposals';
import { Jobs } from './jobs';
import { registerSolveCommands } from './solveCommand';
import { registerInlineFeatures } from './inline';
import { DocumentIndex } from './documentIndex';
import { registerModelCommands } from './models';
import { registerDatasetFeatures } from './dataset';
import { registerSelfPlay } from './selfPlay';
import { registerTuneBudget } from './tuneBudget';
import { StatusBar } from './statusBar';
import { initSettingSources, datasetEnabled, datasetFolder } from './config';
import type { Outcome } from '../core/types';
import { VERSION } from '../core/version';

export function activateCrucible(context: vscode.ExtensionContext): void {
  initLog(context);
  log.info(`Crucible ${VERSION} activating`);
  initSettingSources(context);
  const services = new ExtensionServices(context);
  const trace = new TraceView();
  const proposals = new Proposals();
  const jobs = new Jobs();
  const status = new StatusBar(jobs, proposals);
  // One view of the workspace's functions and tests for "Solve and Verify" and the editor features.
  const index = new DocumentIndex();
  context.subscriptions.push(
    services,
    index,
    trace,
    proposals,
    jobs,
    status,
    vscode.window.registerTreeDataProvider('crucible.trace', trace),
    vscode.workspace.registerTextDocumentContentProvider(PROPOSED_SCHEME, proposals),
    vscode.commands.registerCommand('crucible.showLog', () => log.show()),
    vscode.commands.registerCommand('crucible.openSample', async () => {
      const sample = vscode.Uri.joinPath(context.extensionUri, 'walkthrough', 'sample.py');
      const doc = await vscode.workspace.openTextDocument({
        language: 'python',
        content: new TextDecoder().decode(await vscode.workspace.fs.readFile(sample)),
      });
      await vscode.window.showTextDocument(doc);
    }),
  );
  const onOutcome = (outcome: Outcome): void => {
    if (outcome.verified) void vscode.commands.executeCommand('setContext', 'crucible.solvedOnce', true);
    if (outcome.stopReason === 'error') status.refresh();
    datasetNotice(context, outcome);
  };
  registerSolveCommands(context, { services, index, trace, proposals, jobs, onOutcome });
  const inline = registerInlineFeatures(context, services, jobs, trace, onOutcome, index);
  // After a result is applied, the function's lens and test item show its verdict again (a quick re-run of
  // its tests, no model), instead of falling back to "Verify".
  context.subscriptions.push(proposals.onDidApply((p) => inline?.verifyAfterEdit(p.target, p.range.start)));
  registerModelCommands(
    context,
    () => services.model(),
    () => status.refresh(),
  );
  registerDatasetFeatures(context, () => services.datasetFolder());
  registerTuneBudget(context, services);
  registerSelfPlay(context, {
    model: () => services.model(),
    verifier: () => services.verifier(),
    sandbox: () => services.sandbox(),
    datasetFolder: () => services.datasetFolder(),
  });
  log.info('Crucible activated');
}

const NOTICE_KEY = 'crucible.datasetNoticeShown';

/** Once per installation: say that solves are logged as training data, where, and how to turn it off. */
function datasetNotice(context: vscode.ExtensionContext, outcome: Outcome): void {
  if (
    context.globalState.get<boolean>(NOTICE_KEY) ||
    !datasetEnabled() ||
    outcome.stopReason === 'cancelled' ||
    outcome.attempts.length === 0
  )
    return;
  void context.globalState.update(NOTICE_KEY, true);
  const folder = datasetFolder(context);
  void vscode.window
    .showInformationMessage(
      `Crucible keeps each solve (the task, every attempt with its feedback, the final code) as training data in ${folder}. Nothing leaves this machine.`,
      'Show Dataset',
      'Turn Off Logging',
    )
    .then(async (choice) => {
      if (choice === 'Show Dataset') await vscode.commands.executeCommand('crucible.showDataset');
      else if (choice === 'Turn Off Logging') {
        await vscode.workspace
          .getConfiguration('crucible')
          .update('dataset.enabled', false, vscode.ConfigurationTarget.Global);
        void vscode.window.setStatusBarMessage(
          'Crucible: solves are no longer logged (crucible.dataset.enabled)',
          6000,
        );
      }
    });
}
