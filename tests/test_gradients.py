"""Gradients: backprop through our SRI against torchsde's adjoint and against finite differences."""

import importlib
import warnings

import pytest
import torch
from problems import tiny_model
from torch.func import functional_call

from neuralsde import SolveConfig, brownian_interval, solve


def _grads(model, loss):
    model.zero_grad()
    loss.backward()
    return [p.grad.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("method", ["sri", "milstein"])
def test_backprop_and_adjoint_agree_on_a_shared_path(method):
    # torchsde's own test: 1e-2 at dt = 1e-3 for methods that are not reversible; small noise.
    model = tiny_model(d=2, noise_scale=0.1)
    y0 = torch.full((4, 2), 0.5)
    ts = [0.0, 0.25, 0.5]
    dt = 1e-3
    bm = brownian_interval(0.0, 0.5, y0.shape, dtype=y0.dtype, seed=4, dt=dt)
    ys = solve(model, y0, ts, SolveConfig(adaptive=False, dt=dt), bm=bm)
    g_backprop = _grads(model, ys.square().sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ys_adj = solve(model, y0, ts, SolveConfig(method=method, adaptive=False, dt=dt,
                                                  gradient="adjoint"), bm=bm)
    g_adjoint = _grads(model, ys_adj.square().sum())
    torch.testing.assert_close(ys_adj, ys, rtol=1e-2, atol=1e-2)
    for a, b in zip(g_backprop, g_adjoint):
        torch.testing.assert_close(b, a, rtol=1e-2, atol=1e-2)
    # the comparison is not vacuous: gradients are of order 1
    assert max(float(g.abs().max()) for g in g_backprop) > 0.1


def test_adjoint_with_sri_says_which_methods_solve_it():
    solve_module = importlib.import_module("neuralsde.solvers")
    solve_module._WARNED.discard("adjoint-sri")
    model = tiny_model()
    with pytest.warns(UserWarning, match="forward pass runs torchsde's 'srk'.*'milstein'"):
        solve(model, torch.zeros(2, 2), [0.0, 0.1],
              SolveConfig(adaptive=False, dt=0.05, gradient="adjoint"), seed=0)


def test_backprop_passes_gradcheck():
    model = tiny_model(d=2, hidden=3, noise_scale=0.5)
    names = [n for n, _ in model.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in model.parameters())
    y0 = torch.tensor([[0.3, -0.2], [0.1, 0.4]], requires_grad=True)
    # Fixed steps: the noise tensors come from the seed, so the solve is a smooth function of its
    # inputs. (Adaptive step sizes depend on the parameters through the error estimate and are
    # not differentiated, as in every adaptive solver, so finite differences see extra terms.)
    config = SolveConfig(adaptive=False, dt=0.1)

    def run(y0, *flat):
        state = dict(zip(names, flat))

        class Bound(torch.nn.Module):
            def f(self, t, y):
                return functional_call(model.drift, {k[6:]: v for k, v in state.items()
                                                     if k.startswith("drift.")}, (y,))

            def g(self, t, y):
                return functional_call(model.diffusion, {k[10:]: v for k, v in state.items()
                                                         if k.startswith("diffusion.")}, (y,))

        return solve(Bound(), y0, [0.0, 0.25, 0.5], config, seed=1)

    assert torch.autograd.gradcheck(run, (y0, *params), eps=1e-6, atol=1e-6, rtol=1e-5)
