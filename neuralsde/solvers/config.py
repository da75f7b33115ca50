"""What a solve is asked to do and what it reports: :class:`SolveConfig`, :class:`SolveStats`, the
errors a solve raises, and the checks every backend makes on its inputs.

A leaf of the solver package: it imports from the rest of ``neuralsde`` only the shared
validators (:mod:`neuralsde._checks`) and the tableau names it validates against
(:mod:`neuralsde.sri`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from .._checks import check_int, check_positive, preview
from ..sri import TABLEAUS

METHODS = ("sri", "srk", "euler", "milstein")
GRADIENTS = ("backprop", "adjoint")


class SolverError(RuntimeError):
    """A solve that could not finish."""


class NonFiniteStateError(SolverError):
    """The state became NaN or infinite during a solve."""


class MaxStepsError(SolverError):
    """The adaptive solver needed more than ``max_steps`` step attempts."""


@dataclass(frozen=True)
class SolveConfig:
    """How to solve and differentiate. Immutable; every field is checked on creation.

    Args:
        method: ``"sri"`` (ours, default), ``"euler"`` (Euler–Maruyama: ours with backprop,
            torchsde's scheme with its noise drawn at once; torchsde's under the adjoint or on a
            given Brownian path), or ``"srk"``, ``"milstein"`` through torchsde.
        tableau: SRI coefficients for ``method="sri"``: ``"sosri"`` (default, stability-optimised),
            ``"sriw1"`` (Rößler's SRI1 with W1 weights; 2 drift calls per step) or ``"srid2"``
            (the scheme torchsde's ``srk`` uses, for cross-checks).
        adaptive: adaptive step size (``"sri"``, ``"srk"``, ``"milstein"``). Euler is not allowed
            adaptive steps: it may not converge to the right solution.
        dt: fixed step size (required when ``adaptive=False``; ``"sri"`` shortens steps to land
            exactly on every output time, ``"euler"`` steps from the first output time and
            interpolates linearly between its grid points), or the first step of an adaptive
            solve (default: ours picks one by a heuristic; torchsde starts from 1e-3).
        rtol, atol: relative and absolute tolerances for adaptive steps (default 0.1 each, the
            DiffEqFlux blog's setting).
        dt_min: smallest adaptive step; a step at ``dt_min`` is accepted whatever its error
            (counted in the statistics as ``forced``).
        dt_max: largest adaptive step (default: no limit).
        max_steps: most step attempts (accepted + rejected) of one adaptive ``"sri"`` solve, and
            most steps of one fixed-step SDE solve (checked before it starts).
        gradient: ``"backprop"`` (through the solver's operations, like DiffEqFlux's TrackerAdjoint)
            or ``"adjoint"`` (torchsde's stochastic adjoint, memory constant in the number of
            steps).
        checkpoint_every: ``"sri"`` with backprop only: recompute the forward pass in the backward
            pass in segments of this many steps (``torch.utils.checkpoint``), so stored activations
            do not grow with the number of steps. None (default) stores everything.

    Raises:
        ValueError: a field's value is not supported, or two fields do not go together; the
            message names the field, its value and what is accepted.
    """

    method: str = "sri"
    tableau: str = "sosri"
    adaptive: bool = True
    dt: float | None = None
    rtol: float = 0.1
    atol: float = 0.1
    dt_min: float = 1e-6
    dt_max: float | None = None
    max_steps: int = 100_000
    gradient: str = "backprop"
    checkpoint_every: int | None = None

    def __post_init__(self):
        """Check every field (see Raises)."""
        self._check_choices()
        check_positive("dt", self.dt, allow_none=True)
        check_positive("rtol", self.rtol)
        check_positive("atol", self.atol)
        check_positive("dt_min", self.dt_min)
        check_positive("dt_max", self.dt_max, allow_none=True)
        if self.dt_max is not None and self.dt_max < self.dt_min:
            raise ValueError(f"dt_max={self.dt_max!r} is smaller than dt_min={self.dt_min!r}; "
                             "expected dt_max >= dt_min.")
        check_int("max_steps", self.max_steps, 1)
        check_int("checkpoint_every", self.checkpoint_every, 1, allow_none=True)
        self._check_combinations()

    def _check_choices(self):
        """The fields that name one of a few choices."""
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r} is not supported; expected one of {METHODS}.")
        if self.tableau not in TABLEAUS:
            raise ValueError(f"tableau={self.tableau!r} is not supported; expected one of "
                             f"{tuple(TABLEAUS)}.")
        if self.gradient not in GRADIENTS:
            raise ValueError(f"gradient={self.gradient!r} is not supported; expected one of "
                             f"{GRADIENTS}.")
        if not isinstance(self.adaptive, bool):
            raise ValueError(f"adaptive={self.adaptive!r} is not supported; expected True or "
                             "False.")

    def _check_combinations(self):
        """Fields that are each valid but do not go together."""
        if not self.adaptive and self.dt is None:
            raise ValueError("dt=None is not supported with adaptive=False; expected a fixed step "
                             "size dt > 0.")
        if self.adaptive and self.method == "euler":
            raise ValueError("method='euler' with adaptive=True is not supported: Euler–Maruyama "
                             "with adaptive steps may not converge to the correct solution; "
                             "expected adaptive=False with a dt, or method 'sri'.")
        if self.checkpoint_every is not None and (self.method != "sri" or
                                                  self.gradient != "backprop"):
            raise ValueError(f"checkpoint_every={self.checkpoint_every!r} needs method='sri' and "
                             f"gradient='backprop' (got method={self.method!r}, "
                             f"gradient={self.gradient!r}); the adjoint already uses constant "
                             "memory.")

    def to_dict(self) -> dict:
        """The fields as a plain dict (for JSON and for ``SolveConfig(**d)``)."""
        return asdict(self)


@dataclass
class SolveStats:
    """What one solve did: step counts and function evaluations (forward pass only).

    For torchsde methods the step counts are not exposed by torchsde and stay None.
    """

    method: str
    accepted_steps: int | None = 0
    rejected_steps: int | None = 0
    forced_steps: int | None = 0
    f_evals: int = 0
    g_evals: int = 0

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


def resolve_config(config: SolveConfig | None) -> SolveConfig:
    """``config``, or the default :class:`SolveConfig` when None.

    Raises:
        TypeError: ``config`` is neither None nor a :class:`SolveConfig`.
    """
    config = SolveConfig() if config is None else config
    if not isinstance(config, SolveConfig):
        raise TypeError(f"config must be a SolveConfig; got {type(config).__name__}.")
    return config


def check_state_and_times(y0, ts) -> torch.Tensor:
    """The checks every solve makes on ``y0`` (batch, d) and ``ts`` (T,).

    Returns:
        ``ts`` as a float64 CPU tensor.

    Raises:
        ValueError: naming the argument, the value and what is accepted.
    """
    if not torch.is_tensor(y0):
        raise ValueError(f"y0 must be a tensor of shape (batch, d); got {type(y0).__name__}.")
    if y0.dim() != 2:
        raise ValueError(f"y0 must have shape (batch, d) (2 dimensions); got shape "
                         f"{tuple(y0.shape)}.")
    if not y0.is_floating_point():
        raise ValueError(f"y0 must be a floating-point tensor; got dtype {y0.dtype}.")
    if not bool(torch.isfinite(y0).all()):
        raise ValueError("y0 must be finite; got a state with NaN or infinite entries.")
    ts_t = torch.as_tensor(ts, dtype=torch.float64).detach().cpu()
    if ts_t.dim() != 1 or ts_t.numel() < 2:
        raise ValueError(f"ts must be a 1-D sequence of at least 2 times; got shape "
                         f"{tuple(ts_t.shape)}.")
    if not bool(torch.isfinite(ts_t).all()):
        i = int(torch.nonzero(~torch.isfinite(ts_t))[0, 0])
        raise ValueError(f"ts must be finite; got ts[{i}]={ts_t[i].item()!r} in ts="
                         f"{preview(ts_t)}.")
    if not bool((ts_t[1:] > ts_t[:-1]).all()):
        i = int(torch.nonzero(ts_t[1:] <= ts_t[:-1])[0, 0])
        raise ValueError(f"ts must be strictly increasing; got ts[{i + 1}]="
                         f"{ts_t[i + 1].item()!r} after ts[{i}]={ts_t[i].item()!r} in ts="
                         f"{preview(ts_t)}.")
    return ts_t


def check_sde_model(model) -> None:
    """An SDE model has methods ``f(t, y)`` and ``g(t, y)``.

    Raises:
        TypeError: one of them is missing.
    """
    if not (callable(getattr(model, "f", None)) and callable(getattr(model, "g", None))):
        raise TypeError(f"model must have methods f(t, y) and g(t, y); got {type(model).__name__}.")


def check_ode_model(model) -> None:
    """An ODE model has a method ``f(t, y)``.

    Raises:
        TypeError: it is missing.
    """
    if not callable(getattr(model, "f", None)):
        raise TypeError(f"model must have a method f(t, y); got {type(model).__name__}.")


def check_adjoint_model(model) -> None:
    """The adjoint differentiates with respect to ``model.parameters()``.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError("gradient='adjoint' needs the model to be a torch.nn.Module.")


def declared_width(model) -> tuple[int, str] | None:
    """The state width ``d`` that ``model`` declares without being called, and where it says so.

    A model built by :func:`neuralsde.build_model` carries ``spec["state_dim"]``; a
    :class:`neuralsde.NeuralDSDE` or :class:`neuralsde.NeuralODE` built by hand reads the state
    through its drift's first layer when that is Linear-like (``in_features``): the drift itself,
    or the first layer with parameters of an ``nn.Sequential`` drift (a seasonal model also feeds
    it the 2 features of its period). Any other model declares nothing.

    Returns:
        ``(d, description)``, or None when the model does not say.
    """
    spec = getattr(model, "spec", None)
    if isinstance(spec, dict) and isinstance(spec.get("state_dim"), int):
        return spec["state_dim"], f"its spec has state_dim={spec['state_dim']}"
    drift = getattr(model, "drift", None)
    if not isinstance(model, torch.nn.Module) or not isinstance(drift, torch.nn.Module):
        return None
    first = drift
    if isinstance(drift, torch.nn.Sequential):
        first = next((m for m in drift if next(m.parameters(), None) is not None), None)
    if not isinstance(getattr(first, "in_features", None), int):
        return None
    extra = 2 if getattr(model, "period", None) is not None else 0
    what = f"its drift's first layer {type(first).__name__}(in_features={first.in_features})"
    return first.in_features - extra, what + (" reads the state and 2 seasonal features"
                                              if extra else "")


def check_state_against_model(model, y0: torch.Tensor) -> None:
    """``y0`` against what ``model`` declares, without calling it (a call costs a solve's worth
    of setup): the state width (:func:`declared_width`), and the dtype and device of its first
    parameter when the model declares a width.

    Raises:
        ValueError: naming both shapes (or dtypes, devices) and what they mean.
    """
    declared = declared_width(model)
    if declared is None:
        return
    width, where = declared
    batch, d = y0.shape
    if d != width:
        raise ValueError(f"y0 has shape {tuple(y0.shape)}: {batch} path(s) of a {d}-dimensional "
                         f"state, but the model's state is {width}-dimensional ({where}); "
                         f"expected y0 of shape (batch, {width}).")
    first = next(model.parameters(), None)
    if first is None:
        return
    if first.dtype != y0.dtype:
        raise ValueError(f"y0 has dtype {y0.dtype} but the model's parameters are {first.dtype}; "
                         f"convert one, e.g. y0.to({first.dtype}) or model.to({y0.dtype}).")
    if first.device != y0.device:
        raise ValueError(f"y0 is on device {y0.device} but the model's parameters are on "
                         f"{first.device}; move one, e.g. y0.to({str(first.device)!r}).")


def checked_field(fn, name: str, shape):
    """``fn`` wrapped to check that it returns a tensor of ``shape`` (the state's shape), for the
    first call of a solve: an error inside ``fn`` (a RuntimeError such as "mat1 and mat2 shapes
    cannot be multiplied") is re-raised as a ValueError that names ``y0``'s shape.

    Args:
        fn: a vector field ``fn(t, y)`` of an SDE model (drift or diagonal diffusion).
        name: ``"f"`` or ``"g"``, for the message.
        shape: the shape of ``y0``.

    Returns:
        A function with the same arguments and result as ``fn``.
    """
    def call(t, y):
        try:
            out = fn(t, y)
        except SolverError:
            raise
        except RuntimeError as err:
            raise ValueError(f"{name}(t, y) failed on y0 of shape {tuple(shape)} (batch, d) and "
                             f"dtype {y.dtype}: {err}. Does the model take a state of d="
                             f"{shape[-1]} components, of this dtype and device?") from err
        if not torch.is_tensor(out) or tuple(out.shape) != tuple(shape):
            got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
            raise ValueError(f"{name}(t, y) must return shape (batch, d) = {tuple(shape)}, the "
                             f"shape of y0 (diagonal noise: one diffusion per state component); "
                             f"got {got}.")
        return out
    return call


def check_outputs_finite(ys: torch.Tensor, ts_list: list) -> None:
    """Check the saved states ``ys`` (T, batch, d) of a solve at times ``ts_list``.

    Raises:
        NonFiniteStateError: some state is NaN or infinite; the message gives the first output
            time where one is, and the output time before it.
    """
    if not bool(torch.isfinite(ys).all()):
        bad = int((~torch.isfinite(ys)).flatten(1).any(1).nonzero()[0])
        raise NonFiniteStateError(f"the state became non-finite by t={ts_list[bad]:g} "
                                  f"(between t={ts_list[bad - 1]:g} and t={ts_list[bad]:g}).")
