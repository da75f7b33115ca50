"""The noise of a solve: seeding, torchsde's Brownian interval, and the Brownian increments and
space-time Lévy areas that an SRI step takes (:class:`neuralsde.sri.Noise`).

Besides :mod:`neuralsde.solvers.torchsde_backend`, the only module that imports torchsde: it builds
the ``BrownianInterval`` that every solve with a Brownian path queries.
"""

from __future__ import annotations

import math

import torch
import torchsde

from .._checks import check_int
from ..sri import Noise


def seed_to_entropy(seed: int | None) -> int:
    """The integer that seeds a solve's Brownian motion.

    Args:
        seed: an integer >= 0, or None to draw one from torch's global generator (so
            ``torch.manual_seed`` still makes runs reproducible).

    Returns:
        ``seed`` itself, or the drawn integer.

    Raises:
        ValueError: ``seed`` is neither None nor an integer >= 0.
    """
    if seed is None:
        return int(torch.randint(0, 2**62, (1,)).item())
    check_int("seed", seed, 0, allow_none=True)
    return int(seed)


def brownian_interval(t0: float, t1: float, shape, *, dtype=torch.float32, device="cpu",
                      seed: int | None = None,
                      dt: float | None = None) -> torchsde.BrownianInterval:
    """A torchsde ``BrownianInterval`` with the space-time Lévy area that SRI methods need,
    seeded explicitly (torchsde would otherwise take its entropy from the OS).

    Args:
        t0, t1: the interval of times the path covers.
        shape: the shape of one increment, (batch, d).
        dtype, device: of the increments.
        seed: see :func:`seed_to_entropy`.
        dt: the typical step size (default: 1/100 of the span). torchsde builds its internal tree
            from it up front; left to guess, it rebuilds the tree after 100 queries, which is
            slow and can exceed Python's recursion limit on long sequential solves.

    Returns:
        The Brownian path; ``bm(s, t, return_U=True)`` gives ``(ΔW, ΔU)`` over ``[s, t]``.
    """
    t0, t1 = float(t0), float(t1)
    return torchsde.BrownianInterval(t0=t0, t1=t1, size=tuple(shape), dtype=dtype,
                                     device=device, entropy=seed_to_entropy(seed),
                                     dt=dt if dt is not None else (t1 - t0) / 100,
                                     levy_area_approximation="space-time")


def increment(tab, bm, t: float, t_new: float, h: float, shard=None) -> Noise:
    """The noise of one SRI step from ``t`` to ``t_new`` (length ``h``), queried from ``bm``.

    Args:
        tab: the SRI tableau (:func:`neuralsde.sri.get_tableau`).
        bm: a Brownian path over all paths of the solve.
        t, t_new, h: the step.
        shard: when given, ``bm`` covers all ``shard.total`` paths and this process's block is
            kept.
    """
    dW, I10 = bm(t, t_new, return_U=True)
    if shard is not None:
        dW, I10 = shard.take(dW, 0), shard.take(I10, 0)
    return Noise.build(tab, dW, I10, h)


def grid_noise(tab, steps: list, y0: torch.Tensor, seed: int | None, bm, shard=None) -> list:
    """The noise of every step of a known step sequence, drawn at once.

    From ``bm`` when given, else from a torch generator seeded with ``seed`` (two tensor draws for
    the whole grid).

    Args:
        tab: the SRI tableau.
        steps: ``(t, h, lands)`` per step (:func:`neuralsde.solvers.grid.fixed_steps`).
        y0: the initial state (batch, d): the noise's shape, dtype and device.
        seed: see :func:`seed_to_entropy`; unused when ``bm`` is given.
        bm: a Brownian path, or None.
        shard: when given, the noise is drawn for all ``shard.total`` paths and this process's
            block kept, so it equals those rows of a single-process draw.

    Returns:
        One ``(chi2, weights, err_weights)`` triple per step, the fields of a
        :class:`neuralsde.sri.Noise`.
    """
    n = len(steps)
    hs = torch.tensor([h for _, h, _ in steps], dtype=y0.dtype, device=y0.device).view(n, 1, 1)
    if bm is None:
        gen = torch.Generator(device=y0.device).manual_seed(seed_to_entropy(seed))
        shape = (n, *y0.shape) if shard is None else (n, shard.total, *y0.shape[1:])
        n1 = torch.randn(shape, generator=gen, dtype=y0.dtype, device=y0.device)
        n2 = torch.randn(shape, generator=gen, dtype=y0.dtype, device=y0.device)
        if shard is not None:  # every process draws all paths and keeps its own
            n1, n2 = shard.take(n1, 1), shard.take(n2, 1)
        dW = hs.sqrt() * n1
        # I10 = h/2 (ΔW + ΔZ/√3), ΔZ ~ N(0, h) independent: mean 0, Var h³/3, Cov(ΔW, I10) = h²/2
        I10 = 0.5 * hs * (dW + hs.sqrt() * n2 / math.sqrt(3.0))
    else:
        pairs = [bm(t, t + h, return_U=True) for t, h, _ in steps]
        dW = torch.stack([p[0] for p in pairs])
        I10 = torch.stack([p[1] for p in pairs])
        if shard is not None:
            dW, I10 = shard.take(dW, 1), shard.take(I10, 1)
    noise = Noise.build(tab, dW, I10, hs)
    return list(zip(noise.chi2.unbind(0), noise.weights.unbind(0), noise.err_weights.unbind(0)))
