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
import { registerModelCommands } from './models';
import { registerDatasetFeatures } from './dataset';
import { registerSelfPlay } from './selfPlay';
import { registerTuneBudget } from './tuneBudget';
import { VERSION } from '../core/version';

export function activateCrucible(context: vscode.ExtensionContext): void {
  initLog(context);
  log.info(`Crucible ${VERSION} activating`);
  const services = new ExtensionServices(context);
  const trace = new TraceView();
  const proposals = new Proposals();
  const jobs = new Jobs();
  context.subscriptions.push(
    services,
    trace,
    proposals,
    jobs,
    vscode.window.registerTreeDataProvider('crucible.trace', trace),
    vscode.workspace.registerTextDocumentContentProvider(PROPOSED_SCHEME, proposals),
    vscode.commands.registerCommand('crucible.showLog', () => log.show()),
    vscode.commands.registerCommand('crucible.openSample', async () => {
      const sample = vscode.Uri.joinPath(context.extensionUri, 'walkthrough', 'sample.py');
      const doc = await vscode.workspace.openTextDocument({ language: 'python', content: new TextDecoder().decode(await vscode.workspace.fs.readFile(sample)) });
      await vscode.window.showTextDocument(doc);
    }),
  );
  registerSolveCommands(context, { services, trace, proposals, jobs });
  registerInlineFeatures(context, services, jobs);
  registerModelCommands(context, () => services.model());
  registerDatasetFeatures(context, () => services.datasetFolder());
  registerTuneBudget(context, services);
  registerSelfPlay(context, { model: () => services.model(), verifier: () => services.verifier(), sandbox: () => services.sandbox(), datasetFolder: () => services.datasetFolder() });
  log.info('Crucible activated');
}
