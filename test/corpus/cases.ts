// Loader for the corpus case files (*.cases) under test/corpus/. A case file is plain text made of
// Python sections introduced by directive lines that start with "#@ ":
//
//   #@ options --memory-mb 128          file level: extra `crucible verify` options for this file's batch
//   #@ case NAME [pytest] [any]         a case; the lines after it are the candidate code
//   #@ honest NAME [pytest]             (hostile files) an honest job in the batch that must pass
//   #@ test                             the tests of the current case
//   #@ wrong [LABEL]                    a wrong variant: candidate code judged against the same tests
//
// In differential files a `case` is honest (the plain interpreter passes it) and every `wrong` variant
// fails under the plain interpreter; the flag `any` drops that expectation (only agreement counts).
// `pytest` marks pytest-style tests (plain run: `python3 -m pytest file.py`); otherwise the plain run
// is `python3 file.py` on the candidate code followed by the tests. In hostile files every `case` is
// hostile: its honest answer would fail, so it must end not-passed.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export type Runner = 'python' | 'pytest';
export type Expect = 'pass' | 'fail' | 'any' | 'not-passed';

export interface CorpusCase {
  /** Job id, e.g. "py/equality/list_int_float" or ".../wrong1". */
  id: string;
  /** Case file name without extension. */
  file: string;
  name: string;
  code: string;
  test: string;
  runner: Runner;
  /** What the plain interpreter must say (differential) or what crucible must say (hostile). */
  expect: Expect;
  kind: 'honest' | 'wrong' | 'hostile';
}

export interface CaseFile {
  file: string;
  options: string[];
  cases: CorpusCase[];
}

function tidy(lines: string[]): string {
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  while (lines.length && lines[0].trim() === '') lines.shift();
  return lines.join('\n') + '\n';
}

export function parseCaseFile(text: string, file: string, prefix: string, hostile: boolean): CaseFile {
  const options: string[] = [];
  const cases: CorpusCase[] = [];
  interface Open {
    name: string;
    flags: string[];
    kind: 'case' | 'honest';
    code: string[];
    test?: string[];
    wrongs: { label: string; code: string[] }[];
  }
  let cur: Open | undefined;
  let section: string[] | undefined;
  const close = (): void => {
    if (!cur) return;
    if (!cur.test) throw new Error(`${file}: case ${cur.name} has no "#@ test" section`);
    const runner: Runner = cur.flags.includes('pytest') ? 'pytest' : 'python';
    const base = `${prefix}/${file}/${cur.name}`;
    const test = tidy(cur.test);
    const honestExpect: Expect = hostile
      ? cur.kind === 'honest'
        ? 'pass'
        : 'not-passed'
      : cur.flags.includes('any')
        ? 'any'
        : 'pass';
    cases.push({
      id: base,
      file,
      name: cur.name,
      code: tidy(cur.code),
      test,
      runner,
      expect: honestExpect,
      kind: hostile && cur.kind === 'case' ? 'hostile' : 'honest',
    });
    cur.wrongs.forEach((w, i) => {
      cases.push({
        id: `${base}/${w.label || `wrong${i + 1}`}`,
        file,
        name: cur!.name,
        code: tidy(w.code),
        test,
        runner,
        expect: hostile ? 'not-passed' : cur!.flags.includes('any') ? 'any' : 'fail',
        kind: hostile ? 'hostile' : 'wrong',
      });
    });
    cur = undefined;
  };
  const seen = new Set<string>();
  text.split('\n').forEach((line, i) => {
    const m = /^#@ (\w+)\s*(.*)$/.exec(line);
    if (!m) {
      if (section) section.push(line);
      else if (line.trim()) throw new Error(`${file}:${i + 1}: text outside a case`);
      return;
    }
    const [, dir, rest] = m;
    const args = rest.trim().split(/\s+/).filter(Boolean);
    if (dir === 'options') {
      options.push(...args);
      return;
    }
    if (dir === 'case' || dir === 'honest') {
      close();
      const name = args[0];
      if (!name) throw new Error(`${file}:${i + 1}: ${dir} needs a name`);
      if (seen.has(name)) throw new Error(`${file}:${i + 1}: duplicate case name ${name}`);
      seen.add(name);
      cur = { name, flags: args.slice(1), kind: dir, code: [], wrongs: [] };
      section = cur.code;
      return;
    }
    if (!cur) throw new Error(`${file}:${i + 1}: "#@ ${dir}" outside a case`);
    if (dir === 'test') {
      cur.test = [];
      section = cur.test;
      return;
    }
    if (dir === 'wrong') {
      if (!cur.test) throw new Error(`${file}:${i + 1}: "#@ wrong" before "#@ test"`);
      const w = { label: args[0] ?? '', code: [] as string[] };
      cur.wrongs.push(w);
      section = w.code;
      return;
    }
    throw new Error(`${file}:${i + 1}: unknown directive "#@ ${dir}"`);
  });
  close();
  return { file, options, cases };
}

/** Every *.cases file in `dir`, sorted by name. */
export function loadCaseDir(dir: string, prefix: string, hostile = false): CaseFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cases'))
    .sort()
    .map((f) => parseCaseFile(readFileSync(join(dir, f), 'utf8'), basename(f, '.cases'), prefix, hostile));
}

/** The generic `crucible verify` job for a case. */
export function toJob(c: Pick<CorpusCase, 'id' | 'code' | 'test'>): {
  id: string;
  language: 'python';
  code: string;
  test: string;
} {
  return { id: c.id, language: 'python', code: c.code, test: c.test };
}

/** The single file the plain interpreter runs: candidate code, then the tests. */
export function plainProgram(c: Pick<CorpusCase, 'code' | 'test'>): string {
  return `${c.code}\n${c.test}`;
}
