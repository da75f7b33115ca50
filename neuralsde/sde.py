"""The neural SDE model: drift and diffusion networks with diagonal Itô noise."""

from __future__ import annotations

from torch import nn

from ._checks import is_int


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


MODEL_KINDS = ("reference", "mlp", "ode")


def build_model(spec: dict) -> nn.Module:
    """Build a :class:`NeuralDSDE` (or a :class:`neuralsde.NeuralODE`) from a plain dict, so a
    saved model can be rebuilt.

    Keys: ``kind`` (``"reference"``: the blog's cubic-feature drift and sigmoid "Wiener net";
    ``"mlp"``: general MLPs; ``"ode"``: a neural ODE ``dy/dt = f(y)`` with an MLP ``f``),
    ``state_dim`` (default 3), ``hidden`` (20), and for ``"mlp"``
    ``layers`` (1), ``drift_activation`` ("tanh"), ``cubic`` (False), ``diffusion_activation``
    ("sigmoid"), ``diffusion_final`` (None, or e.g. "softplus" for a positive diffusion); for
    ``"ode"`` ``layers`` (1), ``activation`` ("tanh"), ``cubic`` (False).
    The returned model carries the completed spec as ``model.spec``.
    """
    from .nets import mlp, reference_diffusion, reference_drift
    from .ode import NeuralODE

    if not isinstance(spec, dict):
        raise ValueError(f"spec={spec!r} is not supported; expected a dict with a 'kind' key.")
    kind = spec.get("kind", "reference")
    if kind not in MODEL_KINDS:
        raise ValueError(f"spec['kind']={kind!r} is not supported; expected one of {MODEL_KINDS}.")
    full = {"kind": kind, "state_dim": 3, "hidden": 20}
    if kind == "mlp":
        full.update(layers=1, drift_activation="tanh", cubic=False,
                    diffusion_activation="sigmoid", diffusion_final=None)
    elif kind == "ode":
        full.update(layers=1, activation="tanh", cubic=False)
    unknown = set(spec) - set(full)
    if unknown:
        raise ValueError(f"spec has unknown keys {sorted(unknown)}; a {kind!r} model accepts "
                         f"{sorted(full)}.")
    full.update(spec)
    d, h = full["state_dim"], full["hidden"]
    for name in ("state_dim", "hidden"):
        value = full[name]
        if not is_int(value) or value < 1:
            raise ValueError(f"spec[{name!r}]={value!r} is not supported; expected an integer "
                             ">= 1.")
    if kind == "reference":
        model = NeuralDSDE(reference_drift(d, h), reference_diffusion(d, h))
    elif kind == "ode":
        model = NeuralODE(mlp(d, d, hidden=h, layers=full["layers"], activation=full["activation"],
                              cubic=full["cubic"]))
    else:
        drift = mlp(d, d, hidden=h, layers=full["layers"], activation=full["drift_activation"],
                    cubic=full["cubic"])
        diffusion = mlp(d, d, hidden=h, layers=full["layers"],
                        activation=full["diffusion_activation"],
                        final_activation=full["diffusion_final"])
        model = NeuralDSDE(drift, diffusion)
    model.spec = full
    return model
