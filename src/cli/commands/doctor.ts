// `crucible doctor`: checks Node, Python, the model server, the model and the sandbox; prints what is
// wrong and how to fix it. Exit 1 when a required check fails.
import type { Command } from 'commander';
import { createModelClient } from '../../core/model/client';
import { formatDoctorReport, runDoctor, type DoctorReport } from '../../core/model/doctor';
import { createProcessSandbox } from '../../core/sandbox/processSandbox';
import { EXIT_FAILED, cliText, examples, guarded, pythonFrom } from '../shared';
import { SANDBOX_DEFAULTS } from '../../core/defaults';
import { addModelOptions, modelSettingsFromOptions, type ModelOptionValues } from '../modelOptions';
import { processIo, type CliIo } from '../io';
import { addPythonOption } from '../sandboxOptions';

export interface DoctorOptions extends ModelOptionValues {
  python?: string;
  /** commander's --no-sandbox sets this to false. */
  sandbox?: boolean;
  json?: boolean;
}

export async function runDoctorCommand(
  opts: DoctorOptions,
  io: Pick<CliIo, 'out'> = processIo(),
): Promise<{ code: number; report: DoctorReport }> {
  const settings = modelSettingsFromOptions(opts);
  const client = createModelClient(settings);
  const python = pythonFrom(opts.python) ?? SANDBOX_DEFAULTS.python;
  const report = await runDoctor({
    client,
    python,
    ...(opts.sandbox === false
      ? {}
      : {
          isolation: async () => {
            const sandbox = createProcessSandbox({ python });
            try {
              return await sandbox.isolation();
            } finally {
              await sandbox.dispose();
            }
          },
        }),
  });
  if (opts.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else io.out(`${cliText(formatDoctorReport(report))}\n`);
  return { code: report.ok ? 0 : 1, report };
}

export function registerDoctor(program: Command, io: CliIo = processIo()): void {
  const cmd = program
    .command('doctor')
    .description('Check Node, Python, the model server, the model and the sandbox, and say how to fix what is wrong.')
    .option('--no-sandbox', 'skip the sandbox isolation check')
    .option('--json', 'print the checks as JSON')
    .addHelpText(
      'after',
      examples(
        'crucible doctor',
        'crucible doctor --host http://gpu-box:11434 --model qwen2.5-coder:7b',
        'CRUCIBLE_PYTHON=/usr/bin/python3.12 crucible doctor --json',
      ),
    );
  addPythonOption(cmd, 'the sandbox, checked here');
  // Any failure of the checks themselves is exit 1 (a failed check), never a usage error.
  addModelOptions(cmd, { sampling: false }).action((opts: DoctorOptions) =>
    guarded(
      'doctor',
      async () => (await runDoctorCommand(opts, io)).code,
      () => EXIT_FAILED,
      io,
    ),
  );
}
