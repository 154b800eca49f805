// Self-play end to end: the real `ollama` client talks HTTP to the Ollama-protocol test server (scripted
// puzzle and solution answers), puzzles are probed in the real process sandbox, solutions judged by the
// real verifier, accepted puzzles appended to a real dataset folder, the checkpoint written to disk.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelClient } from '../../src/core/model/client';
import type { ModelSettings } from '../../src/core/model/types';
import { createProcessSandbox } from '../../src/core/sandbox/processSandbox';
import type { Sandbox } from '../../src/core/sandbox/types';
import { createVerifier } from '../../src/core/verify/verifier';
import type { Verifier } from '../../src/core/verify/types';
import { openDataset, type DatasetIo } from '../../src/core/dataset/store';
import type { DatasetRecord } from '../../src/core/types';
import { SelfPlayError, selfPlay } from '../../src/core/selfplay/loop';
import { shippedSeeds } from '../../src/core/selfplay/seeds';
import { readState, StateFileError } from '../../src/core/selfplay/state';
import type { SelfPlayEvent } from '../../src/core/selfplay/types';
import { closedPortUrl, startOllamaServer, type OllamaTestServer } from '../fixtures/ollamaServer';
import { fenced, scriptedModel, type SelfPlayScript } from '../fixtures/selfplay/script';
import { testModelSettings } from '../fixtures/stack';

/** Self-play keeps several puzzles in flight and probes each in the sandbox: a wider pool, more time per call. */
function settings(host: string, extra: Partial<ModelSettings> = {}): ModelSettings {
  return testModelSettings(host, {
    options: { temperature: 0.2, num_ctx: 4096 },
    firstTokenTimeoutMs: 10_000,
    requestTimeoutMs: 10_000,
    maxParallel: 3,
    ...extra,
  });
}

// ---- the scripted run: every kind of puzzle the issue lists ----
const VALID_EASY = `def sat(s: str, n=5):
    return s == "ab" * n`;
const VALID_EASY_SOL = `def sol(n=5):
    return "ab" * n`;
// A near-duplicate of VALID_EASY: renamed variables, a docstring, a comment.
const NEAR_DUPLICATE = `def sat(text: str, count=5):
    """Find the string."""
    # same puzzle, other names
    return text == "ab" * count`;
const VALID_MEDIUM = `def sat(x: int, a=17, b=5):
    return x % a == b and x > 1000`;
const MEDIUM_SOL = `def sol(a=17, b=5):
    return next(k for k in range(1001, 2000) if k % a == b)`;
const WRONG_SOLVED = `def sat(li: List[int], target=91):
    return len(li) == 3 and len(set(li)) == 3 and sum(v * v for v in li) == target`;
const TRIVIAL = `def sat(x: int):
    return x == x`;
const NONDETERMINISTIC = `def sat(x: int):
    import random
    return random.random() < 0.5`;
// Deterministic on every probe, but not on its own answer: the result flips between calls.
const STATEFUL = `def sat(x: int, calls=[]):
    calls.append(1)
    return x == 4242 and len(calls) % 2 == 1`;
const SLOW = `def sat(x: int):
    total = 0
    while total >= 0:
        total += 1
    return x == total`;
const SEED_TWIN = `def sat(n: int, p=3, q=-17, r=-28):
    return p * n * n + q * n + r == 0`;
const UNSAFE = `import os

def sat(path: str):
    return os.path.exists(path) and len(path) > 3`;
const UNTYPED = `def sat(x):
    return x == 12345`;
const TYPE_MISMATCH = `def sat(x: int):
    return x == 2.5`;

/** A generation answer: sat, optionally the solver and a known-wrong answer `wrong()` (Self-Challenging). */
function puzzleAnswer(sat: string, sol?: string, wrong?: string): string {
  const code = [sat, sol, wrong !== undefined ? `def wrong():\n    return ${wrong}` : undefined]
    .filter(Boolean)
    .join('\n\n');
  return `Here is a new puzzle.\n\n${fenced(code)}\n\nIt is a nice one.`;
}

function fullScript(): SelfPlayScript {
  return {
    puzzles: [
      puzzleAnswer(VALID_EASY, VALID_EASY_SOL, '"ab" * 4'),
      puzzleAnswer(VALID_MEDIUM, MEDIUM_SOL),
      puzzleAnswer('def sat(x: int:\n    return x == 3', 'def sol():\n    return 3'),
      puzzleAnswer(TRIVIAL, 'def sol():\n    return 1'),
      puzzleAnswer(NONDETERMINISTIC),
      puzzleAnswer(WRONG_SOLVED, 'def sol(target=91):\n    return [1, 3, 9]'),
      puzzleAnswer(SLOW),
      puzzleAnswer(NEAR_DUPLICATE, 'def sol(count=5):\n    return "ab" * count'),
      puzzleAnswer(SEED_TWIN),
      'I am sorry, I cannot write puzzles today.',
      puzzleAnswer(UNSAFE),
      puzzleAnswer(UNTYPED),
      puzzleAnswer(TYPE_MISMATCH, 'def sol():\n    return 2.5'),
      { content: 'model crashed', fault: 'http-500' },
      puzzleAnswer(STATEFUL),
    ],
    solvers: [
      {
        match: '"ab" *',
        answers: [fenced('def sol(n=5):\n    return "ab" * n'), fenced('def sol(count=5):\n    return "ab" * count')],
      },
      {
        match: 'x % a == b',
        answers: [
          fenced(MEDIUM_SOL),
          fenced('def sol(a=17, b=5):\n    return 5'),
          'Let me think about it... the answer is probably 1005.',
          `<think>easy</think>\n${fenced('def sol(a=17, b=5):\n    return 1000 + (b - 1000) % a')}`,
        ],
      },
      {
        match: 'v * v for v in li',
        answers: [
          fenced('def sol(target=91):\n    return [1, 2, 3]'),
          fenced('def sol(target=91):\n    return [9, 1]'),
        ],
      },
      { match: 'x == 2.5', answers: [fenced('def sol():\n    return 2.5')] },
      { match: 'len(calls) % 2', answers: [fenced('def sol():\n    return 4242')] },
    ],
  };
}

describe('self-play loop (test server, real sandbox and verifier)', function () {
  this.timeout(60_000);
  let sandbox: Sandbox;
  let verifier: Verifier;
  let server: OllamaTestServer | undefined;
  let dir: string;

  before(() => {
    sandbox = createProcessSandbox({ workers: 2 });
    verifier = createVerifier(sandbox);
  });
  after(async () => {
    await sandbox.dispose();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crucible-selfplay-'));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts exactly the valid, unique, solved puzzles and counts every rejection under its reason', async () => {
    const model = scriptedModel(fullScript());
    server = await startOllamaServer({ respond: model.respond });
    const dataset = await openDataset(join(dir, 'dataset'));
    const events: SelfPlayEvent[] = [];
    const script = fullScript();
    const report = await selfPlay(
      { model: createModelClient(settings(server.url)), verifier, sandbox, dataset },
      {
        seeds: shippedSeeds(),
        count: 100,
        maxGenerations: script.puzzles.length,
        samples: 4,
        satTimeoutMs: 300,
        statePath: join(dir, 'state.json'),
        seed: 7,
        onEvent: (e) => events.push(e),
      },
    );
    assert.equal(report.stopReason, 'budget', report.error);
    assert.equal(report.generated, 15);
    assert.equal(report.accepted, 2);
    assert.deepEqual(report.rejected, {
      no_code: 1,
      syntax: 1,
      untyped: 1,
      unsafe: 1,
      duplicate: 2,
      slow: 1,
      nondeterministic: 2,
      trivial: 1,
      type_mismatch: 1,
      unsolved: 1,
      no_wrong_answer: 0,
      model_error: 1,
    });
    const rejectedEvents = events.filter(
      (e): e is Extract<SelfPlayEvent, { kind: 'rejected' }> => e.kind === 'rejected',
    );
    assert.equal(rejectedEvents.length, 13);
    assert.ok(
      rejectedEvents.some((e) => e.reason === 'nondeterministic' && /same verified answer/.test(e.detail)),
      'the audit caught the stateful sat',
    );
    const dup = rejectedEvents.filter((e) => e.reason === 'duplicate').map((e) => e.detail);
    assert.ok(
      dup.some((d) => /seed IntegerRoot:0/.test(d)),
      dup.join(' | '),
    );

    // The accepted puzzles: one of the "ab" twins (solve rate 1) and the medium one (2 of 4 solved).
    const state = (await readState(join(dir, 'state.json')))!;
    const byRate = state.accepted.map((a) => [a.puzzle.sat.includes('"ab"'), a.puzzle.solveRate]).sort();
    assert.deepEqual(byRate, [
      [false, 0.5],
      [true, 1],
    ]);
    const medium = state.accepted.find((a) => a.puzzle.sat.includes('x % a == b'))!;
    assert.equal(medium.solved, 2);
    assert.equal(medium.answered, 4);
    assert.equal(medium.puzzle.solHeader, 'def sol(a=17, b=5):');
    assert.equal(medium.puzzle.ansType, 'int');

    // The dataset holds both, origin self-play, with verified solutions and the failed attempts.
    const records: DatasetRecord[] = [];
    for await (const r of dataset.read()) records.push(r);
    assert.equal(records.length, 2);
    for (const r of records) {
      assert.equal(r.task.origin, 'self-play');
      assert.equal(r.verified, true);
      assert.ok(r.solution && /def sol\(/.test(r.solution));
      assert.ok(r.puzzle && r.puzzle.solBodies.length >= 1);
    }
    const mediumRecord = records.find((r) => r.puzzle!.sat.includes('x % a == b'))!;
    assert.equal(mediumRecord.difficulty, 0.5);
    const failed = mediumRecord.attempts.filter((a) => !a.verdict.passed);
    assert.ok(failed.length >= 2, 'the wrong and the broken solutions are kept as failed attempts');
    assert.ok(failed.some((a) => /sat\(answer\) returned False/.test(a.verdict.feedback)));
    // Solvers never see the generator's solution.
    for (const body of model.solveRequests) {
      const user = body.messages.map((m) => m.content).join('\n');
      assert.ok(!user.includes('range(1001, 2000)'), 'a solve prompt leaked the generator solution');
    }
    // The unsolved puzzle asked the curriculum for an easier variant (when a ticket was left to take it).
    assert.ok(report.curriculum.ladder.requested <= 1);
    assert.ok(report.curriculum.arms.length > 0);
    assert.ok(report.sandboxJobs > 14);
  });

  it('asks for an easier variant of a puzzle nobody solved (LADDER) and reports it', async () => {
    const hard = `def sat(li: List[int], n=40):\n    return len(li) == n and all(li[i] * li[i] == li[i + 1] for i in range(n - 1)) and li[0] == 3`;
    const easier = `def sat(li: List[int], n=3):\n    return len(li) == n and all(li[i] * 2 == li[i + 1] for i in range(n - 1)) and li[0] == 3`;
    const model = scriptedModel({
      puzzles: [puzzleAnswer(hard)],
      after: puzzleAnswer(easier, undefined, '[3, 6, 13]'),
      solvers: [
        { match: 'li[i] * li[i]', answers: [fenced('def sol(n=40):\n    return [3] * n')] },
        { match: 'li[i] * 2', answers: [fenced('def sol(n=3):\n    return [3, 6, 12]')] },
      ],
    });
    server = await startOllamaServer({ respond: model.respond });
    const report = await selfPlay(
      { model: createModelClient(settings(server.url)), verifier, sandbox },
      { seeds: shippedSeeds(), count: 1, maxGenerations: 4, samples: 2, concurrency: 1, ladderShare: 1, seed: 3 },
    );
    assert.equal(report.stopReason, 'count', report.error);
    assert.equal(report.rejected.unsolved, 1);
    assert.deepEqual(report.curriculum.ladder, { requested: 1, accepted: 1 });
    const variantAsk = model.generationRequests[1]!.messages[1]!.content;
    assert.match(variantAsk, /easier variant/);
    assert.ok(variantAsk.includes('li[i] * li[i] == li[i + 1]'), 'the variant prompt shows the unsolved puzzle');
    assert.equal(
      report.curriculum.windows.reduce((n, w) => n + w.variants, 0),
      1,
    );
  });

  it('stops promptly when cancelled, aborting the model request, and keeps the checkpoint', async () => {
    const controller = new AbortController();
    // The request reaching the server is the signal to cancel; the 20 s it would take to answer is what a
    // prompt stop must not wait for (the aborted request shows it did not).
    server = await startOllamaServer({
      respond: () => {
        setImmediate(() => controller.abort());
        return { content: fenced(VALID_EASY), delayBeforeHeadersMs: 20_000 };
      },
    });
    const statePath = join(dir, 'state.json');
    const run = selfPlay(
      { model: createModelClient(settings(server.url)), verifier, sandbox },
      { seeds: shippedSeeds(), count: 5, samples: 2, statePath, signal: controller.signal },
    );
    const report = await run;
    assert.equal(report.stopReason, 'cancelled');
    await server.waitForAborted(1, 3000);
    const state = await readState(statePath);
    assert.ok(state, 'the checkpoint was written');
    assert.equal(state!.accepted.length, 0);
  });

  it('resumes from the checkpoint: earlier accepted puzzles stay, the run continues to the new target', async () => {
    let i = 0;
    const unique = (): string => {
      i++;
      return puzzleAnswer(
        `def sat(x: int, k=${i}):\n    return x == k * 7919 + 13`,
        `def sol(k=${i}):\n    return k * 7919 + 13`,
        '7919 + 14',
      );
    };
    server = await startOllamaServer({
      respond: (body) => {
        if (body.messages[0]!.content.startsWith('You write')) return unique();
        const k = /k=(\d+)/.exec(body.messages[1]!.content)![1];
        return fenced(`def sol(k=${k}):\n    return k * 7919 + 13`);
      },
    });
    const statePath = join(dir, 'state.json');
    const deps = {
      model: createModelClient(settings(server.url)),
      verifier,
      sandbox,
      dataset: await openDataset(join(dir, 'ds')),
    };
    const first = await selfPlay(deps, { seeds: shippedSeeds(), count: 1, samples: 1, statePath, concurrency: 1 });
    assert.equal(first.stopReason, 'count');
    assert.equal(first.accepted, 1);
    await assert.rejects(
      selfPlay(deps, { seeds: shippedSeeds(), count: 3, samples: 1, statePath }),
      (err: Error) => err instanceof SelfPlayError && /--resume/.test(err.message),
    );
    const second = await selfPlay(deps, {
      seeds: shippedSeeds(),
      count: 3,
      samples: 1,
      statePath,
      resume: true,
      concurrency: 1,
    });
    assert.equal(second.stopReason, 'count');
    assert.equal(second.resumed, true);
    assert.equal(second.accepted, 3);
    const state = (await readState(statePath))!;
    assert.equal(state.accepted.length, 3);
    assert.equal(new Set(state.accepted.map((a) => a.puzzle.name)).size, 3);
    assert.ok(state.accepted[0]!.puzzle.sat.includes('k=1'));
    assert.equal(deps.dataset.size(), 3);
  });

  it('explains what to do when there is nothing to resume or the checkpoint is corrupt', async () => {
    server = await startOllamaServer({ respond: () => 'nothing' });
    const deps = { model: createModelClient(settings(server.url)), verifier, sandbox };
    const statePath = join(dir, 'state.json');
    await assert.rejects(
      selfPlay(deps, { seeds: shippedSeeds(), count: 1, samples: 1, statePath, resume: true }),
      /Nothing to resume.*without --resume/,
    );
    writeFileSync(statePath, '{"version": 1, "accep');
    await assert.rejects(
      selfPlay(deps, { seeds: shippedSeeds(), count: 1, samples: 1, statePath, resume: true }),
      (err: Error) => err instanceof StateFileError && /not valid JSON.*Delete it/.test(err.message),
    );
    await assert.rejects(selfPlay(deps, { seeds: [], count: 1, samples: 1 }), /No seed puzzles/);
  });

  it('ends with an error report naming the fix when the model server is down', async () => {
    const url = await closedPortUrl();
    const report = await selfPlay(
      { model: createModelClient(settings(url)), verifier, sandbox },
      { seeds: shippedSeeds(), count: 2, samples: 1, statePath: join(dir, 'state.json') },
    );
    assert.equal(report.stopReason, 'error');
    assert.match(report.error ?? '', /Cannot reach Ollama/);
    assert.equal(report.accepted, 0);
    const saved = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { generated: number };
    assert.equal(saved.generated, 0, 'the puzzle lost to the dead server is not counted');
  });

  it("stops with the dataset's fix when the disk is full, claiming nothing it could not store", async () => {
    server = await startOllamaServer({
      respond: (body) =>
        body.messages[0]!.content.startsWith('You write')
          ? puzzleAnswer(VALID_MEDIUM, MEDIUM_SOL, '1005')
          : fenced(MEDIUM_SOL),
    });
    const full: DatasetIo = {
      write: async () => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    };
    const dataset = await openDataset(join(dir, 'ds'), { io: full });
    const statePath = join(dir, 'state.json');
    const report = await selfPlay(
      { model: createModelClient(settings(server.url)), verifier, sandbox, dataset },
      { seeds: shippedSeeds(), count: 2, samples: 1, concurrency: 1, statePath },
    );
    assert.equal(report.stopReason, 'error');
    assert.match(report.error ?? '', /is full \(ENOSPC\).*Free space/);
    assert.equal(report.accepted, 0);
    assert.equal((await readState(statePath))!.accepted.length, 0, 'the checkpoint does not claim the unstored puzzle');
  });

  it('counts a puzzle being stored as taken: its twin, written meanwhile, is a duplicate', async () => {
    // The first puzzle's record is held at the dataset write until the second puzzle has been screened
    // (its solve request arrives, or it is rejected): between "checked" and "accepted" the hash must stay taken.
    let archiving!: () => void;
    const archiveStarted = new Promise<void>((resolve) => (archiving = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let generations = 0;
    server = await startOllamaServer({
      respond: async (body) => {
        if (body.messages[0]!.content.startsWith('You write')) {
          generations++;
          if (generations === 1) return puzzleAnswer(VALID_EASY, VALID_EASY_SOL, '"ab" * 4');
          // A ticket being stored still counts against maxGenerations: a third would be over budget.
          if (generations > 2) return 'No puzzle this time.';
          await archiveStarted;
          return puzzleAnswer(NEAR_DUPLICATE, 'def sol(count=5):\n    return "ab" * count', '"ab"');
        }
        if (body.messages[1]!.content.includes('text ==')) release();
        return fenced(VALID_EASY_SOL);
      },
    });
    const held: DatasetIo = {
      write: async (handle, data) => {
        archiving();
        // Without the fix the twin is solved instead of rejected; the timeout keeps that failure from hanging.
        await Promise.race([released, new Promise((resolve) => setTimeout(resolve, 10_000))]);
        await handle.write(data);
      },
    };
    const dataset = await openDataset(join(dir, 'ds'), { io: held });
    const events: SelfPlayEvent[] = [];
    const report = await selfPlay(
      { model: createModelClient(settings(server.url)), verifier, sandbox, dataset },
      {
        seeds: shippedSeeds(),
        count: 2,
        maxGenerations: 2,
        samples: 1,
        concurrency: 2,
        seed: 5,
        onEvent: (e) => (events.push(e), e.kind === 'rejected' && release()),
      },
    );
    assert.equal(report.accepted, 1, report.error);
    assert.equal(report.rejected.duplicate, 1);
    const dup = events.find(
      (e): e is Extract<SelfPlayEvent, { kind: 'rejected' }> => e.kind === 'rejected' && e.reason === 'duplicate',
    );
    assert.equal(dup?.detail, 'same normalised AST as a puzzle being checked');
    assert.equal(generations, 2, 'no puzzle is written beyond maxGenerations while one is being stored');
  });

  it('stops after repeated model failures instead of burning the budget', async () => {
    server = await startOllamaServer({ respond: () => ({ content: 'overloaded', fault: 'http-500' }) });
    const report = await selfPlay(
      { model: createModelClient(settings(server.url)), verifier, sandbox },
      { seeds: shippedSeeds(), count: 2, samples: 1, maxGenerations: 50, concurrency: 1 },
    );
    assert.equal(report.stopReason, 'error');
    assert.equal(report.rejected.model_error, 5);
    assert.match(report.error ?? '', /failed on 5 puzzles in a row/);
  });
});
