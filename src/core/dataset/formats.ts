// One writer per export format. exportDataset (export.ts) reads the store twice and hands each Record to
// the format's writer: first `wants` and `scan` (which Records give anything, what a task needs to know
// before writing), then `write`, then `finish`. Where the examples land (train or validation side, counts,
// tasks used) is the ExportSink's business.
//
//   sft     {"messages":[system, user, assistant]}           verified solutions (TRL SFTTrainer / OpenAI chat)
//   dpo     {"prompt":[...], "chosen":[...], "rejected":[...]} verified solution vs a failed attempt at the same task
//   traces  {"messages":[system, user, assistant(wrong), user(feedback), assistant(fixed)]}
//   p3      JSON array in the Python Programming Puzzles layout (name, sat, ans_type, sol_header, sol_bodies)
import type { Attempt, Language, DatasetRecord } from '../types';
import { p3Entry, p3FileText, p3Notes, type P3Entry } from './p3';
import { hashForm } from './record';

export const EXPORT_FORMATS = ['sft', 'dpo', 'traces', 'p3'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What the writers need of the export options. */
export interface WriterOptions {
  /** Keep Records verified only by model-written tests. */
  includeGenerated?: boolean;
  /** Most DPO pairs per task. */
  maxPairsPerTask: number;
}

export type Side = 'train' | 'valid';

/** The output sides of one export. */
export interface ExportSink {
  /** Writes one JSONL example for a task and counts it. */
  emit(side: Side, task: string, example: object): Promise<void>;
  /** Counts a task as used on a side (for writers that gather before writing). */
  useTask(side: Side, task: string): void;
  /** Writes a side's whole text at the end, with the number of examples it holds; skipped when the side has no file. */
  writeSide(side: Side, text: string, count: number): Promise<void>;
}

export interface FormatWriter {
  /** What the README calls one unit of this format's output. */
  readonly unit: 'examples' | 'pairs' | 'puzzles';
  /** Pass 1: whether a Record that passed the filters gives this format anything. */
  wants(record: DatasetRecord): boolean;
  /** Pass 1, for each wanted Record: what the format must know about its task before writing. */
  scan?(record: DatasetRecord, task: string): void;
  /** Pass 2: writes what a wanted Record gives to the task's side. */
  write(record: DatasetRecord, task: string, side: Side, sink: ExportSink): Promise<void>;
  /** After pass 2: writes whatever was gathered. */
  finish?(sink: ExportSink): Promise<void>;
}

const SYSTEM_PROMPT =
  'You are a careful programmer. Answer with one code block holding the complete solution; it will be run against tests.';
const LANGUAGE_NAMES: { [L in Language]: string } = {
  python: 'Python',
  javascript: 'JavaScript',
  typescript: 'TypeScript',
};

interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

function fence(code: string, language: string): string {
  const body = code.replace(/\s+$/, '');
  const ticks = body.includes('```') ? '````' : '```';
  return `${ticks}${language}\n${body}\n${ticks}`;
}

export function userMessage(task: DatasetRecord['task']): string {
  const parts = [
    `Write ${LANGUAGE_NAMES[task.language] ?? task.language} code for this task.`,
    '',
    task.prompt.replace(/\s+$/, ''),
  ];
  if (task.testsOrigin === 'user' && task.tests.trim())
    parts.push('', 'It must pass these tests:', fence(task.tests, task.language));
  return parts.join('\n');
}

function feedbackMessage(attempt: Attempt): string {
  const feedback = (attempt.verdict.feedback || attempt.verdict.status).trim();
  const trimmed = feedback.length > 3000 ? `${feedback.slice(0, 3000)}\n… (trimmed)` : feedback;
  return `Running the tests on that code gave:\n${fence(trimmed, 'text')}\nFix the code and answer with the complete corrected version.`;
}

function opening(record: DatasetRecord): Message[] {
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: userMessage(record.task) },
  ];
}

/** Whether a Record's solution may serve as a positive example. */
function usableVerified(record: DatasetRecord, o: WriterOptions): boolean {
  return (
    record.verified &&
    typeof record.solution === 'string' &&
    record.solution.trim() !== '' &&
    (!record.verifiedByGeneratedTests || !!o.includeGenerated)
  );
}

/** The failing attempts of a Record that may serve as negatives. */
function usableFailures(record: DatasetRecord, o: WriterOptions): Attempt[] {
  if (record.task.testsOrigin === 'generated' && record.task.origin !== 'self-play' && !o.includeGenerated) return [];
  const seen = new Set<string>();
  return (record.attempts ?? []).filter((a) => {
    if (!a?.verdict || a.verdict.passed || typeof a.candidate?.code !== 'string') return false;
    const code = hashForm(a.candidate.code);
    if (!code || seen.has(code)) return false;
    seen.add(code);
    return true;
  });
}

/** The chain of attempts that led to the verified solution, ending with the passing one. */
export function fixChain(record: DatasetRecord): Attempt[] {
  const attempts = record.attempts ?? [];
  const solution = hashForm(record.solution ?? '');
  const passing = attempts.filter((a) => a.verdict?.passed);
  const best = passing.find((a) => hashForm(a.candidate.code) === solution) ?? passing[passing.length - 1];
  if (!best) return [];
  const byId = new Map(attempts.map((a) => [a.candidate.id, a] as const));
  const chain = [best];
  const visited = new Set([best.candidate.id]);
  let current = best;
  while (
    current.candidate.parentId &&
    byId.has(current.candidate.parentId) &&
    !visited.has(current.candidate.parentId)
  ) {
    current = byId.get(current.candidate.parentId)!;
    visited.add(current.candidate.id);
    chain.unshift(current);
  }
  if (chain.length === 1) {
    // No parent links: pair the passing attempt with the last failure before it.
    const index = attempts.indexOf(best);
    const before = attempts.slice(0, index).filter((a) => !a.verdict.passed);
    const last = before[before.length - 1];
    if (last) chain.unshift(last);
  }
  // Only failures lead up to the fix; keep the last three of them.
  const failures = chain
    .slice(0, -1)
    .filter((a) => !a.verdict.passed)
    .slice(-3);
  return failures.length ? [...failures, best] : [];
}

/** sft: the task and its verified solution. */
function sftWriter(o: WriterOptions): FormatWriter {
  return {
    unit: 'examples',
    wants: (record) => usableVerified(record, o),
    async write(record, task, side, sink) {
      const messages: Message[] = [
        ...opening(record),
        { role: 'assistant', content: fence(record.solution ?? '', record.task.language) },
      ];
      await sink.emit(side, task, { messages });
    },
  };
}

/** traces: the task, the wrong attempts with their feedback, and the fix. */
function tracesWriter(o: WriterOptions): FormatWriter {
  return {
    unit: 'examples',
    wants: (record) => usableVerified(record, o) && fixChain(record).length > 1,
    async write(record, task, side, sink) {
      const chain = fixChain(record);
      if (chain.length <= 1) return;
      const language = record.task.language;
      const messages = opening(record);
      for (const attempt of chain.slice(0, -1)) {
        messages.push({ role: 'assistant', content: fence(attempt.candidate.code, language) });
        messages.push({ role: 'user', content: feedbackMessage(attempt) });
      }
      messages.push({
        role: 'assistant',
        content: fence(record.solution ?? chain[chain.length - 1]!.candidate.code, language),
      });
      await sink.emit(side, task, { messages });
    },
  };
}

/** dpo: each failed attempt paired with one of the task's verified solutions (from any of its Records). */
function dpoWriter(o: WriterOptions): FormatWriter {
  /** Per task: distinct verified solutions, at most four, and their normal forms. */
  const chosen = new Map<string, { codes: string[]; keys: Set<string> }>();
  const pairs = new Map<string, number>();
  return {
    unit: 'pairs',
    wants: (record) => usableVerified(record, o) || usableFailures(record, o).length > 0,
    scan(record, task) {
      const known = chosen.get(task) ?? { codes: [], keys: new Set<string>() };
      chosen.set(task, known);
      if (!usableVerified(record, o)) return;
      const norm = hashForm(record.solution!);
      if (known.keys.has(norm) || known.codes.length >= 4) return;
      known.keys.add(norm);
      known.codes.push(record.solution!);
    },
    async write(record, task, side, sink) {
      const known = chosen.get(task);
      if (!known?.codes.length) return;
      const language = record.task.language;
      for (const failure of usableFailures(record, o)) {
        if (known.keys.has(hashForm(failure.candidate.code))) continue;
        const count = pairs.get(task) ?? 0;
        if (count >= o.maxPairsPerTask) break;
        pairs.set(task, count + 1);
        await sink.emit(side, task, {
          prompt: opening(record),
          chosen: [{ role: 'assistant', content: fence(known.codes[count % known.codes.length]!, language) }],
          rejected: [{ role: 'assistant', content: fence(failure.candidate.code, language) }],
        });
      }
    },
  };
}

/** p3: one puzzle entry per puzzle name and side, gathering every distinct verified body; written at the end. */
function p3Writer(o: WriterOptions): FormatWriter {
  const puzzles: { [S in Side]: Map<string, P3Entry> } = { train: new Map(), valid: new Map() };
  return {
    unit: 'puzzles',
    wants: (record) => usableVerified(record, o) && !!record.puzzle,
    async write(record, task, side, sink) {
      const puzzle = record.puzzle!;
      const header = puzzle.solHeader.replace(/\s+$/, '');
      const body = (record.solution ?? '').startsWith(header)
        ? record.solution!.slice(header.length).replace(/^\n/, '').replace(/\s+$/, '')
        : (puzzle.solBodies[0] ?? '');
      let entry = puzzles[side].get(puzzle.name);
      if (!entry) {
        entry = { ...p3Entry(puzzle, []), notes: p3Notes(puzzle) };
        puzzles[side].set(puzzle.name, entry);
      }
      for (const b of [body, ...puzzle.solBodies]) {
        if (b.trim() && !entry.sol_bodies.some((x) => hashForm(x) === hashForm(b))) entry.sol_bodies.push(b);
      }
      sink.useTask(side, task);
    },
    async finish(sink) {
      for (const side of ['train', 'valid'] as const) {
        const list = [...puzzles[side].values()];
        await sink.writeSide(side, p3FileText(list), list.length);
      }
    },
  };
}

const WRITERS: { [F in ExportFormat]: (o: WriterOptions) => FormatWriter } = {
  sft: sftWriter,
  dpo: dpoWriter,
  traces: tracesWriter,
  p3: p3Writer,
};

/** A fresh writer for one export (writers keep per-export state). */
export function formatWriter(format: ExportFormat, options: WriterOptions): FormatWriter {
  return WRITERS[format](options);
}
