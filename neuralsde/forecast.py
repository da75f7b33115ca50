"""Forecasts from a fitted model: :func:`forecast` continues a series past its last observation,
:func:`load_run` reads a run folder of ``python -m neuralsde.fit`` back so that its model can
forecast, and :class:`Forecast` holds the sample paths with their summaries (mean, standard
deviation, quantiles) as arrays, rows, a CSV file or a DataFrame.

Panels: a :class:`Forecast` is the forecast of one sample path (group). For a series with one
path :func:`forecast` returns a :class:`Forecast` (``group`` None); for a panel it returns a
:class:`PanelForecast`, a read-only mapping from group label to :class:`Forecast` in the
series' group order, whose ``to_rows``, ``to_csv`` and ``to_pandas`` give one block of rows per
group, each row with its ``group``.

How a forecast starts (as the holdout forecast of a run does): from each path's last
observation, a channel missing there at its last observed value; latent channels from the
model's encoder over the path's last ``model.lags`` observation times, or zeros for a model
without one. Times continue at the series' median spacing. pandas is needed only by
:meth:`Forecast.to_pandas`. The result types live in :mod:`neuralsde.forecast_result`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ._checks import check_int, check_positive, is_int
from .data import Scaling, TimeSeries, load_csv, reference_dataset
from .forecast_result import QUANTILE_LEVELS, Forecast, PanelForecast
from .run_files import RUN_FORMAT, holdout_split
from .solve import SolveConfig
from .train import load_model, sample
from .train.objectives import state_dim_of
from .train.sampling import model_dtype_device

__all__ = ["QUANTILE_LEVELS", "Forecast", "PanelForecast", "Run", "forecast", "load_run"]


# ----------------------------------------------------------------------------- forecasting

def forecast(model, series: TimeSeries, horizon: int | None, *, samples: int = 100,
             seed: int = 0, scaling: Scaling | None = None,
             solve_config: SolveConfig | None = None, step: float | None = None,
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
        step: the spacing of the forecast times, > 0 (data time units: days for dated
            data); default the median spacing of ``series.ts``.
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
        y0 = torch.cat([last, _latent_start(model, scaled, p, n_latent)])
        paths = sample(model, y0, future, samples, solve_config=solve_config, seed=seed + p,
                       t0=t0, scaling=scaling)
        out.append(Forecast(future.numpy(), paths[..., :series.dim].numpy(), series.names,
                            series.time_origin, group if panel else None))
    return PanelForecast(out) if panel else out[0]


def _future_times(series: TimeSeries, horizon, step, times) -> torch.Tensor:
    """The forecast times (K,), float64, checked (see :func:`forecast`)."""
    last = float(series.ts[-1])
    if times is not None:
        if step is not None:
            raise ValueError("give step or times, not both: times fixes every forecast time.")
        future = torch.as_tensor(np.asarray(times, dtype=np.float64))
        if future.ndim != 1 or len(future) < 1 or not torch.isfinite(future).all() \
                or (future[1:] <= future[:-1]).any() or float(future[0]) <= last:
            raise ValueError(f"times={np.asarray(times).tolist()!r} is not supported; expected "
                             f"finite, strictly increasing times after the last time {last!r}.")
        if horizon is not None and (not is_int(horizon) or horizon != len(future)):
            raise ValueError(f"horizon={horizon!r} disagrees with the {len(future)} times; give "
                             "horizon=None or len(times).")
        return future
    check_int("horizon", horizon, 1)
    if step is None:
        if series.n_points < 2:
            raise ValueError("a series with one time point has no spacing; give step.")
        step = float(np.median(np.diff(series.ts.numpy())))
    else:
        check_positive("step", step)
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


def _latent_start(model, scaled: TimeSeries, p: int, n_latent: int) -> torch.Tensor:
    """The latent channels (n_latent,) at path ``p``'s last observation: the encoder's output
    over its last ``model.lags`` observation times (as training's windows read them), or
    zeros for a model without an encoder."""
    if n_latent == 0 or getattr(model, "encoder", None) is None:
        return torch.zeros(n_latent, dtype=torch.float64)
    lags = model.lags
    mask = scaled.mask[:, p, :]
    rows = torch.nonzero(mask.any(dim=1)).flatten()[-lags:]
    values = torch.zeros(lags, scaled.dim, dtype=torch.float64)
    lag_mask = torch.zeros(lags, scaled.dim, dtype=torch.bool)
    values[lags - len(rows):] = torch.nan_to_num(scaled.ys[rows, p, :])
    lag_mask[lags - len(rows):] = mask[rows]
    dtype, device = model_dtype_device(model)
    with torch.no_grad():
        latent = model.latent_start(values[None].to(dtype=dtype, device=device),
                                    lag_mask[None].to(device))
    return latent[0].to(device="cpu", dtype=torch.float64)


# ----------------------------------------------------------------------------- run folders

@dataclass(eq=False)
class Run:
    """A run folder of ``python -m neuralsde.fit``, read back by :func:`load_run`.

    Attributes:
        folder: the run folder.
        model: the fitted model (on the CPU).
        scaling: the scaling it was trained with (None for a model in data units).
        series: the whole data, re-read as the run read it.
        settings: the run's resolved settings (``run.json``).
        solve_config: the run's solver configuration.
        n_train: the number of time points trained on (the rest was held out).
    """

    folder: Path
    model: torch.nn.Module
    scaling: Scaling | None
    series: TimeSeries
    settings: dict
    solve_config: SolveConfig
    n_train: int

    def forecast(self, horizon: int | None, *, samples: int | None = None, seed: int = 0,
                 step: float | None = None, times=None) -> Forecast | PanelForecast:
        """Forecast from the end of the whole series (holdout included) with the run's model,
        scaling and solver; see :func:`forecast`. ``samples`` defaults to the run's
        ``--samples``; the same arguments give the same numbers."""
        if samples is None:
            samples = self.settings.get("samples", 100)
        return forecast(self.model, self.series, horizon, samples=samples, seed=seed,
                        scaling=self.scaling, solve_config=self.solve_config, step=step,
                        times=times)


def load_run(folder) -> Run:
    """Read a run folder back: its model, scaling, settings, solver and data.

    Args:
        folder: a folder written by ``python -m neuralsde.fit`` (``run.json`` and, once
            training has ended, ``model.pt``).

    Returns:
        The :class:`Run`; its data is re-read from the file named in ``run.json`` (the
        built-in reference data for a run without ``--data``).

    Raises:
        ValueError: naming the folder and the problem: no such folder, ``run.json`` or
            ``model.pt`` missing or unreadable, the data file gone or changed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a run folder: no such folder.")
    for name in ("run.json", "model.pt"):
        if not (folder / name).is_file():
            raise ValueError(f"{folder} is not a run folder: {name} is missing (python -m "
                             "neuralsde.fit writes run.json at the start and model.pt when "
                             "training ends).")
    try:
        stored = json.loads((folder / "run.json").read_text())
        if stored.get("format") != RUN_FORMAT:
            raise ValueError(f"its format is not {RUN_FORMAT!r}")
        settings, data_args = dict(stored["settings"]), dict(stored["data_args"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"{folder}: run.json is not a readable neuralsde run file ({err})."
                         ) from None
    model, scaling, extra = load_model(folder / "model.pt")
    try:
        solve_config = SolveConfig(**extra["solve_config"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{folder}: model.pt has no usable solve_config ({err}).") from None
    series = _run_series(folder, data_args, extra.get("names"))
    n_train = extra.get("n_train")
    if n_train is None:
        n_train = holdout_split(series.n_points, settings.get("holdout"))
    return Run(folder, model.eval(), scaling, series, settings, solve_config, int(n_train))


def _run_series(folder: Path, data_args: dict, names) -> TimeSeries:
    """The run's data, re-read from ``data_args`` (the reference data without a file)."""
    path = data_args.get("data")
    if path is None:
        return reference_dataset(0)
    if not Path(path).is_file():
        raise ValueError(f"{folder}: the run's data file {path} is missing (run.json's "
                         "data_args.data).")
    columns = data_args.get("columns")
    if isinstance(columns, str):  # as --columns gives them: "a,b"
        columns = [c.strip() for c in columns.split(",") if c.strip()]
    series = load_csv(path, time_column=data_args.get("time_column"), columns=columns,
                      group_column=data_args.get("group_column"))
    if names is not None and list(series.names) != list(names):
        raise ValueError(f"{folder}: the data file {path} now has channels "
                         f"{list(series.names)}, but the model was fit to {list(names)}.")
    return series
