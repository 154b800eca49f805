#!/usr/bin/env node
// `npm test`: build, type-check, lint, format check, the sandbox runtimes' own tests, unit tests, the sandbox's
// differential and hostile suites, package the .vsix, end-to-end tests in code-server; then one closing line
// "total: N passed, N failed, N skipped" summing the suites' own closing lines ("unit: ..." and "e2e: ...").
// A build, type, lint, format or packaging error counts as one failure of its step.
import { spawn } from 'node:child_process';

const steps = [
  { name: 'build', script: 'build', fatal: true },
  { name: 'typecheck', script: 'typecheck' },
  { name: 'lint', script: 'lint' },
  { name: 'format', script: 'format:check' },
  { name: 'runtime', script: 'test:runtime', suite: 'runtime' },
  { name: 'unit', script: 'test:unit', suite: 'unit' },
  { name: 'sandbox', script: 'test:sandbox', suite: 'sandbox' },
  { name: 'package', script: 'package', gates: ['e2e'] },
  { name: 'e2e', script: 'test:e2e', suite: 'e2e' },
];

function runNpm(script) {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      tail = (tail + d.toString()).slice(-4000);
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), tail }));
  });
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const skippedSteps = new Set();
const problems = [];
for (const step of steps) {
  if (skippedSteps.has(step.name)) {
    process.stdout.write(`\n== ${step.name}: not run (an earlier step it needs failed)\n`);
    continue;
  }
  process.stdout.write(`\n== ${step.name} (npm run ${step.script})\n`);
  const started = Date.now();
  const { code, tail } = await runNpm(step.script);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (step.suite) {
    const lines = [...tail.matchAll(new RegExp(`^${step.suite}: (\\d+) passed, (\\d+) failed, (\\d+) skipped$`, 'gm'))];
    const last = lines[lines.length - 1];
    if (last) {
      totals.passed += Number(last[1]);
      totals.failed += Number(last[2]);
      totals.skipped += Number(last[3]);
      if (code !== 0 && Number(last[2]) === 0) {
        totals.failed += 1;
        problems.push(`${step.name} exited ${code} with no failed test`);
      }
    } else {
      totals.failed += 1;
      problems.push(`${step.name} printed no "${step.suite}: N passed, ..." line (exit ${code})`);
    }
  } else if (code !== 0) {
    totals.failed += 1;
    problems.push(`${step.name} failed (exit ${code})`);
    for (const gated of step.gates ?? []) skippedSteps.add(gated);
    if (step.fatal) {
      for (const s of steps) if (s !== step) skippedSteps.add(s.name);
    }
  }
  process.stdout.write(`== ${step.name}: ${code === 0 ? 'ok' : `exit ${code}`} in ${seconds}s\n`);
}

if (problems.length) process.stdout.write(`\nProblems:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
process.stdout.write(`\ntotal: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(totals.failed > 0 || problems.length ? 1 : 0);
