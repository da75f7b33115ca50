"""The solver layer: one public :func:`solve` for every method, driven by a :class:`SolveConfig`.

``neuralsde.solve`` is this package, and calling it calls :func:`solve`: ``neuralsde.solve(model,
y0, ts)``, ``from neuralsde import solve`` and ``from neuralsde.solve import solve`` all solve,
while ``import neuralsde.solve as m`` still gives the package and its names.
"""

from __future__ import annotations

import sys
import types

from .api import _WARNED as _WARNED  # the warn-once memory, which tests reset
from .api import (
    GRADIENTS,
    METHODS,
    MaxStepsError,
    NonFiniteStateError,
    SolveConfig,
    SolverError,
    SolveStats,
    brownian_interval,
    check_state_and_times,
    seed_to_entropy,
    solve,
)

__all__ = ["GRADIENTS", "METHODS", "MaxStepsError", "NonFiniteStateError", "SolveConfig",
           "SolveStats", "SolverError", "brownian_interval", "check_state_and_times",
           "seed_to_entropy", "solve"]


class _CallableModule(types.ModuleType):
    """This package's module type: calling the module calls :func:`solve`."""

    def __call__(self, *args, **kwargs):
        """Same as :func:`neuralsde.solve.solve`."""
        return solve(*args, **kwargs)


# Module objects may change their class to a ModuleType subclass (Python >= 3.5).
sys.modules[__name__].__class__ = _CallableModule
