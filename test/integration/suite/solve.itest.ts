// "Crucible: Solve and Verify" through the real command in a real extension host, against the
// Ollama-protocol test server on 127.0.0.1 and the real Python sandbox: the proposal opens as a diff,
// Apply writes it, Discard and stale results leave the file alone, the dataset gains a record.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { startOllamaServer, type ChatBody, type OllamaTestServer, type Responder } from '../../fixtures/ollamaServer';
import { activateWithPythonFile, proposalTab, waitFor, workspaceFolder } from './helpers';
import { CORRECT_RUNNING_MAX as RIGHT, SAMPLE_PY as SAMPLE } from '../../e2e/harness/replies';

/** Fails the first doctest: returns its input. */
const WRONG = `def running_max(values):
    return list(values)`;

const fence = (code: string): string => `Here you go.\n\n\`\`\`python\n${code}\n\`\`\`\n`;

function lastUserMessage(body: ChatBody): string {
  const users = body.messages.filter((m) => m.role === 'user');
  return users[users.length - 1]?.content ?? '';
}

/** Wrong at first; prose for a critique; right once a request carries the failing check. */
const wrongThenRight: Responder = (body) => {
  const last = lastUserMessage(body);
  if (/Do not write the corrected code/i.test(last))
    return 'It returns the input unchanged instead of the running maximum.';
  if (/failed this check|corrected .* in full/i.test(last)) return fence(RIGHT);
  return fence(WRONG);
};
const alwaysRight: Responder = () => fence(RIGHT);

const SETTINGS: [string, unknown][] = [
  ['provider', 'ollama'],
  ['model', 'qwen2.5-coder:7b'],
  ['budget.samples', 1],
  ['budget.rounds', 3],
  ['tests.generateWhenMissing', false],
  ['request.firstTokenTimeoutSeconds', 30],
  ['inlineSuggestions.enabled', false],
];

function chatBodies(server: OllamaTestServer): ChatBody[] {
  return server.requests
    .filter((r) => r.path === '/api/chat' || r.path === '/api/generate')
    .map((r) => r.body as ChatBody);
}

async function writeAndOpen(name: string): Promise<{ file: string; editor: vscode.TextEditor }> {
  const uri = vscode.Uri.joinPath(workspaceFolder(), name);
  writeFileSync(uri.fsPath, SAMPLE);
  const editor = await activateWithPythonFile(uri);
  // The cursor in the body, as a person would put it.
  const line = editor.document
    .getText()
    .split('\n')
    .findIndex((l) => l.includes('raise NotImplementedError'));
  const at = new vscode.Position(line, 8);
  editor.selection = new vscode.Selection(at, at);
  return { file: uri.fsPath, editor };
}

/** Starts Solve and Verify without awaiting it (it waits on the Apply/Discard notification) and returns the proposal diff. */
async function solveUntilProposal(): Promise<{ tab: vscode.Tab; proposed: vscode.TextDocument }> {
  let failed: unknown;
  vscode.commands.executeCommand('crucible.solveAndVerify').then(undefined, (err: unknown) => {
    failed = err;
  });
  const found = await waitFor(
    'a crucible-proposed diff after Solve and Verify',
    () => {
      if (failed)
        throw new Error(`crucible.solveAndVerify failed: ${failed instanceof Error ? failed.message : String(failed)}`);
      return proposalTab();
    },
    60_000,
  );
  return { tab: found.tab, proposed: await vscode.workspace.openTextDocument(found.input.modified) };
}

describe('Crucible in VS Code: Solve and Verify', () => {
  let server: OllamaTestServer;
  let datasetDir: string;

  before(async () => {
    server = await startOllamaServer({ respond: wrongThenRight });
    datasetDir = mkdtempSync(join(tmpdir(), 'crucible-itest-dataset-'));
    const config = vscode.workspace.getConfiguration('crucible');
    for (const [key, value] of [
      ...SETTINGS,
      ['ollama.host', server.url] as [string, unknown],
      ['dataset.folder', datasetDir] as [string, unknown],
    ]) {
      await config.update(key, value, vscode.ConfigurationTarget.Global);
    }
  });

  afterEach(async () => {
    // Dismissing the Apply/Discard notification lets the pending command finish; every file was saved or
    // never changed, so closing the editors cannot raise a save prompt.
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('crucible.discardResult');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  after(async () => {
    const config = vscode.workspace.getConfiguration('crucible');
    for (const key of [...SETTINGS.map(([k]) => k), 'ollama.host', 'dataset.folder']) {
      await config.update(key, undefined, vscode.ConfigurationTarget.Global);
    }
    await server?.close();
    if (datasetDir) rmSync(datasetDir, { recursive: true, force: true });
  });

  it('fixes a wrong first answer from the doctest feedback, shows a verified diff, and Apply writes code that passes the doctests', async () => {
    server.respond = wrongThenRight;
    const chatsBefore = chatBodies(server).length;
    const { file, editor } = await writeAndOpen('apply_target.py');

    const { tab, proposed } = await solveUntilProposal();
    assert.match(tab.label, /\(verified\)/, `the diff title does not say verified: ${tab.label}`);
    assert.ok(
      proposed.getText().includes('best_so_far'),
      `the proposal does not hold the right answer:\n${proposed.getText()}`,
    );
    assert.equal(editor.document.getText(), SAMPLE, 'the file changed before Apply');

    // The self-correction went through the model: wrong answer, critique, refine carrying the failing doctest.
    const chats = chatBodies(server).slice(chatsBefore);
    assert.ok(chats.length >= 3, `expected generate, critique and refine requests, saw ${chats.length}`);
    assert.ok(
      chats.slice(1).some((c) => c.messages.some((m) => m.role === 'user' && m.content.includes('[1, 3, 3, 5, 5]'))),
      'no request after the first carried the failing doctest',
    );

    await vscode.commands.executeCommand('crucible.applyResult');
    const text = editor.document.getText();
    assert.ok(text.includes('best_so_far'), `Apply did not write the result:\n${text}`);
    assert.ok(!text.includes('raise NotImplementedError'), 'the old body is still there');
    assert.ok(text.includes('>>> running_max([1, 3, 2, 5, 4])'), 'Apply dropped the docstring');
    assert.equal(proposalTab(), undefined, 'the proposal diff is still open after Apply');
    assert.ok(await editor.document.save(), 'saving the applied file failed');
    // The saved file passes its own doctests in a real Python (python3 -m doctest exits non-zero on a failure).
    execFileSync('python3', ['-m', 'doctest', file], { stdio: 'pipe', timeout: 20_000 });

    const recordsFile = join(datasetDir, 'records.jsonl');
    const lines = await waitFor('a dataset record', () => {
      const all = existsSync(recordsFile) ? readFileSync(recordsFile, 'utf8').split('\n').filter(Boolean) : [];
      return all.length ? all : undefined;
    });
    const record = JSON.parse(lines[lines.length - 1]!) as {
      verified: boolean;
      solution?: string;
      task: { entryPoint?: string };
    };
    assert.equal(record.verified, true);
    assert.equal(record.task.entryPoint, 'running_max');
    assert.ok(record.solution?.includes('best_so_far'), 'the record does not hold the verified solution');
  });

  it('Discard closes the diff and leaves the file as it was', async () => {
    server.respond = alwaysRight;
    const { editor } = await writeAndOpen('discard_target.py');
    await solveUntilProposal();
    await vscode.commands.executeCommand('crucible.discardResult');
    await waitFor('the proposal diff to close', () => (proposalTab() ? undefined : true), 5_000);
    assert.equal(editor.document.getText(), SAMPLE);
    assert.equal(editor.document.isDirty, false);
  });

  it('does not apply a result over edits made after the run began', async () => {
    server.respond = alwaysRight;
    const { editor } = await writeAndOpen('stale_target.py');
    await solveUntilProposal();
    const doc = editor.document;
    const body = doc.getText().indexOf('raise NotImplementedError');
    const edit = new vscode.WorkspaceEdit();
    edit.replace(
      doc.uri,
      new vscode.Range(doc.positionAt(body), doc.positionAt(body + 'raise NotImplementedError'.length)),
      'return []  # my own edit',
    );
    assert.ok(await vscode.workspace.applyEdit(edit));
    await vscode.commands.executeCommand('crucible.applyResult');
    const text = doc.getText();
    assert.ok(text.includes('# my own edit'), 'the user edit was overwritten');
    assert.ok(!text.includes('best_so_far'), 'a stale result was applied over the user edit');
    await doc.save();
  });
});
