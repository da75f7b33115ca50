"""neuralsde: fit neural stochastic differential equations to time series."""

from importlib.metadata import PackageNotFoundError, version

# ``solve`` is the package neuralsde.solve, not the function: calling the package solves (see
# neuralsde/solve/__init__.py), so ``from neuralsde import solve; solve(model, y0, ts)`` works and
# ``import neuralsde.solve as m`` still gives the package.
from . import solve
from .nets import CubicFeatures, mlp, reference_diffusion, reference_drift
from .ode import NeuralODE
from .sde import NeuralDSDE, build_model
from .solve import (
    MaxStepsError,
    NonFiniteStateError,
    SolveConfig,
    SolverError,
    SolveStats,
    brownian_interval,
)

try:
    __version__ = version("neuralsde")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = [
    "CubicFeatures", "MaxStepsError", "NeuralDSDE", "NeuralODE", "NonFiniteStateError",
    "SolveConfig", "SolveStats", "SolverError", "brownian_interval", "mlp", "reference_diffusion",
    "reference_drift", "solve", "build_model",
]
