"""Metrics: CRPS, coverage, MSE and the random-walk baseline against closed forms."""

import math

import numpy as np
import pytest
import torch

from neuralsde.metrics import (
    coverage,
    crps_ensemble,
    forecast_scores,
    mse,
    random_walk_baseline,
    random_walk_sigma2,
)

NAN = float("nan")


def gaussian_crps(mu, s, y):
    """CRPS(N(mu, s^2), y) = s (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi)), z = (y - mu) / s."""
    z = (y - mu) / s
    phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return s * (z * math.erf(z / math.sqrt(2)) + 2 * phi - 1 / math.sqrt(math.pi))


# ---------------------------------------------------------------- CRPS

def test_crps_single_member_is_absolute_error():
    samples = np.array([[[1.0, -2.0], [0.5, 4.0]]])  # (S=1, T=2, d=2)
    obs = np.array([[0.0, 1.0], [0.5, 0.0]])
    assert crps_ensemble(samples, obs) == pytest.approx((1 + 3 + 0 + 4) / 4)


def test_crps_two_members_hand_value():
    # E|X - y| = 1; E|X - X'| over all 4 pairs = (0 + 2 + 2 + 0) / 4 = 1 -> 1 - 0.5 = 0.5
    samples = np.array([0.0, 2.0]).reshape(2, 1, 1)
    assert crps_ensemble(samples, np.array([[1.0]])) == pytest.approx(0.5)


def test_crps_matches_brute_force_pairs():
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(7, 4, 2))
    obs = rng.normal(size=(4, 2))
    first = np.abs(samples - obs).mean(axis=0)
    pairs = np.abs(samples[:, None] - samples[None, :]).mean(axis=(0, 1))
    assert crps_ensemble(samples, obs) == pytest.approx((first - 0.5 * pairs).mean(), rel=1e-12)


@pytest.mark.parametrize("y", [0.0, 0.7, -1.5, 2.5])
def test_crps_large_gaussian_ensemble_approaches_closed_form(y):
    # S = 1e5 draws of N(mu, s^2). The estimator's standard deviation is about
    # s * sqrt(Var h(X) / S) with h(x) = |x - z| - E|x - X'|; Var h <= 1.2 for |z| <= 2.5
    # (measured),
    # so sd <= 0.0035 s; its bias (i == j pairs) is s / (sqrt(pi) S) ~ 6e-6 s. 0.02 s is > 5 sd.
    mu, s = 1.0, 2.0
    samples = mu + s * np.random.default_rng(0).standard_normal((100_000, 1, 1))
    obs = np.array([[mu + s * y]])
    expected = gaussian_crps(mu, s, mu + s * y)
    assert crps_ensemble(samples, obs) == pytest.approx(expected, abs=0.02 * s)


def test_crps_respects_mask_and_takes_tensors():
    rng = np.random.default_rng(1)
    samples = rng.normal(size=(5, 3, 1))
    obs = np.array([[0.0], [NAN], [1.0]])
    mask = ~np.isnan(obs)
    value = crps_ensemble(samples, obs, mask)
    changed = obs.copy()
    changed[1] = 100.0
    assert crps_ensemble(samples, changed, mask) == value
    assert crps_ensemble(samples, obs) == value  # default mask: finite obs
    assert crps_ensemble(torch.from_numpy(samples), torch.from_numpy(obs),
                         torch.from_numpy(mask)) == value
    kept = crps_ensemble(samples[:, [0, 2]], obs[[0, 2]])
    assert value == pytest.approx(kept)


def test_shape_and_mask_errors():
    with pytest.raises(ValueError, match=r"samples.shape=\(4, 3, 2\), obs.shape=\(3, 1\)"):
        crps_ensemble(np.zeros((4, 3, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"mask.shape=\(3,\) must equal obs.shape=\(3, 2\)"):
        coverage(np.zeros((4, 3, 2)), np.zeros((3, 2)), np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="mask.dtype=float64"):
        mse(np.zeros((3, 2)), np.zeros((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="NaN or infinite at entries that mask marks observed"):
        mse(np.zeros((1, 1)), np.array([[NAN]]), np.ones((1, 1), dtype=bool))
    with pytest.raises(ValueError, match="no observed entry"):
        crps_ensemble(np.zeros((2, 1, 1)), np.array([[NAN]]))


# ---------------------------------------------------------------- coverage

def test_coverage_on_a_known_band():
    # 5 members 0..4 at every entry: the 25% and 75% quantiles are exactly 1 and 3.
    samples = np.broadcast_to(np.arange(5.0)[:, None, None], (5, 5, 1))
    obs = np.array([[1.0], [3.0], [2.0], [0.999], [3.001]])  # ends inclusive: 3 of 5 inside
    assert coverage(samples, obs, lower=0.25, upper=0.75) == pytest.approx(3 / 5)
    mask = np.array([[True], [True], [True], [False], [True]])
    assert coverage(samples, obs, mask, lower=0.25, upper=0.75) == pytest.approx(3 / 4)


def test_coverage_default_band_is_5_to_95_percent():
    samples = np.arange(101.0).reshape(101, 1, 1) * np.ones((1, 4, 1))  # quantiles 5 and 95
    obs = np.array([[5.0], [95.0], [4.5], [95.5]])
    assert coverage(samples, obs) == pytest.approx(0.5)


@pytest.mark.parametrize("lower, upper, match", [(-0.1, 0.9, r"lower=-0\.1 "),
                                                 (0.1, 1.5, r"upper=1\.5 "),
                                                 (0.9, 0.1, "lower < upper")])
def test_coverage_bad_levels(lower, upper, match):
    with pytest.raises(ValueError, match=match):
        coverage(np.zeros((3, 1, 1)), np.zeros((1, 1)), lower=lower, upper=upper)


# ---------------------------------------------------------------- mse

def test_mse_hand_value_and_mask():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    obs = np.array([[0.0, NAN], [1.0, 4.0]])
    assert mse(pred, obs) == pytest.approx((1 + 4 + 0) / 3)
    with pytest.raises(ValueError, match=r"mean_pred.shape=\(2,\) must equal obs.shape=\(2, 2\)"):
        mse(pred[0], obs)


# ---------------------------------------------------------------- random walk

TS = np.array([0.0, 1.0, 3.0, 4.0])
Y = np.array([[0.0, 1.0], [1.0, NAN], [3.0, 1.0], [NAN, -1.0]])


def test_random_walk_sigma2_hand_value():
    # channel 0 observed at t = 0, 1, 3: dy^2/dt = 1/1, 2^2/2 -> mean 1.5
    # channel 1 observed at t = 0, 3, 4 (gap skipped): 0^2/3, (-2)^2/1 -> mean 2
    np.testing.assert_allclose(random_walk_sigma2(TS, Y, ~np.isnan(Y)), [1.5, 2.0])
    np.testing.assert_allclose(random_walk_sigma2(TS, Y, None), [1.5, 2.0])


def test_random_walk_sigma2_pools_panel_paths():
    y = np.stack([Y, Y * 2], axis=1)  # (T, P=2, d): the second path's squares are 4 times larger
    # channel 0: 1, 2, 4, 8 -> 3.75; channel 1: 0, 4, 0, 16 -> 5
    np.testing.assert_allclose(random_walk_sigma2(TS, y, None), [3.75, 5.0])


def test_random_walk_sigma2_errors():
    with pytest.raises(ValueError, match="channel 1"):
        random_walk_sigma2(TS, np.array([[0.0, 1.0], [1.0, NAN], [2.0, NAN], [3.0, NAN]]), None)
    with pytest.raises(ValueError, match="strictly increasing"):
        random_walk_sigma2(TS[::-1], Y, None)
    with pytest.raises(ValueError, match=r"train_ts.shape=\(3,\), train_y.shape=\(4, 2\)"):
        random_walk_sigma2(TS[:3], Y, None)


def test_random_walk_baseline_matches_its_gaussian():
    n = 200_000
    future = np.array([4.0, 4.5, 6.0])  # t_last = 4
    y_last = np.array([10.0, -3.0])
    samples = random_walk_baseline(TS, Y, None, future, y_last, n_samples=n, seed=0)
    assert samples.shape == (n, 3, 2)
    np.testing.assert_array_equal(samples[:, 0], np.broadcast_to(y_last, (n, 2)))  # dt = 0
    var = np.array([1.5, 2.0]) * (future[1:, None] - 4.0)  # (2, d)
    # sd of the sample mean: sqrt(var / n); of the sample variance: var sqrt(2 / (n - 1)); 5 sd each
    np.testing.assert_allclose(samples[:, 1:].mean(axis=0) - y_last, 0.0,
                               atol=5 * np.sqrt(var.max() / n))
    assert np.all(np.abs(samples[:, 1:].var(axis=0, ddof=1) - var) < 5 * var * np.sqrt(2 / (n - 1)))


def test_random_walk_baseline_is_seeded():
    args = (TS, Y, None, [5.0, 6.0], [0.0, 0.0])
    a = random_walk_baseline(*args, n_samples=10, seed=7)
    np.testing.assert_array_equal(a, random_walk_baseline(*args, n_samples=10, seed=7))
    assert not np.array_equal(a, random_walk_baseline(*args, n_samples=10, seed=8))


@pytest.mark.parametrize("future, y_last, n_samples, seed, match", [
    ([3.0], [0.0, 0.0], 5, 0, "t_last=4.0"),
    ([5.0], [0.0], 5, 0, r"y_last.shape=\(1,\)"),
    ([5.0], [0.0, NAN], 5, 0, "y_last must be finite"),
    ([5.0], [0.0, 0.0], 0, 0, "n_samples=0 "),
    ([5.0], [0.0, 0.0], 5, -1, "seed=-1 "),
])
def test_random_walk_baseline_errors(future, y_last, n_samples, seed, match):
    with pytest.raises(ValueError, match=match):
        random_walk_baseline(TS, Y, None, future, y_last, n_samples=n_samples, seed=seed)


# ---------------------------------------------------------------- forecast_scores

def test_forecast_scores_combines_the_metrics():
    rng = np.random.default_rng(5)
    samples = rng.normal(size=(50, 4, 2))
    obs = rng.normal(size=(4, 2))
    obs[2, 1] = NAN
    mask = ~np.isnan(obs)
    scores = forecast_scores(torch.from_numpy(samples), torch.from_numpy(obs),
                             torch.from_numpy(mask))
    assert set(scores) == {"mse", "crps", "coverage_90"}
    assert all(type(v) is float for v in scores.values())
    assert scores["mse"] == pytest.approx(mse(samples.mean(axis=0), obs, mask))
    assert scores["crps"] == pytest.approx(crps_ensemble(samples, obs, mask))
    band = coverage(samples, obs, mask, lower=0.05, upper=0.95)
    assert scores["coverage_90"] == pytest.approx(band)
