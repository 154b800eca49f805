// `crucible selfplay`, spawned as a real process against the Ollama-protocol test server: a run killed
// with SIGKILL resumes from its checkpoint and loses nothing it had accepted; bad flags and files give
// clear errors and the documented exit codes.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOllamaServer, type ChatBody, type OllamaTestServer, type ScriptedReply } from '../fixtures/ollamaServer';
import { GENERATE_SYSTEM } from '../../src/core/selfplay/prompts';
import { fenced } from '../fixtures/selfplay/script';
import { startCrucible, type StartedCli } from '../fixtures/cli';

const MODEL = 'qwen2.5-coder:7b';

const start = (args: string[]): StartedCli => startCrucible(args, { timeoutMs: 40_000 });

/** A model whose k-th generation answer is a fresh puzzle `x == k * 7919 + 13`, solved correctly, with a known-wrong answer. */
function uniquePuzzles(hangAfter: { n: number }): (body: ChatBody) => string | ScriptedReply {
  let k = 0;
  return (body) => {
    if (body.messages[0]!.content === GENERATE_SYSTEM) {
      k++;
      const reply = fenced(
        `def sat(x: int, k=${k}):\n    return x == k * 7919 + 13\n\ndef sol(k=${k}):\n    return k * 7919 + 13\n\ndef wrong():\n    return ${k} * 7919 + 14`,
      );
      return k > hangAfter.n ? { content: reply, delayBeforeHeadersMs: 60_000 } : reply;
    }
    const m = /k=(\d+)/.exec(body.messages[1]!.content);
    return fenced(`def sol(k=${m ? m[1] : 0}):\n    return k * 7919 + 13`);
  };
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function acceptedIn(statePath: string): string[] {
  try {
    return (JSON.parse(readFileSync(statePath, 'utf8')) as { accepted: { puzzle: { sat: string } }[] }).accepted.map(
      (a) => a.puzzle.sat,
    );
  } catch {
    return [];
  }
}

describe('crucible selfplay (spawned CLI)', function () {
  this.timeout(90_000);
  let server: OllamaTestServer | undefined;
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crucible-selfplay-cli-'));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a run killed with SIGKILL resumes from its checkpoint and keeps what it accepted', async () => {
    const hang = { n: 2 };
    server = await startOllamaServer({ respond: uniquePuzzles(hang) });
    const dataset = join(dir, 'dataset');
    const statePath = join(dataset, 'selfplay-state.json');
    const base = [
      'selfplay',
      '--host',
      server.url,
      '--model',
      MODEL,
      '--count',
      '4',
      '--samples',
      '2',
      '--dataset',
      dataset,
      '--concurrency',
      '1',
      '--run-seed',
      '3',
    ];

    const first = start(base);
    await waitFor(() => acceptedIn(statePath).length >= 2, 30_000, 'two accepted puzzles in the checkpoint');
    // The third puzzle's request is hanging: kill the run mid-flight.
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.code, null);
    const before = acceptedIn(statePath);
    assert.equal(before.length, 2);

    hang.n = Infinity;
    // No --count: the resumed run keeps the target it was started with.
    const again = start([
      'selfplay',
      '--host',
      server.url,
      '--model',
      MODEL,
      '--samples',
      '2',
      '--dataset',
      dataset,
      '--concurrency',
      '1',
      '--resume',
    ]);
    const run = await again.done;
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /4\/4 puzzles accepted/);
    assert.match(run.stdout, /resumed run/);
    const after = acceptedIn(statePath);
    assert.equal(after.length, 4);
    assert.deepEqual(after.slice(0, 2), before, 'the puzzles accepted before the kill are kept');
    const records = readFileSync(join(dataset, 'records.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { task: { origin: string }; puzzle: { sat: string } });
    assert.equal(records.length, 4);
    assert.equal(new Set(records.map((r) => r.puzzle.sat)).size, 4);
    assert.ok(records.every((r) => r.task.origin === 'self-play'));
  });

  it('Ctrl-C stops the run cleanly: the hanging request is aborted, the checkpoint kept, the report printed', async () => {
    server = await startOllamaServer({ respond: uniquePuzzles({ n: 1 }) });
    const statePath = join(dir, 'state.json');
    const run = start([
      'selfplay',
      '--host',
      server.url,
      '--model',
      MODEL,
      '--count',
      '3',
      '--samples',
      '1',
      '--state',
      statePath,
      '--concurrency',
      '1',
    ]);
    await waitFor(
      () => acceptedIn(statePath).length >= 1 && server!.activeGenerations > 0,
      30_000,
      'one accepted puzzle and a hanging request',
    );
    run.child.kill('SIGINT');
    const result = await run.done;
    assert.equal(result.code, 130);
    assert.match(
      result.stderr,
      /interrupted; 1 accepted puzzle\(s\) are kept in .*state\.json; rerun the same command with --resume to continue/,
    );
    assert.match(result.stdout, /1\/3 puzzles accepted.*stopped/);
    await server.waitForAborted(1, 5000);
    assert.equal(acceptedIn(statePath).length, 1);
  });

  it("writes the report as JSON, and the accepted puzzles as P3's puzzles.json with --out, which crucible verify reads back", async () => {
    server = await startOllamaServer({ respond: uniquePuzzles({ n: Infinity }) });
    const out = join(dir, 'run.json');
    const run = await start([
      'selfplay',
      '--host',
      server.url,
      '--model',
      MODEL,
      '--count',
      '2',
      '--samples',
      '1',
      '--state',
      join(dir, 's.json'),
      '--out',
      out,
      '--json',
    ]).done;
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      accepted: number;
      stopReason: string;
      rejected: { [k: string]: number };
    };
    assert.equal(report.accepted, 2);
    assert.equal(report.stopReason, 'count');
    const written = JSON.parse(readFileSync(out, 'utf8')) as {
      sat: string;
      ans_type: string;
      sol_header: string;
      sol_bodies: string[];
      module: string;
    }[];
    assert.ok(Array.isArray(written), 'a P3 puzzles.json is a JSON array');
    assert.equal(written.length, 2);
    for (const p of written) {
      assert.deepEqual(Object.keys(p), [
        'name',
        'sat',
        'ans_type',
        'sol_header',
        'sol_docstring',
        'sol_bodies',
        'module',
        'notes',
        'weight',
      ]);
      assert.equal(p.ans_type, 'int');
      assert.match(p.sol_header, /^def sol\(k=\d+\):$/);
      assert.equal(p.sol_bodies.length, 1);
      assert.match(p.module, /\.py$/);
    }
    const back = await start(['verify', out]).done;
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual(
      back.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).status),
      ['passed', 'passed'],
    );
  });

  it('gives clear errors and exit codes for bad flags, seed files and checkpoints', async () => {
    server = await startOllamaServer({ respond: uniquePuzzles({ n: Infinity }) });
    const usage = await start(['selfplay', '--count', '0']).done;
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--count must be a whole number/);

    const missing = await start([
      'selfplay',
      '--host',
      server.url,
      '--seeds',
      join(dir, 'nope.json'),
      '--state',
      join(dir, 's.json'),
    ]).done;
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Seed file .*nope\.json does not exist.*--seeds/);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '[{"sat": "def sat(x: int):\\n    return x == 3"}, ');
    const badRun = await start(['selfplay', '--host', server.url, '--seeds', bad, '--state', join(dir, 's.json')]).done;
    assert.equal(badRun.code, 1);
    assert.match(badRun.stderr, /is not valid JSON/);

    const state = join(dir, 'taken.json');
    writeFileSync(state, JSON.stringify({ version: 1, runId: 'x', generated: 1, accepted: [] }));
    const taken = await start(['selfplay', '--host', server.url, '--state', state]).done;
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /already saved .*--resume/);
    assert.ok(existsSync(state), 'an existing checkpoint is never overwritten');
  });
});
