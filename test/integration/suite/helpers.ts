// Shared by the integration tests (runs inside the extension host, with the real `vscode` API).
import * as vscode from 'vscode';

export const EXTENSION_ID = 'crucible-dev.crucible';
export const PROPOSED_SCHEME = 'crucible-proposed';

/** Polls `probe` every 100 ms until it returns a value other than undefined; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function crucibleExtension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  if (!ext)
    throw new Error(`Extension ${EXTENSION_ID} is not loaded: is --extensionDevelopmentPath the repository root?`);
  return ext;
}

export function workspaceFolder(): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder)
    throw new Error(
      'No workspace folder is open: runTests.ts passes the workspace fixture as the first launch argument.',
    );
  return folder.uri;
}

/** Opens a Python file and waits until the extension is active (activation event onLanguage:python). */
export async function activateWithPythonFile(file: vscode.Uri): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(file);
  const editor = await vscode.window.showTextDocument(doc);
  const ext = crucibleExtension();
  await waitFor(
    'the extension to activate after a Python file opened',
    () => (ext.isActive ? true : undefined),
    20_000,
  );
  return editor;
}

/** The diff tab that shows a pending Crucible proposal, if one is open. */
export function proposalTab(): { tab: vscode.Tab; input: vscode.TabInputTextDiff } | undefined {
  for (const group of vscode.window.tabGroups.all) {
    for (const tab of group.tabs) {
      const input = tab.input;
      if (input instanceof vscode.TabInputTextDiff && input.modified.scheme === PROPOSED_SCHEME) return { tab, input };
    }
  }
  return undefined;
}

type Section = { properties?: { [key: string]: { default?: unknown } } };

/** Contributed commands and settings, read from the extension's own package.json as VS Code loaded it. */
export function contributes(): {
  commands: { command: string }[];
  configuration: { properties: { [key: string]: { default?: unknown } } };
} {
  const manifest = crucibleExtension().packageJSON as {
    contributes?: { commands?: { command: string }[]; configuration?: Section | Section[] };
  };
  // Settings are grouped in categories (an array of sections); a single section is accepted too.
  const raw = manifest.contributes?.configuration;
  const sections = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return {
    commands: manifest.contributes?.commands ?? [],
    configuration: {
      properties: Object.assign({}, ...sections.map((s) => s.properties ?? {})) as {
        [key: string]: { default?: unknown };
      },
    },
  };
}
