"""The one public :func:`solve`: checks what every solve shares and hands the model to a backend
from :data:`BACKENDS`.

``method="sri"`` is ours (:mod:`neuralsde.sri`): 4 drift + 4 diffusion calls per step, fixed step
with all Brownian increments drawn at once (:mod:`.sri_fixed`), or adaptive with the embedded
error estimate and a PI controller (:mod:`.sri_adaptive`). ``"euler"`` with backprop is ours too,
torchsde's fixed-step scheme with its increments drawn at once (:mod:`.euler_fixed`). ``"srk"``
and ``"milstein"``, every method under the adjoint, and ``"euler"`` on a given Brownian path
run through torchsde (:mod:`.torchsde_backend`). A model with ``is_ode = True`` goes to torchdiffeq
(:mod:`.torchdiffeq_backend`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .brownian import brownian_interval
from .config import (
    SolveConfig,
    check_sde_model,
    check_state_against_model,
    check_state_and_times,
    resolve_config,
)
from .euler_fixed import solve_euler_fixed
from .grid import segments
from .sri_adaptive import solve_sri_adaptive
from .sri_fixed import solve_sri_fixed
from .torchdiffeq_backend import solve_ode
from .torchsde_backend import solve_torchsde

#: A backend: ``backend(model, y0, ts, config, *, seed, bm, shard) -> (ys, stats)``, with the
#: arguments of :func:`solve` (``config`` resolved) and its input checks still to make.
Backend = Callable[..., tuple]


def solve(model, y0: torch.Tensor, ts, config: SolveConfig | None = None, *,
          seed: int | None = None, bm=None, return_stats: bool = False, shard=None):
    """Solve ``dy = f(t, y) dt + g(t, y) dW`` (diagonal Itô noise) and save the state at ``ts``.

    A model with ``is_ode = True`` (a :class:`neuralsde.NeuralODE`) is an ODE ``dy/dt = f(t, y)``
    and goes to :func:`neuralsde.ode.solve_ode` (torchdiffeq: dopri5 adaptive, rk4 fixed-step;
    ``method`` and ``tableau`` do not apply, and ``seed`` and ``bm`` are unused).

    Args:
        model: object with ``f(t, y)`` and ``g(t, y)`` returning (batch, d), e.g. a
            :class:`neuralsde.NeuralDSDE`, or ``f`` only and ``is_ode = True``. For
            ``gradient="adjoint"`` it must be an ``nn.Module`` (its parameters get the gradients).
        y0: initial state, (batch, d). Each row is one sample path; all paths share one step
            sequence (the adaptive error norm is taken over the whole batch).
        ts: output times, (T,), strictly increasing, need not be uniform; ``ys[0] = y0``.
        config: a :class:`SolveConfig` (default: adaptive SRI/SOSRI, rtol = atol = 0.1, backprop).
        seed: seeds the Brownian motion: the same seed gives bit-identical paths. None draws one
            from torch's global generator.
        bm: a torchsde Brownian object (``BrownianInterval`` with
            ``levy_area_approximation="space-time"`` for ``"sri"``/``"srk"``) over
            ``[ts[0], ts[-1]]`` of shape (batch, d), to share one path between solves. Overrides
            ``seed``.
        return_stats: also return a :class:`SolveStats`.
        shard: a :class:`neuralsde.distributed.Shard` when the batch is one process's block of
            a batch split across processes (``"sri"`` with backprop only): the noise is drawn for
            all ``shard.total`` paths and this block kept, and the adaptive error norm is
            all-reduced, so the block's paths equal those rows of a single-process solve.

    Returns:
        ``ys`` of shape (T, batch, d), or ``(ys, stats)``.

    Raises:
        ValueError: bad shapes or values of ``y0``, ``ts``; ``y0`` does not fit the model (its
            width, dtype or device, checked without calling the model when the model declares
            its width, else on the first call of ``f`` or ``g``); ``ts`` spans more than
            :data:`MAX_SPAN`; a fixed-step solve would take more than ``config.max_steps`` steps.
        NonFiniteStateError: the state became NaN or infinite (also: the drift or diffusion is
            not finite at ``y0``); the message gives the time.
        MaxStepsError: an adaptive ``"sri"`` solve needed more than ``config.max_steps`` attempts.
    """
    config = resolve_config(config)
    backend = BACKENDS[backend_key(model, config)]
    ys, stats = backend(model, y0, ts, config, seed=seed, bm=bm, shard=shard)
    return (ys, stats) if return_stats else ys


def backend_key(model, config: SolveConfig) -> str:
    """Which entry of :data:`BACKENDS` solves ``model`` under ``config``: ``"ode"`` for a model
    with ``is_ode = True``, ``"torchsde"`` for torchsde's methods and for the adjoint, else
    ``"sri-adaptive"``, ``"sri-fixed"`` or ``"euler-fixed"``."""
    if getattr(model, "is_ode", False):
        return "ode"
    if config.method == "euler" and config.gradient == "backprop":
        return "euler-fixed"
    if config.method != "sri" or config.gradient == "adjoint":
        return "torchsde"
    return "sri-adaptive" if config.adaptive else "sri-fixed"


def _ode(model, y0, ts, config, *, seed, bm, shard):
    """An ODE: deterministic, so no Brownian motion; ``seed`` and ``bm`` are unused."""
    if shard is not None:
        raise ValueError("shard is not supported for an ODE model (is_ode=True): its solve is "
                         "deterministic, so every path is the same; expected shard=None.")
    return solve_ode(model, y0, ts, config, return_stats=True)


def _torchsde(model, y0, ts, config, *, seed, bm, shard):
    """torchsde's methods, and every method under the adjoint."""
    ts_list = _sde_inputs(model, y0, ts, config, shard)
    return solve_torchsde(model, y0, ts_list, config, _path(bm, ts_list, y0, config, seed, shard))


def _sri_adaptive(model, y0, ts, config, *, seed, bm, shard):
    """Our adaptive SRI, on ``bm`` or on a Brownian interval seeded with ``seed``."""
    ts_list = _sde_inputs(model, y0, ts, config, shard)
    return solve_sri_adaptive(model, y0, ts_list, config,
                              _path(bm, ts_list, y0, config, seed, shard), shard)


def _sri_fixed(model, y0, ts, config, *, seed, bm, shard):
    """Without ``bm``, the noise comes straight from ``seed`` (no Brownian interval)."""
    ts_list = _sde_inputs(model, y0, ts, config, shard)
    return solve_sri_fixed(model, y0, ts_list, config, bm, seed, shard)


def _euler_fixed(model, y0, ts, config, *, seed, bm, shard):
    """Our Euler–Maruyama, its noise drawn from ``seed``; on a given ``bm``, torchsde's."""
    if bm is not None:
        return _torchsde(model, y0, ts, config, seed=seed, bm=bm, shard=shard)
    ts_list = _sde_inputs(model, y0, ts, config, shard)
    return solve_euler_fixed(model, y0, ts_list, config, seed)


#: The backends by :func:`backend_key`.
BACKENDS: dict[str, Backend] = {
    "ode": _ode,
    "torchsde": _torchsde,
    "euler-fixed": _euler_fixed,
    "sri-adaptive": _sri_adaptive,
    "sri-fixed": _sri_fixed,
}


#: The longest time span of an SDE solve: the Brownian path squares time differences
#: (torchsde's space-time Lévy area), which overflows float64 beyond about 1e154.
MAX_SPAN = 1e150


def _sde_inputs(model, y0, ts, config: SolveConfig, shard) -> list:
    """The checks of an SDE solve; returns ``ts`` as a list of floats."""
    check_sde_model(model)
    ts_list = check_state_and_times(y0, ts).tolist()
    check_state_against_model(model, y0)
    if ts_list[-1] - ts_list[0] > MAX_SPAN:
        raise ValueError(f"ts spans {ts_list[-1] - ts_list[0]:.3g} time units, more than the "
                         f"Brownian path can resolve ({MAX_SPAN:g}: it squares time differences); "
                         "expected ts rescaled to a shorter span.")
    if not config.adaptive:
        n_steps = sum(n for _, _, n in segments(ts_list, config.dt))
        if n_steps > config.max_steps:
            raise ValueError(f"a fixed-step solve over [{ts_list[0]:g}, {ts_list[-1]:g}] with "
                             f"dt={config.dt:g} takes {n_steps} steps, more than max_steps="
                             f"{config.max_steps}; expected a larger dt (or max_steps).")
    if shard is not None:
        if config.method != "sri" or config.gradient != "backprop":
            raise ValueError(f"a solve split across processes needs method='sri' and "
                             f"gradient='backprop'; got method={config.method!r}, "
                             f"gradient={config.gradient!r}.")
        if y0.shape[0] != shard.size:
            raise ValueError(f"y0 has {y0.shape[0]} paths but the shard holds {shard.size}.")
    return ts_list


def _path(bm, ts_list: list, y0: torch.Tensor, config: SolveConfig, seed, shard):
    """``bm``, or a Brownian interval over the solve seeded with ``seed`` (over all
    ``shard.total`` paths when ``shard`` is given)."""
    if bm is not None:
        return bm
    shape = y0.shape if shard is None else (shard.total, *y0.shape[1:])
    dt = config.dt
    if dt is None:
        # torchsde builds its tree from a typical step, by default 1/100 of the span. Over many
        # output times that is far longer than the steps taken, and each step then deepens one
        # chain of the tree, so a step's cost grows along the solve. No coarser than the smallest
        # output spacing keeps it linear (short solves keep the default, and their numbers).
        span = ts_list[-1] - ts_list[0]
        spacing = min(b - a for a, b in zip(ts_list[:-1], ts_list[1:]))
        dt = min(span / 100, spacing)
    return brownian_interval(ts_list[0], ts_list[-1], shape, dtype=y0.dtype, device=y0.device,
                             seed=seed, dt=dt)
