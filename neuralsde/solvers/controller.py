"""Step-size control of the adaptive SRI solve: the first step, the proposal of each step, and the
PI controller's update after an accepted or rejected step (see ../shared/reference/sri.md,
section 6).

Plain float arithmetic on step sizes and error norms; nothing here knows the SRI scheme.
"""

from __future__ import annotations

import math

import torch

from .config import NonFiniteStateError

SAFETY = 0.9
FAC_MIN = 0.2
FAC_MAX = 5.0
K_I = 0.5  # local error estimate ~ h^2 for a strong-1.5 scheme -> exponent 1/2
K_P = 0.1  # a small proportional gain smooths the step sequence on noisy estimates


def rms(x: torch.Tensor, shard=None) -> float:
    """Root mean square of ``x``, over all processes' paths when ``shard`` is given."""
    if shard is not None:
        return float(shard.mean_square(x).sqrt())
    return float(x.square().mean().sqrt())


@torch.no_grad()
def initial_step(f, g, t0: float, y0: torch.Tensor, span: float, config, stats,
                 shard=None) -> float:
    """The first step of an adaptive solve.

    The usual ODE heuristic (Hairer, Nørsett & Wanner I, II.4) on the drift, also kept small
    enough that one step's noise ``√h·g`` is within the tolerance.

    Args:
        f, g: the model's drift and diffusion.
        t0, y0: the initial time and state (detached).
        span: the length of the whole solve, an upper bound for the trial step.
        config: the :class:`neuralsde.SolveConfig` (``rtol``, ``atol``).
        stats: the solve's :class:`neuralsde.SolveStats`; the 2 drift and 1 diffusion calls made
            here are counted in it.
        shard: see :func:`rms`.

    Returns:
        The step size (before clipping to ``[dt_min, dt_max]``): a finite number > 0.

    Raises:
        NonFiniteStateError: the drift or diffusion is NaN or infinite at ``y0`` (no step can
            help; left alone, the NaN step size would reach the Brownian path, whose search for
            a NaN time never ends).
    """
    sc = config.atol + y0.abs() * config.rtol
    f0 = f(t0, y0)
    g0 = g(t0, y0)
    stats.f_evals += 1
    stats.g_evals += 1
    for name, value in (("drift f", f0), ("diffusion g", g0)):
        if not bool(torch.isfinite(value).all()):
            dtype = str(y0.dtype).removeprefix("torch.")
            raise NonFiniteStateError(
                f"the {name}(t, y0) is not finite at the initial state (t={t0:g}, largest |y0| "
                f"{float(y0.abs().max()):.3g} in {dtype}); the model overflows there: rescale "
                "the data or start from a smaller state.")
    d0, d1, dg = rms(y0 / sc, shard), rms(f0 / sc, shard), rms(g0 / sc, shard)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, span) if h0 > 0 else 1e-6  # d1 overflowed to infinity: h0 is 0
    f1 = f(t0 + h0, y0 + h0 * f0)
    stats.f_evals += 1
    d2 = rms((f1 - f0) / sc, shard) / h0
    dmax = max(d1, d2)
    h1 = max(1e-6, h0 * 1e-3) if dmax <= 1e-15 else math.sqrt(0.01 / dmax)
    h = min(100 * h0, h1)
    if dg > 0:
        h = min(h, 0.01 / dg**2)
    return h if math.isfinite(h) and h > 0 else h0


def clip(h: float, dt_min: float, dt_max: float) -> float:
    """``h`` clipped to ``[dt_min, dt_max]``."""
    return min(max(h, dt_min), dt_max)


def propose(h: float, remaining: float) -> tuple[float, bool]:
    """The step to try next, given the controller's size ``h`` and the time ``remaining`` to the
    next output time.

    Returns:
        ``(h_try, lands)``: the whole remainder when ``h`` reaches it (``lands``); half of it when
        ``h`` would leave less than one more step (two even steps rather than one long and one
        tiny); else ``h``.
    """
    lands = h >= remaining
    if lands:
        h_try = remaining
    elif remaining < 2 * h:
        h_try = 0.5 * remaining
    else:
        h_try = h
    return h_try, lands


def after_accept(h: float, h_try: float, eest: float, eest_prev: float) -> tuple[float, float]:
    """The PI controller's next step size after an accepted step.

    Args:
        h: the controller's step size before the step.
        h_try: the step taken (shorter than ``h`` when clipped to land on an output time).
        eest: the step's error norm (finite; may exceed 1 for a step forced at ``dt_min``).
        eest_prev: the error norm the previous accepted step passed on (1.0 at the start).

    Returns:
        ``(h, eest_prev)``: the next step size (before clipping to ``[dt_min, dt_max]``) and the
        error norm to pass on to the next accepted step.
    """
    e = max(eest, 1e-10)
    factor = SAFETY * e ** (-K_I) * (eest_prev / e) ** K_P
    h_new = h_try * min(FAC_MAX, max(FAC_MIN, factor))
    # a step clipped to land on an output says little about the proposed size h
    h = h_new if h_try >= h else min(h, max(h_new, h_try))
    return h, max(eest, 1e-4)


def after_reject(h_try: float, eest: float) -> float:
    """The step size to retry with after a rejected step of size ``h_try`` and error norm
    ``eest`` (NaN or infinite when the state was not finite: then the largest cut)."""
    factor = FAC_MIN if not math.isfinite(eest) else SAFETY * eest ** (-K_I)
    return h_try * min(1.0, max(FAC_MIN, factor))
