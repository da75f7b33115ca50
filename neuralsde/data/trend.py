"""The line the trend scalings remove: its least-squares fit to one channel, the slope that
forecasts carry on past the data, and how uncertain that slope is.

The data's span is cut into :data:`TREND_SEGMENTS` consecutive stretches of equal duration and
each gets its own least-squares slope. Two ways of carrying a slope on are tried along the data,
each predicting every stretch's slope from the data before it: the previous stretch's slope (the
most recent rate of change) and the least-squares slope of all the data before the stretch (the
long-run rate). Past the last observation the line goes on with the way whose predictions were
off less (root mean square over the stretches after the first), and the slope error of a
forecast is that root mean square: how far a slope carried on for one stretch's duration was off
along the data.

* A series whose rise accelerates, such as CO₂, is followed by the recent slope. Were the slope
  a random walk, the root mean square of its changes is exactly the standard deviation of the
  error of the last stretch's slope carried on for one stretch.
* A cycle longer than a fraction of a stretch (the lynx's ten years on stretches of 23) makes
  the stretches' slopes swing with its phase; the long-run slope predicts them better, and the
  line does not bend.
* A stretch's slope is also off by its own estimation error, which on a short or noisy series
  can outweigh any real change of slope. So the recent slope past the data is the whole line's
  slope plus ``w`` times the last stretch's departure from it, ``w = tau² / (tau² + se²)``:
  ``se`` is the last stretch's least-squares standard error, and ``tau²`` the variance of the
  real changes of slope, the mean squared change less the part the standard errors explain (at
  least 0). Where the slope really changes (CO₂: ``w`` about 0.99) the line follows the last
  stretch; where the changes are noise (a straight line plus white noise) it keeps the whole
  line's slope.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: The trend scalings measure the slope on this many stretches of the data.
TREND_SEGMENTS = 4


@dataclass(frozen=True)
class Line:
    """One channel's trend: ``shift + slope x`` up to the data's last time, then ``slope_end``
    on from there (continuously); ``scale`` is the residuals' standard deviation about it and
    ``slope_sd`` the slope error of forecasts (see the module docstring)."""

    shift: float
    slope: float
    scale: float
    slope_end: float
    slope_sd: float


def fit_line(x: torch.Tensor, values: torch.Tensor, span: float) -> Line:
    """The trend of the observations ``(x, values)`` (times since the scaling's shift, and
    their values), on a series whose times span ``span``.

    Fewer than two distinct times give a flat line through the mean; a stretch with fewer than 3
    observations (or a single time) gives no bend and no slope error, as there is nothing to
    measure them on. A scale that would be 0 (the values lie on the line) is 1.
    """
    x = x.to(torch.float64)
    values = values.to(torch.float64)
    if values.numel() < 2 or float(x.max() - x.min()) == 0:
        shift = values.mean().item() if values.numel() else 0.0
        slope = 0.0
    else:
        slope = ls_slope(x, values)
        shift = float(values.mean() - slope * x.mean())
    resid = values - shift - slope * x
    scale = resid.square().mean().sqrt().item() if values.numel() else 1.0
    size = values.abs().max().item() if values.numel() else 0.0
    if not scale > 1e-12 * max(size, 1e-300):
        scale = 1.0
    stretches = stretch_slopes(x, values, span)
    if stretches is None:
        return Line(shift, slope, scale, slope, 0.0)
    slopes, errors, before = torch.tensor(stretches, dtype=torch.float64).T
    squared = slopes.diff().square().mean()  # the previous stretch's slope as the prediction
    long_run = (slopes[1:] - before[1:]).square().mean()  # the slope of all the data before
    if long_run <= squared:
        return Line(shift, slope, scale, slope, float(long_run.sqrt()))
    tau2 = float((squared - (errors[1:].square() + errors[:-1].square()).mean()).clamp(min=0))
    se2 = float(errors[-1].square())
    weight = tau2 / (tau2 + se2) if tau2 > 0 else 0.0
    end = slope + weight * (float(slopes[-1]) - slope)
    return Line(shift, slope, scale, end, float(squared.sqrt()))


def stretch_slopes(x: torch.Tensor, values: torch.Tensor,
                   span: float) -> list[tuple[float, float, float]] | None:
    """The least-squares slopes of the observations ``(x, values)`` on :data:`TREND_SEGMENTS`
    consecutive stretches of ``span / TREND_SEGMENTS`` each, from the first time on: per
    stretch ``(slope, se, before)``, its standard error and the least-squares slope of all the
    observations of the stretches before it (NaN for the first); None when a stretch has fewer
    than 3 observations or no time spread."""
    if span <= 0 or values.numel() < 3 * TREND_SEGMENTS:
        return None
    start = float(x.min())
    piece = ((x - start) / span * TREND_SEGMENTS).floor().clamp(max=TREND_SEGMENTS - 1)
    slopes = []
    for k in range(TREND_SEGMENTS):
        xs, vs = x[piece == k], values[piece == k]
        if xs.numel() < 3 or float(xs.max() - xs.min()) == 0:
            return None
        slope = ls_slope(xs, vs)
        xc = xs - xs.mean()
        resid = vs - vs.mean() - slope * xc
        se = float((resid.square().sum() / (xs.numel() - 2) / xc.square().sum()).sqrt())
        earlier = piece < k
        before = ls_slope(x[earlier], values[earlier]) if k else float("nan")
        slopes.append((slope, se, before))
    return slopes


def ls_slope(x: torch.Tensor, values: torch.Tensor) -> float:
    """The least-squares slope of ``values`` on ``x`` (at least two distinct ``x``)."""
    xc = x - x.mean()
    return float((xc * (values - values.mean())).sum() / xc.square().sum())
