"""Unit tests of the sandbox runtimes' pure parts (rpc codec, judge helpers, worker cleanup). Milliseconds, no sandbox."""
import collections
import datetime
import decimal
import fractions
import os
import socket
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'src', 'core', 'sandbox', 'runtime', 'py'))

import judge  # noqa: E402
import rpc  # noqa: E402


def pair():
    """Two codecs that talk to each other directly (no sockets): what one encodes, the other decodes."""
    a = rpc.Codec(lambda h, info: ('proxy', h), rpc.type_info)
    b = rpc.Codec(lambda h, info: ('proxy', h), rpc.type_info)
    return a, b


@pytest.mark.parametrize('value', [
    None, True, False, 0, -1, 2 ** 200, 1.5, float('inf'), -0.0, 'héllo', '\udcff', b'\x00\xff', bytearray(b'ab'),
    1 + 2j, (1, (2, 3)), frozenset({1, 2}), {1, 2}, {'a': [1, {'b': (2,)}]}, {(1, 2): 'tuple key'},
    collections.Counter('abca'), collections.OrderedDict([('b', 1), ('a', 2)]), collections.deque([1, 2], 5),
    fractions.Fraction(3, 4), decimal.Decimal('1.10'), datetime.date(2024, 2, 29), datetime.timedelta(days=1, seconds=3),
    range(0), range(3, 100, 7), range(10, -5, -3),
])
def test_plain_values_cross_unchanged(value):
    a, b = pair()
    out = b.decode(a.encode(value))
    assert out == value
    assert type(out) is type(value)


def test_subclasses_cross_as_their_builtin_value_never_their_methods():
    class Liar(float):
        def __sub__(self, other):
            return 0.0

        def __eq__(self, other):
            return True

    class Short(list):
        def __len__(self):
            return 0

    a, b = pair()
    x = b.decode(a.encode(Liar(5.0)))
    assert type(x) is float and x - 3.0 == 2.0
    y = b.decode(a.encode(Short([1, 2])))
    assert type(y) is list and len(y) == 2


def test_aliasing_and_cycles_survive():
    a, b = pair()
    row = [0, 0]
    grid = [row, row]
    out = b.decode(a.encode(grid))
    assert out[0] is out[1]
    loop = []
    loop.append(loop)
    back = b.decode(a.encode(loop))
    assert back[0] is back


def test_mirrored_containers_stay_in_step_both_ways():
    a, b = pair()
    log = []
    copy = b.decode(a.encode(log))
    a.changes()
    copy.append('from b')
    a.apply_changes(b.changes())
    assert log == ['from b']
    log.append('from a')
    b.apply_changes(a.changes())
    assert copy == ['from b', 'from a']
    # Sent back, the copy is the sender's own object again: identity holds.
    assert a.decode(b.encode(copy)) is log


def test_deep_values_end_in_a_clear_error_not_a_stack_overflow():
    a, b = pair()
    deep = []
    for _ in range(100000):
        deep = [deep]
    with pytest.raises(rpc.TooDeep):
        a.encode(deep)


def test_exceptions_keep_builtin_type_message_and_cause():
    a, _ = pair()
    try:
        try:
            raise KeyError('k')
        except KeyError as inner:
            raise ValueError('bad input') from inner
    except ValueError as e:
        info = rpc.exception_info(e, a)
    rebuilt = rpc.build_exception(info, {}, None, a)
    assert type(rebuilt) is ValueError and str(rebuilt) == 'bad input'
    assert isinstance(rebuilt.__cause__, KeyError)

    class Custom(LookupError):
        pass
    try:
        raise Custom('nope')
    except Custom as e:
        info = rpc.exception_info(e, a)
    rebuilt = rpc.build_exception(info, {}, None, a)
    assert isinstance(rebuilt, LookupError) and type(rebuilt).__name__ == 'Custom' and str(rebuilt) == 'nope'


def test_exit_and_skip_from_the_candidate_cannot_pose_as_control_flow():
    import unittest
    a, _ = pair()
    for exc in (SystemExit(0), KeyboardInterrupt()):
        info = rpc.exception_info(exc, a)
        assert isinstance(rpc.build_exception(info, {}, judge.CandidateExit, a), judge.CandidateExit)
    info = rpc.exception_info(unittest.SkipTest('skip me'), a)
    rebuilt = rpc.build_exception(info, {}, judge.CandidateExit, a)
    assert not isinstance(rebuilt, unittest.SkipTest)


def test_peer_calls_cross_a_real_socket_with_callbacks_and_write_back():
    left, right = socket.socketpair()
    served = rpc.Peer(right.fileno(), None)
    served.codec = rpc.Codec(lambda h, info: rpc.Proxy(h, served, info, True), rpc.type_info)
    served.named = {}
    served.serve = lambda m: served.serve_request(m, lambda op, name: True)

    def apply_and_extend(fn, xs):
        xs.append(fn(len(xs)))
        return len(xs)
    h = served.codec.handle(apply_and_extend)[1]

    def serve_forever():
        try:
            while True:
                m = served.recv_synced()
                if 'q' in m:
                    served.send_synced(served.serve(m))
        except rpc.PeerGone:
            pass
    t = threading.Thread(target=serve_forever, daemon=True)
    t.start()
    caller = rpc.Peer(left.fileno(), None)
    caller.codec = rpc.Codec(lambda h, info: rpc.Proxy(h, caller, info, False), rpc.type_info)
    caller.named = {}
    caller.serve = lambda m: caller.serve_request(m, lambda op, name: op == 'call')
    xs = [10, 20]
    assert caller.request('call', h, args=[lambda n: n * 100, xs]) == 3
    assert xs == [10, 20, 200]
    left.close()
    t.join(2)
    right.close()


def test_canonical_forms_sort_sets_and_dicts():
    assert judge.canon({3, 1, 2}) == judge.canon({2, 3, 1})
    assert judge.canon({'b': 1, 'a': 2}) == judge.canon({'a': 2, 'b': 1})
    assert judge.canon(1) != judge.canon(1.0)


@pytest.mark.parametrize('value, ans_type, ok', [
    (3, 'int', True), (True, 'int', False), (3.0, 'float', True), ([1, 2], 'List[int]', True), ([1, 'a'], 'List[int]', False),
    ([[1], [2, 3]], 'List[List[int]]', True), ({'a': 1}, 'Dict[str, int]', True), ((1, 'x'), 'Tuple[int, str]', True),
    ('s', 'str', True), ([], 'List[str]', True),
])
def test_answer_types(value, ans_type, ok):
    assert judge.matches_type(value, ans_type) is ok


def test_context_that_ends_mid_statement_is_cut_back_to_what_compiles():
    assert judge.compile_prefix('import math\ndef f(x):\n', '<context>') is not None
    assert judge.compile_prefix('def f(:\n', '<context>') is not None


def test_wipe_takes_apart_a_tree_nested_deeper_than_any_path_or_recursion_limit():
    import cleanup
    base = tempfile.mkdtemp()
    d = os.open(base, os.O_RDONLY)
    for _ in range(1500):
        os.mkdir('d', dir_fd=d)
        nd = os.open('d', os.O_RDONLY, dir_fd=d)
        os.close(d)
        d = nd
    os.close(d)
    with open(os.path.join(base, 'd', 'f'), 'w') as f:
        f.write('x')
    cleanup.wipe(base)
    assert os.listdir(base) == []
    os.rmdir(base)


def test_mirrors_nobody_holds_are_released_so_syncing_does_not_grow_with_every_call():
    a, b = pair()
    kept = [1, 2]
    for i in range(50):
        b.decode(a.encode([i, i]))
    b.decode(a.encode(kept))
    a.changes()   # what sending the message does: the snapshot of every new mirror
    released = a.releases()
    assert len(released) == 50 and len(a.own) == 1
    b.forget(released)
    b.changes()   # forgets take effect before b next encodes or syncs
    assert len(b.foreign) == 1
    kept.append(3)
    b.apply_changes(a.changes())
    assert list(b.foreign.values())[0] == [1, 2, 3]


def test_a_list_returned_as_given_survives_its_release_in_the_same_message():
    a, b = pair()
    given = []
    arg = b.decode(a.encode(given))
    a.changes()
    reply = b.encode(arg)            # the callee returns the very list it was given
    del arg
    b.changes()
    released = b.releases()          # ... and lets go of it in the same message
    a.forget(released)
    assert a.decode(reply) is given


def test_shared_state_goes_judge_to_candidate_when_it_changed_and_after_every_reseed(monkeypatch):
    import random
    state = rpc.AmbientState()
    monkeypatch.setattr(random, 'seed', random.seed)        # restored after the test
    monkeypatch.setattr(random, 'setstate', random.setstate)
    state.watch_reseeding()
    first = state.changed()
    assert set(first) == {'rs'}, 'only the generator, whose state was never sent'
    assert state.changed() is None, 'nothing changed since'
    random.seed(7)
    assert 'rs' in state.changed()
    random.seed(7)
    assert 'rs' in state.changed(), 'the same seed again is sent again: it resets the candidate a second time'
    random.random()
    assert 'rs' in state.changed(), 'a draw in the tests moves the shared stream'
    monkeypatch.setenv('CRUCIBLE_TEST_VAR', 'x')
    assert state.changed()['env']['CRUCIBLE_TEST_VAR'] == 'x'
    old = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(old + 10)
        assert state.changed() == {'rl': old + 10}
    finally:
        sys.setrecursionlimit(old)


def test_shared_state_applied_on_the_candidate_side(monkeypatch):
    import random
    random.seed(11)
    expected = [random.random() for _ in range(3)]
    random.seed(11)
    version, internal, gauss = random.getstate()
    random.seed(99)
    monkeypatch.setenv('CRUCIBLE_KEEP', '1')
    env = dict(os.environ, CRUCIBLE_NEW='2')
    env.pop('CRUCIBLE_KEEP')
    saved = dict(os.environ)
    try:
        rpc.AmbientState.apply({'rs': [version, list(internal), gauss], 'env': env})
        assert [random.random() for _ in range(3)] == expected
        assert os.environ.get('CRUCIBLE_NEW') == '2' and 'CRUCIBLE_KEEP' not in os.environ
        rpc.AmbientState.apply({'rs': 'not a state', 'rl': 'nope'})   # malformed parts are ignored
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_calls_from_several_threads_share_one_channel_safely():
    a, b = socket.socketpair()
    left, right = rpc.Peer(a.fileno(), None), rpc.Peer(b.fileno(), None)
    objs = {}
    for peer in (left, right):
        peer.codec = rpc.Codec(lambda h, info, p=peer: rpc.Proxy(h, p, info, True), rpc.type_info)
        peer.named = {}
    right.serve = lambda m: right.serve_request(m, lambda op, name: True)
    square = right.codec.encode(lambda x: x * x)
    objs['sq'] = left.codec.decode(square)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                m = right.recv_synced()
            except rpc.PeerGone:
                return
            if 'q' in m:
                right.send_synced(right.serve(m))
    server = threading.Thread(target=serve, daemon=True)
    server.start()
    results = {}

    def work(i):
        results[i] = objs['sq'](i)
    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(16)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stop.set()
    a.close()
    assert results == {i: i * i for i in range(16)}
    b.close()
