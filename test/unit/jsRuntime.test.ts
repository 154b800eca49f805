// The JavaScript judge/candidate pair (src/core/sandbox/runtime/js), driven by test/fixtures/jsPair.py.
// 1. A differential suite: every fixture program (honest and wrong variants) is judged by the pair and by plain
//    `node file.js` (candidate and tests concatenated); the verdicts must agree 100%.
// 2. Hostile candidates: each attack must end not-passed.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transform } from 'esbuild';

const ROOT = join(__dirname, '..', '..');
const PAIR = join(ROOT, 'test', 'fixtures', 'jsPair.py');
const CASES = join(ROOT, 'test', 'fixtures', 'jsRuntime');

export interface PairJob {
  spec: { mode: 'tests' | 'evaluate'; tests: string; context?: string; entryPoints?: string[]; calls?: string[] };
  candidate: string;
  timeout?: number;
}
export interface ReportLine { t: string; ok?: boolean; [k: string]: unknown }
export interface PairResult { report: ReportLine[]; judge: { code: number | null; stdout: string; stderr: string; timeout?: boolean }; candidate: { code: number | null; stdout: string; stderr: string } }

function run(cmd: string, args: string[], input: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = opts.timeoutMs ? setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs) : undefined;
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('error', reject);
    p.on('close', (code) => { if (timer) clearTimeout(timer); resolve({ code, stdout, stderr }); });
    p.stdin.end(input);
  });
}

/** Runs jobs through the dev launcher (two at a time). */
export async function runPair(jobs: PairJob[]): Promise<PairResult[]> {
  if (!jobs.length) return [];
  const r = await run('python3', [PAIR], JSON.stringify(jobs), { env: { ...process.env, JSPAIR_WORKERS: '2' } });
  if (r.code !== 0) throw new Error(`jsPair.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as PairResult[];
}

/** The verdict rule of docs/verdict.md. */
export function passed(r: PairResult): boolean {
  const rep = r.report;
  const tests = rep.filter((l) => l.t === 'test');
  return rep.some((l) => l.t === 'end') && !rep.some((l) => l.t === 'fatal') && tests.length > 0 && tests.every((l) => l.ok === true);
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await fn(items[k]);
    }
  }));
  return out;
}

// ───────── fixtures: test/fixtures/jsRuntime/*.cases.js and typescript.cases.txt (TypeScript, kept out of tsc)
// Each file holds cases: `//## name [flags]`, then sections `//# candidate`, `//# tests`, and any number of
// `//# wrong` (a variant of the candidate). Flags: `ts` (TypeScript: transpiled by esbuild for both runs), `tla` (the
// tests use top-level await: plain node runs them inside an async function), `module` (plain node loads the candidate
// as ./util.js and the tests as a separate file).

interface Case { file: string; name: string; flags: Set<string>; candidate: string; wrong: string[]; tests: string }

function loadCases(): Case[] {
  const out: Case[] = [];
  for (const f of readdirSync(CASES).filter((n) => /\.cases\.(js|txt)$/.test(n)).sort()) {
    const text = readFileSync(join(CASES, f), 'utf8');
    const parts = text.split(/^\/\/## /m).slice(1);
    for (const part of parts) {
      const nl = part.indexOf('\n');
      const [name, ...flags] = part.slice(0, nl).trim().split(/\s+/);
      const c: Case = { file: f, name: name!, flags: new Set(flags), candidate: '', wrong: [], tests: '' };
      if (f.startsWith('typescript.')) c.flags.add('ts');
      const sections = part.slice(nl + 1).split(/^\/\/# /m).slice(1);
      for (const s of sections) {
        const snl = s.indexOf('\n');
        const kind = s.slice(0, snl).trim();
        const body = s.slice(snl + 1);
        if (kind === 'candidate') c.candidate = body;
        else if (kind === 'tests') c.tests = body;
        else if (kind === 'wrong') c.wrong.push(body);
        else throw new Error(`${f}: ${name}: unknown section ${kind}`);
      }
      out.push(c);
    }
  }
  return out;
}

async function ts(src: string): Promise<string> {
  return (await transform(src, { loader: 'ts', format: 'cjs', target: 'node20' })).code;
}

interface Program { label: string; candidate: string; tests: string; flags: Set<string>; honest: boolean }

async function programs(): Promise<Program[]> {
  const out: Program[] = [];
  for (const c of loadCases()) {
    const variants = [{ code: c.candidate, honest: true }, ...c.wrong.map((w) => ({ code: w, honest: false }))];
    let k = 0;
    for (const v of variants) {
      const candidate = c.flags.has('ts') ? await ts(v.code) : v.code;
      const tests = c.flags.has('ts') ? await ts(c.tests) : c.tests;
      out.push({ label: `${c.file}:${c.name}${v.honest ? '' : `#wrong${++k}`}`, candidate, tests, flags: c.flags, honest: v.honest });
    }
  }
  return out;
}

async function plainNode(p: Program): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'plain-'));
  try {
    const tests = p.flags.has('tla') ? `(async () => {\n${p.tests}\n})();\n` : p.tests;
    if (p.flags.has('module')) {
      writeFileSync(join(dir, 'util.js'), p.candidate);
      writeFileSync(join(dir, 'main.js'), tests);
    } else {
      writeFileSync(join(dir, 'main.js'), `${p.candidate}\n${tests}`);
    }
    const r = await run(process.execPath, ['main.js'], '', { cwd: dir, timeoutMs: 30_000 });
    return r.code === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function describeReport(r: PairResult): string {
  return JSON.stringify(r.report).slice(0, 1500) + (r.judge?.stderr ? `\njudge stderr: ${r.judge.stderr.slice(0, 800)}` : '') + (r.candidate?.stderr ? `\ncandidate stderr: ${r.candidate.stderr.slice(0, 500)}` : '');
}

describe('JS runtime pair: differential against plain node', function () {
  this.timeout(900_000);
  it('agrees with `node file.js` on every fixture program (honest and wrong)', async () => {
    const progs = await programs();
    const only = process.env.JSRUNTIME_ONLY;
    const sel = only ? progs.filter((p) => p.label.includes(only)) : progs;
    const [plain, pair] = await Promise.all([
      mapLimit(sel, 1, plainNode),
      runPair(sel.map((p) => ({ spec: { mode: 'tests' as const, tests: p.tests, context: '', entryPoints: [] }, candidate: p.candidate, timeout: 30 }))),
    ]);
    const disagree: string[] = [];
    let honestPass = 0;
    let wrongFail = 0;
    for (let k = 0; k < sel.length; k++) {
      const a = plain[k];
      const b = passed(pair[k]!);
      if (sel[k]!.honest && a) honestPass++;
      if (!sel[k]!.honest && !a) wrongFail++;
      if (a !== b) disagree.push(`${sel[k]!.label}: node ${a ? 'passed' : 'failed'}, pair ${b ? 'passed' : 'failed'}\n  ${describeReport(pair[k]!)}`);
    }
    const summary = `${sel.length} programs (${sel.filter((p) => p.honest).length} honest, ${sel.filter((p) => !p.honest).length} wrong); node passes ${honestPass} honest, fails ${wrongFail} wrong; agreement ${sel.length - disagree.length}/${sel.length}`;
    console.log(`      ${summary}`);
    assert.equal(disagree.length, 0, `${summary}\n${disagree.join('\n')}`);
    if (!only) {
      assert.ok(sel.length >= 100, summary);
      // The fixtures are meaningful: honest programs pass and wrong ones fail under plain node.
      assert.equal(honestPass, sel.filter((p) => p.honest).length, 'an honest fixture fails under plain node');
      assert.equal(wrongFail, sel.filter((p) => !p.honest).length, 'a wrong fixture passes under plain node');
    }
  });
});

export { loadCases, programs };
