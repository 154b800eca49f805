// The two-bundle claim of docs/architecture.md, checked: dist/extension.js (loaded at activation) holds the
// VS Code features and only the core leaves esbuild.mjs lists; tree-sitter and the engine stay in
// dist/engine.js. Builds the thin bundle in memory with esbuild.mjs's own options and reads esbuild's metafile.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';

const root = join(__dirname, '../..');

/** Minified size the thin bundle stays under (about 97 KB today, 172 KB when the engine leaked into it). */
const MAX_BYTES = 120_000;

interface EsbuildConfig {
  extensionOptions(production: boolean): BuildOptions;
  THIN_BUNDLE_CORE_LEAVES: string[];
}

describe('thin extension bundle (dist/extension.js)', function () {
  this.timeout(30_000);
  let inputs: string[];
  let bytes: number;
  let leaves: string[];

  before(async () => {
    const config = (await import(pathToFileURL(join(root, 'esbuild.mjs')).href)) as EsbuildConfig;
    leaves = config.THIN_BUNDLE_CORE_LEAVES;
    const result = await build({
      ...config.extensionOptions(true),
      absWorkingDir: root,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    inputs = Object.keys(result.metafile.inputs);
    const outputs: Metafile['outputs'] = result.metafile.outputs;
    const js = Object.entries(outputs).find(([path]) => path.endsWith('extension.js'));
    assert.ok(js, `no extension.js among ${Object.keys(outputs).join(', ')}`);
    bytes = js[1].bytes;
  });

  it('holds no web-tree-sitter', () => {
    assert.deepEqual(
      inputs.filter((f) => f.includes('tree-sitter')),
      [],
    );
  });

  it('holds no core module but the listed leaves (the rest is reached through src/vscode/engine.ts)', () => {
    const core = inputs.filter((f) => f.startsWith('src/core/'));
    assert.deepEqual(
      core.filter((f) => !leaves.includes(f)),
      [],
      'a value import of core in src/vscode pulled these into the thin bundle; import them with `import type`, call them through src/vscode/engine.ts, or move a constant into a leaf listed in esbuild.mjs',
    );
  });

  it('holds neither the engine entry nor the CLI', () => {
    assert.deepEqual(
      inputs.filter((f) => f === 'src/vscode/engineEntry.ts' || f.startsWith('src/cli/')),
      [],
    );
  });

  it(`stays under ${MAX_BYTES / 1000} KB minified`, () => {
    assert.ok(bytes < MAX_BYTES, `dist/extension.js would be ${bytes} bytes`);
  });
});
