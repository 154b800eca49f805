#!/usr/bin/env node
// Lints the Python programs that run inside the sandbox (src/core/sandbox/runtime/**/*.py, bench/*.py, test/runtime)
// with Ruff (its WebAssembly build from npm, so no Python packages are needed). Prints one line per finding and a
// summary; exits 1 when there are findings. The JavaScript runtimes are checked by `tsc -p tsconfig.runtime.json`.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Workspace, PositionEncoding } from '@astral-sh/ruff-wasm-nodejs';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const roots = ['src/core/sandbox/runtime', 'bench', 'test/runtime', 'src/core/selfplay'].map((d) => join(root, d));

function pyFiles(dir) {
  let out = [];
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    if (n === '__pycache__' || n === 'node_modules') continue;
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(pyFiles(p));
    else if (n.endsWith('.py')) out.push(p);
  }
  return out;
}

// Pyflakes (F), pycodestyle (E, W) and bugbear (B). E402 (imports after the interpreter set-up) is deliberate in the
// worker; B905 (zip strict=) needs Python 3.10, and the sandbox supports 3.9.
const ws = new Workspace(
  {
    'line-length': 130,
    lint: { select: ['E', 'F', 'W', 'B'], ignore: ['E402', 'E731', 'E701', 'E702', 'B010', 'B009', 'E501', 'B905'] },
  },
  PositionEncoding.Utf16,
);
let findings = 0;
const files = roots.flatMap(pyFiles);
for (const file of files) {
  const diagnostics = ws.check(readFileSync(file, 'utf8'));
  for (const d of diagnostics) {
    findings++;
    console.log(
      `${relative(root, file)}:${d.start_location.row}:${d.start_location.column}: ${d.code ?? ''} ${d.message}`,
    );
  }
}
console.log(`ruff ${Workspace.version()}: ${files.length} files, ${findings} finding${findings === 1 ? '' : 's'}`);
process.exit(findings ? 1 : 0);
