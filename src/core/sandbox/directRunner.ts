// Fallback for JavaScript/TypeScript jobs when no Python worker can start: run Node directly as a
// detached process group, with limits through `prlimit` where it exists. Isolation here is best-effort
// (no namespaces, no uid change); the isolation report says so because its probes need the workers.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Limits, RunResult } from './types';

const MEMORY_PATTERNS = [
  /JavaScript heap out of memory/,
  /Array buffer allocation failed/,
  /Fatal process out of memory/,
  /Cannot allocate memory/,
];

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

/** The command line: Node under `prlimit` where there is one (Linux), else Node alone. */
function directArgv(job: DirectNodeJob, file: string): string[] {
  const lim = job.limits;
  const prlimit = process.platform === 'linux' ? prlimitPath() : undefined;
  const nodeArgv = [job.node, ...job.nodeArgs, file];
  if (!prlimit) return nodeArgv;
  return [
    prlimit,
    `--as=${lim.asMb * 1024 * 1024}`,
    `--cpu=${Math.max(1, Math.ceil(lim.cpuMs / 1000))}`,
    `--fsize=${lim.fileSizeBytes}`,
    `--nofile=${Math.max(8, lim.openFiles)}`,
    '--core=0',
    '--',
    ...nodeArgv,
  ];
}

type Channel = 'stdout' | 'stderr' | 'report';
type StopReason = 'timeout' | 'output_limit' | 'cancelled';

/** The job's three output channels, each kept up to its cap; `onOver` is called the first time one overflows. */
class Outputs {
  readonly bufs: { [c in Channel]: Buffer[] } = { stdout: [], stderr: [], report: [] };
  readonly over: { [c in Channel]: boolean } = { stdout: false, stderr: false, report: false };
  private readonly sizes: { [c in Channel]: number } = { stdout: 0, stderr: 0, report: 0 };

  constructor(private readonly onOver: () => void) {}

  collector(name: Channel, cap: number): (chunk: Buffer) => void {
    return (chunk) => {
      const room = cap - this.sizes[name];
      if (chunk.length > room) {
        if (room > 0) this.bufs[name].push(chunk.subarray(0, room));
        this.sizes[name] = cap;
        if (!this.over[name]) {
          this.over[name] = true;
          this.onOver();
        }
      } else {
        this.bufs[name].push(chunk);
        this.sizes[name] += chunk.length;
      }
    };
  }

  text(name: Channel): string {
    return Buffer.concat(this.bufs[name]).toString('utf8');
  }
}

/** The RunResult of a finished direct job, from why the host stopped it (if it did) and how it ended. */
function directResult(
  base: RunResult,
  reason: StopReason | undefined,
  reportOver: boolean,
  spawnError: string | undefined,
): RunResult {
  if (spawnError) return { ...base, status: 'error', error: spawnError };
  if (reason === 'output_limit' || reportOver) return { ...base, status: 'output_limit' };
  if (reason === 'timeout' || base.signal === 'SIGXCPU') return { ...base, status: 'timeout' };
  if (reason === 'cancelled') return { ...base, status: 'error', error: 'cancelled' };
  if ((base.exitCode !== 0 || base.signal) && MEMORY_PATTERNS.some((p) => p.test(base.stderr.slice(-8192))))
    return { ...base, status: 'memory' };
  return base;
}

export function runNodeDirect(job: DirectNodeJob, signal?: AbortSignal): Promise<RunResult> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'crucible-job-'));
  const file = join(dir, 'main.js');
  writeFileSync(file, job.source);
  const lim = job.limits;
  const argv = directArgv(job, file);
  const env = { ...job.env, HOME: dir, TMPDIR: dir, TMP: dir, TEMP: dir, PWD: dir };
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: dir,
      env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let reason: StopReason | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let done = false;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const stop = (why: StopReason) => {
      reason ??= why;
      killGroup();
    };
    const wall = setTimeout(() => stop('timeout'), lim.wallMs);
    const onAbort = () => stop('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    const outputs = new Outputs(() => stop('output_limit'));
    child.stdout!.on('data', outputs.collector('stdout', lim.outputBytes));
    child.stderr!.on('data', outputs.collector('stderr', lim.outputBytes));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', outputs.collector('report', lim.reportBytes));
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
      const base: RunResult = {
        status: 'exited',
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stdout: outputs.text('stdout'),
        stderr: outputs.text('stderr'),
        stdoutTruncated: outputs.over.stdout,
        stderrTruncated: outputs.over.stderr,
        report: outputs.text('report'),
        durationMs: Date.now() - started,
      };
      resolve(
        directResult(base, reason, outputs.over.report, spawnError && `cannot start ${argv[0]}: ${spawnError.message}`),
      );
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
