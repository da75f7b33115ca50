"""The neural ODE counterpart of :class:`neuralsde.NeuralDSDE`: ``dy/dt = f(y)``, solved with
torchdiffeq.

A :class:`NeuralODE` goes wherever a neural SDE goes: :func:`neuralsde.solvers` sees its
``is_ode = True`` and hands it to :func:`solve_ode`, so :func:`neuralsde.train.fit`,
:func:`neuralsde.train.sample` and the model files (``build_model({"kind": "ode", ...})``) work
unchanged. The solver itself lives in :mod:`neuralsde.solvers.torchdiffeq_backend`; it is
re-exported here, so ``from neuralsde.ode import solve_ode`` works.
"""

from __future__ import annotations

from torch import nn

from .solvers.torchdiffeq_backend import ADAPTIVE_METHOD, FIXED_METHOD, solve_ode

__all__ = ["ADAPTIVE_METHOD", "FIXED_METHOD", "NeuralODE", "solve_ode"]


class NeuralODE(nn.Module):
    """``dy/dt = f(y)``, ``f`` a neural network: a neural SDE without the diffusion.

    Like :class:`neuralsde.NeuralDSDE` the module only defines the vector field; how to solve and
    differentiate is chosen per call of :func:`neuralsde.solvers` through a
    :class:`neuralsde.SolveConfig`. ``forward(t, y)`` is ``f(t, y)``, so the module is also a
    torchdiffeq ``func``: ``torchdiffeq.odeint(model, y0, ts)`` works directly.

    Args:
        drift: module mapping ``(batch, d)`` to ``(batch, d)``.
    """

    is_ode = True

    def __init__(self, drift: nn.Module):
        super().__init__()
        self.drift = drift

    def f(self, t, y):
        """Vector field at time ``t`` (unused: autonomous) and state ``y`` of shape (batch, d)."""
        return self.drift(y)

    def forward(self, t, y):
        """Same as :meth:`f` (torchdiffeq's ``func(t, y)`` contract)."""
        return self.f(t, y)
