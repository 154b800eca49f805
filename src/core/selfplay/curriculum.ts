// The self-play curriculum: which kind of puzzle to ask for next.
//
// Arms are categories (topic, difficulty band). The topic is a seed module (P3's `graphs.py`, the shipped
// set's `strings`, ...); the band is the difficulty the prompt asks for (easy / medium / hard), which also
// picks the examples shown (accepted puzzles of that topic measured in that band, else seeds).
//
// The rule (after Self-Evolving Curriculum, Chen et al. 2025): each arm keeps a value Q, updated with a
// constant step size, Q ← Q + α (r − Q), which forgets old rewards and so tracks a moving target (the
// model, the example pool and the bands change during a run: a non-stationary bandit). The next arm is
// drawn from softmax(Q / τ). The reward of one generated puzzle is its learning signal, 4 p (1 − p) for a
// solve rate p over n independent attempts: 1 at p = ½, 0 when always solved or never solved, and 0 for a
// rejected puzzle. For binary rewards the mean absolute advantage of a group with success rate p is
// 2 p (1 − p), SEC's proxy for learning progress; online difficulty filtering finds the same band (neither
// always nor never solved) carries the gradient. So arms whose puzzles land in that band get drawn more.
//
// Bands by solve rate p: easy when every attempt succeeded (p = 1), hard when p ≤ ¼ (including puzzles
// only the generator solved), medium in between.

import type { Puzzle } from '../types';
import { familyOf, topicOf } from './puzzle';
import type { ArmReport, Band, CurriculumWindow } from './types';
import { BANDS } from './types';

/** A small seedable PRNG (mulberry32) whose state fits in the checkpoint. */
export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

export function bandOf(solveRate: number): Band {
  if (solveRate >= 1) return 'easy';
  if (solveRate <= 0.25) return 'hard';
  return 'medium';
}

/** The learning signal of one puzzle: 4 p (1 − p) for solve rate p; 0 for a rejected puzzle. */
export function rewardOf(solveRate: number | undefined): number {
  if (solveRate === undefined || !Number.isFinite(solveRate)) return 0;
  const p = Math.min(1, Math.max(0, solveRate));
  return 4 * p * (1 - p);
}

export interface ArmState {
  q: number;
  pulls: number;
  accepted: number;
  solveRateSum: number;
}

export interface CurriculumState {
  arms: { [key: string]: ArmState };
}

export interface CurriculumOptions {
  /** Step size α of the value update (default 0.3). */
  alpha?: number;
  /** Softmax temperature τ (default 0.15). */
  temperature?: number;
  /** Q of an arm never pulled (default 0.5): mildly optimistic, so every topic gets tried early. */
  initialQ?: number;
}

export function armKey(topic: string, band: Band): string {
  return `${topic}/${band}`;
}

export function parseArm(key: string): { topic: string; band: Band } {
  const i = key.lastIndexOf('/');
  return { topic: key.slice(0, i), band: key.slice(i + 1) as Band };
}

export class Curriculum {
  readonly alpha: number;
  readonly temperature: number;
  readonly initialQ: number;
  private readonly arms = new Map<string, ArmState>();

  constructor(topics: readonly string[], state?: CurriculumState, options: CurriculumOptions = {}) {
    this.alpha = options.alpha ?? 0.3;
    this.temperature = options.temperature ?? 0.15;
    this.initialQ = options.initialQ ?? 0.5;
    for (const topic of topics)
      for (const band of BANDS)
        this.arms.set(armKey(topic, band), { q: this.initialQ, pulls: 0, accepted: 0, solveRateSum: 0 });
    for (const [key, arm] of Object.entries(state?.arms ?? {})) this.arms.set(key, { ...arm });
  }

  /** Draws an arm from softmax(Q / τ). */
  choose(rng: Rng): string {
    const keys = [...this.arms.keys()];
    const qs = keys.map((k) => this.arms.get(k)!.q / this.temperature);
    const max = Math.max(...qs);
    const weights = qs.map((q) => Math.exp(q - max));
    const total = weights.reduce((a, b) => a + b, 0);
    let r = rng.next() * total;
    for (let i = 0; i < keys.length; i++) {
      r -= weights[i]!;
      if (r <= 0) return keys[i]!;
    }
    return keys[keys.length - 1]!;
  }

  /** Records the outcome of one puzzle asked for under `key`: its solve rate, or undefined when rejected. */
  update(key: string, solveRate: number | undefined, accepted: boolean): number {
    let arm = this.arms.get(key);
    if (!arm) {
      arm = { q: this.initialQ, pulls: 0, accepted: 0, solveRateSum: 0 };
      this.arms.set(key, arm);
    }
    const reward = rewardOf(solveRate);
    arm.q += this.alpha * (reward - arm.q);
    arm.pulls++;
    if (accepted && solveRate !== undefined) {
      arm.accepted++;
      arm.solveRateSum += solveRate;
    }
    return reward;
  }

  q(key: string): number | undefined {
    return this.arms.get(key)?.q;
  }

  snapshot(): CurriculumState {
    return { arms: Object.fromEntries([...this.arms].map(([k, v]) => [k, { ...v }])) };
  }

  report(): ArmReport[] {
    return [...this.arms]
      .map(([key, a]) => {
        const { topic, band } = parseArm(key);
        const r: ArmReport = {
          arm: key,
          topic,
          band,
          pulls: a.pulls,
          q: Math.round(a.q * 1000) / 1000,
          accepted: a.accepted,
        };
        if (a.accepted) r.meanSolveRate = Math.round((a.solveRateSum / a.accepted) * 1000) / 1000;
        return r;
      })
      .sort((a, b) => b.pulls - a.pulls || b.q - a.q || a.arm.localeCompare(b.arm));
  }
}

/** What the curriculum did for one ticket; kept in the checkpoint to report where the curriculum went. */
export interface HistoryEntry {
  ticket: number;
  arm: string;
  variant?: boolean;
  solveRate?: number;
  accepted: boolean;
}

/** Splits the run's history into about ten windows: bands asked for, variants, the busiest topic. */
export function curriculumWindows(history: readonly HistoryEntry[], windows = 10): CurriculumWindow[] {
  if (history.length === 0) return [];
  const sorted = [...history].sort((a, b) => a.ticket - b.ticket);
  const size = Math.max(1, Math.ceil(sorted.length / windows));
  const out: CurriculumWindow[] = [];
  for (let i = 0; i < sorted.length; i += size) {
    const part = sorted.slice(i, i + size);
    const bands: { [band in Band]: number } = { easy: 0, medium: 0, hard: 0 };
    const topics = new Map<string, number>();
    let variants = 0;
    const rates: number[] = [];
    for (const h of part) {
      const { topic, band } = parseArm(h.arm);
      if (h.variant) variants++;
      else bands[band]++;
      topics.set(topic, (topics.get(topic) ?? 0) + 1);
      if (h.accepted && h.solveRate !== undefined) rates.push(h.solveRate);
    }
    const top = [...topics].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
    const w: CurriculumWindow = {
      fromTicket: part[0]!.ticket,
      toTicket: part[part.length - 1]!.ticket,
      bands,
      variants,
    };
    if (top) w.topTopic = top[0];
    if (rates.length) w.meanSolveRate = Math.round((rates.reduce((a, b) => a + b, 0) / rates.length) * 1000) / 1000;
    out.push(w);
  }
  return out;
}

/**
 * Few-shot examples for an arm: accepted puzzles of the topic measured in the band first, then seeds of
 * the topic, then other seeds; never two from the same P3 family, so the examples stay diverse.
 */
export function pickExamples(
  rng: Rng,
  topic: string,
  band: Band,
  seeds: readonly Puzzle[],
  accepted: readonly Puzzle[],
  count: number,
): Puzzle[] {
  const inBand = accepted.filter(
    (p) => topicOf(p) === topic && p.solveRate !== undefined && bandOf(p.solveRate) === band,
  );
  const topicSeeds = seeds.filter((p) => topicOf(p) === topic);
  const others = seeds.filter((p) => topicOf(p) !== topic);
  const out: Puzzle[] = [];
  const families = new Set<string>();
  for (const pool of [
    rng.shuffle(inBand).slice(0, Math.max(1, count - 1)),
    rng.shuffle(topicSeeds),
    rng.shuffle(others),
  ]) {
    for (const p of pool) {
      if (out.length >= count) break;
      const family = familyOf(p.name);
      if (families.has(family)) continue;
      families.add(family);
      out.push(p);
    }
  }
  return out;
}
