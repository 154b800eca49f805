"""The floor for a fork-per-job design, for bench/verify.mjs: a warm parent with the sandbox worker's imports
forks one child per job, and the child exits at once. CPU and minor page faults per job are what any design
that gives every job a fresh process pays before it runs a line of the job.

Usage: python3 forkFloor.py JOBS WORKERS -> prints one JSON summary line.
"""

import gc
import json
import os
import resource
import sys
import time

# The same warm imports as the sandbox worker (src/core/sandbox/runtime/worker.py).
import re, math, collections, itertools, functools, heapq, bisect, string, typing, random, dataclasses  # noqa: E401,F401
import fractions, decimal, statistics, copy, operator, traceback, io, hashlib, datetime, enum, abc  # noqa: E401,F401
import numbers, array, textwrap, types, threading, atexit, linecache, contextlib, unittest, inspect  # noqa: E401,F401
import builtins, codecs, weakref, warnings, pprint, queue, struct, cmath, difflib, uuid, keyword, ast  # noqa: E401,F401
import socket, subprocess, tempfile, pathlib, glob, csv, platform, zlib, binascii, locale, shlex, secrets  # noqa: E401,F401


def worker(n):
    gc.freeze()
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)


def main():
    jobs, workers = int(sys.argv[1]), int(sys.argv[2])
    t0 = time.perf_counter()
    kids = []
    for w in range(workers):
        share = jobs // workers + (1 if w < jobs % workers else 0)
        pid = os.fork()
        if pid == 0:
            worker(share)
            os._exit(0)
        kids.append(pid)
    for pid in kids:
        os.waitpid(pid, 0)
    seconds = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({'jobs': jobs, 'seconds': seconds, 'cpuSeconds': ru.ru_utime + ru.ru_stime, 'minorFaults': ru.ru_minflt}))


if __name__ == '__main__':
    main()
