"""Our SRI over a known step sequence: the fixed-step solve, and the replay (optionally in
checkpointed segments) that the adaptive solve also uses once it has found its steps."""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

from ..sri import Noise, get_tableau, sri_step
from .brownian import grid_noise
from .config import NonFiniteStateError, SolveStats, checked_field
from .grid import fixed_steps


def solve_sri_fixed(model, y0: torch.Tensor, ts_list: list, config, bm, seed, shard=None):
    """Fixed-step SRI on the landing grid (:func:`neuralsde.solvers.grid.fixed_steps`).

    Args:
        model: with ``f(t, y)`` and ``g(t, y)``.
        y0: initial state (batch, d).
        ts_list: output times, checked, as floats.
        config: the :class:`neuralsde.SolveConfig` (``tableau``, ``dt``, ``checkpoint_every``).
        bm: a Brownian path, or None to draw the noise from ``seed``
            (:func:`neuralsde.solvers.brownian.grid_noise`).
        seed: the noise's seed when ``bm`` is None.
        shard: this process's block of the paths, or None.

    Returns:
        ``(ys, stats)``: the states at ``ts_list`` (T, batch, d) and a
        :class:`neuralsde.SolveStats`.
    """
    tab = get_tableau(config.tableau)
    steps = fixed_steps(ts_list, config.dt)
    noises = grid_noise(tab, steps, y0, seed, bm, shard)
    ys = replay(model.f, model.g, tab, y0, steps, noises, config.checkpoint_every)
    stats = SolveStats(method=f"sri-{tab.name}", accepted_steps=len(steps), rejected_steps=0,
                       forced_steps=0, f_evals=tab.drift_calls * len(steps),
                       g_evals=tab.stages * len(steps))
    return ys, stats


def replay(f, g, tab, y0: torch.Tensor, steps: list, noises: list,
           checkpoint_every: int | None) -> torch.Tensor:
    """Run a known step sequence with gradients, optionally in checkpointed segments.

    Args:
        f, g: the model's drift and diffusion.
        tab: the SRI tableau.
        y0: initial state (batch, d).
        steps: ``(t, h, lands)`` per step.
        noises: the ``(chi2, weights, err_weights)`` of each step's :class:`neuralsde.sri.Noise`.
        checkpoint_every: recompute the forward pass in the backward pass in segments of this
            many steps (``torch.utils.checkpoint``), or None to store everything.

    Returns:
        ``y0`` and the state at the end of every step that lands on an output time, stacked:
        (T, batch, d).
    """
    outputs = [y0]
    n = len(steps)
    if checkpoint_every is None:
        outputs += run_steps(f, g, tab, y0, steps, noises, 0, n)[1:]
        return torch.stack(outputs)
    y = y0
    for lo in range(0, n, checkpoint_every):
        hi = min(n, lo + checkpoint_every)
        res = checkpoint(run_steps, f, g, tab, y, steps, noises, lo, hi, use_reentrant=False)
        y = res[0]
        outputs += res[1:]
    return torch.stack(outputs)


def run_steps(f, g, tab, y: torch.Tensor, steps: list, noises: list, lo: int, hi: int) -> tuple:
    """Take steps ``lo..hi-1`` from ``y`` (no error estimate).

    The first step of a solve checks the vector fields' output shapes; every output is checked
    for NaN and infinities.

    Returns:
        ``(y, *outputs)``: the state after step ``hi - 1`` and the states at the output times
        reached on the way.

    Raises:
        NonFiniteStateError: an output state is NaN or infinite; the message gives the interval
            between output times where it became so.
    """
    outs = []
    for s in range(lo, hi):
        t, h, lands = steps[s]
        ff, gg = (checked_field(f, "f", y.shape), checked_field(g, "g", y.shape)) if s == 0 \
            else (f, g)
        y = sri_step(ff, gg, tab, t, h, y, Noise(*noises[s]), with_error=False)[0]
        if lands:
            if not bool(torch.isfinite(y).all()):
                raise NonFiniteStateError(
                    f"the state became non-finite by t={t + h:g} (somewhere between the output "
                    f"times t={_prev_output(steps, s):g} and t={t + h:g}).")
            outs.append(y)
    return (y, *outs)


def _prev_output(steps: list, s: int) -> float:
    """The output time before step ``s`` ends (the solve's start when there is none)."""
    for k in range(s - 1, -1, -1):
        if steps[k][2]:
            return steps[k][0] + steps[k][1]
    return steps[0][0]
