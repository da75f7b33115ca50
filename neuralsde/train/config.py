"""What training is asked to do (:class:`TrainConfig`) and what it did (:class:`FitResult`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from .._checks import check_int, check_positive
from ..curriculum import Stage, stages
from ..losses import LOSSES

#: What an iteration whose loss, gradient or solve fails does (see :func:`neuralsde.train.fit`).
DIVERGENCE_POLICIES = ("restore", "skip", "stop")


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
        check_int("iters", self.iters, 0)
        check_int("stage_iters", self.stage_iters, 0)
        check_int("first", self.first, 2)
        check_int("step", self.step, 1)
        check_int("paths", self.paths, 1)
        check_int("seed", self.seed, 0)
        check_positive("lr", self.lr)
        check_positive("grad_clip", self.grad_clip, allow_none=True)
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
        """The stages of the "from the start" objective on ``n_points`` time points."""
        return stages(n_points, initial_iters=self.iters, first=min(self.first, n_points),
                      step=self.step, iters=self.stage_iters, curriculum=self.curriculum)

    def learning_rate(self, k: int, stage_iters: int) -> float:
        """Adam's learning rate at iteration ``k`` of a stage of ``stage_iters`` iterations: a
        cosine from ``lr`` down to ``lr * lr_final``."""
        return self.lr * (self.lr_final + (1 - self.lr_final) * 0.5 *
                          (1 + math.cos(math.pi * k / max(1, stage_iters))))

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
