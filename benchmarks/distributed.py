"""Data-parallel scaling on a panel: 1 process against torchrun with 2, per batch size.

    python benchmarks/distributed.py        # --groups 1024 --batches 256,1024,4096 --iters 12
                                            # --warmup 2 --out benchmarks/results/distributed.json

A panel of ``--groups`` paths of the Ornstein-Uhlenbeck process ``dy = (1 - y) dt + 0.5 dW`` from
``y0 = 3`` (exact transition law, ``--points`` times on [0, 3], numpy seed 0) is written to a CSV
file, and ``python -m neuralsde.fit --data panel.csv --group-column id --loss moments`` runs on it
with ``--paths B`` sample paths per iteration, once in one process and once under
``torchrun --standalone --nproc_per_node=2`` (gloo, ``OMP_NUM_THREADS=1``), both with
``--threads 1 --dt 0.5 --no-curriculum``. From each run folder: the per-iteration ``seconds`` of
``history.csv`` after ``--warmup`` iterations (median, min, max), the peak resident memory
(``metrics.json``, largest over the processes) and the loss history, which must agree between the
two (same seed, same total number of paths).
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
from pathlib import Path

import numpy as np

from neuralsde.machine import machine

ROOT = Path(__file__).resolve().parents[1]


def write_panel(path: Path, groups: int, points: int, seed: int = 0) -> None:
    """OU panel in long format (columns t, id, x), simulated exactly."""
    theta, mu, sigma, y0, t_end = 1.0, 1.0, 0.5, 3.0, 3.0
    ts = np.linspace(0.0, t_end, points)
    h = ts[1] - ts[0]
    decay = np.exp(-theta * h)
    sd = sigma * np.sqrt((1 - decay**2) / (2 * theta))
    rng = np.random.default_rng(seed)
    y = np.full(groups, y0)
    rows = ["t,id,x"]
    for k, t in enumerate(ts):
        if k:
            y = mu + (y - mu) * decay + sd * rng.standard_normal(groups)
        rows += [f"{t:.6g},{g},{v:.6f}" for g, v in enumerate(y)]
    path.write_text("\n".join(rows) + "\n")


def run(panel: Path, out: Path, paths: int, procs: int, iters: int) -> dict:
    argv = ["--data", str(panel), "--objective", "start", "--group-column", "id", "--loss",
            "moments", "--paths",
            str(paths), "--iters", str(iters), "--no-curriculum", "--dt", "0.5", "--threads", "1",
            "--state-dim", "1", "--samples", "10", "--quiet", "--out", str(out)]
    if procs == 1:
        command = [sys.executable, "-m", "neuralsde.fit", *argv]
    else:
        torchrun = str(Path(sys.executable).with_name("torchrun"))
        command = [torchrun, "--standalone", f"--nproc_per_node={procs}", "-m", "neuralsde.fit",
                   *argv]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    with open(out / "history.csv", newline="") as file:
        history = list(csv.DictReader(file))
    metrics = json.loads((out / "metrics.json").read_text())
    return {"seconds": [float(r["seconds"]) for r in history],
            "losses": [float(r["loss"]) for r in history],
            "memory": metrics["settings"]["peak_memory_mb"]}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--groups", type=int, default=1024)
    p.add_argument("--points", type=int, default=16)
    p.add_argument("--batches", default="256,1024,4096")
    p.add_argument("--iters", type=int, default=12)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--procs", default="1,2")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "distributed.json"))
    args = p.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    procs = [int(n) for n in args.procs.split(",")]
    if args.warmup >= args.iters:
        p.error("--warmup must be smaller than --iters")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        panel = Path(tmp) / "panel.csv"
        write_panel(panel, args.groups, args.points)
        for batch in batches:
            base = None
            for n in procs:
                result = run(panel, Path(tmp) / f"b{batch}-p{n}", batch, n, args.iters)
                timed = result["seconds"][args.warmup:]
                row = {"batch": batch, "processes": n,
                       "ms_median": 1000 * statistics.median(timed),
                       "ms_min": 1000 * min(timed), "ms_max": 1000 * max(timed),
                       "peak_rss_mb": result["memory"]["rss_max_over_processes"],
                       "losses": result["losses"]}
                if base is None:
                    base = row
                row["speedup_vs_first"] = base["ms_median"] / row["ms_median"]
                rel = np.abs(np.array(row["losses"]) - np.array(base["losses"]))
                row["losses_agree"] = bool(np.all(rel <= 1e-4 * np.abs(base["losses"])))
                rows.append(row)
                print(f"  batch {batch}, {n} process(es): {row['ms_median']:.1f} ms/iteration",
                      flush=True)
    payload = {"machine": machine(threads_per_process=1),
               "settings": vars(args) | {"loss": "moments", "dt": 0.5}, "rows": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print("| paths per iteration | processes | ms/iteration (median) | min | max | "
          "peak RSS MiB (max over processes) | speed-up vs 1 process | losses agree |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['batch']} | {r['processes']} | {r['ms_median']:.1f} | {r['ms_min']:.1f} | "
              f"{r['ms_max']:.1f} | {r['peak_rss_mb']:.0f} | {r['speedup_vs_first']:.2f}× | "
              f"{'yes' if r['losses_agree'] else 'no'} |")
    print(f"wrote {out}")
    return payload


if __name__ == "__main__":
    main()
