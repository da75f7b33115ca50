"""One long path of a square-root (CIR) process, fitted with the CLI's defaults: does the neural
SDE recover a state-dependent drift and diffusion from a single series?

The data are one path of the Cox-Ingersoll-Ross process

    dy = kappa (theta - y) dt + sigma sqrt(y) dW,   kappa = 1, theta = 1, sigma = 0.5,

(Feller's condition ``2 kappa theta > sigma^2`` holds, so the path stays positive) observed at
``--points`` times with spacing ``--spacing`` (default 5,000 at 0.5: 2,500 time units, about
2,500 mean-reversion times, which pin the drift down to about 0.05 for an estimate of the right
form; at 0.1, 500 time units pin it only to about 0.2 on some paths). It is simulated exactly
from its transition law: given ``y_k``,
``y_{k+1} = c X`` with ``c = sigma^2 (1 - e^{-kappa h}) / (4 kappa)`` and ``X`` noncentral
chi-square with ``4 kappa theta / sigma^2`` degrees of freedom and noncentrality
``y_k e^{-kappa h} / c`` (``numpy.random.default_rng(seed).noncentral_chisquare``), from a draw
of the stationary law Gamma(``2 kappa theta / sigma^2``, scale ``sigma^2 / (2 kappa)``).

The path goes to ``data.csv`` (columns ``t``, ``y``) and is fitted by the CLI,
``neuralsde.fit.main(["--data", data.csv, "--out", OUT/run, "--quiet"])``, with its defaults
(the windows objective with windows as long as the path's memory, the lags over which its
autocorrelation stays above 1/e: 1 or 2 at spacing 0.5, 8 at 0.1; an MLP with 32 hidden units
in 2 layers, a linear path beside the drift net and a softplus diffusion,
``"standard"`` scaling, adaptive SRIW1 with ``rtol = atol = 0.1``, 500 iterations, learning
rate 0.01 cosine to 0.001) unless flags here change them (``--iters``, ``--window-length``,
``--windows``, ``--window-samples``, passed on). The saved model
(``neuralsde.train.load_model``) is converted to data units, ``f_data(y) = (b / s)
f_train((y - a) / b)``, ``g_data(y) = (b / sqrt(s)) g_train((y - a) / b)`` (shift ``a``, scale
``b``, time scale ``s`` of the run's scaling; see ``experiments/ou_panel.py``), and compared with
the true drift ``kappa (theta - y)`` and diffusion ``sigma sqrt(y)`` on a grid over the 1st to
99th percentile of the data: relative L2 errors (target: <= 0.15 each).

Beside it, the parametric Euler estimate from the same sample (it knows the model's form):
least squares of ``(y_{k+1} - y_k) / h`` on ``y_k`` gives ``kappa`` and ``theta``
(``dy/dt ~ kappa theta - kappa y``), and ``sigma^2`` is the mean of the squared residual
increments over ``y_k h``. Its errors are what the data support for a model of the right form.

Run from the repository root::

    python experiments/single_path.py                  # full size, experiments/results/single_path/
    python experiments/single_path.py --spacing 0.1 --out experiments/results/single_path_spacing01
    python experiments/single_path.py --spacing 0.1 --window-length 32 \\
        --out experiments/results/single_path_window32
    python experiments/single_path.py --spacing 0.1 --points 20000 --window-length 32 \\
        --out experiments/results/single_path_20000_window32
    python experiments/single_path.py --quick --out /tmp/sp   # seconds; a smoke test

Outputs in ``--out``: ``data.csv``; ``run/`` (the CLI's run folder: ``model.pt``,
``metrics.json``, ``fit.png``, ...; not tracked by git, its metrics hold timings);
``single_path.json`` (``drift_rel_l2``, ``diffusion_rel_l2``, ``y_range``, ``true``,
``euler`` (the parametric estimate and its errors), ``cli_args``, ``settings``, ``scaling``,
``final_loss``, ``data`` (mean, std, min, max of the path)); ``timings.json`` (``seconds``,
``fit_seconds``; not tracked) and ``drift_diffusion.png`` (learned, true and parametric drift and
diffusion over ``y``, with a histogram of the data).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

KAPPA, THETA, SIGMA = 1.0, 1.0, 0.5

#: Full (default) and --quick sizes; flags given explicitly win over both. ``None``: the CLI's
#: default (the flag is not passed on).
FULL = dict(points=5000, spacing=0.5, iters=None, window_length=None, windows=None,
            window_samples=None, samples=None)
QUICK = dict(points=200, spacing=0.1, iters=3, window_length=2, windows=4, window_samples=4,
             samples=4)
#: Flags of this script passed on to the CLI when set.
CLI_FLAGS = ("iters", "window_length", "windows", "window_samples", "samples")


def _ou_panel():
    """The sibling script ``ou_panel.py`` as a module (for its unit conversion)."""
    path = Path(__file__).resolve().parent / "ou_panel.py"
    spec = importlib.util.spec_from_file_location("experiment_ou_panel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------------
# Data, true fields and the parametric estimate
# --------------------------------------------------------------------------------------------------


def simulate_cir(*, kappa: float, theta: float, sigma: float, points: int, spacing: float,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One exact CIR path at ``points`` times ``0, spacing, ...``, from the stationary law.

    Returns:
        ``(t, y)``, float64 arrays of length ``points``.
    """
    if points < 2 or not spacing > 0:
        raise ValueError(f"points={points} must be >= 2 and spacing={spacing} > 0.")
    rng = np.random.default_rng(seed)
    shape, scale = 2 * kappa * theta / sigma ** 2, sigma ** 2 / (2 * kappa)
    decay = math.exp(-kappa * spacing)
    c = sigma ** 2 * (1 - decay) / (4 * kappa)
    df = 4 * kappa * theta / sigma ** 2
    y = np.empty(points)
    y[0] = rng.gamma(shape, scale)
    for k in range(points - 1):
        y[k + 1] = c * rng.noncentral_chisquare(df, y[k] * decay / c)
    return spacing * np.arange(points), y


def write_csv(path: Path, t: np.ndarray, y: np.ndarray) -> None:
    """``t,y`` rows with full precision."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["t", "y"])
        writer.writerows((repr(float(a)), repr(float(b))) for a, b in zip(t, y))


def true_drift(y, kappa: float = KAPPA, theta: float = THETA):
    return kappa * (theta - np.asarray(y, dtype=np.float64))


def true_diffusion(y, sigma: float = SIGMA):
    return sigma * np.sqrt(np.clip(np.asarray(y, dtype=np.float64), 0.0, None))


def euler_estimate(t: np.ndarray, y: np.ndarray) -> dict:
    """The parametric Euler estimate of ``kappa``, ``theta`` and ``sigma`` (module docstring).

    Least squares of ``dy / h = alpha + beta y`` gives ``kappa = -beta``, ``theta = alpha /
    kappa``; ``sigma^2 = mean((dy - (alpha + beta y) h)^2 / (y h))``.
    """
    h = np.diff(t)
    x, dy = y[:-1], np.diff(y)
    beta, alpha = np.polyfit(x, dy / h, 1)
    kappa = -beta
    resid = dy - (alpha + beta * x) * h
    sigma = math.sqrt(float(np.mean(resid ** 2 / (x * h))))
    return {"kappa": float(kappa), "theta": float(alpha / kappa) if kappa != 0 else math.nan,
            "sigma": sigma}


def conditional_mean_estimate(t: np.ndarray, y: np.ndarray) -> dict:
    """A parametric estimate with no discretisation bias: the CIR conditional mean is exactly
    linear, ``E[y_{k+1} | y_k] = theta + (y_k - theta) e^{-kappa h}``, so least squares of
    ``y_{k+1}`` on ``y_k`` (slope ``beta``, intercept ``alpha``) gives ``kappa = -log(beta) / h``
    and ``theta = alpha / (1 - beta)``; ``sigma^2`` = mean squared residual over the mean of the
    exact conditional variance per unit ``sigma^2``, ``y_k (e^{-kappa h} - e^{-2 kappa h}) / kappa
    + theta (1 - e^{-kappa h})^2 / (2 kappa)``. NaN where ``beta`` is not in (0, 1).
    """
    h = float(np.mean(np.diff(t)))
    x, nxt = y[:-1], y[1:]
    beta, alpha = np.polyfit(x, nxt, 1)
    if not 0 < beta < 1:
        return {"kappa": math.nan, "theta": math.nan, "sigma": math.nan}
    kappa, theta = -math.log(beta) / h, alpha / (1 - beta)
    resid = nxt - (alpha + beta * x)
    per_sigma2 = x * (beta - beta ** 2) / kappa + theta * (1 - beta) ** 2 / (2 * kappa)
    sigma = math.sqrt(float(np.mean(resid ** 2) / np.mean(per_sigma2)))
    return {"kappa": float(kappa), "theta": float(theta), "sigma": sigma}


# --------------------------------------------------------------------------------------------------
# Fit and compare
# --------------------------------------------------------------------------------------------------


def cli_args(args, data: Path, run: Path) -> list[str]:
    """The CLI's flags: the data, the run folder, one fixed model (standard scaling, no latent
    channel, so its drift and diffusion compare with the truth), and the sizes this script was
    given."""
    argv = ["--data", str(data), "--out", str(run), "--quiet", "--seed", str(args.seed),
            "--threads", str(args.threads), "--scaling", "standard", "--state-dim", "1"]
    for key in CLI_FLAGS:
        value = getattr(args, key)
        if value is not None:
            argv += ["--" + key.replace("_", "-"), str(value)]
    return argv


def compare(model, scaling, t: np.ndarray, y: np.ndarray) -> dict:
    """The learned and the parametric fields against the true ones over the 1st-99th
    percentile of ``y``.

    Returns:
        ``drift_rel_l2``, ``diffusion_rel_l2``, ``y_range``, ``euler`` and
        ``conditional_mean_ls`` (the parametric estimates with their errors), and the arrays
        ``grid``, ``f``, ``g`` for the figure.
    """
    ou = _ou_panel()
    lo, hi = (float(v) for v in np.percentile(y, [1.0, 99.0]))
    grid = np.linspace(lo, hi, 201)
    f, g = ou.fields_in_data_units(model, scaling, grid)
    f_true, g_true = true_drift(grid), true_diffusion(grid)
    result = {"drift_rel_l2": ou.rel_l2(f, f_true), "diffusion_rel_l2": ou.rel_l2(g, g_true),
              "y_range": [lo, hi], "grid": grid, "f": f, "g": g}
    for name, estimate in (("euler", euler_estimate(t, y)),
                           ("conditional_mean_ls", conditional_mean_estimate(t, y))):
        estimate["drift_rel_l2"] = ou.rel_l2(
            true_drift(grid, estimate["kappa"], estimate["theta"]), f_true)
        estimate["diffusion_rel_l2"] = ou.rel_l2(true_diffusion(grid, estimate["sigma"]), g_true)
        result[name] = estimate
    return result


def plot_fields(result: dict, y: np.ndarray):
    """Two panels over ``y``: drift and diffusion, learned, true and parametric; a histogram of
    the data behind each."""
    import matplotlib.pyplot as plt

    grid, euler, exact = result["grid"], result["euler"], result["conditional_mean_ls"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    panels = ((axes[0], "drift f(y)", result["f"], true_drift, "drift_rel_l2",
               lambda e: true_drift(grid, e["kappa"], e["theta"])),
              (axes[1], "diffusion g(y)", result["g"], true_diffusion, "diffusion_rel_l2",
               lambda e: true_diffusion(grid, e["sigma"])))
    for ax, name, learned, truth, key, param in panels:
        twin = ax.twinx()
        twin.hist(y, bins=50, range=(grid[0], grid[-1]), color="0.85")
        twin.set_yticks([])
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.plot(grid, truth(grid), "k--", lw=2, label="true")
        ax.plot(grid, param(euler), color="C1", lw=1.5,
                label=f"parametric Euler ({euler[key]:.3f})")
        ax.plot(grid, param(exact), color="C2", lw=1.2, ls=":",
                label=f"parametric, conditional mean ({exact[key]:.3f})")
        ax.plot(grid, learned, color="C0", lw=2, label=f"learned ({result[key]:.3f})")
        ax.set_xlabel("y (data units)")
        ax.set_ylabel(name)
        ax.set_title(f"{name}: relative L2 error {result[key]:.3f}")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    axes[1].set_ylim(bottom=0.0)
    fig.suptitle(f"One CIR path ({len(y)} points): dy = {KAPPA:g} ({THETA:g} - y) dt + "
                 f"{SIGMA:g} sqrt(y) dW; grid = 1st-99th percentile of the data (grey: "
                 "histogram)", fontsize=10)
    return fig


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, help=f"observations (default {FULL['points']})")
    parser.add_argument("--spacing", type=float,
                        help=f"time between observations (default {FULL['spacing']})")
    parser.add_argument("--iters", type=int, help="CLI --iters (default: the CLI's, 500)")
    parser.add_argument("--window-length", type=int,
                        help="CLI --window-length (default: the CLI's, 8)")
    parser.add_argument("--windows", type=int, help="CLI --windows (default: the CLI's, 64)")
    parser.add_argument("--window-samples", type=int,
                        help="CLI --window-samples (default: the CLI's, 16)")
    parser.add_argument("--samples", type=int,
                        help="CLI --samples, paths saved and plotted (default: the CLI's, 100)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the data and the fit")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--out", default="experiments/results/single_path", help="output folder")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (a few seconds) for smoke tests; explicit flags still win")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.points < 3 or not args.spacing > 0 or args.seed < 0 or args.threads < 1:
        parser.error("--points must be >= 3, --spacing > 0, --seed >= 0, --threads >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    from neuralsde.fit import main as cli
    from neuralsde.plotting import save
    from neuralsde.train import load_model

    args = parse(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t, y = simulate_cir(kappa=KAPPA, theta=THETA, sigma=SIGMA, points=args.points,
                        spacing=args.spacing, seed=args.seed)
    write_csv(out / "data.csv", t, y)

    run = out / "run"
    if run.exists():
        shutil.rmtree(run)  # the CLI refuses a folder that holds a run
    flags = cli_args(args, out / "data.csv", run)
    fit_start = time.perf_counter()
    status = cli(flags)
    fit_seconds = time.perf_counter() - fit_start
    if status != 0:
        raise RuntimeError(f"python -m neuralsde.fit {' '.join(flags)} exited with {status}")
    model, scaling, _ = load_model(run / "model.pt")
    model.eval()
    result = compare(model, scaling, t, y)
    fig = plot_fields(result, y)
    save(fig, out / "drift_diffusion.png")
    import matplotlib.pyplot as plt

    plt.close(fig)
    write_reports(out, args, flags, result, t, y, scaling, time.perf_counter() - start,
                  fit_seconds)
    return 0


def write_reports(out: Path, args, flags, result, t, y, scaling, seconds, fit_seconds) -> None:
    """``single_path.json`` (no timings), ``timings.json`` and a summary line."""
    metrics = json.loads((out / "run" / "metrics.json").read_text())
    report = {
        "drift_rel_l2": result["drift_rel_l2"],
        "diffusion_rel_l2": result["diffusion_rel_l2"],
        "y_range": result["y_range"],
        "euler": result["euler"],
        "conditional_mean_ls": result["conditional_mean_ls"],
        "true": {"kappa": KAPPA, "theta": THETA, "sigma": SIGMA},
        "data": {"points": len(y), "spacing": args.spacing, "t_end": float(t[-1]),
                 "mean": float(y.mean()), "std": float(y.std()), "min": float(y.min()),
                 "max": float(y.max())},
        "cli_args": ["--data", "data.csv", "--out", "run", *flags[4:]],
        "settings": {"seed": args.seed, "quick": args.quick, "grid_points": len(result["grid"]),
                     **{key: metrics["settings"].get(key) for key in (
                         "objective", "iters", "windows", "window_samples", "window_length",
                         "lr", "lr_final", "scaling", "tableau", "rtol", "atol", "model_spec")}},
        "scaling": scaling.to_dict(),
        "final_loss": metrics.get("final_loss"),
    }
    (out / "single_path.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "timings.json").write_text(json.dumps({
        "seconds": seconds, "fit_seconds": fit_seconds,
        "train_seconds": metrics.get("train_seconds"), "threads": args.threads}, indent=2) + "\n")
    euler, exact = result["euler"], result["conditional_mean_ls"]
    print(f"drift rel L2 {result['drift_rel_l2']:.4f}, diffusion rel L2 "
          f"{result['diffusion_rel_l2']:.4f} on y in [{result['y_range'][0]:.3f}, "
          f"{result['y_range'][1]:.3f}] (parametric Euler: kappa {euler['kappa']:.3f}, theta "
          f"{euler['theta']:.3f}, sigma {euler['sigma']:.3f}; drift {euler['drift_rel_l2']:.4f}, "
          f"diffusion {euler['diffusion_rel_l2']:.4f}; conditional-mean least squares: drift "
          f"{exact['drift_rel_l2']:.4f}, diffusion {exact['diffusion_rel_l2']:.4f}); "
          f"{seconds:.1f} s (CLI {fit_seconds:.1f} s, training "
          f"{metrics.get('train_seconds', math.nan):.1f} s); wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
