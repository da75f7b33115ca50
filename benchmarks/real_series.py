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

from neuralsde.machine import machine

ROOT = Path(__file__).resolve().parents[1]
#: The series and the flags a user would give them: the period of a seasonal series (days, for
#: dates), and the log scalings for positive series whose changes scale with their level, with
#: the trend removed on the log scale for co2, whose rise accelerates (an exponential bends with
#: it where a straight line does not). lynx's period is its famous cycle, read off the training
#: part alone: the highest periodogram peak of its log, 9.58 years (what ``--period auto``
#: finds, :func:`neuralsde.data.period.dominant_period`).
SERIES = {
    "co2": ["--data", "data/co2.csv", "--period", "365.25", "--scaling", "log-trend"],
    "elnino": ["--data", "data/elnino.csv", "--period", "365.25"],
    "lynx": ["--data", "data/lynx.csv", "--period", "9.6", "--scaling", "log"],
    "airline": ["--data", "data/airline.csv", "--period", "365.25", "--scaling", "log"],
}
KEYS = ("holdout_crps", "baseline_holdout_crps", "climatology_holdout_crps", "holdout_coverage_90",
        "holdout_coverage_90_if_calibrated", "holdout_mse", "wall_seconds", "train_seconds",
        "iterations")


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


def _if_calibrated(row: dict) -> str:
    """The 5 % and 95 % quantiles of the coverage a calibrated forecast would get."""
    q = row.get("holdout_coverage_90_if_calibrated")
    return "-" if not q else f"{q['0.05']:.2f}-{q['0.95']:.2f}"


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
                  f"{row['holdout_coverage_90']:.2f} (5-95 % if calibrated: "
                  f"{_if_calibrated(row)}) | {row['wall_seconds']:.0f} s", flush=True)
    result = {"machine": machine(), "settings": vars(args), "rows": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
