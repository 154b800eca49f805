// `crucible models` and `crucible doctor` against the test server and a dead port, plus the flag mapping.
import { strict as assert } from 'node:assert';
import { Command, CommanderError } from 'commander';
import { registerModels, runModels, formatBytes } from '../../src/cli/commands/models';
import { runDoctorCommand } from '../../src/cli/commands/doctor';
import { captureIo, type CapturedIo } from '../../src/cli/io';
import { addModelOptions, hostFromEnv, modelSettingsFromOptions } from '../../src/cli/modelOptions';
import { closedPortUrl, startOllamaServer, type OllamaTestServer } from '../fixtures/ollamaServer';

/** The command's output and exit code, captured in memory (the CliIo every command takes). */
function capture(): CapturedIo {
  return captureIo();
}

describe('crucible models / doctor', () => {
  let server: OllamaTestServer;
  before(async () => {
    server = await startOllamaServer({
      models: [
        {
          name: 'qwen2.5-coder:7b',
          contextLength: 32768,
          family: 'qwen2',
          parameterSize: '7.6B',
          sizeBytes: 4_683_087_332,
        },
        { name: 'tiny:1b', contextLength: 2048, family: 'gemma3', parameterSize: '1B', sizeBytes: 815_000_000 },
      ],
    });
  });
  after(async () => {
    await server?.close();
  });

  it('models prints a table with size, parameters and context length', async () => {
    const io = capture();
    assert.equal(await runModels({ host: server.url }, io), 0);
    const lines = io.stdout().trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+SIZE\s+PARAMS\s+CONTEXT$/);
    assert.match(lines[1]!, /^qwen2\.5-coder:7b\s+4\.7 GB\s+7\.6B\s+32768$/);
    assert.match(lines[2]!, /^tiny:1b\s+815\.0 MB\s+1B\s+2048$/);
    assert.equal(formatBytes(undefined), '-');
  });

  it('models --json through commander, with --host and a header that reaches the server', async () => {
    const io = capture();
    const program = new Command().exitOverride();
    registerModels(program, io);
    await program.parseAsync(['models', '--host', server.url, '--json', '--header', 'Authorization=Bearer xyz'], {
      from: 'user',
    });
    const rows = JSON.parse(io.stdout());
    assert.deepEqual(rows[1], {
      name: 'tiny:1b',
      sizeBytes: 815_000_000,
      parameterSize: '1B',
      family: 'gemma3',
      contextLength: 2048,
    });
    assert.equal(server.requests.at(-1)!.headers.authorization, 'Bearer xyz');
    assert.equal(io.exitCode(), 0, 'the exit code goes through the CliIo, not process.exitCode');
  });

  it('models against a dead port fails with exit 1 and the fix', async () => {
    const io = capture();
    assert.equal(await runModels({ host: await closedPortUrl(), maxRetries: 0 }, io), 1);
    assert.match(io.stderr(), /crucible models: Cannot reach Ollama at .*Start it with `ollama serve`/);
    assert.equal(io.stdout(), '');
  });

  it('doctor passes against the test server (sandbox skipped) and prints ✓ lines', async () => {
    const io = capture();
    const { code, report } = await runDoctorCommand(
      { host: server.url, model: 'qwen2.5-coder:7b', sandbox: false },
      io,
    );
    assert.equal(code, 0, io.stdout());
    const text = io.stdout();
    assert.match(text, /✓ Node\.js\s+Node v\d+/);
    assert.match(text, /✓ Python\s+Python 3\.\d+/);
    assert.match(text, /✓ Model server\s+Ollama 0\.12\.6 at http:\/\/127\.0\.0\.1:\d+, 2 model\(s\)/);
    assert.match(text, /✓ Model\s+qwen2\.5-coder:7b, context 32768 tokens/);
    assert.equal(report.checks.find((c) => c.id === 'sandbox')!.status, 'skip');
  });

  it('doctor fails (exit 1) on a missing model and says to pull it; warns on a small context', async () => {
    const io = capture();
    const missing = await runDoctorCommand({ host: server.url, model: 'ghost:3b', sandbox: false }, io);
    assert.equal(missing.code, 1);
    assert.match(io.stdout(), /✗ Model\s+ghost:3b is not installed at .*installed: qwen2\.5-coder:7b, tiny:1b/);
    assert.match(io.stdout(), /fix: Run `ollama pull ghost:3b`/);
    const small = await runDoctorCommand({ host: server.url, model: 'tiny:1b', sandbox: false }, capture());
    assert.equal(small.code, 0);
    const m = small.report.checks.find((c) => c.id === 'model')!;
    assert.equal(m.status, 'warn');
    assert.match(m.fix ?? '', /numCtx/);
  });

  it('doctor against a dead port: server ✗ with the fix, model skipped, exit 1', async () => {
    const io = capture();
    const { code } = await runDoctorCommand({ host: await closedPortUrl(), sandbox: false, maxRetries: 0 }, io);
    assert.equal(code, 1);
    assert.match(io.stdout(), /✗ Model server\s+Cannot reach Ollama at .*ollama serve/);
    assert.match(io.stdout(), /- Model\s+qwen2\.5-coder:7b: not checked/);
    assert.match(io.stdout(), /Some required checks failed/);
  });

  it('doctor reports a missing Python with the setting to change', async () => {
    const { code, report } = await runDoctorCommand(
      { host: server.url, sandbox: false, python: '/nonexistent/python9' },
      capture(),
    );
    assert.equal(code, 1);
    const py = report.checks.find((c) => c.id === 'python')!;
    assert.equal(py.status, 'fail');
    assert.match(py.detail, /not found/);
    assert.match(py.fix ?? '', /crucible\.sandbox\.python/);
  });
});

describe('model flags → ModelSettings', () => {
  it('maps every flag, with flag > env > default', () => {
    const cmd = addModelOptions(new Command().exitOverride());
    cmd.parse(
      [
        '--host',
        'http://gpu:8000/v1',
        '--provider',
        'openai',
        '--model',
        'm',
        '--temperature',
        '0.5',
        '--seed',
        '7',
        '--num-ctx',
        '8192',
        '--think',
        '--max-parallel',
        '3',
        '--header',
        'Authorization=Bearer a',
        '--header',
        'X-Team: red',
        '--first-token-timeout',
        '90',
        '--stall-timeout',
        '2.5',
        '--stop',
        '###',
      ],
      { from: 'user' },
    );
    const s = modelSettingsFromOptions(cmd.opts(), { OLLAMA_HOST: 'elsewhere:1', CRUCIBLE_MODEL: 'env-model' });
    assert.deepEqual(s, {
      provider: 'openai',
      host: 'http://gpu:8000/v1',
      model: 'm',
      options: { temperature: 0.5, top_p: 0.95, seed: 7, num_ctx: 8192, num_predict: 1024, stop: ['###'] },
      keepAlive: '10m',
      think: true,
      firstTokenTimeoutMs: 90000,
      requestTimeoutMs: 2500,
      maxParallel: 3,
      headers: { Authorization: 'Bearer a', 'X-Team': 'red' },
      maxRetries: 2,
    });
    const fromEnv = modelSettingsFromOptions({}, { OLLAMA_HOST: '0.0.0.0:11434', CRUCIBLE_MODEL: 'env-model' });
    assert.equal(fromEnv.host, 'http://127.0.0.1:11434');
    assert.equal(fromEnv.model, 'env-model');
    assert.equal(modelSettingsFromOptions({}, {}).host, 'http://127.0.0.1:11434');
    assert.equal(modelSettingsFromOptions({}, {}).firstTokenTimeoutMs, 300000);
    assert.equal(hostFromEnv('gpu-box'), 'http://gpu-box:11434');
    assert.equal(modelSettingsFromOptions({ host: 'localhost:9999' }, {}).host, 'http://localhost:9999');
    assert.equal(modelSettingsFromOptions({ host: 'gpu-box' }, {}).host, 'http://gpu-box:11434');
    assert.equal(hostFromEnv('https://ollama.example.com/'), 'https://ollama.example.com');
  });

  it('leaves a flag the command already defines to the command', () => {
    const cmd = new Command().exitOverride().option('--seed <s>', 'puzzle seed');
    addModelOptions(cmd);
    assert.equal(cmd.options.filter((o) => o.long === '--seed').length, 1);
    assert.ok(cmd.options.some((o) => o.long === '--num-ctx'));
  });

  it('rejects bad values as usage errors naming the flag', () => {
    for (const args of [
      ['--temperature', 'hot'],
      ['--max-parallel', '0'],
      ['--provider', 'vllm'],
      ['--header', '=x'],
      ['--num-ctx', '12.5'],
      ['--host', ''],
      ['--host', 'http//gpu-box:11434'],
      ['--host', 'http:/gpu-box'],
    ]) {
      const cmd = addModelOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} }));
      assert.throws(
        () => cmd.parse(args, { from: 'user' }),
        (err: unknown) => err instanceof CommanderError && err.exitCode !== 0 && err.message.includes(args[0]!),
        args.join(' '),
      );
    }
  });

  it('--host is repeatable: the hosts make one pool, and models and doctor show every server', async () => {
    const server = await startOllamaServer();
    const other = await startOllamaServer({
      models: [{ name: 'qwen2.5-coder:7b', contextLength: 16384, family: 'qwen2' }],
    });
    const dead = await closedPortUrl();
    try {
      const cmd = addModelOptions(new Command().exitOverride());
      cmd.parse(['--host', server.url, '--host', other.url], { from: 'user' });
      const settings = modelSettingsFromOptions(cmd.opts(), {});
      assert.deepEqual(settings.hosts, [server.url, other.url]);
      assert.equal(settings.host, server.url);
      const io = capture();
      assert.equal(await runModels({ host: [server.url, other.url, dead], maxRetries: 0 }, io), 0);
      const text = io.stdout();
      assert.ok(text.includes(`${server.url}\nNAME`) && text.includes(`${other.url}\nNAME`), text);
      assert.match(text, new RegExp(`${dead.replace(/[.:/]/g, '\\$&')}\nunreachable: Cannot reach Ollama`));
      const doc = capture();
      const { report } = await runDoctorCommand(
        { host: [server.url, other.url], model: 'qwen2.5-coder:7b', sandbox: false },
        doc,
      );
      assert.equal(report.checks.filter((c) => c.id === 'server' && c.status === 'ok').length, 2, doc.stdout());
      assert.match(doc.stdout(), /qwen2\.5-coder:7b, context 16384 tokens/);
    } finally {
      await other.close();
      await server.close();
    }
  });

  it('a mistyped host says so instead of "start ollama serve"', async () => {
    const io = capture();
    assert.equal(await runModels({ host: 'http//gpu-box:11434' } as never, io).catch(() => 2), 2);
    const client = (await import('../../src/core/model/client')).createModelClient({
      ...modelSettingsFromOptions({}, {}),
      host: 'http//gpu-box:11434',
    });
    await assert.rejects(
      client.listModels(),
      /'http\/\/gpu-box:11434' is not a usable server URL \(the scheme is mistyped/,
    );
  });
});
