// Code from a model's answer. Handles the shapes local models produce: fenced blocks with or without a
// language tag (```python, ```py, ```js, ```ts, ~~~), several blocks, prose around them, an unclosed fence
// at the end of a cut-off answer, <think>…</think> reasoning, and bare code without any fence.
//
// Text only: no parser. The syntax check is separate (core/parse/syntax's checkSyntax, tree-sitter): the
// solve loop calls it on the extracted code through SolveDeps.checkSyntax, and a syntax error becomes
// feedback like any failing test. core/model never parses code itself (a lint zone enforces it).

import type { Language } from '../types';

export type ExtractResult = { code: string; blocks: number; note?: string } | { code: null; reason: string };

interface Block {
  tag: string;
  body: string;
  closed: boolean;
  index: number;
}

const TAGS: { [L in Language]: string[] } = {
  python: ['python', 'py', 'python3', 'py3', 'python 3'],
  javascript: ['javascript', 'js', 'node', 'nodejs', 'mjs', 'cjs', 'jsx'],
  typescript: ['typescript', 'ts', 'tsx', 'mts'],
};

/** Removes reasoning: <think>…</think> (and <thinking>, <reasoning>), or everything before a lone closing tag. */
export function stripReasoning(answer: string): { text: string; unclosed: boolean } {
  let text = answer.replace(/<(think|thinking|reasoning)>[\s\S]*?<\/\1>/gi, '');
  // Some templates put the opening tag in the prompt, so the answer starts inside the reasoning.
  const lone = /<\/(think|thinking|reasoning)>/i.exec(text);
  if (lone) text = text.slice(lone.index + lone[0].length);
  const open = /<(think|thinking|reasoning)>/i.exec(text);
  if (open) {
    // Reasoning that never closed: the answer was cut off while thinking.
    const before = text.slice(0, open.index);
    return { text: before, unclosed: true };
  }
  return { text, unclosed: false };
}

/** Splits Markdown fences out of the text. A fence opens with ``` or ~~~ (up to 3 spaces in) and closes with the same. */
export function findBlocks(text: string): Block[] {
  const lines = text.split(/\r?\n/);
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const open = /^( {0,3}|\t?)(`{3,}|~{3,})\s*([^`\s]*)?[^`]*$/.exec(lines[i]!);
    if (!open) {
      i++;
      continue;
    }
    const indent = open[1]!.length;
    const fence = open[2]!;
    const tag = (open[3] ?? '')
      .toLowerCase()
      .replace(/^\{?\.?/, '')
      .replace(/\}$/, '');
    const body: string[] = [];
    let closed = false;
    i++;
    while (i < lines.length) {
      const line = lines[i]!;
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
      if (close && close[1]![0] === fence[0] && close[1]!.length >= fence.length) {
        closed = true;
        i++;
        break;
      }
      body.push(indent > 0 && line.startsWith(' '.repeat(indent)) ? line.slice(indent) : line);
      i++;
    }
    blocks.push({ tag, body: body.join('\n'), closed, index: blocks.length });
  }
  return blocks;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function definesName(code: string, language: Language, name: string): boolean {
  const n = escapeRe(name);
  const re =
    language === 'python'
      ? new RegExp(`^\\s*(?:async\\s+)?(?:def|class)\\s+${n}\\b|^${n}\\s*=`, 'm')
      : new RegExp(
          `(?:^|[\\s;])(?:export\\s+)?(?:default\\s+)?(?:async\\s+)?(?:function\\s*\\*?\\s*${n}\\b|class\\s+${n}\\b|(?:const|let|var)\\s+${n}\\b)|^\\s*${n}\\s*=`,
          'm',
        );
  return re.test(code);
}

function definedNames(code: string, language: Language): Set<string> {
  const names = new Set<string>();
  const re =
    language === 'python'
      ? /^\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*=/gm
      : /(?:^|[\s;])(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\s*\*?\s*([A-Za-z_$][\w$]*)|class\s+([A-Za-z_$][\w$]*)|(?:const|let|var)\s+([A-Za-z_$][\w$]*))/gm;
  for (const m of code.matchAll(re)) {
    const name = m[1] ?? m[2] ?? m[3];
    if (name) names.add(name);
  }
  return names;
}

function calledNames(code: string): Set<string> {
  const names = new Set<string>();
  for (const m of code.matchAll(/([A-Za-z_$][\w$]*)\s*\(/g)) names.add(m[1]!);
  return names;
}

/** A block that only exercises code (prints, asserts, console.log) rather than defining it. */
function looksLikeUsageOnly(code: string, language: Language): boolean {
  const lines = code.split('\n').filter((l) => l.trim() && !/^\s*(#|\/\/)/.test(l));
  if (lines.length === 0) return true;
  if (definedNames(code, language).size > 0 && /\b(def|class|function)\b|=>/.test(code)) return false;
  const usage =
    language === 'python'
      ? /^\s*(print\(|assert\b|>>>|\w+\(.*\)\s*$|if __name__)/
      : /^\s*(console\.\w+\(|assert\b|\w+\(.*\);?\s*$)/;
  return lines.every((l) => usage.test(l));
}

const CODE_START: { [L in Language]: RegExp } = {
  python: /^(?:(?:async\s+)?def\s+\w+\s*\(|class\s+\w+|import\s+\w|from\s+[\w.]+\s+import\s|@\w)/,
  javascript:
    /^(?:(?:export\s+)?(?:async\s+)?function\b|(?:export\s+)?(?:const|let|var|class)\s+[\w$]|['"]use strict['"]|import\s|module\.exports)/,
  typescript:
    /^(?:(?:export\s+)?(?:async\s+)?function\b|(?:export\s+)?(?:const|let|var|class|interface|type|enum)\s+[\w$]|import\s)/,
};

/** Prose line: starts like a sentence and has no code punctuation at its end. */
function isProse(line: string): boolean {
  const t = line.trim();
  if (!t) return false;
  if (/^(#|\/\/|\/\*|\*)/.test(t)) return false;
  return (
    /^[A-Z][a-z]+(\s+\S+){2,}/.test(t) && !/[:;{}()[\]=]\s*$/.test(t) && /[.!?]$|[a-z]$/.test(t) && !/^\s/.test(line)
  );
}

/** Code in an answer without fences: from the first line that starts code to the last line before closing prose. */
function bareCode(text: string, language: Language): string | null {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => CODE_START[language].test(l));
  if (start < 0) return null;
  let end = lines.length;
  while (end > start + 1 && (lines[end - 1]!.trim() === '' || isProse(lines[end - 1]!))) end--;
  // Stop at the first prose paragraph after the code (a blank line, then a sentence).
  for (let i = start + 1; i < end; i++) {
    if (lines[i - 1]!.trim() === '' && isProse(lines[i]!)) {
      end = i - 1;
      break;
    }
  }
  const code = lines.slice(start, end).join('\n').replace(/\s+$/, '');
  return code ? code : null;
}

function family(tag: string, language: Language): 'same' | 'untagged' | 'sibling' | 'foreign' {
  if (!tag) return 'untagged';
  if (TAGS[language].includes(tag)) return 'same';
  const jsLike = language === 'javascript' || language === 'typescript';
  if (jsLike && (TAGS.javascript.includes(tag) || TAGS.typescript.includes(tag))) return 'sibling';
  return 'foreign';
}

/**
 * Picks the code the model meant as its answer.
 * Choice among several blocks: blocks tagged with the task's language (or untagged; for TypeScript and
 * JavaScript the sibling tag too); with `entryPoint`, the LAST block defining it (later blocks are usually
 * corrections), plus earlier blocks defining helpers it calls; without, the longest block that defines
 * something, ties going to the later one. Usage-only blocks (prints, asserts) lose to defining ones.
 */
export function extractCode(answer: string, language: Language, entryPoint?: string): ExtractResult {
  if (!answer || !answer.trim()) return { code: null, reason: 'The answer was empty.' };
  const { text, unclosed } = stripReasoning(answer);
  if (!text.trim()) {
    return {
      code: null,
      reason: unclosed
        ? 'The answer was cut off inside its <think> reasoning and holds no code: raise crucible.generation.numPredict (CLI: --num-predict).'
        : 'The answer held only <think> reasoning and no code.',
    };
  }
  const notes: string[] = [];
  if (text !== answer) notes.push('reasoning (<think>) removed');

  const blocks = findBlocks(text).filter((b) => b.body.trim() !== '');
  if (blocks.length === 0) {
    const bare = bareCode(text, language);
    if (bare !== null) {
      notes.push('no fenced block: took the code from the plain answer');
      return { code: bare, blocks: 0, note: notes.join('; ') };
    }
    return {
      code: null,
      reason: `The answer has no code block and no ${language} code: ask for the code in a \`\`\`${TAGS[language][0]} block.`,
    };
  }

  let relevant = blocks.filter((b) => family(b.tag, language) !== 'foreign');
  if (relevant.length === 0) {
    const tags = [...new Set(blocks.map((b) => b.tag))].join(', ');
    return {
      code: null,
      reason: `The answer's code blocks are tagged ${tags}, not ${language}: ask for a \`\`\`${TAGS[language][0]} block.`,
    };
  }
  const tagged = relevant.filter((b) => family(b.tag, language) === 'same');
  if (tagged.length > 0 && relevant.some((b) => family(b.tag, language) !== 'same')) {
    // Prefer exactly-tagged blocks, but keep untagged ones that define the entry point.
    relevant = relevant.filter(
      (b) =>
        family(b.tag, language) === 'same' || (entryPoint !== undefined && definesName(b.body, language, entryPoint)),
    );
  }

  let chosen: Block | undefined;
  if (entryPoint) {
    const defining = relevant.filter((b) => definesName(b.body, language, entryPoint));
    if (defining.length > 0) chosen = defining[defining.length - 1];
  }
  if (!chosen) {
    const defining = relevant.filter((b) => !looksLikeUsageOnly(b.body, language));
    const pool = defining.length > 0 ? defining : relevant;
    chosen = pool.reduce((best, b) => (b.body.trim().length >= best.body.trim().length ? b : best));
    if (entryPoint && relevant.length > 0) notes.push(`no block defines ${entryPoint}`);
  }

  let code = chosen.body.replace(/\s+$/, '');
  // Helpers the chosen block calls but does not define, found in other relevant blocks (earlier first).
  if (relevant.length > 1) {
    const own = definedNames(code, language);
    const wanted = [...calledNames(code)].filter((n) => !own.has(n));
    const helpers = relevant.filter(
      (b) =>
        b !== chosen &&
        !(entryPoint && definesName(b.body, language, entryPoint)) &&
        !looksLikeUsageOnly(b.body, language) &&
        wanted.some((n) => definedNames(b.body, language).has(n)),
    );
    if (helpers.length > 0) {
      code = [...helpers.map((h) => h.body.replace(/\s+$/, '')), code].join('\n\n');
      notes.push(`combined ${helpers.length + 1} blocks (helpers the chosen block calls)`);
    }
  }
  if (blocks.length > 1) notes.push(`chose block ${chosen.index + 1} of ${blocks.length}`);
  if (!chosen.closed) notes.push('the last code block was not closed: the answer may have been cut off');
  if (family(chosen.tag, language) === 'sibling') notes.push(`block tagged ${chosen.tag} used for ${language}`);
  return { code, blocks: blocks.length, ...(notes.length ? { note: notes.join('; ') } : {}) };
}
