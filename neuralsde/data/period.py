"""The dominant period of a series: the highest peak of its periodogram, for ``--period auto``.

A seasonal or cyclic series (a yearly cycle in monthly data, the lynx's ten-year cycle) needs
its period as a setting of the model (:class:`neuralsde.NeuralDSDE`'s ``period``). Where the user
does not know it, it can be read off the data: each observed path and channel, on its log with
``log=True``, has its least-squares line removed (a trend would otherwise dominate the lowest
frequencies), missing values filled linearly between their neighbours, and is zero-padded to
``pad`` times its length so the frequency grid is fine; the periodograms, each scaled by its
total power so that every path and channel counts once, are summed, and the period of the highest
peak between two observation intervals and half the span is returned, in the data's time units
(index steps times the median spacing, so the times must be close to regular).
"""

from __future__ import annotations

import numpy as np

from .series import TimeSeries

#: Times are close enough to regular when every interval is within this fraction of the median.
SPACING_TOLERANCE = 0.1
#: The fewest time points a period can be read from.
MIN_POINTS = 8


#: A year and a day, in days: the season that dated data's spacing implies.
YEAR_DAYS, DAY = 365.25, 1.0


def season_from_dates(series: TimeSeries) -> float | None:
    """The season the timestamps imply, in days (``period="dates"``): a year for weekly to
    quarterly dates (a median spacing of 6 to 100 days), a day for sub-daily ones (under a
    day); None for daily or yearly dates and for numeric times, which imply no season."""
    if series.time_origin is None or series.n_points < 2:
        return None
    spacing = float(np.median(np.diff(series.ts.numpy())))
    if 6.0 <= spacing <= 100.0:
        return YEAR_DAYS
    return DAY if spacing < 1.0 else None


def dominant_period(series: TimeSeries, *, log: bool = False, pad: int = 8) -> float:
    """The period, in the data's time units, of the highest periodogram peak of ``series``.

    Args:
        series: the data (its training part, so that nothing is read from held-out values).
        log: take the log of the values first (for the log scalings; values must be > 0).
        pad: zero-padding factor of the Fourier transform, an integer >= 1.

    Returns:
        The period, between 2 and ``T / 2`` observation intervals times the median spacing.

    Raises:
        ValueError: fewer than :data:`MIN_POINTS` time points, intervals further than
            :data:`SPACING_TOLERANCE` from the median, non-positive values with ``log``, or no
            path and channel with a spread.
    """
    if isinstance(pad, bool) or not isinstance(pad, int) or pad < 1:
        raise ValueError(f"pad={pad!r} is not supported; expected an integer >= 1.")
    ts = series.ts.double().numpy()
    if ts.size < MIN_POINTS:
        raise ValueError(f"a period needs at least {MIN_POINTS} time points to be read off the "
                         f"data; {series.source} has {ts.size}.")
    steps = np.diff(ts)
    spacing = float(np.median(steps))
    if np.max(np.abs(steps - spacing)) > SPACING_TOLERANCE * spacing:
        raise ValueError(f"a period is read off close to regular times; the intervals of "
                         f"{series.source} range from {steps.min():g} to {steps.max():g} around "
                         f"a median of {spacing:g}. Give the period as a number.")
    ys, mask = series.ys.double().numpy(), series.mask.numpy()
    if log:
        if np.any(ys[mask] <= 0):
            raise ValueError(f"{series.source} has values <= 0, which have no log; a period "
                             "read on the log scale needs positive values.")
        ys = np.where(mask, np.log(np.where(mask, ys, 1.0)), np.nan)
    from scipy import signal  # here: importing scipy.signal takes a while

    n = ts.size
    index = np.arange(n, dtype=float)
    power = np.zeros(pad * n // 2 + 1)
    for p in range(ys.shape[1]):
        for c in range(ys.shape[2]):
            seen = mask[:, p, c]
            if seen.sum() < MIN_POINTS:
                continue
            x = np.interp(index, index[seen], ys[seen, p, c])
            size = max(float(np.abs(x).max()), 1e-300)
            x = signal.detrend(x, type="linear")  # less its least-squares line
            if float(np.abs(x).max()) <= 1e-9 * size:  # a line, up to rounding: no cycle
                continue
            # |DFT|^2 at k / (pad * n), k = 0 .. pad * n / 2 (two-sided: no doubling of bins)
            spectrum = signal.periodogram(x, nfft=pad * n, window="boxcar", detrend=False,
                                          return_onesided=False, scaling="spectrum")[1]
            spectrum = spectrum[:power.size]
            power += spectrum / spectrum[1:].sum()  # > 0: x is not constant
    if not power.any():
        raise ValueError(f"{series.source} has no path and channel with {MIN_POINTS} or more "
                         "observations that vary; no period can be read off it.")
    frequencies = np.arange(power.size) / (pad * n)  # cycles per observation interval
    allowed = (frequencies >= 2.0 / n) & (frequencies <= 0.5)
    k = int(np.flatnonzero(allowed)[np.argmax(power[allowed])])
    return spacing / float(frequencies[k])
