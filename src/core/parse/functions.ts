// Finds function definitions with tree-sitter: Python def / async def / methods / decorated definitions,
// JavaScript and TypeScript function declarations, arrow functions and function expressions assigned to
// variables, class methods and exported functions. Everything returned is plain data (offsets, lines,
// text) copied out of the tree, so callers never hold tree-sitter nodes.

import type { Node } from 'web-tree-sitter';
import type { Language } from '../types';
import { defaultParser, type CodeParser } from './loader';

/** Files larger than this are not parsed for editor features (they degrade quietly to "no functions"). */
export const MAX_PARSE_CHARS = 200_000;
export const MAX_PARSE_LINES = 5_000;

export type FunctionKind = 'function' | 'method' | 'arrow' | 'functionExpression';

export interface TextRange {
  /** 0-based offset, UTF-16 code units (as VS Code counts). */
  start: number;
  end: number;
}

export interface FunctionInfo {
  name: string;
  /** `Class.method` for methods, `outer.inner` for nested functions, else the name. */
  qualifiedName: string;
  kind: FunctionKind;
  language: Language;
  /** The enclosing class, for methods. */
  className?: string;
  isAsync: boolean;
  /** JS/TS: the definition is exported (`export function`, `export const`, `export default`). */
  exported: boolean;
  /** 0-based offset (UTF-16) where the whole definition starts, including decorators and `export` / `const x =`. */
  startOffset: number;
  /** 0-based offset where it ends (including a trailing `;` of `const f = () => …;`). */
  endOffset: number;
  /** 0-based line and column (UTF-16) of `startOffset` and `endOffset`. */
  startLine: number;
  startColumn: number;
  endLine: number;
  endColumn: number;
  /** Definition head up to the body, e.g. `def add(a: int, b: int) -> int:` or `function add(a, b)`. */
  signature: string;
  /** Cleaned docstring (Python) or JSDoc text (JS/TS), without quotes or comment markers. */
  docstring?: string;
  /** Where the raw docstring literal / JSDoc comment sits (JSDoc sits before `startOffset`). */
  docRange?: TextRange;
  /** The body (Python block / JS statement block or arrow expression). */
  body: TextRange;
  /** The whole definition's text, `code.slice(startOffset, endOffset)`. */
  text: string;
  /** Names of enclosing functions/classes, outermost first. */
  parents: string[];
  /** True when tree-sitter found a syntax error inside the definition. */
  hasError: boolean;
}

export interface FindOptions {
  /** Also return definitions that contain syntax errors (flagged `hasError`). Default false. */
  includeBroken?: boolean;
  /** JS/TS: parse with the JSX-capable grammar. */
  jsx?: boolean;
}

/** True when a file is too large for editor features. */
export function isTooLarge(code: string): boolean {
  if (code.length > MAX_PARSE_CHARS) return true;
  let lines = 1;
  for (let i = code.indexOf('\n'); i !== -1; i = code.indexOf('\n', i + 1)) if (++lines > MAX_PARSE_LINES) return true;
  return false;
}

/** 0-based line starts of `code`, for offset → line/column. */
export function lineStarts(code: string): number[] {
  const starts = [0];
  for (let i = code.indexOf('\n'); i !== -1; i = code.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

export function positionAt(starts: number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, column: offset - starts[lo]! };
}

/** Removes the common leading indentation of lines (blank lines ignored). */
export function dedent(text: string): string {
  const lines = text.split('\n');
  let min = Infinity;
  for (const line of lines) {
    if (!line.trim()) continue;
    const indent = line.length - line.trimStart().length;
    if (indent < min) min = indent;
  }
  if (!Number.isFinite(min) || min === 0) return text;
  return lines.map((l) => (l.trim() ? l.slice(min) : l.trimStart())).join('\n');
}

/** Cleans a Python docstring literal's text (PEP 257 style indentation handling). */
export function cleanPythonDocstring(literal: string): string {
  const m = /^[rRuUbBfF]{0,2}("""|'''|"|')([\s\S]*)\1$/.exec(literal.trim());
  const inner = m ? m[2]! : literal;
  const lines = inner.replace(/\r\n/g, '\n').split('\n');
  const first = lines.shift()!.trim();
  const rest = dedent(lines.join('\n')).split('\n');
  const all = [first, ...rest];
  while (all.length && !all[0]!.trim()) all.shift();
  while (all.length && !all[all.length - 1]!.trim()) all.pop();
  return all.map((l) => l.replace(/\s+$/, '')).join('\n');
}

/** Cleans a `/** … *\/` comment into its text. */
export function cleanJsDoc(comment: string): string {
  const inner = comment.replace(/^\/\*\*?/, '').replace(/\*\/$/, '');
  const lines = inner.split('\n').map((l) => l.replace(/^\s*\* ?/, '').replace(/\s+$/, ''));
  while (lines.length && !lines[0]!.trim()) lines.shift();
  while (lines.length && !lines[lines.length - 1]!.trim()) lines.pop();
  return dedent(lines.join('\n')).trim();
}

const PY_FUNC = 'function_definition';
const JS_FUNC_DECL = new Set(['function_declaration', 'generator_function_declaration']);
const JS_FUNC_VALUE = new Set(['arrow_function', 'function_expression', 'function', 'generator_function']);
const JS_CLASS = new Set(['class_declaration', 'class', 'abstract_class_declaration']);

interface Walk {
  code: string;
  language: Language;
  starts: number[];
  out: FunctionInfo[];
  includeBroken: boolean;
}

function inErrorRegion(node: Node): boolean {
  for (let p: Node | null = node.parent; p; p = p.parent) if (p.type === 'ERROR') return true;
  return false;
}

function make(
  w: Walk,
  outer: Node,
  fn: Node,
  name: string,
  kind: FunctionKind,
  parents: string[],
  className: string | undefined,
  exported: boolean,
  decorator?: Node,
): void {
  const hasError = outer.hasError || inErrorRegion(outer);
  if (hasError && !w.includeBroken) return;
  const body = fn.childForFieldName('body');
  if (!body) return;
  const start = decorator ? decorator.startIndex : outer.startIndex;
  let end = outer.endIndex;
  // `const f = () => x` without a `;`: the lexical_declaration already ends at the expression.
  if (w.code[end - 1] === '\n') end -= 1;
  const sPos = positionAt(w.starts, start);
  const ePos = positionAt(w.starts, end);
  const isAsync = fn.children.some((c) => c?.type === 'async');
  let signature: string;
  let docstring: string | undefined;
  let docRange: TextRange | undefined;
  if (w.language === 'python') {
    // Signature: from `def` / `async def` (after decorators) to the colon before the body.
    const headStart = fn.startIndex;
    signature = w.code.slice(headStart, body.startIndex).replace(/\s+$/, '');
    const first = body.namedChild(0);
    const str = first?.type === 'expression_statement' ? first.namedChild(0) : undefined;
    if (str && str.type === 'string') {
      docstring = cleanPythonDocstring(str.text);
      docRange = { start: str.startIndex, end: str.endIndex };
    }
  } else {
    signature = w.code.slice(start, body.startIndex).replace(/\s*(=>)?\s*$/, (m) => (m.includes('=>') ? ' =>' : ''));
    const doc = jsDocBefore(decorator ?? outer);
    if (doc) {
      docstring = cleanJsDoc(doc.text);
      docRange = { start: doc.startIndex, end: doc.endIndex };
    }
  }
  const qualifiedName = [...parents, name].join('.');
  w.out.push({
    name,
    qualifiedName,
    kind,
    language: w.language,
    ...(className !== undefined ? { className } : {}),
    isAsync,
    exported,
    startOffset: start,
    endOffset: end,
    startLine: sPos.line,
    startColumn: sPos.column,
    endLine: ePos.line,
    endColumn: ePos.column,
    signature,
    ...(docstring !== undefined ? { docstring } : {}),
    ...(docRange ? { docRange } : {}),
    body: { start: body.startIndex, end: body.endIndex },
    text: w.code.slice(start, end),
    parents,
    hasError,
  });
}

/** The `/** … *\/` comment directly before a node (blank lines between are allowed, code is not). */
function jsDocBefore(node: Node): Node | undefined {
  const prev = node.previousSibling;
  if (!prev || prev.type !== 'comment' || !prev.text.startsWith('/**')) return undefined;
  return prev;
}

function walkPython(w: Walk, node: Node, parents: string[], className: string | undefined): void {
  for (const child of node.namedChildren) {
    if (!child) continue;
    let def: Node = child;
    if (child.type === 'decorated_definition') def = child.childForFieldName('definition') ?? child;
    if (def.type === PY_FUNC) {
      const name = def.childForFieldName('name')?.text ?? '';
      if (name) make(w, child, def, name, className !== undefined ? 'method' : 'function', parents, className, false);
      const body = def.childForFieldName('body');
      if (body) walkPython(w, body, [...parents, name], undefined);
    } else if (def.type === 'class_definition') {
      const name = def.childForFieldName('name')?.text ?? '';
      const body = def.childForFieldName('body');
      if (body) walkPython(w, body, [...parents, name], name);
    } else if (child.type !== 'string' && child.namedChildCount > 0 && child.type !== 'lambda') {
      // if/try/with blocks at any level may hold definitions too.
      walkPython(w, child, parents, className);
    }
  }
}

function walkJs(w: Walk, node: Node, parents: string[], className: string | undefined): void {
  for (const child of node.namedChildren) {
    if (!child) continue;
    visitJs(w, child, parents, className, false, child);
  }
}

function visitJs(
  w: Walk,
  node: Node,
  parents: string[],
  className: string | undefined,
  exported: boolean,
  outer: Node,
): void {
  const t = node.type;
  if (t === 'export_statement') {
    const decl = node.childForFieldName('declaration') ?? node.childForFieldName('value');
    if (decl) visitJs(w, decl, parents, className, true, node);
    return;
  }
  if (JS_FUNC_DECL.has(t)) {
    const name = node.childForFieldName('name')?.text ?? 'default';
    make(w, outer, node, name, 'function', parents, undefined, exported);
    descend(w, node, [...parents, name]);
    return;
  }
  if (JS_FUNC_VALUE.has(t) && exported) {
    // export default function () {} / export default () => …
    make(
      w,
      outer,
      node,
      node.childForFieldName('name')?.text ?? 'default',
      t === 'arrow_function' ? 'arrow' : 'functionExpression',
      parents,
      undefined,
      true,
    );
    descend(w, node, [...parents, 'default']);
    return;
  }
  if (t === 'lexical_declaration' || t === 'variable_declaration') {
    const declarators = node.namedChildren.filter((c): c is Node => c?.type === 'variable_declarator');
    for (const d of declarators) {
      const value = d.childForFieldName('value');
      const nameNode = d.childForFieldName('name');
      if (value && nameNode?.type === 'identifier' && JS_FUNC_VALUE.has(value.type)) {
        // With one declarator the whole statement is the definition; with several, just the declarator.
        const range = declarators.length === 1 ? outer : d;
        make(
          w,
          range,
          value,
          nameNode.text,
          value.type === 'arrow_function' ? 'arrow' : 'functionExpression',
          parents,
          undefined,
          exported,
        );
        descend(w, value, [...parents, nameNode.text]);
      } else if (value) {
        descend(w, value, parents);
      }
    }
    return;
  }
  if (JS_CLASS.has(t)) {
    const name = node.childForFieldName('name')?.text ?? 'default';
    const body = node.childForFieldName('body');
    if (!body) return;
    let pendingDecorator: Node | undefined;
    for (const member of body.namedChildren) {
      if (!member) continue;
      if (member.type === 'decorator') {
        pendingDecorator ??= member;
        continue;
      }
      const decorated = pendingDecorator;
      pendingDecorator = undefined;
      if (member.type === 'method_definition') {
        const mname = member.childForFieldName('name')?.text ?? '';
        make(w, member, member, mname, 'method', [...parents, name], name, false, decorated);
        descend(w, member, [...parents, name, mname]);
      } else if (member.type === 'public_field_definition' || member.type === 'field_definition') {
        const value = member.childForFieldName('value');
        const fname = (member.childForFieldName('name') ?? member.childForFieldName('property'))?.text ?? '';
        if (value && fname && JS_FUNC_VALUE.has(value.type)) {
          make(w, member, value, fname, 'method', [...parents, name], name, false);
          descend(w, value, [...parents, name, fname]);
        }
      }
    }
    return;
  }
  descend(w, node, parents);
}

function descend(w: Walk, node: Node, parents: string[]): void {
  for (const child of node.namedChildren) if (child) visitJs(w, child, parents, undefined, false, child);
}

/**
 * Every function definition in `code`, in source order (outer before inner).
 * Returns [] for files over the size limits and skips definitions that contain syntax errors
 * (unless `includeBroken`). Throws only when tree-sitter itself cannot load.
 */
export async function findFunctions(
  code: string,
  language: Language,
  parser: CodeParser = defaultParser(),
  options: FindOptions = {},
): Promise<FunctionInfo[]> {
  if (isTooLarge(code)) return [];
  return parser.withTree(
    language,
    code,
    (tree) => {
      const w: Walk = {
        code,
        language,
        starts: lineStarts(code),
        out: [],
        includeBroken: options.includeBroken ?? false,
      };
      if (language === 'python') walkPython(w, tree.rootNode, [], undefined);
      else walkJs(w, tree.rootNode, [], undefined);
      w.out.sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
      return w.out;
    },
    options.jsx ? { jsx: true } : undefined,
  );
}

/** The innermost function whose definition (or leading JSDoc) contains `offset`, if any. */
export function innermostAt(functions: readonly FunctionInfo[], offset: number): FunctionInfo | undefined {
  let best: FunctionInfo | undefined;
  for (const f of functions) {
    const from = f.docRange && f.docRange.start < f.startOffset ? f.docRange.start : f.startOffset;
    if (offset < from || offset > f.endOffset) continue;
    if (!best || f.endOffset - f.startOffset <= best.endOffset - best.startOffset) best = f;
  }
  return best;
}

/** The innermost function containing `offset` in `code`. */
export async function functionAt(
  code: string,
  language: Language,
  offset: number,
  parser: CodeParser = defaultParser(),
  options: FindOptions = {},
): Promise<FunctionInfo | undefined> {
  return innermostAt(await findFunctions(code, language, parser, options), offset);
}
