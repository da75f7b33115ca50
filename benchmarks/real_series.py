"""The development series with the CLI's defaults and ``--holdout 0.2``: the forecast's CRPS
against a Gaussian random walk's and climatology's (both fitted on the training part), the 90 %
band's coverage and the wall time of each run.

    python benchmarks/real_series.py                  # writes benchmarks/results/real_series.json
    python benchmarks/real_series.py --series lynx --iters 50   # one series, a short run
    python benchmarks/real_series.py --seed 1 --out /tmp/real_series_seed1.json   # another seed

Each series runs in its own process (``python -m neuralsde.fit``) into a temporary folder; the
table and the JSON take the numbers from its ``metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from neuralsde.machine import machine

ROOT = Path(__file__).resolve().parents[1]
#: The series and the flags a user would give them: the period of a seasonal series (days, for
#: dates), the trend scaling for a series that trends, and the log scalings for positive series
#: whose changes scale with their level. lynx's period is its famous cycle, read off the training
#: part alone: the peak of the periodogram of its log, :func:`periodogram_peak` (9.58 years).
SERIES = {
    "co2": ["--data", "data/co2.csv", "--period", "365.25", "--scaling", "trend"],
    "elnino": ["--data", "data/elnino.csv", "--period", "365.25"],
    "lynx": ["--data", "data/lynx.csv", "--period", "9.6", "--scaling", "log"],
    "airline": ["--data", "data/airline.csv", "--period", "365.25", "--scaling", "log"],
}
KEYS = ("holdout_crps", "baseline_holdout_crps", "climatology_holdout_crps", "holdout_coverage_90",
        "holdout_mse", "wall_seconds", "train_seconds", "iterations")


def periodogram_peak(values, spacing: float = 1.0, pad: int = 8) -> float:
    """The period (in units of ``spacing``) of the largest peak of the periodogram of
    ``values`` after removing their mean, zero-padded to ``pad`` times their length so the
    frequency grid is fine; the zero frequency is skipped.

    For a quasi-periodic series (lynx's ten-year cycle) this is the ``--period`` a user reads off
    the training part before fitting.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size < 4 or not np.all(np.isfinite(x)):
        raise ValueError(f"values must be a finite 1-d array of at least 4 points; got shape "
                         f"{x.shape}.")
    n = pad * x.size
    power = np.abs(np.fft.rfft(x - x.mean(), n)) ** 2
    k = 1 + int(np.argmax(power[1:]))
    return spacing * n / k


def run_one(name: str, extra: list[str], out: Path) -> dict:
    """One CLI run; returns the metrics of :data:`KEYS` and the command."""
    command = [sys.executable, "-m", "neuralsde.fit", *SERIES[name], "--holdout", "0.2",
               "--quiet", "--out", str(out), *extra]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    seconds = time.perf_counter() - start
    metrics = json.loads((out / "metrics.json").read_text())
    row = {"series": name, "command": " ".join(["python -m neuralsde.fit", *SERIES[name],
                                                "--holdout 0.2", *extra]),
           "process_seconds": seconds}
    row.update({key: metrics.get(key) for key in KEYS})
    return row


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--series", default=",".join(SERIES), help="comma-separated series to run")
    p.add_argument("--iters", type=int, help="passed on as --iters (default: the CLI's)")
    p.add_argument("--seed", type=int, help="passed on as --seed (default: the CLI's, 0)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "real_series.json"))
    args = p.parse_args(argv)
    extra = ["--iters", str(args.iters)] if args.iters else []
    if args.seed is not None:
        extra += ["--seed", str(args.seed)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.series.split(","):
            row = run_one(name, extra, Path(tmp) / name)
            rows.append(row)
            print(f"{name:8s} CRPS {row['holdout_crps']:.4g} | random walk "
                  f"{row['baseline_holdout_crps']:.4g} | climatology "
                  f"{row['climatology_holdout_crps']:.4g} | 90% coverage "
                  f"{row['holdout_coverage_90']:.2f} | {row['wall_seconds']:.0f} s", flush=True)
    result = {"machine": machine(), "settings": vars(args), "rows": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
