"""The DiffEqFlux neural SDE blog's three figures, from the reference workflow.

1. ``fit_initial.png``: the fit after the initial phase on all 7 points,
2. ``loss.png``: the loss of the whole run, curriculum stages marked,
3. ``fit_final.png``: the fit after the curriculum (first 2, 3, ..., 7 points),

plus ``summary.json`` (path-mean MSE after each phase, iterations, seconds, settings) and
``samples.npz`` (the sample paths behind the MSE numbers). The settings are the CLI's
(``neuralsde.fit.DEFAULTS``, or ``BLOG`` with ``--blog``); sizes are flags::

    python experiments/reference_workflow.py                     # 500 + 6 x 300 iterations
    python experiments/reference_workflow.py --blog              # the blog's literal settings
    python experiments/reference_workflow.py --iters 50 --stage-iters 20 --out /tmp/rw
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from neuralsde import SolveConfig, build_model
from neuralsde.data import Scaling, reference_dataset
from neuralsde.fit import BLOG, DEFAULTS
from neuralsde.plotting import plot_fit, plot_loss, save
from neuralsde.train import TrainConfig, fit, initial_state, sample

SUMMARY_KEYS = ("mse_initial", "mse_final", "clean_vs_data_mse", "iterations", "iterations_initial",
                "seconds", "settings")


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="experiments/results/reference_workflow")
    p.add_argument("--iters", type=int, default=DEFAULTS["iters"])
    p.add_argument("--stage-iters", type=int, default=DEFAULTS["stage_iters"])
    p.add_argument("--paths", type=int, default=None, help="paths per iteration (CLI default)")
    p.add_argument("--samples", type=int, default=DEFAULTS["samples"])
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    p.add_argument("--blog", action="store_true", help="the blog's literal settings")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.iters < 1 or args.stage_iters < 1 or args.samples < 1:
        raise SystemExit("reference_workflow: --iters, --stage-iters and --samples must be >= 1")
    settings = {**DEFAULTS, **(BLOG if args.blog else {})}
    if args.paths is not None:
        settings["paths"] = args.paths
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(settings["threads"])

    series = reference_dataset(0)
    scaling = Scaling.fit(series, settings["scaling"])
    train = scaling.transform(series)
    torch.manual_seed(args.seed)
    model = build_model({"kind": "reference", "state_dim": 3}).to(torch.float32)
    solver = SolveConfig(tableau=settings["tableau"], rtol=settings["rtol"],
                         atol=settings["atol"])
    config = TrainConfig(iters=args.iters, stage_iters=args.stage_iters, lr=settings["lr"],
                         lr_final=settings["lr_final"], paths=settings["paths"], seed=args.seed)
    snapshot = {}

    def keep_initial(row, model):
        if row["stage"] == 0 and row["iteration"] == args.iters - 1:
            snapshot["state"] = copy.deepcopy(model.state_dict())

    start = time.perf_counter()
    result = fit(model, train, solve_config=solver, train_config=config,
                 callbacks=[keep_initial], quiet=not sys.stderr.isatty())
    seconds = time.perf_counter() - start

    y0 = initial_state(series, 3)
    fine = torch.linspace(0.0, 6.0, 121, dtype=torch.float64)
    observed = series.ys[:, 0].numpy()
    mses, paths = {}, {}
    for phase, state in (("initial", snapshot["state"]), ("final", model.state_dict())):
        phase_model = copy.deepcopy(model)
        phase_model.load_state_dict(state)
        at_data = sample(phase_model, y0, series.ts, args.samples, solve_config=solver,
                         seed=10_000 + args.seed, scaling=scaling)[..., :1].numpy()
        paths[phase] = at_data
        mses[phase] = float(np.mean((at_data.mean(axis=0) - observed) ** 2))
        curve = sample(phase_model, y0, fine, args.samples, solve_config=solver,
                       seed=10_000 + args.seed, scaling=scaling)[..., :1].numpy()
        what = (f"after {args.iters} iterations on all points" if phase == "initial"
                else "after the curriculum (first 2, 3, ..., 7 points)")
        fig = plot_fit(fine.numpy(), curve, observed=observed, obs_t=series.ts.numpy(),
                       clean=series.clean.numpy(), clean_label="exp(x), noise-free",
                       names=series.names,
                       title=f"Fit {what}: path-mean MSE {mses[phase]:.3g}")
        save(fig, out / f"fit_{phase}.png")

    rows = result.history
    fig = plot_loss([r["iteration"] for r in rows], [r["loss"] for r in rows],
                    stages=[r["stage"] for r in rows],
                    stage_names={r["stage"]: r["stage_name"] for r in rows},
                    title=f"Training loss ({config.paths} path(s) per iteration)")
    save(fig, out / "loss.png")
    np.savez(out / "samples.npz", t=series.ts.numpy(), initial=paths["initial"],
             final=paths["final"], observed=observed)
    summary = {
        "mse_initial": mses["initial"], "mse_final": mses["final"],
        "clean_vs_data_mse": float(np.mean((series.clean.numpy() - observed) ** 2)),
        "iterations": len(rows), "iterations_initial": args.iters, "seconds": seconds,
        "settings": {**settings, "iters": args.iters, "stage_iters": args.stage_iters,
                     "samples": args.samples, "seed": args.seed, "blog": args.blog,
                     "sample_seed": 10_000 + args.seed},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"path-mean MSE of {args.samples} paths: {mses['initial']:.3f} after the initial phase, "
          f"{mses['final']:.3f} after the curriculum; {len(rows)} iterations in {seconds:.1f} s "
          f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
