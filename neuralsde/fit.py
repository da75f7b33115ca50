"""Command line: fit a neural SDE to the built-in data or a CSV file and write a run folder.

    python -m neuralsde.fit                      # the reference workflow -> runs/<timestamp>/
    python -m neuralsde.fit --blog               # the DiffEqFlux blog's literal configuration
    python -m neuralsde.fit --data my.csv --out runs/mine

The run folder holds ``fit.png``, ``loss.png``, ``history.csv`` (written while training),
``metrics.json``, ``model.pt`` and ``samples.npz``; ``python -m neuralsde.fit --help`` lists every
flag. A bad flag value exits with status 2 and a message naming the flag.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from . import __version__, distributed
from .data import SCALING_METHODS, Scaling, TimeSeries, load_csv, reference_dataset
from .losses import LOSSES
from .sde import build_model
from .solve import METHODS, SolveConfig, SolverError
from .sri import TABLEAUS
from .train import (
    DIVERGENCE_POLICIES,
    TrainConfig,
    fit,
    initial_state,
    load_checkpoint,
    sample,
    save_model,
)

#: What ``python -m neuralsde.fit`` does without flags (and what ``--blog`` changes).
DEFAULTS = {
    "seed": 0, "iters": 500, "stage_iters": 300, "curriculum": True, "paths": 16,
    "samples": 100, "loss": "mse", "method": "sri", "tableau": "sriw1", "gradient": "backprop",
    "rtol": 0.1, "atol": 0.1, "dt": None, "lr": 0.01, "lr_final": 0.1, "scaling": "standard",
    "state_dim": None, "dtype": "float32", "device": "cpu", "threads": 1, "holdout": None,
    "model": "sde", "checkpoint_every": 100, "on_divergence": "restore",
}
#: The DiffEqFlux blog, literally: SOSRI, one sample path per iteration, no normalisation, a
#: constant learning rate.
BLOG = {"tableau": "sosri", "paths": 1, "scaling": "none", "lr_final": 1.0}

METRICS_KEYS = ("final_loss", "final_loss_smoothed", "path_mean_mse", "clean_mse",
                "clean_vs_data_mse", "wall_seconds", "train_seconds", "iterations", "events",
                "restores", "stopped", "solver", "samples", "sampling_error", "sample_seed",
                "settings", "data", "versions")
#: Added to metrics.json by ``--holdout``.
HOLDOUT_KEYS = ("holdout_mse", "holdout_crps", "holdout_coverage_90", "baseline_holdout_mse",
                "baseline_holdout_crps", "baseline_holdout_coverage_90", "n_train", "n_holdout")


def _integer_at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be an integer >= {minimum}")
        return value
    return parse


_positive_int = _integer_at_least(1)
_count = _integer_at_least(0)


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number > 0")
    return value


def _fraction(text):
    value = _positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number in (0, 1]")
    return value


def _open_fraction(text):
    value = _positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number in (0, 1)")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m neuralsde.fit",
        description="Fit a neural SDE dy = f(y) dt + g(y) dW (diagonal noise) to a time series and "
                    "write a run folder with plots, metrics, the model and samples. Without "
                    "--data it fits the built-in reference data (exp(x) plus noise, 7 points).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    S = argparse.SUPPRESS
    io = p.add_argument_group("data and output")
    io.add_argument("--data", metavar="FILE.csv", help="CSV file to fit (default: built-in data)")
    io.add_argument("--time-column", help="time column of --data (default: the first column)")
    io.add_argument("--columns", help="comma-separated value columns of --data (default: all "
                    "other numeric columns)")
    io.add_argument("--group-column", help="column naming the sample path of each row (panel "
                    "data in long format)")
    io.add_argument("--holdout", type=_open_fraction, default=S, metavar="FRACTION",
                    help="hold out the last FRACTION of the time points: train on the rest, "
                         "forecast them from the last training observation, score the forecast "
                         "against a random walk")
    io.add_argument("--out", metavar="DIR", help="run folder (default: runs/<timestamp>)")
    io.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    io.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last "
                    "checkpoint, with the settings stored there")
    io.add_argument("--checkpoint-every", type=_positive_int, default=S, metavar="N",
                    help="write DIR/checkpoint.pt every N iterations (and at every stage end) "
                         f"(default {DEFAULTS['checkpoint_every']})")
    io.add_argument("--on-divergence", choices=DIVERGENCE_POLICIES, default=S,
                    help="when a loss or gradient is not finite or the solver fails: restore "
                         "the last checkpoint and halve the learning rate (stop after 3 in a "
                         "row), skip the iteration, or stop (default restore)")
    tr = p.add_argument_group("training (defaults: the tuned reference workflow)")
    tr.add_argument("--blog", action="store_true",
                    help="the DiffEqFlux blog's literal configuration: SOSRI, 1 path per "
                         "iteration, no normalisation, constant learning rate (explicit flags "
                         "still win)")
    tr.add_argument("--model", choices=("sde", "ode"), default=S,
                    help="neural SDE (default) or its deterministic counterpart, a neural ODE "
                         "solved with torchdiffeq (dopri5 adaptive, rk4 with --dt)")
    tr.add_argument("--seed", type=_count, default=S, help=f"seed of initial weights and "
                    f"Brownian paths (default {DEFAULTS['seed']})")
    tr.add_argument("--iters", type=_count, default=S, help="iterations of the initial phase on "
                    f"all points (default {DEFAULTS['iters']})")
    tr.add_argument("--stage-iters", type=_count, default=S, help="iterations per curriculum "
                    f"stage (default {DEFAULTS['stage_iters']})")
    tr.add_argument("--no-curriculum", dest="curriculum", action="store_false", default=S,
                    help="only the initial phase")
    tr.add_argument("--paths", type=_positive_int, default=S, help="sample paths per iteration "
                    f"(default {DEFAULTS['paths']}; the blog: 1)")
    tr.add_argument("--loss", choices=tuple(LOSSES), default=S,
                    help=f"loss (default {DEFAULTS['loss']}: MSE of the path mean)")
    tr.add_argument("--lr", type=_positive_float, default=S,
                    help="Adam learning rate at the start of each stage "
                         f"(default {DEFAULTS['lr']})")
    tr.add_argument("--lr-final", type=_fraction, default=S, help="cosine decay to lr * this "
                    f"within each stage; 1 keeps it constant (default {DEFAULTS['lr_final']})")
    tr.add_argument("--scaling", choices=SCALING_METHODS, default=S,
                    help=f"normalisation of values for training (default {DEFAULTS['scaling']})")
    tr.add_argument("--state-dim", type=_positive_int, default=S, help="state dimension: the "
                    "observed channels first, the rest latent (default: observed + 2)")
    tr.add_argument("--samples", type=_positive_int, default=S,
                    help=f"sample paths saved and plotted (default {DEFAULTS['samples']})")
    sv = p.add_argument_group("solver")
    sv.add_argument("--method", choices=METHODS, default=S,
                    help=f"solver (default {DEFAULTS['method']}: ours; the others run in torchsde)")
    sv.add_argument("--tableau", choices=tuple(TABLEAUS), default=S,
                    help=f"SRI coefficients for --method sri (default {DEFAULTS['tableau']})")
    sv.add_argument("--gradient", choices=("backprop", "adjoint"), default=S,
                    help=f"gradient method (default {DEFAULTS['gradient']})")
    sv.add_argument("--rtol", type=_positive_float, default=S,
                    help=f"relative tolerance of adaptive steps (default {DEFAULTS['rtol']})")
    sv.add_argument("--atol", type=_positive_float, default=S,
                    help=f"absolute tolerance of adaptive steps (default {DEFAULTS['atol']})")
    sv.add_argument("--dt", type=_positive_float, default=S,
                    help="fixed step size in training time units (default: adaptive steps)")
    sv.add_argument("--dtype", choices=("float32", "float64"), default=S,
                    help=f"precision of the model (default {DEFAULTS['dtype']})")
    sv.add_argument("--device", default=S, help="torch device, e.g. cpu or cuda "
                    f"(default {DEFAULTS['device']})")
    sv.add_argument("--threads", type=_positive_int, default=S,
                    help="CPU threads for torch (default 1: the tensors are tiny and more "
                         "threads only add overhead)")
    return p


def resolve(args: argparse.Namespace) -> dict:
    """Settings from defaults, then ``--blog``, then explicit flags."""
    settings = dict(DEFAULTS)
    if args.blog:
        settings.update(BLOG)
    for key in DEFAULTS:
        if hasattr(args, key):
            settings[key] = getattr(args, key)
    settings["blog"] = args.blog
    if settings["model"] == "ode" and not hasattr(args, "paths"):
        settings["paths"] = 1  # deterministic: one path says everything
    return settings


def _load_series(args, parser) -> TimeSeries:
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
    if not Path(args.data).is_file():
        parser.error(f"--data {args.data}: no such file")
    try:
        return load_csv(args.data, time_column=args.time_column, columns=columns,
                        group_column=args.group_column)
    except ValueError as err:
        parser.error(f"--data {args.data}: {err}")


def _configs(settings, parser):
    adaptive = settings["dt"] is None
    if adaptive and settings["method"] == "euler":
        parser.error("--method euler needs a fixed step: give --dt")
    try:
        solve_config = SolveConfig(method=settings["method"], tableau=settings["tableau"],
                                   adaptive=adaptive, dt=settings["dt"], rtol=settings["rtol"],
                                   atol=settings["atol"], gradient=settings["gradient"])
    except ValueError as err:
        parser.error(f"solver flags (--method/--tableau/--gradient/--dt): {err}")
    try:
        train_config = TrainConfig(iters=settings["iters"], stage_iters=settings["stage_iters"],
                                   curriculum=settings["curriculum"], lr=settings["lr"],
                                   lr_final=settings["lr_final"], paths=settings["paths"],
                                   loss=settings["loss"], seed=settings["seed"])
    except ValueError as err:
        parser.error(f"training flags: {err}")
    if train_config.iters == 0 and (not train_config.curriculum or train_config.stage_iters == 0):
        parser.error("--iters 0 with no curriculum iterations trains nothing; give --iters >= 1")
    if settings["model"] == "ode" and settings["loss"] == "moments":
        parser.error("--loss moments fits a spread, which --model ode does not have; use --loss "
                     "mse")
    if settings["loss"] == "moments" and settings["paths"] < 2:
        parser.error("--loss moments needs --paths >= 2 (a variance across paths)")
    return solve_config, train_config


def _run_folder(out) -> Path:
    if out is not None:
        return Path(out)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path("runs") / stamp
    k = 1
    while folder.exists():
        k += 1
        folder = Path("runs") / f"{stamp}-{k}"
    return folder


def _device(name, parser) -> torch.device:
    try:
        device = torch.device(name)
    except RuntimeError as err:
        parser.error(f"--device {name!r}: {err}")
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {name!r}: CUDA is not available on this machine; use --device cpu")
    return device


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _finite_or_none(value):
    """JSON has no NaN or infinity: such numbers are written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(_finite_or_none(payload), indent=2, default=_json_default,
                              allow_nan=False) + "\n")
    os.replace(tmp, path)


def _finite_mean_mse(mean: np.ndarray, target: np.ndarray) -> float:
    ok = np.isfinite(target) & np.isfinite(mean)
    return float(np.mean((mean[ok] - target[ok]) ** 2)) if ok.any() else math.nan


#: Flags that may accompany ``--resume`` (they do not change the problem).
RESUME_FLAGS = ("quiet", "threads", "device")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 done, 2 bad flags, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    argv = list(argv) if argv is not None else sys.argv[1:]
    if distributed.launched():
        distributed.init(_device(getattr(args, "device", DEFAULTS["device"]), parser))
    try:
        if args.resume is not None:
            return _resume(parser, args, argv)
        return _new_run(parser, args, argv)
    finally:
        distributed.shutdown()


def _rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if dist.is_initialized() else 0


def _new_run(parser, args, argv) -> int:
    settings = resolve(args)
    solve_config, train_config = _configs(settings, parser)
    device = _device(settings["device"], parser)
    series = _load_series(args, parser)
    state_dim = settings["state_dim"] if settings["state_dim"] is not None else series.dim + 2
    if state_dim < series.dim:
        parser.error(f"--state-dim {state_dim} is smaller than the {series.dim} observed "
                     "channels of the data")
    settings["state_dim"] = state_dim
    if settings["holdout"] is not None and series.n_points < 3:
        parser.error(f"--holdout needs at least 3 time points (2 to train, 1 to forecast); "
                     f"{series.source} has {series.n_points}")
    folder = _run_folder(args.out)
    if _rank() == 0:  # only process 0 of a distributed run writes
        if (folder / "history.csv").exists() or (folder / "run.json").exists():
            parser.error(f"--out {folder}: the folder already holds a run; choose another "
                         f"folder or continue it with --resume {folder}")
        folder.mkdir(parents=True, exist_ok=True)
        data_args = {"data": str(Path(args.data).resolve()) if args.data else None,
                     "time_column": args.time_column, "columns": args.columns,
                     "group_column": args.group_column}
        _write_json(folder / "run.json", {"format": RUN_FORMAT, "settings": settings,
                                           "data_args": data_args, "argv": argv,
                                           "neuralsde": __version__})
    return _with_threads(settings, lambda: _run(args.quiet, settings, series, folder,
                                                solve_config, train_config, device, argv))


RUN_FORMAT = "neuralsde-run-1"


def _with_threads(settings, job):
    threads = torch.get_num_threads()
    torch.set_num_threads(settings["threads"])
    try:
        return job()
    finally:
        torch.set_num_threads(threads)


def _resume(parser, args, argv) -> int:
    """``--resume DIR``: continue the run in DIR with the settings stored there."""
    folder = Path(args.resume)
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
    if not folder.is_dir():
        parser.error(f"--resume {folder}: no such folder")
    try:
        run = json.loads((folder / "run.json").read_text())
        if run.get("format") != RUN_FORMAT:
            raise ValueError("not a neuralsde run.json")
        settings, data_args = run["settings"], run["data_args"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        parser.error(f"--resume {folder}: cannot read the run's settings from run.json ({err})")
    for key in RESUME_FLAGS:
        if key != "quiet" and hasattr(args, key):
            settings[key] = getattr(args, key)
    try:
        state = load_checkpoint(folder / "checkpoint.pt")
    except ValueError as err:
        parser.error(f"--resume {folder}: {err}")
    solve_config, train_config = _configs(settings, parser)
    device = _device(settings["device"], parser)
    data_ns = argparse.Namespace(**data_args)
    series = _load_series(data_ns, parser)
    spec = model_spec(settings)
    model = build_model(spec)
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
        parser.error(f"--resume {folder}: incompatible checkpoint: {problem}")
    return _with_threads(settings, lambda: _run(args.quiet, settings, series, folder,
                                                solve_config, train_config, device, argv,
                                                resume=state))


def holdout_split(n_points: int, fraction: float | None) -> int:
    """Number of training points when the last ``fraction`` of the time points is held out:
    ``round(n_points * (1 - fraction))``, at least 2 for training and at least 1 held out."""
    if fraction is None:
        return n_points
    n_train = int(round(n_points * (1.0 - fraction)))
    return max(2, min(n_train, n_points - 1))


def _run(quiet, settings, series, folder, solve_config, train_config, device, argv,
         resume=None) -> int:
    import torch.distributed as dist

    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    lead = rank == 0
    quiet = quiet or not lead
    shard = None
    if world > 1:
        if settings["model"] == "ode":
            raise SystemExit("neuralsde.fit: error: --model ode is deterministic, one path says "
                             "everything: run it in one process, without torchrun")
        if settings["method"] != "sri" or settings["gradient"] != "backprop":
            raise SystemExit(f"neuralsde.fit: error: a distributed run needs --method sri and "
                             f"--gradient backprop (got {settings['method']}, "
                             f"{settings['gradient']})")
        start, size = distributed.split(settings["paths"], rank, world)
        shard = distributed.Shard(start, size, settings["paths"])
    settings = {**settings, "processes": world}
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    wall_start = time.perf_counter()
    n_train = holdout_split(series.n_points, settings["holdout"])
    train = series.head(n_train)
    scaling = Scaling.fit(train, settings["scaling"])
    torch.manual_seed(settings["seed"])
    model = build_model(model_spec(settings))
    model = model.to(dtype=getattr(torch, settings["dtype"]), device=device)
    if resume is not None:
        say(f"neuralsde {__version__}: resuming {folder} at iteration {resume['iteration']}")
    else:
        say(f"neuralsde {__version__}: fitting {series.source} ({series.n_points} points, "
            f"{series.n_paths} path(s), {series.dim} channel(s)"
            + (f"; training on the first {n_train}, forecasting {series.n_points - n_train}"
               if n_train < series.n_points else "") + f") -> {folder}")
    if world > 1:
        say(f"distributed: {world} processes, {settings['paths']} paths per iteration split "
            f"{[distributed.split(settings['paths'], r, world)[1] for r in range(world)]}")
    stop = _StopOnSignal(say, enabled=world == 1)
    with stop:
        result = fit(model, scaling.transform(train), solve_config=solve_config,
                     train_config=train_config,
                     history_path=folder / "history.csv" if lead else None,
                     quiet=quiet, callbacks=[stop],
                     checkpoint_path=folder / "checkpoint.pt" if lead else None,
                     checkpoint_every=settings["checkpoint_every"],
                     on_divergence=settings["on_divergence"], resume=resume, shard=shard)
    peak = _peak_memory_mb(device)
    if not lead:
        return 0
    settings["peak_memory_mb"] = peak
    if stop.signalled:
        result.stopped = "interrupted (SIGINT)"
    write_artifacts(folder, model=model, series=series, n_train=n_train, scaling=scaling,
                    settings=settings, solve_config=solve_config, train_config=train_config,
                    result=result, wall_start=wall_start, argv=argv, say=say)
    if result.stopped.startswith("diverged"):
        say(f"stopped: {result.stopped}")
    return 130 if stop.signalled else 0


def _peak_memory_mb(device) -> dict:
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
    if device.type == "cuda":
        out["cuda"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


class _StopOnSignal:
    """A fit() callback that asks training to stop after the current iteration on Ctrl-C
    (SIGINT); a second Ctrl-C interrupts at once."""

    __name__ = "SIGINT"

    def __init__(self, say, enabled=True):
        self.say = say
        self.enabled = enabled
        self.signalled = False
        self.previous = None

    def _handler(self, signum, frame):
        if self.signalled:
            raise KeyboardInterrupt
        self.signalled = True
        self.say("\ninterrupted: finishing this iteration, then writing a checkpoint and the "
                 "artifacts (Ctrl-C again to abort)")

    def __enter__(self):
        import signal
        import threading

        if self.enabled and threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False

    def __call__(self, row, model):
        return self.signalled


def model_spec(settings: dict) -> dict:
    """The :func:`neuralsde.build_model` spec the CLI uses."""
    if settings["model"] == "ode":
        return {"kind": "ode", "state_dim": settings["state_dim"], "hidden": 20,
                "cubic": True}
    return {"kind": "reference", "state_dim": settings["state_dim"], "hidden": 20}


def _refine(times: torch.Tensor, per_interval: int = 10) -> torch.Tensor:
    """``per_interval`` even sub-steps in every interval of ``times``: a grid for figures that
    holds every time exactly and no near-duplicates."""
    if len(times) < 2:
        return times.clone()
    parts = [torch.linspace(float(a), float(b), per_interval + 1, dtype=torch.float64)[:-1]
             for a, b in zip(times[:-1], times[1:])]
    return torch.cat([*parts, times[-1:].to(torch.float64)])


def _history_rows(folder: Path) -> list[dict]:
    import csv

    path = folder / "history.csv"
    if not path.exists():
        return []
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def _observed(series: TimeSeries) -> np.ndarray:
    """(T, P, d) observations with NaN where missing."""
    return series.ys.masked_fill(~series.mask, float("nan")).numpy()


def _path_mean(observed: np.ndarray) -> np.ndarray:
    """(T, d) mean over the observed paths (NaN where none is observed)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices stay NaN
        return np.nanmean(observed, axis=1)


def _scores(samples: np.ndarray, observed: np.ndarray) -> dict:
    """Forecast scores of ``samples`` (S, T, d) against ``observed`` (T, P, d): for a panel the
    scores of the ensemble against each observed path, averaged over paths (weighted by their
    observed entries)."""
    from .metrics import forecast_scores

    totals = {"mse": 0.0, "crps": 0.0, "coverage_90": 0.0}
    weight = 0
    for p in range(observed.shape[1]):
        obs = observed[:, p, :]
        n = int(np.isfinite(obs).sum())
        if n == 0:
            continue
        scores = forecast_scores(samples, obs)
        for key in totals:
            totals[key] += n * scores[key]
        weight += n
    return {k: (v / weight if weight else math.nan) for k, v in totals.items()}


def write_artifacts(folder: Path, *, model, series: TimeSeries, n_train: int, scaling: Scaling,
                    settings: dict, solve_config: SolveConfig, train_config: TrainConfig, result,
                    wall_start: float, argv, say) -> dict:
    """Samples, plots, metrics and the model of a finished (or stopped) run.

    ``samples.npz`` holds ``t`` (T,), ``samples`` (S, T, d): the model run freely from the
    initial state over every time of the data, and ``observed`` ((T, d), or (T, P, d) for a
    panel), all in data units. With a holdout it also holds ``forecast_t``, ``forecast``
    (S, T_holdout, d): paths started from the last training observation, and ``baseline``: the
    random-walk forecast.
    """
    from .metrics import random_walk_baseline
    from .plotting import plot_fit, plot_loss, save

    d, state_dim, n = series.dim, settings["state_dim"], settings["samples"]
    train = series.head(n_train)
    ts = series.ts
    t_split = float(ts[n_train - 1])
    has_holdout = n_train < series.n_points
    y0_model = initial_state(scaling.transform(train), state_dim)
    y0_data = y0_model.clone()
    y0_data[:d] = scaling.inverse_y(y0_model[:d])
    sample_seed = settings["seed"] * 1_000_003 + 999_999

    sampling_errors = []

    def draw(y0, times, t0=None, seed=sample_seed):
        try:
            return sample(model, y0, times, n, solve_config=solve_config, seed=seed, t0=t0,
                          scaling=scaling).cpu().numpy()
        except SolverError as err:  # a diverged model: report it, keep the other artifacts
            sampling_errors.append(str(err))
            return np.full((n, len(times), state_dim), np.nan)

    free = draw(y0_data, ts)  # (S, T, state_dim)
    samples = free[..., :d]
    observed = _observed(series)  # (T, P, d)
    observed_out = observed[:, 0, :] if series.n_paths == 1 else observed
    target = _path_mean(observed)  # (T, d)
    arrays = {"t": ts.numpy(), "samples": samples, "observed": observed_out,
              "names": np.array(series.names)}
    path_mean_mse = _finite_mean_mse(samples[:, :n_train].mean(axis=0), target[:n_train])
    metrics_extra = {}
    fine = _refine(ts[:n_train])
    fine_samples = draw(y0_data, fine)[..., :d]
    fine_t = fine.numpy()
    if has_holdout:
        # Forecast from the last training observation; latent channels start at the mean of
        # the model's own latent channels at that time.
        last = _path_mean(_observed(train))[-1]  # (d,)
        for c in range(d):  # a channel missing at the last training time: its last observation
            if not np.isfinite(last[c]):
                column = _path_mean(_observed(train))[:, c]
                last[c] = column[np.isfinite(column)][-1]
        latent = free[:, n_train - 1, d:].mean(axis=0)
        y_start = torch.tensor(np.concatenate([last, np.nan_to_num(latent)]))
        future_t = ts[n_train:]
        forecast = draw(y_start, future_t, t0=t_split)[..., :d]
        future_obs = observed[n_train:]
        train_obs = _observed(train)
        baseline = random_walk_baseline(train.ts.numpy(), train_obs, np.isfinite(train_obs),
                                        future_t.numpy(), last, n_samples=n,
                                        seed=sample_seed % (2**32))
        nan_scores = {"mse": math.nan, "crps": math.nan, "coverage_90": math.nan}
        model_scores = (_scores(forecast, future_obs) if np.isfinite(forecast).all()
                        else nan_scores)
        base_scores = _scores(baseline, future_obs)
        for key in ("mse", "crps", "coverage_90"):
            metrics_extra[f"holdout_{key}"] = model_scores[key]
            metrics_extra[f"baseline_holdout_{key}"] = base_scores[key]
        metrics_extra["n_train"] = n_train
        metrics_extra["n_holdout"] = series.n_points - n_train
        arrays.update(forecast_t=future_t.numpy(), forecast=forecast, baseline=baseline)
        fine_f = _refine(ts[n_train - 1:])[1:]
        fine_forecast = draw(y_start, fine_f, t0=t_split)[..., :d]
        fine_t = np.concatenate([fine_t, fine_f.numpy()])
        fine_samples = np.concatenate([fine_samples, fine_forecast], axis=1)
    np.savez(folder / "samples.npz", **arrays)

    clean_mse = clean_vs_data = None
    if series.clean is not None:
        clean = series.clean.numpy()
        clean_mse = _finite_mean_mse(samples[:, :n_train].mean(axis=0), clean[:n_train])
        clean_vs_data = _finite_mean_mse(clean[:n_train], target[:n_train])

    reference = series.source.startswith("reference")
    title = (("Neural ODE" if settings["model"] == "ode" else "Neural SDE") + " fit"
             + (" (blog configuration)" if settings["blog"] else "")
             + f": path-mean MSE {path_mean_mse:.3g}"
             + (f", holdout CRPS {metrics_extra['holdout_crps']:.3g}" if has_holdout else ""))
    fig = plot_fit(fine_t, fine_samples, observed=observed_out, obs_t=ts.numpy(),
                   clean=series.clean.numpy() if series.clean is not None else None,
                   clean_label="exp(x), noise-free" if reference else "noise-free curve",
                   split_time=t_split if has_holdout else None, names=series.names,
                   time_label=series.time_name, title=title)
    save(fig, folder / "fit.png")

    rows = result.history if result is not None else _history_rows(folder)
    iterations = [int(r["iteration"]) for r in rows]
    losses = [float(r["loss"]) for r in rows]
    stage_idx = [int(r["stage"]) for r in rows]
    names = {}
    for r in rows:
        names.setdefault(int(r["stage"]), r["stage_name"])
    if rows:
        fig = plot_loss(iterations, losses, stages=stage_idx, stage_names=names,
                        title=f"Training loss ({train_config.loss}, {train_config.paths} path(s) "
                              "per iteration)",
                        ylabel=f"loss ({train_config.loss}, training units)")
        save(fig, folder / "loss.png")

    good = [float(r["loss"]) for r in rows if not r["event"]]
    metrics = {
        "final_loss": good[-1] if good else None,
        "final_loss_smoothed": float(np.mean(good[-20:])) if good else None,
        "path_mean_mse": path_mean_mse,
        "clean_mse": clean_mse,
        "clean_vs_data_mse": clean_vs_data,
        **metrics_extra,
        "wall_seconds": time.perf_counter() - wall_start,
        "train_seconds": result.wall_seconds if result is not None else None,
        "iterations": len(rows),
        "events": sum(1 for r in rows if r["event"]),
        "restores": sum(1 for r in rows if "restored" in r["event"]),
        "stopped": result.stopped if result is not None else "interrupted",
        "solver": result.solver_totals if result is not None else None,
        "samples": n,
        "sample_seed": sample_seed,
        "sampling_error": sampling_errors[0] if sampling_errors else None,
        "settings": {**settings, "model_spec": model.spec, "solve_config": asdict(solve_config),
                     "train_config": train_config.to_dict(), "scaling": scaling.to_dict(),
                     "argv": list(argv)},
        "data": {"source": series.source, "n_points": series.n_points, "n_paths": series.n_paths,
                 "names": list(series.names), "time_name": series.time_name},
        "versions": {"neuralsde": __version__, "torch": torch.__version__,
                     "python": platform.python_version()},
    }
    save_model(folder / "model.pt", model, scaling=scaling,
               extra={"solve_config": asdict(solve_config), "train_config": train_config.to_dict(),
                      "y0": y0_data.tolist(), "sample_seed": sample_seed,
                      "data_source": series.source, "names": list(series.names),
                      "n_train": n_train})
    _write_json(folder / "metrics.json", metrics)
    say(f"{metrics['stopped']}: {metrics['iterations']} iterations in "
        f"{metrics['wall_seconds']:.1f} s; path-mean MSE of {n} samples vs data "
        f"{path_mean_mse:.4g}" + (f" (the noise-free curve scores {clean_vs_data:.4g})"
                                  if clean_vs_data is not None else ""))
    if has_holdout:
        say("holdout ({} points): model MSE {:.4g}, CRPS {:.4g}, 90% coverage {:.2f}; random walk "
            "MSE {:.4g}, CRPS {:.4g}, coverage {:.2f}".format(
                metrics["n_holdout"], metrics["holdout_mse"], metrics["holdout_crps"],
                metrics["holdout_coverage_90"], metrics["baseline_holdout_mse"],
                metrics["baseline_holdout_crps"], metrics["baseline_holdout_coverage_90"]))
    say(f"wrote {folder}/: fit.png loss.png history.csv metrics.json model.pt samples.npz "
        "run.json checkpoint.pt")
    return metrics


if __name__ == "__main__":
    sys.exit(main())
