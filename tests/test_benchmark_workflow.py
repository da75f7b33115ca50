"""Smoke test of benchmarks/workflow.py at tiny size: it runs and writes the documented JSON.

Timings are not asserted (they depend on the machine and its load).
"""
import json
import math

import pytest
import torch
from scripts import load_script

from neuralsde.curriculum import stages

# scripts run end to end (subprocesses or whole benchmark runs): skipped by default
pytestmark = pytest.mark.slow

ROW_KEYS = {"name", "solver", "paths", "scaling", "lr_schedule", "iterations", "train_seconds",
            "wall_seconds", "ms_per_iter_measured", "ms_per_iter", "schedule_iterations",
            "schedule_train_seconds", "extrapolated", "f_evals_per_iter", "g_evals_per_iter",
            "path_mean_mse", "phases", "ms_per_iter_vs_neuralsde"}


def test_workflow_benchmark_writes_json(tmp_path):
    workflow = load_script("benchmarks/workflow.py")
    out = tmp_path / "results" / "workflow.json"
    threads = torch.get_num_threads()
    returned = workflow.main(["--iters", "2", "--stage-iters", "1", "--plain-iters", "1",
                              "--out", str(out)])
    assert torch.get_num_threads() == threads  # restored

    result = json.loads(out.read_text())
    assert returned == result
    assert set(result) == {"machine", "settings", "rows"}
    assert {"torch", "torchsde", "threads", "cpu", "python", "date"} <= set(result["machine"])
    assert result["machine"]["threads"] == result["settings"]["threads"] == 1
    schedule = [(s.name, s.n_points, s.iters) for s in stages(7, initial_iters=2, iters=1)]
    assert [(p["name"], p["n_points"], p["iters"]) for p in result["settings"]["schedule"]] \
        == schedule

    ours, plain = result["rows"]
    assert ours["name"] == "neuralsde" and plain["name"] == "plain torchsde"
    for r in (ours, plain):
        assert set(r) == ROW_KEYS
        assert r["train_seconds"] > 0 and r["wall_seconds"] > 0
        assert r["ms_per_iter"] > 0 and r["ms_per_iter_measured"] > 0
        assert r["f_evals_per_iter"] > 0 and r["g_evals_per_iter"] > 0
        assert r["schedule_iterations"] == 8 and r["schedule_train_seconds"] > 0
        assert [p["name"] for p in r["phases"]] == [name for name, _, _ in schedule]
        assert all(p["ms_per_iter"] > 0 for p in r["phases"])

    # neuralsde: the requested schedule, measured
    assert ours["iterations"] == 8 and [p["iters"] for p in ours["phases"]] == [2] + [1] * 6
    assert ours["paths"] == 16 and not ours["extrapolated"]
    assert math.isclose(ours["ms_per_iter"], 1000 * ours["train_seconds"] / 8)
    assert ours["schedule_train_seconds"] == ours["train_seconds"]
    assert math.isfinite(ours["path_mean_mse"]) and ours["path_mean_mse"] >= 0
    assert ours["ms_per_iter_vs_neuralsde"] == 1.0

    # plain torchsde: --plain-iters per phase, weighted by the schedule, extrapolated
    assert plain["iterations"] == 7 and [p["iters"] for p in plain["phases"]] == [1] * 7
    assert plain["paths"] == 1 and plain["extrapolated"] and plain["path_mean_mse"] is None
    phase_ms = [p["ms_per_iter"] for p in plain["phases"]]
    weighted = sum(ms * w for ms, (_, _, w) in zip(phase_ms, schedule))
    assert math.isclose(plain["ms_per_iter"], weighted / 8)
    assert math.isclose(plain["schedule_train_seconds"], weighted / 1000)
    assert math.isclose(plain["ms_per_iter_measured"], 1000 * plain["train_seconds"] / 7)
    assert math.isclose(plain["ms_per_iter_vs_neuralsde"],
                        plain["ms_per_iter"] / ours["ms_per_iter"], rel_tol=1e-12)
