// The shared setup checks (core/model/doctor.ts) with injected sandbox reports and Node versions.
import { strict as assert } from 'node:assert';
import { createModelClient } from '../../src/core/model/client';
import { formatDoctorReport, runDoctor } from '../../src/core/model/doctor';
import type { ModelSettings } from '../../src/core/model/types';
import type { IsolationReport } from '../../src/core/sandbox/types';
import { startOllamaServer, type OllamaTestServer } from '../fixtures/ollamaServer';

const strong: IsolationReport = {
  platform: 'linux',
  network: 'blocked',
  processes: 'contained',
  filesystem: 'private',
  memory: 'enforced',
  notes: [],
};

describe('runDoctor', () => {
  let server: OllamaTestServer;
  let settings: ModelSettings;
  before(async () => {
    server = await startOllamaServer();
    settings = {
      provider: 'ollama',
      host: server.url,
      model: 'qwen2.5-coder:7b',
      options: {},
      firstTokenTimeoutMs: 5000,
      requestTimeoutMs: 5000,
      maxParallel: 1,
      headers: {},
      maxRetries: 0,
    };
  });
  after(async () => {
    await server?.close();
  });

  it('passes with a strong sandbox and reports every check in order', async () => {
    const report = await runDoctor({ client: createModelClient(settings), isolation: async () => strong });
    assert.equal(report.ok, true, formatDoctorReport(report));
    assert.deepEqual(
      report.checks.map((c) => [c.id, c.status]),
      [
        ['node', 'ok'],
        ['python', 'ok'],
        ['server', 'ok'],
        ['model', 'ok'],
        ['sandbox', 'ok'],
      ],
    );
  });

  it('warns (without failing) on weak isolation and names what is weak', async () => {
    const weak: IsolationReport = { ...strong, network: 'open', filesystem: 'shared', notes: ['no user namespaces'] };
    const report = await runDoctor({ client: createModelClient(settings), isolation: async () => weak });
    const sb = report.checks.find((c) => c.id === 'sandbox')!;
    assert.equal(sb.status, 'warn');
    assert.match(sb.fix ?? '', /network, filesystem isolation is weaker/);
    assert.deepEqual(sb.notes, ['no user namespaces']);
    assert.match(formatDoctorReport(report), /^\s+· no user namespaces$/m);
    assert.equal(report.ok, true);
    assert.match(formatDoctorReport(report), /^! Sandbox/m);
  });

  it('fails when the sandbox cannot start or Node is too old', async () => {
    const report = await runDoctor({
      client: createModelClient(settings),
      nodeVersion: 'v18.20.0',
      isolation: async () => {
        throw new Error('spawn python3 ENOENT');
      },
    });
    assert.equal(report.ok, false);
    const node = report.checks.find((c) => c.id === 'node')!;
    assert.equal(node.status, 'fail');
    assert.match(node.fix ?? '', /Node 20\.19 or newer/);
    const sb = report.checks.find((c) => c.id === 'sandbox')!;
    assert.equal(sb.status, 'fail');
    assert.match(sb.detail, /could not start: spawn python3 ENOENT/);
  });

  it('checks an OpenAI-compatible server through /v1/models', async () => {
    const report = await runDoctor({ client: createModelClient({ ...settings, provider: 'openai' }) });
    assert.equal(report.ok, true, formatDoctorReport(report));
    assert.match(
      report.checks.find((c) => c.id === 'server')!.detail,
      /^OpenAI-compatible server at http:\/\/127\.0\.0\.1:\d+\/v1, 2 model\(s\)/,
    );
    assert.match(report.checks.find((c) => c.id === 'model')!.detail, /context length set by the server/);
  });
});
