// `crucible doctor` with its sandbox check: it starts a real sandbox and reports the isolation it measured.
// (The doctor's other checks, against the test server: test/unit/modelCli.test.ts.)
import { strict as assert } from 'node:assert';
import { Command } from 'commander';
import { registerDoctor } from '../../src/cli/commands/doctor';
import type { CliIo } from '../../src/cli/commands/models';
import { startOllamaServer, type OllamaTestServer } from '../fixtures/ollamaServer';

describe('crucible doctor: the sandbox check', function () {
  this.timeout(30000);
  let server: OllamaTestServer;
  before(async () => {
    server = await startOllamaServer();
  });
  after(async () => {
    await server?.close();
  });

  it('doctor includes the sandbox isolation report', async () => {
    let out = '';
    const io: CliIo = { out: (t) => void (out += t), err: () => undefined };
    const program = new Command().exitOverride();
    registerDoctor(program, io);
    await program.parseAsync(['doctor', '--host', server.url, '--json'], { from: 'user' });
    const report = JSON.parse(out);
    const sb = report.checks.find((c: { id: string }) => c.id === 'sandbox');
    assert.ok(sb.status === 'ok' || sb.status === 'warn', JSON.stringify(sb));
    assert.match(sb.detail, /network (blocked|open), processes (contained|best-effort)/);
    process.exitCode = undefined;
  });
});
