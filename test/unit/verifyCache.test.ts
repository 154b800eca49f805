import { strict as assert } from 'node:assert';
import type * as vscode from 'vscode';
import { VerifyCache, type CachedVerification } from '../../src/vscode/verifyCache';
import { cacheKey } from '../../src/core/parse/cacheKey';

/** A Memento over a plain object, as VS Code's workspaceState behaves (values are JSON round-tripped). */
class MemoryMemento implements vscode.Memento {
  data: { [key: string]: unknown } = {};
  writes = 0;
  failNext = false;
  keys(): readonly string[] {
    return Object.keys(this.data);
  }
  get<T>(key: string, fallback?: T): T | undefined {
    return key in this.data ? (JSON.parse(JSON.stringify(this.data[key])) as T) : fallback;
  }
  async update(key: string, value: unknown): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    this.writes++;
    this.data[key] = JSON.parse(JSON.stringify(value));
  }
}

const entry = (passed: number, total: number): CachedVerification => ({
  testsPassed: passed,
  testsTotal: total,
  passed: passed === total,
  summary: '',
  at: 1,
});

describe('vscode/verifyCache', () => {
  it('remembers results by content key and survives a reload through the workspace state', async () => {
    const state = new MemoryMemento();
    const cache = new VerifyCache(state);
    const key = cacheKey('def f(x):\n    return x', 'assert f(1) == 1', 'python');
    assert.equal(cache.get(key), undefined);
    await cache.set(key, entry(3, 5));
    assert.deepEqual(cache.get(key), entry(3, 5));
    const reloaded = new VerifyCache(state);
    assert.deepEqual(reloaded.get(key), entry(3, 5));
    // An edited function has another key: not a hit.
    assert.equal(reloaded.has(cacheKey('def f(x):\n    return x + 1', 'assert f(1) == 1', 'python')), false);
  });

  it('ignores malformed saved state and keeps working when a write fails', async () => {
    const state = new MemoryMemento();
    state.data['crucible.verifyCache.v1'] = { a: { nonsense: true }, b: entry(1, 1) };
    const cache = new VerifyCache(state);
    assert.equal(cache.has('a'), false);
    assert.equal(cache.has('b'), true);
    state.failNext = true;
    await cache.set('c', entry(0, 2));
    assert.deepEqual(cache.get('c'), entry(0, 2));
  });

  it('keeps at most 500 entries, dropping the oldest', async () => {
    const cache = new VerifyCache();
    for (let i = 0; i < 510; i++) await cache.set(`k${i}`, entry(1, 1));
    assert.equal(cache.size, 500);
    assert.equal(cache.has('k0'), false);
    assert.equal(cache.has('k509'), true);
  });
});
