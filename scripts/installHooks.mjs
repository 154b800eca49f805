#!/usr/bin/env node
// `npm install` / `npm ci` run this (the `prepare` script): in a git checkout of this repository it points
// git at the hooks in .githooks/ (core.hooksPath). Anywhere else (an unpacked tarball, a CI run, a copy
// without git) it does nothing, and it never fails the install.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function git(...args) {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

function install() {
  if (process.env.CI) return 'CI: hooks not installed';
  if (!existsSync(join(root, '.githooks', 'pre-commit'))) return 'no .githooks/pre-commit';
  let top;
  try {
    top = git('rev-parse', '--show-toplevel');
  } catch {
    return 'not a git checkout';
  }
  if (resolve(top) !== root) return `inside another repository (${top})`;
  let current = '';
  try {
    current = git('config', '--get', 'core.hooksPath');
  } catch {
    // not set
  }
  if (current === '.githooks') return 'already installed';
  git('config', 'core.hooksPath', '.githooks');
  return 'installed (core.hooksPath = .githooks)';
}

let outcome;
try {
  outcome = install();
} catch (err) {
  outcome = `skipped: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
}
process.stdout.write(`git hooks: ${outcome}\n`);
