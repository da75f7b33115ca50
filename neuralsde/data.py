"""Time series for fitting: the :class:`TimeSeries` container, built-in data, CSV loading, scaling.

Everything here is time-first, as in torchsde: observations ``ys`` have shape ``(T, P, d)`` for
``T`` time points, ``P`` observed sample paths (groups) and ``d`` observed channels. Missing
observations are NaN in ``ys`` and ``False`` in ``mask``.

* :func:`reference_dataset` is the DiffEqFlux neural SDE blog example's data, ``exp(x)`` plus
  uniform noise at ``x = -3, ..., 3``; ``data/exp_noisy.csv`` holds it for ``seed=0``.
* :func:`load_csv` reads a CSV file in wide format (one column per channel) or in long/panel
  format (a group column, one sample path per group).
* :class:`Scaling` is the affine normalisation used for training; it round-trips through a plain
  ``dict`` so that checkpoints can store it.

This module is a leaf: it imports only numpy, torch and the standard library.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "MISSING_TOKENS",
    "SCALING_METHODS",
    "Scaling",
    "TimeSeries",
    "load_csv",
    "reference_dataset",
]

#: Cell contents (compared after stripping whitespace, case-insensitively) read as a missing value.
MISSING_TOKENS = ("", "nan", "na", "n/a", "null")

#: Accepted values of ``Scaling.fit(..., method=...)``.
SCALING_METHODS = ("standard", "minmax", "max", "none")


# --------------------------------------------------------------------------------------------------
# The container
# --------------------------------------------------------------------------------------------------


def _shape(x) -> tuple[int, ...]:
    return tuple(x.shape)


@dataclass(eq=False, repr=False)
class TimeSeries:
    """Observations of ``P`` sample paths of ``d`` channels on one strictly increasing time grid.

    Construction checks shapes and consistency once (:meth:`__post_init__`); code below the
    boundary may rely on them. ``ts``, ``ys`` and ``clean`` are converted to float64; a 2-D ``ys``
    of shape ``(T, d)`` (and a ``mask`` of the same shape) is read as one path, ``(T, 1, d)``.

    Attributes:
        ts: time grid of shape (T,), float64, finite and strictly increasing. For panel data it is
            the union of all groups' times.
        ys: observations of shape (T, P, d), float64; NaN where missing, otherwise finite.
        mask: bool tensor of shape (T, P, d), True where observed; must equal ``~torch.isnan(ys)``.
        names: channel names, ``d`` distinct strings.
        time_name: name of the time axis (the CSV's time column).
        time_origin: when the times came from ISO dates, the origin as written in the file; ``ts``
            is then in days since it. ``None`` for numeric times.
        groups: labels of the ``P`` paths, distinct strings.
        clean: optional noise-free values of shape (T, d), when known (the reference data).
        source: where the data came from (a file path, or ``"reference(seed=0)"``).

    Raises:
        ValueError: when a shape, dtype or value breaks the rules above; shape errors name both
            shapes and what each axis means.
    """

    ts: torch.Tensor
    ys: torch.Tensor
    mask: torch.Tensor
    names: tuple[str, ...]
    time_name: str = "t"
    time_origin: str | None = None
    groups: tuple[str, ...] = ("0",)
    clean: torch.Tensor | None = None
    source: str = ""

    def __post_init__(self):
        self.ts = _as_float64("ts", self.ts)
        self.ys = _as_float64("ys", self.ys)
        self.mask = torch.as_tensor(self.mask)
        if self.mask.dtype != torch.bool:
            raise ValueError(f"mask has dtype {self.mask.dtype}; expected torch.bool "
                             "(True where observed).")
        if self.ts.ndim != 1 or self.ts.shape[0] < 1:
            raise ValueError(f"ts has shape {_shape(self.ts)}; expected (T,) with T >= 1 time "
                             "points.")
        if self.ys.ndim == 2:  # (T, d) -> one path
            self.ys = self.ys.unsqueeze(1)
            if self.mask.ndim == 2:
                self.mask = self.mask.unsqueeze(1)
        if self.ys.ndim != 3:
            raise ValueError(f"ys has shape {_shape(self.ys)}; expected (T, P, d) = (time points, "
                             "paths, channels), or (T, d) for a single path.")
        n_points, n_paths, dim = self.ys.shape
        if n_points != self.ts.shape[0]:
            raise ValueError(f"ys has shape {_shape(self.ys)} (T={n_points} time points) but ts "
                             f"has shape {_shape(self.ts)} (T={self.ts.shape[0]}); the first axis "
                             "of ys must match ts.")
        if n_paths < 1 or dim < 1:
            raise ValueError(f"ys has shape {_shape(self.ys)}; expected at least one path (P >= 1) "
                             "and one channel (d >= 1).")
        if _shape(self.mask) != _shape(self.ys):
            raise ValueError(f"mask has shape {_shape(self.mask)} but ys has shape "
                             f"{_shape(self.ys)}; they must be equal (T, P, d).")
        if not torch.isfinite(self.ts).all():
            raise ValueError("ts contains NaN or infinite values; times must be finite.")
        steps = self.ts[1:] - self.ts[:-1]
        if (steps <= 0).any():
            i = int(torch.nonzero(steps <= 0)[0, 0])
            raise ValueError(f"ts must be strictly increasing, but ts[{i + 1}]="
                             f"{self.ts[i + 1].item()!r} follows ts[{i}]={self.ts[i].item()!r}.")
        if torch.isinf(self.ys).any():
            raise ValueError("ys contains infinite values; observations must be finite, or NaN "
                             "where missing.")
        if not torch.equal(self.mask, ~torch.isnan(self.ys)):
            raise ValueError("mask disagrees with ys: mask must be True exactly where ys is not "
                             "NaN (set missing observations to NaN in ys).")
        self.names = _str_tuple("names", self.names)
        if len(self.names) != dim:
            raise ValueError(f"names={self.names!r} has {len(self.names)} entries but ys has shape "
                             f"{_shape(self.ys)} (d={dim} channels); give one name per channel.")
        self.groups = _str_tuple("groups", self.groups)
        if len(self.groups) != n_paths:
            raise ValueError(f"groups={self.groups!r} has {len(self.groups)} entries but ys has "
                             f"shape {_shape(self.ys)} (P={n_paths} paths); give one label per "
                             "path.")
        if not isinstance(self.time_name, str):
            raise ValueError(f"time_name={self.time_name!r} is not supported; expected a string.")
        if self.time_origin is not None and not isinstance(self.time_origin, str):
            raise ValueError(f"time_origin={self.time_origin!r} is not supported; expected an ISO "
                             "date string or None.")
        if not isinstance(self.source, str):
            raise ValueError(f"source={self.source!r} is not supported; expected a string.")
        if self.clean is not None:
            self.clean = _as_float64("clean", self.clean)
            if _shape(self.clean) != (n_points, dim):
                raise ValueError(f"clean has shape {_shape(self.clean)} but ys has shape "
                                 f"{_shape(self.ys)}; expected clean of shape (T, d) = "
                                 f"{(n_points, dim)}.")

    @property
    def n_points(self) -> int:
        """Number of time points ``T``."""
        return self.ys.shape[0]

    @property
    def n_paths(self) -> int:
        """Number of observed sample paths (groups) ``P``."""
        return self.ys.shape[1]

    @property
    def dim(self) -> int:
        """Number of observed channels ``d``."""
        return self.ys.shape[2]

    def head(self, n: int) -> TimeSeries:
        """The first ``n`` time points (a training part, or one curriculum stage).

        Args:
            n: number of time points to keep, ``1 <= n <= n_points``.

        Returns:
            A new :class:`TimeSeries` with ``ts`` of shape (n,) and ``ys``, ``mask`` of shape
            (n, P, d); times are not shifted.

        Raises:
            ValueError: if ``n`` is not an integer in ``[1, n_points]``.
        """
        _check_index("n", n, 1, self.n_points)
        return self._slice(slice(0, n))

    def tail_from(self, k: int) -> TimeSeries:
        """Time points ``k, k+1, ..., T-1`` (a holdout part).

        Args:
            k: first time point to keep, ``0 <= k <= n_points - 1``.

        Returns:
            A new :class:`TimeSeries` with ``T - k`` time points; times are not shifted.

        Raises:
            ValueError: if ``k`` is not an integer in ``[0, n_points - 1]``.
        """
        _check_index("k", k, 0, self.n_points - 1)
        return self._slice(slice(k, self.n_points))

    def _slice(self, index: slice) -> TimeSeries:
        return dataclasses.replace(
            self, ts=self.ts[index].clone(), ys=self.ys[index].clone(),
            mask=self.mask[index].clone(),
            clean=None if self.clean is None else self.clean[index].clone())

    def __repr__(self) -> str:
        span = f"[{self.ts[0].item():g}, {self.ts[-1].item():g}]"
        origin = "" if self.time_origin is None else f", time_origin={self.time_origin!r}"
        return (f"TimeSeries(n_points={self.n_points}, n_paths={self.n_paths}, dim={self.dim}, "
                f"names={self.names!r}, {self.time_name} in {span}{origin}, "
                f"observed={int(self.mask.sum())}/{self.mask.numel()}, source={self.source!r})")


def _as_float64(name: str, value) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{name} could not be converted to a tensor: {error}") from None
    if tensor.dtype.is_complex or tensor.dtype == torch.bool:
        raise ValueError(f"{name} has dtype {tensor.dtype}; expected real numbers (converted to "
                         "float64).")
    return tensor.to(torch.float64)


def _str_tuple(name: str, value) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"{name}={value!r} is not supported; expected a tuple of strings.")
    value = tuple(value)
    if not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name}={value!r} is not supported; expected a tuple of strings.")
    if len(set(value)) != len(value):
        raise ValueError(f"{name}={value!r} has repeated entries; they must be distinct.")
    return value


def _check_index(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name}={value!r} is not supported; expected an integer in "
                         f"[{low}, {high}].")


# --------------------------------------------------------------------------------------------------
# The reference data
# --------------------------------------------------------------------------------------------------


def reference_dataset(seed: int = 0) -> TimeSeries:
    """The DiffEqFlux neural SDE blog example's data: ``exp(x)`` plus uniform noise.

    ``x = -3, -2, ..., 3`` (7 points) and ``y = exp(x) + 2 U`` with ``U`` drawn as
    ``numpy.random.default_rng(seed).uniform(0.0, 1.0, size=7)``, so ``y - exp(x)`` lies in
    ``[0, 2)``. Time is ``t = x + 3`` on ``[0, 6]``. ``data/exp_noisy.csv`` equals
    ``reference_dataset(seed=0)``.

    Args:
        seed: seed of the numpy generator for the noise, a non-negative integer.

    Returns:
        A :class:`TimeSeries` with ``ts`` (7,) = ``[0, 1, ..., 6]``, ``ys`` (7, 1, 1), channel
        ``"y"``, time ``"t"``, ``clean`` (7, 1) = ``exp(x)`` and source
        ``"reference(seed=<seed>)"``.

    Raises:
        ValueError: if ``seed`` is not a non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} is not supported; expected a non-negative integer.")
    x = np.arange(-3.0, 4.0)  # (7,)
    noise = np.random.default_rng(int(seed)).uniform(0.0, 1.0, size=x.shape[0])
    clean = np.exp(x)
    y = clean + 2.0 * noise
    ys = torch.from_numpy(y).reshape(-1, 1, 1)  # (T, 1, 1)
    return TimeSeries(ts=torch.from_numpy(x + 3.0), ys=ys,
                      mask=torch.ones_like(ys, dtype=torch.bool),
                      names=("y",), time_name="t", clean=torch.from_numpy(clean).reshape(-1, 1),
                      source=f"reference(seed={int(seed)})")


# --------------------------------------------------------------------------------------------------
# CSV loading
# --------------------------------------------------------------------------------------------------


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING_TOKENS


def _parse_iso(cell: str) -> datetime:
    text = cell.strip()
    if text.endswith(("Z", "z")):  # datetime.fromisoformat accepts "Z" only from Python 3.11
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def load_csv(path: str | os.PathLike, *, time_column: str | None = None,
             columns: Sequence[str] | None = None, group_column: str | None = None) -> TimeSeries:
    """Read a time series from a CSV file with a header row.

    Wide format: one row per time, one column per channel. Long/panel format (``group_column``
    given): each group is one sample path with its own times; rows of different groups may be
    interleaved. The result's grid ``ts`` is the sorted union of all groups' times, and a group with
    no row at a time is NaN there (``mask`` False).

    Rules:

    * Rows are numbered as lines of the file: the header is row 1. Blank lines are skipped; every
      other row must have as many cells as the header. Surrounding whitespace is stripped.
    * Times are numbers, or ISO 8601 dates/datetimes (``datetime.fromisoformat``, plus a trailing
      ``Z``); the first row decides which, and all rows must agree. ISO times become float days
      since the earliest time, and ``time_origin`` keeps that time as written. Times may be
      irregular but must be strictly increasing, row by row, within each group (no duplicates).
    * A cell that is empty or one of ``MISSING_TOKENS`` (``nan``, ``NA``, ``n/a``, ``null``; any
      case) is a missing observation. A missing time is an error.
    * Without ``columns``, the value columns are all columns other than the time and group columns
      that have at least one value and whose values are all numbers; text columns and
      all-missing columns are left out.

    Args:
        path: the CSV file.
        time_column: name of the time column; default the first column of the header.
        columns: names of the value columns, in the order wanted; default as described above.
            Each must have at least one value, and all its values must be finite numbers.
        group_column: name of the column that labels sample paths (long/panel format); default
            none, the whole file is one path (group ``"0"``).

    Returns:
        A :class:`TimeSeries` with ``ts`` (T,), ``ys`` and ``mask`` (T, P, d), ``names`` the value
        columns, ``time_name`` the time column, ``groups`` the group labels in order of first
        appearance, and ``source`` the path.

    Raises:
        FileNotFoundError: if ``path`` is not an existing file.
        ValueError: for any problem in the file or the arguments; the message starts with the path
            and names the problem: the column, the row and the offending value, and for a missing
            column the available ones. Problems: empty file or no header, no data rows, unknown
            time/value/group column, a row with the wrong number of cells, a value that is not a
            finite number, a missing or unparsable time, times not strictly increasing (unsorted or
            duplicate) within a series, fewer than 2 time points in a series, no numeric value
            column.
    """
    path_obj = Path(path)
    where = str(path)
    if not path_obj.is_file():
        reason = "is a directory, not a file" if path_obj.is_dir() else "does not exist"
        raise FileNotFoundError(f"{where}: {reason}; load_csv needs the path of a CSV file.")

    def fail(message: str) -> ValueError:
        return ValueError(f"{where}: {message}")

    try:
        with open(path_obj, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            records = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError as error:
        raise fail(f"is not UTF-8 text ({error}).") from None
    except csv.Error as error:
        raise fail(f"is not a readable CSV file ({error}).") from None
    records = [(line, row) for line, row in records if any(cell.strip() for cell in row)]
    if not records:
        raise fail("the file is empty; expected a header row naming the columns, then data rows.")

    header_line, header = records[0]
    header = [cell.strip() for cell in header]
    rows = records[1:]
    if any(name == "" for name in header):
        raise fail(f"the header (row {header_line}) has an empty column name at position "
                   f"{header.index('') + 1}; every column needs a name.")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise fail(f"the header (row {header_line}) repeats column name(s) {repeated}; names must "
                   "be distinct.")
    index = {name: i for i, name in enumerate(header)}
    available = ", ".join(repr(name) for name in header)

    def require(argument: str, name) -> int:
        if not isinstance(name, str):
            raise fail(f"{argument}={name!r} is not supported; expected a column name (string).")
        if name not in index:
            given = f"{argument} contains {name!r}" if argument == "columns" else \
                f"{argument}={name!r}"
            raise fail(f"{given}, but column {name!r} is not in the header; available columns: "
                       f"{available}.")
        return index[name]

    if time_column is None:
        time_column = header[0]
    time_i = require("time_column", time_column)
    group_i = None
    if group_column is not None:
        group_i = require("group_column", group_column)
        if group_i == time_i:
            raise fail(f"group_column={group_column!r} is also the time column; they must differ.")
    if not rows:
        raise fail(f"no data rows below the header (row {header_line}).")
    for line, row in rows:
        if len(row) != len(header):
            raise fail(f"row {line} has {len(row)} cells but the header has {len(header)} columns "
                       f"({available}).")

    # ---- times -------------------------------------------------------------------------------
    raw_times = []
    for line, row in rows:
        cell = row[time_i].strip()
        if _is_missing(cell):
            raise fail(f"row {line}: missing time in column {time_column!r} (cell "
                       f"{row[time_i]!r}); every row needs a time.")
        raw_times.append(cell)
    first_line = rows[0][0]
    try:
        float(raw_times[0])
        numeric_times = True
    except ValueError:
        numeric_times = False
    time_origin = None
    if numeric_times:
        times = []
        for (line, _), cell in zip(rows, raw_times):
            try:
                value = float(cell)
            except ValueError:
                raise fail(f"row {line}: time {cell!r} in column {time_column!r} is not a number "
                           f"(the first time, row {first_line}, is a number, so all must be)."
                           ) from None
            if not math.isfinite(value):
                raise fail(f"row {line}: time {cell!r} in column {time_column!r} is not finite.")
            times.append(value)
    else:
        stamps = []
        for (line, _), cell in zip(rows, raw_times):
            try:
                stamps.append(_parse_iso(cell))
            except ValueError:
                raise fail(f"row {line}: time {cell!r} in column {time_column!r} is neither a "
                           "number nor an ISO date/datetime (e.g. 2024-01-31 or "
                           "2024-01-31T12:00:00).") from None
        try:
            origin_i = min(range(len(stamps)), key=stamps.__getitem__)
            origin = stamps[origin_i]
            times = [(stamp - origin).total_seconds() / 86400.0 for stamp in stamps]
        except TypeError:
            raise fail(f"column {time_column!r} mixes dates with and without a time zone; use one "
                       "kind throughout.") from None
        time_origin = raw_times[origin_i]

    # ---- groups and order within each group -----------------------------------------------------
    labels = []
    last: dict[str, tuple[float, int, str]] = {}
    counts: dict[str, int] = {}
    for (line, row), cell, t in zip(rows, raw_times, times):
        if group_i is None:
            label, within = "0", f"column {time_column!r}"
        else:
            label = row[group_i].strip()
            if label == "":
                raise fail(f"row {line}: missing group label in column {group_column!r}.")
            within = f"group {label!r}"
        if label in last:
            t_prev, line_prev, cell_prev = last[label]
            if t == t_prev:
                raise fail(f"row {line}: duplicate time {cell!r} in {within} (already at row "
                           f"{line_prev}); times must be strictly increasing within each series.")
            if t < t_prev:
                raise fail(f"row {line}: time {cell!r} comes before {cell_prev!r} (row "
                           f"{line_prev}) in {within}; times must be strictly increasing within "
                           "each series (sort the rows by time).")
        else:
            counts[label] = 0
        last[label] = (t, line, cell)
        counts[label] += 1
        labels.append(label)
    groups = tuple(counts)  # insertion order = order of first appearance
    for label, count in counts.items():
        if count < 2:
            what = "the file" if group_i is None else f"group {label!r}"
            raise fail(f"{what} has {count} time point; a series needs at least 2 time points.")

    # ---- value columns ---------------------------------------------------------------------------
    reserved = {time_i} if group_i is None else {time_i, group_i}
    if columns is None:
        chosen, skipped = [], []
        for name in header:
            i = index[name]
            if i in reserved:
                continue
            reason = None
            n_values = 0
            for line, row in rows:
                cell = row[i].strip()
                if _is_missing(cell):
                    continue
                try:
                    float(cell)
                except ValueError:
                    reason = f"{name!r} (row {line} has {cell!r})"
                    break
                n_values += 1
            if reason is None and n_values == 0:
                reason = f"{name!r} (no values)"
            if reason is None:
                chosen.append(name)
            else:
                skipped.append(reason)
        if not chosen:
            if skipped:
                detail = "non-numeric or empty columns: " + ", ".join(skipped)
            else:
                detail = "the header has no column besides the time and group columns"
            raise fail(f"no numeric value column; {detail}. Name the value columns with columns=.")
        columns = chosen
    else:
        if isinstance(columns, str) or not isinstance(columns, Sequence):
            raise fail(f"columns={columns!r} is not supported; expected a sequence of column "
                       f"names, e.g. columns=[{columns!r}].")
        columns = list(columns)
        if not columns:
            raise fail("columns=[] names no value column; give at least one, or leave columns "
                       "out to take every numeric column.")
        for name in columns:
            i = require("columns", name)
            if i in reserved:
                role = "time" if i == time_i else "group"
                raise fail(f"columns contains {name!r}, which is the {role} column; value columns "
                           "must be other columns.")
        if len(set(columns)) != len(columns):
            raise fail(f"columns={columns!r} repeats a column name; names must be distinct.")

    # ---- assemble (T, P, d) ----------------------------------------------------------------------
    grid = sorted(set(times))
    position = {t: i for i, t in enumerate(grid)}
    group_position = {label: p for p, label in enumerate(groups)}
    ys = np.full((len(grid), len(groups), len(columns)), np.nan)  # (T, P, d)
    for j, name in enumerate(columns):
        i = index[name]
        n_values = 0
        for (line, row), t, label in zip(rows, times, labels):
            cell = row[i].strip()
            if _is_missing(cell):
                continue
            try:
                value = float(cell)
            except ValueError:
                raise fail(f"row {line}, column {name!r}: value {cell!r} is not a number "
                           f"(a missing value may be empty or one of {MISSING_TOKENS[1:]})."
                           ) from None
            if not math.isfinite(value):
                raise fail(f"row {line}, column {name!r}: value {cell!r} is not finite; use an "
                           "empty cell for a missing value.")
            ys[position[t], group_position[label], j] = value
            n_values += 1
        if n_values == 0:
            raise fail(f"column {name!r} has no values (every cell is missing).")
    ys_t = torch.from_numpy(ys)
    return TimeSeries(ts=torch.tensor(grid, dtype=torch.float64), ys=ys_t, mask=~torch.isnan(ys_t),
                      names=tuple(columns), time_name=time_column, time_origin=time_origin,
                      groups=groups, source=where)


# --------------------------------------------------------------------------------------------------
# Scaling
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scaling:
    """Affine normalisation of a series for training, and its inverse.

    ``t_train = (t - t_shift) / t_scale`` and, per channel, ``y_train = (y - y_shift) / y_scale``.

    Rules of :meth:`fit` (``T`` time points on ``[t_0, t_end]``):

    * time, every method but ``"none"``: ``t_shift = t_0`` and
      ``t_scale = (t_end - t_0) / (T - 1)``, the mean spacing of the grid. Training time starts at
      0 and one unit is one observation interval on average; a regular grid becomes
      ``0, 1, ..., T-1``. Why not ``[0, 1]``: the nets output rates per unit of time, and with one
      unit per interval the rate they must produce is the data's change per interval, however long
      or dense the series (on ``[0, 1]``, 1000 points would need rates about 1000 times that).
      The reference data (``t = 0, ..., 6``) keeps its times, so step sizes and tolerances chosen
      for it mean the same with and without scaling.
    * ``"standard"``: ``y_shift`` = mean and ``y_scale`` = standard deviation (population,
      ``ddof=0``) of each channel over all observed points and paths.
    * ``"minmax"``: ``y_shift`` = minimum and ``y_scale`` = maximum - minimum, mapping onto
      ``[0, 1]``.
    * ``"max"``: ``y_shift = 0`` and ``y_scale`` = maximum of ``|y|``; signs are kept.
    * ``"none"``: the identity (shifts 0, scales 1), for time too.

    Missing values (``mask`` False) are ignored. A scale that would be 0 (a constant channel, a
    single time point) or undefined (a channel with no observation) is 1, and a channel with no
    observation gets shift 0, so nothing divides by zero.

    Attributes:
        t_shift: time shift.
        t_scale: time scale, finite and > 0.
        y_shift: per-channel shift, length d.
        y_scale: per-channel scale, length d, each finite and > 0.
        method: the method that produced it, one of ``SCALING_METHODS``.
    """

    t_shift: float
    t_scale: float
    y_shift: tuple[float, ...]
    y_scale: tuple[float, ...]
    method: str

    def __post_init__(self):
        if self.method not in SCALING_METHODS:
            raise ValueError(f"method={self.method!r} is not supported; expected one of "
                             f"{SCALING_METHODS}.")
        for name in ("t_shift", "t_scale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not math.isfinite(value):
                raise ValueError(f"{name}={value!r} is not supported; expected a finite number.")
            object.__setattr__(self, name, float(value))
        if self.t_scale <= 0:
            raise ValueError(f"t_scale={self.t_scale!r} is not supported; expected a number > 0.")
        for name in ("y_shift", "y_scale"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Sequence) or len(value) == 0 or any(
                    isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v)
                    for v in value):
                raise ValueError(f"{name}={value!r} is not supported; expected a non-empty "
                                 "sequence of finite numbers, one per channel.")
            object.__setattr__(self, name, tuple(float(v) for v in value))
        if len(self.y_shift) != len(self.y_scale):
            raise ValueError(f"y_shift has {len(self.y_shift)} entries but y_scale has "
                             f"{len(self.y_scale)}; both need one per channel.")
        if any(v <= 0 for v in self.y_scale):
            raise ValueError(f"y_scale={self.y_scale!r} is not supported; every scale must be > 0.")

    @property
    def dim(self) -> int:
        """Number of channels ``d``."""
        return len(self.y_shift)

    @classmethod
    def fit(cls, series: TimeSeries, method: str = "standard") -> Scaling:
        """Fit a scaling to a series by the rules in the class docstring.

        Args:
            series: the data, usually the training part only.
            method: one of ``SCALING_METHODS``: ``"standard"``, ``"minmax"``, ``"max"``, ``"none"``.

        Returns:
            The :class:`Scaling`.

        Raises:
            ValueError: if ``method`` is not one of ``SCALING_METHODS``.
            TypeError: if ``series`` is not a :class:`TimeSeries`.
        """
        if method not in SCALING_METHODS:
            raise ValueError(f"method={method!r} is not supported; expected one of "
                             f"{SCALING_METHODS}.")
        if not isinstance(series, TimeSeries):
            raise TypeError(f"series must be a TimeSeries, but got {type(series).__name__}.")
        dim = series.dim
        if method == "none":
            return cls(t_shift=0.0, t_scale=1.0, y_shift=(0.0,) * dim, y_scale=(1.0,) * dim,
                       method=method)
        ts = series.ts
        t_shift = ts[0].item()
        span = (ts[-1] - ts[0]).item()
        t_scale = span / (series.n_points - 1) if series.n_points > 1 else 1.0
        shifts, scales = [], []
        for j in range(dim):
            values = series.ys[..., j][series.mask[..., j]]  # observed values of channel j
            if values.numel() == 0:
                shift, scale = 0.0, 1.0
            else:
                low, high = values.min().item(), values.max().item()
                if method == "standard":
                    shift = values.mean().item()
                    scale = (values - shift).square().mean().sqrt().item()
                elif method == "minmax":
                    shift, scale = low, high - low
                else:  # "max"
                    shift, scale = 0.0, max(abs(low), abs(high))
                if high == low and method != "max":  # constant channel: spread 0
                    scale = 1.0
                if not scale > 0:
                    scale = 1.0
            shifts.append(shift)
            scales.append(scale)
        return cls(t_shift=t_shift, t_scale=t_scale, y_shift=tuple(shifts), y_scale=tuple(scales),
                   method=method)

    def _y_params(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if y.ndim < 1 or y.shape[-1] != self.dim:
            raise ValueError(f"y has shape {_shape(y)}, but this scaling has {self.dim} "
                             f"channel(s); expected shape (..., {self.dim}).")
        dtype = y.dtype if y.dtype.is_floating_point else torch.float64
        shift = torch.tensor(self.y_shift, dtype=dtype, device=y.device)
        scale = torch.tensor(self.y_scale, dtype=dtype, device=y.device)
        return shift, scale

    def transform_y(self, y: torch.Tensor) -> torch.Tensor:
        """Data units to training units, ``(y - y_shift) / y_scale``.

        Args:
            y: values of shape (..., d).

        Returns:
            A tensor of the same shape; NaN stays NaN.
        """
        shift, scale = self._y_params(y)
        return (y - shift) / scale

    def inverse_y(self, y: torch.Tensor) -> torch.Tensor:
        """Training units to data units, ``y * y_scale + y_shift``.

        Args:
            y: values of shape (..., d), e.g. solver output (T, batch, d) in training units.

        Returns:
            A tensor of the same shape in data units.

        Raises:
            ValueError: if the last axis of ``y`` is not ``d``.
        """
        shift, scale = self._y_params(y)
        return y * scale + shift

    def transform_t(self, t: torch.Tensor) -> torch.Tensor:
        """Data time to training time, ``(t - t_shift) / t_scale``; any shape."""
        return (t - self.t_shift) / self.t_scale

    def inverse_t(self, t: torch.Tensor) -> torch.Tensor:
        """Training time to data time, ``t * t_scale + t_shift``; any shape."""
        return t * self.t_scale + self.t_shift

    def transform(self, series: TimeSeries) -> TimeSeries:
        """The series in training units: ``ts``, ``ys`` and ``clean`` transformed, ``mask`` kept.

        Other fields (names, ``time_origin``, source) are copied unchanged; they describe the
        data units.

        Args:
            series: a series with ``d`` channels.

        Returns:
            A new :class:`TimeSeries`.

        Raises:
            ValueError: if ``series`` has a different number of channels than this scaling.
        """
        if not isinstance(series, TimeSeries):
            raise TypeError(f"series must be a TimeSeries, but got {type(series).__name__}.")
        if series.dim != self.dim:
            raise ValueError(f"series has ys of shape {_shape(series.ys)} (d={series.dim} "
                             f"channels) but this scaling has {self.dim} channel(s).")
        return dataclasses.replace(
            series, ts=self.transform_t(series.ts), ys=self.transform_y(series.ys),
            mask=series.mask.clone(),
            clean=None if series.clean is None else self.transform_y(series.clean))

    def to_dict(self) -> dict:
        """Plain ``dict`` of Python floats, lists and a string (JSON-safe), for checkpoints."""
        return {"method": self.method, "t_shift": self.t_shift, "t_scale": self.t_scale,
                "y_shift": list(self.y_shift), "y_scale": list(self.y_scale)}

    @classmethod
    def from_dict(cls, d: Mapping) -> Scaling:
        """Rebuild a :class:`Scaling` from :meth:`to_dict`'s output.

        Raises:
            ValueError: if keys are missing or unexpected, or a value is invalid.
        """
        if not isinstance(d, Mapping):
            raise ValueError(f"d={d!r} is not supported; expected a dict from Scaling.to_dict().")
        expected = {"method", "t_shift", "t_scale", "y_shift", "y_scale"}
        missing, extra = sorted(expected - set(d)), sorted(set(d) - expected)
        if missing or extra:
            raise ValueError(f"Scaling.from_dict got keys {sorted(d)}; missing {missing}, "
                             f"unexpected {extra}; expected exactly {sorted(expected)}.")
        return cls(t_shift=d["t_shift"], t_scale=d["t_scale"], y_shift=tuple(d["y_shift"]),
                   y_scale=tuple(d["y_scale"]), method=d["method"])
