"""benchmarks/distributed.py at tiny size: it runs 1 and 2 processes and writes the documented JSON.

No timing is asserted (timings depend on the machine and its load).
"""

import json
import sys
from pathlib import Path

import pytest
from scripts import load_script

# scripts run end to end (subprocesses or whole benchmark runs): skipped by default
pytestmark = pytest.mark.slow


@pytest.mark.skipif(not Path(sys.executable).with_name("torchrun").exists(),
                    reason="torchrun not installed next to python")
def test_distributed_benchmark_writes_json(tmp_path):
    module = load_script("benchmarks/distributed.py")
    out = tmp_path / "d.json"
    module.main(["--groups", "8", "--points", "5", "--batches", "4", "--iters", "3",
                 "--warmup", "1", "--out", str(out)])
    result = json.loads(out.read_text())
    assert set(result) == {"machine", "settings", "rows"}
    rows = result["rows"]
    assert [(r["batch"], r["processes"]) for r in rows] == [(4, 1), (4, 2)]
    one, two = rows
    for r in rows:
        assert 0 < r["ms_min"] <= r["ms_median"] <= r["ms_max"] and r["peak_rss_mb"] > 0
        assert len(r["losses"]) == 3 and r["losses_agree"] is True
    assert two["speedup_vs_first"] == pytest.approx(one["ms_median"] / two["ms_median"])


def test_panel_is_the_documented_ou_process(tmp_path):
    module = load_script("benchmarks/distributed.py")
    from neuralsde.data import load_csv

    path = tmp_path / "panel.csv"
    module.write_panel(path, groups=4000, points=4)
    series = load_csv(path, group_column="id")
    assert series.ys.shape == (4, 4000, 1) and series.ts.tolist() == [0.0, 1.0, 2.0, 3.0]
    # Exact OU mean and variance at t = 3 from y0 = 3: mu + 2 e^{-3}, 0.125 (1 - e^{-6}).
    import math

    last = series.ys[-1, :, 0]
    assert abs(float(last.mean()) - (1 + 2 * math.exp(-3))) < 4 * math.sqrt(0.125 / 4000)
    assert abs(float(last.var()) - 0.125 * (1 - math.exp(-6))) < 0.01
