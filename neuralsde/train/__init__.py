"""Training: Adam on an objective's loss, with history, checkpoints and a divergence policy.

The rooms, in the order a run goes through them:

* :mod:`.config` -- :class:`TrainConfig` (what to do) and :class:`FitResult` (what was done);
* :mod:`.objectives` -- how a loss is made: :class:`Objective`, and :class:`FromStart` (paths from
  the initial state against the data, with the curriculum), the default;
* :mod:`.loop` -- :func:`fit`: iterations, learning-rate schedule, divergence policy, callbacks,
  gradient sums across processes; it does not know how a loss is made;
* :mod:`.history` -- ``history.csv``, appended row by row; :mod:`.checkpoint` -- checkpoints and
  RNG states for ``--resume``;
* :mod:`.sampling` -- :func:`sample` and :func:`initial_state`; :mod:`.model_io` --
  :func:`save_model` and :func:`load_model`.

A custom objective has three methods: ``schedule()`` (the stages), ``setup(model)`` (once, before
training) and ``loss(model, stage, seed)`` returning the loss and the solver statistics (or
None). For example, fitting the mean of paths at the last time to a target::

    import torch
    import neuralsde as ns
    from neuralsde.curriculum import Stage
    from neuralsde.train import Objective, TrainConfig, fit

    class EndMean(Objective):
        name = "end-mean"
        def __init__(self, target):
            self.target = target
        def schedule(self):
            return [Stage("end mean", n_points=2, iters=50)]
        def loss(self, model, stage, seed):
            y0 = torch.zeros(32, 3)
            ys, stats = ns.solve(model, y0, [0.0, 1.0], seed=seed, return_stats=True)
            return (ys[-1, :, 0].mean() - self.target) ** 2, stats

    model = ns.build_model({"kind": "reference", "state_dim": 3})
    result = fit(model, objective=EndMean(1.0), train_config=TrainConfig(lr=0.01), quiet=True)
"""

from .checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from .config import DIVERGENCE_POLICIES, FitResult, TrainConfig
from .history import HISTORY_FIELDS
from .loop import fit
from .model_io import load_model, save_model
from .objectives import FromStart, Objective
from .sampling import initial_state, sample

__all__ = ["CHECKPOINT_FORMAT", "DIVERGENCE_POLICIES", "HISTORY_FIELDS", "FitResult", "FromStart",
           "Objective", "TrainConfig", "fit", "initial_state", "load_checkpoint", "load_model",
           "sample", "save_checkpoint", "save_model"]
