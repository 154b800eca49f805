"""Cleanup that no job can break: used by the sandbox worker after every job (and unit-tested on its own)."""

import collections
import os
import stat

_wipe_counter = [0]


def wipe(path, keep=()):
    """Empties the directory `path` without recursion, without a stack of open directories and without
    long paths: every subdirectory found is first renamed to the top of `path`, so a tree nested
    thousands deep is taken apart one level at a time. Entries in `keep` (full paths) stay."""
    keep = set(keep or ())
    todo = collections.deque()
    try:
        names = os.listdir(path)
    except OSError:
        return
    for n in names:
        full = os.path.join(path, n)
        if full not in keep:
            todo.append(full)
    steps = 0
    while todo and steps < 2000000:
        steps += 1
        p = todo.popleft()
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            try:
                os.unlink(p)
            except OSError:
                pass
            continue
        try:
            os.chmod(p, 0o700)
        except OSError:
            pass
        try:
            entries = os.listdir(p)
        except OSError:
            entries = []
        for e in entries:
            child = os.path.join(p, e)
            try:
                cst = os.lstat(child)
            except OSError:
                continue
            if stat.S_ISDIR(cst.st_mode):
                _wipe_counter[0] += 1
                flat = os.path.join(path, '.wipe-%d-%d' % (os.getpid(), _wipe_counter[0]))
                try:
                    os.chmod(child, 0o700)
                except OSError:
                    pass
                try:
                    os.rename(child, flat)
                    todo.append(flat)
                except OSError:
                    pass
            else:
                try:
                    os.unlink(child)
                except OSError:
                    pass
        try:
            os.rmdir(p)
        except OSError:
            pass
