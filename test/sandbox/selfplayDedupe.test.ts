// Self-play that does not fool itself (issue 15): duplicates by alpha-equivalence and by behaviour, and
// known-failing wrong answers. Scripted model over the Ollama-protocol test server, real sandbox and verifier.
import { strict as assert } from 'node:assert';
import { createModelClient } from '../../src/core/model/client';
import { createProcessSandbox } from '../../src/core/sandbox/processSandbox';
import type { Sandbox } from '../../src/core/sandbox/types';
import { createVerifier } from '../../src/core/verify/verifier';
import { selfPlay } from '../../src/core/selfplay/loop';
import { DEFAULT_ALLOWED_IMPORTS, normaliseMany } from '../../src/core/selfplay/probe';
import { puzzleFromSource } from '../../src/core/selfplay/puzzle';
import type { SelfPlayEvent } from '../../src/core/selfplay/types';
import { startOllamaServer, type OllamaTestServer } from '../fixtures/ollamaServer';
import { fenced, scriptedModel } from '../fixtures/selfplay/script';
import { testModelSettings } from '../fixtures/stack';

const SEED_SAT = `def sat(s: str, target="hello", reps=3):
    """Find a string that is target repeated reps times."""
    return s == target * reps`;
const SEED = puzzleFromSource(
  'Repeat_1:0',
  SEED_SAT,
  'def sol(target="hello", reps=3):\n    return target * reps',
  'strings.py',
);

// The seed with its answer variable and parameters renamed and its docstring dropped.
const RENAMED = `def sat(answer: str, word="hello", times=3):
    return answer == word * times`;
// The same again, with an answer variable that shadows a builtin, imports, and reformatted constants.
const SHADOWING = `import math

def sat(list: str, target='hello', reps=0x3):
    import string
    return list == target * reps`;
const FIRST = `def sat(x: int, base=4000):
    return x - base == 242`;
// Another AST, the same puzzle: it accepts exactly what FIRST accepts.
const TWIN = `def sat(n: int):
    return n == 4242`;
const NO_WRONG = `def sat(x: int, m=97):
    return x % m == 5 and x > 500`;
const BAD_WRONG = `def sat(li: List[int]):
    return len(li) == 4 and sum(li) == 10`;

function answer(code: string): string {
  return `A new puzzle:\n\n${fenced(code)}`;
}

describe('self-play: duplicates and known-failing answers (test server, real sandbox)', function () {
  this.timeout(60_000);
  let sandbox: Sandbox;
  let server: OllamaTestServer | undefined;
  before(() => {
    sandbox = createProcessSandbox({ workers: 2 });
  });
  after(async () => {
    await sandbox.dispose();
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('hashes alpha-equivalent puzzles alike: renamed, undocumented, shadowing builtins, imports moved', async () => {
    const [seed, renamed, shadowing, other] = await normaliseMany(sandbox, [
      SEED_SAT,
      RENAMED,
      SHADOWING,
      'def sat(s: str, target="hello", reps=4):\n    return s == target * reps',
    ]);
    assert.equal(renamed, seed);
    assert.equal(shadowing, seed);
    assert.notEqual(other, seed, 'another constant is another puzzle');
  });

  it('rejects a renamed-and-undocumented duplicate of a seed, a behaviour twin, and puzzles without a known-failing answer', async () => {
    const model = scriptedModel({
      puzzles: [
        answer(
          `${RENAMED}\n\ndef sol(word="hello", times=3):\n    return word * times\n\ndef wrong():\n    return "hellohello"`,
        ),
        answer(
          `${SHADOWING}\n\ndef sol(target='hello', reps=3):\n    return target * reps\n\ndef wrong():\n    return "hello"`,
        ),
        answer(`${FIRST}\n\ndef sol(base=4000):\n    return base + 242\n\ndef wrong():\n    return 4241`),
        answer(`${TWIN}\n\ndef sol():\n    return 4242\n\ndef wrong():\n    return 4243`),
        answer(`${NO_WRONG}\n\ndef sol(m=97):\n    return 5 + 6 * m`),
        answer(`${BAD_WRONG}\n\ndef sol():\n    return [1, 2, 3, 4]\n\ndef wrong():\n    return [4, 3, 2, 1]`),
      ],
      solvers: [
        {
          match: 'x - base == 242',
          answers: [fenced('def sol(base=4000):\n    return 4242'), fenced('def sol(base=4000):\n    return 4200')],
        },
        { match: 'n == 4242', answers: [fenced('def sol():\n    return 4242')] },
        { match: 'x % m == 5', answers: [fenced('def sol(m=97):\n    return 5 + 6 * m')] },
        { match: 'sum(li) == 10', answers: [fenced('def sol():\n    return [1, 2, 3, 4]')] },
      ],
    });
    server = await startOllamaServer({ respond: model.respond });
    const events: SelfPlayEvent[] = [];
    const report = await selfPlay(
      {
        model: createModelClient(testModelSettings(server.url, { maxParallel: 1 })),
        verifier: createVerifier(sandbox),
        sandbox,
      },
      {
        seeds: [SEED],
        count: 10,
        maxGenerations: 6,
        samples: 2,
        concurrency: 1,
        satTimeoutMs: 300,
        seed: 3,
        allowedImports: [...DEFAULT_ALLOWED_IMPORTS],
        onEvent: (e) => events.push(e),
      },
    );
    const rejected = events.filter((e): e is Extract<SelfPlayEvent, { kind: 'rejected' }> => e.kind === 'rejected');
    const why = rejected.map((e) => `${e.reason}: ${e.detail}`).join(' | ');
    assert.equal(report.accepted, 1, why);
    assert.equal(report.rejected.duplicate, 3, why);
    assert.equal(report.rejected.no_wrong_answer, 2, why);
    const dup = rejected.filter((e) => e.reason === 'duplicate').map((e) => e.detail);
    assert.equal(dup.filter((d) => /same normalised AST as seed Repeat_1:0/.test(d)).length, 2, dup.join(' | '));
    assert.ok(
      dup.some((d) => /same verdicts as accepted puzzle SelfPlay_\w+_2:0 on every probe answer/.test(d)),
      dup.join(' | '),
    );
    const noWrong = rejected.filter((e) => e.reason === 'no_wrong_answer').map((e) => e.detail);
    assert.ok(
      noWrong.some((d) => /the generator wrote no wrong\(\) and every solver was right/.test(d)),
      noWrong.join(' | '),
    );
    assert.ok(
      noWrong.some((d) => /sat accepts the wrong answer \[4, 3, 2, 1\]/.test(d)),
      noWrong.join(' | '),
    );
    const accepted = events.find((e): e is Extract<SelfPlayEvent, { kind: 'accepted' }> => e.kind === 'accepted')!;
    assert.match(accepted.puzzle.sat, /x - base == 242/);
    assert.deepEqual(
      accepted.puzzle.wrongAnswers,
      ['4241', '4200'],
      "the generator's wrong() and the failed solver's answer",
    );
    assert.equal(accepted.puzzle.solveRate, 0.5);
    assert.deepEqual(report.solveRates, { '0.5': 1 }, 'the distribution of accepted difficulties');
  });
});
