// Benchmark: the solve loop's own overhead, with the Ollama-protocol test server answering instantly.
//
//   npx tsx bench/solve.ts [--tasks 20] [--rounds 2] [--repeat 3]
//
// HumanEval tasks from ../shared/data; the "model" answers with the canonical solution, except that
// every 4th task gets a wrong first answer (so critique and refine run too). The model client and the
// verifier are wrapped to measure the wall time during which at least one model request, or at least
// one sandbox run, was in flight. The loop's own overhead is everything else:
//
//   own = solve wall − (time waiting for the model ∪ time waiting for the sandbox)
//
// Printed: per-solve times, own/wall (target < 5%), and the overhead share once the instant server is
// replaced by a model that needs 2 s per answer (a 7B model writing ~80 tokens at ~40 tok/s).
// A baseline in the same run: the same requests and verifications made directly, without the loop.
// JSON goes to bench/results/solve-<timestamp>.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTasks } from '../src/cli/tasks';
import { createModelClient } from '../src/core/model/client';
import type { ChatRequest, ModelClient } from '../src/core/model/types';
import { createProcessSandbox } from '../src/core/sandbox/processSandbox';
import { taskForCode } from '../src/core/solve/placement';
import { solve } from '../src/core/solve/solve';
import type { Candidate, Language, Task } from '../src/core/types';
import { checkSyntax } from '../src/core/parse/syntax';
import type { Verifier } from '../src/core/verify/types';
import { createVerifier } from '../src/core/verify/verifier';
import { extractCode } from '../src/core/model/extract';
import { startOllamaServer, type ChatBody } from '../test/fixtures/ollamaServer';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const TASKS = arg('tasks', 20);
const ROUNDS = arg('rounds', 2);
const REPEAT = arg('repeat', 3);
const REALISTIC_MODEL_MS = 2000;

/** Wall time during which at least one call is in flight. */
class Busy {
  private active = 0;
  private since = 0;
  total = 0;
  calls = 0;
  async time<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active++ === 0) this.since = performance.now();
    this.calls++;
    try {
      return await fn();
    } finally {
      if (--this.active === 0) this.total += performance.now() - this.since;
    }
  }
}

/** Union of two Busy trackers: waiting for the model or the sandbox. */
class Either {
  private active = 0;
  private since = 0;
  total = 0;
  enter(): void {
    if (this.active++ === 0) this.since = performance.now();
  }
  leave(): void {
    if (--this.active === 0) this.total += performance.now() - this.since;
  }
}

const root = join(__dirname, '..');
const dataFile = join(root, '../shared/data/humaneval/HumanEval.jsonl.gz');
const canonical = new Map<string, string>();
for (const line of gunzipSync(readFileSync(dataFile)).toString('utf8').split('\n')) {
  if (!line.trim()) continue;
  const row = JSON.parse(line) as { task_id: string; canonical_solution: string };
  canonical.set(row.task_id, row.canonical_solution);
}
const tasks: Task[] = readTasks(dataFile)
  .tasks.slice(0, TASKS)
  .map((t) => t.task);
const wrongFirst = new Set(tasks.filter((_, i) => i % 4 === 0).map((t) => t.id));

const fence = (code: string): string =>
  `Here is the completed function:\n\n\`\`\`python\n${code.replace(/\s+$/, '')}\n\`\`\`\n`;
function answerFor(body: ChatBody): string {
  const last = body.messages[body.messages.length - 1]?.content ?? '';
  const text = body.messages.map((m) => m.content).join('\n');
  const task = tasks.find((t) => text.includes(`def ${t.entryPoint}(`));
  if (!task) return 'I do not know this task.';
  if (/Explain in a few sentences what is wrong/.test(last))
    return 'The function returns None instead of computing the result.';
  const right = fence(task.prompt + canonical.get(task.id)!);
  if (/Now write the corrected/.test(last)) return right;
  return wrongFirst.has(task.id) ? fence(`${task.prompt}    return None\n`) : right;
}

async function main(): Promise<void> {
  const server = await startOllamaServer({ respond: (body) => ({ content: answerFor(body), chunkSize: 1 << 16 }) });
  const sandbox = createProcessSandbox();
  const realVerifier = createVerifier(sandbox);
  const model = createModelClient({
    provider: 'ollama',
    host: server.url,
    model: 'qwen2.5-coder:7b',
    options: { temperature: 0 },
    firstTokenTimeoutMs: 10_000,
    requestTimeoutMs: 10_000,
    maxParallel: 2,
    headers: {},
    maxRetries: 0,
  });
  const either = new Either();
  const modelBusy = new Busy();
  const syntaxBusy = new Busy();
  let chatCalls = 0;
  const syntax = (language: Language, code: string) => syntaxBusy.time(() => checkSyntax(language, code));
  const verifyBusy = new Busy();
  const wrappedModel: ModelClient = {
    settings: model.settings,
    listModels: (s) => model.listModels(s),
    contextLength: (m, s) =>
      modelBusy.time(async () => {
        either.enter();
        try {
          return await model.contextLength(m, s);
        } finally {
          either.leave();
        }
      }),
    chat: (req: ChatRequest) =>
      modelBusy.time(async () => {
        chatCalls++;
        either.enter();
        try {
          return await model.chat(req);
        } finally {
          either.leave();
        }
      }),
  };
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    (...a: A): Promise<R> =>
      verifyBusy.time(async () => {
        either.enter();
        try {
          return await fn(...a);
        } finally {
          either.leave();
        }
      });
  const verifier: Verifier = {
    verify: wrap(realVerifier.verify.bind(realVerifier)),
    evaluate: wrap(realVerifier.evaluate.bind(realVerifier)),
    judgePuzzle: wrap(realVerifier.judgePuzzle.bind(realVerifier)),
    auditPuzzle: wrap(realVerifier.auditPuzzle.bind(realVerifier)),
  };

  // Warm up the sandbox's worker pool and the parser (not measured).
  await solve(
    tasks[1]!,
    { model: wrappedModel, verifier, checkSyntax: syntax },
    { budget: { samples: 1, refineRounds: 0, maxTokens: 0, wallMs: 0 } },
  );
  modelBusy.total = verifyBusy.total = either.total = syntaxBusy.total = 0;
  modelBusy.calls = verifyBusy.calls = syntaxBusy.calls = chatCalls = 0;

  let wall = 0;
  let baseline = 0;
  let verified = 0;
  let refined = 0;
  let attempts = 0;
  for (let rep = 0; rep < REPEAT; rep++) {
    const started = performance.now();
    for (const task of tasks) {
      const o = await solve(
        task,
        { model: wrappedModel, verifier, checkSyntax: syntax },
        { budget: { samples: 1, refineRounds: ROUNDS, maxTokens: 0, wallMs: 0 } },
      );
      if (o.verified) verified++;
      if (o.verified && o.best!.candidate.round > 0) refined++;
      attempts += o.attempts.length;
      if (o.stopReason === 'error') console.error(`${task.id}: ${o.error}`);
    }
    wall += performance.now() - started;

    // Baseline: the same requests and verifications, made directly in sequence with no loop around them.
    const bStart = performance.now();
    for (const task of tasks) {
      const first = await model.chat({ messages: [{ role: 'user', content: task.prompt }] });
      let code = extractCode(first.text, 'python', task.entryPoint).code ?? '';
      const cand = (c: string, round: number): Candidate => ({ id: `b${round}`, code: c, language: 'python', round });
      const v = await realVerifier.verify(taskForCode(task, code), cand(code, 0));
      if (!v.passed) {
        await model.chat({
          messages: [{ role: 'user', content: `${task.prompt}\nExplain in a few sentences what is wrong` }],
        });
        const r = await model.chat({
          messages: [{ role: 'user', content: `${task.prompt}\nNow write the corrected` }],
        });
        code = extractCode(r.text, 'python', task.entryPoint).code ?? '';
        await realVerifier.verify(taskForCode(task, code), cand(code, 1)); // timed like the loop's, result unused
      }
    }
    baseline += performance.now() - bStart;
  }
  const own = wall - either.total;
  verified /= REPEAT;
  refined /= REPEAT;
  attempts /= REPEAT;

  const n = tasks.length * REPEAT;
  const perSolve = own / n;
  const requestsPerSolve = chatCalls / n;
  const ownWithoutSyntax = own - syntaxBusy.total;
  const projectedWall = (wall - modelBusy.total) / n + requestsPerSolve * REALISTIC_MODEL_MS;
  const result = {
    date: new Date().toISOString(),
    tasks: tasks.length,
    repeat: REPEAT,
    rounds: ROUNDS,
    verified,
    verifiedAfterRefinement: refined,
    attempts,
    modelRequests: chatCalls,
    sandboxRuns: verifyBusy.calls,
    wallMs: round(wall),
    modelWaitMs: round(modelBusy.total),
    sandboxWaitMs: round(verifyBusy.total),
    loopOwnMs: round(own),
    loopOwnPerSolveMs: round(perSolve),
    syntaxPrecheckMs: round(syntaxBusy.total),
    syntaxPrechecks: syntaxBusy.calls,
    loopOwnWithoutSyntaxPerSolveMs: round(ownWithoutSyntax / n, 2),
    ownWithoutSyntaxShareOfWall: round(ownWithoutSyntax / wall, 4),
    nonModelShareWithRealisticModel: round((wall - modelBusy.total) / n / projectedWall, 4),
    ownShareOfWall: round(own / wall, 4),
    ownShareWithRealisticModel: round(perSolve / projectedWall, 4),
    realisticModelMsPerRequest: REALISTIC_MODEL_MS,
    baselineMs: round(baseline),
    loopVsBaseline: round(wall / baseline, 3),
    target: 'loop own overhead < 5% of a solve',
  };
  console.log(
    `solve bench: ${tasks.length} HumanEval tasks × ${REPEAT} (every 4th with a wrong first answer), samples 1, rounds ${ROUNDS}; times summed over all runs`,
  );
  console.log(
    `  per pass: verified ${verified}/${tasks.length} (${refined} after refinement), ${attempts} attempts; in all: ${chatCalls} model requests, ${verifyBusy.calls} sandbox runs`,
  );
  console.log(
    `  wall ${fmt(wall)} = model wait ${fmt(modelBusy.total)} + sandbox wait ${fmt(verifyBusy.total)} + loop's own ${fmt(own)} (overlaps counted once)`,
  );
  console.log(
    `  loop's own overhead: ${perSolve.toFixed(1)} ms per solve = ${(100 * result.ownShareOfWall).toFixed(1)}% of wall with the instant server`,
  );
  console.log(
    `    of which the tree-sitter syntax pre-check: ${(syntaxBusy.total / n).toFixed(1)} ms per solve (${syntaxBusy.calls} checks); the rest: ${(ownWithoutSyntax / n).toFixed(2)} ms per solve = ${(100 * result.ownWithoutSyntaxShareOfWall).toFixed(1)}% of wall`,
  );
  console.log(
    `  with a model needing ${REALISTIC_MODEL_MS} ms per answer: ${(100 * result.ownShareWithRealisticModel).toFixed(2)}% of a solve (target < 5%); everything but the model (sandbox included): ${(100 * result.nonModelShareWithRealisticModel).toFixed(2)}%`,
  );
  console.log(
    `  baseline (same requests and runs, no loop): ${fmt(baseline)}; loop/baseline = ${result.loopVsBaseline}x`,
  );
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `solve-${result.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`  wrote ${out}`);
  await sandbox.dispose();
  await server.close();
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
