"""The candidate process (Python): runs only the candidate's program, then serves it over fd 3.

It never sees the tests. The judge asks for the names the program defined, then calls them; values go
back as plain data or as handles (see rpc.py). Whatever the program does to this process (patching
builtins, replacing modules, exiting) stays in this process: the judge decides the verdict elsewhere.
"""

import sys
import types

import rpc

RPC_FD = 3


class CandidateSide:
    def __init__(self, fd):
        self.peer = rpc.Peer(fd, self.serve)
        self.codec = rpc.Codec(self.proxy, self.info)
        self.peer.codec = self.codec
        self.peer.named = {}
        self.peer.exit_exception = None
        self.peer.ambient_in = self.ambient_in
        self.namespace = None

    def proxy(self, h, info):
        # The judge's objects (callbacks the tests pass in) are plain proxies here; calling one runs it in the judge.
        return rpc.Proxy(h, self.peer, info, True)

    def info(self, v):
        info = rpc.type_info(v)
        if isinstance(v, types.ModuleType):
            info['type'] = 'module'
            name = types.ModuleType.__dict__['__dict__'].__get__(v).get('__name__') if hasattr(types.ModuleType, '__dict__') else None
            if isinstance(name, str):
                info['module_name'] = name
        elif not info.get('class'):
            ids = []
            for k in rpc._type_mro(type(v)):
                try:
                    if rpc._type_module(k) == '__main__':
                        ids.append(self.codec.handle(k)[1])
                except Exception:  # noqa: BLE001
                    pass
            if ids:
                info['mro_ids'] = ids
        return info

    def serve(self, m):
        return self.peer.serve_request(m, lambda op, name: True)

    def ambient_in(self, state):
        rpc.AmbientState.apply(state)
        if 'con' in state:
            install_console(self.codec.decode(state['con'], self.peer.named))

    def hello(self, error=None):
        names = {}
        if self.namespace is not None:
            for k in list(self.namespace.keys()):
                if k.startswith('__') and k.endswith('__'):
                    continue
                v = self.namespace[k]
                try:
                    names[k] = self.codec.encode(v)
                except rpc.TooDeep:
                    continue
                except Exception:
                    continue
        msg = {'ready': True, 'names': names}
        if error is not None:
            msg['error'] = error
        self.peer.send(msg)

    def loop(self):
        while True:
            try:
                m = self.peer.recv_synced()
            except rpc.PeerGone:
                return
            if 'q' in m:
                reply = self.serve(m)
                flush_output()
                self.peer.send_synced(reply)


class Tee:
    """The candidate's stdout/stderr: written through to its own stream (the feedback shows it) and kept until
    the next message, which carries it to the judge, whose own streams then show it (capsys, redirect_stdout)."""

    def __init__(self, stream, fd, pending):
        self._stream = stream
        self._fd = fd
        self._pending = pending

    def write(self, text):
        n = self._stream.write(text)
        if isinstance(text, str) and text and sum(len(t) for _, t in self._pending) < 1 << 20:
            self._pending.append([self._fd, str.__str__(text)])
        return n

    def __getattr__(self, name):
        return getattr(self._stream, name)


class ConsoleReader:
    """sys.stdin for the candidate once the judge is there: every read is the judge's (see judge.console)."""

    def __init__(self, console):
        self._console = console

    def read(self, size=-1):
        return self._console('read', None if size is None or size < 0 else size)

    def readline(self, size=-1):
        return self._console('readline', None if size is None or size < 0 else size)

    def readlines(self, hint=-1):
        lines = []
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def readable(self):
        return True

    def isatty(self):
        return False

    def close(self):
        pass


def install_console(console):
    import builtins

    def console_input(prompt=None):
        flush_output()
        return console('input', None if prompt is None else str(prompt))
    builtins.input = console_input
    sys.stdin = ConsoleReader(console)


def flush_output():
    # The candidate's prints reach the feedback only if flushed before the process is killed at the end.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: B036 - the candidate may have replaced or closed its streams
            pass


def run(source, filename='main.py', fd=RPC_FD, preamble=None):
    """Executes the candidate's program as __main__, then serves the judge until it hangs up."""
    import builtins
    import types
    side = CandidateSide(fd)
    mod = types.ModuleType('__main__')
    mod.__file__ = filename
    mod.__builtins__ = builtins
    sys.modules['__main__'] = mod
    side.namespace = mod.__dict__
    pending = []
    sys.stdout = Tee(sys.stdout, 1, pending)
    sys.stderr = Tee(sys.stderr, 2, pending)

    def take_output():
        out = list(pending)
        del pending[:]
        return out
    error = None
    try:
        if preamble:
            exec(preamble, mod.__dict__)
        code = compile(source, filename, 'exec')
        exec(code, mod.__dict__)
    except SystemExit as e:
        error = {'type': 'SystemExit', 'mro': ['SystemExit', 'BaseException'], 'str': str(e.code), 'args': None,
                 'exit': True}
    except BaseException as e:  # noqa: B036 - a failing program is reported, whatever it raised
        error = rpc.exception_info(e, side.codec)
        if isinstance(e, SyntaxError):
            error['line'] = e.lineno
            error['text'] = (e.text or '').rstrip('\n')
    flush_output()
    del pending[:]   # what the program printed while loading stays in its own output, as under python3
    side.peer.take_output = take_output
    try:
        side.hello(error)
        side.loop()
    except rpc.PeerGone:
        pass
