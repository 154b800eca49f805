// The Python harness: the program the verify layer hands the sandbox for a Python job.
//
// Design (why a candidate cannot forge a verdict):
// 1. The verdict is decided in the parent (TypeScript, report.ts), never in the candidate's process. The child only
//    *reports*: for every `assert`, the canonical, type-tagged value of each operand (e.g. `f(x)` and `y` of
//    `assert f(x) == y`); the parent compares them with exact types (1 != 1.0 != True). A value the harness cannot
//    serialise canonically (a function, an object with __slots__ only, a cycle) fails the check. Subclasses of
//    built-in types are serialised from their underlying built-in data through unbound C methods, so an
//    overridden __eq__/__iter__/__str__ is never consulted.
// 2. Report lines go to file descriptor 3, each prefixed with a random nonce the parent passes on stdin. The harness
//    reads and keeps it in a closure before the candidate runs; the nonce is never in the program text. Printing
//    PASSED, writing to fd 3 or exiting 0 proves nothing without it.
// 3. Everything the harness needs (os.write, os._exit, the JSON string encoder, type, builtins) is captured, the
//    tests are parsed, rewritten (ast) and compiled, and the plan (every assert site, its operand structure and
//    whether it must run) is reported BEFORE the candidate's code runs. The parent requires the `end` marker after
//    all tests and every unconditional assert site to have reported: sys.exit/os._exit/skipping/fewer tests fail.
// 4. The tests run in their own namespace (a copy of the candidate's) with a pristine copy of builtins, and the
//    modules present at start are put back into sys.modules (with their functions and classes) after the candidate
//    ran, so monkeypatched builtins/assert helpers/sys.modules entries do not reach the tests. An audit hook
//    (irremovable) blocks the introspection paths to the harness's frames and closures (gc referrers, frame
//    walking, tracing, ctypes, code replacement) while candidate code runs.
// 5. Puzzles: `sol()` runs in one job that only reports its answer; `sat(answer) is True` runs in a second, clean job
//    that rebuilds the answer from the type-tagged JSON and never sees candidate code.
// Residual risk, stated honestly: the harness shares an interpreter with the candidate, so a candidate that finds a
// memory-level hole not covered by the audit events could still reach the nonce; the audit hook makes that a
// deliberate exploit rather than a monkeypatch.

export type PythonMode = 'tests' | 'evaluate' | 'sol' | 'sat';

export interface PythonPayload {
  mode: PythonMode;
  /** The candidate's program (context + code), or the puzzle's `sat` source in `sat` mode. */
  code: string;
  tests?: string;
  /** HumanEval: call `check(<entryPoint>)` after the tests ran, when the tests define `check` and do not call it. */
  entryPoint?: string;
  /** `evaluate` mode: expressions to evaluate after the candidate ran. */
  calls?: string[];
  /** `sat` mode: the answer as canonical JSON. */
  answer?: string;
}

const HARNESS = String.raw`
def _crucible_main(_P):
    import sys, os, ast, builtins, types, json.encoder
    _write = os.write
    _exit = os._exit
    _type = type
    _id = id
    _len = len
    _isinstance = isinstance
    _repr = repr
    _sorted = sorted
    _str = str
    _esc = json.encoder.c_encode_basestring_ascii or json.encoder.py_encode_basestring_ascii
    _BaseException = BaseException
    _exc_args = BaseException.__dict__['args'].__get__
    _int_fmt = int.__format__
    _float_repr = float.__repr__
    _str_copy = str.__str__
    _list_copy = list.copy
    _tuple_get = tuple.__getitem__
    _dict_copy = dict.copy
    _dict_items = dict.items
    _set_copy = set.copy
    _fs_new = frozenset
    _bytes_hex = bytes.hex
    _obj_getattr = object.__getattribute__
    _FunctionType = types.FunctionType
    _ModuleType = types.ModuleType
    _CodeType = types.CodeType
    _stdout = sys.__stdout__
    _stderr = sys.__stderr__
    _join = ''.join
    _sys_modules = sys.modules
    _ALL = slice(None)
    try:
        sys.set_int_max_str_digits(0)  # P3 and big-number tasks predate the 3.11 conversion limit
    except AttributeError:
        pass

    # The nonce: one line on stdin, read before anything else runs, kept only in this closure.
    buf = b''
    while b'\n' not in buf:
        chunk = os.read(0, 256)
        if not chunk:
            break
        buf += chunk
    nonce = buf.split(b'\n', 1)[0].decode('ascii', 'replace').strip()
    del buf

    def emit(kind, body):
        data = ('\n' + nonce + ' ' + kind + ' ' + body + '\n').encode('utf-8', 'surrogatepass')
        try:
            while data:
                data = data[_write(3, data):]
        except OSError:
            pass

    class Unserialisable(Exception):
        pass

    state = {'internal': False, 'nodes': 0}

    def enc(v, stack=None):
        # Canonical, type-tagged JSON text for v. Never calls a method the candidate could have overridden.
        state['nodes'] += 1
        if state['nodes'] > 2000000:
            raise Unserialisable('value too large to compare')
        t = _type(v)
        if v is None:
            return '["none"]'
        if t is bool:
            return '["bool",true]' if v is True else '["bool",false]'
        if _isinstance(v, int):
            return '["int","' + _int_fmt(v, 'x') + '"]'
        if _isinstance(v, float):
            return '["float","' + _float_repr(v) + '"]'
        if _isinstance(v, str):
            return '["str",' + _esc(_str_copy(v)) + ']'
        if _isinstance(v, (bytes, bytearray)):
            return '["bytes","' + _bytes_hex(bytes(v)) + '"]'
        if t is complex:
            return '["complex","' + _float_repr(v.real) + '","' + _float_repr(v.imag) + '"]'
        if stack is None:
            stack = set()
        key = _id(v)
        if key in stack:
            raise Unserialisable('a value refers to itself (cycle)')
        stack.add(key)
        try:
            if _isinstance(v, list):
                return '["list",[' + enc_seq(_list_copy(v), stack) + ']]'
            if _isinstance(v, tuple):
                return '["tuple",[' + enc_seq(_tuple_get(v, _ALL), stack) + ']]'
            if _isinstance(v, dict):
                pairs = _sorted([(enc(k, stack), enc(x, stack)) for k, x in _dict_items(_dict_copy(v))])
                return '["dict",[' + ','.join(['[' + a + ',' + b + ']' for a, b in pairs]) + ']]'
            if _isinstance(v, (set, frozenset)):
                items = _sorted([enc(x, stack) for x in (_set_copy(v) if _isinstance(v, set) else _fs_new(v))])
                return '["' + ('set' if _isinstance(v, set) else 'frozenset') + '",[' + ','.join(items) + ']]'
            if _isinstance(v, _type):
                return '["type",' + _esc(_str_copy(_obj_getattr(v, '__qualname__'))) + ',"' + _int_fmt(_id(v), 'x') + '"]'
            if _type(t) is _type and t.__module__ not in ('builtins',) and not _isinstance(v, (_FunctionType, _ModuleType, _CodeType, _BaseException)):
                try:
                    d = _obj_getattr(v, '__dict__')
                except AttributeError:
                    raise Unserialisable('an object of type ' + _str_copy(t.__qualname__) + ' without __dict__ cannot be compared')
                if _type(d) is not dict:
                    raise Unserialisable('an object of type ' + _str_copy(t.__qualname__) + ' cannot be compared')
                pairs = _sorted([(_esc(_str_copy(k)), enc(x, stack)) for k, x in _dict_items(_dict_copy(d)) if _type(k) is str])
                return '["obj",' + _esc(_str_copy(t.__qualname__)) + ',[' + ','.join(['[' + a + ',' + b + ']' for a, b in pairs]) + ']]'
            raise Unserialisable('a value of type ' + _str_copy(t.__qualname__) + ' cannot be compared')
        finally:
            stack.discard(key)

    _map = map
    _set = set
    _repeat_x = __import__('itertools').repeat

    def enc_seq(xs, stack):
        # Fast paths (C-level map) for sequences of one exact scalar type: big answers stay cheap.
        n = _len(xs)
        state['nodes'] += n
        if state['nodes'] > 2000000:
            raise Unserialisable('value too large to compare')
        if n:
            kinds = _set(_map(_type, xs))
            if _len(kinds) == 1:
                k = kinds.pop()
                if k is int:
                    return '["int","' + '"],["int","'.join(_map(_int_fmt, xs, _repeat_x('x', n))) + '"]'
                if k is str:
                    return '["str",' + '],["str",'.join(_map(_esc, xs)) + ']'
                if k is float:
                    return '["float","' + '"],["float","'.join(_map(_float_repr, xs)) + '"]'
        return ','.join([enc(x, stack) for x in xs])

    def enc_value(v):
        state['nodes'] = 0
        try:
            return '["ok",' + enc(v) + ']'
        except Unserialisable as e:
            return '["bad",' + _esc(_str_copy(_exc_args(e)[0])) + ']'
        except RecursionError:
            return '["bad","value nested too deeply to compare"]'

    def exc_text(e):
        # "Type: message" without running the candidate's __str__/__repr__.
        t = _type(e)
        name = _str_copy(_obj_getattr(t, '__name__')) if _type(_obj_getattr(t, '__name__')) is str else 'Exception'
        try:
            args = _exc_args(e)
        except _BaseException:
            args = ()
        if _len(args) == 1 and _isinstance(args[0], str):
            msg = _str_copy(args[0])
        elif _len(args) == 0:
            msg = ''
        else:
            parts = []
            for a in args:
                parts.append(_str_copy(a) if _isinstance(a, str) else _repr(a) if _type(a) in (int, float, bool) else '<' + _str_copy(_type(a).__qualname__) + '>')
            msg = ', '.join(parts)
        return name + (': ' + msg if msg else '')

    def exc_json(e):
        # Exception plus the traceback frames that belong to the candidate or the tests.
        frames = []
        state['internal'] = True
        try:
            tb = e.__traceback__
            n = 0
            while tb is not None and n < 200:
                f = tb.tb_frame
                fname = f.f_code.co_filename
                if fname in ('<candidate>', '<tests>'):
                    frames.append('[' + _esc(fname) + ',' + _str(tb.tb_lineno) + ',' + _esc(_str_copy(f.f_code.co_name)) + ']')
                tb = tb.tb_next
                n += 1
        except _BaseException:
            pass
        finally:
            state['internal'] = False
        line = None
        if _isinstance(e, SyntaxError):
            try:
                line = _obj_getattr(e, 'lineno')
                fn = _obj_getattr(e, 'filename')
                if _type(line) is int and _type(fn) is str:
                    frames.append('[' + _esc(fn) + ',' + _str(line) + ',"<module>"]')
            except _BaseException:
                pass
        return '{"error":' + _esc(exc_text(e)) + ',"frames":[' + ','.join(frames) + ']}'

    # --- the audit hook: no introspection into the harness while candidate code runs ---
    _blocked_events = frozenset(['gc.get_objects', 'gc.get_referrers', 'gc.get_referents', 'sys._current_frames',
                                 'sys.settrace', 'sys.setprofile', 'sys._getframe', 'sys.addaudithook',
                                 'cpython._PySys_ClearAuditHooks'])
    _blocked_attrs = frozenset(['tb_frame', 'gi_frame', 'cr_frame', 'ag_frame', 'f_back', '__globals__'])

    class HarnessRestriction(ValueError):
        pass

    def hook(event, args):
        if state['internal']:
            return
        if event in _blocked_events or event.startswith('ctypes.'):
            raise HarnessRestriction(event + ' is not available to code under test')
        if event == 'object.__getattr__' and _len(args) > 1 and args[1] in _blocked_attrs:
            raise HarnessRestriction('reading ' + _str(args[1]) + ' is not available to code under test')
        if event == 'object.__setattr__' and _len(args) > 1 and args[1] in ('__code__', '__globals__'):
            raise HarnessRestriction('replacing ' + _str(args[1]) + ' is not available to code under test')
        if event == 'import' and args and args[0] in ('ctypes', '_ctypes'):
            raise HarnessRestriction('importing ctypes is not available to code under test')

    def _splitlines(text):
        # Lines with their ends, split at \r\n, \r and \n only (as ast does; not at form feeds).
        import re
        return re.findall('[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+', text)

    # --- parse and rewrite the tests before the candidate runs ---
    mode = _P['mode']
    tests_src = _P.get('tests') or ''
    sites = []

    def leaf_struct(node, leaves):
        # Returns a JSON structure describing how the parent evaluates this assert; appends leaf expressions.
        if _isinstance(node, ast.UnaryOp) and _isinstance(node.op, ast.Not):
            return '["not",' + leaf_struct(node.operand, leaves) + ']'
        if _isinstance(node, ast.BoolOp):
            kind = 'and' if _isinstance(node.op, ast.And) else 'or'
            return '["' + kind + '",[' + ','.join([leaf_struct(v, leaves) for v in node.values]) + ']]'
        if _isinstance(node, ast.Compare):
            names = []
            ok = True
            for op, right in zip(node.ops, node.comparators):
                if _isinstance(op, (ast.Is, ast.IsNot)):
                    if _isinstance(right, ast.Constant) and (right.value is None or right.value is True or right.value is False):
                        names.append('Is' if _isinstance(op, ast.Is) else 'IsNot')
                    else:
                        ok = False
                else:
                    names.append(_type(op).__name__)
            if ok:
                idx = []
                for operand in [node.left] + list(node.comparators):
                    idx.append(_str(_len(leaves)))
                    leaves.append(operand)
                return '["cmp",[' + ','.join(['"' + n + '"' for n in names]) + '],[' + ','.join(idx) + ']]'
        i = _len(leaves)
        leaves.append(node)
        return '["truth",' + _str(i) + ']'

    src_lines = []

    def source_segment(node):
        # ast.get_source_segment, with the tests split into lines once instead of once per assert.
        if not src_lines:
            src_lines.extend(_splitlines(tests_src))
        first, last = node.lineno - 1, node.end_lineno - 1
        if first == last:
            return src_lines[first].encode()[node.col_offset:node.end_col_offset].decode()
        parts = [src_lines[first].encode()[node.col_offset:].decode()]
        parts.extend(src_lines[first + 1:last])
        parts.append(src_lines[last].encode()[:node.end_col_offset].decode())
        return ''.join(parts)

    def _at(new, old):
        # Give a node the rewriter creates the source position of the node it stands for (compile needs one).
        new.lineno = old.lineno
        new.col_offset = old.col_offset
        new.end_lineno = getattr(old, 'end_lineno', None)
        new.end_col_offset = getattr(old, 'end_col_offset', None)
        return new

    _STMT_HOLDERS = (ast.mod, ast.stmt, ast.excepthandler) + ((ast.match_case,) if hasattr(ast, 'match_case') else ())

    class Rewriter(ast.NodeTransformer):
        def __init__(self):
            self.cond = 0

        def generic_visit(self, node):
            # Asserts are statements and no expression contains a statement: expression subtrees (often large
            # literals in the tests) are left as they are instead of being walked node by node.
            if not _isinstance(node, _STMT_HOLDERS):
                return node
            return ast.NodeTransformer.generic_visit(self, node)

        def _visit_cond(self, node):
            self.cond += 1
            try:
                return self.generic_visit(node)
            finally:
                self.cond -= 1

        def visit_If(self, node):
            node.test = self.visit(node.test)
            self.cond += 1
            try:
                node.body = [self.visit(s) for s in node.body]
                node.orelse = [self.visit(s) for s in node.orelse]
            finally:
                self.cond -= 1
            return node

        visit_While = _visit_cond
        visit_ExceptHandler = _visit_cond
        visit_Lambda = _visit_cond

        def visit_Try(self, node):
            node.body = [self.visit(s) for s in node.body]
            self.cond += 1
            try:
                node.handlers = [self.visit(h) for h in node.handlers]
                node.orelse = [self.visit(s) for s in node.orelse]
            finally:
                self.cond -= 1
            node.finalbody = [self.visit(s) for s in node.finalbody]
            return node

        def visit_For(self, node):
            node.body = [self.visit(s) for s in node.body]
            self.cond += 1
            try:
                node.orelse = [self.visit(s) for s in node.orelse]
            finally:
                self.cond -= 1
            return node

        def visit_Expr(self, node):
            # unittest-style checks (self.assertEqual(a, b) ...) become assert sites like: assert a == b.
            c = node.value
            if (_isinstance(c, ast.Call) and _isinstance(c.func, ast.Attribute) and _isinstance(c.func.value, ast.Name)
                    and c.func.value.id == 'self' and c.func.attr in _UNITTEST and not any(_isinstance(a, ast.Starred) for a in c.args)):
                kind, arity = _UNITTEST[c.func.attr]
                if _len(c.args) >= arity:
                    a = c.args
                    if kind == 'truth':
                        test = a[0]
                    elif kind == 'not':
                        test = ast.UnaryOp(op=ast.Not(), operand=a[0])
                    elif kind in ('Is', 'IsNot'):
                        test = ast.Compare(left=a[0], ops=[ast.Is() if kind == 'Is' else ast.IsNot()], comparators=[_at(ast.Constant(None), node)])
                    else:
                        test = ast.Compare(left=a[0], ops=[getattr(ast, kind)()], comparators=[a[1]])
                    fake = ast.copy_location(ast.Assert(test=test, msg=None), node)
                    fake.end_lineno = node.end_lineno
                    fake.end_col_offset = node.end_col_offset
                    return self.visit_Assert(fake)
            return self.generic_visit(node)

        def visit_Assert(self, node):
            leaves = []
            struct = leaf_struct(node.test, leaves)
            site = _len(sites)
            try:
                src = source_segment(node)
            except Exception:
                src = ''
            sites.append('{"line":' + _str(node.lineno) + ',"src":' + _esc(src) + ',"x":' + struct + ',"required":' + ('false' if self.cond else 'true') + '}')
            thunks = [_at(ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]), body=leaf), leaf) for leaf in leaves]
            call = _at(ast.Call(func=_at(ast.Name(id='__crucible_report__', ctx=ast.Load()), node), args=[_at(ast.Constant(site), node), _at(ast.Tuple(elts=thunks, ctx=ast.Load()), node)], keywords=[]), node)
            return _at(ast.Expr(value=call), node)

    _UNITTEST = {'assertEqual': ('Eq', 2), 'assertNotEqual': ('NotEq', 2), 'assertTrue': ('truth', 1), 'assertFalse': ('not', 1),
                 'assertIsNone': ('Is', 1), 'assertIsNotNone': ('IsNot', 1), 'assertIn': ('In', 2), 'assertNotIn': ('NotIn', 2),
                 'assertLess': ('Lt', 2), 'assertLessEqual': ('LtE', 2), 'assertGreater': ('Gt', 2), 'assertGreaterEqual': ('GtE', 2),
                 'assertListEqual': ('Eq', 2), 'assertTupleEqual': ('Eq', 2), 'assertDictEqual': ('Eq', 2), 'assertSetEqual': ('Eq', 2)}
    _TestCase = None
    tests_code = None
    auto_calls = []
    call_check = False
    if mode == 'tests' and tests_src.strip():
        try:
            tree = ast.parse(tests_src, '<tests>')
        except SyntaxError as e:
            emit('fatal', '{"error":' + _esc('the tests do not parse: ' + exc_text(e)) + '}')
            _exit(0)
        defined = [n.name for n in tree.body if _isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        called = set()
        for n in tree.body:
            for sub in [] if _isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else ast.walk(n):
                if _isinstance(sub, ast.Call) and _isinstance(sub.func, ast.Name):
                    called.add(sub.func.id)
        for n in tree.body:
            if _isinstance(n, ast.FunctionDef) and n.name.startswith('test') and n.name not in called and not n.args.args:
                auto_calls.append(n.name)
        ep = _P.get('entryPoint')
        call_check = bool(ep) and 'check' in defined and 'check' not in called
        if 'unittest' in tests_src:
            import unittest
            _TestCase = unittest.TestCase
            # The harness runs TestCase classes itself; unittest.main() would look for them in the wrong module.
            for n in tree.body:
                if _isinstance(n, ast.If):
                    n.body = [b for b in n.body if not (_isinstance(b, ast.Expr) and _isinstance(b.value, ast.Call) and 'main' in ast.dump(b.value.func))] or [_at(ast.Pass(), n)]
        tree = Rewriter().visit(tree)
        try:
            tests_code = compile(tree, '<tests>', 'exec')
        except (TypeError, ValueError):
            # A node without a position (every node the rewriter makes gets one; this is a safety net).
            tests_code = compile(ast.fix_missing_locations(tree), '<tests>', 'exec')
    calls_code = []
    if mode == 'evaluate':
        for c in _P.get('calls') or []:
            try:
                calls_code.append(compile(c, '<call>', 'eval'))
            except SyntaxError as e:
                calls_code.append(None)

    emit('plan', '{"sites":[' + ','.join(sites) + '],"autoCalls":' + _str(_len(auto_calls)) + ',"check":' + ('true' if call_check else 'false') + '}')

    def report_assert(site, thunks):
        vals = []
        for th in thunks:
            try:
                v = th()
            except _BaseException as e:
                vals.append('["exc",' + exc_json(e) + ']')
                continue
            vals.append(enc_value(v))
        emit('a', '[' + _str(site) + ',[' + ','.join(vals) + ']]')

    def flush_and_exit():
        state['internal'] = True
        for s in (_stdout, _stderr):
            try:
                s.flush()
            except _BaseException:
                pass
        _exit(0)

    # --- modes without candidate code first: the clean puzzle check ---
    if mode == 'sat':
        ns = {'__name__': '__puzzle__', '__builtins__': builtins}
        try:
            exec('from typing import *', ns)
            exec(compile(_P['code'], '<puzzle>', 'exec'), ns)
            answer = decode(json.loads(_P['answer']))
            r = ns['sat'](answer)
        except _BaseException as e:
            emit('error', exc_json(e))
            flush_and_exit()
        emit('sat', enc_value(r))
        emit('end', '{}')
        flush_and_exit()

    # Snapshots taken before the candidate runs (the puzzle check above runs no candidate code and needs none).
    pristine_builtins = dict(builtins.__dict__)
    # In 'sol' mode only the answer is reported (and checked again in a clean job); encoding it looks up nothing
    # but builtins, so only those are put back. Tests and evaluate modes restore modules and their functions too.
    modules0 = {} if mode == 'sol' else dict(_sys_modules)
    module_attrs0 = {}
    for name in ('math', 'random', 're', 'string', 'collections', 'itertools', 'functools', 'copy', 'operator',
                 'heapq', 'bisect', 'json', 'typing', 'statistics', 'fractions', 'decimal', 'hashlib', 'os', 'os.path'):
        m = modules0.get(name)
        if _type(m) is _ModuleType:
            try:
                d = m.__dict__
                module_attrs0[name] = [(k, x) for k, x in d.items() if _isinstance(x, (_type, types.FunctionType, types.BuiltinFunctionType, _ModuleType))]
            except Exception:
                pass

    def restore_modules():
        for name, m in modules0.items():
            if _sys_modules.get(name) is not m:
                _sys_modules[name] = m
        for name, pairs in module_attrs0.items():
            d = modules0[name].__dict__
            for k, x in pairs:
                if d.get(k) is not x:
                    d[k] = x
        for k, x in pristine_builtins.items():
            if builtins.__dict__.get(k) is not x:
                builtins.__dict__[k] = x

    sys.addaudithook(hook)

    mod = _ModuleType('__candidate__')
    _sys_modules['__candidate__'] = mod
    ns = mod.__dict__
    ns['__builtins__'] = builtins
    if mode == 'sol':
        exec('from typing import *', ns)
    try:
        code = compile(_P['code'], '<candidate>', 'exec')
    except _BaseException as e:
        emit('cerror', exc_json(e))
        flush_and_exit()
    try:
        exec(code, ns)
    except _BaseException as e:
        restore_modules()
        emit('cerror', exc_json(e))
        flush_and_exit()
    restore_modules()
    emit('ran', '{}')

    if mode == 'sol':
        try:
            sol = ns.get('sol')
            if not _isinstance(sol, _FunctionType):
                raise NameError('the solution does not define a function sol()')
            answer = sol()
        except _BaseException as e:
            restore_modules()
            emit('error', exc_json(e))
            flush_and_exit()
        restore_modules()
        emit('answer', enc_value(answer))
        emit('end', '{}')
        flush_and_exit()

    tns = dict(ns)
    tns['__builtins__'] = dict(pristine_builtins)
    tns['__name__'] = '__main__'
    tns['__crucible_report__'] = report_assert

    if mode == 'evaluate':
        out = []
        for c in calls_code:
            if c is None:
                out.append('["exc",{"error":"SyntaxError: the call does not parse","frames":[]}]')
                continue
            try:
                v = eval(c, dict(tns))
            except _BaseException as e:
                out.append('["exc",' + exc_json(e) + ']')
                continue
            out.append(enc_value(v))
        restore_modules()
        emit('values', '[' + ','.join(out) + ']')
        emit('end', '{}')
        flush_and_exit()

    if tests_code is not None:
        try:
            exec(tests_code, tns)
            for name in auto_calls:
                fn = tns.get(name)
                if _isinstance(fn, _FunctionType):
                    fn()
            if call_check:
                ep = _P['entryPoint']
                if ep not in ns:
                    raise NameError("the candidate does not define '" + ep + "'")
                tns['check'](ns[ep])
            if _TestCase is not None:
                for cls in [x for x in tns.values() if _isinstance(x, _type) and x is not _TestCase and issubclass(x, _TestCase) and x.__module__ == '__main__']:
                    methods = [m for m in _sorted(cls.__dict__) if m.startswith('test') and callable(cls.__dict__[m])]
                    cls.setUpClass()
                    for m in methods:
                        inst = cls(m)
                        inst.setUp()
                        getattr(inst, m)()
                        inst.tearDown()
                    cls.tearDownClass()
        except _BaseException as e:
            restore_modules()
            emit('error', exc_json(e))
            emit('end', '{"errored":true}')
            flush_and_exit()
    restore_modules()
    emit('end', '{}')
    flush_and_exit()


def decode(v):
    t = v[0]
    if t == 'none':
        return None
    if t == 'bool':
        return v[1]
    if t == 'int':
        return int(v[1], 16)
    if t == 'float':
        return float(v[1])
    if t == 'str':
        return v[1]
    if t == 'bytes':
        return bytes.fromhex(v[1])
    if t == 'complex':
        return complex(float(v[1]), float(v[2]))
    if t == 'list':
        return [decode(x) for x in v[1]]
    if t == 'tuple':
        return tuple(decode(x) for x in v[1])
    if t == 'set':
        return set(decode(x) for x in v[1])
    if t == 'frozenset':
        return frozenset(decode(x) for x in v[1])
    if t == 'dict':
        return {decode(k): decode(x) for k, x in v[1]}
    raise ValueError('cannot rebuild a value of kind ' + str(t))
`;

/**
 * The whole Python program for one job: the harness plus the payload as a JSON literal. With `compiled` (base64 of
 * the harness's marshalled code object, see harnessCompileProgram) the job skips compiling the harness, which is
 * most of a small job's cost.
 */
export function buildPythonProgram(payload: PythonPayload, compiled?: string): string {
  const literal = JSON.stringify(JSON.stringify(payload));
  if (compiled) {
    return `import marshal as _m, binascii as _b, json as _json\nexec(_m.loads(_b.a2b_base64('${compiled}')))\ndel _m, _b\n_crucible_main(_json.loads(${literal}))\n`;
  }
  return `${HARNESS}\nimport json as _json\n_crucible_main(_json.loads(${literal}))\n`;
}

/**
 * For sandboxes that keep a compiled prelude per worker (ProcessSandbox.supportsPrelude): the harness is the prelude,
 * sent once per worker and executed in each job's `__main__`, and the job's own source is just this call.
 */
export const PYTHON_HARNESS_PRELUDE: string = HARNESS;

export function buildPythonCall(payload: PythonPayload): string {
  return `import json as _json\n_crucible_main(_json.loads(${JSON.stringify(JSON.stringify(payload))}))\n`;
}

/** A program that compiles the harness and writes its marshalled code object (base64, one line) to fd 3. */
export function harnessCompileProgram(): string {
  return `import marshal, binascii, os\nsrc = ${JSON.stringify(HARNESS)}\nos.write(3, binascii.b2a_base64(marshal.dumps(compile(src, '<harness>', 'exec')), newline=False) + b'\\n')\n`;
}
