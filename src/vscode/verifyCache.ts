// Verification results by content hash (core/parse/cacheKey): an unchanged function with unchanged tests
// is never run again. Kept in memory and in the workspace state, so results survive a reload.
import type * as vscode from 'vscode';
import type { TestFailure } from '../core/types';

export interface CachedVerification {
  testsPassed: number;
  testsTotal: number;
  passed: boolean;
  /** One line about the first failure, for tooltips. */
  summary: string;
  /** The failing tests (at most 10), for the lens tooltip, the Testing view and the Problems panel. */
  failures?: TestFailure[];
  /** When it was verified, ms since the epoch. */
  at: number;
}

const STATE_KEY = 'crucible.verifyCache.v1';
const MAX_ENTRIES = 500;

export class VerifyCache {
  private readonly entries = new Map<string, CachedVerification>();

  constructor(private readonly state?: vscode.Memento) {
    const saved = state?.get<{ [key: string]: CachedVerification }>(STATE_KEY);
    if (saved && typeof saved === 'object') {
      for (const [key, value] of Object.entries(saved)) {
        if (value && typeof value.testsPassed === 'number' && typeof value.testsTotal === 'number')
          this.entries.set(key, value);
      }
    }
  }

  get(key: string): CachedVerification | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  async set(key: string, value: CachedVerification): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    await this.persist();
  }

  async clear(): Promise<void> {
    this.entries.clear();
    await this.persist();
  }

  get size(): number {
    return this.entries.size;
  }

  private async persist(): Promise<void> {
    if (!this.state) return;
    try {
      await this.state.update(STATE_KEY, Object.fromEntries(this.entries));
    } catch {
      // The in-memory cache still works; the next successful write saves everything.
    }
  }
}
