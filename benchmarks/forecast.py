"""Rolling-origin forecast evaluation: neuralsde against classical forecasters on the development
series and two simulated series whose law is known.

    python benchmarks/forecast.py                  # 5 origins, the CLI's defaults (<= 20 min)
    python benchmarks/forecast.py --quick          # 2 origins, --iters 100 (a few minutes)
    python benchmarks/forecast.py --series lynx,ou --origins 3 --iters 50

For each series, ``--origins`` forecast origins are spread evenly over its last 20 % (the last
one leaves ``H`` future points). A forecaster at origin ``k`` (a time-point index) sees the
points ``0 .. k-1`` only and forecasts the points ``k .. k+H-1`` (horizons 1..H).

* **neuralsde** is fitted once per series, by ``python -m neuralsde.fit --data FILE <flags>
  --quiet`` (the CLI's defaults plus the series' flags of ``benchmarks/real_series.py``) on a
  copy of the data file cut after the first origin's last point. From each origin its model is
  restarted from the data before the origin (:func:`neuralsde.forecasting`, with the run's scaling
  and solver): its last observation and, for a model with latent channels, the encoder over the
  observations before it.
* The classical forecasters are refitted at every origin on the data before it: a Gaussian
  random walk and climatology (:mod:`neuralsde.metrics`), seasonal naive (series with a period),
  an AIC-chosen ARIMA with Fourier terms of the period as regressors, and ETS (damped additive
  trend, additive seasonality); ARIMA and ETS need statsmodels (``pip install -e ".[bench]"``).
* **oracle** (simulated series only): the exact conditional law of the simulated process.

Every forecaster draws ``--samples`` values per horizon (ARIMA, ETS and seasonal naive as
Gaussians with their forecast mean and variance; neuralsde as sample paths), and all are scored
by the same functions of :mod:`neuralsde.metrics`, in the data's units: CRPS
(:func:`~neuralsde.metrics.crps_ensemble`), MSE of the sample mean and the coverage of the 50 %
and 90 % central intervals, per horizon (averaged over origins) and averaged over every horizon
and origin. Origin ``k`` uses seed ``--seed + k`` for every forecaster.

It prints the average CRPS per series and forecaster (the best, the oracle aside, marked ``*``),
the coverages, and the CRPS table in markdown (:func:`markdown_table`, which also turns the JSON
back into the README's table), and writes JSON (default ``benchmarks/results/forecast.json``):
``machine``, ``settings`` and, per series, its origins, horizon, period in steps, the scores of
each forecaster and the wall seconds of each fit.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os

# The classical fits run numpy and scipy linear algebra on small matrices: more than one BLAS
# thread only adds contention (on a loaded 2-core machine an ARIMA fit took 4-10 times longer).
# Effective only when this file is run as a script, before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import torch

import neuralsde
from neuralsde import forecast, load_run
from neuralsde.data import TimeSeries, load_csv
from neuralsde.machine import machine
from neuralsde.metrics import (
    climatology_baseline,
    coverage,
    crps_ensemble,
    mse,
    random_walk_baseline,
)

ROOT = Path(__file__).resolve().parents[1]
#: Where the imported neuralsde lives: the CLI subprocesses import the same code.
PACKAGE_ROOT = Path(neuralsde.__file__).resolve().parents[1]


def _sibling(name: str):
    """A module of this folder (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}",
                                                  Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The development series and their CLI flags (``--data FILE`` first), from real_series.py.
REAL_SERIES: dict[str, list[str]] = _sibling("real_series").SERIES

#: A forecaster: ``(train_values (n, d), train_times (n,), horizon_times (H,), n_samples, seed)
#: -> samples (n_samples, H, d)``, in the data's units; NaN marks a missing training value.
Forecaster = Callable[[np.ndarray, np.ndarray, np.ndarray, int, int], np.ndarray]

#: Columns of the tables, in order; ``oracle`` is a reference and never marked best.
FORECASTERS = ("neuralsde", "arima", "ets", "seasonal_naive", "random_walk", "climatology",
               "oracle")
REFERENCES = ("oracle",)
LABELS = {"neuralsde": "neuralsde", "arima": "ARIMA", "ets": "ETS", "seasonal_naive": "s-naive",
          "random_walk": "RW", "climatology": "clim", "oracle": "oracle"}
SCORES = ("crps", "mse", "coverage_50", "coverage_90")
EVAL_FRACTION = 0.2
QUICK = {"origins": 2, "iters": 100}
BENCH_HINT = 'benchmarks/forecast.py needs statsmodels: pip install -e ".[bench]"'


# ----------------------------------------------------------------------------- simulated series

@dataclass(frozen=True)
class SeasonalOU:
    """``dy = theta (m(t) - y) dt + sigma dW`` with ``m(t) = mu + amplitude sin(2 pi t / period)``
    (``amplitude=0``: the plain Ornstein-Uhlenbeck process). Linear, so its law given ``y(s)`` is
    Gaussian: mean ``p(t) + (y(s) - p(s)) exp(-theta (t - s))`` with ``p`` the periodic solution
    of the mean equation, variance ``sigma^2 (1 - exp(-2 theta (t - s))) / (2 theta)``."""

    theta: float
    sigma: float
    mu: float = 0.0
    amplitude: float = 0.0
    period: float = 1.0

    def periodic_mean(self, t: np.ndarray) -> np.ndarray:
        """``p(t) = mu + A theta (theta sin wt - w cos wt) / (theta^2 + w^2)``, ``w = 2 pi / P``,
        which solves ``p' = theta (m - p)``."""
        w = 2 * np.pi / self.period
        gain = self.amplitude * self.theta / (self.theta**2 + w**2)
        return self.mu + gain * (self.theta * np.sin(w * t) - w * np.cos(w * t))

    def law(self, y_s: np.ndarray, s: float, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of ``y(t)`` (each ``t.shape``) given ``y(s) = y_s``."""
        decay = np.exp(-self.theta * (t - s))
        mean = self.periodic_mean(t) + (y_s - self.periodic_mean(np.asarray(s))) * decay
        sd = self.sigma * np.sqrt((1 - decay**2) / (2 * self.theta))
        return mean, sd

    def simulate(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` points at t = 0, 1, ..., n - 1, exactly (the transition law), started from the
        stationary law about ``p(0)``; returns times (n,) and values (n,)."""
        rng = np.random.default_rng(seed)
        t = np.arange(n, dtype=float)
        y = np.empty(n)
        y[0] = self.periodic_mean(t[:1])[0] + self.sigma / np.sqrt(2 * self.theta) \
            * rng.standard_normal()
        for k in range(1, n):
            mean, sd = self.law(y[k - 1], t[k - 1], t[k])
            y[k] = mean + sd * rng.standard_normal()
        return t, y

    def oracle(self) -> Forecaster:
        """The exact conditional law from the last training value, sampled per horizon."""
        def predict(values, times, horizon_times, n_samples, seed):
            mean, sd = self.law(values[-1, 0], times[-1], horizon_times)
            return _gaussian_samples(mean[:, None], sd[:, None], n_samples, seed)
        return predict


#: The simulated series: the process, its seed, points, and the CLI flags (as for real series).
SIMULATED = {
    "ou": (SeasonalOU(theta=0.1, sigma=1.0), 0, 500, []),
    "ou_seasonal": (SeasonalOU(theta=0.3, sigma=0.8, amplitude=3.0, period=20.0), 1, 500,
                    ["--period", "20"]),
}
#: Forecast horizon H per series (steps): a year for the monthly and weekly series, a decade for
#: yearly lynx (about one cycle), one period for the seasonal OU and two correlation times for OU.
HORIZONS = {"co2": 52, "elnino": 12, "lynx": 10, "airline": 12, "ou": 20, "ou_seasonal": 20}
ALL_SERIES = tuple(REAL_SERIES) + tuple(SIMULATED)


def write_simulated(name: str, path: Path) -> Path:
    """Write simulated series ``name`` to ``path`` (columns ``t``, ``y``; floats as repr)."""
    process, seed, n, _ = SIMULATED[name]
    t, y = process.simulate(n, seed)
    path.write_text("t,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(t, y)))
    return path


# ----------------------------------------------------------------------------- rolling origins

def rolling_origins(n_points: int, horizon: int, n_origins: int, *,
                    fraction: float = EVAL_FRACTION) -> list[int]:
    """``n_origins`` origins (time-point indices) spread evenly over the last ``fraction`` of the
    series, the first at ``n_points - round(fraction * n_points)``, the last at
    ``n_points - horizon`` (each leaves ``horizon`` future points).

    Raises:
        ValueError: when the evaluation region is shorter than the horizon, or holds fewer than
            ``n_origins`` distinct origins.
    """
    if n_origins < 1 or horizon < 1:
        raise ValueError(f"n_origins={n_origins} and horizon={horizon} must be >= 1.")
    first = n_points - int(round(fraction * n_points))
    last = n_points - horizon
    if first < 2 or last < first:
        raise ValueError(f"horizon={horizon} does not fit in the last {fraction:.0%} of "
                         f"{n_points} points (origins from {first} to {last}).")
    if n_origins == 1:
        return [first]
    origins = np.linspace(first, last, n_origins).round().astype(int).tolist()
    if len(set(origins)) < n_origins:
        raise ValueError(f"n_origins={n_origins} is more than the {last - first + 1} distinct "
                         f"origins from {first} to {last}.")
    return origins


@dataclass(frozen=True)
class OriginForecast:
    """One forecaster's forecast from one origin.

    Attributes:
        origin: the index of the first forecast point; the forecaster saw points ``< origin``.
        samples: (S, H, d) the forecast's samples.
        obs: (H, d) what happened, NaN where missing.
        seconds: wall seconds of the forecaster's call.
    """

    origin: int
    samples: np.ndarray
    obs: np.ndarray
    seconds: float


def rolling_forecasts(values, times, origins, horizon: int, forecaster: Forecaster, *,
                      n_samples: int, seed: int = 0) -> list[OriginForecast]:
    """Call ``forecaster`` at every origin with copies of the data before it.

    Args:
        values: (T, d) or (T,) the series, NaN where missing.
        times: (T,) its times.
        origins: origin indices; at origin ``k`` the forecaster gets ``values[:k]``,
            ``times[:k]`` and the horizon times ``times[k:k + horizon]``, and seed ``seed + k``.
        horizon: H, the number of forecast points.
        forecaster: see :data:`Forecaster`.
        n_samples: samples per forecast.
        seed: base seed.

    Returns:
        One :class:`OriginForecast` per origin.

    Raises:
        ValueError: for an origin without ``horizon`` points after it, or a forecaster whose
            samples do not have shape (n_samples, H, d) or are not finite.
    """
    values = np.asarray(values, dtype=float)
    values = values[:, None] if values.ndim == 1 else values
    times = np.asarray(times, dtype=float)
    out = []
    for k in origins:
        if not 2 <= k <= len(times) - horizon:
            raise ValueError(f"origin {k} leaves fewer than horizon={horizon} of the "
                             f"{len(times)} points after it (or fewer than 2 before it).")
        start = time.perf_counter()
        samples = np.asarray(forecaster(values[:k].copy(), times[:k].copy(),
                                        times[k:k + horizon].copy(), n_samples, seed + k),
                             dtype=float)
        seconds = time.perf_counter() - start
        if samples.shape != (n_samples, horizon, values.shape[1]):
            raise ValueError(f"the forecaster returned samples of shape {samples.shape}; "
                             f"expected (n_samples, H, d) = "
                             f"{(n_samples, horizon, values.shape[1])}.")
        if not np.isfinite(samples).all():
            raise ValueError(f"the forecaster returned non-finite samples at origin {k}.")
        out.append(OriginForecast(k, samples, values[k:k + horizon].copy(), seconds))
    return out


def score_forecasts(forecasts: list[OriginForecast]) -> dict:
    """CRPS, MSE of the sample mean and 50 % / 90 % central-interval coverage of each forecast
    point, by :mod:`neuralsde.metrics`.

    Returns:
        ``{"horizon": {score: [H values]}, "average": {score: value}, "scored": n}``: per
        horizon the mean over origins where the point is observed (None where none is), and the
        mean over every observed (origin, horizon) point; ``scored`` counts those points.
    """
    horizon = forecasts[0].samples.shape[1]
    table = {score: np.full((len(forecasts), horizon), np.nan) for score in SCORES}
    for i, fc in enumerate(forecasts):
        for h in range(horizon):
            obs = fc.obs[h:h + 1]  # (1, d)
            if not np.isfinite(obs).any():
                continue
            ens = fc.samples[:, h:h + 1]  # (S, 1, d)
            table["crps"][i, h] = crps_ensemble(ens, obs)
            table["mse"][i, h] = mse(ens.mean(axis=0), obs)
            table["coverage_50"][i, h] = coverage(ens, obs, lower=0.25, upper=0.75)
            table["coverage_90"][i, h] = coverage(ens, obs, lower=0.05, upper=0.95)
    observed = np.isfinite(table["crps"])
    per_h = observed.any(axis=0)

    def by_horizon(a):
        return [float(np.nanmean(a[:, h])) if per_h[h] else None for h in range(horizon)]

    return {"horizon": {s: by_horizon(a) for s, a in table.items()},
            "average": {s: float(a[observed].mean()) if observed.any() else None
                        for s, a in table.items()},
            "scored": int(observed.sum())}


def evaluate(values, times, origins, horizon: int, forecaster: Forecaster, *, n_samples: int,
             seed: int = 0) -> dict:
    """:func:`rolling_forecasts` then :func:`score_forecasts`, plus the seconds per origin."""
    forecasts = rolling_forecasts(values, times, origins, horizon, forecaster,
                                  n_samples=n_samples, seed=seed)
    return {**score_forecasts(forecasts), "seconds": [fc.seconds for fc in forecasts]}


# ------------------------------------------------------------------------ classical forecasters

def _gaussian_samples(mean: np.ndarray, sd: np.ndarray, n_samples: int, seed: int) -> np.ndarray:
    """(n_samples, H, d) draws of independent N(mean, sd^2) per horizon and channel."""
    noise = np.random.default_rng(seed).standard_normal((n_samples, *np.shape(mean)))
    return mean + sd * noise


def _filled(y: np.ndarray) -> np.ndarray:
    """(n,) with missing values linearly interpolated (the ends held at the nearest value)."""
    seen = np.isfinite(y)
    if seen.all():
        return y
    index = np.arange(len(y))
    return np.interp(index, index[seen], y[seen])


def period_steps(period: float | None, times) -> int | None:
    """A period in data time units as a whole number of steps: ``round(period / spacing)`` with
    the median spacing (52 for a year of weeks, 12 for a year of months); None without one."""
    if period is None:
        return None
    return max(2, int(round(period / float(np.median(np.diff(np.asarray(times)))))))


def random_walk(values, times, horizon_times, n_samples, seed):
    """:func:`neuralsde.metrics.random_walk_baseline` from the last observed point."""
    rows = np.flatnonzero(np.isfinite(values).any(axis=1))
    last = rows[-1]
    y_last = np.array([values[np.isfinite(values[:, c]), c][-1]
                       for c in range(values.shape[1])])
    return random_walk_baseline(times[:last + 1], values[:last + 1], None, horizon_times, y_last,
                                n_samples=n_samples, seed=seed)


def climatology(values, times, horizon_times, n_samples, seed):
    """:func:`neuralsde.metrics.climatology_baseline`: N(mean, std^2) of the training values."""
    return climatology_baseline(values, None, len(horizon_times), n_samples=n_samples, seed=seed)


def seasonal_naive(steps: int) -> Forecaster:
    """The value one period (``steps`` points) before, Gaussian with the standard deviation of
    the training series' seasonal differences ``y_t - y_{t-steps}`` times ``sqrt(ceil(h /
    steps))`` at horizon ``h`` (missing values interpolated first)."""
    def predict(values, times, horizon_times, n_samples, seed):
        horizon = len(horizon_times)
        mean = np.empty((horizon, values.shape[1]))
        sd = np.empty_like(mean)
        h = np.arange(1, horizon + 1)
        seasons = np.ceil(h / steps).astype(int)
        for c in range(values.shape[1]):
            y = _filled(values[:, c])
            if len(y) <= steps + 1:
                raise ValueError(f"seasonal naive needs more than {steps + 1} points; got "
                                 f"{len(y)}.")
            mean[:, c] = y[len(y) - 1 + h - seasons * steps]
            sd[:, c] = np.std(y[steps:] - y[:-steps], ddof=1) * np.sqrt(seasons)
        return _gaussian_samples(mean, sd, n_samples, seed)
    return predict


def _require_statsmodels():
    try:
        import statsmodels  # noqa: F401
    except ImportError:
        raise SystemExit(BENCH_HINT) from None


def fourier(times, period: float, harmonics: int) -> np.ndarray:
    """(n, 2 * harmonics) columns ``sin(2 pi k t / period)``, ``cos(...)``, k = 1..harmonics."""
    arg = 2 * np.pi * np.asarray(times, dtype=float)[:, None] / period
    k = np.arange(1, harmonics + 1)
    return np.concatenate([np.sin(arg * k), np.cos(arg * k)], axis=1)


class ARIMAForecaster:
    """An ARIMA(p, d, q) chosen by AIC over ``p, q`` in ``0..max_p``, ``0..max_q`` and ``d`` in
    ``0..max_d`` (a constant for ``d = 0``, a drift for ``d = 1``), refitted at every call by
    statsmodels' ``ARIMA`` (exact likelihood, Kalman filter: missing values are skipped). With a
    period, ``harmonics`` Fourier pairs of it are regressors (regression with ARIMA errors: a
    period of any length, 52.18 weeks included, costs ``2 * harmonics`` parameters). Forecasts
    are sampled as Gaussians with the forecast mean and variance.

    ``chosen`` keeps the order chosen at each call.
    """

    def __init__(self, *, period: float | None = None, harmonics: int = 3, max_p: int = 2,
                 max_d: int = 1, max_q: int = 2):
        self.period, self.harmonics = period, harmonics
        self.orders = [(p, d, q) for d in range(max_d + 1) for p in range(max_p + 1)
                       for q in range(max_q + 1)]
        self.chosen: list[list[int]] = []

    def __call__(self, values, times, horizon_times, n_samples, seed):
        _require_statsmodels()
        from statsmodels.tsa.arima.model import ARIMA

        exog = future = None
        if self.period is not None:
            exog = fourier(times, self.period, self.harmonics)
            future = fourier(horizon_times, self.period, self.harmonics)
        mean = np.empty((len(horizon_times), values.shape[1]))
        sd = np.empty_like(mean)
        for c in range(values.shape[1]):
            y = values[:, c]
            best, best_order = None, None
            for order in self.orders:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        fit = ARIMA(y, exog=exog, order=order,
                                    trend="c" if order[1] == 0 else "t").fit()
                    except (ValueError, np.linalg.LinAlgError):
                        continue
                if np.isfinite(fit.aic) and (best is None or fit.aic < best.aic):
                    best, best_order = fit, order
            if best is None:
                raise ValueError("no ARIMA order of the grid could be fitted.")
            self.chosen.append(list(best_order))
            prediction = best.get_forecast(len(horizon_times), exog=future)
            mean[:, c] = np.asarray(prediction.predicted_mean)
            sd[:, c] = np.sqrt(np.asarray(prediction.var_pred_mean))
        return _gaussian_samples(mean, sd, n_samples, seed)


class ETSForecaster:
    """statsmodels' ``ETSModel``: additive errors, damped additive trend and, with a period of
    ``steps`` points, additive seasonality (initial states estimated with the rest by maximum
    likelihood; for weekly co2 that is 52 seasonal states, about 2 s a fit). Refitted at every
    call on the series with missing values linearly interpolated (ETS needs a complete series);
    sampled as Gaussians with the forecast mean and variance."""

    def __init__(self, *, steps: int | None = None):
        self.steps = steps

    def __call__(self, values, times, horizon_times, n_samples, seed):
        _require_statsmodels()
        import pandas as pd
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        n, horizon = len(values), len(horizon_times)
        mean = np.empty((horizon, values.shape[1]))
        sd = np.empty_like(mean)
        for c in range(values.shape[1]):
            # a pandas Series: statsmodels 0.15's ETS prediction fails on a bare array
            y = pd.Series(_filled(values[:, c]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = ETSModel(y, error="add", trend="add", damped_trend=True,
                               seasonal="add" if self.steps else None,
                               seasonal_periods=self.steps).fit(disp=False)
                prediction = fit.get_prediction(start=n, end=n + horizon - 1)
            mean[:, c] = np.asarray(prediction.predicted_mean)
            sd[:, c] = np.sqrt(np.asarray(prediction.var_pred_mean))
        return _gaussian_samples(mean, sd, n_samples, seed)


# ----------------------------------------------------------------------------- neuralsde

def _flag(flags: list[str], name: str) -> str | None:
    """The value after ``name`` in a flag list, or None."""
    return flags[flags.index(name) + 1] if name in flags else None


def _without_data(flags: list[str]) -> list[str]:
    if "--data" not in flags:
        return list(flags)
    i = flags.index("--data")
    return flags[:i] + flags[i + 2:]


def head_csv(source: Path, n: int, out: Path) -> Path:
    """Copy the header and the first ``n`` data rows of a one-path CSV file (rows in time
    order, one per time point, as the development series are) to ``out``, byte for byte."""
    lines = [line for line in source.read_text().splitlines(keepends=True) if line.strip()]
    if len(lines) < n + 1:
        raise ValueError(f"{source} has {len(lines) - 1} data rows; cannot keep {n}.")
    out.write_text("".join(lines[: n + 1]))
    return out


def _env() -> dict:
    path = os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}


class NeuralSDEForecaster:
    """neuralsde fitted once, by the CLI, on the first ``n_train`` points of ``data``; each call
    forecasts from the end of the data it is given, which must contain those points.

    Args:
        data: the CSV file of the whole series.
        n_train: points to fit on: the first origin.
        flags: the series' CLI flags (``--data`` dropped).
        folder: an empty folder for the cut data file and the run.
        extra: more CLI flags (``--iters``).

    Attributes:
        run: the :class:`neuralsde.forecasting.Run` read back.
        fit_seconds: the CLI process' wall seconds; ``train_seconds`` its training seconds.
        command: the command line, with the cut file's name and ``RUN`` for the run folder.
    """

    def __init__(self, data: Path, n_train: int, flags: list[str], folder: Path, *,
                 extra: list[str] = ()):
        cut = head_csv(Path(data), n_train, Path(folder) / f"first_{n_train}.csv")
        out = Path(folder) / "run"
        flags = [*_without_data(flags), "--quiet"]
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "neuralsde.fit", "--data", str(cut), *flags,
                        "--out", str(out), *extra], cwd=ROOT, check=True, env=_env())
        self.fit_seconds = time.perf_counter() - start
        self.command = " ".join(["python -m neuralsde.fit --data", cut.name, *flags,
                                 "--out RUN", *extra])
        self.run = load_run(out)
        if self.run.series.n_points != n_train or self.run.n_train != n_train:
            raise RuntimeError(f"the run was fitted on {self.run.n_train} of "
                               f"{self.run.series.n_points} points; expected {n_train}.")
        metrics = json.loads((out / "metrics.json").read_text())
        self.train_seconds = metrics.get("train_seconds")
        self.n_train = n_train
        self._train_ts = self.run.series.ts.numpy()
        self._train_ys = self.run.series.ys[:, 0, :].numpy()

    def __call__(self, values, times, horizon_times, n_samples, seed):
        # the fit saw the first n_train points: they must be the start of what it is given
        if len(times) < self.n_train or not np.array_equal(times[:self.n_train], self._train_ts) \
                or not np.array_equal(values[:self.n_train], self._train_ys, equal_nan=True):
            raise ValueError("the data before this origin does not start with the fitted data.")
        series = TimeSeries(times, values, np.isfinite(values), self.run.series.names,
                            time_origin=self.run.series.time_origin)
        result = forecast(self.run.model, series, None, times=horizon_times, samples=n_samples,
                          seed=seed, scaling=self.run.scaling, solve_config=self.run.solve_config)
        return result.samples


# ----------------------------------------------------------------------------- one series

@dataclass(frozen=True)
class SeriesSpec:
    """A series of the benchmark: its file, CLI flags, horizon and (simulated) process."""

    name: str
    flags: list[str]
    horizon: int
    process: SeasonalOU | None = None

    @property
    def period(self) -> float | None:
        value = _flag(self.flags, "--period")
        return None if value is None else float(value)


def series_spec(name: str) -> SeriesSpec:
    if name in REAL_SERIES:
        return SeriesSpec(name, list(REAL_SERIES[name]), HORIZONS[name])
    if name in SIMULATED:
        process, _, _, flags = SIMULATED[name]
        return SeriesSpec(name, list(flags), HORIZONS[name], process)
    raise ValueError(f"series {name!r} is not supported; expected one of {ALL_SERIES}.")


def classical_forecasters(spec: SeriesSpec, steps: int | None) -> dict[str, Forecaster]:
    """The forecasters refitted at every origin (seasonal naive only with a period)."""
    out = {"arima": ARIMAForecaster(period=spec.period), "ets": ETSForecaster(steps=steps)}
    if steps is not None:
        out["seasonal_naive"] = seasonal_naive(steps)
    out["random_walk"] = random_walk
    out["climatology"] = climatology
    if spec.process is not None:
        out["oracle"] = spec.process.oracle()
    return out


def _time_label(series: TimeSeries, t: float):
    if series.time_origin is None:
        return float(t)
    return (date.fromisoformat(series.time_origin[:10]) + timedelta(days=float(t))).isoformat()


def run_series(spec: SeriesSpec, *, n_origins: int, n_samples: int, seed: int,
               extra: list[str], folder: Path) -> dict:
    """Every forecaster on one series; returns its JSON entry."""
    if spec.process is not None:
        data = write_simulated(spec.name, folder / f"{spec.name}.csv")
    else:
        data = ROOT / _flag(spec.flags, "--data")
    series = load_csv(data)
    values, times = series.ys[:, 0, :].numpy(), series.ts.numpy()
    origins = rolling_origins(series.n_points, spec.horizon, n_origins)
    steps = period_steps(spec.period, times)
    entry = {"points": series.n_points, "horizon": spec.horizon, "origins": origins,
             "origin_times": [_time_label(series, times[k]) for k in origins],
             "period": spec.period, "period_steps": steps,
             "forecasters": {}}
    forecasters: dict[str, Forecaster] = {}
    try:
        model = NeuralSDEForecaster(data, origins[0], spec.flags, folder, extra=extra)
        forecasters["neuralsde"] = model
        entry["neuralsde_fit"] = {"command": model.command, "train_points": model.n_train,
                              "fit_seconds": model.fit_seconds,
                              "train_seconds": model.train_seconds}
    except (subprocess.CalledProcessError, ValueError, RuntimeError) as err:
        entry["forecasters"]["neuralsde"] = {"error": f"fit failed: {err}"}
    forecasters.update(classical_forecasters(spec, steps))
    for name, forecaster in forecasters.items():
        try:
            scores = evaluate(values, times, origins, spec.horizon, forecaster,
                              n_samples=n_samples, seed=seed)
        except Exception as err:  # one failing forecaster must not lose the others' scores
            entry["forecasters"][name] = {"error": f"{type(err).__name__}: {err}"}
            print(f"  {name}: failed ({type(err).__name__}: {err})", flush=True)
            continue
        if name == "neuralsde":
            scores["fit_seconds"] = [entry["neuralsde_fit"]["fit_seconds"]]
            scores["forecast_seconds"] = scores.pop("seconds")
        else:  # every call fits the model and samples it
            scores["fit_seconds"] = scores.pop("seconds")
        if isinstance(forecaster, ARIMAForecaster):
            scores["orders"] = forecaster.chosen
        entry["forecasters"][name] = scores
        print(f"  {name:15s} CRPS {scores['average']['crps']:.4g}  "
            f"fit {sum(scores['fit_seconds']):.1f} s", flush=True)
    return entry


# ----------------------------------------------------------------------------- tables

def _average(result: dict, series: str, name: str, score: str):
    entry = result["series"][series]["forecasters"].get(name)
    if entry is None or "average" not in entry:
        return None
    return entry["average"][score]


def _columns(result: dict) -> list[str]:
    present = {n for s in result["series"].values() for n in s["forecasters"]}
    return [n for n in FORECASTERS if n in present]


def _best(result: dict, series: str, columns: list[str], score: str) -> str | None:
    values = {n: _average(result, series, n, score) for n in columns if n not in REFERENCES}
    values = {n: v for n, v in values.items() if v is not None}
    return min(values, key=values.get) if values else None


def markdown_table(result: dict, score: str = "crps") -> str:
    """One row per series, one column per forecaster: the ``score`` averaged over horizons and
    origins, the best (lowest; the oracle is a reference, never marked) in bold."""
    columns = _columns(result)
    lines = ["| series | H | origins | " + " | ".join(LABELS[n] for n in columns) + " |",
             "|---|---:|---:|" + "---:|" * len(columns)]
    for series, entry in result["series"].items():
        best = _best(result, series, columns, score)
        cells = []
        for n in columns:
            value = _average(result, series, n, score)
            text = "–" if value is None else f"{value:.4g}"
            cells.append(f"**{text}**" if n == best else text)
        lines.append(f"| {series} | {entry['horizon']} | {len(entry['origins'])} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def text_tables(result: dict) -> str:
    """The average CRPS (best marked ``*``) and the 50 % / 90 % coverages, as plain text."""
    columns = _columns(result)
    head = f"{'series':12s}" + "".join(f"{LABELS[n]:>12s}" for n in columns)
    out = ["average CRPS over horizons and origins (* best, the oracle aside)", head]
    for series in result["series"]:
        best = _best(result, series, columns, "crps")
        row = f"{series:12s}"
        for n in columns:
            value = _average(result, series, n, "crps")
            text = "-" if value is None else f"{value:.4g}" + ("*" if n == best else " ")
            row += f"{text:>12s}"
        out.append(row)
    out += ["", "coverage of the 50 % / 90 % central intervals", head]
    for series in result["series"]:
        row = f"{series:12s}"
        for n in columns:
            c50 = _average(result, series, n, "coverage_50")
            c90 = _average(result, series, n, "coverage_90")
            text = "-" if c50 is None else f"{c50:.2f}/{c90:.2f}"
            row += f"{text:>12s}"
        out.append(row)
    return "\n".join(out)


# ----------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--series", default=",".join(ALL_SERIES),
                   help=f"comma-separated series, of {', '.join(ALL_SERIES)}")
    p.add_argument("--origins", type=int, help="forecast origins per series (default 5; "
                   "--quick: 2)")
    p.add_argument("--iters", type=int, help="passed to the CLI as --iters (default: the "
                   "CLI's; --quick: 100)")
    p.add_argument("--samples", type=int, default=200, help="samples per forecast")
    p.add_argument("--seed", type=int, default=0, help="origin k uses seed + k")
    p.add_argument("--quick", action="store_true", help="2 origins and --iters 100")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "forecast.json"))
    args = p.parse_args(argv)
    _require_statsmodels()
    if args.origins is None:
        args.origins = QUICK["origins"] if args.quick else 5
    if args.iters is None and args.quick:
        args.iters = QUICK["iters"]
    names = [s.strip() for s in args.series.split(",") if s.strip()]
    specs = [series_spec(name) for name in names]
    extra = ["--iters", str(args.iters)] if args.iters else []

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    start = time.perf_counter()
    result = {"machine": machine(load_before=os.getloadavg()), "settings": vars(args),
              "series": {}}
    try:
        for spec in specs:
            print(f"{spec.name}: H = {spec.horizon}", flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                result["series"][spec.name] = run_series(
                    spec, n_origins=args.origins, n_samples=args.samples, seed=args.seed,
                    extra=extra, folder=Path(tmp))
    finally:
        torch.set_num_threads(threads)
    result["wall_seconds"] = time.perf_counter() - start
    result["machine"]["load_after"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    print()
    print(text_tables(result))
    print()
    print(markdown_table(result))
    print(f"\n{result['wall_seconds']:.0f} s in all; wrote {out}")
    return result


if __name__ == "__main__":
    main()
