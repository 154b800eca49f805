// The editor features of "Crucible 4/7": the code lens that verifies a function with tests, and the light
// bulb's "Refine and verify" whose verified result comes back as ghost text that Tab accepts.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { session, measurements } from './harness/hooks';
import { alwaysRightResponder, CORRECT_RUNNING_MAX, SAMPLE_PY, WRONG_RUNNING_MAX } from './harness/replies';
import { doctestPasses, waitFor } from './harness/files';

const DOCTESTS = `    """Return a list whose i-th item is the largest of values[0..i].

    >>> running_max([1, 3, 2, 5, 4])
    [1, 3, 3, 5, 5]
    >>> running_max([])
    []
    >>> running_max([-2, -5, -1])
    [-2, -2, -1]
    """`;

describe('editor features', () => {
  it('code lens: "▶ Verify" runs the tests and turns into "✓ verified"; a failing function shows what fails', async () => {
    const s = session();
    const { workbench } = s;
    // A text no earlier test verified: results are cached by content (an Apply in another test re-verifies
    // the applied code), and this test starts from "▶ Verify".
    s.writeWorkspaceFile('verified.py', `${CORRECT_RUNNING_MAX.replace('return out', 'return out  # lens test')}\n`);
    await workbench.openFile('verified.py');
    const lens = workbench.editor.locator('.codelens-decoration a', { hasText: /Verify/ }).first();
    await lens.waitFor({ timeout: 20_000 });
    await workbench.shot('lens-before');
    const t0 = Date.now();
    await lens.click();
    await workbench.editor
      .locator('.codelens-decoration', { hasText: /✓ verified/ })
      .first()
      .waitFor({ timeout: 30_000 });
    measurements.codeLensVerifyMs = Date.now() - t0;
    const text = await workbench.editor
      .locator('.codelens-decoration', { hasText: /✓ verified/ })
      .first()
      .innerText();
    assert.match(text, /3\/3/, `the lens says "${text}"`);
    await workbench.shot('lens-verified');

    const wrong = WRONG_RUNNING_MAX.replace('def running_max(values):', `def running_max(values):\n${DOCTESTS}`);
    s.writeWorkspaceFile('failing.py', `${wrong}\n`);
    await workbench.openFile('failing.py');
    const lens2 = workbench.editor.locator('.codelens-decoration a', { hasText: /Verify/ }).first();
    await lens2.waitFor({ timeout: 20_000 });
    await lens2.click();
    const failing = workbench.editor.locator('.codelens-decoration', { hasText: /✗/ }).first();
    await failing.waitFor({ timeout: 30_000 });
    await workbench.shot('lens-failing');
    assert.match(await failing.innerText(), /1\/3/);
  });

  it('light bulb: "Refine and verify" runs in the background, its verified code shows as ghost text, and Tab accepts it', async () => {
    const s = session();
    const { workbench, ollama } = s;
    ollama.respond = alwaysRightResponder;
    const file = s.writeWorkspaceFile('sample.py', SAMPLE_PY);
    await workbench.openFile('sample.py');
    await workbench.clickLine('raise NotImplementedError');
    const t0 = Date.now();
    await workbench.runCodeAction(/Refine and verify/i);
    // When the verified refinement is ready, the code lens above the function says so and offers "Show",
    // which puts the cursor where the new code starts and shows it as ghost text.
    const ready = workbench.editor.locator('.codelens-decoration a', { hasText: /refinement ready/i }).first();
    await ready.waitFor({ timeout: 45_000 });
    measurements.refineToReadyMs = Date.now() - t0;
    await workbench.shot('refinement-ready');
    assert.equal(readFileSync(file, 'utf8'), SAMPLE_PY, 'the refinement changed the file before it was accepted');
    await workbench.editor
      .locator('.codelens-decoration a', { hasText: /^Show$/ })
      .first()
      .click();
    const ghost = workbench.editor
      .locator('.ghost-text-decoration, .ghost-text, .ghost-text-decoration-preview')
      .first();
    await ghost.waitFor({ timeout: 15_000 });
    await workbench.shot('ghost-text');
    assert.equal(readFileSync(file, 'utf8'), SAMPLE_PY, 'the file changed before the suggestion was accepted');

    await workbench.page.keyboard.press('Tab');
    await workbench.editor.locator('.view-line', { hasText: 'best_so_far' }).first().waitFor({ timeout: 10_000 });
    await workbench.save();
    await waitFor(
      'the accepted suggestion on disk',
      () => readFileSync(file, 'utf8').includes('best_so_far') || undefined,
    );
    await workbench.shot('accepted');
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes('raise NotImplementedError'), `the old body is still there:\n${text}`);
    const doctest = doctestPasses(file);
    assert.ok(doctest.ok, `the accepted code fails its doctests:\n${doctest.output}`);
  });
});
