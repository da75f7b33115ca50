"""Solver speed on the reference problem: our SRI (SOSRI, SRIW1) against torchsde's SRK.

One iteration is what a training step costs without the optimiser: ``solve`` of the reference
model (``NeuralDSDE(reference_drift(), reference_diffusion())`` after ``torch.manual_seed(0)``,
float32, d = 3) from ``y0 = [y(0), 0, 0]`` over the 7 times of ``reference_dataset(seed=0)``,
the loss ``mse_mean_path`` of component 0 against the data, and ``loss.backward()``. There is no
optimiser step, so every iteration solves the same problem; iteration ``i`` uses ``seed=i`` in
every configuration. Configurations run one after the other in one process, each after a few
warm-up iterations: adaptive (rtol = atol = 0.1) and fixed (dt = 0.05) steps, for ``sri``/``sosri``,
``sri``/``sriw1`` and torchsde ``srk``, at each batch size.

Run from the repository root::

    python benchmarks/solver.py                       # 20 iterations (5 for srk), batches 1,64
    python benchmarks/solver.py --iters 50 --out /tmp/solver.json

It runs with ``--threads`` torch threads (default 1, recorded in the JSON): with more, torch's
thread pool on a busy 2-core machine made the batch-4 rows about 100 times slower.

It prints a markdown table and writes JSON: ``machine`` (versions, threads, CPU), ``settings``
(the arguments) and ``rows`` (one per configuration: mode, method, tableau, batch, ms_median,
ms_min, ms_max, accepted_steps, rejected_steps, f_evals, g_evals, speedup_vs_srk). Step counts
and evaluations are means per iteration over the timed iterations, forward solve only (torchsde
reports no step counts: None). ``speedup_vs_srk`` is the median of the torchsde ``srk`` row with
the same mode and batch divided by this row's median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from neuralsde import NeuralDSDE, SolveConfig, reference_diffusion, reference_drift, solve
from neuralsde.data import reference_dataset
from neuralsde.losses import mse_mean_path
from neuralsde.machine import machine

MODES = {"adaptive": dict(adaptive=True, rtol=0.1, atol=0.1),
         "fixed": dict(adaptive=False, dt=0.05)}
METHODS = (("sri", "sosri"), ("sri", "sriw1"), ("srk", None))


def run_config(model, y0, ts, data, config: SolveConfig, iters: int, warmup: int) -> dict:
    """Times ``iters`` iterations (seeds 0, ..., iters - 1) after ``warmup`` untimed ones (seeds
    0, ..., warmup - 1); step and evaluation counts are means over the timed iterations."""
    times, stats = [], []
    for timed, seed in [(False, s) for s in range(warmup)] + [(True, s) for s in range(iters)]:
        model.zero_grad(set_to_none=True)
        start = time.perf_counter()
        ys, solve_stats = solve(model, y0, ts, config, seed=seed, return_stats=True)
        loss = mse_mean_path(ys[:, :, :1], data.ys, data.mask)  # component 0 vs the data
        loss.backward()
        elapsed = time.perf_counter() - start
        if timed:
            times.append(1000 * elapsed)
            stats.append(solve_stats)

    def mean(name):  # None for torchsde's step counts
        values = [getattr(s, name) for s in stats]
        return None if values[0] is None else statistics.fmean(values)

    return {"ms_median": statistics.median(times), "ms_min": min(times), "ms_max": max(times),
            **{name: mean(name) for name in ("accepted_steps", "rejected_steps", "f_evals",
                                             "g_evals")}}


def label(row: dict) -> str:
    return row["method"] if row["tableau"] is None else f"{row['method']}/{row['tableau']}"


def table(rows: list[dict]) -> str:
    lines = ["| mode | method | batch | median ms | min ms | max ms | steps acc/rej | f/g evals "
             "| speed-up vs srk |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        steps = ("-" if r["accepted_steps"] is None
                 else f"{r['accepted_steps']:.1f}/{r['rejected_steps']:.1f}")
        lines.append(f"| {r['mode']} | {label(r)} | {r['batch']} | {r['ms_median']:.1f} | "
                     f"{r['ms_min']:.1f} | {r['ms_max']:.1f} | {steps} | "
                     f"{r['f_evals']:.0f}/{r['g_evals']:.0f} | {r['speedup_vs_srk']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=20, help="timed iterations per SRI config")
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations per config")
    parser.add_argument("--srk-iters", type=int, default=5,
                        help="timed iterations per torchsde srk config (it is slow)")
    parser.add_argument("--out", default="benchmarks/results/solver.json", help="JSON output")
    parser.add_argument("--batches", default="1,64", help="comma-separated batch sizes")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1, the CLI's default: the tensors are tiny, "
                             "and on a loaded machine more threads make some rows 100x slower)")
    args = parser.parse_args(argv)
    if args.iters < 1 or args.srk_iters < 1 or args.warmup < 0 or args.threads < 1:
        parser.error("--iters, --srk-iters and --threads must be >= 1 and --warmup >= 0")
    batches = [int(b) for b in args.batches.split(",")]
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        result = measure(args, batches)
    finally:
        torch.set_num_threads(threads)
    print(table(result["rows"]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return result


def measure(args, batches: list[int]) -> dict:
    """Every configuration's row, with the machine facts (threads as set) and the settings."""
    torch.manual_seed(0)
    model = NeuralDSDE(reference_drift(), reference_diffusion()).float()
    data = reference_dataset(seed=0)
    ts = data.ts.float()  # 7 times on [0, 6]
    rows = []
    for mode, options in MODES.items():
        for batch in batches:
            y0 = torch.tensor([[data.ys[0, 0, 0].item(), 0.0, 0.0]],
                              dtype=torch.float32).repeat(batch, 1)
            for method, tableau in METHODS:
                config = SolveConfig(method=method, tableau=tableau or "sosri", **options)
                iters = args.srk_iters if method == "srk" else args.iters
                result = run_config(model, y0, ts, data, config, iters, args.warmup)
                row = {"mode": mode, "method": method, "tableau": tableau, "batch": batch, **result}
                rows.append(row)
                print(f"  {mode} {label(row)} batch {batch}: {row['ms_median']:.1f} ms", flush=True)
    for r in rows:
        srk = next(s for s in rows if s["method"] == "srk" and s["mode"] == r["mode"]
                   and s["batch"] == r["batch"])
        r["speedup_vs_srk"] = srk["ms_median"] / r["ms_median"]

    return {"machine": machine(), "settings": vars(args) | {"batches": batches}, "rows": rows}


if __name__ == "__main__":
    main()
