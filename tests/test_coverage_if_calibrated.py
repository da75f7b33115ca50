"""The coverage a calibrated forecast would get (each member in turn as the observations), and
``holdout_coverage_90_if_calibrated`` in metrics.json."""

import json

import numpy as np
import pytest
from test_calibration import SMALL, _panel_csv

from neuralsde.calibration import central_coverage, coverage_if_calibrated
from neuralsde.fit import main
from neuralsde.fit.holdout import IF_CALIBRATED_QUANTILES, calibration_metrics


@pytest.mark.parametrize("S, T, d, level", [(3, 5, 1, 0.9), (10, 40, 2, 0.9), (100, 300, 1, 0.9),
                                            (7, 9, 3, 0.5), (20, 30, 1, 0.95)])
def test_each_member_is_scored_against_the_others_as_central_coverage_would(S, T, d, level):
    rng = np.random.default_rng(S + T)
    x = rng.standard_normal((S, T, d))
    mask = rng.random((T, d)) > 0.2
    expected = [central_coverage(np.delete(x, j, axis=0), np.where(mask, x[j], np.nan),
                                 levels=[level])[0] for j in range(S)]
    np.testing.assert_array_equal(coverage_if_calibrated(x, mask, level=level), expected)


def test_independent_errors_give_coverage_near_the_level_and_a_shared_error_zero_or_one():
    rng = np.random.default_rng(0)
    independent = coverage_if_calibrated(rng.standard_normal((100, 2000, 1)))
    assert np.all(np.abs(independent - 0.9) < 0.05), independent  # binomial sd 0.007
    # a slope error shared by the whole path: a member is inside at every time or at none
    slope = rng.standard_normal((200, 1, 1)) * np.arange(1, 51)[None, :, None]
    shared = coverage_if_calibrated(slope + 0.01 * rng.standard_normal((200, 50, 1)))
    assert np.isin(shared, [0.0, 1.0]).mean() > 0.9
    assert 0.8 < shared.mean() < 0.97


@pytest.mark.parametrize("kwargs, words", [
    ({"samples": np.zeros((2, 4, 1))}, ["S >= 3"]),
    ({"samples": np.full((5, 4, 1), np.nan)}, ["NaN"]),
    ({"samples": np.zeros((5, 4, 1)), "mask": np.zeros((4, 1), bool)}, ["mask"]),
    ({"samples": np.zeros((5, 4, 1)), "mask": np.ones((3, 1), bool)}, ["mask", "(4, 1)"]),
    ({"samples": np.zeros((5, 4, 1)), "level": 1.0}, ["levels"]),
])
def test_bad_arguments_are_named(kwargs, words):
    with pytest.raises(ValueError) as info:
        coverage_if_calibrated(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_the_holdout_metrics_hold_its_quantiles_over_the_observed_entries():
    rng = np.random.default_rng(1)
    forecast = rng.standard_normal((50, 6, 1))
    observed = rng.standard_normal((6, 2, 1))
    observed[2] = np.nan  # a held-out time no path observes is not scored
    out = calibration_metrics(forecast, observed, seed=0)["holdout_coverage_90_if_calibrated"]
    shares = coverage_if_calibrated(forecast, np.isfinite(observed).any(axis=1))
    assert list(out) == [f"{q:g}" for q in IF_CALIBRATED_QUANTILES] == ["0.05", "0.25", "0.5",
                                                                         "0.75", "0.95"]
    np.testing.assert_allclose(list(out.values()), np.quantile(shares, IF_CALIBRATED_QUANTILES))
    few = calibration_metrics(forecast[:2], observed, seed=0)
    assert few["holdout_coverage_90_if_calibrated"] is None
    diverged = calibration_metrics(np.full((5, 6, 1), np.nan), observed, seed=0)
    assert diverged["holdout_coverage_90_if_calibrated"] is None


def test_a_holdout_run_records_it(tmp_path):
    out = tmp_path / "run"
    assert main(["--data", str(_panel_csv(tmp_path / "y.csv", groups=1)), "--columns", "y,z",
                 "--holdout", "0.2", "--out", str(out), *SMALL]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    quantiles = list(metrics["holdout_coverage_90_if_calibrated"].values())
    assert len(quantiles) == 5 and quantiles == sorted(quantiles)
    assert all(0.0 <= q <= 1.0 for q in quantiles)


def test_the_calibration_figure_draws_the_calibrated_range_at_its_level():
    from test_calibration import _by_gid

    from neuralsde.plotting import plot_calibration

    args = ([3, 5], [0.0, 0.5, 1.0], [0.5, 0.9], [0.4, 0.8])
    fig = plot_calibration(*args, if_calibrated=(0.9, 0.38, 1.0))
    _, ax_cov = fig.axes
    (bar,) = _by_gid(ax_cov, "if_calibrated")
    np.testing.assert_array_equal(bar.get_xdata(), [0.9, 0.9])
    np.testing.assert_array_equal(bar.get_ydata(), [0.38, 1.0])
    assert not _by_gid(plot_calibration(*args).axes[1], "if_calibrated")
