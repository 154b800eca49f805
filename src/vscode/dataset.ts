// "Crucible: Export Dataset…" and "Crucible: Show Dataset" (a webview with chart.js charts).
import { randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import { ExportCancelled, exportDataset } from './engine';
import type { ExportFormat, ExportOptions } from '../core/dataset/export';
import { datasetStats } from './engine';
import { checkDatasetDir } from './engine';
import { DATA_FILE } from '../core/dataset/files';
import { deleteRecords, listRecords } from './datasetRecords';

interface FormatItem extends vscode.QuickPickItem {
  format: ExportFormat;
}

const FORMAT_ITEMS: FormatItem[] = [
  {
    format: 'sft',
    label: 'SFT',
    description: 'chat messages JSONL',
    detail: 'Task → verified solution, for TRL SFTTrainer or OpenAI-style fine-tuning.',
  },
  {
    format: 'dpo',
    label: 'DPO',
    description: 'prompt / chosen / rejected JSONL',
    detail: 'Verified solution preferred over a failed attempt at the same task.',
  },
  {
    format: 'traces',
    label: 'Self-correction traces',
    description: 'multi-turn chat JSONL',
    detail: 'Wrong attempt → execution feedback → corrected answer.',
  },
  {
    format: 'p3',
    label: 'P3 puzzles',
    description: 'JSON array',
    detail: 'Self-play puzzles in the Python Programming Puzzles layout.',
  },
];

interface OptionItem extends vscode.QuickPickItem {
  key: 'split' | 'balance' | 'includeGenerated';
}

type ExportResult = Awaited<ReturnType<typeof exportDataset>>;

/** The format and the options, asked with two quick picks; undefined when either is dismissed. */
async function pickExport(): Promise<{ picked: FormatItem; on: (key: OptionItem['key']) => boolean } | undefined> {
  const picked = await vscode.window.showQuickPick(FORMAT_ITEMS, {
    title: 'Export Dataset: format',
    placeHolder: 'Which training format?',
    matchOnDetail: true,
  });
  if (!picked) return undefined;
  const optionItems: OptionItem[] = [
    { key: 'split', label: 'Split 90 / 10 into train and validation (by task)', picked: true },
    { key: 'balance', label: 'Balance difficulty', description: 'thin crowded easy bands' },
    { key: 'includeGenerated', label: 'Include records verified only by generated tests' },
  ];
  const chosen = await vscode.window.showQuickPick(optionItems, {
    title: 'Export Dataset: options',
    canPickMany: true,
    placeHolder: 'Options (Enter to accept)',
  });
  if (!chosen) return undefined;
  return { picked, on: (key) => chosen.some((c) => c.key === key) };
}

/** The file to write, from a save dialog that proposes a fresh folder; undefined when dismissed. */
async function pickTarget(picked: FormatItem): Promise<{ target: vscode.Uri; base: vscode.Uri } | undefined> {
  const ext = picked.format === 'p3' ? 'json' : 'jsonl';
  // Not the workspace root: each export gets its own folder under crucible-exports/ (its data file and its README).
  const root = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(homedir());
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const base = vscode.Uri.joinPath(root, 'crucible-exports', `${picked.format}-${stamp}`);
  await vscode.workspace.fs.createDirectory(base).then(undefined, () => undefined);
  const target = await vscode.window.showSaveDialog({
    title: `Export Dataset as ${picked.label}`,
    defaultUri: vscode.Uri.joinPath(base, picked.format === 'p3' ? 'puzzles.json' : `${picked.format}.${ext}`),
    filters: picked.format === 'p3' ? { JSON: ['json'] } : { 'JSON Lines': ['jsonl'] },
    saveLabel: 'Export',
  });
  if (!target || !target.fsPath.startsWith(base.fsPath)) {
    // The folder made for the default target stays only if the export goes there.
    await vscode.workspace.fs.delete(base, { recursive: false }).then(undefined, () => undefined);
  }
  return target ? { target, base } : undefined;
}

/** Runs the export under a cancellable progress notification. */
function runExport(
  folder: string,
  picked: FormatItem,
  on: (key: OptionItem['key']) => boolean,
  target: vscode.Uri,
  base: vscode.Uri,
): Thenable<ExportResult> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Crucible: exporting ${picked.label}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const sub = token.onCancellationRequested(() => controller.abort());
      try {
        const options: ExportOptions = {
          format: picked.format,
          out: target.fsPath,
          // The folder we made for this export holds only it: its README is README.md there.
          ...(target.fsPath.startsWith(base.fsPath)
            ? { readmePath: vscode.Uri.joinPath(base, 'README.md').fsPath }
            : {}),
          split: on('split') ? 0.9 : 1,
          signal: controller.signal,
          onProgress: (p) =>
            progress.report({
              message: `${p.phase === 'scan' ? 'reading' : 'writing'} ${p.records}${p.total ? ` / ${p.total}` : ''} records`,
            }),
        };
        if (on('balance')) options.balance = true;
        if (on('includeGenerated')) options.includeGenerated = true;
        return await exportDataset(folder, options);
      } finally {
        sub.dispose();
      }
    },
  );
}

/** The summary of a finished export, with buttons to open what it wrote. */
async function showExportResult(picked: FormatItem, result: ExportResult): Promise<void> {
  const unit = picked.format === 'p3' ? 'puzzles' : picked.format === 'dpo' ? 'pairs' : 'examples';
  const skipped = result.problems.length
    ? ` ${result.problems.length} corrupt line(s) skipped (first: line ${result.problems[0]!.line}).`
    : '';
  const summary = `Exported ${result.train}${result.files.valid ? ` + ${result.valid} validation` : ''} ${unit} from ${result.selected} of ${result.records} records.${skipped}`;
  if (result.train + result.valid === 0) {
    void vscode.window.showWarningMessage(`Crucible: nothing to export as ${picked.label} yet: ${summary}`);
    return;
  }
  const actions = ['Open File', ...(result.files.readme ? ['Open README'] : [])];
  const action = await vscode.window.showInformationMessage(`Crucible: ${summary}`, ...actions);
  if (action === 'Open File') await vscode.window.showTextDocument(vscode.Uri.file(result.files.train));
  if (action === 'Open README' && result.files.readme)
    await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(result.files.readme));
}

async function exportCommand(getFolder: () => string): Promise<void> {
  const folder = getFolder();
  const problem = await checkDatasetDir(folder);
  if (problem) {
    const choice = await vscode.window.showErrorMessage(`Crucible: ${problem}`, 'Open Settings');
    if (choice) await vscode.commands.executeCommand('workbench.action.openSettings', 'crucible.dataset');
    return;
  }
  const asked = await pickExport();
  if (!asked) return;
  const { picked, on } = asked;
  const where = await pickTarget(picked);
  if (!where) return;
  try {
    await showExportResult(picked, await runExport(folder, picked, on, where.target, where.base));
  } catch (err) {
    if (err instanceof ExportCancelled) {
      void vscode.window.showInformationMessage('Crucible: export cancelled; no file was written.');
      return;
    }
    void vscode.window
      .showErrorMessage(
        `Crucible: export failed: ${err instanceof Error ? err.message : String(err)}. Pick another target folder, or see the log.`,
        'Show Log',
      )
      .then((choice) => choice && vscode.commands.executeCommand('crucible.showLog'));
  }
}

/** The dataset view: one panel, refreshed when records.jsonl changes. */
class DatasetPanel implements vscode.Disposable {
  private static current: DatasetPanel | undefined;
  private watcher: FSWatcher | undefined;
  private watchedFolder: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  static disposeCurrent(): void {
    DatasetPanel.current?.dispose();
  }

  static show(context: vscode.ExtensionContext, getFolder: () => string): void {
    if (DatasetPanel.current) {
      DatasetPanel.current.panel.reveal();
      DatasetPanel.current.refresh();
      return;
    }
    const panel = vscode.window.createWebviewPanel('crucible.dataset', 'Crucible Dataset', vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [
        vscode.Uri.joinPath(context.extensionUri, 'dist', 'media'),
        vscode.Uri.joinPath(context.extensionUri, 'media'),
      ],
    });
    DatasetPanel.current = new DatasetPanel(panel, context, getFolder);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly context: vscode.ExtensionContext,
    private readonly getFolder: () => string,
  ) {
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'crucible.svg');
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: { type?: string }) => {
        if (message?.type === 'ready' || message?.type === 'refresh') this.refresh();
        else if (message?.type === 'export') void vscode.commands.executeCommand('crucible.exportDataset');
        else if (message?.type === 'settings')
          void vscode.commands.executeCommand('workbench.action.openSettings', 'crucible.dataset');
        else if (message?.type === 'delete') void this.deleteRecord(message as { id?: string; name?: string });
      }),
      panel.onDidChangeViewState(() => {
        if (panel.visible) this.refresh();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('crucible.dataset')) this.refresh();
      }),
    );
  }

  private async deleteRecord(message: { id?: string; name?: string }): Promise<void> {
    if (!message.id) return;
    const DELETE = 'Delete Record';
    const choice = await vscode.window.showWarningMessage(
      `Delete the dataset record for ${message.name ?? 'this task'}?`,
      {
        modal: true,
        detail: `It is removed from ${this.getFolder()} (records.jsonl) and will not be exported. This cannot be undone.`,
      },
      DELETE,
    );
    if (choice !== DELETE) return;
    try {
      const n = await deleteRecords(this.getFolder(), [message.id]);
      void vscode.window.setStatusBarMessage(
        n ? `Crucible: deleted the record for ${message.name ?? 'the task'}` : 'Crucible: the record was already gone',
        5000,
      );
    } catch (err) {
      void vscode.window.showErrorMessage(
        `Crucible could not delete the record: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.refresh();
  }

  /** Re-reads the statistics soon (debounced: a burst of appends gives one refresh). */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 400);
  }

  private watchFolder(folder: string): void {
    if (this.watchedFolder === folder && this.watcher) return;
    this.watcher?.close();
    this.watcher = undefined;
    this.watchedFolder = folder;
    try {
      this.watcher = watch(folder, (_event, name) => {
        if (!name || name.toString() === DATA_FILE) this.schedule();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // The folder does not exist yet; the next refresh (view shown, setting changed) tries again.
      this.watcher = undefined;
    }
  }

  refresh(): void {
    const folder = this.getFolder();
    this.watchFolder(folder);
    void (async () => {
      try {
        const problem = await checkDatasetDir(folder);
        if (problem) {
          void this.panel.webview.postMessage({ type: 'empty', folder, message: problem });
          return;
        }
        const stats = await datasetStats(folder);
        void this.panel.webview.postMessage({ type: 'stats', folder, stats });
        const { rows, total } = await listRecords(folder);
        void this.panel.webview.postMessage({ type: 'records', folder, rows, total });
      } catch (err) {
        void this.panel.webview.postMessage({
          type: 'empty',
          folder,
          message: err instanceof Error ? err.message : String(err),
        });
      }
    })();
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const uri = (...parts: string[]) =>
      webview.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, ...parts)).toString();
    const csp = [
      "default-src 'none'",
      `img-src ${webview.cspSource} data:`,
      `style-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${uri('media', 'datasetView.css')}">
<title>Crucible Dataset</title>
</head>
<body>
<header>
  <h1>Crucible Dataset</h1>
  <div class="actions">
    <button id="refresh" type="button">Refresh</button>
    <button id="export" type="button">Export…</button>
    <button id="settings" type="button" class="secondary">Settings</button>
  </div>
</header>
<p id="folder" class="folder"></p>
<p id="message" class="message" hidden></p>
<section id="counts" class="counts"></section>
<section id="charts" class="charts" hidden>
  <figure><figcaption>Records over time</figcaption><div class="chart"><canvas id="overTime" aria-label="Records over time"></canvas></div></figure>
  <figure><figcaption>Verified vs unverified, and what verified them</figcaption><div class="chart"><canvas id="verified" aria-label="Verified by tests origin"></canvas></div></figure>
  <figure><figcaption>pass@1: first attempt vs after refinement</figcaption><div class="chart"><canvas id="passAt1" aria-label="pass at 1"></canvas></div></figure>
  <figure><figcaption>Attempts to fix (verified records)</figcaption><div class="chart"><canvas id="attempts" aria-label="Attempts to fix"></canvas></div></figure>
  <figure><figcaption>Round of the verified solution</figcaption><div class="chart"><canvas id="rounds" aria-label="Rounds histogram"></canvas></div></figure>
  <figure><figcaption>Difficulty (share of first samples that failed)</figcaption><div class="chart"><canvas id="difficulty" aria-label="Difficulty histogram"></canvas></div></figure>
  <figure><figcaption>Tasks per language</figcaption><div class="chart"><canvas id="languages" aria-label="Tasks per language"></canvas></div></figure>
  <figure><figcaption>Solution diversity: distinct verified solutions per task</figcaption><div class="chart"><canvas id="diversity" aria-label="Solutions per task"></canvas></div></figure>
</section>
<section id="problems" class="problems" hidden></section>
<section id="records" class="records" hidden></section>
<script nonce="${nonce}" src="${uri('dist', 'media', 'chart.umd.min.js')}"></script>
<script nonce="${nonce}" src="${uri('media', 'datasetView.js')}"></script>
</body>
</html>`;
  }

  dispose(): void {
    DatasetPanel.current = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
    this.panel.dispose();
  }
}

/** Registers "Export Dataset…" and "Show Dataset". `getFolder` returns the dataset folder in use. */
export function registerDatasetFeatures(context: vscode.ExtensionContext, getFolder: () => string): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('crucible.exportDataset', () => exportCommand(getFolder)),
    vscode.commands.registerCommand('crucible.showDataset', () => DatasetPanel.show(context, getFolder)),
    { dispose: () => DatasetPanel.disposeCurrent() },
  );
}
