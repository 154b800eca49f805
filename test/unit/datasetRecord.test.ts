import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  contentHash,
  recordFromOutcome,
  recordFromPuzzle,
  recordProblem,
  sanitiseOptions,
  taskKey,
} from '../../src/core/dataset/record';
import { DATA_FILE, openDataset } from '../../src/core/dataset/store';
import {
  easyOutcome,
  failedOutcome,
  makeAttempt,
  makeOutcome,
  makePuzzle,
  makeTask,
  refinedOutcome,
} from '../fixtures/dataset/build';

const meta = { extensionVersion: '9.9.9', now: new Date('2026-11-20T08:00:00Z') };

describe('dataset records', () => {
  it('builds a Record from a verified Outcome with its whole trace', () => {
    const outcome = refinedOutcome('square');
    const record = recordFromOutcome(outcome, { ...meta, model: 'm:1b', options: { temperature: 0.3 } });
    assert.equal(record.schema, 1);
    assert.equal(record.verified, true);
    assert.equal(record.solution, outcome.best!.candidate.code);
    assert.equal(record.verdict?.passed, true);
    assert.equal(record.attempts.length, 3);
    assert.equal(record.attempts[2]!.candidate.parentId, record.attempts[0]!.candidate.id);
    assert.equal(record.model, 'm:1b');
    assert.deepEqual(record.options, { temperature: 0.3 });
    assert.equal(record.createdAt, '2026-11-20T08:00:00.000Z');
    assert.equal(record.extensionVersion, '9.9.9');
    assert.equal(record.task.testsOrigin, 'user');
    assert.equal(record.difficulty, 1, 'both first-round samples failed');
    assert.match(record.hash, /^[0-9a-f]{64}$/);
  });

  it('keeps failed solves as unverified Records without a solution', () => {
    const record = recordFromOutcome(failedOutcome('hard'), meta);
    assert.equal(record.verified, false);
    assert.equal(record.solution, undefined);
    assert.equal(record.attempts.length, 2);
    assert.equal(record.model, 'qwen2.5-coder:7b', 'falls back to the Outcome model');
  });

  it('hashes the normalised task and solution: whitespace, ids and times do not matter, code does', () => {
    const a = recordFromOutcome(easyOutcome('f'), meta);
    const spaced = easyOutcome('f', 'def f(x):   \r\n\r\n\r\n    return x ** 2\r\n');
    spaced.task.prompt = spaced.task.prompt.replace(/\n/g, '\r\n') + '\n\n';
    const b = recordFromOutcome(spaced, { ...meta, now: new Date('2027-01-01T00:00:00Z') });
    assert.notEqual(a.id, b.id);
    assert.equal(a.hash, b.hash);
    const c = recordFromOutcome(easyOutcome('f', 'def f(x):\n    return x * x\n'), meta);
    assert.notEqual(a.hash, c.hash);
    assert.equal(taskKey(a.task), taskKey(c.task));
    assert.equal(contentHash(a), a.hash);
  });

  it('never stores secrets: header and key options are dropped, URL credentials stripped, literals redacted', () => {
    const outcome = easyOutcome('g');
    outcome.attempts[0]!.candidate.answer = 'I used the token sk-live-SECRET123 here';
    outcome.notes.push('Authorization: Bearer sk-live-SECRET123');
    const record = recordFromOutcome(outcome, {
      ...meta,
      options: {
        temperature: 0.1,
        headers: { Authorization: 'Bearer sk-live-SECRET123' },
        apiKey: 'sk-live-SECRET123',
        nested: { access_token: 'tok-abcdef', num_predict: 64 },
        host: 'https://alice:pa55word@example.com:11434',
      },
      redact: ['Bearer sk-live-SECRET123'],
    });
    const text = JSON.stringify(record);
    assert.ok(!text.includes('SECRET123'), text);
    assert.ok(!text.includes('pa55word'));
    assert.ok(!text.includes('tok-abcdef'));
    assert.deepEqual(record.options, {
      temperature: 0.1,
      nested: { num_predict: 64 },
      host: 'https://example.com:11434',
    });
    assert.match(record.attempts[0]!.candidate.answer!, /\[redacted\]/);
    assert.deepEqual(sanitiseOptions({ max_tokens: 5, Cookie: 'x' }), { max_tokens: 5 });
  });

  it('builds a Record from a self-play Puzzle; difficulty is 1 - solve rate', () => {
    const puzzle = makePuzzle('Study_1:0', 0.25);
    const record = recordFromPuzzle(puzzle, { ...meta, model: 'm' });
    assert.equal(record.verified, true);
    assert.equal(record.verifiedByGeneratedTests, false);
    assert.equal(record.task.origin, 'self-play');
    assert.equal(record.task.id, 'p3:Study_1:0');
    assert.equal(record.difficulty, 0.75);
    assert.ok(record.solution!.startsWith('def sol():\n    return'));
    assert.deepEqual(record.puzzle, puzzle);
    const unsolved = recordFromPuzzle({ ...puzzle, solBodies: [] }, meta);
    assert.equal(unsolved.verified, false);
    assert.equal(unsolved.solution, undefined);
  });

  it('rejects lines that are not Records, naming what is missing', () => {
    assert.equal(recordProblem(recordFromOutcome(easyOutcome('h'), meta)), undefined);
    assert.match(recordProblem([1, 2])!, /not a JSON object/);
    assert.match(recordProblem({ schema: 2 })!, /unknown schema 2/);
    assert.match(
      recordProblem({ schema: 1, id: 'x', task: { prompt: 'p', language: 'python' }, verified: true, attempts: [] })!,
      /hash/,
    );
    const good = recordFromOutcome(easyOutcome('h2'), meta);
    assert.match(recordProblem({ ...good, attempts: [null] })!, /attempt 1 lacks candidate code or a verdict/);
    assert.match(recordProblem({ ...good, attempts: [{ candidate: { code: 'x' } }] })!, /attempt 1 lacks/);
  });

  it('stores a HumanEval continuation as the whole verified program, not the bare body', () => {
    const task = makeTask('sq', { completionStyle: 'continuation' });
    const body = '    return x * x\n';
    const outcome = makeOutcome(task, [makeAttempt('    return x + x\n', false, 0), makeAttempt(body, true, 1)]);
    const record = recordFromOutcome(outcome, meta);
    assert.equal(record.solution, task.prompt + body);
    assert.ok(
      record.attempts.every((a) => a.candidate.code.startsWith(task.prompt)),
      'every attempt is a whole program',
    );
  });

  describe('dedupe in the store', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'crucible-ds-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('drops a duplicate in the same store and after reopening', async () => {
      const store = await openDataset(dir);
      const first = recordFromOutcome(easyOutcome('k'), meta);
      assert.deepEqual(await store.append(first), { appended: true });
      assert.deepEqual(await store.append(recordFromOutcome(easyOutcome('k'), meta)), {
        appended: false,
        reason: 'duplicate',
      });
      const reopened = await openDataset(dir);
      assert.equal(reopened.size(), 1);
      assert.deepEqual(await reopened.append(recordFromOutcome(easyOutcome('k'), meta)), {
        appended: false,
        reason: 'duplicate',
      });
      assert.deepEqual(
        await reopened.append(recordFromOutcome(easyOutcome('k', 'def k(x):\n    return x*x\n'), meta)),
        { appended: true },
      );
      const lines = readFileSync(join(dir, DATA_FILE), 'utf8').trim().split('\n');
      assert.equal(lines.length, 2);
    });
  });
});
