// Fallback for JavaScript/TypeScript jobs when no Python worker can start: run Node directly as a
// detached process group, with limits through `prlimit` where it exists. Isolation here is best-effort
// (no namespaces, no uid change); the isolation report says so because its probes need the workers.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Limits, RunResult } from './types';

const MEMORY_PATTERNS = [/JavaScript heap out of memory/, /Array buffer allocation failed/, /Fatal process out of memory/, /Cannot allocate memory/];

export interface DirectNodeJob {
  node: string;
  nodeArgs: string[];
  source: string;
  stdin: string;
  env: Record<string, string>;
  limits: Limits & { asMb: number; reportBytes: number };
}

function prlimitPath(): string | undefined {
  for (const p of ['/usr/bin/prlimit', '/bin/prlimit']) if (existsSync(p)) return p;
  return undefined;
}

export function runNodeDirect(job: DirectNodeJob, signal?: AbortSignal): Promise<RunResult> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'crucible-job-'));
  const file = join(dir, 'main.js');
  writeFileSync(file, job.source);
  const lim = job.limits;
  const prlimit = process.platform === 'linux' ? prlimitPath() : undefined;
  const nodeArgv = [job.node, ...job.nodeArgs, file];
  const argv = prlimit
    ? [
        prlimit,
        `--as=${lim.asMb * 1024 * 1024}`,
        `--cpu=${Math.max(1, Math.ceil(lim.cpuMs / 1000))}`,
        `--fsize=${lim.fileSizeBytes}`,
        `--nofile=${Math.max(8, lim.openFiles)}`,
        '--core=0',
        '--',
        ...nodeArgv,
      ]
    : nodeArgv;
  const env = { ...job.env, HOME: dir, TMPDIR: dir, TMP: dir, TEMP: dir, PWD: dir };
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'], detached: true });
    const bufs = { stdout: [] as Buffer[], stderr: [] as Buffer[], report: [] as Buffer[] };
    const sizes = { stdout: 0, stderr: 0, report: 0 };
    const over = { stdout: false, stderr: false, report: false };
    let reason: 'timeout' | 'output_limit' | 'cancelled' | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let done = false;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const stop = (why: typeof reason) => {
      reason ??= why;
      killGroup();
    };
    const wall = setTimeout(() => stop('timeout'), lim.wallMs);
    const onAbort = () => stop('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    const collect = (name: 'stdout' | 'stderr' | 'report', cap: number) => (chunk: Buffer) => {
      const room = cap - sizes[name];
      if (chunk.length > room) {
        if (room > 0) bufs[name].push(chunk.subarray(0, room));
        sizes[name] = cap;
        if (!over[name]) {
          over[name] = true;
          stop('output_limit');
        }
      } else {
        bufs[name].push(chunk);
        sizes[name] += chunk.length;
      }
    };
    child.stdout!.on('data', collect('stdout', lim.outputBytes));
    child.stderr!.on('data', collect('stderr', lim.outputBytes));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', collect('report', lim.reportBytes));
    const stdin = child.stdin as Writable;
    stdin.on('error', () => undefined);
    stdin.end(job.stdin);
    const finish = (spawnError?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(wall);
      signal?.removeEventListener('abort', onAbort);
      killGroup();
      rmSync(dir, { recursive: true, force: true });
      const stderr = Buffer.concat(bufs.stderr).toString('utf8');
      const base: RunResult = {
        status: 'exited',
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stdout: Buffer.concat(bufs.stdout).toString('utf8'),
        stderr,
        stdoutTruncated: over.stdout,
        stderrTruncated: over.stderr,
        report: Buffer.concat(bufs.report).toString('utf8'),
        durationMs: Date.now() - started,
      };
      if (spawnError) resolve({ ...base, status: 'error', error: `cannot start ${argv[0]}: ${spawnError.message}` });
      else if (reason === 'output_limit' || over.report) resolve({ ...base, status: 'output_limit' });
      else if (reason === 'timeout' || base.signal === 'SIGXCPU') resolve({ ...base, status: 'timeout' });
      else if (reason === 'cancelled') resolve({ ...base, status: 'error', error: 'cancelled' });
      else if ((base.exitCode !== 0 || base.signal) && MEMORY_PATTERNS.some((p) => p.test(stderr.slice(-8192)))) resolve({ ...base, status: 'memory' });
      else resolve(base);
    };
    child.on('error', (e) => finish(e));
    child.on('exit', (code, sig) => {
      exit = { code, signal: sig };
      // Kill whatever the program left in its group, then give the pipes a moment to drain.
      killGroup();
      setTimeout(() => finish(), 200).unref();
    });
    child.on('close', () => finish());
  });
}
