"""The recipe that turns settings into a model and an objective for a user's series: the nets of
real series, the default window length, the period, the checks of settings against the data, and
the solver and training configurations. :class:`neuralsde.Forecaster` and the command line both
build their fits here, so they agree to the last digit.

Every check raises ValueError with a message that names the setting in its command-line
spelling (``--window-length``), which is also the keyword of :class:`neuralsde.Forecaster`
with ``-`` read as ``_``.
"""

from __future__ import annotations

import math

from ..data import Scaling, TimeSeries, dominant_period, memory_length, net_slope_error
from ..data.period import season_from_dates
from ..data.scaling import SEASONAL
from ..solvers import SolveConfig
from .config import TrainConfig
from .objectives import FromStart
from .sampling import initial_state, sample
from .transition import Transition, TransitionConfig
from .windows import WindowConfig, Windows

#: The networks of the windows and transition objectives' model: wider and deeper than the
#: reference nets, a tanh drift with a linear path beside it (which keeps mean reversion going
#: where the tanh units saturate, in the data's sparse tails) and a softplus (positive)
#: diffusion.
REAL_SERIES_NET = {"hidden": 32, "layers": 2, "drift_activation": "tanh", "drift_linear": True,
                   "diffusion_activation": "tanh", "diffusion_final": "softplus"}


def default_state_dim(settings: dict, series: TimeSeries) -> int:
    """``--state-dim`` when not given: observed + 2 for "start", the observed channels else."""
    if settings["state_dim"] is not None:
        return settings["state_dim"]
    return series.dim + 2 if settings["objective"] == "start" else series.dim


#: ``--window-length`` when not given: with ``--period`` one period's observations (at the
#: median spacing) within ``WINDOW_LENGTH`` to ``WINDOW_LENGTH_MAX``, so that a window sees a
#: whole season; without, the series' memory within 1 to ``WINDOW_LENGTH``.
WINDOW_LENGTH = 8
WINDOW_LENGTH_MAX = 32


def default_window_length(settings: dict, train: TimeSeries) -> int:
    """``--window-length`` when not given (:data:`WINDOW_LENGTH`, :data:`WINDOW_LENGTH_MAX`).

    With a period: one period's observations when that is more than :data:`WINDOW_LENGTH`, but
    never longer than the shortest path of ``train`` allows (with the encoder's lags), so a
    period alone never makes a series too short. Without: the lags over which the training
    part's autocorrelation stays at or above 1/e (:func:`neuralsde.data.memory_length`), at most
    :data:`WINDOW_LENGTH`, so a coarsely sampled series that forgets its state within a few
    observations is not scored mostly on observations its window's start no longer decides."""
    if settings["window_length"] is not None:
        return settings["window_length"]
    if train.n_points < 2 or settings["period"] == "auto":  # "auto": not resolved
        return WINDOW_LENGTH
    if settings["period"] is None:
        return memory_length(train, WINDOW_LENGTH)
    spacing = float(train.ts.diff().median())
    if not spacing > 0:
        return WINDOW_LENGTH
    per_period = math.ceil(settings["period"] / spacing - 1e-9)
    lags = settings["lags"] if (settings["state_dim"] or train.dim) > train.dim else 0
    observed = train.mask.any(dim=2).sum(dim=0).min().item()  # the shortest path's times
    room = int(observed) - max(lags, 1)
    return max(min(per_period, WINDOW_LENGTH_MAX, room), WINDOW_LENGTH)


def resolve_period(settings: dict, train: TimeSeries) -> float | None:
    """``--period`` as a number or None: ``dates`` becomes the season the timestamps imply
    (:func:`neuralsde.data.period.season_from_dates`: a year for weekly to quarterly dates, a day
    for sub-daily ones, else none), ``auto`` the highest periodogram peak of the training
    part ``train`` (:func:`neuralsde.data.period.dominant_period`, on the log for the log
    scalings); raises ValueError, naming ``--period auto``, where none can be read off it."""
    period = settings["period"]
    if period == "dates":
        return season_from_dates(train)
    if period != "auto":
        return period
    try:
        return dominant_period(train, log=str(settings["scaling"]).startswith("log"))
    except ValueError as error:
        raise ValueError(f"--period auto: {error}") from None


def fit_scaling(series: TimeSeries, settings: dict) -> Scaling:
    """The run's :class:`Scaling` of ``series``: ``settings["scaling"]``, with the period (resolved
    here when still ``"dates"`` or ``"auto"``) for the ``"-season"`` scalings."""
    period = settings.get("period")
    if settings["scaling"] in SEASONAL and isinstance(period, str):
        period = resolve_period(settings, series)
    return Scaling.fit(series, settings["scaling"], period)


def model_spec(settings: dict, scaling: Scaling | None = None) -> dict:
    """The :func:`neuralsde.build_model` spec of a run.

    Args:
        settings: the resolved settings (``model``, ``objective``, ``state_dim``, ``period``,
            ``lags``).
        scaling: the run's scaling; converts ``--period`` to training time units.
    """
    d = settings["state_dim"]
    if settings["model"] == "ode":
        return {"kind": "ode", "state_dim": d, "hidden": 20, "cubic": True}
    if settings["objective"] == "start":
        return {"kind": "reference", "state_dim": d, "hidden": 20}
    observed = scaling.dim if scaling is not None else d
    period = settings["period"]
    if period is not None and scaling is not None:
        period = period / scaling.t_scale
    return {"kind": "mlp", "state_dim": d, **REAL_SERIES_NET, "period": period,
            "observed": observed, "lags": settings["lags"] if d > observed else 0}


def check_objective(settings: dict, series: TimeSeries) -> None:
    """Refuse objective settings that cannot work on ``series``: ValueError, flags named."""
    objective, d = settings["objective"], series.dim
    if objective == "start":
        if settings["period"] is not None:
            _refuse("--period needs --objective windows or transition (the start "
                         "objective fits the reference model, which has no time input)")
        return
    if settings["model"] == "ode":
        _refuse(f"--objective {objective} scores a spread of sample paths, which --model ode "
                     "does not have; use --objective start with --model ode")
    if objective == "transition" and settings["state_dim"] > d:
        _refuse(f"--objective transition needs every state channel observed, but "
                     f"--state-dim {settings['state_dim']} has {settings['state_dim'] - d} latent "
                     "channel(s); use --objective windows for latent channels")
    if settings["iters"] < 1:
        _refuse(f"--iters 0 trains nothing; give --iters >= 1 for --objective {objective}")
    if objective != "windows":
        return
    lags = settings["lags"] if settings["state_dim"] > d else 0
    need = settings["window_length"] + max(lags, 1)
    mask = series.mask.numpy()
    for p, label in enumerate(series.groups):
        n = int(mask[:, p, :].any(axis=1).sum())
        if n < need:
            what = "the series" if series.n_paths == 1 else f"group {label!r}"
            _refuse(f"--window-length {settings['window_length']}"
                         + (f" with --lags {lags}" if lags else "")
                         + f": a window needs {need} observation times, but {what} has {n} "
                         f"(in the training part); expected --window-length <= "
                         f"{max(n - max(lags, 1), 0)}")


def make_objective(settings: dict, train: TimeSeries, solve_config: SolveConfig,
                   train_config: TrainConfig, shard=None):
    """The objective of the run on ``train`` (training units); ``shard`` is this process's block
    of the paths ("start") or windows ("windows") in a distributed run."""
    objective = settings["objective"]
    if objective == "start":
        return FromStart(train, train_config, solve_config, shard=shard)
    if objective == "transition":
        return Transition(train, TransitionConfig(iters=settings["iters"]))
    if settings["window_length"] is None:
        raise ValueError("settings['window_length'] is None: resolve it on the data-unit series "
                         "with default_window_length() first")
    config = WindowConfig(windows=settings["windows"], samples=settings["window_samples"],
                          horizon=settings["window_length"], iters=settings["iters"],
                          time_grid=settings.get("time_grid", 0.125))
    return Windows(train, config, solve_config, shard=shard)



def _refuse(message: str):
    """Raise the ValueError of a refused setting."""
    raise ValueError(message)


def make_configs(settings: dict) -> tuple[SolveConfig, TrainConfig]:
    """The solver and training configurations of ``settings`` (keys as the command line's
    :data:`~neuralsde.fit.settings.DEFAULTS`); ValueError on a bad combination, flags named."""
    adaptive = settings["dt"] is None
    if adaptive and settings["method"] == "euler":
        _refuse("--method euler needs a fixed step: give --dt")
    try:
        solve_config = SolveConfig(method=settings["method"], tableau=settings["tableau"],
                                   adaptive=adaptive, dt=settings["dt"], rtol=settings["rtol"],
                                   atol=settings["atol"], gradient=settings["gradient"])
    except ValueError as err:
        _refuse(f"solver flags (--method/--tableau/--gradient/--dt): {err}")
    try:
        train_config = TrainConfig(iters=settings["iters"], stage_iters=settings["stage_iters"],
                                   curriculum=settings["curriculum"], lr=settings["lr"],
                                   lr_final=settings["lr_final"], paths=settings["paths"],
                                   loss=settings["loss"], seed=settings["seed"])
    except ValueError as err:
        _refuse(f"training flags: {err}")
    if train_config.iters == 0 and (not train_config.curriculum or train_config.stage_iters == 0):
        _refuse("--iters 0 with no curriculum iterations trains nothing; give --iters >= 1")
    if settings["model"] == "ode" and settings["loss"] == "moments":
        _refuse("--loss moments fits a spread, which --model ode does not have; use --loss mse")
    if settings["loss"] == "moments" and settings["paths"] < 2:
        _refuse("--loss moments needs --paths >= 2 (a variance across paths)")
    return solve_config, train_config


#: A free run over at most this many training times measures a trend's net slope error.
FREE_RUN_POINTS = 20_000


def net_scaling(model, scaling: Scaling, series: TimeSeries, state_dim: int,
                solve_config: SolveConfig, *, n: int, seed: int) -> Scaling:
    """``scaling`` with a trend's slope error net of the model's own fluctuations
    (:func:`neuralsde.data.net_slope_error`), measured on ``n`` free paths (noise seed ``seed``)
    from the first observation over the training times ``series.ts`` (every k-th time of a
    series longer than :data:`FREE_RUN_POINTS`); ``scaling`` itself without a trend."""
    if not any(scaling.y_trend_sd):
        return scaling
    if series.n_points > FREE_RUN_POINTS:
        series = series._slice(slice(None, None, -(-series.n_points // FREE_RUN_POINTS)))
    y0 = initial_state(scaling.transform(series), state_dim)
    y0[:series.dim] = scaling.inverse_y(y0[:series.dim], series.ts[0])
    free = sample(model, y0, series.ts, n, solve_config=solve_config, seed=seed,
                  scaling=scaling).cpu().numpy()
    return net_slope_error(scaling, series, free[:, :, :series.dim])
