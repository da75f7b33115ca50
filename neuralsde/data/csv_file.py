"""Reading a time series from a CSV file, in wide format (one column per channel) or in
long/panel format (a group column, one sample path per group): :func:`load_csv`, and a progress
bar for it, :func:`csv_progress_bar`.

:func:`load_csv` reads the file once, front to back (:class:`~neuralsde.data._csv_table.CsvSource`:
the header, then chunks of rows), parsing each cell once into compact arrays
(:func:`~neuralsde.data._csv_scan.scan_rows`), then checks the rules in these steps, each raising
ValueError that starts with the path; a message that quotes a row reads that row again:

1. the header and :func:`_key_columns`: find the time and group columns;
2. :func:`_check_rows`: there are data rows, each with as many cells as the header;
3. :func:`_parse_times`: every row's time, as numbers or as days since the earliest ISO date;
4. :func:`_group_rows`: group labels present, times strictly increasing within each group;
5. :func:`_value_columns`: the value columns, given or every numeric one;
6. :func:`_assemble`: the grid (the union of all times) and the values of shape ``(T, P, d)``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ._csv_scan import (
    MISSING_TOKENS,
    GroupColumn,
    IsoColumn,
    NumberColumn,
    Scan,
    first_disorder,
    scan_rows,
)
from ._csv_table import CsvSource, Progress, Table, csv_progress_bar, file_error
from .series import TimeSeries

__all__ = ["MISSING_TOKENS", "csv_progress_bar", "load_csv"]


def load_csv(path: str | os.PathLike, *, time_column: str | None = None,
             columns: Sequence[str] | None = None, group_column: str | None = None,
             progress: Progress | None = None) -> TimeSeries:
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
        progress: called as ``progress(bytes_read, total_bytes)`` with 0 at the start, after
            each chunk of 16,384 rows (strictly increasing) and with ``total_bytes`` at the end
            (not after a reading error); default None, no reports. See :func:`csv_progress_bar`.

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
            column, a ``progress`` that is not callable. Of several problems, the one named comes
            first in this order: reading (not UTF-8, not CSV) anywhere in the file; the header;
            ``time_column`` and ``group_column``; no data rows, then a row of the wrong length;
            a missing time, then one that does not parse, then mixed time zones; a missing group
            label or times out of order, whichever row comes first, then a series too short;
            ``columns`` or no numeric column; then each value column in turn, its first bad value
            before having no values. Within one kind, the first row in file order wins.
    """
    where = str(path)
    if progress is not None and not callable(progress):
        raise file_error(where, f"progress={progress!r} is not supported; expected a callable "
                                "progress(bytes_read, total_bytes) or None.")
    with CsvSource(Path(path), where, progress) as source:
        table = source.read_header()
        try:
            keys = _key_columns(table, time_column, group_column)
        except ValueError:
            source.drain()  # an error of reading later in the file comes first
            raise
        scan = scan_rows(source, len(table.header), keys.time_i, keys.group_i,
                         _columns_to_read(table, keys, columns))
    _check_rows(table, scan)
    times = _parse_times(table, keys, scan.times)
    ids, groups = _group_rows(table, keys, scan.groups, times.values)
    names = _value_columns(table, keys, columns, scan.values)
    grid, ys = _assemble(table, names, scan.values, times.values, ids, len(groups))
    ys_t = torch.from_numpy(ys)  # (T, P, d)
    return TimeSeries(ts=torch.from_numpy(grid), ys=ys_t, mask=torch.isnan(ys_t).logical_not_(),
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
        values: the times as floats (days since ``origin`` for ISO dates), shape (rows,).
        origin: the earliest ISO date as written, or None for numeric times.
    """

    values: np.ndarray
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


def _columns_to_read(table: Table, keys: _Keys, columns) -> list[int]:
    """Positions of the columns that may become value columns: the given ``columns``, or every
    column but the time and group columns; none if ``columns`` is wrong (a later error)."""
    if columns is None:
        return [i for i in range(len(table.header)) if i not in (keys.time_i, keys.group_i)]
    try:
        return [table.index[name] for name in _given_columns(table, keys, columns)]
    except (ValueError, TypeError):
        return []


def _check_rows(table: Table, scan: Scan) -> None:
    """Raise ValueError unless there is a data row and every row has one cell per column."""
    if scan.ragged is not None:
        line, row = table.rows_at([scan.ragged])[scan.ragged]
        raise table.fail(f"row {line} has {len(row)} cells but the header has "
                         f"{len(table.header)} columns ({table.available}).")
    if scan.rows == 0:
        raise table.fail(f"no data rows below the header (row {table.header_line}).")


def _parse_times(table: Table, keys: _Keys, column: NumberColumn | IsoColumn) -> _Times:
    """Every row's time: numbers if the first row's is one, ISO dates otherwise.

    Raises:
        ValueError: for a missing time, or one that does not parse like the first.
    """
    if column.first_missing is not None:
        line, row = table.rows_at([column.first_missing])[column.first_missing]
        raise table.fail(f"row {line}: missing time in column {keys.time_column!r} (cell "
                         f"{row[keys.time_i]!r}); every row needs a time.")
    if isinstance(column, NumberColumn):
        _check_numeric_times(table, keys, column)
        return _Times(column.values, None)
    return _Times(_iso_days(table, keys, column), column.origin[1])


def _check_numeric_times(table: Table, keys: _Keys, column: NumberColumn) -> None:
    """Raise ValueError for the first time that is not a number or not finite."""
    bad = column.first_bad
    if bad is None:
        return
    rows = table.rows_at([0, bad])
    line, row = rows[bad]
    cell = row[keys.time_i].strip()
    try:
        float(cell)
    except ValueError:
        raise table.fail(f"row {line}: time {cell!r} in column {keys.time_column!r} is not a "
                         f"number (the first time, row {rows[0][0]}, is a number, so all "
                         "must be).") from None
    raise table.fail(f"row {line}: time {cell!r} in column {keys.time_column!r} is not "
                     "finite.")


def _iso_days(table: Table, keys: _Keys, column: IsoColumn) -> np.ndarray:
    """The ISO dates as float days since the earliest one: ``timedelta.total_seconds() / 86400``.

    Raises:
        ValueError: for a time that is not an ISO date, or dates with and without a time zone.
    """
    if column.first_bad is not None:
        line, row = table.rows_at([column.first_bad])[column.first_bad]
        raise table.fail(f"row {line}: time {row[keys.time_i].strip()!r} in column "
                         f"{keys.time_column!r} is neither a number nor an ISO date/datetime "
                         "(e.g. 2024-01-31 or 2024-01-31T12:00:00).")
    if column.naive and column.aware:
        raise table.fail(f"column {keys.time_column!r} mixes dates with and without a time zone; "
                         "use one kind throughout.")
    return column.days()


def _group_rows(table: Table, keys: _Keys, column: GroupColumn | None, times: np.ndarray
                ) -> tuple[np.ndarray | int, tuple[str, ...]]:
    """Check each row's group label and the order of times within each group.

    Returns:
        Each row's group as the position of its label in the labels (``0`` for every row without
        a group column), and the distinct labels in order of first appearance.

    Raises:
        ValueError: for a missing label, a duplicate or decreasing time within a group, or a group
            with fewer than 2 rows.
    """
    ids = None if column is None else column.ids
    disorder = first_disorder(times, ids)
    missing = None if column is None else column.first_missing
    if missing is not None and (disorder is None or missing < disorder[0]):
        line, _ = table.rows_at([missing])[missing]
        raise table.fail(f"row {line}: missing group label in column {keys.group_column!r}.")
    if disorder is not None:
        _raise_disorder(table, keys, *disorder, times)
    if column is None:
        labels, counts = ("0",), [len(times)]
    else:
        labels, counts = tuple(column.labels), np.bincount(ids, minlength=len(column.labels))
    for label, count in zip(labels, counts):
        if count < 2:
            what = "the file" if column is None else f"group {label!r}"
            raise table.fail(f"{what} has {count} time point; a series needs at least 2 time "
                             "points.")
    return (0 if ids is None else ids), labels  # labels: in order of first appearance


def _raise_disorder(table: Table, keys: _Keys, now: int, before: int, times: np.ndarray) -> None:
    """Raise the ValueError for the row at ``now``, whose time is not after that at ``before``."""
    rows = table.rows_at([now, before])
    (line, row), (line_prev, row_prev) = rows[now], rows[before]
    cell, cell_prev = row[keys.time_i].strip(), row_prev[keys.time_i].strip()
    if keys.group_i is None:
        within = f"column {keys.time_column!r}"
    else:
        within = f"group {row[keys.group_i].strip()!r}"
    if times[now] == times[before]:
        raise table.fail(f"row {line}: duplicate time {cell!r} in {within} (already at "
                         f"row {line_prev}); times must be strictly increasing within "
                         "each series.")
    raise table.fail(f"row {line}: time {cell!r} comes before {cell_prev!r} (row "
                     f"{line_prev}) in {within}; times must be strictly increasing "
                     "within each series (sort the rows by time).")


def _value_columns(table: Table, keys: _Keys, columns: Sequence[str] | None,
                   read: dict[int, NumberColumn]) -> list[str]:
    """The value columns: ``columns`` checked, or by default every numeric column.

    Raises:
        ValueError: if ``columns`` is not a non-empty sequence of distinct names of columns other
            than the time and group columns, or by default if no column is numeric.
    """
    if columns is None:
        return _numeric_columns(table, read)
    return _given_columns(table, keys, columns)


def _given_columns(table: Table, keys: _Keys, columns) -> list[str]:
    """``columns`` as a list, checked (see :func:`_value_columns`)."""
    reserved = {keys.time_i} if keys.group_i is None else {keys.time_i, keys.group_i}
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


def _numeric_columns(table: Table, read: dict[int, NumberColumn]) -> list[str]:
    """Every column read (all but the time and group columns) with at least one value and only
    numbers, in order.

    Raises:
        ValueError: if there is none; the message names each column left out and why.
    """
    read = {table.header[i]: column for i, column in sorted(read.items())}
    chosen = [name for name, c in read.items() if c.first_not_number is None and c.has_value]
    if chosen:
        return chosen
    rows = table.rows_at(c.first_not_number for c in read.values()
                         if c.first_not_number is not None)
    reasons = [f"{name!r} (no values)" if c.first_not_number is None else
               f"{name!r} (row {rows[c.first_not_number][0]} has "
               f"{rows[c.first_not_number][1][table.index[name]].strip()!r})"
               for name, c in read.items()]
    if reasons:
        detail = "non-numeric or empty columns: " + ", ".join(reasons)
    else:
        detail = "the header has no column besides the time and group columns"
    raise table.fail(f"no numeric value column; {detail}. Name the value columns with "
                     "columns=.")


def _assemble(table: Table, names: list[str], read: dict[int, NumberColumn], times: np.ndarray,
              ids: np.ndarray | int, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Place every value on the grid of all times, NaN where a path has no value.

    Args:
        table: the file.
        names: the value columns, in the order of the channels.
        read: the columns read, by position in the header.
        times: each row's time, shape (rows,).
        ids: each row's group, as a position in the groups (shape (rows,), or one for all rows).
        n_groups: the number of groups (paths).

    Returns:
        The grid, the sorted distinct times (T,), and the values, of shape (T, P, d).

    Raises:
        ValueError: for a value that is not a finite number, or a column with no value.
    """
    for name in names:
        column = read[table.index[name]]
        if column.first_bad is not None:
            _raise_bad_value(table, name, column.first_bad)
        if not column.has_value:
            raise table.fail(f"column {name!r} has no values (every cell is missing).")
    grid = np.unique(times)  # (T,)
    zero = np.flatnonzero(grid == 0.0)
    if zero.size:  # of 0.0 and -0.0, the grid keeps the one that comes first in the file
        grid[zero[0]] = times[np.flatnonzero(times == 0.0)[0]]
    at = np.searchsorted(grid, times)  # each row's time point
    ys = np.full((len(grid), n_groups, len(names)), np.nan)  # (T, P, d)
    for j, name in enumerate(names):
        ys[at, ids, j] = read[table.index[name]].values
    return grid, ys


def _raise_bad_value(table: Table, name: str, position: int) -> None:
    """Raise the ValueError for the value of column ``name`` in the row at ``position``."""
    line, row = table.rows_at([position])[position]
    cell = row[table.index[name]].strip()
    try:
        float(cell)
    except ValueError:
        raise table.fail(f"row {line}, column {name!r}: value {cell!r} is not a number "
                         f"(a missing value may be empty or one of {MISSING_TOKENS[1:]})."
                         ) from None
    raise table.fail(f"row {line}, column {name!r}: value {cell!r} is not finite; use "
                     "an empty cell for a missing value.")
