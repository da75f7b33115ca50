"""Recover a known drift and diffusion: a neural SDE fitted to an Ornstein-Uhlenbeck panel.

The data are ``P`` sample paths (groups) of the 1-D Ornstein-Uhlenbeck process

    dy = theta (mu - y) dt + sigma dW,   y(0) = y0 for every path,

observed at ``T`` equally spaced times on ``[0, t_end]``. They are simulated exactly with the OU
transition law (no discretisation error), ``y_{k+1} = mu + (y_k - mu) e^{-theta h}
+ sigma sqrt((1 - e^{-2 theta h}) / (2 theta)) N(0, 1)``, from ``numpy.random.default_rng(seed)``.
Starting every path at ``y0`` away from ``mu`` makes the mean relax from ``y0`` towards ``mu`` and
the variance grow from 0 towards ``sigma^2 / (2 theta)``, so the drift is seen over a range of
states and the diffusion through the growth of the spread.

A :class:`neuralsde.NeuralDSDE` (``kind="mlp"``, ``state_dim=1``, softplus diffusion) is fitted with
``loss="moments"`` (mean and variance across simulated paths against those across the observed
paths; fixed-step SOSRI, one step per observation interval) by :func:`neuralsde.train.fit`, from
a small initialisation (:func:`small_output_init`), on the data in training units (``Scaling``
``"standard"``: ``y_train = (y - a) / b``, ``t_train = (t - c) / s``). The learned fields are then
converted to data units (:func:`fields_in_data_units`) and compared with the true ones on a grid
over the 1st to 99th percentile of the observed values: relative L2 errors
``||f - f_true|| / ||f_true||`` (drift) and ``||g - sigma|| / ||sigma||`` (diffusion).

Unit conversion. With ``y = a + b y_train`` and ``t = c + s t_train``, ``dy = b dy_train``,
``dt = s dt_train`` and ``dW = sqrt(s) dW_train`` (a Wiener process in rescaled time), so
``dy = b (f_train dt_train + g_train dW_train) = (b / s) f_train dt + (b / sqrt(s)) g_train dW``:

    f_data(y) = (b / s) f_train((y - a) / b),   g_data(y) = (b / sqrt(s)) g_train((y - a) / b).

Run from the repository root::

    python experiments/ou_panel.py                 # full size, writes experiments/results/ou_panel/
    python experiments/ou_panel.py --quick --out /tmp/ou   # seconds; a smoke test

Outputs in ``--out``: ``ou_panel.json`` (``drift_rel_l2``, ``diffusion_rel_l2``, ``y_range``,
``true``, ``settings``, ``seconds``, ``fit_seconds``, ``final_loss``, ``fitted_line`` (a straight
line fitted to the learned drift, as ``theta``, ``mu``, and the mean learned diffusion),
``ou_least_squares`` (the exact-likelihood OU estimate from the same data and its errors: what the
sample itself supports), ``scaling``),
``drift_diffusion.png`` (learned against true drift and diffusion over ``y``) and ``fit.png`` (the
data panel with the model's sample band, :func:`neuralsde.plotting.plot_fit`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from neuralsde.data import Scaling, TimeSeries
from neuralsde.sde import build_model
from neuralsde.solve import SolveConfig
from neuralsde.train import TrainConfig, fit, initial_state, sample

# The true process: the mean relaxes from 3 to about 1.1 over [0, 3]; the stationary standard
# deviation is sigma / sqrt(2 theta) ~ 0.35.
THETA, MU, SIGMA, Y0, T_END = 1.0, 1.0, 0.5, 3.0, 3.0

# Full (default) size and the --quick smoke-test size; flags given explicitly win over both.
FULL = dict(groups=256, points=31, iters=600, paths=128, hidden=16, lr=0.01, dt=1.0,
            samples=256)
QUICK = dict(groups=32, points=6, iters=4, paths=8, hidden=4, lr=0.01, dt=1.0, samples=16)
#: Initial diffusion in training units (per unit of training time = one observation interval).
G0 = 0.1


# --------------------------------------------------------------------------------------------------
# Data and the true fields
# --------------------------------------------------------------------------------------------------


def simulate_ou(*, theta: float, mu: float, sigma: float, y0: float, t_end: float, points: int,
                groups: int, seed: int) -> TimeSeries:
    """``groups`` exact OU paths from ``y0`` at ``points`` equally spaced times on ``[0, t_end]``.

    Returns:
        A :class:`TimeSeries` with ``ts`` (points,), ``ys`` (points, groups, 1), channel ``"y"``,
        ``clean`` (points, 1) the exact mean ``mu + (y0 - mu) e^{-theta t}``.
    """
    if points < 2 or groups < 2:
        raise ValueError(f"points={points} and groups={groups} must both be >= 2.")
    ts = np.linspace(0.0, t_end, points)
    rng = np.random.default_rng(seed)
    ys = np.empty((points, groups))
    ys[0] = y0
    for k in range(points - 1):
        h = ts[k + 1] - ts[k]
        decay = math.exp(-theta * h)
        sd = sigma * math.sqrt((1.0 - math.exp(-2.0 * theta * h)) / (2.0 * theta))
        ys[k + 1] = mu + (ys[k] - mu) * decay + sd * rng.standard_normal(groups)
    clean = mu + (y0 - mu) * np.exp(-theta * ts)
    ys_t = torch.from_numpy(ys).unsqueeze(-1)  # (T, P, 1)
    mask = torch.ones_like(ys_t, dtype=torch.bool)
    return TimeSeries(ts=torch.from_numpy(ts), ys=ys_t, mask=mask,
                      names=("y",), time_name="t", groups=tuple(f"g{i}" for i in range(groups)),
                      clean=torch.from_numpy(clean).unsqueeze(-1),
                      source=f"ou(theta={theta}, mu={mu}, sigma={sigma}, y0={y0}, seed={seed})")


def true_drift(y, theta: float = THETA, mu: float = MU):
    return theta * (mu - np.asarray(y, dtype=np.float64))


def true_diffusion(y, sigma: float = SIGMA):
    return np.full_like(np.asarray(y, dtype=np.float64), sigma)


# --------------------------------------------------------------------------------------------------
# Learned fields in data units
# --------------------------------------------------------------------------------------------------


@torch.no_grad()
def fields_in_data_units(model, scaling: Scaling, y) -> tuple[np.ndarray, np.ndarray]:
    """The drift and diffusion of ``model`` (trained in ``scaling``'s training units) in data units.

    ``f_data(y) = (b / s) f_train((y - a) / b)`` and
    ``g_data(y) = (b / sqrt(s)) g_train((y - a) / b)`` per channel, with ``a, b`` =
    ``scaling.y_shift, y_scale`` and ``s`` = ``scaling.t_scale`` (see the module docstring). The
    time shift does not enter: the model is autonomous, and ``t = 0`` is passed only to satisfy the
    ``f(t, y)`` signature.

    Args:
        model: the SDE (``f(t, y)``, ``g(t, y)``) with state dimension ``scaling.dim`` (no latent
            channels).
        scaling: the scaling the model was trained under.
        y: states in data units, shape (N,) for one channel or (N, d).

    Returns:
        ``(f, g)`` as float64 numpy arrays of the shape of ``y``.
    """
    y = torch.as_tensor(np.asarray(y, dtype=np.float64))
    squeeze = y.ndim == 1
    if squeeze:
        y = y.unsqueeze(-1)
    if y.ndim != 2 or y.shape[-1] != scaling.dim:
        raise ValueError(f"y has shape {tuple(y.shape)}; expected (N,) or (N, {scaling.dim}).")
    param = next(model.parameters())
    y_train = scaling.transform_y(y).to(dtype=param.dtype, device=param.device)
    t_train = torch.zeros((), dtype=param.dtype, device=param.device)
    f_train = model.f(t_train, y_train).to(torch.float64).cpu()
    g_train = model.g(t_train, y_train).to(torch.float64).cpu()
    if f_train.shape != y.shape or g_train.shape != y.shape:
        raise ValueError(f"the model maps states of shape {tuple(y.shape)} to f "
                         f"{tuple(f_train.shape)} and g {tuple(g_train.shape)}; it must have "
                         f"state_dim={scaling.dim}.")
    b = torch.tensor(scaling.y_scale, dtype=torch.float64)
    s = scaling.t_scale
    f = (b / s) * f_train
    g = (b / math.sqrt(s)) * g_train
    if squeeze:
        f, g = f[:, 0], g[:, 0]
    return f.numpy(), g.numpy()


def ou_least_squares(series: TimeSeries) -> dict:
    """The exact-likelihood OU estimate from the data: a baseline for what the sample supports.

    On an equally spaced grid (step ``h``) the transition is the AR(1) model
    ``y_{k+1} = alpha + beta y_k + eps``, ``beta = e^{-theta h}``, ``alpha = mu (1 - beta)``,
    ``Var eps = sigma^2 (1 - beta^2) / (2 theta)``; least squares over all consecutive pairs of all
    paths is the maximum-likelihood estimate. Returns ``theta``, ``mu`` and ``sigma`` (NaN where
    the fitted ``beta`` is not in (0, 1)).
    """
    ts, ys = series.ts.numpy(), series.ys[..., 0].numpy()  # (T,), (T, P)
    h = float(np.mean(np.diff(ts)))
    x, y = ys[:-1].ravel(), ys[1:].ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    beta, alpha = np.polyfit(x[keep], y[keep], 1)
    if not 0 < beta < 1:
        return {"theta": math.nan, "mu": math.nan, "sigma": math.nan}
    resid = y[keep] - (alpha + beta * x[keep])
    theta = -math.log(beta) / h
    sigma = math.sqrt(2 * theta * float(np.mean(resid ** 2)) / (1 - beta ** 2))
    return {"theta": theta, "mu": alpha / (1 - beta), "sigma": sigma}


def small_output_init(model, g0: float = G0) -> None:
    """Start near ``f = 0``, ``g = g0``: the output layers' weights times 0.1, the drift's bias 0,
    the diffusion's bias ``softplus^{-1}(g0)``.

    With the ``"standard"`` scaling a training time unit is one observation interval, and the
    process moves little per interval (here about 0.1 standard deviations). PyTorch's default
    initialisation gives rates of order 1 per interval (a softplus diffusion of about 0.7), so the
    first simulated paths run far off the data over the 30 intervals and training settles in a poor
    optimum (drift error above 1 in trials); starting small avoids that.
    """
    with torch.no_grad():
        for net in (model.drift, model.diffusion):
            last = [m for m in net if isinstance(m, torch.nn.Linear)][-1]
            last.weight.mul_(0.1)
            last.bias.zero_()
        last = [m for m in model.diffusion if isinstance(m, torch.nn.Linear)][-1]
        last.bias.fill_(math.log(math.expm1(g0)))


def rel_l2(estimate, truth) -> float:
    """``||estimate - truth||_2 / ||truth||_2`` over all entries."""
    estimate, truth = np.asarray(estimate, np.float64), np.asarray(truth, np.float64)
    return float(np.linalg.norm(estimate - truth) / np.linalg.norm(truth))


# --------------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------------


def plot_fields(grid, f, g, f_true, g_true, *, drift_err: float, diffusion_err: float, data=None):
    """Two panels over ``y``: learned against true drift, and diffusion; a histogram of the data."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, learned, truth, name, err in ((axes[0], f, f_true, "drift f(y)", drift_err),
                                          (axes[1], g, g_true, "diffusion g(y)", diffusion_err)):
        if data is not None:
            twin = ax.twinx()
            twin.hist(data, bins=40, range=(grid[0], grid[-1]), color="0.85")
            twin.set_yticks([])
            ax.set_zorder(twin.get_zorder() + 1)
            ax.patch.set_visible(False)
        ax.plot(grid, truth, "k--", lw=2, label="true")
        ax.plot(grid, learned, color="C0", lw=2, label="learned")
        ax.set_xlabel("y (data units)")
        ax.set_ylabel(name)
        ax.set_title(f"{name}: relative L2 error {err:.3f}")
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
    axes[1].set_ylim(bottom=0.0, top=max(1.5 * float(np.max(g_true)), 1.1 * float(np.max(g))))
    fig.suptitle(f"OU panel: dy = {THETA:g} ({MU:g} - y) dt + {SIGMA:g} dW; grid = 1st-99th "
                 "percentile of the data (grey: histogram of observations)", fontsize=10)
    return fig


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, help=f"observed paths P (default {FULL['groups']})")
    parser.add_argument("--points", type=int,
                        help=f"observation times T on [0, {T_END:g}] (default {FULL['points']})")
    parser.add_argument("--iters", type=int, help=f"training iterations (default {FULL['iters']})")
    parser.add_argument("--paths", type=int,
                        help=f"simulated paths per iteration, >= 2 (default {FULL['paths']})")
    parser.add_argument("--hidden", type=int, help=f"hidden width (default {FULL['hidden']})")
    parser.add_argument("--lr", type=float, help=f"Adam learning rate (default {FULL['lr']})")
    parser.add_argument("--dt", type=float,
                        help="fixed SRI step in training time units (one unit = one observation "
                             f"interval; default {FULL['dt']})")
    parser.add_argument("--samples", type=int,
                        help=f"model sample paths drawn for fit.png (default {FULL['samples']})")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the data, the initial weights and the Brownian paths")
    parser.add_argument("--out", default="experiments/results/ou_panel", help="output folder")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (a few seconds) for smoke tests; explicit flags still win")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.groups < 2 or args.points < 2 or args.paths < 2:
        parser.error("--groups, --points and --paths must be >= 2 (moments need variances)")
    if args.iters < 0 or args.hidden < 1 or args.samples < 2 or args.seed < 0:
        parser.error("--iters and --seed must be >= 0, --hidden >= 1 and --samples >= 2")
    if not (args.lr > 0 and args.dt > 0):
        parser.error("--lr and --dt must be > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    series = simulate_ou(theta=THETA, mu=MU, sigma=SIGMA, y0=Y0, t_end=T_END, points=args.points,
                         groups=args.groups, seed=args.seed)
    scaling = Scaling.fit(series, "standard")
    train = scaling.transform(series)

    torch.manual_seed(args.seed)
    spec = {"kind": "mlp", "state_dim": 1, "hidden": args.hidden, "layers": 1,
            "drift_activation": "tanh", "diffusion_activation": "tanh",
            "diffusion_final": "softplus"}
    model = build_model(spec)
    small_output_init(model, G0)
    solve_config = SolveConfig(method="sri", tableau="sosri", adaptive=False, dt=args.dt)
    train_config = TrainConfig(iters=args.iters, stage_iters=0, curriculum=False, lr=args.lr,
                               lr_final=0.05, paths=args.paths, loss="moments", seed=args.seed)
    result = fit(model, train, solve_config=solve_config, train_config=train_config, quiet=True)
    model.eval()

    # Compare the fields on the 1st-99th percentile range of the observations (y0 itself excluded:
    # every path starts there, so it would weigh T times more than it should).
    observed = series.ys[1:][series.mask[1:]].numpy()
    lo, hi = (float(v) for v in np.percentile(observed, [1.0, 99.0]))
    grid = np.linspace(lo, hi, 201)
    f, g = fields_in_data_units(model, scaling, grid)
    f_true, g_true = true_drift(grid), true_diffusion(grid)
    drift_err, diffusion_err = rel_l2(f, f_true), rel_l2(g, g_true)
    slope, intercept = np.polyfit(grid, f, 1)  # f ~ theta (mu - y) = -theta y + theta mu
    baseline = ou_least_squares(series)
    baseline["drift_rel_l2"] = rel_l2(true_drift(grid, baseline["theta"], baseline["mu"]), f_true)
    baseline["diffusion_rel_l2"] = rel_l2(true_diffusion(grid, baseline["sigma"]), g_true)

    from neuralsde.plotting import plot_fit, save

    fig = plot_fields(grid, f, g, f_true, g_true, drift_err=drift_err,
                      diffusion_err=diffusion_err, data=observed)
    save(fig, out / "drift_diffusion.png")
    y0 = initial_state(series, 1)
    paths = sample(model, y0, series.ts, args.samples, solve_config=solve_config,
                   seed=args.seed + 1, scaling=scaling)  # (S, T, 1) data units
    fig2 = plot_fit(series.ts, paths, observed=series.ys, clean=series.clean,
                    clean_label="true mean", names=series.names, time_label="t",
                    title=f"OU panel ({args.groups} paths) and the fitted neural SDE "
                          f"({args.samples} sample paths)")
    save(fig2, out / "fit.png")
    import matplotlib.pyplot as plt

    plt.close(fig)
    plt.close(fig2)

    seconds = time.perf_counter() - start
    report = {
        "drift_rel_l2": drift_err,
        "diffusion_rel_l2": diffusion_err,
        "y_range": [lo, hi],
        "true": {"theta": THETA, "mu": MU, "sigma": SIGMA, "y0": Y0, "t_end": T_END},
        "fitted_line": {"theta": float(-slope), "mu": float(intercept / -slope)
                        if slope != 0 else None, "sigma_mean": float(np.mean(g))},
        "ou_least_squares": baseline,
        "settings": {"groups": args.groups, "points": args.points, "seed": args.seed,
                     "quick": args.quick, "samples": args.samples, "grid_points": len(grid),
                     "model": spec, "init": f"small_output_init(g0={G0})",
                     "scaling_method": "standard",
                     "solver": dataclasses.asdict(solve_config),
                     "training": train_config.to_dict()},
        "scaling": scaling.to_dict(),
        "seconds": seconds,
        "fit_seconds": result.wall_seconds,
        "final_loss": result.final_loss,
        "stopped": result.stopped,
        "skipped_iterations": sum(1 for r in result.history if r["event"]),
        "threads": torch.get_num_threads(),
    }
    (out / "ou_panel.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"drift rel L2 {drift_err:.4f}, diffusion rel L2 {diffusion_err:.4f} on y in "
          f"[{lo:.3f}, {hi:.3f}]; line fit theta {-slope:.3f}, intercept {intercept:.3f}, "
          f"mean g {np.mean(g):.3f} (OU least squares on the data: drift "
          f"{baseline['drift_rel_l2']:.4f}, diffusion {baseline['diffusion_rel_l2']:.4f}); "
          f"final loss {result.final_loss:.3g}; {seconds:.1f} s; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
