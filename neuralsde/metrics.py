"""Forecast scores and a random-walk baseline.

Arrays in (numpy arrays or torch tensors, which are detached and moved to the CPU), Python floats
out. Shapes: ``samples`` ``(S, T, d)`` (``S`` simulated paths), ``obs`` ``(T, d)``, ``mask``
``(T, d)`` bool with True where observed; by default (``mask=None``) an entry is observed where
``obs`` is finite. Scores are averaged over the observed entries; the value of ``obs`` at a masked
entry is never read.
"""

from __future__ import annotations

import numpy as np
import torch

from ._checks import as_array, check_int

__all__ = ["climatology_baseline", "crps_ensemble", "coverage", "mse", "random_walk_sigma2",
           "random_walk_baseline", "forecast_scores"]


def _mask(mask, obs: np.ndarray, name: str = "mask", obs_name: str = "obs") -> np.ndarray:
    """A bool mask of ``obs``'s shape; checks that observed entries are finite."""
    if mask is None:
        mask = np.isfinite(obs)
    else:
        if isinstance(mask, torch.Tensor):
            mask = mask.detach().cpu().numpy()
        mask = np.asarray(mask)
        if mask.dtype != np.bool_:
            raise ValueError(f"{name}.dtype={mask.dtype} is not supported; expected bool "
                             f"(True = observed).")
        if mask.shape != obs.shape:
            raise ValueError(f"{name}.shape={mask.shape} must equal {obs_name}.shape={obs.shape}.")
        if not np.isfinite(obs[mask]).all():
            raise ValueError(
                f"{obs_name} is NaN or infinite at entries that {name} marks observed.")
    if not mask.any():
        raise ValueError(f"{name} (shape {mask.shape}) has no observed entry; there is nothing "
                         f"to score.")
    return mask


def _samples_obs(samples, obs, mask):
    samples = as_array(samples, "samples")
    obs = as_array(obs, "obs")
    if samples.ndim != obs.ndim + 1 or samples.shape[1:] != obs.shape or samples.shape[0] < 1:
        raise ValueError(
            f"samples must have shape (S, T, d) and obs shape (T, d), with S >= 1; got "
            f"samples.shape={samples.shape}, obs.shape={obs.shape}.")
    if not np.isfinite(samples).all():
        raise ValueError("samples has NaN or infinite entries.")
    return samples, obs, _mask(mask, obs)


def crps_ensemble(samples, obs, mask=None) -> float:
    """Continuous ranked probability score of an ensemble, averaged over observed entries.

    Per entry, ``CRPS = E|X - y| - 0.5 E|X - X'|`` with ``X, X'`` drawn from the ensemble: the
    first mean runs over the ``S`` members and the second over all ``S * S`` ordered pairs,
    ``i == j`` included (the "energy form", the CRPS of the empirical distribution of the
    ensemble). It is slightly larger than the "fair" estimator that divides by ``S (S - 1)``: by
    ``0.5 E|X - X'| / S`` in expectation, ``1 / (sqrt(pi) S)`` for a standard normal. Lower is
    better; for one member it is ``|x - y|``. The pair sum is computed by sorting,
    ``sum_{i,j} |x_i - x_j| = 2 sum_i (2 i - S + 1) x_(i)`` (0-based ranks), in ``O(S log S)``.

    Args:
        samples: ``(S, T, d)`` ensemble members.
        obs: ``(T, d)`` observations.
        mask: ``(T, d)`` bool, True where observed; default: where ``obs`` is finite.

    Returns:
        The mean CRPS over observed entries.

    Raises:
        ValueError: if shapes disagree, ``samples`` is not finite or nothing is observed.
    """
    samples, obs, mask = _samples_obs(samples, obs, mask)
    return float(_crps_entries(samples[:, mask], obs[mask]).mean())


def _crps_entries(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The CRPS of :func:`crps_ensemble` of each entry: ``x`` ``(S, n)`` members, ``y`` ``(n,)``
    observations, both finite; returns ``(n,)``."""
    S = x.shape[0]
    spread = np.abs(x - y).mean(axis=0)
    ranks = 2.0 * np.arange(S) - S + 1.0  # (S,)
    pair_mean = 2.0 * (ranks[:, None] * np.sort(x, axis=0)).sum(axis=0) / (S * S)
    return spread - 0.5 * pair_mean


def coverage(samples, obs, mask=None, *, lower: float = 0.05, upper: float = 0.95) -> float:
    """Share of observed entries inside the ensemble's ``[lower, upper]`` quantile band.

    The band at each entry runs from the ``lower`` to the ``upper`` empirical quantile of the
    ``S`` members (``numpy.quantile``, linear interpolation); both ends are inclusive.

    Args:
        samples: ``(S, T, d)`` ensemble members.
        obs: ``(T, d)`` observations.
        mask: ``(T, d)`` bool, True where observed; default: where ``obs`` is finite.
        lower: lower quantile level.
        upper: upper quantile level, ``0 <= lower < upper <= 1``.

    Returns:
        The share in ``[0, 1]``; a well calibrated 5%-95% band covers about 0.9.

    Raises:
        ValueError: if shapes disagree, the levels are out of range or nothing is observed.
    """
    for name, value in (("lower", lower), ("upper", upper)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"{name}={value!r} is not supported; expected a number in [0, 1].")
    if not lower < upper:
        raise ValueError(f"lower={lower!r} and upper={upper!r} are not supported; expected "
                         f"lower < upper.")
    samples, obs, mask = _samples_obs(samples, obs, mask)
    lo, hi = np.quantile(samples[:, mask], [lower, upper], axis=0)  # (n_observed,) each
    y = obs[mask]
    return float(((lo <= y) & (y <= hi)).mean())


def mse(mean_pred, obs, mask=None) -> float:
    """Mean squared error over observed entries.

    Args:
        mean_pred: ``(T, d)`` point forecast, e.g. the sample mean.
        obs: ``(T, d)`` observations.
        mask: ``(T, d)`` bool, True where observed; default: where ``obs`` is finite.

    Returns:
        The mean of ``(mean_pred - obs)**2`` over observed entries.

    Raises:
        ValueError: if shapes disagree or nothing is observed.
    """
    mean_pred = as_array(mean_pred, "mean_pred")
    obs = as_array(obs, "obs")
    if mean_pred.shape != obs.shape:
        raise ValueError(f"mean_pred.shape={mean_pred.shape} must equal obs.shape={obs.shape} "
                         f"(T, d).")
    mask = _mask(mask, obs)
    return float(((mean_pred[mask] - obs[mask]) ** 2).mean())


def _train_arrays(train_ts, train_y, train_mask):
    ts = as_array(train_ts, "train_ts")
    y = as_array(train_y, "train_y")
    if ts.ndim != 1 or y.ndim not in (2, 3) or y.shape[0] != ts.shape[0]:
        raise ValueError(
            f"train_ts must have shape (T,) and train_y shape (T, d) or (T, P, d); got "
            f"train_ts.shape={ts.shape}, train_y.shape={y.shape}.")
    if not np.isfinite(ts).all() or (np.diff(ts) <= 0).any():
        raise ValueError("train_ts must be finite and strictly increasing.")
    mask = _mask(train_mask, y, "train_mask", "train_y")
    return ts, y, mask


def random_walk_sigma2(train_ts, train_y, train_mask=None) -> np.ndarray:
    """Per-channel variance per unit time of a driftless Gaussian random walk.

    For each channel (and each path of a panel) the observed training points are taken in time
    order, skipping missing ones; each pair of consecutive observed points gives a standardised
    increment ``(y_{k+1} - y_k) / sqrt(t_{k+1} - t_k)``, which under the model is
    ``N(0, sigma^2)`` whatever the gap. The estimate is their mean square, pooled over paths:
    ``sigma^2 = mean (dy^2 / dt)``. The walk has no drift, so this mean square (not the variance
    about the mean increment) is the maximum-likelihood estimate; a trend in the data shows up as
    extra variance.

    Args:
        train_ts: ``(T,)`` strictly increasing training times.
        train_y: ``(T, d)`` or ``(T, P, d)`` training observations, NaN where missing.
        train_mask: bool, ``train_y``'s shape, True where observed; default: where ``train_y`` is
            finite.

    Returns:
        ``(d,)`` array of ``sigma^2``.

    Raises:
        ValueError: if shapes disagree, ``train_ts`` is not increasing, or a channel has no two
            observed points on one path.
    """
    ts, y, mask = _train_arrays(train_ts, train_y, train_mask)
    if y.ndim == 2:
        y, mask = y[:, None, :], mask[:, None, :]  # (T, 1, d)
    d = y.shape[2]
    sigma2 = np.empty(d)
    for c in range(d):
        squares = []
        for p in range(y.shape[1]):
            keep = mask[:, p, c]
            dy, dt = np.diff(y[keep, p, c]), np.diff(ts[keep])
            squares.append(dy * dy / dt)
        squares = np.concatenate(squares)
        if squares.size == 0:
            raise ValueError(f"train_mask observes channel {c} at fewer than 2 time points on "
                             f"every path; a random walk needs at least one increment.")
        sigma2[c] = squares.mean()
    return sigma2


def random_walk_baseline(train_ts, train_y, train_mask, future_ts, y_last, *, n_samples: int,
                         seed: int) -> np.ndarray:
    """Samples of a driftless Gaussian random walk fitted on the training part.

    A random walk without drift, variance per unit time from training increments
    (:func:`random_walk_sigma2`). From ``y_last`` at the last training time
    ``t_last = train_ts[-1]`` it forecasts ``y(t) ~ N(y_last, sigma^2 (t - t_last))``, independently
    per channel and time (the marginals of the walk; the samples are not paths).

    Args:
        train_ts: ``(T,)`` strictly increasing training times.
        train_y: ``(T, d)`` or ``(T, P, d)`` training observations, NaN where missing.
        train_mask: bool, ``train_y``'s shape, True where observed, or None (where finite).
        future_ts: ``(T_future,)`` forecast times, each ``>= t_last``.
        y_last: ``(d,)`` value at ``t_last`` the forecast starts from.
        n_samples: number of samples, ``>= 1``.
        seed: seed of ``numpy.random.default_rng``.

    Returns:
        ``(n_samples, T_future, d)`` array.

    Raises:
        ValueError: on bad shapes, times before ``t_last``, a non-finite ``y_last`` or a bad
            ``n_samples`` or ``seed``.
    """
    check_int("n_samples", n_samples, 1)
    check_int("seed", seed, 0)
    sigma2 = random_walk_sigma2(train_ts, train_y, train_mask)  # (d,)
    t_last = float(as_array(train_ts, "train_ts")[-1])
    future = as_array(future_ts, "future_ts")
    if future.ndim != 1:
        raise ValueError(f"future_ts must have shape (T_future,); got {future.shape}.")
    if not np.isfinite(future).all() or (future < t_last).any():
        raise ValueError(f"future_ts must be finite and >= t_last={t_last} (the last training "
                         f"time); got min {future.min() if future.size else None}.")
    start = as_array(y_last, "y_last")
    if start.shape != sigma2.shape or not np.isfinite(start).all():
        raise ValueError(f"y_last must be finite with shape (d,) = {sigma2.shape}; got "
                         f"y_last.shape={start.shape}.")
    scale = np.sqrt(sigma2[None, :] * (future[:, None] - t_last))  # (T_future, d)
    noise = np.random.default_rng(seed).standard_normal((n_samples, future.size, sigma2.size))
    return start + scale * noise


def climatology_baseline(train_y, train_mask, n_future: int, *, n_samples: int,
                         seed: int) -> np.ndarray:
    """Samples of climatology: every future value ``~ N(mean, std²)`` of the training values,
    per channel (pooled over the paths of a panel), whatever the time.

    Args:
        train_y: ``(T, d)`` or ``(T, P, d)`` training observations, NaN where missing.
        train_mask: bool, ``train_y``'s shape, True where observed, or None (where finite).
        n_future: number of forecast times.
        n_samples: number of samples, ``>= 1``.
        seed: seed of ``numpy.random.default_rng``.

    Returns:
        ``(n_samples, n_future, d)`` array.
    """
    check_int("n_samples", n_samples, 1)
    check_int("seed", seed, 0)
    check_int("n_future", n_future, 0)
    y = as_array(train_y, "train_y")
    mask = _mask(train_mask, y, "train_mask", "train_y")
    y = y.reshape(-1, y.shape[-1])  # (T * P, d)
    mask = mask.reshape(y.shape)
    mean = np.array([y[mask[:, c], c].mean() for c in range(y.shape[1])])
    std = np.array([y[mask[:, c], c].std() for c in range(y.shape[1])])
    noise = np.random.default_rng(seed).standard_normal((n_samples, n_future, y.shape[1]))
    return mean + std * noise


def forecast_scores(samples, obs, mask=None) -> dict[str, float]:
    """The forecast scores we report.

    Args:
        samples: ``(S, T, d)`` ensemble members.
        obs: ``(T, d)`` observations.
        mask: ``(T, d)`` bool, True where observed; default: where ``obs`` is finite.

    Returns:
        ``{"mse": ..., "crps": ..., "coverage_90": ...}``: :func:`mse` of the sample mean,
        :func:`crps_ensemble`, and :func:`coverage` of the 5%-95% band.
    """
    samples, obs, mask = _samples_obs(samples, obs, mask)
    return {
        "mse": mse(samples.mean(axis=0), obs, mask),
        "crps": crps_ensemble(samples, obs, mask),
        "coverage_90": coverage(samples, obs, mask, lower=0.05, upper=0.95),
    }
