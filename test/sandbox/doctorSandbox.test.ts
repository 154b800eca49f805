// `crucible doctor` with its sandbox check: it starts a real sandbox and reports the isolation it measured.
// (The doctor's other checks, against the test server: test/unit/modelCli.test.ts.)
import { strict as assert } from 'node:assert';
import { Command } from 'commander';
import { registerDoctor } from '../../src/cli/commands/doctor';
import { captureIo } from '../../src/cli/io';
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
    const io = captureIo();
    const program = new Command().exitOverride();
    registerDoctor(program, io);
    await program.parseAsync(['doctor', '--host', server.url, '--json'], { from: 'user' });
    const report = JSON.parse(io.stdout());
    const sb = report.checks.find((c: { id: string }) => c.id === 'sandbox');
    assert.ok(sb.status === 'ok' || sb.status === 'warn', JSON.stringify(sb));
    assert.match(sb.detail, /network (blocked|open), processes (contained|best-effort)/);
  });
});
