"""Cost and skill of the real-series fit under two settings, side by side in one run: today's
defaults against a candidate (solver, step, iterations...), on the development series with
``--holdout 0.2``.

    python benchmarks/fit_speed.py --candidate "--method euler --dt 0.25"
    python benchmarks/fit_speed.py --series elnino --iters 30 --out /tmp/speed.json  # a smoke run
    python benchmarks/fit_speed.py --series elnino,airline --baseline "--time-grid 0" \
        --candidate "" --out benchmarks/results/fit_speed_time_grid.json

The row labelled ``today`` runs the baseline flags (none by default: today's defaults). For
each series and setting one CLI run (``python -m neuralsde.fit``, in its own process, one
after the other): training seconds per iteration, solver evaluations per iteration, the holdout
CRPS (against the random walk's) and the 90 % band's coverage. Then the same fitted model
forecasts the holdout again with a 4x finer solver (a quarter of the fixed step, or a quarter of
the adaptive tolerances): a fit that lives in its scheme's error forecasts differently there, so
``fine_crps_change`` (relative change of the holdout CRPS) measures whether training and
forecasting agree.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from real_series import SERIES  # noqa: E402 - the development series and their flags
from results_io import write_json  # noqa: E402

from neuralsde import load_run  # noqa: E402
from neuralsde.machine import machine  # noqa: E402
from neuralsde.metrics import crps_ensemble  # noqa: E402


def _finer(config):
    """The solver configuration with a 4x finer step (fixed) or 4x tighter tolerances."""
    if config.adaptive:
        return dataclasses.replace(config, rtol=config.rtol / 4, atol=config.atol / 4)
    return dataclasses.replace(config, dt=config.dt / 4)


def _fine_crps(folder: Path) -> float:
    """The holdout CRPS of the run's model forecasting with a 4x finer solver."""
    run = load_run(folder)
    forecaster = run.forecaster
    for member in {id(m): m for m in [forecaster, *forecaster.members_]}.values():
        member.solve_config_ = _finer(member.solve_config_)  # every member of a mixture
    times = run.series.ts[run.n_train:].numpy()
    paths = forecaster.forecast(None, times=times).samples
    observed = run.series.ys[run.n_train:, 0, :].numpy()
    return crps_ensemble(paths, observed)


def run_one(name: str, flags: list[str], folder: Path) -> dict:
    """One CLI run of ``name`` with ``flags``; its numbers."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "neuralsde.fit", *SERIES[name], "--holdout", "0.2",
                    "--quiet", "--out", str(folder), *flags], check=True, cwd=ROOT)
    wall = time.perf_counter() - start
    m = json.loads((folder / "metrics.json").read_text())
    iters = max(m["iterations"], 1)
    solver = m.get("solver") or {}
    fine = _fine_crps(folder)
    return {"wall_seconds": wall, "train_seconds": m["train_seconds"],
            "ms_per_iteration": 1000 * m["train_seconds"] / iters, "iterations": iters,
            "f_evals_per_iteration": solver.get("f_evals", np.nan) / iters,
            "g_evals_per_iteration": solver.get("g_evals", np.nan) / iters,
            "holdout_crps": m["holdout_crps"], "random_walk_crps": m["baseline_holdout_crps"],
            "coverage_90": m["holdout_coverage_90"], "fine_crps": fine,
            "fine_crps_change": fine / m["holdout_crps"] - 1}


def main(series: list[str] | None = None, candidate: str = "--method euler --dt 0.25",
         iters: int | None = None, out: str | None = "benchmarks/results/fit_speed.json",
         baseline: str = ""):
    """Run every series under the baseline (default: today's defaults, no flags) and the
    candidate; print the table and write the JSON (None: none)."""
    series = series or list(SERIES)
    common = [] if iters is None else ["--iters", str(iters)]
    settings = {"today": common + shlex.split(baseline),
                "candidate": common + shlex.split(candidate)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in series:
            for label, flags in settings.items():
                row = {"series": name, "setting": label, "flags": flags,
                       **run_one(name, flags, Path(tmp) / f"{name}-{label}")}
                rows.append(row)
                print(f"{name:8s} {label:9s} {row['ms_per_iteration']:8.1f} ms/it "
                      f"{row['train_seconds']:7.1f} s  CRPS {row['holdout_crps']:9.4g} "
                      f"(rw {row['random_walk_crps']:.4g})  cov90 {row['coverage_90']:.3f}  "
                      f"4x finer CRPS {row['fine_crps_change']:+.1%}", flush=True)
    print("\nratios candidate / today:")
    for name in series:
        a, b = (next(r for r in rows if r["series"] == name and r["setting"] == s)
                for s in ("today", "candidate"))
        print(f"{name:8s} cost per iteration {b['ms_per_iteration'] / a['ms_per_iteration']:.2f}"
              f"  CRPS {b['holdout_crps'] / a['holdout_crps']:.3f}  coverage "
              f"{a['coverage_90']:.3f} -> {b['coverage_90']:.3f}")
    result = {"baseline": baseline, "candidate": candidate, "iters": iters, "rows": rows,
              "machine": machine()}
    write_json(result, out)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default=",".join(SERIES))
    parser.add_argument("--candidate", default="--method euler --dt 0.25")
    parser.add_argument("--iters", type=int, default=None)
    parser.add_argument("--baseline", default="", help="flags of the baseline (default: none)")
    parser.add_argument("--out", default="benchmarks/results/fit_speed.json")
    args = parser.parse_args()
    main(args.series.split(","), args.candidate, args.iters, args.out, args.baseline)
