"""The objective seam: the training loop runs any object with schedule/setup/loss."""

import math
import re

import pytest
import torch

import neuralsde as ns
import neuralsde.train as train_pkg
from neuralsde._checks import iteration_seed
from neuralsde.curriculum import Stage
from neuralsde.data import reference_dataset
from neuralsde.train import FromStart, Objective, TrainConfig, fit


class _Target(Objective):
    """Fit the mean of the first channel at t = 1 to a target; records what the loop passed."""

    name = "target"

    def __init__(self, target, iters=(15, 10)):
        self.target = target
        self.iters = iters
        self.seeds, self.stages, self.setups = [], [], 0

    def schedule(self):
        return [Stage(f"part {i}", n_points=2, iters=n) for i, n in enumerate(self.iters)]

    def setup(self, model):
        self.setups += 1

    def loss(self, model, stage, seed):
        self.seeds.append(seed)
        self.stages.append(stage.name)
        y0 = torch.zeros(8, 3)
        cfg = ns.SolveConfig(adaptive=False, dt=0.25, tableau="sriw1")
        ys, stats = ns.solve(model, y0, [0.0, 1.0], cfg, seed=seed, return_stats=True)
        return (ys[-1, :, 0].mean() - self.target) ** 2, stats


def test_custom_objective_trains_through_fit(tmp_path):
    torch.manual_seed(0)
    model = ns.build_model({"kind": "reference", "state_dim": 3})
    objective = _Target(2.0)
    result = fit(model, objective=objective, train_config=TrainConfig(lr=0.05, seed=3),
                 history_path=tmp_path / "history.csv", quiet=True)
    assert objective.setups == 1
    assert objective.stages == ["part 0"] * 15 + ["part 1"] * 10
    assert objective.seeds == [iteration_seed(3, i) for i in range(25)]
    losses = [r["loss"] for r in result.history]
    assert len(losses) == 25 and all(math.isfinite(v) for v in losses)
    assert result.final_loss < 0.5 * losses[0]
    # the solver statistics the objective returned reach the history: 4 fixed steps per solve
    assert all(r["steps"] == 4 for r in result.history)
    assert len((tmp_path / "history.csv").read_text().splitlines()) == 26


def test_solver_errors_of_a_custom_objective_follow_the_divergence_policy():
    class Failing(_Target):
        def loss(self, model, stage, seed):
            raise ns.SolverError("no luck")

    model = ns.build_model({"kind": "reference", "state_dim": 3})
    result = fit(model, objective=Failing(1.0, iters=(5,)), on_divergence="skip", quiet=True)
    assert [r["event"] for r in result.history] == ["solver error: no luck"] * 5
    assert math.isnan(result.final_loss)


def test_fit_needs_series_or_objective_not_both():
    model = ns.build_model({"kind": "reference", "state_dim": 3})
    with pytest.raises(ValueError, match="series"):
        fit(model)
    with pytest.raises(ValueError, match="not both"):
        fit(model, reference_dataset(0), objective=_Target(1.0))


def test_default_objective_equals_explicit_from_start():
    series = reference_dataset(0)
    cfg = TrainConfig(iters=6, curriculum=False, paths=4)
    solver = ns.SolveConfig(tableau="sriw1")
    runs = []
    for explicit in (False, True):
        torch.manual_seed(0)
        model = ns.build_model({"kind": "reference", "state_dim": 3})
        kwargs = ({"objective": FromStart(series, cfg, solver)} if explicit
                  else {"series": series, "solve_config": solver})
        runs.append([r["loss"] for r in fit(model, train_config=cfg, quiet=True,
                                             **kwargs).history])
    assert runs[0] == runs[1]


def test_package_docstring_example_runs():
    code = re.search(r"::\n\n((?:    .*\n|\n)+)", train_pkg.__doc__).group(1)
    namespace = {}
    exec("\n".join(line[4:] for line in code.splitlines()), namespace)
    history = namespace["result"].history
    assert len(history) == 50 and history[-1]["loss"] < history[0]["loss"]
