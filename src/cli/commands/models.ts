// `crucible models`: the models the server offers, with size, parameter size and context length.
import type { Command } from 'commander';
import { createModelClient, type CrucibleModelClient } from '../../core/model/client';
import { cliText, examples, exitCodeFor, guarded } from '../shared';
import { processIo, type CliIo } from '../io';
import { addModelOptions, modelSettingsFromOptions, type ModelOptionValues } from '../modelOptions';

export type { CliIo };

export interface ModelRow {
  name: string;
  sizeBytes?: number;
  parameterSize?: string;
  family?: string;
  /** The context length the model was trained for, as the server reports it. */
  contextLength?: number;
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '-';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export async function listModelRows(client: CrucibleModelClient, signal?: AbortSignal): Promise<ModelRow[]> {
  const models = await client.listModels(signal);
  return Promise.all(
    models.map(async (m) => {
      const row: ModelRow = { name: m.name };
      if (m.sizeBytes !== undefined) row.sizeBytes = m.sizeBytes;
      if (m.parameterSize) row.parameterSize = m.parameterSize;
      if (m.family) row.family = m.family;
      try {
        const d = await client.showModel(m.name, signal);
        if (d.contextLength !== undefined) row.contextLength = d.contextLength;
        else if (d.numCtxParameter !== undefined) row.contextLength = d.numCtxParameter;
      } catch {
        // A model the server lists but cannot describe is still listed, with an unknown context.
      }
      return row;
    }),
  );
}

export function formatModelTable(rows: ModelRow[]): string {
  const table = [
    ['NAME', 'SIZE', 'PARAMS', 'CONTEXT'],
    ...rows.map((r) => [
      r.name,
      formatBytes(r.sizeBytes),
      r.parameterSize ?? '-',
      r.contextLength !== undefined ? String(r.contextLength) : '-',
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

export async function runModels(
  opts: ModelOptionValues & { json?: boolean },
  io: Pick<CliIo, 'out' | 'err'> = processIo(),
): Promise<number> {
  const settings = modelSettingsFromOptions(opts);
  const client = createModelClient(settings);
  const members = client.members;
  if (members.length === 1) {
    try {
      const rows = await listModelRows(client);
      if (opts.json) io.out(`${JSON.stringify(rows, null, 2)}\n`);
      else if (rows.length === 0) {
        io.out(`No models installed at ${settings.host}.\n`);
        io.err(
          settings.provider === 'openai'
            ? 'Load a model on the server first.\n'
            : `Install one with \`ollama pull ${settings.model}\`.\n`,
        );
      } else io.out(`${formatModelTable(rows)}\n`);
      return 0;
    } catch (err) {
      io.err(`crucible models: ${cliText(err instanceof Error ? err.message : String(err))}\n`);
      return 1;
    }
  }
  // Several servers (--host given more than once): each one's models, under its URL.
  const results = await Promise.all(
    members.map(async (m) => {
      try {
        return { host: m.settings.host, models: await listModelRows(m) };
      } catch (err) {
        return { host: m.settings.host, error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  if (opts.json) io.out(`${JSON.stringify(results, null, 2)}\n`);
  else {
    const parts = results.map(
      (r) =>
        `${r.host}\n${r.models ? (r.models.length ? formatModelTable(r.models) : '(no models)') : `unreachable: ${r.error}`}`,
    );
    io.out(`${parts.join('\n\n')}\n`);
  }
  for (const r of results) if (r.error !== undefined) io.err(`crucible models: ${r.error}\n`);
  return results.every((r) => r.error !== undefined) ? 1 : 0;
}

export function registerModels(program: Command, io: CliIo = processIo()): void {
  const cmd = program
    .command('models')
    .description('List the models the server offers, with size, parameter count and context length.')
    .option('--json', 'print JSON instead of a table')
    .addHelpText(
      'after',
      examples(
        'crucible models',
        'crucible models --host http://gpu-box:11434 --json',
        'crucible models --provider openai --host http://127.0.0.1:8000/v1',
      ),
    );
  addModelOptions(cmd, { sampling: false }).action((opts: ModelOptionValues & { json?: boolean }) =>
    guarded('models', () => runModels(opts, io), exitCodeFor, io),
  );
}
