// Finds the tests a user already has for a function and turns them into one runnable test program that
// executes after the candidate's definition and fails by raising (Python) or throwing (JS/TS):
//   - doctest examples (`>>>`) in a Python docstring, `@example … // result` lines in a JSDoc comment;
//   - `assert` lines in the same file that reference the function (module level, `if __name__` blocks,
//     `test_*` functions, `assert.*(…)` calls in JS/TS);
//   - pytest `test_*` functions, pytest classes and unittest TestCase methods in other workspace files;
//   - JS/TS tests written with `node:assert`, at top level or inside `test(…)` / `it(…)` / `describe(…)`.
// Pure: the caller reads the workspace and passes files in.

import type { Node } from 'web-tree-sitter';
import type { Language } from '../types';
import { defaultParser, type CodeParser } from './loader';
import { isTooLarge, type FunctionInfo } from './functions';

export interface SourceFile {
  path: string;
  text: string;
}

export interface UserTests {
  /** Test code to run after the candidate's definition; empty when there are none. */
  tests: string;
  origin: 'user' | 'none';
  /** Where the tests came from, e.g. `docstring of add`, `shapes.py`, `tests/test_shapes.py`. */
  sources: string[];
  /** How many checks (asserts, examples, test functions) were collected. */
  count: number;
}

export interface FindTestsInput {
  /** The text of the file that holds the function. */
  code: string;
  language: Language;
  fn: FunctionInfo;
  /** Display name of the function's file (for `sources`). */
  path?: string;
  /** Other workspace files that may hold tests (the caller reads them). */
  otherFiles?: SourceFile[];
  parser?: CodeParser;
}

const JS_TEST_CALLS = new Set(['test', 'it', 'describe']);

// ───────────────────────────── helpers shared by both languages

/** Identifier sets per node id, for one tree (nodes are looked at once per function otherwise). */
interface Memo {
  ids: Map<number, Set<string>>;
  top?: { node: Node; type: string; text: string }[];
}

function newMemo(): Memo {
  return { ids: new Map() };
}

/** Top-level statements with their type and text, read out of the tree once per tree. */
function topLevel(root: Node, memo: Memo): { node: Node; type: string; text: string }[] {
  return (memo.top ??= root.namedChildren
    .filter((n): n is Node => !!n)
    .map((node) => ({ node, type: node.type, text: node.text })));
}

const IMPORT_TYPES = new Set([
  'import_statement',
  'import_from_statement',
  'future_import_statement',
  'lexical_declaration',
  'variable_declaration',
]);

function identifiers(node: Node, memo?: Memo): Set<string> {
  const hit = memo?.ids.get(node.id);
  if (hit) return hit;
  const out = new Set<string>();
  memo?.ids.set(node.id, out);
  for (const n of node.descendantsOfType([
    'identifier',
    'property_identifier',
    'shorthand_property_identifier',
    'type_identifier',
  ])) {
    if (n) out.add(n.text);
  }
  return out;
}

/** Whether `node` mentions the function: its name (and, for methods, its class). */
function references(node: Node, fn: FunctionInfo, memo?: Memo): boolean {
  const ids = identifiers(node, memo);
  if (!ids.has(fn.name)) return false;
  return fn.className === undefined || ids.has(fn.className);
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => (l.trim() ? by + l : l))
    .join('\n');
}

/** A string literal valid in both Python and JavaScript. */
function literal(text: string): string {
  return JSON.stringify(text);
}

interface Collected {
  imports: string[];
  helpers: string[];
  checks: string[];
  sources: string[];
  count: number;
  needs: Set<'doctest' | 'unittest' | 'pytest' | 'jsTestShim' | 'assert'>;
  assertStrict: boolean;
}

function newCollected(): Collected {
  return { imports: [], helpers: [], checks: [], sources: [], count: 0, needs: new Set(), assertStrict: false };
}

function addSource(c: Collected, source: string): void {
  if (!c.sources.includes(source)) c.sources.push(source);
}

// ───────────────────────────── Python

interface DocExample {
  source: string;
  expected: string;
}

/** Splits a (cleaned) docstring into doctest examples. */
export function parseDoctest(docstring: string): DocExample[] {
  const lines = docstring.replace(/\r\n/g, '\n').split('\n');
  const out: DocExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)>>>( |$)(.*)$/.exec(lines[i]!);
    if (!m) continue;
    const pad = m[1]!.length;
    const src = [m[3]!];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const c = /^\s*\.\.\.( |$)(.*)$/.exec(lines[j]!);
      if (!c) break;
      src.push(c[2]!);
    }
    const expected: string[] = [];
    for (; j < lines.length; j++) {
      const line = lines[j]!;
      if (!line.trim() || /^\s*>>>/.test(line)) break;
      const body = line.slice(Math.min(pad, line.length - line.trimStart().length));
      expected.push(body.trim() === '<BLANKLINE>' ? '' : body.replace(/\s+$/, ''));
    }
    i = j - 1;
    const source = src.join('\n');
    if (/#\s*doctest:.*\+SKIP/.test(source)) continue;
    out.push({ source, expected: expected.join('\n') });
  }
  return out;
}

const PY_LITERAL_TYPES = new Set([
  'module',
  'expression_statement',
  'integer',
  'float',
  'string',
  'string_start',
  'string_content',
  'string_end',
  'escape_sequence',
  'concatenated_string',
  'true',
  'false',
  'none',
  'list',
  'tuple',
  'set',
  'dictionary',
  'pair',
  'unary_operator',
  'parenthesized_expression',
]);
const PY_SIMPLE_EXPR = new Set([
  'call',
  'identifier',
  'attribute',
  'subscript',
  'integer',
  'float',
  'string',
  'true',
  'false',
  'none',
  'list',
  'tuple',
  'dictionary',
  'parenthesized_expression',
]);

interface PyShape {
  ok: boolean;
  /** The single expression's node type when the text is one expression statement. */
  expression?: string;
  literal: boolean;
  callee?: string;
}

async function pyShape(parser: CodeParser, text: string): Promise<PyShape> {
  return parser.withTree('python', text, (tree) => {
    const root = tree.rootNode;
    if (root.hasError) return { ok: false, literal: false };
    const stmts = root.namedChildren.filter((n): n is Node => !!n && n.type !== 'comment');
    if (stmts.length !== 1 || stmts[0]!.type !== 'expression_statement' || stmts[0]!.namedChildCount !== 1)
      return { ok: true, literal: false };
    const expr = stmts[0]!.namedChild(0)!;
    if (expr.type === 'assignment' || expr.type === 'augmented_assignment' || expr.type === 'yield')
      return { ok: true, literal: false };
    const lit = allLiteral(expr);
    const callee = expr.type === 'call' ? expr.childForFieldName('function')?.text : undefined;
    return { ok: true, expression: expr.type, literal: lit, ...(callee ? { callee } : {}) };
  });
}

function allLiteral(node: Node): boolean {
  if (!PY_LITERAL_TYPES.has(node.type)) return false;
  return node.namedChildren.every((c) => !c || allLiteral(c));
}

/** Turns doctest examples into Python checks. */
const doctestMemo = new Map<string, { checks: string[]; usesHelper: boolean }>();
const DOCTEST_MEMO_SIZE = 2000;

export async function doctestChecks(
  docstring: string,
  parser: CodeParser = defaultParser(),
): Promise<{ checks: string[]; usesHelper: boolean }> {
  const hit = doctestMemo.get(docstring);
  if (hit) return { checks: [...hit.checks], usesHelper: hit.usesHelper };
  const result = await convertDoctest(docstring, parser);
  if (doctestMemo.size >= DOCTEST_MEMO_SIZE) doctestMemo.delete(doctestMemo.keys().next().value!);
  doctestMemo.set(docstring, result);
  return { checks: [...result.checks], usesHelper: result.usesHelper };
}

async function convertDoctest(
  docstring: string,
  parser: CodeParser,
): Promise<{ checks: string[]; usesHelper: boolean }> {
  const checks: string[] = [];
  let usesHelper = false;
  for (const ex of parseDoctest(docstring)) {
    const expected = ex.expected;
    if (/^Traceback \(most recent call last\)/.test(expected) || /^\w[\w.]*(Error|Exception)\b/.test(expected)) {
      const lines = expected.split('\n').filter((l) => l.trim() && !/^\s/.test(l) && !l.startsWith('Traceback'));
      const last = lines[lines.length - 1] ?? expected.split('\n').pop()!;
      const exName = (/^([\w.]+)/.exec(last)?.[1] ?? 'Exception').split('.').pop()!;
      checks.push(
        [
          'try:',
          indent(ex.source, '    '),
          'except Exception as _crucible_e:',
          `    assert type(_crucible_e).__name__ == ${literal(exName)}, f"expected ${exName}, got {type(_crucible_e).__name__}: {_crucible_e}"`,
          'else:',
          `    raise AssertionError(${literal(`expected ${exName} from: ${ex.source.split('\n')[0]}`)})`,
        ].join('\n'),
      );
      continue;
    }
    if (expected === '') {
      checks.push(ex.source);
      continue;
    }
    const src = await pyShape(parser, ex.source);
    const exp = await pyShape(parser, expected);
    if (src.ok && src.expression && src.callee !== 'print' && exp.ok && exp.literal) {
      const left = PY_SIMPLE_EXPR.has(src.expression) ? ex.source : `(${ex.source})`;
      const right = expected.includes('\n') ? `(\n${indent(expected, '    ')}\n)` : expected;
      checks.push(`assert ${left} == ${right}`);
    } else {
      usesHelper = true;
      checks.push(`_crucible_doctest(${literal(ex.source)}, ${literal(expected)})`);
    }
  }
  return { checks, usesHelper };
}

const PY_DOCTEST_HELPER = `def _crucible_doctest(source, expected):
    import contextlib, io
    buffer = io.StringIO()
    try:
        code, is_expr = compile(source, "<doctest>", "eval"), True
    except SyntaxError:
        code, is_expr = compile(source, "<doctest>", "exec"), False
    with contextlib.redirect_stdout(buffer):
        value = eval(code, globals())
        if is_expr and value is not None:
            print(repr(value))
    got = "\\n".join(line.rstrip() for line in buffer.getvalue().rstrip("\\n").split("\\n"))
    want = "\\n".join(line.rstrip() for line in expected.split("\\n"))
    assert got == want, f"{source}: expected {want!r}, got {got!r}"`;

const PY_UNITTEST_HELPER = `def _crucible_unittest(case, names):
    import unittest
    for name in names:
        result = unittest.TestResult()
        case(name).run(result)
        problems = result.failures + result.errors
        if problems:
            raise AssertionError(f"{case.__name__}.{name} failed:\\n{problems[0][1]}")
        if not result.wasSuccessful() or result.testsRun != 1:
            raise AssertionError(f"{case.__name__}.{name} did not run")`;

const PY_PYTEST_SHIM = `try:
    import pytest
except ImportError:
    import contextlib as _crucible_contextlib
    import math as _crucible_math

    class pytest:  # a stand-in for the parts of pytest simple tests use
        @staticmethod
        @_crucible_contextlib.contextmanager
        def raises(expected, match=None):
            try:
                yield
            except expected as error:
                if match is not None:
                    import re
                    assert re.search(match, str(error)), f"{error!r} does not match {match!r}"
                return
            raise AssertionError(f"DID NOT RAISE {expected}")

        @staticmethod
        def approx(value, rel=1e-6, abs=1e-12):
            class _Approx:
                def __eq__(self, other):
                    return _crucible_math.isclose(other, value, rel_tol=rel, abs_tol=abs)

                def __repr__(self):
                    return f"approx({value!r})"

            return _Approx()`;

function isMainGuard(node: Node): boolean {
  if (node.type !== 'if_statement') return false;
  const cond = node.childForFieldName('condition')?.text.replace(/\s+/g, '') ?? '';
  return cond === '__name__=="__main__"' || cond === "__name__=='__main__'";
}

function pyDefName(node: Node): string | undefined {
  const def = node.type === 'decorated_definition' ? node.childForFieldName('definition') : node;
  return def?.childForFieldName('name')?.text;
}

function pyDef(node: Node): Node | undefined {
  const def = node.type === 'decorated_definition' ? node.childForFieldName('definition') : node;
  return def ?? undefined;
}

/** A pytest test function we can call with no arguments (no fixtures, no parametrize). */
function callablePyTest(node: Node): boolean {
  const def = pyDef(node);
  if (!def || def.type !== 'function_definition') return false;
  const params = def.childForFieldName('parameters');
  const names = params?.namedChildren.filter((p) => p && p.type !== 'comment') ?? [];
  if (names.length > 0) return false;
  if (
    node.type === 'decorated_definition' &&
    /parametrize|fixture|skip/.test(node.text.slice(0, def.startIndex - node.startIndex))
  )
    return false;
  return true;
}

function isTestCaseClass(def: Node): boolean {
  const supers = def.childForFieldName('superclasses')?.text ?? '';
  return /\bTestCase\b/.test(supers);
}

/** What one top-level statement of a test file contributes: runnable checks and how many tests they hold. */
interface PyFound {
  checks: string[];
  count: number;
  /** Needs the unittest runner helper. */
  unittest?: boolean;
  /** The test's name, when it is a definition (its helpers are looked up). */
  defines?: string;
}

/** A plain `assert` at module level, or the asserts inside `if __name__ == "__main__":`. */
function pyAssertTests(node: Node, fn: FunctionInfo, memo: Memo): PyFound | undefined {
  if (node.type === 'assert_statement')
    return references(node, fn, memo) ? { checks: [node.text], count: 1 } : undefined;
  if (!isMainGuard(node)) return undefined;
  const body = node.childForFieldName('consequence');
  const checks = (body?.namedChildren ?? [])
    .filter((s): s is Node => s?.type === 'assert_statement' && references(s, fn, memo))
    .map((s) => s.text);
  return { checks, count: checks.length };
}

/** A pytest-style `test_*` function that takes no fixtures: its definition, then a call. */
function pyTestFunction(node: Node, fn: FunctionInfo, memo: Memo): PyFound | undefined {
  const name = pyDefName(node);
  const def = pyDef(node);
  if (!name || !def || def.type !== 'function_definition') return undefined;
  if (!/^test/.test(name) || name === fn.name || !callablePyTest(node) || !references(node, fn, memo)) return undefined;
  return { checks: [`${node.text}\n\n${name}()`], count: 1, defines: name };
}

/** The `test*` methods of a test class that mention the function. */
function pyTestMethods(def: Node, fn: FunctionInfo, memo: Memo): Node[] {
  return (def.childForFieldName('body')?.namedChildren ?? []).filter((m): m is Node => {
    const d = m ? pyDef(m) : undefined;
    const n = m ? pyDefName(m) : undefined;
    return !!d && d.type === 'function_definition' && !!n && /^test/.test(n) && references(m!, fn, memo);
  });
}

/**
 * A test class: a `unittest.TestCase` (run by the unittest helper, only the methods that mention the
 * function) or a pytest-style `Test*` class (each method on a fresh instance, after `setup_method`).
 */
function pyTestClass(node: Node, fn: FunctionInfo, memo: Memo): PyFound | undefined {
  const name = pyDefName(node);
  const def = pyDef(node);
  if (!name || !def || def.type !== 'class_definition' || !(/^Test/.test(name) || isTestCaseClass(def)))
    return undefined;
  const methods = pyTestMethods(def, fn, memo);
  if (!methods.length) return undefined;
  const names = methods.map((m) => pyDefName(m)!);
  if (isTestCaseClass(def)) {
    const check = `${node.text}\n\n_crucible_unittest(${name}, ${literal(names.join(' '))}.split())`;
    return { checks: [check], count: names.length, unittest: true, defines: name };
  }
  const hasSetup = (def.childForFieldName('body')?.namedChildren ?? []).some(
    (m) => m && pyDefName(m) === 'setup_method',
  );
  const calls = names.map(
    (n) => `_crucible_case = ${name}()${hasSetup ? '\n_crucible_case.setup_method(None)' : ''}\n_crucible_case.${n}()`,
  );
  return { checks: [`${node.text}\n\n${calls.join('\n')}`], count: names.length, defines: name };
}

const PY_IMPORT_TYPES = new Set(['import_statement', 'import_from_statement', 'future_import_statement']);

/** Module-level asserts, asserts in `if __name__ == "__main__":`, `test_*` functions and test classes of one Python file. */
function collectPython(
  root: Node,
  fn: FunctionInfo,
  source: string,
  c: Collected,
  sameFile: boolean,
  memo: Memo,
): void {
  const before = c.count;
  const selected: { names: Set<string>; nodes: Node[] } = { names: new Set(), nodes: [] };
  const localImports: string[] = [];
  for (const { node, type, text } of topLevel(root, memo)) {
    // Everything but imports must mention the function by name; skip the rest without walking it.
    if (!IMPORT_TYPES.has(type) && !text.includes(fn.name)) continue;
    if (node.hasError) continue; // a broken region holds no usable test
    if (PY_IMPORT_TYPES.has(node.type)) {
      if (!sameFile) localImports.push(node.text);
      continue;
    }
    const found = pyAssertTests(node, fn, memo) ?? pyTestFunction(node, fn, memo) ?? pyTestClass(node, fn, memo);
    if (!found) continue;
    c.checks.push(...found.checks);
    c.count += found.count;
    if (found.unittest) c.needs.add('unittest');
    if (found.defines) {
      selected.names.add(found.defines);
      selected.nodes.push(node);
    }
  }
  if (c.count === before) return;
  addSource(c, source);
  if (sameFile) return;
  c.helpers.push(...pyHelpers(root, fn, selected, memo));
  addPyImports(c, fn, localImports);
}

/** The name a top-level helper defines (function, class, or assigned constant). */
function pyHelperName(node: Node): string | undefined {
  if (node.type === 'function_definition' || node.type === 'class_definition' || node.type === 'decorated_definition')
    return pyDefName(node);
  if (node.type === 'expression_statement' && node.namedChild(0)?.type === 'assignment')
    return node.namedChild(0)!.childForFieldName('left')?.text;
  return undefined;
}

/** Helpers the selected tests use from their own file (transitively): constants, functions, classes, in file order. */
function pyHelpers(
  root: Node,
  fn: FunctionInfo,
  selected: { names: Set<string>; nodes: Node[] },
  memo: Memo,
): string[] {
  const candidates = root.namedChildren.filter((n): n is Node => {
    const name = n ? pyHelperName(n) : undefined;
    return !!name && !selected.names.has(name) && name !== fn.name && !/^test/i.test(name);
  });
  const used = new Set<string>();
  for (const n of selected.nodes) for (const id of identifiers(n, memo)) used.add(id);
  const chosen = new Set<Node>();
  for (let grew = true; grew;) {
    grew = false;
    for (const n of candidates) {
      if (chosen.has(n) || !used.has(pyHelperName(n)!)) continue;
      chosen.add(n);
      for (const id of identifiers(n, memo)) used.add(id);
      grew = true;
    }
  }
  return candidates.filter((n) => chosen.has(n)).map((n) => n.text);
}

/**
 * The test file's imports, minus those that would bring in the user's own function or module: `from m import f`
 * is dropped, and `import m` + `m.f(…)` is rewritten to `f(…)` (the candidate defines `f` itself). `import pytest`
 * becomes the pytest shim.
 */
function addPyImports(c: Collected, fn: FunctionInfo, localImports: string[]): void {
  const text = c.checks.join('\n') + c.helpers.join('\n');
  for (const imp of localImports) {
    const fromMatch = /^from\s+([\w.]+)\s+import\s+([\s\S]+)$/.exec(imp);
    if (fromMatch) {
      const names = fromMatch[2]!
        .replace(/[()]/g, '')
        .split(',')
        .map((n) => n.trim().split(/\s+as\s+/)[0]);
      if (names.some((n) => n === fn.name || n === fn.className)) continue;
    } else {
      const mod = /^import\s+([\w.]+)/.exec(imp)?.[1];
      if (mod && new RegExp(`\\b${mod.replace(/\./g, '\\.')}\\.${fn.className ?? fn.name}\\b`).test(text)) {
        const rewrite = (s: string): string => s.split(`${mod}.`).join('');
        c.checks = c.checks.map(rewrite);
        c.helpers = c.helpers.map(rewrite);
        continue;
      }
    }
    if (/^import\s+pytest\s*$/.test(imp)) {
      c.needs.add('pytest');
      continue;
    }
    if (!c.imports.includes(imp)) c.imports.push(imp);
  }
}

function renderPython(c: Collected, fn: FunctionInfo): string {
  const parts: string[] = [];
  // A method is written as a plain function; attach it to its class (defined in the context).
  if (fn.className !== undefined) {
    const owner = fn.parents.join('.');
    parts.push(`${owner}.${fn.name} = ${fn.name}`);
  }
  if (c.imports.length) parts.push(c.imports.join('\n'));
  if (c.needs.has('pytest')) parts.push(PY_PYTEST_SHIM);
  if (c.needs.has('doctest')) parts.push(PY_DOCTEST_HELPER);
  if (c.needs.has('unittest')) parts.push(PY_UNITTEST_HELPER);
  parts.push(...c.helpers);
  parts.push(...c.checks);
  return `${parts.join('\n\n')}\n`;
}

// ───────────────────────────── JavaScript / TypeScript

function jsCallee(stmt: Node): string | undefined {
  if (stmt.type !== 'expression_statement') return undefined;
  let expr = stmt.namedChild(0);
  if (expr?.type === 'await_expression') expr = expr.namedChild(0);
  if (expr?.type !== 'call_expression') return undefined;
  const callee = expr.childForFieldName('function');
  if (!callee) return undefined;
  if (callee.type === 'identifier') return callee.text;
  if (callee.type === 'member_expression') return callee.childForFieldName('object')?.text;
  return undefined;
}

function isAssertStmt(stmt: Node): boolean {
  return jsCallee(stmt) === 'assert';
}

function isJsTestCall(stmt: Node): boolean {
  const callee = jsCallee(stmt);
  return callee !== undefined && JS_TEST_CALLS.has(callee);
}

/** `@example add(1, 2) // 3` or `// => 3` lines of a JSDoc comment. */
export function jsDocExampleChecks(docstring: string, name: string): string[] {
  const out: string[] = [];
  for (const raw of docstring.split('\n')) {
    const line = raw.replace(/^@example\s*/, '').trim();
    const m = /^(.*\S)\s*\/\/\s*(?:=>|→|returns?:?)?\s*(\S.*)$/.exec(line);
    if (!m || !new RegExp(`\\b${name}\\s*\\(`).test(m[1]!)) continue;
    const expr = m[1]!.replace(/;$/, '');
    out.push(`assert.deepStrictEqual(${expr}, ${m[2]!.replace(/;$/, '')});`);
  }
  return out;
}

function collectJs(root: Node, fn: FunctionInfo, source: string, c: Collected, sameFile: boolean, memo: Memo): void {
  const before = c.count;
  for (const { node, type, text } of topLevel(root, memo)) {
    if (!IMPORT_TYPES.has(type) && !text.includes(fn.name)) continue;
    if (node.hasError) continue; // a broken region holds no usable test
    if (
      !sameFile &&
      (node.type === 'import_statement' || node.type === 'lexical_declaration' || node.type === 'variable_declaration')
    ) {
      if (/node:assert|['"]assert['"]/.test(node.text) && /strict/.test(node.text)) c.assertStrict = true;
      continue;
    }
    if (sameFile && (node.type === 'import_statement' || node.type === 'lexical_declaration')) {
      if (/node:assert|['"]assert['"]/.test(node.text) && /strict/.test(node.text)) c.assertStrict = true;
    }
    if (isAssertStmt(node) && references(node, fn, memo)) {
      c.checks.push(node.text);
      c.needs.add('assert');
      c.count++;
    } else if (isJsTestCall(node) && references(node, fn, memo)) {
      c.checks.push(node.text);
      c.needs.add('assert');
      c.needs.add('jsTestShim');
      c.count += Math.max(1, (node.text.match(/\bassert\b/g) ?? []).length);
    }
  }
  if (c.count > before) addSource(c, source);
}

const JS_TEST_SHIM = `const __crucibleRun = (_name, body) => {
  const result = body();
  if (result && typeof result.then === 'function') result.then(undefined, (error) => { process.exitCode = 1; throw error; });
};
const test = __crucibleRun;
const it = __crucibleRun;
const describe = (_name, body) => { body(); };`;

/** Whether code already declares `assert` (require, import, destructuring). */
export function bindsAssert(code: string): boolean {
  return /\b(?:const|let|var)\s+(?:assert\b|\{[^}]*(?:\bas\s+|:\s*)assert\b[^}]*\})|\bimport\s+(?:assert\b|\{[^}]*\bas\s+assert\b)|\bfunction\s+assert\b/.test(
    code,
  );
}

function renderJs(c: Collected, assertBound: boolean): string {
  const parts: string[] = [];
  if (c.needs.has('assert') && !assertBound) {
    parts.push(`const assert = require('node:assert')${c.assertStrict ? '.strict' : ''};`);
  }
  if (c.needs.has('jsTestShim')) parts.push(JS_TEST_SHIM);
  parts.push(...c.checks);
  return `${parts.join('\n')}\n`;
}

// ───────────────────────────── entry point

/** The `>>>` examples of a Python docstring, as checks. */
async function collectDoctest(fn: FunctionInfo, c: Collected, parser: CodeParser): Promise<void> {
  if (!fn.docstring || !/^\s*>>>/m.test(fn.docstring)) return;
  const { checks, usesHelper } = await doctestChecks(fn.docstring, parser);
  if (!checks.length) return;
  c.checks.push(...checks);
  c.count += checks.length;
  if (usesHelper) c.needs.add('doctest');
  addSource(c, `docstring of ${fn.qualifiedName}`);
}

/** The `@example` lines of a JSDoc comment, as assert checks. */
function collectJsDocExamples(fn: FunctionInfo, c: Collected): void {
  if (!fn.docstring) return;
  const checks = jsDocExampleChecks(fn.docstring, fn.name);
  if (!checks.length) return;
  c.checks.push(...checks);
  c.count += checks.length;
  c.needs.add('assert');
  addSource(c, `JSDoc of ${fn.qualifiedName}`);
}

export interface FindManyInput extends Omit<FindTestsInput, 'fn'> {
  fns: readonly FunctionInfo[];
}

function testFileLanguage(path: string, fallback: Language): Language {
  if (fallback === 'python') return 'python';
  return /\.[cm]?tsx?$/.test(path) ? 'typescript' : /\.[cm]?jsx?$/.test(path) ? 'javascript' : fallback;
}

/**
 * The user's own tests for several functions of one file, parsing each file once. Keyed by qualified name.
 * Files that are too large are skipped quietly.
 */
export async function findUserTestsMany(input: FindManyInput): Promise<Map<string, UserTests>> {
  const parser = input.parser ?? defaultParser();
  const { language } = input;
  const collected = new Map<FunctionInfo, Collected>();
  for (const fn of input.fns) {
    const c = newCollected();
    collected.set(fn, c);
    await (language === 'python' ? collectDoctest(fn, c, parser) : collectJsDocExamples(fn, c));
  }
  const collect = language === 'python' ? collectPython : collectJs;
  if (!isTooLarge(input.code)) {
    await parser.withTree(language, input.code, (tree) => {
      const memo = newMemo();
      for (const [fn, c] of collected) collect(tree.rootNode, fn, input.path ?? 'this file', c, true, memo);
    });
  }
  for (const file of input.otherFiles ?? []) {
    if (isTooLarge(file.text)) continue;
    const relevant = [...collected].filter(([fn]) => file.text.includes(fn.name));
    if (!relevant.length) continue;
    await parser.withTree(testFileLanguage(file.path, language), file.text, (tree) => {
      const memo = newMemo();
      for (const [fn, c] of relevant) collect(tree.rootNode, fn, file.path, c, false, memo);
    });
  }
  const out = new Map<string, UserTests>();
  const sourceBindsAssert = language !== 'python' && bindsAssert(input.code);
  for (const [fn, c] of collected) {
    if (language === 'python' && /\bpytest\./.test(c.checks.join('\n'))) c.needs.add('pytest');
    if (c.count === 0) {
      out.set(fn.qualifiedName, { tests: '', origin: 'none', sources: [], count: 0 });
      continue;
    }
    const tests = language === 'python' ? renderPython(c, fn) : renderJs(c, sourceBindsAssert);
    out.set(fn.qualifiedName, {
      tests: tests.replace(/\n{3,}/g, '\n\n'),
      origin: 'user',
      sources: c.sources,
      count: c.count,
    });
  }
  return out;
}

/**
 * The user's own tests for `fn`, as runnable code. `origin` is `none` (and `tests` empty) when no test
 * mentions the function.
 */
export async function findUserTests(input: FindTestsInput): Promise<UserTests> {
  const { fn, ...rest } = input;
  const found = await findUserTestsMany({ ...rest, fns: [fn] });
  return found.get(fn.qualifiedName) ?? { tests: '', origin: 'none', sources: [], count: 0 };
}
