// Runs the @vscode/test-electron integration suite in a desktop VS Code:
//   npm run test:integration
//
// VS Code comes from CRUCIBLE_VSCODE_PATH (or VSCODE_EXECUTABLE), an installed desktop VS Code; otherwise
// @vscode/test-electron downloads one into .vscode-test/ (or reuses a copy there when offline). Where
// neither works (no network, as on the CI machines, which run the code-server suite in test/e2e instead)
// the run is skipped with a message and exit code 0. CRUCIBLE_INTEGRATION_REQUIRED=1 turns a skip into a failure.
//
// Steps: find VS Code -> bundle the extension (esbuild.mjs) -> bundle the suite (test/integration/suite/*.ts)
// into dist-test/integration/ with esbuild -> copy the workspace fixture to a temp folder -> launch VS Code
// with a temp user-data-dir and extensions-dir -> exit with the suite's result.
//
// `npm run test:integration -- --code-server` runs the same suite in code-server's (remote, Node) extension
// host instead, driven by headless Chromium: no desktop VS Code or network needed, only what
// `.ci/setup.sh` installs for the e2e suite. Skipped with a message when code-server or Chromium is missing.
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import {
  downloadAndUnzipVSCode,
  ProgressReportStage,
  runTests,
  type ProgressReport,
  type ProgressReporter,
} from '@vscode/test-electron';
import { chromium, type Browser } from 'playwright-core';
import { chromiumBin, codeServerBin } from '../e2e/harness/paths';
import type { ItestSummary } from './suite/index';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const outDir = join(root, 'dist-test', 'integration');
const suiteDir = join(root, 'test', 'integration', 'suite');
const fixtureWorkspace = join(root, 'test', 'integration', 'workspace');

/** Idle timeout for each request to the VS Code update server: no answer for this long means offline. */
const NETWORK_TIMEOUT_MS = Number(process.env.CRUCIBLE_VSCODE_DOWNLOAD_TIMEOUT_MS) || 5_000;
/** Whole-run guard: a VS Code that never exits must not hang the terminal or CI. */
const RUN_TIMEOUT_MS = Number(process.env.CRUCIBLE_ITEST_RUN_TIMEOUT_MS) || 10 * 60_000;

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

function say(message: string): void {
  process.stdout.write(`integration: ${message}\n`);
}

function skip(reason: string): never {
  const required = process.env.CRUCIBLE_INTEGRATION_REQUIRED === '1';
  say(`${required ? 'FAILED' : 'SKIPPED'}: ${reason}`);
  say('To run it: set CRUCIBLE_VSCODE_PATH to a desktop VS Code executable (e.g. /usr/share/code/code,');
  say(
    '  "/Applications/Visual Studio Code.app/Contents/MacOS/Electron", or %LOCALAPPDATA%\\Programs\\Microsoft VS Code\\Code.exe),',
  );
  say('  or run where update.code.visualstudio.com is reachable. The code-server suite (npm run test:e2e) covers CI.');
  process.exit(required ? EXIT_FAILED : EXIT_OK);
}

/** Download progress as a few plain lines (the default spinner leaves a dangling line when the download fails). */
function plainReporter(): ProgressReporter {
  let lastQuarter = -1;
  return {
    report(report: ProgressReport): void {
      switch (report.stage) {
        case ProgressReportStage.ResolvedVersion:
          say(`VS Code version ${report.version}`);
          break;
        case ProgressReportStage.FoundMatchingInstall:
          say(`using the copy in ${report.downloadedPath}`);
          break;
        case ProgressReportStage.Downloading: {
          const quarter = report.totalBytes > 0 ? Math.floor((report.bytesSoFar / report.totalBytes) * 4) : 0;
          if (quarter !== lastQuarter) {
            lastQuarter = quarter;
            say(`downloading ${report.url}: ${quarter * 25}% of ${Math.round(report.totalBytes / 1e6)} MB`);
          }
          break;
        }
        case ProgressReportStage.Retrying:
          say(`download failed (${firstLine(report.error)}); attempt ${report.attempt + 1} of ${report.totalAttempts}`);
          break;
        case ProgressReportStage.NewInstallComplete:
          say(`installed in ${report.downloadedPath}`);
          break;
        default:
          break;
      }
    },
    error(): void {
      // The caller reports the error once, with the skip message.
    },
  };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}

/** The VS Code executable: an installed one named by the environment, or a downloaded/cached one; skips otherwise. */
async function findVSCode(): Promise<string> {
  const envName = process.env.CRUCIBLE_VSCODE_PATH
    ? 'CRUCIBLE_VSCODE_PATH'
    : process.env.VSCODE_EXECUTABLE
      ? 'VSCODE_EXECUTABLE'
      : undefined;
  if (envName) {
    const path = process.env[envName]!;
    try {
      accessSync(path, constants.X_OK);
      if (!statSync(path).isFile()) throw new Error('not a file');
    } catch {
      say(`${envName}=${path} is not an executable file. Point it at the VS Code binary itself`);
      say(
        '  (Linux: /usr/share/code/code; macOS: "/Applications/Visual Studio Code.app/Contents/MacOS/Electron"; Windows: ...\\Code.exe).',
      );
      process.exit(EXIT_USAGE);
    }
    say(`using VS Code from ${envName}: ${path}`);
    return path;
  }
  const version = process.env.CRUCIBLE_VSCODE_VERSION || 'stable';
  say(
    `no CRUCIBLE_VSCODE_PATH; downloading VS Code ${version} (or reusing .vscode-test/), giving up after ${NETWORK_TIMEOUT_MS} ms without an answer...`,
  );
  const started = Date.now();
  // The download has its own idle timeout; this race is a hard stop for anything that still hangs (e.g. DNS).
  let timer: NodeJS.Timeout | undefined;
  const hardStop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the download did not finish within ${RUN_TIMEOUT_MS} ms`)),
      RUN_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([
      downloadAndUnzipVSCode({
        version,
        cachePath: join(root, '.vscode-test'),
        extensionDevelopmentPath: root,
        timeout: NETWORK_TIMEOUT_MS,
        reporter: plainReporter(),
      }),
      hardStop,
    ]);
  } catch (err) {
    skip(
      `VS Code could not be downloaded (${firstLine(err)}, after ${Date.now() - started} ms) and no copy is cached in .vscode-test/.`,
    );
  } finally {
    clearTimeout(timer);
  }
}

function buildExtension(): void {
  say('bundling the extension (node esbuild.mjs)');
  const result = spawnSync(process.execPath, [join(root, 'esbuild.mjs')], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    say(`FAILED: node esbuild.mjs exited with ${result.status ?? result.signal}; fix the build first.`);
    process.exit(EXIT_FAILED);
  }
}

/** Bundles the suite entry and each *.itest.ts into CommonJS for the extension host; vscode and mocha stay external. */
async function buildSuite(): Promise<string> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const entries = readdirSync(suiteDir)
    .filter((name) => name === 'index.ts' || name.endsWith('.itest.ts'))
    .map((name) => join(suiteDir, name));
  await build({
    entryPoints: entries,
    outdir: outDir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    logLevel: 'warning',
    external: ['vscode', 'mocha'],
  });
  return join(outDir, 'index.js');
}

/** A fresh copy of the workspace fixture and a user-data-dir whose settings keep VS Code quiet and offline. */
function prepareDirs(): { base: string; workspace: string; userData: string; extensions: string } {
  const base = mkdtempSync(join(tmpdir(), 'crucible-itest-'));
  const workspace = join(base, 'workspace');
  const userData = join(base, 'user-data');
  const extensions = join(base, 'extensions');
  cpSync(fixtureWorkspace, workspace, { recursive: true });
  mkdirSync(join(userData, 'User'), { recursive: true });
  mkdirSync(extensions, { recursive: true });
  const settings = {
    'workbench.startupEditor': 'none',
    'security.workspace.trust.enabled': false,
    'update.mode': 'none',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'telemetry.telemetryLevel': 'off',
    'workbench.enableExperiments': false,
    'git.enabled': false,
  };
  writeFileSync(join(userData, 'User', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
  return { base, workspace, userData, extensions };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function printSummary(summary: ItestSummary): void {
  for (const title of summary.passed) say(`  ok    ${title}`);
  for (const title of summary.pending) say(`  skip  ${title}`);
  for (const failure of summary.failed) {
    say(`  FAIL  ${failure.title}`);
    for (const line of failure.error.split('\n').slice(0, 12)) say(`          ${line}`);
  }
  say(
    `${summary.passed.length} passed, ${summary.failed.length} failed, ${summary.pending.length} skipped (${(summary.durationMs / 1000).toFixed(1)} s)`,
  );
}

/**
 * The suite in code-server's extension host: code-server serves the temp workspace, Chromium opens it with the
 * repository as the development extension and the compiled suite as the tests (VS Code web's `payload`
 * parameter), and the suite writes its summary to CRUCIBLE_ITEST_RESULT, which code-server's extension host
 * inherits from this process.
 */
async function runInCodeServer(): Promise<number> {
  const server = codeServerBin();
  const browserBin = chromiumBin();
  if (!existsSync(server) || !existsSync(browserBin)) {
    skip(
      `--code-server needs code-server (${server}) and Chromium (${browserBin}); install them with "bash .ci/setup.sh" or set CRUCIBLE_CODE_SERVER / CRUCIBLE_CHROMIUM.`,
    );
  }
  buildExtension();
  const suiteIndex = await buildSuite();
  const dirs = prepareDirs();
  const resultFile = join(dirs.base, 'result.json');
  const port = await freePort();
  const authority = `127.0.0.1:${port}`;
  let log = '';
  const child = spawn(
    server,
    [
      '--auth',
      'none',
      '--bind-addr',
      authority,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--extensions-dir',
      dirs.extensions,
      '--user-data-dir',
      dirs.userData,
      dirs.workspace,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, CRUCIBLE_ITEST_RESULT: resultFile, CRUCIBLE_ITEST: '1' },
    },
  );
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  let browser: Browser | undefined;
  const consoleLines: string[] = [];
  const stop = async (): Promise<void> => {
    await browser?.close().catch(() => undefined);
    // code-server runs in its own process group (detached), which holds its extension host: end that group only.
    if (child.pid && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
  };
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  const listenDeadline = Date.now() + 60_000;
  try {
    while (!/HTTP server listening/.test(log)) {
      if (child.exitCode !== null)
        throw new Error(`code-server exited with ${child.exitCode} before listening:\n${log}`);
      if (Date.now() > listenDeadline) throw new Error(`code-server did not listen within 60 s:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    say(`code-server listening on ${authority}; running the suite in its extension host`);
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', `vscode-remote://${authority}${root}`],
      ['extensionTestsPath', `vscode-remote://${authority}${suiteIndex}`],
    ]);
    browser = await chromium.launch({
      executablePath: browserBin,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage();
    page.on('console', (message) => {
      consoleLines.push(message.text());
      if (consoleLines.length > 300) consoleLines.shift();
    });
    await page.goto(
      `http://${authority}/?folder=${encodeURIComponent(dirs.workspace)}&payload=${encodeURIComponent(payload)}`,
    );
    while (!existsSync(resultFile)) {
      if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode} during the run`);
      if (Date.now() > deadline)
        throw new Error(`no result within ${RUN_TIMEOUT_MS} ms (CRUCIBLE_ITEST_RUN_TIMEOUT_MS)`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const summary = JSON.parse(readFileSync(resultFile, 'utf8')) as ItestSummary;
    printSummary(summary);
    return summary.failed.length === 0 && summary.passed.length > 0 ? EXIT_OK : EXIT_FAILED;
  } catch (err) {
    say(`FAILED: ${firstLine(err)}`);
    say('last browser console lines:');
    for (const line of consoleLines.slice(-40)) say(`  ${line.split('\n')[0]!.slice(0, 300)}`);
    say(`code-server log (end):\n${log.slice(-3000)}`);
    return EXIT_FAILED;
  } finally {
    await stop();
    if (process.env.CRUCIBLE_ITEST_KEEP === '1') say(`kept temp files in ${dirs.base}`);
    else rmSync(dirs.base, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--code-server') || process.env.CRUCIBLE_ITEST_HOST === 'code-server') {
    process.exit(await runInCodeServer());
  }
  const vscodeExecutablePath = await findVSCode();
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    skip(
      'no display (DISPLAY and WAYLAND_DISPLAY are unset). On a headless Linux run it as: xvfb-run -a npm run test:integration',
    );
  }
  buildExtension();
  if (!existsSync(join(root, 'dist', 'extension.js'))) {
    say('FAILED: dist/extension.js is missing after the build.');
    process.exit(EXIT_FAILED);
  }
  const extensionTestsPath = await buildSuite();
  const dirs = prepareDirs();
  const guard = setTimeout(() => {
    say(
      `FAILED: VS Code did not finish within ${RUN_TIMEOUT_MS} ms (CRUCIBLE_ITEST_RUN_TIMEOUT_MS). Temp files: ${dirs.base}`,
    );
    process.exit(EXIT_FAILED);
  }, RUN_TIMEOUT_MS);
  let code: number;
  try {
    code = await runTests({
      vscodeExecutablePath,
      extensionDevelopmentPath: root,
      extensionTestsPath,
      extensionTestsEnv: { CRUCIBLE_ITEST: '1' },
      launchArgs: [
        dirs.workspace,
        `--user-data-dir=${dirs.userData}`,
        `--extensions-dir=${dirs.extensions}`,
        '--disable-extensions',
        '--disable-workspace-trust',
        '--skip-welcome',
        '--skip-release-notes',
        '--disable-telemetry',
        '--disable-updates',
        '--new-window',
      ],
    });
  } catch (err) {
    say(`FAILED: ${firstLine(err)}`);
    code = EXIT_FAILED;
  } finally {
    clearTimeout(guard);
  }
  if (process.env.CRUCIBLE_ITEST_KEEP === '1') say(`kept temp files in ${dirs.base}`);
  else rmSync(dirs.base, { recursive: true, force: true });
  say(code === 0 ? 'passed' : `FAILED (VS Code exited with ${code})`);
  process.exit(code === 0 ? EXIT_OK : EXIT_FAILED);
}

main().catch((err: unknown) => {
  say(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(EXIT_FAILED);
});
