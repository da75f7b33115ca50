"""Training objectives: how one iteration's loss is made. The loop in :mod:`.loop` only knows
this interface; a new objective plugs in without touching it.

An objective has a schedule of :class:`~neuralsde.curriculum.Stage` (name, number of time points
for the history, iterations) and, for each iteration, turns the model and the iteration's seed
into a scalar loss and the solver statistics of its solves.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..curriculum import Stage
from ..data import TimeSeries
from ..losses import get_loss
from ..solvers import SolveConfig, SolverError, SolveStats, solve
from .config import TrainConfig
from .sampling import initial_state, model_dtype_device


class Objective:
    """The interface between the training loop and a way of making a loss.

    Subclass it (or write any object with the same three methods):

    * :meth:`schedule` the stages to run, in order; the loop runs ``stage.iters`` iterations of
      each with a learning rate that decays within the stage.
    * :meth:`setup` called once with the model before the first iteration (check shapes, move
      data to the model's dtype and device).
    * :meth:`loss` the iteration's loss (a scalar tensor with gradients) and a
      :class:`~neuralsde.SolveStats` (or None when nothing was solved). Raise
      :class:`~neuralsde.SolverError` for a solve that fails: the loop applies its divergence
      policy. ``seed`` depends only on the run's seed and the iteration, so a resumed run replays
      the same noise.
    """

    name = "custom"

    def schedule(self) -> Sequence[Stage]:
        raise NotImplementedError

    def setup(self, model: torch.nn.Module) -> None:
        """Prepare for ``model``; the default does nothing."""

    def loss(self, model: torch.nn.Module, stage: Stage, seed: int
             ) -> tuple[torch.Tensor, SolveStats | None]:
        raise NotImplementedError

    def settings(self) -> dict:
        """What the objective is, for ``metrics.json``."""
        return {"objective": self.name}


def state_dim_of(model, series: TimeSeries) -> int:
    """The model's state dimension (``model.spec["state_dim"]``, else the width of its first
    parameter); ValueError when it is smaller than the series' channels."""
    spec = getattr(model, "spec", None)
    if spec is not None:
        state_dim = spec["state_dim"]
    else:
        first = next(model.parameters())
        state_dim = first.shape[-1]
    if state_dim < series.dim:
        raise ValueError(f"the model's state dimension {state_dim} is smaller than the series' "
                         f"{series.dim} channels.")
    return state_dim


def solved_everywhere(job, shard, device):
    """``job()`` (a solve); in a run split across processes (``shard`` given) a
    :class:`SolverError` in any process is raised in every process, since each must take the
    same branch: what follows a solve is a collective (gather, all-reduce)."""
    failure = None
    try:
        result = job()
    except SolverError as err:
        failure = err
    if shard is not None and shard.any(failure is not None, device=device) and failure is None:
        failure = SolverError("a solve failed in another process")
    if failure is not None:
        raise failure
    return result


class FromStart(Objective):
    """Every path starts from the initial state and is compared with the data at every time of
    the stage (the DiffEqFlux workflow): ``paths`` sample paths are solved from
    :func:`initial_state` up to the stage's last point, and the observed channels (the first
    ``series.dim`` components of the state) meet the data through the chosen loss. Stages come
    from :meth:`TrainConfig.schedule`: all points first, then a curriculum of growing prefixes.

    Args:
        series: the training data, in training units.
        train_config: ``paths``, ``loss`` and the schedule's iterations.
        solve_config: how to solve.
        shard: this process's block of the paths in a distributed run: the predictions are
            all-gathered so every process evaluates the loss of the whole batch.
    """

    name = "start"

    def __init__(self, series: TimeSeries, train_config: TrainConfig,
                 solve_config: SolveConfig | None = None, *, shard=None):
        if shard is not None and shard.total != train_config.paths:
            raise ValueError(f"shard covers {shard.total} paths but train_config.paths="
                             f"{train_config.paths}.")
        self.series = series
        self.config = train_config
        self.solve_config = SolveConfig() if solve_config is None else solve_config
        self.shard = shard
        self.loss_fn = get_loss(train_config.loss)

    def schedule(self) -> list[Stage]:
        return self.config.schedule(self.series.n_points)

    def setup(self, model) -> None:
        dtype, device = model_dtype_device(model)
        state_dim = state_dim_of(model, self.series)
        self.ts = self.series.ts.to(dtype=dtype, device=device)  # (T,)
        self.data = self.series.ys.to(dtype=dtype, device=device)  # (T, P, d)
        self.mask = self.series.mask.to(device=device)  # (T, P, d)
        paths = self.config.paths if self.shard is None else self.shard.size
        y0 = initial_state(self.series, state_dim).to(dtype=dtype, device=device)
        self.y0 = y0.expand(paths, state_dim).contiguous()  # (paths, state_dim)

    def loss(self, model, stage: Stage, seed: int):
        n, d, shard = stage.n_points, self.series.dim, self.shard
        ys, stats = solved_everywhere(
            lambda: solve(model, self.y0, self.ts[:n], self.solve_config, seed=seed,
                          return_stats=True, shard=shard), shard, self.y0.device)
        # ys: (n, paths, state_dim)
        pred = ys[:, :, :d] if shard is None else shard.gather(ys[:, :, :d], dim=1)
        return self.loss_fn(pred, self.data[:n], self.mask[:n]), stats

    def settings(self) -> dict:
        return {"objective": self.name, "paths": self.config.paths, "loss": self.config.loss}
