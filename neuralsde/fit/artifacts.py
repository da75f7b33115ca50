"""What a finished (or stopped) run leaves in its folder: ``samples.npz``, ``fit.png``,
``loss.png``, ``model.pt``, ``metrics.json`` and the summary lines (with a holdout also
``forecast.png`` and ``calibration.png``, from :mod:`~neuralsde.fit.holdout`).
"""

from __future__ import annotations

import csv
import math
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from .._checks import atomic_write, sample_seed, write_bytes_with
from ..data import Scaling, TimeSeries
from ..solvers import SolveConfig, SolverError
from ..train import TrainConfig, initial_state, sample, save_model
from .holdout import (
    calibration_metrics,
    ensemble_scores,
    forecast_scaling,
    group_forecasts,
    write_holdout_figures,
)
from .json_file import write_json
from .predictive import one_step_band

# ----------------------------------------------------------------------------- small pieces

#: ``samples.npz``'s free run from the initial state covers at most this many of the data's
#: times: its cost grows with the times it covers (a solve lands on each), and past a few
#: thousand steps a path from the first observation says nothing the windows do not.
FREE_RUN_POINTS = 20_000


def _finite_mean_mse(mean: np.ndarray, target: np.ndarray) -> float:
    """MSE over the entries where both are finite (NaN if there are none)."""
    ok = np.isfinite(target) & np.isfinite(mean)
    return float(np.mean((mean[ok] - target[ok]) ** 2)) if ok.any() else math.nan


def _refine(times: torch.Tensor, per_interval: int | None = None) -> torch.Tensor:
    """``per_interval`` even sub-steps in every interval of ``times``: a grid for figures that
    holds every time exactly and no near-duplicates. By default 10 for up to 200 times, else
    none (a long series needs no sub-steps to look smooth, and must not cost 10 times more)."""
    if per_interval is None:
        per_interval = 10 if len(times) <= 200 else 1
    if len(times) < 2 or per_interval == 1:
        return times.clone()
    parts = [torch.linspace(float(a), float(b), per_interval + 1, dtype=torch.float64)[:-1]
             for a, b in zip(times[:-1], times[1:])]
    return torch.cat([*parts, times[-1:].to(torch.float64)])


def _history_rows(folder: Path) -> list[dict]:
    """The rows of ``folder/history.csv`` (none if there is no such file)."""
    path = folder / "history.csv"
    if not path.exists():
        return []
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def _observed(series: TimeSeries) -> np.ndarray:
    """(T, P, d) observations with NaN where missing."""
    return series.ys.masked_fill(~series.mask, float("nan")).numpy()


def _path_mean(observed: np.ndarray) -> np.ndarray:
    """(T, d) mean over the observed paths (NaN where none is observed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices stay NaN
        return np.nanmean(observed, axis=1)


# ----------------------------------------------------------------------------- sampling

class _Sampler:
    """Draws the run's ``n`` sample paths in data units with its sample seed. A solver failure (a
    diverged model) gives NaN paths and is recorded in ``errors``, so that the other artifacts
    are still written."""

    def __init__(self, model, n: int, state_dim: int, solve_config: SolveConfig,
                 scaling: Scaling, seed: int, mixture=None):
        self.model, self.n, self.state_dim = model, n, state_dim
        self.solve_config, self.scaling, self.seed = solve_config, scaling, seed
        self.mixture = mixture  # an automatically configured Forecaster: it forecasts
        self.errors: list[str] = []

    def __call__(self, y0: torch.Tensor, times: torch.Tensor, t0: float | None = None):
        """(n, len(times), state_dim) paths from ``y0`` (at ``t0``, default ``times[0]``)."""
        try:
            return sample(self.model, y0, times, self.n, solve_config=self.solve_config,
                          seed=self.seed, t0=t0, scaling=self.scaling).cpu().numpy()
        except SolverError as err:
            self.errors.append(str(err))
            return np.full((self.n, len(times), self.state_dim), np.nan)


@dataclass
class _Sampled:
    """The paths drawn after training and what they score."""

    y0: torch.Tensor  #: (state_dim,) initial state, data units
    arrays: dict  #: the contents of samples.npz
    fine_t: np.ndarray  #: the figure's time grid
    fine_samples: np.ndarray  #: (S, len(fine_t), d) paths on it
    zoom_from: float | None  #: the figure shows the data from this time on (None: all)
    scores: dict  #: path_mean_mse, clean_mse, clean_vs_data_mse
    holdout: dict  #: the HOLDOUT_KEYS scores (empty without a holdout)
    scaling: Scaling  #: the run's scaling, its slope error net of the model's fluctuations


def _forecast(draw: _Sampler, series: TimeSeries, n_train: int):
    """The holdout forecast: :func:`neuralsde.forecasting.forecast` from the end of the training
    part over the held-out times (what ``Forecaster.predict`` and ``load_run(...).forecaster``
    give), a random-walk and a climatology baseline, and their scores.

    A panel's groups each start from their own last training observation and are scored
    against their own held-out values.

    Returns:
        ``(holdout scores, arrays for samples.npz, figure times, figure paths)``; the figure
        continues the training grid after the split (the first group of a panel).
    """
    from ..metrics import climatology_baseline, random_walk_baseline

    d, ts = series.dim, series.ts
    train = series.head(n_train)
    future_t = ts[n_train:]
    future_obs = _observed(series)[n_train:]  # (T_h, P, d)
    groups = group_forecasts(draw, train, future_t)  # (S, T_h, P, d)
    forecast_paths = groups[:, :, 0, :] if series.n_paths == 1 else groups
    # every (path, channel) entry scored against its own group's ensemble
    flat = groups.reshape(groups.shape[0], len(future_t), -1)
    flat_obs = future_obs.reshape(len(future_t), 1, -1)
    train_obs = _observed(train)
    last = _path_mean(train_obs)[-1]  # (d,) the baselines start from the path mean
    for c in range(d):  # a channel missing at the last training time: its last observation
        if not np.isfinite(last[c]):
            column = _path_mean(train_obs)[:, c]
            last[c] = column[np.isfinite(column)][-1]
    baseline = random_walk_baseline(train.ts.numpy(), train_obs, np.isfinite(train_obs),
                                    future_t.numpy(), last, n_samples=draw.n,
                                    seed=draw.seed % (2**32))
    climatology = climatology_baseline(train_obs, np.isfinite(train_obs), len(future_t),
                                       n_samples=draw.n, seed=(draw.seed + 1) % (2**32))
    nan_scores = {"mse": math.nan, "crps": math.nan, "coverage_90": math.nan}
    model_scores = ensemble_scores(flat, flat_obs) if np.isfinite(flat).all() else nan_scores
    base_scores = ensemble_scores(baseline, future_obs)
    clim_scores = ensemble_scores(climatology, future_obs)
    holdout = {}
    for key in ("mse", "crps", "coverage_90"):
        holdout[f"holdout_{key}"] = model_scores[key]
        holdout[f"baseline_holdout_{key}"] = base_scores[key]
        holdout[f"climatology_holdout_{key}"] = clim_scores[key]
    holdout["n_train"] = n_train
    holdout["n_holdout"] = series.n_points - n_train
    holdout.update(calibration_metrics(flat, flat_obs, seed=draw.seed % (2**32)))
    arrays = {"forecast_t": future_t.numpy(), "forecast": forecast_paths, "baseline": baseline}
    fine_f = _refine(ts[n_train - 1:])[1:]
    fine_forecast = group_forecasts(draw, train, fine_f)[:, :, 0, :]
    return holdout, arrays, fine_f.numpy(), fine_forecast


def _draw_samples(draw: _Sampler, series: TimeSeries, n_train: int, scaling: Scaling,
                  band: bool, net_scaling: Scaling | None = None) -> _Sampled:
    """Sample the model freely from the initial state over every time of the data (and, with a
    holdout, forecast from the split), and score the paths against the data. The figure shows
    these paths, or with ``band`` the one-step-ahead band over the last training times."""
    d, ts = series.dim, series.ts
    train = series.head(n_train)
    y0_model = initial_state(scaling.transform(train), draw.state_dim)
    y0_data = y0_model.clone()
    y0_data[:d] = scaling.inverse_y(y0_model[:d], ts[0])
    free_ts = ts[:FREE_RUN_POINTS]  # a very long series: its first FREE_RUN_POINTS times
    free = draw(y0_data, free_ts)  # (S, T, state_dim)
    samples = free[..., :d]
    k = min(n_train, len(free_ts))
    observed = _observed(series)  # (T, P, d)
    target = _path_mean(observed)  # (T, d)
    arrays = {"t": free_ts.numpy(), "samples": samples,
              "observed": observed[:, 0, :] if series.n_paths == 1 else observed,
              "names": np.array(series.names)}
    mean = samples[:, :k].mean(axis=0)
    scores = {"path_mean_mse": _finite_mean_mse(mean, target[:k]),
              "clean_mse": None, "clean_vs_data_mse": None}
    zoom_from = None
    if band:
        fine_t, fine_samples = one_step_band(draw.model, train, scaling, draw.solve_config,
                                             n=draw.n, seed=draw.seed)
        zoom_from = float(fine_t[0])
    else:
        fine = _refine(ts[:n_train])
        fine_samples = draw(y0_data, fine)[..., :d]
        fine_t = fine.numpy()
    draw.scaling = (net_scaling if net_scaling is not None
                    else forecast_scaling(draw, train, free, y0_data, FREE_RUN_POINTS))
    holdout = {}
    if n_train < series.n_points:
        holdout, more, forecast_t, forecast_paths = _forecast(draw, series, n_train)
        arrays.update(more)
        fine_t = np.concatenate([fine_t, forecast_t])
        fine_samples = np.concatenate([fine_samples, forecast_paths], axis=1)
    if series.clean is not None:
        clean = series.clean.numpy()
        scores["clean_mse"] = _finite_mean_mse(mean, clean[:k])
        scores["clean_vs_data_mse"] = _finite_mean_mse(clean[:n_train], target[:n_train])
    return _Sampled(y0_data, arrays, fine_t, fine_samples, zoom_from, scores, holdout,
                    draw.scaling)


# ----------------------------------------------------------------------------- files

def _write_figures(folder: Path, sampled: _Sampled, series: TimeSeries, n_train: int,
                   settings: dict, train_config: TrainConfig, rows: list[dict]) -> None:
    """``fit.png`` (data, sample paths, the split) and, if there are rows, ``loss.png``."""
    from ..plotting import plot_fit, plot_loss, save

    has_holdout = bool(sampled.holdout)
    reference = series.source.startswith("reference")
    time_label = "t = x + 3" if reference else series.time_name
    clean, clean_t = (series.clean.numpy() if series.clean is not None else None), None
    if reference:  # the noise-free function itself, on the figure's fine grid: exp(t - 3)
        clean_t = sampled.fine_t
        clean = np.exp(clean_t - 3.0)[:, None]
    observed, obs_t = sampled.arrays["observed"], series.ts.numpy()
    band = None  # the training points the one-step-ahead band covers; None: free-run paths
    if sampled.zoom_from is not None:  # the last part, with the one-step-ahead band
        keep = obs_t >= sampled.zoom_from - 1e-9 * max(1.0, abs(sampled.zoom_from))
        band = int(keep[:n_train].sum())
        keep[max(0, int(keep.argmax()) - 1)] = True  # and the observation the band starts from
        observed, obs_t = observed[keep], obs_t[keep]
        clean = clean[keep] if clean is not None else None
    title = (("Neural ODE" if settings["model"] == "ode" else "Neural SDE") + " fit"
             + (" (blog configuration)" if settings["blog"] else "") + ": "
             + (f"path-mean MSE {sampled.scores['path_mean_mse']:.3g}" if band is None else
                f"one-step-ahead 5-95 % band over the last {band} training points"))
    if has_holdout:
        title += (("; " if band is None else "\n") + "holdout CRPS "
                  f"{sampled.holdout['holdout_crps']:.3g} (random walk "
                  f"{sampled.holdout['baseline_holdout_crps']:.3g}, climatology "
                  f"{sampled.holdout['climatology_holdout_crps']:.3g})")
    fig = plot_fit(sampled.fine_t, sampled.fine_samples, observed=observed,
                   obs_t=obs_t, clean=clean, clean_t=clean_t,
                   clean_label="exp(x), noise-free" if reference else "noise-free curve",
                   split_time=float(series.ts[n_train - 1]) if has_holdout else None,
                   n_paths_shown=0 if sampled.zoom_from is not None else 5,
                   names=series.names, time_label=time_label,
                   time_origin=series.time_origin, title=title)
    save(fig, folder / "fit.png")
    if has_holdout:
        write_holdout_figures(folder, arrays=sampled.arrays, holdout=sampled.holdout,
                              series=series, n_train=n_train, time_label=time_label)
    if not rows:
        return
    names = {}
    for r in rows:
        names.setdefault(int(r["stage"]), r["stage_name"])
    if settings["objective"] == "windows":
        what = (f"CRPS + energy score, {settings['windows']} windows x "
                f"{settings['window_samples']} samples")
    elif settings["objective"] == "transition":
        what = "Euler-Maruyama negative log-likelihood"
    else:
        what = f"{train_config.loss}, {train_config.paths} path(s) per iteration"
    fig = plot_loss([int(r["iteration"]) for r in rows], [float(r["loss"]) for r in rows],
                    stages=[int(r["stage"]) for r in rows], stage_names=names,
                    title=f"Training loss ({what})",
                    ylabel=f"loss ({what.split(',')[0]}, training units)")
    save(fig, folder / "loss.png")


def _metrics(rows: list[dict], sampled: _Sampled, draw: _Sampler, *, model, series: TimeSeries,
             scaling: Scaling, settings: dict, solve_config: SolveConfig,
             train_config: TrainConfig, result, wall_start: float, argv) -> dict:
    """The contents of ``metrics.json`` (the keys of METRICS_KEYS, and HOLDOUT_KEYS)."""
    good = [float(r["loss"]) for r in rows if not r["event"]]
    return {
        "final_loss": good[-1] if good else None,
        "final_loss_smoothed": float(np.mean(good[-20:])) if good else None,
        **sampled.scores,
        **sampled.holdout,
        "wall_seconds": time.perf_counter() - wall_start,
        "train_seconds": result.wall_seconds if result is not None else None,
        "iterations": len(rows),
        "events": sum(1 for r in rows if r["event"]),
        "restores": sum(1 for r in rows if "restored" in r["event"]),
        "stopped": result.stopped if result is not None else "interrupted",
        "solver": result.solver_totals if result is not None else None,
        "samples": draw.n,
        "sample_seed": draw.seed,
        "sampling_error": draw.errors[0] if draw.errors else None,
        "settings": {**settings, "model_spec": model.spec, "solve_config": asdict(solve_config),
                     "train_config": train_config.to_dict(), "scaling": scaling.to_dict(),
                     "argv": list(argv)},
        "data": {"source": series.source, "n_points": series.n_points, "n_paths": series.n_paths,
                 "names": list(series.names), "time_name": series.time_name},
        "versions": {"neuralsde": __version__, "torch": torch.__version__,
                     "python": platform.python_version()},
    }


def _save_model_file(folder: Path, model, *, scaling: Scaling, sampled: _Sampled,
                     draw: _Sampler, series: TimeSeries, n_train: int,
                     solve_config: SolveConfig, train_config: TrainConfig) -> None:
    """``model.pt``: the weights and what :func:`neuralsde.train.sample` needs to redraw the
    saved samples."""
    save_model(folder / "model.pt", model, scaling=scaling,
               extra={"solve_config": asdict(solve_config), "train_config": train_config.to_dict(),
                      "y0": sampled.y0.tolist(), "sample_seed": draw.seed,
                      "data_source": series.source, "names": list(series.names),
                      "n_train": n_train})


def _summarise(say: Callable[..., None], folder: Path, metrics: dict) -> None:
    """The closing lines: iterations, time and fit; the holdout scores; the files written."""
    clean_vs_data = metrics["clean_vs_data_mse"]
    auto = metrics["settings"].get("selection")
    k = len(auto["members"]) if auto else 0
    what = (f"automatic configuration ({len(auto['candidates'])} candidates, {k} member"
            f"{'s' if k > 1 else ''}; the best member's last " if auto else "")
    say(f"{metrics['stopped']}: {what}{metrics['iterations']} iterations{')' if auto else ''} in "
        f"{metrics['wall_seconds']:.1f} s; path-mean MSE of {metrics['samples']} samples vs data "
        f"{metrics['path_mean_mse']:.4g}" + (f" (the noise-free curve scores {clean_vs_data:.4g})"
                                             if clean_vs_data is not None else ""))
    if "n_holdout" in metrics:
        say("holdout ({} points): model MSE {:.4g}, CRPS {:.4g}, 90% coverage {:.2f}; random walk "
            "MSE {:.4g}, CRPS {:.4g}, coverage {:.2f}; climatology CRPS {:.4g}".format(
                metrics["n_holdout"], metrics["holdout_mse"], metrics["holdout_crps"],
                metrics["holdout_coverage_90"], metrics["baseline_holdout_mse"],
                metrics["baseline_holdout_crps"], metrics["baseline_holdout_coverage_90"],
                metrics["climatology_holdout_crps"]))
    holdout_files = "forecast.png calibration.png " if "n_holdout" in metrics else ""
    say(f"wrote {folder}/: fit.png loss.png {holdout_files}history.csv metrics.json model.pt "
        f"samples.npz run.json {'forecaster.pt selection/' if auto else 'checkpoint.pt'}")


def write_artifacts(folder: Path, *, model, series: TimeSeries, n_train: int, scaling: Scaling,
                    settings: dict, solve_config: SolveConfig, train_config: TrainConfig, result,
                    wall_start: float, argv, say, net_scaling: Scaling | None = None,
                    mixture=None) -> dict:
    """Samples, plots, metrics and the model of a finished (or stopped) run.

    ``samples.npz`` holds ``t`` (T,), ``samples`` (S, T, d): the model run freely from the
    initial state over every time of the data, and ``observed`` ((T, d), or (T, P, d) for a
    panel), all in data units. With a holdout it also holds ``forecast_t``, ``forecast``
    (S, T_holdout, d): paths started from the last training observation, and ``baseline``: the
    random-walk forecast.

    Args:
        folder: the run folder.
        model: the trained model.
        series: all of the data; the first ``n_train`` time points were trained on.
        n_train: number of training time points.
        scaling: the normalisation used for training; the forecasts, ``model.pt`` and
            ``metrics.json`` get it with a trend's slope error net of the model's own
            fluctuations: ``net_scaling`` (the forecaster's), or for the reference objective
            :func:`~neuralsde.fit.holdout.forecast_scaling`.
        settings: the resolved settings (``samples``, ``seed``, ``state_dim``, ``model``...).
        solve_config: the solver configuration of the run.
        train_config: the training configuration of the run.
        result: what :func:`neuralsde.train.fit` returned, or None (rows then come from
            ``history.csv``).
        wall_start: ``time.perf_counter()`` at the start of the run.
        argv: the command line, stored in the metrics.
        say: prints a summary line (or nothing when quiet).
        mixture: the fitted :class:`neuralsde.Forecaster` of an automatic configuration (its
            best member is ``model``): the holdout forecast is its mixture's.

    Returns:
        The metrics written to ``metrics.json``.
    """
    draw = _Sampler(model, settings["samples"], settings["state_dim"], solve_config, scaling,
                    sample_seed(settings["seed"]), mixture)
    sampled = _draw_samples(draw, series, n_train, scaling, settings["objective"] != "start",
                            net_scaling)
    atomic_write(folder / "samples.npz",
                 write_bytes_with(lambda handle: np.savez(handle, **sampled.arrays)))
    rows = result.history if result is not None else _history_rows(folder)
    _write_figures(folder, sampled, series, n_train, settings, train_config, rows)
    metrics = _metrics(rows, sampled, draw, model=model, series=series, scaling=sampled.scaling,
                       settings=settings, solve_config=solve_config, train_config=train_config,
                       result=result, wall_start=wall_start, argv=argv)
    metrics["trend_slope_sd"] = ({"data": list(scaling.y_trend_sd),
                                  "forecast": list(sampled.scaling.y_trend_sd)}
                                 if scaling.y_trend_sd else None)
    _save_model_file(folder, model, scaling=sampled.scaling, sampled=sampled, draw=draw,
                     series=series, n_train=n_train, solve_config=solve_config,
                     train_config=train_config)
    write_json(folder / "metrics.json", metrics)
    _summarise(say, folder, metrics)
    return metrics
