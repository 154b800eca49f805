// Mocha root hooks for the end-to-end suite: one Ollama-protocol test server, one code-server with the
// packaged extension installed, and one Chromium page for the whole run (starting them is most of the cost).
// Each test gets its own screenshot folder; a failing test also gets a last screenshot and every log.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'mocha';
import { startOllamaServer, type OllamaTestServer } from '../../fixtures/ollamaServer';
import { CodeServer } from './codeServer';
import { missingTools, resultsDir, vsixPath } from './paths';
import { Workbench } from './workbench';
import { E2E_MODELS, E2E_MODEL, defaultResponder } from './replies';

export interface E2eSession {
  codeServer: CodeServer;
  workbench: Workbench;
  ollama: OllamaTestServer;
  /** Time from the browser opening the workspace to a usable workbench, ms. */
  workbenchLoadMs: number;
  installOutput: string;
  /** The settings every test starts from. */
  baseSettings(): { [key: string]: unknown };
  /** Replaces user and machine settings with the base settings plus `patch` (VS Code picks the change up). */
  setSettings(patch: { [key: string]: unknown }): Promise<void>;
  /** Writes a workspace file (fresh content for each test). */
  writeWorkspaceFile(name: string, content: string): string;
  /** Folder of the current test's screenshots. */
  testDir: string;
}

let current: E2eSession | undefined;

export function session(): E2eSession {
  if (!current) throw new Error('The e2e session did not start (see the first failure for why).');
  return current;
}

function slug(title: string): string {
  return title
    .replace(/[^a-z0-9]+/gi, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase()
    .slice(0, 80);
}

/** Measurements the tests record, written to test-results/e2e/measurements.json at the end. */
export const measurements: { [key: string]: number | string } = {};

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    this.timeout(240_000);
    const missing = missingTools();
    if (missing) {
      if (process.env.CI) throw new Error(missing);
      process.stdout.write(`\n  e2e suite skipped: ${missing}\n`);
      this.skip();
    }
    if (!existsSync(vsixPath))
      throw new Error(`${vsixPath} does not exist: run \`npm run package\` first (npm test does).`);
    rmSync(resultsDir, { recursive: true, force: true });
    mkdirSync(resultsDir, { recursive: true });

    const ollama = await startOllamaServer({ models: E2E_MODELS, respond: defaultResponder });
    const codeServer = new CodeServer();
    const t0 = Date.now();
    const installOutput = await codeServer.installExtension(vsixPath);
    measurements.installExtensionMs = Date.now() - t0;

    const baseSettings = (): { [key: string]: unknown } => ({
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.welcomePage.walkthroughs.openOnInstall': false,
      'workbench.enableExperiments': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'extensions.ignoreRecommendations': true,
      'security.workspace.trust.enabled': false,
      'git.enabled': false,
      'files.autoSave': 'off',
      'editor.minimap.enabled': false,
      'editor.inlineSuggest.enabled': true,
      'editor.codeLens': true,
      'editor.lightbulb.enabled': 'on',
      'crucible.ollama.host': ollama.url,
      'crucible.model': E2E_MODEL,
      'crucible.dataset.folder': codeServer.dirs.dataset,
      'crucible.request.firstTokenTimeoutSeconds': 30,
      'crucible.request.stallTimeoutSeconds': 30,
    });
    codeServer.writeSettings(baseSettings());
    // Resource-scoped settings for this workspace: a small budget keeps every solve short.
    codeServer.writeWorkspaceSettings({ 'crucible.budget.samples': 1, 'crucible.budget.rounds': 2 });

    await codeServer.start();
    const workbench = await Workbench.launch();
    const t1 = Date.now();
    await workbench.open(codeServer.workspaceUrl());
    const workbenchLoadMs = Date.now() - t1;
    measurements.workbenchLoadMs = workbenchLoadMs;

    current = {
      codeServer,
      workbench,
      ollama,
      workbenchLoadMs,
      installOutput,
      baseSettings,
      async setSettings(patch) {
        codeServer.writeSettings({ ...baseSettings(), ...patch });
        // VS Code watches the settings files; give the change time to reach the extension host.
        await workbench.page.waitForTimeout(1500);
      },
      writeWorkspaceFile(name, content) {
        const file = join(codeServer.dirs.workspace, name);
        writeFileSync(file, content);
        return file;
      },
      testDir: resultsDir,
    };
  },

  async beforeEach(this: Context): Promise<void> {
    if (!current || !this.currentTest) return;
    current.testDir = join(resultsDir, slug(this.currentTest.fullTitle()));
    current.workbench.setShotDir(current.testDir);
    current.ollama.respond = defaultResponder;
  },

  async afterEach(this: Context): Promise<void> {
    if (!current || !this.currentTest) return;
    if (this.currentTest.state === 'failed') {
      await current.workbench.shot('failure');
      current.codeServer.saveLogs(join(current.testDir, 'logs'));
      writeFileSync(
        join(current.testDir, 'logs', 'ollama-requests.json'),
        JSON.stringify(
          current.ollama.requests.map((r) => ({ method: r.method, path: r.path, body: r.body })),
          null,
          2,
        ),
      );
      if (current.workbench.consoleErrors.length) {
        writeFileSync(
          join(current.testDir, 'logs', 'browser-console-errors.txt'),
          current.workbench.consoleErrors.join('\n'),
        );
      }
    }
    // Leave a clean window for the next test.
    await current.workbench.page.keyboard.press('Escape').catch(() => undefined);
    await current.workbench.clearNotifications();
    await current.workbench.closeAllEditors();
    if (!current.codeServer.settingsAre(current.baseSettings())) {
      // A test (or the extension) changed the settings: restore them and let VS Code pick that up.
      current.codeServer.writeSettings(current.baseSettings());
      await current.workbench.page.waitForTimeout(1500);
    }
  },

  async afterAll(this: Context): Promise<void> {
    this.timeout(60_000);
    const s = current;
    current = undefined;
    if (Object.keys(measurements).length) {
      mkdirSync(resultsDir, { recursive: true });
      writeFileSync(join(resultsDir, 'measurements.json'), `${JSON.stringify(measurements, null, 2)}\n`);
      process.stdout.write(`\n  e2e measurements: ${JSON.stringify(measurements)}\n`);
    }
    if (!s) return;
    s.codeServer.saveLogs(join(resultsDir, 'logs'));
    await s.workbench.close().catch(() => undefined);
    await s.codeServer.stop();
    await s.ollama.close();
    if (!process.env.CRUCIBLE_E2E_KEEP) s.codeServer.removeFolders();
  },
};
