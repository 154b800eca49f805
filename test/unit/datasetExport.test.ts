import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportCancelled, exportDataset } from '../../src/core/dataset/export';
import type { ExportFormat, ExportOptions } from '../../src/core/dataset/export';
import { DATA_FILE, readRecords } from '../../src/core/dataset/store';
import type { DatasetRecord } from '../../src/core/types';
import { fixtureItems, writeFixtureDataset } from '../fixtures/dataset/build';

interface Msg {
  role: string;
  content: string;
}

function jsonl(path: string): unknown[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as unknown);
}

function isMessages(value: unknown): value is Msg[] {
  return (
    Array.isArray(value) &&
    value.every(
      (m) =>
        m &&
        typeof m === 'object' &&
        ['system', 'user', 'assistant'].includes((m as Msg).role) &&
        typeof (m as Msg).content === 'string' &&
        (m as Msg).content.length > 0,
    )
  );
}

/** The task an example is about: the user turn of its prompt. */
function taskOf(example: unknown, format: ExportFormat): string {
  const e = example as { messages?: Msg[]; prompt?: Msg[]; name?: string };
  if (format === 'p3') return e.name!;
  const messages = format === 'dpo' ? e.prompt! : e.messages!;
  return messages.find((m) => m.role === 'user')!.content;
}

async function allRecords(dir: string): Promise<DatasetRecord[]> {
  const out: DatasetRecord[] = [];
  for await (const r of readRecords(dir)) out.push(r);
  return out;
}

describe('dataset export', () => {
  let dir: string;
  let out: string;
  let records: DatasetRecord[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crucible-export-ds-'));
    await writeFixtureDataset(dir);
    records = await allRecords(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'crucible-export-out-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  const run = (format: ExportFormat, extra: Partial<ExportOptions> = {}) =>
    exportDataset(dir, { format, out: join(out, format === 'p3' ? 'puzzles.json' : 'data.jsonl'), ...extra });

  it('the fixture holds every kind of Record and dedupes its repeated one', () => {
    assert.equal(records.length, fixtureItems().length - 1);
    assert.ok(records.some((r) => !r.verified));
    assert.ok(records.some((r) => r.verifiedByGeneratedTests));
    assert.ok(records.some((r) => r.puzzle));
  });

  it('sft: chat messages system/user/assistant with the verified solution; generated-only excluded unless asked', async () => {
    const result = await run('sft');
    const examples = jsonl(result.files.train);
    const expected = records.filter((r) => r.verified && !r.verifiedByGeneratedTests);
    assert.equal(examples.length, expected.length);
    assert.equal(result.train, examples.length);
    for (const e of examples) {
      const { messages } = e as { messages: Msg[] };
      assert.deepEqual(Object.keys(e as object), ['messages']);
      assert.ok(isMessages(messages));
      assert.deepEqual(
        messages.map((m) => m.role),
        ['system', 'user', 'assistant'],
      );
      assert.match(messages[2]!.content, /^```(python|javascript|typescript)\n[\s\S]+\n```$/);
    }
    const square = examples.find((e) => taskOf(e, 'sft').includes('def square0('));
    assert.ok(square);
    assert.match(
      (square as { messages: Msg[] }).messages[1]!.content,
      /It must pass these tests:[\s\S]*assert square0\(3\) == 9/,
    );
    assert.match((square as { messages: Msg[] }).messages[2]!.content, /return x \* x/);
    const withGenerated = await run('sft', { includeGenerated: true });
    assert.equal(withGenerated.train, expected.length + records.filter((r) => r.verifiedByGeneratedTests).length);
  });

  it('dpo: prompt/chosen/rejected where chosen is verified and rejected a failed attempt at the same task', async () => {
    const result = await run('dpo');
    const examples = jsonl(result.files.train) as { prompt: Msg[]; chosen: Msg[]; rejected: Msg[] }[];
    assert.ok(examples.length > 0);
    const failedCode = new Set(
      records.flatMap((r) => r.attempts.filter((a) => !a.verdict.passed).map((a) => a.candidate.code.trim())),
    );
    const verifiedCode = new Set(records.filter((r) => r.verified).map((r) => r.solution!.trim()));
    const strip = (m: Msg[]) =>
      m[0]!.content
        .replace(/^```\w*\n/, '')
        .replace(/\n```$/, '')
        .trim();
    for (const e of examples) {
      assert.deepEqual(Object.keys(e).sort(), ['chosen', 'prompt', 'rejected']);
      assert.ok(isMessages(e.prompt) && isMessages(e.chosen) && isMessages(e.rejected));
      assert.deepEqual(
        e.prompt.map((m) => m.role),
        ['system', 'user'],
      );
      assert.equal(e.chosen[0]!.role, 'assistant');
      assert.ok(verifiedCode.has(strip(e.chosen)), 'chosen is a verified solution');
      assert.ok(failedCode.has(strip(e.rejected)), 'rejected is a failed attempt');
      assert.notEqual(strip(e.chosen), strip(e.rejected));
      const name = /(?:def|function) (\w+)/.exec(taskOf(e, 'dpo'))![1]!;
      assert.ok(strip(e.chosen).includes(name) && strip(e.rejected).includes(name), 'same task on both sides');
    }
    // Never-verified tasks have no chosen side, so none of them appear.
    assert.ok(!examples.some((e) => taskOf(e, 'dpo').includes('hard0')));
  });

  it('traces: wrong attempt, execution feedback, corrected answer', async () => {
    const result = await run('traces');
    const examples = jsonl(result.files.train) as { messages: Msg[] }[];
    const refined = records.filter(
      (r) => r.verified && !r.verifiedByGeneratedTests && r.attempts.some((a) => !a.verdict.passed),
    );
    assert.equal(examples.length, refined.length);
    for (const { messages } of examples) {
      assert.ok(isMessages(messages));
      assert.ok(messages.length >= 5);
      assert.deepEqual(
        messages.slice(0, 3).map((m) => m.role),
        ['system', 'user', 'assistant'],
      );
      assert.equal(messages[3]!.role, 'user');
      assert.match(
        messages[3]!.content,
        /Running the tests on that code gave:[\s\S]*expected 9, got 6|Running the tests/,
      );
      assert.equal(messages[messages.length - 1]!.role, 'assistant');
      assert.notEqual(messages[2]!.content, messages[messages.length - 1]!.content);
    }
    const square = examples.find((e) => taskOf(e, 'traces').includes('def square1('))!;
    assert.match(square.messages[2]!.content, /return x \+ x/, 'the parent of the fix, not the unrelated sample');
    assert.match(square.messages[4]!.content, /return x \* x/);
  });

  it('p3: the Python Programming Puzzles layout, and every sol body satisfies sat', async function () {
    const result = await run('p3');
    const puzzles = JSON.parse(readFileSync(result.files.train, 'utf8')) as {
      name: string;
      sat: string;
      ans_type: string;
      sol_header: string;
      sol_bodies: string[];
    }[];
    assert.equal(puzzles.length, records.filter((r) => r.puzzle).length);
    for (const p of puzzles) {
      for (const field of ['name', 'sat', 'ans_type', 'sol_header'] as const)
        assert.equal(typeof p[field], 'string', field);
      assert.ok(Array.isArray(p.sol_bodies) && p.sol_bodies.length > 0);
    }
    const check = spawnSync(
      'python3',
      [
        '-c',
        [
          'import json, sys',
          'for p in json.load(open(sys.argv[1])):',
          '    for body in p["sol_bodies"]:',
          '        env = {}',
          '        exec(p["sat"], env)',
          '        exec(p["sol_header"] + "\\n" + body, env)',
          '        assert env["sat"](env["sol"]()) is True, p["name"]',
          'print("ok")',
        ].join('\n'),
        result.files.train,
      ],
      { encoding: 'utf8' },
    );
    if (check.error) this.skip();
    assert.equal(check.status, 0, check.stderr);
    assert.equal(check.stdout.trim(), 'ok');
  });

  for (const format of ['sft', 'dpo', 'traces', 'p3'] as const) {
    it(`${format}: --split puts each task on one side only`, async () => {
      const result = await run(format, { split: 0.5, seed: 'split-test' });
      assert.ok(result.files.valid);
      const read = (path: string) =>
        format === 'p3' ? (JSON.parse(readFileSync(path, 'utf8')) as unknown[]) : jsonl(path);
      const train = read(result.files.train);
      const valid = read(result.files.valid!);
      assert.equal(train.length, result.train);
      assert.equal(valid.length, result.valid);
      assert.ok(train.length > 0, 'train side has examples');
      const trainTasks = new Set(train.map((e) => taskOf(e, format)));
      const validTasks = new Set(valid.map((e) => taskOf(e, format)));
      for (const t of validTasks) assert.ok(!trainTasks.has(t), `task on both sides: ${t.slice(0, 60)}`);
      if (format === 'sft') assert.ok(valid.length > 0, 'validation side has examples');
    });
  }

  it('--balance thins crowded difficulty bands; --min-difficulty keeps hard Records only', async () => {
    const plain = await run('sft');
    const balanced = await run('sft', { balance: true });
    assert.ok(balanced.balancedOut > 0);
    assert.equal(balanced.train, plain.train - balanced.balancedOut);
    const hard = await run('sft', { minDifficulty: 0.9 });
    const expectedHard = records.filter(
      (r) => r.verified && !r.verifiedByGeneratedTests && (r.difficulty ?? -1) >= 0.9,
    ).length;
    assert.ok(expectedHard > 0 && expectedHard < plain.train);
    assert.equal(hard.train, expectedHard);
  });

  it('filters by model, language, origin and date', async () => {
    assert.equal((await run('sft', { model: 'no-such-model' })).train, 0);
    const js = await run('sft', { language: 'javascript' });
    assert.equal(js.train, 1);
    const selfPlay = await run('sft', { origin: 'self-play' });
    assert.equal(selfPlay.train, records.filter((r) => r.task.origin === 'self-play').length);
    const late = await run('sft', { since: new Date('2026-11-20T00:00:00Z') });
    assert.equal(
      late.train,
      records.filter((r) => r.verified && !r.verifiedByGeneratedTests && r.createdAt >= '2026-11-20').length,
    );
  });

  it('writes its own README with counts, a TRL snippet and an Ollama Modelfile; never overwrites a foreign README', async () => {
    const sft = await run('sft', { split: 0.8, readmePath: join(out, 'README.md') });
    const readme = readFileSync(sft.files.readme!, 'utf8');
    assert.equal(sft.files.readme, join(out, 'README.md'));
    assert.ok(readme.includes(`| \`data.train.jsonl\` | ${sft.train} |`));
    assert.match(readme, /SFTTrainer/);
    assert.match(readme, /Qwen\/Qwen2\.5-Coder-7B-Instruct/);
    assert.match(readme, /FROM qwen2\.5-coder:7b\nADAPTER \.\/adapter/);
    const dpo = await run('dpo');
    assert.match(readFileSync(dpo.files.readme!, 'utf8'), /DPOTrainer/);
    assert.equal(
      dpo.files.readme,
      join(out, 'data.README.md'),
      'without readmePath, each export names its README after its file',
    );
    writeFileSync(join(out, 'README.md'), '# mine\n');
    const again = await run('traces', { readmePath: join(out, 'README.md') });
    assert.equal(readFileSync(join(out, 'README.md'), 'utf8'), '# mine\n');
    assert.equal(again.files.readme, join(out, 'data.README.md'));
  });

  it('is atomic: a cancelled export leaves the old file untouched and no temp files', async () => {
    const target = join(out, 'data.jsonl');
    writeFileSync(target, 'previous\n');
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(run('sft', { signal: controller.signal }), ExportCancelled);
    assert.equal(readFileSync(target, 'utf8'), 'previous\n');
    assert.deepEqual(readdirSync(out), ['data.jsonl']);
    const done = await run('sft');
    assert.notEqual(readFileSync(target, 'utf8'), 'previous\n');
    assert.equal(done.files.train, target);
    assert.ok(!readdirSync(out).some((f) => f.endsWith('.tmp')));
  });

  it('skips corrupt lines and reports them', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'crucible-export-bad-'));
    try {
      writeFileSync(join(copy, DATA_FILE), readFileSync(join(dir, DATA_FILE)));
      appendFileSync(join(copy, DATA_FILE), 'not json\n{"half":');
      const result = await exportDataset(copy, { format: 'sft', out: join(out, 'x.jsonl') });
      assert.deepEqual(
        result.problems.map((p) => p.line),
        [records.length + 1, records.length + 2],
      );
      assert.equal(result.train, records.filter((r) => r.verified && !r.verifiedByGeneratedTests).length);
      assert.ok(existsSync(join(out, 'x.jsonl')));
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
