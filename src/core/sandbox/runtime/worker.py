"""Crucible's sandbox worker: one per core, started by the host as `python3 -I -u worker.py <config>`.

It sets up isolation once (user, network, mount and PID namespaces where the machine allows), pre-imports
common modules, then runs one job at a time:
  - `python`/`exec` jobs: one program (a forked copy of this warm interpreter, or an exec'd Node);
  - `pair` jobs (every verdict): a candidate process and a judge process (see docs/verdict.md). The
    candidate processes are forked by a separate zygote that was split off before this worker read its
    first job, so no test text ever reaches their memory. Candidate and judge run as different uids
    (when the worker can switch uids) in different PID namespaces, joined only by an AF_UNIX socket pair.
Protocol with the host (stdin/stdout): frames of a 4-byte big-endian length then UTF-8 JSON.
  worker -> host: {"type":"hello", ...} once, then {"type":"result", ...} per job
  host -> worker: {"type":"job", ...} and, during a job, {"type":"cancel","id":...}
"""
import atexit
import base64
import builtins
import collections
import ctypes
import ctypes.util
import errno
import fcntl
import gc
import importlib
import json
import linecache
import os
import platform
import re
import resource
import secrets
import select
import shutil
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import types

# Warm imports: a forked job (judge or candidate) finds these already loaded.
WARM = ('math itertools functools heapq bisect string typing random dataclasses fractions decimal statistics copy '
        'operator io hashlib datetime enum abc numbers array textwrap types threading atexit contextlib unittest '
        'inspect builtins codecs weakref warnings pprint queue cmath difflib uuid keyword ast subprocess tempfile '
        'pathlib glob csv platform zlib binascii locale shlex asyncio encodings.idna encodings.latin_1 '
        'encodings.ascii encodings.utf_16').split()
for _name in WARM:
    try:
        importlib.import_module(_name)
    except ImportError:
        pass
gc.collect()

CFG = json.loads(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True   # the extension's folder may be read-only, and stays as installed
sys.path.insert(0, os.path.join(HERE, 'py'))
import judge  # noqa: E402  the judge and candidate runtimes, warm in every forked job
import candidate  # noqa: E402
from cleanup import wipe  # noqa: E402
del sys.path[0]
JS_RUNTIME = {}
for _name in ('judge.js', 'candidate.js', 'rpc.js'):
    try:
        with open(os.path.join(HERE, 'js', _name), encoding='utf-8') as _f:
            JS_RUNTIME[_name] = _f.read()
    except OSError:
        pass

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

IS_LINUX = sys.platform.startswith('linux')
# Audit arch and the numbers of kill, tkill, tgkill.
SECCOMP_ARCH = {'x86_64': (0xC000003E, 62, 200, 234), 'aarch64': (0xC00000B7, 129, 130, 131)}
libc = None
if IS_LINUX:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
        libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
        libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    except Exception:
        libc = None

def _check(r, what):
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, what + ': ' + os.strerror(e))

def prctl(op, arg, arg2=0):
    if libc is not None:
        return libc.prctl(op, arg, arg2, 0, 0)
    return -1

def unshare(flags):
    if libc is None:
        raise OSError(errno.ENOSYS, 'unshare unavailable')
    _check(libc.unshare(flags), 'unshare')

def mount(src, target, fstype, flags, data):
    enc = lambda s: None if s is None else s.encode()
    _check(libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)), 'mount ' + str(target))

def drop_all_caps():
    # Used when the job stays uid 0 inside a user namespace: no capabilities survive into the program.
    for cap in range(0, 64):
        prctl(PR_CAPBSET_DROP, cap)
    # SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | ..._LOCKED | SECBIT_KEEP_CAPS_LOCKED
    prctl(PR_SET_SECUREBITS, 0x1 | 0x2 | 0x4 | 0x8 | 0x20)
    class Header(ctypes.Structure):
        _fields_ = [('version', ctypes.c_uint32), ('pid', ctypes.c_int)]
    class Data(ctypes.Structure):
        _fields_ = [('effective', ctypes.c_uint32), ('permitted', ctypes.c_uint32), ('inheritable', ctypes.c_uint32)]
    hdr = Header(0x20080522, 0)
    data = (Data * 2)()
    libc.capset(ctypes.byref(hdr), ctypes.byref(data))

# ---- protocol -------------------------------------------------------------------------------------------

PROTO_IN = os.dup(0)
PROTO_OUT = os.dup(1)
_devnull = os.open(os.devnull, os.O_RDWR)
os.dup2(_devnull, 0)
os.dup2(_devnull, 1)
os.close(_devnull)

def send(obj):
    data = json.dumps(obj).encode('utf-8')
    buf = struct.pack('>I', len(data)) + data
    while buf:
        n = os.write(PROTO_OUT, buf)
        buf = buf[n:]

_inbuf = bytearray()

def _try_parse():
    if len(_inbuf) < 4:
        return None
    n = struct.unpack('>I', bytes(_inbuf[:4]))[0]
    if len(_inbuf) < 4 + n:
        return None
    body = bytes(_inbuf[4:4 + n])
    del _inbuf[:4 + n]
    return json.loads(body.decode('utf-8'))

def recv_blocking():
    while True:
        msg = _try_parse()
        if msg is not None:
            return msg
        chunk = os.read(PROTO_IN, 1 << 16)
        if not chunk:
            return None
        _inbuf.extend(chunk)

def recv_nonblocking():
    # Called when PROTO_IN is readable during a job. Returns (messages, eof).
    chunk = os.read(PROTO_IN, 1 << 16)
    if not chunk:
        return [], True
    _inbuf.extend(chunk)
    out = []
    while True:
        msg = _try_parse()
        if msg is None:
            return out, False
        out.append(msg)

# ---- set-up ---------------------------------------------------------------------------------------------

NOTES = []
CAPS = {'net': False, 'mnt': False, 'userns': False, 'pid': False, 'uid': None, 'subreaper': False}

signal.signal(signal.SIGINT, signal.SIG_IGN)
if IS_LINUX and libc is not None:
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if not CFG.get('bwrap') and os.getppid() != CFG.get('parentPid', os.getppid()):
        os._exit(0)

def keep_paths():
    # What the jobs must still reach when a folder is hidden: the interpreter's own prefix (its stdlib), the
    # folders holding the Node executable, and the few files of /etc the dynamic linker and the clock need.
    out = set()
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        if p:
            out.add(os.path.realpath(p))
    for p in CFG.get('keep', []):
        if p and os.path.lexists(p):
            out.add(p if os.path.islink(p) else os.path.realpath(p))
    return sorted(out)

def setup_mounts():
    # A private mount namespace: fresh, world-writable /tmp, /var/tmp and /dev/shm (wiped after every job);
    # home directories, /etc, /run and the folder Crucible runs from replaced by empty read-only tmpfs, with
    # what jobs need bound back read-only (see keep_paths).
    mount(None, '/', None, MS_REC | MS_PRIVATE, None)
    keeps = keep_paths()
    hide = []
    for h in CFG.get('hide', []):
        r = os.path.realpath(h) if h else ''
        under_tmp = any(r == t or r.startswith(t + '/') for t in ('/tmp', '/var/tmp', '/dev/shm'))
        if r and os.path.isdir(r) and r != '/' and not under_tmp and r not in hide:
            hide.append(r)
    # A folder inside another hidden folder is hidden with it.
    hide = [h for h in hide if not any(o != h and h.startswith(o + '/') for o in hide)]
    kept = []   # (path, kind, fd or link target)
    for h in hide:
        for k in keeps:
            if k == h or not k.startswith(h + '/'):
                continue
            try:
                if os.path.islink(k):
                    kept.append((k, 'link', os.readlink(k)))
                elif os.path.isdir(k):
                    kept.append((k, 'dir', os.open(k, os.O_RDONLY | os.O_DIRECTORY)))
                else:
                    kept.append((k, 'file', os.open(k, os.O_RDONLY)))
            except OSError as e:
                NOTES.append('could not keep ' + k + ': ' + str(e))
    for d in ('/tmp', '/var/tmp', '/dev/shm'):
        if os.path.isdir(d):
            mount('crucible', d, 'tmpfs', MS_NOSUID | MS_NODEV, 'mode=1777,size=' + str(CFG.get('tmpfsMb', 256)) + 'm')
    hidden = []
    for h in hide:
        try:
            mount('crucible', h, 'tmpfs', MS_NOSUID | MS_NODEV, 'mode=0755,size=1m')
            for k, kind, ref in kept:
                if not k.startswith(h + '/'):
                    continue
                if kind == 'link':
                    os.makedirs(os.path.dirname(k), exist_ok=True)
                    os.symlink(ref, k)
                    continue
                if kind == 'dir':
                    os.makedirs(k, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(k), exist_ok=True)
                    open(k, 'a').close()
                mount('/proc/self/fd/' + str(ref), k, None, MS_BIND | MS_REC, None)
                try:
                    mount(None, k, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, None)
                except OSError:
                    pass
                if kind == 'dir':
                    NOTES.append('kept ' + k + ' visible (read-only) inside hidden ' + h)
                CAPS.setdefault('kept', []).append(k)
            mount(None, h, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
            hidden.append(h)
        except OSError as e:
            NOTES.append('could not hide ' + h + ': ' + str(e))
    for _, kind, ref in kept:
        if kind != 'link':
            os.close(ref)
    CAPS['hidden'] = hidden

def enter_pid_namespace():
    # The process that continues from here (the zygote) is PID 1 of a fresh PID namespace and runs every
    # job of this worker, one at a time. After each job it kills everything else in the namespace, so
    # setsid'd and double-forked descendants die too; if the zygote dies, the kernel kills the namespace.
    try:
        unshare(CLONE_NEWPID)
    except OSError as e:
        NOTES.append('PID namespace unavailable: ' + str(e))
        return False
    z = os.fork()
    if z == 0:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        # Not dumpable: a job running as the same user cannot ptrace the zygote or read its memory.
        prctl(PR_SET_DUMPABLE, 0)
        if CAPS['mnt']:
            try:
                mount('proc', '/proc', 'proc', MS_NOSUID | MS_NODEV | 8, None)
                CAPS['proc'] = True
            except OSError as e:
                NOTES.append('could not mount a private /proc: ' + str(e))
        return True
    # The original process only mirrors the zygote's fate.
    os.close(PROTO_IN)
    os.close(PROTO_OUT)
    if CZ_SOCK is not None:
        CZ_SOCK.close()
    while True:
        try:
            _, st = os.waitpid(z, 0)
            break
        except InterruptedError:
            continue
    os._exit(os.waitstatus_to_exitcode(st) & 0xff if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))

ROLE = 'worker'      # 'worker' (runs jobs and judges) or 'cz' (forks candidate processes only)
CZ_SOCK = None       # the worker's end of the candidate zygote's control socket, or the zygote's own end
CZ_PID = None

def split_candidate_zygote():
    """Forks the candidate zygote now, before this worker reads any job: it never holds test text.

    Where namespaces allow, it gets its own mount and PID namespaces (its own /proc: candidates cannot
    see the judge's processes) and, like the worker, kills everything in its namespace after each job.
    """
    global ROLE, CZ_SOCK, CZ_PID, PROTO_IN, PROTO_OUT
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid != 0:
        b.close()
        CZ_SOCK, CZ_PID = a, pid
        return
    a.close()
    os.close(PROTO_IN)
    os.close(PROTO_OUT)
    PROTO_IN = PROTO_OUT = -1
    ROLE, CZ_SOCK = 'cz', b
    if IS_LINUX and libc is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if not CAPS['mnt'] or not CFG.get('namespaces', True):
        return
    try:
        unshare(CLONE_NEWNS | CLONE_NEWPID)
    except OSError as e:
        NOTES.append('candidate zygote: no PID namespace: ' + str(e))
        return
    z = os.fork()
    if z == 0:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        prctl(PR_SET_DUMPABLE, 0)
        try:
            mount(None, '/', None, MS_REC | MS_PRIVATE, None)
            mount('proc', '/proc', 'proc', MS_NOSUID | MS_NODEV | 8, None)
            CAPS['proc'] = True
        except OSError as e:
            NOTES.append('candidate zygote: could not mount a private /proc: ' + str(e))
        CAPS['pid'] = True
        return
    CZ_SOCK.close()
    while True:
        try:
            _, st = os.waitpid(z, 0)
            break
        except InterruptedError:
            continue
    os._exit(0)

def setup():
    if not IS_LINUX or libc is None:
        NOTES.append('not Linux: no namespaces')
        return
    if CFG.get('bwrap'):
        # Started by bubblewrap, which made the user, network and IPC namespaces (its AppArmor profile allows
        # what an unconfined interpreter may not do on Ubuntu 23.10+). Inside, we are root of that namespace.
        NOTES.append('bwrap: the worker runs inside bubblewrap (' + CFG['bwrap'] + ')')
        CAPS['userns'] = True
        CAPS['net'] = True
    if CFG.get('namespaces', True):
        euid = os.geteuid()
        if euid == 0 and CFG.get('bwrap'):
            try:
                unshare(CLONE_NEWNS)
                CAPS['mnt'] = True
            except OSError as e:
                NOTES.append('bwrap: no mount namespace inside it (' + str(e) + '); host files stay visible')
        elif euid == 0:
            try:
                unshare(CLONE_NEWNET | CLONE_NEWNS)
                CAPS['net'] = True
                CAPS['mnt'] = True
            except OSError as e:
                NOTES.append('unshare(net+mount) failed: ' + str(e))
                try:
                    unshare(CLONE_NEWNET)
                    CAPS['net'] = True
                except OSError as e2:
                    NOTES.append('unshare(net) failed: ' + str(e2))
        else:
            uid, gid = os.getuid(), os.getgid()
            try:
                unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS)
                with open('/proc/self/setgroups', 'w') as f:
                    f.write('deny')
                with open('/proc/self/uid_map', 'w') as f:
                    f.write('0 %d 1' % uid)
                with open('/proc/self/gid_map', 'w') as f:
                    f.write('0 %d 1' % gid)
                CAPS['userns'] = True
                CAPS['net'] = True
                CAPS['mnt'] = True
            except OSError as e:
                NOTES.append('unprivileged user namespace unavailable: ' + str(e))
        if CAPS['mnt']:
            try:
                setup_mounts()
            except OSError as e:
                NOTES.append('mount set-up failed: ' + str(e))
                CAPS['mnt'] = False
        split_candidate_zygote()
        if ROLE == 'worker':
            CAPS['pid'] = enter_pid_namespace()
    else:
        NOTES.append('namespaces disabled by configuration')
        split_candidate_zygote()
    if not CAPS['pid']:
        CAPS['subreaper'] = prctl(PR_SET_CHILD_SUBREAPER, 1) == 0
        CAPS['killfilter'] = libc is not None and platform.machine() in SECCOMP_ARCH
    # Drop jobs to an unprivileged uid when we are real root, provided the job can still reach the
    # interpreter's stdlib and the Node binary as that uid.
    want = CFG.get('uid') if ROLE == 'worker' else CFG.get('cuid')
    if want and os.geteuid() == 0 and not CAPS['userns']:
        paths = [os.path.dirname(os.__file__)] + [p for p in CFG.get('execs', []) if p]
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(want)
                os.setuid(want)
                for p in paths:
                    if os.path.isdir(p):
                        os.listdir(p)
                    elif not os.access(p, os.X_OK):
                        os._exit(5)
                os._exit(0)
            except BaseException:
                os._exit(6)
        _, st = os.waitpid(pid, 0)
        # Never run a candidate as root: drop even when part of the interpreter is unreadable as that uid
        # (then only the pre-imported modules and readable files work, and the report says so).
        CAPS['uid'] = want
        if os.waitstatus_to_exitcode(st) != 0:
            NOTES.append('jobs run as uid %d, which cannot read all of the interpreter or Node install; modules that are not pre-imported may fail to import' % want)

try:
    setup()
except Exception as e:
    NOTES.append('set-up error: ' + repr(e))

ROLE_TAG = 'w' if ROLE == 'worker' else 'c'
BASE = os.path.join(CFG.get('tmp') if not CAPS['mnt'] and CFG.get('tmp') else '/tmp', 'crucible-%s%d-%d' % (ROLE_TAG, CFG.get('index', 0), os.getpid()))
def clean_stale_dirs():
    # Without a private /tmp, job dirs of a worker that was killed would stay behind: remove them.
    parent = os.path.dirname(BASE)
    prefix = 'crucible-%s%d-' % (ROLE_TAG, CFG.get('index', 0))
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for n in names:
        if not n.startswith(prefix):
            continue
        try:
            pid = int(n[len(prefix):])
            os.kill(pid, 0)
            continue
        except ProcessLookupError:
            shutil.rmtree(os.path.join(parent, n), ignore_errors=True)
        except (ValueError, OSError):
            continue

if not CAPS['mnt']:
    clean_stale_dirs()
os.makedirs(BASE, exist_ok=True)
os.chmod(BASE, 0o711)
try:
    gc.freeze()
except Exception:
    pass

# ---- one job --------------------------------------------------------------------------------------------

def set_limits(lim, kind):
    def setl(res, v):
        try:
            resource.setrlimit(res, (v, v))
        except (ValueError, OSError):
            pass
    cpu_s = max(1, -(-int(lim['cpuMs']) // 1000))
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    except (ValueError, OSError):
        pass
    setl(resource.RLIMIT_AS, int(lim['asMb']) * 1024 * 1024)
    setl(resource.RLIMIT_FSIZE, int(lim['fileSizeBytes']))
    setl(resource.RLIMIT_NOFILE, max(8, int(lim['openFiles'])))
    setl(resource.RLIMIT_CORE, 0)
    if hasattr(resource, 'RLIMIT_NPROC'):
        if CAPS['uid']:
            setl(resource.RLIMIT_NPROC, int(lim.get('processes', 64)))
        elif not CAPS['pid']:
            # The count is per real uid: allow this many more than the user already runs.
            setl(resource.RLIMIT_NPROC, user_task_count(os.getuid()) + int(lim.get('processes', 64)))

# Preludes: trusted Python source the host sends once per worker (the verify harness). The zygote only compiles
# it (nothing runs here); each forked job inherits the code object and executes it in its own __main__ before the
# program, so a job pays neither the transfer nor the compile of the prelude.
PRELUDES = {}
MAX_PRELUDES = 16

def load_prelude(job):
    key = job.get('preludeKey')
    text = job.get('prelude')
    if key is None:
        return
    if text is not None and key not in PRELUDES and len(PRELUDES) < MAX_PRELUDES:
        try:
            PRELUDES[key] = compile(text, '<prelude>', 'exec')
        except BaseException:
            PRELUDES[key] = text  # each job compiles it itself and reports the error like any program's

def fresh_python_state():
    """A job's own text streams on fds 0-2 (the zygote's are not the job's), Ctrl-C as KeyboardInterrupt, no
    cached source lines of the zygote's files."""
    sys.stdin = sys.__stdin__ = open(0, 'r', encoding='utf-8', errors='surrogateescape', closefd=False)
    sys.stdout = sys.__stdout__ = open(1, 'w', encoding='utf-8', errors='backslashreplace', closefd=False)
    sys.stderr = sys.__stderr__ = open(2, 'w', encoding='utf-8', errors='backslashreplace', closefd=False, buffering=1)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    linecache.clearcache()

def flush_and_exit(rc):
    """Flushes what the job printed and exits at once (no atexit or finalizers of the zygote's state)."""
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except BaseException:
            pass
    os._exit(rc)

def run_python_program(path, source, prelude=None):
    sys.argv = [path]
    mod = types.ModuleType('__main__')
    mod.__file__ = path
    mod.__builtins__ = builtins
    sys.modules['__main__'] = mod
    fresh_python_state()
    rc = 0
    try:
        if isinstance(prelude, str):
            prelude = compile(prelude, '<prelude>', 'exec')
        if prelude is not None:
            exec(prelude, mod.__dict__)
        code = compile(source, path, 'exec')
        exec(code, mod.__dict__)
    except SystemExit as e:
        c = e.code
        if c is None:
            rc = 0
        elif isinstance(c, int):
            rc = c & 0xff
        else:
            try:
                print(c, file=sys.stderr)
            except BaseException:
                pass
            rc = 1
    except BaseException as e:
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != path:
            tb = tb.tb_next
        try:
            e.__traceback__ = tb
            sys.excepthook(type(e), e, tb)
        except BaseException:
            pass
        rc = 1
    try:
        threading._shutdown()
    except BaseException:
        pass
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass
    flush_and_exit(rc)


def user_task_count(uid):
    n = 0
    try:
        names = os.listdir('/proc')
    except OSError:
        return 4096
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open('/proc/' + name + '/status') as f:
                text = f.read()
        except OSError:
            continue
        m = re.search(r'^Uid:\s+(\d+)', text, re.M)
        t = re.search(r'^Threads:\s+(\d+)', text, re.M)
        if m and int(m.group(1)) == uid:
            n += int(t.group(1)) if t else 1
    return n

def program(job, jobdir, fds, ctl_w):
    in_r, out_w, err_w, rep_w = fds
    try:
        os.setsid()
    except OSError:
        pass
    os.dup2(in_r, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.dup2(rep_w, 3)
    if ctl_w != 4:
        os.dup2(ctl_w, 4)
        ctl_w = 4
    os.closerange(5, 65536)
    env = confine(job, jobdir, job['kind'], CAPS['uid'], ipc=True)
    path = os.path.join(jobdir, job['file'])
    os.close(ctl_w)
    if job['kind'] == 'exec':
        exec_or_exit([a.replace('{file}', path) for a in job['argv']], env)
    os.environ.clear()
    os.environ.update(env)
    prelude = None
    key = job.get('preludeKey')
    if key is not None:
        prelude = PRELUDES.get(key)
        if prelude is None:
            text = job.get('prelude')
            if text is None:
                raise RuntimeError('the prelude of this job was never sent to the worker')
            prelude = text
    elif job.get('prelude') is not None:
        prelude = job['prelude']
    run_python_program(path, job['source'], prelude)

def children_map():
    kids = {}
    try:
        names = os.listdir('/proc')
    except OSError:
        return kids
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open('/proc/' + name + '/stat', 'rb') as f:
                data = f.read()
            ppid = int(data[data.rindex(b')') + 2:].split()[1])
        except (OSError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(name))
    return kids

def descendants(root):
    kids = children_map()
    out, stack = [], [root]
    while stack:
        p = stack.pop()
        for c in kids.get(p, []):
            if c == CZ_PID and ROLE == 'worker':
                continue  # the candidate zygote cleans up after its own children
            out.append(c)
            stack.append(c)
    return out

def reap_exited():
    # Collect every child that has already exited, without waiting for the others.
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
        except ChildProcessError:
            break

def kill_descendants(root):
    # Best effort without a PID namespace: kill every descendant (we are their subreaper), reap, repeat.
    for _ in range(50):
        ds = descendants(root)
        if not ds:
            break
        for p in ds:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        reap_exited()
        time.sleep(0.002)

def kill_uid(uid):
    # Kill every process owned by the job uid (unique to this worker).
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        except BaseException:
            pass
        os._exit(0)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass

SIGNAMES = {}
for _n in dir(signal):
    if _n.startswith('SIG') and not _n.startswith('SIG_'):
        try:
            SIGNAMES[int(getattr(signal, _n))] = _n
        except (TypeError, ValueError):
            pass
SIGNAMES[signal.SIGABRT] = 'SIGABRT'
SIGNAMES[signal.SIGCHLD] = 'SIGCHLD'

MEMORY_PATTERNS = [
    re.compile(rb'(^|\n)MemoryError\b'),
    re.compile(rb'JavaScript heap out of memory'),
    re.compile(rb'Array buffer allocation failed'),
    re.compile(rb'Fatal process out of memory'),
    re.compile(rb'std::bad_alloc'),
    re.compile(rb'Cannot allocate memory'),
]

job_counter = [0]

def reap_all():
    while True:
        try:
            pid, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue

def clean_processes(kpid):
    # Kill whatever the job left behind. As PID 1 of the namespace, kill(-1) reaches every other process
    # in it (and nothing outside); without a namespace, walk our descendants (we are their subreaper).
    if CAPS['pid']:
        for _ in range(100):
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                break
            except OSError:
                break
            reap_all()
        reap_all()
        return
    try:
        os.killpg(kpid, signal.SIGKILL)
    except OSError:
        pass
    kill_descendants(os.getpid())
    if CAPS['uid']:
        kill_uid(CAPS['uid'])
    reap_exited()

CLK_TCK = os.sysconf('SC_CLK_TCK') if hasattr(os, 'sysconf') else 100

def program_cpu_seconds(pid):
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            data = f.read()
        fields = data[data.rindex(b')') + 2:].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, ValueError, IndexError):
        return None

class JobPump:
    """
    The worker's side of a running job: pumps the job's output pipes (and its stdin) into capped buffers until the
    process it waits on has ended and every pipe has closed. Enforces the wall limit, a sampled CPU limit and the
    output caps, and listens to the host meanwhile (a cancel, jobs queued behind this one, the host going away).
    run_job (one program) and run_pair (the judge, with the candidate in its zygote) differ only in what they pass.
    """

    def __init__(self, job, pid, pidfd, deadline, caps, kill_on_over, lost_status, cpu_used, cpu_limit_s,
                 poll_cap_ms, stdin=None, on_end=None, before_kill=None):
        self.job, self.pid, self.pidfd, self.deadline, self.caps = job, pid, pidfd, deadline, caps
        # Output past the cap on these pipes ends the job; on the others it is only cut.
        self.kill_on_over = set(kill_on_over)
        # The status recorded when the process was already reaped elsewhere (None keeps the job unfinished).
        self.lost_status = lost_status
        self.cpu_used, self.cpu_limit_s, self.poll_cap_ms = cpu_used, cpu_limit_s, poll_cap_ms
        self.on_end, self.before_kill = on_end, before_kill
        self.bufs = {fd: bytearray() for fd in caps}
        self.over = {fd: False for fd in caps}
        self.open_fds = set(caps)
        self.reason = None
        self.status = None
        self.rusage = None
        self.ended_at = None
        self.host_gone = False
        self.poller = select.poll()
        for fd in caps:
            os.set_blocking(fd, False)
            self.poller.register(fd, select.POLLIN)
        self.in_w, self.stdin_data, self.stdin_pos = None, b'', 0
        if stdin is not None:
            in_w, data = stdin
            if data:
                self.in_w, self.stdin_data = in_w, data
                os.set_blocking(in_w, False)
                self.poller.register(in_w, select.POLLOUT)
            else:
                os.close(in_w)
        if pidfd is not None:
            self.poller.register(pidfd, select.POLLIN)
        self.poller.register(PROTO_IN, select.POLLIN)

    def reap(self, block):
        if self.status is not None:
            return True
        try:
            pid, st, ru = os.wait4(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            pid, st, ru = self.pid, self.lost_status, None
        if pid == 0:
            return False
        self.status, self.rusage = st, ru
        self.ended_at = time.monotonic()
        if self.on_end is not None:
            self.on_end()
        clean_processes(self.pid)
        return True

    def kill(self, why):
        if self.reason is None:
            self.reason = why
        if self.before_kill is not None:
            self.before_kill()
        if self.status is not None:
            return
        if CAPS['pid']:
            # One signal stops the program and everything it started (a fork bomb stops competing for CPU).
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        self.reap(True)

    def wait_ms(self, now):
        if self.status is not None:
            return 50
        wait = max(1, int((self.deadline - now) * 1000) + 1)
        if self.poll_cap_ms is not None:
            wait = min(wait, self.poll_cap_ms)
        if self.pidfd is None:
            wait = min(wait, 5)
        return wait

    def run(self):
        while self.open_fds or self.status is None:
            now = time.monotonic()
            if self.status is None and now >= self.deadline:
                self.kill('timeout')
                continue
            if self.status is not None and now - self.ended_at > 0.5:
                break  # only possible without a PID namespace: a stray process kept a pipe open
            if self.status is None and self.cpu_used is not None:
                used = self.cpu_used()
                if used is not None and used >= self.cpu_limit_s:
                    self.kill('cpu')
                    continue
            try:
                events = self.poller.poll(self.wait_ms(now))
            except InterruptedError:
                continue
            if self.pidfd is None and self.status is None:
                self.reap(False)
            for fd, ev in events:
                if fd == PROTO_IN:
                    self.host_messages()
                elif fd == self.pidfd:
                    self.poller.unregister(fd)
                    self.reap(True)
                elif fd == self.in_w:
                    self.feed_stdin(ev)
                else:
                    self.read(fd)

    def host_messages(self):
        msgs, eof = recv_nonblocking()
        if eof:
            self.host_gone = True
            self.poller.unregister(PROTO_IN)
            self.kill('error')
        for m in msgs:
            if m.get('type') == 'cancel' and m.get('id') == self.job['id']:
                self.kill('cancelled')
            elif m.get('type') == 'job':
                QUEUED.append(m)

    def feed_stdin(self, ev):
        if not ev & (select.POLLERR | select.POLLHUP):
            try:
                self.stdin_pos += os.write(self.in_w, self.stdin_data[self.stdin_pos:self.stdin_pos + 65536])
            except BlockingIOError:
                pass
            except OSError:
                self.stdin_pos = len(self.stdin_data)
            if self.stdin_pos < len(self.stdin_data):
                return
        self.poller.unregister(self.in_w)
        os.close(self.in_w)
        self.in_w = None

    def read(self, fd):
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b''
        if not chunk:
            self.poller.unregister(fd)
            self.open_fds.discard(fd)
            return
        room = self.caps[fd] - len(self.bufs[fd])
        if len(chunk) > room:
            self.bufs[fd].extend(chunk[:max(0, room)])
            if not self.over[fd]:
                self.over[fd] = True
                if fd in self.kill_on_over:
                    self.kill('output_limit')
        else:
            self.bufs[fd].extend(chunk)

    def close(self):
        if self.in_w is not None:
            os.close(self.in_w)
        if self.pidfd is not None:
            os.close(self.pidfd)
        for fd in self.caps:
            os.close(fd)

def run_job(job):
    t0 = time.monotonic()
    lim = job['limits']
    job_counter[0] += 1
    jobdir = os.path.join(BASE, 'job-%d' % job_counter[0])
    os.mkdir(jobdir, 0o700)
    uid = CAPS['uid']
    src_path = os.path.join(jobdir, job['file'])
    with open(src_path, 'w', encoding='utf-8', errors='surrogatepass') as f:
        f.write(job['source'])
    if uid:
        os.chown(jobdir, uid, uid)
        os.chown(src_path, uid, uid)
    stdin_data = job.get('stdin', '').encode('utf-8', 'surrogatepass')
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    rep_r, rep_w = os.pipe()
    ctl_r, ctl_w = os.pipe()
    kpid = os.fork()
    if kpid == 0:
        try:
            for fd in (in_w, out_r, err_r, rep_r, ctl_r, PROTO_IN, PROTO_OUT):
                os.close(fd)
            program(job, jobdir, (in_r, out_w, err_w, rep_w), ctl_w)
        except BaseException as e:
            line = ('E job set-up failed: ' + repr(e).replace('\n', ' ') + '\n').encode()
            for fd in (ctl_w, 4):
                try:
                    os.write(fd, line)
                    break
                except BaseException:
                    pass
        os._exit(126)
    for fd in (in_r, out_w, err_w, rep_w, ctl_w):
        os.close(fd)
    try:
        pidfd = os.pidfd_open(kpid)
    except (AttributeError, OSError):
        pidfd = None
    deadline = t0 + lim['wallMs'] / 1000.0
    # RLIMIT_CPU counts whole seconds; sample the program's CPU time for a finer limit.
    cpu_limit_s = int(lim['cpuMs']) / 1000.0
    sample_cpu = cpu_limit_s < lim['wallMs'] / 1000.0 and os.path.exists('/proc/%d/stat' % kpid)
    out_cap = int(lim['outputBytes'])
    pump = JobPump(
        job, kpid, pidfd, deadline, {out_r: out_cap, err_r: out_cap, rep_r: int(lim['reportBytes'])},
        kill_on_over=(out_r, err_r, rep_r), lost_status=None,
        cpu_used=(lambda: program_cpu_seconds(kpid)) if sample_cpu else None, cpu_limit_s=cpu_limit_s,
        poll_cap_ms=50 if sample_cpu else None, stdin=(in_w, stdin_data))
    pump.run()
    pump.close()
    bufs, over, reason, kst, rusage, ended_at = pump.bufs, pump.over, pump.reason, pump.status, pump.rusage, pump.ended_at
    duration_ms = ((ended_at or time.monotonic()) - t0) * 1000.0
    try:
        os.set_blocking(ctl_r, False)
        ctl = os.read(ctl_r, 65536).decode('utf-8', 'replace')
    except OSError:
        ctl = ''
    os.close(ctl_r)
    cpu_ms = int((rusage.ru_utime + rusage.ru_stime) * 1000) if rusage else 0
    wipe(jobdir)
    try:
        os.rmdir(jobdir)
    except OSError:
        pass
    clean_shared_tmp()
    exit_code = None
    sig = None
    if kst is not None:
        if os.WIFEXITED(kst):
            exit_code = os.WEXITSTATUS(kst)
        elif os.WIFSIGNALED(kst):
            sig = SIGNAMES.get(os.WTERMSIG(kst), 'SIG%d' % os.WTERMSIG(kst))
    stderr = bytes(bufs[err_r])
    error = None
    setup_error = ctl[2:].strip() if ctl.startswith('E ') else None
    if reason == 'output_limit':
        status = 'output_limit'
    elif reason == 'timeout':
        status = 'timeout'
    elif reason == 'cpu':
        status = 'timeout'
    elif reason == 'cancelled':
        status = 'error'
        error = 'cancelled'
    elif reason == 'error':
        status = 'error'
        error = 'the host closed the worker during the job'
    elif setup_error:
        status = 'error'
        error = setup_error
    elif sig == 'SIGXCPU' or (sig == 'SIGKILL' and cpu_ms >= int(lim['cpuMs']) - 50):
        status = 'timeout'
    elif kst is None:
        status = 'error'
        error = 'the job ended without a status'
    elif (exit_code not in (None, 0) or sig is not None) and any(p.search(stderr[-8192:]) for p in MEMORY_PATTERNS):
        status = 'memory'
    elif sig == 'SIGKILL':
        status = 'memory'
        error = 'killed by SIGKILL (likely the out-of-memory killer)'
    else:
        status = 'exited'
    res = {
        'type': 'result', 'id': job['id'], 'status': status, 'exitCode': exit_code, 'signal': sig,
        'stdout': base64.b64encode(bytes(bufs[out_r])).decode('ascii'),
        'stderr': base64.b64encode(stderr).decode('ascii'),
        'report': base64.b64encode(bytes(bufs[rep_r])).decode('ascii'),
        'stdoutTruncated': over[out_r], 'stderrTruncated': over[err_r], 'reportTruncated': over[rep_r],
        'durationMs': duration_ms, 'cpuMs': cpu_ms, 'jobDir': jobdir,
    }
    if error:
        res['error'] = error
    return res, pump.host_gone

# ---- per-job cgroups ---------------------------------------------------------------------------------------------

CGROUP_ROOT = '/sys/fs/cgroup'

class JobCgroup:
    """One cgroup per side of a worker (judge, candidate), reused job after job: memory, pids and CPU for the
    whole process tree of a job, a CPU quota of one core (a setsid'd busy loop cannot starve a concurrent
    job), and CPU accounting for the whole tree. cgroup v1 (memory, pids, cpu, cpuacct hierarchies) or v2
    (unified, when our cgroup can delegate). None when the machine does not allow it (not root, no cgroupfs)."""

    def __init__(self, dirs, version):
        self.dirs = dirs          # controller -> directory (v2: one directory for all)
        self.version = version
        self.oom_base = 0
        self.cpu_base = 0
        self.base_bytes = 0       # the zygote's own resident pages, which the cgroup also counts

    @staticmethod
    def create(tag):
        if CFG.get('cgroups') is False or not IS_LINUX:
            return None, 'cgroups disabled by configuration' if CFG.get('cgroups') is False else 'not Linux'
        if os.geteuid() != 0:
            return None, 'not root: no per-job cgroup (CPU is summed over the job\'s processes instead)'
        try:
            with open('/proc/self/cgroup') as f:
                lines = f.read().splitlines()
        except OSError as e:
            return None, 'cannot read /proc/self/cgroup: ' + str(e)
        own = {}
        unified = None
        for line in lines:
            parts = line.split(':', 2)
            if len(parts) != 3:
                continue
            if parts[1] == '':
                unified = parts[2]
            for c in parts[1].split(','):
                if c:
                    own[c] = parts[2]
        name = 'crucible-%s-%d-%s-%s' % (CFG.get('parentPid', 0), CFG.get('index', 0), tag, secrets.token_hex(3))
        # Another worker's zygote may be sweeping stale cgroups right now, and an empty cgroup is what it sweeps:
        # each directory is made and entered at once, and made again if it vanished in between.
        v1 = {}
        for c in ('memory', 'pids', 'cpu', 'cpuacct'):
            base = os.path.join(CGROUP_ROOT, c)
            if c in own and os.path.isdir(base):
                JobCgroup.remove_stale(base + own[c])
                d = JobCgroup.make_and_enter(os.path.join(base + own[c], name))
                if d is not None:
                    v1[c] = d
        if 'memory' in v1 and 'cpuacct' in v1:
            return JobCgroup(v1, 1), None
        if v1:
            JobCgroup.leave(v1.values())
            for d in v1.values():
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        if unified is not None and os.path.exists(os.path.join(CGROUP_ROOT, 'cgroup.controllers')):
            parent = CGROUP_ROOT + unified
            try:
                with open(os.path.join(parent, 'cgroup.subtree_control'), 'w') as f:
                    f.write('+memory +pids +cpu')
            except OSError as e:
                return None, 'cgroup v2 is not delegated to this process (%s)' % e.strerror
            JobCgroup.remove_stale(parent)
            d = JobCgroup.make_and_enter(os.path.join(parent, name))
            if d is None:
                return None, 'cannot make and enter a cgroup under ' + parent
            return JobCgroup({'v2': d}, 2), None
        return None, 'no writable memory/cpuacct cgroup hierarchy'

    @staticmethod
    def make_and_enter(d):
        """Makes cgroup directory `d` and moves this process into it; the directory is ours only once we are
        in it (an empty cgroup may be removed by a concurrent sweep). None when that does not hold after retries."""
        for _ in range(5):
            try:
                os.makedirs(d, exist_ok=True)
                with open(os.path.join(d, 'cgroup.procs'), 'w') as f:
                    f.write(str(os.getpid()))
            except OSError:
                continue
            if JobCgroup.holds_self(d):
                return d
        return None

    @staticmethod
    def holds_self(d):
        try:
            with open(os.path.join(d, 'cgroup.procs')) as f:
                return str(os.getpid()) in f.read().split()
        except OSError:
            return False

    @staticmethod
    def leave(dirs):
        """Moves this process back to the cgroups it started in (before its own are removed)."""
        for d in dirs:
            parent = os.path.dirname(d)
            try:
                with open(os.path.join(parent, 'cgroup.procs'), 'w') as f:
                    f.write(str(os.getpid()))
            except OSError:
                pass

    def write(self, controller, name, value):
        d = self.dirs.get('v2') or self.dirs.get(controller)
        if d is None:
            return False
        try:
            with open(os.path.join(d, name), 'w') as f:
                f.write(str(value))
            return True
        except OSError:
            return False

    def read(self, controller, name):
        d = self.dirs.get('v2') or self.dirs.get(controller)
        try:
            with open(os.path.join(d, name)) as f:
                return f.read()
        except (OSError, TypeError):
            return ''

    limits_set = None

    def prepare(self, lim):
        """Sets this job's limits (before the job's process starts; the zygote lives in the cgroup, so the job's
        processes are born in it). Limits are written only when they change."""
        mem = int(lim['memoryMb']) * 1024 * 1024 + self.base_bytes   # the job's memory, over the zygote's own pages
        key = (mem, int(lim.get('processes', 64)))
        if key == self.limits_set:
            self.oom_base = self.oom_kills()
            self.cpu_base = self.cpu_ns()
            return
        self.limits_set = key
        if self.version == 1:
            self.write('memory', 'memory.limit_in_bytes', mem)
            self.write('memory', 'memory.max_usage_in_bytes', 0)
            self.write('pids', 'pids.max', int(lim.get('processes', 64)) + 1)
            self.write('cpu', 'cpu.cfs_period_us', 100000)
            self.write('cpu', 'cpu.cfs_quota_us', 100000)
        else:
            self.write('v2', 'memory.max', mem)
            self.write('v2', 'memory.swap.max', 0)
            self.write('v2', 'pids.max', int(lim.get('processes', 64)) + 1)
            self.write('v2', 'cpu.max', '100000 100000')
        self.oom_base = self.oom_kills()
        self.cpu_base = self.cpu_ns()

    def cpu_ns(self):
        if self.version == 1:
            try:
                return int(self.read('cpuacct', 'cpuacct.usage').strip() or 0)
            except ValueError:
                return 0
        for line in self.read('v2', 'cpu.stat').splitlines():
            if line.startswith('usage_usec '):
                return int(line.split()[1]) * 1000
        return 0

    def cpu_used_s(self):
        return (self.cpu_ns() - self.cpu_base) / 1e9

    def oom_kills(self):
        text = self.read('memory', 'memory.oom_control') if self.version == 1 else self.read('v2', 'memory.events')
        for line in text.splitlines():
            if line.startswith('oom_kill '):
                try:
                    return int(line.split()[1])
                except ValueError:
                    return 0
        return 0

    def oom_killed(self):
        return self.oom_kills() > self.oom_base

    def pids(self):
        out = set()
        for d in self.dirs.values():
            for line in (self.read_path(os.path.join(d, 'cgroup.procs')) or '').split():
                if line.isdigit():
                    out.add(int(line))
        return out

    @staticmethod
    def read_path(p):
        try:
            with open(p) as f:
                return f.read()
        except OSError:
            return ''

    @staticmethod
    def remove_stale(parent, min_age_s=60.0):
        # Cgroups of workers that were killed: empty ones go (rmdir fails on a cgroup still in use), and only
        # old ones, so that a sibling's cgroup made a moment ago is not taken before its zygote enters it.
        now = time.time()
        try:
            for n in os.listdir(parent):
                if n.startswith('crucible-'):
                    d = os.path.join(parent, n)
                    try:
                        if now - os.stat(d).st_ctime < min_age_s:
                            continue
                        os.rmdir(d)
                    except OSError:
                        pass
        except OSError:
            pass

    def remove(self):
        """At the zygote's end: out of its cgroups (a cgroup holding a process cannot be removed), then removes them;
        one still holding a job's straggler stays for a later worker's sweep."""
        JobCgroup.leave(self.dirs.values())
        for d in self.dirs.values():
            try:
                os.rmdir(d)
            except OSError:
                pass

CGROUP = [None]

def tree_cpu_seconds(exclude):
    """CPU time of every process this side can see but `exclude` (used without cgroups, in a PID namespace)."""
    total = 0.0
    try:
        names = os.listdir('/proc')
    except OSError:
        return None
    for n in names:
        if not n.isdigit() or int(n) in exclude:
            continue
        try:
            with open('/proc/' + n + '/stat', 'rb') as f:
                data = f.read()
            fields = data[data.rindex(b')') + 2:].split()
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / CLK_TCK
        except (OSError, ValueError, IndexError):
            continue
    return total

# ---- seccomp: refused system calls -------------------------------------------------------------------------

SYSCALLS = {
    'x86_64': dict(arch=0xC000003E, kill=62, tkill=200, tgkill=234, socket=41, socketpair=53, keyctl=250, add_key=248, request_key=249),
    'aarch64': dict(arch=0xC00000B7, kill=129, tkill=130, tgkill=131, socket=198, socketpair=199, keyctl=219, add_key=217, request_key=218),
}
ALLOWED_FAMILIES = (1, 2, 10)   # AF_UNIX, AF_INET, AF_INET6

def install_filter(own_pid=None):
    """A seccomp filter for one job: no kernel keyrings (keyctl/add_key/request_key: EPERM), sockets only
    of the families above (others: EAFNOSUPPORT) and, without a PID namespace, signals only to itself.
    Returns False where seccomp is unavailable (other architectures, non-Linux)."""
    prog_bytes = FILTERS.get(own_pid)
    if prog_bytes is None:
        prog_bytes = build_filter(own_pid)
        if prog_bytes is None:
            return False
        FILTERS[own_pid] = prog_bytes
    buf = ctypes.create_string_buffer(prog_bytes, len(prog_bytes))
    class Fprog(ctypes.Structure):
        _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]
    fprog = Fprog(len(prog_bytes) // 8, ctypes.addressof(buf))
    return prctl(22, 2, ctypes.addressof(fprog)) == 0   # PR_SET_SECCOMP, SECCOMP_MODE_FILTER

FILTERS = {}

def build_filter(own_pid):
    spec = SYSCALLS.get(platform.machine())
    if libc is None or spec is None:
        return None
    LD, JEQ, JGE, RET = 0x20, 0x15, 0x35, 0x06
    ALLOW, EPERM, EAFNO = 0x7fff0000, 0x00050000 | errno.EPERM, 0x00050000 | errno.EAFNOSUPPORT
    prog = []   # (code, jt, jf, k) with jt/jf as labels or None
    def op(code, k, jt=None, jf=None):
        prog.append([code, jt, jf, k])
    op(LD, 4)
    op(JEQ, spec['arch'], None, 'allow')
    op(LD, 0)
    op(JGE, 0x40000000, 'eperm', None)
    for name in ('keyctl', 'add_key', 'request_key'):
        op(JEQ, spec[name], 'eperm', None)
    op(JEQ, spec['socket'], 'family', None)
    op(JEQ, spec['socketpair'], 'family', None)
    if own_pid is not None:
        for name in ('kill', 'tkill', 'tgkill'):
            op(JEQ, spec[name], 'killchk', None)
    op(RET, ALLOW)
    labels = {}
    labels['family'] = len(prog)
    op(LD, 16)
    for fam in ALLOWED_FAMILIES:
        op(JEQ, fam, 'allow', None)
    op(RET, EAFNO)
    if own_pid is not None:
        labels['killchk'] = len(prog)
        op(LD, 16)
        op(JEQ, own_pid, 'allow', None)
        op(RET, EPERM)
    labels['allow'] = len(prog)
    op(RET, ALLOW)
    labels['eperm'] = len(prog)
    op(RET, EPERM)
    out = []
    for i, (code, jt, jf, k) in enumerate(prog):
        def rel(lab, here=i):
            return 0 if lab is None else labels[lab] - here - 1
        out.append(struct.pack('HBBI', code, rel(jt), rel(jf), k & 0xffffffff))
    return b''.join(out)

# ---- cleanup that no job can break ----------------------------------------------------------------------------

def clean_shared_tmp():
    if CAPS['mnt']:
        for d in ('/tmp', '/var/tmp', '/dev/shm'):
            wipe(d, keep=(BASE, CZ_BASE[0]) if d == '/tmp' else ())

# ---- framed messages with file descriptors (worker <-> candidate zygote) -------------------------------------

def fd_send(sock, obj, fds=()):
    data = json.dumps(obj).encode('utf-8', 'surrogatepass')
    frame = struct.pack('>I', len(data)) + data
    if fds:
        n = socket.send_fds(sock, [frame[:4]], list(fds))
        sock.sendall(frame[n:])
    else:
        sock.sendall(frame)

def fd_recv(sock):
    head, fds, _, _ = socket.recv_fds(sock, 4, 8)
    if not head:
        return None, fds
    while len(head) < 4:
        more = sock.recv(4 - len(head))
        if not more:
            return None, fds
        head += more
    n = struct.unpack('>I', head)[0]
    body = bytearray()
    while len(body) < n:
        chunk = sock.recv(min(1 << 20, n - len(body)))
        if not chunk:
            return None, fds
        body.extend(chunk)
    return json.loads(bytes(body).decode('utf-8', 'surrogatepass')), fds

# ---- starting one process of a pair ------------------------------------------------------------------------------

def memfd_with(text):
    fd = os.memfd_create('crucible-input', 0) if hasattr(os, 'memfd_create') else None
    data = text.encode('utf-8', 'surrogatepass')
    if fd is None:
        r, w = os.pipe()
        if len(data) > 60000:
            raise OSError(errno.E2BIG, 'input too large without memfd')
        os.write(w, data)
        os.close(w)
        return r
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd

def new_ipc_namespace():
    # SysV shared memory, semaphores and message queues, and POSIX message queues, private to this job:
    # nothing passes between concurrent jobs, and nothing outlives the job (the namespace dies with it).
    if CAPS.get('ipc') is False or libc is None or os.geteuid() != 0:
        return
    try:
        unshare(CLONE_NEWIPC)
    except OSError:
        pass

def confine(job, jobdir, kind, uid, ipc):
    """What every job process does before it runs anything of the job's, in this order: move into the job's
    folder, take its limits, a private IPC namespace (when `ipc`), the job's uid (or, as root in a user
    namespace, no capabilities), death with its parent, no new privileges, the seccomp filter. Returns the
    job's environment with the folder as its home and temp."""
    os.chdir(jobdir)
    set_limits(job['limits'], kind)
    if ipc:
        new_ipc_namespace()
    prctl(PR_SET_DUMPABLE, 1)
    if uid:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    elif CAPS['userns']:
        drop_all_caps()
    if IS_LINUX:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        install_filter(None if CAPS['pid'] else os.getpid())
    env = dict(job.get('env') or {})
    for k in ('HOME', 'TMPDIR', 'TMP', 'TEMP', 'PWD'):
        env[k] = jobdir
    return env

def exec_or_exit(argv, env):
    """Becomes argv[0] with the default signal dispositions; exit 127 with a line on stderr when it cannot start."""
    for s in (signal.SIGPIPE, signal.SIGINT, signal.SIGXFSZ, signal.SIGTERM):
        try:
            signal.signal(s, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    try:
        os.execve(argv[0], argv, env)
    except OSError as e:
        os.write(2, ('sandbox: cannot start ' + argv[0] + ': ' + str(e) + '\n').encode())
        os._exit(127)

def start_side(role, job, jobdir, fds, uid):
    """In a freshly forked child: become one side of a pair job and never return.

    fds: {target fd: source fd}. The candidate gets 0 (input), 1, 2, 3 (RPC); the judge also 4 (report).
    """
    try:
        os.setsid()
    except OSError:
        pass
    # Move the sources out of the way first so the dup2 targets can be overwritten in any order.
    moved = {t: fcntl.fcntl(src, fcntl.F_DUPFD, 100) for t, src in fds.items()}
    for t, src in moved.items():
        os.dup2(src, t, inheritable=True)
    for src in moved.values():
        os.close(src)
    os.closerange(max(fds) + 1, 65536)
    kind = 'python' if job['language'] == 'python' else 'exec'
    env = confine(job, jobdir, kind, uid, ipc=role == 'candidate')
    if job['language'] != 'python':
        script = os.path.join(RUNTIME_DIR[0], role + '.js')
        exec_or_exit([job['node']] + list(job.get('nodeArgs') or []) + [script], env)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ['main.py']
    fresh_python_state()
    gc.disable()
    try:
        if role == 'candidate':
            candidate.run(job['source'], 'main.py', preamble=job.get('preamble'))
        else:
            judge.run(job['spec'])
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
    flush_and_exit(0)

RUNTIME_DIR = [None]

def write_js_runtime():
    """The JavaScript runtimes, copied where every job uid can read them (the checkout may be hidden)."""
    if not JS_RUNTIME:
        return
    d = os.path.join(BASE, 'runtime')
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    for name, text in JS_RUNTIME.items():
        path = os.path.join(d, name)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
        os.chmod(path, 0o644)
    RUNTIME_DIR[0] = d

def process_status(st):
    if st is None:
        return None, None
    if os.WIFEXITED(st):
        return os.WEXITSTATUS(st), None
    if os.WIFSIGNALED(st):
        n = os.WTERMSIG(st)
        return None, SIGNAMES.get(n, 'SIG%d' % n)
    return None, None

# ---- the candidate zygote ----------------------------------------------------------------------------------------

def cz_loop():
    """Forks candidate processes on the worker's request; holds nothing but candidate code."""
    fd_send(CZ_SOCK, {'type': 'hello', 'caps': CAPS, 'notes': NOTES, 'base': BASE,
                      'cgroupDirs': list(CGROUP[0].dirs.values()) if CGROUP[0] is not None else []})
    counter = 0
    while True:
        msg, fds = fd_recv(CZ_SOCK)
        if msg is None:
            os._exit(0)
        if msg.get('type') != 'start':
            for fd in fds:
                os.close(fd)
            continue
        counter += 1
        job = msg['job']
        jobdir = os.path.join(BASE, 'job-%d' % counter)
        pid = None
        error = None
        try:
            os.mkdir(jobdir, 0o700)
            if CAPS['uid']:
                os.chown(jobdir, CAPS['uid'], CAPS['uid'])
            src = job['source'] if job['language'] == 'python' else None
            infd = memfd_with(job['source']) if src is None else os.open(os.devnull, os.O_RDONLY)
            if CGROUP[0] is not None:
                CGROUP[0].prepare(job['limits'])
            pid = os.fork()
            if pid == 0:
                try:
                    CZ_SOCK.close()
                    start_side('candidate', job, jobdir, {0: infd, 1: fds[1], 2: fds[2], 3: fds[0]}, CAPS['uid'])
                except BaseException as e:
                    try:
                        os.write(2, ('sandbox: candidate set-up failed: ' + repr(e) + '\n').encode())
                    except BaseException:
                        pass
                os._exit(126)
            os.close(infd)
        except OSError as e:
            error = 'cannot start the candidate process: ' + str(e)
        for fd in fds:
            os.close(fd)
        fd_send(CZ_SOCK, {'type': 'started', 'pid': pid, 'error': error})
        if pid is None:
            continue
        cz_watch(pid, job, jobdir)

def reaped(pid):
    """(status, rusage) of the candidate if it has ended, without waiting; (None, None) while it runs. A child
    that is already gone (reaped elsewhere) counts as ended with status 0."""
    try:
        p, status, usage = os.wait4(pid, os.WNOHANG)
    except ChildProcessError:
        return 0, None
    return (status, usage) if p == pid else (None, None)

def cz_watch(pid, job, jobdir):
    """Waits for the worker's `end`, enforcing the candidate's CPU limit meanwhile."""
    cpu_limit_s = int(job['limits']['cpuMs']) / 1000.0
    reason = None
    st = None
    ru = None
    poller = select.poll()
    poller.register(CZ_SOCK.fileno(), select.POLLIN)
    # The CPU of the candidate's whole tree is sampled a few times a second (RLIMIT_CPU stops its main process
    # at the limit anyway); the worker's wall clock ends the job in any case.
    interval = max(100, min(500, int(cpu_limit_s * 1000) // 20))
    while True:
        if st is None:
            st, ru = reaped(pid)
        if reason is None:
            used = side_cpu_seconds(pid)
            if used is not None and used >= cpu_limit_s:
                reason = 'cpu'
                cz_kill_all(pid)
        events = poller.poll(interval if st is None else 1000)
        if events:
            break
    msg, fds = fd_recv(CZ_SOCK)
    for fd in fds:
        os.close(fd)
    if st is None:
        # Reap it if it has already died (of the OOM killer, say), so that its own end is what we report.
        st, ru = reaped(pid)
    # Still running when the worker said the job was over (the judge had finished): the SIGKILL below is ours,
    # not the out-of-memory killer's, and must not make the job look like it ran out of memory.
    ended_by_us = st is None
    cz_kill_all(pid)
    if st is None:
        try:
            _, st, ru = os.wait4(pid, 0)
        except ChildProcessError:
            st = None
    if CAPS['pid']:
        reap_all()
    else:
        reap_exited()
    wipe(jobdir)
    try:
        os.rmdir(jobdir)
    except OSError:
        pass
    code, sig = process_status(st)
    cg = CGROUP[0]
    cpu_ms = int(cg.cpu_used_s() * 1000) if cg is not None else (int((ru.ru_utime + ru.ru_stime) * 1000) if ru else 0)
    oom = cg.oom_killed() if cg is not None else False
    if msg is None:
        os._exit(0)
    fd_send(CZ_SOCK, {'type': 'ended', 'exitCode': code, 'signal': sig, 'cpuMs': cpu_ms, 'reason': reason, 'oom': oom,
                      'oomCounted': cg is not None, 'endedByUs': ended_by_us})

def side_cpu_seconds(pid):
    """CPU used so far by this side's job: its whole process tree (cgroup, or every process in our PID
    namespace), or the job's main process alone where neither is available."""
    cg = CGROUP[0]
    if cg is not None:
        return cg.cpu_used_s()
    if CAPS['pid']:
        return tree_cpu_seconds({os.getpid()})
    return program_cpu_seconds(pid)

def candidate_oom_guess(cz, report):
    """Without a cgroup's OOM count: a candidate that died of SIGKILL (not sent by us at the end of the job) while
    the judge could not finish was most likely killed by the out-of-memory killer. With the count, the count
    decides (a program that kills itself has not run out of memory)."""
    if cz.get('oomCounted'):
        return False
    return cz.get('signal') == 'SIGKILL' and not cz.get('endedByUs') and not bytes(report).endswith(b'"end"}\n')

def cz_kill_all(pid):
    if CAPS['pid']:
        for _ in range(100):
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                break
            reap_exited()
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    kill_descendants(os.getpid())
    if CAPS['uid']:
        kill_uid(CAPS['uid'])

# ---- a pair job, seen from the worker --------------------------------------------------------------------------

CZ_BASE = [None]

def run_pair(job):
    t0 = time.monotonic()
    lim = job['limits']
    job_counter[0] += 1
    jobdir = os.path.join(BASE, 'job-%d' % job_counter[0])
    os.mkdir(jobdir, 0o700)
    uid = CAPS['uid']
    if uid:
        os.chown(jobdir, uid, uid)
    rpc_j, rpc_c = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    c_out_r, c_out_w = os.pipe()
    c_err_r, c_err_w = os.pipe()
    j_out_r, j_out_w = os.pipe()
    j_err_r, j_err_w = os.pipe()
    rep_r, rep_w = os.pipe()
    cjob = {'language': job['language'], 'source': job['candidate'], 'limits': lim, 'env': job.get('env'), 'preamble': job.get('preamble'),
            'node': job.get('node'), 'nodeArgs': job.get('nodeArgs')}
    fd_send(CZ_SOCK, {'type': 'start', 'job': cjob}, [rpc_c.fileno(), c_out_w, c_err_w])
    rpc_c.close()
    os.close(c_out_w)
    os.close(c_err_w)
    started, _ = fd_recv(CZ_SOCK)
    if started is None:
        raise RuntimeError('the candidate zygote is gone')
    if started.get('error'):
        rpc_j.close()
        for fd in (c_out_r, c_err_r, j_out_r, j_out_w, j_err_r, j_err_w, rep_r, rep_w):
            os.close(fd)
        return {'type': 'result', 'id': job['id'], 'status': 'error', 'error': started['error']}
    jjob = {'language': job['language'], 'spec': job['spec'], 'limits': lim, 'env': job.get('env'),
            'node': job.get('node'), 'nodeArgs': job.get('nodeArgs')}
    infd = memfd_with(json.dumps(job['spec'])) if job['language'] != 'python' else os.open(os.devnull, os.O_RDONLY)
    if CGROUP[0] is not None:
        CGROUP[0].prepare(lim)
    jpid = os.fork()
    if jpid == 0:
        try:
            CZ_SOCK.close()
            for fd in (PROTO_IN, PROTO_OUT, c_out_r, c_err_r, j_out_r, j_err_r, rep_r):
                os.close(fd)
            start_side('judge', jjob, jobdir, {0: infd, 1: j_out_w, 2: j_err_w, 3: rpc_j.fileno(), 4: rep_w}, uid)
        except BaseException as e:
            try:
                os.write(j_err_w, ('sandbox: judge set-up failed: ' + repr(e) + '\n').encode())
            except BaseException:
                pass
        os._exit(126)
    os.close(infd)
    rpc_j.close()
    for fd in (j_out_w, j_err_w, rep_w):
        os.close(fd)
    try:
        pidfd = os.pidfd_open(jpid)
    except (AttributeError, OSError):
        pidfd = None
    cz_ended = None

    def end_candidate():
        nonlocal cz_ended
        if cz_ended is None:
            fd_send(CZ_SOCK, {'type': 'end'})
            cz_ended, _ = fd_recv(CZ_SOCK)
            if cz_ended is None:
                raise RuntimeError('the candidate zygote is gone')

    out_cap = int(lim['outputBytes'])
    caps = {c_out_r: out_cap, c_err_r: out_cap, j_out_r: out_cap, j_err_r: out_cap, rep_r: int(lim['reportBytes'])}
    # The judge's own output past its cap is cut; the candidate's, or the report's, ends the job.
    pump = JobPump(
        job, jpid, pidfd, t0 + lim['wallMs'] / 1000.0, caps, kill_on_over=(c_out_r, c_err_r, rep_r), lost_status=0,
        cpu_used=lambda: side_cpu_seconds(jpid), cpu_limit_s=int(lim['cpuMs']) / 1000.0, poll_cap_ms=100,
        on_end=end_candidate, before_kill=end_candidate)
    pump.run()
    pump.close()
    bufs, over, reason, jst, jru, ended_at = pump.bufs, pump.over, pump.reason, pump.status, pump.rusage, pump.ended_at
    if cz_ended is None:
        end_candidate()
    duration_ms = ((ended_at or time.monotonic()) - t0) * 1000.0
    wipe(jobdir)
    try:
        os.rmdir(jobdir)
    except OSError:
        pass
    clean_shared_tmp()
    jcode, jsig = process_status(jst)
    c_stderr = bytes(bufs[c_err_r])
    cz = cz_ended or {}
    jcg = CGROUP[0]
    j_cpu_ms = int(jcg.cpu_used_s() * 1000) if jcg is not None else (int((jru.ru_utime + jru.ru_stime) * 1000) if jru else 0)
    cpu_ms = j_cpu_ms + int(cz.get('cpuMs') or 0)
    oom = cz.get('oom') or (jcg is not None and jcg.oom_killed())
    error = None
    if reason == 'output_limit':
        status = 'output_limit'
    elif reason in ('timeout', 'cpu') or cz.get('reason') == 'cpu':
        status = 'timeout'
    elif reason == 'cancelled':
        status, error = 'error', 'cancelled'
    elif reason == 'error':
        status, error = 'error', 'the host closed the worker during the job'
    elif cz.get('signal') == 'SIGXCPU' or jsig == 'SIGXCPU':
        status = 'timeout'
    elif oom or any(p.search(c_stderr[-8192:]) for p in MEMORY_PATTERNS) or candidate_oom_guess(cz, bufs[rep_r]):
        status = 'memory'
    else:
        status = 'exited'
    res = {
        'type': 'result', 'id': job['id'], 'status': status, 'exitCode': jcode, 'signal': jsig,
        'stdout': base64.b64encode(bytes(bufs[c_out_r])).decode('ascii'),
        'stderr': base64.b64encode(c_stderr).decode('ascii'),
        'judgeStdout': base64.b64encode(bytes(bufs[j_out_r])).decode('ascii'),
        'judgeStderr': base64.b64encode(bytes(bufs[j_err_r])).decode('ascii'),
        'report': base64.b64encode(bytes(bufs[rep_r])).decode('ascii'),
        'stdoutTruncated': over[c_out_r], 'stderrTruncated': over[c_err_r], 'reportTruncated': over[rep_r],
        'durationMs': duration_ms, 'cpuMs': cpu_ms, 'candidateExit': cz.get('exitCode'), 'candidateSignal': cz.get('signal'),
    }
    if error:
        res['error'] = error
    return res, pump.host_gone

QUEUED = collections.deque()

def vm_rss_bytes():
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0

def vm_mb():
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmSize:'):
                    return int(line.split()[1]) // 1024 + 1
    except (OSError, ValueError):
        pass
    return 0

def main():
    CGROUP[0], why = JobCgroup.create('cand' if ROLE == 'cz' else 'judge')
    CAPS['cgroup'] = None if CGROUP[0] is None else 'v%d' % CGROUP[0].version
    if CGROUP[0] is not None:
        CGROUP[0].base_bytes = vm_rss_bytes()
    if CAPS['pid'] and IS_LINUX:
        FILTERS[None] = build_filter(None)   # every job of this zygote installs the same filter
    if why:
        NOTES.append('cgroup: ' + why)
    if ROLE == 'cz':
        write_js_runtime()
        cz_loop()
        os._exit(0)
    write_js_runtime()
    cz_hello, _ = fd_recv(CZ_SOCK)
    cz_hello = cz_hello or {}
    CZ_BASE[0] = cz_hello.get('base')
    send({'type': 'hello', 'pid': os.getpid(), 'vmMb': vm_mb(), 'python': sys.version.split()[0], 'executable': sys.executable,
          'caps': CAPS, 'notes': NOTES, 'base': BASE, 'candidate': {'caps': cz_hello.get('caps'), 'notes': cz_hello.get('notes')}})
    while True:
        msg = QUEUED.popleft() if QUEUED else recv_blocking()
        if msg is None:
            break
        if msg.get('type') != 'job':
            continue
        try:
            if msg.get('kind') == 'pair':
                res, gone = run_pair(msg)
            else:
                load_prelude(msg)
                res, gone = run_job(msg)
        except BaseException as e:
            res, gone = {'type': 'result', 'id': msg.get('id'), 'status': 'error', 'error': 'worker failure: ' + repr(e)}, False
        if gone:
            break
        send(res)
    try:
        shutil.rmtree(BASE, ignore_errors=True)
    except BaseException:
        pass
    if CGROUP[0] is not None:
        CGROUP[0].remove()
    remove_cz_cgroups(cz_hello.get('cgroupDirs') or [])
    os._exit(0)

def remove_cz_cgroups(dirs):
    """The candidate zygote's cgroups, once it has ended (it ends when its socket closes; it cannot remove them
    itself, as they hold it, and it is not our child to wait for). What still holds a process after half a
    second is left to a later worker's sweep."""
    try:
        CZ_SOCK.close()
    except OSError:
        pass
    dirs = [d for d in dirs if isinstance(d, str) and os.path.basename(d).startswith('crucible-')]
    end = time.monotonic() + 0.5
    while dirs:
        for d in list(dirs):
            try:
                os.rmdir(d)
                dirs.remove(d)
            except FileNotFoundError:
                dirs.remove(d)
            except OSError:
                pass
        if not dirs or time.monotonic() > end:
            break
        time.sleep(0.01)

main()
