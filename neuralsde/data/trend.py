"""The line the trend scalings remove: its least-squares fit to one channel, the slope that
forecasts carry on past the data, and how uncertain that slope is.

The data's span is cut into :data:`TREND_SEGMENTS` consecutive stretches of equal duration and
each gets its own least-squares slope. Past the last observation the line goes on with the last
stretch's slope (the most recent rate of change, so that a series whose rise accelerates, such as
CO₂, is followed), and the slope error of a forecast is the root mean square of the changes of
slope from one stretch to the next: how far a slope carried on for one stretch's duration was off
along the data. (Were the slope a random walk, this is exactly the standard deviation of the
error of the last stretch's slope carried on for one stretch.)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: The trend scalings measure the slope on this many stretches of the data.
TREND_SEGMENTS = 4


@dataclass(frozen=True)
class Line:
    """One channel's trend: ``shift + slope x`` up to ``x_end``, then ``slope_end`` on from
    there (continuously); ``scale`` is the residuals' standard deviation about it and
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
    changes = torch.tensor(stretches, dtype=torch.float64).diff()
    return Line(shift, slope, scale, stretches[-1], float(changes.square().mean().sqrt()))


def stretch_slopes(x: torch.Tensor, values: torch.Tensor, span: float) -> list[float] | None:
    """The least-squares slopes of the observations ``(x, values)`` on :data:`TREND_SEGMENTS`
    consecutive stretches of ``span / TREND_SEGMENTS`` each, from the first time on; None when
    a stretch has fewer than 3 observations or no time spread."""
    if span <= 0 or values.numel() < 3 * TREND_SEGMENTS:
        return None
    start = float(x.min())
    piece = ((x - start) / span * TREND_SEGMENTS).floor().clamp(max=TREND_SEGMENTS - 1)
    slopes = []
    for k in range(TREND_SEGMENTS):
        xs, vs = x[piece == k], values[piece == k]
        if xs.numel() < 3 or float(xs.max() - xs.min()) == 0:
            return None
        slopes.append(ls_slope(xs, vs))
    return slopes


def ls_slope(x: torch.Tensor, values: torch.Tensor) -> float:
    """The least-squares slope of ``values`` on ``x`` (at least two distinct ``x``)."""
    xc = x - x.mean()
    return float((xc * (values - values.mean())).sum() / xc.square().sum())
