"""What a run says about its holdout forecast beyond the headline scores: how the ensemble scores
against every observed path (:func:`ensemble_scores`), its calibration and its scores per
horizon for ``metrics.json`` (:func:`calibration_metrics`), the figures ``forecast.png`` and
``calibration.png`` (:func:`write_holdout_figures`), and the scaling its forecasts use
(:func:`forecast_scaling`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..calibration import (
    DEFAULT_LEVELS,
    binomial_band,
    calibration_summary,
    coverage_if_calibrated,
    scores_by_horizon,
)
from ..data import TimeSeries, net_slope_error
from ..forecast_result import PanelForecast
from ..forecasting import forecast
from ..metrics import forecast_scores
from ..solvers import SolverError
from .settings import CALIBRATION_KEYS

#: Bins of the PIT histogram.
PIT_BINS = 10
#: Probability of the sampling ranges drawn in ``calibration.png``.
BAND_LEVEL = 0.95
#: Quantiles of the 90 % band's coverage a calibrated forecast would get
#: (``holdout_coverage_90_if_calibrated``).
IF_CALIBRATED_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def ensemble_scores(samples: np.ndarray, observed: np.ndarray) -> dict:
    """Forecast scores of ``samples`` (S, T, d) against ``observed`` (T, P, d): for a panel the
    scores of the ensemble against each observed path, averaged over paths (weighted by their
    observed entries)."""
    totals = {"mse": 0.0, "crps": 0.0, "coverage_90": 0.0}
    weight = 0
    for p in range(observed.shape[1]):
        obs = observed[:, p, :]
        n = int(np.isfinite(obs).sum())
        if n == 0:
            continue
        scores = forecast_scores(samples, obs)
        for key in totals:
            totals[key] += n * scores[key]
        weight += n
    return {k: (v / weight if weight else math.nan) for k, v in totals.items()}


def calibration_metrics(forecast: np.ndarray, observed: np.ndarray, *, seed: int) -> dict:
    """The holdout forecast's calibration and its scores per horizon, as ``metrics.json`` has
    them.

    Args:
        forecast: ``(S, T_h, d)`` forecast paths over the held-out times.
        observed: ``(T_h, P, d)`` held-out observations, NaN where missing.
        seed: seed of the PIT's randomisation of ties.

    Returns:
        The :data:`CALIBRATION_KEYS`: ``holdout_pit``
        (:func:`neuralsde.calibration.calibration_summary` over every observed held-out time,
        channel and path), ``holdout_coverage_50`` (share inside the 25 %-75 % band), and lists of
        ``T_h`` entries, one per horizon: ``holdout_crps_by_horizon``,
        ``holdout_coverage_50_by_horizon`` and ``holdout_coverage_90_by_horizon`` (averaged over
        the channels and paths observed at that step, NaN where none is);
        ``holdout_coverage_90_if_calibrated``, the quantiles :data:`IF_CALIBRATED_QUANTILES`
        (keys ``"0.05"``, ...) of the 90 % band's coverage if the observations were a draw from
        the forecast (:func:`neuralsde.calibration.coverage_if_calibrated`, each path in turn
        against the others, at the held-out times and channels observed), None with fewer than
        3 paths. ``holdout_pit`` and ``holdout_coverage_90_if_calibrated`` are None and the
        numbers NaN when the forecast is not finite or nothing is observed.
    """
    n_h = observed.shape[0]
    if not (np.isfinite(forecast).all() and np.isfinite(observed).any()):
        return {"holdout_pit": None, "holdout_coverage_50": math.nan,
                **{key: [math.nan] * n_h for key in CALIBRATION_KEYS
                   if key.endswith("_by_horizon")},
                "holdout_coverage_90_if_calibrated": None}
    summary = calibration_summary(forecast, observed, bins=PIT_BINS, levels=DEFAULT_LEVELS,
                                  seed=seed)
    by = scores_by_horizon(forecast, observed, levels=(0.5, 0.9))
    if_calibrated = None
    if forecast.shape[0] >= 3:
        shares = coverage_if_calibrated(forecast, np.isfinite(observed).any(axis=1), level=0.9)
        if_calibrated = {f"{q:g}": float(v) for q, v in
                         zip(IF_CALIBRATED_QUANTILES, np.quantile(shares, IF_CALIBRATED_QUANTILES))}
    return {"holdout_pit": summary, "holdout_coverage_50": summary["coverage"]["0.5"],
            "holdout_crps_by_horizon": by["crps"].tolist(),
            "holdout_coverage_50_by_horizon": by["coverage"][0.5].tolist(),
            "holdout_coverage_90_by_horizon": by["coverage"][0.9].tolist(),
            "holdout_coverage_90_if_calibrated": if_calibrated}


def group_forecasts(draw, train: TimeSeries, times: torch.Tensor) -> np.ndarray:
    """(S, len(times), P, d) forecasts by ``draw`` (the run's sampler: model, scaling, solver,
    samples, seed) of every group from its last training observation
    (:func:`neuralsde.forecasting.forecast`), NaN (and the error recorded) when the solver
    fails."""
    try:
        if getattr(draw, "mixture", None) is not None:
            result = draw.mixture.forecast(None, data=train, samples=draw.n, seed=draw.seed,
                                           times=times.numpy())
        else:
            result = forecast(draw.model, train, None, samples=draw.n, seed=draw.seed,
                              scaling=draw.scaling, solve_config=draw.solve_config,
                              times=times.numpy())
    except SolverError as err:
        draw.errors.append(str(err))
        return np.full((draw.n, len(times), train.n_paths, train.dim), np.nan)
    parts = [result[g] for g in result] if isinstance(result, PanelForecast) else [result]
    return np.stack([f.samples for f in parts], axis=2)


def forecast_scaling(draw, train: TimeSeries, free: np.ndarray, y0, free_points: int):
    """The run's scaling (``draw.scaling``) with its forecasts' slope error net of the model's
    own fluctuations (:func:`neuralsde.data.net_slope_error`), measured on ``free``, the free
    run from ``y0`` over the data's first times. A training part longer than ``free_points``
    gets a free run of its own (``draw(y0, times)``) on every k-th training time."""
    if not any(draw.scaling.y_trend_sd):
        return draw.scaling
    if train.n_points > free.shape[1]:
        train = train._slice(slice(None, None, -(-train.n_points // free_points)))
        free = draw(y0, train.ts)
    return net_slope_error(draw.scaling, train, free[:, :train.n_points, :train.dim])


def write_holdout_figures(folder: Path, *, arrays: dict, holdout: dict, series: TimeSeries,
                          n_train: int, time_label: str) -> None:
    """``forecast.png`` (the forecast over the held-out data) and, when the forecast has PIT
    values, ``calibration.png``.

    Args:
        folder: the run folder.
        arrays: the contents of ``samples.npz`` (``observed``, ``forecast_t``, ``forecast``:
            (S, T_h, d), or (S, T_h, P, d) for a panel, each group from its own last
            observation).
        holdout: the holdout scores, with the :data:`CALIBRATION_KEYS`.
        series: all of the data.
        n_train: number of training time points; the forecast starts at the last of them.
        time_label: the x-axis label.
    """
    from ..plotting import plot_calibration, plot_forecast, save

    h = holdout
    title = (f"Holdout forecast of {h['n_holdout']} points, CRPS (lower is better): model "
             f"{h['holdout_crps']:.3g}, random walk {h['baseline_holdout_crps']:.3g}, "
             f"climatology {h['climatology_holdout_crps']:.3g}\nthe 50 % band covers "
             f"{h['holdout_coverage_50']:.2f} of the held-out values, the 90 % band "
             f"{h['holdout_coverage_90']:.2f}")
    paths, observed = arrays["forecast"], arrays["observed"]
    if paths.ndim == 4:  # a panel: (S, T_h, P, d); the figure shows the first group's
        paths, observed = paths[:, :, 0, :], observed[:, 0, :]
        title += f"\nshown: group {series.groups[0]!r} (every group is scored)"
    fig = plot_forecast(arrays["forecast_t"], paths, obs_t=series.ts.numpy(),
                        observed=observed, origin=float(series.ts[n_train - 1]),
                        names=series.names, time_label=time_label,
                        time_origin=series.time_origin, title=title)
    save(fig, folder / "forecast.png")
    pit = holdout["holdout_pit"]
    if pit is None:
        return
    levels = np.array([float(k) for k in pit["coverage"]])
    lo, hi = binomial_band(pit["n"], levels, level=BAND_LEVEL)
    fig = plot_calibration(pit["counts"], pit["edges"], levels, list(pit["coverage"].values()),
                           pit_band=binomial_band(pit["n"], 1.0 / PIT_BINS, level=BAND_LEVEL),
                           coverage_band=(lo / pit["n"], hi / pit["n"]), band_level=BAND_LEVEL,
                           if_calibrated=_if_calibrated_range(holdout),
                           title=f"Calibration of the holdout forecast: Kolmogorov-Smirnov "
                                 f"distance of the PIT to uniform {pit['ks_distance']:.3f}, "
                                 f"mean PIT {pit['mean']:.2f}")
    save(fig, folder / "calibration.png")


def _if_calibrated_range(holdout: dict) -> tuple[float, float, float] | None:
    """``(0.9, q05, q95)`` of ``holdout_coverage_90_if_calibrated``, for the figure."""
    q = holdout.get("holdout_coverage_90_if_calibrated")
    return None if not q else (0.9, q["0.05"], q["0.95"])
