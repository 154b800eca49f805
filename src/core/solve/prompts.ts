// Prompt texts for the solve loop: first samples, critique, refine and test writing, per language.
// Pure string building; the loop sizes them against the context window with fitPrompt.

import type { Language, Task, TestFailure } from '../types';

const LANGUAGE_NAME: { [L in Language]: string } = {
  python: 'Python',
  javascript: 'JavaScript',
  typescript: 'TypeScript',
};

/** The tag used on fenced code blocks. */
export function fenceTag(language: Language): string {
  return language;
}

function fenced(language: Language, code: string): string {
  return `\`\`\`${fenceTag(language)}\n${code.replace(/\s+$/, '')}\n\`\`\``;
}

function what(task: Task): string {
  return task.entryPoint ? `the function \`${task.entryPoint}\`` : 'the code';
}

export function systemPrompt(language: Language): string {
  const name = LANGUAGE_NAME[language];
  return [
    `You are an expert ${name} programmer. You write correct, complete, self-contained code.`,
    `When you write code, answer with exactly one fenced \`\`\`${fenceTag(language)} block holding the complete function (signature, body and any imports it needs).`,
    'Do not write tests or example usage in the code block.',
  ].join('\n');
}

/** A prompt that is a signature with a docstring (rather than prose) is shown as code. */
export function looksLikeCode(prompt: string): boolean {
  const first = prompt.split('\n').find((l) => l.trim() !== '') ?? '';
  return /^\s*(@\w|(async\s+)?def\s|class\s|import\s|from\s+\S+\s+import\s|(export\s+)?(async\s+)?function\b|(export\s+)?(const|let|var|interface|type)\s)/.test(
    first,
  );
}

/** Whether the model may see the task's tests: yes for the user's own work, never for benchmark tasks (that would leak the answer key). */
export function showsTests(task: Task): boolean {
  return task.origin === 'user' && task.testsOrigin === 'user' && task.tests.trim() !== '';
}

/** The task as the model first sees it. Also the first user message of every later conversation. */
export function taskPrompt(task: Task): string {
  const lang = task.language;
  const name = LANGUAGE_NAME[lang];
  const parts: string[] = [];
  if (task.completionStyle === 'continuation') {
    parts.push(`Complete this ${name} code. Write ${what(task)} in full, signature included.`);
    parts.push(fenced(lang, task.prompt));
  } else {
    parts.push(`Write ${what(task)} in ${name}.`);
    parts.push(looksLikeCode(task.prompt) ? fenced(lang, task.prompt) : task.prompt.trim());
  }
  if (task.context && task.context.trim() !== '') {
    parts.push('This code is already present before it (you may use it; do not repeat it):');
    parts.push(fenced(lang, task.context));
  }
  if (task.currentCode && task.currentCode.trim() !== '') {
    parts.push('The current code, to be fixed or improved:');
    parts.push(fenced(lang, task.currentCode));
  }
  if (task.hint && task.hint.trim() !== '') parts.push(`Note: ${task.hint.trim()}`);
  if (showsTests(task)) {
    parts.push('It must pass these tests:');
    parts.push(fenced(lang, task.tests));
  }
  return parts.join('\n\n');
}

/** Instruction closing the first request. */
export function sampleInstruction(task: Task): string {
  return `Answer with ${what(task)} in one \`\`\`${fenceTag(task.language)} block.`;
}

/**
 * A second prompt style for the first samples, so that candidates differ for more reasons than sampling
 * noise: work from the edge cases first, then write the code.
 */
export function sampleInstructionEdgeCases(task: Task): string {
  return [
    'Before writing code, list in two or three short sentences the edge cases and the exact behaviour the description asks for (empty inputs, boundaries, ties, negative numbers, types).',
    `Then answer with ${what(task)} written from that list, in one \`\`\`${fenceTag(task.language)} block.`,
  ].join(' ');
}

/** The critique step: from the execution feedback (shown just before, in the history), the model says what is wrong. */
export function critiqueInstruction(task: Task): string {
  return [
    `The last code above failed when it ran (the execution feedback is above).`,
    `Explain in a few sentences what is wrong with ${what(task)} and how to fix it.`,
    'Reason from the failing test, the expected and actual values and the error. Do not write the corrected code yet.',
  ].join(' ');
}

/** One failing check in words, always carried by the refine prompt even when the history had to be trimmed. */
export function describeFailure(failure: TestFailure): string {
  const lines = [`Failing test: ${failure.test}`];
  if (failure.expected !== undefined) lines.push(`Expected: ${failure.expected}`);
  if (failure.actual !== undefined) lines.push(`Actual: ${failure.actual}`);
  if (failure.error !== undefined) lines.push(`Error: ${failure.error}`);
  return lines.join('\n');
}

/** The refine step: a new candidate, carrying the failing test, expected versus actual, the error and the critique. */
export function refineInstruction(
  task: Task,
  failures: TestFailure[],
  feedback: string,
  critique: string | undefined,
  trace?: string,
): string {
  const parts: string[] = [];
  if (failures.length > 0) {
    parts.push('The code failed this check:');
    parts.push(failures.slice(0, 3).map(describeFailure).join('\n\n'));
  } else if (feedback.trim() !== '') {
    parts.push('The code failed:');
    parts.push(feedback.trim());
  }
  if (trace && trace.trim() !== '') {
    parts.push('What the code did on the failing input (a runtime trace):');
    parts.push(`\`\`\`text\n${trace.trim()}\n\`\`\``);
  }
  if (critique && critique.trim() !== '') {
    parts.push('Your analysis of the problem:');
    parts.push(critique.trim());
  }
  parts.push(`Now write the corrected ${what(task)} in full, in one \`\`\`${fenceTag(task.language)} block.`);
  return parts.join('\n\n');
}

/** Asks again after an answer that held no code. */
export function noCodeInstruction(task: Task): string {
  return `Your answer held no code block. Answer with ${what(task)} in one \`\`\`${fenceTag(task.language)} block.`;
}

/** The start both test-writing styles share: the task, then how many assertions of which form. */
function testsHead(task: Task, count: number, layout: string): { lang: Task['language']; head: string[] } {
  const lang = task.language;
  const fn = task.entryPoint ?? 'the function';
  const shape =
    lang === 'python'
      ? `\`assert ${fn}(...) == expected\``
      : `\`assert.deepStrictEqual(${fn}(...), expected);\` (with \`assert\` from node:assert)`;
  const statement =
    task.completionStyle === 'continuation' || looksLikeCode(task.prompt)
      ? fenced(lang, task.prompt)
      : task.prompt.trim();
  const subject = task.entryPoint ? `\`${fn}\`` : 'it';
  return {
    lang,
    head: [
      `Here is a ${LANGUAGE_NAME[lang]} task:`,
      statement,
      `Write ${count} test assertions for ${subject}, ${layout}each of the form ${shape}.`,
    ],
  };
}

/** Asks for tests when the task has none. */
export function testsPrompt(task: Task, count: number): string {
  const { lang, head } = testsHead(task, count, 'one per line, ');
  return [
    ...head,
    'Cover typical inputs and edge cases, and work out each expected value carefully from the description.',
    `Answer with only the assertions, in one \`\`\`${fenceTag(lang)} block; do not implement the function.`,
  ].join('\n\n');
}

/**
 * A second style of test writing: from the examples and the edge cases, working each expected value out
 * step by step before writing it down. Both styles ask for "test assertions" in one code block.
 */
export function testsPromptWorked(task: Task, count: number): string {
  const { lang, head } = testsHead(task, count, '');
  return [
    ...head,
    'Pick inputs a wrong implementation would get wrong: boundaries, empty and single-element inputs, repeated values. If the description gives examples, agree with them.',
    'For each one, first work out the expected value by hand in a short comment line, then write the assertion on the next line.',
    `Answer with the comments and assertions in one \`\`\`${fenceTag(lang)} block; do not implement the function.`,
  ].join('\n\n');
}

/** S*: asks for inputs on which two candidates (shown as A and B) behave differently. */
export function distinguishPrompt(task: Task, a: string, b: string, count: number): string {
  const lang = task.language;
  const fn = task.entryPoint ?? 'the function';
  return [
    `Here is a ${LANGUAGE_NAME[lang]} task:`,
    task.completionStyle === 'continuation' || looksLikeCode(task.prompt)
      ? fenced(lang, task.prompt)
      : task.prompt.trim(),
    'Two implementations pass the same tests:',
    `Implementation A:\n${fenced(lang, a)}`,
    `Implementation B:\n${fenced(lang, b)}`,
    `Write up to ${count} calls of \`${fn}\` with concrete arguments on which A and B return different results, one call per line, as plain expressions such as \`${fn}(...)\`. Valid inputs only (inputs the description allows).`,
    `Answer with only the calls, in one \`\`\`${fenceTag(lang)} block.`,
  ].join('\n\n');
}

/** S*: asks which of two outputs for one input is the right one, from the task's description alone. */
export function judgeOutputPrompt(task: Task, call: string, outA: string, outB: string): string {
  const lang = task.language;
  return [
    `Here is a ${LANGUAGE_NAME[lang]} task:`,
    task.completionStyle === 'continuation' || looksLikeCode(task.prompt)
      ? fenced(lang, task.prompt)
      : task.prompt.trim(),
    `Two implementations disagree on \`${call}\`:`,
    `A returns: ${outA}\nB returns: ${outB}`,
    'Work out from the description what the correct result is. End your answer with a last line that is exactly `Answer: A` or `Answer: B`.',
  ].join('\n\n');
}
