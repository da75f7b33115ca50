"""How long a series remembers its state: the lags over which its autocorrelation stays at or
above 1/e, which sets the windows' default length for a series without a period.

A window of the "windows" objective starts at an observed state and scores the next observations.
Those that come after the series has forgotten its start (about one relaxation time of a
mean-reverting process, where the autocorrelation has fallen to 1/e) are scored against nearly
the stationary law and say little about the drift that carried the path there; a coarsely
sampled series forgets within a few observations.

The autocorrelation at lag ``k`` counts lags in observations, not time: for each path and
channel, the values where that channel is observed, less their mean; the lag-``k`` products of
every path are summed and divided by the summed squares (so long paths weigh more), and the
channels' autocorrelations are averaged. Times should be close to regular for this to mean a
time lag.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_int
from .series import TimeSeries

#: The autocorrelation level that ends a series' memory: 1/e, the fall over one relaxation time
#: of an Ornstein-Uhlenbeck process.
MEMORY_LEVEL = math.exp(-1)


def autocorrelation(series: TimeSeries, lags: int) -> np.ndarray | None:
    """The autocorrelation of ``series`` at lags ``1..lags`` (in observations), pooled over its
    paths and averaged over its channels (see the module's text).

    Returns:
        (lags,) float64, NaN at a lag no path is long enough for; None when no channel varies.
    """
    check_int("lags", lags, 1)
    ys, mask = series.ys.double().numpy(), series.mask.numpy()
    total, channels = np.zeros(lags), 0
    for c in range(ys.shape[2]):
        products, squares = np.zeros(lags), 0.0
        counted = np.zeros(lags, dtype=bool)
        for p in range(ys.shape[1]):
            x = ys[mask[:, p, c], p, c]
            x = x - x.mean() if x.size else x
            squares += float(x @ x)
            for k in range(1, min(lags, x.size - 1) + 1):
                products[k - 1] += float(x[:-k] @ x[k:])
                counted[k - 1] = True
        if squares > 0:
            total += np.where(counted, products / squares, np.nan)
            channels += 1
    return total / channels if channels else None


def memory_length(series: TimeSeries, most: int) -> int:
    """The number of lags, from 1 to ``most``, over which the autocorrelation of ``series``
    stays at or above :data:`MEMORY_LEVEL`: the first lag below it, less one, but at least 1;
    ``most`` when it never falls below or nothing varies."""
    check_int("most", most, 1)
    acf = autocorrelation(series, most)
    if acf is None:
        return most
    below = np.flatnonzero(~(acf >= MEMORY_LEVEL))  # NaN (too short to tell) ends it too
    return most if below.size == 0 else max(int(below[0]), 1)
