"""torchsde's solvers (``"srk"``, ``"euler"``, ``"milstein"``, and every method under the
stochastic adjoint), for comparison with ours. The only module that calls ``torchsde.sdeint``.
"""

from __future__ import annotations

import warnings

import torch
import torchsde

from .config import (
    NonFiniteStateError,
    SolveStats,
    check_adjoint_model,
    check_outputs_finite,
    checked_field,
)

# Backward-pass method used by torchsde's adjoint for each forward method. SRK cannot solve
# adjoint SDEs (they only expose diffusion-vector products), so torchsde falls back to Milstein.
_ADJOINT_METHOD = {"sri": "milstein", "srk": "milstein", "euler": "euler", "milstein": "milstein"}
_TORCHSDE_FORWARD = {"sri": "srk", "srk": "srk", "euler": "euler", "milstein": "milstein"}
_TORCHSDE_DT0 = 1e-3  # torchsde's own default initial step for adaptive solves

#: Keys of the warnings already given in this process (each is given once).
_WARNED: set = set()


def _warn_once(key: str, message: str) -> None:
    """Warn with ``message`` unless a warning with ``key`` was already given."""
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, stacklevel=3)


class _Counting(torch.nn.Module):
    """Counts drift and diffusion calls of a wrapped model (torchsde's contract)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.noise_type = getattr(model, "noise_type", "diagonal")
        self.sde_type = getattr(model, "sde_type", "ito")
        self.n_f = 0
        self.n_g = 0

    def f(self, t, y):
        """The model's drift, counted; the first call explains an error (:func:`checked_field`)."""
        self.n_f += 1
        return (checked_field(self.model.f, "f", y.shape) if self.n_f == 1 else self.model.f)(t, y)

    def g(self, t, y):
        """The model's diffusion, counted; the first call explains an error."""
        self.n_g += 1
        return (checked_field(self.model.g, "g", y.shape) if self.n_g == 1 else self.model.g)(t, y)


def solve_torchsde(model, y0: torch.Tensor, ts_list: list, config, bm):
    """Solve with ``torchsde.sdeint`` (backprop) or ``torchsde.sdeint_adjoint`` (adjoint).

    ``"sri"`` runs as torchsde's ``"srk"`` (its SRID2 tableau); under the adjoint, the backward
    adjoint SDE is solved with ``"milstein"`` for the SRK methods (they cannot solve adjoint
    SDEs), which is said once per process in a warning.

    Args:
        model: with ``f(t, y)`` and ``g(t, y)``; an ``nn.Module`` under the adjoint.
        y0: initial state (batch, d).
        ts_list: output times, checked, as floats.
        config: the :class:`neuralsde.SolveConfig`.
        bm: the Brownian path over ``[ts_list[0], ts_list[-1]]``.

    Returns:
        ``(ys, stats)``: the states at ``ts_list`` (T, batch, d) and a
        :class:`neuralsde.SolveStats` with the calls counted and the step counts None.

    Raises:
        TypeError: the adjoint with a model that is not an ``nn.Module``.
        NonFiniteStateError: a saved state is NaN or infinite, or torchsde's adaptive error
            estimate is NaN.
    """
    forward = _TORCHSDE_FORWARD[config.method]
    counting = _Counting(model)
    ts_t = torch.tensor(ts_list, dtype=y0.dtype, device=y0.device)
    dt = config.dt if config.dt is not None else _TORCHSDE_DT0
    kwargs = dict(bm=bm, method=forward, dt=dt, adaptive=config.adaptive, rtol=config.rtol,
                  atol=config.atol, dt_min=config.dt_min)
    if config.gradient == "adjoint":
        backward = _ADJOINT_METHOD[config.method]
        if config.method in ("sri", "srk"):
            _warn_once(f"adjoint-{config.method}",
                       f"gradient='adjoint' with method={config.method!r}: the forward pass runs "
                       f"torchsde's '{forward}' (SRID2 tableau) and the backward adjoint SDE is "
                       f"solved with torchsde's '{backward}', because stochastic Runge–Kutta "
                       "methods cannot solve adjoint SDEs.")
        check_adjoint_model(model)
    with warnings.catch_warnings():
        # torchsde's fixed steps add dt in the state's dtype and may overshoot the last time by
        # a rounding error (float32: ~1e-7 of it), which its Brownian path warns about each time
        warnings.filterwarnings("ignore", message="Should have tb<=t1")
        try:
            if config.gradient == "adjoint":
                ys = torchsde.sdeint_adjoint(counting, y0, ts_t, adjoint_method=backward,
                                             adjoint_params=tuple(model.parameters()), **kwargs)
            else:
                ys = torchsde.sdeint(counting, y0, ts_t, **kwargs)
        except AssertionError as err:  # torchsde asserts on a NaN error estimate
            if "nan" not in str(err).lower():
                raise
            raise NonFiniteStateError(f"the state became non-finite (torchsde {forward}: {err})"
                                      ) from None
    stats = SolveStats(method=f"torchsde-{forward}", accepted_steps=None, rejected_steps=None,
                       forced_steps=None, f_evals=counting.n_f, g_evals=counting.n_g)
    check_outputs_finite(ys, ts_list)
    return ys, stats
