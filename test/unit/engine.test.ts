// core/engine.ts: the one logging rule, the one metadata set, and the lazy sandbox (pure, no sandbox started).
import { strict as assert } from 'node:assert';
import { lazySandbox, recordMeta, recordOutcome, shouldRecord, solveRecord } from '../../src/core/engine';
import type { DatasetStore } from '../../src/core/dataset/store';
import type { ModelSettings } from '../../src/core/model/types';
import type { Sandbox } from '../../src/core/sandbox/types';
import type { DatasetRecord } from '../../src/core/types';
import { easyOutcome, failedOutcome, makeOutcome, makeTask } from '../fixtures/dataset/build';

const settings: ModelSettings = {
  provider: 'ollama',
  host: 'http://127.0.0.1:11434',
  model: 'configured:7b',
  options: { temperature: 0.2, top_p: 0.95, num_predict: 1024 },
  headers: { Authorization: 'Bearer s3cret-token' },
  maxParallel: 2,
  firstTokenTimeoutMs: 300_000,
  requestTimeoutMs: 60_000,
  maxRetries: 2,
};

/** A dataset that keeps what it is given, or fails every append with `fail`. */
function memoryDataset(fail?: Error): DatasetStore & { records: DatasetRecord[] } {
  const records: DatasetRecord[] = [];
  return {
    records,
    dir: '/nowhere',
    file: '/nowhere/records.jsonl',
    async append(record) {
      if (fail) throw fail;
      records.push(record);
      return { appended: true, record } as never;
    },
    flush: async () => undefined,
    pending: () => [],
    has: (hash) => records.some((r) => r.hash === hash),
    size: () => records.length,
    problems: () => [],
    read: async function* () {
      yield* records;
    },
  };
}

describe('core/engine: one logging rule', () => {
  it('records verified and failed outcomes, and errors that left attempts', () => {
    assert.equal(shouldRecord(easyOutcome('sq')), true);
    assert.equal(shouldRecord(failedOutcome('sq')), true);
    assert.equal(shouldRecord({ ...failedOutcome('sq'), stopReason: 'error', error: 'the server went away' }), true);
  });

  it('skips cancelled outcomes, outcomes without attempts, and sandbox failures', () => {
    assert.equal(
      shouldRecord({ ...failedOutcome('sq'), stopReason: 'cancelled' }),
      false,
      'cancelled: the user stopped it',
    );
    assert.equal(
      shouldRecord(makeOutcome(makeTask('sq'), [], { stopReason: 'error', error: 'connection refused' })),
      false,
      'nothing was generated',
    );
    assert.equal(
      shouldRecord({
        ...failedOutcome('sq'),
        stopReason: 'error',
        error: 'The sandbox failed: worker crashed',
        sandboxFailed: true,
      }),
      false,
      "the machine's fault",
    );
    assert.equal(
      shouldRecord({ ...failedOutcome('sq'), stopReason: 'error', error: 'The sandbox failed: says the model server' }),
      true,
      'an error that only reads like the sandbox failing is recorded like any other',
    );
  });
});

describe('core/engine: one metadata set', () => {
  it('names the model that answered (else the configured one), the options, the version, and redacts header values', () => {
    const answered = recordMeta(easyOutcome('sq'), settings, '9.9.9');
    assert.deepEqual(answered, {
      model: 'qwen2.5-coder:7b',
      options: settings.options,
      extensionVersion: '9.9.9',
      redact: ['Bearer s3cret-token'],
    });
    const { model: _model, ...unnamed } = easyOutcome('sq');
    assert.equal(recordMeta(unnamed, settings).model, 'configured:7b');
  });

  it('a solve Record carries the options and never a header value', () => {
    const outcome = failedOutcome('sq');
    outcome.notes.push('sent with Bearer s3cret-token');
    const record = solveRecord(outcome, settings, 'test')!;
    assert.deepEqual(record.options, settings.options);
    assert.equal(record.model, 'qwen2.5-coder:7b');
    assert.doesNotMatch(JSON.stringify(record), /s3cret-token/);
    assert.equal(solveRecord({ ...outcome, stopReason: 'cancelled' }, settings), undefined);
  });
});

describe('core/engine: recordOutcome', () => {
  it('appends the Record when logging is on, and nothing when it is off or the rule skips it', async () => {
    const dataset = memoryDataset();
    const kept = await recordOutcome(easyOutcome('sq'), { dataset: () => dataset, settings });
    assert.ok(kept.record);
    assert.equal(kept.error, undefined);
    assert.equal(dataset.records.length, 1);
    assert.equal((await recordOutcome(easyOutcome('sq'), { dataset: undefined, settings })).record, undefined);
    assert.equal((await recordOutcome(easyOutcome('sq'), undefined)).record, undefined);
    const cancelled = await recordOutcome(
      { ...failedOutcome('sq'), stopReason: 'cancelled' },
      { dataset: () => dataset, settings },
    );
    assert.equal(cancelled.record, undefined);
    assert.equal(dataset.records.length, 1);
  });

  it('returns a write failure with the Record instead of throwing (the Outcome is never lost)', async () => {
    const failure = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    const result = await recordOutcome(failedOutcome('sq'), { dataset: () => memoryDataset(failure), settings });
    assert.equal(result.error, failure);
    assert.ok(result.record);
    assert.equal(result.outcome.task.id, 'sq');
    const openFails = await recordOutcome(failedOutcome('sq'), {
      dataset: () => Promise.reject(new Error('cannot open')),
      settings,
    });
    assert.match(String(openFails.error), /cannot open/);
    assert.equal(openFails.dataset, undefined);
  });
});

describe('core/engine: lazySandbox', () => {
  function fake(): { sandbox: Sandbox; created: number; disposed: number } {
    const state = { created: 0, disposed: 0, sandbox: undefined as unknown as Sandbox };
    state.sandbox = lazySandbox({}, () => {
      state.created++;
      return {
        run: async () => ({ status: 'ok' }) as never,
        runPair: async () => ({}) as never,
        transpile: async () => ({}) as never,
        isolation: async () => ({}) as never,
        dispose: async () => void state.disposed++,
      };
    });
    return state;
  }

  it('creates nothing until first used, and nothing to dispose then', async () => {
    const s = fake();
    await s.sandbox.dispose();
    assert.equal(s.created, 0);
    assert.equal(s.disposed, 0);
    await assert.rejects(s.sandbox.run({} as never), /disposed/, 'no sandbox is started after dispose');
    assert.equal(s.created, 0);
  });

  it('creates the sandbox once on first use and disposes it once', async () => {
    const s = fake();
    await s.sandbox.run({} as never);
    await s.sandbox.isolation();
    assert.equal(s.created, 1);
    await Promise.all([s.sandbox.dispose(), s.sandbox.dispose()]);
    await s.sandbox.dispose();
    assert.equal(s.disposed, 1);
  });
});
