"""Solver facts: strong order, agreement with torchsde, adaptivity, counts, seeds, bad input."""

import math

import pytest
import torch
import torchsde
from problems import GBM, Brownian, Counting, ElementwiseNonlinear, strong_order, tiny_model

from neuralsde import (
    MaxStepsError,
    NeuralDSDE,
    NonFiniteStateError,
    SolveConfig,
    brownian_interval,
    reference_diffusion,
    reference_drift,
    solve,
)

DTS = [2.0**-k for k in range(3, 9)]


def _gbm_errors(config_for_dt, *, paths=1000, T=1.0, seed=11, torchsde_method=None):
    gbm = GBM()
    y0 = torch.ones(paths, 1)
    bm = brownian_interval(0.0, T, y0.shape, dtype=y0.dtype, seed=seed, dt=DTS[-1])
    exact = gbm.exact(y0, T, bm(0.0, T))
    errors = []
    for dt in DTS:
        if torchsde_method is None:
            ys = solve(gbm, y0, [0.0, T], config_for_dt(dt), bm=bm)
        else:
            ys = torchsde.sdeint(gbm, y0, torch.tensor([0.0, T]), bm=bm, method=torchsde_method,
                                 dt=dt)
        errors.append(float((ys[-1] - exact).abs().mean()))
    return errors


@pytest.mark.parametrize("tableau", ["sosri", "sriw1"])
def test_strong_order_on_gbm(tableau):
    errors = _gbm_errors(lambda dt: SolveConfig(tableau=tableau, adaptive=False, dt=dt))
    order = strong_order(DTS, errors)
    assert order >= 1.3, (order, errors)


def test_euler_strong_order_on_same_paths():
    errors = _gbm_errors(None, torchsde_method="euler")
    order = strong_order(DTS, errors)
    assert abs(order - 0.5) <= 0.2, (order, errors)


def test_srid2_reproduces_torchsde_srk_step_for_step():
    model = ElementwiseNonlinear()
    y0 = torch.full((16, 2), 0.3)
    bm = brownian_interval(0.0, 1.0, y0.shape, dtype=y0.dtype, seed=3, dt=0.125)
    ours = solve(model, y0, [0.0, 0.5, 1.0], SolveConfig(tableau="srid2", adaptive=False,
                                                            dt=0.125), bm=bm)
    theirs = torchsde.sdeint(model, y0, torch.tensor([0.0, 0.5, 1.0]), bm=bm, method="srk",
                             dt=0.125)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


def test_sri_and_torchsde_srk_converge_to_the_same_solution():
    model = ElementwiseNonlinear()
    y0 = torch.full((200, 2), 0.3)
    bm = brownian_interval(0.0, 1.0, y0.shape, dtype=y0.dtype, seed=5, dt=2.0**-7)
    diffs = []
    for dt in [2.0**-3, 2.0**-5, 2.0**-7]:
        ours = solve(model, y0, [0.0, 1.0], SolveConfig(adaptive=False, dt=dt), bm=bm)
        theirs = torchsde.sdeint(model, y0, torch.tensor([0.0, 1.0]), bm=bm, method="srk", dt=dt)
        diffs.append(float((ours[-1] - theirs[-1]).abs().mean()))
    assert diffs[0] > diffs[1] > diffs[2]
    # two order-1.5 schemes: their difference shrinks like dt^1.5 (factor 4^1.5 = 8 per stage)
    assert diffs[2] < diffs[0] / 20, diffs


def test_adaptive_matches_fine_fixed_step():
    gbm = GBM()
    y0 = torch.ones(64, 1)
    ts = [0.0, 0.25, 0.5, 1.0]
    bm = brownian_interval(0.0, 1.0, y0.shape, dtype=y0.dtype, seed=7, dt=2.0**-10)
    fine = solve(gbm, y0, ts, SolveConfig(adaptive=False, dt=2.0**-10), bm=bm)
    exact = torch.stack([gbm.exact(y0, t, bm(0.0, t)) for t in ts])
    # the fine solution is itself accurate (strong order 1.5 at dt = 2^-10: worst path of 64)
    assert float((fine - exact).abs().max()) < 1e-3
    errs = {}
    for tol in (1e-1, 1e-3):
        ys, stats = solve(gbm, y0, ts, SolveConfig(rtol=tol, atol=tol), bm=bm, return_stats=True)
        errs[tol] = float(((ys - fine).abs() / (tol + tol * fine.abs())).max())
        assert stats.accepted_steps > 0
    # Each step's local error is held near tol relative to (1 + |y|); over the O(100) steps of
    # [0, 1] at tol = 1e-3 these add up to a few tol, so the scaled global error stays below 10,
    # and tightening the tolerance by 100x makes the absolute error much smaller.
    assert errs[1e-3] < 10, errs
    ys3 = solve(gbm, y0, ts, SolveConfig(rtol=1e-3, atol=1e-3), bm=bm)
    ys1 = solve(gbm, y0, ts, SolveConfig(rtol=1e-1, atol=1e-1), bm=bm)
    assert float((ys3 - fine).abs().max()) < 0.2 * float((ys1 - fine).abs().max())


def test_adaptive_lands_exactly_on_nonuniform_output_times():
    gbm = GBM()
    y0 = torch.ones(8, 1)
    ts = [0.0, 0.013, 0.3, 0.31, 1.7]
    bm = brownian_interval(0.0, 1.7, y0.shape, dtype=y0.dtype, seed=1)
    ys, stats = solve(gbm, y0, ts, SolveConfig(rtol=1e-3, atol=1e-3), bm=bm, return_stats=True)
    exact = torch.stack([gbm.exact(y0, t, bm(0.0, t)) for t in ts])
    assert ys.shape == (5, 8, 1)
    torch.testing.assert_close(ys, exact, rtol=2e-2, atol=2e-2)


def test_one_fixed_step_calls_f_four_times_and_g_four_times():
    counting = Counting(tiny_model())
    ys, stats = solve(counting, torch.zeros(3, 2), [0.0, 0.1],
                      SolveConfig(adaptive=False, dt=0.1), seed=0, return_stats=True)
    assert (counting.n_f, counting.n_g) == (4, 4)
    assert (stats.f_evals, stats.g_evals, stats.accepted_steps) == (4, 4, 1)


def test_sriw1_step_needs_two_drift_calls():
    counting = Counting(tiny_model())
    solve(counting, torch.zeros(3, 2), [0.0, 0.1],
          SolveConfig(tableau="sriw1", adaptive=False, dt=0.1), seed=0)
    assert (counting.n_f, counting.n_g) == (2, 4)


def test_adaptive_stats_count_every_call():
    counting = Counting(tiny_model())
    _, stats = solve(counting, torch.zeros(3, 2), [0.0, 1.0, 2.0], SolveConfig(rtol=1e-3,
                                                                               atol=1e-3),
                     seed=0, return_stats=True)
    attempts = stats.accepted_steps + stats.rejected_steps
    # the initial-step heuristic makes 2 drift and 1 diffusion call
    assert counting.n_f == stats.f_evals == 4 * attempts + 2
    assert counting.n_g == stats.g_evals == 4 * attempts + 1


@pytest.mark.parametrize("adaptive", [True, False])
def test_same_seed_bit_identical_different_seed_different(adaptive):
    model = tiny_model(noise_scale=1.0)
    config = SolveConfig(adaptive=adaptive, dt=None if adaptive else 0.05)
    y0 = torch.zeros(4, 2)
    a = solve(model, y0, [0.0, 0.5, 1.0], config, seed=123)
    b = solve(model, y0, [0.0, 0.5, 1.0], config, seed=123)
    c = solve(model, y0, [0.0, 0.5, 1.0], config, seed=124)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_torchsde_methods_seeded_too():
    model = tiny_model(noise_scale=1.0)
    config = SolveConfig(method="euler", adaptive=False, dt=0.05)
    a = solve(model, torch.zeros(4, 2), [0.0, 1.0], config, seed=9)
    b = solve(model, torch.zeros(4, 2), [0.0, 1.0], config, seed=9)
    assert torch.equal(a, b)


def test_fixed_grid_noise_has_the_right_law():
    # y(T) - y(0) = W(T) ~ N(0, T), whatever the grid.
    n = 20000
    ys = solve(Brownian(), torch.zeros(n, 1), [0.0, 2.0], SolveConfig(adaptive=False, dt=0.1),
               seed=0)
    w = ys[-1, :, 0]
    # standard errors: mean sqrt(2/n) = 0.01, variance 2*sqrt(2/n) = 0.02
    assert abs(float(w.mean())) < 0.05
    assert abs(float(w.var()) - 2.0) < 0.1


def test_checkpointing_gives_the_same_values_and_gradients():
    model = tiny_model(noise_scale=0.5)
    y0 = torch.full((4, 2), 0.5)
    for config in (SolveConfig(adaptive=False, dt=0.05), SolveConfig(rtol=1e-2, atol=1e-2)):
        grads = []
        values = []
        for every in (None, 3):
            model.zero_grad()
            cfg = SolveConfig(**{**config.to_dict(), "checkpoint_every": every})
            ys = solve(model, y0, [0.0, 0.4, 1.0], cfg, seed=2)
            ys.square().sum().backward()
            values.append(ys.detach())
            grads.append([p.grad.clone() for p in model.parameters()])
        torch.testing.assert_close(values[0], values[1], rtol=0, atol=0)
        for g0, g1 in zip(*grads):
            torch.testing.assert_close(g0, g1, rtol=1e-12, atol=1e-14)


def test_reference_model_runs_with_torchsde_directly():
    model = NeuralDSDE(reference_drift(), reference_diffusion())
    y0 = torch.tensor([[1.0, 0.0, 0.0]])
    bm = brownian_interval(0.0, 1.0, y0.shape, dtype=y0.dtype, seed=0)
    # dt = 1/8 is exact in binary, so both solvers query the Brownian motion on the same intervals
    ours = solve(model, y0, [0.0, 1.0], SolveConfig(tableau="srid2", adaptive=False, dt=0.125),
                 bm=bm)
    theirs = torchsde.sdeint(model, y0, torch.tensor([0.0, 1.0]), bm=bm, method="srk", dt=0.125)
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------------------------------
# bad input: one test per case, each message names the argument


def _model():
    return tiny_model()


@pytest.mark.parametrize("y0", [torch.zeros(2), torch.zeros(1, 2, 1)])
def test_bad_y0_shape(y0):
    with pytest.raises(ValueError, match=r"y0 must have shape \(batch, d\)"):
        solve(_model(), y0, [0.0, 1.0], seed=0)


def test_non_finite_y0():
    with pytest.raises(ValueError, match="y0 must be finite"):
        solve(_model(), torch.tensor([[0.0, math.nan]]), [0.0, 1.0], seed=0)


@pytest.mark.parametrize("ts", [[0.0, 1.0, 1.0], [0.0, 2.0, 1.0]])
def test_non_increasing_ts(ts):
    with pytest.raises(ValueError, match="ts must be strictly increasing"):
        solve(_model(), torch.zeros(1, 2), ts, seed=0)


def test_non_finite_ts():
    with pytest.raises(ValueError, match="ts must be finite"):
        solve(_model(), torch.zeros(1, 2), [0.0, math.inf], seed=0)


def test_ts_too_short():
    with pytest.raises(ValueError, match="ts must be a 1-D sequence of at least 2"):
        solve(_model(), torch.zeros(1, 2), [0.0], seed=0)


def test_unknown_method():
    with pytest.raises(ValueError, match=r"method='rk4' is not supported; expected one of"):
        SolveConfig(method="rk4")


def test_unknown_tableau():
    with pytest.raises(ValueError, match=r"tableau='sra1' is not supported; expected one of"):
        SolveConfig(tableau="sra1")


def test_unknown_gradient():
    with pytest.raises(ValueError, match=r"gradient='tracker' is not supported"):
        SolveConfig(gradient="tracker")


@pytest.mark.parametrize("field", ["dt", "rtol", "atol"])
@pytest.mark.parametrize("value", [0.0, -1.0, math.nan])
def test_non_positive_tolerances_and_steps(field, value):
    with pytest.raises(ValueError, match=rf"{field}=.* expected a finite number > 0"):
        SolveConfig(**{field: value})


def test_fixed_step_needs_dt():
    with pytest.raises(ValueError, match="dt=None is not supported with adaptive=False"):
        SolveConfig(adaptive=False)


def test_adaptive_euler_refused():
    with pytest.raises(ValueError, match="method='euler' with adaptive=True"):
        SolveConfig(method="euler")


def test_unknown_field_is_a_type_error():
    with pytest.raises(TypeError):
        SolveConfig(rtoll=0.1)


def test_diffusion_with_wrong_shape():
    class Wrong(torch.nn.Module):
        def f(self, t, y):
            return y

        def g(self, t, y):
            return y.unsqueeze(-1)

    with pytest.raises(ValueError, match=r"g\(t, y\) must return shape"):
        solve(Wrong(), torch.zeros(2, 3), [0.0, 1.0], SolveConfig(adaptive=False, dt=0.5), seed=0)


class _BlowsUp(torch.nn.Module):
    """dy = y^2 dt from y0 = 2: the exact solution 2 / (1 - 2t) blows up at t = 0.5."""

    def f(self, t, y):
        return y * y

    def g(self, t, y):
        return 0.01 * torch.ones_like(y)


@pytest.mark.parametrize("adaptive", [True, False])
def test_non_finite_state_reports_the_time(adaptive):
    config = SolveConfig(adaptive=adaptive, dt=None if adaptive else 0.01, dt_min=1e-4)
    with pytest.raises(NonFiniteStateError, match=r"non-finite .*t=0\.[456]"):
        solve(_BlowsUp(), torch.full((2, 1), 2.0), [0.0, 0.3, 0.6, 1.0], config, seed=0)


def test_max_steps():
    with pytest.raises(MaxStepsError, match="max_steps=5"):
        solve(GBM(), torch.ones(2, 1), [0.0, 1.0], SolveConfig(rtol=1e-6, atol=1e-6,
                                                               max_steps=5), seed=0)
