"""Drift and diffusion in one stacked pass (neuralsde/fused.py) compute the model's f and g:
values and gradients against separate calls, in float64, and the solve that uses them against
one that does not."""

import pytest
import torch

import neuralsde as ns
from neuralsde.sde import NeuralDSDE, build_model
from neuralsde.train.windows import _Shifted

#: The forecaster's nets (seasonal, a linear skip, tanh in both, a softplus diffusion, a latent
#: channel) and other plain MLPs: mixed activations, no hidden layer, several.
SPECS = {
    "forecaster": dict(kind="mlp", state_dim=2, hidden=16, layers=2, drift_activation="tanh",
                       diffusion_activation="tanh", diffusion_final="softplus", period=5.5,
                       observed=1, lags=3, drift_linear=True),
    "tanh-sigmoid": dict(kind="mlp", state_dim=3, hidden=8, layers=1),
    "relu-skip": dict(kind="mlp", state_dim=3, hidden=8, layers=3,
                      diffusion_activation="relu", drift_linear=True),
    "linear": dict(kind="mlp", state_dim=1, hidden=4, layers=0, diffusion_final="softplus",
                   period=3.0),
}
TIMES = [0.0, 0.7, 2.9, 11.3]


def _model(name):
    torch.manual_seed(1)
    model = build_model(SPECS[name]).double()
    if SPECS[name].get("drift_linear"):  # the skip starts at zero; give it weight to check
        torch.nn.init.normal_(model.drift.linear.weight)
    return model


@pytest.mark.parametrize("name", list(SPECS))
def test_stacked_fields_equal_f_and_g(name):
    model = _model(name)
    fields = model.stacked_fields(TIMES)
    assert fields is not None
    y = 4 * torch.randn(9, SPECS[name]["state_dim"], dtype=torch.float64)  # into saturation
    for k, t in enumerate(TIMES):
        f, g = fields(k, y)
        torch.testing.assert_close(f, model.f(t, y), rtol=0, atol=1e-12)
        torch.testing.assert_close(g, model.g(t, y), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["forecaster", "relu-skip"])
def test_gradients_through_the_stacking_equal_separate_calls(name):
    model = _model(name)
    y = torch.randn(6, SPECS[name]["state_dim"], dtype=torch.float64)

    def grads(stacked):
        model.zero_grad()
        if stacked:
            f, g = model.stacked_fields(TIMES)(2, y)
        else:
            f, g = model.f(TIMES[2], y), model.g(TIMES[2], y)
        (f.sin().sum() + (g * g).sum()).backward()
        return [p.grad.clone() for p in model.parameters() if p.grad is not None]

    separate, stacked = grads(False), grads(True)
    assert len(stacked) == len(separate) > 0
    for a, b in zip(stacked, separate):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_a_start_time_per_path_turns_the_seasonal_features():
    model = _model("forecaster")  # period 5.5; windows solved on relative time
    t0 = torch.tensor([[0.0], [3.3], [17.9], [250.2]], dtype=torch.float64)
    shifted = _Shifted(model, t0)
    fields = shifted.stacked_fields(TIMES)
    y = 2 * torch.randn(4, 2, dtype=torch.float64)
    for k, t in enumerate(TIMES):
        f, g = fields(k, y)
        torch.testing.assert_close(f, shifted.f(t, y), rtol=0, atol=1e-12)
        torch.testing.assert_close(g, shifted.g(t, y), rtol=0, atol=1e-12)


class _OwnDrift(NeuralDSDE):
    def f(self, t, y):
        return -y


def test_models_that_are_not_plain_stacked_mlps_get_none():
    assert build_model({"kind": "reference"}).stacked_fields(TIMES) is None  # cubic features
    base = build_model(SPECS["tanh-sigmoid"])
    assert _OwnDrift(base.drift, base.diffusion).stacked_fields(TIMES) is None
    deeper = build_model(dict(SPECS["tanh-sigmoid"], layers=2))
    assert NeuralDSDE(base.drift, deeper.diffusion).stacked_fields(TIMES) is None


@pytest.mark.parametrize("shifted", [False, True])
def test_the_euler_solve_is_the_same_with_and_without_the_stacking(monkeypatch, shifted):
    model = _model("forecaster")
    y0 = torch.randn(64, 2, dtype=torch.float64)
    t0 = torch.linspace(0, 40, 64, dtype=torch.float64)[:, None]
    system = _Shifted(model, t0) if shifted else model
    ts = torch.tensor([0.0, 1.0, 2.5, 3.0], dtype=torch.float64)
    config = ns.SolveConfig(method="euler", dt=0.2, adaptive=False)

    def run():
        model.zero_grad()
        ys = ns.solve(system, y0, ts, config, seed=3)
        (ys[-1] ** 2).mean().backward()
        return ys.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    calls = []
    original = NeuralDSDE.stacked_fields
    monkeypatch.setattr(NeuralDSDE, "stacked_fields", lambda self, times, t0=None: calls.append(
        len(times)) or original(self, times, t0))
    ys, grads = run()
    monkeypatch.setattr(NeuralDSDE, "stacked_fields", lambda self, times, t0=None: None)
    ys_sep, grads_sep = run()
    assert calls == [15]  # one build per solve, for its 15 steps
    torch.testing.assert_close(ys, ys_sep, rtol=0, atol=1e-12)
    for a, b in zip(grads, grads_sep):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
