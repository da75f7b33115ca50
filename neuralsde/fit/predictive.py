"""The one-step-ahead predictive band along a series, for the fit figure of the windows and
transition objectives: at each of the last training times, the model's ensemble started from the
previous observation. Its cost grows with the number of times shown, never with the series."""

from __future__ import annotations

import numpy as np
import torch

from ..data import Scaling, TimeSeries
from ..solvers import SolveConfig
from ..train.windows import WindowConfig, Windows

#: Training times the band shows at most (the last ones): the figure's zoom.
SHOWN = 300


def one_step_band(model, train: TimeSeries, scaling: Scaling, solve_config: SolveConfig, *,
                  n: int, seed: int, shown: int = SHOWN) -> tuple[np.ndarray, np.ndarray]:
    """Samples of the one-step-ahead forecast at the last ``shown`` observation times of the
    first group, in data units.

    Args:
        model: the trained model.
        train: the training data, in data units.
        scaling: the run's scaling.
        solve_config: how to solve.
        n: samples per time.
        seed: seeds the Brownian paths.
        shown: how many of the last times.

    Returns:
        ``(times (K,), samples (n, K, d))``.
    """
    scaled = scaling.transform(train)
    objective = Windows(scaled, WindowConfig(horizon=1, samples=max(n, 2)), solve_config)
    objective.setup(model)
    chosen = (objective.groups == 0).nonzero()[:, 0][-shown:]
    with torch.no_grad():
        pred, _ = objective.simulate(model, chosen, n, seed)  # (n, K, 1, d)
    times = train.ts[objective.target_index[chosen, 0]]  # (K,) data units
    values = scaling.inverse_y(pred[:, :, 0, :].double().cpu(), times[None, :])
    return times.numpy(), values.numpy()
