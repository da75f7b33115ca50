"""Training loop, sampling and model files: facts about what fit/sample/save_model/load_model do."""

import csv
import math

import pytest
import torch
from torch import nn

from neuralsde import NeuralDSDE, SolveConfig, build_model
from neuralsde.data import Scaling, reference_dataset
from neuralsde.train import (
    HISTORY_FIELDS,
    TrainConfig,
    fit,
    initial_state,
    load_model,
    sample,
    save_model,
)

FAST = SolveConfig(tableau="sriw1", adaptive=False, dt=0.25)


def _series():
    series = reference_dataset(0)
    return Scaling.fit(series, "standard").transform(series)


def _model(seed=0):
    torch.manual_seed(seed)
    return build_model({"kind": "reference", "state_dim": 3})


def _fit(seed=0, **train):
    cfg = TrainConfig(**{"iters": 40, "curriculum": False, "paths": 4, "lr": 0.02, **train},
                      seed=seed)
    model = _model(seed)
    return model, fit(model, _series(), solve_config=FAST, train_config=cfg, quiet=True)


def test_loss_decreases_on_the_reference_problem():
    _, result = _fit(iters=60)
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 60 and all(math.isfinite(v) for v in losses)
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:10]) / 10


def test_same_seed_gives_identical_history_and_weights():
    m1, r1 = _fit(seed=3)
    m2, r2 = _fit(seed=3)
    assert [r["loss"] for r in r1.history] == [r["loss"] for r in r2.history]
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p1, p2)
    _, r3 = _fit(seed=4)
    assert [r["loss"] for r in r1.history] != [r["loss"] for r in r3.history]


def test_history_file_gets_one_row_per_iteration(tmp_path):
    path = tmp_path / "history.csv"
    cfg = TrainConfig(iters=5, stage_iters=3, first=5, paths=2)
    result = fit(_model(), _series(), solve_config=FAST, train_config=cfg, history_path=path,
                 quiet=True)
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    # 5 on all points, then stages of 5, 6 and 7 points with 3 iterations each.
    assert len(rows) == len(result.history) == 5 + 3 * 3
    assert tuple(rows[0]) == HISTORY_FIELDS
    assert [int(r["iteration"]) for r in rows] == list(range(14))
    assert [int(r["points"]) for r in rows] == [7] * 5 + [5] * 3 + [6] * 3 + [7] * 3
    assert [float(r["loss"]) for r in rows] == [r["loss"] for r in result.history]


class _TimeRecorder(nn.Module):
    """Wraps a model and records the largest time its drift is evaluated at."""

    noise_type = "diagonal"
    sde_type = "ito"

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.t_max = -math.inf
        self.spec = model.spec

    def f(self, t, y):
        self.t_max = max(self.t_max, float(t))
        return self.model.f(t, y)

    def g(self, t, y):
        return self.model.g(t, y)


def test_a_stage_integrates_only_up_to_its_last_point():
    seen = []

    def record(row, model):
        seen.append((row["points"], model.t_max))
        model.t_max = -math.inf

    model = _TimeRecorder(_model())
    cfg = TrainConfig(iters=1, stage_iters=1, paths=2)
    fit(model, _series(), solve_config=FAST, train_config=cfg, callbacks=[record], quiet=True)
    # Reference times are 0..6: a stage with k points ends at t = k - 1.
    assert [k for k, _ in seen] == [7, 2, 3, 4, 5, 6, 7]
    for k, t_max in seen:
        assert t_max <= k - 1 + 1e-12
        assert t_max > k - 2


def test_a_callback_returning_true_stops_training():
    def stop_after_three(row, model):
        return row["iteration"] == 2

    cfg = TrainConfig(iters=10, curriculum=False)
    result = fit(_model(), _series(), solve_config=FAST, train_config=cfg,
                 callbacks=[stop_after_three], quiet=True)
    assert len(result.history) == 3 and result.stopped == "stopped by stop_after_three"


class _NaNDrift(nn.Module):
    def forward(self, y):
        return y * math.nan


def test_non_finite_iterations_are_skipped_and_marked_not_raised():
    model = NeuralDSDE(_NaNDrift(), nn.Linear(3, 3))
    before = [p.detach().clone() for p in model.parameters()]
    cfg = TrainConfig(iters=3, curriculum=False)
    result = fit(model, _series(), solve_config=FAST, train_config=cfg, quiet=True)
    assert len(result.history) == 3
    assert all(row["event"] for row in result.history)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert math.isnan(result.final_loss)


def test_initial_state_is_first_observation_then_zeros():
    series = reference_dataset(0)
    y0 = initial_state(series, 3)
    assert y0.tolist() == [float(series.ys[0, 0, 0]), 0.0, 0.0]
    with pytest.raises(ValueError, match="state_dim"):
        initial_state(series, 0)


def test_sample_is_seeded_and_honours_scaling_and_t0():
    model = _model()
    series = reference_dataset(0)
    scaling = Scaling.fit(series, "standard")
    y0 = torch.tensor([1.5, 0.0, 0.0])
    ts = torch.tensor([2.0, 3.0, 4.5])
    a = sample(model, y0, ts, 5, solve_config=FAST, seed=1, scaling=scaling, t0=1.0)
    b = sample(model, y0, ts, 5, solve_config=FAST, seed=1, scaling=scaling, t0=1.0)
    c = sample(model, y0, ts, 5, solve_config=FAST, seed=2, scaling=scaling, t0=1.0)
    assert a.shape == (5, 3, 3) and torch.equal(a, b) and not torch.equal(a, c)
    # The same solve by hand in training units.
    y0_train = y0.clone()
    y0_train[:1] = scaling.transform_y(y0[:1])
    ts_train = scaling.transform_t(torch.cat([torch.tensor([1.0]), ts]))
    by_hand = sample(model, y0_train, ts_train, 5, solve_config=FAST, seed=1)[:, 1:]
    by_hand[..., :1] = scaling.inverse_y(by_hand[..., :1])
    torch.testing.assert_close(a, by_hand)
    # At t0 = ts[0] the first saved state is y0 itself, in data units.
    start = sample(model, y0, ts, 4, solve_config=FAST, seed=1, scaling=scaling)
    torch.testing.assert_close(start[:, 0], y0.expand(4, 3))
    with pytest.raises(ValueError, match="t0"):
        sample(model, y0, ts, 2, solve_config=FAST, t0=3.0, scaling=scaling)


def test_model_file_round_trip(tmp_path):
    model = _model(5).to(torch.float32)
    scaling = Scaling.fit(reference_dataset(0), "standard")
    path = save_model(tmp_path / "model.pt", model, scaling=scaling, extra={"note": "x"})
    loaded, scaling2, extra = load_model(path)
    assert loaded.spec == model.spec and extra == {"note": "x"} and scaling2 == scaling
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k1 == k2 and v1.dtype == v2.dtype and torch.equal(v1, v2)
    ts = torch.linspace(0, 6, 7)
    y0 = torch.tensor([1.0, 0.0, 0.0])
    assert torch.equal(sample(model, y0, ts, 3, solve_config=FAST, seed=9),
                       sample(loaded, y0, ts, 3, solve_config=FAST, seed=9))
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="bad.pt"):
        load_model(tmp_path / "bad.pt")
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a neuralsde model file"):
        load_model(tmp_path / "other.pt")


def test_build_model_specs_and_errors():
    model = build_model({"kind": "mlp", "state_dim": 4, "hidden": 8, "layers": 2,
                         "diffusion_final": "softplus"})
    assert model.spec["state_dim"] == 4 and model.f(0, torch.zeros(2, 4)).shape == (2, 4)
    assert (model.g(0, torch.randn(5, 4)) > 0).all()
    with pytest.raises(ValueError, match="kind"):
        build_model({"kind": "transformer"})
    with pytest.raises(ValueError, match="unknown keys"):
        build_model({"kind": "reference", "layers": 2})
    with pytest.raises(ValueError, match="state_dim"):
        build_model({"state_dim": 0})


@pytest.mark.parametrize("field,value", [("iters", -1), ("paths", 0), ("lr", 0.0),
                                         ("lr_final", 1.5), ("loss", "mae"), ("first", 1)])
def test_train_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})
