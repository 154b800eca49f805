// The dataset webview script in a real headless Chromium, under the same kind of strict nonce CSP the
// extension sets: it must draw every chart with chart.js from real statistics and break no CSP rule.
import { strict as assert } from 'node:assert';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { datasetStats } from '../../src/core/dataset/stats';
import type { DatasetStats } from '../../src/core/dataset/stats';
import { writeFixtureDataset } from '../fixtures/dataset/build';

const root = join(__dirname, '../..');
const CHART = join(root, 'node_modules/chart.js/dist/chart.umd.min.js');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) =>
  existsSync(p),
);

describe('dataset view (webview script)', function () {
  let dir: string;
  let stats: DatasetStats;
  let browser: import('playwright-core').Browser | undefined;
  before(async function () {
    if (!CHROMIUM || !existsSync(CHART)) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'crucible-view-'));
    await writeFixtureDataset(join(dir, 'ds'));
    stats = await datasetStats(join(dir, 'ds'));
    copyFileSync(CHART, join(dir, 'chart.umd.min.js'));
    copyFileSync(join(root, 'media/datasetView.js'), join(dir, 'datasetView.js'));
    copyFileSync(join(root, 'media/datasetView.css'), join(dir, 'datasetView.css'));
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--allow-file-access-from-files'],
    });
  });
  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function open(withChart: boolean) {
    const nonce = 'n0nce';
    // The extension's page, with file: standing in for the webview resource origin and a stub for acquireVsCodeApi.
    const canvases = ['overTime', 'verified', 'passAt1', 'attempts', 'rounds', 'difficulty', 'languages', 'diversity'];
    const html = `index-${withChart ? 'chart' : 'plain'}.html`;
    writeFileSync(
      join(dir, html),
      `<!DOCTYPE html><html><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src file:; img-src file: data:; script-src 'nonce-${nonce}'">
<link rel="stylesheet" href="datasetView.css"></head><body>
<button id="refresh"></button><button id="export"></button><button id="settings"></button>
<p id="folder"></p><p id="message" hidden></p><section id="counts" class="counts"></section>
<section id="charts" class="charts" hidden>${canvases.map((c) => `<div class="chart"><canvas id="${c}"></canvas></div>`).join('')}</section>
<section id="problems" hidden></section>
<script nonce="${nonce}" src="stub.js"></script>
${withChart ? `<script nonce="${nonce}" src="chart.umd.min.js"></script>` : ''}
<script nonce="${nonce}" src="datasetView.js"></script>
</body></html>`,
    );
    writeFileSync(
      join(dir, 'stub.js'),
      'window.posted = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.posted.push(m) });',
    );
    const page = await browser!.newPage({ viewport: { width: 1100, height: 1400 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(join(dir, html)).href);
    return { page, errors, canvases };
  }

  it('draws every chart from the statistics, with no CSP or script error', async () => {
    const { page, errors, canvases } = await open(true);
    try {
      assert.deepEqual(await page.evaluate('window.posted'), [{ type: 'ready' }]);
      await page.evaluate(
        (s) => window.postMessage({ type: 'stats', folder: '/data/ds', stats: s }, '*'),
        stats as unknown as object,
      );
      await page.waitForFunction(`!document.getElementById('charts').hidden`);
      const drawn = await page.evaluate(`${JSON.stringify(canvases)}.filter((id) => Chart.getChart(id))`);
      assert.deepEqual(drawn, canvases);
      const passAt1 = (await page.evaluate(`Chart.getChart('passAt1').data.datasets[0].data`)) as number[];
      assert.ok(Math.abs(passAt1[0]! - stats.passAt1.before * 100) < 1e-9);
      assert.ok(Math.abs(passAt1[1]! - stats.passAt1.after * 100) < 1e-9);
      const doughnut = (await page.evaluate(
        `Chart.getChart('verified').data.datasets[0].data.reduce((a, b) => a + b, 0)`,
      )) as number;
      assert.equal(doughnut, stats.records);
      const cards = await page.locator('#counts .card').allTextContents();
      assert.ok(cards.some((c) => c.startsWith(String(stats.records)) && c.endsWith('Records')));
      assert.equal(await page.textContent('#folder'), 'Folder: /data/ds');
      await page.click('#export');
      assert.deepEqual(await page.evaluate('window.posted.map((m) => m.type)'), ['ready', 'export']);
      assert.deepEqual(errors, []);
    } finally {
      if (process.env.CRUCIBLE_VIEW_SHOT)
        await page.screenshot({ path: process.env.CRUCIBLE_VIEW_SHOT, fullPage: true });
      await page.close();
    }
  });

  it('shows the fix-naming message for a missing dataset, and counts without the chart library', async () => {
    const { page, errors } = await open(false);
    try {
      await page.evaluate(() =>
        window.postMessage({ type: 'empty', folder: '/nope', message: 'No dataset folder at /nope.' }, '*'),
      );
      await page.waitForFunction(`!document.getElementById('message').hidden`);
      assert.equal(await page.textContent('#message'), 'No dataset folder at /nope.');
      await page.evaluate(
        (s) => window.postMessage({ type: 'stats', folder: '/d', stats: s }, '*'),
        stats as unknown as object,
      );
      await page.waitForFunction(`document.querySelectorAll('#counts .card').length > 0`);
      assert.match((await page.textContent('#message'))!, /charting library .* is missing; run the build/);
      assert.equal(await page.evaluate(`document.getElementById('charts').hidden`), true);
      assert.deepEqual(errors, []);
    } finally {
      if (process.env.CRUCIBLE_VIEW_SHOT)
        await page.screenshot({ path: process.env.CRUCIBLE_VIEW_SHOT, fullPage: true });
      await page.close();
    }
  });
});
