// ESLint flat config. Three jobs: typescript-eslint's recommended rules (without type information, so a run
// takes seconds), the layer boundaries of docs/architecture.md as rules whose messages name the fix, and a
// function-length limit. Formatting is Prettier's (.prettierrc.json): no stylistic rules here.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { THIN_BUNDLE_CORE_LEAVES } from './esbuild.mjs';

// Parsers and tokenizers: one long loop over the input reads better whole than split. The only permanent
// exemptions from max-lines-per-function; add a file here only if it is one.
const PARSERS = [
  'src/core/parse/functions.ts', // visitJs: the walk over a JavaScript/TypeScript syntax tree (88 after formatting)
  'src/core/sandbox/runtime/js/rpc.js', // the wire codec (encode, dec), the JavaScript tokenizer (tokenize), and remoteHandle (86: the proxy traps)
];

const longFunctionsAllowed = PARSERS;

const root = import.meta.dirname;

// Where a zone sits, relative to the repository root.
const core = 'src/core';
const vscodeLayer = ['src/vscode', 'src/extension.ts'];

/** import-x/no-restricted-paths zones: `target` must not import `from`. Type imports count too. */
const zones = [
  {
    target: core,
    from: [...vscodeLayer, 'src/cli'],
    message:
      'src/core is shared by the CLI and the extension and must not import either: pass what it needs as a parameter or an interface declared in core.',
  },
  {
    target: 'src/core/sandbox',
    from: ['src/core/verify', 'src/core/solve', 'src/core/dataset', 'src/core/selfplay'],
    message:
      'core/sandbox runs programs and knows nothing of verdicts, solving, datasets or self-play: declare what it needs in core/sandbox/types.ts (or core/types.ts) and let the caller pass it in.',
  },
  {
    target: 'src/core/model',
    from: 'src/core/parse',
    message:
      "core/model must not parse code (that loads tree-sitter): take a checker function as a parameter, as the solve loop does with SolveDeps.checkSyntax, and let the caller pass core/parse's.",
  },
  {
    target: 'src/core/dataset',
    from: 'src/core/solve',
    except: ['./placement.ts'],
    message:
      'core/dataset must not load the solve loop: move the helper it needs into a leaf module (as core/solve/placement.ts holds solutionOf) and import that.',
  },
  {
    target: 'src/core/dataset',
    from: 'src/core/selfplay',
    message:
      'core/dataset is below core/selfplay (self-play writes records, the dataset never runs self-play): move the shared helper into core/dataset (as p3.ts holds the P3 format) and import it from there.',
  },
  {
    target: 'src/cli',
    from: vscodeLayer,
    message: 'The CLI must not import the VS Code layer: move the shared code into src/core and import it from both.',
  },
  {
    target: vscodeLayer,
    from: 'src/cli',
    message: 'The VS Code layer must not import the CLI: move the shared code into src/core and import it from both.',
  },
];

// Import specifiers of the core leaves the thin bundle may hold as values ('../core/dataset/files' etc.).
const leafNames = THIN_BUNDLE_CORE_LEAVES.map((f) => f.replace(/^src\/core\//, '').replace(/\.ts$/, ''));
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const coreValueImport = `^(?:\\.{1,2}/)+core/(?!(?:${leafNames.map(escapeRe).join('|')})(?:\\.ts)?$)`;

const noVscodeInCore = {
  name: 'vscode',
  message: 'src/core runs in the CLI too and must not import vscode, not even types: declare an interface in core.',
};

const nodeGlobals = Object.fromEntries(
  (
    'require module exports __dirname __filename process console Buffer URL TextEncoder TextDecoder setTimeout ' +
    'clearTimeout setInterval clearInterval setImmediate clearImmediate queueMicrotask structuredClone performance ' +
    'globalThis AbortController AbortSignal fetch'
  )
    .split(' ')
    .map((name) => [name, 'readonly']),
);

const browserGlobals = Object.fromEntries(
  ['window', 'document', 'getComputedStyle', 'console', 'setTimeout', 'clearTimeout'].map((name) => [name, 'readonly']),
);

export default defineConfig(
  {
    ignores: [
      'dist/**',
      'out/**',
      'node_modules/**',
      'test-results/**',
      'bench/results/**',
      '.e2e/**',
      '.vscode-test/**',
      // Programs the sandbox runs as data: their exact text is the test input.
      'test/fixtures/code/**',
      'test/fixtures/jsRuntime/**',
      'test/corpus/hostile/**',
      'test/corpus/differential/**',
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.mjs', '.cjs', '.js', '.json'] })],
    },
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a deliberately unused parameter or binding.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // src/vscode/engine.ts require()s the engine bundle lazily, on purpose (see esbuild.mjs).
      '@typescript-eslint/no-require-imports': ['error', { allow: ['/engineEntry$'] }],
    },
  },
  {
    // tsc checks unused names in TypeScript (noUnusedLocals, noUnusedParameters); the rule was a third of
    // the lint time. It stays on for the JavaScript files, which tsc does not check that way.
    files: ['**/*.ts'],
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: nodeGlobals },
  },
  {
    // CommonJS programs: the sandbox runtimes (run by node inside the sandbox) and mocha's reporter.
    files: ['src/core/sandbox/runtime/**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      // rpc.js's proxy handlers need the peer that owns them while `this` is the proxy target.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['peer'] }],
    },
  },
  {
    // The dataset view's webview script: a browser page with chart.js loaded before it.
    files: ['media/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { ...browserGlobals, acquireVsCodeApi: 'readonly', Chart: 'readonly' },
    },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      // The fake servers and the tests read untyped wire JSON (request bodies, streamed replies) as `any`.
      '@typescript-eslint/no-explicit-any': 'off',
      // Expected output is matched verbatim: aligned columns and indented code ("  actual:   2") read better
      // with their spaces than as ` {2}`, and the CLI tests look for terminal escape sequences.
      'no-regex-spaces': 'off',
      'no-control-regex': 'off',
    },
  },
  {
    files: ['src/**/*.ts', 'src/**/*.js'],
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: root, zones }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/cli/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [noVscodeInCore] }] },
  },
  {
    // The thin bundle, dist/extension.js: everything under src/vscode but the engine's entry.
    files: ['src/extension.ts', 'src/vscode/**/*.ts'],
    ignores: ['src/vscode/engineEntry.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: coreValueImport,
              allowTypeImports: true,
              message:
                "src/vscode is bundled into the thin dist/extension.js and may import core only with `import type`: call the function through src/vscode/engine.ts (add it to engineEntry.ts and a lazy() wrapper), or move a constant into a leaf module listed in esbuild.mjs's THIN_BUNDLE_CORE_LEAVES.",
            },
            {
              regex: '(?:^|/)engineEntry$',
              allowTypeImports: true,
              message:
                "A value import of engineEntry puts the whole engine into dist/extension.js: use src/vscode/engine.ts's lazy wrappers.",
            },
          ],
        },
      ],
    },
  },
  {
    // The engine bundle's entry: core only, no VS Code API.
    files: ['src/vscode/engineEntry.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'vscode', message: 'dist/engine.js is core only: keep the VS Code API in the feature files.' },
          ],
          patterns: [
            {
              regex: '^\\./',
              message:
                'dist/engine.js is core only: re-export core modules here, and keep VS Code features in the thin bundle.',
            },
          ],
        },
      ],
    },
  },
  // A config object may not have an empty `files`, so the exemption is left out once the lists are empty.
  longFunctionsAllowed.length > 0 ? { files: longFunctionsAllowed, rules: { 'max-lines-per-function': 'off' } } : [],
);
