// "Crucible: Select Model": the QuickPick lists what the server has, and the choice is saved as a setting.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { session } from './harness/hooks';
import { E2E_MODEL, OTHER_MODEL } from './harness/replies';
import { waitFor } from './harness/files';

function savedModel(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { 'crucible.model'?: string })['crucible.model'];
  } catch {
    return undefined; // VS Code may be mid-write; the next probe reads it whole.
  }
}

describe('Select Model', () => {
  it("lists the server's models and saves the one picked", async () => {
    const { workbench, codeServer, ollama } = session();
    const before = ollama.requests.filter((r) => r.path === '/api/tags').length;
    await workbench.runCommand('Crucible: Select Model');
    const rows = await workbench.quickPickRows();
    await workbench.shot('models');
    assert.ok(
      rows.some((r) => r.includes(E2E_MODEL)),
      `the list lacks ${E2E_MODEL}: ${rows.join(', ')}`,
    );
    assert.ok(
      rows.some((r) => r.includes(OTHER_MODEL)),
      `the list lacks ${OTHER_MODEL}: ${rows.join(', ')}`,
    );
    assert.ok(
      ollama.requests.filter((r) => r.path === '/api/tags').length > before,
      'the list did not come from the server (/api/tags)',
    );
    await workbench.pick(OTHER_MODEL);
    const where = await waitFor(
      `crucible.model = ${OTHER_MODEL} in the settings`,
      () => [codeServer.machineSettingsFile, codeServer.userSettingsFile].find((f) => savedModel(f) === OTHER_MODEL),
      15_000,
    );
    await workbench.shot('picked');
    assert.ok(where);
  });
});
