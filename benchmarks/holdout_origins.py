"""The development series' ``--holdout 0.2`` forecast from earlier origins too: is a holdout's
coverage the forecaster's, or its one stretch of data's?

One holdout is one realisation: its errors are strongly correlated along the horizon, so a
calibrated forecast's coverage on it varies a lot (``holdout_coverage_90_if_calibrated``). This
runs the same CLI command (``benchmarks/real_series.py``'s flags, ``--quiet``) on copies of each
series cut after ``cut`` points, with ``--holdout`` set so that exactly ``H`` points, the length of
the whole series' ``--holdout 0.2``, are held out: the cuts are the series' end and ``H``, ``2 H``,
... points before it, so the holdouts tile the series' end without overlapping, each forecast
from the ``cut - H`` points before it.

    python benchmarks/holdout_origins.py      # 3 origins a series; writes
                                              # benchmarks/results/holdout_origins.json
    python benchmarks/holdout_origins.py --series co2 --origins 4 --out /tmp/co2_origins.json

It prints a row per run (the origin is the first held-out time) and, per series, the averages
over its origins, and writes JSON: ``machine``, ``settings``, ``rows`` and ``summary``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from neuralsde.data import load_csv
from neuralsde.data.trend import ls_slope
from neuralsde.machine import machine
from neuralsde.run_files import holdout_split

ROOT = Path(__file__).resolve().parents[1]
FRACTION = 0.2


sys.path.insert(0, str(Path(__file__).parent))  # benchmarks/ is not a package
from real_series import SERIES  # noqa: E402  the series and their flags (``--data FILE`` too)


def cuts(n_points: int, origins: int) -> list[tuple[int, int]]:
    """``(cut, held_out)`` of each origin, the whole series first: ``held_out`` is the length of
    the whole series' ``--holdout 0.2``, and each cut ends ``held_out`` points before the last.

    Raises:
        ValueError: naming ``--origins`` when it is below 1 or the earliest origin's training
            part would be shorter than its holdout.
    """
    held_out = n_points - holdout_split(n_points, FRACTION)
    most = max(n_points // held_out - 1, 1)  # the earliest: (most + 1) * held_out <= n_points
    if not 1 <= origins <= most:
        raise ValueError(f"--origins: expected 1 to {most} for a {n_points}-point series with "
                         f"{held_out} held out (each origin's training part at least as long "
                         f"as its holdout), got {origins}.")
    return [(n_points - k * held_out, held_out) for k in range(origins)]


def _row(name: str, lines: list[str], cut: int, held_out: int, folder: Path, extra: list[str]):
    """One CLI run on the first ``cut`` data lines of ``lines`` (the header first)."""
    data = folder / f"{name}_{cut}.csv"
    data.write_text("".join(lines[:cut + 1]))
    flags = list(SERIES[name])
    flags[flags.index("--data") + 1] = str(data)
    fraction = held_out / cut
    assert holdout_split(cut, fraction) == cut - held_out
    out = folder / f"{name}_{cut}"
    command = [sys.executable, "-m", "neuralsde.fit", *flags, "--holdout", repr(fraction),
               "--quiet", "--out", str(out), *extra]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    m = json.loads((out / "metrics.json").read_text())
    q = m.get("holdout_coverage_90_if_calibrated") or {}
    return {"series": name, "origin": lines[cut - held_out + 1].split(",")[0],
            "n_train": m["n_train"], "n_holdout": m["n_holdout"],
            "holdout_crps": m["holdout_crps"], "baseline_holdout_crps": m["baseline_holdout_crps"],
            "climatology_holdout_crps": m["climatology_holdout_crps"],
            "holdout_coverage_50": m["holdout_coverage_50"],
            "holdout_coverage_90": m["holdout_coverage_90"],
            "pit_mean": (m.get("holdout_pit") or {}).get("mean"),
            "coverage_90_if_calibrated": [q.get(k) for k in ("0.05", "0.5", "0.95")],
            "trend_slope_sd": m.get("trend_slope_sd"),
            "trend_rate": _trend_rate(data, held_out, m["settings"]["scaling"]),
            "process_seconds": time.perf_counter() - start,
            "command": " ".join(["python -m neuralsde.fit", *SERIES[name], "cut after", str(cut),
                                 "points, --holdout", repr(fraction), *extra])}


def _trend_rate(data: Path, held_out: int, scaling: dict) -> dict | None:
    """For a trend scaling, the slope per unit of time (per day for dates) of the line a
    forecast carries on, its whole line's and the held-out part's own least-squares slope, on
    the scaling's scale (log for ``log-trend``); None without a trend."""
    if not scaling or not scaling.get("y_trend"):
        return None
    series = load_csv(data)
    x, y, seen = series.ts[-held_out:], series.ys[-held_out:, 0, 0], series.mask[-held_out:, 0, 0]
    y = y[seen].log() if scaling.get("log") else y[seen]
    return {"forecast": scaling["y_trend_end"][0], "whole": scaling["y_trend"][0],
            "held_out": ls_slope(x[seen], y)}


def _summary(rows: list[dict]) -> dict:
    """Per series, the averages over its origins."""
    summary = {}
    for name in dict.fromkeys(row["series"] for row in rows):
        mine = [row for row in rows if row["series"] == name]
        summary[name] = {"origins": len(mine), **{
            key: sum(row[key] for row in mine) / len(mine) for key in (
                "holdout_crps", "baseline_holdout_crps", "holdout_coverage_50",
                "holdout_coverage_90", "pit_mean")}}
    return summary


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--series", default=",".join(SERIES), help="comma-separated series to run")
    p.add_argument("--origins", type=int, default=3, help="origins a series, the end's included")
    p.add_argument("--iters", type=int, help="passed on as --iters (default: the CLI's)")
    p.add_argument("--seed", type=int, help="passed on as --seed (default: the CLI's, 0)")
    p.add_argument("--jobs", type=int, default=2, help="CLI runs at once (default 2)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "holdout_origins.json"))
    args = p.parse_args(argv)
    extra = (["--iters", str(args.iters)] if args.iters else []) + (
        ["--seed", str(args.seed)] if args.seed is not None else [])
    with tempfile.TemporaryDirectory() as tmp:
        tasks = []
        for name in args.series.split(","):
            if name not in SERIES:
                p.error(f"--series: {name!r} is not one of {', '.join(SERIES)}")
            path = ROOT / SERIES[name][SERIES[name].index("--data") + 1]
            lines = path.read_text().splitlines(keepends=True)
            try:
                pairs = cuts(len(lines) - 1, args.origins)
            except ValueError as error:
                p.error(str(error))
            tasks += [(name, lines, cut, held_out) for cut, held_out in pairs]
        with ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
            rows = list(pool.map(lambda task: _row(*task, Path(tmp), extra), tasks))
    for row in rows:
        print(f"{row['series']:8s} from {row['origin']:>10s} ({row['n_train']} + "
              f"{row['n_holdout']}): CRPS {row['holdout_crps']:.4g} | random walk "
              f"{row['baseline_holdout_crps']:.4g} | coverage 50 % "
              f"{row['holdout_coverage_50']:.2f}, 90 % {row['holdout_coverage_90']:.2f} | "
              f"mean PIT {row['pit_mean']:.2f}")
    summary = _summary(rows)
    for name, s in summary.items():
        print(f"{name:8s} mean of {s['origins']}: CRPS {s['holdout_crps']:.4g} (random walk "
              f"{s['baseline_holdout_crps']:.4g}), coverage 50 % {s['holdout_coverage_50']:.2f}, "
              f"90 % {s['holdout_coverage_90']:.2f}, mean PIT {s['pit_mean']:.2f}")
    result = {"machine": machine(), "settings": vars(args), "rows": rows, "summary": summary}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
