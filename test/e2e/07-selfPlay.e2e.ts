// Self-play from the editor: started, seen running (the model is asked), stopped (its request is aborted).
import { strict as assert } from 'node:assert';
import { session } from './harness/hooks';
import { waitFor } from './harness/files';

describe('self-play', () => {
  it('starts, asks the model, and stops on "Crucible: Stop Self-Play"', async () => {
    const { workbench, ollama } = session();
    // A slow model, so the run is still going when the person stops it.
    ollama.respond = () => ({ content: 'def f(x: int) -> bool:\n    return x > 3', delayBeforeHeadersMs: 60_000 });
    const asked = ollama.requests.length;
    const abortedBefore = ollama.abortedStreams;
    await workbench.runCommand('Crucible: Generate Self-Play Puzzles…');
    // Accept the defaults of whatever the command asks (how many puzzles, and so on).
    for (let i = 0; i < 5; i++) {
      await workbench.page.waitForTimeout(500);
      if (!(await workbench.quickInputVisible())) break;
      await workbench.shot(`question-${i}`);
      await workbench.page.keyboard.press('Enter');
    }
    await waitFor('a self-play request to the model', () => ollama.activeGenerations > 0 || undefined, 30_000);
    assert.ok(ollama.requests.length > asked);
    await workbench.shot('running');
    assert.ok(
      await workbench.paletteHas('Crucible: Stop Self-Play'),
      '"Stop Self-Play" is not offered while self-play runs',
    );

    await workbench.runCommand('Crucible: Stop Self-Play');
    await ollama.waitForAborted(abortedBefore + 1, 15_000);
    const stopped = await workbench.notification(/self-play stopped/i, 15_000);
    await workbench.shot('stopped');
    assert.match(stopped.message, /\d+\/\d+ puzzles accepted/);
    assert.equal(ollama.activeGenerations, 0, 'a model request is still running after Stop');
    // The `when` clause of "Stop Self-Play" must clear as soon as the run ends, not when the message is closed.
    assert.ok(
      !(await workbench.paletteHas('Crucible: Stop Self-Play')),
      '"Stop Self-Play" is still offered after self-play stopped',
    );
  });
});
