// One typed reader for every Crucible setting. Keys live here as constants and nowhere else.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Budget } from '../core/types';
import type { ModelSettings } from '../core/model/types';
import type { Limits } from '../core/sandbox/types';
// A leaf of plain constants: the one core module this thin bundle imports values from.
import {
  BUDGET_DEFAULTS,
  DATASET_DEFAULTS,
  FEATURE_DEFAULTS,
  GENERATE_TESTS_WHEN_MISSING,
  MODEL_DEFAULTS as M,
  SANDBOX_DEFAULTS,
  SELF_PLAY_DEFAULTS,
} from '../core/defaults';

export const SECTION = 'crucible';

export const Keys = {
  provider: 'provider',
  host: 'ollama.host',
  hosts: 'ollama.hosts',
  think: 'generation.think',
  model: 'model',
  keepAlive: 'ollama.keepAlive',
  headers: 'ollama.headers',
  temperature: 'generation.temperature',
  topP: 'generation.topP',
  seed: 'generation.seed',
  numCtx: 'generation.numCtx',
  numPredict: 'generation.numPredict',
  stop: 'generation.stop',
  firstTokenTimeout: 'request.firstTokenTimeoutSeconds',
  stallTimeout: 'request.stallTimeoutSeconds',
  maxParallel: 'request.maxParallel',
  samples: 'budget.samples',
  rounds: 'budget.rounds',
  maxTokens: 'budget.maxTokens',
  wallSeconds: 'budget.wallSeconds',
  generateTests: 'tests.generateWhenMissing',
  sandboxTimeout: 'sandbox.timeoutMs',
  sandboxMemory: 'sandbox.memoryMb',
  python: 'sandbox.python',
  datasetEnabled: 'dataset.enabled',
  datasetFolder: 'dataset.folder',
  codeActions: 'codeActions.enabled',
  inlineSuggestions: 'inlineSuggestions.enabled',
  codeLens: 'codeLens.enabled',
  verifyOnSave: 'verifyOnSave',
  testing: 'testing.enabled',
  selfPlaySamples: 'selfPlay.samples',
  selfPlaySeeds: 'selfPlay.seeds',
} as const;

export type SettingKey = (typeof Keys)[keyof typeof Keys];

function cfg(scope?: vscode.ConfigurationScope): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION, scope);
}

function get<T>(key: SettingKey, fallback: T, scope?: vscode.ConfigurationScope): T {
  const value = cfg(scope).get<T>(key);
  return value === undefined || value === null ? fallback : value;
}

export function affects(event: vscode.ConfigurationChangeEvent, ...keys: SettingKey[]): boolean {
  return keys.some((k) => event.affectsConfiguration(`${SECTION}.${k}`));
}

export function modelSettings(): ModelSettings {
  const seed = cfg().get<number | null>(Keys.seed) ?? M.seed;
  const numCtx = get<number>(Keys.numCtx, M.numCtx);
  const stop = get<string[]>(Keys.stop, [...M.stop]);
  const hosts = get<unknown[]>(Keys.hosts, [...M.hosts])
    .filter((h): h is string => typeof h === 'string' && h.trim() !== '')
    .map((h) => h.trim());
  return {
    provider: get<'ollama' | 'openai'>(Keys.provider, M.provider),
    host: hosts[0] ?? get<string>(Keys.host, M.host),
    ...(hosts.length > 1 ? { hosts } : {}),
    think: get<boolean>(Keys.think, M.think),
    model: get<string>(Keys.model, M.model),
    keepAlive: get<string>(Keys.keepAlive, M.keepAlive),
    headers: get<{ [name: string]: string }>(Keys.headers, { ...M.headers }),
    options: {
      temperature: get<number>(Keys.temperature, M.temperature),
      top_p: get<number>(Keys.topP, M.topP),
      ...(typeof seed === 'number' ? { seed } : {}),
      ...(numCtx > 0 ? { num_ctx: numCtx } : {}),
      num_predict: get<number>(Keys.numPredict, M.numPredict),
      ...(stop.length ? { stop } : {}),
    },
    firstTokenTimeoutMs: get<number>(Keys.firstTokenTimeout, M.firstTokenTimeoutSeconds) * 1000,
    requestTimeoutMs: get<number>(Keys.stallTimeout, M.stallTimeoutSeconds) * 1000,
    maxParallel: get<number>(Keys.maxParallel, M.maxParallel),
    maxRetries: M.maxRetries,
  };
}

export function budget(scope?: vscode.ConfigurationScope): Budget {
  return {
    samples: get<number>(Keys.samples, BUDGET_DEFAULTS.samples, scope),
    refineRounds: get<number>(Keys.rounds, BUDGET_DEFAULTS.refineRounds, scope),
    maxTokens: get<number>(Keys.maxTokens, BUDGET_DEFAULTS.maxTokens, scope),
    wallMs: get<number>(Keys.wallSeconds, BUDGET_DEFAULTS.wallSeconds, scope) * 1000,
  };
}

export function sandboxLimits(): Partial<Limits> {
  const wallMs = get<number>(Keys.sandboxTimeout, SANDBOX_DEFAULTS.timeoutMs);
  return { wallMs, cpuMs: wallMs, memoryMb: get<number>(Keys.sandboxMemory, SANDBOX_DEFAULTS.memoryMb) };
}

export function pythonPath(): string {
  return get<string>(Keys.python, SANDBOX_DEFAULTS.python);
}

export function generateTestsWhenMissing(scope?: vscode.ConfigurationScope): boolean {
  return get<boolean>(Keys.generateTests, GENERATE_TESTS_WHEN_MISSING, scope);
}

export function datasetEnabled(): boolean {
  return get<boolean>(Keys.datasetEnabled, DATASET_DEFAULTS.enabled);
}

export function datasetFolder(context: vscode.ExtensionContext): string {
  const configured = get<string>(Keys.datasetFolder, DATASET_DEFAULTS.folder).trim();
  return configured || vscode.Uri.joinPath(context.globalStorageUri, 'dataset').fsPath;
}

type FeatureKey =
  | typeof Keys.codeActions
  | typeof Keys.inlineSuggestions
  | typeof Keys.codeLens
  | typeof Keys.verifyOnSave
  | typeof Keys.testing;

const FEATURE_DEFAULT: { [K in FeatureKey]: boolean } = {
  [Keys.codeActions]: FEATURE_DEFAULTS.codeActions,
  [Keys.inlineSuggestions]: FEATURE_DEFAULTS.inlineSuggestions,
  [Keys.codeLens]: FEATURE_DEFAULTS.codeLens,
  [Keys.verifyOnSave]: FEATURE_DEFAULTS.verifyOnSave,
  [Keys.testing]: FEATURE_DEFAULTS.testing,
};

export function featureEnabled(key: FeatureKey, scope?: vscode.ConfigurationScope): boolean {
  return get<boolean>(key, FEATURE_DEFAULT[key], scope);
}

export function selfPlaySettings(): { samples: number; seedsFile: string } {
  return {
    samples: get<number>(Keys.selfPlaySamples, SELF_PLAY_DEFAULTS.samples),
    seedsFile: get<string>(Keys.selfPlaySeeds, SELF_PLAY_DEFAULTS.seeds).trim(),
  };
}

/** Writes the model to the scope it is set in now (a workspace that pins a model keeps pinning the new one). */
export async function setModel(name: string): Promise<void> {
  const source = settingSource(Keys.model);
  const target =
    source.scope === 'Folder settings' || source.scope === 'Workspace settings'
      ? vscode.ConfigurationTarget.Workspace
      : vscode.ConfigurationTarget.Global;
  await cfg().update(Keys.model, name, target);
}

// ───────────────────────── where a value comes from

export type SettingScope = 'Folder settings' | 'Workspace settings' | 'Remote settings' | 'User settings' | 'Default';

export interface SettingSource {
  key: string;
  value: unknown;
  scope: SettingScope;
}

let machineSettingsPath: string | undefined;

/**
 * Where a remote server (code-server, VS Code Server over SSH/WSL/Codespaces) keeps its "Remote" settings:
 * `<user data>/Machine/settings.json`, three folders above the extension's global storage. Undefined locally.
 */
export function initSettingSources(context: vscode.ExtensionContext): void {
  if (context.globalStorageUri.scheme !== 'file') return;
  machineSettingsPath = join(context.globalStorageUri.fsPath, '..', '..', '..', 'Machine', 'settings.json');
}

/** True when the remote "Machine" settings file sets `crucible.<key>` (comments and trailing commas allowed). */
function remoteSettingsHave(key: string): boolean {
  if (!machineSettingsPath) return false;
  try {
    const text = readFileSync(machineSettingsPath, 'utf8');
    const full = `${SECTION}.${key}`;
    return new RegExp(`"${full.replace(/[.]/g, '\\.')}"\\s*:`).test(text.replace(/^\s*\/\/.*$/gm, ''));
  } catch {
    return false;
  }
}

/** The effective value of `crucible.<key>` and the settings scope it comes from. */
export function settingSource(key: SettingKey, scope?: vscode.ConfigurationScope): SettingSource {
  const inspected = cfg(scope).inspect(key);
  const value = cfg(scope).get(key);
  let where: SettingScope = 'Default';
  if (inspected?.workspaceFolderValue !== undefined) where = 'Folder settings';
  else if (inspected?.workspaceValue !== undefined) where = 'Workspace settings';
  else if (inspected?.globalValue !== undefined) where = remoteSettingsHave(key) ? 'Remote settings' : 'User settings';
  return { key: `${SECTION}.${key}`, value, scope: where };
}

/** True in a window whose extension host runs on another machine (SSH, WSL, containers, Codespaces, code-server). */
export function isRemoteWindow(): boolean {
  return vscode.env.remoteName !== undefined || (machineSettingsPath !== undefined && existsSync(machineSettingsPath));
}

/** Opens the Settings editor on the scope the value of `crucible.<key>` comes from, filtered to that setting. */
export async function openSettingFor(key: SettingKey): Promise<void> {
  const source = settingSource(key);
  const query = `@id:${SECTION}.${key}`;
  const command =
    source.scope === 'Folder settings' || source.scope === 'Workspace settings'
      ? 'workbench.action.openWorkspaceSettings'
      : source.scope === 'Remote settings' || (source.scope === 'Default' && isRemoteWindow())
        ? 'workbench.action.openRemoteSettings'
        : 'workbench.action.openGlobalSettings';
  try {
    await vscode.commands.executeCommand(command, { query });
  } catch {
    await vscode.commands.executeCommand('workbench.action.openSettings', query);
  }
}
