// One logger for the whole extension, over a LogOutputChannel (levels, timestamps, "Set Log Level").
import * as vscode from 'vscode';

let channel: vscode.LogOutputChannel | undefined;

export function initLog(context: vscode.ExtensionContext): vscode.LogOutputChannel {
  channel = vscode.window.createOutputChannel('Crucible', { log: true });
  context.subscriptions.push(channel);
  return channel;
}

export const log = {
  info: (message: string, ...args: unknown[]) => channel?.info(message, ...args),
  warn: (message: string, ...args: unknown[]) => channel?.warn(message, ...args),
  error: (message: string | Error, ...args: unknown[]) => channel?.error(message, ...args),
  debug: (message: string, ...args: unknown[]) => channel?.debug(message, ...args),
  show: () => channel?.show(true),
};
