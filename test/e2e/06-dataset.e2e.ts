// "Crucible: Export Dataset…": the verified pairs logged by Solve and Verify leave through a save dialog
// as a training file.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { session } from './harness/hooks';
import { alwaysRightResponder, SAMPLE_PY } from './harness/replies';
import { datasetRecords, waitFor } from './harness/files';

/** Solves the sample once (and discards the diff) so the dataset has a verified record. */
async function ensureVerifiedRecord(): Promise<void> {
  const s = session();
  if (datasetRecords(s.codeServer.dirs.dataset).some((r) => JSON.stringify(r).includes('running_max'))) return;
  s.ollama.respond = alwaysRightResponder;
  s.writeWorkspaceFile('sample.py', SAMPLE_PY);
  await s.workbench.openFile('sample.py');
  await s.workbench.clickLine('raise NotImplementedError');
  await s.workbench.runCommand('Crucible: Solve and Verify');
  const result = await s.workbench.notification(/verified/i, 60_000);
  await s.workbench.clickToastButton(result, 'Discard');
  await waitFor('a dataset record', () => datasetRecords(s.codeServer.dirs.dataset).length > 0 || undefined);
}

describe('dataset', () => {
  it('Export Dataset writes an SFT file with the verified pair, chosen through the save dialog', async () => {
    const s = session();
    const { workbench } = s;
    await ensureVerifiedRecord();
    const out = join(s.codeServer.dirs.workspace, 'my-training-data.jsonl');
    await workbench.runCommand('Crucible: Export Dataset…');
    // Answer whatever the command asks: the format (SFT), then the save dialog's path; defaults otherwise.
    let answeredPath = false;
    for (let i = 0; i < 8 && !answeredPath; i++) {
      const visible = await workbench.page.locator('.quick-input-widget').isVisible();
      if (!visible) {
        await workbench.page.waitForTimeout(500);
        continue;
      }
      await workbench.shot(`export-step-${i}`);
      const input = workbench.page.locator('.quick-input-widget input.input');
      const value = await input.inputValue();
      const rows = await workbench.page.locator('.quick-input-widget .monaco-list-row .label-name').allInnerTexts();
      if (value.startsWith('/') || value.startsWith('~')) {
        // The save dialog (VS Code's simple file dialog in the browser): type the path and confirm.
        await workbench.answerInput(out);
        answeredPath = true;
        // Creating a new folder may ask for confirmation; OK it.
        await workbench.page.waitForTimeout(500);
        const ok = workbench.page.locator('.monaco-dialog-box .monaco-button', { hasText: /OK|Create|Yes/ });
        if (await ok.isVisible().catch(() => false)) await ok.first().click();
      } else if (rows.some((r) => /sft/i.test(r))) {
        await workbench.pick(/sft/i);
      } else {
        await workbench.page.keyboard.press('Enter');
      }
      await workbench.page.waitForTimeout(400);
    }
    assert.ok(answeredPath, 'the export never showed a save dialog');
    // One file, or a train/validation split beside the name given (my-training-data.train.jsonl, ...valid.jsonl).
    const candidates = [out, out.replace(/\.jsonl$/, '.train.jsonl'), out.replace(/\.jsonl$/, '.valid.jsonl')];
    const lines = await waitFor(
      `${out} (or its .train/.valid split) to be written`,
      () => {
        const written = candidates.filter((f) => existsSync(f));
        return written.length
          ? written.flatMap((f) =>
              readFileSync(f, 'utf8')
                .split('\n')
                .filter((l) => l.trim()),
            )
          : undefined;
      },
      20_000,
    );
    await workbench.shot('exported');
    assert.ok(lines.length >= 1, 'the export is empty');
    const parsed = lines.map((l) => JSON.parse(l) as unknown);
    assert.ok(
      parsed.some((p) => JSON.stringify(p).includes('running_max')),
      'the verified running_max pair is not in the export',
    );
    // An export to a named .jsonl file gets its own README beside it (my-training-data.README.md).
    assert.ok(existsSync(out.replace(/\.jsonl$/, '.README.md')), 'no README beside the exported data');
  });
});
