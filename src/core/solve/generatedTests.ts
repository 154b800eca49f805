// Tests the model writes when a Task has none, cross-checked against the candidates as CodeT does:
// candidates that pass the same tests form a group, a group scores (members × tests passed), and a
// test no candidate passes, while candidates agree among themselves, is taken to be wrong and dropped.

import type { Language } from '../types';

/** Splits text into complete statements that start with `assert`, joining lines until brackets balance. */
export function parseAsserts(text: string, language: Language): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  const starts = language === 'python' ? /^assert[\s(]/ : /^assert(\.\w+)?\s*\(/;
  let i = 0;
  while (i < lines.length) {
    const first = lines[i]!.trim();
    i++;
    if (!starts.test(first)) continue;
    let stmt = first;
    while (depth(stmt) > 0 && i < lines.length) {
      stmt += `\n${lines[i]!.replace(/\s+$/, '')}`;
      i++;
    }
    if (depth(stmt) !== 0) continue; // cut off: unusable
    if (language !== 'python' && !stmt.endsWith(';')) stmt += ';';
    if (!out.includes(stmt)) out.push(stmt);
  }
  return out;
}

/** Bracket depth of a statement, skipping string literals and comments (good enough for one-line asserts). */
function depth(s: string): number {
  let d = 0;
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '#') {
      const nl = s.indexOf('\n', i);
      if (nl < 0) break;
      i = nl;
    } else if (c === '(' || c === '[' || c === '{') d++;
    else if (c === ')' || c === ']' || c === '}') d--;
  }
  return d;
}

/** Joins generated asserts into the tests text a Verifier runs (JS/TS get node:assert). */
export function testsSource(asserts: string[], language: Language): string {
  if (language === 'python') return asserts.join('\n');
  const needsImport = !asserts.some((a) => /require\(['"](node:)?assert/.test(a));
  return `${needsImport ? "const assert = require('node:assert');\n" : ''}${asserts.join('\n')}`;
}

export interface CrossCheck {
  /** Index of tests kept (trusted). */
  kept: number[];
  /** Index of tests dropped as probably wrong. */
  dropped: number[];
  /** Per candidate: passes every kept test. */
  passesKept: boolean[];
  /** Per candidate: its CodeT score (size of its agreement group × tests it passes). */
  scores: number[];
}

/**
 * CodeT-style cross-check of generated tests and candidates. `matrix[c][t]` is true when candidate
 * c passes test t (candidates whose code never ran have all false).
 *
 * A test is dropped when no candidate passes it, while at least two candidates agree (pass exactly
 * the same non-empty set of tests): independent samples that agree with each other but not with a
 * test are better evidence than the test. At least one test is always kept when any test passes.
 */
export function crossCheck(matrix: boolean[][], testCount: number): CrossCheck {
  const keys = matrix.map((row) => row.map((p) => (p ? '1' : '0')).join(''));
  const group = new Map<string, number>();
  keys.forEach((k, c) => {
    if (matrix[c]!.some(Boolean)) group.set(k, (group.get(k) ?? 0) + 1);
  });
  const consensus = [...group.values()].some((n) => n >= 2);
  const kept: number[] = [];
  const dropped: number[] = [];
  for (let t = 0; t < testCount; t++) {
    const passedBy = matrix.filter((row) => row[t]).length;
    if (passedBy === 0 && consensus) dropped.push(t);
    else kept.push(t);
  }
  const scores = matrix.map((row, c) => {
    const passed = row.filter(Boolean).length;
    return passed === 0 ? 0 : (group.get(keys[c]!) ?? 1) * passed;
  });
  const passesKept = matrix.map((row) => kept.length > 0 && kept.every((t) => row[t]));
  return { kept, dropped, passesKept, scores };
}

/** The call expressions `entry(...)` found in tests or docstring examples, for comparing candidates' outputs. */
export function callsOf(text: string, entryPoint: string): string[] {
  const calls: string[] = [];
  const re = new RegExp(`\\b${entryPoint.replace(/[$]/g, '\\$')}\\s*\\(`, 'g');
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const start = m.index;
    let d = 0;
    let end = -1;
    let quote: string | undefined;
    for (let i = start + m[0].length - 1; i < text.length; i++) {
      const c = text[i]!;
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = undefined;
        continue;
      }
      if (c === '"' || c === "'" || c === '`') quote = c;
      else if (c === '(' || c === '[' || c === '{') d++;
      else if (c === ')' || c === ']' || c === '}') {
        d--;
        if (d === 0) {
          end = i + 1;
          break;
        }
      }
    }
    if (end > 0) {
      const call = text.slice(start, end).replace(/\s*\n\s*/g, ' ');
      if (call.length <= 400 && !calls.includes(call)) calls.push(call);
    }
  }
  return calls;
}

/**
 * Extra inputs: the calls from the tests and examples, plus variants with each integer literal moved
 * by one, so candidates that agree on the tests can still be told apart. At most `limit` calls.
 */
export function extraCalls(sources: string[], entryPoint: string, limit = 24): string[] {
  const base = sources.flatMap((s) => callsOf(s, entryPoint));
  const out: string[] = [];
  const add = (c: string): void => {
    if (out.length < limit && !out.includes(c)) out.push(c);
  };
  for (const c of base) add(c);
  for (const c of base) {
    const inner = c.slice(entryPoint.length);
    const bumped = inner.replace(/(?<![\w.])(\d+)(?![\w.])/g, (d) => String(Number(d) + 1));
    if (bumped !== inner) add(entryPoint + bumped);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sameness. Two candidates that are the same program are one piece of evidence, not two: a model at a
// low temperature often returns the same code twice, and counting both copies as "agreeing" would let
// its own bug outvote the tests that expose it.

const PY_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case'.split(
    ' ',
  ),
);
const JS_KEYWORDS = new Set(
  'break case catch class const continue debugger default delete do else export extends false finally for function if import in instanceof let new null return super switch this throw true try typeof undefined var void while with yield async await of static get set'.split(
    ' ',
  ),
);

interface Token {
  kind: 'id' | 'str' | 'num' | 'op';
  text: string;
}

/** Tokens of Python or JS/TS source without comments and whitespace (strings kept whole). */
function tokens(code: string, language: Language): Token[] {
  const out: Token[] = [];
  const py = language === 'python';
  let i = 0;
  while (i < code.length) {
    const c = code[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (py && c === '#') {
      while (i < code.length && code[i] !== '\n') i++;
      continue;
    }
    if (!py && c === '/' && code[i + 1] === '/') {
      while (i < code.length && code[i] !== '\n') i++;
      continue;
    }
    if (!py && c === '/' && code[i + 1] === '*') {
      const end = code.indexOf('*/', i + 2);
      i = end < 0 ? code.length : end + 2;
      continue;
    }
    const prefix = py ? /^[rRbBuUfF]{0,2}(?="|')/.exec(code.slice(i, i + 3)) : null;
    const q = prefix ? code[i + prefix[0].length]! : c;
    if (q === '"' || q === "'" || (!py && q === '`')) {
      let j = i + (prefix ? prefix[0].length : 0);
      const triple = py && code.startsWith(q.repeat(3), j);
      const close = triple ? q.repeat(3) : q;
      j += close.length;
      while (j < code.length && !code.startsWith(close, j)) {
        if (code[j] === '\\') j++;
        else if (!triple && code[j] === '\n' && q !== '`') break;
        j++;
      }
      j = Math.min(code.length, j + close.length);
      out.push({ kind: 'str', text: code.slice(i, j) });
      i = j;
      continue;
    }
    const id = /^[A-Za-z_$][\w$]*/.exec(code.slice(i, i + 200));
    if (id) {
      out.push({ kind: 'id', text: id[0] });
      i += id[0].length;
      continue;
    }
    const num = /^(0[xXoObB][\w]+|\d[\d_]*(\.\d*)?([eE][+-]?\d+)?[jJn]?|\.\d+([eE][+-]?\d+)?)/.exec(
      code.slice(i, i + 100),
    );
    if (num) {
      out.push({ kind: 'num', text: num[0] });
      i += num[0].length;
      continue;
    }
    const op =
      /^(\*\*=|\/\/=|>>=|<<=|===|!==|\*\*|\/\/|==|!=|<=|>=|->|=>|\+=|-=|\*=|\/=|%=|&=|\|=|\^=|:=|&&|\|\||\?\?|\?\.|[^\s])/.exec(
        code.slice(i, i + 4),
      )!;
    out.push({ kind: 'op', text: op[0] });
    i += op[0].length;
  }
  return out;
}

/** The value of a number literal, so `10`, `1_0` and `0xa` read alike. */
function numberValue(text: string): string {
  const t = text.replace(/_/g, '').replace(/n$/, '');
  if (/[jJ]$/.test(t)) return t.toLowerCase();
  const n = Number(t);
  return Number.isFinite(n) ? String(n) : t;
}

/** The value of a plain string literal, so `'a'` and `"a"` read alike (other literals are kept as written). */
function stringValue(text: string): string {
  const m = /^(["'])(.*)\1$/s.exec(text);
  if (!m || m[2]!.includes('\\')) return text;
  return JSON.stringify(m[2]);
}

/**
 * A key that is equal for two programs that differ only in names, comments, docstrings, whitespace or the
 * formatting of constants: local names (parameters, assigned variables, loop variables, inner functions)
 * are renamed in order of first use; free names (builtins, imports, globals, attributes) are kept.
 */
export function programKey(code: string, language: Language): string {
  const toks = tokens(code, language);
  const py = language === 'python';
  const keywords = py ? PY_KEYWORDS : JS_KEYWORDS;
  // Python docstrings: a string token that starts a statement (after `:` or at the start) and ends one.
  const kept: Token[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (
      py &&
      t.kind === 'str' &&
      (i === 0 || toks[i - 1]!.text === ':') &&
      (i + 1 >= toks.length || toks[i + 1]!.kind === 'id')
    )
      continue;
    kept.push(t);
  }
  const bound = boundNames(kept, keywords);
  const names = new Map<string, string>();
  const parts: string[] = [];
  for (let i = 0; i < kept.length; i++) {
    const t = kept[i]!;
    const prev = kept[i - 1]?.text;
    if (t.kind === 'id' && bound.has(t.text) && prev !== '.' && prev !== '?.') {
      if (!names.has(t.text)) names.set(t.text, `v${names.size}`);
      parts.push(names.get(t.text)!);
    } else if (t.kind === 'num') parts.push(numberValue(t.text));
    else if (t.kind === 'str') parts.push(stringValue(t.text));
    else parts.push(t.text);
  }
  // Trailing commas and semicolons are formatting.
  return parts
    .join(' ')
    .replace(/ [,;] (?=[)\]}])/g, ' ')
    .replace(/ ;/g, '');
}

/** The identifiers the code binds: assigned, declared, or parameters. */
function boundNames(kept: Token[], keywords: Set<string>): Set<string> {
  // Which identifiers are bound in the code.
  const bound = new Set<string>();
  for (let i = 0; i < kept.length; i++) {
    const t = kept[i]!;
    if (t.kind !== 'id' || keywords.has(t.text)) continue;
    const prev = kept[i - 1]?.text;
    const next = kept[i + 1]?.text;
    if (prev === '.' || prev === '?.') continue;
    if (
      prev === 'def' ||
      prev === 'function' ||
      prev === 'class' ||
      prev === 'let' ||
      prev === 'const' ||
      prev === 'var' ||
      prev === 'for' ||
      prev === 'as' ||
      prev === 'lambda'
    )
      bound.add(t.text);
    else if (
      next !== undefined &&
      /^(=|\+=|-=|\*=|\/=|\/\/=|%=|\*\*=|&=|\|=|\^=|>>=|<<=|:=|=>|in|of)$/.test(next) &&
      prev !== '('
    )
      bound.add(t.text);
    else if (next === '=' || next === ':=') bound.add(t.text);
  }
  // Parameters: identifiers directly inside the parentheses after `def name` / `function name` / `lambda` / arrow params.
  for (let i = 0; i < kept.length; i++) {
    const t = kept[i]!;
    if (!(t.text === 'def' || t.text === 'function') || kept[i + 2]?.text !== '(') continue;
    let depth = 0;
    for (let j = i + 2; j < kept.length; j++) {
      const u = kept[j]!;
      if (u.text === '(' || u.text === '[' || u.text === '{') depth++;
      else if (u.text === ')' || u.text === ']' || u.text === '}') {
        depth--;
        if (depth === 0) break;
      } else if (
        depth === 1 &&
        u.kind === 'id' &&
        (kept[j - 1]!.text === '(' ||
          kept[j - 1]!.text === ',' ||
          kept[j - 1]!.text === '*' ||
          kept[j - 1]!.text === '**')
      )
        bound.add(u.text);
    }
  }
  return bound;
}

/** Per candidate, the index of its program: candidates with equal programKey share one index. */
export function programIds(codes: string[], language: Language): number[] {
  const seen = new Map<string, number>();
  return codes.map((c) => {
    const k = programKey(c, language);
    if (!seen.has(k)) seen.set(k, seen.size);
    return seen.get(k)!;
  });
}

export interface Evidence {
  /** Distinct programs among the candidates that ran (copies count once). */
  distinctPrograms: number;
  /** Distinct programs that pass every kept test and agree on the probe inputs with the chosen one. */
  agreeingPrograms: number;
  testsKept: number;
  testsDropped: number;
  testsTotal: number;
  /** Tests dropped because they contradict the task's own examples. */
  testsContradictingExamples: number;
}

/**
 * Cross-check that counts programs, not copies. `matrix[c][t]` is true when candidate c passes test t;
 * `programs[c]` is its program index (programIds) and `probes[c]` its outputs on probe inputs (undefined
 * when unknown). A group is the set of distinct programs that pass the same tests and give the same probe
 * outputs. A test is dropped when no candidate passes it while some group has two or more distinct
 * programs; a score is (distinct programs in the group) × (tests passed).
 */
export function crossCheckPrograms(
  matrix: boolean[][],
  testCount: number,
  programs: number[],
  probes?: (string | undefined)[],
): CrossCheck & { groupSize: number[] } {
  const keys = matrix.map((row, c) => `${row.map((p) => (p ? '1' : '0')).join('')}|${probes?.[c] ?? ''}`);
  const members = new Map<string, Set<number>>();
  keys.forEach((k, c) => {
    if (!matrix[c]!.some(Boolean)) return;
    const set = members.get(k) ?? new Set<number>();
    set.add(programs[c]!);
    members.set(k, set);
  });
  const consensus = [...members.values()].some((s) => s.size >= 2);
  const kept: number[] = [];
  const dropped: number[] = [];
  for (let t = 0; t < testCount; t++) {
    const passedBy = matrix.filter((row) => row[t]).length;
    if (passedBy === 0 && consensus) dropped.push(t);
    else kept.push(t);
  }
  const groupSize = keys.map((k) => members.get(k)?.size ?? 1);
  const scores = matrix.map((row, c) => {
    const passed = row.filter(Boolean).length;
    return passed === 0 ? 0 : groupSize[c]! * passed;
  });
  const passesKept = matrix.map((row) => kept.length > 0 && kept.every((t) => row[t]));
  return { kept, dropped, passesKept, scores, groupSize };
}

// ---------------------------------------------------------------------------------------------
// The task's own examples: `>>> f(x)` followed by the result, or `f(x) == y` / `f(x) -> y` / `f(x) ==> y`
// lines in the prompt. A generated test that asserts another result for the same call contradicts them.

export interface Example {
  call: string;
  expected: string;
}

/** Examples written in the task's prompt (docstring doctests and `call == / -> / ==> result` lines). */
export function examplesOf(prompt: string, entryPoint: string): Example[] {
  const out: Example[] = [];
  const lines = prompt.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const doc = /^>>>\s*(.*)$/.exec(line);
    if (doc) {
      const call = doc[1]!.trim();
      const next = lines[i + 1]?.trim() ?? '';
      if (callsOf(call, entryPoint)[0] === call && next !== '' && !next.startsWith('>>>'))
        out.push({ call, expected: next });
      continue;
    }
    for (const call of callsOf(line, entryPoint)) {
      const at = line.indexOf(call);
      if (at !== 0) continue;
      const rest = line.slice(call.length).trim();
      const m = /^(==>|==|->|=>|➞|returns?|should return|is)\s*(.+?)[.;]?$/.exec(rest);
      if (m) out.push({ call, expected: m[2]!.trim() });
    }
  }
  return out;
}

/** The call and the expected side of a generated assert of the usual shapes, or undefined. */
export function assertParts(test: string, entryPoint: string, language: Language): Example | undefined {
  const s = test.trim().replace(/;$/, '');
  if (language === 'python') {
    const m = /^assert\s*\(?\s*(.*?)\s*==\s*(.*?)\s*\)?\s*(,.*)?$/s.exec(s);
    if (!m) return undefined;
    const [left, right] = [m[1]!.trim(), m[2]!.trim()];
    if (callsOf(left, entryPoint)[0] === left) return { call: left, expected: right };
    if (callsOf(right, entryPoint)[0] === right) return { call: right, expected: left };
    return undefined;
  }
  const m = /^assert\.(?:deepStrictEqual|strictEqual|deepEqual|equal)\s*\(([\s\S]*)\)$/.exec(s);
  if (!m) return undefined;
  const args = splitTopLevel(m[1]!);
  if (args.length < 2) return undefined;
  const [left, right] = [args[0]!.trim(), args[1]!.trim()];
  if (callsOf(left, entryPoint)[0] === left) return { call: left, expected: right };
  return undefined;
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let d = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if ('([{'.includes(c)) d++;
    else if (')]}'.includes(c)) d--;
    else if (c === ',' && d === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

const compact = (s: string): string =>
  s
    .replace(/\s+/g, '')
    .replace(/"/g, "'")
    .replace(/,(?=[)\]}])/g, '');

/**
 * Generated tests that contradict an example of the task: the same call, another expected value. Values
 * are compared as written (after removing spaces and unifying quotes), and as numbers when both are numbers.
 */
export function contradictsExamples(
  test: string,
  examples: Example[],
  entryPoint: string,
  language: Language,
): Example | undefined {
  const parts = assertParts(test, entryPoint, language);
  if (!parts) return undefined;
  for (const ex of examples) {
    if (compact(ex.call) !== compact(parts.call)) continue;
    const a = compact(ex.expected);
    const b = compact(parts.expected);
    if (a === b) continue;
    const na = Number(a);
    const nb = Number(b);
    if (a !== '' && b !== '' && Number.isFinite(na) && Number.isFinite(nb) && na === nb) continue;
    if (/^(True|true)$/.test(a) && /^(True|true)$/.test(b)) continue;
    if (/^(False|false)$/.test(a) && /^(False|false)$/.test(b)) continue;
    return ex;
  }
  return undefined;
}

/** Asserts for the examples themselves (the task's own evidence), in the language's test shape. */
export function exampleAsserts(examples: Example[], language: Language): string[] {
  return examples.map((e) =>
    language === 'python' ? `assert ${e.call} == ${e.expected}` : `assert.deepStrictEqual(${e.call}, ${e.expected});`,
  );
}

// ---------------------------------------------------------------------------------------------
// S*: inputs that tell two candidates apart.

/** Call expressions of `entryPoint` in a model's answer (code blocks first, else the whole text). */
export function distinguishingCalls(answer: string, entryPoint: string, limit = 6): string[] {
  const blocks = [...answer.matchAll(/```[\w+-]*\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const text = blocks.length > 0 ? blocks.join('\n') : answer;
  return callsOf(text, entryPoint).slice(0, limit);
}

/** Which of the shown outputs the model says is right: 'A', 'B' or undefined when it did not say clearly. */
export function judgedChoice(answer: string): 'A' | 'B' | undefined {
  const text = answer.replace(/<think>[\s\S]*?<\/think>/g, '');
  const marked = [...text.matchAll(/\banswer\s*[:=]\s*\**\s*\(?([AB])\b/gi)];
  if (marked.length > 0) return marked[marked.length - 1]![1]!.toUpperCase() as 'A' | 'B';
  const m =
    /\b(?:answer|correct|right)\b[^A-Za-z]{0,20}(?:is|:)?\s*\(?\*{0,2}\b([AB])\b/i.exec(text) ??
    /^\W*([AB])\W*$/m.exec(text.trim());
  if (m) return m[1]!.toUpperCase() as 'A' | 'B';
  const a = /\bA\b/.test(text);
  const b = /\bB\b/.test(text);
  return a && !b ? 'A' : b && !a ? 'B' : undefined;
}

/** A canonical, type-tagged value (Verifier.evaluate's rendering) as source text, for prompts and new tests. */
export function valueSource(json: string | null, language: Language): string | undefined {
  if (json === null) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  const py = language === 'python';
  const render = (x: unknown): string | undefined => {
    if (!Array.isArray(x) || typeof x[0] !== 'string') return undefined;
    const [tag, a] = x as [string, unknown];
    const seq = (items: unknown): string[] | undefined => {
      if (!Array.isArray(items)) return undefined;
      const out = items.map(render);
      return out.every((s): s is string => s !== undefined) ? out : undefined;
    };
    switch (tag) {
      case 'none':
        return py ? 'None' : undefined;
      case 'null':
        return 'null';
      case 'undef':
        return 'undefined';
      case 'bool':
        return py ? (a ? 'True' : 'False') : String(!!a);
      case 'int': {
        const s = String(a);
        const n = s.startsWith('-') ? -BigInt(`0x${s.slice(1)}`) : BigInt(`0x${s}`);
        return py ? n.toString() : `${n.toString()}n`;
      }
      case 'float': {
        const s = String(a);
        if (s === 'nan' || s === 'inf' || s === '-inf') return py ? `float('${s}')` : undefined;
        return s;
      }
      case 'num':
        return String(a);
      case 'str':
        return JSON.stringify(String(a));
      case 'list': {
        const xs = seq(a);
        return xs ? `[${xs.join(', ')}]` : undefined;
      }
      case 'tuple': {
        const xs = seq(a);
        return xs && py ? (xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(', ')})`) : undefined;
      }
      case 'set': {
        const xs = seq(a);
        return xs && py ? (xs.length ? `{${xs.join(', ')}}` : 'set()') : undefined;
      }
      case 'dict': {
        if (!Array.isArray(a)) return undefined;
        const pairs = a.map((p) => (Array.isArray(p) ? [render(p[0]), render(p[1])] : [undefined, undefined]));
        if (pairs.some(([k, val]) => k === undefined || val === undefined)) return undefined;
        return `{${pairs.map(([k, val]) => `${k}: ${val}`).join(', ')}}`;
      }
      default:
        return undefined;
    }
  };
  return render(v);
}
