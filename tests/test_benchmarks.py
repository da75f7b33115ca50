"""Smoke test of benchmarks/solver.py at tiny size: it runs and writes the documented JSON.

Timings are not asserted (they depend on the machine and its load). One warm-up-free timed
iteration per configuration and one torch thread keep it at a few seconds: with the machine's
default of several threads, the batch-4 rows took about 100 times longer on a loaded machine.
"""
import json

import pytest
import torch
from scripts import load_script

# scripts run end to end (subprocesses or whole benchmark runs): skipped by default
pytestmark = pytest.mark.slow

ROW_KEYS = {"mode", "method", "tableau", "batch", "ms_median", "ms_min", "ms_max",
            "accepted_steps", "rejected_steps", "f_evals", "g_evals", "speedup_vs_srk"}


def test_solver_benchmark_writes_json(tmp_path):
    solver = load_script("benchmarks/solver.py")
    out = tmp_path / "results" / "solver.json"
    threads = torch.get_num_threads()
    returned = solver.main(["--iters", "1", "--warmup", "0", "--srk-iters", "1",
                            "--batches", "1,4", "--threads", "1", "--out", str(out)])
    assert torch.get_num_threads() == threads  # restored

    result = json.loads(out.read_text())
    assert set(result) == {"machine", "settings", "rows"}
    assert {"torch", "torchsde", "threads", "cpu", "python", "date"} <= set(result["machine"])
    assert result["machine"]["threads"] == result["settings"]["threads"] == 1
    rows = result["rows"]
    configs = {(r["mode"], r["method"], r["tableau"], r["batch"]) for r in rows}
    expected = {(mode, method, tableau, batch) for mode in ("adaptive", "fixed")
                for method, tableau in (("sri", "sosri"), ("sri", "sriw1"), ("srk", None))
                for batch in (1, 4)}
    assert len(rows) == len(configs) == 12 and configs == expected
    for r in rows:
        assert set(r) == ROW_KEYS
        assert 0 < r["ms_min"] <= r["ms_median"] <= r["ms_max"]
        assert r["speedup_vs_srk"] > 0 and r["f_evals"] > 0 and r["g_evals"] > 0
        if r["method"] == "srk":
            assert r["speedup_vs_srk"] == 1.0 and r["accepted_steps"] is None
        else:
            assert r["accepted_steps"] > 0 and r["rejected_steps"] >= 0
    assert returned["rows"] == rows
