"""benchmarks/csv_load.py at tiny size: it writes both layouts, loads each in a fresh process and
writes the documented JSON. No timing is asserted (timings depend on the machine and its load)."""
import json

import pytest
from scripts import load_script

from neuralsde.data import load_csv

# scripts run end to end (subprocesses or whole benchmark runs): skipped by default
pytestmark = pytest.mark.slow

ROW_KEYS = {"layout", "rows", "columns", "file_mb", "seconds", "import_seconds",
            "rss_after_import_mb", "peak_rss_mb", "shape", "first_progress_seconds",
            "progress_calls", "longest_silence_seconds"}


def _load_module():
    return load_script("benchmarks/csv_load.py")


def test_csv_benchmark_writes_json(tmp_path):
    module = _load_module()
    out = tmp_path / "results" / "csv_load.json"
    returned = module.main(["--rows", "1000", "--groups", "10", "--dir", str(tmp_path / "files"),
                            "--out", str(out)])
    result = json.loads(out.read_text())
    assert returned == result
    assert set(result) == {"machine", "settings", "rows"}
    assert {"torch", "torchsde", "threads", "cpu", "cores", "python", "date"} \
        <= set(result["machine"])
    assert result["settings"]["rows"] == [1000] and result["settings"]["groups"] == 10
    rows = result["rows"]
    assert [(r["layout"], r["rows"]) for r in rows] == [("wide", 1000), ("panel", 1000)]
    for r in rows:
        assert set(r) == ROW_KEYS
        assert r["seconds"] > 0 and r["file_mb"] > 0
        assert r["peak_rss_mb"] >= r["rss_after_import_mb"] > 0
        assert r["progress_calls"] >= 2 and r["first_progress_seconds"] is not None
    wide, panel = rows
    assert wide["columns"] == ["t", "y1", "y2", "y3"] and wide["shape"] == [1000, 1, 3]
    assert panel["columns"] == ["t", "id", "y1", "y2"] and panel["shape"] == [100, 10, 2]


def test_generated_files_are_the_documented_layouts(tmp_path):
    module = _load_module()
    module.write_wide(tmp_path / "wide.csv", rows=500)
    module.write_panel(tmp_path / "panel.csv", rows=60, groups=3)
    wide = load_csv(tmp_path / "wide.csv")
    assert wide.names == ("y1", "y2", "y3") and wide.ts[:3].tolist() == [0.0, 0.01, 0.02]
    assert bool(wide.mask[:, 0, :2].all()) and not bool(wide.mask[:, 0, 2].all())
    panel = load_csv(tmp_path / "panel.csv", group_column="id")
    assert panel.groups == ("g000", "g001", "g002") and panel.ys.shape == (20, 3, 2)
    assert bool(panel.mask.all())
