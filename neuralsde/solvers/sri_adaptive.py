"""Our adaptive SRI: the embedded error estimate of each step, a PI controller on the step size
(:mod:`neuralsde.solvers.controller`), and rejected steps retried on the same Brownian path."""

from __future__ import annotations

import math

import torch

from ..sri import get_tableau, sri_step
from .brownian import increment
from .config import MaxStepsError, NonFiniteStateError, SolveStats, checked_field
from .controller import after_accept, after_reject, clip, initial_step, propose
from .sri_fixed import replay


def solve_sri_adaptive(model, y0: torch.Tensor, ts_list: list, config, bm, shard=None):
    """Adaptive SRI with the embedded error estimate and a PI controller.

    Rejected steps are retried from the same ``t`` on the same Brownian path: a
    ``BrownianInterval`` answers any sub-interval consistently. With ``checkpoint_every``, the
    accepted step sequence is found without gradients first, then replayed in checkpointed
    segments (:func:`neuralsde.solvers.sri_fixed.replay`).

    Args:
        model: with ``f(t, y)`` and ``g(t, y)``.
        y0: initial state (batch, d).
        ts_list: output times, checked, as floats.
        config: the :class:`neuralsde.SolveConfig`.
        bm: the Brownian path over ``[ts_list[0], ts_list[-1]]`` (over all ``shard.total`` paths
            when ``shard`` is given).
        shard: this process's block of the paths, or None. The error norm is taken over all
            processes' paths, so every process takes the same steps.

    Returns:
        ``(ys, stats)``: the states at ``ts_list`` (T, batch, d) and a
        :class:`neuralsde.SolveStats`.

    The smallest step is ``config.dt_min``, or more where the times are so large that a
    smaller step would not advance them in floating point (:func:`smallest_step`).

    Raises:
        MaxStepsError: more than ``config.max_steps`` step attempts.
        NonFiniteStateError: the drift or diffusion is not finite at ``y0``, or the state is not
            finite even after a step of the smallest size.
    """
    tab = get_tableau(config.tableau)
    stats = SolveStats(method=f"sri-{tab.name}")
    f, g = model.f, model.g
    ckpt = config.checkpoint_every is not None and torch.is_grad_enabled()
    dt_min = smallest_step(ts_list, config.dt_min)
    dt_max = max(config.dt_max, dt_min) if config.dt_max is not None else math.inf
    t, y = ts_list[0], y0
    if config.dt is not None:
        h = config.dt
    else:
        h = initial_step(checked_field(f, "f", y0.shape), checked_field(g, "g", y0.shape), t,
                         y0.detach(), ts_list[-1] - t, config, stats, shard)
    h = clip(h, dt_min, dt_max)
    outputs, accepted = [y0], []
    eest_prev = 1.0
    attempts = 0
    k = 1
    with torch.set_grad_enabled(torch.is_grad_enabled() and not ckpt):
        while k < len(ts_list):
            h_try, lands = propose(h, ts_list[k] - t)
            t_new = ts_list[k] if lands else t + h_try
            attempts += 1
            _check_attempts(attempts, config, t, ts_list, h_try)
            noise = increment(tab, bm, t, t_new, h_try, shard)
            fields = (checked_field(f, "f", y0.shape), checked_field(g, "g", y0.shape)) \
                if attempts == 1 else (f, g)
            y_new, eest = _try_step(*fields, tab, t, h_try, y, noise, config, stats, shard)
            if _accepts(eest, h_try, t, t_new, dt_min):
                if eest > 1.0:
                    stats.forced_steps += 1
                stats.accepted_steps += 1
                if ckpt:
                    accepted.append((t, h_try, lands, (noise.chi2, noise.weights,
                                                       noise.err_weights)))
                t, y = t_new, y_new
                if lands:
                    outputs.append(y)
                    k += 1
                h, eest_prev = after_accept(h, h_try, eest, eest_prev)
            else:
                stats.rejected_steps += 1
                h = after_reject(h_try, eest)
            h = clip(h, dt_min, dt_max)
    if not ckpt:
        return torch.stack(outputs), stats
    steps = [(a, b, c) for a, b, c, _ in accepted]
    noises = [n for *_, n in accepted]
    return replay(f, g, tab, y0, steps, noises, config.checkpoint_every), stats


def _check_attempts(attempts: int, config, t: float, ts_list: list, h_try: float) -> None:
    """Raise MaxStepsError when attempt number ``attempts`` is one too many."""
    if attempts > config.max_steps:
        raise MaxStepsError(
            f"the adaptive solver took more than max_steps={config.max_steps} step "
            f"attempts and stopped at t={t:g} of [{ts_list[0]:g}, {ts_list[-1]:g}] "
            f"(last step size {h_try:.3g}); raise max_steps or loosen rtol/atol.")


def _try_step(f, g, tab, t: float, h: float, y: torch.Tensor, noise, config, stats,
              shard=None) -> tuple[torch.Tensor, float]:
    """One SRI step with its error estimate; its drift and diffusion calls are counted in
    ``stats``.

    Returns:
        ``(y_new, eest)``: the state after the step and its error norm (:func:`error_norm`).
    """
    y_new, E1, E2, n_f, n_g = sri_step(f, g, tab, t, h, y, noise, with_error=True)
    stats.f_evals += n_f
    stats.g_evals += n_g
    return y_new, error_norm(y, y_new, E1, E2, config, tab.delta, shard)


@torch.no_grad()
def error_norm(y, y_new, E1, E2, config, delta: float, shard=None) -> float:
    """The step's error norm: the RMS over all entries (of all processes' paths when ``shard`` is
    given) of ``(delta |E1| + |E2|) / (atol + rtol max(|y|, |y_new|))``.

    Args:
        y, y_new: the state before and after the step.
        E1, E2: the drift and diffusion parts of the embedded error estimate.
        config: the :class:`neuralsde.SolveConfig` (``rtol``, ``atol``).
        delta: the tableau's weight of the drift part.
        shard: this process's block of the paths, or None.

    Returns:
        The norm; NaN when ``y_new`` has a NaN or an infinity.
    """
    scale = torch.maximum(y.abs(), y_new.abs()).mul_(config.rtol).add_(config.atol)
    r = (E1.abs().mul_(delta).add_(E2.abs())).div_(scale)
    # (y_new - y_new) is NaN exactly when y_new has a NaN or infinity
    if shard is None:
        return float(r.square().mean().add_((y_new - y_new).sum()).sqrt())
    # the norm over all processes' paths: one step sequence for all
    return float(shard.mean_square(r.add_(y_new - y_new)).sqrt())


def smallest_step(ts_list: list, dt_min: float) -> float:
    """The smallest step of an adaptive solve over ``ts_list``: ``dt_min``, or 4 units in the last
    place of the largest time when that is more, so that ``t + h > t`` at every ``t`` and a step
    always advances the time (without it, times around 1e16 with ``dt_min=1e-6`` would take
    zero-length steps until ``max_steps``).

    Args:
        ts_list: output times, as floats.
        dt_min: the configured smallest step.
    """
    return max(dt_min, 4 * math.ulp(max(abs(ts_list[0]), abs(ts_list[-1]))))


def _accepts(eest: float, h_try: float, t: float, t_new: float, dt_min: float) -> bool:
    """Whether a step of size ``h_try`` with error norm ``eest`` is accepted: a finite norm <= 1,
    or any finite norm at the smallest step ``dt_min`` (a forced step).

    Raises:
        NonFiniteStateError: the norm is not finite at the smallest step: smaller steps cannot
            help.
    """
    finite = math.isfinite(eest)
    at_min = h_try <= dt_min * (1 + 1e-12)
    if not finite and at_min:
        raise NonFiniteStateError(
            f"the state became non-finite in the step from t={t:g} to t={t_new:g}, "
            f"even at the smallest step dt_min={dt_min:g}.")
    return finite and (eest <= 1.0 or at_min)
