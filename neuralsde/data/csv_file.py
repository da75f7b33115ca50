"""Reading a time series from a CSV file, in wide format (one column per channel) or in
long/panel format (a group column, one sample path per group): :func:`load_csv`.

:func:`load_csv` runs these steps in order, each raising ValueError that starts with the path:

1. :func:`~neuralsde.data._csv_table.read_table`: the file's non-blank rows and its header;
2. :func:`_key_columns`: find the time and group columns; then check every row's length;
3. :func:`_parse_times`: every row's time, as numbers or as days since the earliest ISO date;
4. :func:`_group_rows`: each row's group label, times strictly increasing within each group;
5. :func:`_value_columns`: the value columns, given or every numeric one;
6. :func:`_assemble`: the grid (the union of all times) and the values of shape ``(T, P, d)``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ._csv_table import Table, read_table
from .series import TimeSeries

__all__ = ["MISSING_TOKENS", "load_csv"]

#: Cell contents (compared after stripping whitespace, case-insensitively) read as a missing value.
MISSING_TOKENS = ("", "nan", "na", "n/a", "null")


def _is_missing(cell: str) -> bool:
    """Whether a cell is a missing observation (empty or one of ``MISSING_TOKENS``, any case)."""
    return cell.strip().lower() in MISSING_TOKENS


def _parse_iso(cell: str) -> datetime:
    """An ISO 8601 date or datetime, also with a trailing ``Z`` for UTC.

    Raises:
        ValueError: if ``cell`` is not ISO 8601 as ``datetime.fromisoformat`` reads it.
    """
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
    where = str(path)
    table = read_table(Path(path), where)
    keys = _key_columns(table, time_column, group_column)
    table.check_row_lengths()
    times = _parse_times(table, keys)
    labels, groups = _group_rows(table, keys, times)
    names = _value_columns(table, keys, columns)
    grid, ys = _assemble(table, names, times.values, labels, groups)  # (T,), (T, P, d)
    ys_t = torch.from_numpy(ys)
    return TimeSeries(ts=torch.tensor(grid, dtype=torch.float64), ys=ys_t, mask=~torch.isnan(ys_t),
                      names=tuple(names), time_name=keys.time_column, time_origin=times.origin,
                      groups=groups, source=where)


# --------------------------------------------------------------------------------------------------
# The steps of load_csv, in order
# --------------------------------------------------------------------------------------------------


class _Keys(NamedTuple):
    """The time column and the optional group column: names and positions in the header."""

    time_column: str
    time_i: int
    group_column: str | None
    group_i: int | None


class _Times(NamedTuple):
    """Every data row's time.

    Attributes:
        raw: the cells as written, stripped; used in messages.
        values: the times as floats (days since ``origin`` for ISO dates).
        origin: the earliest ISO date as written, or None for numeric times.
    """

    raw: list[str]
    values: list[float]
    origin: str | None


def _key_columns(table: Table, time_column: str | None, group_column: str | None) -> _Keys:
    """Find the time column (default the first) and the group column (default none).

    Raises:
        ValueError: if either is not a column of the header, or both name the same column.
    """
    if time_column is None:
        time_column = table.header[0]
    time_i = table.column("time_column", time_column)
    group_i = None
    if group_column is not None:
        group_i = table.column("group_column", group_column)
        if group_i == time_i:
            raise table.fail(f"group_column={group_column!r} is also the time column; they must "
                             "differ.")
    return _Keys(time_column, time_i, group_column, group_i)


def _parse_times(table: Table, keys: _Keys) -> _Times:
    """Read every row's time: numbers if the first row's is one, ISO dates otherwise.

    Raises:
        ValueError: for a missing time, or one that does not parse like the first.
    """
    raw = []
    for line, row in table.rows:
        cell = row[keys.time_i].strip()
        if _is_missing(cell):
            raise table.fail(f"row {line}: missing time in column {keys.time_column!r} (cell "
                             f"{row[keys.time_i]!r}); every row needs a time.")
        raw.append(cell)
    try:
        float(raw[0])
        numeric = True
    except ValueError:
        numeric = False
    if numeric:
        return _Times(raw, _numeric_times(table, keys.time_column, raw), None)
    values, origin = _iso_times(table, keys.time_column, raw)
    return _Times(raw, values, origin)


def _numeric_times(table: Table, time_column: str, raw: list[str]) -> list[float]:
    """The times as floats.

    Raises:
        ValueError: for a time that is not a number or not finite.
    """
    first_line = table.rows[0][0]
    times = []
    for (line, _), cell in zip(table.rows, raw):
        try:
            value = float(cell)
        except ValueError:
            raise table.fail(f"row {line}: time {cell!r} in column {time_column!r} is not a "
                             f"number (the first time, row {first_line}, is a number, so all "
                             "must be).") from None
        if not math.isfinite(value):
            raise table.fail(f"row {line}: time {cell!r} in column {time_column!r} is not "
                             "finite.")
        times.append(value)
    return times


def _iso_times(table: Table, time_column: str, raw: list[str]) -> tuple[list[float], str]:
    """The ISO dates as float days since the earliest one, and that one as written.

    Raises:
        ValueError: for a time that is not an ISO date, or dates with and without a time zone.
    """
    stamps = []
    for (line, _), cell in zip(table.rows, raw):
        try:
            stamps.append(_parse_iso(cell))
        except ValueError:
            raise table.fail(f"row {line}: time {cell!r} in column {time_column!r} is neither a "
                             "number nor an ISO date/datetime (e.g. 2024-01-31 or "
                             "2024-01-31T12:00:00).") from None
    try:
        origin_i = min(range(len(stamps)), key=stamps.__getitem__)
        origin = stamps[origin_i]
        times = [(stamp - origin).total_seconds() / 86400.0 for stamp in stamps]
    except TypeError:
        raise table.fail(f"column {time_column!r} mixes dates with and without a time zone; use "
                         "one kind throughout.") from None
    return times, raw[origin_i]


def _group_rows(table: Table, keys: _Keys, times: _Times) -> tuple[list[str], tuple[str, ...]]:
    """Label each row with its group and check the order of times within each group.

    Returns:
        Each row's group label (``"0"`` for every row without a group column), and the distinct
        labels in order of first appearance.

    Raises:
        ValueError: for a missing label, a duplicate or decreasing time within a group, or a group
            with fewer than 2 rows.
    """
    labels = []
    last: dict[str, tuple[float, int, str]] = {}
    counts: dict[str, int] = {}
    for (line, row), cell, t in zip(table.rows, times.raw, times.values):
        if keys.group_i is None:
            label, within = "0", f"column {keys.time_column!r}"
        else:
            label = row[keys.group_i].strip()
            if label == "":
                raise table.fail(f"row {line}: missing group label in column "
                                 f"{keys.group_column!r}.")
            within = f"group {label!r}"
        if label in last:
            t_prev, line_prev, cell_prev = last[label]
            if t == t_prev:
                raise table.fail(f"row {line}: duplicate time {cell!r} in {within} (already at "
                                 f"row {line_prev}); times must be strictly increasing within "
                                 "each series.")
            if t < t_prev:
                raise table.fail(f"row {line}: time {cell!r} comes before {cell_prev!r} (row "
                                 f"{line_prev}) in {within}; times must be strictly increasing "
                                 "within each series (sort the rows by time).")
        else:
            counts[label] = 0
        last[label] = (t, line, cell)
        counts[label] += 1
        labels.append(label)
    for label, count in counts.items():
        if count < 2:
            what = "the file" if keys.group_i is None else f"group {label!r}"
            raise table.fail(f"{what} has {count} time point; a series needs at least 2 time "
                             "points.")
    return labels, tuple(counts)  # insertion order = order of first appearance


def _value_columns(table: Table, keys: _Keys, columns: Sequence[str] | None) -> list[str]:
    """The value columns: ``columns`` checked, or by default every numeric column.

    Raises:
        ValueError: if ``columns`` is not a non-empty sequence of distinct names of columns other
            than the time and group columns, or by default if no column is numeric.
    """
    reserved = {keys.time_i} if keys.group_i is None else {keys.time_i, keys.group_i}
    if columns is None:
        return _numeric_columns(table, reserved)
    if isinstance(columns, str) or not isinstance(columns, Sequence):
        raise table.fail(f"columns={columns!r} is not supported; expected a sequence of column "
                         f"names, e.g. columns=[{columns!r}].")
    columns = list(columns)
    if not columns:
        raise table.fail("columns=[] names no value column; give at least one, or leave columns "
                         "out to take every numeric column.")
    for name in columns:
        i = table.column("columns", name)
        if i in reserved:
            role = "time" if i == keys.time_i else "group"
            raise table.fail(f"columns contains {name!r}, which is the {role} column; value "
                             "columns must be other columns.")
    if len(set(columns)) != len(columns):
        raise table.fail(f"columns={columns!r} repeats a column name; names must be distinct.")
    return columns


def _numeric_columns(table: Table, reserved: set[int]) -> list[str]:
    """Every column outside ``reserved`` with at least one value and only numbers, in order.

    Raises:
        ValueError: if there is none; the message names each column left out and why.
    """
    chosen, skipped = [], []
    for name in table.header:
        i = table.index[name]
        if i in reserved:
            continue
        reason = None
        n_values = 0
        for line, row in table.rows:
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
        raise table.fail(f"no numeric value column; {detail}. Name the value columns with "
                         "columns=.")
    return chosen


def _assemble(table: Table, names: list[str], times: list[float], labels: list[str],
              groups: tuple[str, ...]) -> tuple[list[float], np.ndarray]:
    """Place every value on the grid of all times, NaN where a path has no value.

    Args:
        table: the file.
        names: the value columns, in the order of the channels.
        times: each row's time.
        labels: each row's group label.
        groups: the distinct labels, in the order of the paths.

    Returns:
        The grid, the sorted distinct times (T,), and the values, of shape (T, P, d).

    Raises:
        ValueError: for a value that is not a finite number, or a column with no value.
    """
    grid = sorted(set(times))  # (T,)
    position = {t: i for i, t in enumerate(grid)}
    group_position = {label: p for p, label in enumerate(groups)}
    ys = np.full((len(grid), len(groups), len(names)), np.nan)  # (T, P, d)
    for j, name in enumerate(names):
        i = table.index[name]
        n_values = 0
        for (line, row), t, label in zip(table.rows, times, labels):
            cell = row[i].strip()
            if _is_missing(cell):
                continue
            try:
                value = float(cell)
            except ValueError:
                raise table.fail(f"row {line}, column {name!r}: value {cell!r} is not a number "
                                 f"(a missing value may be empty or one of {MISSING_TOKENS[1:]})."
                                 ) from None
            if not math.isfinite(value):
                raise table.fail(f"row {line}, column {name!r}: value {cell!r} is not finite; use "
                                 "an empty cell for a missing value.")
            ys[position[t], group_position[label], j] = value
            n_values += 1
        if n_values == 0:
            raise table.fail(f"column {name!r} has no values (every cell is missing).")
    return grid, ys
