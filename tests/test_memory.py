"""A series' memory (the lags its autocorrelation stays at or above 1/e) and the windows' default
length without a period."""

import json
import math

import numpy as np
import pytest
import torch
from test_windows import _series
from test_windows_cli import _csv

from neuralsde.data import load_csv, memory_length
from neuralsde.data.memory import MEMORY_LEVEL, autocorrelation
from neuralsde.fit import main
from neuralsde.fit.objectives import WINDOW_LENGTH, default_window_length


def _ar1(phi, n, seed, paths=1):
    rng = np.random.default_rng(seed)
    y = np.zeros((n, paths))
    for k in range(1, n):
        y[k] = phi * y[k - 1] + rng.standard_normal(paths)
    return y


def _pooled_acf(blocks, lags):
    """numpy oracle: each block less its mean, lag products summed over blocks over the summed
    squares."""
    blocks = [b - b.mean() for b in blocks]
    squares = sum(float(b @ b) for b in blocks)
    return np.array([sum(float(b[:-k] @ b[k:]) for b in blocks if b.size > k) / squares
                     for k in range(1, lags + 1)])


def test_autocorrelation_pools_paths_skips_gaps_and_averages_channels():
    rng = np.random.default_rng(3)
    values = rng.standard_normal((50, 2, 2)).cumsum(axis=0)
    values[[4, 17, 30], 0, 1] = np.nan  # gaps in one path's second channel
    values[40:, 1, :] = np.nan  # a shorter second path
    mask = ~np.isnan(values)
    series = _series(values, mask=torch.as_tensor(mask))
    expected = np.mean([_pooled_acf([values[mask[:, p, c], p, c] for p in range(2)], 5)
                        for c in range(2)], axis=0)
    np.testing.assert_allclose(autocorrelation(series, 5), expected, rtol=1e-12)


@pytest.mark.parametrize("phi, expected", [
    (0.5, 1),    # 0.5 >= 1/e > 0.25
    (0.8, 4),    # 0.8**4 = 0.41, 0.8**5 = 0.33
    (0.9, 8),    # 0.9**9 = 0.39: longer than the cap of 8
    (0.0, 1),    # white noise remembers nothing, but a window has one observation at least
])
def test_the_memory_of_an_ar1_series_is_where_its_autocorrelation_falls_below_1_over_e(
        phi, expected):
    assert MEMORY_LEVEL == pytest.approx(math.exp(-1))
    series = _series(_ar1(phi, 40_000, seed=1))
    assert memory_length(series, 8) == expected
    if phi > 0:  # the exact lag where phi**k < 1/e, when within the cap
        assert expected == min(math.floor(-1 / math.log(phi)), 8)


def test_a_series_that_does_not_vary_keeps_the_longest_windows_and_bad_lags_are_named():
    assert memory_length(_series(np.ones(30)), 8) == 8
    assert autocorrelation(_series(np.ones(30)), 3) is None
    with pytest.raises(ValueError, match="lags"):
        autocorrelation(_series(np.arange(30.0)), 0)
    with pytest.raises(ValueError, match="most"):
        memory_length(_series(np.arange(30.0)), 0)


def test_without_a_period_the_default_window_length_is_the_series_memory():
    settings = {"window_length": None, "period": None, "state_dim": None, "lags": 4}
    assert WINDOW_LENGTH == 8
    assert default_window_length(settings, _series(_ar1(0.8, 40_000, seed=2))) == 4
    assert default_window_length(settings, _series(_ar1(0.99, 40_000, seed=2))) == 8
    with_period = {**settings, "period": 12.0}  # a period keeps the period rule: >= 8
    assert default_window_length(with_period, _series(_ar1(0.5, 400, seed=2))) == 12


def test_the_cli_uses_and_records_the_training_parts_memory(tmp_path):
    data = _csv(tmp_path / "y.csv", n=200)  # an AR(1) with coefficient 0.8
    out = tmp_path / "run"
    assert main(["--data", str(data), "--holdout", "0.25", "--iters", "2", "--windows", "4",
                 "--window-samples", "2", "--samples", "4", "--quiet", "--out", str(out)]) == 0
    train = load_csv(data).head(150)
    settings = json.loads((out / "metrics.json").read_text())["settings"]
    short = memory_length(train, 8)  # the automatic configuration's short and long windows
    assert settings["window_length"] in (short, 4 * short) and short < 8
    assert f"window_length={4 * short}" in [key for row in settings["selection"]["candidates"]
                                            for key in row["key"].split(",")]
    assert settings["objective_settings"]["horizon"] == settings["window_length"]
