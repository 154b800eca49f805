// "Crucible: Solve and Verify" as a person uses it: cursor in a function with doctests, the command
// palette, the progress notification, the diff, Apply; plus the budget ending unverified, Cancel, and a
// model server that is not running.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { closedPortUrl, type Responder } from '../fixtures/ollamaServer';
import { session, measurements } from './harness/hooks';
import { alwaysWrongResponder, defaultResponder, SAMPLE_PY, slowResponder } from './harness/replies';
import { datasetRecords, doctestPasses, waitFor } from './harness/files';

async function openSampleAtBody(): Promise<string> {
  const s = session();
  const file = s.writeWorkspaceFile('sample.py', SAMPLE_PY);
  await s.workbench.openFile('sample.py');
  await s.workbench.clickLine('raise NotImplementedError');
  return file;
}

function chatRequests(): { messages: { role: string; content: string }[] }[] {
  return session()
    .ollama.requests.filter(
      (r) => r.path === '/api/chat' || r.path === '/api/generate' || r.path === '/v1/chat/completions',
    )
    .map((r) => r.body as { messages: { role: string; content: string }[] });
}

describe('Solve and Verify', () => {
  it('solves a function with doctests: progress, diff, Apply writes the verified code, the dataset gains a record', async () => {
    const s = session();
    const { workbench, ollama } = s;
    const file = await openSampleAtBody();
    const recordsBefore = datasetRecords(s.codeServer.dirs.dataset).length;
    const chatsBefore = chatRequests().length;
    // The first answer is slow enough for the progress notification to be seen, and wrong: the fix must
    // come from the execution feedback.
    const slowFirst: Responder = (body, index) => {
      const reply = defaultResponder(body, index);
      return index === 0 && typeof reply === 'string' ? { content: reply, delayBeforeHeadersMs: 1500 } : reply;
    };
    ollama.respond = slowFirst;
    await workbench.shot('cursor-in-function');

    const started = Date.now();
    await workbench.runCommand('Crucible: Solve and Verify');
    const progress = await workbench.notification(/Crucible: Solving/, 20_000);
    await workbench.shot('progress');
    assert.ok(
      (await workbench.toastButtons(progress)).includes('Cancel'),
      'the progress notification offers no Cancel',
    );

    const result = await workbench.notification(/verified/i, 60_000);
    measurements.solveToResultMs = Date.now() - started;
    const diff = workbench.page.locator('.monaco-diff-editor').first();
    await diff.waitFor({ timeout: 15_000 });
    await workbench.page
      .locator('.tabs-container .tab.active', { hasText: /running_max/ })
      .waitFor({ timeout: 10_000 });
    await workbench.page
      .locator('.monaco-diff-editor .editor.modified .view-line', { hasText: 'best_so_far' })
      .first()
      .waitFor({ timeout: 10_000 });
    await workbench.shot('diff');
    assert.ok(!/not verified/i.test(result.message), `the result says: ${result.message}`);
    assert.equal(readFileSync(file, 'utf8'), SAMPLE_PY, 'the file changed before Apply');

    await workbench.clickToastButton(result, 'Apply');
    await workbench.activeTab('sample.py').waitFor({ timeout: 10_000 });
    await workbench.editor.locator('.view-line', { hasText: 'best_so_far' }).first().waitFor({ timeout: 10_000 });
    await workbench.saveFile('sample.py');
    const saved = await waitFor('the applied code on disk', () => {
      const text = readFileSync(file, 'utf8');
      return text.includes('best_so_far') ? text : undefined;
    });
    await workbench.shot('applied');
    assert.ok(!saved.includes('raise NotImplementedError'), 'the old body is still in the file');
    assert.ok(saved.includes('>>> running_max([1, 3, 2, 5, 4])'), 'the docstring was lost');
    const doctest = doctestPasses(file);
    assert.ok(doctest.ok, `the applied code fails its doctests:\n${doctest.output}`);

    // Self-correction really happened: a later request carried the failing test's feedback.
    const chats = chatRequests().slice(chatsBefore);
    assert.ok(
      chats.length >= 2,
      `expected a refine request after the wrong first answer, saw ${chats.length} request(s)`,
    );
    const fed = chats
      .slice(1)
      .some((c) => c.messages.some((m) => m.content.includes('[1, 3, 3, 5, 5]') && m.role === 'user'));
    assert.ok(fed, 'no request after the first carried the failing doctest');

    const records = await waitFor('a new dataset record', () => {
      const all = datasetRecords(s.codeServer.dirs.dataset);
      return all.length > recordsBefore ? all : undefined;
    });
    const last = JSON.stringify(records[records.length - 1]);
    assert.match(last, /running_max/);
  });

  it('tells when the budget ends unverified, and shows the best attempt marked NOT verified', async () => {
    const { workbench, ollama } = session();
    const file = await openSampleAtBody();
    ollama.respond = alwaysWrongResponder;
    await workbench.runCommand('Crucible: Solve and Verify');
    const warning = await workbench.notification(/not verified, the budget ended/i, 60_000);
    await workbench.shot('budget-ended');
    assert.match(warning.message, /passes \d+\/\d+ tests/);
    await workbench.clickToastButton(warning, 'Show Best Attempt');
    await workbench.page
      .locator('.tabs-container .tab.active', { hasText: /NOT verified/ })
      .waitFor({ timeout: 10_000 });
    await workbench.shot('best-attempt');
    assert.equal(readFileSync(file, 'utf8'), SAMPLE_PY, 'an unverified result changed the file');
  });

  it('cancels mid-run: the model request is aborted and nothing changes', async () => {
    const { workbench, ollama } = session();
    const file = await openSampleAtBody();
    ollama.respond = slowResponder(60_000);
    const abortedBefore = ollama.abortedStreams;
    await workbench.runCommand('Crucible: Solve and Verify');
    const progress = await workbench.notification(/Crucible: Solving/, 20_000);
    // Wait until the model request is in flight, then cancel as a person would.
    await waitFor('the model request', () => ollama.activeGenerations > 0 || undefined, 20_000);
    await workbench.shot('waiting-for-model');
    const t0 = Date.now();
    await workbench.clickToastButton(progress, 'Cancel');
    await ollama.waitForAborted(abortedBefore + 1, 10_000);
    measurements.cancelToAbortMs = Date.now() - t0;
    await progress.locator.waitFor({ state: 'hidden', timeout: 10_000 });
    await workbench.shot('cancelled');
    assert.equal(await workbench.page.locator('.monaco-diff-editor').count(), 0, 'a diff opened after Cancel');
    assert.equal(readFileSync(file, 'utf8'), SAMPLE_PY);
  });

  it('names the fix when Ollama is not running', async () => {
    const s = session();
    const { workbench } = s;
    const dead = await closedPortUrl();
    await s.setSettings({ 'crucible.ollama.host': dead });
    await openSampleAtBody();
    await workbench.runCommand('Crucible: Solve and Verify');
    const error = await workbench.notification(/Cannot reach|not running|ollama serve/i, 30_000);
    await workbench.shot('server-down');
    assert.ok(
      error.message.includes(dead.replace('http://', '')) || error.message.includes(dead),
      `the message does not say which host: ${error.message}`,
    );
    assert.match(error.message, /ollama serve/);
    assert.match(error.message, /crucible\.ollama\.host/);
    assert.ok((await workbench.toastButtons(error)).includes('Check Setup'), 'no Check Setup button on the error');
  });
});
