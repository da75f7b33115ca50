"""The "windows" objective: short simulations that start at observed states, scored by proper
scoring rules. Its cost per iteration does not depend on the series' length.

Each iteration draws ``windows`` start points uniformly among all valid ones (every group of a
panel, each from its own observations). A window starting at observation ``j`` of a group
simulates ``samples`` paths from the observed state there (latent channels from the model's
encoder over the previous ``lags`` observations) over the group's next ``horizon`` observation
times, and scores the ensemble against the observations: the fair CRPS per time and channel plus
the fair energy score over the window's whole horizon (so the dependence across times counts),
missing observations skipped. All windows of an iteration are one batched solve on the union of
their relative output times; each window reads its own.

A window's start must be fully observed (every channel); its targets may have gaps. A model with
a period sees absolute time: each path carries its window's start time as an offset.

Split across processes (torchrun), every process draws the same windows and the noise of the
whole batch from the seed, and solves only its block of whole windows; the loss is a sum of one
share per window, gathered, so the numbers are those of one process (:mod:`neuralsde.distributed`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .._checks import check_int
from ..curriculum import Stage
from ..data import TimeSeries
from ..scores import crps_fair, energy_score
from ..solvers import SolveConfig, solve
from .objectives import Objective, solved_everywhere, state_dim_of
from .sampling import model_dtype_device

#: Relative times are rounded to this fraction of the median spacing, so that a regular grid
#: gives one shared output grid despite floating-point noise in the differences.
_TIME_ROUNDING = 1e-6
#: A series whose spacings all lie within this fraction of the median is calendar-like (months:
#: 28 to 31 days), and ``WindowConfig.time_grid`` applies to it.
_CALENDAR_SPREAD = 0.15


@dataclass(frozen=True)
class WindowConfig:
    """Settings of the "windows" objective (defaults chosen by measurement, see the README).

    Args:
        windows: windows per iteration.
        samples: sample paths per window (the ensemble that is scored), >= 2.
        horizon: observation times each window simulates and scores.
        iters: iterations.
        energy_weight: weight of the energy score (divided by the square root of the number of
            scored entries, which puts it on the CRPS's scale) against the CRPS.
        time_grid: on a calendar-like series (every spacing within 15 % of the median: months,
            quarters), the windows' target times relative to their start are rounded to this
            fraction of the median spacing (at most half of it off: under 2 days for months).
            Windows then share a few relative times instead of one per month-length pattern,
            and the solver, which lands on each, takes about half the steps (measured on the
            monthly development series: ``benchmarks/README.md``). 0 keeps the exact times.
            Other series always keep them.
    """

    windows: int = 64
    samples: int = 16
    horizon: int = 8
    iters: int = 600
    energy_weight: float = 1.0
    time_grid: float = 0.125

    def __post_init__(self):
        check_int("windows", self.windows, 1)
        check_int("samples", self.samples, 2)
        check_int("horizon", self.horizon, 1)
        check_int("iters", self.iters, 1)
        weight = self.energy_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) \
                or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"energy_weight={self.energy_weight!r} is not supported; expected a "
                             "finite number >= 0.")
        grid = self.time_grid
        if isinstance(grid, bool) or not isinstance(grid, (int, float)) or not 0 <= grid <= 0.5:
            raise ValueError(f"time_grid={grid!r} is not supported; expected a fraction of the "
                             "spacing in [0, 0.5] (0: exact times).")

    def to_dict(self) -> dict:
        return asdict(self)


def window_index(series: TimeSeries, horizon: int, lags: int = 0) -> np.ndarray:
    """Every valid window of ``series``: rows ``(group, start, t_1, ..., t_horizon, lag_1, ...,
    lag_lags)`` of indices into the time grid.

    A window starts at a time where its group observes every channel, has ``horizon`` later
    observation times of the same group (times where it observes at least one channel) and, with
    ``lags``, that many observation times of the group up to and including the start.

    Raises:
        ValueError: when no group is long enough for one window (the message names ``horizon``
            and ``lags``).
    """
    check_int("horizon", horizon, 1)
    check_int("lags", lags, 0)
    mask = series.mask.numpy()  # (T, P, d)
    rows = []
    longest = 0
    for p in range(series.n_paths):
        seen = np.flatnonzero(mask[:, p, :].any(axis=1))  # the group's observation times
        full = mask[seen, p, :].all(axis=1)
        longest = max(longest, len(seen))
        first = max(lags - 1, 0)
        for j in range(first, len(seen) - horizon):
            if full[j]:
                lag_idx = seen[j - lags + 1: j + 1] if lags else seen[:0]
                rows.append([p, seen[j], *seen[j + 1: j + 1 + horizon], *lag_idx])
    if not rows:
        need = horizon + max(lags, 1)
        raise ValueError(f"no window fits the data: a window needs {need} observation times of "
                         f"one group (horizon={horizon} after the start, lags={lags} up to it), "
                         f"but the longest group has {longest}; lower the horizon or the lags.")
    return np.asarray(rows, dtype=np.int64)


class _Shifted(torch.nn.Module):
    """``f(t0 + t, y)`` and ``g(t0 + t, y)`` with a start time ``t0`` per path: a batch of
    windows solved on relative time by a model that depends on absolute time."""

    def __init__(self, model, t0):
        super().__init__()
        self.model = model
        self.t0 = t0  # (batch, 1)

    def f(self, t, y):
        return self.model.f(self.t0 + t, y)

    def g(self, t, y):
        return self.model.g(self.t0 + t, y)

    def stacked_fields(self, times):
        """The model's drift and diffusion in one pass (:meth:`neuralsde.NeuralDSDE.
        stacked_fields`) at each path's ``t0`` plus ``times``; None where it has none."""
        build = getattr(self.model, "stacked_fields", None)
        return build(times, t0=self.t0) if callable(build) else None


class Windows(Objective):
    """Windows that start at observed states, scored by the fair CRPS and energy score.

    Args:
        series: the training data, in training units.
        config: a :class:`WindowConfig`.
        solve_config: how to solve (default :class:`SolveConfig`).
        shard: this process's block of the ``config.windows`` windows of an iteration in a
            distributed run (a :class:`neuralsde.distributed.Shard` from
            :func:`~neuralsde.distributed.split`): it solves the samples of those windows only,
            and the windows' shares of the loss are gathered.
    """

    name = "windows"

    def __init__(self, series: TimeSeries, config: WindowConfig | None = None,
                 solve_config: SolveConfig | None = None, *, shard=None):
        self.series = series
        self.config = WindowConfig() if config is None else config
        self.solve_config = SolveConfig() if solve_config is None else solve_config
        if shard is not None and shard.total != self.config.windows:
            raise ValueError(f"shard covers {shard.total} windows but config.windows="
                             f"{self.config.windows}.")
        self.shard = shard

    def schedule(self) -> list[Stage]:
        return [Stage(f"windows of {self.config.horizon}", n_points=self.series.n_points,
                      iters=self.config.iters)]

    def setup(self, model) -> None:
        dtype, device = model_dtype_device(model)
        self.state_dim = state_dim_of(model, self.series)
        self.lags = getattr(model, "lags", 0) if self.state_dim > self.series.dim else 0
        H = self.config.horizon
        index = torch.from_numpy(window_index(self.series, H, self.lags))
        group, start, targets = index[:, 0], index[:, 1], index[:, 2: 2 + H]
        ts = self.series.ts  # (T,) float64
        spacing = float(torch.median(ts[1:] - ts[:-1]))
        gaps = ts[1:] - ts[:-1]
        calendar = bool(((gaps - spacing).abs() <= _CALENDAR_SPREAD * spacing).all())
        unit = spacing * (self.config.time_grid if calendar and self.config.time_grid
                          else _TIME_ROUNDING)
        rel = torch.round((ts[targets] - ts[start][:, None]) / unit)  # (N, H) in units
        self.rel = rel.to(torch.int64)
        self.unit = unit
        self.t_start = ts[start].to(dtype=dtype, device=device)  # (N,)
        ys = self.series.ys.to(dtype=dtype, device=device)  # (T, P, d)
        mask = self.series.mask.to(device=device)
        self.y_start = ys[start, group]  # (N, d)
        self.target = ys[targets, group[:, None]]  # (N, H, d)
        self.target_mask = mask[targets, group[:, None]]  # (N, H, d)
        if self.lags:
            lag_idx = index[:, 2 + H:]  # (N, lags)
            self.lag_values = ys[lag_idx, group[:, None]]  # (N, lags, d)
            self.lag_mask = mask[lag_idx, group[:, None]]
        self.n_windows = len(index)
        self.groups, self.starts, self.target_index = group, start, targets  # (N,), (N,), (N, H)
        self.time_dependent = getattr(model, "period", None) is not None

    def settings(self) -> dict:
        return {"objective": self.name, **self.config.to_dict(), "lags": self.lags,
                "valid_windows": self.n_windows}

    def _draw(self, seed: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        return torch.randint(0, self.n_windows, (self.config.windows,), generator=gen)

    def loss(self, model, stage: Stage, seed: int):
        chosen, shard = self._draw(seed), self.shard  # (W,): the same in every process
        pred, stats = solved_everywhere(
            lambda: self.simulate(model, chosen, self.config.samples, seed, shard=shard),
            shard, self.y_start.device)
        mine = chosen if shard is None else shard.take(chosen, 0)  # the windows solved here
        mask = self.target_mask[chosen]
        shares = self.window_scores(pred, self.target[mine], self.target_mask[mine],
                                    scored=mask.sum(), windows=len(chosen))
        if shard is not None:
            shares = shard.gather(shares, dim=0)  # (W,): only this process's carry gradients
        return shares.sum(), stats

    def simulate(self, model, chosen: torch.Tensor, samples: int, seed: int, *, shard=None):
        """``samples`` paths of each window in ``chosen`` (indices into the valid windows),
        solved as one batch.

        Args:
            model: the SDE (with an encoder when the state has latent channels).
            chosen: (W,) indices into the valid windows.
            samples: paths per window.
            seed: seeds the Brownian paths of the whole batch.
            shard: this process's block of ``chosen`` in a distributed run: only its windows are
                solved, on the output grid and with the noise of the whole batch.

        Returns:
            ``(pred, stats)``: ``pred`` (samples, W, horizon, d) at the windows' target times
            (W: the shard's windows when ``shard`` is given), in training units, and the solver
            statistics.
        """
        M, d = samples, self.series.dim
        grid_units, pos = torch.unique(self.rel[chosen], sorted=True, return_inverse=True)
        grid = torch.cat([grid_units.new_zeros(1), grid_units]).to(torch.float64) * self.unit
        rows = None
        if shard is not None:  # the grid is the whole batch's; the windows are this block's
            chosen, pos, rows = shard.take(chosen, 0), shard.take(pos, 0), shard.repeat(M)
        W = len(chosen)
        y0 = self.y_start[chosen]  # (W, d)
        if self.lags:
            latent = model.latent_start(self.lag_values[chosen], self.lag_mask[chosen])
            y0 = torch.cat([y0, latent], dim=-1)  # (W, state_dim)
        y0 = y0.repeat_interleave(M, dim=0)  # (W * M, state_dim), window-major
        system = model
        if self.time_dependent:
            t0 = self.t_start[chosen].repeat_interleave(M)[:, None]
            system = _Shifted(model, t0)
        ys, stats = solve(system, y0, grid, self.solve_config, seed=seed,
                          return_stats=True, shard=rows)  # (G, W * M, state_dim)
        ys = ys[1:, :, :d].reshape(len(grid) - 1, W, M, d)
        pred = ys[pos.T, torch.arange(W)[None, :]]  # (H, W, M, d)
        return pred.permute(2, 1, 0, 3), stats  # (M, W, H, d)

    def score(self, pred, target, mask) -> torch.Tensor:
        """The loss of an ensemble ``pred`` (M, W, H, d) against ``target`` (W, H, d)."""
        return self.window_scores(pred, target, mask).sum()

    def window_scores(self, pred, target, mask, *, scored=None, windows=None) -> torch.Tensor:
        """Each window's share of the loss (:meth:`score` is their sum): its CRPS summed over
        its scored entries, divided by the batch's scored entries, plus the weighted energy
        score (divided by the square root of its scored entries) divided by the batch's windows.

        Args:
            pred: (M, W, H, d) the ensembles.
            target, mask: (W, H, d) the observations and where they are observed.
            scored: the scored entries of the whole batch (default ``mask.sum()``), when these
                windows are part of a batch.
            windows: the windows of the whole batch (default W).

        Returns:
            (W,) the shares.
        """
        W = target.shape[0]
        scored = mask.sum() if scored is None else scored
        windows = W if windows is None else windows
        crps = crps_fair(pred, target, mask, dim=0)  # (W, H, d)
        shares = crps.sum(dim=(1, 2)) / scored.clamp(min=1)
        if self.config.energy_weight > 0:
            es = energy_score(pred.reshape(pred.shape[0], W, -1), target.reshape(W, -1),
                              mask.reshape(W, -1))  # (W,)
            per = mask.reshape(W, -1).sum(-1)
            shares = shares + self.config.energy_weight * (es / per.clamp(min=1).sqrt()) / windows
        return shares
