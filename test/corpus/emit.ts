// Writes the corpora as `crucible verify` JSONL and as plain files.
//   npx tsx test/corpus/emit.ts              refresh test/corpus/differential/python/idioms.jsonl
//   npx tsx test/corpus/emit.ts OUTDIR       also write OUTDIR/differential/<id>.py (plain programs; pytest-style
//                                            cases as test_*.py) and OUTDIR/{idioms,hostile}.jsonl
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCaseDir, plainProgram, toJob } from './cases';

const here = __dirname;
const idioms = loadCaseDir(join(here, 'differential/python'), 'py').flatMap((f) => f.cases);
const jsonl = idioms.map((c) => JSON.stringify(toJob(c))).join('\n') + '\n';
writeFileSync(join(here, 'differential/python/idioms.jsonl'), jsonl);
const out = process.argv[2];
if (out) {
  mkdirSync(join(out, 'differential'), { recursive: true });
  writeFileSync(join(out, 'idioms.jsonl'), jsonl);
  for (const c of idioms) {
    const name = c.id.replace(/^py\//, '').replace(/\//g, '__');
    writeFileSync(join(out, 'differential', c.runner === 'pytest' ? `test_${name}.py` : `${name}.py`), plainProgram(c));
  }
  const hostile = loadCaseDir(join(here, 'hostile/python'), 'hostile', true).flatMap((f) => f.cases);
  writeFileSync(join(out, 'hostile.jsonl'), hostile.map((c) => JSON.stringify(toJob(c))).join('\n') + '\n');
}
process.stdout.write(`${idioms.length} idiom cases${out ? ` written to ${out}` : ''}\n`);
