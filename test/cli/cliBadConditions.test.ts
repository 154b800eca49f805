// Issue 13: the CLI and the dataset under bad conditions. Every case spawns the built CLI (dist/cli.js)
// against the Ollama-protocol test server, on real files: a full and a read-only tmpfs (root only;
// skipped otherwise), a missing interpreter, a terminal (util-linux `script`), a P3 round trip.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startOllamaServer, type ChatBody, type OllamaTestServer } from '../fixtures/ollamaServer';
import { CLI, ensureCli, runCrucible, startCrucible } from '../fixtures/cli';
import { P3_TRAIN_FILE, requireData } from '../fixtures/data';
import { writeFixtureDataset } from '../fixtures/dataset/build';
import { cliText, capConcurrency, duration } from '../../src/cli/shared';
import { parseTasks } from '../../src/cli/tasks';
import { AnswerCap } from '../../src/core/model/answerCap';
import { writeFileAtomic } from '../../src/core/durable';
import { GENERATE_SYSTEM } from '../../src/core/selfplay/prompts';
import { fenced } from '../fixtures/selfplay/script';

const MODEL = 'qwen2.5-coder:7b';

const fence = (code: string): string => `\`\`\`python\n${code}\n\`\`\``;

/** n tasks `f<i>(x) == x + i`, HumanEval-shaped. */
function taskLines(n: number, from = 0): string {
  const rows: string[] = [];
  for (let i = from; i < from + n; i++) {
    rows.push(
      JSON.stringify({
        task_id: `T/${i}`,
        prompt: `def f${i}(x):\n    """Return x plus ${i}."""\n`,
        entry_point: `f${i}`,
        test: `def check(candidate):\n    assert candidate(1) == ${1 + i}\n`,
      }),
    );
  }
  return `${rows.join('\n')}\n`;
}

/** Answers every task right at once. */
function rightAnswer(body: ChatBody): string {
  const text = body.messages.map((m) => m.content).join('\n');
  const m = /def (f(\d+))\(x\)/.exec(text);
  return m ? fence(`def ${m[1]}(x):\n    return x + ${m[2]}`) : fence('def f(x):\n    return x');
}

function jsonLines(text: string): { [key: string]: any }[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

const chats = (server: OllamaTestServer): number => server.requests.filter((r) => r.path === '/api/chat').length;

function canMount(): boolean {
  return process.platform === 'linux' && typeof process.getuid === 'function' && process.getuid() === 0;
}

function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0;
}

describe('issue 13: the CLI and the dataset under bad conditions (spawned dist/cli.js)', function () {
  this.timeout(180_000);
  let server: OllamaTestServer;
  let dir: string;
  const mounts: string[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crucible-i13-'));
    server = await startOllamaServer({ respond: rightAnswer });
  });
  afterEach(async () => {
    await server.close();
    for (const m of mounts.splice(0)) spawnSync('umount', ['-l', m]);
    rmSync(dir, { recursive: true, force: true });
  });

  const solveArgs = (tasks: string, ...rest: string[]): string[] => [
    'solve',
    tasks,
    '--host',
    server.url,
    '--model',
    MODEL,
    '--samples',
    '1',
    '--rounds',
    '0',
    ...rest,
  ];

  // 1. Records lost for good after a write failure.
  it('1a. full 64 KiB tmpfs: the run stops on the second ENOSPC, unwritten records travel in --out, --resume writes every one', async function () {
    if (!canMount()) this.skip();
    const mnt = join(dir, 'full');
    if (!mountTmpfs(mnt, '64k')) this.skip();
    mounts.push(mnt);
    const tasks = join(dir, 'tasks.jsonl');
    writeFileSync(tasks, taskLines(40));
    // Records are big enough that a few fill the disk.
    server.respond = (body) => `${rightAnswer(body)}\n\n${'Explanation of the solution. '.repeat(120)}`;
    const out = join(dir, 'o.jsonl');
    const ds = join(mnt, 'ds');
    const first = await runCrucible(solveArgs(tasks, '--limit', '40', '--dataset', ds, '--out', out));
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stderr, /stopped: the dataset folder .*full\/ds is full \(ENOSPC\)/);
    assert.match(
      first.stderr,
      /dataset record\(s\) could not be written .* kept in .*o\.jsonl: fix the dataset folder and rerun with --resume/,
    );
    const written = jsonLines(readFileSync(out, 'utf8'));
    assert.ok(written.length < 40, 'the run stopped early instead of failing every record');
    const carried = written.filter((l) => l.datasetRecord);
    assert.ok(carried.length >= 1, 'unwritten records are in the Outcome lines');
    // Make room (a bigger disk), then resume: the carried records and the rest of the tasks are written.
    assert.equal(spawnSync('mount', ['-o', 'remount,size=8m', mnt]).status, 0);
    const second = await runCrucible(solveArgs(tasks, '--limit', '40', '--dataset', ds, '--out', out, '--resume'));
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /wrote \d+ dataset record\(s\) an earlier run kept in/);
    assert.match(second.stderr, /40\/40 verified, \d+ resumed from/);
    const records = readFileSync(join(ds, 'records.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).task.id as string);
    assert.equal(new Set(records).size, 40, 'one record per task, none lost');
    assert.equal(records.length, 40, 'and none twice');
  });

  it('1b. read-only dataset (tmpfs remounted ro): exit 1 before the model is asked anything, with the right reason', async function () {
    if (!canMount()) this.skip();
    const mnt = join(dir, 'ro');
    if (!mountTmpfs(mnt, '64k')) this.skip();
    mounts.push(mnt);
    mkdirSync(join(mnt, 'ds'));
    writeFileSync(join(mnt, 'ds', 'records.jsonl'), '');
    assert.equal(spawnSync('mount', ['-o', 'remount,ro', mnt]).status, 0);
    const tasks = join(dir, 'tasks.jsonl');
    writeFileSync(tasks, taskLines(3));
    const existing = await runCrucible(solveArgs(tasks, '--dataset', join(mnt, 'ds'), '--out', join(dir, 'o.jsonl')));
    assert.equal(existing.code, 1, existing.stderr);
    assert.match(
      existing.stderr,
      /the dataset folder .*ro\/ds is not writable \(EROFS: read-only file system\); make it writable or pass another --dataset; nothing was run/,
    );
    assert.doesNotMatch(existing.stderr, /free space/);
    // 12: a new folder on the read-only disk is not reported as ENOENT … mkdir.
    const fresh = await runCrucible(solveArgs(tasks, '--dataset', join(mnt, 'new', 'ds')));
    assert.equal(fresh.code, 1);
    assert.match(fresh.stderr, /not writable \(EROFS/);
    assert.doesNotMatch(fresh.stderr, /ENOENT|mkdir/);
    assert.equal(chats(server), 0, 'no model request');
  });

  // 2. No command writes over its own input.
  it('2. export onto its own dataset, and solve --out onto its task file, are refused with exit 2', async () => {
    const ds = join(dir, 'ds');
    const count = await writeFixtureDataset(ds);
    const before = readFileSync(join(ds, 'records.jsonl'), 'utf8');
    const onto = await runCrucible(['export', ds, '--format', 'sft', '--out', join(ds, 'records.jsonl')]);
    assert.equal(onto.code, 2, onto.stderr);
    assert.match(onto.stderr, /would write .*records\.jsonl, the dataset's records\.jsonl, which this export reads/);
    const intoFolder = await runCrucible(['export', ds, '--format', 'sft', '--out', ds]);
    assert.equal(intoFolder.code, 2, intoFolder.stderr);
    assert.equal(readFileSync(join(ds, 'records.jsonl'), 'utf8'), before);
    const stats = await runCrucible(['stats', ds, '--json']);
    assert.equal(JSON.parse(stats.stdout).records, count);

    const tasks = join(dir, 'x.jsonl');
    writeFileSync(tasks, taskLines(2));
    const self = await runCrucible(solveArgs(tasks, '--out', tasks));
    assert.equal(self.code, 2, self.stderr);
    assert.match(self.stderr, /--out .*x\.jsonl is the task file this run reads/);
    assert.equal(readFileSync(tasks, 'utf8'), taskLines(2));
    const intoDs = await runCrucible(solveArgs(tasks, '--dataset', ds, '--out', join(ds, 'records.jsonl')));
    assert.equal(intoDs.code, 2);
    assert.equal(chats(server), 0);
  });

  // 3. A broken sandbox is scored as a model failure.
  it('3. a missing interpreter (--python or CRUCIBLE_PYTHON) ends solve/eval/verify with exit 1 before any model request', async () => {
    const tasks = join(dir, 'tasks.jsonl');
    writeFileSync(tasks, taskLines(3));
    const flag = await runCrucible(solveArgs(tasks, '--python', '/nonexistent/python', '--out', join(dir, 'o.jsonl')));
    assert.equal(flag.code, 1, flag.stderr);
    assert.match(
      flag.stderr,
      /stopped: the python sandbox cannot run: cannot start the Python worker: \/nonexistent\/python \(ENOENT\)/,
    );
    assert.match(flag.stderr, /--python PATH \(or set CRUCIBLE_PYTHON\)/);
    assert.equal(
      existsSync(join(dir, 'o.jsonl')) ? readFileSync(join(dir, 'o.jsonl'), 'utf8') : '',
      '',
      'no task is recorded as failed',
    );
    const env = { CRUCIBLE_PYTHON: '/nonexistent/python' };
    const solveEnv = await runCrucible(solveArgs(tasks), { env });
    assert.equal(solveEnv.code, 1);
    assert.match(solveEnv.stderr, /cannot start the Python worker: \/nonexistent\/python/);
    const evalEnv = await runCrucible(['eval', tasks, '--host', server.url, '--model', MODEL, '--json'], { env });
    assert.equal(evalEnv.code, 1);
    const report = JSON.parse(evalEnv.stdout);
    assert.equal(report.tasks, 0, 'nothing scored as pass@1 0%');
    const jobs = join(dir, 'jobs.jsonl');
    writeFileSync(
      jobs,
      `${JSON.stringify({ id: 'a', language: 'python', code: 'def f():\n    return 1', test: 'assert f() == 1' })}\n`,
    );
    const verifyEnv = await runCrucible(['verify', jobs], { env });
    assert.equal(verifyEnv.code, 1);
    assert.match(verifyEnv.stderr, /stopped: the python sandbox cannot run/);
    assert.equal(chats(server), 0, 'the model was never asked');
  });

  // 4. A HumanEval row without entry_point can never pass in solve.
  it('4. a HumanEval row without entry_point takes it from the prompt, in solve and in verify alike', async () => {
    const row = {
      task_id: 'HE/x',
      prompt: 'def helper(y):\n    return y\n\ndef inc(x):\n    """Return x + 1."""\n',
      test: 'def check(candidate):\n    assert candidate(1) == 2\n',
    };
    const tasks = join(dir, 'he.jsonl');
    writeFileSync(tasks, `${JSON.stringify(row)}\n`);
    server.respond = () => fence('def inc(x):\n    return x + 1');
    const solved = await runCrucible(solveArgs(tasks));
    assert.equal(solved.code, 0, solved.stderr);
    assert.equal(jsonLines(solved.stdout)[0]!.verified, true);
    const jobs = join(dir, 'he-jobs.jsonl');
    writeFileSync(jobs, `${JSON.stringify({ ...row, completion: '    return x + 1\n' })}\n`);
    const verified = await runCrucible(['verify', jobs]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(jsonLines(verified.stdout)[0]!.status, 'passed');
    // No function anywhere: the same message in both.
    const bad = { task_id: 'HE/y', prompt: 'Add one.', test: 'def check(candidate):\n    assert candidate(1) == 2\n' };
    writeFileSync(tasks, `${JSON.stringify(bad)}\n`);
    writeFileSync(jobs, `${JSON.stringify({ ...bad, completion: 'x' })}\n`);
    const [s, v] = await Promise.all([runCrucible(solveArgs(tasks)), runCrucible(['verify', jobs])]);
    for (const r of [s, v]) {
      assert.equal(r.code, 1);
      assert.match(r.stderr, /missing "entry_point" and the prompt defines no function to take it from/);
    }
  });

  // 5. verify --concurrency N starts N workers whatever the job count.
  it('5. verify --concurrency 256 for one job is capped with a note, and the summary line ends the run', async () => {
    const jobs = join(dir, 'one.jsonl');
    writeFileSync(
      jobs,
      `${JSON.stringify({ id: 'a', language: 'python', code: 'def f():\n    return 1', test: 'assert f() == 1' })}\n`,
    );
    const r = await runCrucible(['verify', jobs, '--concurrency', '256']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /note: --concurrency 256 lowered to 1 \(there is 1 job\)/);
    assert.match(r.stderr, /crucible verify: 1\/1 jobs \(1 passed\) in [\d.]+ s/);
    assert.deepEqual(capConcurrency(256, 10_000, 2), {
      value: 8,
      note: '--concurrency 256 lowered to 8 (4 × 2 cores)',
    });
  });

  // 6. On a terminal, the progress bar corrupts results on stdout.
  it('6. a run on a terminal (script): results on stdout stay whole JSON lines, line wrap is never switched off, a summary ends it', async function () {
    if (spawnSync('script', ['--version']).status !== 0) this.skip();
    const tasks = join(dir, 'tasks.jsonl');
    writeFileSync(tasks, taskLines(3));
    ensureCli();
    const command = (args: string[]): string =>
      [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    // Asynchronous: the test server answers from this process.
    const tty = (args: string[]): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = spawn('script', ['-qfec', `stty cols 60; ${command(args)}`, '/dev/null'], {
          env: { ...process.env, NO_COLOR: '1' },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
        child.on('error', reject);
        child.on('close', () => {
          clearTimeout(timer);
          resolve(text);
        });
      });
    const both = await tty(solveArgs(tasks));
    assert.doesNotMatch(both, /\x1b\[\?7l/, 'line wrap never disabled');
    const rows = both.split(/\r?\n/).filter((l) => l.trim());
    const results = rows.filter((l) => l.startsWith('{'));
    assert.equal(results.length, 3, both);
    for (const l of results)
      assert.equal(JSON.parse(l).verified, true, 'each result line is whole JSON with nothing before it');
    assert.ok(
      rows.some((l) => /crucible solve: 3\/3 verified/.test(l)),
      'summary line',
    );
    // With --out, stderr alone is the terminal: the bar is drawn there, still without ESC[?7l, and the summary follows it.
    const out = join(dir, 'o.jsonl');
    const barred = await tty(solveArgs(tasks, '--out', out));
    assert.doesNotMatch(barred, /\x1b\[\?7l/);
    assert.match(barred, /crucible solve: 3\/3 verified/);
    assert.equal(jsonLines(readFileSync(out, 'utf8')).length, 3);
  });

  // 7. verify reads input differently from solve.
  it('7. verify and solve share one reader: BOM, CRLF, gzip, py/Python, numeric ids, duplicate and empty ids, a P3 array', async () => {
    const a = { id: 1, language: 'Python', code: 'def f():\n    return 1', test: 'assert f() == 1' };
    const b = { id: 'b', language: 'py', code: 'def f():\n    return 1', test: 'assert f() == 1' };
    const text = `\ufeff${JSON.stringify(a)}\r\n${JSON.stringify(b)}\r\n${JSON.stringify({ ...b, code: 'x' })}\r\n${JSON.stringify({ ...b, id: '' })}\r\n`;
    const plain = join(dir, 'jobs.jsonl');
    writeFileSync(plain, text);
    writeFileSync(`${plain}.gz`, gzipSync(Buffer.from(text)));
    for (const file of [plain, `${plain}.gz`]) {
      const r = await runCrucible(['verify', file]);
      assert.equal(r.code, 1, r.stderr);
      const out = jsonLines(r.stdout);
      assert.deepEqual(
        out.map((o) => [o.id, o.status]),
        [
          ['1', 'passed'],
          ['b', 'passed'],
          ['b', 'error'],
          [null, 'error'],
        ],
      );
      assert.match(r.stderr, /line 3: id "b" repeats line 2/);
      assert.match(r.stderr, /line 4: "id" or "task_id" must be a non-empty string or a number/);
      assert.match(r.stderr, /2 malformed line\(s\) skipped/);
    }
    // solve reads the same file the same way (ids, duplicates, BOM), with the same messages.
    const parsed = parseTasks(text.replace(/"code":"[^"]*",/g, '"prompt":"def f():",').replace(/"test":/g, '"tests":'));
    assert.deepEqual(
      parsed.tasks.map((t) => t.task.id),
      ['1', 'b'],
    );
    assert.match(parsed.errors[0]!.message, /id "b" repeats line 2/);
  });

  // 8. Exit codes break the README's 0/1/2 rule.
  it('8. exit codes: missing file 2, malformed lines 1, --resume without --out 2, Ctrl-C 130 with one line saying what was kept', async () => {
    const tasks = join(dir, 'tasks.jsonl');
    writeFileSync(tasks, `${taskLines(1)}not json\n`);
    const missing = await Promise.all([
      runCrucible(['verify', join(dir, 'nope.jsonl')]),
      runCrucible(solveArgs(join(dir, 'nope.jsonl'))),
      runCrucible(['eval', join(dir, 'nope.jsonl'), '--host', server.url]),
    ]);
    for (const r of missing) {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /nope\.jsonl: no such file/);
    }
    const malformedSolve = await runCrucible(solveArgs(tasks));
    assert.equal(malformedSolve.code, 1);
    assert.match(malformedSolve.stderr, /line 2: not valid JSON/);
    const jobs = join(dir, 'jobs.jsonl');
    writeFileSync(
      jobs,
      `${JSON.stringify({ id: 'a', language: 'python', code: 'def f():\n    return 1', test: 'assert f() == 1' })}\nnot json\n`,
    );
    const malformedVerify = await runCrucible(['verify', jobs]);
    assert.equal(malformedVerify.code, 1);
    assert.match(malformedVerify.stderr, /line 2: not valid JSON/);
    const resume = await runCrucible(solveArgs(tasks, '--resume'));
    assert.equal(resume.code, 2);
    assert.match(resume.stderr, /--resume needs --out/);

    // Ctrl-C in verify: 130 and a line saying what was kept.
    const slow = join(dir, 'slow.jsonl');
    writeFileSync(
      slow,
      Array.from({ length: 6 }, (_, i) =>
        JSON.stringify({
          id: `s${i}`,
          language: 'python',
          code: 'import time\ndef f():\n    time.sleep(3)\n    return 1',
          test: 'assert f() == 1',
        }),
      ).join('\n'),
    );
    const run = startCrucible(['verify', slow, '--concurrency', '1']);
    // Interrupt once the first verdict is out (the signal handler is in place by then).
    await run.waitFor(/\n/, 'stdout');
    run.child.kill('SIGINT');
    const stopped = await run.done;
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /interrupted; the \d+ verdict line\(s\) printed are complete/);
    assert.match(stopped.stderr, /crucible verify: \d+\/6 jobs/);
  });

  // 9. P3 exports are not P3.
  it("9. export --format p3 writes exactly P3's puzzles.json, and crucible verify reads it back: every puzzle passes", async function () {
    requireData(this, P3_TRAIN_FILE);
    const ds = join(dir, 'ds');
    await writeFixtureDataset(ds);
    const target = join(dir, 'exports', 'puzzles.json');
    const exported = await runCrucible(['export', ds, '--format', 'p3', '--out', target]);
    assert.equal(exported.code, 0, exported.stderr);
    const entries = JSON.parse(readFileSync(target, 'utf8')) as { [key: string]: unknown }[];
    assert.ok(entries.length > 0);
    const reference = (JSON.parse(readFileSync(P3_TRAIN_FILE, 'utf8')) as object[])[0]!;
    for (const e of entries) {
      assert.deepEqual(Object.keys(e), Object.keys(reference), 'the same fields, in the same order, as P3');
      assert.match(e.module as string, /^[\w.-]+\.py$/, 'module is a file name');
      assert.equal(e.weight, 1);
      assert.equal(typeof e.notes, 'string');
    }
    const back = await runCrucible(['verify', target]);
    assert.equal(back.code, 0, back.stderr);
    const verdicts = jsonLines(back.stdout);
    assert.equal(verdicts.length, entries.length);
    assert.ok(
      verdicts.every((v) => v.status === 'passed'),
      back.stdout,
    );
  });

  // 10. No cap on a model answer.
  it('10. a 2 MB answer is cut (num_predict client-side, then the byte cap) and the cut is noted', async () => {
    const tasks = join(dir, 'tasks.jsonl');
    writeFileSync(tasks, taskLines(1));
    server.respond = (body) => ({
      content: `${rightAnswer(body)}\n${'# padding padding padding\n'.repeat(80_000)}`,
      chunkSize: 65_536,
    });
    const r = await runCrucible(solveArgs(tasks));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.length < 100_000, `Outcome line is ${r.stdout.length} bytes`);
    const line = jsonLines(r.stdout)[0]!;
    assert.equal(line.verified, true);
    assert.ok(
      line.notes.some((n: string) => /answer was cut: it ran far past num_predict \(1024 tokens\)/.test(n)),
      line.notes.join('\n'),
    );
    const big = await runCrucible(solveArgs(tasks, '--num-predict', '900000', '--num-ctx', '1000000'));
    const bigLine = jsonLines(big.stdout)[0]!;
    assert.ok(big.stdout.length < 700_000, `Outcome line is ${big.stdout.length} bytes`);
    assert.ok(bigLine.notes.some((n: string) => /cut at 262144 bytes/.test(n)));
    const cap = new AnswerCap(3);
    assert.equal(['a', 'b', 'c', 'd', 'e', 'f'].map((p) => cap.take(p)).join(''), 'abcdef');
    assert.equal(cap.truncated, undefined, 'up to twice num_predict: a rough estimate never cuts a normal answer');
    cap.take('g');
    assert.match(cap.truncated ?? '', /num_predict \(3 tokens\)/);
    assert.equal(cap.take('h'), '', 'nothing after the cut');
  });

  // 11. Self-play on a full disk.
  it('11. an atomic write on a full tmpfs leaves no temp file; selfplay on a full disk keeps records and accepted puzzles equal', async function () {
    if (!canMount()) this.skip();
    const mnt = join(dir, 'tiny');
    if (!mountTmpfs(mnt, '16k')) this.skip();
    mounts.push(mnt);
    await assert.rejects(writeFileAtomic(join(mnt, 'state.json'), 'x'.repeat(100_000)), /ENOSPC/);
    assert.deepEqual(readdirSync(mnt), [], 'no .tmp file left');

    // A real self-play run whose dataset and checkpoint share a 64 KiB disk.
    const sp = join(dir, 'sp');
    if (!mountTmpfs(sp, '64k')) this.skip();
    mounts.push(sp);
    let k = 0;
    const pad = `\n${'    # a long puzzle comment line to make records bigger\n'.repeat(20)}`;
    server.respond = (body) => {
      if (body.messages[0]!.content === GENERATE_SYSTEM) {
        k++;
        return fenced(
          `def sat(x: int, k=${k}):${pad}    return x == k * 7919 + 13\n\ndef sol(k=${k}):\n    return k * 7919 + 13\n\ndef wrong():\n    return -1`,
        );
      }
      const m = /k=(\d+)/.exec(body.messages[1]!.content);
      return fenced(`def sol(k=${m ? m[1] : 0}):\n    return k * 7919 + 13`);
    };
    const r = await runCrucible([
      'selfplay',
      '--host',
      server.url,
      '--model',
      MODEL,
      '--dataset',
      join(sp, 'ds'),
      '--count',
      '40',
      '--samples',
      '1',
      '--quiet',
      '--json',
    ]);
    const report = JSON.parse(r.stdout) as { accepted: number };
    const leftovers = readdirSync(join(sp, 'ds')).filter((n) => n.endsWith('.tmp'));
    assert.deepEqual(leftovers, [], 'no checkpoint temp files left behind');
    const records = existsSync(join(sp, 'ds', 'records.jsonl'))
      ? readFileSync(join(sp, 'ds', 'records.jsonl'), 'utf8')
          .split('\n')
          .filter(Boolean).length
      : 0;
    // The checkpoint shares the full disk and may lag; the run's own report counts what it accepted.
    assert.ok(
      records <= report.accepted,
      `records ${records} vs accepted ${report.accepted}: never a record for a puzzle the run did not accept`,
    );
    assert.ok(records <= 40, `a 40-puzzle run wrote ${records} records`);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /stopped: .*(ENOSPC|full)/);
  });

  // 12. Messages.
  it('12. messages: flags not settings, examples in every --help, no unused sampling flags, durations, no temp-file or raw errors', async function () {
    // The CLI names flags, not VS Code settings.
    assert.equal(
      cliText('raise crucible.request.firstTokenTimeoutSeconds (CLI: --first-token-timeout) or crucible.ollama.host'),
      'raise --first-token-timeout or --host',
    );
    assert.equal(
      cliText('Raise num_ctx (crucible.generation.numCtx, CLI: --num-ctx), lower crucible.generation.numPredict'),
      'Raise num_ctx (--num-ctx), lower --num-predict',
    );
    assert.doesNotMatch(
      cliText('Start it with `ollama serve` or set crucible.ollama.host (CLI: --host or OLLAMA_HOST).'),
      /crucible\./,
    );
    // Durations.
    assert.equal(duration('--timeout', 'ms')('500ms'), 500);
    assert.equal(duration('--timeout', 'ms')('10s'), 10_000);
    assert.equal(duration('--timeout', 'ms')('5m'), 300_000);
    assert.equal(duration('--first-token-timeout', 's')('300'), 300_000);
    assert.throws(() => duration('--timeout', 'ms')('soon'), /--timeout takes a duration such as 500ms/);
    // Examples in every --help; models and doctor list no sampling flags.
    for (const cmd of ['verify', 'models', 'doctor', 'solve', 'eval', 'export', 'stats', 'selfplay']) {
      const h = await runCrucible([cmd, '--help']);
      assert.equal(h.code, 0);
      assert.match(h.stdout, /\nExamples:\n {2}crucible /, `${cmd} --help has examples`);
      if (cmd === 'models' || cmd === 'doctor')
        assert.doesNotMatch(h.stdout, /--temperature|--top-p|--num-predict|--stop|--seed/);
      if (['solve', 'eval', 'verify'].includes(cmd)) assert.match(h.stdout, /--timeout <duration>/);
      if (cmd === 'export') assert.match(h.stdout, /--split-seed/);
    }
    // --out into a folder that does not exist yet: created, and nothing claims outcomes were "kept".
    const tasks = join(dir, 'tasks.jsonl');
    writeFileSync(tasks, taskLines(1));
    const nodir = await runCrucible(solveArgs(tasks, '--out', join(dir, 'nodir', 'o.jsonl'), '--timeout', '5s'));
    assert.equal(nodir.code, 0, nodir.stderr);
    assert.doesNotMatch(nodir.stderr, /already written are kept/);
    const fileInWay = await runCrucible(solveArgs(tasks, '--out', join(tasks, 'o.jsonl')));
    assert.equal(fileInWay.code, 1);
    assert.match(
      fileInWay.stderr,
      /cannot open --out .*\((ENOTDIR|EEXIST)\): a part of the path is a file, not a folder; nothing was run/,
    );
    // Export: one folder per export with its own README and no empty split file; errors name the target, not a temp file.
    const ds = join(dir, 'ds');
    await writeFixtureDataset(ds);
    const a = await runCrucible(['export', ds, '--format', 'sft', '--out', join(dir, 'exports', 'a')]);
    const b = await runCrucible([
      'export',
      ds,
      '--format',
      'dpo',
      '--out',
      join(dir, 'exports', 'b'),
      '--split',
      '0.99',
      '--split-seed',
      'x',
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(readdirSync(join(dir, 'exports', 'a')).sort(), ['README.md', 'sft.jsonl']);
    assert.match(readFileSync(join(dir, 'exports', 'a', 'README.md'), 'utf8'), /\(sft\)/);
    assert.match(readFileSync(join(dir, 'exports', 'b', 'README.md'), 'utf8'), /\(dpo\)/);
    for (const f of readdirSync(join(dir, 'exports', 'b')))
      assert.ok(statSync(join(dir, 'exports', 'b', f)).size > 0, `${f} is not empty`);
    mkdirSync(join(dir, 'taken.jsonl'));
    const eisdir = await runCrucible([
      'export',
      ds,
      '--format',
      'sft',
      '--out',
      join(dir, 'taken.jsonl', 'x'),
      '--split',
      '1',
    ]);
    assert.equal(eisdir.code, 0, 'a folder --out is an export folder');
    if (canMount()) {
      const ro = join(dir, 'rofs');
      if (mountTmpfs(ro, '64k')) {
        mounts.push(ro);
        spawnSync('mount', ['-o', 'remount,ro', ro]);
        const erofs = await runCrucible(['export', ds, '--format', 'sft', '--out', join(ro, 'x.jsonl')]);
        assert.equal(erofs.code, 1);
        assert.match(
          erofs.stderr,
          /cannot write the export to .*x\.jsonl \(EROFS: read-only file system\); pick a writable --out/,
        );
        assert.doesNotMatch(erofs.stderr, /\.tmp/);
      }
    }
    // stats: difficulty 1.0 has its own bin.
    const stats = JSON.parse((await runCrucible(['stats', ds, '--json'])).stdout) as {
      difficulty: { [bin: string]: number };
    };
    assert.ok((stats.difficulty['1.0'] ?? 0) > 0, JSON.stringify(stats.difficulty));
  });
});
