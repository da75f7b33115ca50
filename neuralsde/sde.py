"""The neural SDE model: drift and diffusion networks with diagonal Itô noise."""

from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import check_positive, is_int


class NeuralDSDE(nn.Module):
    """``dy = f(y) dt + g(y) dW`` with diagonal noise, ``f`` and ``g`` neural networks.

    The module only defines the vector fields; how to solve and differentiate is chosen per call
    of :func:`neuralsde.solvers` through a :class:`neuralsde.SolveConfig`, so one model runs under
    backprop and under the adjoint alike. It follows torchsde's contract (``noise_type``,
    ``sde_type``, ``f(t, y)``, ``g(t, y)``), so ``torchsde.sdeint(model, ...)`` works directly.

    Diagonal noise means ``g(t, y)`` has the shape of ``y`` and multiplies the Brownian increment
    element-wise: component ``i`` is driven by its own Wiener process ``W_i``. The networks may
    still mix components (the reference diffusion net does); then the noise is not commutative
    and no scheme reaches strong order 1.5 on it (SRI methods give order 1 at best).

    Args:
        drift: module mapping ``(batch, d)`` to ``(batch, d)`` (``(batch, d + 2)`` with a period).
        diffusion: module mapping ``(batch, d)`` to ``(batch, d)`` (likewise).
        period: when given, drift and diffusion also see ``sin(2πt/period)`` and
            ``cos(2πt/period)`` (a seasonal model); None (default) keeps the model autonomous.
        encoder: for a state with latent channels: a module mapping the previous ``lags``
            observations (values, with 0 where missing, then their 0/1 mask, flattened to
            ``(batch, 2 * lags * observed)``) to the latent part of the state
            ``(batch, d - observed)``; see :meth:`latent_start`.
        lags: how many previous observations the encoder reads.
    """

    noise_type = "diagonal"
    sde_type = "ito"

    def __init__(self, drift: nn.Module, diffusion: nn.Module, *, period: float | None = None,
                 encoder: nn.Module | None = None, lags: int = 0):
        super().__init__()
        check_positive("period", period, allow_none=True)
        self.drift = drift
        self.diffusion = diffusion
        self.period = None if period is None else float(period)
        self.encoder = encoder
        self.lags = lags

    def _inputs(self, t, y):
        if self.period is None:
            return y
        phase = torch.as_tensor(t, dtype=y.dtype, device=y.device) * (2 * math.pi / self.period)
        phase = phase.expand(y.shape[0], 1) if phase.dim() < 2 else phase  # (batch, 1)
        return torch.cat([y, torch.sin(phase), torch.cos(phase)], dim=-1)

    def f(self, t, y):
        """Drift at time ``t`` (used only with a period) and state ``y`` of shape (batch, d);
        ``t`` is a number or a (batch, 1) tensor of per-path times."""
        return self.drift(self._inputs(t, y))

    def g(self, t, y):
        """Diagonal diffusion at time ``t`` and state ``y``: shape (batch, d)."""
        return self.diffusion(self._inputs(t, y))

    def stacked_fields(self, times, t0=None):
        """A function ``(k, y) -> (f(times[k], y), g(times[k], y))`` (at ``t0 + times[k]``
        with a start time ``t0`` (batch, 1) per path) that runs both networks as one, their
        layers stacked (:mod:`neuralsde.fused`), with the current weights; None where the nets
        are not plain MLPs of equal depth, or a subclass defines its own ``f``, ``g`` or
        ``_inputs``. A fixed-step solve builds it once for its step times."""
        own = type(self)
        if (own.f, own.g, own._inputs) != (NeuralDSDE.f, NeuralDSDE.g, NeuralDSDE._inputs):
            return None
        from .fused import stacked_fields

        return stacked_fields(self, times, t0)

    def latent_start(self, lag_values: torch.Tensor, lag_mask: torch.Tensor) -> torch.Tensor:
        """The latent part of a start state from the previous observations.

        Args:
            lag_values: (batch, lags, observed) the last ``lags`` observations before (and
                including) the start, oldest first; anything where missing.
            lag_mask: (batch, lags, observed) True where observed.

        Returns:
            (batch, d - observed) latent channels.
        """
        if self.encoder is None:
            raise ValueError("this model has no encoder (its state has no latent channels).")
        values = torch.where(lag_mask, lag_values, torch.zeros_like(lag_values))
        x = torch.cat([values.flatten(1), lag_mask.to(values.dtype).flatten(1)], dim=-1)
        return self.encoder(x)


MODEL_KINDS = ("reference", "mlp", "ode")


def build_model(spec: dict) -> nn.Module:
    """Build a :class:`NeuralDSDE` (or a :class:`neuralsde.NeuralODE`) from a plain dict, so a
    saved model can be rebuilt.

    Keys: ``kind`` (``"reference"``: the blog's cubic-feature drift and sigmoid "Wiener net";
    ``"mlp"``: general MLPs; ``"ode"``: a neural ODE ``dy/dt = f(y)`` with an MLP ``f``),
    ``state_dim`` (default 3), ``hidden`` (20), and for ``"mlp"``
    ``layers`` (1), ``drift_activation`` ("tanh"), ``cubic`` (False), ``diffusion_activation``
    ("sigmoid"), ``diffusion_final`` (None, or e.g. "softplus" for a positive diffusion),
    ``period`` (None: autonomous; a number: seasonal features of that period, in model time
    units), ``observed`` (None: every channel observed; else the number of observed channels,
    the first ones), ``lags`` (0; with latent channels, the encoder reads this many previous
    observations) and ``drift_linear`` (False; True: a linear path beside the drift net,
    :class:`neuralsde.nets.LinearSkip`); for
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
                    diffusion_activation="sigmoid", diffusion_final=None, period=None,
                    observed=None, lags=0, drift_linear=False)
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
        model = _mlp_model(full)
    model.spec = full
    return model


def _mlp_model(full: dict) -> NeuralDSDE:
    """The ``"mlp"`` kind: general MLPs, optionally seasonal, with an encoder for latent
    channels."""
    from .nets import LinearSkip, mlp

    d, h = full["state_dim"], full["hidden"]
    observed = d if full["observed"] is None else full["observed"]
    if not is_int(observed) or not 1 <= observed <= d:
        raise ValueError(f"spec['observed']={observed!r} is not supported; expected an integer "
                         f"in [1, state_dim={d}].")
    lags = full["lags"]
    if not is_int(lags) or lags < 0 or (observed < d and lags < 1):
        raise ValueError(f"spec['lags']={lags!r} is not supported; expected an integer >= "
                         f"{1 if observed < d else 0} (latent channels need an encoder that "
                         "reads at least one observation).")
    width = d + (2 if full["period"] is not None else 0)
    drift = mlp(width, d, hidden=h, layers=full["layers"], activation=full["drift_activation"],
                cubic=full["cubic"])
    if not isinstance(full["drift_linear"], bool):
        raise ValueError(f"spec['drift_linear']={full['drift_linear']!r} is not supported; "
                         "expected True or False.")
    if full["drift_linear"]:
        drift = LinearSkip(drift, width, d)
    diffusion = mlp(width, d, hidden=h, layers=full["layers"],
                    activation=full["diffusion_activation"],
                    final_activation=full["diffusion_final"])
    encoder = None
    if observed < d:
        encoder = mlp(2 * lags * observed, d - observed, hidden=h, layers=1, activation="tanh")
    return NeuralDSDE(drift, diffusion, period=full["period"], encoder=encoder,
                      lags=lags if observed < d else 0)
