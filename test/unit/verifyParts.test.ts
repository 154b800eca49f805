// The verify layer's pure parts: JS test rewriting, canonical comparisons, answer types, job-line parsing, reports.
import { strict as assert } from 'node:assert';
import { rewriteJsTests, tokenize } from '../../src/core/verify/jsHarness';
import { canonCompare, canonEqual, canonTruth, matchesAnsType, renderCanon, type Canon } from '../../src/core/verify/canonical';
import { parseJobLine } from '../../src/core/verify/jobs';
import { parseReport, verdictFromRun } from '../../src/core/verify/report';
import type { RunResult } from '../../src/core/sandbox/types';

const int = (n: number): Canon => ['int', n.toString(16)];
const flt = (s: string): Canon => ['float', s];

describe('verify parts', () => {
  describe('rewriteJsTests', () => {
    it('rewrites require, import and destructured forms and keeps line numbers', () => {
      const src = [
        "const assert = require('node:assert');",
        "const { deepStrictEqual, ok: truthy } = require('assert');",
        "import { strict as check } from 'node:assert';",
        'assert.strictEqual(f(1), 2);',
        'deepStrictEqual(g(), [1]);',
        'truthy(h());',
        'check(x === 1);',
        'if (cond) { assert(y); }',
      ].join('\n');
      const r = rewriteJsTests(src);
      assert.equal(r.source.split('\n').length, 8);
      const lines = r.source.split('\n');
      assert.equal(lines[0].trim(), '');
      assert.equal(lines[3], '__crucible_site(0).strictEqual(f(1), 2);');
      assert.equal(lines[4], '__crucible_site(1).deepStrictEqual(g(), [1]);');
      assert.equal(lines[5], '__crucible_site(2).ok(h());');
      assert.equal(lines[6], '__crucible_site(3)(x === 1);');
      assert.equal(lines[7], 'if (cond) { __crucible_site(4)(y); }');
      assert.deepEqual(r.sites.map((s) => [s.line, s.required]), [[4, true], [5, true], [6, true], [7, true], [8, false]]);
      assert.equal(r.sites[0].src, 'assert.strictEqual(f(1), 2)');
    });

    it('leaves strings, comments, templates, regexes and member names alone', () => {
      const src = "const s = 'assert(1)'; // assert(2)\n/* assert(3) */ const t = `assert(${1})`; const re = /assert\\(/; obj.assert(5); const o = { assert: 1 };\n";
      const r = rewriteJsTests(src);
      assert.equal(r.sites.length, 0);
      assert.equal(r.source, src);
      assert.deepEqual(tokenize('a / b / c').map((t) => t.type), ['id', 'punct', 'id', 'punct', 'id']);
      assert.equal(tokenize('x = /a[/]b/g;').find((t) => t.type === 'regex')?.text, '/a[/]b/g');
    });

    it('refuses tests that use the reserved name', () => {
      assert.throws(() => rewriteJsTests('__crucible_site(0).ok(true)'), /reserved name __crucible_site/);
    });
  });

  describe('canonical values', () => {
    it('compares with exact types', () => {
      assert.equal(canonEqual(int(1), flt('1.0')), false);
      assert.equal(canonEqual(int(1), ['bool', true]), false);
      assert.equal(canonEqual(flt('0.0'), flt('-0.0')), true);
      assert.equal(canonEqual(flt('nan'), flt('nan')), false);
      assert.equal(canonEqual(['num', 'NaN'], ['num', 'NaN']), true);
      assert.equal(canonEqual(['list', [int(1), int(2)]], ['list', [int(1), int(2)]]), true);
      assert.equal(canonEqual(['list', [int(1)]], ['tuple', [int(1)]]), false);
      assert.equal(canonEqual(['int', '-ff'], int(-255)), true);
    });

    it('orders numbers across int and float, strings by code point, and refuses the rest', () => {
      assert.equal(canonCompare('Lt', int(1), flt('1.5')), true);
      assert.equal(canonCompare('GtE', ['int', 'f'.repeat(40)], int(3)), true);
      assert.equal(canonCompare('Lt', ['str', 'a'], ['str', '\u{1F600}']), true);
      assert.equal(canonCompare('In', int(2), ['list', [int(1), int(2)]]), true);
      assert.equal(canonCompare('NotIn', ['str', 'z'], ['str', 'abc']), true);
      assert.throws(() => canonCompare('Lt', ['str', 'a'], int(1)), /cannot order str and int/);
      assert.equal(canonTruth(['list', []]), false);
      assert.equal(canonTruth(['obj', 'X', []]), undefined);
    });

    it('renders like Python', () => {
      assert.equal(renderCanon(['tuple', [int(1)]]), '(1,)');
      assert.equal(renderCanon(['dict', [[['str', 'a'], ['none']]]]), "{'a': None}");
      assert.equal(renderCanon(['list', [['bool', true], flt('2.5')]]), '[True, 2.5]');
    });

    it('checks P3 answer types', () => {
      assert.equal(matchesAnsType(['list', [['list', [int(1)]]]], 'List[List[int]]'), true);
      assert.equal(matchesAnsType(['list', [flt('1.0')]], 'List[int]'), false);
      assert.equal(matchesAnsType(['bool', true], 'int'), false);
      assert.equal(matchesAnsType(['str', 'x'], 'str'), true);
      assert.match(String(matchesAnsType(int(1), 'Callable[int]')), /unsupported answer type/);
    });
  });

  describe('parseJobLine', () => {
    it('parses the three shapes', () => {
      const g = parseJobLine(JSON.stringify({ id: 'a', language: 'typescript', code: 'x', test: 'y' }), 1);
      assert.ok(g.ok && g.job.kind === 'tests' && g.job.task.language === 'typescript');
      const h = parseJobLine(JSON.stringify({ task_id: 'H/1', prompt: 'p', completion: 'c', test: 't', entry_point: 'f' }), 2);
      assert.ok(h.ok && h.job.kind === 'tests' && h.job.task.completionStyle === 'continuation' && h.job.task.entryPoint === 'f');
      const p = parseJobLine(JSON.stringify({ name: 'P', sat: 's', ans_type: 'int', sol_header: 'def sol():', sol_docstring: '    """d"""', sol_bodies: ['    return 1'] }), 3);
      assert.ok(p.ok && p.job.kind === 'puzzle');
      assert.equal(p.ok && p.job.kind === 'puzzle' ? p.job.solution : '', 'def sol():\n    """d"""\n    return 1\n');
    });

    it('names the line and the problem for malformed lines', () => {
      const cases: [string, RegExp][] = [
        ['{"id": 1', /^line 7: not valid JSON/],
        ['42', /^line 7: expected a JSON object, got number/],
        ['{"id": "x", "language": "python", "code": "c"}', /^line 7: a generic job needs string field\(s\) "test"/],
        ['{"task_id": "H", "prompt": "p", "test": "t", "entry_point": "f"}', /^line 7: a HumanEval job needs string field\(s\) "completion"/],
        ['{"name": "P", "sat": "s", "ans_type": "int", "sol_header": "h", "sol_bodies": "x"}', /^line 7: a P3 puzzle job needs "sol_bodies" as an array of strings/],
        ['{"id": "x", "language": "ruby", "code": "c", "test": "t"}', /^line 7: "language" must be one of python, javascript, typescript, got "ruby"/],
      ];
      for (const [line, re] of cases) {
        const r = parseJobLine(line, 7);
        assert.equal(r.ok, false, line);
        assert.match(r.ok ? '' : r.error, re);
      }
    });
  });

  describe('reports', () => {
    const run = (report: string, extra: Partial<RunResult> = {}): RunResult => ({ status: 'exited', exitCode: 0, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, report, durationMs: 5, ...extra });
    const plan = 'plan {"sites":[{"line":1,"src":"assert f() == 1","x":["cmp",["Eq"],[0,1]],"required":true}]}';

    it('ignores lines without the nonce and needs the end marker', () => {
      const ok = verdictFromRun(run(`\nN ${plan}\nN ran {}\nN a [0,[["ok",["int","1"]],["ok",["int","1"]]]]\nN end {}\n`), { nonce: 'N', files: {}, style: { language: 'python' } });
      assert.equal(ok.status, 'passed', ok.feedback);
      const forged = verdictFromRun(run(`\nN ${plan}\nN ran {}\nX end {}\nend {}\n`), { nonce: 'N', files: {}, style: { language: 'python' } });
      assert.equal(forged.status, 'error');
      assert.match(forged.feedback, /stopped before the tests finished/);
    });

    it('treats a nonce line glued to other bytes as a corrupted channel', () => {
      const r = parseReport('\nN plan {}\njunkN a [0,[]]\nN end {}\n', 'N');
      assert.equal(r.corrupt, 1);
      const v = verdictFromRun(run(`\nN ${plan}\nN ran {}\nN a [0,[["ok",["int","1"]],["ok",["int","1"]]]]\njunkN a [0,[["ok",["int","2"]],["ok",["int","1"]]]]\nN end {}\n`), { nonce: 'N', files: {}, style: { language: 'python' } });
      assert.equal(v.status, 'error');
      assert.match(v.feedback, /report channel was corrupted/);
    });

    it('maps sandbox limits to their own statuses', () => {
      for (const status of ['timeout', 'memory', 'output_limit'] as const) {
        const v = verdictFromRun(run('', { status, exitCode: null, signal: 'SIGKILL' }), { nonce: 'N', files: {}, style: { language: 'python' } });
        assert.equal(v.status, status);
        assert.equal(v.passed, false);
      }
    });
  });
});
