"""One object that fits a neural SDE to a series and forecasts it: :class:`Forecaster`, with the
verbs of statsforecast and sktime (``fit``, ``predict``, ``simulate``, ``cross_validation``). It
owns every default; the command line maps its flags onto it. Model, window length and solver
come from :mod:`neuralsde.train.recipe`, the forecast from :func:`neuralsde.forecasting.forecast`,
as for the command line, so the same settings and seed give the same numbers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch

from ._checks import check_int, sample_seed
from .auto import AUTO, base_settings, fit_auto, mixture, needs_selection, split_samples
from .data import Scaling, TimeSeries
from .forecast_result import Forecast, PanelForecast
from .forecaster_figures import ForecasterFigures
from .forecasting import forecast
from .frames import as_series, paths_frame, summary_frame
from .machine import torch_threads
from .sde import build_model
from .train import fit as train_fit
from .train.recipe import (
    check_objective,
    default_state_dim,
    default_window_length,
    fit_scaling,
    make_configs,
    make_objective,
    model_spec,
    net_scaling,
    resolve_period,
)

__all__ = ["FORECASTER_DEFAULTS", "Forecaster"]

#: The defaults of :class:`Forecaster` (and of ``python -m neuralsde.fit --data``), chosen by
#: measurement on the development series (see ``benchmarks/README.md``).
FORECASTER_DEFAULTS = {
    "objective": "windows", "scaling": "auto", "period": "dates", "state_dim": "auto", "lags": 4,
    "window_length": "auto", "ensemble": 2, "windows": 32, "window_samples": 16,
    "time_grid": 0.125, "iters": 300, "lr": 0.01, "lr_final": 0.1, "method": "euler",
    "tableau": "sriw1", "gradient": "backprop", "rtol": 0.1, "atol": 0.1, "dt": 0.25,
    "samples": 100, "seed": 0, "threads": 1, "jobs": None,
    "dtype": "float32", "device": "cpu", "on_divergence": "restore", "checkpoint_every": 100,
}
#: The reference objective's settings that the recipe reads; a forecaster never changes them.
_FIXED = {"model": "sde", "stage_iters": 300, "curriculum": True, "paths": 16, "loss": "mse"}
_OBJECTIVES = ("windows", "transition")


class Forecaster(ForecasterFigures):
    """A neural SDE forecaster: ``fit`` a series, then ``predict``, ``simulate``,
    ``cross_validation``, ``save`` and ``plot``.

    With the defaults it configures itself (:mod:`neuralsde.auto`): the season from the
    timestamps, and ``scaling``, ``state_dim`` and ``window_length`` chosen by rolling-origin
    validation inside the training data; up to ``ensemble`` candidates within one standard
    error of the best forecast as one mixture. A setting given by hand is used as given.

    Every argument is keyword-only, and each is also a flag of ``python -m neuralsde.fit``
    (``window_length`` is ``--window-length``).

    Args:
        objective: ``"windows"`` (proper scores of short simulations from observed states) or
            ``"transition"`` (the Euler-Maruyama likelihood of consecutive observations: fast,
            biased when the spacing is coarse against the dynamics).
        scaling: how values are normalised for training: ``"auto"`` (chosen by validation
            among standard, log for positive data, and trend, each with the season's profile
            removed where the period is known), ``"standard"``, ``"minmax"``, ``"none"``,
            ``"log"`` (positive data), ``"trend"`` or ``"log-trend"`` (a straight line removed;
            forecasts carry the line on with its slope error), or one of those four with
            ``"-season"`` (a seasonal profile of ``period`` removed too and carried on).
        period: the season in the data's time units (days for dated data: 365.25, a year),
            ``"dates"`` (a year for weekly to quarterly dates, a day for sub-daily ones),
            ``"auto"`` (the training data's highest periodogram peak) or None. Default
            ``"dates"``.
        state_dim: state channels; more than the observed channels adds latent channels, started
            by an encoder over the last ``lags`` observations; ``"auto"``: none or one, by
            validation; None: the observed channels.
        lags: observations the latent channels' encoder reads.
        window_length: observation times each training window simulates; None: a period's
            observations with ``period``, 8 to 32, else the series' memory, 1 to 8; ``"auto"``:
            that or four times as long (at most 32), by validation.
        ensemble: at most how many validated candidates forecast together as an
            equal-weight mixture, taken from those within one standard error of the best
            validation score (fewer when fewer are; 1: the chosen one alone).
        windows: windows per iteration.
        window_samples: sample paths per window.
        time_grid: the windows' grid on calendar-like times (months, quarters), a fraction of
            the spacing; 0: exact times (:class:`~neuralsde.train.windows.WindowConfig`).
        iters: training iterations.
        lr: Adam's learning rate; it decays by a cosine to ``lr * lr_final``.
        lr_final: see ``lr``, in (0, 1].
        method: the solver (``"sri"``, ours; ``"srk"``, ``"euler"``, ``"milstein"`` via torchsde).
        tableau: the SRI tableau (``"sriw1"``, ``"sosri"``).
        gradient: ``"backprop"`` or ``"adjoint"``.
        rtol: relative tolerance of the adaptive solver.
        atol: absolute tolerance of the adaptive solver.
        dt: a fixed step (data time units after scaling) instead of adaptive steps.
        samples: sample paths of a forecast.
        seed: seeds the weights, the training noise and the forecasts' noise.
        threads: torch CPU threads while fitting and forecasting (1 is fastest at these sizes;
            the setting is restored afterwards).
        jobs: processes that share the automatic configuration's fits (no number depends on
            it; never more than 4, or ``ensemble``); None: one per core on Linux, else 1; 1 on
            a GPU.
        dtype: ``"float32"`` or ``"float64"``.
        device: ``"cpu"`` or a CUDA device.
        on_divergence: ``"restore"``, ``"skip"`` or ``"stop"`` (see :func:`neuralsde.train.fit`).
        checkpoint_every: iterations between checkpoints when a checkpoint file is given.
        quiet: no progress bar.

    Attributes (after :meth:`fit`):
        model_: the fitted :class:`~neuralsde.NeuralDSDE`.
        scaling_: the scaling forecasts use (a trend's slope error net of the model's own
            fluctuations).
        series_: the data it was fitted to, in data units.
        settings_: every setting, resolved against the data (window length, period, ...).
        history_: one dict per training iteration.
    """

    def __init__(self, *, objective: str = "windows", scaling: str = "auto",
                 period: float | str | None = "dates", state_dim: int | str | None = "auto",
                 lags: int = 4, window_length: int | str | None = "auto", ensemble: int = 2,
                 windows: int = 32, window_samples: int = 16,
                 time_grid: float = 0.125,
                 iters: int = 300, lr: float = 0.01, lr_final: float = 0.1, method: str = "euler",
                 tableau: str = "sriw1", gradient: str = "backprop", rtol: float = 0.1,
                 atol: float = 0.1, dt: float | None = 0.25, samples: int = 100, seed: int = 0,
                 threads: int = 1, jobs: int | None = None, dtype: str = "float32",
                 device: str = "cpu",
                 on_divergence: str = "restore", checkpoint_every: int = 100,
                 quiet: bool = True):
        params = {k: v for k, v in locals().items() if k in FORECASTER_DEFAULTS}
        if objective not in _OBJECTIVES:
            raise ValueError(f"objective={objective!r} is not supported; expected one of "
                             f"{_OBJECTIVES} (the reference workflow's 'start' objective is "
                             "neuralsde.fit's default without --data).")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype={dtype!r} is not supported; expected 'float32' or "
                             "'float64'.")
        check_int("threads", threads, 1)
        check_int("jobs", jobs, 1, allow_none=True)
        check_int("samples", samples, 1)
        check_int("lags", lags, 1)
        check_int("ensemble", ensemble, 1)
        for name in ("state_dim", "window_length"):
            if params[name] != AUTO:
                check_int(name, params[name], 1, allow_none=True)
        if not (period is None or period in ("auto", "dates") or (
                isinstance(period, (int, float)) and not isinstance(period, bool)
                and math.isfinite(period) and period > 0)):
            raise ValueError(f"period={period!r} is not supported; expected a number > 0 (data "
                             "time units: days for dated data), 'dates', 'auto' or None.")
        self.params = params
        self.quiet = quiet
        make_configs(self._settings())  # refuse bad solver and training settings now
        self.model_, self.members_, self.selection_ = None, [], None

    def _settings(self) -> dict:
        """The recipe's settings: the parameters plus the reference-only ones it reads;
        ``"auto"`` settings as the base candidate's (see :mod:`neuralsde.auto`)."""
        return base_settings({**_FIXED, **self.params})

    def get_params(self) -> dict:
        """The constructor's settings, as a dict (scikit-learn's convention)."""
        return {**self.params, "quiet": self.quiet}

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.params.items() if FORECASTER_DEFAULTS[k] != v}
        inner = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"Forecaster({inner})" + ("" if self.model_ is None else " [fitted]")

    def resolve(self, series: TimeSeries) -> dict:
        """The settings resolved against ``series`` (the training data): the state dimension,
        the period (``"auto"`` read off the data) and the window length; ValueError, naming the
        setting, when they cannot work on it."""
        settings = self._settings()
        settings["state_dim"] = default_state_dim(settings, series)
        if settings["state_dim"] < series.dim:
            raise ValueError(f"state_dim={settings['state_dim']} is smaller than the "
                             f"{series.dim} observed channels of the data.")
        settings["period"] = resolve_period(settings, series)
        settings["window_length"] = default_window_length(settings, series)
        check_objective(settings, series)
        return settings

    def fit(self, data, *, time: str | None = None, columns: Sequence[str] | None = None,
            group: str | None = None, checkpoint_dir=None) -> Forecaster:
        """Fit the model to ``data``.

        Args:
            data: a numpy array ``(T,)`` or ``(T, d)`` (times 0, 1, 2, ...); a pandas Series
                (its index is the time: a DatetimeIndex or numbers); a wide DataFrame (the
                index, or the column ``time``, is the time; every numeric column a channel); a
                long DataFrame with columns ``unique_id``, ``ds``, ``y`` (a panel: several paths
                of one process); or a :class:`~neuralsde.data.TimeSeries`. NaN is missing.
            time: the time column of a DataFrame (default its index, or ``ds``).
            columns: the value columns of a DataFrame (default every numeric one).
            group: the column that labels paths (default ``unique_id`` in a long DataFrame).
            checkpoint_dir: a folder where the automatic configuration keeps every finished
                candidate and member, so that a killed fit, run again, ends as an
                uninterrupted one does.

        Returns:
            The forecaster itself, fitted.

        Raises:
            ValueError: for data or settings that cannot work together (named).
        """
        series = as_series(data, time=time, columns=columns, group=group)
        if needs_selection(self.params):
            fit_auto(self, series, checkpoint_dir)
            return self
        self._train(series, self.resolve(series))
        self.members_, self.selection_ = [self], None
        return self

    def _adopt(self, member: Forecaster) -> None:
        """Take ``member``'s fitted model and attributes as this forecaster's own."""
        for name in ("model_", "series_", "settings_", "solve_config_", "train_config_",
                     "history_", "scaling_", "train_scaling_", "objective_settings_"):
            setattr(self, name, getattr(member, name, None))

    def _train(self, series: TimeSeries, settings: dict, *, history_path=None, callbacks=(),
               checkpoint_path=None, resume: dict | None = None, shard=None, quiet=None,
               init: dict | None = None):
        """Train on ``series`` (data units) with resolved ``settings``; sets the fitted
        attributes and returns :func:`neuralsde.train.fit`'s result. The command line passes
        its history file, checkpoints and signal handling through the keywords."""
        solve_config, train_config = make_configs(settings)
        with torch_threads(self.params["threads"]):
            scaling = fit_scaling(series, settings)
            torch.manual_seed(settings["seed"])
            model = build_model(model_spec(settings, scaling))
            if init is not None:  # a warm start (the automatic configuration's members)
                model.load_state_dict(init)
            model = model.to(dtype=getattr(torch, settings["dtype"]),
                             device=torch.device(settings["device"]))
            objective = make_objective(settings, scaling.transform(series), solve_config,
                                       train_config, shard)
            result = train_fit(model, objective=objective, train_config=train_config,
                               history_path=history_path, callbacks=callbacks,
                               quiet=self.quiet if quiet is None else quiet,
                               checkpoint_path=checkpoint_path,
                               checkpoint_every=settings["checkpoint_every"],
                               on_divergence=settings["on_divergence"], resume=resume,
                               shard=shard)
            model = model.eval()
            self.model_, self.series_, self.settings_ = model, series, settings
            self.solve_config_, self.train_config_ = solve_config, train_config
            self.history_, self.result_ = result.history, result
            self.objective_settings_ = objective.settings()
            self.train_scaling_ = scaling
            self.scaling_ = net_scaling(model, scaling, series, settings["state_dim"],
                                        solve_config, n=self.params["samples"],
                                        seed=sample_seed(self.params["seed"]))
        return result

    def _check_fitted(self) -> None:
        if self.model_ is None:
            raise RuntimeError("this Forecaster is not fitted yet: call fit(data) first.")

    def forecast(self, h: int | None = None, *, data=None, samples: int | None = None,
                 seed: int | None = None, step=None, times=None) -> Forecast | PanelForecast:
        """The forecast as a :class:`~neuralsde.forecasting.Forecast` (sample paths with their
        summaries; a :class:`~neuralsde.forecasting.PanelForecast` for a panel): ``h`` steps past
        the last observation of the fitted data, or of ``data`` (new observations of the same
        channels, the model unchanged). See :func:`neuralsde.forecasting.forecast` for how paths
        start, ``step`` and ``times``. ``samples`` and ``seed`` default to the constructor's
        (the forecast seed is derived from ``seed``, as the command line's is)."""
        self._check_fitted()
        series = self.series_ if data is None else as_series(data)
        if data is not None and list(series.names) != list(self.series_.names):
            raise ValueError(f"data has channels {list(series.names)}, but the model was fitted "
                             f"to {list(self.series_.names)}.")
        samples = self.params["samples"] if samples is None else samples
        seed = sample_seed(self.params["seed"]) if seed is None else seed
        if len(self.members_) > 1:  # an equal-weight mixture, each member its own noise
            shares = split_samples(samples, len(self.members_))
            return mixture([m.forecast(h, data=series, samples=n, seed=seed + i, step=step,
                                       times=times)
                            for i, (m, n) in enumerate(zip(self.members_, shares))])
        with torch_threads(self.params["threads"]):
            return forecast(self.model_, series, h, samples=samples, seed=seed,
                            scaling=self.scaling_, solve_config=self.solve_config_, step=step,
                            times=times)

    def predict(self, h: int, *, level: Sequence[float] | None = (50, 90),
                quantiles: Sequence[float] | None = None, data=None, samples: int | None = None,
                seed: int | None = None, step=None):
        """Forecast ``h`` steps past the end of the data as a DataFrame.

        Args:
            h: the number of forecast times, >= 1.
            level: central prediction intervals, in percent (columns ``lo-90``, ``hi-90``).
            quantiles: quantile levels in (0, 1) (columns ``q-0.1``, ...).
            data: forecast from the end of these observations instead of the fitted data.
            samples: sample paths behind the summaries (default the constructor's).
            seed: the forecast's noise seed (default derived from the constructor's ``seed``).
            step: the spacing of forecast times (see :func:`neuralsde.forecasting.forecast`).

        Returns:
            A pandas DataFrame, one row per time (and path ``unique_id`` for a panel, channel
            ``channel`` for several channels): ``ds`` (Timestamps for dated data), ``mean``,
            ``median``, then the interval and quantile columns, in data units.
        """
        result = self.forecast(h, data=data, samples=samples, seed=seed, step=step)
        return summary_frame(result, level=level, quantiles=quantiles)

    def simulate(self, h: int, n_paths: int = 100, *, data=None, seed: int | None = None,
                 step=None):
        """Sample paths ``h`` steps past the end of the data, as a long DataFrame with columns
        ``[unique_id,] sample_id, ds`` and one column per channel (data units)."""
        result = self.forecast(h, data=data, samples=n_paths, seed=seed, step=step)
        return paths_frame(result, dated=self.series_.time_origin is not None)

    def cross_validation(self, data, h: int, n_windows: int = 3, step: int | None = None, *,
                         level: Sequence[float] = (50, 90), refit: bool = True):
        """Rolling-origin forecasts of ``data``, each made only from the data before its origin,
        scored against what followed.

        The ``n_windows`` origins are ``step`` observation times apart (default ``h``: the test
        windows tile the end of the data); the last test window ends at the last observation.
        With ``refit`` (default) a fresh forecaster with these settings is fitted at every
        origin; else this fitted model forecasts from each origin.

        Returns:
            A DataFrame with a row per origin and time (and path, channel): ``cutoff`` (the
            origin's time), ``ds``, ``y`` (the truth), ``mean``, ``median``, the interval
            columns, ``crps`` (the ensemble's CRPS at that entry), ``inside-50``,
            ``inside-90`` (is ``y`` inside the band) and ``config`` (the members of the
            automatic configuration's mixture, or ``"given"``).
        """
        from .validation import rolling_origin

        return rolling_origin(self, data, h, n_windows, step, level=level, refit=refit)

    def save(self, path) -> Path:
        """Write the fitted forecaster to ``path`` (atomically): settings, weights, scalings and
        the data it was fitted to, so that :meth:`load` forecasts the same numbers."""
        from .forecaster_file import write_forecaster

        self._check_fitted()
        return write_forecaster(path, self)

    @classmethod
    def load(cls, path) -> Forecaster:
        """Read what :meth:`save` wrote; ValueError naming the file when it is not one."""
        from .forecaster_file import read_forecaster

        return cls._from_file_parts(read_forecaster(path))

    @classmethod
    def _from_file_parts(cls, parts: dict) -> Forecaster:
        members = [cls._from_file_parts(m) for m in parts.pop("members", None) or []]
        selection = parts.pop("selection", None)
        self = cls.from_parts(parts.pop("params"), parts.pop("settings"), parts.pop("model"),
                              parts.pop("scaling"), parts.pop("series"), **parts)
        self.members_, self.selection_ = members or [self], selection
        return self

    @classmethod
    def from_parts(cls, params: dict, settings: dict, model, scaling: Scaling,
                   series: TimeSeries, *, train_scaling: Scaling | None = None,
                   history: list | None = None) -> Forecaster:
        """A fitted forecaster from a trained ``model``, its forecast ``scaling`` and the
        ``series`` it was fitted to (how :func:`neuralsde.load_run` rebuilds a run's)."""
        known = {k: v for k, v in params.items() if k in FORECASTER_DEFAULTS or k == "quiet"}
        self = cls(**known)
        self.model_, self.scaling_, self.series_ = model, scaling, series
        self.members_ = [self]
        self.settings_ = {**self._settings(), **{k: settings[k] for k in settings
                                                 if k in self._settings()}}
        self.solve_config_, self.train_config_ = make_configs(self.settings_)
        self.train_scaling_ = train_scaling or scaling
        self.history_ = history or []
        return self

    def summary(self) -> dict:
        """What was fitted: the resolved settings (the best member's), the automatic
        configuration's candidates with their validation scores and the mixture's members
        (``selection``), the model spec, iterations and final loss."""
        self._check_fitted()
        losses = [r["loss"] for r in self.history_ if not r.get("event")]
        return {"settings": dict(self.settings_), "selection": self.selection_,
                "model_spec": dict(self.model_.spec),
                "solve_config": asdict(self.solve_config_), "iterations": len(self.history_),
                "final_loss": losses[-1] if losses else None,
                "data": {"n_points": self.series_.n_points, "n_paths": self.series_.n_paths,
                         "names": list(self.series_.names)}}
