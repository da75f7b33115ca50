"""Our fixed-step Euler–Maruyama (``method="euler"`` with backprop): torchsde's scheme step for
step on the same increments, its noise from the seed, gradients, and torchsde on a given path."""

import math

import pytest
import torch
import torchsde
from problems import Brownian, ElementwiseNonlinear

from neuralsde import SolveConfig, brownian_interval, solve
from neuralsde.solvers.euler_fixed import brackets, euler_grid

TS = [0.0, 0.3, 0.55, 1.0, 1.37]  # output times off and on the grid of dt = 0.25


class _Increments:
    """A torchsde Brownian object that answers each grid step with a given increment."""

    def __init__(self, grid, dW):
        self.grid, self.dW = grid, dW
        self.shape, self.dtype, self.device = tuple(dW.shape[1:]), dW.dtype, dW.device
        self.levy_area_approximation = "none"

    def __call__(self, ta, tb):
        k = min(range(len(self.grid) - 1), key=lambda i: abs(self.grid[i] - float(ta)))
        assert abs(self.grid[k + 1] - float(tb)) < 1e-9, (ta, tb)
        return self.dW[k]


class _TimeDependent(torch.nn.Module):
    """``dy = (cos(3 t) - y) dt + 0.4 (1 + t) dW``: time enters both fields."""

    noise_type, sde_type = "diagonal", "ito"

    def f(self, t, y):
        return torch.cos(3 * torch.as_tensor(t, dtype=y.dtype)) - y

    def g(self, t, y):
        return 0.4 * (1 + torch.as_tensor(t, dtype=y.dtype)) * torch.ones_like(y)


def _our_increments(seed, n_steps, shape, grid, dtype):
    noise = torch.randn((n_steps, *shape), generator=torch.Generator().manual_seed(seed),
                        dtype=dtype)
    hs = torch.tensor([b - a for a, b in zip(grid[:-1], grid[1:])], dtype=dtype)
    return noise * hs.sqrt().view(-1, 1, 1)


@pytest.mark.parametrize("model", [ElementwiseNonlinear(), _TimeDependent()],
                         ids=["autonomous", "time-dependent"])
def test_equals_torchsde_euler_on_the_same_increments(model):
    y0 = torch.linspace(-1.0, 1.0, 12, dtype=torch.float64).view(6, 2)
    config = SolveConfig(method="euler", adaptive=False, dt=0.25)
    ours, stats = solve(model, y0, TS, config, seed=5, return_stats=True)
    grid = euler_grid(TS[0], TS[-1], 0.25)
    assert grid == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.37]
    assert (stats.accepted_steps, stats.f_evals, stats.g_evals) == (6, 6, 6)
    bm = _Increments(grid, _our_increments(5, 6, y0.shape, grid, torch.float64))
    theirs = torchsde.sdeint(model, y0, torch.tensor(TS, dtype=torch.float64), bm=bm,
                             method="euler", dt=0.25)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)
    assert torch.equal(ours[0], y0)


def test_output_times_are_interpolated_between_grid_points():
    index, weight = brackets([0.0, 0.25, 0.5, 0.6], [0.0, 0.1, 0.25, 0.55, 0.6])
    assert index == [0, 0, 1, 2, 3]
    assert weight == pytest.approx([0.0, 0.4, 0.0, 0.5, 0.0])


def test_a_span_of_whole_steps_gets_no_extra_step():
    assert euler_grid(0.0, 1.0, 0.1)[-2:] == pytest.approx([0.9, 1.0])
    assert len(euler_grid(0.0, 1.0, 0.1)) == 11
    assert euler_grid(2.0, 2.05, 0.25) == [2.0, 2.05]


def test_a_given_brownian_path_goes_to_torchsde():
    model = ElementwiseNonlinear()
    y0 = torch.full((8, 2), 0.2)
    bm = brownian_interval(0.0, 1.37, y0.shape, dtype=y0.dtype, seed=3, dt=0.25)
    config = SolveConfig(method="euler", adaptive=False, dt=0.25)
    ours = solve(model, y0, TS, config, bm=bm)
    theirs = torchsde.sdeint(model, y0, torch.tensor(TS), bm=bm, method="euler", dt=0.25)
    torch.testing.assert_close(ours, theirs)


def test_the_increments_have_the_brownian_law():
    n = 20000
    config = SolveConfig(method="euler", adaptive=False, dt=0.3)
    w = solve(Brownian(), torch.zeros(n, 1), [0.0, 1.0, 2.0], config, seed=0)[:, :, 0]
    # W(2) ~ N(0, 2); at t = 1, inside the step [0.9, 1.2], the interpolation W(0.9) + (1/3)
    # (W(1.2) - W(0.9)) has variance 0.9 + (1/3)^2 * 0.3 = 0.9333; standard errors of the
    # variances about 0.02 and 0.01
    assert abs(float(w[2].var()) - 2.0) < 0.1
    assert abs(float(w[1].var()) - (0.9 + (1 / 3) ** 2 * 0.3)) < 0.05
    assert abs(float(w[2].mean())) < 0.05


def test_gradients_match_finite_differences():
    a = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)

    class Linear(torch.nn.Module):
        def f(self, t, y):
            return -a * y

        def g(self, t, y):
            return 0.3 * torch.sin(a * y) + 0.1

    y0 = torch.linspace(0.5, 1.5, 10, dtype=torch.float64).view(10, 1)
    config = SolveConfig(method="euler", adaptive=False, dt=0.1)

    def loss():
        return (solve(Linear(), y0, [0.0, 0.45, 1.0], config, seed=2) ** 2).sum()

    (grad,) = torch.autograd.grad(loss(), a)
    eps = 1e-6
    with torch.no_grad():
        a += eps
        up = float(loss())
        a -= 2 * eps
        down = float(loss())
        a += eps
    assert math.isclose(float(grad), (up - down) / (2 * eps), rel_tol=1e-6)
