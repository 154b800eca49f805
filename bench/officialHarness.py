"""A stand-in for the official openai/human-eval harness, for bench/verify.mjs: the same execution model.

For each completion the official harness (human_eval/execution.py, check_correctness) builds the program
prompt + completion + test + `check(entry_point)`, starts a multiprocessing Manager for a result list, runs the
program in a multiprocessing.Process (fresh temp dir as cwd, I/O swallowed, a timer, resource limits and
dangerous os/shutil/subprocess functions disabled), joins it with a timeout and kills it if it lingers. Jobs run
on a thread pool (evaluate_functional_correctness, n_workers). This file reproduces those steps (written for this
benchmark, not copied) so the comparison is with the harness people actually use.

Usage: python3 officialHarness.py JOBS.jsonl WORKERS  -> prints one JSON summary line.
"""

import contextlib
import io
import json
import multiprocessing
import os
import resource
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor


class TimeoutException(Exception):
    pass


def guard_process(max_bytes):
    # What the official harness's reliability guard does, in outline: limits, then disable destructive calls.
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))
    resource.setrlimit(resource.RLIMIT_DATA, (max_bytes, max_bytes))
    import builtins
    import shutil
    import subprocess
    builtins.exit = None
    builtins.quit = None
    os.environ['OMP_NUM_THREADS'] = '1'
    for name in ('kill', 'system', 'putenv', 'remove', 'removedirs', 'rmdir', 'fchdir', 'setuid', 'fork', 'forkpty',
                 'killpg', 'rename', 'renames', 'truncate', 'replace', 'unlink', 'fchmod', 'fchown', 'chmod', 'chown',
                 'chroot', 'lchown', 'getcwd', 'chdir'):
        setattr(os, name, None)
    shutil.rmtree = None
    shutil.move = None
    shutil.chown = None
    subprocess.Popen = None


def run_one(program, timeout, result):
    with tempfile.TemporaryDirectory() as d:
        os.chdir(d)
        rmtree, rmdir, chdir = __import__('shutil').rmtree, os.rmdir, os.chdir
        guard_process(1 << 30)
        stream = io.StringIO()

        def on_alarm(signum, frame):
            raise TimeoutException('timed out')
        signal.setitimer(signal.ITIMER_REAL, timeout)
        signal.signal(signal.SIGALRM, on_alarm)
        try:
            with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
                exec(program, {})
            result.append('passed')
        except TimeoutException:
            result.append('timed out')
        except BaseException as e:  # noqa: B036 - the verdict of any failure is "failed"
            result.append('failed: %s' % e)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        # Restore what the temp-dir cleanup needs, as the official harness does.
        __import__('shutil').rmtree, os.rmdir, os.chdir = rmtree, rmdir, chdir


def check(job, timeout=3.0):
    program = job['prompt'] + job['completion'] + '\n' + job['test'] + '\n' + 'check(%s)' % job['entry_point']
    manager = multiprocessing.Manager()
    result = manager.list()
    p = multiprocessing.Process(target=run_one, args=(program, timeout, result))
    p.start()
    p.join(timeout=timeout + 1)
    if p.is_alive():
        p.kill()
    out = result[0] if result else 'timed out'
    manager.shutdown()
    return out == 'passed'


def main():
    jobs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    workers = int(sys.argv[2])
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(check, jobs))
    seconds = time.perf_counter() - t0
    ru_self = resource.getrusage(resource.RUSAGE_SELF)
    ru_kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru_self.ru_utime + ru_self.ru_stime + ru_kids.ru_utime + ru_kids.ru_stime
    faults = ru_self.ru_minflt + ru_kids.ru_minflt
    print(json.dumps({'jobs': len(jobs), 'passed': sum(results), 'seconds': seconds, 'cpuSeconds': cpu, 'minorFaults': faults}))


if __name__ == '__main__':
    main()
