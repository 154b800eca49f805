// `crucible verify JOBS.jsonl`: verify many jobs (generic, HumanEval, P3) in the sandbox, one JSON line out per job.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { createProcessSandbox } from '../../core/sandbox/processSandbox';
import { createVerifier } from '../../core/verify/verifier';
import { parseJobLine, runJob, type ParsedLine } from '../../core/verify/jobs';
import type { Limits } from '../../core/sandbox/types';

interface VerifyOptions {
  concurrency?: string;
  timeoutMs?: string;
  memoryMb?: string;
}

interface OutLine {
  id: string | null;
  status: string;
  passed: boolean;
  durationMs: number;
  feedback: string;
  line?: number;
}

const EXIT_USAGE = 2;

function positiveInt(name: string, value: string | undefined): number | undefined | string {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) <= 0) return `${name} must be a positive whole number, got "${value}"`;
  return Number(value);
}

async function readInput(file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  return readFile(file, 'utf8');
}

function usage(message: string): void {
  process.stderr.write(`crucible verify: ${message}\n`);
  process.exitCode = EXIT_USAGE;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('Verify jobs from a JSONL file (or - for stdin) in the sandbox; prints one JSON verdict line per job, in input order.')
    .argument('<jobs>', 'JSONL file of jobs (generic, HumanEval or P3 lines), or - to read stdin')
    .option('--concurrency <n>', 'jobs run at once (default: one per core)')
    .option('--timeout-ms <n>', 'wall-clock limit per sandbox run, ms (default 10000)')
    .option('--memory-mb <n>', 'memory limit per sandbox run, MiB (default 512)')
    .action(async (file: string, opts: VerifyOptions) => {
      const concurrency = positiveInt('--concurrency', opts.concurrency);
      const timeoutMs = positiveInt('--timeout-ms', opts.timeoutMs);
      const memoryMb = positiveInt('--memory-mb', opts.memoryMb);
      for (const v of [concurrency, timeoutMs, memoryMb]) if (typeof v === 'string') return usage(v);
      let text: string;
      try {
        text = await readInput(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return usage(code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${(e as Error).message}`);
      }
      const limits: Partial<Limits> = {};
      if (typeof timeoutMs === 'number') { limits.wallMs = timeoutMs; limits.cpuMs = timeoutMs; }
      if (typeof memoryMb === 'number') limits.memoryMb = memoryMb;
      const workers = (concurrency as number | undefined) ?? Math.max(1, cpus().length);

      const parsed: { lineNo: number; p: ParsedLine }[] = [];
      text.split(/\r?\n/).forEach((line, i) => {
        if (line.trim()) parsed.push({ lineNo: i + 1, p: parseJobLine(line, i + 1) });
      });
      const started = Date.now();
      const sandbox = createProcessSandbox({ workers, limits });
      const verifier = createVerifier(sandbox, { limits });
      const results: (OutLine | undefined)[] = new Array(parsed.length);
      let next = 0;
      let flushed = 0;
      const flush = (): void => {
        while (flushed < results.length && results[flushed]) {
          process.stdout.write(JSON.stringify(results[flushed]) + '\n');
          flushed++;
        }
      };
      const counts: { [status: string]: number } = {};
      let malformed = 0;
      const worker = async (): Promise<void> => {
        for (;;) {
          const i = next++;
          if (i >= parsed.length) return;
          const { lineNo, p } = parsed[i];
          let out: OutLine;
          if (!p.ok) {
            malformed++;
            process.stderr.write(`crucible verify: ${p.error}\n`);
            out = { id: p.id ?? null, line: lineNo, status: 'error', passed: false, durationMs: 0, feedback: `Malformed job: ${p.error}` };
          } else {
            try {
              const v = await runJob(verifier, p.job);
              out = { id: p.job.id, status: v.status, passed: v.passed, durationMs: v.durationMs, feedback: v.feedback };
            } catch (e) {
              out = { id: p.job.id, status: 'error', passed: false, durationMs: 0, feedback: `Verify error: ${(e as Error).message}` };
            }
          }
          counts[out.status] = (counts[out.status] ?? 0) + 1;
          results[i] = out;
          flush();
        }
      };
      try {
        await Promise.all(Array.from({ length: Math.min(workers * 2, Math.max(1, parsed.length)) }, worker));
      } finally {
        await sandbox.dispose();
      }
      flush();
      const secs = (Date.now() - started) / 1000;
      const summary = Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ');
      process.stderr.write(`crucible verify: ${parsed.length} jobs (${summary || 'none'})${malformed ? `, ${malformed} malformed line(s)` : ''} in ${secs.toFixed(2)} s (${(parsed.length / Math.max(secs, 1e-3)).toFixed(1)} jobs/s)\n`);
    });
}
