"""Running the CLI: a new run or ``--resume``, one process or many (torchrun), SIGINT and
SIGTERM, and the one-line failures.

Exit statuses: 0 done; 2 a refusal (a bad flag, data or ``--out``; nothing written); 1 a write
that failed during the run (the files written before stay whole); 128 + n for signal n (130
Ctrl-C, 143 SIGTERM), after the artifacts when the first signal stopped the run, at once for a
second one.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

import torch

from .. import __version__, build_model, distributed
from .._checks import WriteError
from ..auto import (
    AUTO,
    AUTO_KEYS,
    Interrupted,
    base_settings,
    fit_auto,
    needs_selection,
    processes,
)
from ..data import Scaling, TimeSeries
from ..forecaster import FORECASTER_DEFAULTS, Forecaster
from ..machine import torch_threads
from ..run_files import holdout_split
from ..solvers import SolveConfig
from ..train import TrainConfig, fit, load_checkpoint
from ..train.config import FitResult
from ..train.history import HistoryFile
from ..train.recipe import fit_scaling
from .artifacts import write_artifacts
from .data_checks import check_holdout, check_holdout_windows, check_horizon
from .errors import PROG, PlainErrors, fail, say_error
from .folder import (
    RUN_FORMAT,
    check_new_folder,
    check_same_data,
    create_run,
    data_fingerprint,
    read_run,
    run_folder,
)
from .horizon import write_forecast
from .objectives import (
    check_objective,
    default_state_dim,
    default_window_length,
    make_objective,
    model_spec,
    resolve_period,
)
from .settings import DEFAULTS, build_parser, check_world, configs, device, load_series, resolve
from .signals import Aborted, StopOnSignal, exit_status

__all__ = ["RESUME_FLAGS", "RUN_FORMAT", "holdout_split", "main", "run_folder"]

#: Flags that may accompany ``--resume`` (they do not change the problem).
RESUME_FLAGS = ("quiet", "threads", "jobs", "device", "horizon", "horizon_step")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI.

    Args:
        argv: the flags (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 done, 1 a write failed (one line names the file), 130 or 143 stopped
        by SIGINT or SIGTERM. Refusals exit with status 2 (SystemExit) before writing anything.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    argv = list(argv) if argv is not None else sys.argv[1:]
    try:
        if distributed.launched():
            distributed.init(device(getattr(args, "device", DEFAULTS["device"]), parser))
        try:
            if args.resume is not None:
                status = _resume(parser, args, argv)
            else:
                status = _new_run(parser, args, argv)
            distributed.finish()
            return status
        finally:
            distributed.shutdown()
    except WriteError as err:
        say_error(str(err))
        return 1
    except Aborted as err:
        print(f"{PROG}: aborted by a second signal ({err}); the run folder keeps the last "
              "checkpoint", file=sys.stderr, flush=True)
        return exit_status(err.signum)
    except Interrupted as err:
        folder = Path(err.directory).parent
        print(f"{PROG}: stopped by {signal.Signals(err.signum).name} before the next fit of the "
              f"automatic configuration; the finished ones are kept in {err.directory}: "
              f"python -m neuralsde.fit --resume {folder} goes on", file=sys.stderr, flush=True)
        return exit_status(err.signum)
    except KeyboardInterrupt:
        print(f"{PROG}: aborted (SIGINT)", file=sys.stderr, flush=True)
        return exit_status(signal.SIGINT)


def _world() -> tuple[int, int]:
    """``(rank, world size)`` of this process: ``(0, 1)`` outside a distributed run."""
    import torch.distributed as dist

    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _new_run(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]) -> int:
    """A new run: check the flags, the data and ``--out``, write ``run.json`` in a fresh folder,
    train."""
    settings = resolve(args)
    solve_config, train_config = configs(settings, parser)
    rank, world = _world()
    check_world(settings, world, parser)
    if world > 1 and needs_selection(settings):
        parser.error("automatic configuration runs in one process: give --scaling, "
                     "--state-dim and --window-length to train with several")
    dev = device(settings["device"], parser)
    series = load_series(args, parser)
    _check_against_data(settings, series)
    folder = run_folder(args.out)
    if getattr(args, "period", None) in ("auto", "dates") and not args.quiet and rank == 0:
        found = "none" if settings["period"] is None else f"{settings['period']:.6g}"
        print(f"--period {args.period}: {found} (" + ("the training part's highest periodogram "
              "peak)" if args.period == "auto" else "the season the dates imply)"), flush=True)
    if rank == 0:  # only process 0 of a distributed run writes
        check_new_folder(folder)
        data_args = {"data": str(Path(args.data).resolve()) if args.data else None,
                     "time_column": args.time_column, "columns": args.columns,
                     "group_column": args.group_column}
        create_run(folder, settings, data_args, argv, data_fingerprint(args.data, series))
    return _with_threads(settings, lambda: _run(args.quiet, settings, series, folder,
                                                solve_config, train_config, dev, argv))


def _check_against_data(settings: dict, series: TimeSeries) -> None:
    """The checks of the flags against the data (one line, exit status 2, no usage), all before
    training: the objective's, and :mod:`~neuralsde.fit.data_checks`' of ``--holdout``,
    ``--horizon`` and ``--horizon-step``; sets ``settings["state_dim"]`` and
    ``settings["window_length"]``. Settings left to the automatic configuration (``auto``) stay
    so; the checks see the base candidate's (:mod:`neuralsde.auto`)."""
    auto = {k: AUTO for k in AUTO_KEYS if settings[k] == AUTO}
    settings.update(base_settings(settings))
    _check_resolved(settings, series)
    settings.update(auto)


def _check_resolved(settings: dict, series: TimeSeries) -> None:
    """:func:`_check_against_data` on concrete settings."""
    state_dim = default_state_dim(settings, series)
    if state_dim < series.dim:
        fail(f"--state-dim {state_dim} is smaller than the {series.dim} observed channels of the "
             "data")
    settings["state_dim"] = state_dim
    check_holdout(settings, series)
    train = series.head(holdout_split(series.n_points, settings["holdout"]))
    if settings["objective"] != "start":  # "start" refuses --period in check_objective
        try:
            settings["period"] = resolve_period(settings, train)
        except ValueError as error:
            fail(str(error))
    whole_series_length = None  # the default window length, read off the whole series
    if settings["window_length"] is None and settings["holdout"] is not None:
        whole_series_length = default_window_length(settings, series)
    settings["window_length"] = default_window_length(settings, train)
    check_holdout_windows(settings, series, whole_series_length)
    check_objective(settings, train, PlainErrors())
    check_horizon(settings, series, train)


def _with_threads(settings: dict, job):
    """``job()`` with torch using ``settings["threads"]`` CPU threads."""
    with torch_threads(settings["threads"]):
        return job()


def _stored_settings(parser: argparse.ArgumentParser, args: argparse.Namespace,
                     folder: Path) -> dict:
    """``folder/run.json``, with the flags that may accompany ``--resume`` applied to its
    settings; exits 2 if other flags are given or the file is unusable."""
    given = [key for key in (*DEFAULTS, "data", "time_column", "columns", "group_column",
                             "out")
             if key not in RESUME_FLAGS and getattr(args, key, None) not in (None,)]
    if args.blog:
        given.append("blog")
    if given:
        flags = ", ".join("--" + g.replace("_", "-") for g in given)
        parser.error(f"--resume {folder}: {flags} would change the problem; a resumed run keeps "
                     f"the settings stored in {folder / 'run.json'} (only "
                     f"{', '.join('--' + f for f in RESUME_FLAGS)} may be given)")
    run = read_run(folder)
    for key in RESUME_FLAGS:
        if key != "quiet" and hasattr(args, key):
            run["settings"][key] = getattr(args, key)
    return run


def _resume(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]) -> int:
    """``--resume DIR``: continue the run in DIR with the settings stored there, on the same
    data."""
    folder = Path(args.resume)
    run = _stored_settings(parser, args, folder)
    settings, data_args = run["settings"], run["data_args"]
    if needs_selection(settings):  # finished candidates and members are kept in selection/
        return _resume_automatic(parser, folder, settings, data_args, args, argv)
    try:
        state = load_checkpoint(folder / "checkpoint.pt")
    except ValueError as err:
        fail(f"--resume {folder}: {err}")
    solve_config, train_config = configs(settings, parser)
    check_world(settings, _world()[1], parser)
    dev = device(settings["device"], parser)
    check_same_data(folder, run)  # the file's bytes, before parsing it
    series = load_series(argparse.Namespace(**data_args), parser)
    check_same_data(folder, run, series)
    train = series.head(holdout_split(series.n_points, settings["holdout"]))
    model = build_model(model_spec(settings, fit_scaling(train, settings)))
    problem = None
    if state.get("spec") != model.spec:
        problem = f"the checkpoint's model {state.get('spec')} is not this run's {model.spec}"
    elif state.get("train_config") != train_config.to_dict():
        problem = "the checkpoint's training settings differ from run.json's"
    else:
        try:
            model.to(dtype=getattr(torch, settings["dtype"])).load_state_dict(state["model"])
        except (RuntimeError, KeyError) as err:
            problem = f"the checkpoint's weights do not fit the model ({err})"
    if problem is not None:
        fail(f"--resume {folder}: incompatible checkpoint: {problem}")
    return _with_threads(settings, lambda: _run(args.quiet, settings, series, folder,
                                                solve_config, train_config, dev, argv,
                                                resume=state))


def _resume_automatic(parser, folder: Path, settings: dict, data_args: dict, args, argv) -> int:
    """``--resume`` of an automatically configured run: the selection starts again, reading
    back every candidate and member that finished (``folder/selection``)."""
    solve_config, train_config = configs(settings, parser)
    dev = device(settings["device"], parser)
    run = read_run(folder)
    check_same_data(folder, run)
    series = load_series(argparse.Namespace(**data_args), parser)
    check_same_data(folder, run, series)
    return _with_threads(settings, lambda: _run(args.quiet, settings, series, folder,
                                                solve_config, train_config, dev, argv))


def _run(quiet: bool, settings: dict, series: TimeSeries, folder: Path,
         solve_config: SolveConfig, train_config: TrainConfig, dev: torch.device, argv,
         resume: dict | None = None) -> int:
    """Train (from ``resume``, a checkpoint, if given) and, on process 0, write the artifacts.

    The settings were checked before (:func:`~neuralsde.fit.settings.check_world` for a
    distributed run), so nothing here exits for a bad flag.
    """
    rank, world = _world()
    lead, shard = rank == 0, None
    quiet = quiet or not lead
    unit = "windows" if settings["objective"] == "windows" else "paths"  # what is split
    if world > 1:
        start, size = distributed.split(settings[unit], rank, world)
        shard = distributed.Shard(start, size, settings[unit])
    settings = {**settings, "processes": world}
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    wall_start = time.perf_counter()
    n_train = holdout_split(series.n_points, settings["holdout"])
    train = series.head(n_train)
    forecaster = None
    if settings["objective"] != "start":  # a user's series: the library's forecaster trains
        forecaster = Forecaster(quiet=quiet, **{k: settings[k] for k in FORECASTER_DEFAULTS})
    else:
        scaling = fit_scaling(train, settings)
        torch.manual_seed(settings["seed"])
        model = build_model(model_spec(settings, scaling)).to(
            dtype=getattr(torch, settings["dtype"]), device=dev)
    if resume is not None:
        say(f"neuralsde {__version__}: resuming {folder} at iteration {resume['iteration']}")
    else:
        say(f"neuralsde {__version__}: fitting {series.source} ({series.n_points} points, "
            f"{series.n_paths} path(s), {series.dim} channel(s)"
            + (f"; training on the first {n_train}, forecasting {series.n_points - n_train}"
               if n_train < series.n_points else "") + f") -> {folder}")
    if world > 1:
        say(f"distributed: {world} processes, {settings[unit]} {unit} per iteration split "
            f"{[distributed.split(settings[unit], r, world)[1] for r in range(world)]}")
    stop = StopOnSignal(say, enabled=world == 1)
    with stop:  # a signal while the artifacts are written is handled the same way
        hooks = {"history_path": folder / "history.csv" if lead else None,
                 "checkpoint_path": folder / "checkpoint.pt" if lead else None,
                 "callbacks": [stop], "resume": resume, "shard": shard}
        if forecaster is not None:
            result = (_fit_automatic(forecaster, train, folder, settings, say, stop)
                      if needs_selection(settings)
                      else forecaster._train(train, settings, quiet=quiet, **hooks))
            model, scaling = forecaster.model_, forecaster.train_scaling_
            objective_settings, net_scaling = forecaster.objective_settings_, forecaster.scaling_
        else:
            objective = make_objective(settings, scaling.transform(train), solve_config,
                                       train_config, shard)
            result = fit(model, objective=objective, train_config=train_config, quiet=quiet,
                         checkpoint_every=settings["checkpoint_every"],
                         on_divergence=settings["on_divergence"], **hooks)
            objective_settings, net_scaling = objective.settings(), None
        peak = _peak_memory_mb(dev)
        if not lead:
            return 0
        settings["peak_memory_mb"] = peak
        settings["objective_settings"] = objective_settings
        if stop.signalled:
            result.stopped = f"interrupted ({stop.name})"
        try:
            metrics = write_artifacts(folder, model=model, series=series, n_train=n_train,
                                      scaling=scaling, settings=settings,
                                      solve_config=solve_config, train_config=train_config,
                                      result=result, wall_start=wall_start, argv=argv, say=say,
                                      net_scaling=net_scaling,
                                      mixture=forecaster if "selection" in settings else None)
            if settings.get("horizon"):  # with the slope error the holdout forecast used
                forecast_with = Scaling.from_dict(metrics["settings"]["scaling"])
                write_forecast(folder, model=model, series=series, scaling=forecast_with,
                               solve_config=solve_config, settings=settings, say=say,
                               mixture=forecaster if "selection" in settings else None)
        except OSError as err:  # a writer outside atomic_write (samples.npz)
            raise WriteError.of(err, folder) from err
    if result.stopped.startswith("diverged"):
        say(f"stopped: {result.stopped}")
    return stop.status if stop.signalled else 0


def _fit_automatic(forecaster: Forecaster, train: TimeSeries, folder: Path, settings: dict,
                   say, stop: StopOnSignal) -> FitResult:
    """The automatic configuration (:mod:`neuralsde.auto`) on the training part: candidates
    and members kept in ``folder/selection`` (a killed run, resumed, skips what finished), the
    whole fitted forecaster in ``folder/forecaster.pt``, the best member's history in
    ``history.csv``. ``settings`` gets the best member's resolved settings and ``selection``.
    A signal stops the work before the next fit (:class:`~neuralsde.auto.Interrupted`)."""
    start = time.perf_counter()
    jobs = processes(settings)
    say(f"automatic configuration: validating candidates for {', '.join(AUTO_KEYS)} in {jobs} "
        f"process{'es' if jobs > 1 else ''} (kept in {folder / 'selection'})")
    fit_auto(forecaster, train, folder / "selection", should_stop=lambda: stop.signum,
             report=say)
    for key in ("scaling", "state_dim", "window_length", "period"):
        settings[key] = forecaster.settings_[key]
    settings["selection"] = forecaster.selection_
    say(f"mixture of {len(forecaster.members_)}: {' | '.join(forecaster.selection_['members'])}")
    forecaster.save(folder / "forecaster.pt")
    history = HistoryFile(folder / "history.csv")
    try:
        for row in forecaster.history_:
            history.write(row)
    finally:
        history.close()
    return FitResult(history=list(forecaster.history_),
                     wall_seconds=time.perf_counter() - start)


def _peak_memory_mb(dev: torch.device) -> dict:
    """Peak resident memory of this process (and, in a distributed run, the largest over all
    processes), plus the CUDA peak on a GPU; in MiB."""
    import resource

    import torch.distributed as dist

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    if sys.platform == "darwin":
        rss /= 1024  # bytes there
    values = torch.tensor([rss, rss])
    if dist.is_initialized():
        worst = values.clone()
        dist.all_reduce(worst, op=dist.ReduceOp.MAX)
        values[1] = worst[1]
    out = {"rss_this_process": float(values[0]), "rss_max_over_processes": float(values[1])}
    if dev.type == "cuda":
        out["cuda"] = torch.cuda.max_memory_allocated(dev) / 2**20
    return out
