// Prompt size against the model's context window. Never truncates silently: every shrinking step is
// written to `notes` (the solve loop copies them into Outcome.notes, i.e. the trace), and a prompt that
// still does not fit raises PromptTooLargeError naming the fix.
//
// Rendering (documented choice): the system text becomes one `system` message; the task, the history
// and the instruction become ONE `user` message, in that order:
//
//   <task>
//
//   ## Attempt 1
//   ```
//   <code>
//   ```
//   Feedback:
//   <feedback>
//
//   ## Attempt 2 ...
//
//   <instruction>
//
// One user message keeps every chat template happy (some templates reject two user turns in a row or an
// assistant turn first) and makes the dropped/trimmed parts easy to describe.

import type { ChatMessage } from './types';

export interface PromptParts {
  system: string;
  task: string;
  /** Earlier attempts, oldest first. */
  history: { code: string; feedback: string }[];
  instruction: string;
}

export class PromptTooLargeError extends Error {
  constructor(
    readonly neededTokens: number,
    readonly contextLength: number,
    readonly reserveForAnswer: number,
  ) {
    super(
      `The prompt needs about ${neededTokens} tokens even after dropping earlier attempts and trimming feedback, but the context window is ${contextLength} tokens with ${reserveForAnswer} kept for the answer. Raise num_ctx (crucible.generation.numCtx, CLI: --num-ctx), lower crucible.generation.numPredict, or shorten the task.`,
    );
    this.name = 'PromptTooLargeError';
  }
}

/** Per-message overhead of chat templates (role markers, separators), in tokens. */
const MESSAGE_OVERHEAD = 8;

/**
 * A cheap, conservative token estimate. Code tokenizers average 3 to 4 characters per token on English and
 * code; we count 3 per token, plus one per run of whitespace-separated symbols and one per non-ASCII
 * character, so the estimate errs on the high side.
 */
export function estimateTokens(text: string): number {
  if (!text) return 0;
  let nonAscii = 0;
  let punct = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 127) nonAscii++;
    else if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) punct++;
  }
  const ascii = text.length - nonAscii;
  return Math.ceil(ascii / 3.2 + punct * 0.15 + nonAscii);
}

export function estimateMessagesTokens(messages: ChatMessage[]): number {
  return messages.reduce((n, m) => n + estimateTokens(m.content) + MESSAGE_OVERHEAD, 0);
}

function renderAttempt(n: number, entry: { code: string; feedback: string }): string {
  const fence = entry.code.includes('```') ? '~~~' : '```';
  return `## Attempt ${n}\n${fence}\n${entry.code.replace(/\s+$/, '')}\n${fence}\nFeedback:\n${entry.feedback.replace(/\s+$/, '')}`;
}

/** Renders the parts as messages (see the file comment). `firstNumber` numbers the attempts kept. */
export function renderPrompt(parts: PromptParts, firstNumber = 1): ChatMessage[] {
  const sections = [parts.task.trim()];
  parts.history.forEach((h, i) => sections.push(renderAttempt(firstNumber + i, h)));
  if (parts.instruction.trim()) sections.push(parts.instruction.trim());
  const messages: ChatMessage[] = [];
  if (parts.system.trim()) messages.push({ role: 'system', content: parts.system.trim() });
  messages.push({ role: 'user', content: sections.filter(Boolean).join('\n\n') });
  return messages;
}

/** Keeps the first `head` and last `tail` lines with an explicit marker between them. */
export function trimMiddle(text: string, head: number, tail: number): { text: string; trimmed: number } {
  const lines = text.split('\n');
  if (lines.length <= head + tail + 1) return { text, trimmed: 0 };
  const trimmed = lines.length - head - tail;
  return {
    text: [...lines.slice(0, head), `[... ${trimmed} lines trimmed ...]`, ...lines.slice(lines.length - tail)].join(
      '\n',
    ),
    trimmed,
  };
}

/** Cuts one over-long line (e.g. a huge repr) in its middle, with a marker. */
function trimLongLines(text: string, maxChars: number): { text: string; trimmed: number } {
  let trimmed = 0;
  const out = text.split('\n').map((line) => {
    if (line.length <= maxChars) return line;
    trimmed += line.length - maxChars;
    const keep = Math.floor(maxChars / 2);
    return `${line.slice(0, keep)}[... ${line.length - maxChars} characters trimmed ...]${line.slice(line.length - keep)}`;
  });
  return { text: out.join('\n'), trimmed };
}

/**
 * Fits the prompt into `contextLength - reserveForAnswer` tokens. Steps, each recorded in `notes`:
 * 1. drop the oldest attempts (the newest one is kept as long as possible);
 * 2. trim long feedback, newest attempt last, keeping its head and tail with "[... N lines trimmed ...]";
 * 3. drop the last remaining attempt.
 * If the task and instruction alone still do not fit, throws PromptTooLargeError.
 */
export function fitPrompt(
  parts: PromptParts,
  contextLength: number,
  reserveForAnswer: number,
): { messages: ChatMessage[]; notes: string[] } {
  const notes: string[] = [];
  const budget = contextLength - reserveForAnswer;
  let history = parts.history.map((h) => ({ ...h }));
  let first = 1;
  const render = (): ChatMessage[] => renderPrompt({ ...parts, history }, first);
  const fits = (): boolean => estimateMessagesTokens(render()) <= budget;
  if (fits()) return { messages: render(), notes };

  const total = history.length;
  // 1. Drop the oldest attempts while more than one remains.
  let dropped = 0;
  while (history.length > 1 && !fits()) {
    history = history.slice(1);
    first++;
    dropped++;
  }
  if (dropped > 0)
    notes.push(
      `Prompt shrunk: dropped the ${dropped} oldest of ${total} earlier attempt(s) to fit the ${contextLength}-token context.`,
    );

  // 2. Trim feedback, progressively harder.
  if (!fits()) {
    for (const [head, tail] of [
      [40, 20],
      [15, 10],
      [6, 4],
      [3, 2],
    ] as const) {
      if (fits()) break;
      history = history.map((h, i) => {
        const byLines = trimMiddle(h.feedback, head, tail);
        const byChars = trimLongLines(byLines.text, 400);
        if (byLines.trimmed > 0 || byChars.trimmed > 0) {
          const what = [
            byLines.trimmed ? `${byLines.trimmed} lines` : '',
            byChars.trimmed ? `${byChars.trimmed} characters of long lines` : '',
          ]
            .filter(Boolean)
            .join(' and ');
          notes.push(
            `Prompt shrunk: trimmed ${what} from the feedback of attempt ${first + i} (kept the first ${head} and last ${tail} lines).`,
          );
        }
        return { code: h.code, feedback: byChars.text };
      });
    }
  }

  // 3. Drop the last attempt too.
  if (!fits() && history.length > 0) {
    history = [];
    notes.push(
      `Prompt shrunk: dropped the last earlier attempt as well; the model sees only the task and the instruction.`,
    );
  }

  if (!fits()) throw new PromptTooLargeError(estimateMessagesTokens(render()), contextLength, reserveForAnswer);
  return { messages: render(), notes };
}
