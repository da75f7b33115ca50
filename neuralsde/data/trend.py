"""The line that the ``"trend"`` and ``"log-trend"`` scalings remove: continuous and piecewise
linear, its slope free to change at :data:`TREND_SEGMENTS` - 1 knots, fitted by least squares
together with the season's harmonics when the period is known.

Why piecewise: a forecast continues the line from the end of the data, so its slope must be the
data's recent one. A single line through a series whose rise accelerates (CO₂) is too flat at
the end, and every forecast falls below what follows. The knots are fixed (equal stretches of
time), not searched for, so the fit is one linear least-squares solve.

Why the harmonics: without them a stretch that holds a few periods of a cycle tilts its slope
by the phase the stretch ends in. Fitted beside the line, the season stays out of the slopes;
its harmonics are not removed from the data (the model's seasonal features fit the season).
"""

from __future__ import annotations

import math

import torch

#: The line's slope may change at the boundaries of this many stretches of equal duration, and
#: the forecast's slope uncertainty is the spread of those stretches' slopes.
TREND_SEGMENTS = 4
#: Harmonics of the period fitted beside the line (only those longer than two mean intervals).
TREND_HARMONICS = 3


def trend_knots(t_start: float, t_end: float, period: float | None = None) -> tuple[float, ...]:
    """The knots (data times) of a trend fitted on ``[t_start, t_end]``: the boundaries of
    :data:`TREND_SEGMENTS` stretches of equal duration, fewer where a period is given so that
    every stretch holds at least one whole period (none when the span is under two periods)."""
    span = t_end - t_start
    segments = TREND_SEGMENTS
    if period is not None:
        segments = max(1, min(segments, int(span // period)))
    return tuple(t_start + span * k / segments for k in range(1, segments))


def fit_trend(x: torch.Tensor, values: torch.Tensor, knots: tuple[float, ...],
              period: float | None, spacing: float,
              ) -> tuple[float, float, tuple[float, ...], float, torch.Tensor]:
    """One channel's piecewise line by least squares, with the season's harmonics beside it.

    Args:
        x: (n,) observation times, minus the scaling's ``t_shift`` (data time units).
        values: (n,) the observed values there.
        knots: the knots from :func:`trend_knots`, minus ``t_shift``.
        period: the season's period in data time units, or None.
        spacing: the data's mean interval; harmonics of at most two intervals are left out.

    Returns:
        ``(shift, slope, kinks, spread, residuals)``: the line's value at ``x = 0``, its first
        stretch's slope, its slope change at each knot (``len(knots)`` values), the standard
        deviation (``ddof=1``) of the stretches' slopes (the forecast's slope uncertainty), and
        ``values`` minus the line (n,), float64. A channel with
        fewer than 3 observations on some stretch gets a straight line and spread 0; one with
        fewer than 2 distinct times, its mean and slope 0.
    """
    x = x.to(torch.float64)
    values = values.to(torch.float64)
    flat = tuple(0.0 for _ in knots)
    if values.numel() < 2 or float(x.max() - x.min()) == 0:
        shift = values.mean().item() if values.numel() else 0.0
        return shift, 0.0, flat, 0.0, values - shift
    edges = (-math.inf, *knots, math.inf)
    if any(int(((x >= lo) & (x < hi)).sum()) < 3 for lo, hi in zip(edges, edges[1:])):
        knots = ()
    span = float(x.max() - x.min())
    columns = [torch.ones_like(x), x / span]
    columns += [(x - k).clamp(min=0) / span for k in knots]
    if period is not None:
        for h in range(1, TREND_HARMONICS + 1):
            if period / h > 2 * spacing:
                phase = x * (2 * math.pi * h / period)
                columns += [torch.sin(phase), torch.cos(phase)]
    design = torch.stack(columns, dim=1)
    coef = torch.linalg.lstsq(design, values[:, None], driver="gelsd").solution[:, 0]
    slopes = coef[1:2 + len(knots)] / span
    kinks = tuple(float(v) for v in slopes[1:]) if knots else flat
    spread = float(slopes.cumsum(0).std()) if knots else 0.0
    line = design[:, :2 + len(knots)] @ coef[:2 + len(knots)]
    return float(coef[0]), float(slopes[0]), kinks, spread, values - line
