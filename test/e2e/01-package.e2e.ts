// The packaged extension: what `npm run package` builds is what a person installs, so check it holds
// everything the extension loads at run time and nothing else (no sources, tests or source maps).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { session, measurements } from './harness/hooks';
import { vsixPath } from './harness/paths';

interface Entry {
  name: string;
  size: number;
}

/** Lists a .vsix (a zip) with Python's zipfile: no extra npm dependency for the suite. */
function listVsix(file: string): Entry[] {
  const script =
    'import json,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nprint(json.dumps([[i.filename,i.file_size] for i in z.infolist()]))';
  const out = execFileSync('python3', ['-c', script, file], { encoding: 'utf8' });
  return (JSON.parse(out) as [string, number][]).map(([name, size]) => ({ name, size }));
}

const WASM = [
  'tree-sitter.wasm',
  'tree-sitter-python.wasm',
  'tree-sitter-javascript.wasm',
  'tree-sitter-typescript.wasm',
  'tree-sitter-tsx.wasm',
];

describe('packaged extension (.vsix)', () => {
  it('holds the bundle, the grammars and the walkthrough, and no sources, tests or source maps', () => {
    const entries = listVsix(vsixPath);
    const files = entries
      .map((e) => e.name)
      .filter((n) => n.startsWith('extension/'))
      .map((n) => n.slice('extension/'.length));
    const bytes = statSync(vsixPath).size;
    measurements.vsixBytes = bytes;
    measurements.vsixFiles = files.length;
    assert.ok(files.includes('package.json'), 'package.json missing');
    assert.ok(files.includes('dist/extension.js'), 'dist/extension.js missing');
    // The engine is a second bundle the thin extension.js loads on first use (keeps activation cheap).
    assert.ok(files.includes('dist/engine.js'), 'dist/engine.js missing: add !dist/engine.js to .vscodeignore');
    for (const wasm of WASM) assert.ok(files.includes(`dist/wasm/${wasm}`), `dist/wasm/${wasm} missing from the vsix`);
    for (const f of [
      'walkthrough/sample.py',
      'walkthrough/checkOllama.md',
      'walkthrough/pickModel.md',
      'walkthrough/trySolve.md',
      'media/crucible.svg',
    ]) {
      assert.ok(files.includes(f), `${f} missing from the vsix`);
    }
    // The one run-time package shipped as is: the portable esbuild-wasm that transpiles TypeScript candidates.
    for (const f of ['package.json', 'esbuild.wasm', 'lib/main.js', 'wasm_exec.js', 'wasm_exec_node.js']) {
      assert.ok(
        files.includes(`node_modules/esbuild-wasm/${f}`),
        `node_modules/esbuild-wasm/${f} missing from the vsix`,
      );
    }
    const forbidden = files.filter(
      (f) =>
        /^(src|test|bench|scripts|\.ci)\//.test(f) ||
        (f.startsWith('node_modules/') && !f.startsWith('node_modules/esbuild-wasm/')) ||
        f.endsWith('.map') ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
        f === 'dist/cli.js',
    );
    assert.deepEqual(forbidden, [], `the vsix must not ship ${forbidden.join(', ')}`);
    assert.ok(
      bytes < 8 * 1024 * 1024,
      `the vsix is ${bytes} bytes; more than 8 MiB suggests something unneeded was packed`,
    );
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      activationEvents?: string[];
    };
    assert.ok(!(manifest.activationEvents ?? []).includes('*'), 'activation must be lazy, not "*"');
  });

  it('is the extension code-server installed', () => {
    const s = session();
    assert.match(s.installOutput, /successfully installed/i);
    const dirs = readdirSync(s.codeServer.dirs.extensions).filter((d) => d.startsWith('crucible-dev.crucible-'));
    assert.equal(dirs.length, 1, `expected one installed Crucible, found ${dirs.join(', ') || 'none'}`);
    const installed = join(s.codeServer.dirs.extensions, dirs[0]!);
    assert.ok(existsSync(join(installed, 'dist', 'extension.js')));
    assert.ok(
      existsSync(join(installed, 'dist', 'engine.js')),
      'dist/engine.js (the lazily loaded engine bundle) was not installed',
    );
    assert.ok(!existsSync(join(installed, 'src')), 'sources were installed');
    for (const wasm of WASM) assert.ok(existsSync(join(installed, 'dist', 'wasm', wasm)), `${wasm} not installed`);
  });
});
