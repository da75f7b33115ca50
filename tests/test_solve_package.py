"""The solver package's structure: ``neuralsde.solve`` the function and ``neuralsde.solvers`` the
package (no module made callable), the table of backends,
the shared landing grid, the layering of its modules, and torchdiffeq failures detected by our own
checks rather than by reading torchdiffeq's assertion messages."""

import ast
import importlib
import math
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
from problems import tiny_model
from torch import nn

import neuralsde
from neuralsde import NeuralODE, NonFiniteStateError, SolveConfig, SolverError
from neuralsde.solvers import api
from neuralsde.solvers.grid import fixed_steps, landing_grid, step_count
from neuralsde.solvers.torchdiffeq_backend import _CountedAdaptive

SOLVE_DIR = Path(neuralsde.__file__).parent / "solvers"
CONFIG = SolveConfig(adaptive=False, dt=0.1)
TS = [0.0, 0.25, 0.6]

# ------------------------------------------------------------------------------------------
# the name ``solve``: a package that can be called


def _args():
    return tiny_model(), torch.full((3, 2), 0.2), TS


def test_the_function_and_the_package_have_their_own_names():
    model, y0, ts = _args()
    import neuralsde.solvers as m
    from neuralsde import solve as from_package
    from neuralsde.solvers import solve as function

    assert isinstance(function, types.FunctionType) and from_package is function
    assert neuralsde.solve is function and m.solve is function
    assert not callable(m)  # the package is a plain module
    expected = function(model, y0, ts, CONFIG, seed=1)
    ys, stats = neuralsde.solve(model, y0, ts, CONFIG, seed=1, return_stats=True)
    assert torch.equal(ys, expected) and stats.accepted_steps == 3 + 4


def test_import_neuralsde_solve_gives_the_package():
    import neuralsde.solvers as m

    assert isinstance(m, types.ModuleType) and m.__name__ == "neuralsde.solvers"
    assert m is neuralsde.solvers is importlib.import_module("neuralsde.solvers")
    assert m.__path__  # a package, with its modules as attributes
    assert m.SolveConfig is neuralsde.SolveConfig and m.api is api
    assert m.solve is api.solve


def test_solve_ode_is_one_function_under_its_old_name():
    from neuralsde.ode import solve_ode
    from neuralsde.solvers.torchdiffeq_backend import solve_ode as backend

    assert solve_ode is backend is neuralsde.solvers.solve_ode


# ------------------------------------------------------------------------------------------
# dispatch


class _Ode:
    is_ode = True

    def f(self, t, y):
        return -y


@pytest.mark.parametrize("model, config, key", [
    (_Ode(), SolveConfig(method="euler", adaptive=False, dt=0.1), "ode"),
    (tiny_model(), SolveConfig(), "sri-adaptive"),
    (tiny_model(), SolveConfig(adaptive=False, dt=0.1), "sri-fixed"),
    (tiny_model(), SolveConfig(method="srk"), "torchsde"),
    (tiny_model(), SolveConfig(gradient="adjoint"), "torchsde"),
    (tiny_model(), SolveConfig(method="euler", adaptive=False, dt=0.1), "euler-fixed"),
    (tiny_model(), SolveConfig(method="euler", adaptive=False, dt=0.1, gradient="adjoint"),
     "torchsde"),
])
def test_backend_key(model, config, key):
    assert api.backend_key(model, config) == key
    assert set(api.BACKENDS) == {"ode", "torchsde", "sri-adaptive", "sri-fixed", "euler-fixed"}


def test_solve_dispatches_through_the_table(monkeypatch):
    calls = []

    def fake(model, y0, ts, config, *, seed, bm, shard):
        calls.append((model, y0, ts, config, seed, bm, shard))
        return "ys", "stats"

    monkeypatch.setitem(api.BACKENDS, "sri-fixed", fake)
    model, y0, ts = _args()
    assert neuralsde.solve(model, y0, ts, CONFIG, seed=5, return_stats=True) == ("ys", "stats")
    assert calls == [(model, y0, ts, CONFIG, 5, None, None)]


def test_config_must_be_a_solve_config():
    model, y0, ts = _args()
    with pytest.raises(TypeError, match="config must be a SolveConfig; got dict"):
        neuralsde.solve(model, y0, ts, {"dt": 0.1})


# ------------------------------------------------------------------------------------------
# one landing grid for the fixed-step SRI and rk4


@pytest.mark.parametrize("dt", [0.1, 0.07, 0.25, 1.0])
def test_sri_steps_and_rk4_grid_share_the_step_counts_and_land_on_every_time(dt):
    ts = [0.0, 0.37, 1.13, 2.0, 2.71, 2.72]
    steps = fixed_steps(ts, dt)
    grid = landing_grid(dt)(None, None, torch.tensor(ts, dtype=torch.float64))
    assert len(steps) == len(grid) - 1
    counts = [step_count(b - a, dt) for a, b in zip(ts[:-1], ts[1:])]
    assert sum(counts) == len(steps)
    assert all(h <= dt * (1 + 1e-12) for _, h, _ in steps)
    # each interval's first point is its start exactly, and the steps that land end intervals
    starts = [0, *torch.tensor(counts).cumsum(0).tolist()]
    assert grid[starts].tolist() == ts
    assert [steps[i][0] for i in starts[:-1]] == ts[:-1]
    assert [i for i, s in enumerate(steps) if s[2]] == [i - 1 for i in starts[1:]]


def test_step_count_rule():
    assert step_count(1.0, 0.1) == 10  # 1.0 / 0.1 rounds to just above 10: no tiny 11th step
    assert step_count(1.0, 0.3) == 4
    assert step_count(-1.0, 0.3) == 4  # the adjoint's backward pass
    assert step_count(0.01, 0.3) == 1


def test_landing_grid_runs_backwards_too():
    t = torch.tensor([1.0, 0.55, 0.0], dtype=torch.float64)
    grid = landing_grid(0.2)(None, None, t)
    assert grid[0] == 1.0 and grid[-1] == 0.0 and 0.55 in grid.tolist()
    assert bool((grid[1:] < grid[:-1]).all()) and len(grid) == 3 + 3 + 1


# ------------------------------------------------------------------------------------------
# layering: no cycles, one place per library


def _package_imports(path):
    """The modules that ``path`` (a module of the package neuralsde.solvers) imports, as absolute
    dotted names; ``from . import x`` counts as importing ``neuralsde.solvers.x``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            base = ["neuralsde", "solvers"][:3 - node.level]  # level 1: this package
            if node.module:
                found.add(".".join([*base, node.module]))
            else:
                found.update(".".join([*base, alias.name]) for alias in node.names)
    return found


def test_nothing_in_the_solve_package_imports_the_model_modules():
    for path in SOLVE_DIR.glob("*.py"):
        imports = _package_imports(path)
        assert not imports & {"neuralsde.ode", "neuralsde.sde"}, path.name
        assert "neuralsde" not in imports, path.name


def test_config_is_a_leaf():
    internal = {m for m in _package_imports(SOLVE_DIR / "config.py") if m.startswith("neuralsde")}
    assert internal == {"neuralsde._checks", "neuralsde.sri"}


def test_where_the_libraries_are_imported():
    """torchdiffeq by its backend alone; torchsde by its backend and by the Brownian path."""
    users = {lib: sorted(p.name for p in SOLVE_DIR.glob("*.py") if lib in _package_imports(p))
             for lib in ("torchdiffeq", "torchsde")}
    assert users == {"torchdiffeq": ["torchdiffeq_backend.py"],
                     "torchsde": ["brownian.py", "torchsde_backend.py"]}


@pytest.mark.slow
def test_importing_neuralsde_does_not_import_torchdiffeq():
    code = "import sys, neuralsde; print('torchdiffeq' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(neuralsde.__file__).parents[1], check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------------------------
# torchdiffeq failures, detected by our checks


class _Stiff:
    """``dy/dt = -1e9 y``: dopri5 needs steps of ~3e-9, below the resolution of t near 1e9."""

    is_ode = True

    def f(self, t, y):
        return -1e9 * y


class _Square(nn.Module):
    def forward(self, y):
        return y * y


def test_dopri5_non_finite_state_is_our_error_with_the_time():
    # dy/dt = y^2 from y0 = 1 reaches infinity at t = 1
    with pytest.raises(NonFiniteStateError,
                       match=r"^the state became non-finite by t=1\.0\d* \(torchdiffeq dopri5\)\.$"
                       ) as info:
        neuralsde.solve(NeuralODE(_Square()), torch.ones(1, 1), [0.0, 2.0])
    # raised by our check, not translated from one of torchdiffeq's assertions
    assert info.value.__context__ is None


def test_dopri5_step_underflow_is_a_solver_error():
    with pytest.raises(SolverError) as info:
        neuralsde.solve(_Stiff(), torch.ones(1, 1, dtype=torch.float64), [1e9, 1e9 + 1],
                        SolveConfig(dt_min=1e-12))
    assert type(info.value) is SolverError and info.value.__context__ is None
    assert str(info.value) == ("the step size underflowed at t=1e+09 (torchdiffeq dopri5: "
                               "underflow in dt 1e-09); loosen rtol/atol or raise dt_min.")


def _counted():
    return _CountedAdaptive(_Ode(), (1, 1), max_steps=10, dt_min=1e-6)


def test_step_callback_checks_the_state_and_the_step():
    t0 = torch.tensor(1e9, dtype=torch.float64)
    y = torch.ones(1, 1, dtype=torch.float64)
    counted = _counted()
    counted.callback_step(t0, y, torch.tensor(1e-3, dtype=torch.float64))  # advances: fine
    with pytest.raises(NonFiniteStateError, match=r"by t=1e\+09 \(torchdiffeq dopri5\)"):
        counted.callback_step(t0, y * math.inf, torch.tensor(1e-3, dtype=torch.float64))
    with pytest.raises(NonFiniteStateError):  # a NaN step size comes from a NaN error estimate
        counted.callback_step(t0, y, torch.tensor(math.nan, dtype=torch.float64))
    with pytest.raises(SolverError, match=r"underflow in dt 1e-09\)") as info:
        counted.callback_step(t0, y, torch.tensor(1e-9, dtype=torch.float64))
    assert type(info.value) is SolverError
    assert counted.attempts == 4


# ------------------------------------------------------------------------------------------
# the shared validators keep the messages


@pytest.mark.parametrize("kwargs, message", [
    (dict(max_steps=0), "max_steps=0 is not supported; expected an integer >= 1."),
    (dict(max_steps=True), "max_steps=True is not supported; expected an integer >= 1."),
    (dict(checkpoint_every=0),
     "checkpoint_every=0 is not supported; expected None or an integer >= 1."),
    (dict(dt_max=math.inf), "dt_max=inf is not supported; expected a finite number > 0 or None."),
    (dict(dt_min=-1.0), "dt_min=-1.0 is not supported; expected a finite number > 0."),
])
def test_config_messages(kwargs, message):
    with pytest.raises(ValueError) as info:
        SolveConfig(**kwargs)
    assert str(info.value) == message


def test_seed_message():
    model, y0, ts = _args()
    with pytest.raises(ValueError) as info:
        neuralsde.solve(model, y0, ts, CONFIG, seed=-1)
    assert str(info.value) == "seed=-1 is not supported; expected None or an integer >= 0."
