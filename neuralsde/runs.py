"""Run folders of ``python -m neuralsde.fit`` read back: :func:`load_run` gives a :class:`Run`
with the run's model, scaling, settings and data, whose ``forecast`` continues the whole series
and whose ``forecaster`` is the run's fit as a :class:`neuralsde.Forecaster`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from .data import Scaling, TimeSeries, load_csv, reference_dataset
from .forecast_result import Forecast, PanelForecast
from .forecaster import Forecaster
from .forecasting import forecast
from .run_files import RUN_FORMAT, holdout_split
from .solvers import SolveConfig
from .train import load_model

__all__ = ["Run", "load_run"]


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
        scaling and solver (a model trained on the training part only when the run had a
        holdout); see :func:`forecast`. ``samples`` defaults to the run's
        ``--samples``; the same arguments give the same numbers."""
        if samples is None:
            samples = self.settings.get("samples", 100)
        return forecast(self.model, self.series, horizon, samples=samples, seed=seed,
                        scaling=self.scaling, solve_config=self.solve_config, step=step,
                        times=times)


    @property
    def forecaster(self):
        """The run's fit as a fitted :class:`neuralsde.Forecaster`: its model, scaling and
        settings, with the training part (``series.head(n_train)``) as its data, so that
        ``load_run(folder).forecaster.predict(h)`` continues from where the run's holdout
        forecast starts, with the same numbers for the same seed. Only runs of a user's series
        (the windows and transition objectives) have one."""
        if self.settings.get("objective") == "start":
            raise ValueError(f"{self.folder}: a run of the reference workflow (the start "
                             "objective) has no Forecaster; use Run.forecast.")
        if (self.folder / "forecaster.pt").is_file():  # an automatic configuration's mixture
            return Forecaster.load(self.folder / "forecaster.pt")
        return Forecaster.from_parts(self.settings, self.settings, self.model, self.scaling,
                                     self.series.head(self.n_train))


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
