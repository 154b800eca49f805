// Loads web-tree-sitter and its grammars lazily, once per process (runtime) and once per grammar file.
//
// Where the wasm files live depends on how Crucible runs:
//   - the VS Code extension passes `<extensionUri>/dist/wasm` explicitly;
//   - the esbuild bundles (dist/extension.js, dist/cli.js) find `wasm/` next to themselves;
//   - from source under tsx, the files come from node_modules (web-tree-sitter for the runtime,
//     @vscode/tree-sitter-wasm for the grammars).
// One ABI is pinned: the runtime is web-tree-sitter 0.25.x (reads grammar ABI 13..15); a grammar
// outside that range is refused with a message that names the fix.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Language as TsLanguage, Parser, type Tree } from 'web-tree-sitter';
import type { Language } from '../types';

/** Grammar files Crucible ships (esbuild.mjs copies exactly these into dist/wasm). */
export type GrammarName = 'python' | 'javascript' | 'typescript' | 'tsx';
export const SHIPPED_GRAMMARS: readonly GrammarName[] = ['python', 'javascript', 'typescript', 'tsx'];

/** The grammar ABI range web-tree-sitter 0.25 reads. Pinned here so a mismatched grammar fails loudly. */
export const MIN_GRAMMAR_ABI = 13;
export const MAX_GRAMMAR_ABI = 15;

export const RUNTIME_WASM = 'tree-sitter.wasm';
export function grammarFile(grammar: GrammarName): string {
  return `tree-sitter-${grammar}.wasm`;
}

export interface WasmLocation {
  /** Absolute path of the web-tree-sitter runtime (`tree-sitter.wasm`). */
  runtimeFile: string;
  /** Directory holding `tree-sitter-<grammar>.wasm`. */
  grammarDir: string;
  /** How it was found. */
  origin: 'explicit' | 'bundle' | 'node_modules';
}

export class ParserLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParserLoadError';
  }
}

function hasAll(dir: string, withRuntime: boolean): boolean {
  if (withRuntime && !existsSync(join(dir, RUNTIME_WASM))) return false;
  return SHIPPED_GRAMMARS.every((g) => existsSync(join(dir, grammarFile(g))));
}

/** Walks up from `start` looking for node_modules holding both web-tree-sitter and @vscode/tree-sitter-wasm. */
function findNodeModules(start: string): WasmLocation | undefined {
  let dir = resolve(start);
  for (;;) {
    const runtimeFile = join(dir, 'node_modules', 'web-tree-sitter', RUNTIME_WASM);
    const grammarDir = join(dir, 'node_modules', '@vscode', 'tree-sitter-wasm', 'wasm');
    if (existsSync(runtimeFile) && hasAll(grammarDir, false))
      return { runtimeFile, grammarDir, origin: 'node_modules' };
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * Decides where the wasm files come from.
 * Order: the explicit `wasmDir` (must hold the runtime and every shipped grammar, else an error that
 * says what is missing); `wasm/` next to this code (the esbuild bundles); node_modules above this
 * file or above the working directory (running from source).
 */
export function resolveWasmLocation(wasmDir?: string): WasmLocation {
  if (wasmDir !== undefined && wasmDir !== '') {
    const dir = resolve(wasmDir);
    const missing = [RUNTIME_WASM, ...SHIPPED_GRAMMARS.map(grammarFile)].filter((f) => !existsSync(join(dir, f)));
    if (missing.length > 0) {
      throw new ParserLoadError(
        `Tree-sitter wasm directory ${dir} is missing ${missing.join(', ')}: run \`npm run build\` (it copies them into dist/wasm) or pass the directory that holds them.`,
      );
    }
    return { runtimeFile: join(dir, RUNTIME_WASM), grammarDir: dir, origin: 'explicit' };
  }
  for (const candidate of [join(__dirname, 'wasm'), join(__dirname, '..', 'wasm')]) {
    if (hasAll(candidate, true))
      return { runtimeFile: join(candidate, RUNTIME_WASM), grammarDir: candidate, origin: 'bundle' };
  }
  const found = findNodeModules(__dirname) ?? findNodeModules(process.cwd());
  if (found) return found;
  throw new ParserLoadError(
    `Cannot find the tree-sitter wasm files (looked in ${join(__dirname, 'wasm')} and node_modules above ${__dirname}): ` +
      'reinstall Crucible, or run `npm install` and `npm run build` in a source checkout.',
  );
}

// web-tree-sitter's runtime is a process-wide Emscripten module: initialise it once.
let runtimeInit: Promise<void> | undefined;
let runtimeFileUsed: string | undefined;

async function initRuntime(runtimeFile: string): Promise<void> {
  if (!runtimeInit) {
    runtimeFileUsed = runtimeFile;
    runtimeInit = Parser.init({
      locateFile: (name: string) => (name === RUNTIME_WASM ? runtimeFile : join(dirname(runtimeFile), name)),
    }).catch((err: unknown) => {
      runtimeInit = undefined;
      throw new ParserLoadError(
        `Could not start web-tree-sitter from ${runtimeFile}: ${(err as Error)?.message ?? String(err)}`,
      );
    });
  }
  return runtimeInit;
}

/** The runtime file the process-wide web-tree-sitter module was started from, once started. */
export function runtimeWasmInUse(): string | undefined {
  return runtimeFileUsed;
}

// Grammars are cached per absolute file path, shared by every CodeParser in the process.
const grammarCache = new Map<string, Promise<TsLanguage>>();

async function loadGrammarFile(file: string): Promise<TsLanguage> {
  let pending = grammarCache.get(file);
  if (!pending) {
    pending = (async () => {
      if (!existsSync(file))
        throw new ParserLoadError(`Grammar ${file} not found: run \`npm run build\` or reinstall Crucible.`);
      let lang: TsLanguage;
      try {
        lang = await TsLanguage.load(file);
      } catch (err) {
        throw new ParserLoadError(`Could not load grammar ${file}: ${(err as Error)?.message ?? String(err)}`);
      }
      const abi = lang.abiVersion;
      if (abi < MIN_GRAMMAR_ABI || abi > MAX_GRAMMAR_ABI) {
        throw new ParserLoadError(
          `Grammar ${file} has ABI ${abi}, but web-tree-sitter here reads ${MIN_GRAMMAR_ABI}..${MAX_GRAMMAR_ABI}: use the @vscode/tree-sitter-wasm version pinned in package.json.`,
        );
      }
      return lang;
    })();
    pending.catch(() => grammarCache.delete(file));
    grammarCache.set(file, pending);
  }
  return pending;
}

export function grammarFor(language: Language, options: { jsx?: boolean } = {}): GrammarName {
  switch (language) {
    case 'python':
      return 'python';
    case 'javascript':
      return 'javascript'; // this grammar also reads JSX
    case 'typescript':
      return options.jsx ? 'tsx' : 'typescript';
    default:
      throw new ParserLoadError(
        `Unsupported language ${String(language)}: Crucible parses python, javascript and typescript.`,
      );
  }
}

export interface CodeParserOptions {
  /** Directory holding tree-sitter.wasm and the grammar wasms (the extension passes <extensionUri>/dist/wasm). */
  wasmDir?: string;
}

export interface CodeParser {
  readonly location: WasmLocation;
  /** Loads (once) and returns a grammar. */
  grammar(name: GrammarName): Promise<TsLanguage>;
  /**
   * Parses `code` and hands the tree to `use`; the tree is freed afterwards (trees live in wasm memory),
   * so `use` must copy out what it needs and not keep nodes.
   */
  withTree<T>(language: Language, code: string, use: (tree: Tree) => T, options?: { jsx?: boolean }): Promise<T>;
  /** Frees the parsers (grammars stay cached for the process). */
  dispose(): void;
}

/** Creates a parser facade. Nothing is loaded until the first parse. */
export function createParser(options: CodeParserOptions = {}): CodeParser {
  let location: WasmLocation | undefined;
  const parsers = new Map<GrammarName, Parser>();
  const where = (): WasmLocation => (location ??= resolveWasmLocation(options.wasmDir));

  const grammar = async (name: GrammarName): Promise<TsLanguage> => {
    const loc = where();
    await initRuntime(loc.runtimeFile);
    return loadGrammarFile(join(loc.grammarDir, grammarFile(name)));
  };

  return {
    get location() {
      return where();
    },
    grammar,
    async withTree(language, code, use, opts) {
      const name = grammarFor(language, opts);
      const lang = await grammar(name);
      let parser = parsers.get(name);
      if (!parser) {
        parser = new Parser();
        parser.setLanguage(lang);
        parsers.set(name, parser);
      }
      const tree = parser.parse(code);
      if (!tree) throw new ParserLoadError(`tree-sitter returned no tree for ${language} code`);
      try {
        return use(tree);
      } finally {
        tree.delete();
      }
    },
    dispose() {
      for (const p of parsers.values()) p.delete();
      parsers.clear();
    },
  };
}

let shared: CodeParser | undefined;
/** A process-wide parser that finds its wasm files itself (bundle dir or node_modules). */
export function defaultParser(): CodeParser {
  return (shared ??= createParser());
}
