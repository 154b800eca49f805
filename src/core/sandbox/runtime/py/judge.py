"""The judge process (Python): runs the tests exactly as written and alone writes the report.

It never executes candidate code. The task's own text (a HumanEval prompt's imports and helpers, the
user's file around the function) runs here as trusted context; the candidate's names are bound to
proxies that call the candidate process over fd 3 (see rpc.py). Report lines go to fd 4, which only this
process holds. Modes: `tests`, `evaluate` (canonical values of call expressions), `puzzle` (P3: sol() in
the candidate, the type check and sat(answer) here) and `audit` (self-play: the same, with sat repeated).
"""

import ast
import builtins
import json
import os
import reprlib
import sys
import time
import traceback

import rpc

RPC_FD = 3
REPORT_FD = 4
TESTS_FILE = '<tests>'
CONTEXT_FILE = '<context>'
MAX_TEXT = 2000

# Exceptions that end the judging: the candidate is gone or asked to exit. BaseException, so no
# `except Exception` in the tests can swallow them.


class CandidateExit(BaseException):
    pass


class Report:
    def __init__(self, fd):
        self.fd = fd
        self.tests = 0

    def write(self, obj):
        data = (rpc._unlimited(lambda o: json.dumps(o, ensure_ascii=True, allow_nan=True), obj) + '\n').encode('ascii')
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError:
            pass

    def test(self, **fields):
        self.tests += 1
        fields['t'] = 'test'
        for k in ('expected', 'actual', 'error', 'message', 'source'):
            if isinstance(fields.get(k), str) and len(fields[k]) > MAX_TEXT:
                fields[k] = fields[k][:MAX_TEXT] + '…'
        self.write(fields)


_repr = reprlib.Repr()
_repr.maxstring = 300
_repr.maxother = 300
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxfrozenset = _repr.maxdeque = _repr.maxarray = 40
_repr.maxdict = 30
_repr.maxlevel = 8


def show(v):
    try:
        if type(v) is rpc.Proxy:
            return repr(v)[:MAX_TEXT]
        return _repr.repr(v)
    except RecursionError:
        return '<a value too deeply nested to show>'
    except (rpc.PeerGone, CandidateExit):
        raise
    except BaseException as e:  # noqa: B036
        return '<unprintable %s: %s>' % (type(v).__name__, type(e).__name__)


def error_text(e):
    remote = getattr(e, '__crucible_remote__', None)
    if isinstance(remote, dict):
        name = str(remote.get('type') or type(e).__name__).rsplit('.', 1)[-1]
        text = remote.get('str') or ''
    else:
        name = type(e).__name__
        try:
            text = str(e)
        except BaseException:  # noqa: B036
            text = ''
    return (name + ': ' + text) if text else name


# -- the candidate's side of the wire, seen from here ------------------------------------------------------

# What the candidate may read of an object the tests handed it, beyond public attributes: what functools.wraps
# and reprs read. Never __globals__, __code__, __closure__, __class__ or __dict__ of modules: the way into the tests.
CALLBACK_DUNDERS = {'__name__', '__qualname__', '__doc__', '__module__', '__annotations__', '__dict__', '__wrapped__',
                    '__defaults__', '__kwdefaults__', '__len__'}


def console(kind, arg=None):
    """The candidate's input() and sys.stdin, served here: in one process they are the tests' own, so a test that
    patches `builtins.input` (or `mock.patch`es it) or replaces `sys.stdin` feeds the code under test. Reads the
    judge's current ones at each call; the judge's own stdin is empty."""
    if kind == 'input':
        return builtins.input() if arg is None else builtins.input(arg)
    stream = sys.stdin
    if kind == 'read':
        return stream.read() if arg is None else stream.read(arg)
    if kind == 'readline':
        return stream.readline() if arg is None else stream.readline(arg)
    raise ValueError('unknown console request %r' % (kind,))


class JudgeSide:
    def __init__(self, fd):
        self.peer = rpc.Peer(fd, self.serve)
        self.codec = rpc.Codec(self.proxy, rpc.type_info)
        self.peer.codec = self.codec
        self.peer.named = {}
        self.peer.exit_exception = CandidateExit
        self.peer.ambient_out = self.ambient
        self.shared_state = rpc.AmbientState()
        self.shared_state.watch_reseeding()
        self.console_sent = False
        self.entry_classes = set()   # handle ids of the candidate classes the tests name
        self.classes = {}

    def proxy(self, h, info):
        if info.get('class'):
            return self.remote_class(h, info)
        gate = any(c in self.entry_classes for c in info.get('mro_ids') or ())
        return rpc.Proxy(h, self.peer, info, gate)

    def remote_class(self, h, info):
        peer = self.peer
        judge = self

        class RemoteMeta(type):
            def __call__(cls, *args, **kwargs):
                return peer.request('call', h, args=list(args), kwargs=kwargs)

            def __getattr__(cls, name):
                return peer.request('get', h, name=name)

            def __instancecheck__(cls, obj):
                if type(obj) is not rpc.Proxy:
                    return False
                return peer.request('op', h, name='__instancecheck__', args=[obj]) is True

            def __subclasscheck__(cls, other):
                if getattr(other, '_crucible_h', None) is None:
                    return False
                return peer.request('op', h, name='__subclasscheck__', args=[other]) is True

            def __repr__(cls):
                return "<class '%s'>" % info.get('name', info.get('type', 'candidate'))

        name = str(info.get('name') or 'CandidateClass')
        cls = RemoteMeta(name, (), {'_crucible_h': h, '__module__': 'candidate'})
        judge.classes[h] = cls
        return cls

    def ambient(self):
        out = self.shared_state.changed() or {}
        if not self.console_sent:
            # With the first message: the console the candidate's input() and sys.stdin read from (see console()).
            self.console_sent = True
            out['con'] = self.codec.encode(console)
        return out or None

    def serve(self, m):
        # The candidate may call back what the tests handed it: call it, iterate it, read public attributes.
        def allow(op, name):
            if op in ('call', 'release'):
                return True
            if op == 'get':
                return isinstance(name, str) and (not name.startswith('_') or name in CALLBACK_DUNDERS)
            if op == 'op':
                return name in ('__iter__', '__next__', '__len__', '__getitem__', '__contains__', '__repr__', '__str__', '__bool__', '__hash__', '__eq__')
            return False
        return self.peer.serve_request(m, allow)

    def hello(self):
        m = self.peer.recv_synced()
        while 'q' in m:
            self.peer.send_synced(self.serve(m))
            m = self.peer.recv_synced()
        return m


# Encode a candidate class the judge holds (a RemoteMeta class) back to the candidate as a reference.
def _encode_ref(codec):
    orig = codec._one

    def one(v, plain_only):
        if type(type(v)).__name__ == 'type' and type(v).__name__ == 'RemoteMeta' and '_crucible_h' in v.__dict__:
            return ['r', v.__dict__['_crucible_h']], None
        return orig(v, plain_only)
    codec._one = one


# -- assertion recording (for feedback only; never changes what a test does) -------------------------------

RECORD = {}
HITS = set()       # every assert site that has run
UNIT_HITS = set()  # the sites the current top-level statement has run


def _record(site, k, value):
    slot = RECORD.get(site)
    if slot is None:
        slot = RECORD[site] = [None, None, 0]
    slot[k] = value
    slot[2] = 1 if k == 0 else 2
    HITS.add(site)
    UNIT_HITS.add(site)
    return value


class AssertSites(ast.NodeTransformer):
    def __init__(self):
        self.sites = {}   # line -> (site id, op name or None)
        self.lines = {}   # site id -> line
        self.top = {}     # site id -> index of the top-level statement holding it
        self.current = 0
        self.count = 0

    def visit_Assert(self, node):
        self.generic_visit(node)
        self.count += 1
        site = self.count
        self.lines[site] = node.lineno
        self.top[site] = self.current
        test = node.test
        op = None
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            op = type(test.ops[0]).__name__
            test.left = self.wrap(site, 0, test.left)
            test.comparators[0] = self.wrap(site, 1, test.comparators[0])
        elif not isinstance(test, ast.Constant):
            node.test = self.wrap(site, 0, test)
        self.sites.setdefault(node.lineno, (site, op))
        return node

    @staticmethod
    def wrap(site, k, expr):
        call = ast.Call(func=ast.Name(id='__crucible_v__', ctx=ast.Load()), args=[ast.Constant(site), ast.Constant(k), expr], keywords=[])
        return ast.copy_location(call, expr)


TEST_KINDS = (ast.Assert, ast.Expr, ast.With, ast.AsyncWith, ast.Try, ast.For, ast.AsyncFor, ast.While, ast.If,
              getattr(ast, 'Match', ast.If), getattr(ast, 'TryStar', ast.Try))


def line_of(e, filename):
    tb = e.__traceback__
    line = None
    last_is_test = False
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
            last_is_test = tb.tb_next is None
        tb = tb.tb_next
    return line, last_is_test


class Judge:
    def __init__(self, spec):
        self.spec = spec
        self.report = Report(REPORT_FD)
        self.side = JudgeSide(RPC_FD)
        _encode_ref(self.side.codec)
        self.module = None
        self.ns = None
        self.lines = []
        self.sub_results = 0
        self.stopped = False
        self.missing = []

    # -- set-up ------------------------------------------------------------------------------------------
    def namespace(self):
        import types
        mod = types.ModuleType('__main__')
        mod.__file__ = TESTS_FILE
        mod.__builtins__ = builtins
        sys.modules['__main__'] = mod
        self.module = mod
        self.ns = mod.__dict__
        builtins.__crucible_v__ = _record

    def run_context(self):
        context = self.spec.get('context') or ''
        if not context.strip():
            return None
        code = compile_prefix(context, CONTEXT_FILE)
        if code is None:
            return 'the task context does not compile'
        try:
            exec(code, self.ns)
        except (rpc.PeerGone, CandidateExit):
            raise
        except BaseException as e:  # noqa: B036
            return 'the task context raised ' + error_text(e)
        self.side.peer.named = {k: v for k, v in self.ns.items() if isinstance(v, type) and getattr(v, '__module__', None) == '__main__'}
        return None

    def bind(self, names, referenced):
        """Binds the candidate's names in the test namespace; returns the names bound."""
        import importlib
        entry = list(self.spec.get('entryPoints') or [])
        defined_by_context = set(self.ns)
        bound = []
        # Classes first, so instances decoded below know which classes the tests name.
        for k, enc in names.items():
            if isinstance(enc, list) and enc and enc[0] == 'h' and isinstance(enc[2], dict) and enc[2].get('class'):
                if k in entry or k in referenced:
                    self.side.entry_classes.add(enc[1])
        for k, enc in names.items():
            # Every name the candidate defines is there, as in one file; but a builtin (abs, all, len...) or a
            # name the task itself defines (a prompt's helper) stays the task's, unless it is an entry point.
            if k not in entry and (k in defined_by_context or hasattr(builtins, k)):
                continue
            info = enc[2] if isinstance(enc, list) and enc and enc[0] == 'h' and isinstance(enc[2], dict) else None
            own_def = info is not None and (info.get('class') or info.get('type') == 'function')
            if info is not None and info.get('type') == 'module' or (k not in entry and not own_def and is_module_name(k)):
                # A module the candidate imported, or anything it put under a module's name (math = FakeMath()):
                # the tests get the judge's own, untouched module.
                try:
                    self.ns[k] = importlib.import_module(str((info or {}).get('module_name') or k))
                    bound.append(k)
                except Exception:  # noqa: BLE001
                    pass
                continue
            self.ns[k] = self.side.codec.decode(enc, self.side.peer.named)
            bound.append(k)
        for k in entry:
            if k not in names:
                self.missing.append(k)
                if k in self.ns and k not in bound:
                    # The candidate does not define the entry point: the task's stub must not stand in for it.
                    del self.ns[k]
        return bound

    # -- modes -------------------------------------------------------------------------------------------
    def start(self):
        self.namespace()
        err = self.run_context()
        if err:
            self.report.write({'t': 'fatal', 'error': err, 'where': 'context'})
            return
        hello = self.side.hello()
        mode = self.spec.get('mode', 'tests')
        if hello.get('error'):
            e = hello['error']
            self.report.write({'t': 'load', 'error': load_error_text(e), 'line': e.get('line'), 'frames': e.get('frames')})
            if mode == 'tests':
                self.report.write({'t': 'end'})
            return
        names = hello.get('names') or {}
        getattr(self, 'mode_' + mode)(names)

    def mode_tests(self, names):
        tests = self.spec.get('tests') or ''
        try:
            tree = ast.parse(tests, TESTS_FILE)
        except SyntaxError as e:
            self.report.write({'t': 'fatal', 'error': 'the tests do not compile: %s (line %s)' % (e.msg, e.lineno), 'where': 'tests'})
            return
        referenced = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        referenced |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        self.bind(names, referenced)
        self.lines = tests.splitlines()
        if uses_pytest(tree):
            self.run_pytest(tests, names)
        else:
            self.run_units(tree)
        self.report.write({'t': 'end'})

    def mode_evaluate(self, names):
        calls = self.spec.get('calls') or []
        referenced = set()
        for c in calls:
            try:
                referenced |= {n.id for n in ast.walk(ast.parse(c, '<call>', 'eval')) if isinstance(n, ast.Name)}
            except SyntaxError:
                pass
        self.bind(names, referenced)
        values = []
        for c in calls:
            try:
                v = eval(compile(c, '<call>', 'eval'), self.ns)
                values.append(json.dumps(canon(v), ensure_ascii=False, separators=(',', ':')))
            except (rpc.PeerGone, CandidateExit):
                values.extend([None] * (len(calls) - len(values)))
                break
            except BaseException:  # noqa: B036
                values.append(None)
        self.report.write({'t': 'values', 'values': values})
        self.report.write({'t': 'end'})

    def mode_puzzle(self, names):
        self.judge_puzzle(names, repeats=1)

    def mode_audit(self, names):
        self.judge_puzzle(names, repeats=int(self.spec.get('repeats') or 3))

    def judge_puzzle(self, names, repeats):
        sat_src = self.spec.get('sat') or ''
        try:
            exec('from typing import *', self.ns)
            exec(compile(sat_src, '<puzzle>', 'exec'), self.ns)
        except BaseException as e:  # noqa: B036
            self.report.write({'t': 'fatal', 'error': 'the puzzle does not run: ' + error_text(e), 'where': 'tests'})
            return
        self.bind(names, {'sol'} | set(self.spec.get('entryPoints') or []))
        sol = self.ns.get('sol')
        if sol is None:
            self.report.write({'t': 'answer', 'ok': False, 'error': 'the solution defines no sol()'})
            self.report.write({'t': 'end'})
            return
        t0 = time.perf_counter()
        try:
            answer = sol()
        except (rpc.PeerGone, CandidateExit):
            raise
        except BaseException as e:  # noqa: B036
            self.report.write({'t': 'answer', 'ok': False, 'error': error_text(e), 'frames': (getattr(e, '__crucible_remote__', None) or {}).get('frames')})
            self.report.write({'t': 'end'})
            return
        sol_ms = (time.perf_counter() - t0) * 1000
        try:
            c = canon(answer)
        except RecursionError:
            c = None
        plain = not contains_proxy(answer)
        type_ok = plain and matches_type(answer, self.spec.get('ansType') or '')
        self.report.write({'t': 'answer', 'ok': plain, 'canon': c, 'repr': show(answer), 'type_ok': type_ok, 'ms': sol_ms,
                           **({} if plain else {'error': 'sol() returned an object that is not plain data'})})
        if not plain or type_ok is not True:
            self.report.write({'t': 'end'})
            return
        sat = self.ns.get('sat')
        results = []
        slow_ms = self.spec.get('satTimeoutMs')
        for _ in range(max(1, repeats)):
            t1 = time.perf_counter()
            try:
                r = sat(answer)
                results.append({'ok': r is True, 'value': show(r), 'ms': (time.perf_counter() - t1) * 1000})
            except BaseException as e:  # noqa: B036
                results.append({'ok': False, 'error': error_text(e), 'ms': (time.perf_counter() - t1) * 1000})
            if slow_ms and results[-1]['ms'] > slow_ms:
                break
        self.report.write({'t': 'sat', 'results': results})
        self.report.write({'t': 'end'})

    # -- running tests as written ------------------------------------------------------------------------
    def run_units(self, tree):
        self.tree = tree
        sites = AssertSites()
        for i, stmt in enumerate(tree.body):
            sites.current = i
            sites.visit(stmt)
        ast.fix_missing_locations(tree)
        self.sites = sites.sites
        self.site_info = sites
        flags = 0
        import __future__
        for stmt in tree.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module == '__future__':
                for a in stmt.names:
                    feat = getattr(__future__, a.name, None)
                    if feat is not None:
                        flags |= feat.compiler_flag
        install_unittest_hooks(self)
        calls_check = False
        for stmt in tree.body:
            if self.stopped:
                break
            if isinstance(stmt, ast.ImportFrom) and stmt.module == '__future__':
                continue
            if any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == 'check' for n in ast.walk(stmt)):
                calls_check = True
            code = compile(ast.Module(body=[stmt], type_ignores=[]), TESTS_FILE, 'exec', flags=flags, dont_inherit=True)
            self.run_unit(stmt, lambda code=code: exec(code, self.ns), counted=isinstance(stmt, TEST_KINDS))
        entry = self.spec.get('entryPoints') or []
        check = self.ns.get('check')
        if not self.stopped and entry and callable(check) and not calls_check:
            # HumanEval: the tests define check(candidate); call it with the entry point, as the harness does.
            if entry[0] in self.missing:
                self.report.test(name='check(%s)' % entry[0], ok=False, error="NameError: the candidate does not define '%s'" % entry[0])
            else:
                target = self.ns.get(entry[0])
                self.run_unit(None, lambda: check(target), counted=True, name='check(%s)' % entry[0])
        if not self.stopped and self.sub_results == 0:
            self.run_uncalled_tests()

    def run_unit(self, stmt, fn, counted, name=None):
        before = self.sub_results
        line = getattr(stmt, 'lineno', None)
        source = self.source_of(stmt) if stmt is not None else name
        UNIT_HITS.clear()
        failure = None
        try:
            fn()
        except (rpc.PeerGone, CandidateExit) as e:
            self.fatal_candidate(e, line, source)
            return
        except SystemExit as e:
            self.stopped = True
            if e.code not in (None, 0, False):
                failure = {'name': source, 'ok': False, 'line': line, 'error': 'SystemExit: %s' % (e.code,), 'source': source}
        except BaseException as e:  # noqa: B036 - every failure of a test is reported
            failure = self.failure_fields(e, line, source)
        if self.sub_results != before:
            if failure is not None and failure.get('error', '').startswith('SystemExit') is False:
                self.report.test(**failure)
            return
        if self.report_sites(stmt, failure):
            return
        if failure is not None:
            self.report.test(**failure)
        elif counted:
            self.report.test(name=source, ok=True, line=line)

    def report_sites(self, stmt, failure):
        """A statement that ran asserts written in a test function (HumanEval's check(), a test_* function
        called by the tests) counts each of those asserts as a test. Returns False for any other statement."""
        info = self.site_info
        if stmt is not None:
            own = range(stmt.lineno, (getattr(stmt, 'end_lineno', None) or stmt.lineno) + 1)
            foreign = {s for s in UNIT_HITS if info.lines[s] not in own}
        else:
            foreign = set(UNIT_HITS)
        if not foreign:
            return False
        tops = {info.top[s] for s in foreign}
        static = sorted({s for s, t in info.top.items() if t in tops} | foreign)
        failing = None
        if failure is not None and failure.get('line'):
            hit = self.sites.get(failure['line'])
            failing = hit[0] if hit else None
        for s in static:
            text = self.line_text(info.lines[s])
            if s == failing:
                self.report.test(**failure)
            elif s in UNIT_HITS:
                self.report.test(name=text, ok=True, line=info.lines[s])
            elif failure is not None:
                self.report.test(name=text, ok=False, line=info.lines[s], source=text, unreached=True,
                                 error='not reached: an earlier check failed')
        if failure is not None and failing is None:
            self.report.test(**failure)
        return True
    def fatal_candidate(self, e, line, source):
        self.stopped = True
        if isinstance(e, rpc.PeerGone):
            msg = 'the candidate process ended before the tests finished (it exited, crashed or was killed)'
        else:
            msg = str(e) + ': code that exits the process cannot pass'
        self.report.test(name=source or 'tests', ok=False, line=line, error=msg, source=source, fatal=True)
        self.report.write({'t': 'fatal', 'error': msg, 'where': 'candidate'})

    def failure_fields(self, e, line, source):
        fline, direct = line_of(e, TESTS_FILE)
        fline = fline or line
        fields = {'name': source, 'ok': False, 'line': fline, 'source': self.line_text(fline) or source}
        site = self.sites.get(fline) if fline else None
        if isinstance(e, AssertionError) and direct and site is not None:
            slot = RECORD.get(site[0])
            msg = str(e)
            if slot is not None and site[1] is not None and slot[2] == 2:
                left, right = slot[0], slot[1]
                fields['actual'] = show(left)
                fields['expected'] = show(right)
                if site[1] not in ('Eq', 'Is'):
                    fields['op'] = site[1]
            elif slot is not None and slot[2] >= 1:
                fields['actual'] = show(slot[0])
                fields['expected'] = 'a true value'
            if msg:
                fields['message'] = msg
            fields['error'] = 'AssertionError' + (': ' + msg if msg else '')
        else:
            fields['error'] = error_text(e)
            remote = getattr(e, '__crucible_remote__', None)
            if isinstance(remote, dict) and remote.get('frames'):
                fields['frames'] = remote['frames']
        return fields

    def run_uncalled_tests(self):
        """pytest-style test functions and unittest classes the tests define but never run: run them."""
        import unittest
        ran = False
        for k, v in list(self.ns.items()):
            if isinstance(v, type) and issubclass(v, unittest.TestCase) and v.__module__ == '__main__':
                suite = unittest.defaultTestLoader.loadTestsFromTestCase(v)
                result = unittest.TestResult()
                try:
                    suite.run(result)
                except (rpc.PeerGone, CandidateExit) as e:
                    self.fatal_candidate(e, None, k)
                    return
                ran = True
        if ran:
            return
        for k, v in list(self.ns.items()):
            if self.stopped:
                return
            if k.startswith('test') and callable(v) and getattr(v, '__module__', None) == '__main__' and type(v).__name__ == 'function':
                code = v.__code__
                lines = range(code.co_firstlineno, code.co_firstlineno + 10000)
                already = any(self.site_info.lines[h] in lines and self.site_info.top[h] == self.top_index(code.co_firstlineno) for h in HITS)
                if code.co_argcount == 0 and not already:
                    self.run_unit(None, v, counted=True, name=k + '()')

    def top_index(self, line):
        for i, stmt in enumerate(self.tree.body):
            if stmt.lineno <= line <= (getattr(stmt, 'end_lineno', None) or stmt.lineno):
                return i
        return -1

    def source_of(self, stmt):
        if stmt is None:
            return None
        text = self.line_text(stmt.lineno)
        end = getattr(stmt, 'end_lineno', stmt.lineno)
        if end and end > stmt.lineno and isinstance(stmt, (ast.Assert, ast.Expr)):
            text = '\n'.join(self.lines[stmt.lineno - 1:end])
        return text

    def line_text(self, line):
        if not line or line > len(self.lines):
            return None
        return self.lines[line - 1].strip()

    # -- pytest ------------------------------------------------------------------------------------------
    def run_pytest(self, tests, names):
        try:
            import pytest
        except ImportError:
            self.report.write({'t': 'fatal', 'error': 'the tests use pytest, which the sandbox interpreter cannot import (install pytest for it)', 'where': 'tests'})
            return
        import tempfile
        folder = tempfile.mkdtemp(prefix='judge-')
        path = os.path.join(folder, 'test_task.py')
        with open(path, 'w', encoding='utf-8') as f:
            f.write(tests)
        # The test module gets the context's and the candidate's names through builtins (module globals win).
        for k, v in list(self.ns.items()):
            if not k.startswith('__'):
                setattr(builtins, k, v)
        judge = self
        shared = tempfile.mkdtemp(prefix='judge-data-', dir='/tmp' if os.path.isdir('/tmp') else None)
        os.chmod(shared, 0o755)

        class Collector:
            def pytest_runtest_logreport(self, report):
                if report.when == 'call' or (report.failed and report.when in ('setup', 'teardown')):
                    if report.skipped:
                        return
                    judge.sub_results += 1
                    fields = {'name': report.nodeid.split('::', 1)[-1], 'ok': report.passed}
                    if report.failed:
                        text = report.longreprtext or ''
                        fields['error'] = pytest_error(text)
                        fields['message'] = text[-1500:]
                        loc = getattr(report, 'location', None)
                        if loc and isinstance(loc[1], int):
                            fields['line'] = loc[1] + 1
                    judge.report.test(**fields)

            @pytest.hookimpl(hookwrapper=True)
            def pytest_fixture_setup(self, fixturedef, request):
                outcome = yield
                if fixturedef.argname in ('tmp_path', 'tmpdir'):
                    try:
                        path = str(outcome.get_result())
                        while path.startswith(shared) and path != shared:
                            os.chmod(path, 0o777 if path == str(outcome.get_result()) else 0o755)
                            path = os.path.dirname(path)
                    except Exception:  # noqa: BLE001 - a fixture that failed reports itself
                        pass

            def pytest_collectreport(self, report):
                if report.failed:
                    judge.sub_results += 1
                    judge.report.test(name='collecting the tests', ok=False, error=pytest_error(report.longreprtext or ''),
                                      message=(report.longreprtext or '')[-1500:])

        # tmp_path and friends live where the candidate's process may read and write them (test data, not tests).
        args = [path, '-q', '-p', 'no:cacheprovider', '-p', 'no:randomly', '-c', os.devnull, '--rootdir', folder,
                '--confcutdir', folder, '--color=no', '-o', 'addopts=', '-W', 'ignore::DeprecationWarning',
                '--basetemp', os.path.join(shared, 'pytest')]
        try:
            pytest.main(args, plugins=[Collector()])
        except (rpc.PeerGone, CandidateExit) as e:
            self.fatal_candidate(e, None, 'pytest')
        except SystemExit:
            pass
        if self.side.peer.gone:
            self.fatal_candidate(rpc.PeerGone(), None, 'pytest')


def pytest_error(text):
    for line in text.splitlines():
        s = line.strip()
        if s.startswith('E '):
            return s[1:].strip()[:MAX_TEXT]
    lines = [s for s in text.splitlines() if s.strip()]
    return (lines[-1] if lines else 'failed')[:MAX_TEXT]


def uses_pytest(tree):
    """pytest-style tests: they import pytest, or define test functions taking fixtures, and never call a runner."""
    imports_pytest = False
    fixture_tests = False
    for n in ast.walk(tree):
        if isinstance(n, ast.Import) and any(a.name == 'pytest' for a in n.names):
            imports_pytest = True
        elif isinstance(n, ast.ImportFrom) and n.module == 'pytest':
            imports_pytest = True
    for n in tree.body:
        if isinstance(n, ast.FunctionDef) and n.name.startswith('test') and (n.args.args or n.decorator_list):
            fixture_tests = True
        if isinstance(n, ast.ClassDef) and n.name.startswith('Test') and not n.bases:
            fixture_tests = True
    if not (imports_pytest or fixture_tests):
        return False
    for n in tree.body:
        # Tests that run themselves (top-level asserts or calls) are a script, whatever they import.
        if isinstance(n, (ast.Assert, ast.Expr)) and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)):
            return False
        if isinstance(n, ast.If):
            return False
    return any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name.lower().startswith('test') for n in tree.body)


def install_unittest_hooks(judge):
    """Counts unittest's own results as tests (unittest.main() or a runner the tests call)."""
    import unittest
    result = unittest.TestResult
    if getattr(result, '_crucible_hooked', False):
        return
    orig = {k: getattr(result, k) for k in ('addSuccess', 'addFailure', 'addError', 'addSubTest', 'addUnexpectedSuccess')}

    def describe(test):
        try:
            return test.id().split('.', 1)[-1]
        except Exception:  # noqa: BLE001
            return str(test)

    def failure_fields(test, err):
        exc = err[1] if isinstance(err, tuple) else None
        fields = {'name': describe(test), 'ok': False}
        if exc is not None:
            if isinstance(exc, (rpc.PeerGone, CandidateExit)):
                judge.stopped = True
            fields['error'] = error_text(exc)
            line, _ = line_of(exc, TESTS_FILE)
            if line:
                fields['line'] = line
                fields['source'] = judge.line_text(line)
        return fields

    def addSuccess(self, test):
        judge.sub_results += 1
        judge.report.test(name=describe(test), ok=True)
        return orig['addSuccess'](self, test)

    def addFailure(self, test, err):
        judge.sub_results += 1
        judge.report.test(**failure_fields(test, err))
        return orig['addFailure'](self, test, err)

    def addError(self, test, err):
        judge.sub_results += 1
        judge.report.test(**failure_fields(test, err))
        return orig['addError'](self, test, err)

    def addSubTest(self, test, subtest, err):
        if err is not None:
            judge.sub_results += 1
            fields = failure_fields(subtest, err)
            judge.report.test(**fields)
        return orig['addSubTest'](self, test, subtest, err)

    def addUnexpectedSuccess(self, test):
        judge.sub_results += 1
        judge.report.test(name=describe(test), ok=False, error='unexpected success')
        return orig['addUnexpectedSuccess'](self, test)

    result.addSuccess = addSuccess
    result.addFailure = addFailure
    result.addError = addError
    result.addSubTest = addSubTest
    result.addUnexpectedSuccess = addUnexpectedSuccess
    result._crucible_hooked = True


def is_module_name(name):
    """Is `name` a top-level module the judge's interpreter can import (math, re, numpy)?"""
    import importlib.util
    if name in sys.builtin_module_names or name in sys.modules:
        return '.' not in name
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def load_error_text(e):
    text = error_text_from_info(e)
    if e.get('exit'):
        return 'the program exited while loading (SystemExit: %s): code that exits the process cannot pass' % (e.get('str') or '')
    return text


def error_text_from_info(info):
    name = str(info.get('type') or 'Error').rsplit('.', 1)[-1]
    text = info.get('str') or ''
    return (name + ': ' + text) if text else name


def compile_prefix(text, filename):
    """Compiles the task's context; a prompt that ends mid-statement is cut back to what compiles."""
    lines = text.splitlines()
    for cut in range(len(lines), max(-1, len(lines) - 200), -1):
        try:
            return compile('\n'.join(lines[:cut]) + '\n', filename, 'exec')
        except SyntaxError:
            continue
    return None


def contains_proxy(v):
    stack = [v]
    while stack:
        x = stack.pop()
        t = type(x)
        if t is rpc.Proxy or type(t).__name__ == 'RemoteMeta':
            return True
        if t in (list, tuple, set, frozenset):
            stack.extend(x)
        elif t is dict:
            stack.extend(x.keys())
            stack.extend(x.values())
    return False


def canon(v):
    """The type-tagged canonical form the host compares (see canonical.ts); sets and dicts sorted."""
    t = type(v)
    if v is None:
        return ['none']
    if t is bool:
        return ['bool', v]
    if t is int:
        return ['int', format(v, 'x')]
    if t is float:
        return ['float', repr(v)]
    if t is str:
        return ['str', v]
    if t in (bytes, bytearray):
        return ['bytes', bytes(v).hex()]
    if t is complex:
        return ['complex', repr(v.real), repr(v.imag)]
    if t is list or (isinstance(v, list)):
        return ['list', [canon(x) for x in v]]
    if isinstance(v, tuple):
        return ['tuple', [canon(x) for x in v]]
    if isinstance(v, (set, frozenset)):
        items = sorted((canon(x) for x in v), key=lambda c: json.dumps(c))
        return ['set' if isinstance(v, set) else 'frozenset', items]
    if isinstance(v, dict):
        pairs = sorted(([canon(k), canon(x)] for k, x in v.items()), key=lambda p: json.dumps(p[0]))
        return ['dict', pairs]
    if t is rpc.Proxy:
        info = object.__getattribute__(v, '_cr_info')
        return ['obj', str(info.get('type', 'object')), []]
    return ['obj', t.__name__, [['repr', ['str', show(v)]]]]


def matches_type(v, ans_type):
    """Does `v` have the P3 answer type (int, float, str, bool, List[...], Set[...], Dict[...], Tuple[...])?"""
    t = ans_type.replace(' ', '')
    for prefix in ('typing.',):
        if t.startswith(prefix):
            t = t[len(prefix):]
    simple = {'int': int, 'float': float, 'str': str, 'bool': bool}
    if t in simple:
        return type(v) is simple[t]
    if t in ('None', 'NoneType'):
        return v is None
    for name, kind in (('List', list), ('list', list), ('Set', set), ('set', set)):
        if t.startswith(name + '[') and t.endswith(']'):
            inner = t[len(name) + 1:-1]
            return type(v) is kind and all(matches_type(x, inner) for x in v)
    for name in ('Dict', 'dict'):
        if t.startswith(name + '[') and t.endswith(']'):
            parts = split_top(t[len(name) + 1:-1])
            if len(parts) != 2:
                return 'unsupported answer type ' + ans_type
            return type(v) is dict and all(matches_type(k, parts[0]) and matches_type(x, parts[1]) for k, x in v.items())
    for name in ('Tuple', 'tuple'):
        if t.startswith(name + '[') and t.endswith(']'):
            parts = split_top(t[len(name) + 1:-1])
            if type(v) is not tuple:
                return False
            if len(parts) == 2 and parts[1] == '...':
                return all(matches_type(x, parts[0]) for x in v)
            return len(parts) == len(v) and all(matches_type(x, p) for x, p in zip(v, parts))
    if t in ('list', 'List'):
        return type(v) is list
    return 'unsupported answer type ' + ans_type


def split_top(s):
    parts, depth, cur = [], 0, ''
    for ch in s:
        if ch == '[':
            depth += 1
        elif ch == ']':
            depth -= 1
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
        else:
            cur += ch
    parts.append(cur)
    return parts


def run(spec):
    """Entry point in the judge process: spec is the job's JSON (tests, context, entry points, mode)."""
    judge = Judge(spec)
    try:
        judge.start()
    except (rpc.PeerGone, CandidateExit) as e:
        judge.fatal_candidate(e, None, None)
        judge.report.write({'t': 'end'})
    except BaseException as e:  # noqa: B036
        judge.report.write({'t': 'fatal', 'error': 'the judge failed: ' + error_text(e), 'where': 'judge',
                            'tb': ''.join(traceback.format_exception(type(e), e, e.__traceback__))[-2000:]})
