// Activation, commands and settings, checked in a real VS Code extension host. Runs first (files are
// loaded in name order), so the extension has not been activated by another test yet.
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { Keys } from '../../../src/vscode/config';
import { activateWithPythonFile, contributes, crucibleExtension, workspaceFolder } from './helpers';

describe('Crucible in VS Code: activation, commands, settings', () => {
  it('is loaded from the development path and stays inactive until a supported file opens', () => {
    const ext = crucibleExtension();
    assert.equal(
      ext.isActive,
      false,
      'the extension activated before any Python/JS/TS file opened: activation is no longer lazy',
    );
    const events = (ext.packageJSON as { activationEvents?: string[] }).activationEvents ?? [];
    assert.ok(!events.includes('*'), 'activationEvents contains "*", which activates Crucible in every window');
  });

  it('activates when a Python file opens', async () => {
    const file = vscode.Uri.joinPath(workspaceFolder(), 'activate_me.py');
    writeFileSync(file.fsPath, 'def double(x):\n    """\n    >>> double(2)\n    4\n    """\n    return 2 * x\n');
    const started = Date.now();
    const editor = await activateWithPythonFile(file);
    assert.equal(
      editor.document.languageId,
      'python',
      'VS Code did not recognise the .py file as Python (is the built-in Python grammar disabled?)',
    );
    assert.ok(crucibleExtension().isActive);
    // Loose bound: activation includes loading the bundle; the 50 ms target is measured in the e2e suite.
    assert.ok(Date.now() - started < 20_000, `activation took ${Date.now() - started} ms`);
  });

  it('registers every crucible.* command declared in package.json', async () => {
    const declared = contributes().commands.map((c) => c.command);
    assert.ok(declared.length >= 10, `package.json declares only ${declared.length} commands`);
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = declared.filter((id) => !registered.has(id));
    assert.deepEqual(missing, [], `declared in package.json but not registered by activate(): ${missing.join(', ')}`);
  });

  it('gives every crucible.* setting the default package.json declares, and declares every key the code reads', () => {
    const properties = contributes().configuration.properties;
    const names = Object.keys(properties);
    assert.ok(names.length >= 20, `package.json declares only ${names.length} settings`);
    const config = vscode.workspace.getConfiguration();
    for (const name of names) {
      assert.ok(name.startsWith('crucible.'), `setting ${name} is outside the crucible.* namespace`);
      assert.ok('default' in properties[name]!, `setting ${name} has no default in package.json`);
      const inspected = config.inspect(name);
      assert.ok(inspected, `VS Code does not know the setting ${name}`);
      assert.deepEqual(
        inspected.defaultValue,
        properties[name]!.default,
        `VS Code's default for ${name} differs from package.json`,
      );
    }
    // Every key src/vscode/config.ts reads must be contributed, or users could never see or set it.
    const undeclared = Object.values(Keys).filter((key) => !(`crucible.${key}` in properties));
    assert.deepEqual(
      undeclared,
      [],
      `src/vscode/config.ts reads settings package.json does not declare: ${undeclared.join(', ')}`,
    );
    // A few defaults the documentation relies on.
    const crucible = vscode.workspace.getConfiguration('crucible');
    assert.equal(crucible.inspect<string>('ollama.host')?.defaultValue, 'http://127.0.0.1:11434');
    assert.equal(crucible.inspect<string>('provider')?.defaultValue, 'ollama');
    assert.equal(crucible.inspect<boolean>('verifyOnSave')?.defaultValue, false);
  });
});
