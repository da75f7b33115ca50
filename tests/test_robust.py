"""Robustness: what bad inputs, signals and failing disks do to a solve, a fit and the CLI.

Each test fails on the code before the fix it names: a wrong state width reaching torch's
matrix product, a huge initial state hanging the Brownian path, and so on.
"""

import contextlib
import signal
import sys

import pytest
import torch
from torch import nn

import neuralsde as ns
from neuralsde.solve import NonFiniteStateError, SolveConfig, SolverError

# ----------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _within(seconds):
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""
    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _reference(dtype=torch.float64):
    torch.manual_seed(0)
    return ns.build_model({"kind": "reference", "state_dim": 3}).to(dtype)


class _Plain(nn.Module):
    """A torchsde-style model that declares no width: only its first call can tell."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 3)

    def f(self, t, y):
        return self.linear(y)

    def g(self, t, y):
        return torch.sigmoid(self.linear(y))


# ----------------------------------------------------------------------------- solve: y0


def test_solve_names_both_shapes_when_y0_is_wider_than_the_model():
    with pytest.raises(ValueError) as info:
        ns.solve(_reference(), torch.zeros(4, 5), [0.0, 1.0], seed=0)
    message = str(info.value)
    assert "(4, 5)" in message and "5-dimensional" in message and "3-dimensional" in message
    assert "mat1" not in message


def test_solve_checks_a_hand_built_model_by_its_first_linear_layer():
    drift = nn.Sequential(ns.nets.CubicFeatures(), nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 3))
    model = ns.NeuralDSDE(drift, nn.Linear(3, 3))
    with pytest.raises(ValueError, match=r"in_features=3"):
        ns.solve(model, torch.zeros(2, 2), [0.0, 1.0], seed=0)
    seasonal = ns.NeuralDSDE(nn.Linear(5, 3), nn.Linear(5, 3), period=1.0)  # 3 + sin, cos
    assert ns.solve(seasonal, torch.zeros(2, 3), [0.0, 1.0], seed=0).shape == (2, 2, 3)


def test_solve_names_the_dtypes_when_y0_and_the_model_differ():
    with pytest.raises(ValueError, match=r"y0 has dtype torch.float32 .* torch.float64"):
        ns.solve(_reference(torch.float64), torch.zeros(2, 3, dtype=torch.float32), [0.0, 1.0])


@pytest.mark.parametrize("config", [SolveConfig(), SolveConfig(adaptive=False, dt=0.5),
                                    SolveConfig(method="srk")],
                         ids=["sri-adaptive", "sri-fixed", "torchsde-srk"])
def test_first_call_error_of_an_undeclared_model_names_y0(config):
    with pytest.raises(ValueError, match=r"y0 of shape \(2, 5\)"):
        ns.solve(_Plain(), torch.zeros(2, 5), [0.0, 1.0], config, seed=0)


@pytest.mark.parametrize("magnitude, dtype", [(1e13, torch.float32), (1e13, torch.float64),
                                              (1e300, torch.float64)])
@pytest.mark.parametrize("method", ["sri", "srk"])
def test_huge_initial_state_returns_or_raises_within_seconds(magnitude, dtype, method):
    y0 = torch.full((2, 3), magnitude, dtype=dtype)
    with _within(20):
        try:
            ys = ns.solve(_reference(dtype), y0, [0.0, 1.0], SolveConfig(method=method), seed=0)
        except NonFiniteStateError as err:
            assert "not finite" in str(err) or "non-finite" in str(err)
        else:
            assert ys.shape == (2, 2, 3)


@pytest.mark.parametrize("t0, span", [(1e16, 10.0), (1e17, 100.0)])
def test_times_too_large_for_the_smallest_step_still_advance(t0, span):
    with _within(20):
        ys = ns.solve(_reference(), torch.ones(2, 3), [t0, t0 + span], seed=0)
    assert ys.shape == (2, 2, 3)


def test_spans_beyond_the_brownian_path_and_endless_fixed_grids_are_refused():
    with _within(20):
        with pytest.raises(ValueError, match="spans 1e\\+300"):
            ns.solve(_reference(), torch.ones(2, 3), [0.0, 1e300], seed=0)
        with pytest.raises(ValueError, match="more than max_steps"):
            ns.solve(_reference(), torch.ones(2, 3), [0.0, 1e6],
                     SolveConfig(adaptive=False, dt=1e-3), seed=0)


def test_a_nan_error_estimate_in_torchsde_is_our_solver_error():
    y0 = torch.full((2, 3), 1e300)
    with _within(20), pytest.raises(SolverError):
        ns.solve(_reference(), y0, [0.0, 1.0], SolveConfig(method="milstein"), seed=0)


# ----------------------------------------------------------------------------- train.fit


def _series():
    from neuralsde.data import Scaling, reference_dataset

    series = reference_dataset(0)
    return Scaling.fit(series).transform(series)


FAST = SolveConfig(adaptive=False, dt=0.5)


def test_fit_names_the_argument_of_the_wrong_type():
    from neuralsde.train import fit

    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module.*got NoneType"):
        fit(None)
    with pytest.raises(TypeError, match=r"series must be a neuralsde.data.TimeSeries.*got Tensor"):
        fit(_reference(), torch.zeros(7, 1))
    with pytest.raises(TypeError, match=r"the model comes first"):
        fit(_series())


def test_fit_with_no_iterations_refuses_instead_of_a_nan_loss():
    from neuralsde.train import TrainConfig, fit

    with pytest.raises(ValueError, match="trains nothing"):
        fit(_reference(), _series(), solve_config=FAST,
            train_config=TrainConfig(iters=0, curriculum=False), quiet=True)


def test_fit_creates_missing_folders_and_names_a_path_it_cannot_write(tmp_path):
    from neuralsde._checks import WriteError
    from neuralsde.train import TrainConfig, fit

    cfg = TrainConfig(iters=2, curriculum=False, paths=2)
    history, checkpoint = tmp_path / "a" / "b" / "history.csv", tmp_path / "c" / "ck.pt"
    fit(_reference(), _series(), solve_config=FAST, train_config=cfg, history_path=history,
        checkpoint_path=checkpoint, quiet=True)
    assert history.is_file() and checkpoint.is_file()
    (tmp_path / "taken").mkdir()
    with pytest.raises(WriteError, match=f"cannot write {tmp_path / 'taken'}"):
        fit(_reference(), _series(), solve_config=FAST, train_config=cfg,
            history_path=tmp_path / "taken", quiet=True)


def test_progress_shows_each_curriculum_stage(monkeypatch, capsys):
    from neuralsde.train import TrainConfig, fit

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    cfg = TrainConfig(iters=2, stage_iters=1, first=6, paths=2)
    fit(_reference(), _series(), solve_config=FAST, train_config=cfg)
    err = capsys.readouterr().err
    for text in ("stage 1/3: all 7 points", "stage 2/3: first 6 points",
                 "stage 3/3: first 7 points"):
        assert text in err
    fit(_reference(), _series(), solve_config=FAST,
        train_config=TrainConfig(iters=3, curriculum=False, paths=2))
    err = capsys.readouterr().err
    assert "3/3" in err and "stage" not in err  # one stage: one plain bar
