"""The neural ODE counterpart of :class:`neuralsde.NeuralDSDE`: ``dy/dt = f(y)``, solved with
torchdiffeq.

A :class:`NeuralODE` goes wherever a neural SDE goes: :func:`neuralsde.solve` sees its
``is_ode = True`` and hands it to :func:`solve_ode`, so :func:`neuralsde.train.fit`,
:func:`neuralsde.train.sample` and the model files (``build_model({"kind": "ode", ...})``) work
unchanged. This is the only module that imports torchdiffeq (lazily, inside :func:`solve_ode`, so
SDE-only code does not pay for the import).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .solve import (
    MaxStepsError,
    NonFiniteStateError,
    SolveConfig,
    SolverError,
    SolveStats,
    check_state_and_times,
)

ADAPTIVE_METHOD = "dopri5"
FIXED_METHOD = "rk4"


class NeuralODE(nn.Module):
    """``dy/dt = f(y)``, ``f`` a neural network: a neural SDE without the diffusion.

    Like :class:`neuralsde.NeuralDSDE` the module only defines the vector field; how to solve and
    differentiate is chosen per call of :func:`neuralsde.solve` through a
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


def _float(x) -> float:
    return float(x.detach()) if torch.is_tensor(x) else float(x)


class _Counted(nn.Module):
    """The torchdiffeq ``func``: calls ``model.f``, counts calls and steps (torchdiffeq's
    ``callback_step``), checks the first output's shape and enforces ``max_steps`` (when given)
    on the whole solve."""

    def __init__(self, model, shape, max_steps: int | None = None):
        super().__init__()
        self.model = model
        self.shape = tuple(shape)
        self.max_steps = max_steps
        self.n_f = 0
        self.attempts = 0
        self.t_last = math.nan

    def forward(self, t, y):
        out = self.model.f(t, y)
        if self.n_f == 0 and (not torch.is_tensor(out) or tuple(out.shape) != self.shape):
            got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
            raise ValueError(f"f(t, y) must return shape (batch, d) = {self.shape}, the shape of "
                             f"y0; got {got}.")
        self.n_f += 1
        return out

    def callback_step(self, t0, y0, dt):
        self.attempts += 1
        self.t_last = _float(t0)
        if self.max_steps is not None and self.attempts > self.max_steps:
            raise MaxStepsError(
                f"the adaptive solver took more than max_steps={self.max_steps} step attempts "
                f"and stopped at t={self.t_last:g} (last step size {_float(dt):.3g}); raise "
                "max_steps or loosen rtol/atol.")


class _CountedAdaptive(_Counted):
    """:class:`_Counted` that also sorts the attempts of an adaptive solver into accepted,
    rejected and forced (accepted at ``dt_min`` without an error check)."""

    def __init__(self, model, shape, max_steps: int, dt_min: float):
        super().__init__(model, shape, max_steps)
        self.dt_min = dt_min
        self.accepted = 0
        self.rejected = 0
        self.forced = 0

    def callback_accept_step(self, t0, y0, dt):
        self.accepted += 1
        if _float(dt) <= self.dt_min:
            self.forced += 1

    def callback_reject_step(self, t0, y0, dt):
        self.rejected += 1


def _check_ode_inputs(model, y0, ts) -> torch.Tensor:
    """The checks of :func:`neuralsde.solve` for an ODE model; returns ``ts`` as float64 on CPU."""
    if not callable(getattr(model, "f", None)):
        raise TypeError(f"model must have a method f(t, y); got {type(model).__name__}.")
    return check_state_and_times(y0, ts)


def _landing_grid(dt: float):
    """A torchdiffeq ``grid_constructor``: steps of at most ``dt`` between consecutive times of
    ``t``, shortened evenly so that every time of ``t`` is a grid point (as our fixed-step SRI
    does). torchdiffeq's own ``step_size`` grid ignores the output times and interpolates
    linearly between its points, which is only second-order accurate there.

    Works for decreasing ``t`` too (the adjoint's backward pass asks for one segment at a time).
    """

    def construct(func, y0, t):
        pieces = []
        for a, b in zip(t[:-1], t[1:]):
            n = max(1, math.ceil(abs(float(b - a)) / dt - 1e-9))
            k = torch.arange(n, dtype=t.dtype, device=t.device)
            pieces.append(a + (b - a) * k / n)  # k = 0 gives a exactly
        pieces.append(t[-1:])
        return torch.cat(pieces)

    return construct


def solve_ode(model, y0: torch.Tensor, ts, config: SolveConfig | None = None, *,
              return_stats: bool = False):
    """Solve ``dy/dt = f(t, y)`` with torchdiffeq and save the state at ``ts``.

    :func:`neuralsde.solve` calls this for any model with ``is_ode = True``; call it directly to
    skip the dispatch. The solver is fixed by ``config.adaptive``: ``config.method`` and
    ``config.tableau`` (SDE schemes) are ignored, and so is ``config.checkpoint_every``.

    * ``adaptive=True``: torchdiffeq's ``"dopri5"`` (Dormand–Prince 5(4)) with ``config.rtol``,
      ``config.atol``; ``config.dt`` (when given) is the first step, ``config.dt_min`` and
      ``config.dt_max`` bound the step (torchdiffeq's ``min_step`` / ``max_step``: a step at
      ``dt_min`` is accepted whatever its error), and ``config.max_steps`` bounds the step
      attempts (accepted + rejected) of the whole solve, as for ``"sri"``. torchdiffeq's own
      ``max_num_steps`` counts per output interval, so it is not used. Values at ``ts`` between
      steps come from dopri5's dense output (4th-order interpolation).
    * ``adaptive=False``: torchdiffeq's ``"rk4"`` (the 3/8 rule, 4 evaluations per step) with
      steps of at most ``config.dt``, shortened to land exactly on every output time (as for the
      fixed-step SRI).

    Args:
        model: object with ``f(t, y)`` returning (batch, d), e.g. a :class:`NeuralODE`. For
            ``gradient="adjoint"`` it must be an ``nn.Module`` (its parameters get the
            gradients).
        y0: initial state, (batch, d). All rows share one step sequence (the adaptive error norm
            is the RMS over the whole batch).
        ts: output times, (T,), strictly increasing, need not be uniform; ``ys[0] = y0``.
        config: a :class:`SolveConfig` (default: adaptive, rtol = atol = 0.1, backprop).
            ``gradient="backprop"`` differentiates through torchdiffeq's operations
            (``torchdiffeq.odeint``); ``"adjoint"`` solves the adjoint ODE backwards with the same
            method and tolerances (``torchdiffeq.odeint_adjoint``, memory constant in the number
            of steps; its gradient is exact only up to the solver's error).
        return_stats: also return a :class:`SolveStats` for the forward pass: ``f_evals`` counts
            drift calls (including dopri5's initial-step selection), ``g_evals`` is 0,
            ``accepted_steps`` / ``rejected_steps`` are torchdiffeq's steps, and
            ``forced_steps`` the accepted steps at ``dt_min`` (accepted without an error check);
            for ``"rk4"``, the grid steps, 0 and 0.

    Returns:
        ``ys`` of shape (T, batch, d), same dtype and device as ``y0``, or ``(ys, stats)``.

    Raises:
        ValueError: bad shapes or values of ``y0``, ``ts``, or ``f`` returns the wrong shape.
        TypeError: ``model`` has no ``f``, or is not an ``nn.Module`` under the adjoint.
        NonFiniteStateError: the state became NaN or infinite.
        MaxStepsError: the adaptive solve needed more than ``config.max_steps`` attempts.
        SolverError: the adaptive step size underflowed.
    """
    import torchdiffeq

    config = SolveConfig() if config is None else config
    if not isinstance(config, SolveConfig):
        raise TypeError(f"config must be a SolveConfig; got {type(config).__name__}.")
    ts_cpu = _check_ode_inputs(model, y0, ts)
    ts_t = ts_cpu.to(dtype=y0.dtype, device=y0.device)
    adjoint = config.gradient == "adjoint"
    if adjoint and not isinstance(model, nn.Module):
        raise TypeError("gradient='adjoint' needs the model to be a torch.nn.Module.")
    if config.adaptive:
        method = ADAPTIVE_METHOD
        options = {"min_step": config.dt_min,
                   "max_step": config.dt_max if config.dt_max is not None else math.inf}
        if config.dt is not None:
            options["first_step"] = config.dt
        func = _CountedAdaptive(model, y0.shape, config.max_steps, config.dt_min)
    else:
        method = FIXED_METHOD
        options = {"grid_constructor": _landing_grid(config.dt)}
        func = _Counted(model, y0.shape)
    kwargs = dict(rtol=config.rtol, atol=config.atol, method=method, options=options)
    try:
        if adjoint:
            ys = torchdiffeq.odeint_adjoint(func, y0, ts_t,
                                            adjoint_params=tuple(model.parameters()), **kwargs)
        else:
            ys = torchdiffeq.odeint(func, y0, ts_t, **kwargs)
    except AssertionError as err:  # torchdiffeq reports a failed solve by assertions
        message = str(err)
        if message.startswith("non-finite values in state") or (
                message.startswith("underflow in dt") and "nan" in message):
            raise NonFiniteStateError(f"the state became non-finite by t={func.t_last:g} "
                                      f"(torchdiffeq {method}).") from None
        if message.startswith("underflow in dt"):
            raise SolverError(f"the step size underflowed at t={func.t_last:g} (torchdiffeq "
                              f"{method}: {message}); loosen rtol/atol or raise dt_min.") from None
        raise
    # ys is (T, batch, d)
    if not bool(torch.isfinite(ys).all()):
        bad = int((~torch.isfinite(ys)).flatten(1).any(1).nonzero()[0])
        ts_list = ts_cpu.tolist()
        raise NonFiniteStateError(f"the state became non-finite by t={ts_list[bad]:g} "
                                  f"(between t={ts_list[bad - 1]:g} and t={ts_list[bad]:g}).")
    if not return_stats:
        return ys
    if config.adaptive:
        stats = SolveStats(method=f"torchdiffeq-{method}", accepted_steps=func.accepted,
                           rejected_steps=func.rejected, forced_steps=func.forced,
                           f_evals=func.n_f, g_evals=0)
    else:
        stats = SolveStats(method=f"torchdiffeq-{method}", accepted_steps=func.attempts,
                           rejected_steps=0, forced_steps=0, f_evals=func.n_f, g_evals=0)
    return ys, stats
