// "Crucible: Select Model", the offer to pull a missing model, and "Crucible: Check Setup".
// The checks themselves live in core (core/model/doctor.ts), shared with `crucible doctor`.
import * as vscode from 'vscode';
import type { ModelClient, ModelInfo, PullProgress } from '../core/model/types';
import type { DoctorReport } from '../core/model/doctor';
import { ModelError, createProcessSandbox, runDoctor } from './engine';
import { toAbortSignal } from './cancel';
import * as config from './config';
import { log } from './log';
import { errorText as plainError, forEditor } from './messages';

const SELECT_MODEL = 'Select Model';
const OPEN_SETTINGS = 'Open Settings';
const CHECK_SETUP = 'Check Setup';
const SHOW_LOG = 'Show Log';

function errorText(err: unknown): string {
  return plainError(err);
}

/** In a remote window, says that a loopback host is the remote machine (where the extension runs). */
export function remoteHostNote(host: string): string {
  if (!config.isRemoteWindow() || !/\/\/(127\.0\.0\.1|localhost|\[::1\])([:/]|$)/.test(host)) return '';
  return ' This is a remote window: 127.0.0.1 means the remote machine the extension runs on, not your own computer.';
}

/** "crucible.ollama.host = http://… (Workspace settings)" for the settings the server checks use. */
export function settingScopes(): string[] {
  const show = (key: config.SettingKey): string => {
    const s = config.settingSource(key);
    return `${s.key} = ${typeof s.value === 'string' ? s.value : JSON.stringify(s.value)} (${s.scope})`;
  };
  return [show(config.Keys.provider), show(config.Keys.host), show(config.Keys.model)];
}

function sameModel(a: string, b: string): boolean {
  const norm = (n: string): string => (n.slice(n.lastIndexOf('/') + 1).includes(':') ? n : `${n}:latest`);
  return norm(a) === norm(b);
}

function formatBytes(n: number | undefined): string {
  if (n === undefined) return '';
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(0)} MB`;
  return `${n} B`;
}

async function handleFailure(err: unknown, what: string): Promise<void> {
  const host = config.modelSettings().host;
  const message = `${what}: ${errorText(err)}${err instanceof ModelError && err.kind === 'unreachable' ? remoteHostNote(host) : ''}`;
  log.error(message);
  const actions =
    err instanceof ModelError && err.kind === 'model_missing' ? [SELECT_MODEL] : [CHECK_SETUP, OPEN_SETTINGS];
  const choice = await vscode.window.showErrorMessage(message, ...actions);
  await runAction(
    choice,
    err instanceof ModelError && err.kind === 'model_missing' ? config.Keys.model : config.Keys.host,
  );
}

/** Runs a notification's button; "Open Settings" opens the scope in effect, filtered to `setting`. */
export async function runAction(
  choice: string | undefined,
  setting: config.SettingKey = config.Keys.host,
): Promise<void> {
  if (choice === SELECT_MODEL) await vscode.commands.executeCommand('crucible.selectModel');
  else if (choice === OPEN_SETTINGS) await config.openSettingFor(setting);
  else if (choice === CHECK_SETUP) await vscode.commands.executeCommand('crucible.checkSetup');
  else if (choice === SHOW_LOG) log.show();
}

interface ModelPick extends vscode.QuickPickItem {
  model: string;
}

function pickFor(m: ModelInfo, current: string, contextLength?: number): ModelPick {
  const bits = [
    formatBytes(m.sizeBytes),
    m.parameterSize ? `${m.parameterSize} parameters` : '',
    m.family ?? '',
  ].filter(Boolean);
  return {
    label: m.name,
    description: [sameModel(m.name, current) ? '(current)' : '', bits.join(' · ')].filter(Boolean).join(' '),
    detail:
      contextLength !== undefined
        ? `Context length ${contextLength.toLocaleString('en-US')} tokens`
        : 'Context length: reading…',
    model: m.name,
  };
}

/** The model QuickPick, shown; `chosen` is the item accepted, a name typed, or undefined once it is hidden. */
function showModelPick(
  client: ModelClient,
  controller: AbortController,
): { qp: vscode.QuickPick<ModelPick>; chosen: Promise<string | undefined> } {
  const qp = vscode.window.createQuickPick<ModelPick>();
  qp.title = `Crucible: Select Model (${client.settings.host})`;
  qp.placeholder = 'Pick the model that writes candidates';
  qp.busy = true;
  qp.matchOnDescription = true;
  const chosen = new Promise<string | undefined>((resolve) => {
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0];
      if (item) {
        resolve(item.model);
        qp.hide();
      } else if (qp.value.trim()) {
        // A name typed that is not installed: offer to pull it.
        resolve(qp.value.trim());
        qp.hide();
      }
    });
    qp.onDidHide(() => {
      controller.abort();
      resolve(undefined);
      qp.dispose();
    });
  });
  qp.show();
  return { qp, chosen };
}

/** Lists the server's models in the QuickPick, then fills in each one's context length as /api/show answers. */
async function listModelsInto(
  qp: vscode.QuickPick<ModelPick>,
  client: ModelClient,
  controller: AbortController,
): Promise<void> {
  const models = await client.listModels(controller.signal);
  if (models.length === 0) {
    qp.busy = false;
    qp.placeholder = `No models installed at ${client.settings.host}: type a name (e.g. qwen2.5-coder:7b) and press Enter to pull it`;
    return;
  }
  const ctx = new Map<string, number | undefined>();
  const render = (): void => {
    if (controller.signal.aborted) return; // the QuickPick is gone
    const active = qp.activeItems[0]?.model;
    qp.items = models.map((m) => pickFor(m, client.settings.model, ctx.get(m.name)));
    const again =
      qp.items.find((i) => i.model === (active ?? client.settings.model)) ??
      qp.items.find((i) => sameModel(i.model, client.settings.model));
    if (again) qp.activeItems = [again];
  };
  render();
  await Promise.all(
    models.map(async (m) => {
      try {
        const show = (
          client as {
            showModel?: (n: string, s?: AbortSignal) => Promise<{ contextLength?: number; numCtxParameter?: number }>;
          }
        ).showModel;
        const d = show ? await show.call(client, m.name, controller.signal) : undefined;
        ctx.set(m.name, d?.contextLength ?? d?.numCtxParameter);
      } catch {
        ctx.set(m.name, undefined);
      }
      render();
    }),
  );
  if (!controller.signal.aborted) qp.busy = false;
}

/** QuickPick of the server's models; context lengths fill in as /api/show answers. Writes crucible.model. */
async function selectModel(getClient: () => ModelClient): Promise<string | undefined> {
  const client = getClient();
  const controller = new AbortController();
  const { qp, chosen } = showModelPick(client, controller);
  try {
    await listModelsInto(qp, client, controller);
  } catch (err) {
    qp.hide();
    if (!controller.signal.aborted) await handleFailure(err, 'Could not list models');
    return undefined;
  }
  const name = await chosen;
  if (!name) return undefined;
  await config.setModel(name);
  const where = config.settingSource(config.Keys.model).scope;
  log.info(`Model set to ${name} (${where})`);
  // getClient() is rebuilt on the settings change; check the choice is installed (typed names may not be).
  const ready = await ensureModel(getClient(), name);
  if (ready) {
    await vscode.commands.executeCommand('setContext', 'crucible.modelSelected', true);
    void vscode.window.showInformationMessage(`Crucible will use ${name} (saved in ${where}).`);
  }
  return name;
}

/** Pulls `model` under a cancellable progress notification fed by the pull's streamed progress. */
function pullWithProgress(pull: NonNullable<ModelClient['pull']>, model: string): Thenable<void> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Pulling ${model}`, cancellable: true },
    async (progress, token) => {
      const { signal, dispose } = toAbortSignal(token);
      let lastPercent = 0;
      let lastDigestStatus = '';
      try {
        await pull(
          model,
          (p: PullProgress) => {
            if (p.total && p.completed !== undefined && p.total > 0) {
              // Progress per layer: restart the bar when a new layer begins.
              if (p.status !== lastDigestStatus) {
                lastDigestStatus = p.status;
                lastPercent = 0;
              }
              const percent = Math.min(100, (p.completed / p.total) * 100);
              const increment = Math.max(0, percent - lastPercent);
              lastPercent = percent;
              progress.report({
                message: `${p.status} ${formatBytes(p.completed)} / ${formatBytes(p.total)}`,
                increment,
              });
            } else {
              progress.report({ message: p.status });
            }
          },
          signal,
        );
      } finally {
        dispose();
      }
    },
  );
}

/**
 * True when `model` is installed on the server. When it is missing, offers to pull it (Ollama) with a
 * cancellable progress notification fed by the pull's streamed progress, or to pick another model.
 */
export async function ensureModel(client: ModelClient, model: string): Promise<boolean> {
  let models: ModelInfo[];
  try {
    models = await client.listModels();
  } catch (err) {
    await handleFailure(err, `Could not check for ${model}`);
    return false;
  }
  if (models.some((m) => sameModel(m.name, model))) return true;
  if (!client.pull) {
    const choice = await vscode.window.showErrorMessage(
      `Model '${model}' is not offered by ${client.settings.host}.`,
      SELECT_MODEL,
      OPEN_SETTINGS,
    );
    await runAction(choice, config.Keys.model);
    return false;
  }
  const PULL = `Pull ${model}`;
  const choice = await vscode.window.showWarningMessage(
    `Model '${model}' is not installed at ${client.settings.host}. Pull it now? (this downloads several GB)`,
    PULL,
    SELECT_MODEL,
  );
  if (choice !== PULL) {
    await runAction(choice, config.Keys.model);
    return false;
  }
  const pull = client.pull.bind(client);
  try {
    await pullWithProgress(pull, model);
  } catch (err) {
    if (err instanceof ModelError && err.kind === 'cancelled') {
      void vscode.window.showInformationMessage(
        `Pulling ${model} was cancelled. Ollama keeps what it downloaded; pulling again resumes.`,
      );
      return false;
    }
    await handleFailure(err, `Could not pull ${model}`);
    return false;
  }
  log.info(`Pulled ${model}`);
  void vscode.window.showInformationMessage(`${model} is installed.`);
  return true;
}

function summary(report: DoctorReport): string {
  const mark = { ok: '✓', warn: '!', fail: '✗', skip: '-' } as const;
  const checks = report.checks.map(
    (c) =>
      `${mark[c.status]} ${c.title}: ${forEditor(c.detail)}${c.fix && c.status !== 'ok' ? ` Fix: ${forEditor(c.fix)}` : ''}`,
  );
  const scopes = settingScopes().map((l) => `  ${l}`);
  const note = remoteHostNote(config.modelSettings().host).trim();
  return [...checks, 'Settings in effect (and the scope each comes from):', ...scopes, ...(note ? [note] : [])].join(
    '\n',
  );
}

/** Runs the doctor checks with the current settings; returns the report (for tests and the walkthrough). */
async function checkSetup(getClient: () => ModelClient, onChecked?: () => void): Promise<DoctorReport | undefined> {
  const report = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Crucible: checking setup', cancellable: true },
    async (_progress, token) => {
      const { signal, dispose } = toAbortSignal(token);
      const python = config.pythonPath();
      try {
        return await runDoctor({
          client: getClient(),
          python,
          signal,
          isolation: async () => {
            const sandbox = createProcessSandbox({ python, limits: config.sandboxLimits() });
            try {
              return await sandbox.isolation();
            } finally {
              await sandbox.dispose();
            }
          },
        });
      } finally {
        dispose();
      }
    },
  );
  const text = summary(report);
  log.info(`Check Setup:\n${text}`);
  const failing = report.checks.filter((c) => c.status === 'fail');
  const actions: string[] = [];
  if (failing.some((c) => c.id === 'model')) actions.push(SELECT_MODEL);
  if (failing.some((c) => c.id === 'server' || c.id === 'python')) actions.push(OPEN_SETTINGS);
  actions.push(SHOW_LOG);
  const show = report.ok
    ? report.checks.some((c) => c.status === 'warn')
      ? vscode.window.showWarningMessage
      : vscode.window.showInformationMessage
    : vscode.window.showErrorMessage;
  // Toasts show no `detail`: the message itself carries what failed and the fix; the log has every check.
  const warned = report.checks.filter((c) => c.status === 'warn');
  const line = (c: DoctorReport['checks'][number]): string =>
    `${c.title}: ${forEditor(c.detail)}${c.fix ? ` Fix: ${forEditor(c.fix)}` : ''}`;
  const host = config.settingSource(config.Keys.host);
  const model = config.settingSource(config.Keys.model);
  const scopes = ` Host from ${host.scope}, model from ${model.scope}.${remoteHostNote(String(host.value))}`;
  const headline = report.ok
    ? `Crucible is ready. ${report.checks
        .filter((c) => c.id === 'server' || c.id === 'model')
        .map((c) => forEditor(c.detail))
        .join('; ')}.${scopes}${warned.length ? ` · ${warned.map(line).join(' ')}` : ''}`
    : `Crucible setup needs attention. ${failing.map(line).join(' ')}${scopes}`;
  // The walkthrough's "Check Ollama" step is ticked only when the check passed.
  await vscode.commands.executeCommand('setContext', 'crucible.setupOk', report.ok);
  onChecked?.();
  const choice = await show(headline, ...actions);
  await runAction(
    choice,
    failing.some((c) => c.id === 'model')
      ? config.Keys.model
      : failing.some((c) => c.id === 'python')
        ? config.Keys.python
        : config.Keys.host,
  );
  return report;
}

export function registerModelCommands(
  context: vscode.ExtensionContext,
  getClient: () => ModelClient,
  onChecked?: () => void,
): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('crucible.selectModel', () => selectModel(getClient)),
    vscode.commands.registerCommand('crucible.checkSetup', () => checkSetup(getClient, onChecked)),
  );
}
