// `crucible eval TASKS --strategies resample,refine,trace,sstar`: the same tasks under each strategy at an
// equal budget (core/solve/strategies.ts), printed as a table and written as a JSON file.

import { writeFileSync } from 'node:fs';
import { modelSettingsFromOptions, type ModelOptionValues } from '../modelOptions';
import { createModelClient } from '../../core/model/client';
import { createVerifier } from '../../core/verify/verifier';
import {
  evaluateStrategies,
  formatStrategyTable,
  isStrategy,
  STRATEGIES,
  type StrategyName,
} from '../../core/solve/strategies';
import type { Budget } from '../../core/types';
import { readTasks } from '../tasks';
import { lazySandbox } from '../../core/engine';
import { processIo, type CliIo } from '../io';
import { pythonFrom } from '../shared';

/** Default completion-token budget per task when --max-tokens is not given: strategies are compared at an equal budget. */
export const DEFAULT_STRATEGY_TOKENS = 4000;

export function parseStrategies(value: string): StrategyName[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.filter((n) => !isStrategy(n));
  if (bad.length > 0 || names.length === 0) {
    throw new Error(
      `--strategies takes a comma-separated list of ${STRATEGIES.join(', ')} (got ${JSON.stringify(value)})`,
    );
  }
  return [...new Set(names)] as StrategyName[];
}

export interface StrategyEvalOptions {
  strategies: string;
  samples: number;
  rounds: number;
  maxTokens: number;
  /** Wall time per task, ms (--wall-time; 0: no limit). */
  wallTime?: number;
  limit?: number;
  report?: string;
  json?: boolean;
  /** Wall and CPU time of one test run, ms (--timeout). */
  timeout?: number;
  memoryMb?: number;
  python?: string;
  [key: string]: unknown;
}

/** The report's table on stdout, its JSON in --report, and the exit code. */
function writeReport(
  report: Awaited<ReturnType<typeof evaluateStrategies>>,
  opts: StrategyEvalOptions,
  io: CliIo,
  interrupted: boolean,
  malformed: number,
): number {
  const reportPath = opts.report ?? 'crucible-eval.json';
  writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  io.out(opts.json ? `${JSON.stringify(report)}\n` : formatStrategyTable(report));
  io.err(`crucible eval: report written to ${reportPath}\n`);
  if (interrupted) {
    io.err('crucible eval: interrupted; the table covers the tasks finished before it\n');
    return 1;
  }
  return malformed > 0 || report.strategies.some((s) => s.errors > 0) ? 1 : 0;
}

export async function runStrategyEval(
  file: string,
  opts: StrategyEvalOptions,
  io: CliIo = processIo(),
): Promise<number> {
  const strategies = parseStrategies(opts.strategies);
  const taskFile = readTasks(file);
  for (const e of taskFile.errors) io.err(`crucible eval: ${file} line ${e.line}: ${e.message}\n`);
  let tasks = taskFile.tasks.map((t) => t.task);
  if (opts.limit !== undefined) tasks = tasks.slice(0, opts.limit);
  const settings = modelSettingsFromOptions(opts as ModelOptionValues);
  const model = createModelClient(settings);
  const python = pythonFrom(opts.python);
  const sandbox = lazySandbox({
    ...(python ? { python } : {}),
    limits: {
      ...(opts.timeout ? { wallMs: opts.timeout, cpuMs: opts.timeout } : {}),
      ...(opts.memoryMb ? { memoryMb: opts.memoryMb } : {}),
    },
  });
  const verifier = createVerifier(sandbox);
  const budget: Budget = {
    samples: opts.samples,
    refineRounds: opts.rounds,
    maxTokens: opts.maxTokens > 0 ? opts.maxTokens : DEFAULT_STRATEGY_TOKENS,
    wallMs: opts.wallTime ?? 0,
  };
  const control = new AbortController();
  const stopListening = io.onInterrupt(() => control.abort());
  try {
    const report = await evaluateStrategies(
      tasks,
      { model, verifier, sandbox },
      {
        strategies,
        budget,
        signal: control.signal,
        onTask: (strategy, task, solved, done, total) => {
          if (io.stderrIsTTY)
            io.err(
              `\r\x1b[Kcrucible eval: ${done}/${total} ${strategy} ${task.id} ${solved ? 'solved' : 'not solved'}`,
            );
        },
      },
    );
    if (io.stderrIsTTY) io.err('\r\x1b[K');
    return writeReport(report, opts, io, control.signal.aborted, taskFile.errors.length);
  } finally {
    stopListening();
    await sandbox.dispose();
  }
}
