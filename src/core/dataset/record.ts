// Building dataset Records from solve Outcomes and self-play Puzzles: normalised content hashes for
// dedupe, a difficulty estimate, and scrubbing so that no secret (API key, token, auth header) is stored.
import { createHash, randomUUID } from 'node:crypto';
import type { Attempt, Language, Outcome, Puzzle, DatasetRecord, Task, Usage } from '../types';
import { solutionOf } from '../solve/placement';

export const RECORD_SCHEMA = 1 as const;

export interface RecordMeta {
  model?: string;
  /** Generation options (temperature, top_p, ...). Secret-looking keys and URL credentials are dropped. */
  options?: { [key: string]: unknown };
  extensionVersion: string;
  now?: Date;
  /** Literal values (header values, API keys) that must never appear anywhere in the Record. */
  redact?: string[];
}

export interface PuzzleMeta extends RecordMeta {
  /** The solving attempts self-play made, if it kept them. */
  attempts?: Attempt[];
  usage?: Usage;
  durationMs?: number;
  /** Defaults to true when the puzzle has at least one solution body. */
  verified?: boolean;
}

/** The form of code that dataset content hashes use (duplicates differ only in it): unified newlines, no trailing whitespace, no blank lines. */
export function hashForm(code: string): string {
  return code
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/\s+$/, ''))
    .filter((line) => line !== '')
    .join('\n')
    .trim();
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Identity of a task independent of its id: same language, prompt, entry point and tests ⇒ same key. */
export function taskKey(task: Pick<Task, 'language' | 'prompt' | 'entryPoint' | 'tests'>): string {
  return sha256(
    ['task', task.language, hashForm(task.prompt ?? ''), task.entryPoint ?? '', hashForm(task.tests ?? '')].join(
      '\u0000',
    ),
  );
}

/**
 * The Record's content hash: the normalised task plus the verified solution, or, for an unverified
 * Record, plus the code of every attempt (so repeated identical failures collapse, new ones are kept).
 */
export function contentHash(record: Pick<DatasetRecord, 'task' | 'verified' | 'solution' | 'attempts'>): string {
  const body = record.verified
    ? ['verified', hashForm(record.solution ?? '')]
    : ['unverified', ...record.attempts.map((a) => hashForm(a.candidate.code))];
  return sha256([taskKey(record.task), ...body].join('\u0000'));
}

/** Share of first-round samples that failed: 0 easy … 1 hard; undefined without first-round attempts. */
export function difficultyOf(attempts: Attempt[]): number | undefined {
  const first = attempts.filter((a) => a.candidate.round === 0);
  if (first.length === 0) return undefined;
  return first.filter((a) => !a.verdict.passed).length / first.length;
}

const SECRET_KEY =
  /^(headers?|authorization|proxy[-_]?authorization|cookies?|set[-_]?cookie|passwords?|passwd|secrets?|tokens?|credentials?)$|api[-_]?key|access[-_]?token|auth[-_]?token|refresh[-_]?token|bearer|client[-_]?secret|private[-_]?key/i;

function stripUrlCredentials(value: string): string {
  return value.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1');
}

/** Deep copy of generation options without secret-looking keys; URL credentials removed from strings. */
export function sanitiseOptions(value: unknown): unknown {
  if (typeof value === 'string') return stripUrlCredentials(value);
  if (Array.isArray(value)) return value.map(sanitiseOptions);
  if (value && typeof value === 'object') {
    const out: { [key: string]: unknown } = {};
    for (const [key, inner] of Object.entries(value as { [key: string]: unknown })) {
      if (SECRET_KEY.test(key)) continue;
      out[key] = sanitiseOptions(inner);
    }
    return out;
  }
  return value;
}

/** Replaces every occurrence of each secret (≥ 4 chars, to avoid mangling ordinary text) throughout the Record. */
function redactRecord(record: DatasetRecord, secrets: string[] | undefined): DatasetRecord {
  const list = (secrets ?? []).filter((s) => typeof s === 'string' && s.length >= 4);
  const bearer = list
    .flatMap((s) => (/^bearer\s+/i.test(s) ? [s.replace(/^bearer\s+/i, '')] : []))
    .filter((s) => s.length >= 4);
  const all = [...new Set([...list, ...bearer])].sort((a, b) => b.length - a.length);
  if (all.length === 0) return record;
  let text = JSON.stringify(record);
  for (const secret of all) {
    const encoded = JSON.stringify(secret).slice(1, -1);
    text = text.split(encoded).join('[redacted]');
  }
  return JSON.parse(text) as DatasetRecord;
}

function pickTask(task: Task): DatasetRecord['task'] {
  const out: DatasetRecord['task'] = {
    id: task.id,
    language: task.language,
    prompt: task.prompt,
    tests: task.tests,
    testsOrigin: task.testsOrigin,
    origin: task.origin,
  };
  if (task.entryPoint !== undefined) out.entryPoint = task.entryPoint;
  return out;
}

function finish(record: DatasetRecord, meta: RecordMeta): DatasetRecord {
  const redacted = redactRecord(record, meta.redact);
  redacted.hash = contentHash(redacted);
  return redacted;
}

/** A Record for one solve. Unverified Outcomes are kept too (negatives for preference data). */
export function recordFromOutcome(outcome: Outcome, meta: RecordMeta): DatasetRecord {
  const verified = outcome.verified && !!outcome.best;
  const record: DatasetRecord = {
    schema: RECORD_SCHEMA,
    id: randomUUID(),
    hash: '',
    createdAt: (meta.now ?? new Date()).toISOString(),
    task: pickTask(outcome.task),
    verified,
    verifiedByGeneratedTests: verified && outcome.verifiedByGeneratedTests,
    // A HumanEval continuation is stored as the whole program that was verified, not the bare body the
    // model wrote, so every export trains on code that runs on its own.
    attempts: outcome.attempts.map((a) => ({
      ...a,
      candidate: { ...a.candidate, code: solutionOf(outcome.task, a.candidate.code) },
    })),
    usage: outcome.usage,
    durationMs: outcome.durationMs,
    extensionVersion: meta.extensionVersion,
  };
  if (verified && outcome.best) record.solution = solutionOf(outcome.task, outcome.best.candidate.code);
  if (outcome.best) record.verdict = outcome.best.verdict;
  const model = meta.model ?? outcome.model;
  if (model) record.model = model;
  if (meta.options) record.options = sanitiseOptions(meta.options) as { [key: string]: unknown };
  const difficulty = difficultyOf(outcome.attempts);
  if (difficulty !== undefined) record.difficulty = difficulty;
  return finish(record, meta);
}

/** The runnable solver of a puzzle: `sol_header` followed by one body. */
export function puzzleSolution(puzzle: Puzzle, body: string): string {
  return `${puzzle.solHeader.replace(/\s+$/, '')}\n${body.replace(/^\n+/, '').replace(/\s+$/, '')}\n`;
}

/**
 * A Record for one self-play Puzzle. The task is "write `sol()` so that `sat(sol())` is True"; the
 * puzzle's `sat` is its own specification, so the Record is not "verified by generated tests".
 * `Puzzle.solveRate` is a solve rate; the Record's `difficulty` is 1 - solve rate (higher = harder), the one meaning of difficulty.
 */
export function recordFromPuzzle(puzzle: Puzzle, meta: PuzzleMeta): DatasetRecord {
  const language: Language = 'python';
  const body = puzzle.solBodies[0];
  const verified = meta.verified ?? body !== undefined;
  const task: DatasetRecord['task'] = {
    id: `p3:${puzzle.name}`,
    language,
    prompt: `${puzzle.sat.replace(/\s+$/, '')}\n\n${puzzle.solHeader.replace(/\s+$/, '')}\n    """Return an answer x of type ${puzzle.ansType} such that sat(x) is True."""\n`,
    entryPoint: 'sol',
    tests: `${puzzle.sat.replace(/\s+$/, '')}\n\nassert sat(sol()) is True\n`,
    testsOrigin: 'generated',
    origin: 'self-play',
  };
  const record: DatasetRecord = {
    schema: RECORD_SCHEMA,
    id: randomUUID(),
    hash: '',
    createdAt: (meta.now ?? new Date()).toISOString(),
    task,
    verified: verified && body !== undefined,
    verifiedByGeneratedTests: false,
    attempts: meta.attempts ?? [],
    puzzle,
    usage: meta.usage ?? { promptTokens: 0, completionTokens: 0, durationMs: 0 },
    durationMs: meta.durationMs ?? 0,
    extensionVersion: meta.extensionVersion,
  };
  if (record.verified && body !== undefined) record.solution = puzzleSolution(puzzle, body);
  if (meta.model) record.model = meta.model;
  if (meta.options) record.options = sanitiseOptions(meta.options) as { [key: string]: unknown };
  if (typeof puzzle.solveRate === 'number') record.difficulty = 1 - puzzle.solveRate;
  else {
    const d = difficultyOf(record.attempts);
    if (d !== undefined) record.difficulty = d;
  }
  return finish(record, meta);
}

/** Checks the shape of a parsed line; returns a reason when it is not a usable Record. */
export function recordProblem(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const r = value as { [key: string]: unknown };
  if (r.schema !== RECORD_SCHEMA) return `unknown schema ${JSON.stringify(r.schema)} (expected ${RECORD_SCHEMA})`;
  if (typeof r.hash !== 'string' || r.hash.length === 0) return 'missing "hash"';
  if (typeof r.id !== 'string') return 'missing "id"';
  const task = r.task as { [key: string]: unknown } | undefined;
  if (!task || typeof task !== 'object' || typeof task.prompt !== 'string' || typeof task.language !== 'string')
    return 'missing "task" with prompt and language';
  if (typeof r.verified !== 'boolean') return 'missing "verified"';
  if (!Array.isArray(r.attempts)) return 'missing "attempts"';
  const bad = r.attempts.findIndex((a: unknown) => {
    const attempt = a as { candidate?: { code?: unknown }; verdict?: unknown } | null;
    return (
      !attempt ||
      typeof attempt !== 'object' ||
      typeof attempt.candidate?.code !== 'string' ||
      !attempt.verdict ||
      typeof attempt.verdict !== 'object'
    );
  });
  if (bad >= 0) return `attempt ${bad + 1} lacks candidate code or a verdict`;
  return undefined;
}
