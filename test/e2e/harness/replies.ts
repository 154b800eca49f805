// What the fake model says in the end-to-end runs: code for the sample function (right or wrong),
// prose for a critique request. Real HTTP through the Ollama-protocol test server.
import type { ChatBody, FakeModel, Responder, ScriptedReply } from '../../fixtures/ollamaServer';

export const E2E_MODEL = 'e2e-coder:7b';
export const OTHER_MODEL = 'llama3.2:latest';

export const E2E_MODELS: FakeModel[] = [
  { name: E2E_MODEL, contextLength: 8192, family: 'qwen2', parameterSize: '7.6B', sizeBytes: 4_683_087_332 },
  { name: OTHER_MODEL, contextLength: 131072, family: 'llama', parameterSize: '3.2B', sizeBytes: 2_019_393_189 },
];

/** The sample's function (walkthrough/sample.py) with its docstring, as a person would have it. */
export const SAMPLE_PY = `def running_max(values):
    """Return a list whose i-th item is the largest of values[0..i].

    >>> running_max([1, 3, 2, 5, 4])
    [1, 3, 3, 5, 5]
    >>> running_max([])
    []
    >>> running_max([-2, -5, -1])
    [-2, -2, -1]
    """
    raise NotImplementedError
`;

/** A correct body; its `best_so_far` line is what the tests look for in the file afterwards. */
export const CORRECT_RUNNING_MAX = `def running_max(values):
    """Return a list whose i-th item is the largest of values[0..i].

    >>> running_max([1, 3, 2, 5, 4])
    [1, 3, 3, 5, 5]
    >>> running_max([])
    []
    >>> running_max([-2, -5, -1])
    [-2, -2, -1]
    """
    out = []
    best_so_far = None
    for v in values:
        best_so_far = v if best_so_far is None or v > best_so_far else best_so_far
        out.append(best_so_far)
    return out`;

/** Wrong: returns the input unchanged, which fails the first doctest. */
export const WRONG_RUNNING_MAX = `def running_max(values):
    return list(values)`;

export function fenced(code: string, language = 'python'): string {
  return `Here is the function.\n\n\`\`\`${language}\n${code}\n\`\`\`\n`;
}

function lastUser(body: ChatBody): string {
  const users = body.messages.filter((m) => m.role === 'user');
  return users[users.length - 1]?.content ?? '';
}

export function isCritique(body: ChatBody): boolean {
  return /what is wrong|Do not write the corrected code/i.test(lastUser(body));
}

export function isRefine(body: ChatBody): boolean {
  return /corrected .* in full|failed this check/i.test(lastUser(body));
}

/** Wrong first, then right after feedback: the self-correcting path. */
export const defaultResponder: Responder = (body) => {
  if (isCritique(body)) return 'The function returns its input unchanged; it must keep the largest value seen so far.';
  if (isRefine(body)) return fenced(CORRECT_RUNNING_MAX);
  return fenced(WRONG_RUNNING_MAX);
};

/** Never right: the budget ends unverified. */
export const alwaysWrongResponder: Responder = (body) => {
  if (isCritique(body)) return 'Maybe the loop is wrong.';
  return fenced(WRONG_RUNNING_MAX);
};

/** Right at once (for the inline features, which show only verified code). */
export const alwaysRightResponder: Responder = (body) => {
  if (isCritique(body)) return 'Nothing is wrong.';
  return fenced(CORRECT_RUNNING_MAX);
};

/** A cold model: the answer starts only after `ms` (so a run can be cancelled while it waits). */
export function slowResponder(ms: number): Responder {
  return (): ScriptedReply => ({ content: fenced(CORRECT_RUNNING_MAX), delayBeforeHeadersMs: ms });
}
