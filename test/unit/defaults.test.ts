import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUDGET_DEFAULTS,
  DATASET_DEFAULTS,
  DEFAULT_BUDGET,
  FEATURE_DEFAULTS,
  GENERATE_TESTS_WHEN_MISSING,
  MODEL_DEFAULTS,
  SANDBOX_DEFAULTS,
  SELF_PLAY_DEFAULTS,
} from '../../src/core/defaults';
import { modelSettingsFromOptions } from '../../src/cli/modelOptions';
import { buildProgram } from '../../src/cli/main';
import { captureIo } from '../../src/cli/io';
import type { Command, Option } from 'commander';

/** Every `crucible.*` setting of package.json and the core/defaults.ts value its default must equal. */
const EXPECTED: { [setting: string]: unknown } = {
  'crucible.provider': MODEL_DEFAULTS.provider,
  'crucible.ollama.host': MODEL_DEFAULTS.host,
  'crucible.ollama.hosts': MODEL_DEFAULTS.hosts,
  'crucible.model': MODEL_DEFAULTS.model,
  'crucible.ollama.keepAlive': MODEL_DEFAULTS.keepAlive,
  'crucible.ollama.headers': MODEL_DEFAULTS.headers,
  'crucible.generation.think': MODEL_DEFAULTS.think,
  'crucible.generation.numCtx': MODEL_DEFAULTS.numCtx,
  'crucible.generation.temperature': MODEL_DEFAULTS.temperature,
  'crucible.generation.topP': MODEL_DEFAULTS.topP,
  'crucible.generation.seed': MODEL_DEFAULTS.seed,
  'crucible.generation.numPredict': MODEL_DEFAULTS.numPredict,
  'crucible.generation.stop': MODEL_DEFAULTS.stop,
  'crucible.request.firstTokenTimeoutSeconds': MODEL_DEFAULTS.firstTokenTimeoutSeconds,
  'crucible.request.stallTimeoutSeconds': MODEL_DEFAULTS.stallTimeoutSeconds,
  'crucible.request.maxParallel': MODEL_DEFAULTS.maxParallel,
  'crucible.budget.samples': BUDGET_DEFAULTS.samples,
  'crucible.budget.rounds': BUDGET_DEFAULTS.refineRounds,
  'crucible.budget.maxTokens': BUDGET_DEFAULTS.maxTokens,
  'crucible.budget.wallSeconds': BUDGET_DEFAULTS.wallSeconds,
  'crucible.tests.generateWhenMissing': GENERATE_TESTS_WHEN_MISSING,
  'crucible.sandbox.python': SANDBOX_DEFAULTS.python,
  'crucible.sandbox.timeoutMs': SANDBOX_DEFAULTS.timeoutMs,
  'crucible.sandbox.memoryMb': SANDBOX_DEFAULTS.memoryMb,
  'crucible.codeLens.enabled': FEATURE_DEFAULTS.codeLens,
  'crucible.codeActions.enabled': FEATURE_DEFAULTS.codeActions,
  'crucible.inlineSuggestions.enabled': FEATURE_DEFAULTS.inlineSuggestions,
  'crucible.verifyOnSave': FEATURE_DEFAULTS.verifyOnSave,
  'crucible.testing.enabled': FEATURE_DEFAULTS.testing,
  'crucible.dataset.enabled': DATASET_DEFAULTS.enabled,
  'crucible.dataset.folder': DATASET_DEFAULTS.folder,
  'crucible.selfPlay.samples': SELF_PLAY_DEFAULTS.samples,
  'crucible.selfPlay.seeds': SELF_PLAY_DEFAULTS.seeds,
};

/**
 * Settings whose default is deliberately not in core/defaults.ts, each with the reason. Empty today: every
 * setting's default is shared with the CLI or the core. Add a setting here only when its default means
 * something in the editor alone (and say why), never to silence a mismatch.
 */
const UI_ONLY: { [setting: string]: string } = {};

interface SettingSchema {
  default?: unknown;
}

function packageSettings(): Map<string, SettingSchema> {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    contributes: {
      configuration:
        { properties: { [key: string]: SettingSchema } } | { properties: { [key: string]: SettingSchema } }[];
    };
  };
  const sections = Array.isArray(pkg.contributes.configuration)
    ? pkg.contributes.configuration
    : [pkg.contributes.configuration];
  const all = new Map<string, SettingSchema>();
  for (const section of sections) for (const [key, schema] of Object.entries(section.properties)) all.set(key, schema);
  return all;
}

describe('core/defaults: the one source of defaults', () => {
  const settings = packageSettings();

  it('names every package.json setting, either with its default here or as UI-only with a reason', () => {
    for (const key of settings.keys()) {
      assert.ok(
        key in EXPECTED || key in UI_ONLY,
        `${key} is in package.json but neither mapped to core/defaults.ts nor listed as UI-only`,
      );
    }
    for (const key of [...Object.keys(EXPECTED), ...Object.keys(UI_ONLY)])
      assert.ok(settings.has(key), `${key} is mapped here but not in package.json`);
    for (const [key, why] of Object.entries(UI_ONLY))
      assert.ok(why.trim().length > 10, `${key}: say why it is UI-only`);
  });

  for (const [key, value] of Object.entries(EXPECTED)) {
    it(`${key} defaults to core/defaults.ts's value`, () => {
      const schema = settings.get(key);
      assert.ok(schema, `${key} missing from package.json`);
      assert.deepEqual(
        schema.default,
        value,
        `package.json default of ${key} differs from core/defaults.ts; change one of them`,
      );
    });
  }

  it('DEFAULT_BUDGET is BUDGET_DEFAULTS in the core Budget shape', () => {
    assert.deepEqual(DEFAULT_BUDGET, {
      samples: BUDGET_DEFAULTS.samples,
      refineRounds: BUDGET_DEFAULTS.refineRounds,
      maxTokens: BUDGET_DEFAULTS.maxTokens,
      wallMs: BUDGET_DEFAULTS.wallSeconds * 1000,
    });
  });

  it('the CLI without flags or environment gets the same model settings', () => {
    const s = modelSettingsFromOptions({}, {});
    assert.equal(s.provider, MODEL_DEFAULTS.provider);
    assert.equal(s.host, MODEL_DEFAULTS.host);
    assert.equal(s.model, MODEL_DEFAULTS.model);
    assert.equal(s.keepAlive, MODEL_DEFAULTS.keepAlive);
    assert.equal(s.think, MODEL_DEFAULTS.think);
    assert.deepEqual(s.options, {
      temperature: MODEL_DEFAULTS.temperature,
      top_p: MODEL_DEFAULTS.topP,
      num_predict: MODEL_DEFAULTS.numPredict,
    });
    assert.equal(s.firstTokenTimeoutMs, MODEL_DEFAULTS.firstTokenTimeoutSeconds * 1000);
    assert.equal(s.requestTimeoutMs, MODEL_DEFAULTS.stallTimeoutSeconds * 1000);
    assert.equal(s.maxParallel, MODEL_DEFAULTS.maxParallel);
    assert.equal(s.maxRetries, MODEL_DEFAULTS.maxRetries);
  });

  describe('the CLI flags', () => {
    const program = buildProgram(captureIo());
    const command = (name: string): Command => {
      const found = program.commands.find((c) => c.name() === name);
      assert.ok(found, `no crucible ${name}`);
      return found;
    };
    const option = (cmd: string, flag: string): Option => {
      const found = command(cmd).options.find((o) => o.long === flag);
      assert.ok(found, `crucible ${cmd} has no ${flag}`);
      return found;
    };

    it('default to core/defaults.ts (budget, self-play)', () => {
      for (const cmd of ['solve', 'eval']) {
        assert.equal(option(cmd, '--rounds').defaultValue, BUDGET_DEFAULTS.refineRounds);
        assert.equal(option(cmd, '--max-tokens').defaultValue, BUDGET_DEFAULTS.maxTokens);
        assert.equal(option(cmd, '--wall-time').defaultValue, BUDGET_DEFAULTS.wallSeconds * 1000);
      }
      assert.equal(option('solve', '--samples').defaultValue, BUDGET_DEFAULTS.samples);
      assert.equal(option('selfplay', '--samples').defaultValue, SELF_PLAY_DEFAULTS.samples);
      assert.equal(option('selfplay', '--examples').defaultValue, SELF_PLAY_DEFAULTS.examples);
      assert.equal(option('selfplay', '--sat-timeout').defaultValue, SELF_PLAY_DEFAULTS.satTimeoutMs);
      assert.match(option('selfplay', '--count').description, new RegExp(`default ${SELF_PLAY_DEFAULTS.count}\\b`));
    });

    it('for the sandbox read and parse the same on every command that runs code', () => {
      for (const flag of ['--timeout', '--timeout-ms', '--memory-mb', '--python']) {
        const [first, ...rest] = ['solve', 'eval', 'verify'].map((cmd) => option(cmd, flag));
        for (const other of rest) assert.equal(other.description, first!.description, flag);
      }
      assert.match(
        option('verify', '--timeout').description,
        new RegExp(`default ${SANDBOX_DEFAULTS.timeoutMs / 1000}s`),
      );
      assert.match(option('verify', '--memory-mb').description, new RegExp(`default ${SANDBOX_DEFAULTS.memoryMb}\\)`));
      for (const cmd of ['solve', 'eval', 'verify', 'selfplay', 'doctor'])
        assert.ok(option(cmd, '--python').description.includes(`default ${SANDBOX_DEFAULTS.python})`), cmd);
      assert.equal(option('verify', '--timeout').parseArg!('2s', undefined), 2000);
      assert.equal(option('verify', '--timeout-ms').parseArg!('750', undefined), 750, 'the old name takes bare ms');
      assert.ok(option('verify', '--timeout-ms').hidden, 'the old name stays out of --help');
    });
  });

  it('is a leaf: it imports nothing (the thin VS Code bundle imports its values)', () => {
    const source = readFileSync(join(__dirname, '..', '..', 'src', 'core', 'defaults.ts'), 'utf8');
    assert.doesNotMatch(source, /^\s*(import|export)\b[^\n]*\bfrom\s+['"]/m);
    assert.doesNotMatch(source, /\brequire\s*\(/);
  });
});
