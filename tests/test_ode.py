"""The neural ODE: torchdiffeq solves against the exact solution of a linear ODE, backprop against
the adjoint, dispatch through ``solve``, fitting, model files and input checks."""

import math

import pytest
import torch
from torch import nn

from neuralsde import (
    MaxStepsError,
    NeuralODE,
    NonFiniteStateError,
    SolveConfig,
    build_model,
    solve,
)
from neuralsde.data import TimeSeries
from neuralsde.ode import solve_ode
from neuralsde.train import TrainConfig, fit, load_model, sample, save_model

# A damped rotation: eigenvalues -0.1 ± i, so ||A|| ~ 1 and exp(A t) is well conditioned.
A = torch.tensor([[-0.1, -1.0], [1.0, -0.1]], dtype=torch.float64)
Y0 = torch.tensor([[1.0, 0.5], [-0.3, 2.0]], dtype=torch.float64)
# Non-uniform, and not multiples of the fixed steps below: the solver must land on them.
TS = torch.tensor([0.0, 0.37, 1.13, 2.0, 2.71], dtype=torch.float64)


def linear_ode(matrix=A):
    """``dy/dt = matrix @ y`` as a NeuralODE (bias-free Linear: y -> y @ matrix.T)."""
    lin = nn.Linear(matrix.shape[0], matrix.shape[0], bias=False)
    with torch.no_grad():
        lin.weight.copy_(matrix)
    return NeuralODE(lin)


def exact(matrix, y0, ts):
    """``y(t) = expm(matrix t) y0`` for each row of y0: (T, batch, d)."""
    return torch.stack([y0 @ torch.linalg.matrix_exp(matrix * t).T for t in ts])


def test_adaptive_dopri5_matches_the_matrix_exponential():
    ys, stats = solve_ode(linear_ode(), Y0, TS, SolveConfig(rtol=1e-8, atol=1e-8),
                          return_stats=True)
    assert ys.shape == (len(TS), 2, 2) and ys.dtype == Y0.dtype and ys.device == Y0.device
    assert torch.equal(ys[0], Y0)
    assert (ys - exact(A, Y0, TS)).abs().max() < 1e-6
    assert stats.method == "torchdiffeq-dopri5" and stats.g_evals == 0
    assert stats.accepted_steps > 0 and stats.forced_steps == 0
    # dopri5 is first-same-as-last: 6 new evaluations per attempt, plus f(t0) and one more for
    # the initial step heuristic. Every call of the drift is counted.
    attempts = stats.accepted_steps + stats.rejected_steps
    assert stats.f_evals == 6 * attempts + 2


def test_fixed_rk4_lands_on_output_times_with_fourth_order_error():
    # RK4's global error is ~ C dt^4 with C ~ T ||A||^5 / 120 ~ 0.03 here, so ~3e-6 at dt=0.1.
    # Landing matters: torchdiffeq's own step_size grid interpolates linearly to these ts and is
    # ~2e-3 off at dt=0.1 (second order).
    errors = {}
    for dt in (0.1, 0.05):
        ys, stats = solve_ode(linear_ode(), Y0, TS, SolveConfig(adaptive=False, dt=dt),
                              return_stats=True)
        errors[dt] = float((ys.detach() - exact(A, Y0, TS)).abs().max())
        steps = sum(math.ceil((b - a) / dt - 1e-9) for a, b in zip(TS[:-1].tolist(),
                                                                   TS[1:].tolist()))
        assert stats.method == "torchdiffeq-rk4"
        assert (stats.accepted_steps, stats.rejected_steps, stats.f_evals) == (steps, 0, 4 * steps)
    assert errors[0.1] < 1e-5
    ratio = errors[0.1] / errors[0.05]
    assert 12 < ratio < 20, ratio  # 2^4 = 16 for a fourth-order method


def _tiny_ode(seed=0):
    torch.manual_seed(seed)
    return NeuralODE(nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)))


def _grad(model, config):
    model.zero_grad()
    ys = solve(model, Y0, TS, config)
    (ys ** 2).sum().backward()
    return torch.cat([p.grad.flatten() for p in model.parameters()])


@pytest.mark.parametrize("kwargs, tol", [
    # Both are accurate to the solver's error; at rtol = atol = 1e-10 they agree to ~1e-8 of a
    # gradient of size ~7.
    (dict(rtol=1e-10, atol=1e-10), 1e-6),
    # Fixed rk4 on the same grid both ways: they differ by O(dt^4) ~ 1e-8 at most.
    (dict(adaptive=False, dt=0.01), 1e-8),
])
def test_backprop_and_adjoint_gradients_agree(kwargs, tol):
    model = _tiny_ode()
    g_backprop = _grad(model, SolveConfig(gradient="backprop", **kwargs))
    g_adjoint = _grad(model, SolveConfig(gradient="adjoint", **kwargs))
    assert g_backprop.abs().max() > 1.0  # a gradient worth comparing
    torch.testing.assert_close(g_adjoint, g_backprop, rtol=0, atol=tol)


def test_solve_dispatches_a_neural_ode_to_torchdiffeq():
    model = _tiny_ode()
    for config in (SolveConfig(rtol=1e-6, atol=1e-6), SolveConfig(adaptive=False, dt=0.1)):
        direct, direct_stats = solve_ode(model, Y0, TS, config, return_stats=True)
        # A NeuralODE has no g: without the dispatch, solve() would refuse it.
        ys, stats = solve(model, Y0, TS, config, seed=3, return_stats=True)
        assert torch.equal(ys, direct) and stats == direct_stats
        assert torch.equal(solve(model, Y0, TS, config, seed=4), direct)  # no noise: seed unused
    with pytest.raises(ValueError, match="shard"):
        solve(model, Y0, TS, SolveConfig(), shard=object())


def test_fit_recovers_a_linear_ode():
    ts = torch.linspace(0.0, 3.0, 13)
    ys = exact(A, torch.tensor([[1.0, 0.0]]), ts)  # (T, 1, 2): one observed path
    series = TimeSeries(ts=ts, ys=ys, mask=torch.ones_like(ys, dtype=torch.bool),
                        names=("x", "y"))
    lin = nn.Linear(2, 2, bias=False)
    nn.init.zeros_(lin.weight)  # from no dynamics at all
    model = NeuralODE(lin)
    result = fit(model, series, solve_config=SolveConfig(adaptive=False, dt=0.25),
                 train_config=TrainConfig(iters=200, curriculum=False, lr=0.1, loss="mse",
                                          paths=1),
                 quiet=True)
    assert result.stopped == "finished" and len(result.history) == 200
    assert result.history[-1]["g_evals"] == 0 and result.history[-1]["f_evals"] > 0
    # Noise-free data and rk4 at dt=0.25 (one-step bias ~ dt^4/120 relative): Adam gets to ~1e-4;
    # after half the iterations it is still ~0.05 off.
    assert (lin.weight.detach() - A).abs().max() < 0.01


def test_build_model_ode_and_model_file_round_trip(tmp_path):
    model = build_model({"kind": "ode", "state_dim": 2, "hidden": 5})
    assert isinstance(model, NeuralODE) and model.is_ode
    assert model.spec == {"kind": "ode", "state_dim": 2, "hidden": 5, "layers": 1,
                          "activation": "tanh", "cubic": False}
    assert [tuple(p.shape) for p in model.parameters()] == [(5, 2), (5,), (2, 5), (2,)]
    cubic = build_model({"kind": "ode", "cubic": True, "layers": 2})
    assert cubic.spec["state_dim"] == 3 and len(cubic.drift) == 6  # cube, 2x(Linear, tanh), Linear
    with pytest.raises(ValueError, match="drift_activation"):
        build_model({"kind": "ode", "drift_activation": "tanh"})

    config = SolveConfig(rtol=1e-6, atol=1e-6)
    path = save_model(tmp_path / "model.pt", model, extra={"note": "ode"})
    loaded, scaling, extra = load_model(path)
    assert isinstance(loaded, NeuralODE) and loaded.spec == model.spec
    assert scaling is None and extra == {"note": "ode"}
    with torch.no_grad():
        assert torch.equal(solve(loaded, Y0, TS, config), solve(model, Y0, TS, config))
    paths = sample(loaded, [1.0, -1.0], TS, 3, solve_config=config)
    assert paths.shape == (3, len(TS), 2)
    assert torch.equal(paths[0], paths[2])  # deterministic: every "sample" is the same path


def test_bad_inputs_name_the_argument():
    model = linear_ode()
    with pytest.raises(ValueError, match="ts must be strictly increasing"):
        solve(model, Y0, [0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="ts must be strictly increasing"):
        solve_ode(model, Y0, [0.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="y0 must be finite"):
        solve(model, torch.tensor([[math.nan, 0.0]]), TS)
    with pytest.raises(ValueError, match=r"y0 must have shape \(batch, d\)"):
        solve(model, Y0[0], TS)
    wrong = NeuralODE(nn.Linear(2, 3))
    with pytest.raises(ValueError, match=r"f\(t, y\) must return shape"):
        solve(wrong, Y0, TS)


def test_solver_failures_are_solver_errors():
    with pytest.raises(MaxStepsError, match="max_steps=10"):
        solve(linear_ode(), Y0, TS, SolveConfig(rtol=1e-10, atol=1e-10, max_steps=10))
    blow_up = NeuralODE(Square())  # dy/dt = y^2 from y0 = 1 reaches infinity at t = 1
    for config in (SolveConfig(), SolveConfig(adaptive=False, dt=0.1)):
        with pytest.raises(NonFiniteStateError):
            solve(blow_up, torch.ones(1, 1), [0.0, 2.0], config)


class Square(nn.Module):
    def forward(self, y):
        return y * y
