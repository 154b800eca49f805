// Benchmark: self-play throughput, puzzles checked per second, with the Ollama-protocol test server.
//
//   npx tsx bench/selfplay.ts [--puzzles 40] [--samples 2] [--concurrency 4] [--latency 150]
//
// The "model" writes P3 train puzzles (../shared/data/p3/train.json, in file order, with their reference
// solvers) and solves each with its reference solution, so every stage runs for real: the validity probes,
// the judge (two sandbox jobs per solution), the audit, the dataset-free accept path and the checkpoint.
// Baseline, measured in the same run: the same puzzles with one puzzle in flight at a time (the model waits
// for the sandbox and the sandbox for the model). Pipelined: `--concurrency` puzzles in flight.
// Two settings: the server answering instantly (as the issue asks), and answering after `--latency` ms
// (a model that needs time), where overlapping model and sandbox work matters most.
// Also printed: the share of wall time the sandbox was busy, and how many P3 train puzzles the filters keep.
// JSON goes to bench/results/selfplay-<timestamp>.json.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelClient } from '../src/core/model/client';
import { createProcessSandbox } from '../src/core/sandbox/processSandbox';
import type { PairRequest, RunRequest, Sandbox, TranspileOptions } from '../src/core/sandbox/types';
import { createVerifier } from '../src/core/verify/verifier';
import { selfPlay } from '../src/core/selfplay/loop';
import { GENERATE_SYSTEM } from '../src/core/selfplay/prompts';
import { puzzleFromP3, solutionSource } from '../src/core/selfplay/puzzle';
import { shippedSeeds } from '../src/core/selfplay/seeds';
import type { SelfPlayReport } from '../src/core/selfplay/types';
import type { Puzzle } from '../src/core/types';
import { startOllamaServer, type ChatBody } from '../test/fixtures/ollamaServer';
import { fenced, satOfPrompt } from '../test/fixtures/selfplay/script';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const PUZZLES = arg('puzzles', 40);
const SAMPLES = arg('samples', 2);
const CONCURRENCY = arg('concurrency', 4);
const LATENCY = arg('latency', 150);

/** Wall time during which at least one sandbox job is running. */
class BusySandbox implements Sandbox {
  private active = 0;
  private since = 0;
  busyMs = 0;
  jobs = 0;
  constructor(private readonly inner: Sandbox) {}
  async run(request: RunRequest, signal?: AbortSignal) {
    if (this.active++ === 0) this.since = performance.now();
    this.jobs++;
    try {
      return await this.inner.run(request, signal);
    } finally {
      if (--this.active === 0) this.busyMs += performance.now() - this.since;
    }
  }
  async runPair(request: PairRequest, signal?: AbortSignal) {
    if (this.active++ === 0) this.since = performance.now();
    this.jobs++;
    try {
      return await this.inner.runPair(request, signal);
    } finally {
      if (--this.active === 0) this.busyMs += performance.now() - this.since;
    }
  }
  transpile(source: string, options?: TranspileOptions) {
    return this.inner.transpile(source, options);
  }
  isolation() {
    return this.inner.isolation();
  }
  dispose() {
    return this.inner.dispose();
  }
}

function loadP3(): Puzzle[] {
  const raw = JSON.parse(readFileSync(join(__dirname, '../../shared/data/p3/train.json'), 'utf8')) as unknown[];
  return raw
    .map((e, i) => puzzleFromP3(e, i))
    .filter((p): p is Puzzle => typeof p !== 'string' && p.solBodies.length > 0);
}

interface Measured {
  label: string;
  concurrency: number;
  latencyMs: number;
  seconds: number;
  puzzlesPerSecond: number;
  accepted: number;
  rejected: SelfPlayReport['rejected'];
  sandboxBusyShare: number;
  sandboxJobs: number;
}

async function measure(label: string, pool: Puzzle[], concurrency: number, latencyMs: number): Promise<Measured> {
  const bySat = new Map(pool.map((p) => [p.sat.trim(), solutionSource(p)!]));
  let next = 0;
  const server = await startOllamaServer({
    respond: (body: ChatBody) => {
      const delay = latencyMs ? { delayBeforeHeadersMs: latencyMs } : {};
      if (body.messages[0]!.content === GENERATE_SYSTEM) {
        const p = pool[next++ % pool.length]!;
        return { content: fenced(`${p.sat}\n\n${solutionSource(p)}`), chunkSize: 4096, ...delay };
      }
      const sol = bySat.get(satOfPrompt(body).trim());
      return { content: sol ? fenced(sol) : 'no idea', chunkSize: 4096, ...delay };
    },
  });
  const sandbox = new BusySandbox(createProcessSandbox());
  const dir = mkdtempSync(join(tmpdir(), 'crucible-bench-selfplay-'));
  try {
    const model = createModelClient({
      provider: 'ollama',
      host: server.url,
      model: 'qwen2.5-coder:7b',
      options: { num_ctx: 4096 },
      firstTokenTimeoutMs: 30_000,
      requestTimeoutMs: 30_000,
      maxParallel: Math.max(2, concurrency * SAMPLES),
      headers: {},
      maxRetries: 0,
    });
    const started = performance.now();
    const report = await selfPlay(
      { model, verifier: createVerifier(sandbox), sandbox },
      {
        seeds: shippedSeeds(),
        count: PUZZLES,
        maxGenerations: PUZZLES,
        samples: SAMPLES,
        concurrency,
        statePath: join(dir, 'state.json'),
        seed: 1,
      },
    );
    const seconds = (performance.now() - started) / 1000;
    if (report.stopReason === 'error') throw new Error(report.error);
    return {
      label,
      concurrency,
      latencyMs,
      seconds: round(seconds),
      puzzlesPerSecond: round(report.generated / seconds),
      accepted: report.accepted,
      rejected: report.rejected,
      sandboxBusyShare: round(sandbox.busyMs / (seconds * 1000)),
      sandboxJobs: sandbox.jobs,
    };
  } finally {
    await sandbox.dispose();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

async function main(): Promise<void> {
  const all = loadP3();
  // Distinct families spread over the file so the filters meet varied puzzles.
  const step = Math.max(1, Math.floor(all.length / PUZZLES));
  const pool = all.filter((_, i) => i % step === 0).slice(0, PUZZLES);
  const runs: Measured[] = [];
  for (const latency of [0, LATENCY]) {
    const base = await measure('sequential', pool, 1, latency);
    const pipe = await measure('pipelined', pool, CONCURRENCY, latency);
    runs.push(base, pipe);
    const ratio = pipe.puzzlesPerSecond / base.puzzlesPerSecond;
    console.log(
      `model latency ${latency} ms: sequential ${base.puzzlesPerSecond} puzzles/s (sandbox busy ${(base.sandboxBusyShare * 100).toFixed(0)}%), ` +
        `pipelined ×${CONCURRENCY} ${pipe.puzzlesPerSecond} puzzles/s (sandbox busy ${(pipe.sandboxBusyShare * 100).toFixed(0)}%): ratio ${ratio.toFixed(2)}`,
    );
  }
  const kept = runs[0]!;
  console.log(
    `P3 train puzzles kept by the filters: ${kept.accepted}/${PUZZLES}; rejected ${JSON.stringify(Object.fromEntries(Object.entries(kept.rejected).filter(([, n]) => n > 0)))}`,
  );
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  const out = join(__dirname, 'results', `selfplay-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, JSON.stringify({ puzzles: PUZZLES, samples: SAMPLES, concurrency: CONCURRENCY, runs }, null, 1));
  console.log(`wrote ${out}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
