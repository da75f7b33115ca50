"""The solver layer: one public :func:`solve` for every method, driven by a :class:`SolveConfig`.

``method="sri"`` is ours (:mod:`neuralsde.sri`): 4 drift + 4 diffusion calls per step, fixed step
with all Brownian increments drawn at once, or adaptive with the embedded error estimate and a
PI controller. ``"srk"``, ``"euler"`` and ``"milstein"`` run through torchsde, for comparison.
This is the only module that imports torchsde.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import torch
import torchsde
from torch.utils.checkpoint import checkpoint

from ..sri import TABLEAUS, Noise, get_tableau, sri_step

METHODS = ("sri", "srk", "euler", "milstein")
GRADIENTS = ("backprop", "adjoint")
# Backward-pass method used by torchsde's adjoint for each forward method. SRK cannot solve
# adjoint SDEs (they only expose diffusion-vector products), so torchsde falls back to Milstein.
_ADJOINT_METHOD = {"sri": "milstein", "srk": "milstein", "euler": "euler", "milstein": "milstein"}
_TORCHSDE_FORWARD = {"sri": "srk", "srk": "srk", "euler": "euler", "milstein": "milstein"}

# Step-size controller constants (see ../shared/reference/sri.md, section 6).
_SAFETY = 0.9
_FAC_MIN = 0.2
_FAC_MAX = 5.0
_K_I = 0.5  # local error estimate ~ h^2 for a strong-1.5 scheme -> exponent 1/2
_K_P = 0.1  # a small proportional gain smooths the step sequence on noisy estimates
_TORCHSDE_DT0 = 1e-3  # torchsde's own default initial step for adaptive solves


class SolverError(RuntimeError):
    """A solve that could not finish."""


class NonFiniteStateError(SolverError):
    """The state became NaN or infinite during a solve."""


class MaxStepsError(SolverError):
    """The adaptive solver needed more than ``max_steps`` step attempts."""


def _positive(name, value, *, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value <= 0:
        accepted = "a finite number > 0" + (" or None" if allow_none else "")
        raise ValueError(f"{name}={value!r} is not supported; expected {accepted}.")


@dataclass(frozen=True)
class SolveConfig:
    """How to solve and differentiate. Immutable; every field is checked on creation.

    Args:
        method: ``"sri"`` (ours, default), or ``"srk"``, ``"euler"``, ``"milstein"`` through
            torchsde.
        tableau: SRI coefficients for ``method="sri"``: ``"sosri"`` (default, stability-optimised),
            ``"sriw1"`` (Rößler's SRI1 with W1 weights; 2 drift calls per step) or ``"srid2"``
            (the scheme torchsde's ``srk`` uses, for cross-checks).
        adaptive: adaptive step size (``"sri"``, ``"srk"``, ``"milstein"``). Euler is not allowed
            adaptive steps: it may not converge to the right solution.
        dt: fixed step size (required when ``adaptive=False``; steps are shortened to land exactly
            on every output time), or the first step of an adaptive solve (default: ours picks one
            by a heuristic; torchsde starts from 1e-3).
        rtol, atol: relative and absolute tolerances for adaptive steps (default 0.1 each, the
            DiffEqFlux blog's setting).
        dt_min: smallest adaptive step; a step at ``dt_min`` is accepted whatever its error
            (counted in the statistics as ``forced``).
        dt_max: largest adaptive step (default: no limit).
        max_steps: most step attempts (accepted + rejected) of one adaptive ``"sri"`` solve.
        gradient: ``"backprop"`` (through the solver's operations, like DiffEqFlux's TrackerAdjoint)
            or ``"adjoint"`` (torchsde's stochastic adjoint, memory constant in the number of
            steps).
        checkpoint_every: ``"sri"`` with backprop only: recompute the forward pass in the backward
            pass in segments of this many steps (``torch.utils.checkpoint``), so stored activations
            do not grow with the number of steps. None (default) stores everything.
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
        _positive("dt", self.dt, allow_none=True)
        _positive("rtol", self.rtol)
        _positive("atol", self.atol)
        _positive("dt_min", self.dt_min)
        _positive("dt_max", self.dt_max, allow_none=True)
        if self.dt_max is not None and self.dt_max < self.dt_min:
            raise ValueError(f"dt_max={self.dt_max!r} is smaller than dt_min={self.dt_min!r}; "
                             "expected dt_max >= dt_min.")
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int) \
                or self.max_steps < 1:
            raise ValueError(f"max_steps={self.max_steps!r} is not supported; expected an integer "
                             ">= 1.")
        every = self.checkpoint_every
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)
                                  or every < 1):
            raise ValueError(f"checkpoint_every={self.checkpoint_every!r} is not supported; "
                             "expected None or an integer >= 1.")
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
        return asdict(self)


_WARNED: set = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, stacklevel=3)


def seed_to_entropy(seed: int | None) -> int:
    """The integer that seeds a solve's Brownian motion: ``seed`` itself, or when None one drawn
    from torch's global generator (so ``torch.manual_seed`` still makes runs reproducible)."""
    if seed is None:
        return int(torch.randint(0, 2**62, (1,)).item())
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} is not supported; expected None or an integer >= 0.")
    return seed


def brownian_interval(t0: float, t1: float, shape, *, dtype=torch.float32, device="cpu",
                      seed: int | None = None,
                      dt: float | None = None) -> torchsde.BrownianInterval:
    """A torchsde ``BrownianInterval`` with the space-time Lévy area that SRI methods need,
    seeded explicitly (torchsde would otherwise take its entropy from the OS).

    ``dt`` is the typical step size (default: 1/100 of the span). torchsde builds its internal
    tree from it up front; left to guess, it rebuilds the tree after 100 queries, which is slow
    and can exceed Python's recursion limit on long sequential solves.
    """
    t0, t1 = float(t0), float(t1)
    return torchsde.BrownianInterval(t0=t0, t1=t1, size=tuple(shape), dtype=dtype,
                                     device=device, entropy=seed_to_entropy(seed),
                                     dt=dt if dt is not None else (t1 - t0) / 100,
                                     levy_area_approximation="space-time")


def _check_inputs(model, y0, ts):
    if not (callable(getattr(model, "f", None)) and callable(getattr(model, "g", None))):
        raise TypeError(f"model must have methods f(t, y) and g(t, y); got {type(model).__name__}.")
    return check_state_and_times(y0, ts).tolist()


def check_state_and_times(y0, ts) -> torch.Tensor:
    """The checks every solve makes on ``y0`` (batch, d) and ``ts`` (T,); returns ``ts`` as a
    float64 CPU tensor. ValueError names the argument, the value and what is accepted."""
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
        raise ValueError(f"ts must be finite; got {ts_t.tolist()}.")
    if not bool((ts_t[1:] > ts_t[:-1]).all()):
        raise ValueError(f"ts must be strictly increasing; got {ts_t.tolist()}.")
    return ts_t


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
        ValueError: bad shapes or values of ``y0``, ``ts``.
        NonFiniteStateError: the state became NaN or infinite; the message gives the time.
        MaxStepsError: an adaptive ``"sri"`` solve needed more than ``config.max_steps`` attempts.
    """
    config = SolveConfig() if config is None else config
    if not isinstance(config, SolveConfig):
        raise TypeError(f"config must be a SolveConfig; got {type(config).__name__}.")
    if getattr(model, "is_ode", False):  # deterministic: no Brownian motion, seed and bm unused
        if shard is not None:
            raise ValueError("shard is not supported for an ODE model (is_ode=True): its solve is "
                             "deterministic, so every path is the same; expected shard=None.")
        from ..ode import solve_ode

        return solve_ode(model, y0, ts, config, return_stats=return_stats)
    ts_list = _check_inputs(model, y0, ts)
    if shard is not None:
        if config.method != "sri" or config.gradient != "backprop":
            raise ValueError(f"a solve split across processes needs method='sri' and "
                             f"gradient='backprop'; got method={config.method!r}, "
                             f"gradient={config.gradient!r}.")
        if y0.shape[0] != shard.size:
            raise ValueError(f"y0 has {y0.shape[0]} paths but the shard holds {shard.size}.")
    if bm is None and (config.method != "sri" or config.adaptive or config.gradient == "adjoint"):
        shape = y0.shape if shard is None else (shard.total, *y0.shape[1:])
        bm = brownian_interval(ts_list[0], ts_list[-1], shape, dtype=y0.dtype,
                               device=y0.device, seed=seed, dt=config.dt)
    if config.method != "sri" or config.gradient == "adjoint":
        ys, stats = _solve_torchsde(model, y0, ts_list, config, bm)
    elif config.adaptive:
        ys, stats = _solve_sri_adaptive(model, y0, ts_list, config, bm, shard)
    else:
        ys, stats = _solve_sri_fixed(model, y0, ts_list, config, bm, seed, shard)
    return (ys, stats) if return_stats else ys


# ----------------------------------------------------------------------------------------------
# torchsde methods


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
        self.n_f += 1
        return self.model.f(t, y)

    def g(self, t, y):
        self.n_g += 1
        return self.model.g(t, y)


def _solve_torchsde(model, y0, ts_list, config, bm):
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
        if not isinstance(model, torch.nn.Module):
            raise TypeError("gradient='adjoint' needs the model to be a torch.nn.Module.")
        ys = torchsde.sdeint_adjoint(counting, y0, ts_t, adjoint_method=backward,
                                     adjoint_params=tuple(model.parameters()), **kwargs)
    else:
        ys = torchsde.sdeint(counting, y0, ts_t, **kwargs)
    stats = SolveStats(method=f"torchsde-{forward}", accepted_steps=None, rejected_steps=None,
                       forced_steps=None, f_evals=counting.n_f, g_evals=counting.n_g)
    if not bool(torch.isfinite(ys).all()):
        bad = int((~torch.isfinite(ys)).flatten(1).any(1).nonzero()[0])
        raise NonFiniteStateError(f"the state became non-finite by t={ts_list[bad]:g} "
                                  f"(between t={ts_list[bad - 1]:g} and t={ts_list[bad]:g}).")
    return ys, stats


# ----------------------------------------------------------------------------------------------
# our SRI


def _checked(fn, name, shape):
    def call(t, y):
        out = fn(t, y)
        if not torch.is_tensor(out) or tuple(out.shape) != tuple(shape):
            got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
            raise ValueError(f"{name}(t, y) must return shape (batch, d) = {tuple(shape)}, the "
                             f"shape of y0 (diagonal noise: one diffusion per state component); "
                             f"got {got}.")
        return out
    return call


def _fixed_grid(ts_list, dt):
    """Steps ``(t, h, lands)`` covering ``ts`` with steps <= dt that land exactly on each output."""
    steps = []
    for a, b in zip(ts_list[:-1], ts_list[1:]):
        n = max(1, math.ceil((b - a) / dt - 1e-9))
        h = (b - a) / n
        steps += [(a + i * h, h, False) for i in range(n - 1)] + [(a + (n - 1) * h, b - a -
                                                                   (n - 1) * h, True)]
    return steps


def _draw_noise(tab, steps, y0, seed, bm, shard=None):
    """Noise terms for a known step sequence, for all steps at once: from ``bm`` when given,
    else from a torch generator seeded with ``seed`` (two tensor draws for the whole grid)."""
    n = len(steps)
    hs = torch.tensor([h for _, h, _ in steps], dtype=y0.dtype, device=y0.device).view(n, 1, 1)
    if bm is None:
        gen = torch.Generator(device=y0.device).manual_seed(seed_to_entropy(seed))
        shape = (n, *y0.shape) if shard is None else (n, shard.total, *y0.shape[1:])
        n1 = torch.randn(shape, generator=gen, dtype=y0.dtype, device=y0.device)
        n2 = torch.randn(shape, generator=gen, dtype=y0.dtype, device=y0.device)
        if shard is not None:  # every process draws all paths and keeps its own
            n1, n2 = shard.take(n1, 1), shard.take(n2, 1)
        dW = hs.sqrt() * n1
        # I10 = h/2 (ΔW + ΔZ/√3), ΔZ ~ N(0, h) independent: mean 0, Var h³/3, Cov(ΔW, I10) = h²/2
        I10 = 0.5 * hs * (dW + hs.sqrt() * n2 / math.sqrt(3.0))
    else:
        pairs = [bm(t, t + h, return_U=True) for t, h, _ in steps]
        dW = torch.stack([p[0] for p in pairs])
        I10 = torch.stack([p[1] for p in pairs])
        if shard is not None:
            dW, I10 = shard.take(dW, 1), shard.take(I10, 1)
    noise = Noise.build(tab, dW, I10, hs)
    return list(zip(noise.chi2.unbind(0), noise.weights.unbind(0), noise.err_weights.unbind(0)))


def _run_steps(f, g, tab, y, steps, noises, lo, hi):
    """Take steps ``lo..hi-1`` from ``y`` (no error estimate). Returns ``(y, *outputs)``.

    The first step of a solve checks the vector fields' output shapes; every output is checked
    for NaN and infinities.
    """
    outs = []
    for s in range(lo, hi):
        t, h, lands = steps[s]
        ff, gg = (_checked(f, "f", y.shape), _checked(g, "g", y.shape)) if s == 0 else (f, g)
        y = sri_step(ff, gg, tab, t, h, y, Noise(*noises[s]), with_error=False)[0]
        if lands:
            if not bool(torch.isfinite(y).all()):
                raise NonFiniteStateError(
                    f"the state became non-finite by t={t + h:g} (somewhere between the output "
                    f"times t={_prev_output(steps, s):g} and t={t + h:g}).")
            outs.append(y)
    return (y, *outs)


def _prev_output(steps, s):
    for k in range(s - 1, -1, -1):
        if steps[k][2]:
            return steps[k][0] + steps[k][1]
    return steps[0][0]


def _replay(f, g, tab, y0, steps, noises, checkpoint_every):
    """Run a known step sequence with gradients, optionally in checkpointed segments."""
    outputs = [y0]
    n = len(steps)
    if checkpoint_every is None:
        outputs += _run_steps(f, g, tab, y0, steps, noises, 0, n)[1:]
        return torch.stack(outputs)
    y = y0
    for lo in range(0, n, checkpoint_every):
        hi = min(n, lo + checkpoint_every)
        res = checkpoint(_run_steps, f, g, tab, y, steps, noises, lo, hi, use_reentrant=False)
        y = res[0]
        outputs += res[1:]
    return torch.stack(outputs)


def _solve_sri_fixed(model, y0, ts_list, config, bm, seed, shard=None):
    tab = get_tableau(config.tableau)
    steps = _fixed_grid(ts_list, config.dt)
    noises = _draw_noise(tab, steps, y0, seed, bm, shard)
    f, g = model.f, model.g
    per_step_f = tab.drift_calls
    ys = _replay(f, g, tab, y0, steps, noises, config.checkpoint_every)
    stats = SolveStats(method=f"sri-{tab.name}", accepted_steps=len(steps), rejected_steps=0,
                       forced_steps=0, f_evals=per_step_f * len(steps),
                       g_evals=tab.stages * len(steps))
    return ys, stats


def _rms(x: torch.Tensor, shard=None) -> float:
    if shard is not None:
        return float(shard.mean_square(x).sqrt())
    return float(x.square().mean().sqrt())


@torch.no_grad()
def _initial_step(f, g, t0, y0, span, config, stats, shard=None):
    """First step from the usual ODE heuristic (Hairer, Nørsett & Wanner I, II.4) on the drift,
    also kept small enough that one step's noise ``√h·g`` is within the tolerance."""
    sc = config.atol + y0.abs() * config.rtol
    f0 = f(t0, y0)
    g0 = g(t0, y0)
    stats.f_evals += 1
    stats.g_evals += 1
    d0, d1, dg = _rms(y0 / sc, shard), _rms(f0 / sc, shard), _rms(g0 / sc, shard)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, span)
    f1 = f(t0 + h0, y0 + h0 * f0)
    stats.f_evals += 1
    d2 = _rms((f1 - f0) / sc, shard) / h0
    dmax = max(d1, d2)
    h1 = max(1e-6, h0 * 1e-3) if dmax <= 1e-15 else math.sqrt(0.01 / dmax)
    h = min(100 * h0, h1)
    if dg > 0:
        h = min(h, 0.01 / dg**2)
    return h


def _solve_sri_adaptive(model, y0, ts_list, config, bm, shard=None):
    """Adaptive SRI with the embedded error estimate and a PI controller.

    Rejected steps are retried from the same ``t`` on the same Brownian path: a
    ``BrownianInterval`` answers any sub-interval consistently. With ``checkpoint_every``, the
    accepted step sequence is found without gradients first, then replayed in checkpointed
    segments.
    """
    tab = get_tableau(config.tableau)
    stats = SolveStats(method=f"sri-{tab.name}")
    f, g = model.f, model.g
    ckpt = config.checkpoint_every is not None and torch.is_grad_enabled()
    dt_max = config.dt_max if config.dt_max is not None else math.inf
    t, y = ts_list[0], y0
    h = config.dt if config.dt is not None else _initial_step(f, g, t, y0.detach(),
                                                              ts_list[-1] - t, config, stats,
                                                              shard)
    h = min(max(h, config.dt_min), dt_max)
    outputs, accepted = [y0], []
    eest_prev = 1.0
    attempts = 0
    k = 1
    rtol, atol, delta = config.rtol, config.atol, tab.delta
    with torch.set_grad_enabled(torch.is_grad_enabled() and not ckpt):
        while k < len(ts_list):
            target = ts_list[k]
            remaining = target - t
            lands = h >= remaining
            if lands:
                h_try = remaining
            elif remaining < 2 * h:
                h_try = 0.5 * remaining  # two even steps rather than one long and one tiny
            else:
                h_try = h
            t_new = target if lands else t + h_try
            attempts += 1
            if attempts > config.max_steps:
                raise MaxStepsError(
                    f"the adaptive solver took more than max_steps={config.max_steps} step "
                    f"attempts and stopped at t={t:g} of [{ts_list[0]:g}, {ts_list[-1]:g}] "
                    f"(last step size {h_try:.3g}); raise max_steps or loosen rtol/atol.")
            dW, I10 = bm(t, t_new, return_U=True)
            if shard is not None:
                dW, I10 = shard.take(dW, 0), shard.take(I10, 0)
            noise = Noise.build(tab, dW, I10, h_try)
            ff, gg = (_checked(f, "f", y0.shape), _checked(g, "g", y0.shape)) if attempts == 1 \
                else (f, g)
            y_new, E1, E2, n_f, n_g = sri_step(ff, gg, tab, t, h_try, y, noise, with_error=True)
            stats.f_evals += n_f
            stats.g_evals += n_g
            with torch.no_grad():
                scale = torch.maximum(y.abs(), y_new.abs()).mul_(rtol).add_(atol)
                r = (E1.abs().mul_(delta).add_(E2.abs())).div_(scale)
                # (y_new - y_new) is NaN exactly when y_new has a NaN or infinity
                if shard is None:
                    eest = float(r.square().mean().add_((y_new - y_new).sum()).sqrt())
                else:  # the norm over all processes' paths: one step sequence for all
                    eest = float(shard.mean_square(r.add_(y_new - y_new)).sqrt())
            finite = math.isfinite(eest)
            at_min = h_try <= config.dt_min * (1 + 1e-12)
            if not finite and at_min:
                raise NonFiniteStateError(
                    f"the state became non-finite in the step from t={t:g} to t={t_new:g}, "
                    f"even at the smallest step dt_min={config.dt_min:g}.")
            if finite and (eest <= 1.0 or at_min):
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
                e = max(eest, 1e-10)
                factor = _SAFETY * e ** (-_K_I) * (eest_prev / e) ** _K_P
                h_new = h_try * min(_FAC_MAX, max(_FAC_MIN, factor))
                # a step clipped to land on an output says little about the proposed size h
                h = h_new if h_try >= h else min(h, max(h_new, h_try))
                eest_prev = max(eest, 1e-4)
            else:
                stats.rejected_steps += 1
                factor = _FAC_MIN if not finite else _SAFETY * eest ** (-_K_I)
                h = h_try * min(1.0, max(_FAC_MIN, factor))
            h = min(max(h, config.dt_min), dt_max)
    if not ckpt:
        return torch.stack(outputs), stats
    steps = [(a, b, c) for a, b, c, _ in accepted]
    noises = [n for *_, n in accepted]
    return _replay(f, g, tab, y0, steps, noises, config.checkpoint_every), stats
