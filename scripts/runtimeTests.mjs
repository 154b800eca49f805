#!/usr/bin/env node
// `npm run test:runtime`: the sandbox's own programs on their own. Lints the Python runtimes with Ruff, type-checks
// the JavaScript runtimes (tsconfig.runtime.json), then runs their unit tests: pytest (test/runtime) for the Python
// parts, mocha for the JavaScript ones when present. Ends with "runtime: N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const totals = { passed: 0, failed: 0, skipped: 0 };
function step(name, cmd, args, parse) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  process.stdout.write(r.stdout ?? '');
  process.stderr.write(r.stderr ?? '');
  const counted = parse ? parse(r.stdout ?? '') : null;
  if (counted) {
    totals.passed += counted.passed;
    totals.failed += counted.failed;
    totals.skipped += counted.skipped;
    if (r.status !== 0 && counted.failed === 0) totals.failed += 1;
  } else if (r.status !== 0) {
    totals.failed += 1;
    process.stdout.write(`${name} failed (exit ${r.status ?? r.signal})\n`);
  } else {
    totals.passed += 1;
  }
}

step('ruff', process.execPath, [join(root, 'scripts', 'lintRuntime.mjs')]);
if (existsSync(join(root, 'tsconfig.runtime.json')))
  step('tsc runtime', process.execPath, [
    join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.runtime.json',
  ]);
const python = process.env.CRUCIBLE_PYTHON || 'python3';
const hasPytest = spawnSync(python, ['-c', 'import pytest'], { stdio: 'ignore' }).status === 0;
if (hasPytest) {
  step('pytest', python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'test/runtime'], (out) => {
    const line = out.trim().split('\n').pop() ?? '';
    const n = (word) => Number((new RegExp(`(\\d+) ${word}`).exec(line) ?? [0, 0])[1]);
    return /passed|failed|error/.test(line)
      ? { passed: n('passed'), failed: n('failed') + n('error'), skipped: n('skipped') }
      : null;
  });
} else {
  process.stdout.write(`pytest is not importable by ${python}: the Python runtime unit tests are skipped\n`);
  totals.skipped += 1;
}
process.stdout.write(`runtime: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(totals.failed ? 1 : 0);
