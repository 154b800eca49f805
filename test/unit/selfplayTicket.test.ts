// The decisions of one self-play ticket, without a model or a sandbox: the screen after inspection, the
// reading of the audit, the behaviour peers, and classify's verdict on the evidence.
import { strict as assert } from 'node:assert';
import type { AuditEntry, InspectResult } from '../../src/core/selfplay/probe';
import { bodyUnderHeader } from '../../src/core/selfplay/puzzle';
import {
  MAX_BEHAVIOUR_PEERS,
  MAX_LADDER_DEPTH,
  behaviourPeers,
  classify,
  readAudit,
  screen,
  type Evidence,
} from '../../src/core/selfplay/ticket';
import type { Attempt, Puzzle } from '../../src/core/types';

const PUZZLE: Puzzle = {
  name: 'SelfPlay_ab12_3:0',
  sat: 'def sat(x: int):\n    return x % 7 == 3',
  ansType: 'int',
  solHeader: 'def sol():',
  solBodies: [],
  module: 'numbers',
};

function attempt(
  id: string,
  passed: boolean,
  extra: {
    answer?: string;
    feedback?: string;
    status?: 'passed' | 'failed' | 'error';
    failureTest?: string;
    code?: string;
  } = {},
): Attempt {
  const feedback = extra.feedback ?? (passed ? '' : 'sat(answer) returned False');
  return {
    candidate: { id, code: extra.code ?? `def sol():\n    return ${id.length}`, language: 'python', round: 0 },
    verdict: {
      status: extra.status ?? (passed ? 'passed' : 'failed'),
      passed,
      testsPassed: passed ? 1 : 0,
      testsTotal: 1,
      durationMs: 1,
      feedback,
      failures: passed ? [] : [{ test: extra.failureTest ?? 'assert sat(sol()) is True', error: feedback }],
      ...(extra.answer !== undefined ? { answer: extra.answer } : {}),
    } as Attempt['verdict'],
  };
}

/** Evidence of a puzzle that classify accepts: two of three solved, a known wrong answer, no peers. */
function evidence(over: Partial<Evidence> = {}): Evidence {
  return {
    ticket: { ticket: 3, arm: 'numbers/medium' },
    puzzle: PUZZLE,
    hash: 'h1',
    attempts: [
      attempt('a', true, { code: 'def sol():\n    return 3' }),
      attempt('b', false, { answer: '["int", "2a"]' }),
      attempt('c', true, { code: 'def sol():\n    return 10' }),
    ],
    wrong: { ok: true, value: '4' },
    audit: { typeMismatches: 0, bodies: ['    return 3', '    return 10'] },
    satTimeoutMs: 1000,
    peers: [],
    ...over,
  };
}

describe('self-play ticket: classify', () => {
  it('accepts a solved puzzle with its solve rate, the audited bodies, the known wrong answers and every attempt', () => {
    const generator = attempt('gen', true);
    const d = classify(evidence({ generator }));
    assert.equal(d.kind, 'accepted');
    if (d.kind !== 'accepted') return;
    assert.equal(d.solved, 2);
    assert.equal(d.answered, 3);
    assert.equal(d.hash, 'h1');
    assert.equal(d.puzzle.solveRate, 2 / 3);
    assert.deepEqual(d.puzzle.solBodies, ['    return 3', '    return 10']);
    // The generator's wrong() first, then the failed solver's answer (0x2a = 42).
    assert.deepEqual(d.puzzle.wrongAnswers, ['4', '42']);
    assert.equal(d.attempts.length, 4);
    assert.equal(d.attempts[3], generator, "the generator's attempt comes last");
    assert.equal(d.puzzle.name, PUZZLE.name);
    assert.deepEqual(PUZZLE.solBodies, [], 'the screened puzzle is not changed');
  });

  it('rejects as a model error when no solver answered, with the first request error', () => {
    assert.deepEqual(classify(evidence({ attempts: [], modelError: 'HTTP 500' })), {
      kind: 'rejected',
      reason: 'model_error',
      detail: 'HTTP 500',
    });
    assert.deepEqual(classify(evidence({ attempts: [] })), {
      kind: 'rejected',
      reason: 'model_error',
      detail: 'no answers',
    });
  });

  it('rejects a puzzle sat was slow or inconsistent on, before anything else about its answers', () => {
    const slow = classify(
      evidence({
        satTimeoutMs: 300,
        audit: { typeMismatches: 0, bodies: [], satFault: { reason: 'slow', satResults: 'TS' } },
      }),
    );
    assert.deepEqual(slow, {
      kind: 'rejected',
      reason: 'slow',
      detail: 'sat(answer) ran longer than 300 ms on a verified answer',
    });
    const flaky = classify(
      evidence({
        audit: { typeMismatches: 0, bodies: [], satFault: { reason: 'nondeterministic', satResults: 'TTF' } },
      }),
    );
    assert.deepEqual(flaky, {
      kind: 'rejected',
      reason: 'nondeterministic',
      detail: 'sat gave T,T,F on the same verified answer',
    });
  });

  it('rejects an unsolved puzzle and asks for an easier variant until the ladder is deep enough', () => {
    const attempts = [attempt('a', false), attempt('b', false)];
    const d = classify(evidence({ attempts, generator: attempt('gen', true) }));
    assert.equal(d.kind, 'rejected');
    if (d.kind !== 'rejected') return;
    assert.equal(d.reason, 'unsolved');
    assert.equal(d.detail, '0 of 2 solutions verified (the generator’s own solution verified)');
    assert.equal(d.solveRate, 0);
    assert.equal(d.name, PUZZLE.name);
    assert.deepEqual(d.ladder, { parent: PUZZLE, arm: 'numbers/medium', depth: 1 });

    const deep = classify(
      evidence({
        attempts,
        ticket: {
          ticket: 9,
          arm: 'numbers/hard',
          variant: { parent: PUZZLE, arm: 'numbers/hard', depth: MAX_LADDER_DEPTH },
        },
      }),
    );
    assert.equal(deep.kind, 'rejected');
    assert.ok(deep.kind === 'rejected' && deep.ladder === undefined, 'no variant deeper than MAX_LADDER_DEPTH');
  });

  it('calls an unsolved puzzle a type mismatch when the answers contradict its annotation', () => {
    const typed = (id: string): Attempt =>
      attempt(id, false, { failureTest: 'isinstance(answer, int)', feedback: 'the answer is a str' });
    // Every solver returned the wrong type.
    const all = classify(evidence({ attempts: [typed('a'), typed('b')] }));
    assert.ok(all.kind === 'rejected' && all.reason === 'type_mismatch', JSON.stringify(all));
    assert.ok(all.kind === 'rejected' && all.ladder === undefined, 'a mistyped puzzle asks for no variant');
    // The puzzle's own solver returned the wrong type.
    const own = classify(evidence({ attempts: [attempt('a', false)], generator: typed('gen') }));
    assert.ok(
      own.kind === 'rejected' && own.reason === 'type_mismatch' && /own solver returns another type/.test(own.detail),
      JSON.stringify(own),
    );
    // The audit found a verified answer of the wrong type.
    const audited = classify(evidence({ attempts: [attempt('a', false)], audit: { typeMismatches: 1, bodies: [] } }));
    assert.ok(audited.kind === 'rejected' && audited.reason === 'type_mismatch');
    // One plain failure among typed ones is not enough.
    const mixed = classify(evidence({ attempts: [typed('a'), attempt('b', false)] }));
    assert.ok(mixed.kind === 'rejected' && mixed.reason === 'unsolved');
  });

  it('rejects a solved puzzle no known answer fails, saying why', () => {
    const everyoneRight = [attempt('a', true), attempt('b', true)];
    const none = classify(evidence({ attempts: everyoneRight, wrong: undefined }));
    assert.ok(none.kind === 'rejected' && none.reason === 'no_wrong_answer', JSON.stringify(none));
    assert.ok(none.kind === 'rejected' && /wrote no wrong\(\) and every solver was right/.test(none.detail));
    assert.ok(none.kind === 'rejected' && none.solveRate === 1);
    const refused = classify(evidence({ attempts: everyoneRight, wrong: { ok: false, detail: 'sat accepts it' } }));
    assert.ok(refused.kind === 'rejected' && refused.detail.endsWith('(sat accepts it)'), JSON.stringify(refused));
    // Empty values, type mismatches and errors do not count as known wrong answers.
    const trivial = [
      attempt('a', true),
      attempt('b', false, { answer: '["int", "0"]' }),
      attempt('c', false, { answer: '["str", "x"]', feedback: "sat's answer type is int" }),
      attempt('d', false, { answer: '["int", "5"]', status: 'error' }),
    ];
    const d = classify(evidence({ attempts: trivial, wrong: undefined }));
    assert.ok(d.kind === 'rejected' && d.reason === 'no_wrong_answer', JSON.stringify(d));
  });

  it('asks for a behaviour comparison once when there are peers, then accepts or rejects a twin', () => {
    const peer: Puzzle = { ...PUZZLE, name: 'Seed:0' };
    assert.deepEqual(classify(evidence({ peers: [peer] })), { kind: 'compare' });
    assert.equal(classify(evidence({ peers: [peer], behaviourTwin: null })).kind, 'accepted');
    const seedTwin = classify(evidence({ peers: [peer], behaviourTwin: { name: 'Seed:0', accepted: false } }));
    assert.deepEqual(seedTwin, {
      kind: 'rejected',
      reason: 'duplicate',
      detail: 'same verdicts as seed Seed:0 on every probe answer (a duplicate in behaviour)',
    });
    const acceptedTwin = classify(
      evidence({ peers: [peer], behaviourTwin: { name: 'SelfPlay_x_1:0', accepted: true } }),
    );
    assert.ok(
      acceptedTwin.kind === 'rejected' &&
        acceptedTwin.detail.startsWith('same verdicts as accepted puzzle SelfPlay_x_1:0'),
    );
    // An earlier gate wins over the comparison.
    assert.equal(
      classify(evidence({ peers: [peer], wrong: undefined, attempts: [attempt('a', true)] })).kind,
      'rejected',
    );
  });
});

describe('self-play ticket: screen, audit and peers', () => {
  const known = {
    seedHashes: new Map([['hs', 'IntegerRoot:0']]),
    acceptedHashes: new Map([['ha', 'SelfPlay_r_1:0']]),
    pending: new Set(['hp']),
  };
  const inspected = (over: Partial<InspectResult>): InspectResult => ({
    ok: true,
    hash: 'fresh',
    sat: PUZZLE.sat,
    ansType: 'int',
    solHeader: 'def sol():',
    ...over,
  });

  it('lets a fresh valid puzzle through and rejects early failures, twins and late failures in that order', () => {
    assert.equal(screen(inspected({}), known), undefined);
    assert.deepEqual(screen(inspected({ ok: false, reason: 'unsafe', detail: 'imports os', hash: 'hs' }), known), {
      kind: 'rejected',
      reason: 'unsafe',
      detail: 'imports os',
    });
    assert.deepEqual(screen(inspected({ ok: false, hash: undefined }), known), {
      kind: 'rejected',
      reason: 'syntax',
      detail: 'sat did not pass the checks',
    });
    assert.equal(screen(inspected({ hash: 'hs' }), known)?.detail, 'same normalised AST as seed IntegerRoot:0');
    assert.equal(
      screen(inspected({ hash: 'ha' }), known)?.detail,
      'same normalised AST as accepted puzzle SelfPlay_r_1:0',
    );
    assert.equal(screen(inspected({ hash: 'hp' }), known)?.detail, 'same normalised AST as a puzzle being checked');
    // A trivial puzzle that is also a seed's twin is reported as the duplicate.
    assert.equal(screen(inspected({ ok: false, reason: 'trivial', hash: 'hs' }), known)?.reason, 'duplicate');
    assert.deepEqual(screen(inspected({ ok: false, reason: 'trivial', detail: 'sat(0) is True' }), known), {
      kind: 'rejected',
      reason: 'trivial',
      detail: 'sat(0) is True',
    });
  });

  it('reads the audit: wrong types marked failed, bodies once each, the first sat fault ends the reading', () => {
    const passed = [
      attempt('a', true, { code: 'def sol():\n    return 3' }),
      attempt('b', true, { code: 'def sol():\n    return "3"' }),
      attempt('c', true, { code: 'def sol():\n    return 3' }),
    ];
    const entries: AuditEntry[] = [
      { index: 0, parsed: true, typeOk: true, satResults: 'TTTTT' },
      { index: 1, parsed: true, typeOk: false, answerType: 'str' },
      { index: 2, parsed: true, typeOk: true },
      { index: 7, parsed: true, satResults: 'S' },
    ];
    const findings = readAudit(entries, passed, 'int');
    // Each verified solution becomes a helper its stored header calls; the two identical ones count once.
    assert.deepEqual(findings, { typeMismatches: 1, bodies: [bodyUnderHeader('def sol():\n    return 3')] });
    assert.equal(passed[1]!.verdict.passed, false);
    assert.equal(passed[1]!.verdict.status, 'failed');
    assert.match(passed[1]!.verdict.feedback, /it is a str and sat's answer type is int/);
    assert.equal(passed[0]!.verdict.passed, true);

    const fresh = [attempt('a', true), attempt('b', true)];
    const slow = readAudit(
      [
        { index: 0, parsed: true, satResults: 'TFS' },
        { index: 1, parsed: true, satResults: 'F' },
      ],
      fresh,
      'int',
    );
    assert.deepEqual(slow.satFault, { reason: 'slow', satResults: 'TFS' });
    const flaky = readAudit([{ index: 0, parsed: true, satResults: 'TTE' }], fresh, 'int');
    assert.deepEqual(flaky.satFault, { reason: 'nondeterministic', satResults: 'TTE' });
  });

  it('picks peers of the same answer type, accepted ones first, at most MAX_BEHAVIOUR_PEERS', () => {
    const p = (name: string, ansType: string): Puzzle => ({ ...PUZZLE, name, ansType });
    const accepted = [p('acc1', 'List[int]'), p('acc2', 'int')];
    const seeds = [
      p('seedStr', 'str'),
      p('seed1', 'List[ int ]'),
      ...Array.from({ length: 30 }, (_, i) => p(`many${i}`, 'List[int]')),
    ];
    const peers = behaviourPeers(p('new', 'List[int]'), accepted, seeds);
    assert.equal(peers.length, MAX_BEHAVIOUR_PEERS);
    assert.deepEqual(
      peers.slice(0, 3).map((x) => x.name),
      ['acc1', 'seed1', 'many0'],
    );
    assert.ok(peers.every((x) => x.ansType.replace(/\s+/g, '') === 'List[int]'));
    assert.deepEqual(behaviourPeers(p('new', 'float'), accepted, seeds), []);
  });
});
