"""The wire between a judge process and a candidate process (Python).

Frames are a 4-byte big-endian length and a UTF-8 JSON body, over a blocking AF_UNIX stream (fd 3).
Both sides speak the same protocol: either may send a request while waiting for the answer to its own
(a callback from the candidate into the judge while the judge waits on a call), so `Peer.request()`
serves incoming requests until its own answer arrives.

Values are JSON with every array tagged by its first element, so decoding never guesses:
    null true false 1 1.5 "s"          None, bool, int, float, str
    ["l", ...] ["t", ...] ["s", ...] ["f", ...]      list, tuple, set, frozenset
    ["d", k1, v1, k2, v2, ...]         dict (insertion order kept)
    ["b", "base64"] ["y", "base64"]    bytes, bytearray
    ["c", re, im]                      complex
    ["n", name, [fields], ...items]    a namedtuple
    ["x", kind, ...]                   a standard-library value type (Counter, OrderedDict, defaultdict,
                                       deque, Fraction, Decimal, date, datetime, time, timedelta, range)
    ["h", id, info]                    a handle to one of the SENDER's objects
    ["r", id]                          a reference back to one of the RECEIVER's own objects
Encoding and decoding are iterative (no recursion), and refuse values nested deeper than MAX_DEPTH.
Subclasses of the built-in types are encoded from their underlying built-in data through the built-in
types' own methods, captured when this module loads, so an overridden method is never called.
"""

import base64
import builtins
import collections
import datetime
import decimal
import fractions
import json
import os
import struct
import sys
import threading

MAX_DEPTH = 200
MAX_FRAME = 512 * 1024 * 1024

_get_digits = getattr(sys, 'get_int_max_str_digits', None)
_set_digits = getattr(sys, 'set_int_max_str_digits', None)


def _unlimited(fn, arg):
    """Runs fn(arg) with Python's int/str digit limit lifted, so big answers (P3) cross whole, and puts the
    limit back: the tests themselves keep the interpreter's own limit, as under python3."""
    if _set_digits is None:
        return fn(arg)
    old = _get_digits()
    _set_digits(0)
    try:
        return fn(arg)
    finally:
        _set_digits(old)

# Captured before any candidate code runs: the candidate may patch the classes later, never these.
_type = type
_isinstance = isinstance
_len = len
_id = id
_int_copy = int.__int__
_float_copy = float.__float__
_str_copy = str.__str__
_list_copy = list.copy
_tuple_get = tuple.__getitem__
_dict_copy = dict.copy
_dict_items = dict.items
_set_copy = set.copy
_fset_copy = frozenset.copy
_bytes = bytes
_bytearray = bytearray
_memoryview = memoryview
_complex_real = complex.real.__get__
_complex_imag = complex.imag.__get__
_type_dict = type.__dict__['__dict__'].__get__
_type_mro = type.__dict__['__mro__'].__get__
_type_name = type.__dict__['__name__'].__get__
_type_qualname = type.__dict__['__qualname__'].__get__
_type_module = type.__dict__['__module__'].__get__
_b64e = base64.b64encode
_b64d = base64.b64decode
_dumps = json.JSONEncoder(ensure_ascii=True, allow_nan=True, separators=(',', ':'), check_circular=False).encode
_loads = json.loads
_pack = struct.pack
_unpack = struct.unpack
_read = os.read
_write = os.write
_ALL = slice(None)
_refcount = sys.getrefcount

_Counter = collections.Counter
_OrderedDict = collections.OrderedDict
_od_items = collections.OrderedDict.items
_defaultdict = collections.defaultdict
_dd_factory = collections.defaultdict.default_factory.__get__
_deque = collections.deque
_deque_maxlen = collections.deque.maxlen.__get__
_Fraction = fractions.Fraction
_frac_num = fractions.Fraction.__dict__['_numerator'].__get__
_frac_den = fractions.Fraction.__dict__['_denominator'].__get__
_Decimal = decimal.Decimal
_dec_str = decimal.Decimal.__str__
_date, _datetime, _time, _timedelta = datetime.date, datetime.datetime, datetime.time, datetime.timedelta
_range = range
_range_start, _range_stop, _range_step = range.start.__get__, range.stop.__get__, range.step.__get__
_iso = {d: d.isoformat for d in (_date, _datetime, _time)}
_td_days = datetime.timedelta.days.__get__
_td_seconds = datetime.timedelta.seconds.__get__
_td_micro = datetime.timedelta.microseconds.__get__
_FACTORIES = {int: 'int', float: 'float', str: 'str', list: 'list', set: 'set', dict: 'dict', tuple: 'tuple', bool: 'bool'}
_FACTORY_BY_NAME = {v: k for k, v in _FACTORIES.items()}
import pathlib as _pathlib  # noqa: E402
import types as _types  # noqa: E402
_PATHS = (_pathlib.PosixPath, _pathlib.PurePosixPath, _pathlib.WindowsPath, _pathlib.PureWindowsPath)
_path_str = _pathlib.PurePath.__str__
_Coroutine = _types.CoroutineType
_BUILTIN_EXC = {n: v for n, v in vars(builtins).items() if _isinstance(v, type) and issubclass(v, BaseException)}


class TooDeep(Exception):
    """A value nested deeper than MAX_DEPTH."""


class PeerGone(BaseException):
    """The other process closed the channel (it exited, crashed or was killed)."""


def _namedtuple_fields(cls):
    for k in _type_mro(cls):
        d = _type_dict(k)
        f = d.get('_fields')
        if _type(f) is tuple and k is not tuple:
            return f
    return None


MAX_MIRRORS = 4096        # mutable containers one side keeps in step with the other
MAX_MIRROR_ITEMS = 200000  # beyond this many items in total, new containers cross as plain copies
_MUTABLE_TAGS = {list: 'L', dict: 'D', set: 'S', bytearray: 'Y'}
_MUTABLE_OF_TAG = {'L': list, 'D': dict, 'S': set, 'Y': bytearray}


class Codec:
    """Turns values into tagged JSON and back.

    Handles: this side's objects the peer sees as proxies (`objs`), and proxies for the peer's (`proxies`).
    Mirrors: a list, dict, set or bytearray that crosses keeps its identity. The sender names it with an id the
    first time (["L", oid, ...]); later it is a reference (["@", oid] for the sender's own, ["@r", oid] for the
    receiver's own), so aliasing (the same list twice) and cycles survive. Both sides keep their copies in step:
    every message carries the changes made since the last one (see changes()/apply_changes()), so a list the
    tests pass in and the candidate appends to later (a generator, a stored reference) changes for the tests too.
    """

    def __init__(self, make_proxy, handle_info):
        self.objs = {}       # handle id -> object (kept alive until released)
        self.ids = {}        # id(object) -> handle id
        self.next = 1
        self.make_proxy = make_proxy      # (handle id, info) -> a local proxy for a peer's object
        self.handle_info = handle_info    # object -> info dict sent with a new handle
        self.proxies = {}                 # peer handle id -> proxy (same object for the same handle)
        self.own = {}         # our oid -> our mutable container the peer mirrors
        self.own_ids = {}     # id(container) -> our oid
        self.foreign = {}     # peer oid -> our copy of the peer's container
        self.foreign_ids = {}  # id(copy) -> peer oid
        self.snap = {}        # ('m'|'y', oid) -> content encoding at the last sync
        self.next_oid = 1
        self.mirrored_items = 0
        self.pending_forget = []

    def handle(self, v):
        k = _id(v)
        h = self.ids.get(k)
        if h is None:
            h = self.next
            self.next += 1
            self.ids[k] = h
            self.objs[h] = v
            return ['h', h, self.handle_info(v)]
        return ['h', h, None]

    def release(self, h):
        v = self.objs.pop(h, None)
        if v is not None:
            self.ids.pop(_id(v), None)

    # -- encode -------------------------------------------------------------------------------------------
    def encode(self, value, plain_only=False):
        """Tagged JSON-able structure for value. With plain_only, a value needing a handle raises TypeError."""
        if self.pending_forget:
            self._apply_forgets()
        root = [None]
        stack = [(value, None, 0)]
        while stack:
            v, out, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise TooDeep('a value is nested more than %d levels deep' % MAX_DEPTH)
            enc, children = self._one(v, plain_only)
            if out is None:
                root[0] = enc
            else:
                out.append(enc)
            if children:
                for child in reversed(children):
                    stack.append((child, enc, depth + 1))
        return root[0]

    def _mirror_ref(self, v):
        """A reference for a container the peer already mirrors, or None."""
        k = _id(v)
        oid = self.own_ids.get(k)
        if oid is not None and self.own.get(oid) is v:
            return ['@', oid]
        oid = self.foreign_ids.get(k)
        if oid is not None and self.foreign.get(oid) is v:
            return ['@r', oid]
        return None

    def _content(self, t, v):
        """(head tail, children) of a mutable container's content, read through the built-in types' methods."""
        if t is list:
            return _list_copy(v)
        if t is dict:
            flat = []
            for k, x in _dict_items(v):
                flat.append(k)
                flat.append(x)
            return flat
        if t is set:
            return list(v)
        return None

    def _one(self, v, plain_only):
        t = _type(v)
        if v is None or t is bool or t is str or t is int or t is float:
            return v, None
        if t in _MUTABLE_TAGS:
            ref = self._mirror_ref(v)
            if ref is not None:
                return ref, None
            tag = _MUTABLE_TAGS[t]
            size = _len(v)
            if _len(self.own) < MAX_MIRRORS and self.mirrored_items + size <= MAX_MIRROR_ITEMS:
                oid = self.next_oid
                self.next_oid += 1
                self.own[oid] = v
                self.own_ids[_id(v)] = oid
                self.mirrored_items += size
                self.snap[('m', oid)] = None   # taken at the next sync (see changes())
                if tag == 'Y':
                    return ['Y', oid, _b64e(_bytes(v)).decode('ascii')], None
                return [tag, oid], self._content(t, v)
            if tag == 'Y':
                return ['y', _b64e(_bytes(v)).decode('ascii')], None
            return [tag.lower()], self._content(t, v)
        if t is tuple:
            return ['t'], v
        if t is frozenset:
            return ['f'], list(v)
        if t is bytes:
            return ['b', _b64e(v).decode('ascii')], None
        if t is complex:
            return ['c', _complex_real(v), _complex_imag(v)], None
        if t is Proxy:
            return ['r', object.__getattribute__(v, '_cr_h')], None
        if v is NotImplemented:
            return ['N'], None
        if v is Ellipsis:
            return ['E'], None
        if t in _PATHS:
            return ['P', _str_copy(_path_str(v))], None
        # Standard-library value types, exact types only (read through captured C-level accessors).
        if t is _Counter:
            flat = []
            for k, x in _dict_items(_dict_copy(v)):
                flat.append(k)
                flat.append(x)
            return ['x', 'Counter'], flat
        if t is _OrderedDict:
            flat = []
            for k, x in list(_od_items(v)):
                flat.append(k)
                flat.append(x)
            return ['x', 'OrderedDict'], flat
        if t is _defaultdict:
            flat = []
            for k, x in _dict_items(_dict_copy(v)):
                flat.append(k)
                flat.append(x)
            return ['x', 'defaultdict', _FACTORIES.get(_dd_factory(v))], flat
        if t is _deque:
            return ['x', 'deque', _deque_maxlen(v)], list(v)
        if t is _Fraction:
            return ['x', 'Fraction', _int_copy(_frac_num(v)), _int_copy(_frac_den(v))], None
        if t is _Decimal:
            return ['x', 'Decimal', _dec_str(v)], None
        if t in _iso:
            return ['x', _type_name(t), _iso[t](v)], None
        if t is _timedelta:
            return ['x', 'timedelta', _td_days(v), _td_seconds(v), _td_micro(v)], None
        if t is _range:   # immutable and final: its three numbers are all of it
            return ['x', 'range', _int_copy(_range_start(v)), _int_copy(_range_stop(v)), _int_copy(_range_step(v))], None
        if t is _Coroutine:
            return self._settle(v)
        # Subclasses of built-in data: their underlying built-in value, never their methods.
        if _isinstance(v, int):   # bool cannot be subclassed
            return _int_copy(v), None
        if _isinstance(v, float):
            return _float_copy(v), None
        if _isinstance(v, str):
            return _str_copy(v), None
        if _isinstance(v, tuple):
            fields = _namedtuple_fields(t)
            items = _tuple_get(v, _ALL)
            if fields is not None and _len(fields) == _len(items) and all(_type(f) is str for f in fields):
                return ['n', _str_copy(_type_name(t)), list(fields)], list(items)
            return ['t'], items
        if _isinstance(v, list):
            return ['l'], _list_copy(v)
        if _isinstance(v, dict):
            flat = []
            for k, x in _dict_items(_dict_copy(v)):
                flat.append(k)
                flat.append(x)
            return ['d'], flat
        if _isinstance(v, frozenset):
            return ['f'], list(_fset_copy(v))
        if _isinstance(v, set):
            return ['s'], list(_set_copy(v))
        if _isinstance(v, (bytes, bytearray)):
            return ['b' if _isinstance(v, bytes) else 'y', _b64e(_bytes(_memoryview(v))).decode('ascii')], None
        if _isinstance(v, complex):
            return ['c', _complex_real(v), _complex_imag(v)], None
        if plain_only:
            raise TypeError('a %s is not plain data' % _safe_type_name(t))
        return self.handle(v), None

    def _settle(self, coro):
        """A coroutine the program returned: run it here to its end; the peer gets an awaitable of the outcome."""
        import asyncio
        try:
            value = asyncio.run(coro)
        except BaseException as e:  # noqa: B036 - the awaiting side re-raises it
            return ['A', exception_info(e, self)], None
        return ['a'], [value]

    # -- keeping mirrors in step -----------------------------------------------------------------------------
    def _content_enc(self, v):
        """The encoded content of a mirrored container: items (children that are mirrors become references)."""
        t = _type(v)
        if t is bytearray:
            return _b64e(_bytes(v)).decode('ascii')
        items = self._content(t, v) or []
        return [self.encode(x) for x in items]

    def releases(self):
        """Mirrors nothing but this codec still holds: forget them here and tell the peer ([side, oid]).

        A container only our tables reference can no longer change or be compared by the program, so keeping it in
        step is wasted work (it would grow with every call). The peer forgets the pairing too, so a later send of
        the same object starts a new mirror."""
        out = []
        for _ in range(3):
            dropped = False
            for side, table, ids in (('m', self.own, self.own_ids), ('y', self.foreign, self.foreign_ids)):
                for oid, v in list(table.items()):
                    if _refcount(v) <= 4:   # the table, the items list, the loop variable, getrefcount's argument
                        del table[oid]
                        ids.pop(_id(v), None)
                        self.snap.pop((side, oid), None)
                        if side == 'm':
                            self.mirrored_items -= _len(v)
                        out.append([side, oid])
                        dropped = True
                    v = None
            if not dropped:
                break
        return out

    def forget(self, released):
        """The peer forgot these mirrors: forget our side of each pairing (the objects themselves live on).

        Applied before this side next encodes anything, not on arrival: the message that announced them may still
        refer to them (a function that returns the very list it was given)."""
        self.pending_forget.extend(released or ())

    def _apply_forgets(self):
        released, self.pending_forget = self.pending_forget, []
        for side, oid in released:
            # 'm': the peer's own container, which we mirror; 'y': ours, which the peer mirrored.
            table, ids, key = (self.foreign, self.foreign_ids, ('y', oid)) if side == 'm' else (self.own, self.own_ids, ('m', oid))
            v = table.pop(oid, None)
            if v is not None:
                ids.pop(_id(v), None)
                if side == 'y':
                    self.mirrored_items -= _len(v)
            self.snap.pop(key, None)

    def changes(self):
        """Content changes of every mirror (ours and the peer's) since the last message: [side, oid, content]."""
        if self.pending_forget:
            self._apply_forgets()
        out = []
        for side, table in (('m', self.own), ('y', self.foreign)):
            for oid, v in list(table.items()):
                key = (side, oid)
                try:
                    enc = self._content_enc(v)
                except (TooDeep, TypeError, ValueError):
                    continue
                if self.snap.get(key) != enc:
                    if self.snap.get(key) is not None:
                        out.append([side, oid, enc])
                    self.snap[key] = enc
        return out

    def apply_changes(self, writes, named=None):
        """Applies the peer's changes ('m' = the peer's own container, which we mirror; 'y' = ours)."""
        for side, oid, enc in writes or ():
            target = self.foreign.get(oid) if side == 'm' else self.own.get(oid)
            if target is None:
                continue
            t = _type(target)
            if t is bytearray:
                target[:] = _b64d(enc)
            else:
                items = [self.decode(x, named) for x in enc]
                if t is list:
                    target[:] = items
                elif t is dict:
                    target.clear()
                    target.update(zip(items[0::2], items[1::2]))
                else:
                    target.clear()
                    target.update(items)
            self.snap[('y' if side == 'm' else 'm', oid)] = self._content_enc(target)

    # -- decode -------------------------------------------------------------------------------------------
    def decode(self, data, named=None):
        """Builds the value for tagged JSON `data`. `named` maps class names to trusted local classes."""
        if _type(data) is not list:
            return data
        result = [None]
        stack = [(data, result, 0, 0)]
        pending = []
        created = []
        while stack:
            node, slot, idx, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise TooDeep('a value is nested more than %d levels deep' % MAX_DEPTH)
            if _type(node) is not list:
                slot[idx] = node
                continue
            if not node:
                raise ValueError('malformed value: empty array')
            tag = node[0]
            if tag in ('L', 'D', 'S'):
                oid = node[1]
                obj = self.foreign.get(oid)
                if obj is None:
                    obj = _MUTABLE_OF_TAG[tag]()
                    self.foreign[oid] = obj
                    self.foreign_ids[_id(obj)] = oid
                    created.append(oid)
                slot[idx] = obj
                items = [None] * (_len(node) - 2)
                pending.append((node, items, obj))
                for i in range(_len(items) - 1, -1, -1):   # pre-order, as the sender numbered them
                    stack.append((node[2 + i], items, i, depth + 1))
                continue
            if tag in ('l', 't', 's', 'f', 'd', 'n', 'x', 'a'):
                start = {'n': 3, 'x': 2}.get(tag, 1)
                if tag == 'x' and node[1] in ('defaultdict', 'deque'):
                    start = 3
                if tag == 'x' and node[1] in ('Fraction', 'Decimal', 'date', 'datetime', 'time', 'timedelta', 'range'):
                    slot[idx] = self._scalar_x(node)
                    continue
                items = [None] * (_len(node) - start)
                pending.append((node, items, (slot, idx)))
                for i in range(_len(items) - 1, -1, -1):
                    stack.append((node[start + i], items, i, depth + 1))
                continue
            slot[idx] = self._leaf(node, named)
        # Containers complete in reverse order of discovery: children were discovered after parents.
        for node, items, where in reversed(pending):
            tag = node[0]
            if tag in ('L', 'D', 'S'):
                obj = where
                if tag == 'L':
                    obj[:] = items
                elif tag == 'D':
                    obj.clear()
                    obj.update(zip(items[0::2], items[1::2]))
                else:
                    obj.clear()
                    obj.update(items)
                continue
            slot, idx = where
            slot[idx] = self._container(node, items, named)
        # A new mirror's snapshot is its content as received: only later changes travel back.
        for oid in created:
            obj = self.foreign.get(oid)
            if obj is not None:
                self.snap[('y', oid)] = self._content_enc(obj)
        return result[0]

    def _leaf(self, node, named):
        tag = node[0]
        if tag == 'b':
            return _b64d(node[1])
        if tag == 'y':
            return bytearray(_b64d(node[1]))
        if tag == 'Y':
            oid = node[1]
            obj = self.foreign.get(oid)
            if obj is None:
                obj = bytearray()
                self.foreign[oid] = obj
                self.foreign_ids[_id(obj)] = oid
            obj[:] = _b64d(node[2])
            self.snap[('y', oid)] = node[2]
            return obj
        if tag == 'c':
            return complex(node[1], node[2])
        if tag == '@':
            if node[1] not in self.foreign:
                raise ValueError('reference to an unknown container')
            return self.foreign[node[1]]
        if tag == '@r':
            if node[1] not in self.own:
                raise ValueError('reference to an unknown container')
            return self.own[node[1]]
        if tag == 'h':
            h = node[1]
            p = self.proxies.get(h)
            if p is None:
                p = self.make_proxy(h, node[2] or {})
                self.proxies[h] = p
            return p
        if tag == 'r':
            if node[1] not in self.objs:
                raise ValueError('reference to an unknown object')
            return self.objs[node[1]]
        if tag == 'N':
            return NotImplemented
        if tag == 'E':
            return Ellipsis
        if tag == 'P':
            import pathlib
            return pathlib.Path(node[1])
        if tag == 'A':
            return _awaitable_error(build_exception(node[1], named, None, self))
        raise ValueError('malformed value: unknown tag %r' % (tag,))

    def _scalar_x(self, node):
        kind = node[1]
        if kind == 'Fraction':
            return fractions.Fraction(int(node[2]), int(node[3]))
        if kind == 'Decimal':
            return decimal.Decimal(str(node[2]))
        if kind == 'date':
            return datetime.date.fromisoformat(node[2])
        if kind == 'datetime':
            return datetime.datetime.fromisoformat(node[2])
        if kind == 'time':
            return datetime.time.fromisoformat(node[2])
        if kind == 'timedelta':
            return datetime.timedelta(days=node[2], seconds=node[3], microseconds=node[4])
        if kind == 'range':
            return _range(int(node[2]), int(node[3]), int(node[4]))
        raise ValueError('malformed value: unknown kind %r' % (kind,))

    def _container(self, node, items, named):
        tag = node[0]
        if tag == 'l':
            return items
        if tag == 't':
            return tuple(items)
        if tag == 's':
            return set(items)
        if tag == 'f':
            return frozenset(items)
        if tag == 'd':
            return dict(zip(items[0::2], items[1::2]))
        if tag == 'n':
            return _make_namedtuple(node[1], node[2], items, named)
        if tag == 'a':
            return _awaitable_value(items[0])
        kind = node[1]
        pairs = list(zip(items[0::2], items[1::2]))
        if kind == 'Counter':
            c = collections.Counter()
            for k, v in pairs:
                c[k] = v
            return c
        if kind == 'OrderedDict':
            return collections.OrderedDict(pairs)
        if kind == 'defaultdict':
            return collections.defaultdict(_FACTORY_BY_NAME.get(node[2]), pairs)
        if kind == 'deque':
            return collections.deque(items, node[2])
        raise ValueError('malformed value: unknown kind %r' % (kind,))


async def _awaited(value):
    return value


async def _raised(exc):
    raise exc


def _awaitable_value(value):
    return _awaited(value)


def _awaitable_error(exc):
    return _raised(exc)


_NT_CACHE = {}


def _make_namedtuple(name, fields, items, named):
    cls = named.get(name) if named else None
    if _isinstance(cls, type) and issubclass(cls, tuple) and tuple(getattr(cls, '_fields', ())) == tuple(fields):
        return tuple.__new__(cls, items)
    key = (name, tuple(fields))
    cls = _NT_CACHE.get(key)
    if cls is None:
        try:
            cls = collections.namedtuple(name, fields)
        except ValueError:
            return tuple(items)
        _NT_CACHE[key] = cls
    return cls(*items)


def _safe_type_name(t):
    try:
        return _str_copy(_type_qualname(t))
    except Exception:
        return 'object'


def type_info(v):
    """What a peer needs to know about an object it receives a handle to (never runs the object's code)."""
    t = _type(v)
    info = {'type': _safe_type_name(t)}
    try:
        mod = _type_module(t)
        if _type(mod) is str:
            info['module'] = mod
    except Exception:
        pass
    if _isinstance(v, type):
        info['class'] = True
        try:
            info['name'] = _str_copy(_type_name(v))
        except Exception:
            pass
    if callable(v):
        info['callable'] = True
    d = None
    try:
        d = _type_dict(t)
    except Exception:
        pass
    if d is not None and ('__next__' in d or any('__next__' in _type_dict(k) for k in _type_mro(t))):
        info['iterator'] = True
    return info


class Proxy:
    # A local stand-in for the peer's object. Everything it does is a request to the peer. `_gate` is True when
    # operators, comparisons, truth and hashing may be forwarded (a class the tests name); otherwise the proxy
    # keeps default object semantics for them.

    __slots__ = ('_cr_h', '_cr_peer', '_cr_info', '_cr_gate', '__weakref__')

    # Never the peer's docstring: a doctest runner in the judge would run the examples the candidate wrote there.
    __doc__ = None

    def __init__(self, h, peer, info, gate):
        object.__setattr__(self, '_cr_h', h)
        object.__setattr__(self, '_cr_peer', peer)
        object.__setattr__(self, '_cr_info', info)
        object.__setattr__(self, '_cr_gate', gate)

    def __getattr__(self, name):
        return object.__getattribute__(self, '_cr_peer').request('get', object.__getattribute__(self, '_cr_h'), name=name)

    def __setattr__(self, name, value):
        object.__getattribute__(self, '_cr_peer').request('set', object.__getattribute__(self, '_cr_h'), name=name, args=[value])

    def __delattr__(self, name):
        object.__getattribute__(self, '_cr_peer').request('del', object.__getattribute__(self, '_cr_h'), name=name)

    def __call__(self, *args, **kwargs):
        return object.__getattribute__(self, '_cr_peer').request('call', object.__getattribute__(self, '_cr_h'), args=list(args), kwargs=kwargs)

    def _op(self, name, *args):
        return object.__getattribute__(self, '_cr_peer').request('op', object.__getattribute__(self, '_cr_h'), name=name, args=list(args))

    def _gated(self, name, *args):
        if not object.__getattribute__(self, '_cr_gate'):
            return NotImplemented
        return Proxy._op(self, name, *args)

    def __repr__(self):
        try:
            r = Proxy._op(self, '__repr__')
            return r if _type(r) is str else object.__repr__(self)
        except PeerGone:
            raise
        except Exception:
            info = object.__getattribute__(self, '_cr_info')
            return '<%s object>' % info.get('type', 'candidate')

    def __str__(self):
        r = Proxy._op(self, '__str__')
        return r if _type(r) is str else Proxy.__repr__(self)

    def __iter__(self):
        info = object.__getattribute__(self, '_cr_info')
        if info.get('iterator'):
            return self
        return Proxy._op(self, '__iter__')

    def __next__(self):
        return Proxy._op(self, '__next__')

    def __len__(self):
        return Proxy._op(self, '__len__')

    def __getitem__(self, k):
        return Proxy._op(self, '__getitem__', k)

    def __setitem__(self, k, v):
        return Proxy._op(self, '__setitem__', k, v)

    def __delitem__(self, k):
        return Proxy._op(self, '__delitem__', k)

    def __contains__(self, k):
        return Proxy._op(self, '__contains__', k) is True

    def __enter__(self):
        return Proxy._op(self, '__enter__')

    def __exit__(self, *a):
        return Proxy._op(self, '__exit__', *a)

    def __bool__(self):
        if not object.__getattribute__(self, '_cr_gate'):
            return True
        r = Proxy._op(self, '__bool__')
        if _type(r) is not bool:
            raise TypeError('__bool__ should return bool')
        return r

    def __hash__(self):
        if not object.__getattribute__(self, '_cr_gate'):
            return hash(('crucible-handle', object.__getattribute__(self, '_cr_h')))
        r = Proxy._op(self, '__hash__')
        if _type(r) is not int:
            raise TypeError('__hash__ should return an int')
        return r

    def __eq__(self, other):
        if _type(other) is Proxy and object.__getattribute__(other, '_cr_h') == object.__getattribute__(self, '_cr_h'):
            return True
        return Proxy._gated(self, '__eq__', other)

    def __ne__(self, other):
        if _type(other) is Proxy and object.__getattribute__(other, '_cr_h') == object.__getattribute__(self, '_cr_h'):
            return False
        return Proxy._gated(self, '__ne__', other)


def _gated_method(name):
    def method(self, *args):
        return Proxy._gated(self, name, *args)
    method.__name__ = name
    return method


for _name in ('__lt__', '__le__', '__gt__', '__ge__', '__add__', '__radd__', '__sub__', '__rsub__', '__mul__',
              '__rmul__', '__truediv__', '__rtruediv__', '__floordiv__', '__rfloordiv__', '__mod__', '__rmod__',
              '__pow__', '__rpow__', '__and__', '__rand__', '__or__', '__ror__', '__xor__', '__rxor__',
              '__lshift__', '__rlshift__', '__rshift__', '__rrshift__', '__matmul__', '__rmatmul__',
              '__neg__', '__pos__', '__abs__', '__invert__', '__int__', '__float__', '__index__', '__round__'):
    setattr(Proxy, _name, _gated_method(_name))


class Peer:
    """One end of the channel: sends requests, serves the peer's requests while waiting."""

    def __init__(self, fd, serve):
        self.fd = fd
        self.buf = bytearray()
        self.seq = 0
        self.serve = serve   # (message) -> reply dict; handles the peer's requests
        self.gone = False
        self.codec = None    # set by the owner
        # One exchange at a time: the tests may call the peer's functions from several threads (a thread pool);
        # re-entrant, because serving a callback happens inside the waiting request on the same thread.
        self.lock = threading.RLock()

    # Set by the owner: the judge's `ambient_out()` returns the process-wide state the tests changed since the
    # last message (see AmbientState), the candidate's `ambient_in(state)` applies it.
    ambient_out = None
    ambient_in = None

    def send(self, msg):
        data = _unlimited(_dumps, msg).encode('utf-8', 'surrogatepass')
        if _len(data) > MAX_FRAME:
            raise ValueError('a message is larger than %d MB' % (MAX_FRAME >> 20))
        buf = _pack('>I', _len(data)) + data
        view = _memoryview(buf)
        try:
            while view:
                n = _write(self.fd, view)
                view = view[n:]
        except (BrokenPipeError, ConnectionResetError):
            self.gone = True
            raise PeerGone('the other process closed the channel') from None

    def recv(self):
        while True:
            if _len(self.buf) >= 4:
                n = _unpack('>I', self.buf[:4])[0]
                if n > MAX_FRAME:
                    raise PeerGone('a frame larger than allowed')
                if _len(self.buf) >= 4 + n:
                    body = bytes(self.buf[4:4 + n])
                    del self.buf[:4 + n]
                    return _unlimited(_loads, body.decode('utf-8', 'surrogatepass'))
            try:
                chunk = _read(self.fd, 1 << 20)
            except (ConnectionResetError, OSError):
                chunk = b''
            if not chunk:
                self.gone = True
                raise PeerGone('the other process closed the channel')
            self.buf.extend(chunk)

    def request(self, op, h, name=None, args=None, kwargs=None):
        with self.lock:
            return self._request(op, h, name, args, kwargs)

    def _request(self, op, h, name, args, kwargs):
        if self.gone:
            raise PeerGone('the other process is gone')
        self.seq += 1
        q = self.seq
        msg = {'q': q, 'op': op, 'h': h}
        if name is not None:
            msg['n'] = name
        if args:
            msg['a'] = [self.codec.encode(a) for a in args]
        if kwargs:
            msg['k'] = {k: self.codec.encode(v) for k, v in kwargs.items()}
        self.send_synced(msg)
        while True:
            m = self.recv_synced()
            if 'q' in m:
                self.send_synced(self.serve(m))
                continue
            if m.get('r') != q:
                continue
            return self.on_reply(m)

    take_output = None   # set by the candidate's side: output written since the last message

    def send_synced(self, msg):
        # Every message carries the changes to mirrored containers made since the previous one, and the mirrors
        # this side no longer holds.
        w = self.codec.changes()   # first: a container about to be released may just have changed
        if w:
            msg['w'] = w
        x = self.codec.releases()
        if x:
            msg['x'] = x
        if self.take_output is not None:
            out = self.take_output()
            if out:
                msg['o'] = out
        if self.ambient_out is not None:
            amb = self.ambient_out()
            if amb:
                msg['s'] = amb
        self.send(msg)

    def recv_synced(self):
        m = self.recv()
        if m.get('s') and self.ambient_in is not None:
            self.ambient_in(m['s'])
        if m.get('w'):
            self.codec.apply_changes(m['w'], self.named)
        if m.get('x'):
            self.codec.forget(m['x'])
        if m.get('o'):
            self.on_output(m['o'])
        return m

    def on_output(self, chunks):
        # Output the peer's program wrote during a call (the candidate's prints), in order, to our streams.
        for fd, text in chunks:
            stream = sys.stdout if fd == 1 else sys.stderr
            try:
                stream.write(text)
            except Exception:  # noqa: BLE001 - the tests may have closed or replaced their streams
                pass

    def on_reply(self, m):
        if 'e' in m:
            raise self.build_exception(m['e'])
        return self.codec.decode(m.get('v'), self.named)

    # Set by the owner: trusted local classes by name (for exceptions and namedtuples) and the exception
    # used when the peer reports that it is exiting.
    named = None
    exit_exception = None

    def build_exception(self, info):
        return build_exception(info, self.named, self.exit_exception, self.codec)

    # -- serving the peer's requests ---------------------------------------------------------------------------
    def serve_request(self, m, allow):
        """Runs one request on our own objects if `allow(op, name)` permits it; returns the reply."""
        q = m.get('q')
        try:
            op = m.get('op')
            name = m.get('n')
            if not allow(op, name):
                raise PermissionError('the %s operation %r is not allowed on this object' % (op, name))
            if op == 'release':
                self.codec.release(m.get('h'))
                return {'r': q, 'v': None}
            target = self.codec.objs.get(m.get('h'))
            if target is None and m.get('h') not in self.codec.objs:
                raise ReferenceError('the object is no longer available')
            args = [self.codec.decode(a, self.named) for a in m.get('a') or []]
            kwargs = {k: self.codec.decode(v, self.named) for k, v in (m.get('k') or {}).items()}
            if op == 'call':
                value = target(*args, **kwargs)
            elif op == 'get':
                value = getattr(target, name)
            elif op == 'set':
                setattr(target, name, args[0])
                value = None
            elif op == 'del':
                delattr(target, name)
                value = None
            elif op == 'op':
                value = call_dunder(target, name, args)
            else:
                raise ValueError('unknown operation %r' % (op,))
            return {'r': q, 'v': self.codec.encode(value)}
        except PeerGone:
            raise
        except BaseException as e:  # noqa: B036 - everything the served code raises goes back to the caller
            return {'r': q, 'e': exception_info(e, self.codec)}


class AmbientState:
    """Process-wide state the tests set for the code under test, as one process would share it: the random
    generator (`random.seed(7)` before a call), the environment and the recursion limit. The judge sends what
    changed since it last sent (nothing flows back: the candidate cannot steer the judge's random draws)."""

    def __init__(self):
        self.sent = {'rl': sys.getrecursionlimit(), 'env': self.environment(), 'rs': None}
        self.reseeded = False

    @staticmethod
    def environment():
        # Not pytest's own variables: PYTEST_CURRENT_TEST names the test that is running.
        return {k: v for k, v in os.environ.items() if not k.startswith('PYTEST_')}

    def watch_reseeding(self):
        """`random.seed(3)` twice must reset the candidate's generator twice, though the judge's state is the
        same both times: the module's seed and setstate note that they ran."""
        import functools
        import random
        for name in ('seed', 'setstate'):
            original = getattr(random, name)

            def noted(*args, _original=original, **kwargs):
                self.reseeded = True
                return _original(*args, **kwargs)
            setattr(random, name, functools.wraps(original)(noted))

    def changed(self):
        now = {'rl': sys.getrecursionlimit(), 'env': self.environment()}
        rnd = sys.modules.get('random')
        inst = getattr(rnd, '_inst', None)
        if inst is not None:
            try:
                version, internal, gauss = inst.getstate()
                now['rs'] = [version, list(internal), gauss]
            except Exception:  # noqa: BLE001 - the tests replaced the generator: nothing to share
                pass
        out = {}
        for k, v in now.items():
            if v != self.sent.get(k) or (k == 'rs' and self.reseeded):
                out[k] = v
                self.sent[k] = v
        self.reseeded = False
        return out or None

    @staticmethod
    def apply(state):
        if 'rl' in state:
            try:
                sys.setrecursionlimit(int(state['rl']))
            except (ValueError, TypeError, RecursionError):
                pass
        if 'env' in state and isinstance(state['env'], dict):
            env = {str(k): str(v) for k, v in state['env'].items()}
            os.environ.clear()
            os.environ.update(env)
        if 'rs' in state:
            import random
            try:
                version, internal, gauss = state['rs']
                random.setstate((int(version), tuple(int(x) for x in internal), gauss if gauss is None else float(gauss)))
            except (ValueError, TypeError):
                pass


_NUMERIC_DUNDERS = {'__neg__': lambda a: -a, '__pos__': lambda a: +a, '__abs__': abs, '__invert__': lambda a: ~a}


def call_dunder(target, name, args):
    """Runs a special method the way the language would (type lookup, reflected operands)."""
    if name == '__repr__':
        return repr(target)
    if name == '__str__':
        return str(target)
    if name == '__len__':
        return len(target)
    if name == '__iter__':
        return iter(target)
    if name == '__next__':
        return next(target)
    if name == '__bool__':
        return bool(target)
    if name == '__hash__':
        return hash(target)
    if name == '__contains__':
        return args[0] in target
    if name == '__getitem__':
        return target[args[0]]
    if name == '__setitem__':
        target[args[0]] = args[1]
        return None
    if name == '__delitem__':
        del target[args[0]]
        return None
    if name in _NUMERIC_DUNDERS:
        return _NUMERIC_DUNDERS[name](target)
    if name in ('__int__', '__float__', '__index__', '__round__'):
        fn = {'__int__': int, '__float__': float, '__index__': lambda x: x.__index__(), '__round__': round}[name]
        return fn(target, *args)
    if not (name.startswith('__') and name.endswith('__')):
        raise AttributeError(name)
    method = getattr(_type(target), name, None)
    if method is None:
        return NotImplemented
    return method(target, *args)


def exception_info(e, codec, depth=0):
    t = _type(e)
    mro = []
    for k in _type_mro(t):
        n = _type_name(k)
        if _BUILTIN_EXC.get(n) is k:
            mro.append(n)
    try:
        text = str(e)
    except BaseException:
        text = ''
    try:
        args = codec.encode(BaseException.__dict__['args'].__get__(e), plain_only=True)
    except BaseException:
        args = None
    info = {'type': _safe_type_name(t), 'mro': mro, 'str': _str_copy(text)[:4000] if _isinstance(text, str) else '', 'args': args}
    frames = program_frames(e)
    if frames:
        info['frames'] = frames
    for attr in ('__cause__', '__context__'):
        linked = BaseException.__dict__[attr].__get__(e)
        if linked is not None and depth < 3:
            info[attr.strip('_')] = exception_info(linked, codec, depth + 1)
    if BaseException.__dict__['__suppress_context__'].__get__(e):
        info['suppress'] = True
    return info


PROGRAM_FILE = 'main.py'


def program_frames(e):
    """[line, function] frames of the program's own file in e's traceback (read here, in the raising process)."""
    out = []
    try:
        tb = BaseException.__dict__['__traceback__'].__get__(e)
        while tb is not None and _len(out) < 64:
            code = tb.tb_frame.f_code
            if code.co_filename == PROGRAM_FILE:
                out.append(['candidate', tb.tb_lineno, _str_copy(code.co_name)])
            tb = tb.tb_next
    except BaseException:
        pass
    return out[-8:]


_DYNAMIC_EXC = {}


class RemoteException(Exception):
    """Marks exceptions rebuilt from the peer's report (see build_exception)."""


def build_exception(info, named, exit_exception, codec):
    """The local exception that stands for one the peer raised: same built-in type, name and message."""
    mro = info.get('mro') or ['Exception']
    name = str(info.get('type') or 'Exception').rsplit('.', 1)[-1]
    text = info.get('str') or ''
    try:
        args = tuple(codec.decode(info['args'])) if info.get('args') is not None else (text,)
    except Exception:
        args = (text,)
    if mro[0] in ('SystemExit', 'KeyboardInterrupt', 'GeneratorExit') and exit_exception is not None:
        return exit_exception('the candidate raised %s%s' % (mro[0], (': ' + text) if text else ''))
    base = _BUILTIN_EXC.get(mro[0], Exception)
    if name == mro[0] and base is not None:
        try:
            exc = base(*args)
        except Exception:
            exc = base(text)
    else:
        local = named.get(name) if named else None
        if _isinstance(local, type) and issubclass(local, BaseException):
            try:
                exc = local.__new__(local)
                exc.args = args
            except Exception:
                exc = None
            if exc is not None:
                exc.__crucible_remote__ = info
                return exc
        key = (name, base)
        cls = _DYNAMIC_EXC.get(key)
        if cls is None:
            cls = type(name, (base,), {'__str__': lambda self: getattr(self, '_crucible_text', ''), '__module__': 'candidate'})
            _DYNAMIC_EXC[key] = cls
        try:
            exc = cls(*args)
        except Exception:
            exc = cls(text)
        exc._crucible_text = text
    try:
        exc.__crucible_remote__ = info
    except Exception:
        pass
    link_causes(exc, info, named, exit_exception, codec)
    return exc


def link_causes(exc, info, named, exit_exception, codec):
    try:
        if info.get('cause'):
            exc.__cause__ = build_exception(info['cause'], named, exit_exception, codec)
        if info.get('context'):
            exc.__context__ = build_exception(info['context'], named, exit_exception, codec)
        if info.get('suppress'):
            exc.__suppress_context__ = True
    except Exception:  # noqa: BLE001 - a chain that cannot be rebuilt is left off
        pass
