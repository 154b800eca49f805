// The surrounding code a function relies on (imports, constants, helpers, classes), taken from its file
// minus the function itself and minus the file's tests, so it can run before a candidate.
// JS/TS context is made runnable as a CommonJS script: `import` becomes `require`, `export` is dropped,
// `module.exports` lines go (they would touch the candidate before it is defined).

import type { Node } from 'web-tree-sitter';
import type { Language } from '../types';
import { defaultParser, type CodeParser } from './loader';
import type { TextRange } from './functions';

function pyIsTestOrScript(node: Node): boolean {
  const t = node.type;
  if (t === 'assert_statement') return true;
  if (t === 'if_statement') {
    const cond = node.childForFieldName('condition')?.text.replace(/\s+/g, '') ?? '';
    return cond === '__name__=="__main__"' || cond === "__name__=='__main__'";
  }
  const def = t === 'decorated_definition' ? node.childForFieldName('definition') : node;
  const name = def?.childForFieldName('name')?.text ?? '';
  if (def?.type === 'function_definition' && /^test/.test(name)) return true;
  if (def?.type === 'class_definition') {
    if (/^Test/.test(name) || /\bTestCase\b/.test(def.childForFieldName('superclasses')?.text ?? '')) return true;
  }
  if (t === 'expression_statement' && /^(unittest|pytest)\.main\(/.test(node.text)) return true;
  return false;
}

/** `import a from 'm'`, `import { x as y } from 'm'`, `import * as ns from 'm'` → `const … = require('m')`. */
export function importToRequire(text: string): string {
  const t = text.trim().replace(/;$/, '');
  if (/^import\s+type\b/.test(t)) return '';
  const side = /^import\s+(['"][^'"]+['"])$/.exec(t);
  if (side) return `require(${side[1]});`;
  const m = /^import\s+([\s\S]+?)\s+from\s+(['"][^'"]+['"])$/.exec(t);
  if (!m) return '';
  const clause = m[1]!.trim();
  const mod = m[2]!;
  const out: string[] = [];
  const ns = /^(?:(\w+)\s*,\s*)?\*\s+as\s+(\w+)$/.exec(clause);
  if (ns) {
    if (ns[1]) out.push(`const ${ns[1]} = require(${mod});`);
    out.push(`const ${ns[2]} = require(${mod});`);
    return out.join('\n');
  }
  const named = /^(?:(\w+)\s*,?\s*)?(?:\{([\s\S]*)\})?$/.exec(clause);
  if (!named) return '';
  if (named[1]) out.push(`const ${named[1]} = require(${mod});`);
  if (named[2] !== undefined) {
    const parts = named[2]
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p && !p.startsWith('type '))
      .map((p) => {
        const [from, to] = p.split(/\s+as\s+/);
        return to ? `${from}: ${to}` : from!;
      });
    if (parts.length) out.push(`const { ${parts.join(', ')} } = require(${mod});`);
  }
  return out.join('\n');
}

function jsIsTestOrExport(node: Node): boolean {
  if (node.type !== 'expression_statement') return false;
  const text = node.text;
  if (/^(module\.exports|exports\.\w+)\s*=/.test(text)) return true;
  const call = node.namedChild(0);
  if (call?.type !== 'call_expression') return false;
  const callee = call.childForFieldName('function');
  const base = callee?.type === 'member_expression' ? callee.childForFieldName('object')?.text : callee?.text;
  return base === 'assert' || base === 'test' || base === 'it' || base === 'describe';
}

/**
 * The code of `code` minus `exclude` (the target's range, or ranges) and minus tests, as top-level
 * statements joined by blank lines. `keepEnclosing` keeps a top-level statement that contains the
 * excluded range (a class whose method is refined: the class stays, the method is re-attached by the tests).
 */
export async function extractContext(
  code: string,
  language: Language,
  exclude: TextRange,
  options: { keepEnclosing?: boolean; parser?: CodeParser } = {},
): Promise<string> {
  const parser = options.parser ?? defaultParser();
  return parser.withTree(language, code, (tree) => {
    const parts: string[] = [];
    for (const node of tree.rootNode.namedChildren) {
      if (!node || node.type === 'ERROR') continue;
      const overlaps = node.startIndex < exclude.end && node.endIndex > exclude.start;
      const encloses = node.startIndex <= exclude.start && node.endIndex >= exclude.end;
      if (
        overlaps &&
        !(encloses && options.keepEnclosing && (node.startIndex < exclude.start || node.endIndex > exclude.end))
      )
        continue;
      if (node.type === 'comment') continue;
      if (language === 'python') {
        if (pyIsTestOrScript(node)) continue;
        parts.push(node.text);
        continue;
      }
      if (jsIsTestOrExport(node)) continue;
      if (node.type === 'import_statement') {
        const req = importToRequire(node.text);
        if (req) parts.push(req);
        continue;
      }
      if (node.type === 'export_statement') {
        const decl = node.childForFieldName('declaration');
        if (decl) parts.push(decl.text);
        continue; // `export { a, b }` lists and re-exports have nothing to run
      }
      parts.push(node.text);
    }
    return parts.join(language === 'python' ? '\n\n' : '\n');
  });
}
