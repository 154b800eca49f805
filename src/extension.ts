// Entry point of the VS Code extension: build services, register features, return. Nothing else.
// The heavy engine is a second bundle (dist/engine.js) loaded on first use; see src/vscode/engine.ts.
import type * as vscode from 'vscode';
import { activateCrucible } from './vscode/activate';
import { engineLoaded } from './vscode/engine';
import { log } from './vscode/log';

/** Set by esbuild.mjs's banner on the bundle's first line (absent when running from source). */
declare const __crucibleBundleStart: number | undefined;
const bundleStart = typeof __crucibleBundleStart === 'number' ? __crucibleBundleStart : undefined;
// Modules are evaluated in import order, so this line runs after everything the bundle's top level loads.
const bundleEvaluated = performance.now();

export function activate(context: vscode.ExtensionContext): void {
  const started = performance.now();
  activateCrucible(context);
  const done = performance.now();
  const load = bundleStart === undefined ? 'n/a (not bundled)' : `${(bundleEvaluated - bundleStart).toFixed(1)} ms`;
  log.info(
    `Activation timing: bundle evaluation ${load}, activate() ${(done - started).toFixed(1)} ms, engine ${engineLoaded() ? 'loaded during activation' : 'deferred to first use'}`,
  );
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
