"""The CLI's settings: defaults, flags, and the checks that turn flags into solver and training
configurations.

Every refusal is exit status 2 and a ``python -m neuralsde.fit: error: ...`` line naming the
flag. A malformed command line (a bad flag value, flags that do not go together) ends in
``parser.error``, which also prints the usage; a problem with the data, the run folder or the
machine ends in :func:`fail`, one line without the usage.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .. import distributed
from ..data import SCALINGS, TimeSeries, load_csv, reference_dataset
from ..data.csv_file import csv_progress_bar
from ..forecaster import FORECASTER_DEFAULTS
from ..losses import LOSSES
from ..solvers import METHODS, SolveConfig
from ..sri import TABLEAUS
from ..train import DIVERGENCE_POLICIES, TrainConfig
from ..train.recipe import make_configs
from .data_checks import MAX_FORECAST_VALUES, MAX_HORIZON
from .errors import data_message, fail
from .flag_types import auto_or_positive_int as _auto_or_positive_int
from .flag_types import count as _count
from .flag_types import fraction as _fraction
from .flag_types import horizon_step as _horizon_step
from .flag_types import integer_at_least as _integer_at_least
from .flag_types import open_fraction as _open_fraction
from .flag_types import period_flag
from .flag_types import positive_float as _positive_float
from .flag_types import positive_int as _positive_int
from .flag_types import step as _step

#: What ``python -m neuralsde.fit`` does without flags, the reference workflow (and what
#: ``--blog`` changes): its start objective, paths, loss and curriculum, and the adaptive SRI
#: solver. A user's series (``--data``) gets :data:`DATA_DEFAULTS` instead.
DEFAULTS = {
    **FORECASTER_DEFAULTS, "scaling": "standard", "period": None, "state_dim": None,
    "window_length": None, "ensemble": 1, "windows": 64, "iters": 500, "method": "sri",
    "dt": None, "objective": "start", "stage_iters": 300, "curriculum": True,
    "paths": 16, "loss": "mse", "model": "sde", "holdout": None, "horizon": None,
    "horizon_step": None,
}
#: The settings of a user's series (``--data`` without ``--objective start`` or ``--blog``):
#: :class:`neuralsde.Forecaster`'s defaults, the automatic configuration included.
DATA_DEFAULTS = {**DEFAULTS, **FORECASTER_DEFAULTS, "objective": "windows"}
#: Objectives of ``--objective``; without the flag, "start" for the built-in data and "windows"
#: for ``--data``.
OBJECTIVES = ("start", "windows", "transition")

#: The DiffEqFlux blog, literally: SOSRI, one sample path per iteration, no normalisation, a
#: constant learning rate.
BLOG = {"tableau": "sosri", "paths": 1, "scaling": "none", "lr_final": 1.0}

METRICS_KEYS = ("final_loss", "final_loss_smoothed", "path_mean_mse", "clean_mse",
                "clean_vs_data_mse", "wall_seconds", "train_seconds", "iterations", "events",
                "restores", "stopped", "solver", "samples", "sampling_error", "sample_seed",
                "settings", "data", "versions", "trend_slope_sd")
#: The holdout forecast's calibration and scores per horizon (:mod:`neuralsde.fit.holdout`).
CALIBRATION_KEYS = ("holdout_pit", "holdout_coverage_50", "holdout_crps_by_horizon",
                    "holdout_coverage_50_by_horizon", "holdout_coverage_90_by_horizon",
                    "holdout_coverage_90_if_calibrated")
#: Added to metrics.json by ``--holdout``.
HOLDOUT_KEYS = ("holdout_mse", "holdout_crps", "holdout_coverage_90", "baseline_holdout_mse",
                "baseline_holdout_crps", "baseline_holdout_coverage_90",
                "climatology_holdout_mse", "climatology_holdout_crps",
                "climatology_holdout_coverage_90", "n_train", "n_holdout", *CALIBRATION_KEYS)


# ----------------------------------------------------------------------------- the parser
# Flags that set a key of DEFAULTS default to argparse.SUPPRESS, so that resolve() can tell an
# explicit flag from an absent one. Every help text states its default once, as "(default: X)".

_S = argparse.SUPPRESS


def _default(key: str, note: str = "") -> str:
    """``"(default: X)"`` for ``DEFAULTS[key]``, with an optional ``note`` after the value, and
    ``--data``'s default where it differs."""
    if DATA_DEFAULTS[key] != DEFAULTS[key]:
        return f"(default: {DATA_DEFAULTS[key]} with --data, {DEFAULTS[key]} without{note})"
    return f"(default: {DEFAULTS[key]}{note})"


def _add_data_and_output_flags(p: argparse.ArgumentParser) -> None:
    """The "data and output" group: what to fit and where the run folder goes."""
    io = p.add_argument_group("data and output, all objectives")
    io.add_argument("--data", metavar="FILE.csv", help="CSV file to fit (default: built-in data)")
    io.add_argument("--time-column", help="time column of --data (default: the first column)")
    io.add_argument("--columns", help="comma-separated value columns of --data (default: all "
                    "other numeric columns)")
    io.add_argument("--group-column", help="column naming the sample path of each row (panel "
                    "data in long format) (default: none, one path)")
    io.add_argument("--holdout", type=_open_fraction, default=_S, metavar="FRACTION",
                    help="hold out the last FRACTION of the time points: train on the rest, "
                         "forecast them from the last training observation, score the forecast "
                         "against a random walk; the rest must hold at least 2 points, and for "
                         "the windows objective one window (--window-length plus 1, or plus "
                         "--lags with latent channels) (default: none, train on every point)")
    io.add_argument("--horizon", type=_positive_int, default=_S, metavar="K",
                    help="forecast K steps past the last observation into forecast.csv (mean, "
                         "std and quantiles per time and channel, in the data's units); K is "
                         f"checked against the data before training: at most {MAX_HORIZON} (the "
                         "forecast is one solve with at least one step per time, and the "
                         f"solver gives up after {SolveConfig.max_steps} step attempts), and "
                         "--samples x K x state channels at most "
                         f"{MAX_FORECAST_VALUES:,} numbers (0.8 GB) (default: none)")
    io.add_argument("--horizon-step", type=_horizon_step, default=_S, metavar="STEP",
                    help="spacing of the --horizon times: a number in the data's time units "
                         "(days for dates), or for dates a pandas offset alias such as MS, ME, "
                         "QS, QE, YS, YE, W, D, h (the offset's dates after the last one) "
                         "(default: dates on a monthly, quarterly or yearly calendar continue "
                         "on it, e.g. quarter ends stay quarter ends; other data at its median "
                         "spacing)")
    io.add_argument("--out", metavar="DIR", help="run folder (default: runs/<timestamp>)")
    io.add_argument("--quiet", action="store_true",
                    help="no progress bar and no summary (default: off)")
    io.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last "
                    "checkpoint, with the settings stored there (default: off, a new run)")
    io.add_argument("--checkpoint-every", type=_positive_int, default=_S, metavar="N",
                    help="write DIR/checkpoint.pt every N iterations (and at every stage end) "
                         + _default("checkpoint_every"))
    io.add_argument("--on-divergence", choices=DIVERGENCE_POLICIES, default=_S,
                    help="when a loss or gradient is not finite or the solver fails: restore "
                         "the last checkpoint and halve the learning rate (stop after 3 in a "
                         "row), skip the iteration, or stop " + _default("on_divergence"))


def _add_training_flags(p: argparse.ArgumentParser) -> None:
    """The "all objectives" group: the objective, model, schedule and normalisation."""
    tr = p.add_argument_group("training, all objectives")
    tr.add_argument("--objective", choices=OBJECTIVES, default=_S,
                    help="start: paths from the first observation against all the data, with "
                         "the curriculum (the reference workflow); windows: short simulations "
                         "from observed states scored by CRPS and energy score, cost independent "
                         "of the series' length; transition: Euler-Maruyama likelihood of "
                         "consecutive observations, no solver (dense, fully observed data) "
                         "(default: start without --data, windows with --data)")
    tr.add_argument("--model", choices=("sde", "ode"), default=_S,
                    help="neural SDE or its deterministic counterpart, a neural ODE solved with "
                         "torchdiffeq (dopri5 adaptive, rk4 with --dt; start objective only) "
                         + _default("model"))
    tr.add_argument("--seed", type=_count, default=_S,
                    help="seed of initial weights and Brownian paths " + _default("seed"))
    tr.add_argument("--iters", type=_count, default=_S,
                    help="iterations of every objective; for start, those of the initial phase "
                         "on all points " + _default("iters"))
    tr.add_argument("--lr", type=_positive_float, default=_S,
                    help="Adam learning rate at the start of each stage " + _default("lr"))
    tr.add_argument("--lr-final", type=_fraction, default=_S,
                    help="cosine decay to lr * this within each stage; 1 keeps it constant "
                         + _default("lr_final"))
    tr.add_argument("--scaling", choices=("auto", *SCALINGS), default=_S,
                    help="normalisation for training; auto: chosen by validation among "
                         "standard, log (positive data) and trend, with -season where the "
                         "period is known; trend removes a line first "
                         "(forecasts go on with its last quarter's slope); log and log-trend "
                         "work on log(y) (positive series whose changes scale with their level); "
                         "-season also removes the least-squares profile of --period "
                         + _default("scaling"))
    tr.add_argument("--state-dim", type=_auto_or_positive_int, default=_S, help="state "
                    "dimension: the observed channels first, the rest latent; auto: none or one "
                    "latent channel, by validation (default: auto with --data, observed + 2 for "
                    "the start objective)")
    tr.add_argument("--ensemble", type=_positive_int, default=_S, metavar="K",
                    help="with automatic configuration (any auto setting), at most K "
                         "validated candidates, of those within one standard error of the "
                         "best score, forecast as one equal-weight mixture "
                         + _default("ensemble"))
    tr.add_argument("--samples", type=_positive_int, default=_S,
                    help="sample paths saved and plotted " + _default("samples"))


def _add_start_flags(p: argparse.ArgumentParser) -> None:
    """The "start objective" group: the reference workflow's paths, loss and curriculum."""
    st = p.add_argument_group("start objective (the reference workflow, the default without "
                              "--data)")
    st.add_argument("--blog", action="store_true",
                    help="the DiffEqFlux blog's literal configuration: SOSRI, 1 path per "
                         "iteration, no normalisation, constant learning rate (explicit flags "
                         "still win) (default: off)")
    st.add_argument("--stage-iters", type=_count, default=_S,
                    help="iterations per curriculum stage " + _default("stage_iters"))
    st.add_argument("--no-curriculum", dest="curriculum", action="store_false", default=_S,
                    help="only the initial phase (default: off, the curriculum runs)")
    st.add_argument("--paths", type=_positive_int, default=_S, help="sample paths per iteration "
                    + _default("paths", "; the blog: 1"))
    st.add_argument("--loss", choices=tuple(LOSSES), default=_S,
                    help="loss; mse is the MSE of the path mean " + _default("loss"))


def _time_grid(text: str) -> float:
    """``--time-grid``: a fraction of the spacing in [0, 0.5]."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction of the spacing in [0, 0.5] "
                                         "(0: exact times)")
    return value


def _add_objective_flags(p: argparse.ArgumentParser) -> None:
    """The "windows objective" group, and the "windows and transition objectives" group."""
    ob = p.add_argument_group("windows objective (the default with --data)")
    ob.add_argument("--windows", type=_positive_int, default=_S, metavar="N",
                    help="windows per iteration " + _default("windows"))
    ob.add_argument("--window-samples", type=_integer_at_least(2), default=_S, metavar="M",
                    help="paths per window, the scored ensemble " + _default("window_samples"))
    ob.add_argument("--window-length", type=_auto_or_positive_int, default=_S, metavar="H",
                    help="observation times each window simulates and scores; auto: the "
                         "length below or four times it (at most 32), by validation (default: "
                         "auto with --data; else without --period the series' memory, the lags "
                         "over which its autocorrelation stays >= 1/e, 1 to 8; with --period "
                         "the observations of one period, 8 to 32)")
    ob.add_argument("--time-grid", type=_time_grid, default=_S, metavar="F",
                    help="on calendar-like times (every spacing within 15 %% of the median: "
                         "months, quarters) round the windows' relative target times to this "
                         "fraction of the spacing, so windows share output times and the solver "
                         "takes fewer steps; 0 keeps the exact times " + _default("time_grid"))
    ob.add_argument("--lags", type=_positive_int, default=_S, metavar="L",
                    help="with latent channels (--state-dim above the observed channels): "
                         "previous observations the encoder reads to start them "
                         + _default("lags"))
    seasonal = p.add_argument_group("windows and transition objectives")
    seasonal.add_argument("--period", type=period_flag, default=_S, metavar="P",
                          help="seasonal model: drift and diffusion see sin and cos of 2 pi t "
                               "/ P, P in the data's time units (days for dates); dates: the "
                               "season the timestamps imply (a year for weekly to quarterly "
                               "dates, a day for sub-daily ones); auto: the training part's "
                               "highest periodogram peak (default: dates with --data; none, "
                               "autonomous, without)")


def _add_solver_flags(p: argparse.ArgumentParser) -> None:
    """The "solver" group: method, tolerances, step size, precision and device."""
    sv = p.add_argument_group("solver, all objectives (transition trains without it but "
                              "forecasts with it)")
    sv.add_argument("--method", choices=METHODS, default=_S,
                    help="solver; sri is ours, the others run in torchsde " + _default("method"))
    sv.add_argument("--tableau", choices=tuple(TABLEAUS), default=_S,
                    help="SRI coefficients for --method sri: sosri, stability-optimised (what "
                         "neuralsde.solvers uses unless told); sriw1, Rößler's SRI1 with W1 "
                         "weights, 2 drift calls per step instead of 4; srid2, the scheme of "
                         "torchsde's srk, for cross-checks " + _default("tableau"))
    sv.add_argument("--gradient", choices=("backprop", "adjoint"), default=_S,
                    help="gradient method " + _default("gradient"))
    sv.add_argument("--rtol", type=_positive_float, default=_S,
                    help="relative tolerance of adaptive steps " + _default("rtol"))
    sv.add_argument("--atol", type=_positive_float, default=_S,
                    help="absolute tolerance of adaptive steps " + _default("atol"))
    sv.add_argument("--dt", type=_step, default=_S,
                    help="fixed step size in training time units, where the data's mean "
                         "spacing is 1; adaptive: the adaptive solver's steps (default: 0.25 "
                         "with --data, adaptive without)")
    sv.add_argument("--dtype", choices=("float32", "float64"), default=_S,
                    help="precision of the model " + _default("dtype"))
    sv.add_argument("--device", default=_S,
                    help="torch device, e.g. cpu or cuda " + _default("device"))
    sv.add_argument("--threads", type=_positive_int, default=_S,
                    help="CPU threads for torch; the tensors are tiny and more threads only add "
                         "overhead " + _default("threads"))
    sv.add_argument("--jobs", type=_positive_int, default=_S,
                    help="processes that share the automatic configuration's fits; no number "
                         "depends on it (default: one per core on Linux, else 1; 1 on a GPU)")


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m neuralsde.fit`` argument parser.

    Returns:
        A parser whose flags that set a key of :data:`DEFAULTS` are absent from the parsed
        namespace unless given (see :func:`resolve`).
    """
    p = argparse.ArgumentParser(
        prog="python -m neuralsde.fit",
        description="Fit a neural SDE dy = f(y) dt + g(y) dW (diagonal noise) to a time series and "
                    "write a run folder with plots, metrics, the model and samples. Without "
                    "--data it fits the built-in reference data (exp(x) plus noise, 7 points).")
    _add_data_and_output_flags(p)
    _add_training_flags(p)
    _add_start_flags(p)
    _add_objective_flags(p)
    _add_solver_flags(p)
    return p


# ----------------------------------------------------------------------------- checks

def resolve(args: argparse.Namespace) -> dict:
    """Settings from defaults, then ``--blog``, then explicit flags.

    Args:
        args: the namespace :func:`build_parser` parsed.

    Returns:
        One value for every key of :data:`DEFAULTS`, plus ``"blog"``.
    """
    data_run = getattr(args, "data", None) and getattr(args, "objective", "windows") != "start"
    settings = dict(DATA_DEFAULTS if data_run and not args.blog else DEFAULTS)
    if args.blog:
        settings.update(BLOG)
    for key in DEFAULTS:
        if hasattr(args, key):
            settings[key] = getattr(args, key)
    settings["blog"] = args.blog
    if not hasattr(args, "objective") and getattr(args, "data", None):
        settings["objective"] = "windows"  # a user's series: the default for real data
    if settings["model"] == "ode" and not hasattr(args, "paths"):
        settings["paths"] = 1  # deterministic: one path says everything
    return settings


def load_series(args: argparse.Namespace, parser: argparse.ArgumentParser) -> TimeSeries:
    """The data the flags name: ``--data`` (with its column flags) or the built-in data. A
    problem in the file is one line (no usage) naming the file once and speaking in flags
    (``--time-column 'when'``); a file that is not comma-separated gets a hint."""
    if args.data is None:
        for flag in ("time_column", "columns", "group_column"):
            if getattr(args, flag) is not None:
                parser.error(f"--{flag.replace('_', '-')} needs --data")
        return reference_dataset(0)
    columns = None
    if args.columns is not None:
        columns = [c.strip() for c in args.columns.split(",") if c.strip()]
        if not columns:
            parser.error(f"--columns {args.columns!r} names no column")
    path = Path(args.data)
    if not path.is_file():
        fail(f"--data {args.data}: " + ("is a folder, not a file" if path.is_dir()
                                        else "no such file"))
    progress, close = csv_progress_bar(path)  # a bar on a terminal, for big files
    try:
        return load_csv(args.data, time_column=args.time_column, columns=columns,
                        group_column=args.group_column, progress=progress)
    except ValueError as err:
        fail(f"--data {args.data}: {data_message(str(err), args.data)}")
    except OSError as err:
        fail(f"--data {args.data}: cannot read the file ({err.strerror or err})")
    finally:
        close()


def configs(settings: dict, parser: argparse.ArgumentParser
            ) -> tuple[SolveConfig, TrainConfig]:
    """The solver and training configurations of ``settings``
    (:func:`neuralsde.train.recipe.make_configs`); exits 2 on a bad combination."""
    try:
        return make_configs(settings)
    except ValueError as err:
        parser.error(str(err))


def check_world(settings: dict, world: int, parser: argparse.ArgumentParser) -> None:
    """Refuse settings that a run split across ``world`` processes (torchrun) cannot honour.

    Args:
        settings: the resolved settings.
        world: the number of processes; 1 accepts everything.
        parser: reports a refusal (exit status 2).
    """
    if world == 1:
        return
    if settings["objective"] == "transition":
        parser.error("--objective transition runs in one process: it solves nothing (one drift "
                     "and one diffusion call per iteration), so there is no work to split; run "
                     "it without torchrun")
    if settings["model"] == "ode":
        parser.error("--model ode is deterministic, one path says everything: run it in one "
                     "process, without torchrun")
    if settings["method"] != "sri" or settings["gradient"] != "backprop":
        parser.error(f"a distributed run needs --method sri and --gradient backprop (got "
                     f"{settings['method']}, {settings['gradient']})")
    if settings["objective"] == "windows":
        if settings["windows"] < world:
            parser.error(f"--windows {settings['windows']}: the windows of an iteration are split "
                         f"whole across the {world} processes; expected --windows >= {world}")
        return
    try:
        distributed.split(settings["paths"], 0, world)
    except ValueError as err:
        parser.error(f"--paths {settings['paths']}: {err}")


def device(name: str, parser: argparse.ArgumentParser) -> torch.device:
    """The torch device ``--device`` names; exits 2 if it is malformed or unavailable."""
    try:
        found = torch.device(name)
    except RuntimeError as err:
        parser.error(f"--device {name!r}: {err}")
    if found.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {name!r}: CUDA is not available on this machine; use --device cpu")
    return found
