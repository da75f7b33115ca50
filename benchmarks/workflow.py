"""The whole reference workflow: ``python -m neuralsde.fit`` against a hand-written torchsde port.

Two ways to fit the DiffEqFlux blog's neural SDE to ``reference_dataset(seed=0)`` (t = 0, ..., 6;
y = exp(t - 3) + 2 U(0, 1)), each with its defaults, run one after the other in one process:

* ``neuralsde``: ``neuralsde.fit.main`` (the CLI) into a temporary folder, by default the full
  schedule: 500 iterations on all 7 points, then the first 2, 3, ..., 7 points, 300 iterations
  each (2300 in all); our ``sri`` solver with tableau SRIW1, 16 sample paths per iteration,
  standardised data, Adam lr 0.01 with a cosine decay to 0.001 within each stage. Its
  ``metrics.json`` gives ``train_seconds``, ``wall_seconds`` (training plus sampling, plots and
  files), ``iterations`` and ``path_mean_mse``.
* ``plain torchsde``: the same workflow as a user would write it with torchsde alone
  (:func:`train_plain`): the reference nets (``torch.nn``, float32, after
  ``torch.manual_seed(seed)``), an SDE class with ``f``/``g`` (``noise_type = "diagonal"``,
  ``sde_type = "ito"``), ``torchsde.sdeint(method="srk", adaptive=True, rtol=0.1, atol=0.1)``
  with torchsde's other defaults (initial dt = 1e-3) and the ``BrownianInterval`` sdeint would
  build itself (space-time Lévy area, no ``dt`` hint) but seeded with an explicit ``entropy``; one
  sample path per iteration, no normalisation, ``y0 = [y(0), 0, 0]``, MSE of component 0 against
  the stage's points, Adam with a constant lr 0.01, the same curriculum. It is slow, so it runs
  only ``--plain-iters`` iterations per phase (default 20: 140 in all).

Both use ``--threads`` torch threads (default 1, the CLI's default). The plain port's ms per
iteration is measured per phase and weighted by the iterations per phase of the neuralsde run's
schedule (``--iters``, ``--stage-iters``; by default the full 2300-iteration workflow): times the
schedule's iterations, that is its *extrapolated* training time. Its measured iterations come
early in each phase; later ones, with trained nets, may take more or fewer steps.
``ms_per_iter_vs_neuralsde`` is a row's weighted ms per iteration divided by neuralsde's
``train_seconds / iterations``.

Run from the repository root::

    python benchmarks/workflow.py                 # full neuralsde workflow, 20 plain iters/phase
    python benchmarks/workflow.py --iters 2 --stage-iters 1 --plain-iters 1 --out /tmp/wf.json

It prints a markdown table and writes JSON: ``machine`` (versions, threads, CPU), ``settings``
(the arguments, the schedule, the plain port's solver settings, the neuralsde command) and
``rows`` (one per workflow: name, solver, paths, scaling, lr_schedule, iterations, train_seconds,
wall_seconds, ms_per_iter_measured, ms_per_iter, schedule_iterations, schedule_train_seconds,
extrapolated, f_evals_per_iter, g_evals_per_iter, path_mean_mse, phases,
ms_per_iter_vs_neuralsde). ``phases`` lists each phase's name, n_points, iterations run and ms per
iteration (neuralsde: from the per-iteration ``seconds`` of ``history.csv``). Evaluations are
forward-solve means per iteration.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import torch
import torchsde
from torch import nn

import neuralsde.fit
from neuralsde.data import reference_dataset
from neuralsde.machine import machine

#: The plain port's solver and optimiser: torchsde defaults except what the blog workflow sets.
PLAIN = {"method": "srk", "adaptive": True, "rtol": 0.1, "atol": 0.1, "dt": 1e-3, "lr": 0.01,
         "paths": 1, "dtype": "float32", "levy_area_approximation": "space-time"}
N_POINTS = 7


def schedule(iters: int, stage_iters: int, n_points: int = N_POINTS) -> list[dict]:
    """The workflow's phases (those with iterations): all points, then the first 2, ..., all."""
    phases = [{"name": f"all {n_points} points", "n_points": n_points, "iters": iters}]
    phases += [{"name": f"first {k} points", "n_points": k, "iters": stage_iters}
               for k in range(2, n_points + 1)]
    return [p for p in phases if p["iters"] > 0]


# --- the plain torchsde port ---------------------------------------------------------------------

class Cube(nn.Module):
    def forward(self, y):
        return y ** 3


class PlainSDE(nn.Module):
    """The blog's neural SDE written for torchsde. ``n_f``/``n_g`` count evaluations (benchmark
    bookkeeping, not part of what a user would write)."""

    noise_type = "diagonal"
    sde_type = "ito"

    def __init__(self):
        super().__init__()
        self.drift = nn.Sequential(Cube(), nn.Linear(3, 20), nn.Tanh(), nn.Linear(20, 3))
        self.diffusion = nn.Sequential(nn.Linear(3, 20), nn.Sigmoid(), nn.Linear(20, 3))
        self.n_f = self.n_g = 0

    def f(self, t, y):
        self.n_f += 1
        return self.drift(y)

    def g(self, t, y):
        self.n_g += 1
        return self.diffusion(y)


def train_plain(phases: list[dict], seed: int = 0) -> dict:
    """Train the plain port through ``phases`` (``n_points``, ``iters``); returns per-phase
    iteration times in seconds, evaluation counts and losses."""
    torch.manual_seed(seed)
    sde = PlainSDE().float()
    data = reference_dataset(seed=0)
    ts = data.ts.to(torch.float32)  # (7,) = 0, 1, ..., 6
    ys = data.ys[:, 0, 0].to(torch.float32)  # (7,)
    y0 = torch.tensor([[ys[0].item(), 0.0, 0.0]], dtype=torch.float32)  # one path
    optimizer = torch.optim.Adam(sde.parameters(), lr=PLAIN["lr"])
    out, iteration = [], 0
    for phase in phases:
        k = phase["n_points"]
        seconds, losses = [], []
        sde.n_f = sde.n_g = 0
        for _ in range(phase["iters"]):
            start = time.perf_counter()
            optimizer.zero_grad()
            bm = torchsde.BrownianInterval(t0=float(ts[0]), t1=float(ts[k - 1]), size=(1, 3),
                                           dtype=y0.dtype, device=y0.device,
                                           entropy=seed * 1_000_003 + iteration,
                                           levy_area_approximation="space-time")
            pred = torchsde.sdeint(sde, y0, ts[:k], bm=bm, method="srk", adaptive=True,
                                   rtol=PLAIN["rtol"], atol=PLAIN["atol"])  # (k, 1, 3)
            loss = ((pred[:, 0, 0] - ys[:k]) ** 2).mean()
            loss.backward()
            optimizer.step()
            seconds.append(time.perf_counter() - start)
            losses.append(loss.item())
            iteration += 1
        out.append({**phase, "seconds": seconds, "losses": losses, "f_evals": sde.n_f,
                    "g_evals": sde.n_g})
    return {"phases": out}


# --- neuralsde via its CLI -----------------------------------------------------------------------

def neuralsde_argv(iters: int, stage_iters: int, seed: int, threads: int) -> list[str]:
    """The CLI flags of the neuralsde run (``--out`` is added by :func:`run_neuralsde`)."""
    return ["--quiet", "--iters", str(iters), "--stage-iters", str(stage_iters), "--seed",
            str(seed), "--threads", str(threads)]


def run_neuralsde(argv: list[str]) -> dict:
    """``python -m neuralsde.fit ARGV`` (in-process) into a temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        status = neuralsde.fit.main(argv + ["--out", str(folder)])
        if status != 0:
            raise RuntimeError(f"neuralsde.fit.main exited with status {status}")
        metrics = json.loads((folder / "metrics.json").read_text())
        with open(folder / "history.csv", newline="") as handle:
            history = list(csv.DictReader(handle))
    return {"metrics": metrics, "history": history}


# --- rows and table ------------------------------------------------------------------------------

def neuralsde_row(result: dict, phases: list[dict]) -> dict:
    m = result["metrics"]
    settings = m["settings"]
    n = m["iterations"]
    ms = 1000 * m["train_seconds"] / n
    rows_by_stage = {}
    for r in result["history"]:
        rows_by_stage.setdefault(int(r["stage"]), []).append(float(r["seconds"]))
    phase_rows = [{"name": p["name"], "n_points": p["n_points"], "iters": len(rows_by_stage[s]),
                   "ms_per_iter": 1000 * sum(rows_by_stage[s]) / len(rows_by_stage[s])}
                  for s, p in enumerate(phases)]
    return {"name": "neuralsde",
            "solver": f"neuralsde {settings['method']}/{settings['tableau']}, adaptive "
                      f"rtol = atol = {settings['rtol']:g}",
            "paths": settings["paths"], "scaling": settings["scaling"],
            "lr_schedule": f"{settings['lr']:g}, cosine to x{settings['lr_final']:g} per stage",
            "iterations": n, "train_seconds": m["train_seconds"],
            "wall_seconds": m["wall_seconds"], "ms_per_iter_measured": ms, "ms_per_iter": ms,
            "schedule_iterations": n, "schedule_train_seconds": m["train_seconds"],
            "extrapolated": False,
            "f_evals_per_iter": m["solver"]["f_evals"] / n,
            "g_evals_per_iter": m["solver"]["g_evals"] / n,
            "path_mean_mse": m["path_mean_mse"], "phases": phase_rows}


def plain_row(result: dict, phases: list[dict], wall_seconds: float) -> dict:
    measured = result["phases"]
    seconds = [s for p in measured for s in p["seconds"]]
    n = len(seconds)
    phase_ms = [1000 * sum(p["seconds"]) / len(p["seconds"]) for p in measured]
    weights = [p["iters"] for p in phases]  # the neuralsde schedule's iterations per phase
    schedule_ms = sum(ms * w for ms, w in zip(phase_ms, weights))
    return {"name": "plain torchsde",
            "solver": f"torchsde {PLAIN['method']} (SRID2), adaptive rtol = atol = "
                      f"{PLAIN['rtol']:g}, initial dt = {PLAIN['dt']:g}",
            "paths": PLAIN["paths"], "scaling": "none",
            "lr_schedule": f"{PLAIN['lr']:g}, constant",
            "iterations": n, "train_seconds": sum(seconds), "wall_seconds": wall_seconds,
            "ms_per_iter_measured": 1000 * sum(seconds) / n,
            "ms_per_iter": schedule_ms / sum(weights),
            "schedule_iterations": sum(weights), "schedule_train_seconds": schedule_ms / 1000,
            "extrapolated": True,
            "f_evals_per_iter": sum(p["f_evals"] for p in measured) / n,
            "g_evals_per_iter": sum(p["g_evals"] for p in measured) / n,
            "path_mean_mse": None,  # trained for a few iterations only: not a fit
            "phases": [{"name": p["name"], "n_points": p["n_points"], "iters": len(p["seconds"]),
                        "ms_per_iter": ms} for p, ms in zip(measured, phase_ms)]}


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 600 else f"{value:.0f} s ({value / 60:.1f} min)"


def table(rows: list[dict]) -> str:
    lines = ["| workflow | solver | paths/iter | iterations run | ms/iteration | f/g evals per "
             "iteration | training time of the schedule | wall s | path-mean MSE | ms/iteration "
             "vs neuralsde |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        schedule_time = (f"{_seconds(r['schedule_train_seconds'])} "
                         + ("(extrapolated)" if r["extrapolated"] else "(measured)")
                         + f", {r['schedule_iterations']} it")
        mse = "-" if r["path_mean_mse"] is None else f"{r['path_mean_mse']:.3g}"
        lines.append(f"| {r['name']} | {r['solver']} | {r['paths']} | {r['iterations']} | "
                     f"{r['ms_per_iter']:.1f} | {r['f_evals_per_iter']:.0f}/"
                     f"{r['g_evals_per_iter']:.0f} | {schedule_time} | {r['wall_seconds']:.1f} | "
                     f"{mse} | {r['ms_per_iter_vs_neuralsde']:.2f}x |")
    return "\n".join(lines)


def phase_table(rows: list[dict]) -> str:
    ours, plain = rows
    lines = ["| phase | neuralsde ms/iteration | plain torchsde ms/iteration | ratio |",
             "|---|---:|---:|---:|"]
    for a, b in zip(ours["phases"], plain["phases"]):
        lines.append(f"| {a['name']} | {a['ms_per_iter']:.1f} | {b['ms_per_iter']:.1f} | "
                     f"{b['ms_per_iter'] / a['ms_per_iter']:.1f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=500,
                        help="neuralsde iterations on all points (the full workflow: 500)")
    parser.add_argument("--stage-iters", type=int, default=300,
                        help="neuralsde iterations per curriculum stage (the full workflow: 300)")
    parser.add_argument("--plain-iters", type=int, default=20,
                        help="plain torchsde iterations per phase (it is slow)")
    parser.add_argument("--seed", type=int, default=0, help="weights and Brownian paths seed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both")
    parser.add_argument("--out", default="benchmarks/results/workflow.json", help="JSON output")
    args = parser.parse_args(argv)
    if min(args.iters, args.stage_iters, args.seed) < 0 or args.iters + args.stage_iters < 1:
        parser.error("--iters, --stage-iters and --seed must be >= 0, and --iters + "
                     "--stage-iters >= 1")
    if args.plain_iters < 1 or args.threads < 1:
        parser.error("--plain-iters and --threads must be >= 1")
    phases = schedule(args.iters, args.stage_iters)

    argv_ours = neuralsde_argv(args.iters, args.stage_iters, args.seed, args.threads)

    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        print(f"  neuralsde: {sum(p['iters'] for p in phases)} iterations ...", flush=True)
        ours = neuralsde_row(run_neuralsde(argv_ours), phases)
        print(f"  neuralsde: {ours['ms_per_iter']:.1f} ms/iteration", flush=True)
        print(f"  plain torchsde: {args.plain_iters * len(phases)} iterations ...", flush=True)
        start = time.perf_counter()
        measured = train_plain([{**p, "iters": args.plain_iters} for p in phases], args.seed)
        plain = plain_row(measured, phases, time.perf_counter() - start)
        print(f"  plain torchsde: {plain['ms_per_iter']:.1f} ms/iteration", flush=True)
        info = machine()
    finally:
        torch.set_num_threads(threads)
    rows = [ours, plain]
    for r in rows:
        r["ms_per_iter_vs_neuralsde"] = r["ms_per_iter"] / ours["ms_per_iter"]

    settings = vars(args) | {"schedule": phases, "plain": PLAIN,
                             "neuralsde_argv": ["python", "-m", "neuralsde.fit", *argv_ours]}
    result = {"machine": info, "settings": settings, "rows": rows}
    print(table(rows))
    print(f"\nEach workflow with its own defaults: neuralsde {ours['paths']} paths per "
          f"iteration ({ours['solver']}), plain torchsde {plain['paths']} path ({plain['solver']})."
          f" The plain ms/iteration is measured on {args.plain_iters} iteration(s) per phase and "
          f"weighted by the schedule's iterations per phase; its schedule time is extrapolated "
          f"from that.")
    print()
    print(phase_table(rows))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
