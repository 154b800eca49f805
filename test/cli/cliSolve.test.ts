// `crucible solve` and `crucible eval`, spawned as real processes against the Ollama-protocol test server.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evalReport, formatEvalTable, type OutcomeLine } from '../../src/cli/commands/solve';
import { closedPortUrl, startOllamaServer, type ChatBody, type OllamaTestServer } from '../fixtures/ollamaServer';
import { runCrucible, startCrucible } from '../fixtures/cli';

const fixtures = join(__dirname, '../fixtures/tasks');
const MODEL = 'qwen2.5-coder:7b';

const fence = (code: string): string => `\`\`\`python\n${code}\n\`\`\``;
const RIGHT: { [fn: string]: string } = {
  add: fence('def add(a, b):\n    return a + b'),
  double: fence('def double(xs):\n    return [2 * x for x in xs]'),
};
const WRONG_ADD = fence('def add(a, b):\n    return a * b');

function fnOf(body: ChatBody): string {
  const text = body.messages.map((m) => m.content).join('\n');
  return /def double\(/.test(text) ? 'double' : 'add';
}

function lines(file: string): { [key: string]: any }[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('crucible solve / eval (spawned CLI)', function () {
  this.timeout(60000);
  let server: OllamaTestServer;
  let dir: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crucible-cli-solve-'));
    // add: wrong at first, right after feedback; double: right at once.
    server = await startOllamaServer({
      respond: (body) => {
        const fn = fnOf(body);
        const last = body.messages[body.messages.length - 1]!.content;
        if (/Explain in a few sentences/.test(last)) return 'It multiplies instead of adding.';
        if (fn === 'add' && !/Now write the corrected/.test(last)) return WRONG_ADD;
        return RIGHT[fn]!;
      },
    });
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('solves a task file and writes one Outcome line per task, with attempts and feedback', async () => {
    const out = join(dir, 'outcomes.jsonl');
    const r = await runCrucible([
      'solve',
      join(fixtures, 'small.jsonl'),
      '--host',
      server.url,
      '--model',
      MODEL,
      '--samples',
      '1',
      '--rounds',
      '2',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'with --out, stdout stays quiet (not a TTY)');
    assert.match(r.stderr, /2\/2 verified/);
    const [add, double] = lines(out);
    assert.equal(add!.id, 'T/add');
    assert.equal(add!.verified, true);
    assert.equal(add!.verifiedByGeneratedTests, false);
    assert.equal(add!.verifiedInFirstRound, false);
    assert.equal(add!.rounds, 2);
    assert.equal(add!.attempts.length, 2);
    assert.equal(add!.attempts[0].passed, false);
    assert.match(add!.attempts[0].feedback, /candidate\(1, 2\) == 3|assert/);
    assert.equal(add!.attempts[0].critique, 'It multiplies instead of adding.');
    assert.match(add!.solution, /return a \+ b/);
    assert.ok(add!.tokens.completion > 0);
    assert.equal(typeof add!.durationMs, 'number');
    assert.equal(double!.id, 'T/double');
    assert.equal(double!.verifiedInFirstRound, true);
  });

  it('reports malformed lines with their numbers, still runs the others, and exits 1', async () => {
    const out = join(dir, 'outcomes.jsonl');
    const r = await runCrucible([
      'solve',
      join(fixtures, 'malformed.jsonl'),
      '--host',
      server.url,
      '--model',
      MODEL,
      '--samples',
      '1',
      '--out',
      out,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /malformed\.jsonl line 2: not valid JSON/);
    assert.match(r.stderr, /line 3: missing "prompt"/);
    assert.match(r.stderr, /line 5: "language" is "cobol"/);
    assert.match(r.stderr, /line 6: id "T\/add" repeats line 1/);
    assert.deepEqual(
      lines(out).map((l) => [l.id, l.verified]),
      [
        ['T/add', true],
        ['T/double', true],
      ],
    );
  });

  it('--resume skips the tasks already in --out and repairs a torn last line', async () => {
    const out = join(dir, 'outcomes.jsonl');
    // What an earlier run left: T/add finished, an error outcome for T/double (runs again), then a line torn by a kill.
    // The finished line is in the shape older versions wrote (`task_id`), the error line in today's (`id`).
    const finished = { task_id: 'T/add', verified: true, stopReason: 'verified', attempts: [] };
    const failed = {
      id: 'T/double',
      verified: false,
      stopReason: 'error',
      error: 'Cannot reach Ollama',
      attempts: [],
    };
    writeFileSync(out, `${JSON.stringify(finished)}\n${JSON.stringify(failed)}\n{"task_id": "T/dou`);
    const before = server.requests.filter((q) => q.path === '/api/chat').length;
    const r = await runCrucible([
      'solve',
      join(fixtures, 'small.jsonl'),
      '--host',
      server.url,
      '--model',
      MODEL,
      '--samples',
      '1',
      '--out',
      out,
      '--resume',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /line 3 is not a complete outcome; that task runs again/);
    assert.match(r.stderr, /1 resumed from/);
    const chats = server.requests
      .filter((q) => q.path === '/api/chat')
      .slice(before)
      .map((q) => fnOf(q.body as ChatBody));
    assert.deepEqual(chats, ['double'], 'only the unfinished task ran');
    const text = readFileSync(out, 'utf8').split('\n');
    assert.equal(text[2], '{"task_id": "T/dou', 'the torn line is left as it was');
    const rerun = JSON.parse(text[3]!);
    assert.deepEqual([rerun.id, rerun.verified], ['T/double', true], 'the new outcome starts on a fresh line');
    assert.equal(rerun.task_id, undefined, 'new lines carry the id under one name');
  });

  it('keeps the finished tasks when the run is interrupted, and says how to continue', async () => {
    const out = join(dir, 'outcomes.jsonl');
    const original = server.respond;
    server.respond = (body, index) =>
      fnOf(body) === 'double'
        ? { content: `${RIGHT.double!}\n${'Some words. '.repeat(400)}`, chunkSize: 4, chunkDelayMs: 20 }
        : original(body, index);
    const run = startCrucible([
      'solve',
      join(fixtures, 'small.jsonl'),
      '--host',
      server.url,
      '--model',
      MODEL,
      '--samples',
      '1',
      '--out',
      out,
    ]);
    // Wait until the slow task is streaming, then interrupt.
    const deadline = Date.now() + 20000;
    while (server.activeGenerations === 0 || !existsSync(out) || lines(out).length < 1) {
      if (Date.now() > deadline) throw new Error(`the slow task never started: ${run.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    run.child.kill('SIGINT');
    const { code, stderr } = await run.done;
    assert.equal(code, 130);
    assert.match(
      stderr,
      /interrupted; 1 finished outcome\(s\) of this run are kept in .*outcomes\.jsonl; rerun the same command with --resume to continue/,
    );
    assert.deepEqual(
      lines(out).map((l) => l.id),
      ['T/add'],
      'the finished task is on disk, the interrupted one is not',
    );
    await server.waitForAborted(1, 2000);
  });

  it('eval prints pass@1 before and after refinement as a table', () => {
    const report = evalReport(
      [
        { verified: true, verifiedInFirstRound: true, verifiedByGeneratedTests: false, stopReason: 'verified' },
        { verified: true, verifiedInFirstRound: false, verifiedByGeneratedTests: true, stopReason: 'verified' },
        { verified: false, verifiedInFirstRound: false, verifiedByGeneratedTests: false, stopReason: 'budget' },
        { verified: false, verifiedInFirstRound: false, verifiedByGeneratedTests: false, stopReason: 'error' },
      ] as OutcomeLine[],
      MODEL,
      1,
      2,
    );
    const table = formatEvalTable(report);
    // The task that ended in error (server or sandbox down) is not a failure of the model's code: not counted.
    assert.match(table, /pass@1 before refinement\s+1\/3\s+33\.3%/);
    assert.match(table, /pass@1 after 2 refine rounds\s+2\/3\s+66\.7%/);
    assert.match(table, /gain from self-correction\s+\+1\s+\+33\.3 pts/);
    assert.match(table, /1 verified only by tests the model wrote/);
    assert.match(table, /1 task\(s\) ended in error and are not counted/);
  });

  it('eval runs the tasks and reports before/after as JSON (and logs to --dataset)', async () => {
    const json = await runCrucible([
      'eval',
      join(fixtures, 'small.jsonl'),
      '--host',
      server.url,
      '--model',
      MODEL,
      '--json',
      '--dataset',
      join(dir, 'ds'),
    ]);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.deepEqual([report.tasks, report.before.passed, report.after.passed, report.samples], [2, 1, 2, 1]);
    assert.equal(report.model, MODEL);
    assert.ok(existsSync(join(dir, 'ds', 'records.jsonl')), 'the dataset got the records');
    assert.equal(
      readFileSync(join(dir, 'ds', 'records.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean).length,
      2,
    );
  });

  it('names the fix and exits 1 when the server is down', async () => {
    const out = join(dir, 'outcomes.jsonl');
    const r = await runCrucible([
      'solve',
      join(fixtures, 'small.jsonl'),
      '--host',
      await closedPortUrl(),
      '--model',
      MODEL,
      '--out',
      out,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ollama serve/);
    assert.match(r.stderr, /stopped: 2 tasks in a row ended in error/);
    assert.ok(lines(out).every((l) => l.stopReason === 'error'));
  });

  it('stops with a fix-naming error when --out cannot be written (full disk)', async function () {
    if (!existsSync('/dev/full')) this.skip(); // /dev/full (always ENOSPC) is Linux-only
    const r = await runCrucible([
      'solve',
      join(fixtures, 'small.jsonl'),
      '--host',
      server.url,
      '--model',
      MODEL,
      '--samples',
      '1',
      '--out',
      '/dev/full',
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /cannot write outcomes to \/dev\/full \(ENOSPC\): free disk space or pick another --out; no outcome was written yet/,
    );
  });

  it('exits 1 and names the folder when dataset records cannot be written (a full tmpfs), keeping the Outcomes', async function () {
    if (process.platform !== 'linux') this.skip();
    const mnt = join(dir, 'full');
    mkdirSync(mnt);
    // A one-page tmpfs holds the lock file but no Record; mounting needs root (skipped otherwise).
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', mnt]).status !== 0) this.skip();
    try {
      const out = join(dir, 'outcomes.jsonl');
      const r = await runCrucible([
        'solve',
        join(fixtures, 'small.jsonl'),
        '--host',
        server.url,
        '--model',
        MODEL,
        '--samples',
        '1',
        '--out',
        out,
        '--dataset',
        join(mnt, 'ds'),
      ]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /dataset record\(s\) could not be written to .*full\/ds; they are kept in .*outcomes\.jsonl: fix the dataset folder and rerun with --resume/,
      );
      assert.equal(lines(out).length, 2, 'every Outcome is still in --out');
      assert.ok(
        lines(out).every((l) => l.datasetRecord?.task?.id === l.id),
        'each unwritten Record travels in its Outcome line',
      );
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('rejects bad flags as a usage error', async () => {
    const r = await runCrucible(['solve', join(fixtures, 'small.jsonl'), '--samples', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--samples must be a whole number ≥ 1/);
  });
});
