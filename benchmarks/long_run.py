"""The long run and the panel with the defaults: does ``neuralsde.Forecaster()`` learn a law, not
just the next few steps?

* ``double_well``: the collection's bistable series (``dy = (y - y^3) dt + 0.5 dW``, 5,000
  observations 0.5 apart; ``data/dev/double_well.json``). The forecaster is fitted with its
  defaults on all of it, then forecasts ``--far`` time units past the end; the marginal of its
  paths there is compared with the stationary law (density proportional to
  ``exp((y^2 - y^4 / 2) / sigma^2)``) by the Wasserstein-1 distance ``int |F_paths - F|``, beside
  the same distance for as many Euler-Maruyama paths of the true SDE from the same start (what
  the sample size and the horizon allow).
* ``ou_panel``: ``--groups`` exact Ornstein-Uhlenbeck paths (``dy = (1 - y) dt + 0.5 dW`` from
  ``y(0) = 3``, 31 times on ``[0, 3]``, as ``experiments/ou_panel.py`` simulates them), fitted
  with the defaults; then the model's paths from ``y(0) = 3`` give a mean and a standard
  deviation at every observed time, compared with the exact ones at every ``t >= 1`` (largest
  relative error; the panel's own mean and standard deviation beside them).

Usage::

    python benchmarks/long_run.py                      # both, with the defaults (minutes)
    python benchmarks/long_run.py --quick              # smoke run with 30 iterations

Prints a markdown table and writes ``benchmarks/results/long_run.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import neuralsde as ns
from neuralsde.data import TimeSeries
from neuralsde.data.collection import load_series

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "long_run.json"
#: Time units past the end of the double well's data where its marginal is compared.
FAR = 200.0


def _ou_panel_module():
    spec = importlib.util.spec_from_file_location("ou_panel", ROOT / "experiments" / "ou_panel.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stationary_cdf(grid: np.ndarray, sigma: float) -> np.ndarray:
    """The double well's stationary CDF on ``grid`` (increasing, wide enough to hold the law)."""
    log_density = (grid**2 - grid**4 / 2) / sigma**2
    density = np.exp(log_density - log_density.max())
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(grid))])
    return cdf / cdf[-1]


def wasserstein_to(samples: np.ndarray, grid: np.ndarray, cdf: np.ndarray) -> float:
    """``int |F_samples(y) - F(y)| dy`` over ``grid`` (trapezoids)."""
    empirical = np.searchsorted(np.sort(samples), grid, side="right") / len(samples)
    gap = np.abs(empirical - cdf)
    return float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(grid)))


def euler_paths(y0: float, sigma: float, far: float, n: int, seed: int, step: float = 0.005):
    """``n`` Euler-Maruyama paths of the true double well from ``y0``, at ``far``."""
    rng = np.random.default_rng(seed)
    y = np.full(n, y0)
    for _ in range(int(round(far / step))):
        y = y + (y - y**3) * step + sigma * math.sqrt(step) * rng.standard_normal(n)
    return y


def double_well(params: dict, *, far: float, samples: int, seed: int) -> dict:
    series = load_series("double_well")
    law = json.loads((ROOT / "data" / "dev" / "double_well.json").read_text())
    sigma = law["parameters"]["sigma"]
    start = time.perf_counter()
    model = ns.Forecaster(**params, seed=seed).fit(series)
    fit_seconds = time.perf_counter() - start
    end = float(series.ts[-1])
    paths = model.forecast(times=[end + far], samples=samples).samples[:, -1, 0]
    grid = np.linspace(-3.0, 3.0, 6001)
    cdf = stationary_cdf(grid, sigma)
    y_end = float(series.ys[-1, 0, 0])
    truth = euler_paths(y_end, sigma, far, samples, seed)
    return {"points": series.n_points, "far": far, "samples": samples,
            "fit_seconds": round(fit_seconds, 1),
            "members": (model.selection_ or {}).get("members"),
            "w1_model": wasserstein_to(paths, grid, cdf),
            "w1_true_sde_paths": wasserstein_to(truth, grid, cdf),
            "share_in_right_well_model": float((paths > 0).mean()),
            "share_in_right_well_law": 0.5}


def ou_panel(params: dict, *, groups: int, samples: int, seed: int) -> dict:
    ou = _ou_panel_module()
    series = ou.simulate_ou(theta=ou.THETA, mu=ou.MU, sigma=ou.SIGMA, y0=ou.Y0, t_end=ou.T_END,
                            points=31, groups=groups, seed=seed)
    start = time.perf_counter()
    model = ns.Forecaster(**params, seed=seed).fit(series)
    fit_seconds = time.perf_counter() - start
    first = TimeSeries(ts=series.ts[:1], ys=series.ys[:1, :1], mask=series.mask[:1, :1],
                       names=series.names, time_name=series.time_name)
    ts = series.ts.numpy()
    result = model.forecast(times=ts[1:], data=first, samples=samples)
    paths = result.samples[:, :, 0]  # (S, T - 1)
    model_errors = ou.moment_errors(ts[1:], paths.mean(axis=0), paths.std(axis=0, ddof=1))
    data = series.ys[:, :, 0].numpy()
    panel_errors = ou.moment_errors(ts, data.mean(axis=1), data.std(axis=1, ddof=1))
    return {"groups": groups, "points": series.n_points, "samples": samples,
            "fit_seconds": round(fit_seconds, 1),
            "members": (model.selection_ or {}).get("members"),
            "note": (model.selection_ or {}).get("note"),
            "mean_max_rel_error": model_errors["mean_max_rel_error"],
            "std_max_rel_error": model_errors["std_max_rel_error"],
            "panel_mean_max_rel_error": panel_errors["mean_max_rel_error"],
            "panel_std_max_rel_error": panel_errors["std_max_rel_error"]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 iterations, fewer paths")
    parser.add_argument("--groups", type=int, default=200, help="OU panel paths (default 200)")
    parser.add_argument("--far", type=float, default=FAR,
                        help=f"double well: time units past the data (default {FAR:g})")
    parser.add_argument("--samples", type=int, default=2000, help="forecast paths (default 2000)")
    parser.add_argument("--only", choices=("double_well", "ou_panel"), help="run one part")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--params", type=json.loads, default={},
                        help="Forecaster settings as JSON instead of the defaults, e.g. "
                             "'{\"window_length\": 64}'")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    params = {"quiet": True, **({"iters": 30} if args.quick else {}), **args.params}
    samples = 200 if args.quick else args.samples
    result = {"machine": {"python": platform.python_version(), "torch": torch.__version__,
                          "cpu": platform.processor() or platform.machine(), "threads": 1},
              "settings": {**vars(args), "samples": samples}, "parts": {}}
    if args.only in (None, "double_well"):
        result["parts"]["double_well"] = double_well(params, far=args.far, samples=samples,
                                                     seed=args.seed)
    if args.only in (None, "ou_panel"):
        result["parts"]["ou_panel"] = ou_panel(params, groups=args.groups, samples=samples,
                                               seed=args.seed)
    print("| part | measure | value |\n|---|---|---:|")
    for name, part in result["parts"].items():
        for key, value in part.items():
            print(f"| {name} | {key} | {value:.4g} |" if isinstance(value, float)
                  else f"| {name} | {key} | {value} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
