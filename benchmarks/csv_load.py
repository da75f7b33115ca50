"""Loading big CSV files: seconds and peak memory of ``neuralsde.data.load_csv``.

Two layouts, each at every ``--rows`` size (default 10,000, 100,000 and 1,500,000 data rows):

* ``wide``: one series, ``t,y1,y2,y3``: times ``0.00, 0.01, ...``, three random channels with
  six decimals, 1% of ``y3`` empty (missing); about 37 bytes a row (1.5 M rows: 53 MiB).
* ``panel``: ``--groups`` paths (default 100) in long format, ``t,id,y1,y2``: one row per group and
  time, groups interleaved (each time's rows together), so ``T = rows / groups``.

The files are written into a temporary folder (``--dir`` to keep them), and each is loaded in a
fresh Python process (the ``--package-root`` folder first on ``PYTHONPATH``, by default this
repository, so that an older checkout can be measured the same way), which reports the seconds
``load_csv`` took, the peak resident memory of the process (``resource.getrusage``; it includes
the ~0.3 GiB of importing torch, given on its own as ``rss_after_import_mb``) and when progress
was reported: ``first_progress_seconds`` (the first call with some bytes read),
``progress_calls`` and ``longest_silence_seconds`` (the longest time without a call, up to the
end of loading). Versions without the ``progress`` argument are loaded without it.

Run from the repository root::

    python benchmarks/csv_load.py                 # --rows 10000,100000,1500000 --groups 100
    python benchmarks/csv_load.py --rows 1000 --out /tmp/csv.json     # a smoke run

It prints a markdown table and writes JSON: ``machine``, ``settings`` and ``rows`` (one per file:
layout, rows, columns, file_mb, seconds, import_seconds, rss_after_import_mb, peak_rss_mb, shape,
first_progress_seconds, progress_calls, longest_silence_seconds). Sizes are MiB (2**20 bytes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from neuralsde.machine import machine

ROOT = Path(__file__).resolve().parents[1]
LAYOUTS = ("wide", "panel")
BLOCK = 100_000  # rows formatted at a time while writing a file

# Runs in a fresh process: argv = [path, group column or ""]; prints one JSON line.
CHILD = r"""
import inspect, json, resource, sys, time
t0 = time.perf_counter()
from neuralsde.data import load_csv
import_seconds = time.perf_counter() - t0
rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
calls = []
kwargs = {"group_column": sys.argv[2] or None}
if "progress" in inspect.signature(load_csv).parameters:
    kwargs["progress"] = lambda done, total: calls.append((time.perf_counter(), done))
start = time.perf_counter()
series = load_csv(sys.argv[1], **kwargs)
end = time.perf_counter()
stamps = [start] + [t for t, _ in calls] + [end]
print(json.dumps({
    "seconds": end - start, "import_seconds": import_seconds, "rss_after_import_mb": rss_import,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "shape": list(series.ys.shape),
    "first_progress_seconds": next((t - start for t, done in calls if done > 0), None),
    "progress_calls": len(calls),
    "longest_silence_seconds": max(b - a for a, b in zip(stamps, stamps[1:])),
}))
"""


def write_wide(path: Path, rows: int, seed: int = 0) -> list[str]:
    """A single series ``t,y1,y2,y3`` of ``rows`` rows, 1% of ``y3`` missing; returns the header."""
    rng = np.random.default_rng(seed)
    header = ["t", "y1", "y2", "y3"]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(header) + "\n")
        for start in range(0, rows, BLOCK):
            n = min(BLOCK, rows - start)
            t = (start + np.arange(n)) / 100
            y = rng.normal(size=(n, 3))
            gap = rng.random(n) < 0.01
            handle.writelines(f"{t[k]:.2f},{y[k, 0]:.6f},{y[k, 1]:.6f},"
                              f"{'' if gap[k] else format(y[k, 2], '.6f')}\n" for k in range(n))
    return header


def write_panel(path: Path, rows: int, groups: int, seed: int = 0) -> list[str]:
    """``groups`` paths ``t,id,y1,y2`` on shared times, interleaved; returns the header."""
    rng = np.random.default_rng(seed)
    header = ["t", "id", "y1", "y2"]
    labels = [f"g{g:03d}" for g in range(groups)]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(header) + "\n")
        for start in range(0, rows, BLOCK):
            n = min(BLOCK, rows - start)
            k = start + np.arange(n)
            t = (k // groups) / 10
            y = rng.normal(size=(n, 2))
            handle.writelines(f"{t[i]:.1f},{labels[k[i] % groups]},{y[i, 0]:.6f},{y[i, 1]:.6f}\n"
                              for i in range(n))
    return header


def load_in_child(path: Path, group_column: str | None, package_root: Path) -> dict:
    """Load ``path`` in a fresh Python process; its measurements (see ``CHILD``)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(package_root)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), group_column or ""],
                          env=env, cwd=package_root, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"loading {path} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(folder: Path, layout: str, rows: int, groups: int, package_root: Path) -> dict:
    """Write one file of ``layout`` with ``rows`` rows into ``folder`` and load it once."""
    path = folder / f"{layout}_{rows}.csv"
    if layout == "wide":
        header, group_column = write_wide(path, rows), None
    else:
        header, group_column = write_panel(path, rows, groups), "id"
    result = load_in_child(path, group_column, package_root)
    return {"layout": layout, "rows": rows, "columns": header,
            "file_mb": path.stat().st_size / 2**20, **result}


def table(rows: list[dict]) -> str:
    """The results as a markdown table."""
    lines = ["| layout | rows | file MiB | seconds | peak RSS MiB | first progress s | shape |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        first = r["first_progress_seconds"]
        lines.append(f"| {r['layout']} | {r['rows']:,} | {r['file_mb']:.1f} | {r['seconds']:.2f} "
                     f"| {r['peak_rss_mb']:.0f} | {'-' if first is None else f'{first:.2f}'} "
                     f"| {tuple(r['shape'])} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--rows", default="10000,100000,1500000",
                   help="comma-separated numbers of data rows per file")
    p.add_argument("--groups", type=int, default=100, help="paths in the panel layout")
    p.add_argument("--layouts", default=",".join(LAYOUTS), help="comma-separated: wide, panel")
    p.add_argument("--dir", default=None, help="folder for the CSV files (default: temporary)")
    p.add_argument("--package-root", default=str(ROOT),
                   help="folder holding the neuralsde package to measure")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "csv_load.json"))
    args = p.parse_args(argv)
    args.rows = [int(n) for n in args.rows.split(",")]
    args.layouts = args.layouts.split(",")
    if min(args.rows) < 2 * args.groups or not set(args.layouts) <= set(LAYOUTS):
        p.error(f"--rows must be at least 2 * --groups; --layouts a subset of {LAYOUTS}")
    return args


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print the table, write and return the JSON."""
    args = parse_args(argv)
    package_root = Path(args.package_root).resolve()
    with tempfile.TemporaryDirectory(prefix="csv_load_") as scratch:
        folder = Path(args.dir or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        rows = [measure(folder, layout, n, args.groups, package_root)
                for layout in args.layouts for n in args.rows]
    result = {"machine": machine(), "settings": {
        "rows": args.rows, "groups": args.groups, "layouts": args.layouts,
        "package_root": "." if package_root == ROOT else str(package_root)}, "rows": rows}
    print(table(rows))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
