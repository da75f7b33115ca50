"""Forecasts from a fitted model: :func:`forecast` continues a series past its last observation,
and :class:`Forecast` holds the sample paths with their summaries (mean, standard deviation,
quantiles) as arrays, rows, a CSV file or a DataFrame. Every forecast of the package comes from
here: :meth:`neuralsde.Forecaster.predict`, a run's holdout forecast and ``forecast.csv``, and
:func:`neuralsde.load_run`'s.

Panels: a :class:`Forecast` is the forecast of one sample path (group). For a series with one
path :func:`forecast` returns a :class:`Forecast` (``group`` None); for a panel it returns a
:class:`PanelForecast`, a read-only mapping from group label to :class:`Forecast` in the
series' group order, whose ``to_rows``, ``to_csv`` and ``to_pandas`` give one block of rows per
group, each row with its ``group``.

How a forecast starts (as the holdout forecast of a run does): from each path's last
observation, a channel missing there at its last observed value; latent channels from the
model's encoder over the path's last ``model.lags`` observation times, or zeros for a model
without one. Times continue on a dated series' calendar where its dates follow one (month
ends stay month ends, quarter ends stay quarter ends, ...: :mod:`neuralsde.data.calendar`),
otherwise at the series' median spacing. pandas is needed by :meth:`Forecast.to_pandas`, by
those calendar times (without it, the median spacing applies) and by a ``step`` given as an
offset alias. The result types live in :mod:`neuralsde.forecast_result`.
"""

from __future__ import annotations

import numpy as np
import torch

from ._checks import check_int, check_positive, is_int, preview
from .data import Scaling, TimeSeries
from .data.calendar import OFFSET_EXAMPLES, calendar_times, offset_times
from .forecast_result import QUANTILE_LEVELS, Forecast, PanelForecast
from .solvers import SolveConfig
from .train import sample
from .train.objectives import state_dim_of
from .train.sampling import model_dtype_device

__all__ = ["QUANTILE_LEVELS", "Forecast", "PanelForecast", "forecast"]


# ----------------------------------------------------------------------------- forecasting

def forecast(model, series: TimeSeries, horizon: int | None, *, samples: int = 100,
             seed: int = 0, scaling: Scaling | None = None,
             solve_config: SolveConfig | None = None, step: float | str | None = None,
             times=None) -> Forecast | PanelForecast:
    """Forecast ``horizon`` steps past the last observation of ``series``.

    Each path (group) starts from its last observation time, with a channel missing there at
    its last observed value (a channel the path never observes at the scaling's level, or 0
    without a scaling); latent channels come from the model's encoder over the path's last
    ``model.lags`` observation times (scaled; padded as missing when there are fewer), or are
    zeros for a model without an encoder. The paths are drawn by
    :func:`neuralsde.train.sample` from that time.

    Args:
        model: the fitted model.
        series: the data, in data units.
        horizon: the number of forecast times, an integer >= 1 (may be None with ``times``).
        samples: the number of sample paths, >= 1.
        seed: seeds the Brownian paths, an integer >= 0; group ``p`` of a panel uses
            ``seed + p``, so groups get independent noise.
        scaling: the scaling stored with the model (None: the model works in data units).
        solve_config: how to solve (default :class:`SolveConfig`).
        step: the spacing of the forecast times: a number > 0 (data time units: days for
            dated data), or for dated data a pandas offset alias such as ``"MS"``, ``"ME"``,
            ``"QE"``, ``"YS"``, ``"W"``, ``"D"``, ``"h"`` (the offset's dates after the last
            time; :func:`neuralsde.data.calendar.offset_times`). Default: dated data whose
            dates follow a monthly, quarterly or yearly calendar continue on it
            (:func:`neuralsde.data.calendar.calendar_times`); other data at the median
            spacing of ``series.ts``.
        times: explicit forecast times instead (data time units, strictly increasing, after
            the last time of the series); then ``step`` must be None.

    Returns:
        A :class:`Forecast` for a series with one path, a :class:`PanelForecast` for a panel.

    Raises:
        ValueError: for a bad ``horizon``, ``step``, ``samples`` or ``times`` (naming it), a
            scaling of other channels, or a path with no observation.
        SolverError: when the solver fails on the model (a diverged model).
    """
    if not isinstance(series, TimeSeries):
        raise TypeError(f"series must be a TimeSeries, but got {type(series).__name__}.")
    future = _future_times(series, horizon, step, times)
    check_int("samples", samples, 1)
    check_int("seed", seed, 0)
    if scaling is not None and scaling.dim != series.dim:
        raise ValueError(f"scaling has {scaling.dim} channel(s) but series has {series.dim}.")
    n_latent = state_dim_of(model, series) - series.dim
    scaled = series if scaling is None else scaling.transform(series)
    panel = series.n_paths > 1
    out = []
    for p, group in enumerate(series.groups):
        t0, last = _last_observation(series, p, scaling)
        y0 = torch.cat([last, _latent_start(model, scaled, p, n_latent,
                                            _jump(scaling, last, t0))])
        paths = sample(model, y0, future, samples, solve_config=solve_config, seed=seed + p,
                       t0=t0, scaling=scaling)
        out.append(Forecast(future.numpy(), paths[..., :series.dim].numpy(), series.names,
                            series.time_origin, group if panel else None))
    return PanelForecast(out) if panel else out[0]


def _future_times(series: TimeSeries, horizon, step, times) -> torch.Tensor:
    """The forecast times (K,), float64, checked (see :func:`forecast`).

    Without ``step`` and ``times``: dated times on a calendar (monthly, quarterly, yearly, ...)
    continue on it (:func:`neuralsde.data.calendar.calendar_times`), other times at the median
    spacing. A string ``step`` is a pandas offset alias for dated times
    (:func:`neuralsde.data.calendar.offset_times`), a number a fixed step.
    """
    last = float(series.ts[-1])
    if times is not None:
        if step is not None:
            raise ValueError("give step or times, not both: times fixes every forecast time.")
        try:
            future = torch.as_tensor(np.asarray(times, dtype=np.float64))
        except (TypeError, ValueError):
            raise ValueError(f"times={preview(times)} is not supported; expected a sequence of "
                             "numbers (data time units).") from None
        problem = None
        if future.ndim != 1 or len(future) < 1:
            problem = f"has shape {tuple(future.shape)}, not (K,) with K >= 1"
        elif not torch.isfinite(future).all():
            problem = "holds NaN or infinite times"
        elif (future[1:] <= future[:-1]).any():
            i = int(torch.nonzero(future[1:] <= future[:-1])[0, 0])
            problem = f"is not strictly increasing at times[{i + 1}]={float(future[i + 1])!r}"
        elif float(future[0]) <= last:
            problem = f"starts at {float(future[0])!r}, not after the last time"
        if problem is not None:
            raise ValueError(f"times={preview(times)} {problem}; expected finite, strictly "
                             f"increasing times after the last time {last!r}.")
        if horizon is not None and (not is_int(horizon) or horizon != len(future)):
            raise ValueError(f"horizon={horizon!r} disagrees with the {len(future)} times; give "
                             "horizon=None or len(times).")
        return future
    check_int("horizon", horizon, 1)
    if isinstance(step, str):
        return torch.from_numpy(offset_times(series, horizon, step))
    if step is None:
        if series.n_points < 2:
            raise ValueError("a series with one time point has no spacing; give step.")
        on_calendar = calendar_times(series, horizon)
        if on_calendar is not None:
            return torch.from_numpy(on_calendar)
        step = float(np.median(np.diff(series.ts.numpy())))
    else:
        try:
            check_positive("step", step)
        except ValueError:
            raise ValueError(f"step={step!r} is not supported; expected a finite number > 0 "
                             "(data time units: days for dated data), a pandas offset alias "
                             f"for dated data ({OFFSET_EXAMPLES}), or None.") from None
    return last + float(step) * torch.arange(1, horizon + 1, dtype=torch.float64)


def _last_observation(series: TimeSeries, p: int, scaling: Scaling | None
                      ) -> tuple[float, torch.Tensor]:
    """Path ``p``'s last observation time and the state (d,) there, in data units."""
    mask = series.mask[:, p, :]  # (T, d)
    seen = torch.nonzero(mask.any(dim=1)).flatten()
    if len(seen) == 0:
        raise ValueError(f"group {series.groups[p]!r} has no observation to forecast from.")
    k = int(seen[-1])
    t0 = float(series.ts[k])
    y = torch.zeros(series.dim, dtype=torch.float64)
    if scaling is not None:  # the scaling's level: for a channel the path never observes
        y = scaling.inverse_y(y, torch.tensor(t0, dtype=torch.float64))
    for c in range(series.dim):
        rows = torch.nonzero(mask[: k + 1, c]).flatten()
        if len(rows):
            y[c] = series.ys[int(rows[-1]), p, c]
    return t0, y


def _jump(scaling: Scaling | None, last: torch.Tensor, t0: float) -> torch.Tensor | None:
    """How far a forecast's start moves in training units when measured against the trend line
    just after ``t0`` (a trend scaling's jump at the data's end), or None."""
    if scaling is None or not scaling.y_trend_jump:
        return None
    t = torch.tensor(t0, dtype=torch.float64)
    return scaling.transform_y(last, t, after=True) - scaling.transform_y(last, t)


def _latent_start(model, scaled: TimeSeries, p: int, n_latent: int,
                  jump: torch.Tensor | None = None) -> torch.Tensor:
    """The latent channels (n_latent,) at path ``p``'s last observation: the encoder's output
    over its last ``model.lags`` observation times (as training's windows read them), or
    zeros for a model without an encoder. ``jump`` (d,) moves the observed lags as the start
    moves (:func:`_jump`), so that the encoder reads them against the same line as the start."""
    if n_latent == 0 or getattr(model, "encoder", None) is None:
        return torch.zeros(n_latent, dtype=torch.float64)
    lags = model.lags
    mask = scaled.mask[:, p, :]
    rows = torch.nonzero(mask.any(dim=1)).flatten()[-lags:]
    values = torch.zeros(lags, scaled.dim, dtype=torch.float64)
    lag_mask = torch.zeros(lags, scaled.dim, dtype=torch.bool)
    values[lags - len(rows):] = torch.nan_to_num(scaled.ys[rows, p, :])
    lag_mask[lags - len(rows):] = mask[rows]
    if jump is not None:
        values = torch.where(lag_mask, values + jump, values)
    dtype, device = model_dtype_device(model)
    with torch.no_grad():
        latent = model.latent_start(values[None].to(dtype=dtype, device=device),
                                    lag_mask[None].to(device))
    return latent[0].to(device="cpu", dtype=torch.float64)
