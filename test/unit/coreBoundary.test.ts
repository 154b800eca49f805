import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

describe('core boundary', () => {
  it('no file under src/core imports vscode', () => {
    const files = walk(join(__dirname, '../../src/core')).filter((f) => /\.[cm]?[jt]s$/.test(f));
    assert.ok(files.length > 0, 'src/core has no source files');
    const offenders = files.filter((f) => /(from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\)|import\(\s*['"]vscode['"]\s*\))/.test(readFileSync(f, 'utf8')));
    assert.deepEqual(offenders, []);
  });
});
