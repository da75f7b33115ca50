"""The solver layer: one public :func:`solve` for every method, driven by a :class:`SolveConfig`.

``neuralsde.solve`` (also ``neuralsde.solvers.solve``) is the function; this package holds it
and its parts.

Modules, leaves first: :mod:`.config` (configuration, statistics, errors, input checks),
:mod:`.grid` (the fixed-step landing grid), :mod:`.brownian` (seeds and noise),
:mod:`.controller` (adaptive step sizes), :mod:`.sri_fixed` and :mod:`.sri_adaptive` (our SRI),
:mod:`.torchsde_backend` and :mod:`.torchdiffeq_backend` (the libraries' solvers), and
:mod:`.api` (:func:`solve` and its table of backends).
"""

from __future__ import annotations

from .api import BACKENDS, solve
from .brownian import brownian_interval, seed_to_entropy
from .config import (
    GRADIENTS,
    METHODS,
    MaxStepsError,
    NonFiniteStateError,
    SolveConfig,
    SolverError,
    SolveStats,
    check_state_and_times,
)
from .torchdiffeq_backend import solve_ode
from .torchsde_backend import _WARNED as _WARNED  # the warn-once memory, which tests reset

__all__ = ["BACKENDS", "GRADIENTS", "METHODS", "MaxStepsError", "NonFiniteStateError",
           "SolveConfig", "SolveStats", "SolverError", "brownian_interval",
           "check_state_and_times", "seed_to_entropy", "solve", "solve_ode"]
