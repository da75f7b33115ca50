"""benchmarks/cli_runs.py: whole command-line runs in one process and in several, side by side;
the holdout numbers are the same either way."""

import json
import math

from scripts import load_script

TINY = ["--iters", "6", "--windows", "4", "--window-samples", "4", "--samples", "20"]


def test_both_ways_score_the_same_and_the_json_says_so(tmp_path):
    bench = load_script("benchmarks/cli_runs.py")
    out = tmp_path / "cli.json"
    result = bench.main(["ou_300"], TINY, str(out))
    saved = json.loads(out.read_text())
    row = saved["series"]["ou_300"]
    assert saved["extra_flags"] == TINY and row["rows"] == 300
    one, shared = row["jobs_1"], row["jobs_default"]
    assert math.isfinite(one["holdout_crps"]) and one["wall_seconds"] > 0
    assert one["holdout_crps"] == shared["holdout_crps"]  # --jobs changes no number
    assert one["members"] == shared["members"]
    assert result["series"]["ou_300"]["speedup"] == row["speedup"] > 0
