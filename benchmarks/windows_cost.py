"""Cost of the windows objective against the series' length, and of whole CLI runs on real sizes.

The data: one path of the Ornstein-Uhlenbeck process ``dy = -0.2 y dt + dW``, simulated with its
exact transition law at spacing 1 (t = 0, 1, ..., n - 1) from its stationary law (numpy seed 0),
written to a temporary CSV file (columns ``t``, ``x``) for each size.

Two measurements:

* **per-iteration cost** (``--cost-sizes``, default 1,000 and 100,000 points): the windows objective
  as ``python -m neuralsde.fit --data FILE.csv --threads 1 --window-length 8`` builds it (the CLI's
  own functions: its parser and defaults, scaling, model and objective, no holdout; 8, the longest
  default window without a period, see :data:`WINDOW_LENGTH`), trained by
  :func:`neuralsde.train.fit` in this process without checkpoints or artifacts. Each row gives the
  median, min and max ms per iteration (the per-iteration ``seconds`` of the history, after
  ``--warmup`` iterations), the median solver steps per iteration, the objective's setup time
  (window indexing, once per run) and the number of valid windows. ``ratio`` is the median of the
  largest size over that of the smallest; the target is at most 1.5.
* **whole runs** (``--sizes``, default 300, 5,000 and 100,000 points): ``python -m neuralsde.fit
  --data FILE.csv --holdout 0.2 --quiet --threads 1 --window-length 8 --out DIR`` in a subprocess,
  otherwise the CLI's defaults. Each row gives the process's wall seconds and, from
  ``metrics.json``, ``train_seconds``, ``wall_seconds``, ``artifact_seconds`` (``wall_seconds -
  train_seconds``: sampling 100 paths over the data's times (the first 20,000), the forecast,
  figures, files; it also holds the objective's setup), ``holdout_crps``, ``baseline_holdout_crps``
  (the random walk) and the peak resident memory; and the target (60 s for 300 points, 180 s for
  5,000, 600 s for 100,000). A run still going after ``--timeout`` seconds is stopped
  (``timed_out``); its row then holds what ``history.csv`` says: iterations done and their seconds,
  and whether training had finished (then the rest of the time went to the artifacts).

Both measure the ``neuralsde`` this script imports (the subprocesses get its folder on
``PYTHONPATH``). Run from the repository root::

    python benchmarks/windows_cost.py           # --cost-sizes 1000,100000 --sizes 300,5000,100000
                                                # --out benchmarks/results/windows_cost.json
    python benchmarks/windows_cost.py --quick   # smaller sizes, --iters 20
    PYTHONPATH=. python benchmarks/windows_cost.py   # this checkout's neuralsde, whatever is
                                                     # installed

It prints two markdown tables and writes JSON: ``machine`` (versions, threads, CPU, the load
average before and after), ``settings`` (the arguments, the command of a whole run), ``cost``
(``rows``, ``ratio``, ``target_ratio``) and ``runs`` (one row per size).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import neuralsde
from neuralsde.machine import machine

ROOT = Path(__file__).resolve().parents[1]
#: Where the imported neuralsde lives: the CLI subprocesses import the same code (an editable
#: install of another checkout would otherwise win over this one's in this process).
PACKAGE_ROOT = Path(neuralsde.__file__).resolve().parents[1]
#: Wall-clock targets of whole runs, seconds per size.
TARGETS = {300: 60.0, 5000: 180.0, 100000: 600.0}
TARGET_RATIO = 1.5
#: The OU process: drift -THETA y, noise SIGMA dW.
THETA, SIGMA = 0.2, 1.0
QUICK = {"cost_sizes": "1000,10000", "sizes": "300,1000", "iters": 20}


def write_ou(path: Path, n: int, seed: int = 0) -> None:
    """``n`` points of the OU process at t = 0, 1, ..., n - 1 (exact transition), columns t, x."""
    rng = np.random.default_rng(seed)
    decay = np.exp(-THETA)
    sd = SIGMA * np.sqrt((1 - decay**2) / (2 * THETA))
    noise = rng.standard_normal(n)
    y = np.empty(n)
    y[0] = noise[0] * SIGMA / np.sqrt(2 * THETA)  # stationary start
    for k in range(1, n):
        y[k] = decay * y[k - 1] + sd * noise[k]
    path.write_text("t,x\n" + "".join(f"{k},{v:.6f}\n" for k, v in enumerate(y)))


#: The window length of every measurement: the longest default without ``--period``. This
#: OU path's memory (its autocorrelation stays >= 1/e for 1 / 0.2 = 5 lags, just at the level)
#: would give 4 or 5 by sampling noise alone, and sizes that differ in window length would not
#: compare like for like; 8 bounds the cost of every default length.
WINDOW_LENGTH = 8


def _cli_argv(data: Path, iters: int | None) -> list[str]:
    return ["--data", str(data), "--threads", "1", "--window-length", str(WINDOW_LENGTH),
            "--scaling", "standard", "--state-dim", "1"] + (  # one fit, no selection
        [] if iters is None else ["--iters", str(iters)])


def iteration_cost(data: Path, iters: int | None, warmup: int) -> dict:
    """Train the windows objective the CLI builds for ``data`` (no holdout) in this process;
    ms per iteration after ``warmup`` iterations."""
    from neuralsde import build_model
    from neuralsde.auto import base_settings
    from neuralsde.data import Scaling
    from neuralsde.fit.objectives import (
        default_state_dim,
        default_window_length,
        make_objective,
        model_spec,
        resolve_period,
    )
    from neuralsde.fit.settings import build_parser, configs, load_series, resolve
    from neuralsde.train import fit

    parser = build_parser()
    args = parser.parse_args(_cli_argv(data, iters))
    settings = base_settings(resolve(args))  # the base candidate of "auto" settings
    solve_config, train_config = configs(settings, parser)
    series = load_series(args, parser)
    settings["period"] = resolve_period(settings, series)
    settings["state_dim"] = default_state_dim(settings, series)
    settings["window_length"] = default_window_length(settings, series)
    scaling = Scaling.fit(series, settings["scaling"])
    torch.manual_seed(settings["seed"])
    model = build_model(model_spec(settings, scaling)).to(dtype=getattr(torch, settings["dtype"]))
    objective = make_objective(settings, scaling.transform(series), solve_config, train_config)
    threads = torch.get_num_threads()
    torch.set_num_threads(settings["threads"])
    try:
        start = time.perf_counter()
        result = fit(model, objective=objective, train_config=train_config, quiet=True)
        total = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    rows = result.history
    timed = [1000 * r["seconds"] for r in rows[warmup:]]
    return {"points": series.n_points, "objective": settings["objective"],
            "iterations": len(rows), "timed_iterations": len(timed),
            "ms_median": statistics.median(timed), "ms_min": min(timed), "ms_max": max(timed),
            "steps_median": (statistics.median(r["steps"] for r in rows[warmup:])
                             if all(r["steps"] is not None for r in rows[warmup:]) else None),
            "setup_seconds": total - result.wall_seconds,
            "valid_windows": objective.settings()["valid_windows"],
            "final_loss": rows[-1]["loss"]}


def _history(folder: Path) -> list[dict]:
    path = folder / "history.csv"
    if not path.exists():
        return []
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def _commit() -> str | None:
    """The git commit of the measured neuralsde checkout (None outside git), with ``+dirty``
    when its library files differ from it."""
    git = ["git", "-C", str(PACKAGE_ROOT)]
    try:
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--", "neuralsde"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def _env() -> dict:
    path = os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}


def whole_run(data: Path, folder: Path, iters: int | None, timeout: float) -> dict:
    """``python -m neuralsde.fit --data data --holdout 0.2 --quiet`` in a subprocess, stopped
    after ``timeout`` seconds."""
    command = [sys.executable, "-m", "neuralsde.fit", *_cli_argv(data, iters), "--holdout", "0.2",
               "--quiet", "--out", str(folder)]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=_env())
    try:
        _, err = process.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        timed_out = True
    process_seconds = time.perf_counter() - start
    if not timed_out and process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{err[-3000:]}")
    history = _history(folder)
    seconds = [float(r["seconds"]) for r in history]
    row = {"process_seconds": process_seconds, "timed_out": timed_out,
           "iterations_done": len(history),
           "history_seconds": sum(seconds),
           "ms_median": 1000 * statistics.median(seconds) if seconds else None}
    keys = ("train_seconds", "wall_seconds", "artifact_seconds", "holdout_crps",
            "baseline_holdout_crps", "climatology_holdout_crps", "n_train", "n_holdout",
            "iterations", "peak_rss_mb")
    if timed_out:
        return row | dict.fromkeys(keys)
    metrics = json.loads((folder / "metrics.json").read_text())
    row |= {key: metrics[key] for key in keys if key in metrics}
    row["artifact_seconds"] = metrics["wall_seconds"] - metrics["train_seconds"]
    row["peak_rss_mb"] = metrics["settings"]["peak_memory_mb"]["rss_this_process"]
    return row


def _fmt(value, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def cost_table(cost: dict) -> str:
    lines = ["| points | valid windows | iterations | median ms/iter | min | max | "
             "median steps | setup s |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in cost["rows"]:
        lines.append(f"| {r['points']:,} | {r['valid_windows']:,} | {r['iterations']} | "
                     f"{r['ms_median']:.1f} | {r['ms_min']:.1f} | {r['ms_max']:.1f} | "
                     f"{'-' if r['steps_median'] is None else format(r['steps_median'], 'g')} | "
                     f"{r['setup_seconds']:.2f} |")
    lines.append(f"\nratio of medians (largest / smallest): {cost['ratio']:.2f} "
                 f"(target <= {cost['target_ratio']})")
    return "\n".join(lines)


def runs_table(rows: list[dict]) -> str:
    lines = ["| points | process s | train s | wall s | artifacts s | ms/iter | holdout CRPS | "
             "random walk CRPS | peak RSS MiB | target s | within |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        if r["timed_out"]:
            done = "training done" if r["training_finished"] else "in training"
            within = f"no (stopped at {r['process_seconds']:.0f} s, {done})"
        else:
            within = "-" if r["within_target"] is None else ("yes" if r["within_target"] else "no")
        lines.append(f"| {r['points']:,} | {r['process_seconds']:.1f} | "
                     f"{_fmt(r['train_seconds'])} | {_fmt(r['wall_seconds'])} | "
                     f"{_fmt(r['artifact_seconds'])} | {_fmt(r['ms_median'])} | "
                     f"{_fmt(r['holdout_crps'], '.3f')} | "
                     f"{_fmt(r['baseline_holdout_crps'], '.3f')} | "
                     f"{_fmt(r['peak_rss_mb'], '.0f')} | {_fmt(r['target_seconds'], '.0f')} | "
                     f"{within} |")
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    sizes = [int(s) for s in text.split(",") if s.strip()]
    if not sizes or min(sizes) < 20:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated sizes >= 20")
    return sizes


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cost-sizes", type=_sizes, default=None,
                        help="sizes of the per-iteration cost (default: 1000,100000)")
    parser.add_argument("--sizes", type=_sizes, default=None,
                        help="sizes of the whole CLI runs (default: 300,5000,100000)")
    parser.add_argument("--iters", type=int, default=None,
                        help="--iters of every run (default: the CLI's, 500)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="iterations left out of the per-iteration medians")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds after which a whole run is stopped")
    parser.add_argument("--quick", action="store_true",
                        help=f"smaller sizes and fewer iterations: {QUICK} (explicit flags win)")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the data and run folders in DIR (default: a temporary folder)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" /
                                             "windows_cost.json"), help="JSON output")
    args = parser.parse_args(argv)
    if args.quick:
        args.cost_sizes = args.cost_sizes or _sizes(QUICK["cost_sizes"])
        args.sizes = args.sizes or _sizes(QUICK["sizes"])
        args.iters = args.iters if args.iters is not None else QUICK["iters"]
    args.cost_sizes = args.cost_sizes or [1000, 100000]
    args.sizes = args.sizes or [300, 5000, 100000]
    from neuralsde.fit.settings import DEFAULTS

    iters = DEFAULTS["iters"] if args.iters is None else args.iters
    if iters < 1 or not 0 <= args.warmup < iters:
        parser.error("--iters must be >= 1 and --warmup in [0, iters)")

    load_before = list(os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        data = {}
        for n in sorted(set(args.cost_sizes) | set(args.sizes)):
            data[n] = work / f"ou_{n}.csv"
            write_ou(data[n], n)

        cost_rows = []
        for n in args.cost_sizes:
            row = iteration_cost(data[n], args.iters, args.warmup)
            cost_rows.append(row)
            print(f"  cost, {n:,} points: {row['ms_median']:.1f} ms/iteration (median)",
                  flush=True)
        small, large = min(cost_rows, key=lambda r: r["points"]), max(cost_rows,
                                                                      key=lambda r: r["points"])
        cost = {"rows": cost_rows, "ratio": large["ms_median"] / small["ms_median"],
                "target_ratio": TARGET_RATIO}
        cost["within_target"] = cost["ratio"] <= TARGET_RATIO

        runs = []
        for n in args.sizes:
            folder = work / f"run_{n}"
            row = {"points": n, **whole_run(data[n], folder, args.iters, args.timeout)}
            row["target_seconds"] = TARGETS.get(n)
            row["within_target"] = (None if row["target_seconds"] is None
                                    else not row["timed_out"]
                                    and row["process_seconds"] <= row["target_seconds"])
            row["training_finished"] = row["iterations_done"] >= iters
            runs.append(row)
            state = (f"stopped after {row['process_seconds']:.0f} s" if row["timed_out"]
                     else f"{row['process_seconds']:.1f} s")
            print(f"  whole run, {n:,} points: {state}", flush=True)

    result = {"machine": machine(threads=1, neuralsde_commit=_commit(),
                                 load_average_before=load_before,
                                 load_average_after=list(os.getloadavg())),
              "settings": {**vars(args), "iters": iters,
                           "command": "python -m neuralsde.fit --data FILE.csv --holdout 0.2 "
                                      f"--quiet --threads 1 --window-length {WINDOW_LENGTH} "
                                      "--out DIR"
                                      + ("" if args.iters is None else f" --iters {args.iters}"),
                           "ou": {"theta": THETA, "sigma": SIGMA, "spacing": 1, "seed": 0}},
              "cost": cost, "runs": runs}
    print(cost_table(cost))
    print()
    print(runs_table(runs))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
