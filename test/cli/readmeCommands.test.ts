// Every `crucible …` line in the README's code blocks must be a command the CLI accepts: it runs with
// --help appended (exit 0), and every flag the line uses is one that command lists in its help.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runCrucible } from '../fixtures/cli';

/** The `crucible …` lines of the fenced code blocks in a Markdown text, without trailing comments. */
export function readmeCommands(markdown: string): string[] {
  const commands: string[] = [];
  let inBlock = false;
  for (const raw of markdown.split('\n')) {
    if (/^\s*```/.test(raw)) {
      inBlock = !inBlock;
      continue;
    }
    if (!inBlock) continue;
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (/^crucible\s/.test(line)) commands.push(line);
  }
  return commands;
}

/** Splits a shell-like command line (quotes kept together, no expansion). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

describe('README commands', function () {
  this.timeout(60_000);

  const commands = readmeCommands(
    readFileSync(process.env.CRUCIBLE_TEST_README ?? join(REPO_ROOT, 'README.md'), 'utf8'),
  );

  it('the README shows crucible commands', () => {
    assert.ok(commands.length >= 7, commands.join('\n'));
  });

  for (const line of commands) {
    it(`${line} --help`, async () => {
      const args = words(line).slice(1);
      const r = await runCrucible([...args, '--help']);
      assert.equal(r.code, 0, `${line} --help exited ${r.code}: ${r.stderr}`);
      const help = r.stdout;
      assert.match(help, new RegExp(`Usage: crucible ${args[0]}`));
      for (const flag of args.filter((a) => a.startsWith('--'))) {
        const name = flag.split('=')[0]!;
        assert.ok(
          new RegExp(`(^|[\\s,])${name}(?=[\\s,=<[]|$)`, 'm').test(help),
          `${line}: ${name} is not a flag of crucible ${args[0]}`,
        );
      }
    });
  }

  it('catches a flag a command does not have (the old README line)', async () => {
    const r = await runCrucible(['selfplay', '--help']);
    assert.doesNotMatch(r.stdout, /--puzzles/);
  });
});
