// Self-play prompts: write a new puzzle from a few examples, write an easier variant of a puzzle the
// model could not solve (LADDER), and solve a puzzle (the solver never sees the generator's solution).

import type { ChatMessage } from '../model/types';
import type { Puzzle } from '../types';
import { solutionSource } from './puzzle';
import type { Band } from './types';

export const GENERATE_SYSTEM =
  'You write Python programming puzzles in the P3 format. A puzzle is a function `sat(x: T, ...)` that returns True ' +
  'exactly when `x` is a correct answer; any further parameters have default values that fix the instance. ' +
  'Each puzzle comes with a solver `sol(...)` that takes the same extra parameters (with the same defaults) and returns an answer.';

export const SOLVE_SYSTEM =
  'You solve Python programming puzzles. Given `sat(x, ...)`, write `sol(...)` returning an `x` for which `sat(x)` is True. ' +
  'The answer is checked by running the code.';

const RULES = (allowedImports: readonly string[]): string =>
  [
    'Rules:',
    '- The first parameter of sat is the answer, annotated with one of int, float, str, bool or List[...] of those.',
    '- sat must be deterministic, finish in well under a second, and reject simple wrong answers such as 0, "", [] or None.',
    `- No input/output and no imports except ${allowedImports.join(', ')} (import inside the function).`,
    '- Also write `def wrong()` returning a plausible answer of the same type that looks right but that sat rejects (a near miss, not an empty value).',
    '- Reply with one ```python block holding `def sat`, `def sol` and `def wrong`, and nothing else.',
  ].join('\n');

const BAND_ASK: { [band in Band]: string } = {
  easy: 'Make it about as hard as the examples.',
  medium: 'Make it somewhat harder than the examples: it should need a short algorithm or a small search.',
  hard: 'Make it clearly harder than the examples: it should need real insight or a non-obvious algorithm, yet stay solvable in a few seconds.',
};

function example(puzzle: Puzzle): string {
  const sol = solutionSource(puzzle) ?? `${puzzle.solHeader.trimEnd()}\n    ...\n`;
  return '```python\n' + `${puzzle.sat.trimEnd()}\n\n${sol.trimEnd()}\n` + '```';
}

export function generationPrompt(
  examples: Puzzle[],
  topic: string,
  band: Band,
  allowedImports: readonly string[],
): ChatMessage[] {
  const shown = examples.map((p, i) => `Example ${i + 1}:\n${example(p)}`).join('\n\n');
  const user = [
    `Here are ${examples.length} example puzzle${examples.length === 1 ? '' : 's'} with solvers:`,
    shown,
    `Write one new puzzle on the topic "${topic}". It must differ from the examples, not just in names or constants. ${BAND_ASK[band]}`,
    RULES(allowedImports),
  ].join('\n\n');
  return [
    { role: 'system', content: GENERATE_SYSTEM },
    { role: 'user', content: user },
  ];
}

export function variantPrompt(parent: Puzzle, allowedImports: readonly string[]): ChatMessage[] {
  const user = [
    'No attempt could solve this puzzle:',
    '```python\n' + parent.sat.trimEnd() + '\n```',
    'Write an easier variant of it: the same idea, but a smaller instance, fewer constraints or a simpler condition, so that a careful solver succeeds.',
    RULES(allowedImports),
  ].join('\n\n');
  return [
    { role: 'system', content: GENERATE_SYSTEM },
    { role: 'user', content: user },
  ];
}

export function solvePrompt(puzzle: Pick<Puzzle, 'sat' | 'ansType' | 'solHeader'>): ChatMessage[] {
  const user = [
    '```python\n' + puzzle.sat.trimEnd() + '\n```',
    `Write a solver with exactly this header:\n\n\`\`\`python\n${puzzle.solHeader.trimEnd()}\n\`\`\`\n\n` +
      `It must return a value x of type ${puzzle.ansType} such that sat(x) is True. Compute the answer in code when that is easier than working it out by hand.`,
    'Reply with one ```python block holding `def sol` (and any imports it needs inside it).',
  ].join('\n\n');
  return [
    { role: 'system', content: SOLVE_SYSTEM },
    { role: 'user', content: user },
  ];
}
