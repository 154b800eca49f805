// The README an export writes beside its data: counts, how the data was chosen, and how to train on it. The
// text is readme.template.md (beside this file in a checkout, beside the bundle in dist/, copied there by
// esbuild.mjs); this module only fills it in.
//
// Template syntax, a small subset of Mustache: `{{name}}` is replaced by a value (an unknown name is an error);
// `{{#name}}…{{/name}}` keeps its body when the value is truthy, `{{^name}}…{{/name}}` when it is falsy. A tag
// alone on its line takes the line with it. Runs of blank lines in the result collapse to one.
import { promises as fsp, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { AtomicFile } from './atomicFile';
import type { ExportFormat } from './formats';

const README_MARK = '<!-- written by crucible export -->';
const TEMPLATE_FILE = join(__dirname, 'readme.template.md');

/** What the README reports about one export. */
export interface ReadmeFacts {
  format: ExportFormat;
  /** What one unit of output is called (examples, pairs, puzzles). */
  unit: string;
  files: { train: string; valid?: string };
  train: number;
  valid: number;
  trainTasks: number;
  validTasks: number;
  records: number;
  selected: number;
  balancedOut: number;
  corrupt: number;
  includeGenerated: boolean;
  /** The model most Records come from. */
  model: string | undefined;
}

type View = { [name: string]: string | number | boolean | undefined };

/** Hugging Face checkpoint for the Ollama model, when the name is a familiar one. */
export function baseCheckpoint(model: string | undefined): string {
  const m = /^qwen2\.5-coder:(\d+(?:\.\d+)?)b/i.exec(model ?? '');
  if (m) return `Qwen/Qwen2.5-Coder-${m[1]!.toUpperCase()}B-Instruct`;
  return 'BASE_MODEL  # the Hugging Face checkpoint of the model you run in Ollama';
}

const TAG = /\{\{([#^])(\w+)\}\}([\s\S]*?)\{\{\/\2\}\}|\{\{(\w+)\}\}/g;

/** Fills in a template (syntax above). Values are inserted as they are, never read as template text. */
export function fillTemplate(template: string, view: View): string {
  const fill = (text: string): string =>
    text.replace(
      TAG,
      (
        _match,
        kind: string | undefined,
        section: string | undefined,
        body: string | undefined,
        name: string | undefined,
      ) => {
        if (name !== undefined) {
          if (!(name in view) || view[name] === undefined) throw new Error(`README template: no value for {{${name}}}`);
          return String(view[name]);
        }
        return !!view[section!] === (kind === '#') ? fill(body!) : '';
      },
    );
  const text = fill(template.replace(/^\{\{[#^/]\w+\}\}\n/gm, (tag) => tag.slice(0, -1)));
  const lines = text.split('\n');
  return `${lines
    .filter((l, i) => l !== '' || lines[i - 1] !== '')
    .join('\n')
    .trimEnd()}\n`;
}

let template: string | undefined;

/** The README text for an export. */
export function readmeText(facts: ReadmeFacts): string {
  template ??= readFileSync(TEMPLATE_FILE, 'utf8');
  return fillTemplate(template, {
    mark: README_MARK,
    format: facts.format,
    [facts.format]: true,
    unit: facts.unit,
    trainName: basename(facts.files.train),
    validName: facts.files.valid ? basename(facts.files.valid) : undefined,
    train: facts.train,
    valid: facts.valid,
    trainTasks: facts.trainTasks,
    validTasks: facts.validTasks,
    records: facts.records,
    selected: facts.selected,
    balancedOut: facts.balancedOut,
    corrupt: facts.corrupt,
    includeGenerated: facts.includeGenerated,
    model: facts.model,
    checkpoint: baseCheckpoint(facts.model).split(' ')[0],
  });
}

/** The README's path: the one asked for, else `<stem>.README.md`; a README not written by an export is never overwritten. */
async function readmeTarget(out: string, readmePath: string | undefined): Promise<string> {
  const folder = dirname(out);
  const stem = basename(out, extname(out));
  const candidates = [
    ...(readmePath ? [readmePath] : []),
    join(folder, `${stem}.README.md`),
    join(folder, `${stem}.crucible-export.README.md`),
  ];
  for (const path of candidates) {
    try {
      const existing = await fsp.readFile(path, 'utf8');
      if (existing.startsWith(README_MARK)) return path;
    } catch {
      return path; // none yet
    }
  }
  return candidates[candidates.length - 1]!;
}

/** Writes the README for an export of `out`; returns where it went. */
export async function writeReadme(facts: ReadmeFacts, out: string, readmePath: string | undefined): Promise<string> {
  const path = await readmeTarget(out, readmePath);
  await AtomicFile.writeWhole(path, readmeText(facts));
  return path;
}
