"""The built-in reference data: the DiffEqFlux neural SDE blog example's ``exp(x)`` plus uniform
noise; ``data/exp_noisy.csv`` holds it for ``seed=0``."""

from __future__ import annotations

import numpy as np
import torch

from .._checks import is_int
from .series import TimeSeries

__all__ = ["reference_dataset"]


def reference_dataset(seed: int = 0) -> TimeSeries:
    """The DiffEqFlux neural SDE blog example's data: ``exp(x)`` plus uniform noise.

    ``x = -3, -2, ..., 3`` (7 points) and ``y = exp(x) + 2 U`` with ``U`` drawn as
    ``numpy.random.default_rng(seed).uniform(0.0, 1.0, size=7)``, so ``y - exp(x)`` lies in
    ``[0, 2)``. Time is ``t = x + 3`` on ``[0, 6]``. ``data/exp_noisy.csv`` equals
    ``reference_dataset(seed=0)``.

    Args:
        seed: seed of the numpy generator for the noise, a non-negative integer.

    Returns:
        A :class:`TimeSeries` with ``ts`` (7,) = ``[0, 1, ..., 6]``, ``ys`` (7, 1, 1), channel
        ``"y"``, time ``"t"``, ``clean`` (7, 1) = ``exp(x)`` and source
        ``"reference(seed=<seed>)"``.

    Raises:
        ValueError: if ``seed`` is not a non-negative integer.
    """
    if not is_int(seed) or seed < 0:  # not check_int: its message would say "an integer >= 0"
        raise ValueError(f"seed={seed!r} is not supported; expected a non-negative integer.")
    x = np.arange(-3.0, 4.0)  # (7,)
    noise = np.random.default_rng(int(seed)).uniform(0.0, 1.0, size=x.shape[0])
    clean = np.exp(x)
    y = clean + 2.0 * noise
    ys = torch.from_numpy(y).reshape(-1, 1, 1)  # (T, 1, 1)
    return TimeSeries(ts=torch.from_numpy(x + 3.0), ys=ys,
                      mask=torch.ones_like(ys, dtype=torch.bool),
                      names=("y",), time_name="t", clean=torch.from_numpy(clean).reshape(-1, 1),
                      source=f"reference(seed={int(seed)})")
