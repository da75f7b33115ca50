"""A trend scaling's forecast slope error, net of what a fitted model's own fluctuations
already bring into its forecasts (:func:`net_slope_error`; the reasoning is in
:mod:`neuralsde.data.trend`)."""

from __future__ import annotations

import dataclasses

import torch

from .scaling import Scaling
from .series import TimeSeries
from .trend import net_slope_sd

__all__ = ["net_slope_error"]


def net_slope_error(scaling: Scaling, series: TimeSeries, paths) -> Scaling:
    """``scaling`` with each channel's ``y_trend_sd`` reduced to the stretches' slope changes
    that a model's own paths do not produce (:func:`neuralsde.data.trend.net_slope_sd`).

    Args:
        scaling: a trend scaling fitted on ``series`` (``Scaling.fit(series, "trend")``, or
            ``"log-trend"``).
        series: the data it was fitted on, a single path (a panel's stretches pool its paths,
            which one simulated path does not mirror).
        paths: (S, T, d) the model run freely from the series' first observation at its ``T``
            times, in data units (what :func:`neuralsde.train.sample` returns with
            ``scaling``); S >= 1.

    Returns:
        The scaling with the net slope errors; ``scaling`` itself where there is nothing to net:
        no slope error, a panel, or paths that are not all finite (a diverged model). A
        channel whose stretches cannot be measured keeps its slope error (0).

    Raises:
        ValueError: if ``paths`` does not have shape (S, T, d).
    """
    if not isinstance(series, TimeSeries):
        raise TypeError(f"series must be a TimeSeries, but got {type(series).__name__}.")
    paths = torch.as_tensor(paths, dtype=torch.float64)
    shape = (series.n_points, series.dim)
    if paths.dim() != 3 or tuple(paths.shape[1:]) != shape or paths.shape[0] < 1:
        raise ValueError(f"paths has shape {tuple(paths.shape)}; expected (S, {shape[0]}, "
                         f"{shape[1]}) with S >= 1: the model's paths at the series' times.")
    if not any(scaling.y_trend_sd) or series.n_paths != 1 or not torch.isfinite(paths).all():
        return scaling
    values = series.ys[:, 0, :].to(torch.float64)
    if scaling.log:
        if float(paths.min()) <= 0:
            return scaling
        values, paths = torch.log(values), torch.log(paths)
    x = series.ts.to(torch.float64) - scaling.t_shift
    span = float(series.ts[-1] - series.ts[0])
    sds = []
    for j, gross in enumerate(scaling.y_trend_sd):
        seen = series.mask[:, 0, j]
        net = net_slope_sd(x[seen], values[seen, j], span, paths[:, seen, j]) if gross else None
        sds.append(gross if net is None else net)
    return dataclasses.replace(scaling, y_trend_sd=tuple(sds))
