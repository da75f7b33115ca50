"""Whole command-line runs with ``--holdout 0.2`` and the defaults, with the automatic
configuration's fits in one process (``--jobs 1``) and shared by the machine's cores (the
default), side by side in one run: wall seconds from the start of the process to its end, and
the holdout CRPS and 90 % coverage (the same with either: no number depends on ``--jobs``).

    python benchmarks/cli_runs.py          # writes benchmarks/results/cli_runs.json
    python benchmarks/cli_runs.py --iters 6 --windows 4 --out /tmp/cli.json   # a smoke run

The series: airline (144 monthly points, a yearly season from the dates), co2 (2,284 weekly
points, a yearly season) and the first 300 points of the simulated OU series (plain-number
times, no season). Runs go one at a time, alternating the two ways.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from neuralsde._workers import default_jobs
from neuralsde.machine import machine

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package
from results_io import write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: name, CSV (relative to the repository), first rows kept (None: all), wall target in seconds.
SERIES = (("airline", "data/airline.csv", None, 30.0), ("co2", "data/co2.csv", None, 60.0),
          ("ou_300", "data/dev/ou.csv", 300, 20.0))


def _csv(path: str, rows: int | None, tmp: Path) -> Path:
    if rows is None:
        return ROOT / path
    lines = (ROOT / path).read_text().splitlines()
    out = tmp / f"{Path(path).stem}_{rows}.csv"
    out.write_text("\n".join(lines[:rows + 1]) + "\n")
    return out


def _run(data: Path, folder: Path, jobs: int | None, extra: list[str]) -> dict:
    argv = [sys.executable, "-m", "neuralsde.fit", "--data", str(data), "--holdout", "0.2",
            "--quiet", "--out", str(folder), *extra]
    if jobs is not None:
        argv += ["--jobs", str(jobs)]
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    metrics = json.loads((folder / "metrics.json").read_text())
    return {"wall_seconds": round(wall, 2), "holdout_crps": metrics["holdout_crps"],
            "holdout_coverage_90": metrics["holdout_coverage_90"],
            "members": metrics["settings"]["selection"]["members"]}


def main(series: list[str] | None = None, extra: list[str] | None = None,
         out: str | None = "benchmarks/results/cli_runs.json") -> dict:
    """Run every series both ways, print the table and write the JSON.

    Args:
        series: names of :data:`SERIES` (default all).
        extra: more flags for every run (e.g. ``["--iters", "6"]`` for a smoke run).
        out: the JSON file (None: none).
    """
    chosen = [s for s in SERIES if series is None or s[0] in series]
    result = {"jobs_default": default_jobs(), "extra_flags": extra or [], "series": {},
              "machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path, rows, target in chosen:
            data = _csv(path, rows, Path(tmp))
            one = _run(data, Path(tmp) / f"{name}-one", 1, extra or [])
            shared = _run(data, Path(tmp) / f"{name}-shared", None, extra or [])
            result["series"][name] = {"csv": path, "rows": rows, "target_seconds": target,
                                      "jobs_1": one, "jobs_default": shared,
                                      "speedup": round(one["wall_seconds"]
                                                       / shared["wall_seconds"], 2)}
    print(f"{'series':<10}{'jobs 1 s':>10}{'jobs ' + str(result['jobs_default']) + ' s':>10}"
          f"{'ratio':>8}{'target s':>10}{'CRPS (1 / default)':>26}{'90 % covered':>14}")
    for name, row in result["series"].items():
        one, shared = row["jobs_1"], row["jobs_default"]
        print(f"{name:<10}{one['wall_seconds']:>10.1f}{shared['wall_seconds']:>10.1f}"
              f"{row['speedup']:>8.2f}{row['target_seconds']:>10.0f}"
              f"{one['holdout_crps']:>13.4g} / {shared['holdout_crps']:<10.4g}"
              f"{shared['holdout_coverage_90']:>14.2f}")
    write_json(result, out)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", help="comma-separated, of "
                        + ", ".join(s[0] for s in SERIES) + " (default all)")
    parser.add_argument("--out", default="benchmarks/results/cli_runs.json")
    args, extra = parser.parse_known_args()
    main(args.series.split(",") if args.series else None, extra, args.out)
