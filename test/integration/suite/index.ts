// Entry point VS Code calls inside the extension host (`--extensionTestsPath`): runs every compiled
// `*.itest.js` next to this file with mocha and rejects when a test fails, which makes VS Code exit non-zero.
//
// test/integration/runTests.ts compiles this file and the tests into dist-test/integration/ with esbuild
// (a local binary, so no network is needed); mocha itself is loaded from the repository's node_modules.
// When CRUCIBLE_ITEST_RESULT names a file, a JSON summary is written there too (the code-server mode of
// runTests.ts reads it, because a remote extension host's exit code does not reach the runner).
import { readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ItestSummary {
  passed: string[];
  failed: { title: string; error: string }[];
  pending: string[];
  durationMs: number;
}

export async function run(): Promise<void> {
  // mocha 12 is an ES module; a dynamic import works from this CommonJS bundle in the extension host.
  const { default: Mocha } = await import('mocha');
  const resultFile = process.env.CRUCIBLE_ITEST_RESULT;
  const mocha = new Mocha({
    ui: 'bdd',
    reporter: 'spec',
    color: !resultFile && process.env.NO_COLOR === undefined,
    timeout: Number(process.env.CRUCIBLE_ITEST_TIMEOUT_MS) || 60_000,
    slow: 5_000,
  });
  const grep = process.env.CRUCIBLE_ITEST_GREP;
  if (grep) mocha.grep(grep);
  const files = readdirSync(__dirname)
    .filter((name) => name.endsWith('.itest.js'))
    .sort();
  if (files.length === 0) {
    throw new Error(
      `No *.itest.js files in ${__dirname}. Run the suite with "npm run test:integration", which compiles them.`,
    );
  }
  for (const name of files) mocha.addFile(join(__dirname, name));
  const summary: ItestSummary = { passed: [], failed: [], pending: [], durationMs: 0 };
  const started = Date.now();
  try {
    await mocha.loadFilesAsync();
    await new Promise<void>((resolve) => {
      const runner = mocha.run(() => resolve());
      runner.on('pass', (test) => summary.passed.push(test.fullTitle()));
      runner.on('pending', (test) => summary.pending.push(test.fullTitle()));
      runner.on('fail', (test, err: unknown) => {
        summary.failed.push({
          title: test.fullTitle(),
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        });
      });
    });
  } catch (err) {
    summary.failed.push({
      title: 'loading the integration suite',
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
  summary.durationMs = Date.now() - started;
  if (resultFile) {
    writeFileSync(`${resultFile}.tmp`, JSON.stringify(summary, null, 2));
    renameSync(`${resultFile}.tmp`, resultFile);
  }
  if (summary.failed.length > 0) throw new Error(`${summary.failed.length} integration test(s) failed.`);
}
