"""The neural SDE model: drift and diffusion networks with diagonal Itô noise."""

from __future__ import annotations

from torch import nn


class NeuralDSDE(nn.Module):
    """``dy = f(y) dt + g(y) dW`` with diagonal noise, ``f`` and ``g`` neural networks.

    The module only defines the vector fields; how to solve and differentiate is chosen per call
    of :func:`neuralsde.solve` through a :class:`neuralsde.SolveConfig`, so one model runs under
    backprop and under the adjoint alike. It follows torchsde's contract (``noise_type``,
    ``sde_type``, ``f(t, y)``, ``g(t, y)``), so ``torchsde.sdeint(model, ...)`` works directly.

    Diagonal noise means ``g(t, y)`` has the shape of ``y`` and multiplies the Brownian increment
    element-wise: component ``i`` is driven by its own Wiener process ``W_i``. The networks may
    still mix components (the reference diffusion net does); then the noise is not commutative
    and no scheme reaches strong order 1.5 on it (SRI methods give order 1 at best).

    Args:
        drift: module mapping ``(batch, d)`` to ``(batch, d)``.
        diffusion: module mapping ``(batch, d)`` to ``(batch, d)``.
    """

    noise_type = "diagonal"
    sde_type = "ito"

    def __init__(self, drift: nn.Module, diffusion: nn.Module):
        super().__init__()
        self.drift = drift
        self.diffusion = diffusion

    def f(self, t, y):
        """Drift at time ``t`` (unused: autonomous) and state ``y`` of shape (batch, d)."""
        return self.drift(y)

    def g(self, t, y):
        """Diagonal diffusion at state ``y``: shape (batch, d)."""
        return self.diffusion(y)
