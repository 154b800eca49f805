"""The Python side of self-play's validity filters. It runs inside the sandbox (never in Crucible's process)
and reads one JSON request on stdin; it answers with one nonce-tagged JSON line on the report channel
(file descriptor 3; nothing on stdout counts). It never runs a candidate solution: solutions are judged
through the judge/candidate pair.

Modes:
  inspect    parse a model-written puzzle, check sat's signature and imports, normalise its AST for
             near-duplicate detection, then probe sat: every probe runs twice (determinism), under a
             per-call time limit (slow puzzles), and must be rejected (trivial puzzles accept 0, "", [], ...).
  normalize  normalised ASTs of many sat sources at once (the seed set, in one job).
  behave     behaviour fingerprints: each sat's verdicts on one shared probe set of answers (fixed probes
             of each type plus every answer the given solvers return), for duplicates that differ in code.
  reason     run a user's function on inputs and report inputs and outputs as Python literals with their
             types, for deduction and abduction tasks.
"""
import ast
import builtins
import copy
import hashlib
import json
import os
import random
import signal
import string
import sys
import time

REQ = json.loads(sys.stdin.read())
NONCE = REQ["nonce"]
_write = os.write
_dumps = json.dumps


def emit(obj):
    # The report channel only: what the probed puzzle prints on stdout is never read as a report.
    data = (NONCE + " " + _dumps(obj) + "\n").encode()
    try:
        _write(3, data)
    except OSError:
        pass


ALLOWED_IMPORTS = set(REQ.get("allowedImports") or [])
FORBIDDEN_NAMES = {
    "open", "exec", "eval", "compile", "__import__", "input", "print", "globals", "locals", "vars",
    "breakpoint", "exit", "quit", "help", "getattr", "setattr", "delattr", "memoryview", "__builtins__",
}
BUILTIN_NAMES = set(dir(builtins)) | {"List", "Dict", "Set", "Tuple", "Optional", "typing", "sat", "sol"}
SIMPLE = {"int", "float", "str", "bool"}


class Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise Timeout()


HAS_ALARM = hasattr(signal, "setitimer")
if HAS_ALARM:
    signal.signal(signal.SIGALRM, _alarm)


def timed(fn, limit_s):
    """Runs fn() under a per-call time limit; returns (kind, value, seconds)."""
    start = time.perf_counter()
    if HAS_ALARM:
        signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        value = fn()
        kind = "ok"
    except Timeout:
        value, kind = None, "slow"
    except RecursionError:
        value, kind = "RecursionError", "error"
    except Exception as e:
        value, kind = type(e).__name__ + ": " + str(e)[:200], "error"
    finally:
        if HAS_ALARM:
            signal.setitimer(signal.ITIMER_REAL, 0)
    took = time.perf_counter() - start
    if kind != "slow" and took > limit_s:
        kind = "slow"
    return kind, value, took


def type_of(node):
    """The answer type as a small tree: 'int' | 'float' | 'str' | 'bool' | ('list', inner); None if unsupported."""
    if isinstance(node, ast.Name) and node.id in SIMPLE:
        return node.id
    if isinstance(node, ast.Subscript):
        base = node.value
        name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None
        if name in ("List", "list"):
            inner = type_of(node.slice)
            return ("list", inner) if inner is not None else None
    return None


def matches(value, t):
    if t == "int":
        return type(value) is int
    if t == "float":
        return type(value) in (float, int)
    if t == "str":
        return type(value) is str
    if t == "bool":
        return type(value) is bool
    return type(value) is list and all(matches(v, t[1]) for v in value)


def type_name(value):
    if type(value) is list:
        inner = sorted({type_name(v) for v in value})
        return "List[" + (inner[0] if len(inner) == 1 else "Any") + "]" if inner else "List"
    return type(value).__name__


def default_of(t):
    return {"int": 0, "float": 0.0, "str": "", "bool": False}[t] if isinstance(t, str) else []


def random_of(t, rng, depth=0):
    if t == "int":
        return rng.choice([rng.randint(-10, 10), rng.randint(-1000, 1000), rng.randint(0, 10 ** 6)])
    if t == "float":
        return round(rng.uniform(-100, 100), 3)
    if t == "str":
        return "".join(rng.choice(string.ascii_lowercase + " ") for _ in range(rng.randint(1, 12)))
    if t == "bool":
        return rng.random() < 0.5
    return [random_of(t[1], rng, depth + 1) for _ in range(rng.randint(1, 6 if depth == 0 else 3))]


def probes_for(t, rng, count):
    out = [0, 1, -1, "", "a", [], [0], None, True, False, 0.5]
    out += [default_of(t), [default_of(t[1])] if isinstance(t, tuple) else default_of(t)]
    out += [random_of(t, rng) for _ in range(count)]
    seen, unique = set(), []
    for v in out:
        key = type(v).__name__ + repr(v)
        if key not in seen:
            seen.add(key)
            unique.append(v)
    return unique


def unsafe_reason(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for m in mods:
                if m.split(".")[0] not in ALLOWED_IMPORTS:
                    return "imports " + m + " (allowed: " + ", ".join(sorted(ALLOWED_IMPORTS)) + ")"
        elif isinstance(node, ast.Name) and (node.id in FORBIDDEN_NAMES or node.id.startswith("__")):
            return "uses " + node.id
        elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            return "uses ." + node.attr
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            return "uses global state"
    return None


def strip_docstring(fn):
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    return body


def bound_names(fn):
    """Names the function binds itself: parameters, assignment and loop targets, inner functions."""
    out = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node is not fn:
            out.add(node.name)
    return out


class Normaliser(ast.NodeTransformer):
    """Renames identifiers in order of first use (alpha-equivalence; a local that shadows a builtin is renamed
    too), drops docstrings, bare strings and imports (what a puzzle imports shows in what it uses)."""

    def __init__(self, bound=()):
        self.names = {}
        self.bound = set(bound)

    def rename(self, name):
        if name in BUILTIN_NAMES and name not in self.bound:
            return name
        if name not in self.names:
            self.names[name] = "v" + str(len(self.names))
        return self.names[name]

    def visit_Name(self, node):
        node.id = self.rename(node.id)
        return node

    def visit_arg(self, node):
        node.arg = self.rename(node.arg)
        self.generic_visit(node)
        return node

    def visit_FunctionDef(self, node):
        node.name = self.rename(node.name)
        node.body = strip_docstring(node) or [ast.Pass()]
        self.generic_visit(node)
        return node

    def visit_Import(self, node):
        return None

    def visit_ImportFrom(self, node):
        return None

    def visit_Expr(self, node):
        # A bare string statement anywhere is a comment in disguise.
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return None
        self.generic_visit(node)
        return node


def normalise(fn):
    fn = copy.deepcopy(fn)
    fn.returns = None
    bound = bound_names(fn) - {"sat", "sol"}
    dump = ast.dump(Normaliser(bound).visit(fn), annotate_fields=False, include_attributes=False)
    return hashlib.sha256(dump.encode("utf-8")).hexdigest()


def find_def(tree, name):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def sol_header(sat_fn):
    args = sat_fn.args
    extra = args.args[1:]
    defaults = args.defaults[len(args.defaults) - len(extra):] if extra else []
    parts = [a.arg + "=" + ast.unparse(d) for a, d in zip(extra, defaults)]
    return "def sol(" + ", ".join(parts) + "):"


def segment(src, node):
    lines = src.splitlines()
    start = node.lineno - 1 - len(node.decorator_list)
    return "\n".join(lines[start:node.end_lineno])


def body_of(src, fn):
    """The body of a function as P3 stores it: the lines after the header, docstring dropped."""
    body = strip_docstring(fn)
    if not body:
        return "    pass"
    lines = src.splitlines()
    text = "\n".join(lines[body[0].lineno - 1:fn.end_lineno])
    return text


def load_sat(sat_src, limit_s):
    ns = {}
    exec("from typing import List\n", ns)
    kind, value, _ = timed(lambda: exec(compile(sat_src, "<puzzle>", "exec"), ns), limit_s)
    if kind != "ok":
        return None, kind, value
    sat = ns.get("sat")
    if not callable(sat):
        return None, "error", "sat is not a function"
    return sat, "ok", None


def call_sat(sat, x, limit_s):
    kind, value, took = timed(lambda: sat(copy.deepcopy(x)), limit_s)
    if kind == "ok":
        return ("T" if value is True else "F"), took
    return ("S" if kind == "slow" else "E"), took


def inspect(req):
    src = req["code"]
    limit = req["satTimeoutMs"] / 1000.0
    try:
        tree = ast.parse(src)
    except SyntaxError as e:
        return {"ok": False, "reason": "syntax", "detail": "SyntaxError: " + str(e.msg) + " (line " + str(e.lineno) + ")"}
    fn = find_def(tree, "sat")
    if fn is None:
        return {"ok": False, "reason": "syntax", "detail": "no top-level def sat(...)"}
    if isinstance(fn, ast.AsyncFunctionDef) or fn.decorator_list:
        return {"ok": False, "reason": "syntax", "detail": "sat must be a plain function"}
    args = fn.args
    if not args.args or args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        return {"ok": False, "reason": "untyped", "detail": "sat needs one answer argument first, then keyword parameters with defaults"}
    first = args.args[0]
    if first.annotation is None:
        return {"ok": False, "reason": "untyped", "detail": "the answer argument " + first.arg + " has no type annotation"}
    ans_type = ast.unparse(first.annotation)
    t = type_of(first.annotation)
    if t is None:
        return {"ok": False, "reason": "untyped", "detail": "answer type " + ans_type + " is not one of int, float, str, bool, List[...]"}
    if len(args.defaults) != len(args.args) - 1:
        return {"ok": False, "reason": "syntax", "detail": "every sat parameter after the answer needs a default value"}
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) and not (isinstance(n, ast.ImportFrom) and n.module == "typing")]
    scope = ast.Module(body=imports + [fn], type_ignores=[])
    why = unsafe_reason(scope)
    if why:
        return {"ok": False, "reason": "unsafe", "detail": "sat " + why}
    if imports:
        # Self-contained like P3: move the module's imports into sat's body.
        fn = copy.deepcopy(fn)
        at = 1 if len(strip_docstring(fn)) < len(fn.body) else 0
        fn.body[at:at] = imports
        sat_src = ast.unparse(fn)
    else:
        sat_src = segment(src, fn)
    sol_fn = find_def(tree, "sol")
    out = {
        "ok": True,
        "ansType": ans_type,
        "sat": sat_src,
        "sol": segment(src, sol_fn) if sol_fn is not None else None,
        "solHeader": sol_header(fn),
        "normalized": normalise(fn),
    }
    sat, kind, err = load_sat(sat_src, limit)
    if sat is None:
        out.update(ok=False, reason="slow" if kind == "slow" else "syntax", detail="sat does not load: " + str(err or "timed out"))
        return out
    rng = random.Random(req.get("seed", 0))
    values = probes_for(t, rng, req.get("randomProbes", 6))
    results = []
    for v in values:
        r1, took1 = call_sat(sat, v, limit)
        if r1 == "S":
            out.update(ok=False, reason="slow", detail="sat(" + repr(v)[:60] + ") ran longer than " + str(req["satTimeoutMs"]) + " ms")
            return out
        r2, _ = call_sat(sat, v, limit)
        results.append((v, r1, r2, took1))
    for v, r1, r2, _ in results:
        if r1 != r2:
            out.update(ok=False, reason="nondeterministic", detail="sat(" + repr(v)[:60] + ") gave " + r1 + " then " + r2)
            return out
    for v, r1, _, _ in results:
        if r1 == "T":
            out.update(ok=False, reason="trivial", detail="sat accepts the probe " + repr(v)[:60])
            return out
    out["probes"] = len(results)
    out["slowestMs"] = round(1000 * max(took for _, _, _, took in results), 3) if results else 0
    wrong_fn = find_def(tree, "wrong")
    if wrong_fn is not None:
        out["wrong"] = check_wrong(segment(src, wrong_fn), sat, t, limit)
    return out


def check_wrong(wrong_src, sat, t, limit):
    """A plausible wrong answer from the generator: of the annotated type, not a type default, and sat rejects it."""
    ns = {}
    exec("from typing import List\n", ns)
    kind, value, _ = timed(lambda: (exec(compile(wrong_src, "<wrong>", "exec"), ns), ns["wrong"]())[1], limit)
    if kind != "ok":
        return {"ok": False, "detail": "wrong() did not return: " + str(value or "timed out")}
    if not matches(value, t):
        return {"ok": False, "detail": "wrong() returned a " + type_name(value) + ", not the answer type"}
    if value == default_of(t) or (isinstance(t, tuple) and value == []):
        return {"ok": False, "detail": "wrong() returned the type's empty value, which every puzzle rejects"}
    r, _ = call_sat(sat, value, limit)
    if r == "T":
        return {"ok": False, "detail": "sat accepts the wrong answer " + repr(value)[:60]}
    if r == "S":
        return {"ok": False, "detail": "sat is slow on the wrong answer"}
    return {"ok": True, "value": repr(value)[:2000]}


def sol_header_of(fn):
    args = fn.args
    defaults = args.defaults
    parts = [a.arg + "=" + ast.unparse(d) for a, d in zip(args.args, defaults[len(defaults) - len(args.args):])] if len(defaults) == len(args.args) else None
    return "def sol(" + ", ".join(parts) + "):" if parts is not None else None


def normalise_many(req):
    out = []
    for src in req["sources"]:
        try:
            fn = find_def(ast.parse(src), "sat")
            out.append(normalise(fn) if fn is not None else None)
        except SyntaxError:
            out.append(None)
    return {"ok": True, "normalized": out}


def run_sol(src, limit):
    ns = {}
    exec("from typing import List\n", ns)
    kind, value, _ = timed(lambda: (exec(compile(src, "<solution>", "exec"), ns), ns["sol"]())[1], limit)
    return value if kind == "ok" else None


def behave(req):
    """Each sat's verdicts on one probe set: fixed probes of its type and every answer the solvers return."""
    # Short per-call limits: a fingerprint needs verdicts, not long searches ("S" is a verdict too).
    limit = min(req["satTimeoutMs"] / 1000.0, 0.1)
    sol_limit = min(req["solTimeoutMs"] / 1000.0, 1.0)
    answers = []
    for src in req.get("solutions", []):
        try:
            v = run_sol(src, sol_limit)
        except BaseException:
            v = None
        if v is not None:
            answers.append(v)
    out = []
    for src in req["sats"]:
        try:
            fn = find_def(ast.parse(src), "sat")
            t = type_of(fn.args.args[0].annotation) if fn is not None and fn.args.args else None
            sat, kind, _ = load_sat(src, limit) if t is not None else (None, "error", None)
        except SyntaxError:
            t, sat = None, None
        if sat is None:
            out.append(None)
            continue
        probes = [v for v in probes_for(t, random.Random(12345), 2) + answers if matches(v, t)]
        verdicts = "".join(call_sat(sat, copy.deepcopy(v), limit)[0] for v in probes)
        out.append(ast.unparse(fn.args.args[0].annotation) + ":" + verdicts)
    return {"ok": True, "fingerprints": out}


LITERAL_TYPES = (int, float, str, bool, list, tuple, dict, type(None))


def literal(v):
    """repr(v) when it reads back as the same value (a Python literal), else None."""
    if not isinstance(v, LITERAL_TYPES):
        return None
    r = repr(v)
    try:
        back = ast.literal_eval(r)
    except Exception:
        return None
    return r if back == v and type(back) is type(v) else None


def reason(req):
    """Runs a user's function on calls; reports each call's arguments and output as literals with their types."""
    limit = req["timeoutMs"] / 1000.0
    ns = {}
    try:
        exec(compile(req["code"], "<function>", "exec"), ns)
    except BaseException as e:
        return {"ok": False, "reason": "load", "detail": type(e).__name__ + ": " + str(e)[:200]}
    fn = ns.get(req["entry"])
    if not callable(fn):
        return {"ok": False, "reason": "load", "detail": "no function " + req["entry"]}
    out = []
    for call in req["calls"]:
        entry = {"call": call}
        try:
            node = ast.parse(call, mode="eval").body
            args = [ast.literal_eval(a) for a in node.args] if isinstance(node, ast.Call) and not node.keywords else None
        except Exception:
            args = None
        if args is None:
            entry["skip"] = "arguments are not literals"
            out.append(entry)
            continue
        kind, value, _ = timed(lambda args=args: fn(*copy.deepcopy(args)), limit)
        if kind != "ok":
            entry["skip"] = "the call " + kind + ("" if value is None else ": " + str(value)[:100])
            out.append(entry)
            continue
        lit = literal(value)
        if lit is None:
            entry["skip"] = "the output is not a literal"
            out.append(entry)
            continue
        entry.update(args=[literal(a) for a in args], output=lit, outputType=type_name(value), argTypes=[type_name(a) for a in args])
        out.append(entry)
    return {"ok": True, "results": out}


MODES = {"inspect": inspect, "normalize": normalise_many, "behave": behave, "reason": reason}
try:
    emit(MODES[REQ["mode"]](REQ))
except BaseException as e:
    emit({"ok": False, "reason": "harness", "detail": type(e).__name__ + ": " + str(e)[:300]})
