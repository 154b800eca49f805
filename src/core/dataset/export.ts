// Exports for fine-tuning, streamed in two passes over the store (the first keeps only small per-task
// facts, the second writes), each output written to a temp file and renamed into place.
//
//   sft     {"messages":[system, user, assistant]}           verified solutions (TRL SFTTrainer / OpenAI chat)
//   dpo     {"prompt":[...], "chosen":[...], "rejected":[...]} verified solution vs a failed attempt at the same task
//   traces  {"messages":[system, user, assistant(wrong), user(feedback), assistant(fixed)]}
//   p3      JSON array in the Python Programming Puzzles layout (name, sat, ans_type, sol_header, sol_bodies)
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Attempt, Language, Record, TaskOrigin } from '../types';
import { normaliseCode, taskKey } from './record';
import type { DatasetProblem } from './store';
import { readRecords } from './store';
import { syncDirectory } from '../durable';
import { p3Entry, p3FileText, p3Notes, type P3Entry } from './p3';

export const EXPORT_FORMATS = ['sft', 'dpo', 'traces', 'p3'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportFilters {
  /** Keep Records verified only by model-written tests (default false: they are excluded). */
  includeGenerated?: boolean;
  model?: string;
  language?: Language;
  origin?: TaskOrigin;
  since?: Date;
  until?: Date;
  /** Keep Records whose difficulty (share of first samples that failed) is at least this; unknown difficulty is dropped. */
  minDifficulty?: number;
}

export interface ExportOptions extends ExportFilters {
  format: ExportFormat;
  /** Output file. With a split, `<stem>.train<ext>` and `<stem>.valid<ext>` are written instead. */
  out: string;
  /** Share of tasks for training, in (0, 1]; 1 (default) writes one file. Split by task, never by Record. */
  split?: number;
  /** Downsample over-represented difficulty bands so easy tasks do not crowd out hard ones. */
  balance?: boolean;
  /** Changes which tasks land in validation and which Records balancing keeps. */
  seed?: string;
  /** Most DPO pairs per task (default 8). */
  maxPairsPerTask?: number;
  /** Write a README beside the data (default true): `<stem>.README.md`, or `readmePath` when given. */
  readme?: boolean;
  /** Where the README goes (e.g. `README.md` of a folder that holds only this export). */
  readmePath?: string;
  signal?: AbortSignal;
  onProgress?: (progress: { phase: 'scan' | 'write'; records: number; total?: number }) => void;
}

export interface ExportResult {
  format: ExportFormat;
  files: { train: string; valid?: string; readme?: string };
  /** Examples written (lines, or puzzles for p3). */
  train: number;
  valid: number;
  trainTasks: number;
  validTasks: number;
  /** Records read, and Records passing the filters. */
  records: number;
  selected: number;
  /** Records dropped by balancing. */
  balancedOut: number;
  problems: DatasetProblem[];
}

export class ExportCancelled extends Error {
  constructor() {
    super('Export cancelled; no output file was written.');
    this.name = 'ExportCancelled';
  }
}

const SYSTEM_PROMPT = 'You are a careful programmer. Answer with one code block holding the complete solution; it will be run against tests.';
const LANGUAGE_NAMES: { [L in Language]: string } = { python: 'Python', javascript: 'JavaScript', typescript: 'TypeScript' };

interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

function fence(code: string, language: string): string {
  const body = code.replace(/\s+$/, '');
  const ticks = body.includes('```') ? '````' : '```';
  return `${ticks}${language}\n${body}\n${ticks}`;
}

export function userMessage(task: Record['task']): string {
  const parts = [`Write ${LANGUAGE_NAMES[task.language] ?? task.language} code for this task.`, '', task.prompt.replace(/\s+$/, '')];
  if (task.testsOrigin === 'user' && task.tests.trim()) parts.push('', 'It must pass these tests:', fence(task.tests, task.language));
  return parts.join('\n');
}

function feedbackMessage(attempt: Attempt): string {
  const feedback = (attempt.verdict.feedback || attempt.verdict.status).trim();
  const trimmed = feedback.length > 3000 ? `${feedback.slice(0, 3000)}\n… (trimmed)` : feedback;
  return `Running the tests on that code gave:\n${fence(trimmed, 'text')}\nFix the code and answer with the complete corrected version.`;
}

function unit(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 0x1_0000_0000;
}

/** Whether a Record passes the filters (format-independent part). */
export function passesFilters(record: Record, f: ExportFilters): boolean {
  if (f.model && record.model !== f.model) return false;
  if (f.language && record.task.language !== f.language) return false;
  if (f.origin && record.task.origin !== f.origin) return false;
  const created = Date.parse(record.createdAt);
  if (f.since && !(created >= f.since.getTime())) return false;
  if (f.until && !(created <= f.until.getTime())) return false;
  if (f.minDifficulty !== undefined && !(typeof record.difficulty === 'number' && record.difficulty >= f.minDifficulty)) return false;
  return true;
}

/** Whether a Record's solution may serve as a positive example. */
function usableVerified(record: Record, f: ExportFilters): boolean {
  return record.verified && typeof record.solution === 'string' && record.solution.trim() !== '' && (!record.verifiedByGeneratedTests || !!f.includeGenerated);
}

/** The failing attempts of a Record that may serve as negatives. */
function usableFailures(record: Record, f: ExportFilters): Attempt[] {
  if (record.task.testsOrigin === 'generated' && record.task.origin !== 'self-play' && !f.includeGenerated) return [];
  const seen = new Set<string>();
  return (record.attempts ?? []).filter((a) => {
    if (!a?.verdict || a.verdict.passed || typeof a.candidate?.code !== 'string') return false;
    const code = normaliseCode(a.candidate.code);
    if (!code || seen.has(code)) return false;
    seen.add(code);
    return true;
  });
}

/** The chain of attempts that led to the verified solution, ending with the passing one. */
export function fixChain(record: Record): Attempt[] {
  const attempts = record.attempts ?? [];
  const solution = normaliseCode(record.solution ?? '');
  const passing = attempts.filter((a) => a.verdict?.passed);
  const best = passing.find((a) => normaliseCode(a.candidate.code) === solution) ?? passing[passing.length - 1];
  if (!best) return [];
  const byId = new Map(attempts.map((a) => [a.candidate.id, a] as const));
  const chain = [best];
  const visited = new Set([best.candidate.id]);
  let current = best;
  while (current.candidate.parentId && byId.has(current.candidate.parentId) && !visited.has(current.candidate.parentId)) {
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
  const failures = chain.slice(0, -1).filter((a) => !a.verdict.passed).slice(-3);
  return failures.length ? [...failures, best] : [];
}

function sftExample(record: Record): object {
  const messages: Message[] = [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: userMessage(record.task) },
    { role: 'assistant', content: fence(record.solution ?? '', record.task.language) },
  ];
  return { messages };
}

function traceExample(record: Record, chain: Attempt[]): object {
  const messages: Message[] = [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: userMessage(record.task) },
  ];
  for (const attempt of chain.slice(0, -1)) {
    messages.push({ role: 'assistant', content: fence(attempt.candidate.code, record.task.language) });
    messages.push({ role: 'user', content: feedbackMessage(attempt) });
  }
  messages.push({ role: 'assistant', content: fence(record.solution ?? chain[chain.length - 1]!.candidate.code, record.task.language) });
  return { messages };
}

function dpoExample(record: Record, chosen: string, rejected: string): object {
  return {
    prompt: [
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: userMessage(record.task) },
    ],
    chosen: [{ role: 'assistant', content: fence(chosen, record.task.language) }],
    rejected: [{ role: 'assistant', content: fence(rejected, record.task.language) }],
  };
}


/** A temp file renamed over the target on commit; removed on abort. */
class AtomicFile {
  private handle: FileHandle | undefined;
  private readonly temp: string;
  private buffer: string[] = [];
  private buffered = 0;

  constructor(readonly path: string) {
    this.temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  }

  async open(): Promise<void> {
    this.handle = await fsp.open(this.temp, 'w');
  }

  async write(text: string): Promise<void> {
    this.buffer.push(text);
    this.buffered += text.length;
    if (this.buffered >= 1 << 16) await this.drain();
  }

  private async drain(): Promise<void> {
    if (!this.buffer.length) return;
    const data = this.buffer.join('');
    this.buffer = [];
    this.buffered = 0;
    await this.handle!.writeFile(data, 'utf8');
  }

  async commit(): Promise<void> {
    await this.drain();
    await this.handle!.sync();
    await this.handle!.close();
    this.handle = undefined;
    await fsp.rename(this.temp, this.path);
    await syncDirectory(dirname(this.path));
  }

  async abort(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await fsp.unlink(this.temp).catch(() => undefined);
  }
}

/** Where each side of a split goes. */
export function outputPaths(out: string, split: number): { train: string; valid?: string } {
  if (split >= 1) return { train: out };
  const ext = extname(out);
  const stem = ext ? out.slice(0, -ext.length) : out;
  return { train: `${stem}.train${ext || '.jsonl'}`, valid: `${stem}.valid${ext || '.jsonl'}` };
}

function checkCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ExportCancelled();
}

interface TaskFacts {
  valid: boolean;
  /** Distinct verified solutions (DPO chosen), at most a few. */
  chosen: string[];
  chosenKeys: Set<string>;
}

/** Streams the dataset in `dir` into the chosen format. */
export async function exportDataset(dir: string, options: ExportOptions): Promise<ExportResult> {
  const split = options.split ?? 1;
  if (!(split > 0 && split <= 1)) throw new RangeError(`--split must be in (0, 1], got ${split}`);
  if (!EXPORT_FORMATS.includes(options.format)) throw new RangeError(`Unknown format "${options.format}"; use one of ${EXPORT_FORMATS.join(', ')}.`);
  const seed = options.seed ?? 'crucible';
  const maxPairs = options.maxPairsPerTask ?? 8;
  const problems: DatasetProblem[] = [];

  // Pass 1: filters, per-task facts, difficulty bands.
  const tasks = new Map<string, TaskFacts>();
  const bands = new Map<string, { ordinal: number; rank: number }[]>();
  const models = new Map<string, number>();
  let records = 0;
  let selected = 0;
  let ordinal = -1;
  const eligible = new Set<number>();
  for await (const record of readRecords(dir, (p) => problems.push(p))) {
    ordinal++;
    records++;
    if (records % 500 === 0) {
      checkCancelled(options.signal);
      options.onProgress?.({ phase: 'scan', records });
    }
    if (!passesFilters(record, options)) continue;
    const useful =
      options.format === 'sft' ? usableVerified(record, options)
        : options.format === 'traces' ? usableVerified(record, options) && fixChain(record).length > 1
          : options.format === 'p3' ? usableVerified(record, options) && !!record.puzzle
            : usableVerified(record, options) || usableFailures(record, options).length > 0;
    if (!useful) continue;
    selected++;
    eligible.add(ordinal);
    const key = taskKey(record.task);
    let facts = tasks.get(key);
    if (!facts) {
      facts = { valid: split < 1 && unit(`${seed}\u0000${key}`) >= split, chosen: [], chosenKeys: new Set() };
      tasks.set(key, facts);
    }
    if (options.format === 'dpo' && usableVerified(record, options)) {
      const norm = normaliseCode(record.solution!);
      if (!facts.chosenKeys.has(norm) && facts.chosen.length < 4) {
        facts.chosenKeys.add(norm);
        facts.chosen.push(record.solution!);
      }
    }
    if (record.model) models.set(record.model, (models.get(record.model) ?? 0) + 1);
    const band = typeof record.difficulty === 'number' ? String(Math.min(9, Math.max(0, Math.floor(record.difficulty * 10)))) : 'unknown';
    if (options.balance) {
      const list = bands.get(band) ?? [];
      list.push({ ordinal, rank: unit(`${seed}\u0000${record.hash}`) });
      bands.set(band, list);
    }
  }
  checkCancelled(options.signal);

  let balancedOut = 0;
  if (options.balance && bands.size > 1) {
    // Cap every difficulty band at the mean band size: crowded (usually easy) bands are thinned,
    // sparse (usually hard) bands keep everything.
    const cap = Math.ceil([...bands.values()].reduce((sum, l) => sum + l.length, 0) / bands.size);
    for (const list of bands.values()) {
      if (list.length <= cap) continue;
      list.sort((a, b) => a.rank - b.rank);
      for (const dropped of list.slice(cap)) {
        eligible.delete(dropped.ordinal);
        balancedOut++;
      }
    }
  }

  // Pass 2: write.
  const paths = outputPaths(options.out, split);
  await fsp.mkdir(dirname(paths.train), { recursive: true });
  const trainFile = new AtomicFile(paths.train);
  const validFile = paths.valid ? new AtomicFile(paths.valid) : undefined;
  const files = [trainFile, ...(validFile ? [validFile] : [])];
  const result: ExportResult = {
    format: options.format, files: { ...paths }, train: 0, valid: 0, trainTasks: 0, validTasks: 0,
    records, selected: selected - balancedOut, balancedOut, problems,
  };
  const usedTasks = { train: new Set<string>(), valid: new Set<string>() };
  const pairsPerTask = new Map<string, number>();
  const puzzles = { train: new Map<string, P3Entry>(), valid: new Map<string, P3Entry>() };
  try {
    for (const f of files) await f.open();
    let n = -1;
    const emit = async (valid: boolean, key: string, example: object): Promise<void> => {
      const target = valid && validFile ? validFile : trainFile;
      await target.write(`${JSON.stringify(example)}\n`);
      if (valid && validFile) result.valid++;
      else result.train++;
      (valid && validFile ? usedTasks.valid : usedTasks.train).add(key);
    };
    for await (const record of readRecords(dir)) {
      n++;
      if (n % 500 === 0) {
        checkCancelled(options.signal);
        options.onProgress?.({ phase: 'write', records: n, total: records });
      }
      if (!eligible.has(n)) continue;
      const key = taskKey(record.task);
      const facts = tasks.get(key);
      if (!facts) continue;
      switch (options.format) {
        case 'sft':
          await emit(facts.valid, key, sftExample(record));
          break;
        case 'traces': {
          const chain = fixChain(record);
          if (chain.length > 1) await emit(facts.valid, key, traceExample(record, chain));
          break;
        }
        case 'dpo': {
          if (!facts.chosen.length) break;
          const chosenKeys = facts.chosenKeys;
          for (const failure of usableFailures(record, options)) {
            if (chosenKeys.has(normaliseCode(failure.candidate.code))) continue;
            const count = pairsPerTask.get(key) ?? 0;
            if (count >= maxPairs) break;
            pairsPerTask.set(key, count + 1);
            await emit(facts.valid, key, dpoExample(record, facts.chosen[count % facts.chosen.length]!, failure.candidate.code));
          }
          break;
        }
        case 'p3': {
          const puzzle = record.puzzle!;
          const side = facts.valid && validFile ? puzzles.valid : puzzles.train;
          const body = (record.solution ?? '').startsWith(puzzle.solHeader.replace(/\s+$/, ''))
            ? record.solution!.slice(puzzle.solHeader.replace(/\s+$/, '').length).replace(/^\n/, '').replace(/\s+$/, '')
            : puzzle.solBodies[0] ?? '';
          let entry = side.get(puzzle.name);
          if (!entry) {
            entry = { ...p3Entry(puzzle, []), notes: p3Notes(puzzle) };
            side.set(puzzle.name, entry);
          }
          for (const b of [body, ...puzzle.solBodies]) {
            if (b.trim() && !entry.sol_bodies.some((x) => normaliseCode(x) === normaliseCode(b))) entry.sol_bodies.push(b);
          }
          (side === puzzles.valid ? usedTasks.valid : usedTasks.train).add(key);
          break;
        }
      }
    }
    if (options.format === 'p3') {
      for (const [file, map, side] of [[trainFile, puzzles.train, 'train'], [validFile, puzzles.valid, 'valid']] as const) {
        if (!file) continue;
        const list = [...map.values()];
        await file.write(p3FileText(list));
        result[side] = list.length;
      }
    }
    checkCancelled(options.signal);
    // A split side that got nothing is not written: no empty files.
    if (validFile && result.valid === 0) {
      await validFile.abort();
      files.splice(files.indexOf(validFile), 1);
      delete result.files.valid;
    }
    if (validFile && result.train === 0 && files.includes(trainFile)) {
      await trainFile.abort();
      files.splice(files.indexOf(trainFile), 1);
    }
    for (const f of files) await f.commit();
  } catch (err) {
    for (const f of files) await f.abort();
    throw err;
  }
  result.trainTasks = usedTasks.train.size;
  result.validTasks = usedTasks.valid.size;
  if (options.readme !== false) {
    const topModel = [...models.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    result.files.readme = await writeReadme(result, options, topModel);
  }
  return result;
}

const README_MARK = '<!-- written by crucible export -->';

/** Hugging Face checkpoint for the Ollama model, when the name is a familiar one. */
export function baseCheckpoint(model: string | undefined): string {
  const m = /^qwen2\.5-coder:(\d+(?:\.\d+)?)b/i.exec(model ?? '');
  if (m) return `Qwen/Qwen2.5-Coder-${m[1]!.toUpperCase()}B-Instruct`;
  return 'BASE_MODEL  # the Hugging Face checkpoint of the model you run in Ollama';
}

/** The README's path: the one asked for, else `<stem>.README.md`; a README not written by an export is never overwritten. */
async function readmeTarget(options: ExportOptions): Promise<string> {
  const folder = dirname(options.out);
  const stem = basename(options.out, extname(options.out));
  const candidates = [...(options.readmePath ? [options.readmePath] : []), join(folder, `${stem}.README.md`), join(folder, `${stem}.crucible-export.README.md`)];
  for (const path of candidates) {
    try {
      const existing = await fsp.readFile(path, 'utf8');
      if (existing.startsWith(README_MARK)) return path;
    } catch {
      return path; // none yet
    }
  }
  return candidates[candidates.length - 1]!;
}

async function writeReadme(result: ExportResult, options: ExportOptions, model: string | undefined): Promise<string> {
  const path = await readmeTarget(options);
  const trainName = basename(result.files.train);
  const validName = result.files.valid ? basename(result.files.valid) : undefined;
  const checkpoint = baseCheckpoint(model);
  const dataFiles = validName ? `{"train": "${trainName}", "validation": "${validName}"}` : `{"train": "${trainName}"}`;
  const evalArg = validName ? '\n    eval_dataset=data["validation"],' : '';
  const formats: { [F in ExportFormat]: string } = {
    sft: 'Chat `messages` (system, user, assistant): the task and its verified solution. Works with TRL `SFTTrainer` and OpenAI-style chat fine-tuning.',
    dpo: 'Preference pairs in conversational form: `prompt` (system + user), `chosen` (a verified solution), `rejected` (a failed attempt at the same task). Works with TRL `DPOTrainer`.',
    traces: 'Multi-turn self-correction in chat `messages`: the task, a wrong attempt, the execution feedback, and the corrected answer. Train it like SFT.',
    p3: 'A JSON array of puzzles in the Python Programming Puzzles `puzzles.json` layout (`name`, `sat`, `ans_type`, `sol_header`, `sol_docstring`, `sol_bodies`, `module`, `notes`, `weight`; Crucible\'s self-play facts are in `notes`). `sat(sol())` is True for every body; `crucible verify FILE` checks it again.',
  };
  const sft = [
    '```python',
    'from datasets import load_dataset',
    'from peft import LoraConfig',
    'from trl import SFTConfig, SFTTrainer',
    '',
    `data = load_dataset("json", data_files=${dataFiles})`,
    'trainer = SFTTrainer(',
    `    model="${checkpoint.split(' ')[0]}",`,
    `    train_dataset=data["train"],${evalArg}`,
    '    args=SFTConfig(output_dir="out", num_train_epochs=2, learning_rate=1e-4),',
    '    peft_config=LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"),',
    ')',
    'trainer.train()',
    'trainer.save_model("adapter")',
    '```',
  ];
  const dpo = [
    '```python',
    'from datasets import load_dataset',
    'from peft import LoraConfig',
    'from transformers import AutoModelForCausalLM, AutoTokenizer',
    'from trl import DPOConfig, DPOTrainer',
    '',
    `base = "${checkpoint.split(' ')[0]}"`,
    `data = load_dataset("json", data_files=${dataFiles})`,
    'trainer = DPOTrainer(',
    '    model=AutoModelForCausalLM.from_pretrained(base),',
    '    processing_class=AutoTokenizer.from_pretrained(base),',
    `    train_dataset=data["train"],${evalArg}`,
    '    args=DPOConfig(output_dir="out", beta=0.1, learning_rate=5e-6),',
    '    peft_config=LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"),',
    ')',
    'trainer.train()',
    'trainer.save_model("adapter")',
    '```',
  ];
  const unitName = options.format === 'p3' ? 'puzzles' : options.format === 'dpo' ? 'pairs' : 'examples';
  const lines = [
    README_MARK,
    `# Crucible dataset export (${options.format})`,
    '',
    formats[options.format],
    '',
    '| file | ' + unitName + ' | tasks |',
    '| --- | --- | --- |',
    `| \`${trainName}\` | ${result.train} | ${result.trainTasks} |`,
    ...(validName ? [`| \`${validName}\` | ${result.valid} | ${result.validTasks} |`] : []),
    '',
    `From ${result.records} records (${result.selected} selected${result.balancedOut ? `, ${result.balancedOut} dropped by difficulty balancing` : ''}${result.problems.length ? `, ${result.problems.length} corrupt line(s) skipped` : ''}).`,
    validName ? 'Split by task: no task appears in both files.' : '',
    options.includeGenerated ? 'Includes records verified only by model-written tests.' : 'Records verified only by model-written tests are excluded.',
    model ? `Most records come from \`${model}\`.` : '',
    '',
  ];
  if (options.format === 'p3') {
    lines.push('## Use', '', 'Point `crucible.selfPlay.seeds` (or `crucible selfplay --seeds`) at the JSON file to seed self-play with these puzzles, or train on them with the P3 tooling.', '');
  } else {
    lines.push('## Train a LoRA adapter', '', ...(options.format === 'dpo' ? dpo : sft), '');
    lines.push(
      '## Run it in Ollama',
      '',
      'Save as `Modelfile` beside the `adapter` folder, then `ollama create my-coder -f Modelfile`:',
      '',
      '```',
      `FROM ${model ?? 'qwen2.5-coder:7b'}`,
      'ADAPTER ./adapter',
      '```',
      '',
      'The adapter must be trained on the same base model that `FROM` names. If `ollama create` does not accept the',
      'safetensors adapter for this architecture, convert it with llama.cpp first',
      '(`python convert_lora_to_gguf.py --base <base model folder> adapter`) and point `ADAPTER` at the `.gguf` file.',
      '',
    );
  }
  const text = `${lines.filter((l, i, all) => l !== '' || all[i - 1] !== '').join('\n').trimEnd()}\n`;
  const file = new AtomicFile(path);
  await file.open();
  try {
    await file.write(text);
    await file.commit();
  } catch (err) {
    await file.abort();
    throw err;
  }
  return path;
}
