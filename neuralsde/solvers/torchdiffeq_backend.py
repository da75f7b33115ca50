"""ODE models (``is_ode = True``, e.g. :class:`neuralsde.NeuralODE`) through torchdiffeq: dopri5
adaptive, rk4 fixed-step on the landing grid.

The only module that imports torchdiffeq, and lazily, inside :func:`solve_ode`, so SDE-only code
does not pay for the import.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import (
    MaxStepsError,
    NonFiniteStateError,
    SolverError,
    SolveStats,
    check_adjoint_model,
    check_ode_model,
    check_outputs_finite,
    check_state_against_model,
    check_state_and_times,
    resolve_config,
)
from .grid import landing_grid

ADAPTIVE_METHOD = "dopri5"
FIXED_METHOD = "rk4"


def _float(x) -> float:
    """``x`` (a number or a one-element tensor) as a Python float."""
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
        """``model.f(t, y)``, counted; the first call checks the shape."""
        out = self.model.f(t, y)
        if self.n_f == 0 and (not torch.is_tensor(out) or tuple(out.shape) != self.shape):
            got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
            raise ValueError(f"f(t, y) must return shape (batch, d) = {self.shape}, the shape of "
                             f"y0; got {got}.")
        self.n_f += 1
        return out

    def callback_step(self, t0, y0, dt):
        """Called by torchdiffeq before each step attempt from ``(t0, y0)`` of size ``dt``.

        Raises:
            MaxStepsError: this attempt is one more than ``max_steps``.
        """
        self.attempts += 1
        self.t_last = _float(t0)
        if self.max_steps is not None and self.attempts > self.max_steps:
            raise MaxStepsError(
                f"the adaptive solver took more than max_steps={self.max_steps} step attempts "
                f"and stopped at t={self.t_last:g} (last step size {_float(dt):.3g}); raise "
                "max_steps or loosen rtol/atol.")


class _CountedAdaptive(_Counted):
    """:class:`_Counted` for dopri5: also sorts the attempts into accepted, rejected and forced
    (accepted at ``dt_min`` without an error check), and checks each attempt's start before
    torchdiffeq takes it."""

    def __init__(self, model, shape, max_steps: int, dt_min: float):
        super().__init__(model, shape, max_steps)
        self.dt_min = dt_min
        self.accepted = 0
        self.rejected = 0
        self.forced = 0

    def callback_step(self, t0, y0, dt):
        """:meth:`_Counted.callback_step`, then the checks of the attempt's start.

        Raises:
            MaxStepsError: see :meth:`_Counted.callback_step`.
            NonFiniteStateError: the state ``y0`` is NaN or infinite, or the step size is NaN.
            SolverError: the step size underflowed: ``t0 + dt`` rounds to ``t0``.
        """
        super().callback_step(t0, y0, dt)
        if not bool(t0 + dt > t0):  # the step would not advance the time
            if math.isnan(_float(dt)):
                raise self._non_finite()
            raise SolverError(f"the step size underflowed at t={self.t_last:g} (torchdiffeq "
                              f"{ADAPTIVE_METHOD}: underflow in dt {_float(dt)}); loosen "
                              "rtol/atol or raise dt_min.")
        if not bool(torch.isfinite(y0).all()):
            raise self._non_finite()

    def _non_finite(self) -> NonFiniteStateError:
        """The error for a state that is no longer finite at the attempt's start."""
        return NonFiniteStateError(f"the state became non-finite by t={self.t_last:g} "
                                   f"(torchdiffeq {ADAPTIVE_METHOD}).")

    def callback_accept_step(self, t0, y0, dt):
        """Called by torchdiffeq after an accepted step."""
        self.accepted += 1
        if _float(dt) <= self.dt_min:
            self.forced += 1

    def callback_reject_step(self, t0, y0, dt):
        """Called by torchdiffeq after a rejected step."""
        self.rejected += 1


def solve_ode(model, y0: torch.Tensor, ts, config=None, *, return_stats: bool = False):
    """Solve ``dy/dt = f(t, y)`` with torchdiffeq and save the state at ``ts``.

    :func:`neuralsde.solvers` calls this for any model with ``is_ode = True``; call it directly to
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

    config = resolve_config(config)
    check_ode_model(model)
    ts_cpu = check_state_and_times(y0, ts)
    check_state_against_model(model, y0)
    ts_t = ts_cpu.to(dtype=y0.dtype, device=y0.device)
    adjoint = config.gradient == "adjoint"
    if adjoint:
        check_adjoint_model(model)
    func, method, options = _solver(model, y0, config)
    kwargs = dict(rtol=config.rtol, atol=config.atol, method=method, options=options)
    if adjoint:
        ys = torchdiffeq.odeint_adjoint(func, y0, ts_t, adjoint_params=tuple(model.parameters()),
                                        **kwargs)
    else:
        ys = torchdiffeq.odeint(func, y0, ts_t, **kwargs)
    check_outputs_finite(ys, ts_cpu.tolist())  # ys is (T, batch, d)
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


def _solver(model, y0: torch.Tensor, config) -> tuple[_Counted, str, dict]:
    """The counted ``func``, torchdiffeq's method name and its options for ``config``."""
    if config.adaptive:
        options = {"min_step": config.dt_min,
                   "max_step": config.dt_max if config.dt_max is not None else math.inf}
        if config.dt is not None:
            options["first_step"] = config.dt
        return (_CountedAdaptive(model, y0.shape, config.max_steps, config.dt_min),
                ADAPTIVE_METHOD, options)
    return _Counted(model, y0.shape), FIXED_METHOD, {"grid_constructor": landing_grid(config.dt)}
