"""Fits shared by worker processes (neuralsde._workers): results in the tasks' order and the
same numbers as in one process; a stop lets the running fits finish and keeps them."""

import json
import multiprocessing
import os
import signal
import time

import pandas as pd
import pytest
from test_auto import AUTO_TINY, _ar1  # the same tiny fits and series

import neuralsde as ns
from neuralsde import auto
from neuralsde._workers import Workers, default_jobs
from neuralsde.frames import as_series


def _pid_and_square(x):
    return os.getpid(), x * x


def _fails(x):
    raise ArithmeticError(f"task {x}")


class _Stop(Exception):
    pass


def test_tasks_run_in_other_processes_and_come_back_in_order():
    done = []
    with Workers(2) as workers:
        results = workers.run([(_pid_and_square, (x,)) for x in range(6)],
                              lambda i, r: done.append(i))
    assert [r[1] for r in results] == [x * x for x in range(6)]
    assert sorted(done) == list(range(6))
    assert os.getpid() not in {r[0] for r in results}
    with Workers(1) as workers:  # one process: here, in order
        results = workers.run([(_pid_and_square, (x,)) for x in range(3)], lambda i, r: None)
    assert {r[0] for r in results} == {os.getpid()}


def test_where_fork_is_not_offered_the_workers_are_spawned(monkeypatch):
    from neuralsde import _workers

    monkeypatch.setattr(_workers, "_fork_offered", lambda: False)  # as on macOS or Windows
    assert default_jobs("cpu") == 1  # the default stays in one process there
    with Workers(2) as workers:  # an explicit jobs > 1 spawns
        results = workers.run([(_pid_and_square, (x,)) for x in range(3)], lambda i, r: None)
        assert workers._pool._ctx.get_start_method() == "spawn"
    assert [r[1] for r in results] == [0, 1, 4] and os.getpid() not in {r[0] for r in results}


def test_a_stop_lets_the_running_tasks_finish_and_starts_no_more():
    checks, done = [], []

    def check():
        checks.append(1)
        if len(checks) == 3:  # after two tasks started
            raise _Stop

    with Workers(2) as workers, pytest.raises(_Stop):
        workers.run([(_pid_and_square, (x,)) for x in range(5)],
                    lambda i, r: done.append((i, r[1])), check)
    assert sorted(done) == [(0, 0), (1, 1)]


def test_a_task_that_fails_raises_its_error_here():
    with Workers(2) as workers, pytest.raises(ArithmeticError, match="task 1"):
        workers.run([(_pid_and_square, (0,)), (_fails, (1,)), (_pid_and_square, (2,))],
                    lambda i, r: None)


def test_jobs_is_checked_and_defaults_to_one_on_a_gpu():
    with pytest.raises(ValueError, match="jobs"):
        ns.Forecaster(jobs=0)
    assert default_jobs("cuda:0") == 1
    # never more processes than fits can run at once: 4 scalings, or the ensemble's members
    assert auto.processes({"jobs": 64, "device": "cpu", "ensemble": 2}) == 4
    assert auto.processes({"jobs": 64, "device": "cpu", "ensemble": 6}) == 6
    assert auto.processes({"jobs": 3, "device": "cpu", "ensemble": 2}) == 3
    assert auto.processes({"jobs": None, "device": "cpu", "ensemble": 2}) == min(
        default_jobs("cpu"), 4)
    if hasattr(os, "sched_getaffinity") and os.name == "posix" and os.uname().sysname == "Linux":
        assert default_jobs("cpu") == len(os.sched_getaffinity(0))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_a_worker_of_the_users_own_pool_fits_in_one_process():
    with multiprocessing.get_context("fork").Pool(1) as pool:  # daemonic: no children
        assert pool.apply(default_jobs, ("cpu",)) == 1


def _exited(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as handle:
            return any(line.split()[1] == "Z" for line in handle if line.startswith("State:"))
    except FileNotFoundError:
        return True


def _pool_then_hang(queue):
    workers = Workers(2)
    queue.put(workers.run([(os.getpid, ()), (os.getpid, ())], lambda i, r: None))
    workers.run([(time.sleep, (60,)), (time.sleep, (60,))], lambda i, r: None)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_workers_whose_parent_was_killed_exit_at_once():
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    parent = context.Process(target=_pool_then_hang, args=(queue,))
    parent.start()
    pids = queue.get(timeout=30)
    time.sleep(0.3)  # both workers are in their 60 s task
    assert not any(_exited(pid) for pid in pids)
    os.kill(parent.pid, signal.SIGKILL)
    parent.join()
    deadline = time.monotonic() + 10
    while not all(_exited(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_exited(pid) for pid in pids)


@pytest.fixture(scope="module")
def one_process():
    return ns.Forecaster(**AUTO_TINY, jobs=1).fit(_ar1())


def test_two_processes_give_the_numbers_of_one(one_process):
    two, lines = ns.Forecaster(**AUTO_TINY, jobs=2), []
    auto.fit_auto(two, as_series(_ar1()), report=lines.append)  # what fit() does, heard
    assert sum("validation CRPS" in line for line in lines) == len(two.selection_["candidates"])
    assert sorted(line.split()[1] for line in lines if line.lstrip().startswith("member")) == \
        sorted(two.selection_["members"])
    rows = [(r["key"], r["score"], r.get("by_origin")) for r in two.selection_["candidates"]]
    assert rows == [(r["key"], r["score"], r.get("by_origin"))
                    for r in one_process.selection_["candidates"]]
    assert two.selection_["members"] == one_process.selection_["members"]
    pd.testing.assert_frame_equal(two.predict(5), one_process.predict(5))


def test_a_stop_with_fits_running_keeps_them_and_resumes_to_the_same_result(
        one_process, tmp_path):
    asked = []

    def should_stop():  # a signal arrives while the first two candidates train
        asked.append(1)
        return signal.SIGTERM if len(asked) == 3 else None

    folder = tmp_path / "selection"
    forecaster = ns.Forecaster(**AUTO_TINY, jobs=2)
    with pytest.raises(auto.Interrupted):
        auto.fit_auto(forecaster, as_series(_ar1()), folder, should_stop=should_stop)
    saved = json.loads((folder / "selection.json").read_text())["candidates"]
    assert len(saved) == 2  # both running fits finished and were kept
    lines = []
    resumed = ns.Forecaster(**AUTO_TINY, jobs=2).fit(_ar1(), checkpoint_dir=folder)
    auto.fit_auto(ns.Forecaster(**AUTO_TINY, jobs=2), as_series(_ar1()), folder,
                  report=lines.append)
    assert sum("kept from an earlier run" in line for line in lines) == len(
        one_process.selection_["candidates"])
    assert resumed.selection_["members"] == one_process.selection_["members"]
    pd.testing.assert_frame_equal(resumed.predict(5), one_process.predict(5))
