"""Rolling-origin forecasts of the whole development collection (:mod:`neuralsde.data.collection`):
neuralsde against statsforecast's AutoARIMA, AutoETS and AutoTheta, seasonal naive, a random walk,
climatology and, on the simulated series, the exact law.

    python benchmarks/collection.py                                 # everything, 3 origins
    python benchmarks/collection.py --quick --series ou,airline,lynx,realgdp
    python benchmarks/collection.py --forecasters classical \\
        --out benchmarks/results/collection_classical.json          # all but neuralsde
    python benchmarks/collection.py --series co2,elnino --iters 200
    python benchmarks/collection.py --forecasters neuralsde --time-grid 0   # exact times
    python benchmarks/collection.py --forecasters neuralsde --params '{"dt": 0.5}'

**Origins.** For a series of ``n`` time points and the entry's horizon ``h`` (``COLLECTION[name]
["horizon"]``), the ``--origins`` (default 3) origins are ``n - 3h, n - 2h, n - h``
(:func:`tiling_origins`): their test windows tile the end of the series and the last one ends at
the last observation. A forecaster at origin ``k`` sees the time points ``0 .. k-1`` only and
forecasts the points ``k .. k+h-1``. ``--quick`` uses the last origin only and 60 training
iterations for neuralsde (``--iters`` and ``--origins`` override it).

**Forecasters** (``--forecasters``, comma-separated, default all; ``classical`` names all but
neuralsde; seasonal naive, the reference of the relative scores, always runs):

* ``neuralsde``: ``neuralsde.Forecaster(seed=--seed)`` with its defaults, the automatic
  configuration included (``--iters`` overrides the iterations), fitted at every origin to the
  data before it, then ``forecast(None, data=train, times=the h future times,
  samples=--samples)``; the mixture's members at each origin are recorded (``chosen``), and
  every candidate's validation score (``candidates``: key and score per origin). Its
  default season is the one the timestamps imply: 365.25 days for the monthly, quarterly and
  weekly series, 1 day for the half-hourly one, none for yearly or numeric times (lynx,
  fertility, the simulated series).
  A series with several channels (interest_inflation) is fitted jointly; the panel (fertility,
  19 countries) is fitted as one panel and every country forecast from its own last point.
* ``arima``, ``ets``, ``theta``: statsforecast's ``AutoARIMA``, ``AutoETS`` and ``AutoTheta`` with
  ``season_length=m``, the observations per season (12 monthly, 4 quarterly, 52 weekly, 48
  half-hourly, 1 otherwise), called as ``Model(...).forecast(y, h, level=[2, 4, ..., 98])`` on the
  values alone (the integer index is their time). AutoARIMA runs with ``approximation=None``:
  R's ``auto.arima`` rule, conditional sums of squares during the order search when ``n > 150``
  or ``m > 12`` (statsforecast's default, exact likelihood throughout, took 9 minutes for one
  origin of weekly co2 against 11 s, with the same forecast). They fit every channel and every
  group of a panel on its own; missing training values are filled by linear interpolation (the
  ends by the nearest observation) first.
* ``seasonal_naive``: the value one season (``m``) earlier, Gaussian with the variance of the
  training's seasonal differences times the number of seasons ahead (``m = 1``: the naive
  forecast); ``random_walk``: a driftless Gaussian random walk from the last observation with
  :func:`neuralsde.metrics.random_walk_sigma2`'s variance per unit time (so it uses the times);
  ``climatology``: Gaussian with the training values' mean and standard deviation. Each channel
  and group on its own.
* ``exact`` (simulated series only, from ``data/dev/<name>.json``): the law the series was drawn
  from, given the data before the origin. Gaussian for ``ou``, ``random_walk_drift`` and
  ``seasonal_ou`` (the JSON's conditional mean and variance from the last value); the Kalman
  filter with the JSON's exact transition ``Phi``, ``Q`` over the observed positions for
  ``damped_oscillator`` (the velocity is not observed), from the stationary law; the noncentral
  chi-square transition for ``cir``; for ``double_well``, which has no closed form, 4000
  Euler-Maruyama paths from the last value with the generator's own step (spacing / substeps),
  i.e. the generator's law up to Monte Carlo error. It is a reference and never marked best.

**Scores.** Every forecaster gives the quantiles at the 99 levels 0.01, 0.02, ..., 0.99 of every
forecast entry (origin, horizon, group, channel): exactly for the Gaussian and chi-square laws,
``mean`` and the ``lo-L``/``hi-L`` bounds of statsforecast's intervals for ``L = 98, 96, ...,
2``, ``numpy.quantile`` of the sample paths for neuralsde and the double well. The CRPS of an
entry is twice the average pinball loss over the levels (:func:`quantile_crps`; for a Gaussian it
is within about 1 % of the closed form), averaged over every observed entry of every origin; the
50 % and 90 % coverages are the shares of entries inside the 0.25-0.75 and 0.05-0.95 quantiles.
A series' relative CRPS is a forecaster's CRPS over seasonal naive's; the aggregate is its
geometric mean over the real series (``kind == "real"``), the simulated series and all series
(the panel counts in "all" only), each over the series where the forecaster has a score.

It prints the relative CRPS per series and forecaster (the best, exact aside, marked ``*``), the
coverages and the aggregates, and writes JSON (default ``benchmarks/results/collection.json``,
``--out``): ``machine``, ``settings``, ``levels``, per series its kind, frequency, horizon,
season length, period, origins and, per forecaster, ``crps``, ``crps_by_origin``,
``relative_crps``, ``coverage_50``, ``coverage_90`` and ``fit_seconds`` (per origin, the fit and
forecast together) or ``error``; and ``aggregate``.
"""

from __future__ import annotations

import argparse
import os

# Small fits on a shared CPU: more BLAS threads only add contention. Effective only when this file
# is run as a script, before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import json
import math
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import linalg, stats

from neuralsde.data import TimeSeries
from neuralsde.data.collection import COLLECTION, DATA_DIR, load_series
from neuralsde.machine import machine
from neuralsde.metrics import random_walk_sigma2

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "collection.json"

#: Every forecaster, in the tables' order; ``exact`` is a reference, never marked best.
FORECASTERS = ("neuralsde", "arima", "ets", "theta", "seasonal_naive", "random_walk",
               "climatology", "exact")
CLASSICAL = FORECASTERS[1:]
REFERENCE = "seasonal_naive"
LABELS = {"neuralsde": "neuralsde", "arima": "AutoARIMA", "ets": "AutoETS", "theta": "AutoTheta",
          "seasonal_naive": "s-naive", "random_walk": "RW", "climatology": "clim",
          "exact": "exact"}
#: The quantile levels every forecaster gives: 0.01, 0.02, ..., 0.99.
LEVELS = np.round(np.arange(1, 100) / 100, 2)
#: statsforecast's central interval levels (percent) whose bounds are the quantiles at LEVELS.
INTERVALS = list(range(2, 100, 2))
#: Observations per season, by frequency (statsforecast's ``season_length``, seasonal naive's m).
SEASON_LENGTH = {"monthly": 12, "quarterly": 4, "weekly": 52, "half-hourly": 48, "yearly": 1,
                 "regular": 1}
#: neuralsde's ``period`` (days) for dated series of these frequencies.
PERIOD_DAYS = {"monthly": 365.25, "quarterly": 365.25, "weekly": 365.25, "half-hourly": 1.0}
QUICK = {"origins": 1, "iters": 60}
#: The members of neuralsde's mixture at each origin, in the order fitted.
CHOSEN: list = []
CANDIDATES: list = []
EULER_PATHS = 4000

#: A univariate forecaster: ``(y (n,) without NaN, h, m) -> quantiles (len(LEVELS), h)``.
Univariate = Callable[[np.ndarray, int, int], np.ndarray]


# ----------------------------------------------------------------------------- origins and scores

def tiling_origins(n: int, h: int, n_origins: int) -> list[int]:
    """The origins ``n - n_origins * h, ..., n - 2h, n - h``: the test windows ``k .. k+h-1`` of
    consecutive origins tile the end of the series, the last ending at point ``n - 1``.

    Raises:
        ValueError: when ``h`` or ``n_origins`` is below 1, or the first origin leaves fewer than
            2 training points.
    """
    if h < 1 or n_origins < 1:
        raise ValueError(f"h={h} and n_origins={n_origins} must be >= 1.")
    origins = [n - (n_origins - i) * h for i in range(n_origins)]
    if origins[0] < 2:
        raise ValueError(f"{n_origins} windows of h={h} need more than {n_origins * h + 1} "
                         f"points; the series has {n}.")
    return origins


def quantile_crps(quantiles: np.ndarray, obs: np.ndarray, levels=LEVELS) -> np.ndarray:
    """The CRPS of each entry approximated from its quantiles: twice the mean pinball loss.

    Args:
        quantiles: (L, ...) the quantiles at ``levels``.
        obs: (...) the observations.
        levels: (L,) the quantile levels in (0, 1), evenly spaced.

    Returns:
        (...) the CRPS of every entry (NaN where ``obs`` is NaN).
    """
    tau = np.asarray(levels, dtype=float).reshape((-1,) + (1,) * np.ndim(obs))
    diff = np.asarray(obs, dtype=float)[None] - quantiles
    return 2.0 * np.maximum(tau * diff, (tau - 1.0) * diff).mean(axis=0)


def gaussian_crps(mean, sd, obs) -> np.ndarray:
    """The closed-form CRPS of ``N(mean, sd^2)`` at ``obs``."""
    z = (np.asarray(obs, dtype=float) - mean) / sd
    return sd * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / math.sqrt(math.pi))


def gaussian_quantiles(mean, sd) -> np.ndarray:
    """(len(LEVELS), *shape) quantiles of ``N(mean, sd^2)`` (broadcast shapes)."""
    mean, sd = np.broadcast_arrays(np.asarray(mean, float), np.asarray(sd, float))
    z = stats.norm.ppf(LEVELS).reshape((-1,) + (1,) * mean.ndim)
    return mean[None] + sd[None] * z


def sample_quantiles(samples: np.ndarray) -> np.ndarray:
    """(len(LEVELS), ...) quantiles of samples along their first axis."""
    return np.quantile(samples, LEVELS, axis=0)


def _index(level: float) -> int:
    return int(np.argmin(np.abs(LEVELS - level)))


def score(quantiles: np.ndarray, obs: np.ndarray) -> dict:
    """CRPS and the 50 % / 90 % coverages of (L, ...) quantiles, over the entries where ``obs``
    (its shape ``...``) is observed."""
    ok = np.isfinite(obs)
    if not ok.any():
        return {"crps": None, "coverage_50": None, "coverage_90": None, "entries": 0}
    crps = quantile_crps(quantiles, obs)[ok]
    out = {"crps": float(crps.mean())}
    for name, (lo, hi) in (("coverage_50", (0.25, 0.75)), ("coverage_90", (0.05, 0.95))):
        low, high = quantiles[_index(lo)][ok], quantiles[_index(hi)][ok]
        out[name] = float(((low <= obs[ok]) & (obs[ok] <= high)).mean())
    out["entries"] = int(ok.sum())
    return out


# ----------------------------------------------------------------------------- classical

def fill_gaps(y: np.ndarray) -> np.ndarray:
    """``y`` (n,) with NaN filled by linear interpolation over the index (the ends by the nearest
    observation)."""
    ok = np.isfinite(y)
    if ok.all():
        return y
    if not ok.any():
        raise ValueError("no observed training value.")
    index = np.arange(len(y))
    return np.interp(index, index[ok], y[ok])


def _statsforecast(model: str) -> Univariate:
    def predict(y: np.ndarray, h: int, m: int) -> np.ndarray:
        from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

        if model == "arima":
            fitted = AutoARIMA(season_length=m, approximation=None)
        elif model == "ets":
            fitted = AutoETS(season_length=m)
        else:
            fitted = AutoTheta(season_length=m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fitted.forecast(y=y.astype(float), h=h, level=INTERVALS)
        lower = [out[f"lo-{level}"] for level in reversed(INTERVALS)]  # levels 0.01 .. 0.49
        upper = [out[f"hi-{level}"] for level in INTERVALS]  # 0.51 .. 0.99
        quantiles = np.stack([*lower, out["mean"], *upper]).astype(float)
        if not np.isfinite(quantiles).all():
            raise ValueError(f"{LABELS[model]} returned non-finite intervals.")
        return np.sort(quantiles, axis=0)
    return predict


def seasonal_naive(y: np.ndarray, h: int, m: int) -> np.ndarray:
    """The value ``m`` points earlier, ``N(y[n - m + k % m], s^2 (k // m + 1))`` at horizon
    ``k + 1``, ``s^2`` the mean square of the training's lag-``m`` differences."""
    m = m if len(y) > m else 1
    k = np.arange(h)
    mean = y[len(y) - m + k % m]
    diffs = y[m:] - y[:-m]
    sd = math.sqrt(float(np.mean(diffs**2))) * np.sqrt(k // m + 1)
    return gaussian_quantiles(mean, np.maximum(sd, 1e-12))


def climatology(y: np.ndarray, h: int, m: int) -> np.ndarray:
    """``N(mean, std^2)`` of the training values at every horizon."""
    return gaussian_quantiles(np.full(h, y.mean()), np.full(h, max(float(y.std()), 1e-12)))


UNIVARIATE: dict[str, Univariate] = {"arima": _statsforecast("arima"),
                                     "ets": _statsforecast("ets"),
                                     "theta": _statsforecast("theta"),
                                     "seasonal_naive": seasonal_naive,
                                     "climatology": climatology}


def random_walk(train_ts: np.ndarray, y: np.ndarray, future_ts: np.ndarray) -> np.ndarray:
    """A driftless Gaussian random walk from the last observed value of ``y`` (n,) (NaN where
    missing) at its time, with :func:`random_walk_sigma2`'s variance per unit time."""
    ok = np.isfinite(y)
    sigma2 = float(random_walk_sigma2(train_ts, y[:, None])[0])
    last = np.flatnonzero(ok)[-1]
    sd = np.sqrt(max(sigma2, 1e-24) * (future_ts - train_ts[last]))
    return gaussian_quantiles(np.full(len(future_ts), y[last]), sd)


# ----------------------------------------------------------------------------- exact laws

def simulated_law(name: str) -> dict:
    """The JSON beside a simulated series' CSV: its law, parameters and spacing."""
    return json.loads((DATA_DIR / "dev" / f"{name}.json").read_text())


def exact_quantiles(name: str, train_ts: np.ndarray, y: np.ndarray, future_ts: np.ndarray, *,
                    seed: int = 0) -> np.ndarray:
    """(len(LEVELS), h) quantiles of the simulated series ``name``'s law at ``future_ts`` given
    its values ``y`` (n,) at ``train_ts``."""
    law = simulated_law(name)
    p = law["parameters"]
    s, y_s = float(train_ts[-1]), float(y[-1])
    dt = future_ts - s
    if name == "ou":
        decay = np.exp(-p["theta"] * dt)
        return gaussian_quantiles(y_s * decay,
                                  p["sigma"] * np.sqrt((1 - decay**2) / (2 * p["theta"])))
    if name == "random_walk_drift":
        return gaussian_quantiles(y_s + p["mu"] * dt, p["sigma"] * np.sqrt(dt))
    if name == "seasonal_ou":
        theta, w = p["theta"], 2 * np.pi / p["period"]

        def mean_path(t):
            return p["amplitude"] * theta * (theta * np.sin(w * t) - w * np.cos(w * t)) \
                / (theta**2 + w**2)

        decay = np.exp(-theta * dt)
        return gaussian_quantiles(mean_path(future_ts) + decay * (y_s - mean_path(s)),
                                  p["sigma"] * np.sqrt((1 - decay**2) / (2 * theta)))
    if name == "cir":
        kappa, theta, sigma = p["kappa"], p["theta"], p["sigma"]
        c = sigma**2 * (1 - np.exp(-kappa * dt)) / (4 * kappa)
        df = 4 * kappa * theta / sigma**2
        nc = y_s * np.exp(-kappa * dt) / c
        return c[None] * stats.ncx2.ppf(LEVELS[:, None], df, nc[None])
    if name == "damped_oscillator":
        return _kalman_quantiles(np.array(law["Phi"]), np.array(law["Q"]), y,
                                 int(round(dt[-1] / law["spacing"])), len(future_ts))
    if name == "double_well":
        return _double_well_quantiles(p["sigma"], law["spacing"] / p["substeps"], y_s, dt, seed)
    raise ValueError(f"no exact law for {name!r}.")


def _kalman_quantiles(phi: np.ndarray, q: np.ndarray, x: np.ndarray, steps: int,
                      h: int) -> np.ndarray:
    """The Kalman filter of ``state_{k+1} = phi state_k + N(0, q)`` observing the first state
    component exactly (NaN: unobserved), started from the stationary law, then its predictive
    law of the first component 1 .. ``steps`` steps ahead (the last ``h`` of them)."""
    mean, cov = np.zeros(2), linalg.solve_discrete_lyapunov(phi, q)
    for k, value in enumerate(x):
        if k:
            mean, cov = phi @ mean, phi @ cov @ phi.T + q
        if np.isfinite(value):
            gain = cov[:, 0] / cov[0, 0]
            mean = mean + gain * (value - mean[0])
            cov = cov - np.outer(gain, cov[0])
            cov = (cov + cov.T) / 2
    means, sds = [], []
    for _ in range(steps):
        mean, cov = phi @ mean, phi @ cov @ phi.T + q
        means.append(mean[0])
        sds.append(math.sqrt(max(cov[0, 0], 0.0)))
    return gaussian_quantiles(np.array(means[-h:]), np.array(sds[-h:]))


def _double_well_quantiles(sigma: float, step: float, y_s: float, dt: np.ndarray,
                           seed: int) -> np.ndarray:
    """Euler-Maruyama paths of ``dy = (y - y^3) dt + sigma dW`` with ``step`` from ``y_s``."""
    rng = np.random.default_rng(seed)
    y = np.full(EULER_PATHS, y_s)
    out, t = [], 0.0
    for target in dt:
        n_steps = int(round((target - t) / step))
        for _ in range(n_steps):
            y = y + (y - y**3) * step + sigma * math.sqrt(step) * rng.standard_normal(y.shape)
        t = target
        out.append(y.copy())
    return sample_quantiles(np.stack(out, axis=1))  # (L, h)


# ----------------------------------------------------------------------------- one origin

def season_length(name: str) -> int:
    return SEASON_LENGTH[COLLECTION[name]["frequency"]]


def neuralsde_period(name: str, series: TimeSeries) -> float | None:
    """The season of a dated series' timestamps, in days; None for numeric times."""
    if series.time_origin is None:
        return None
    return PERIOD_DAYS.get(COLLECTION[name]["frequency"])


def origin_quantiles(name: str, series: TimeSeries, cut: int, forecaster: str, *,
                     iters: int | None = None, samples: int = 200, seed: int = 0,
                     params: dict | None = None) -> np.ndarray:
    """The quantiles (len(LEVELS), h, P, d) that ``forecaster`` gives at origin ``cut`` of
    ``series`` (the collection's ``name``) for its ``h`` points after it, from ``series``'
    first ``cut`` points only."""
    h = COLLECTION[name]["horizon"]
    ts = series.ts.numpy()
    ys = series.ys.numpy()
    train_ts, train_ys = ts[:cut].copy(), ys[:cut].copy()
    future_ts = ts[cut:cut + h].copy()
    if len(future_ts) != h:
        raise ValueError(f"origin {cut} leaves fewer than h={h} points.")
    if forecaster == "neuralsde":
        return _neuralsde_quantiles(name, series.head(cut), future_ts, iters=iters,
                                    samples=samples, seed=seed, params=params)
    if forecaster == "exact" and not COLLECTION[name]["simulated"]:
        raise ValueError("the exact law is known for the simulated series only.")
    m = season_length(name)
    _, n_paths, dim = train_ys.shape
    out = np.empty((len(LEVELS), h, n_paths, dim))
    for p in range(n_paths):
        for c in range(dim):
            y = train_ys[:, p, c]
            if forecaster == "random_walk":
                out[:, :, p, c] = random_walk(train_ts, y, future_ts)
            elif forecaster == "exact":
                out[:, :, p, c] = exact_quantiles(name, train_ts, y, future_ts, seed=seed + cut)
            else:
                out[:, :, p, c] = UNIVARIATE[forecaster](fill_gaps(y), h, m)
    return out


def _neuralsde_quantiles(name: str, train: TimeSeries, future_ts: np.ndarray, *,
                         iters: int | None, samples: int, seed: int,
                         params: dict | None = None) -> np.ndarray:
    import neuralsde
    from neuralsde.forecast_result import PanelForecast

    settings = {"seed": seed}  # the season from the dates, as the Forecaster's default
    if iters is not None:
        settings["iters"] = iters
    settings.update(params or {})  # --params, --time-grid
    model = neuralsde.Forecaster(**settings).fit(train)
    CHOSEN.append(model.selection_["members"] if model.selection_ else ["given"])
    CANDIDATES.append({r["key"]: (r["score"] if r["score"] is not None
                                  and np.isfinite(r["score"]) else None)  # None: refused
                       for r in model.selection_["candidates"]} if model.selection_ else {})
    result = model.forecast(None, data=train, times=future_ts, samples=samples)
    forecasts = list(result.values()) if isinstance(result, PanelForecast) else [result]
    paths = np.stack([f.samples for f in forecasts], axis=2)  # (S, h, P, d)
    if not np.isfinite(paths).all():
        raise ValueError("the forecast has non-finite sample paths.")
    return sample_quantiles(paths)


# ----------------------------------------------------------------------------- one series

def run_series(name: str, forecasters: list[str], *, n_origins: int, iters: int | None,
               samples: int, seed: int, params: dict | None = None) -> dict:
    """Every forecaster of ``forecasters`` at every origin of ``name``; its JSON entry."""
    entry = COLLECTION[name]
    series = load_series(name)
    h = entry["horizon"]
    origins = tiling_origins(series.n_points, h, n_origins)
    obs = series.ys.numpy()
    result = {"kind": entry["kind"], "frequency": entry["frequency"], "horizon": h,
              "season_length": season_length(name),
              "period": neuralsde_period(name, series), "points": series.n_points,
              "groups": series.n_paths, "channels": list(series.names), "origins": origins,
              "forecasters": {}}
    for forecaster in forecasters:
        if forecaster == "exact" and not entry["simulated"]:
            continue
        start_all = time.perf_counter()
        CHOSEN.clear()
        CANDIDATES.clear()
        try:
            scores, seconds = [], []
            for cut in origins:
                start = time.perf_counter()
                quantiles = origin_quantiles(name, series, cut, forecaster, iters=iters,
                                             samples=samples, seed=seed, params=params)
                seconds.append(time.perf_counter() - start)
                scores.append(score(quantiles, obs[cut:cut + h]))
        except Exception as err:  # one failing forecaster must not lose the others' scores
            result["forecasters"][forecaster] = {"error": f"{type(err).__name__}: {err}"}
            print(f"  {forecaster:15s} failed: {type(err).__name__}: {err}", flush=True)
            continue
        entries = sum(s["entries"] for s in scores)
        average = {key: sum(s[key] * s["entries"] for s in scores if s["entries"]) / entries
                   for key in ("crps", "coverage_50", "coverage_90")}
        result["forecasters"][forecaster] = {
            **average, "crps_by_origin": [s["crps"] for s in scores], "entries": entries,
            "fit_seconds": seconds}
        if forecaster == "neuralsde":
            result["forecasters"][forecaster]["chosen"] = list(CHOSEN)
            result["forecasters"][forecaster]["candidates"] = list(CANDIDATES)
        print(f"  {forecaster:15s} CRPS {average['crps']:.4g}  "
              f"{time.perf_counter() - start_all:.1f} s", flush=True)
    reference = result["forecasters"].get(REFERENCE, {}).get("crps")
    for scores in result["forecasters"].values():
        if "crps" in scores:
            scores["relative_crps"] = (scores["crps"] / reference
                                       if reference and reference > 0 else None)
    return result


# ----------------------------------------------------------------------------- aggregate, tables

def aggregate(result: dict) -> dict:
    """Per forecaster and group of series ("real", "simulated", "all"), the geometric mean of
    the relative CRPS over the series where it has one, with their number."""
    out = {}
    for forecaster in _columns(result):
        out[forecaster] = {}
        for group in ("real", "simulated", "all"):
            values = [entry["forecasters"][forecaster]["relative_crps"]
                      for entry in result["series"].values()
                      if (group == "all" or entry["kind"] == group)
                      and (entry["forecasters"].get(forecaster) or {}).get("relative_crps")]
            out[forecaster][group] = {
                "geometric_mean_relative_crps": (float(np.exp(np.mean(np.log(values))))
                                                 if values else None),
                "series": len(values)}
    return out


def _columns(result: dict) -> list[str]:
    present = {f for entry in result["series"].values() for f in entry["forecasters"]}
    return [f for f in FORECASTERS if f in present]


def _value(entry: dict, forecaster: str, key: str):
    return (entry["forecasters"].get(forecaster) or {}).get(key)


def text_tables(result: dict) -> str:
    """The relative CRPS (best, exact aside, marked ``*``; ``x``: failed), the coverages and the
    aggregates, as plain text."""
    columns = _columns(result)
    width = 22
    head = f"{'series':{width}s}" + "".join(f"{LABELS[f]:>11s}" for f in columns) \
        + f"{'s-naive CRPS':>14s}"
    lines = ["CRPS relative to seasonal naive, averaged over origins, horizons, channels and "
             "groups (* best, exact aside)", head]
    for name, entry in result["series"].items():
        values = {f: _value(entry, f, "relative_crps") for f in columns}
        ranked = {f: v for f, v in values.items() if v is not None and f != "exact"}
        best = min(ranked, key=ranked.get) if ranked else None
        row = f"{name:{width}s}"
        for f in columns:
            if "error" in (entry["forecasters"].get(f) or {}):
                text = "x"
            elif values[f] is None:
                text = "-"
            else:
                text = f"{values[f]:.3f}" + ("*" if f == best else " ")
            row += f"{text:>11s}"
        reference = _value(entry, REFERENCE, "crps")
        row += f"{reference:>14.4g}" if reference is not None else f"{'-':>14s}"
        lines.append(row)
    lines += ["", "coverage of the 50 % / 90 % central intervals",
              f"{'series':{width}s}" + "".join(f"{LABELS[f]:>11s}" for f in columns)]
    for name, entry in result["series"].items():
        row = f"{name:{width}s}"
        for f in columns:
            c50, c90 = _value(entry, f, "coverage_50"), _value(entry, f, "coverage_90")
            row += f"{'-' if c50 is None else f'{c50:.2f}/{c90:.2f}':>11s}"
        lines.append(row)
    lines += ["", "geometric mean of the relative CRPS (number of series)",
              f"{'series':{width}s}" + "".join(f"{LABELS[f]:>11s}" for f in columns)]
    for group in ("real", "simulated", "all"):
        row = f"{group:{width}s}"
        for f in columns:
            one = result["aggregate"][f][group]
            value = one["geometric_mean_relative_crps"]
            text = "-" if value is None else f"{value:.3f} ({one['series']})"
            row += f"{text:>11s}"
        lines.append(row)
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main

def main(*, series: list[str] | None = None, forecasters: list[str] | None = None,
         origins: int | None = None, iters: int | None = None, samples: int = 200,
         seed: int = 0, quick: bool = False, out=DEFAULT_OUT,
         time_grid: float | None = None, params: dict | None = None) -> dict:
    """Run the benchmark and write its JSON to ``out``; returns what it wrote.

    Args:
        series: names of :data:`~neuralsde.data.collection.COLLECTION` (default all).
        forecasters: names of :data:`FORECASTERS` (default all), or ``"classical"`` for all but
            neuralsde; seasonal naive always runs.
        origins: origins per series (default 3; ``quick``: 1, the last).
        iters: neuralsde's training iterations (default the Forecaster's; ``quick``: 60).
        samples: neuralsde's sample paths per forecast.
        seed: neuralsde's seed (and the double well's Euler-Maruyama seed, plus the origin).
        quick: one origin and 60 iterations unless ``origins`` / ``iters`` are given.
        time_grid: neuralsde's ``time_grid`` (default the Forecaster's).
        params: more of neuralsde's settings, e.g. ``{"dt": 0.5}`` (default the Forecaster's).
        out: the JSON file.
    """
    names = list(COLLECTION) if series is None else list(series)
    unknown = [n for n in names if n not in COLLECTION]
    if unknown:
        raise ValueError(f"series {unknown} are not in the collection; expected some of "
                         f"{', '.join(COLLECTION)}.")
    chosen = list(FORECASTERS) if forecasters is None else list(forecasters)
    if "classical" in chosen:
        chosen = [f for f in chosen if f != "classical"] + list(CLASSICAL)
    unknown = [f for f in chosen if f not in FORECASTERS]
    if unknown:
        raise ValueError(f"forecasters {unknown} are not supported; expected some of "
                         f"{', '.join(FORECASTERS)}.")
    if REFERENCE not in chosen:
        chosen.append(REFERENCE)
    chosen = [f for f in FORECASTERS if f in chosen]
    if origins is None:
        origins = QUICK["origins"] if quick else 3
    if iters is None and quick:
        iters = QUICK["iters"]
    settings = {"series": names, "forecasters": chosen, "origins": origins, "iters": iters,
                "samples": samples, "seed": seed, "quick": quick, "out": str(out),
                "time_grid": time_grid, "params": params}
    params = {**(params or {}), **({} if time_grid is None else {"time_grid": time_grid})}
    start = time.perf_counter()
    result = {"machine": machine(load_before=os.getloadavg()), "settings": settings,
              "levels": LEVELS.tolist(), "series": {}}
    for name in names:
        print(f"{name}: h = {COLLECTION[name]['horizon']}, m = {season_length(name)}", flush=True)
        result["series"][name] = run_series(name, chosen, n_origins=origins, iters=iters,
                                            samples=samples, seed=seed, params=params)
    result["aggregate"] = aggregate(result)
    result["wall_seconds"] = time.perf_counter() - start
    result["machine"]["load_after"] = os.getloadavg()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    print()
    print(text_tables(result))
    print(f"\n{result['wall_seconds']:.0f} s in all; wrote {out}")
    return result


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [s.strip() for s in text.split(",") if s.strip()]


def parse_args(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--series", help="comma-separated names of the collection (default all)")
    p.add_argument("--forecasters", help=f"comma-separated, of {', '.join(FORECASTERS)}, or "
                   "'classical' (all but neuralsde); default all; seasonal naive always runs")
    p.add_argument("--origins", type=int, help="origins per series (default 3; --quick: 1)")
    p.add_argument("--iters", type=int, help="neuralsde's training iterations (default the "
                   "Forecaster's; --quick: 60)")
    p.add_argument("--samples", type=int, default=200, help="neuralsde's paths per forecast")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="one origin and 60 iterations")
    p.add_argument("--time-grid", type=float, help="neuralsde's time_grid (default the "
                   "Forecaster's; 0: exact times)")
    p.add_argument("--params", type=json.loads, help="more of neuralsde's Forecaster settings "
                   "as JSON, e.g. '{\"dt\": 0.5}' (default the Forecaster's)")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    args = p.parse_args(argv)
    return {**vars(args), "series": _names(args.series), "forecasters": _names(args.forecasters)}


if __name__ == "__main__":
    main(**parse_args())
