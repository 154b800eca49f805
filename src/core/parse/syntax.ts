// Syntax checking with tree-sitter: finds ERROR and MISSING nodes and words them as feedback a model can act on.

import type { Node, Tree } from 'web-tree-sitter';
import type { Language } from '../types';
import { defaultParser, type CodeParser } from './loader';

export interface SyntaxIssue {
  /** 1-based line, as people and models count. */
  line: number;
  /** 1-based column (UTF-16 code units). */
  column: number;
  /** 0-based offset into the code (UTF-16 code units). */
  offset: number;
  kind: 'unexpected' | 'missing';
  /** The offending text (unexpected) or the token tree-sitter expected (missing). */
  token: string;
  /** One line for the model, e.g. `SyntaxError near line 3, column 12: unexpected "+"`. */
  message: string;
}

export interface SyntaxReport {
  ok: boolean;
  errors: SyntaxIssue[];
  /** Feedback text: every error with its source line and a caret, empty when ok. */
  feedback: string;
}

const MAX_ISSUES = 5;
const MAX_TOKEN = 40;

function shorten(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > MAX_TOKEN ? `${one.slice(0, MAX_TOKEN - 1)}…` : one;
}

/** Collects the outermost ERROR nodes and every MISSING node, in source order, from a parsed tree. */
export function syntaxIssuesOf(tree: Tree): SyntaxIssue[] {
  const issues: SyntaxIssue[] = [];
  if (!tree.rootNode.hasError) return issues;
  const visit = (node: Node): void => {
    if (issues.length >= MAX_ISSUES * 4) return;
    if (node.isMissing) {
      const token = node.type;
      issues.push(make('missing', token, node));
      return;
    }
    if (node.isError) {
      // Report the error where it starts; its first child usually holds the unexpected token.
      const first = node.child(0);
      const token = shorten(first && first.endIndex - first.startIndex > 0 ? first.text : node.text) || node.type;
      issues.push(make('unexpected', token, node));
      // Also report MISSING nodes inside it: they say what was expected.
      for (const child of node.children) if (child && child.hasError) visitMissingOnly(child);
      return;
    }
    if (!node.hasError) return;
    for (const child of node.children) if (child) visit(child);
  };
  const visitMissingOnly = (node: Node): void => {
    if (node.isMissing) issues.push(make('missing', node.type, node));
    else for (const child of node.children) if (child && child.hasError) visitMissingOnly(child);
  };
  visit(tree.rootNode);
  issues.sort((a, b) => a.offset - b.offset);
  return issues.slice(0, MAX_ISSUES);
}

function make(kind: SyntaxIssue['kind'], token: string, node: Node): SyntaxIssue {
  const line = node.startPosition.row + 1;
  const column = node.startPosition.column + 1;
  const what = kind === 'missing' ? `missing "${token}"` : `unexpected "${token}"`;
  return {
    line,
    column,
    offset: node.startIndex,
    kind,
    token,
    message: `SyntaxError near line ${line}, column ${column}: ${what}`,
  };
}

/** Feedback with the source line and a caret under the error, for the model and the trace. */
export function formatSyntaxFeedback(code: string, errors: SyntaxIssue[]): string {
  if (errors.length === 0) return '';
  const lines = code.split('\n');
  const parts = errors.map((e) => {
    const src = (lines[e.line - 1] ?? '').replace(/\r$/, '');
    const caret = `${' '.repeat(Math.max(0, e.column - 1))}^`;
    return `${e.message}\n    ${src}\n    ${caret}`;
  });
  return `The code does not parse:\n${parts.join('\n')}`;
}

/**
 * Checks `code` for syntax errors. Tree-sitter recovers from errors, so this lists several at once;
 * it is a fast pre-check before the sandbox, and the real interpreter stays the final judge.
 */
export async function checkSyntax(
  language: Language,
  code: string,
  parser: CodeParser = defaultParser(),
): Promise<SyntaxReport> {
  const errors = await parser.withTree(language, code, syntaxIssuesOf);
  return { ok: errors.length === 0, errors, feedback: formatSyntaxFeedback(code, errors) };
}
