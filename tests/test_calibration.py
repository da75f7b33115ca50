"""Calibration of ensemble forecasts (neuralsde.calibration), its figures, and what a run with
--holdout writes: forecast.png, calibration.png and the calibration keys of metrics.json."""

import json
import math

import matplotlib.image
import numpy as np
import pytest
import scoringrules as sr

from neuralsde.calibration import (
    DEFAULT_LEVELS,
    binomial_band,
    calibration_summary,
    central_coverage,
    ks_distance,
    pit_histogram,
    pit_values,
    scores_by_horizon,
)
from neuralsde.fit import HOLDOUT_KEYS, main
from neuralsde.metrics import coverage, crps_ensemble
from neuralsde.plotting import plot_calibration, plot_forecast

#: 1 % critical value of the Kolmogorov-Smirnov distance of n uniform values is 1.63 / sqrt(n).
KS_1_PERCENT = 1.63
#: 99.9 % quantile of chi-square with 9 degrees of freedom (10 bins).
CHI2_9_999 = 27.88


def _gaussian(rng, scale, shape):
    return 2.0 + scale * rng.standard_normal(shape)


# ----------------------------------------------------------------------------- closed forms

def test_crps_of_a_gaussian_ensemble_matches_the_closed_form():
    rng = np.random.default_rng(0)
    S, T, mu, sd = 4000, 50, 1.5, 2.0
    samples = mu + sd * rng.standard_normal((S, T, 1))
    obs = mu + sd * np.linspace(-3.0, 3.0, T)[:, None]  # from the centre into the tails
    exact = sr.crps_normal(obs[:, 0], mu, sd)
    # crps_ensemble is the CRPS of the empirical law: E|X - X'| / (2 S) = sd / (sqrt(pi) S) more
    expected = float(np.mean(exact)) + sd / (math.sqrt(math.pi) * S)
    # Both terms are means over S * T independent draws of 1-Lipschitz functions of N(mu, sd^2)
    # (the pair term a U-statistic): each has sd <= sd / sqrt(S T); 4 sd of their sum.
    tol = 4 * 2 * sd / math.sqrt(S * T)
    assert abs(crps_ensemble(samples, obs) - expected) < tol
    assert tol < 0.02 * expected  # the check can see an error of a few per cent


@pytest.mark.parametrize("level, lower, upper", [(0.9, 0.05, 0.95), (0.5, 0.25, 0.75)])
def test_central_intervals_of_a_gaussian_ensemble_cover_their_level(level, lower, upper):
    rng = np.random.default_rng(1)
    S, n = 1000, 2000
    samples = _gaussian(rng, 1.0, (S, n, 1))
    obs = _gaussian(rng, 1.0, (n, 1))
    share = coverage(samples, obs, lower=lower, upper=upper)
    # the count inside is Binomial(n, level), up to the ensemble's quantile error per entry
    assert abs(share - level) < 4 * math.sqrt(level * (1 - level) / n)
    assert central_coverage(samples, obs, levels=[level])[0] == share


# ----------------------------------------------------------------------------- PIT

def _pit_summary(ensemble_scale, seed=2, S=49, T=2500, d=2):
    rng = np.random.default_rng(seed)
    samples = _gaussian(rng, ensemble_scale, (S, T, d))
    obs = _gaussian(rng, 1.0, (T, d))
    return calibration_summary(samples, obs, seed=seed), T * d


def test_a_calibrated_ensemble_has_a_flat_pit_histogram():
    summary, n = _pit_summary(1.0)
    counts = np.array(summary["counts"])
    assert counts.sum() == n == summary["n"]
    expected = n / counts.size
    assert ((counts - expected) ** 2 / expected).sum() < CHI2_9_999
    assert summary["ks_distance"] < KS_1_PERCENT / math.sqrt(n)
    assert abs(summary["mean"] - 0.5) < 4 * math.sqrt(1 / 12 / n)


def test_pit_shape_and_uniformity_separate_narrow_and_wide_ensembles():
    calibrated, n = _pit_summary(1.0)
    narrow, _ = _pit_summary(0.5)  # under-dispersed: observations fall in the tails
    wide, _ = _pit_summary(2.0)  # over-dispersed: observations fall in the middle
    expected = n / 10
    u = np.array(narrow["counts"])
    assert u[0] > 2 * expected and u[-1] > 2 * expected and (u[3:7] < expected).all()
    hump = np.array(wide["counts"])
    assert hump[0] < expected and hump[-1] < expected and (hump[3:7] > expected).all()
    for key in ("ks_distance", "bin_deviation"):
        assert narrow[key] > 5 * calibrated[key] and wide[key] > 5 * calibrated[key]
    assert narrow["ks_distance"] > 0.1 and wide["ks_distance"] > 0.1
    # and coverage says the same: below the level when narrow, above when wide
    for level, share in narrow["coverage"].items():
        assert share < float(level)
    for level, share in wide["coverage"].items():
        assert share > float(level)


def test_pit_of_ties_is_uniform():
    n = 4000
    same = np.full((7, n, 1), 3.0)
    pit = pit_values(same, np.full((n, 1), 3.0), seed=0)  # every member equals the observation
    assert ks_distance(pit) < KS_1_PERCENT / math.sqrt(n)
    assert pit.min() < 0.01 and pit.max() > 0.99
    above = pit_values(same, np.full((n, 1), 4.0), seed=0)  # above all members: the top rank
    assert (above >= 7 / 8).all() and (above <= 1).all()
    # a discrete law: Poisson members and observations tie often, the randomised PIT is uniform
    rng = np.random.default_rng(3)
    pit = pit_values(rng.poisson(3.0, (20, n, 1)).astype(float),
                     rng.poisson(3.0, (n, 1)).astype(float), seed=1)
    assert ks_distance(pit) < KS_1_PERCENT / math.sqrt(n)


def test_pit_skips_missing_values_and_pools_panel_paths():
    rng = np.random.default_rng(4)
    samples = rng.standard_normal((9, 5, 2))
    obs = rng.standard_normal((5, 3, 2))
    obs[1, 2, 0] = np.nan
    pit = pit_values(samples, obs)
    assert pit.shape == (5 * 3 * 2 - 1,)
    # the first entry: time 0, path 0, channel 0, ranked in samples[:, 0, 0]
    below = (samples[:, 0, 0] < obs[0, 0, 0]).sum()
    assert below / 10 <= pit[0] <= (below + 1) / 10


def test_pit_histogram_edges_and_counts():
    counts, edges = pit_histogram([0.0, 0.05, 0.5, 0.99, 1.0], bins=4)
    np.testing.assert_allclose(edges, [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(counts, [2, 0, 1, 2])  # 1.0 falls in the last bin


def test_ks_distance_by_hand():
    assert ks_distance([0.5]) == pytest.approx(0.5)
    assert ks_distance([0.25, 0.75]) == pytest.approx(0.25)
    assert ks_distance([1.0, 1.0]) == pytest.approx(1.0)


def test_binomial_band_is_the_exact_binomial_range():
    stats = pytest.importorskip("scipy.stats")
    for n, p in ((23, 0.1), (457, 0.5), (5000, 0.95)):
        lo, hi = binomial_band(n, p, level=0.95)
        assert lo == stats.binom.ppf(0.025, n, p) and hi == stats.binom.ppf(0.975, n, p)


# ----------------------------------------------------------------------------- coverage curve

def test_coverage_curve_of_a_calibrated_ensemble_follows_the_diagonal():
    rng = np.random.default_rng(5)
    n = 3000
    samples = _gaussian(rng, 1.0, (200, n, 1))
    obs = _gaussian(rng, 1.0, (n, 1))
    levels = np.array(DEFAULT_LEVELS)
    shares = central_coverage(samples, obs, levels=levels)
    assert (np.diff(shares) >= 0).all()
    assert (np.abs(shares - levels) < 4 * np.sqrt(levels * (1 - levels) / n)).all()
    # level 0.9 is the 5-95 % band of neuralsde.metrics.coverage, exactly
    assert shares[levels.tolist().index(0.9)] == coverage(samples, obs)


# ----------------------------------------------------------------------------- by horizon

def test_scores_by_horizon_by_hand():
    samples = np.zeros((4, 3, 1))
    samples[:, 0, 0] = [0.0, 1.0, 2.0, 3.0]
    samples[:, 1, 0] = 10.0
    obs = np.array([[1.5, np.nan], [10.0, 12.0], [np.nan, np.nan]])[:, :, None]  # (T, P, d)
    out = scores_by_horizon(samples, obs, levels=(0.5, 0.9))
    # horizon 1: mean|x - 1.5| = 1, sum_{i,j}|x_i - x_j| = 20: CRPS = 1 - 20 / 16 / 2 = 0.375;
    # the 50 % interval [0.75, 2.25] and the 90 % one [0.15, 2.85] hold 1.5.
    # horizon 2: an ensemble at 10 scores 0 against 10 and 2 against 12; covers one of two.
    # horizon 3: nothing observed.
    np.testing.assert_allclose(out["crps"], [0.375, 1.0, np.nan])
    np.testing.assert_allclose(out["coverage"][0.5], [1.0, 0.5, np.nan])
    np.testing.assert_allclose(out["coverage"][0.9], [1.0, 0.5, np.nan])
    np.testing.assert_array_equal(out["n_observed"], [1, 2, 0])


@pytest.mark.parametrize("call, words", [
    (lambda: pit_values(np.zeros((3, 4, 1)), np.zeros((5, 1))), ["samples.shape", "obs.shape"]),
    (lambda: pit_values(np.zeros((3, 4, 1)), np.zeros((4, 1)), seed=-1), ["seed=-1"]),
    (lambda: pit_values(np.zeros((3, 4, 1)), np.full((4, 1), np.nan)), ["mask", "no observed"]),
    (lambda: central_coverage(np.zeros((3, 4, 1)), np.zeros((4, 1)), levels=[0.9, 0.5]),
     ["levels="]),
    (lambda: pit_histogram([0.2, 1.5]), ["pit"]),
    (lambda: pit_histogram([0.2], bins=0), ["bins=0"]),
    (lambda: binomial_band(10, 1.0), ["p=1.0"]),
])
def test_bad_arguments_are_named(call, words):
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value)


# ----------------------------------------------------------------------------- figures

def _by_gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


def test_forecast_figure_shows_a_tail_of_the_training_data_and_the_bands():
    rng = np.random.default_rng(6)
    obs_t = np.arange(200.0)
    observed = rng.standard_normal((200, 2))  # two channels
    forecast = rng.standard_normal((30, 10, 2))
    fig = plot_forecast(obs_t[190:], forecast, obs_t=obs_t, observed=observed, origin=189.0,
                        names=["a", "b"])
    assert len(fig.axes) == 2
    for i, ax in enumerate(fig.axes):
        (train,) = _by_gid(ax, "train_data")
        np.testing.assert_array_equal(train.get_xdata(), obs_t[140:190])  # max(3 * 10, 50)
        (held,) = _by_gid(ax, "holdout_data")
        np.testing.assert_array_equal(held.get_ydata(), observed[190:, i])
        (median,) = _by_gid(ax, "median")
        np.testing.assert_allclose(median.get_ydata(), np.median(forecast[:, :, i], axis=0))
        assert len(_by_gid(ax, "band_50")) == len(_by_gid(ax, "band_90")) == 1
        assert len(_by_gid(ax, "sample_path")) == 5
        assert _by_gid(ax, "origin")[0].get_xdata()[0] == 189.0


def test_calibration_figure_draws_densities_and_the_diagonal():
    counts, edges = [5, 10, 25, 10], [0.0, 0.25, 0.5, 0.75, 1.0]
    fig = plot_calibration(counts, edges, [0.5, 0.9], [0.4, 0.8], pit_band=(5, 15),
                           coverage_band=([0.35, 0.85], [0.65, 0.95]))
    ax_pit, ax_cov = fig.axes
    heights = [bar.get_height() for bar in _by_gid(ax_pit, "pit_bars")]
    np.testing.assert_allclose(heights, np.array(counts) / 50 / 0.25)
    assert _by_gid(ax_pit, "pit_flat")[0].get_ydata()[0] == 1.0
    np.testing.assert_allclose(_by_gid(ax_cov, "coverage")[0].get_ydata(), [0.4, 0.8])
    assert len(_by_gid(ax_cov, "diagonal")) == 1 and len(_by_gid(ax_cov, "coverage_band")) == 1


# ----------------------------------------------------------------------------- the CLI

def _panel_csv(path, n=40, groups=3):
    """Two channels on ``groups`` paths of ``n`` points; one held-out value is missing."""
    rng = np.random.default_rng(7)
    rows = ["t,id,y,z"]
    for g in range(groups):
        y, z = 0.0, 1.0
        for k in range(n):
            y += 0.3 * rng.standard_normal() - 0.2 * y
            z += 0.2 * rng.standard_normal()
            rows.append(f"{k},{g},{'' if (g, k) == (1, 35) else f'{y:.5f}'},{z:.5f}")
    path.write_text("\n".join(rows) + "\n")
    return path


SMALL = ["--iters", "3", "--windows", "4", "--window-samples", "4", "--window-length", "3",
         "--samples", "20", "--quiet"]


def test_a_holdout_run_writes_the_forecast_and_calibration(tmp_path):
    out = tmp_path / "run"
    argv = ["--data", str(_panel_csv(tmp_path / "panel.csv")), "--group-column", "id",
            "--holdout", "0.25", "--out", str(out), *SMALL]
    assert main(argv) == 0
    for name in ("forecast.png", "calibration.png"):
        image = matplotlib.image.imread(out / name)
        assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 500
        assert image[..., :3].std() > 0.05  # not a blank canvas
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(HOLDOUT_KEYS) <= set(metrics) and metrics["n_holdout"] == 10
    pit = metrics["holdout_pit"]
    assert pit["n"] == 3 * 10 * 2 - 1 == sum(pit["counts"])  # paths x times x channels - missing
    assert len(pit["edges"]) == len(pit["counts"]) + 1
    assert set(pit["coverage"]) == {f"{level:g}" for level in DEFAULT_LEVELS}
    assert pit["coverage"]["0.9"] == pytest.approx(metrics["holdout_coverage_90"], abs=1e-12)
    assert metrics["holdout_coverage_50"] == pit["coverage"]["0.5"]
    # the per-horizon lists are what the saved forecast scores at each step
    data = np.load(out / "samples.npz")
    forecast = data["forecast"]  # (S, T_h, P, d): each group from its own last observation
    assert forecast.shape == (20, 10, 3, 2)
    by = scores_by_horizon(forecast.reshape(20, 10, 6), data["observed"][30:].reshape(10, 1, 6))
    for key, values in (("crps", by["crps"]), ("coverage_50", by["coverage"][0.5]),
                        ("coverage_90", by["coverage"][0.9])):
        listed = metrics[f"holdout_{key}_by_horizon"]
        assert len(listed) == 10
        np.testing.assert_allclose(listed, values, rtol=1e-12)
    # the mean of the per-horizon CRPS, weighted by the observed entries, is holdout_crps
    assert np.average(by["crps"], weights=by["n_observed"]) == pytest.approx(
        metrics["holdout_crps"], rel=1e-9)


def test_a_run_without_holdout_writes_no_forecast_figures(tmp_path):
    out = tmp_path / "run"
    assert main(["--data", str(_panel_csv(tmp_path / "y.csv", groups=1)), "--columns", "y,z",
                 "--out", str(out), *SMALL]) == 0
    names = {p.name for p in out.iterdir()}
    assert "fit.png" in names and not {"forecast.png", "calibration.png"} & names
    metrics = json.loads((out / "metrics.json").read_text())
    assert not set(HOLDOUT_KEYS) & set(metrics)


def test_a_diverged_forecast_reports_no_calibration():
    from neuralsde.fit.holdout import calibration_metrics

    observed = np.ones((4, 1, 1))
    out = calibration_metrics(np.full((5, 4, 1), np.nan), observed, seed=0)
    assert out["holdout_pit"] is None and math.isnan(out["holdout_coverage_50"])
    assert len(out["holdout_crps_by_horizon"]) == 4
    assert all(math.isnan(v) for v in out["holdout_coverage_90_by_horizon"])
    # every member below the observation: the top rank, PIT in [5/6, 1]
    fine = calibration_metrics(np.zeros((5, 4, 1)), observed, seed=0)
    assert sum(fine["holdout_pit"]["counts"][-2:]) == 4 and fine["holdout_coverage_50"] == 0.0
