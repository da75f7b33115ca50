"""Fixed-step Euler–Maruyama with its noise drawn at once: ``method="euler"`` with backprop.

The scheme is torchsde's fixed-step ``"euler"``, which this solve replaced: steps of ``dt`` from
the first output time, the last one shortened to end on the last output time, and the state at
each output time linearly interpolated between the two grid points around it (so output times
that fall between grid points cost no extra step). What differs is the noise: every step's
Brownian increment comes from one tensor draw seeded with ``seed``, instead of a query of a
Brownian interval per step, whose tree walk and space-time Lévy area (which Euler does not use)
took a fifth to a third of a training iteration's time (``benchmarks/README.md``, *The Brownian
increments*).
"""

from __future__ import annotations

import bisect

import torch

from .brownian import seed_to_entropy
from .config import SolveStats, check_outputs_finite, checked_field
from .grid import step_count


def euler_grid(t0: float, t1: float, dt: float) -> list[float]:
    """The grid points of a solve over ``[t0, t1]``: ``t0 + k dt`` while before ``t1``, then
    ``t1`` (one step at least; a span that is a whole number of steps up to rounding gets no
    extra tiny step)."""
    n = step_count(t1 - t0, dt)
    return [t0 + k * dt for k in range(n)] + [t1]


def brackets(grid: list[float], ts_list: list[float]) -> tuple[list[int], list[float]]:
    """For each output time ``t``, the index ``k`` of the grid point at or before it and its
    weight ``(t - grid[k]) / (grid[k + 1] - grid[k])`` in [0, 1) towards the next one (0 at the
    last grid point)."""
    last = len(grid) - 1
    index, weight = [], []
    for t in ts_list:
        k = min(max(bisect.bisect_right(grid, t) - 1, 0), last)
        w = 0.0 if k == last else (t - grid[k]) / (grid[k + 1] - grid[k])
        index.append(k)
        weight.append(min(max(w, 0.0), 1.0))
    return index, weight


def solve_euler_fixed(model, y0: torch.Tensor, ts_list: list, config, seed):
    """Euler–Maruyama over ``ts_list`` with steps of at most ``config.dt``.

    Args:
        model: with ``f(t, y)`` and ``g(t, y)`` (diagonal noise).
        y0: initial state (batch, d).
        ts_list: output times, checked, as floats.
        config: the :class:`neuralsde.SolveConfig` (``dt``).
        seed: seeds the increments (:func:`neuralsde.solvers.brownian.seed_to_entropy`).

    Returns:
        ``(ys, stats)``: the states at ``ts_list`` (T, batch, d) and a
        :class:`neuralsde.SolveStats`.

    Raises:
        NonFiniteStateError: a state at an output time is NaN or infinite.
    """
    grid = euler_grid(ts_list[0], ts_list[-1], config.dt)
    n = len(grid) - 1
    hs = [b - a for a, b in zip(grid[:-1], grid[1:])]
    gen = torch.Generator(device=y0.device).manual_seed(seed_to_entropy(seed))
    noise = torch.randn((n, *y0.shape), generator=gen, dtype=y0.dtype, device=y0.device)
    dW = noise * torch.tensor(hs, dtype=y0.dtype, device=y0.device).sqrt().view(n, 1, 1)
    f, g = checked_field(model.f, "f", y0.shape), checked_field(model.g, "g", y0.shape)
    build = getattr(model, "stacked_fields", None)
    both = build(grid[:-1]) if callable(build) and n > 1 else None
    y, states = y0, [y0]
    for k in range(n):
        if k and both is not None:  # the first step checks the model's shapes, unstacked
            drift, diffusion = both(k, y)
        else:
            drift, diffusion = f(grid[k], y), g(grid[k], y)
            f, g = model.f, model.g
        y = torch.addcmul(torch.add(y, drift, alpha=hs[k]), diffusion, dW[k])
        states.append(y)
    path = torch.stack(states)  # (n + 1, batch, d)
    index, weight = brackets(grid, ts_list)
    k = torch.tensor(index, device=y0.device)
    w = torch.tensor(weight, dtype=y0.dtype, device=y0.device).view(-1, 1, 1)
    lo, hi = path[k], path[(k + 1).clamp(max=n)]
    ys = lo + w * (hi - lo)
    check_outputs_finite(ys, ts_list)
    stats = SolveStats(method="euler", accepted_steps=n, rejected_steps=0, forced_steps=0,
                       f_evals=n, g_evals=n)
    return ys, stats
