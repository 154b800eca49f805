import { strict as assert } from 'node:assert';
import { EXPORT_FORMATS } from '../../src/core/dataset/formats';
import { fillTemplate, readmeText } from '../../src/core/dataset/readme';

describe('export README template', () => {
  it('fills values, keeps or drops sections, and takes a tag alone on its line with the line', () => {
    const template =
      'a {{x}}\n{{#on}}\nkept\n{{/on}}\n{{#off}}\ndropped\n{{/off}}\n{{^off}}inverse{{/off}} {{#n}}n={{n}}{{/n}}.\n';
    assert.equal(fillTemplate(template, { x: 1, on: true, off: false, n: 0 }), 'a 1\nkept\ninverse .\n');
  });

  it('collapses runs of blank lines and ends with one newline', () => {
    assert.equal(fillTemplate('a\n\n{{e}}\n\nb\n\n\n', { e: '' }), 'a\n\nb\n');
  });

  it('inserts values as they are and names a missing value', () => {
    assert.equal(fillTemplate('{{m}}', { m: '{{m}} {{#x}}' }), '{{m}} {{#x}}\n');
    assert.throws(() => fillTemplate('{{missing}}', {}), /no value for \{\{missing\}\}/);
  });

  it('the shipped template renders every format, with and without a split and a model', () => {
    for (const format of EXPORT_FORMATS) {
      for (const split of [false, true]) {
        const text = readmeText({
          format,
          unit: 'examples',
          files: { train: '/x/d.train.jsonl', ...(split ? { valid: '/x/d.valid.jsonl' } : {}) },
          train: 3,
          valid: split ? 1 : 0,
          trainTasks: 2,
          validTasks: split ? 1 : 0,
          records: 5,
          selected: 4,
          balancedOut: 0,
          corrupt: 0,
          includeGenerated: false,
          model: split ? 'qwen2.5-coder:7b' : undefined,
        });
        assert.ok(text.startsWith('<!-- written by crucible export -->\n'), text);
        assert.equal(text.includes('{{'), false, text);
        assert.equal(text.includes('d.valid.jsonl'), split, text);
        assert.equal(/\n\n\n/.test(text), false, text);
      }
    }
  });
});
