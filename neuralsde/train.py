"""Training: Adam on a loss of sample paths against data, with a curriculum over time points.

:func:`fit` runs the stages of :func:`neuralsde.curriculum.stages` (an initial phase on all
points, then the first 2, 3, ... points), records one history row per iteration and appends it to
``history.csv`` as it goes, so a crash loses nothing. :func:`sample` draws paths from a model, and
:func:`save_model` / :func:`load_model` keep weights with every setting needed to rebuild them.
"""

from __future__ import annotations

import copy
import csv
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .curriculum import Stage, stages, total_iters
from .data import Scaling, TimeSeries
from .losses import LOSSES, get_loss
from .sde import build_model
from .solve import SolveConfig, SolverError, solve

HISTORY_FIELDS = ("iteration", "stage", "stage_name", "points", "loss", "lr", "grad_norm",
                  "seconds", "elapsed", "steps", "rejected", "f_evals", "g_evals", "event")


def _int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} is not supported; expected an integer >= {minimum}.")


def _pos(name, value, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value <= 0:
        raise ValueError(f"{name}={value!r} is not supported; expected a finite number > 0"
                         + (" or None." if allow_none else "."))


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Immutable; checked on creation.

    Args:
        iters: iterations of the initial phase on all points (the blog: 500).
        stage_iters: iterations of each curriculum stage (the blog: 300).
        curriculum: run the curriculum after the initial phase.
        first, step: the curriculum fits the first ``first`` points, then ``first + step``, ...
        lr: Adam's learning rate at the start of each stage.
        lr_final: the learning rate decays by cosine to ``lr * lr_final`` over each stage (1.0
            keeps it constant, as the blog does).
        paths: sample paths per iteration (the blog: 1).
        loss: ``"mse"`` (path mean vs data), ``"per_path"`` or ``"moments"``.
        grad_clip: clip the gradient norm to this (None: no clipping).
        seed: seeds the Brownian paths of every iteration.
    """

    iters: int = 500
    stage_iters: int = 300
    curriculum: bool = True
    first: int = 2
    step: int = 1
    lr: float = 0.01
    lr_final: float = 1.0
    paths: int = 1
    loss: str = "mse"
    grad_clip: float | None = None
    seed: int = 0

    def __post_init__(self):
        _int("iters", self.iters, 0)
        _int("stage_iters", self.stage_iters, 0)
        _int("first", self.first, 2)
        _int("step", self.step, 1)
        _int("paths", self.paths, 1)
        _int("seed", self.seed, 0)
        _pos("lr", self.lr)
        _pos("grad_clip", self.grad_clip, allow_none=True)
        if isinstance(self.lr_final, bool) or not isinstance(self.lr_final, (int, float)) \
                or not 0 < self.lr_final <= 1:
            raise ValueError(f"lr_final={self.lr_final!r} is not supported; expected a number in "
                             "(0, 1].")
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r} is not supported; expected one of "
                             f"{tuple(LOSSES)}.")
        if not isinstance(self.curriculum, bool):
            raise ValueError(f"curriculum={self.curriculum!r} is not supported; expected True or "
                             "False.")

    def schedule(self, n_points: int) -> list[Stage]:
        return stages(n_points, initial_iters=self.iters, first=min(self.first, n_points),
                      step=self.step, iters=self.stage_iters, curriculum=self.curriculum)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FitResult:
    """What :func:`fit` did: the history (one dict per iteration), totals and why it stopped."""

    history: list[dict] = field(default_factory=list)
    wall_seconds: float = 0.0
    stopped: str = "finished"
    solver_totals: dict = field(default_factory=dict)

    @property
    def final_loss(self) -> float:
        losses = [r["loss"] for r in self.history if r["event"] == ""]
        return losses[-1] if losses else math.nan


def initial_state(series: TimeSeries, state_dim: int) -> torch.Tensor:
    """``y0`` of shape (state_dim,): the first observation (mean over observed paths) in the
    observed channels, zeros in the latent ones. Channels missing at the first time use their
    first observed value."""
    d = series.dim
    if state_dim < d:
        raise ValueError(f"state_dim={state_dim} is smaller than the {d} observed channels; "
                         f"expected state_dim >= {d}.")
    y0 = torch.zeros(state_dim, dtype=torch.float64)
    for c in range(d):
        observed = series.mask[:, :, c].any(dim=1).nonzero()
        if len(observed) == 0:
            continue
        k = int(observed[0])
        m = series.mask[k, :, c]
        y0[c] = series.ys[k, :, c][m].mean()
    return y0


class _HistoryFile:
    """Appends history rows to a CSV file, flushed row by row.

    Opening an existing file keeps its rows (a resumed run): :meth:`write` skips the rows of
    iterations the file already holds, so a resume neither truncates nor duplicates it. A last
    line cut short by a crash is the only thing removed.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict] = []
        if self.path.exists() and self.path.stat().st_size > 0:
            text = self.path.read_text()
            if not text.endswith("\n"):  # a row cut short by a crash
                text = text[: text.rfind("\n") + 1]
                tmp = self.path.with_name(self.path.name + ".tmp")
                tmp.write_text(text)
                os.replace(tmp, self.path)
            self.rows = list(csv.DictReader(text.splitlines()))
        new = not self.rows and (not self.path.exists() or self.path.stat().st_size == 0)
        self.file = open(self.path, "a", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=HISTORY_FIELDS)
        if new:
            self.writer.writeheader()
        self.have = {int(r["iteration"]) for r in self.rows}

    def write(self, row):
        if row["iteration"] in self.have:
            return
        self.writer.writerow({k: row[k] for k in HISTORY_FIELDS})
        self.file.flush()
        self.have.add(row["iteration"])

    def close(self):
        self.file.close()


def _progress(total, quiet, initial=0):
    disable = quiet or not sys.stderr.isatty()
    return tqdm(total=total, initial=initial, disable=disable, dynamic_ncols=True, unit="it",
                leave=True)


DIVERGENCE_POLICIES = ("restore", "skip", "stop")
CHECKPOINT_FORMAT = "neuralsde-checkpoint-1"


def _rng_state() -> dict:
    import random

    import numpy as np

    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    import random

    import numpy as np

    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path, state: dict) -> Path:
    """Write a training checkpoint atomically (a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, **state}, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path) -> dict:
    """Read what :func:`fit` checkpointed; ValueError names the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no checkpoint (the file does not exist).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unreadable file is reported the same way
        raise ValueError(f"{path}: the checkpoint is corrupt or unreadable ({type(err).__name__}: "
                         f"{err}).") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a neuralsde checkpoint (no {CHECKPOINT_FORMAT!r} format).")
    return state


class _Snapshot:
    """The last good state: model and optimiser weights in memory, for the restore policy."""

    def __init__(self, model, optimizer):
        self.model = copy.deepcopy(model.state_dict())
        self.optimizer = copy.deepcopy(optimizer.state_dict())

    def restore(self, model, optimizer):
        model.load_state_dict(self.model)
        optimizer.load_state_dict(copy.deepcopy(self.optimizer))


def fit(model: torch.nn.Module, series: TimeSeries, *, solve_config: SolveConfig | None = None,
        train_config: TrainConfig | None = None, history_path: str | os.PathLike | None = None,
        callbacks: Sequence[Callable[[dict, torch.nn.Module], bool | None]] = (),
        quiet: bool = False, checkpoint_path: str | os.PathLike | None = None,
        checkpoint_every: int = 100, on_divergence: str = "restore", max_restores: int = 3,
        resume: dict | None = None, shard=None) -> FitResult:
    """Fit ``model`` to ``series`` (already in training units: see :class:`Scaling`).

    Each iteration solves ``paths`` sample paths from the initial state (:func:`initial_state`)
    up to the stage's last point, compares the observed channels (the first ``series.dim``
    components of the state) with the data through the loss, and takes an Adam step. The
    Brownian paths of iteration ``i`` are seeded by ``seed * 1_000_003 + i`` alone, so a run is
    reproducible and a resumed run replays exactly what an uninterrupted one would do.

    Args:
        model: a :class:`NeuralDSDE` (or any module with ``f``, ``g``) whose state dimension is at
            least ``series.dim``.
        series: the training data.
        solve_config: how to solve (default :class:`SolveConfig`).
        train_config: how to train (default :class:`TrainConfig`).
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
            gradients summed across processes (see :mod:`neuralsde.distributed`). Give only
            process 0 a ``history_path`` and a ``checkpoint_path``.

    Returns:
        A :class:`FitResult`; on resume its ``history`` holds the rows of the whole run.
    """
    solve_config = SolveConfig() if solve_config is None else solve_config
    cfg = TrainConfig() if train_config is None else train_config
    if on_divergence not in DIVERGENCE_POLICIES:
        raise ValueError(f"on_divergence={on_divergence!r} is not supported; expected one of "
                         f"{DIVERGENCE_POLICIES}.")
    _int("checkpoint_every", checkpoint_every, 1)
    _int("max_restores", max_restores, 1)
    loss_fn = get_loss(cfg.loss)
    params = [p for p in model.parameters() if p.requires_grad]
    dtype = params[0].dtype if params else torch.get_default_dtype()
    device = params[0].device if params else torch.device("cpu")
    ts_all = series.ts.to(dtype=dtype, device=device)
    data_all = series.ys.to(dtype=dtype, device=device)
    mask_all = series.mask.to(device=device)
    state_dim = _state_dim(model, series)
    y0 = initial_state(series, state_dim).to(dtype=dtype, device=device)
    if shard is not None and shard.total != cfg.paths:
        raise ValueError(f"shard covers {shard.total} paths but train_config.paths={cfg.paths}.")
    y0 = y0.expand(cfg.paths if shard is None else shard.size, state_dim).contiguous()
    d = series.dim
    schedule = cfg.schedule(series.n_points)
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    result = FitResult(solver_totals={"steps": 0, "rejected": 0, "f_evals": 0, "g_evals": 0})
    start_iteration, lr_scale, restores = 0, 1.0, 0
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        start_iteration = resume["iteration"]
        lr_scale, restores = resume["lr_scale"], resume["restores_in_row"]
        result.solver_totals = dict(resume["solver_totals"])
        _set_rng_state(resume["rng"])
    history = _HistoryFile(history_path) if history_path is not None else None
    if history is not None:
        result.history = [_typed(r) for r in history.rows if int(r["iteration"]) < start_iteration]
    snapshot = _Snapshot(model, optimizer)
    previous = resume.get("elapsed", 0.0) if resume is not None else 0.0

    def checkpoint(iteration):
        nonlocal snapshot
        snapshot = _Snapshot(model, optimizer)
        if checkpoint_path is not None:
            save_checkpoint(checkpoint_path, {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "iteration": iteration, "lr_scale": lr_scale, "restores_in_row": restores,
                "solver_totals": dict(result.solver_totals), "rng": _rng_state(),
                "train_config": cfg.to_dict(), "spec": getattr(model, "spec", None),
                "elapsed": previous + time.perf_counter() - start})

    bar = _progress(total_iters(schedule), quiet, initial=start_iteration)
    start = time.perf_counter()
    iteration = 0
    try:
        for s, stage in enumerate(schedule):
            ts = ts_all[: stage.n_points]
            data, mask = data_all[: stage.n_points], mask_all[: stage.n_points]
            for k in range(stage.iters):
                if iteration < start_iteration:
                    iteration += 1
                    continue
                lr = lr_scale * cfg.lr * (cfg.lr_final + (1 - cfg.lr_final) * 0.5 *
                                          (1 + math.cos(math.pi * k / max(1, stage.iters))))
                for group in optimizer.param_groups:
                    group["lr"] = lr
                t0 = time.perf_counter()
                row = _iteration(model, optimizer, params, loss_fn, y0, ts, data, mask, d,
                                 solve_config, cfg, seed=cfg.seed * 1_000_003 + iteration,
                                 shard=shard)
                now = time.perf_counter()
                row.update(iteration=iteration, stage=s, stage_name=stage.name,
                           points=stage.n_points, lr=lr, seconds=now - t0,
                           elapsed=previous + now - start)
                for key in ("steps", "rejected", "f_evals", "g_evals"):
                    result.solver_totals[key] += row[key] or 0
                stop = None
                if row["event"]:
                    if on_divergence == "stop":
                        stop = f"diverged at iteration {iteration}: {row['event']}"
                    elif on_divergence == "restore":
                        restores += 1
                        if restores > max_restores:
                            stop = (f"diverged at iteration {iteration}: {row['event']}; "
                                    f"{max_restores} restores in a row did not help")
                        else:
                            snapshot.restore(model, optimizer)
                            lr_scale *= 0.5
                            row["event"] += (f"; restored the last checkpoint, learning rate "
                                             f"x{lr_scale:g}")
                else:
                    restores = 0
                result.history.append(row)
                if history is not None:
                    history.write(row)
                iteration += 1
                bar.update(1)
                if iteration % 10 == 0 or k == stage.iters - 1:
                    bar.set_postfix_str(f"{stage.name} | loss {row['loss']:.4g}")
                for callback in callbacks:
                    if callback(row, model):
                        stop = f"stopped by {getattr(callback, '__name__', 'callback')}"
                if stop is not None:
                    result.stopped = stop
                    checkpoint(iteration)
                    return result
                if iteration % checkpoint_every == 0 or k == stage.iters - 1:
                    checkpoint(iteration)
    except KeyboardInterrupt:
        result.stopped = "interrupted"
        raise
    finally:
        bar.close()
        if history is not None:
            history.close()
        result.wall_seconds = previous + time.perf_counter() - start
    if checkpoint_path is not None:
        checkpoint(iteration)
    return result


def _typed(row: dict) -> dict:
    """A history row read back from CSV, with numbers as numbers."""
    out = dict(row)
    for key in ("iteration", "stage", "points", "steps", "rejected", "f_evals", "g_evals"):
        out[key] = int(row[key]) if row[key] not in ("", None) else None
    for key in ("loss", "lr", "grad_norm", "seconds", "elapsed"):
        out[key] = float(row[key]) if row[key] not in ("", None) else math.nan
    out["event"] = row["event"] or ""
    return out


def _state_dim(model, series) -> int:
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


def _iteration(model, optimizer, params, loss_fn, y0, ts, data, mask, d, solve_config, cfg,
               *, seed, shard=None):
    optimizer.zero_grad(set_to_none=True)
    row = {"loss": math.nan, "grad_norm": math.nan, "steps": None, "rejected": None,
           "f_evals": None, "g_evals": None, "event": ""}
    failure = None
    try:
        ys, stats = solve(model, y0, ts, solve_config, seed=seed, return_stats=True, shard=shard)
    except SolverError as err:
        failure = f"solver error: {err}"
    if shard is not None:  # every process must take the same branch
        if shard.any(failure is not None, device=y0.device) and failure is None:
            failure = "solver error in another process"
    if failure is not None:
        row["event"] = failure
        return row
    row.update(steps=stats.accepted_steps, rejected=stats.rejected_steps, f_evals=stats.f_evals,
               g_evals=stats.g_evals)
    pred = ys[:, :, :d] if shard is None else shard.gather(ys[:, :, :d], dim=1)
    loss = loss_fn(pred, data, mask)
    row["loss"] = float(loss.detach())
    if not math.isfinite(row["loss"]):
        row["event"] = "non-finite loss"
        return row
    loss.backward()
    if shard is not None:
        shard.sum_gradients(params)
    max_norm = cfg.grad_clip if cfg.grad_clip is not None else math.inf
    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    row["grad_norm"] = grad_norm
    if not math.isfinite(grad_norm):
        row["event"] = "non-finite gradient"
        optimizer.zero_grad(set_to_none=True)
        return row
    optimizer.step()
    return row


@torch.no_grad()
def sample(model, y0, ts, n: int, *, solve_config: SolveConfig | None = None, seed: int = 0,
           t0: float | None = None, scaling: Scaling | None = None) -> torch.Tensor:
    """Draw ``n`` sample paths of ``model`` from the state ``y0``, saved at times ``ts``.

    Args:
        model: the SDE (``f``, ``g``).
        y0: initial state, shape (state_dim,).
        ts: (T,) increasing output times.
        n: number of paths.
        solve_config: how to solve (default :class:`SolveConfig`).
        seed: seeds the Brownian paths; the same seed gives the same samples.
        t0: the time of ``y0``, at or before ``ts[0]`` (default ``ts[0]``). With ``t0 < ts[0]`` the
            paths start at ``t0`` and only the times ``ts`` are returned (forecasting from the
            last observation).
        scaling: when given, ``t0``, ``ts``, the observed part of ``y0`` (its first
            ``scaling.dim`` entries) and the returned observed channels are in data units; latent
            channels stay in model units.

    Returns:
        (n, T, state_dim) paths.
    """
    _int("n", n, 1)
    params = list(model.parameters())
    dtype = params[0].dtype if params else torch.get_default_dtype()
    device = params[0].device if params else torch.device("cpu")
    y0 = torch.as_tensor(y0, dtype=torch.float64).clone()
    if y0.dim() != 1:
        raise ValueError(f"y0 must have shape (state_dim,); got {tuple(y0.shape)}.")
    ts = torch.as_tensor(ts, dtype=torch.float64)
    if ts.dim() != 1 or len(ts) < 1:
        raise ValueError(f"ts must have shape (T,) with T >= 1; got {tuple(ts.shape)}.")
    if scaling is not None:
        d = scaling.dim
        if y0.shape[0] < d:
            raise ValueError(f"y0 has {y0.shape[0]} entries but the scaling has {d} channels.")
        y0[:d] = scaling.transform_y(y0[:d])
        ts = scaling.transform_t(ts)
        if t0 is not None:
            t0 = float(scaling.transform_t(torch.tensor([float(t0)], dtype=torch.float64))[0])
    drop = 0
    if t0 is not None:
        if t0 > float(ts[0]):
            raise ValueError(f"t0={t0!r} is after the first output time {float(ts[0])!r}; "
                             "expected t0 <= ts[0].")
        if t0 < float(ts[0]):
            ts = torch.cat([ts.new_tensor([t0]), ts])
            drop = 1
    y = y0.to(dtype=dtype, device=device).expand(n, -1).contiguous()
    if len(ts) == 1:
        ys = y.unsqueeze(0)
    else:
        ys = solve(model, y, ts.to(dtype=dtype, device=device), solve_config, seed=seed)
    ys = ys[drop:].transpose(0, 1).to(torch.float64)
    if scaling is not None:
        d = scaling.dim
        ys = torch.cat([scaling.inverse_y(ys[..., :d]), ys[..., d:]], dim=-1)
    return ys


def save_model(path, model, *, scaling: Scaling | None = None, extra: dict | None = None) -> Path:
    """Save weights with everything needed to rebuild the model: its spec (``model.spec``), the
    scaling and any ``extra`` settings (solver and training configs, data source...)."""
    spec = getattr(model, "spec", None)
    if spec is None:
        raise ValueError("model has no .spec; build it with neuralsde.build_model(spec) to save "
                         "it.")
    payload = {"format": "neuralsde-model-1", "spec": dict(spec),
               "state_dict": model.state_dict(),
               "scaling": scaling.to_dict() if scaling is not None else None,
               "extra": extra or {}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_model(path, *, map_location="cpu"):
    """Load what :func:`save_model` wrote.

    Returns:
        ``(model, scaling, extra)``; ``scaling`` is a :class:`Scaling` or None.
    """
    try:
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unreadable file is reported the same way
        raise ValueError(f"{path}: not a readable model file ({type(err).__name__}: {err}).") \
            from None
    if not isinstance(payload, dict) or payload.get("format") != "neuralsde-model-1":
        raise ValueError(f"{path} is not a neuralsde model file (no 'neuralsde-model-1' format).")
    model = build_model(payload["spec"])
    first = next(iter(payload["state_dict"].values()))
    model.to(dtype=first.dtype)
    model.load_state_dict(payload["state_dict"])
    scaling = Scaling.from_dict(payload["scaling"]) if payload["scaling"] is not None else None
    return model, scaling, payload["extra"]
