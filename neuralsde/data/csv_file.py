"""Reading a time series from a CSV file, in wide format (one column per channel) or in
long/panel format (a group column, one sample path per group): :func:`load_csv`."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from .series import TimeSeries

__all__ = ["MISSING_TOKENS", "load_csv"]

#: Cell contents (compared after stripping whitespace, case-insensitively) read as a missing value.
MISSING_TOKENS = ("", "nan", "na", "n/a", "null")


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
