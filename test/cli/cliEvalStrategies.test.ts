// `crucible eval --strategies resample,refine,trace,sstar` on the HumanEval sample, spawned as a real
// process against the Ollama-protocol test server answering as the scripted model of
// test/fixtures/humanevalModel.ts (real sandbox; the benchmark's tests grade each answer).
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCrucible } from '../fixtures/cli';
import { startOllamaServer, type OllamaTestServer } from '../fixtures/ollamaServer';
import { HUMANEVAL_FILE, requireData } from '../fixtures/data';
import { humanEvalModel, humanEvalRows } from '../fixtures/humanevalModel';
import { parseStrategies } from '../../src/cli/commands/evalStrategies';
import { recommendedBudget, type StrategyReport } from '../../src/core/solve/strategies';

describe('crucible eval --strategies (spawned CLI, HumanEval sample, test server)', function () {
  this.timeout(240_000);
  let server: OllamaTestServer;
  let dir: string;

  before(async function () {
    requireData(this, HUMANEVAL_FILE);
    server = await startOllamaServer({ respond: humanEvalModel(humanEvalRows()).respond });
    dir = mkdtempSync(join(tmpdir(), 'crucible-eval-strategies-'));
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints the table and writes the JSON report; trace and S* gain where the script says they should', async () => {
    const report = join(dir, 'report.json');
    const r = await runCrucible(
      [
        'eval',
        HUMANEVAL_FILE,
        '--limit',
        '4',
        '--strategies',
        'resample,refine,trace,sstar',
        '--host',
        server.url,
        '--model',
        'qwen2.5-coder:7b',
        '--samples',
        '2',
        '--rounds',
        '1',
        '--report',
        report,
      ],
      { timeoutMs: 230_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^model qwen2\.5-coder:7b · 4 tasks · equal budget per task: 2 sample\(s\), 1 later round\(s\), 4000 completion tokens/,
    );
    assert.match(
      r.stdout,
      /strategy\s+pass@1\s+tokens\/solved\s+wall s\/solved\s+round 0\s+round 1\s+loop verified \(right\)/,
    );
    for (const s of ['resample', 'refine', 'trace', 'sstar'])
      assert.match(r.stdout, new RegExp(`^${s}\\s+\\d/4 `, 'm'));
    const json = JSON.parse(readFileSync(report, 'utf8')) as StrategyReport;
    const row = (name: string) => json.strategies.find((s) => s.strategy === name)!;
    const solved = (name: string, id: string) =>
      json.perTask.find((t) => t.strategy === name && t.taskId === id)!.solved;
    // easy and first-wrong: every strategy solves them.
    for (const s of ['resample', 'refine', 'trace', 'sstar']) {
      assert.equal(solved(s, 'HumanEval/0'), true, s);
      assert.equal(solved(s, 'HumanEval/1'), true, s);
    }
    // needs-run: only a refine prompt with a runtime trace gets the fix.
    assert.equal(solved('refine', 'HumanEval/2'), false);
    assert.equal(solved('trace', 'HumanEval/2'), true);
    assert.deepEqual(row('trace').rounds[0], {
      round: 1,
      attempted: row('trace').rounds[0]!.attempted,
      passed: row('trace').rounds[0]!.attempted,
    });
    assert.equal(row('refine').rounds[0]!.passed, 0, 'without the trace the refine round fixes nothing');
    // look-alike: S* asks for distinguishing inputs and takes the right one over the impostor.
    assert.equal(solved('sstar', 'HumanEval/3'), true);
    assert.equal(row('sstar').loopVerified, row('sstar').loopVerifiedCorrect, 'S* never verified a wrong answer');
    assert.ok(row('trace').tokensPerSolved! > 0);
    assert.ok(recommendedBudget(json));
  });
});

describe('crucible eval --strategies: the flag', () => {
  it('names the strategies it knows when given another', () => {
    assert.deepEqual(parseStrategies('refine, sstar,refine'), ['refine', 'sstar']);
    assert.throws(
      () => parseStrategies('refine,beam'),
      /--strategies takes a comma-separated list of resample, refine, trace, sstar/,
    );
  });
});
