// Code placement: a continuation task (HumanEval) is prompt + completion, but chat models usually answer
// with the whole function. Both shapes are accepted. A leaf (type imports only), so the dataset and the
// CLI can place code without loading the solve loop.
import type { Task } from '../types';

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function definitionRe(task: Task): RegExp | undefined {
  const name = task.entryPoint;
  if (!name) return undefined;
  const n = escapeRe(name);
  return task.language === 'python'
    ? new RegExp(`^[ \\t]*(async[ \\t]+)?def[ \\t]+${n}[ \\t]*\\(`, 'm')
    : new RegExp(`(^|\\W)(function\\*?[ \\t]+${n}[ \\t]*[<(]|(const|let|var)[ \\t]+${n}[ \\t]*[=:])`, 'm');
}

/** True when `code` defines the task's entry point itself (a whole function, not a continuation body). */
export function definesEntryPoint(task: Task, code: string): boolean {
  const re = definitionRe(task);
  return re !== undefined && re.test(code);
}

/** The prompt text before the entry point's definition: imports and helpers a whole-function answer still needs. */
function promptPreamble(task: Task): string {
  const re = definitionRe(task);
  const m = re ? re.exec(task.prompt) : null;
  return m ? task.prompt.slice(0, m.index + (m[1] && task.language !== 'python' ? m[1].length : 0)).trimEnd() : '';
}

/** The Task as the verifier must see it for this candidate's code. */
export function taskForCode(task: Task, code: string): Task {
  if (task.completionStyle !== 'continuation' || !definesEntryPoint(task, code)) return task;
  const preamble = promptPreamble(task);
  const context = [preamble, task.context ?? ''].filter((s) => s.trim() !== '').join('\n\n');
  return { ...task, completionStyle: 'function', ...(context ? { context } : {}) };
}

/** The code a user would keep: the whole function (for a continuation body, prompt + body). */
export function solutionOf(task: Task, code: string): string {
  if (task.completionStyle === 'continuation' && !definesEntryPoint(task, code)) return task.prompt + code;
  return code;
}
