"""benchmarks/holdout_origins.py's origins: each holdout as long as the whole series'
``--holdout 0.2``, tiling the series' end without overlap, with the CLI's own split."""

import math

import pytest
from scripts import load_script

from neuralsde.run_files import holdout_split

# scripts run end to end (subprocesses or whole benchmark runs): skipped by default
pytestmark = pytest.mark.slow


def _origins():
    return load_script("benchmarks/holdout_origins.py")


@pytest.mark.parametrize("n_points, origins", [(2284, 3), (114, 3), (144, 2), (10, 4)])
def test_the_holdouts_tile_the_series_end_with_the_cli_split(n_points, origins):
    pairs = _origins().cuts(n_points, origins)
    held_out = n_points - holdout_split(n_points, 0.2)
    assert [cut for cut, _ in pairs] == [n_points - k * held_out for k in range(origins)]
    for (cut, h), (later, _) in zip(pairs[1:], pairs):
        assert h == held_out and cut == later - held_out  # one ends where the next starts
    for cut, h in pairs:  # the fraction the benchmark passes to --holdout holds out h points
        assert holdout_split(cut, h / cut) == cut - h >= h


@pytest.mark.parametrize("origins", [0, 4])  # 114 points: 23 held out, 3 origins at most
def test_too_many_origins_for_the_series_name_the_flag(origins):
    with pytest.raises(ValueError, match="--origins: expected 1 to 3 .* got "):
        _origins().cuts(114, origins)


def test_the_trend_rates_are_the_lines_and_the_held_out_parts_own(tmp_path):
    data = tmp_path / "y.csv"
    rates = [0.01] * 12 + [0.03] * 8  # log growth per unit of time, faster in the last 8
    values, lines = [100.0], ["t,y\n"]
    for rate in rates:
        values.append(values[-1] * math.exp(rate))
    lines += [f"{t},{v!r}\n" for t, v in enumerate(values[1:])]
    data.write_text("".join(lines))
    scaling = {"method": "log-trend", "log": True, "y_trend": [0.02], "y_trend_end": [0.025]}
    rate = _origins()._trend_rate(data, 8, scaling)
    assert rate["forecast"] == 0.025 and rate["whole"] == 0.02
    assert rate["held_out"] == pytest.approx(0.03, rel=1e-9)  # the last 8 points' own slope
    on_values = _origins()._trend_rate(data, 8, {**scaling, "log": False})
    assert on_values["held_out"] > 0.03 * values[-8]  # the raw values' slope, not the log's
    assert _origins()._trend_rate(data, 8, {"method": "log", "log": True, "y_trend": []}) is None
