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
* The recent slope is the last stretch's line's, so its level goes with it: past the data the
  line starts from the last stretch's own least-squares line at the data's end, shrunk by the
  same ``w`` toward the whole line (a jump of ``w`` times their difference there). The model
  fits the fluctuations about the whole line and lets them die out in a forecast; above an
  accelerating series' whole line at its end (CO₂'s rise is faster there than on average), that
  would pull every forecast back toward a level the series has left.
* Slow fluctuations about the line tilt the stretches too, and a model fitted to them carries
  them into its forecasts by itself. Once a model is fitted, :func:`net_slope_sd` measures how
  much its own simulated paths make the stretches' slopes change and keeps only the data's
  changes in excess of that as the slope error (:func:`neuralsde.data.net_slope_error` applies
  it to a :class:`~neuralsde.data.Scaling`; the CLI does so before it forecasts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

#: The trend scalings measure the slope on this many stretches of the data.
TREND_SEGMENTS = 4


@dataclass(frozen=True)
class Line:
    """One channel's trend: ``shift + slope x`` up to the data's last time, then ``slope_end``
    on from there, ``jump`` above the line's value there; ``scale`` is the residuals' standard
    deviation about it and ``slope_sd`` the slope error of forecasts (see the module
    docstring)."""

    shift: float
    slope: float
    scale: float
    slope_end: float
    slope_sd: float
    jump: float = 0.0


def fit_line(x: torch.Tensor, values: torch.Tensor, span: float,
             x_end: float | None = None) -> Line:
    """The trend of the observations ``(x, values)`` (times since the scaling's shift, and
    their values), on a series whose times span ``span`` and end at ``x_end`` (default the
    last of ``x``).

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
    slopes, errors, _ = torch.tensor(stretches, dtype=torch.float64).T
    squared, long_run = prediction_errors(stretches)
    if long_run <= squared:
        return Line(shift, slope, scale, slope, math.sqrt(long_run))
    tau2 = float((squared - (errors[1:].square() + errors[:-1].square()).mean()).clamp(min=0))
    se2 = float(errors[-1].square())
    weight = tau2 / (tau2 + se2) if tau2 > 0 else 0.0
    end = slope + weight * (float(slopes[-1]) - slope)
    x_end = float(x.max()) if x_end is None else float(x_end)
    last = _piece(x, span) == TREND_SEGMENTS - 1  # the last stretch's own line, at x_end:
    level = float(values[last].mean()) + float(slopes[-1]) * (x_end - float(x[last].mean()))
    jump = weight * (level - shift - slope * x_end)
    return Line(shift, slope, scale, end, math.sqrt(squared), jump)


def _piece(x: torch.Tensor, span: float) -> torch.Tensor:
    """The stretch (0 .. :data:`TREND_SEGMENTS` - 1) of each time of ``x``."""
    start = float(x.min())
    return ((x - start) / span * TREND_SEGMENTS).floor().clamp(max=TREND_SEGMENTS - 1)


def prediction_errors(stretches: list[tuple[float, float, float]]) -> tuple[float, float]:
    """The mean squared errors of the two ways of predicting each stretch's slope after the
    first (:func:`stretch_slopes`' output): the previous stretch's slope (the recent rate) and
    the slope of all the data before the stretch (the long-run rate). :func:`fit_line` carries
    on the recent one where its error is the smaller."""
    slopes, _, before = torch.tensor(stretches, dtype=torch.float64).T
    return (float(slopes.diff().square().mean()),
            float((slopes[1:] - before[1:]).square().mean()))


def net_slope_sd(x: torch.Tensor, values: torch.Tensor, span: float,
                 paths: torch.Tensor) -> float | None:
    """The slope error of :func:`fit_line` ``(x, values, span)`` less the part a model's own
    fluctuations produce, or None where the stretches cannot be measured.

    The stretches' slopes change along the data for two reasons: the trend's rate really
    changes, and the fluctuations about the line tilt each stretch (slow ones a lot). A model
    fitted to those fluctuations brings the second part into its forecasts by itself, so
    counting it in the slope error too would widen the forecast twice for the same thing. Its
    size is measured on ``paths``, the model's own simulations at the times ``x`` (from the
    data's first observation, in the units of ``values``): the same prediction the data chose
    (recent or long-run) is scored on each path's stretches, and the slope error keeps the data's
    mean squared error in excess of the paths' average (a moment estimate of the real changes'
    variance), at least 0.

    Args:
        x: (n,) the observations' times (as :func:`fit_line` takes them).
        values: (n,) their values.
        span: the span of the series' times.
        paths: (S, n) the model's paths at the times ``x``.

    Returns:
        The slope error's standard deviation, per unit of ``x``; None when the data's
        stretches cannot be measured (then :func:`fit_line` gives no slope error at all).
    """
    x = x.to(torch.float64)
    data = stretch_slopes(x, values.to(torch.float64), span)
    if data is None:
        return None
    recent, long_run = prediction_errors(data)
    use_recent = not long_run <= recent  # fit_line's choice, ties included
    own = []
    for path in paths.to(torch.float64):
        stretches = stretch_slopes(x, path, span)
        if stretches is None:  # a path with no spread on a stretch: nothing to subtract
            return None
        errors = prediction_errors(stretches)
        own.append(errors[0] if use_recent else errors[1])
    excess = (recent if use_recent else long_run) - (sum(own) / len(own) if own else 0.0)
    return math.sqrt(max(excess, 0.0))


def stretch_slopes(x: torch.Tensor, values: torch.Tensor,
                   span: float) -> list[tuple[float, float, float]] | None:
    """The least-squares slopes of the observations ``(x, values)`` on :data:`TREND_SEGMENTS`
    consecutive stretches of ``span / TREND_SEGMENTS`` each, from the first time on: per
    stretch ``(slope, se, before)``, its standard error and the least-squares slope of all the
    observations of the stretches before it (NaN for the first); None when a stretch has fewer
    than 3 observations or no time spread."""
    if span <= 0 or values.numel() < 3 * TREND_SEGMENTS:
        return None
    piece = _piece(x, span)
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
