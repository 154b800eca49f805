// The verify layer's pure parts: JS test rewriting, canonical comparisons, answer types, job-line parsing, reports.
import { strict as assert } from 'node:assert';
import { renderCanon, type Canon } from '../../src/core/verify/canonical';
import { parseJobLine } from '../../src/core/verify/jobs';

const int = (n: number): Canon => ['int', n.toString(16)];
const flt = (s: string): Canon => ['float', s];

describe('verify parts', () => {
  describe('canonical values', () => {
    it('renders like Python', () => {
      assert.equal(renderCanon(['tuple', [int(1)]]), '(1,)');
      assert.equal(renderCanon(['dict', [[['str', 'a'], ['none']]]]), "{'a': None}");
      assert.equal(renderCanon(['list', [['bool', true], flt('2.5')]]), '[True, 2.5]');
    });
  });

  describe('parseJobLine', () => {
    it('parses the three shapes', () => {
      const g = parseJobLine(JSON.stringify({ id: 'a', language: 'typescript', code: 'x', test: 'y' }), 1);
      assert.ok(g.ok && g.job.kind === 'tests' && g.job.task.language === 'typescript');
      const h = parseJobLine(
        JSON.stringify({ task_id: 'H/1', prompt: 'p', completion: 'c', test: 't', entry_point: 'f' }),
        2,
      );
      assert.ok(
        h.ok &&
          h.job.kind === 'tests' &&
          h.job.task.completionStyle === 'continuation' &&
          h.job.task.entryPoint === 'f',
      );
      const p = parseJobLine(
        JSON.stringify({
          name: 'P',
          sat: 's',
          ans_type: 'int',
          sol_header: 'def sol():',
          sol_docstring: '    """d"""',
          sol_bodies: ['    return 1'],
        }),
        3,
      );
      assert.ok(p.ok && p.job.kind === 'puzzle');
      assert.equal(p.ok && p.job.kind === 'puzzle' ? p.job.solution : '', 'def sol():\n    """d"""\n    return 1\n');
    });

    it('names the line and the problem for malformed lines', () => {
      const cases: [string, RegExp][] = [
        ['{"id": 1', /^line 7: not valid JSON/],
        ['42', /^line 7: expected a JSON object, got number/],
        ['{"id": "x", "language": "python", "code": "c"}', /^line 7: a generic job needs string field\(s\) "test"/],
        [
          '{"task_id": "H", "prompt": "p", "test": "t", "entry_point": "f"}',
          /^line 7: a HumanEval job needs string field\(s\) "completion"/,
        ],
        [
          '{"name": "P", "sat": "s", "ans_type": "int", "sol_header": "h", "sol_bodies": "x"}',
          /^line 7: a P3 puzzle job needs "sol_bodies" as an array of strings/,
        ],
        [
          '{"id": "x", "language": "ruby", "code": "c", "test": "t"}',
          /^line 7: "language" must be one of python, javascript, typescript, got "ruby"/,
        ],
      ];
      for (const [line, re] of cases) {
        const r = parseJobLine(line, 7);
        assert.equal(r.ok, false, line);
        assert.match(r.ok ? '' : r.error, re);
      }
    });
  });
});
