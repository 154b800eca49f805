// The layer rules of eslint.config.mjs, exercised on deliberately bad in-memory files: a cross-layer import
// fails lint, and the message names the fix. Runs ESLint's Node API against the repository's own config.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const root = join(__dirname, '../..');

interface Case {
  /** Where the file would sit, relative to the repository root. */
  file: string;
  source: string;
  /** A piece of the message that names the fix; absent when the import is allowed. */
  fix?: RegExp;
}

const cases: Case[] = [
  {
    file: 'src/core/model/leak.ts',
    source: "import { checkSyntax } from '../parse/syntax';\nexport const check = checkSyntax;\n",
    fix: /take a checker function as a parameter/,
  },
  {
    file: 'src/core/dataset/leak.ts',
    source: "import { solve } from '../solve/solve';\nexport const run = solve;\n",
    fix: /move the helper it needs into a leaf module/,
  },
  {
    file: 'src/core/dataset/fine.ts',
    source: "import { solutionOf } from '../solve/placement';\nexport const place = solutionOf;\n",
  },
  {
    file: 'src/core/sandbox/leak.ts',
    source: "import type { Verifier } from '../verify/types';\nexport type V = Verifier;\n",
    fix: /declare what it needs in core\/sandbox\/types\.ts/,
  },
  {
    file: 'src/core/leak.ts',
    source: "import { log } from '../vscode/log';\nexport const l = log;\n",
    fix: /pass what it needs as a parameter/,
  },
  {
    file: 'src/core/leakVscode.ts',
    source: "import type * as vscode from 'vscode';\nexport type U = vscode.Uri;\n",
    fix: /must not import vscode/,
  },
  {
    file: 'src/cli/leak.ts',
    source: "import { log } from '../vscode/log';\nexport const l = log;\n",
    fix: /move the shared code into src\/core/,
  },
  {
    file: 'src/vscode/leakCli.ts',
    source: "import { cliText } from '../cli/shared';\nexport const t = cliText;\n",
    fix: /move the shared code into src\/core/,
  },
  {
    file: 'src/vscode/leak.ts',
    source: "import { solve } from '../core/solve/solve';\nexport const s = solve;\n",
    fix: /call the function through src\/vscode\/engine\.ts/,
  },
  {
    file: 'src/vscode/leakEngine.ts',
    source: "import { solve } from './engineEntry';\nexport const s = solve;\n",
    fix: /use src\/vscode\/engine\.ts's lazy wrappers/,
  },
  {
    file: 'src/vscode/fine.ts',
    source:
      "import type { Outcome } from '../core/types';\nimport { DATA_FILE } from '../core/dataset/files';\n" +
      "import { VERSION } from '../core/version';\nexport const x = (o: Outcome): string => `${DATA_FILE}${VERSION}${o.rounds}`;\n",
  },
];

describe('layer rules (eslint.config.mjs)', function () {
  // Loading ESLint, typescript-eslint and the config takes about a second; the cases then take milliseconds.
  this.timeout(30_000);
  let eslint: ESLint;
  before(() => {
    eslint = new ESLint({ cwd: root });
  });

  for (const c of cases) {
    it(`${c.fix ? 'rejects' : 'allows'} ${c.file}: ${c.source.split('\n')[0]}`, async () => {
      const [result] = await eslint.lintText(c.source, { filePath: join(root, c.file) });
      const layerErrors = result!.messages.filter((m) => /restricted/.test(m.ruleId ?? '') || m.fatal);
      if (!c.fix) {
        assert.deepEqual(layerErrors, []);
        return;
      }
      assert.equal(layerErrors.length, 1, JSON.stringify(result!.messages, null, 2));
      assert.equal(layerErrors[0]!.severity, 2);
      assert.match(layerErrors[0]!.message, c.fix);
    });
  }
});
