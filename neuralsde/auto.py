"""Automatic configuration of a :class:`neuralsde.Forecaster`, as AutoARIMA chooses its orders:
the settings left at ``"auto"`` (``scaling``, ``state_dim``, ``window_length``) are chosen by
rolling-origin validation inside the training part, and up to ``ensemble`` of the best
candidates, trained on further on the whole training part, forecast as one equal-weight mixture.

How a candidate is scored: a short fit (:data:`SELECTION`) on the training part less its last
two validation horizons ``h``, then forecasts from origins a third of ``h`` apart over those two
horizons, each from the data before its origin only; the score is the mean CRPS of those
forecasts, and its spread over the origins gives the standard error of two candidates'
difference. Candidates come in stages, cheap first: the scalings (level, trend, and for positive
data log and log-trend); then, with the chosen scaling, a latent channel started by the encoder,
long windows that see slow dynamics, and both together (a cycle in a latent channel shows over
long windows).

What is chosen (:func:`_ranked`): of the candidates within one standard error of the best
score, the simplest (fewest of trend, log, latent channel, long windows: the one-standard-error
rule), as the scaling the second stage builds on; the mixture's members are that one and the
best-scored others within the error, so a candidate clearly worse than the best never dilutes
the mixture (one member when no other is close). A member starts from its validation fit's
weights (:data:`MEMBER_ITERS`); the best-scored member is listed first and gives the fitted
attributes. A series too short to validate on fits the base configuration alone, with the
validation's time spent on more iterations (:data:`UNVALIDATED_ITERS`).

A ``directory`` keeps every finished candidate's score, weights and member, so a killed fit
restarts where it stopped and ends with the numbers an uninterrupted one gives."""

from __future__ import annotations

import math
import time

import numpy as np

from ._auto_store import Store as _Store
from ._auto_store import fingerprint as _fingerprint
from ._workers import Workers, default_jobs
from .data import Scaling, TimeSeries
from .forecast_result import Forecast, PanelForecast
from .train.recipe import WINDOW_LENGTH_MAX, default_window_length, resolve_period

__all__ = ["AUTO", "AUTO_KEYS", "BASE", "MEMBER_ITERS", "SELECTION", "SELECTION_DT_MAX",
           "UNVALIDATED_ITERS", "Interrupted", "base_settings", "fit_auto", "mixture",
           "needs_selection", "processes", "split_samples"]

#: The value that asks for a setting to be chosen by validation.
AUTO = "auto"
#: The settings that can be ``"auto"``.
AUTO_KEYS = ("scaling", "state_dim", "window_length")
#: A candidate's validation fit, against the final fit: a fraction of the iterations and of
#: the windows per iteration, and a fixed step ``dt`` this many times as long, up to half the
#: spacing (never shorter than the final fit's). A member of the mixture starts from its
#: validation fit's weights and trains ``MEMBER_ITERS`` of the iterations more on the whole
#: training data, with the final fit's step.
SELECTION = {"iters": 1 / 3, "windows": 1 / 2, "dt": 2.0}
#: The longest step, in mean spacings, that :data:`SELECTION` stretches a step to.
SELECTION_DT_MAX = 0.5
MEMBER_ITERS = 1 / 3
#: A series too short to validate on fits the base configuration alone, with this many times
#: the iterations: the time the validation fits would have taken goes to the one fit.
UNVALIDATED_ITERS = 2
#: The validation horizon: a season's observations, else this many, within [2, n / 6].
VALIDATION_HORIZON = 8


#: The base candidate's value of each ``"auto"`` setting.
BASE = {"scaling": "standard", "state_dim": None, "window_length": None}


def base_settings(settings: dict) -> dict:
    """``settings`` with each ``"auto"`` setting as the base candidate's (:data:`BASE`)."""
    return {**settings, **{k: v for k, v in BASE.items() if settings.get(k) == AUTO}}


class Interrupted(Exception):
    """A stop asked for between two fits of the automatic configuration: ``signum`` (what the
    ``should_stop`` check returned) and the ``directory`` that keeps what finished."""

    def __init__(self, signum, directory):
        super().__init__(f"stopped between fits; what finished is kept in {directory}")
        self.signum, self.directory = signum, directory


def needs_selection(params: dict) -> bool:
    """Does a forecaster with ``params`` choose any setting by validation?"""
    return any(params[k] == AUTO for k in AUTO_KEYS)


def _key(overrides: dict) -> str:
    return ",".join(f"{k}={overrides[k]}" for k in sorted(overrides)) or "base"


def _validation_horizon(period, series: TimeSeries) -> int:
    spacing = float(series.ts.diff().median()) if series.n_points > 1 else 1.0
    per = VALIDATION_HORIZON
    if period is not None and spacing > 0:
        per = max(math.ceil(period / spacing - 1e-9), 2)
    return max(2, min(per, series.n_points // 6))


def _candidate(forecaster, base: dict, overrides: dict, *, selection: bool, warm=False,
               quiet=None, unvalidated=False):
    """A forecaster with ``base`` (concrete) and ``overrides``: a validation fit's when
    ``selection``, a member's from a ``warm`` start's else, and the lone fit of a series too
    short to validate on when ``unvalidated`` (:data:`UNVALIDATED_ITERS`)."""
    params = {**base, **overrides}
    if selection:
        params["iters"] = max(1, round(params["iters"] * SELECTION["iters"]))
        params["windows"] = max(1, round(params["windows"] * SELECTION["windows"]))
        if params.get("dt") is not None:
            dt = params["dt"]
            params["dt"] = max(dt, min(dt * SELECTION["dt"], SELECTION_DT_MAX))
    elif warm:
        params["iters"] = max(1, round(params["iters"] * MEMBER_ITERS))
    elif unvalidated:
        params["iters"] = params["iters"] * UNVALIDATED_ITERS
    return type(forecaster)(**params, ensemble=1,
                           quiet=forecaster.quiet if quiet is None else quiet)


def _score(forecaster, base, overrides, series: TimeSeries, h: int, quiet: bool):
    """Validate one candidate: fit on all but the last ``2 h`` points, forecast from the two
    origins, mean CRPS. Returns its row and its fitted weights (None when it could not run on
    the data: it scores infinity, with why)."""
    from .validation import rolling_origin

    start = time.perf_counter()
    candidate = _candidate(forecaster, base, overrides, selection=True, quiet=quiet)
    row, state = {"key": _key(overrides), "overrides": overrides}, None
    try:
        candidate.fit(series.head(series.n_points - 2 * h))
        state = candidate.model_.state_dict()
        step = max(1, h // 3)  # overlapping origins: more forecasts from the same fit
        frame = rolling_origin(candidate, series, h, 1 + h // step, step, refit=False)
        crps = frame["crps"].to_numpy(dtype=float)
        score = float(np.nanmean(crps))
        row["score"] = score if math.isfinite(score) else math.inf
        by_origin = frame.groupby("cutoff", sort=False)["crps"].mean()
        row["by_origin"] = [float(v) for v in by_origin]
    except ValueError as error:
        row["score"], row["refused"] = math.inf, str(error)
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row, state


def _complexity(overrides: dict) -> int:
    """How much a candidate adds to the base one: a trend or a log each count one, as do a
    latent channel and long windows."""
    scaling = overrides.get("scaling", "standard").removesuffix("-season")
    return (("log" in scaling) + ("trend" in scaling) + ("state_dim" in overrides)
            + ("window_length" in overrides))


def _within_noise(row: dict, best: dict) -> bool:
    """Is ``row``'s score within one standard error of ``best``'s? The error is that of the
    mean of the two candidates' paired differences over the validation origins."""
    if row is best or row["score"] <= best["score"]:
        return True
    a, b = row.get("by_origin"), best.get("by_origin")
    if not a or not b or len(a) != len(b) or len(a) < 2:
        return False
    diff = np.asarray(a) - np.asarray(b)
    return row["score"] - best["score"] <= float(diff.std(ddof=1)) / math.sqrt(len(diff))


def _ranked(rows: list[dict]) -> list[dict]:
    """The candidates that validation cannot tell from the best (:func:`_within_noise`), the
    simplest first (the one-standard-error rule: the choice a stage builds on), then the others
    of these by score; the mixture's members are taken from the front, so a candidate clearly
    worse than the best is never one. Only the base row when none was scored."""
    ok = [r for r in rows if r["score"] is not None and math.isfinite(r["score"])]
    if not ok:
        return [r for r in rows if r["score"] is None][:1] or rows[:1]
    best = min(ok, key=lambda r: r["score"])
    close = [r for r in ok if _within_noise(r, best)]
    first = min(close, key=lambda r: (_complexity(r["overrides"]), r["score"]))
    return [first] + sorted((r for r in close if r is not first), key=lambda r: r["score"])


def _seasonal(period, series: TimeSeries) -> bool:
    """Can ``series`` (a validation fit's data) have a seasonal profile of ``period`` removed?
    Asked of the scaling itself, which refuses too few observations per period or periods."""
    if period is None:
        return False
    try:
        Scaling.fit(series, "standard-season", period)
    except ValueError:
        return False
    return True


def _stages(forecaster, base: dict, series: TimeSeries, h: int):
    """The candidates, stage by stage: each stage a function of the rows so far that returns
    the overrides to try next."""
    auto = [k for k in AUTO_KEYS if forecaster.params[k] == AUTO]
    d = series.dim

    def scalings(rows):
        if "scaling" not in auto:
            return [{}]
        positive = bool(np.nanmin(series.ys.numpy()) > 0)
        seasonal = _seasonal(base["period"], series.head(series.n_points - 2 * h))
        return [{"scaling": s + "-season" if seasonal else s}
                for s in ("standard", "log", "trend", "log-trend")
                if positive or not s.startswith("log")]

    def structure(rows):
        top, out = _ranked(rows)[0]["overrides"], []
        latent = [{}, {"state_dim": d + 1}] if "state_dim" in auto else [{}]
        lengths = [{}]
        if "window_length" in auto:
            settings = {**forecaster._settings(), **base, **top}
            short = default_window_length({**settings, "window_length": None}, series)
            long = min(4 * short, WINDOW_LENGTH_MAX)
            if long > short:
                lengths.append({"window_length": long})
        for one in latent:  # a latent cycle shows over long windows: both together too
            out.extend({**top, **one, **two} for two in lengths if one or two)
        return out

    return (scalings, structure)


def processes(params: dict) -> int:
    """The worker processes an automatic fit with ``params`` uses: ``jobs`` (None: one per core,
    :func:`~neuralsde._workers.default_jobs`), and never more than can work at once (the 4
    scalings of the first stage, or the ``ensemble`` members)."""
    jobs = params["jobs"] or default_jobs(params["device"])
    return max(1, min(jobs, max(4, params["ensemble"])))


def fit_auto(forecaster, series: TimeSeries, directory=None, should_stop=None,
             report=None) -> None:
    """Choose ``forecaster``'s ``"auto"`` settings on ``series`` (the training data), fit the
    chosen members (:func:`_ranked`) on all of it, and set the fitted attributes (the best
    member's) and ``members_`` and ``selection_``. The fits of a stage, and the members, run in
    ``jobs`` processes (:mod:`neuralsde._workers`). ``should_stop()``, asked before every fit,
    stops the work with :class:`Interrupted` when it returns a true value (a signal's number);
    the fits already running finish and are kept. ``report(line)`` hears of each candidate
    and member as it finishes."""

    def check():
        signum = should_stop() if should_stop is not None else None
        if signum:
            raise Interrupted(signum, directory)

    base = dict(forecaster.params)
    base["period"] = resolve_period({**forecaster._settings(), "scaling": "standard"}, series)
    base = base_settings(base)
    base.pop("ensemble")
    same = {k: v for k, v in forecaster.get_params().items() if k not in ("jobs", "quiet")}
    store = _Store(directory, _fingerprint(same, series))  # jobs change no number
    h = _validation_horizon(base["period"], series)
    rows, note, weights = [], None, {}
    jobs = processes(forecaster.params)
    job = _Job(forecaster, base, series, store, weights, quiet=forecaster.quiet or jobs > 1)
    with Workers(jobs) as workers:
        if series.n_points - 2 * h < 3 * VALIDATION_HORIZON:
            note = (f"{series.n_points} points are too few to validate on (fewer than "
                    f"{2 * h + 3 * VALIDATION_HORIZON}); the base configuration was fitted, "
                    f"with {UNVALIDATED_ITERS} times the iterations")
            rows.append({"key": "base", "overrides": {}, "score": None})
        else:
            for stage in _stages(forecaster, base, series, h):
                rows.extend(job.validate(stage(rows), rows, h, workers, check, report))
        chosen = sorted(_ranked(rows)[:forecaster.params["ensemble"]],
                        key=lambda r: r["score"] or 0.0)  # the best-scored first
        members = job.members(chosen, workers, check, report)
    forecaster._adopt(members[0])
    forecaster.members_ = members
    forecaster.selection_ = {"validation_horizon": h, "candidates": rows, "note": note,
                             "members": [r["key"] for r in chosen]}


class _Job:
    """One automatic fit's fixed parts: what :func:`_score` and :func:`_member` are given,
    and the ``store`` and ``weights`` their results go to."""

    def __init__(self, forecaster, base, series, store, weights, quiet):
        self.forecaster, self.base, self.series = forecaster, base, series
        self.store, self.weights, self.quiet = store, weights, quiet

    def validate(self, candidates, known, h, workers, check, report) -> list[dict]:
        """The rows of ``candidates`` not among ``known``, in order: read from the store when
        an earlier run finished them, else scored (and stored as each finishes)."""
        out, todo = {}, []
        for overrides in candidates:
            key = _key(overrides)
            if key in out or any(r["key"] == key for r in known):
                continue
            out[key] = self.store.rows.get(key)
            if out[key] is None:
                todo.append(overrides)
            elif report is not None:
                report(_line(out[key]) + " (kept from an earlier run)")

        def done(i, result):
            row, state = result
            self.weights[row["key"]] = state
            self.store.put_weights(row["key"], state)
            self.store.put(row)
            out[row["key"]] = row
            if report is not None:
                report(_line(row))

        workers.run([(_score, (self.forecaster, self.base, overrides, self.series, h,
                               self.quiet)) for overrides in todo], done, check)
        return list(out.values())

    def members(self, chosen, workers, check, report=None) -> list:
        """The members of ``chosen`` rows, read back when an earlier run finished them."""
        out, keys, tasks = {}, [], []
        for row in chosen:
            key, path = row["key"], self.store.path("member", row["key"])
            if path is not None and path.exists():
                out[key] = type(self.forecaster).load(path)
                continue
            out[key] = None
            init = self.weights.get(key) or self.store.get_weights(key)
            keys.append(key)
            tasks.append((_member, (self.forecaster, self.base, row, self.series, init, path,
                                    self.quiet)))
        start = time.perf_counter()

        def done(i, member):
            out[keys[i]] = member
            if report is not None:
                report(f"  member {keys[i]} trained on all the data "
                       f"({time.perf_counter() - start:.1f} s)")

        workers.run(tasks, done, check)
        return list(out.values())


def _line(row: dict) -> str:
    score = "-" if row.get("score") is None else f"{row['score']:.5g}"
    seconds = f" ({row['seconds']:.1f} s)" if "seconds" in row else ""
    return f"  {row['key']:45s} validation CRPS {score}{seconds}"


def _member(forecaster, base, row, series, init, path, quiet):
    """The candidate of ``row`` fitted on all of ``series``, from its validation fit's weights
    ``init`` (from scratch with every iteration when None, and :data:`UNVALIDATED_ITERS` times
    that when nothing was validated); written to ``path`` if given."""
    from .forecaster_file import write_forecaster

    member = _candidate(forecaster, base, row["overrides"], selection=False,
                        warm=init is not None, quiet=quiet,
                        unvalidated=init is None and row.get("score", 0) is None)
    member._train(series, member.resolve(series), init=init)
    member.members_ = [member]
    if path is not None:
        write_forecaster(path, member)
    return member


def mixture(results: list):
    """One forecast whose sample paths are all of ``results``' (an equal-weight mixture when
    each has the same number of paths)."""
    first = results[0]
    if isinstance(first, PanelForecast):
        return PanelForecast([mixture([r[g] for r in results]) for g in first])
    return Forecast(times=first.times, samples=np.concatenate([r.samples for r in results]),
                    names=first.names, time_origin=first.time_origin, group=first.group)


def split_samples(samples: int, k: int) -> list[int]:
    """``samples`` paths shared by ``k`` members as evenly as possible (none gets zero)."""
    k = max(1, min(k, samples))
    return [samples // k + (i < samples % k) for i in range(k)]
