// The layering of src/, read from the import statements themselves (type imports included): core never
// imports vscode, and the layers below form a strict order, so no import points back up. eslint.config.mjs
// forbids the likeliest back-edges with messages that name the fix; this test holds the whole order.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const src = join(__dirname, '../../src');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/**
 * Each layer may import only layers of a lower rank. Same rank, different layer: no imports either way.
 * core/engine.ts is the application layer both front ends share; the other files at the top of core are
 * the foundation every layer may use.
 */
const RANK: { [layer: string]: number } = {
  'core (foundation)': 0,
  'core/util': 1,
  'core/sandbox': 1,
  'core/parse': 1,
  'core/model': 2,
  'core/verify': 2,
  'core/solve': 3,
  'core/dataset': 4,
  'core/selfplay': 5,
  'core/engine': 6,
  cli: 7,
  vscode: 7,
};
const FOUNDATION = new Set(['types', 'durable', 'version', 'defaults']);

/** The layer of a source file (a path inside src, without extension), or undefined outside src. */
function layerOf(path: string): string | undefined {
  const parts = relative(src, path).split('/');
  if (parts[0] === '..') return undefined;
  if (parts[0] === 'extension.ts' || parts[0] === 'extension') return 'vscode';
  if (parts[0] !== 'core') return parts[0];
  if (parts.length > 2) return `core/${parts[1]}`;
  const name = parts[1]!.replace(/\.[cm]?[jt]s$/, '');
  if (FOUNDATION.has(name)) return 'core (foundation)';
  return name === 'engine' ? 'core/engine' : `core/${name} (unclassified: add it to RANK or FOUNDATION)`;
}

/** Relative specifiers a file imports: import/export … from, import(), require(), bare `import '…'`. */
function importsOf(file: string): string[] {
  const code = readFileSync(file, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '');
  const specifiers = code.matchAll(
    /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])(\.[^'"]*)\1/gm,
  );
  return [...specifiers].map((m) => m[2]!);
}

const sources = walk(src).filter((f) => /\.[cm]?[jt]s$/.test(f) && !f.includes('/runtime/'));

describe('core boundary', () => {
  it('no file under src/core imports vscode', () => {
    const files = sources.filter((f) => f.startsWith(join(src, 'core')));
    assert.ok(files.length > 0, 'src/core has no source files');
    const offenders = files.filter((f) =>
      /(from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\)|import\(\s*['"]vscode['"]\s*\))/.test(
        readFileSync(f, 'utf8'),
      ),
    );
    assert.deepEqual(offenders, []);
  });

  it('the layers form a strict order: no import points to the same or a higher rank', () => {
    const backEdges: string[] = [];
    const unranked = new Set<string>();
    for (const file of sources) {
      const from = layerOf(file)!;
      for (const spec of importsOf(file)) {
        const to = layerOf(resolve(dirname(file), spec));
        if (to === undefined || to === from) continue; // package.json and the like; or inside one layer
        if (RANK[from] === undefined) unranked.add(from);
        if (RANK[to] === undefined) unranked.add(to);
        if (!(RANK[to]! < RANK[from]!)) backEdges.push(`${relative(src, file)} (${from}) imports ${spec} (${to})`);
      }
    }
    assert.deepEqual([...unranked], [], 'every layer needs a rank');
    assert.deepEqual(backEdges, []);
  });
});
