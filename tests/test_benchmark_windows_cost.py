"""benchmarks/windows_cost.py at tiny size: it writes the OU series, measures the windows objective
and whole CLI runs, and writes the documented JSON. No timing is asserted (timings depend on the
machine and its load)."""
import json

import numpy as np
import pytest
from scripts import load_script

# scripts run end to end (subprocesses or whole benchmark runs): skipped by default
pytestmark = pytest.mark.slow

COST_KEYS = {"points", "objective", "iterations", "timed_iterations", "ms_median", "ms_min",
             "ms_max", "steps_median", "setup_seconds", "valid_windows", "final_loss"}
RUN_KEYS = {"points", "process_seconds", "timed_out", "iterations_done", "history_seconds",
            "ms_median", "train_seconds", "wall_seconds", "artifact_seconds", "holdout_crps",
            "baseline_holdout_crps", "climatology_holdout_crps", "n_train", "n_holdout",
            "iterations", "peak_rss_mb", "target_seconds", "within_target", "training_finished"}


def _load_module():
    return load_script("benchmarks/windows_cost.py")


def test_windows_cost_benchmark_writes_json(tmp_path):
    module = _load_module()
    out = tmp_path / "results" / "windows_cost.json"
    returned = module.main(["--cost-sizes", "200,400", "--sizes", "200,400", "--iters", "3",
                            "--warmup", "1", "--out", str(out)])
    result = json.loads(out.read_text())
    assert returned == result
    assert set(result) == {"machine", "settings", "cost", "runs"}
    assert {"torch", "torchsde", "threads", "cpu", "python", "date", "neuralsde_commit",
            "load_average_before", "load_average_after"} <= set(result["machine"])
    assert result["settings"]["iters"] == 3

    cost = result["cost"]
    assert [r["points"] for r in cost["rows"]] == [200, 400]
    for r in cost["rows"]:
        assert set(r) == COST_KEYS
        assert r["objective"] == "windows" and r["iterations"] == 3 and r["timed_iterations"] == 2
        assert 0 < r["ms_min"] <= r["ms_median"] <= r["ms_max"]
        assert r["valid_windows"] == r["points"] - 8  # horizon 8, no lags
    assert cost["ratio"] == cost["rows"][1]["ms_median"] / cost["rows"][0]["ms_median"]
    assert cost["target_ratio"] == 1.5 and isinstance(cost["within_target"], bool)

    assert [r["points"] for r in result["runs"]] == [200, 400]
    for r in result["runs"]:
        assert set(r) == RUN_KEYS
        assert r["timed_out"] is False and r["training_finished"] is True
        assert r["iterations"] == r["iterations_done"] == 3
        assert r["n_train"] == round(0.8 * r["points"]) and r["n_holdout"] == r["points"] // 5
        assert r["artifact_seconds"] == r["wall_seconds"] - r["train_seconds"]
        assert r["process_seconds"] > 0 and r["peak_rss_mb"] > 0
        assert np.isfinite(r["holdout_crps"]) and np.isfinite(r["baseline_holdout_crps"])
        assert r["target_seconds"] is None and r["within_target"] is None  # no target at 200


def test_series_is_the_documented_ou_process(tmp_path):
    module = _load_module()
    path = tmp_path / "ou.csv"
    module.write_ou(path, 20000)
    t, x = np.loadtxt(path, delimiter=",", skiprows=1, unpack=True)
    assert t.tolist() == list(range(20000))
    # Stationary: mean 0, variance sigma^2 / (2 theta) = 2.5, lag-1 correlation exp(-theta).
    assert abs(x.mean()) < 0.2 and abs(x.var() - 2.5) < 0.3
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1] - np.exp(-0.2)) < 0.02
