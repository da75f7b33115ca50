"""Checks of flags against the data before training: ``--holdout`` leaves enough to train on,
and ``--horizon`` and ``--horizon-step`` give forecast times that the solver and memory can
handle. Each refusal is one line that names the flag, the value and what is accepted
(:func:`~neuralsde.fit.errors.fail`, exit status 2), so a run never trains for minutes only to
fail at its forecast.

The limits of ``--horizon``: the forecast is one solve from the last observation that saves
every forecast time, so it takes at least one solver step per time, and the solver gives up
after :attr:`SolveConfig.max_steps <neuralsde.solvers.SolveConfig>` (100000) step attempts;
:data:`MAX_HORIZON` leaves :data:`ATTEMPTS_PER_TIME` attempts per time. The forecast's sample
paths hold ``--samples`` x ``--horizon`` x state channels numbers, at most
:data:`MAX_FORECAST_VALUES`.
"""

from __future__ import annotations

import math

import torch

from .._checks import preview
from ..data import TimeSeries
from ..forecasting import _future_times
from ..run_files import holdout_split
from ..solvers import SolveConfig
from ..solvers.api import MAX_SPAN
from ..solvers.grid import step_count
from ..train.recipe import fit_scaling
from .errors import fail

__all__ = ["ATTEMPTS_PER_TIME", "MAX_FORECAST_VALUES", "MAX_HORIZON", "check_holdout",
           "check_holdout_windows", "check_horizon", "largest_holdout"]

#: Solver step attempts the ``--horizon`` limit leaves for each forecast time.
ATTEMPTS_PER_TIME = 10
#: The most ``--horizon`` times: the solver's step attempts (``SolveConfig.max_steps``, 100000)
#: over :data:`ATTEMPTS_PER_TIME`.
MAX_HORIZON = SolveConfig.max_steps // ATTEMPTS_PER_TIME
#: The most numbers the forecast's paths may hold, ``--samples`` x ``--horizon`` x state
#: channels: 0.8 GB as float64.
MAX_FORECAST_VALUES = 10**8


def largest_holdout(n_points: int, n_train: int) -> float | None:
    """The largest ``--holdout`` (rounded down to 2 decimals, or more where 2 give none) that
    leaves at least ``n_train`` of ``n_points`` time points to train on, or None when none
    does (``n_train > n_points - 1``: at least one point must be held out)."""
    if n_train > n_points - 1:
        return None
    for decimals in (2, 3, 4, 6):
        scale = 10**decimals
        fraction = math.floor((1.0 - (n_train - 0.5) / n_points) * scale) / scale
        while fraction > 0 and int(round(n_points * (1.0 - fraction))) < n_train:
            fraction = round(fraction - 1 / scale, decimals)
        if fraction > 0:
            return fraction
    return None


def _expected_holdout(n_points: int, n_train: int) -> str:
    """``"expected --holdout <= F"``, or why no holdout works."""
    fraction = largest_holdout(n_points, n_train)
    if fraction is None:
        return (f"the data has {n_points} time points, too few to hold any out: drop "
                "--holdout")
    return f"expected --holdout <= {fraction:g}"


def check_holdout(settings: dict, series: TimeSeries) -> None:
    """Refuse a ``--holdout`` that leaves fewer than 2 training points (any objective), or
    holds out nothing (fewer than 3 time points)."""
    fraction = settings["holdout"]
    if fraction is None:
        return
    n = series.n_points
    if n < 3:
        fail(f"--holdout {fraction:g}: a holdout needs at least 3 time points (2 to train, 1 to "
             f"forecast); {series.source} has {n}")
    n_train = int(round(n * (1.0 - fraction)))
    if n_train < 2:
        fail(f"--holdout {fraction:g} leaves {n_train} of the {n} time points to train on; "
             f"every objective needs at least 2; {_expected_holdout(n, 2)}")


def check_holdout_windows(settings: dict, series: TimeSeries, default_length: int | None
                          ) -> None:
    """Refuse a ``--holdout`` whose training part holds no window of the windows objective.

    A window needs its length plus ``max(lags, 1)`` observation times in every path (the
    observation it starts from, or the encoder's lags). Where a shorter training part
    shortens the default window length (the series' memory), the whole series' default counts.

    Args:
        settings: the resolved settings, ``window_length`` set.
        series: the whole data.
        default_length: the default ``--window-length`` of the whole series, or None when the
            flag was given.
    """
    fraction = settings["holdout"]
    if fraction is None or settings["objective"] != "windows":
        return
    length = settings["window_length"]
    if default_length is not None:
        length = max(length, default_length)
    lags = settings["lags"] if settings["state_dim"] > series.dim else 0
    need = length + max(lags, 1)
    seen = torch.cumsum(series.mask.any(dim=2).to(torch.int64), dim=0)  # (T, P)
    n_train = holdout_split(series.n_points, fraction)
    if int(seen[n_train - 1].min()) >= need or int(seen[-1].min()) < need:
        return  # it fits, or no holdout would fit: --window-length is refused later
    enough = int(torch.nonzero((seen >= need).all(dim=1))[0, 0]) + 1
    window = (f"--window-length {length}" if default_length is None
              else f"{length} observation times, the default --window-length of this data")
    start = f"--lags {lags} for the encoder" if lags else "1 to start from"
    where = ""
    if series.n_paths > 1:
        p = int(seen[n_train - 1].argmin())
        where = f" (group {series.groups[p]!r} observes {int(seen[n_train - 1, p])} of them)"
    fail(f"--holdout {fraction:g} leaves {n_train} of the {series.n_points} time points to "
         f"train on{where}, but the windows objective needs at least {enough} to hold one "
         f"window ({window}, plus {start}); {_expected_holdout(series.n_points, enough)}")


def check_horizon(settings: dict, series: TimeSeries, train: TimeSeries) -> None:
    """Refuse ``--horizon`` and ``--horizon-step`` values the forecast cannot use: more times
    than :data:`MAX_HORIZON`, more numbers than :data:`MAX_FORECAST_VALUES`, an offset alias
    for numeric times, or times the solver cannot tell apart in the model's ``--dtype``, that
    span more than it can resolve, or that take more fixed steps (``--dt``) than it allows.

    Args:
        settings: the resolved settings, ``state_dim`` set.
        series: the whole data (the forecast starts at its end).
        train: the training part (its scaling sets the solver's time units).
    """
    horizon, step = settings["horizon"], settings["horizon_step"]
    step_flag = f"--horizon-step {step if isinstance(step, (str, type(None))) else f'{step:g}'}"
    if horizon is None:
        if step is not None:
            fail(f"{step_flag} needs --horizon (how many times to forecast)")
        return
    flags = f"--horizon {horizon}" + ("" if step is None else f" {step_flag}")
    if horizon > MAX_HORIZON:
        fail(f"--horizon {horizon}: at most {MAX_HORIZON} forecast times; the forecast is one "
             f"solve with at least one step per forecast time, and the solver gives up after "
             f"{SolveConfig.max_steps} step attempts ({ATTEMPTS_PER_TIME} per time); expected "
             f"--horizon <= {MAX_HORIZON} (a larger --horizon-step reaches further)")
    samples, channels = settings["samples"], settings["state_dim"]
    if samples * horizon * channels > MAX_FORECAST_VALUES:
        most = MAX_FORECAST_VALUES // (samples * channels)
        fail(f"--horizon {horizon} with --samples {samples}: the forecast would hold samples x "
             f"horizon x state channels = {samples} x {horizon} x {channels} numbers, more than "
             f"{MAX_FORECAST_VALUES:,} (0.8 GB as float64); expected "
             + (f"--horizon <= {most} or fewer --samples" if most else "fewer --samples"))
    if isinstance(step, str) and series.time_origin is None:
        fail(f"{step_flag}: an offset alias needs dates, but {series.source} has "
             f"numeric times (column {series.time_name!r}); expected a number > 0 in its time "
             "units")
    try:
        future = _future_times(series, horizon, step, None)
    except ValueError as error:
        fail(f"{flags}: {error}")
    _check_solvable(settings, series, train, future, flags)


def _check_solvable(settings: dict, series: TimeSeries, train: TimeSeries,
                    future: torch.Tensor, flags: str) -> None:
    """Refuse forecast times the solver cannot take, in its own time units and dtype."""
    try:
        scaling = fit_scaling(train, settings)
    except ValueError:
        return  # the data does not fit --scaling: training refuses it
    rows = series.mask.any(dim=2)  # (T, P): each path starts at its last observation
    last = [int(torch.nonzero(rows[:, p])[-1, 0]) for p in range(series.n_paths)
            if rows[:, p].any()]
    start = series.ts[min(last)] if last else series.ts[-1]
    times = scaling.transform_t(torch.cat([start.reshape(1), future]))
    if float(times[-1] - times[0]) > MAX_SPAN:
        fail(f"{flags}: the forecast spans {float(future[-1] - start):.3g} time units, more "
             f"than the solver can resolve; expected fewer or smaller steps")
    dtype = settings["dtype"]
    solved = times.to(getattr(torch, dtype))
    if not (torch.isfinite(solved).all() and (solved[1:] > solved[:-1]).all()):
        fail(f"{flags}: the forecast times {preview(future)} are not all distinct and finite "
             f"in --dtype {dtype}, the solver's precision; expected a larger --horizon-step, "
             "fewer --horizon times or --dtype float64")
    if settings["dt"] is not None:
        values = times.tolist()
        steps = sum(step_count(b - a, settings["dt"]) for a, b in zip(values[:-1], values[1:]))
        if steps > SolveConfig.max_steps:
            fail(f"{flags}: with --dt {settings['dt']:g} the forecast takes {steps} solver "
                 f"steps, more than the solver's {SolveConfig.max_steps}; expected a larger "
                 "--dt, a smaller --horizon-step or fewer --horizon times")
