// `crucible eval --strategies resample,refine,trace,sstar` on the HumanEval sample, through the
// Ollama-protocol test server with the scripted model of test/fixtures/humanevalModel.ts.
//
//   npx tsx bench/evalStrategies.ts [--tasks 8] [--samples 2] [--rounds 2]
//
// Prints the CLI's table; the JSON report goes to bench/results/eval-strategies-<timestamp>.json.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCrucible } from '../test/fixtures/cli';
import { startOllamaServer } from '../test/fixtures/ollamaServer';
import { HUMANEVAL_FILE, humanEvalModel, humanEvalRows, KINDS } from '../test/fixtures/humanevalModel';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

async function main(): Promise<void> {
  const tasks = arg('tasks', 8);
  const rows = humanEvalRows();
  const model = humanEvalModel(rows);
  const server = await startOllamaServer({ respond: model.respond });
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const report = join(dir, `eval-strategies-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  try {
    const args = [
      'eval',
      HUMANEVAL_FILE,
      '--limit',
      String(tasks),
      '--strategies',
      'resample,refine,trace,sstar',
      '--host',
      server.url,
      '--model',
      'qwen2.5-coder:7b',
      '--samples',
      String(arg('samples', 2)),
      '--rounds',
      String(arg('rounds', 2)),
      '--report',
      report,
    ];
    const run = await runCrucible(args, { timeoutMs: 600_000 });
    process.stdout.write(`$ crucible ${args.join(' ').replace(server.url, '<test server>')}\n`);
    process.stdout.write(run.stdout);
    process.stderr.write(run.stderr);
    process.stdout.write(
      `\ntask kinds (scripted): ${rows
        .slice(0, tasks)
        .map((r, i) => `${r.task_id}=${KINDS[i % KINDS.length]}`)
        .join(', ')}\n`,
    );
    process.stdout.write(
      `model requests: ${server.requests.filter((r) => r.path === '/api/chat').length}; exit code ${run.code}\n`,
    );
  } finally {
    await server.close();
  }
}

void main();
