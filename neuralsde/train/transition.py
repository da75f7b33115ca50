"""The "transition" objective: the Euler–Maruyama Gaussian likelihood of consecutive
observations, with no solver at all.

Between consecutive observation times ``t_k`` and ``t_{k+1} = t_k + Δ`` of a fully observed
state, Euler–Maruyama says ``y_{k+1} ≈ N(y_k + f(t_k, y_k) Δ, g(t_k, y_k)² Δ)`` per channel
(diagonal noise). The loss is the mean negative log-likelihood of a minibatch of such pairs:
one drift and one diffusion call on the whole minibatch, so an iteration costs the same whatever
the series' length.

Bias: the Gaussian transition is exact only as Δ → 0. When the spacing is coarse against the
dynamics (Δ comparable to the time scale of the drift, e.g. ``Δ · θ ≳ 0.2`` for an
Ornstein–Uhlenbeck mean reversion ``θ``), the fitted drift is shrunk (for OU it estimates
``(1 − e^{−θΔ})/Δ`` instead of ``θ``) and the diffusion with it. Use it for densely sampled
series, or as a fast warm start for the "windows" objective, which simulates between
observations and has no such bias.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .._checks import check_int
from ..curriculum import Stage
from ..data import TimeSeries
from .objectives import Objective, state_dim_of
from .sampling import model_dtype_device

#: Smallest variance of a transition, in training units, so a diffusion of 0 cannot divide by 0.
_MIN_VARIANCE = 1e-8


@dataclass(frozen=True)
class TransitionConfig:
    """Settings of the "transition" objective.

    Args:
        pairs: consecutive-observation pairs per iteration (all of them when fewer exist).
        iters: iterations.
    """

    pairs: int = 1024
    iters: int = 600

    def __post_init__(self):
        check_int("pairs", self.pairs, 1)
        check_int("iters", self.iters, 1)

    def to_dict(self) -> dict:
        return asdict(self)


def transition_pairs(series: TimeSeries) -> np.ndarray:
    """``(group, k, k_next)`` for every pair of consecutive observation times of a group where
    every channel is observed at both."""
    mask = series.mask.numpy()  # (T, P, d)
    rows = []
    for p in range(series.n_paths):
        full = np.flatnonzero(mask[:, p, :].all(axis=1))
        seen = np.flatnonzero(mask[:, p, :].any(axis=1))
        nxt = {int(a): int(b) for a, b in zip(seen[:-1], seen[1:])}
        rows += [(p, int(k), nxt[int(k)]) for k in full if int(k) in nxt and
                 mask[nxt[int(k)], p, :].all()]
    if not rows:
        raise ValueError("the transition objective needs two consecutive fully observed times "
                         "in some group; the data have none.")
    return np.asarray(rows, dtype=np.int64)


class Transition(Objective):
    """Euler–Maruyama likelihood of consecutive observations (see the module docstring).

    Args:
        series: the training data, in training units; every state channel must be observed.
        config: a :class:`TransitionConfig`.
    """

    name = "transition"

    def __init__(self, series: TimeSeries, config: TransitionConfig | None = None):
        self.series = series
        self.config = TransitionConfig() if config is None else config

    def schedule(self) -> list[Stage]:
        return [Stage("transitions", n_points=self.series.n_points, iters=self.config.iters)]

    def setup(self, model) -> None:
        state_dim = state_dim_of(model, self.series)
        if state_dim != self.series.dim:
            raise ValueError(f"the transition objective needs every state channel observed: the "
                             f"model has {state_dim} channels, the data {self.series.dim}; use "
                             "the windows objective for latent channels.")
        dtype, device = model_dtype_device(model)
        index = torch.from_numpy(transition_pairs(self.series))
        group, k, k_next = index[:, 0], index[:, 1], index[:, 2]
        ts = self.series.ts.to(dtype=dtype, device=device)
        ys = self.series.ys.to(dtype=dtype, device=device)  # (T, P, d)
        self.t = ts[k][:, None]  # (N, 1)
        self.dt = (ts[k_next] - ts[k])[:, None]  # (N, 1)
        self.y = ys[k, group]  # (N, d)
        self.y_next = ys[k_next, group]  # (N, d)
        self.n_pairs = len(index)
        self.time_dependent = getattr(model, "period", None) is not None

    def settings(self) -> dict:
        return {"objective": self.name, **self.config.to_dict(), "valid_pairs": self.n_pairs}

    def loss(self, model, stage: Stage, seed: int):
        if self.config.pairs >= self.n_pairs:
            chosen = slice(None)
        else:
            gen = torch.Generator().manual_seed(seed)
            chosen = torch.randint(0, self.n_pairs, (self.config.pairs,), generator=gen)
        y, dt = self.y[chosen], self.dt[chosen]
        t = self.t[chosen] if self.time_dependent else 0.0
        drift, diffusion = model.f(t, y), model.g(t, y)
        var = diffusion.square() * dt + _MIN_VARIANCE
        resid = self.y_next[chosen] - y - drift * dt
        nll = 0.5 * (torch.log(2 * math.pi * var) + resid.square() / var)
        return nll.mean(), None
