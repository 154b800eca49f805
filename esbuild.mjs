// Bundles the extension and the CLI. Type-checking is separate (`npm run typecheck`).
import { build } from 'esbuild';
import { cpSync, mkdirSync, chmodSync, existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: ['vscode'],
  // web-tree-sitter's ESM build locates its wasm through import.meta.url, which is empty in a CJS bundle.
  define: { 'import.meta.url': '__crucibleImportMetaUrl' },
};
const importMetaShim = "var __crucibleImportMetaUrl = require('url').pathToFileURL(__filename).href;";

// The extension is two bundles so that activation stays cheap: dist/extension.js holds activate() and the
// VS Code features; dist/engine.js holds the core engine (web-tree-sitter glue, sandbox, verifier, model
// client, solve, dataset, self-play), which src/vscode/engine.ts require()s on first use. This plugin keeps
// that require out of the thin bundle and points it at the engine bundle next to it.
const engineExternal = {
  name: 'crucible-engine-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/engineEntry$/ }, (args) =>
      args.importer.endsWith(join('src', 'vscode', 'engine.ts')) ? { path: './engine.js', external: true } : undefined,
    );
  },
};
// `import * as vscode from 'vscode'` in each of the ~15 feature files would otherwise become its own
// __toESM(require('vscode')), each copying all ~300 members of the VS Code API onto a fresh object at load
// time (milliseconds of activation). Routing them through one ESM re-export copies the API once.
const vscodeOnce = {
  name: 'crucible-vscode-once',
  setup(b) {
    b.onResolve({ filter: /^vscode$/ }, (args) =>
      args.namespace === 'crucible-vscode'
        ? { path: 'vscode', external: true }
        : { path: 'vscode', namespace: 'crucible-vscode' },
    );
    b.onLoad({ filter: /.*/, namespace: 'crucible-vscode' }, () => ({
      contents: "export * from 'vscode';",
      loader: 'js',
      resolveDir: root,
    }));
  },
};
/**
 * The only core modules dist/extension.js may hold: leaves (nothing but type imports) whose values the VS Code
 * features use directly. Every other core module is reached through src/vscode/engine.ts and lives in
 * dist/engine.js. eslint.config.mjs (type-only imports of the rest of core) and test/unit/bundle.test.ts (the
 * bundle's inputs) read this list.
 */
export const THIN_BUNDLE_CORE_LEAVES = [
  'src/core/version.ts',
  'src/core/solve/evidence.ts',
  'src/core/dataset/files.ts',
  'src/core/defaults.ts',
];

// Marks the moment the bundle starts evaluating; src/extension.ts logs the load and activate() times.
const timingBanner = 'var __crucibleBundleStart = performance.now();';

/** esbuild options for dist/extension.js, the thin bundle (test/unit/bundle.test.ts builds it in memory). */
export function extensionOptions(isProduction = production) {
  return {
    ...common,
    sourcemap: !isProduction,
    minify: isProduction,
    entryPoints: [join(root, 'src/extension.ts')],
    outfile: join(root, 'dist/extension.js'),
    banner: { js: `${timingBanner}\n${importMetaShim}` },
    plugins: [engineExternal, vscodeOnce],
  };
}

async function main() {
  await Promise.all([
    build(extensionOptions()),
    build({
      ...common,
      entryPoints: [join(root, 'src/vscode/engineEntry.ts')],
      outfile: join(root, 'dist/engine.js'),
      banner: { js: importMetaShim },
    }),
    build({
      ...common,
      entryPoints: [join(root, 'src/cli/main.ts')],
      outfile: join(root, 'dist/cli.js'),
      banner: { js: `#!/usr/bin/env node\n${importMetaShim}` },
    }),
  ]);
  chmodSync(join(root, 'dist/cli.js'), 0o755);
  copyAssets();
}

/** Files the bundles load at run time: the sandbox's runtime programs, grammars, webview assets. */
function copyAssets() {
  // The sandbox's own programs (worker, judge and candidate runtimes), run by the sandbox's interpreters as files.
  cpSync(join(root, 'src/core/sandbox/runtime'), join(root, 'dist/runtime'), {
    recursive: true,
    filter: (src) =>
      !/(__pycache__|\.pyc$|\.test\.|tests?$)/.test(src.slice(join(root, 'src/core/sandbox/runtime').length)),
  });

  // The dataset export's README template, read at run time beside the bundle (src/core/dataset/readme.ts).
  cpSync(join(root, 'src/core/dataset/readme.template.md'), join(root, 'dist/readme.template.md'));

  // Grammars: only the ones Crucible parses, from VS Code's own builds, plus the runtime that matches web-tree-sitter.
  const wasmOut = join(root, 'dist/wasm');
  mkdirSync(wasmOut, { recursive: true });
  cpSync(join(root, 'node_modules/web-tree-sitter/tree-sitter.wasm'), join(wasmOut, 'tree-sitter.wasm'));
  for (const grammar of ['python', 'javascript', 'typescript', 'tsx']) {
    const file = `tree-sitter-${grammar}.wasm`;
    cpSync(join(root, 'node_modules/@vscode/tree-sitter-wasm/wasm', file), join(wasmOut, file));
  }
  // Webview assets (charting library) for the dataset view.
  const chartSrc = join(root, 'node_modules/chart.js/dist/chart.umd.min.js');
  if (existsSync(chartSrc)) {
    mkdirSync(join(root, 'dist/media'), { recursive: true });
    cpSync(chartSrc, join(root, 'dist/media/chart.umd.min.js'));
  }
}

// Imported (by the bundle test) it only exports the options; run as `node esbuild.mjs` it builds.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
