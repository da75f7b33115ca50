"""The training loop: iterations, learning-rate schedule, divergence policy, history,
checkpoints, callbacks and gradient sums across processes. How a loss is made is the
objective's business (:mod:`.objectives`)."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Sequence

import torch
from tqdm.auto import tqdm

from .._checks import check_int, iteration_seed
from ..curriculum import total_iters
from ..data import TimeSeries
from ..solvers import SolveConfig, SolverError
from .checkpoint import Snapshot, rng_state, save_checkpoint, set_rng_state
from .config import DIVERGENCE_POLICIES, FitResult, TrainConfig
from .history import HistoryFile, typed
from .objectives import FromStart, Objective

_SOLVER_KEYS = ("steps", "rejected", "f_evals", "g_evals")


def fit(model: torch.nn.Module, series: TimeSeries | None = None, *,
        solve_config: SolveConfig | None = None, train_config: TrainConfig | None = None,
        objective: Objective | None = None, history_path: str | os.PathLike | None = None,
        callbacks: Sequence[Callable[[dict, torch.nn.Module], bool | None]] = (),
        quiet: bool = False, checkpoint_path: str | os.PathLike | None = None,
        checkpoint_every: int = 100, on_divergence: str = "restore", max_restores: int = 3,
        resume: dict | None = None, shard=None) -> FitResult:
    """Fit ``model`` by Adam on an objective's loss.

    By default the objective is :class:`FromStart` on ``series`` (already in training units: see
    :class:`~neuralsde.data.Scaling`): each iteration solves ``paths`` sample paths from the
    initial state up to the stage's last point and compares the observed channels with the data.
    The Brownian paths of iteration ``i`` are seeded by ``seed * 1_000_003 + i`` alone, so a run
    is reproducible and a resumed run replays exactly what an uninterrupted one would do.

    Args:
        model: a :class:`NeuralDSDE` (or any module with ``f``, ``g``) whose state dimension is at
            least ``series.dim``.
        series: the training data for the default objective (leave it out with ``objective``).
        solve_config: how the default objective solves (default :class:`SolveConfig`).
        train_config: how to train (default :class:`TrainConfig`): learning rate and its decay,
            gradient clipping and seed here; paths, loss and schedule for the default objective.
        objective: a custom :class:`Objective` instead of :class:`FromStart`.
        history_path: a CSV file that gets one row per iteration, appended as training goes.
        callbacks: called after every iteration with the history row and the model; a callback
            that returns True stops training (``FitResult.stopped`` says which one), after a
            checkpoint is written.
        quiet: no progress bar (it is also off when stderr is not a terminal).
        checkpoint_path: where to write checkpoints (model, optimiser, position in the schedule,
            learning-rate scale, RNG states), atomically, every ``checkpoint_every`` iterations,
            at the end of every stage and when training stops for any reason.
        checkpoint_every: iterations between checkpoints (>= 1).
        on_divergence: what an iteration whose solve fails (a :class:`SolverError`, e.g. too many
            steps) or whose loss or gradient is not finite does. Never an exception: the row's
            ``event`` says what happened, and then
            ``"skip"``: no update, go on; ``"stop"``: end training (``FitResult.stopped`` says
            why); ``"restore"`` (default): load the last good checkpoint's weights and optimiser
            state, halve the learning rate for the rest of the run and go on; after
            ``max_restores`` restores in a row, stop.
        max_restores: restores in a row before ``"restore"`` gives up.
        resume: a checkpoint from :func:`load_checkpoint` to continue from.
        shard: a :class:`neuralsde.distributed.Shard`: this process solves only its block of
            the ``paths`` sample paths; the predictions are all-gathered for the loss and the
            gradients summed across processes (see :mod:`neuralsde.distributed`). With an
            ``objective`` that splits its own batch (``Windows(..., shard=...)``), give the same
            shard here: the loop sums the gradients. Give only process 0 a ``history_path`` and
            a ``checkpoint_path``.

    Returns:
        A :class:`FitResult`; on resume its ``history`` holds the rows of the whole run.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or ``series`` is not a
            :class:`~neuralsde.data.TimeSeries`.
        ValueError: a bad setting, no ``series`` and no ``objective`` (or both), or a schedule
            without iterations (it would train nothing).
        WriteError: ``history_path`` or ``checkpoint_path`` cannot be written (missing folders
            are created).
    """
    cfg = TrainConfig() if train_config is None else train_config
    _check_model_and_data(model, series, objective)
    if on_divergence not in DIVERGENCE_POLICIES:
        raise ValueError(f"on_divergence={on_divergence!r} is not supported; expected one of "
                         f"{DIVERGENCE_POLICIES}.")
    check_int("checkpoint_every", checkpoint_every, 1)
    check_int("max_restores", max_restores, 1)
    if objective is None:
        objective = FromStart(series, cfg, solve_config, shard=shard)
    loop = _Loop(model, objective, cfg, callbacks=callbacks, history_path=history_path,
                 checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every,
                 on_divergence=on_divergence, max_restores=max_restores, shard=shard)
    return loop.run(resume, quiet)


def _check_model_and_data(model, series, objective) -> None:
    """:func:`fit`'s first arguments: TypeError for a wrong type, ValueError for missing data or
    both kinds of data, naming the argument and what is accepted."""
    if not isinstance(model, torch.nn.Module):
        hint = (" (the model comes first, then the data)"
                if isinstance(model, TimeSeries) or torch.is_tensor(model) else "")
        raise TypeError(f"fit(model, series): model must be a torch.nn.Module with f(t, y) and "
                        f"g(t, y), e.g. neuralsde.build_model(...); got "
                        f"{type(model).__name__}{hint}.")
    if objective is not None:
        if series is not None:
            raise ValueError("give either series (for the default objective) or objective, not "
                             "both; a custom objective holds its own data.")
        if not all(callable(getattr(objective, m, None)) for m in ("schedule", "setup", "loss")):
            raise TypeError(f"objective must have schedule(), setup(model) and loss(model, "
                            f"stage, seed) (see neuralsde.train.Objective); got "
                            f"{type(objective).__name__}.")
        return
    accepted = ("a neuralsde.data.TimeSeries in training units (e.g. Scaling.fit(s).transform(s) "
                "of s = load_csv(...), or TimeSeries(ts=..., ys=...)), or a custom objective=")
    if series is None:
        raise ValueError(f"fit needs the training data: series must be {accepted}.")
    if not isinstance(series, TimeSeries):
        raise TypeError(f"series must be {accepted}; got {type(series).__name__}.")


class _Progress:
    """The progress bar of a run (off when quiet or when stderr is not a terminal).

    A one-stage schedule gets one plain bar. With several stages (a curriculum), each stage gets
    its own bar, described ``"stage k/K: <name>"`` with the stage's iterations as its total:
    early curriculum stages integrate over a few points and are cheap, so one bar over all the
    iterations would promise a wrong remaining time.
    """

    def __init__(self, n_stages: int, quiet: bool):
        self.n_stages = n_stages
        self.disable = quiet or not sys.stderr.isatty()
        self.bar = None

    def stage(self, s: int, stage, done: int) -> None:
        """Start stage ``s`` (``done`` of its iterations already run, on resume)."""
        self.close()
        desc = f"stage {s + 1}/{self.n_stages}: {stage.name}" if self.n_stages > 1 else None
        self.bar = tqdm(total=stage.iters, initial=done, desc=desc, disable=self.disable,
                        dynamic_ncols=True, unit="it", leave=True)

    def update(self, k: int, stage, row: dict) -> None:
        """Iteration ``k`` of ``stage`` gave ``row``."""
        self.bar.update(1)
        if (k + 1) % 10 == 0 or k == stage.iters - 1:
            self.bar.set_postfix_str(f"loss {row['loss']:.4g}" if self.n_stages > 1
                                     else f"{stage.name} | loss {row['loss']:.4g}")

    def close(self) -> None:
        """Close the current bar, if any."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _Loop:
    """One training run: the state that lives across iterations and the steps of each."""

    def __init__(self, model, objective, cfg, *, callbacks, history_path, checkpoint_path,
                 checkpoint_every, on_divergence, max_restores, shard):
        self.model, self.objective, self.cfg = model, objective, cfg
        self.callbacks, self.shard = callbacks, shard
        self.history_path, self.checkpoint_path = history_path, checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.on_divergence, self.max_restores = on_divergence, max_restores
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(self.params, lr=cfg.lr)
        self.result = FitResult(solver_totals=dict.fromkeys(_SOLVER_KEYS, 0))
        self.lr_scale, self.restores, self.previous = 1.0, 0, 0.0

    def _resume_from(self, resume) -> int:
        self.model.load_state_dict(resume["model"])
        self.optimizer.load_state_dict(resume["optimizer"])
        self.lr_scale, self.restores = resume["lr_scale"], resume["restores_in_row"]
        self.result.solver_totals = dict(resume["solver_totals"])
        self.previous = resume.get("elapsed", 0.0)
        set_rng_state(resume["rng"])
        return resume["iteration"]

    def run(self, resume, quiet) -> FitResult:
        self.objective.setup(self.model)
        schedule = list(self.objective.schedule())
        if total_iters(schedule) == 0:
            raise ValueError(f"the {getattr(self.objective, 'name', 'custom')} objective's "
                             "schedule has 0 iterations: fit trains nothing; expected iters >= 1 "
                             "(or curriculum stages with stage_iters >= 1).")
        start_iteration = self._resume_from(resume) if resume is not None else 0
        history = HistoryFile(self.history_path) if self.history_path is not None else None
        if history is not None:
            self.result.history = [typed(r) for r in history.rows
                                   if int(r["iteration"]) < start_iteration]
        self.snapshot = Snapshot(self.model, self.optimizer)
        progress = _Progress(len(schedule), quiet)
        self.start = time.perf_counter()
        iteration = 0
        try:
            for s, stage in enumerate(schedule):
                done = min(stage.iters, max(0, start_iteration - iteration))
                iteration += done
                if done == stage.iters:
                    continue
                progress.stage(s, stage, done)
                iteration, stopped = self._stage(s, stage, done, iteration, history, progress)
                if stopped:
                    return self.result
        except KeyboardInterrupt:
            self.result.stopped = "interrupted"
            raise
        finally:
            progress.close()
            if history is not None:
                history.close()
            self.result.wall_seconds = self.previous + time.perf_counter() - self.start
        if self.checkpoint_path is not None:
            self._checkpoint(iteration)
        return self.result

    def _stage(self, s, stage, done, iteration, history, progress) -> tuple[int, bool]:
        """Iterations ``done..stage.iters-1`` of stage ``s``, from the run's ``iteration``.

        Returns:
            ``(iteration, stopped)``: the run's iteration after the stage, and whether the
            divergence policy or a callback stopped training (after a checkpoint).
        """
        for k in range(done, stage.iters):
            row = self._iteration(iteration, s, stage, k)
            stop = self._apply_policy(row)
            self.result.history.append(row)
            if history is not None:
                history.write(row)
            iteration += 1
            progress.update(k, stage, row)
            for callback in self.callbacks:
                if callback(row, self.model):
                    stop = f"stopped by {getattr(callback, '__name__', 'callback')}"
            if stop is not None:
                self.result.stopped = stop
                self._checkpoint(iteration)
                return iteration, True
            if iteration % self.checkpoint_every == 0 or k == stage.iters - 1:
                self._checkpoint(iteration)
        return iteration, False

    def _iteration(self, iteration, s, stage, k) -> dict:
        lr = self.lr_scale * self.cfg.learning_rate(k, stage.iters)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        t0 = time.perf_counter()
        row = self._step(stage, iteration_seed(self.cfg.seed, iteration))
        now = time.perf_counter()
        row.update(iteration=iteration, stage=s, stage_name=stage.name, points=stage.n_points,
                   lr=lr, seconds=now - t0, elapsed=self.previous + now - self.start)
        for key in _SOLVER_KEYS:
            self.result.solver_totals[key] += row[key] or 0
        return row

    def _step(self, stage, seed) -> dict:
        """One optimiser step on the objective's loss; the row says what happened."""
        optimizer, params = self.optimizer, self.params
        optimizer.zero_grad(set_to_none=True)
        row = {"loss": math.nan, "grad_norm": math.nan, "steps": None, "rejected": None,
               "f_evals": None, "g_evals": None, "event": ""}
        try:
            loss, stats = self.objective.loss(self.model, stage, seed)
        except SolverError as err:
            row["event"] = f"solver error: {err}"
            return row
        if stats is not None:
            row.update(steps=stats.accepted_steps, rejected=stats.rejected_steps,
                       f_evals=stats.f_evals, g_evals=stats.g_evals)
        row["loss"] = float(loss.detach())
        if not math.isfinite(row["loss"]):
            row["event"] = "non-finite loss"
            return row
        loss.backward()
        if self.shard is not None:
            self.shard.sum_gradients(params)
        max_norm = self.cfg.grad_clip if self.cfg.grad_clip is not None else math.inf
        row["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
        if not math.isfinite(row["grad_norm"]):
            row["event"] = "non-finite gradient"
            optimizer.zero_grad(set_to_none=True)
            return row
        optimizer.step()
        return row

    def _apply_policy(self, row) -> str | None:
        """The divergence policy for this row; returns why training stops, or None."""
        if not row["event"]:
            self.restores = 0
            return None
        where = f"diverged at iteration {row['iteration']}: {row['event']}"
        if self.on_divergence == "stop":
            return where
        if self.on_divergence == "restore":
            self.restores += 1
            if self.restores > self.max_restores:
                return f"{where}; {self.max_restores} restores in a row did not help"
            self.snapshot.restore(self.model, self.optimizer)
            self.lr_scale *= 0.5
            row["event"] += f"; restored the last checkpoint, learning rate x{self.lr_scale:g}"
        return None

    def _checkpoint(self, iteration):
        self.snapshot = Snapshot(self.model, self.optimizer)
        if self.checkpoint_path is None:
            return
        model = self.model
        save_checkpoint(self.checkpoint_path, {
            "model": model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "iteration": iteration, "lr_scale": self.lr_scale,
            "restores_in_row": self.restores, "solver_totals": dict(self.result.solver_totals),
            "rng": rng_state(), "train_config": self.cfg.to_dict(),
            "spec": getattr(model, "spec", None),
            "elapsed": self.previous + time.perf_counter() - self.start})
