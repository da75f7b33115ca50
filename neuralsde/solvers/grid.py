"""The fixed-step landing grid: steps of at most ``dt`` between consecutive output times,
shortened evenly so that every output time is a grid point.

One rule for both fixed-step solvers: our SRI (:func:`fixed_steps`, Python floats) and
torchdiffeq's rk4 (:func:`landing_grid`, tensors in the solve's dtype). Each keeps its own
arithmetic for the grid points, so the numbers are those each solver has always produced.
"""

from __future__ import annotations

import math

import torch

#: Slack on ``span / dt`` so that a span that is a whole number of steps up to rounding does not
#: get one more, tiny step.
_SLACK = 1e-9


def step_count(span: float, dt: float) -> int:
    """How many equal steps of at most ``dt`` cover ``span`` (of either sign): at least one.

    Args:
        span: the length ``b - a`` of one interval between output times.
        dt: the largest step.

    Returns:
        ``max(1, ceil(|span| / dt - 1e-9))``.
    """
    return max(1, math.ceil(abs(span) / dt - _SLACK))


def segments(times, dt: float):
    """The intervals between consecutive ``times`` with their step counts.

    Args:
        times: a list of floats or a 1-D tensor (increasing, or decreasing for a backward pass).
        dt: the largest step.

    Yields:
        ``(a, b, n)``: the interval's ends (elements of ``times``) and :func:`step_count` of
        ``float(b - a)``, the difference taken in ``times``' own arithmetic.
    """
    for a, b in zip(times[:-1], times[1:]):
        yield a, b, step_count(float(b - a), dt)


def fixed_steps(ts_list: list, dt: float) -> list:
    """The steps of a fixed-step solve over ``ts_list``.

    Within each interval ``[a, b]`` the ``n`` steps start at ``a + i*h``, ``h = (b - a)/n``; the
    last one is ``b - a - (n - 1)*h`` long so that it ends on ``b`` whatever the rounding.

    Args:
        ts_list: output times, strictly increasing floats.
        dt: the largest step.

    Returns:
        A list of ``(t, h, lands)``: the step's start, its length, and whether it ends on an
        output time.
    """
    steps = []
    for a, b, n in segments(ts_list, dt):
        h = (b - a) / n
        steps += [(a + i * h, h, False) for i in range(n - 1)]
        steps.append((a + (n - 1) * h, b - a - (n - 1) * h, True))
    return steps


def landing_grid(dt: float):
    """A torchdiffeq ``grid_constructor`` on the landing grid.

    torchdiffeq's own ``step_size`` grid ignores the output times and interpolates linearly
    between its points, which is only second-order accurate there. Works for decreasing ``t``
    too (the adjoint's backward pass asks for one segment at a time).

    Args:
        dt: the largest step.

    Returns:
        ``construct(func, y0, t)``, returning the grid points ``a + (b - a)*k/n`` of every
        interval ``[a, b]`` of ``t`` (``k = 0..n-1``; ``k = 0`` gives ``a`` exactly), then
        ``t[-1]``.
    """

    def construct(func, y0, t):
        pieces = []
        for a, b, n in segments(t, dt):
            k = torch.arange(n, dtype=t.dtype, device=t.device)
            pieces.append(a + (b - a) * k / n)
        pieces.append(t[-1:])
        return torch.cat(pieces)

    return construct
