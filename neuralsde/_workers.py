"""Independent fits in worker processes: the automatic configuration's candidates of one stage,
and its members, need nothing of each other, so ``jobs`` processes share them.

Each fit sets its own seed and uses its forecaster's ``threads`` (1 by default), so a fit gives
the same numbers in a worker as in this process, and the results do not depend on ``jobs``.
Workers are forked (Linux): a script without an ``if __name__ == "__main__":`` guard, or a
notebook, works as it is. Where fork is not offered, an explicit ``jobs`` > 1 spawns them
(the script then needs the guard) and the default is one process."""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence

__all__ = ["Workers", "default_jobs"]


def _fork_offered() -> bool:
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def default_jobs(device: str = "cpu") -> int:
    """Processes for ``jobs=None``: one per core this process may run on where workers can be
    forked and the fits run on the CPU; else 1 (a GPU is shared better by one process, and a
    daemonic process, such as a worker of the user's own pool, may not start children)."""
    if str(device) != "cpu" or not _fork_offered() or multiprocessing.current_process().daemon:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)


def _worker_init() -> None:
    """A worker leaves signals to the parent: Ctrl-C reaches the whole process group, and the
    parent decides (finish the running fits, or stop). A worker whose parent is gone (killed
    with SIGKILL, say) exits within a second instead of finishing its fit for nobody."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


class Workers:
    """Runs tasks ``(function, args)`` in ``jobs`` processes (in this one when ``jobs`` is 1),
    started on first need and kept for later :meth:`run` calls until :meth:`close`."""

    def __init__(self, jobs: int):
        self.jobs = max(1, int(jobs))
        self._pool = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (a fit still running in one is abandoned)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def run(self, tasks: Sequence[tuple[Callable, tuple]], done: Callable[[int, object], None],
            check: Callable[[], None] = lambda: None) -> list:
        """Run ``tasks``; ``done(i, result)`` is called in this process as each finishes, and
        ``check()`` before each starts. When ``check`` raises, no further task starts: the
        running ones finish and are passed to ``done``, then the exception propagates. A
        task's own exception propagates (the other workers stopped). Returns the results in
        the tasks' order."""
        results: list = [None] * len(tasks)
        if self.jobs == 1 or len(tasks) <= 1:
            for i, (function, args) in enumerate(tasks):
                check()
                results[i] = function(*args)
                done(i, results[i])
            return results
        if self._pool is None:
            method = "fork" if _fork_offered() else "spawn"
            self._pool = multiprocessing.get_context(method).Pool(self.jobs, _worker_init)
        finished: queue.Queue = queue.Queue()
        waiting, running, stop = list(enumerate(tasks)), 0, None
        while waiting or running:
            while waiting and running < self.jobs and stop is None:
                try:
                    check()
                except BaseException as err:  # finish what runs, then pass it on
                    stop = err
                    break
                i, (function, args) = waiting.pop(0)
                self._pool.apply_async(function, args,
                                       callback=lambda r, i=i: finished.put((i, r, None)),
                                       error_callback=lambda e, i=i: finished.put((i, None, e)))
                running += 1
            if stop is not None and not running:
                break
            try:
                i, result, error = finished.get(timeout=0.2)
            except queue.Empty:
                continue
            running -= 1
            if error is not None:
                self.close()
                raise error
            results[i] = result
            done(i, result)
        if stop is not None:
            raise stop
        return results
