// Runtime traces for the refine prompt (after LDB, "Debug like a Human"): run the candidate on the input
// of a failing test and report the values of the function's variables at each line it executes, so the
// model sees where the run went wrong rather than only that it did.
//
// The tracer runs in the sandbox like any candidate code (Sandbox.run) and never decides a verdict: what
// it prints only ever becomes text in a prompt. Python only; other languages get no trace.
//
// Keep TRACER_SOURCE free of backticks and dollar-brace sequences: it is embedded in a template literal,
// so that both bundles carry it without a file next to them.

import { randomBytes } from 'node:crypto';
import type { Sandbox } from '../sandbox/types';
import type { Language, TestFailure } from '../types';
import { callsOf } from './generatedTests';

export const TRACER_SOURCE = String.raw`
import json, sys

REQ = json.loads(sys.stdin.read())
MARK = REQ["marker"]
MAX_EVENTS = int(REQ.get("maxEvents", 300))
_out = sys.__stdout__


def short(v, n=48):
    try:
        r = repr(v)
    except BaseException:
        r = "<unrepresentable " + type(v).__name__ + ">"
    return r if len(r) <= n else r[: n - 3] + "..."


events = []
dropped = [0]


def tracer(frame, event, arg):
    if frame.f_code.co_filename != "<candidate>":
        return None
    if event in ("line", "return", "exception"):
        if len(events) < MAX_EVENTS:
            loc = {}
            for k, v in list(frame.f_locals.items()):
                if k.startswith("__") or callable(v) and not isinstance(v, (list, dict, set, tuple, str)):
                    continue
                loc[k] = short(v)
            extra = None
            if event == "return":
                extra = short(arg, 80)
            elif event == "exception":
                extra = arg[0].__name__ + ": " + short(str(arg[1]), 80)
            events.append([event, frame.f_code.co_name, frame.f_lineno, loc, extra])
        else:
            dropped[0] += 1
    return tracer


result = {"ok": True}
ns = {"__name__": "__crucible_trace__"}
try:
    exec(compile(REQ["code"], "<candidate>", "exec"), ns)
    call = compile(REQ["call"], "<call>", "eval")
    sys.settrace(tracer)
    try:
        value = eval(call, ns)
        result["value"] = short(value, 120)
    finally:
        sys.settrace(None)
except BaseException as e:
    result["error"] = type(e).__name__ + ": " + short(str(e), 120)
result["events"] = events
result["dropped"] = dropped[0]
_out.write(MARK + " " + json.dumps(result) + "\n")
_out.flush()
`;

export interface TraceEvent {
  event: 'line' | 'return' | 'exception';
  fn: string;
  line: number;
  locals: { [name: string]: string };
  extra?: string;
}

export interface RuntimeTrace {
  call: string;
  events: TraceEvent[];
  /** Events past the tracer's own cap. */
  dropped: number;
  value?: string;
  error?: string;
}

/** The call a failing test makes of the entry point (`candidate(...)` in HumanEval checks counts too), as `entry(...)`. */
export function failingCall(failure: TestFailure, entryPoint: string): string | undefined {
  const direct = callsOf(failure.test, entryPoint)[0];
  if (direct) return direct;
  const viaCandidate = callsOf(failure.test, 'candidate')[0];
  return viaCandidate ? entryPoint + viaCandidate.slice('candidate'.length) : undefined;
}

/** Runs the tracer on `program` (the candidate with its context) and `call`. Undefined when it cannot tell. */
export async function traceRun(
  sandbox: Sandbox,
  language: Language,
  program: string,
  call: string,
  signal?: AbortSignal,
): Promise<RuntimeTrace | undefined> {
  if (language !== 'python') return undefined;
  const marker = `TRACE-${randomBytes(8).toString('hex')}`;
  const result = await sandbox.run(
    {
      language: 'python',
      source: TRACER_SOURCE,
      stdin: JSON.stringify({ marker, code: program, call, maxEvents: 300 }),
      limits: { wallMs: 5000, cpuMs: 5000, outputBytes: 256 * 1024 },
    },
    signal,
  );
  const line = result.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(`${marker} `));
  if (!line) return undefined;
  try {
    const raw = JSON.parse(line.slice(marker.length + 1)) as {
      events?: unknown[];
      dropped?: number;
      value?: string;
      error?: string;
    };
    const events: TraceEvent[] = (raw.events ?? []).flatMap((e) => {
      if (!Array.isArray(e) || e.length < 4) return [];
      const [event, fn, ln, locals, extra] = e as [
        TraceEvent['event'],
        string,
        number,
        { [k: string]: string },
        string | null,
      ];
      return [{ event, fn, line: ln, locals, ...(extra ? { extra } : {}) }];
    });
    return {
      call,
      events,
      dropped: raw.dropped ?? 0,
      ...(raw.value !== undefined ? { value: raw.value } : {}),
      ...(raw.error !== undefined ? { error: raw.error } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * The trace as compact text of at most `maxChars`: one line per executed source line with the variables
 * that changed since the previous step of the same function. When it is too long, the first and the last
 * steps are kept and the middle is elided (the number of steps left out is said).
 */
export function formatTrace(trace: RuntimeTrace, program: string, maxChars: number): string {
  const src = program.split('\n');
  const lastSeen = new Map<string, { [k: string]: string }>();
  const rows: string[] = [];
  for (const e of trace.events) {
    const prev = lastSeen.get(e.fn) ?? {};
    const changed = Object.entries(e.locals).filter(([k, v]) => prev[k] !== v);
    lastSeen.set(e.fn, e.locals);
    const vars = changed.map(([k, v]) => `${k}=${v}`).join(', ');
    if (e.event === 'line') {
      const text = (src[e.line - 1] ?? '').trim().slice(0, 60);
      rows.push(`L${e.line} ${text}${vars ? `    # ${vars}` : ''}`);
    } else if (e.event === 'return') {
      rows.push(`${e.fn} returns ${e.extra ?? '?'}${vars ? `    # ${vars}` : ''}`);
    } else {
      rows.push(`L${e.line} raises ${e.extra ?? ''}`);
    }
  }
  const head = `Trace of ${trace.call} (variables as each line starts; only changes shown):`;
  const tail =
    trace.error !== undefined
      ? `Result: raised ${trace.error}`
      : trace.value !== undefined
        ? `Result: ${trace.value}`
        : '';
  const budget = Math.max(0, maxChars - head.length - tail.length - 2);
  let body = rows.join('\n');
  if (body.length > budget) {
    // Keep steps from both ends until the budget is used.
    const first: string[] = [];
    const last: string[] = [];
    let used = 60; // room for the elision line
    let i = 0;
    let j = rows.length - 1;
    while (i <= j) {
      const take = first.length <= last.length ? rows[i]! : rows[j]!;
      if (used + take.length + 1 > budget) break;
      used += take.length + 1;
      if (first.length <= last.length) first.push(rows[i++]!);
      else last.unshift(rows[j--]!);
    }
    const left = j - i + 1 + trace.dropped;
    body = [...first, `… ${left} step(s) left out …`, ...last].join('\n');
  } else if (trace.dropped > 0) {
    body += `\n… ${trace.dropped} more step(s) not recorded`;
  }
  return [head, body, tail].filter((s) => s !== '').join('\n');
}
