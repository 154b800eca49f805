// Benchmark: `crucible verify` (the built CLI, warm sandbox workers, a judge and a candidate process per job)
// on the 164 HumanEval canonical solutions against (1) the official openai/human-eval harness's execution model
// (bench/officialHarness.py: a multiprocessing Manager and Process per job on a thread pool) and (2) the floor of
// any fork-per-job design (bench/forkFloor.py: a warm parent forks one child per job that exits at once); and on
// the P3 train puzzles' reference solutions against a fresh interpreter per job.
// Run: node esbuild.mjs && node bench/verify.mjs [--concurrency N] [--limit N] [--cli PATH]
// Every side uses the same concurrency (default 2).
// Each side runs twice in A-B-B-A order and the mean time counts (the machine is shared and its load drifts).
// Prints jobs/s both ways and the ratio, names every reference solution that does not pass and why, and writes
// JSON to bench/results/.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, dirname } from 'node:path';
import { tmpdir, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const data = join(root, '..', 'shared', 'data');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const concurrency = opt('--concurrency', 2);
const limit = opt('--limit', Infinity);

// --cli PATH measures another build of the CLI (e.g. a copy of an older dist/cli.js) against the same baseline.
const cliArg = argv.indexOf('--cli');
const cli = cliArg >= 0 ? argv[cliArg + 1] : join(root, 'dist', 'cli.js');
if (!existsSync(cli)) {
  console.error(`${cli} is missing: run \`node esbuild.mjs\` first`);
  process.exit(2);
}

// --- jobs ---
const humaneval = gunzipSync(readFileSync(join(data, 'humaneval', 'HumanEval.jsonl.gz')))
  .toString('utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const p3 = JSON.parse(readFileSync(join(data, 'p3', 'train.json'), 'utf8'));
const p3WithSol = p3.filter((p) => p.sol_bodies.length > 0);
const heJobs = humaneval
  .map((r) => ({
    task_id: r.task_id,
    prompt: r.prompt,
    completion: r.canonical_solution,
    test: r.test,
    entry_point: r.entry_point,
  }))
  .slice(0, limit);
const p3Jobs = p3WithSol
  .map((p) => ({
    name: p.name,
    sat: p.sat,
    ans_type: p.ans_type,
    sol_header: p.sol_header,
    sol_docstring: p.sol_docstring,
    sol_bodies: p.sol_bodies,
  }))
  .slice(0, limit);
const work = mkdtempSync(join(tmpdir(), 'crucible-bench-'));

// CPU seconds (user + system) of finished, reaped child processes and all their reaped descendants (the CLI's
// Python workers and their job processes included). Linux only (null elsewhere). The machine is shared, so wall time
// drifts with other people's load; CPU time per job is the steadier measure of what each side costs.
const CLK_TCK = 100;
function childStat() {
  try {
    const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return { cpu: (Number(f[13]) + Number(f[14])) / CLK_TCK, faults: Number(f[8]) };
  } catch {
    return null;
  }
}
function withCpu(run) {
  return async (...args) => {
    const c0 = childStat();
    const r = await run(...args);
    const c1 = childStat();
    return {
      ...r,
      cpu: c0 === null || c1 === null ? null : c1.cpu - c0.cpu,
      faults: c0 === null || c1 === null ? null : c1.faults - c0.faults,
    };
  };
}

// --- the official harness's execution model, and the fork-per-job floor (both report their own CPU and faults) ---
function runPython(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        reject(new Error(`${args[0]} exited ${code}: ${err.slice(-1000)}`));
      }
    });
  });
}

// --- crucible verify ---
function runCli(jobsFile) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, 'verify', jobsFile, '--concurrency', String(concurrency)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err, seconds: (performance.now() - t0) / 1000 }));
  });
}

// --- baseline: one fresh interpreter per job, the plain concatenated program, verdict = exit code ---
const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim();
function plainProgram(j) {
  if (j.task_id) return `${j.prompt}${j.completion}\n\n${j.test}\n\ncheck(${j.entry_point})\n`;
  return `from typing import List\n\n${j.sat}\n\n${j.sol_header}\n${j.sol_bodies[0]}\n\nassert sat(sol()) is True\n`;
}
function runBaseline(jobs, tag) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const files = jobs.map((j, i) => {
      const f = join(work, `${tag}${i}.py`);
      writeFileSync(f, plainProgram(j));
      return f;
    });
    const passed = new Array(jobs.length).fill(false);
    let next = 0;
    let running = 0;
    const startOne = () => {
      if (next >= jobs.length) {
        if (running === 0) resolve({ passed, seconds: (performance.now() - t0) / 1000 });
        return;
      }
      const i = next++;
      running++;
      const child = spawn(python, ['-I', files[i]], { cwd: work, stdio: ['ignore', 'ignore', 'ignore'] });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        passed[i] = code === 0;
        running--;
        startOne();
      });
    };
    for (let k = 0; k < concurrency; k++) startOne();
  });
}

// HumanEval: crucible verify against the official harness's model and the fork floor, in A-B-C-C-B-A order.
{
  const jobsFile = join(work, 'he-official.jsonl');
  writeFileSync(jobsFile, heJobs.map((j) => JSON.stringify(j)).join('\n') + '\n');
  const runs = { crucible: [], official: [], floor: [] };
  const once = {
    crucible: async () => {
      const r = await withCpu(runCli)(jobsFile);
      const lines = r.out
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      return {
        seconds: r.seconds,
        cpuSeconds: r.cpu,
        minorFaults: r.faults,
        passed: lines.filter((l) => l.passed).length,
      };
    },
    official: () => runPython([join(root, 'bench', 'officialHarness.py'), jobsFile, String(concurrency)]),
    floor: () => runPython([join(root, 'bench', 'forkFloor.py'), String(heJobs.length), String(concurrency)]),
  };
  for (const side of ['crucible', 'official', 'floor', 'floor', 'official', 'crucible'])
    runs[side].push(await once[side]());
  const mean = (xs, k) => xs.reduce((a, x) => a + (x[k] ?? 0), 0) / xs.length;
  const row = (side) => {
    const xs = runs[side];
    const seconds = mean(xs, 'seconds');
    return {
      jobsPerSecond: heJobs.length / seconds,
      cpuMsPerJob: (mean(xs, 'cpuSeconds') * 1000) / heJobs.length,
      faultsPerJob: mean(xs, 'minorFaults') / heJobs.length,
      passed: xs[0].passed,
    };
  };
  const table = { crucible: row('crucible'), official: row('official'), floor: row('floor') };
  console.log(`HumanEval (${heJobs.length} canonical solutions, concurrency ${concurrency}, mean of 2 runs each):`);
  console.log('  | side | jobs/s | CPU ms per job | minor faults per job | passed |');
  console.log('  |---|---|---|---|---|');
  for (const [name, label] of [
    ['official', 'official human-eval harness model'],
    ['floor', 'bare fork per job (floor)'],
    ['crucible', 'crucible verify (judge + candidate)'],
  ]) {
    const r = table[name];
    console.log(
      `  | ${label} | ${r.jobsPerSecond.toFixed(1)} | ${r.cpuMsPerJob.toFixed(1)} | ${Math.round(r.faultsPerJob)} | ${r.passed ?? '-'} |`,
    );
  }
  console.log(
    `  crucible vs official: ${(table.crucible.jobsPerSecond / table.official.jobsPerSecond).toFixed(2)}x jobs/s; crucible CPU per job is ${(table.crucible.cpuMsPerJob / table.floor.cpuMsPerJob).toFixed(1)}x the fork floor's`,
  );
  globalThis.heTable = table;
}

console.log(
  `jobs: ${heJobs.length} HumanEval canonical + ${p3Jobs.length} P3 reference (${p3.length - p3WithSol.length} P3 puzzles have no reference solution and are skipped); concurrency ${concurrency}; ${cpus().length} cores; load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const sets = [];
for (const [name, jobs] of [
  ['humaneval', heJobs],
  ['p3', p3Jobs],
]) {
  if (!jobs.length) continue;
  const jobsFile = join(work, `${name}.jsonl`);
  writeFileSync(jobsFile, jobs.map((j) => JSON.stringify(j)).join('\n') + '\n');
  // A-B-B-A order: the machine is shared, so load drifts; each side gets one early and one late run.
  const ours1 = await withCpu(runCli)(jobsFile);
  const base1 = await withCpu(runBaseline)(jobs, name);
  const base2 = await withCpu(runBaseline)(jobs, name);
  const ours2 = await withCpu(runCli)(jobsFile);
  const cpuMean = (a, b) => (a.cpu === null || b.cpu === null ? null : (a.cpu + b.cpu) / 2);
  const oursCpu = cpuMean(ours1, ours2);
  const baseCpu = cpuMean(base1, base2);
  for (const o of [ours1, ours2])
    if (o.code !== 0) console.log(`crucible verify exited ${o.code}: ${o.err.slice(-2000)}`);
  const ours = { ...ours1, seconds: (ours1.seconds + ours2.seconds) / 2 };
  const base = {
    passed: base1.passed.map((p, i) => p && base2.passed[i]),
    seconds: (base1.seconds + base2.seconds) / 2,
  };
  const lines = ours1.out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const lines2 = ours2.out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const flaky = lines.filter((l, i) => lines2[i] && lines2[i].status !== l.status).map((l) => l.id);
  if (flaky.length) console.log(`  verdicts that differed between the two runs: ${flaky.join(', ')}`);
  const failures = lines
    .filter((l) => !l.passed)
    .map((l) => ({ id: l.id, status: l.status, why: l.feedback.split('\n').slice(0, 4).join(' | ').slice(0, 400) }));
  const baseFailed = jobs.map((j, i) => (!base.passed[i] ? (j.task_id ?? j.name) : null)).filter(Boolean);
  const set = {
    name,
    jobs: jobs.length,
    crucible: {
      seconds: ours.seconds,
      jobsPerSecond: jobs.length / ours.seconds,
      cpuSeconds: oursCpu,
      cpuMsPerJob: oursCpu === null ? null : (oursCpu * 1000) / jobs.length,
      passed: lines.filter((l) => l.passed).length,
      summary: ours.err.trim().split('\n').pop(),
    },
    baseline: {
      seconds: base.seconds,
      jobsPerSecond: jobs.length / base.seconds,
      cpuSeconds: baseCpu,
      cpuMsPerJob: baseCpu === null ? null : (baseCpu * 1000) / jobs.length,
      passed: jobs.length - baseFailed.length,
    },
    cpuRatio: oursCpu && baseCpu ? baseCpu / oursCpu : null,
    ratio: base.seconds / ours.seconds,
    runs: { crucible: [ours1.seconds, ours2.seconds], baseline: [base1.seconds, base2.seconds] },
    failures,
    baselineFailures: baseFailed,
    flaky,
  };
  sets.push(set);
  console.log(
    `${name}: crucible verify ${set.crucible.jobsPerSecond.toFixed(1)} jobs/s (${ours.seconds.toFixed(2)} s, ${set.crucible.passed}/${jobs.length} passed) | baseline ${set.baseline.jobsPerSecond.toFixed(1)} jobs/s (${base.seconds.toFixed(2)} s, ${set.baseline.passed}/${jobs.length} exited 0) | ratio ${set.ratio.toFixed(2)}x`,
  );
  if (set.cpuRatio !== null)
    console.log(
      `  CPU per job: crucible verify ${set.crucible.cpuMsPerJob.toFixed(1)} ms, baseline ${set.baseline.cpuMsPerJob.toFixed(1)} ms (CPU ratio ${set.cpuRatio.toFixed(2)}x; crucible's includes starting the CLI and its workers)`,
    );
  if (failures.length) {
    console.log(`  reference solutions that did not pass (${failures.length}):`);
    for (const f of failures) console.log(`    ${f.id}: ${f.status}: ${f.why}`);
  } else console.log('  every reference solution passed');
  if (baseFailed.length) console.log(`  baseline non-zero exits: ${baseFailed.join(', ')}`);
}
rmSync(work, { recursive: true, force: true });
const totalJobs = sets.reduce((s, x) => s + x.jobs, 0);
const oursSec = sets.reduce((s, x) => s + x.crucible.seconds, 0);
const baseSec = sets.reduce((s, x) => s + x.baseline.seconds, 0);
console.log(
  `all: crucible verify ${(totalJobs / oursSec).toFixed(1)} jobs/s, baseline (fresh ${python} -I per job) ${(totalJobs / baseSec).toFixed(1)} jobs/s, ratio ${(baseSec / oursSec).toFixed(2)}x`,
);

mkdirSync(join(root, 'bench', 'results'), { recursive: true });
const outFile = join(root, 'bench', 'results', `verify-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  outFile,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      cores: cpus().length,
      loadavg: loadavg(),
      concurrency,
      python,
      all: {
        jobs: totalJobs,
        crucibleJobsPerSecond: totalJobs / oursSec,
        baselineJobsPerSecond: totalJobs / baseSec,
        ratio: baseSec / oursSec,
      },
      humanevalVsOfficial: globalThis.heTable,
      sets,
    },
    null,
    2,
  ),
);
console.log(`wrote ${outFile}`);
