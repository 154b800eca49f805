// Shared machinery for the sandbox suites: `crucible verify` runs (the built CLI, through test/fixtures/cli.ts),
// plain-interpreter runs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startCrucible } from '../fixtures/cli';

export { ensureCli } from '../fixtures/cli';
export { SHARED_DATA } from '../fixtures/data';
export const ROOT = REPO_ROOT;
/** `python3` on PATH, resolved once to the real interpreter (a pyenv shim costs ~100 ms per start). */
function resolvePython(): string {
  const r = spawnSync(process.env.CRUCIBLE_PLAIN_PYTHON || 'python3', ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
  });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : '';
}
export const PYTHON = resolvePython();
export const hasPython = PYTHON !== '';

export interface VerifyOut {
  id: string | null;
  status: string;
  passed: boolean;
  durationMs: number;
  feedback: string;
  line?: number;
}
export interface VerifyRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  results: VerifyOut[];
  stderr: string;
  stdout: string;
  ms: number;
  pid: number | undefined;
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `crucible-${tag}-`));
}

/** Runs `node dist/cli.js verify <file> --concurrency 2 [...extra]` on the given job objects. */
export async function runVerify(jobs: object[], extra: string[] = [], tag = 'verify'): Promise<VerifyRun> {
  const dir = tempDir(tag);
  const file = join(dir, 'jobs.jsonl');
  writeFileSync(file, jobs.map((j) => JSON.stringify(j)).join('\n') + '\n');
  try {
    const run = await startCrucible(['verify', file, '--concurrency', '2', ...extra], {
      cwd: dir,
      timeoutMs: 3_600_000,
    }).done;
    const results: VerifyOut[] = [];
    for (const line of run.stdout.split('\n')) {
      if (!line.trim()) continue;
      try {
        results.push(JSON.parse(line) as VerifyOut);
      } catch {
        results.push({
          id: null,
          status: 'unparsable-output',
          passed: false,
          durationMs: 0,
          feedback: line.slice(0, 500),
        });
      }
    }
    return { ...run, results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Results by job id; throws when the CLI's output does not name every job exactly once. */
export function byId(run: VerifyRun, ids: string[]): Map<string, VerifyOut> {
  const m = new Map<string, VerifyOut>();
  for (const r of run.results) if (r.id !== null) m.set(r.id, r);
  const missing = ids.filter((id) => !m.has(id));
  if (missing.length) {
    throw new Error(
      `crucible verify (exit ${run.code}${run.signal ? `, ${run.signal}` : ''}) printed no result for ${missing.length} of ${ids.length} jobs, e.g. ${missing.slice(0, 5).join(', ')}\nstderr tail:\n${run.stderr.slice(-3000)}`,
    );
  }
  return m;
}

export interface PlainJob {
  id: string;
  program: string;
  runner: 'python' | 'pytest';
}
export interface PlainResult {
  id: string;
  pass: boolean;
  exitCode: number | null;
  timedOut: boolean;
  stderr: string;
  stdout: string;
}

/** Runs one program with the plain interpreter in a fresh temp dir: pass = exit 0. */
export function runPlainOne(job: PlainJob, timeoutMs: number): Promise<PlainResult> {
  const dir = tempDir('plain');
  const name = job.runner === 'pytest' ? 'test_case.py' : 'case.py';
  writeFileSync(join(dir, name), job.program);
  const args = job.runner === 'pytest' ? ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', name] : [name];
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.stdout.on('data', (d) => {
      if (stdout.length < 200_000) stdout += d;
    });
    child.stderr.on('data', (d) => {
      if (stderr.length < 200_000) stderr += d;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      resolve({ id: job.id, pass: code === 0 && !timedOut, exitCode: code, timedOut, stderr, stdout });
    });
  });
}

/** Runs every program, `parallel` at a time. */
export async function runPlain(jobs: PlainJob[], timeoutMs: number, parallel = 2): Promise<Map<string, PlainResult>> {
  const out = new Map<string, PlainResult>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const j = jobs[next++];
      out.set(j.id, await runPlainOne(j, timeoutMs));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return out;
}

export function tail(s: string, n = 600): string {
  const t = s.trimEnd();
  return t.length > n ? `…${t.slice(-n)}` : t;
}
