"""Calibration of ensemble forecasts: PIT values and their histogram, the coverage of central
intervals at several levels, and scores per forecast horizon.

A forecast is *calibrated* when observations behave like draws from it: an observation then
falls below a given share ``u`` of the forecast distribution with probability ``u``, so its PIT
(probability integral transform) is uniform on ``[0, 1]`` and every central interval of level
``l`` holds a share ``l`` of the observations. A U-shaped PIT histogram (observations in the
tails, the central intervals covering less than their level) says the ensemble is too narrow
(under-dispersed), a hump says it is too wide, and a slope says it is biased.

Arrays in (numpy arrays or torch tensors, which are detached and moved to the CPU), numpy arrays
or Python numbers out. Shapes: ``samples`` ``(S, T, d)`` (``S`` ensemble members at ``T`` times),
``obs`` ``(T, d)``, or ``(T, P, d)`` for ``P`` observed paths of a panel, each scored against the
same ensemble; ``mask`` bool of ``obs``'s shape, True where observed (default: where ``obs`` is
finite). Only observed entries are scored; the value of ``obs`` at a masked entry is never read.
Quantiles are ``numpy.quantile``'s (linear interpolation) and intervals include both ends, as in
:func:`neuralsde.metrics.coverage`, so the level-0.9 coverage here is its 5 %-95 % coverage.

References:
    T. Gneiting, F. Balabdaoui and A. E. Raftery (2007). Probabilistic forecasts, calibration
    and sharpness. JRSS B 69(2), 243-268.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import as_array, check_int
from .metrics import _crps_entries, _mask

__all__ = ["DEFAULT_LEVELS", "binomial_band", "calibration_summary", "central_coverage",
           "coverage_if_calibrated", "ks_distance", "pit_histogram", "pit_values",
           "scores_by_horizon"]

#: Levels of the central intervals whose coverage :func:`calibration_summary` reports.
DEFAULT_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def _entries(samples, obs, mask) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The observed entries: ``(members (S, n), observations (n,), time index (n,))``, in time
    order (then path, then channel)."""
    samples = as_array(samples, "samples")
    obs = as_array(obs, "obs")
    if (samples.ndim != 3 or samples.shape[0] < 1 or obs.ndim not in (2, 3)
            or obs.shape[0] != samples.shape[1] or obs.shape[-1] != samples.shape[2]):
        raise ValueError(
            f"samples must have shape (S, T, d) with S >= 1 and obs shape (T, d) or (T, P, d); "
            f"got samples.shape={samples.shape}, obs.shape={obs.shape}.")
    if not np.isfinite(samples).all():
        raise ValueError("samples has NaN or infinite entries.")
    mask = _mask(mask, obs)
    if obs.ndim == 2:
        obs, mask = obs[:, None, :], mask[:, None, :]  # (T, 1, d)
    t, p, c = np.nonzero(mask)
    return samples[:, t, c], obs[t, p, c], t


def _check_levels(levels) -> np.ndarray:
    """``levels`` as an increasing 1-D array in ``(0, 1)``, or ValueError naming it."""
    out = as_array(levels, "levels")
    if out.ndim != 1 or out.size == 0 or not ((out > 0) & (out < 1)).all() \
            or (np.diff(out) <= 0).any():
        raise ValueError(f"levels={levels!r} is not supported; expected increasing numbers in "
                         f"(0, 1), e.g. {DEFAULT_LEVELS}.")
    return out


def _inside(x: np.ndarray, y: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``(L, n)`` bool: is ``y`` in the central interval of each level of the members ``x``
    ``(S, n)``? The ends are rounded to 12 digits, so that level 0.9 uses exactly the quantiles
    0.05 and 0.95."""
    lower = np.round((1.0 - levels) / 2.0, 12)
    upper = np.round((1.0 + levels) / 2.0, 12)
    q = np.quantile(x, np.concatenate([lower, upper]), axis=0)  # (2L, n)
    lo, hi = q[: levels.size], q[levels.size:]
    return (lo <= y) & (y <= hi)


def pit_values(samples, obs, mask=None, *, seed: int = 0) -> np.ndarray:
    """The randomised PIT of every observed entry within its ensemble.

    With ``b`` members below the observation and ``e`` equal to it, the observation's rank among
    the ``S + 1`` values (the members and itself) is drawn uniformly among the tied ranks and made
    continuous: ``PIT = (b + V) / (S + 1)`` with ``V ~ U(0, e + 1)``. When the observation and the
    members are exchangeable (a calibrated forecast) the PIT is then exactly uniform on
    ``[0, 1]``, for any ``S`` and with ties; an ensemble of identical values equal to the
    observation gives a uniform PIT, not 0 or 1.

    Args:
        samples: ``(S, T, d)`` ensemble members.
        obs: ``(T, d)`` or ``(T, P, d)`` observations.
        mask: bool of ``obs``'s shape, True where observed; default: where ``obs`` is finite.
        seed: seed of ``numpy.random.default_rng`` for the ties' randomisation.

    Returns:
        ``(n,)`` PIT values in ``[0, 1]``, one per observed entry, in time order.

    Raises:
        ValueError: if shapes disagree, ``samples`` is not finite, nothing is observed or
            ``seed`` is not an integer ``>= 0``.
    """
    check_int("seed", seed, 0)
    x, y, _ = _entries(samples, obs, mask)
    below = (x < y).sum(axis=0)
    equal = (x == y).sum(axis=0)
    draw = np.random.default_rng(seed).random(y.size)
    return (below + draw * (equal + 1)) / (x.shape[0] + 1)


def _check_pit(pit) -> np.ndarray:
    """``pit`` as a non-empty 1-D array of numbers in ``[0, 1]``, or ValueError naming it."""
    out = as_array(pit, "pit")
    if out.ndim != 1 or out.size == 0 or not ((out >= 0) & (out <= 1)).all():
        raise ValueError(f"pit must be a non-empty 1-D array of numbers in [0, 1] (see "
                         f"pit_values); got shape {out.shape}.")
    return out


def pit_histogram(pit, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Counts of PIT values in ``bins`` equal bins of ``[0, 1]`` (the last bin includes 1).

    Args:
        pit: ``(n,)`` PIT values in ``[0, 1]`` (:func:`pit_values`).
        bins: number of bins, ``>= 1``.

    Returns:
        ``(counts, edges)``: ``(bins,)`` integer counts and ``(bins + 1,)`` edges from 0 to 1. A
        calibrated forecast puts about ``n / bins`` in each (:func:`binomial_band`).

    Raises:
        ValueError: on a bad ``pit`` or ``bins``.
    """
    check_int("bins", bins, 1)
    counts, edges = np.histogram(_check_pit(pit), bins=bins, range=(0.0, 1.0))
    return counts, edges


def ks_distance(pit) -> float:
    """Kolmogorov-Smirnov distance of the PIT values to the uniform law on ``[0, 1]``.

    ``sup_u |F_n(u) - u|`` for the empirical distribution function ``F_n`` of the ``n`` values:
    0 for a perfectly uniform sample; for ``n`` independent uniform values it exceeds
    ``1.36 / sqrt(n)`` with probability about 5 %. Held-out values of one forecast are correlated
    in time, so that bound is a rough guide there.

    Args:
        pit: ``(n,)`` PIT values in ``[0, 1]``.

    Returns:
        The distance, in ``[0, 1]``.

    Raises:
        ValueError: on a bad ``pit``.
    """
    from scipy import stats  # here: importing scipy.stats takes a while

    return float(stats.kstest(_check_pit(pit), stats.uniform.cdf).statistic)


def binomial_band(n: int, p, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Central ``level`` range of a ``Binomial(n, p)`` count, for each ``p``: how far a count of
    ``n`` independent trials strays by chance (a PIT bin of a calibrated forecast has
    ``p = 1 / bins``; the entries inside a central interval of level ``l`` have ``p = l``).

    Args:
        n: number of trials, ``>= 1``.
        p: success probabilities in ``(0, 1)``, a number or an array.
        level: probability of the range, in ``(0, 1)``.

    Returns:
        ``(lo, hi)``, arrays of ``p``'s shape: the ``(1 - level) / 2`` and ``(1 + level) / 2``
        quantiles of the count (exact: ``scipy.stats.binom.ppf``, the smallest count whose
        cumulative probability reaches the quantile).

    Raises:
        ValueError: on a bad ``n``, ``p`` or ``level``.
    """
    check_int("n", n, 1)
    probs = as_array(p, "p")
    if not ((probs > 0) & (probs < 1)).all():
        raise ValueError(f"p={p!r} is not supported; expected probabilities in (0, 1).")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level={level!r} is not supported; expected a number in (0, 1).")
    from scipy import stats  # here: importing scipy.stats takes a while

    return (np.asarray(stats.binom.ppf((1 - level) / 2, n, probs), dtype=float),
            np.asarray(stats.binom.ppf((1 + level) / 2, n, probs), dtype=float))


def central_coverage(samples, obs, mask=None, *, levels=DEFAULT_LEVELS) -> np.ndarray:
    """Share of observed entries inside the ensemble's central interval of each level.

    The interval of level ``l`` runs from the ``(1 - l) / 2`` to the ``(1 + l) / 2`` empirical
    quantile of the members at that entry. Intervals of one ensemble are nested, so the shares
    grow with the level; a calibrated forecast gives about ``levels``.

    Args:
        samples: ``(S, T, d)`` ensemble members.
        obs: ``(T, d)`` or ``(T, P, d)`` observations.
        mask: bool of ``obs``'s shape, True where observed; default: where ``obs`` is finite.
        levels: increasing levels in ``(0, 1)``.

    Returns:
        ``(len(levels),)`` shares in ``[0, 1]``.

    Raises:
        ValueError: if shapes disagree, ``samples`` is not finite, nothing is observed or the
            levels are bad.
    """
    levels = _check_levels(levels)
    x, y, _ = _entries(samples, obs, mask)
    return _inside(x, y, levels).mean(axis=1)


def coverage_if_calibrated(samples, mask=None, *, level: float = 0.9) -> np.ndarray:
    """The coverage each member would get as the observations: member ``j``'s values against
    the central interval of level ``level`` of the other ``S - 1`` members, over the entries
    ``mask`` marks.

    What one forecast's coverage can show. If the observations were a draw from the forecast
    (the forecast calibrated), their coverage would be distributed as these ``S`` values: near
    ``level`` when the forecast's errors are independent across times, but spread out to 0 and
    1 when they share a part (a trend's uncertain slope moves a whole path up or down), and then
    one coverage far from ``level`` is what a calibrated forecast often gives.

    Args:
        samples: ``(S, T, d)`` ensemble members, ``S >= 3``.
        mask: ``(T, d)`` bool, the entries that are scored (default: every entry).
        level: the central interval's level, in ``(0, 1)``.

    Returns:
        ``(S,)`` shares in ``[0, 1]``, the same as :func:`central_coverage` of the other members
        against member ``j``.

    Raises:
        ValueError: for bad shapes, fewer than 3 members, a non-finite ``samples``, an empty
            ``mask`` or a bad ``level``.
    """
    (level,) = _check_levels([level])
    samples = as_array(samples, "samples")
    if samples.ndim != 3 or samples.shape[0] < 3:
        raise ValueError(f"samples must have shape (S, T, d) with S >= 3; got {samples.shape}.")
    if not np.isfinite(samples).all():
        raise ValueError("samples has NaN or infinite entries.")
    mask = np.ones(samples.shape[1:], dtype=bool) if mask is None else as_array(mask, "mask")
    if mask.shape != samples.shape[1:] or not mask.any():
        raise ValueError(f"mask must be a bool array of shape {samples.shape[1:]} with an entry "
                         f"that is True; got shape {mask.shape}.")
    x = samples[:, mask.astype(bool)]  # (S, n)
    S = x.shape[0]
    order = np.argsort(x, axis=0, kind="stable")
    ordered = np.take_along_axis(x, order, axis=0)  # (S, n)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(S)[:, None].repeat(x.shape[1], axis=1), axis=0)
    inside = np.ones(x.shape, dtype=bool)
    for q, keep in ((np.round((1.0 - level) / 2.0, 12), np.greater_equal),
                    (np.round((1.0 + level) / 2.0, 12), np.less_equal)):
        position = q * (S - 2)  # numpy's linear quantile of the S - 1 others
        k = int(math.floor(position))
        frac = position - k
        # the i-th of the others is ordered[i] below the member's own rank, ordered[i + 1] above
        a = np.take_along_axis(ordered, (k + (k >= rank)).clip(max=S - 1), axis=0)
        b = np.take_along_axis(ordered, (k + 1 + (k + 1 >= rank)).clip(max=S - 1), axis=0)
        value = np.where(frac >= 0.5, b - (b - a) * (1 - frac), a + (b - a) * frac)
        inside &= keep(x, value)
    return inside.mean(axis=1)


def scores_by_horizon(samples, obs, mask=None, *, levels=(0.5, 0.9)) -> dict:
    """CRPS and central-interval coverage at each forecast time, averaged over the observed
    channels and paths at that time.

    Args:
        samples: ``(S, T, d)`` ensemble members; time ``k`` is horizon ``k + 1``.
        obs: ``(T, d)`` or ``(T, P, d)`` observations.
        mask: bool of ``obs``'s shape, True where observed; default: where ``obs`` is finite.
        levels: increasing levels in ``(0, 1)`` of the central intervals.

    Returns:
        ``{"crps": (T,), "coverage": {level: (T,)}, "n_observed": (T,)}``: the mean CRPS of
        :func:`neuralsde.metrics.crps_ensemble` and the share inside each interval over the
        entries observed at each time (NaN where none is), and their number.

    Raises:
        ValueError: if shapes disagree, ``samples`` is not finite, nothing is observed at all or
            the levels are bad.
    """
    levels = _check_levels(levels)
    x, y, t = _entries(samples, obs, mask)
    n_times = as_array(samples, "samples").shape[1]
    count = np.bincount(t, minlength=n_times)

    def per_time(values: np.ndarray) -> np.ndarray:
        total = np.bincount(t, weights=values, minlength=n_times)
        return np.divide(total, count, out=np.full(n_times, np.nan), where=count > 0)

    inside = _inside(x, y, levels)
    return {"crps": per_time(_crps_entries(x, y)),
            "coverage": {float(level): per_time(inside[i].astype(float))
                         for i, level in enumerate(levels)},
            "n_observed": count}


def calibration_summary(samples, obs, mask=None, *, bins: int = 10, levels=DEFAULT_LEVELS,
                        seed: int = 0) -> dict:
    """The PIT histogram, its distance to uniform and the coverage curve, as JSON-ready values.

    Args:
        samples: ``(S, T, d)`` ensemble members.
        obs: ``(T, d)`` or ``(T, P, d)`` observations.
        mask: bool of ``obs``'s shape, True where observed; default: where ``obs`` is finite.
        bins: bins of the PIT histogram.
        levels: increasing levels in ``(0, 1)`` of the central intervals.
        seed: seed of the PIT's randomisation of ties.

    Returns:
        ``{"n", "counts", "edges", "mean", "ks_distance", "bin_deviation", "coverage"}``: the
        number of PIT values, the :func:`pit_histogram`, their mean (0.5 when calibrated; below,
        observations fall low in the ensemble), :func:`ks_distance`, the mean absolute deviation
        of the bins' shares from ``1 / bins``, and :func:`central_coverage` as
        ``{f"{level:g}": share}``.

    Raises:
        ValueError: as :func:`pit_values`, :func:`pit_histogram` and :func:`central_coverage`.
    """
    levels = _check_levels(levels)
    pit = pit_values(samples, obs, mask, seed=seed)
    counts, edges = pit_histogram(pit, bins)
    shares = central_coverage(samples, obs, mask, levels=levels)
    return {"n": int(pit.size), "counts": counts.tolist(), "edges": np.round(edges, 12).tolist(),
            "mean": float(pit.mean()), "ks_distance": ks_distance(pit),
            "bin_deviation": float(np.abs(counts / pit.size - 1.0 / bins).mean()),
            "coverage": {f"{level:g}": float(s) for level, s in zip(levels, shares)}}
