// The pure parts behind issue 15: program sameness, the distinct-program cross-check, the task's examples,
// S* answer parsing, value rendering, trace formatting, the evidence text and the strategy table.
import { strict as assert } from 'node:assert';
import {
  contradictsExamples,
  crossCheckPrograms,
  examplesOf,
  judgedChoice,
  programIds,
  programKey,
  valueSource,
} from '../../src/core/solve/generatedTests';
import { failingCall, formatTrace, type RuntimeTrace } from '../../src/core/solve/trace';
import { evidenceText } from '../../src/core/solve/evidence';
import {
  formatStrategyTable,
  recommendedBudget,
  strategyOptions,
  type StrategyReport,
  type StrategyRow,
} from '../../src/core/solve/strategies';

describe('issue 15 parts: sameness, examples, S* parsing, traces, evidence, strategy table', () => {
  it('programKey: names, comments, docstrings, quotes and number formatting do not make another program', () => {
    const a =
      'def slug(text):\n    """Doc."""\n    # lower it\n    out = text.lower()\n    return out.replace(" ", "-")';
    const b = "def slug(s):\n    o = s.lower()  # same\n    return o.replace(' ', '-')";
    assert.equal(programKey(a, 'python'), programKey(b, 'python'));
    assert.notEqual(
      programKey(a, 'python'),
      programKey(a.replace('"-"', '"_"'), 'python'),
      'another constant is another program',
    );
    assert.notEqual(
      programKey('def f(x):\n    return min(x)', 'python'),
      programKey('def f(x):\n    return max(x)', 'python'),
      'free names (builtins) are kept',
    );
    assert.equal(
      programKey('def f(n):\n    return n + 0x10', 'python'),
      programKey('def f(n):\n    return n + 16', 'python'),
    );
    const js1 = 'function larger(a, b) {\n  // pick\n  return a > b ? a : b;\n}';
    const js2 = 'function larger(x, y) { return x > y ? x : y }';
    assert.equal(programKey(js1, 'javascript'), programKey(js2, 'javascript'));
    assert.deepEqual(programIds([a, b, 'def slug(t):\n    return t'], 'python'), [0, 0, 1]);
  });

  it('crossCheckPrograms: copies of one program never outvote a test; distinct agreeing programs do', () => {
    // Two copies fail test 2 the same way: one program, no consensus, nothing dropped.
    const copies = crossCheckPrograms(
      [
        [true, true, false],
        [true, true, false],
      ],
      3,
      [0, 0],
    );
    assert.deepEqual(copies.dropped, []);
    assert.deepEqual(copies.groupSize, [1, 1]);
    // Two different programs agree: test 2 is dropped, and the score counts programs.
    const distinct = crossCheckPrograms(
      [
        [true, true, false],
        [true, true, false],
      ],
      3,
      [0, 1],
    );
    assert.deepEqual(distinct.dropped, [2]);
    assert.deepEqual(distinct.scores, [4, 4]);
    // The same pass pattern but other outputs on the probe inputs: not in agreement.
    const probes = crossCheckPrograms(
      [
        [true, false],
        [true, false],
      ],
      2,
      [0, 1],
      ['[1]', '[2]'],
    );
    assert.deepEqual(probes.dropped, []);
  });

  it('examplesOf / contradictsExamples: a generated test must agree with the docstring', () => {
    const prompt =
      'def double(n):\n    """Twice n.\n    >>> double(3)\n    6\n    double(4) == 8\n    double(0) ➞ 0\n    """';
    const ex = examplesOf(prompt, 'double');
    assert.deepEqual(ex, [
      { call: 'double(3)', expected: '6' },
      { call: 'double(4)', expected: '8' },
      { call: 'double(0)', expected: '0' },
    ]);
    assert.deepEqual(contradictsExamples('assert double(3) == 7', ex, 'double', 'python'), {
      call: 'double(3)',
      expected: '6',
    });
    assert.equal(contradictsExamples('assert double(3) == 6', ex, 'double', 'python'), undefined);
    assert.equal(
      contradictsExamples('assert double( 4 ) == 8.0', ex, 'double', 'python'),
      undefined,
      'same number, other spelling',
    );
    assert.equal(
      contradictsExamples('assert double(5) == 11', ex, 'double', 'python'),
      undefined,
      'no example for that input',
    );
    assert.ok(contradictsExamples('assert.deepStrictEqual(double(3), 7);', ex, 'double', 'javascript'));
  });

  it('judgedChoice reads the last "Answer:" line; valueSource renders canonical values as source', () => {
    assert.equal(judgedChoice('A would be right if... but no.\nAnswer: B'), 'B');
    assert.equal(judgedChoice('<think>Answer: A</think>\nThe correct answer is **B**'), 'B');
    assert.equal(judgedChoice('I cannot tell.'), undefined);
    assert.equal(
      valueSource(
        JSON.stringify([
          'list',
          [
            ['int', 'a'],
            ['int', '-3'],
          ],
        ]),
        'python',
      ),
      '[10, -3]',
    );
    assert.equal(valueSource(JSON.stringify(['str', 'hi "x"']), 'python'), '"hi \\"x\\""');
    assert.equal(valueSource(JSON.stringify(['bool', true]), 'javascript'), 'true');
    assert.equal(valueSource(JSON.stringify(['tuple', [['none']]]), 'python'), '(None,)');
    assert.equal(valueSource(null, 'python'), undefined);
  });

  it('failingCall and formatTrace: the failing input, the values per line, capped with the middle elided', () => {
    assert.equal(failingCall({ test: 'assert candidate([1, 2]) == 3' }, 'total'), 'total([1, 2])');
    assert.equal(failingCall({ test: 'assert total([1]) == 1' }, 'total'), 'total([1])');
    const program = 'def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s';
    const steps = Array.from({ length: 40 }, (_, i) => ({
      event: 'line' as const,
      fn: 'total',
      line: 4,
      locals: { xs: '[...]', s: String(i), x: String(i) },
    }));
    const trace: RuntimeTrace = {
      call: 'total(range(40))',
      events: [
        { event: 'line', fn: 'total', line: 2, locals: { xs: '[...]' } },
        ...steps,
        { event: 'return', fn: 'total', line: 5, locals: { xs: '[...]', s: '780', x: '39' }, extra: '780' },
      ],
      dropped: 0,
      value: '780',
    };
    const full = formatTrace(trace, program, 100_000);
    assert.match(full, /^Trace of total\(range\(40\)\)/);
    assert.match(full, /L2 s = 0 {4}# xs=\[\.\.\.\]/);
    assert.match(full, /L4 s \+= x {4}# s=1, x=1/);
    assert.match(full, /total returns 780/);
    assert.match(full, /Result: 780$/);
    const short = formatTrace(trace, program, 600);
    assert.ok(short.length <= 600, `${short.length} chars`);
    assert.match(short, /… \d+ step\(s\) left out …/);
    assert.match(short, /L2 s = 0/, 'the first steps stay');
    assert.match(short, /total returns 780/, 'the last steps stay');
  });

  it('evidenceText says what a generated-tests result rests on', () => {
    assert.equal(evidenceText({}), undefined);
    const e = {
      distinctPrograms: 3,
      agreeingPrograms: 2,
      testsKept: 5,
      testsDropped: 1,
      testsTotal: 7,
      testsContradictingExamples: 1,
    };
    assert.equal(
      evidenceText({ evidence: e }),
      "generated tests: 2 distinct programs agree, 5 of 7 tests kept (1 dropped by cross-check, 1 contradicting the task's examples)",
    );
    assert.equal(
      evidenceText({
        evidence: {
          ...e,
          distinctPrograms: 1,
          agreeingPrograms: 1,
          testsDropped: 0,
          testsContradictingExamples: 0,
          testsTotal: 5,
        },
        unconfirmed: true,
      }),
      'generated tests: unconfirmed, every candidate was the same program; 5 of 5 tests kept',
    );
  });

  it('the strategy table and the recommended budget', () => {
    assert.deepEqual(strategyOptions('trace'), { refineMode: 'feedback', traces: true, distinguish: false });
    assert.deepEqual(strategyOptions('sstar'), { refineMode: 'resample', traces: false, distinguish: true });
    const row = (strategy: StrategyRow['strategy'], solved: number, tokens: number, r1: number): StrategyRow => ({
      strategy,
      tasks: 4,
      solved,
      passAt1: solved / 4,
      completionTokens: tokens * Math.max(1, solved),
      promptTokens: 0,
      tokensPerSolved: solved ? tokens : null,
      wallMs: 4000,
      wallMsPerSolved: solved ? 1000 : null,
      firstRound: { round: 0, attempted: 8, passed: 4 },
      rounds: [
        { round: 1, attempted: 4, passed: r1 },
        { round: 2, attempted: 2, passed: 0 },
      ],
      loopVerified: solved,
      loopVerifiedCorrect: solved,
      unconfirmed: 0,
      errors: 0,
    });
    const report: StrategyReport = {
      model: 'm',
      tasks: 4,
      budget: { samples: 2, refineRounds: 2, maxTokens: 4000, wallMs: 0 },
      strategies: [row('resample', 2, 500, 0), row('trace', 3, 300, 2)],
      ungraded: [],
      perTask: [],
    };
    const table = formatStrategyTable(report);
    assert.match(
      table,
      /^model m · 4 tasks · equal budget per task: 2 sample\(s\), 2 later round\(s\), 4000 completion tokens/,
    );
    assert.match(table, /\ntrace\s+3\/4 75\.0%\s+300\s+1\.00\s+4\/8 50\.0%\s+2\/4 50\.0%\s+0\/2 0\.0%\s+3 \(3\)\n/);
    assert.deepEqual(recommendedBudget(report), { strategy: 'trace', samples: 2, rounds: 1 });
    assert.deepEqual(recommendedBudget({ ...report, strategies: [row('resample', 4, 200, 0)] }), {
      strategy: 'resample',
      samples: 6,
      rounds: 0,
    });
  });
});
