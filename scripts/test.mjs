#!/usr/bin/env node
// `npm test`: every check, tier by tier, then one closing line "total: N passed, N failed, N skipped" summing the
// suites' own closing lines ("unit: ...", "cli: ...", "sandbox: ...", "e2e: ..."). A build, type, lint, format or
// packaging error counts as one failure of its step.
//
//   build                          esbuild: dist/extension.js, dist/engine.js, dist/cli.js (the tiers below
//                                  spawn dist/cli.js, so everything after it waits for it)
//   typecheck | lint | format      run at once, their output held and printed whole as each ends: tsc, ESLint
//   | runtime | unit               (layer rules, function length), Prettier's check, the sandbox runtimes' own
//                                  tests, and test/unit (pure tests, seconds)
//   cli                            test/cli: real child processes (mostly the built CLI) and real time (timeouts);
//                                  mocha --parallel with 2 jobs (test/cli/.mocharc.json): 194-244 s against
//                                  430-666 s one file at a time on a loaded 2-core machine
//   sandbox                        test/sandbox: real sandboxes, the differential and hostile suites (one file
//                                  at a time: the suites run their own worker pools, and the hostile and limit
//                                  tests time CPU and wall limits that a second file would disturb)
//   package, e2e                   the .vsix, then the end-to-end tests in code-server
import { spawn } from 'node:child_process';

/** Steps in one inner list run at the same time; the lists run in order. */
const groups = [
  [{ name: 'build', script: 'build', fatal: true }],
  [
    { name: 'typecheck', script: 'typecheck' },
    { name: 'lint', script: 'lint' },
    { name: 'format', script: 'format:check' },
    { name: 'runtime', script: 'test:runtime', suite: 'runtime' },
    { name: 'unit', script: 'test:unit', suite: 'unit' },
  ],
  [{ name: 'cli', script: 'test:cli', suite: 'cli' }],
  [{ name: 'sandbox', script: 'test:sandbox', suite: 'sandbox' }],
  [{ name: 'package', script: 'package', gates: ['e2e'] }],
  [{ name: 'e2e', script: 'test:e2e', suite: 'e2e' }],
];

/** Runs `npm run <script>`; streams its stdout unless `hold`, in which case it comes back whole. */
function runNpm(script, hold) {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script], { stdio: ['ignore', 'pipe', hold ? 'pipe' : 'inherit'] });
    let held = '';
    let tail = '';
    const take = (d) => {
      if (hold) held += d.toString();
      else process.stdout.write(d);
      tail = (tail + d.toString()).slice(-4000);
    };
    child.stdout.on('data', take);
    if (hold) child.stderr.on('data', (d) => (held += d.toString()));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), tail, held }));
  });
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const skippedSteps = new Set();
const problems = [];

/** Adds a finished step's counts to the totals (its suite line, or one failure for a failed plain step). */
function account(step, code, tail) {
  if (step.suite) {
    const lines = [...tail.matchAll(new RegExp(`^${step.suite}: (\\d+) passed, (\\d+) failed, (\\d+) skipped$`, 'gm'))];
    const last = lines[lines.length - 1];
    if (!last) {
      totals.failed += 1;
      problems.push(`${step.name} printed no "${step.suite}: N passed, ..." line (exit ${code})`);
      return;
    }
    totals.passed += Number(last[1]);
    totals.failed += Number(last[2]);
    totals.skipped += Number(last[3]);
    if (code !== 0 && Number(last[2]) === 0) {
      totals.failed += 1;
      problems.push(`${step.name} exited ${code} with no failed test`);
    }
  } else if (code !== 0) {
    totals.failed += 1;
    problems.push(`${step.name} failed (exit ${code})`);
    for (const gated of step.gates ?? []) skippedSteps.add(gated);
    if (step.fatal) for (const s of groups.flat()) if (s !== step) skippedSteps.add(s.name);
  }
}

async function runStep(step, hold) {
  if (skippedSteps.has(step.name)) {
    process.stdout.write(`\n== ${step.name}: not run (an earlier step it needs failed)\n`);
    return;
  }
  if (!hold) process.stdout.write(`\n== ${step.name} (npm run ${step.script})\n`);
  const started = Date.now();
  const { code, tail, held } = await runNpm(step.script, hold);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (hold) process.stdout.write(`\n== ${step.name} (npm run ${step.script})\n${held}`);
  account(step, code, tail);
  process.stdout.write(`== ${step.name}: ${code === 0 ? 'ok' : `exit ${code}`} in ${seconds}s\n`);
}

const began = Date.now();
for (const group of groups) await Promise.all(group.map((step) => runStep(step, group.length > 1)));

if (problems.length) process.stdout.write(`\nProblems:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
process.stdout.write(`\nnpm test: ${((Date.now() - began) / 1000).toFixed(1)}s`);
process.stdout.write(`\ntotal: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(totals.failed > 0 || problems.length ? 1 : 0);
