"""Our Euler–Maruyama against torchsde's, side by side in one run: the same fixed-step scheme
(steps of ``dt``, outputs interpolated between them), ours drawing every increment in one
tensor draw, torchsde's querying a Brownian interval step by step; and ours with drift and
diffusion as one stacked network (the default, :mod:`neuralsde.fused`) against ours calling
them one after the other (``unstacked``).

    python benchmarks/euler_backend.py     # writes benchmarks/results/euler_backend.json
    python benchmarks/euler_backend.py --series airline --iters 5 --repeats 1 --samples 200 \
        --out /tmp/euler_backend.json      # a smoke run

For each development series, the two fits of the automatic configuration with the
configuration it chooses on that series (log-trend with the season removed, one latent
channel, a season's window, at most 32 observations): a member's (a quarter of the spacing, 32
windows) and a validation fit's (half the spacing, 16 windows), each trained ``--iters``
iterations with each solver, alternating, ``--repeats`` times, in this process with one torch
thread. Cost: the median seconds of an iteration; ``ratio`` is ours against torchsde's,
``ratio_stacked`` ours against ours unstacked. Law: the member fitted with ours forecasts
the series' next season with each solver from five seeds; the mean over those of the paths'
standard deviation, and of their mean, should agree within Monte Carlo error.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

import neuralsde as ns
from neuralsde.data.collection import load_series
from neuralsde.machine import machine
from neuralsde.sde import NeuralDSDE
from neuralsde.solvers import api

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package
from results_io import write_json  # noqa: E402

#: The series and their windows (a season of observations, at most 32).
SERIES = {"co2": 32, "airline": 12}
KINDS = {"member": {"dt": 0.25, "windows": 32}, "validation": {"dt": 0.5, "windows": 16}}
SOLVERS = ("ours", "unstacked", "torchsde")


def _use(solver: str) -> None:
    """Route ``method="euler"`` with backprop to ``solver``."""
    api.BACKENDS["euler-fixed"] = api._torchsde if solver == "torchsde" else _OURS
    NeuralDSDE.stacked_fields = _unstacked if solver == "unstacked" else _STACKED


def _unstacked(model, times, t0=None):
    return None


_OURS = api.BACKENDS["euler-fixed"]
_STACKED = NeuralDSDE.stacked_fields


def _forecaster(window: int, kind: str, iters: int) -> ns.Forecaster:
    return ns.Forecaster(scaling="log-trend-season", state_dim=2, window_length=window,
                         iters=iters, ensemble=1, seed=0, **KINDS[kind])


def _iteration_seconds(model: ns.Forecaster) -> float:
    return float(np.median([r["seconds"] for r in model.history_ if not r.get("event")]))


def one_series(name: str, *, iters: int, repeats: int, samples: int) -> dict:
    series, window = load_series(name), SERIES[name]
    out = {"window_length": window, "iters": iters}
    for kind in KINDS:
        seconds = {s: [] for s in SOLVERS}
        for _ in range(repeats):
            for solver in SOLVERS:
                _use(solver)
                seconds[solver].append(_iteration_seconds(
                    _forecaster(window, kind, iters).fit(series)))
        med = {s: float(np.median(v)) for s, v in seconds.items()}
        out[kind] = {"iteration_seconds": seconds, "median": med,
                     "ratio": med["ours"] / med["torchsde"],
                     "ratio_stacked": med["ours"] / med["unstacked"]}
    _use("ours")
    model = _forecaster(window, "member", iters).fit(series)
    law = {}
    for solver in ("ours", "torchsde"):
        _use(solver)
        paths = [model.forecast(window, samples=samples, seed=s).samples for s in range(5)]
        law[solver] = {"sd": float(np.mean([p.std(axis=0).mean() for p in paths])),
                       "mean": float(np.mean([p.mean(axis=0).mean() for p in paths]))}
    _use("ours")
    out["law"] = law
    return out


def main(series: list[str] | None = None, *, iters: int = 40, repeats: int = 2,
         samples: int = 2000, out: str | None = "benchmarks/results/euler_backend.json") -> dict:
    torch.set_num_threads(1)
    start = time.perf_counter()
    result = {"machine": machine(), "torch_threads": 1, "samples": samples, "series": {}}
    for name in series or list(SERIES):
        result["series"][name] = one_series(name, iters=iters, repeats=repeats, samples=samples)
    result["wall_seconds"] = round(time.perf_counter() - start, 1)
    print(f"{'series':<9}{'fit':<12}{'ms per iteration, ours / unstacked / torchsde':>48}"
          f"{'ratio':>7}{'stacked':>9}{'forecast sd, ours / torchsde':>32}")
    for name, r in result["series"].items():
        for kind in KINDS:
            m = {s: f"{1000 * v:.1f}" for s, v in r[kind]["median"].items()}
            law = (f"{r['law']['ours']['sd']:.4g} / {r['law']['torchsde']['sd']:.4g}"
                   if kind == "member" else "")
            print(f"{name:<9}{kind:<12}{' / '.join(m[s] for s in SOLVERS):>48}"
                  f"{r[kind]['ratio']:>7.2f}{r[kind]['ratio_stacked']:>9.2f}{law:>32}")
    write_json(result, out)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", help=f"comma-separated, of {', '.join(SERIES)} (default all)")
    parser.add_argument("--iters", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--samples", type=int, default=2000, help="forecast paths per seed")
    parser.add_argument("--out", default="benchmarks/results/euler_backend.json")
    args = parser.parse_args()
    main(args.series.split(",") if args.series else None, iters=args.iters,
         repeats=args.repeats, samples=args.samples, out=args.out)
    sys.exit(0)
