// Self-play puzzles: the validity filters run in the real sandbox (parse, typed answer, imports, time,
// determinism, triviality, normalised-AST near-duplicates), plus the shipped seed set checked by the real verifier.
// (Seed files and code extraction from model answers: test/unit/selfplayPuzzle.test.ts.)
import { strict as assert } from 'node:assert';
import { createProcessSandbox } from '../../src/core/sandbox/processSandbox';
import type { Sandbox } from '../../src/core/sandbox/types';
import { createVerifier } from '../../src/core/verify/verifier';
import { DEFAULT_ALLOWED_IMPORTS, auditSolutions, inspectPuzzle, normaliseMany } from '../../src/core/selfplay/probe';
import { solutionSource } from '../../src/core/selfplay/puzzle';
import { shippedSeeds } from '../../src/core/selfplay/seeds';

const limits = { satTimeoutMs: 300, solTimeoutMs: 3000, allowedImports: DEFAULT_ALLOWED_IMPORTS };

describe('self-play puzzles: validity filters in the sandbox', function () {
  this.timeout(60_000);
  let sandbox: Sandbox;
  before(() => {
    sandbox = createProcessSandbox({ workers: 2 });
  });
  after(async () => {
    await sandbox.dispose();
  });

  const reasonOf = async (code: string): Promise<string | undefined> => {
    const r = await inspectPuzzle(sandbox, code, limits, 5);
    return r.ok ? undefined : r.reason;
  };

  it('accepts a sound puzzle and reports its answer type, solver header and source', async () => {
    const r = await inspectPuzzle(
      sandbox,
      'from typing import List\nimport math\n\ndef sat(li: List[int], n=4):\n    """Squares."""\n    return len(li) == n and all(math.isqrt(v) ** 2 == v and v > 0 for v in li) and len(set(li)) == n\n\ndef sol(n=4):\n    return [(i + 1) ** 2 for i in range(n)]',
      limits,
      1,
    );
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.ansType, 'List[int]');
    assert.equal(r.solHeader, 'def sol(n=4):');
    assert.match(r.sat!, /import math/, 'module-level imports move into sat');
    assert.match(r.sol!, /^def sol\(n=4\):/);
    assert.ok(r.probes! >= 15);
  });

  it('rejects each kind of bad puzzle under its own reason', async () => {
    assert.equal(await reasonOf('def sat(x: int:\n    return x == 3'), 'syntax');
    assert.equal(await reasonOf('def sol():\n    return 3'), 'syntax');
    assert.equal(await reasonOf('def sat(x: int, n):\n    return x == n'), 'syntax');
    assert.equal(await reasonOf('def sat(x):\n    return x == 3'), 'untyped');
    assert.equal(await reasonOf('def sat(x: dict):\n    return x == {}'), 'untyped');
    assert.equal(await reasonOf('def sat(x: str):\n    import subprocess\n    return x == "a"'), 'unsafe');
    assert.equal(await reasonOf('def sat(x: str):\n    return open(x).read() == "a"'), 'unsafe');
    assert.equal(await reasonOf('def sat(x: str):\n    return x.__class__ is str and x == "zz"'), 'unsafe');
    assert.equal(await reasonOf('def sat(x: int):\n    while True:\n        pass'), 'slow');
    assert.equal(
      await reasonOf('def sat(x: int):\n    import random\n    return random.random() < 0.5'),
      'nondeterministic',
    );
    assert.equal(await reasonOf('def sat(x: int):\n    return True'), 'trivial');
    assert.equal(await reasonOf('def sat(s: str):\n    return s == ""'), 'trivial');
    assert.equal(await reasonOf('def sat(li: List[int]):\n    return all(v > 5 for v in li)'), 'trivial');
    assert.equal(await reasonOf('def sat(x: int):\n    return x is not None or x is None'), 'trivial');
    assert.equal(await reasonOf('def sat(x: int, k=12345):\n    return x == k'), undefined);
  });

  it('gives near-duplicates the same normalised hash: renamed variables, docstrings and comments do not count', async () => {
    const a = 'def sat(s: str, n=5):\n    return s == "ab" * n';
    const b = 'def sat(text: str, count=5):\n    """Doc."""\n    # comment\n    return text == "ab" * count';
    const c = 'def sat(s: str, n=6):\n    return s == "ab" * n';
    const d = 'def sat(s: str, n=5):\n    return s == "ab" * n + "c"';
    const [ha, hb, hc, hd, broken] = await normaliseMany(sandbox, [a, b, c, d, 'def sat(:']);
    assert.equal(ha, hb);
    assert.notEqual(ha, hc, 'other constants make another puzzle');
    assert.notEqual(ha, hd);
    assert.equal(broken, null);
    const inspected = await inspectPuzzle(sandbox, b, limits, 1);
    assert.equal(inspected.hash, ha, 'inspect and normalise agree');
  });

  it('audits judged answers in the judge process: the type before sat, and sat repeated on the answer', async () => {
    const verifier = createVerifier(sandbox);
    const puzzle = (sat: string) => ({ name: 'p', sat, ansType: 'int', solHeader: 'def sol():', solBodies: [] });
    const sat = 'def sat(x: int):\n    return x == 7';
    const entries = await auditSolutions(
      verifier,
      puzzle(sat),
      ['def sol():\n    return 7', 'def sol(m=3):\n    return 7'],
      [0],
      limits,
    );
    assert.equal(entries[0]!.satResults, 'TTTTT');
    const wrongType = await verifier.judgePuzzle(puzzle(sat), 'def sol():\n    return 7.0');
    assert.equal(wrongType.passed, false);
    assert.match(wrongType.feedback, /is not a int/);
    const stateful = 'def sat(x: int, calls=[]):\n    calls.append(1)\n    return x == 7 and len(calls) % 2 == 1';
    const [flip] = await auditSolutions(verifier, puzzle(stateful), ['def sol():\n    return 7'], [0], limits);
    assert.equal(flip!.satResults, 'TFTFT');
    const slowOnAnswer = 'def sat(x: int):\n    return x == 7 and sum(range(30_000_000)) > 0';
    const [slow] = await auditSolutions(verifier, puzzle(slowOnAnswer), ['def sol():\n    return 7'], [0], {
      ...limits,
      satTimeoutMs: 50,
    });
    assert.equal(slow!.satResults, 'S', 'stops at the first call over the limit');
  });

  it('every shipped seed passes the filters and its reference solution verifies', async () => {
    const seeds = shippedSeeds();
    assert.ok(seeds.length >= 12);
    assert.ok(new Set(seeds.map((s) => s.module)).size >= 4, 'the seed set covers several topics');
    const verifier = createVerifier(sandbox);
    const hashes = await normaliseMany(
      sandbox,
      seeds.map((s) => s.sat),
    );
    assert.equal(new Set(hashes).size, seeds.length, 'no two seeds are near-duplicates');
    for (const seed of seeds) {
      const r = await inspectPuzzle(sandbox, `${seed.sat}\n\n${solutionSource(seed)}`, limits, 2);
      assert.equal(r.ok, true, `${seed.name}: ${r.reason} ${r.detail}`);
      assert.equal(r.ansType, seed.ansType);
      const verdict = await verifier.judgePuzzle(seed, solutionSource(seed)!);
      assert.equal(verdict.passed, true, `${seed.name}: ${verdict.feedback}`);
    }
  });
});
