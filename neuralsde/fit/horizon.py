"""``--horizon K``: the forecast past the end of the data, as ``forecast.csv``."""

from __future__ import annotations

from pathlib import Path

from .._checks import sample_seed
from ..data import Scaling, TimeSeries
from ..forecasting import forecast
from ..run_files import holdout_split
from ..solvers import SolveConfig
from .data_checks import check_horizon


def write_forecast(folder: Path, *, model, series: TimeSeries, scaling: Scaling,
                   solve_config: SolveConfig, settings: dict, say, mixture=None) -> Path:
    """Forecast ``settings["horizon"]`` steps past the last observation of the whole series and
    write ``folder/forecast.csv``: one row per time and channel (and group), with mean, standard
    deviation and the 5/25/50/75/95 % quantiles in the data's units, times as the data wrote
    them. With ``--holdout`` the model is the one trained without the held-out part (the line
    printed says so), started from the end of all the data. The paths use the run's sample
    seed, so ``neuralsde.load_run(folder).forecast(K, seed=...)`` with that seed
    (``metrics.json``'s ``sample_seed``) gives the same numbers. An automatically configured
    run forecasts with its ``mixture`` (the fitted :class:`neuralsde.Forecaster`).

    ``--horizon`` and ``--horizon-step`` are checked again first
    (:func:`~neuralsde.fit.data_checks.check_horizon`): a new run checked them before training,
    but ``--resume`` may bring new ones, refused here in one line (exit status 2)."""
    n_train = holdout_split(series.n_points, settings.get("holdout"))
    check_horizon(settings, series, series.head(n_train))
    if mixture is not None:  # an automatic configuration's Forecaster, its mixture
        result = mixture.forecast(settings["horizon"], data=series, samples=settings["samples"],
                                  seed=sample_seed(settings["seed"]),
                                  step=settings.get("horizon_step"))
    else:
        result = forecast(model, series, settings["horizon"], samples=settings["samples"],
                          seed=sample_seed(settings["seed"]), scaling=scaling,
                          solve_config=solve_config, step=settings.get("horizon_step"))
    path = result.to_csv(folder / "forecast.csv")
    model_note = ("" if n_train == series.n_points else
                  f" by the model trained on the first {n_train} of the {series.n_points} time "
                  "points (--holdout); run without --holdout to forecast with a model trained "
                  "on all of them")
    say(f"forecast: {settings['horizon']} steps past the data{model_note} -> {path}")
    return path
