"""The rules that turn a table into TimeSeries arrays, for :func:`~neuralsde.data.load_csv` (a
file as pandas reads it, indexed by line number) and :meth:`TimeSeries.from_pandas` alike; errors
name the row (its index label), column and cell. pandas is imported on use."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import numpy as np

#: Cell contents (compared after stripping whitespace, case-insensitively) read as a missing value.
MISSING_TOKENS = ("", "nan", "na", "n/a", "null")


def parse_iso(cell: str) -> datetime:
    """An ISO 8601 date or datetime (``datetime.fromisoformat``, also with a trailing ``Z``);
    ValueError if ``cell`` is not one."""
    text = cell.strip()
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)


class Source(NamedTuple):
    """A table's origin, for messages: their prefix, the names of the arguments naming the time
    and group columns, of the header and of the table, and ``raw(row, column)``, a cell as
    written (default: the cell as text)."""

    where: str = "DataFrame"
    time_arg: str = "time"
    group_arg: str = "group"
    header: str = "the header"
    whole: str = "the DataFrame"
    raw: Callable[[int, int], str] | None = None

    def fail(self, message: str) -> ValueError:
        return ValueError(f"{self.where}: {message}")


def import_pandas():
    """The pandas module; ImportError with what to do when it is not installed."""
    try:
        import pandas
    except ImportError:
        raise ImportError("TimeSeries.from_pandas needs pandas (pip install pandas); "
                          "neuralsde.data.load_csv reads the same data from a CSV file.") from None
    return pandas


def header_keys(header, time: str | None, group: str | None, src: Source) -> tuple[list, str]:
    """The column names, stripped, non-empty and distinct, and the time column (default the
    first), checked with the group column: columns of the header, and not the same."""
    names = [str(name).strip() for name in header]
    if not names:
        raise src.fail(f"{src.whole} is empty; expected a header row naming the columns, then "
                       "data rows.")
    if "" in names:
        raise src.fail(f"{src.header} has an empty column name at position "
                       f"{names.index('') + 1}; every column needs a name.")
    if len(set(names)) < len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise src.fail(f"{src.header} repeats column name(s) {repeated}; names must be distinct.")
    time = names[0] if time is None else time
    _column(names, src, src.time_arg, time)
    if group is not None:
        _column(names, src, src.group_arg, group)
    if group == time:
        raise src.fail(f"{src.group_arg}={group!r} is also the time column; they must differ.")
    return names, time


def _column(names: list, src: Source, argument: str, name) -> None:
    if not isinstance(name, str):
        raise src.fail(f"{argument}={name!r} is not supported; expected a column name (string).")
    if name not in names:
        given = f"{argument} contains {name!r}" if argument == "columns" else f"{argument}={name!r}"
        raise src.fail(f"{given}, but column {name!r} is not in the header; available columns: "
                       f"{', '.join(map(repr, names))}.")


def frame_arrays(df, time: str | None = None, columns: Sequence[str] | None = None,
                 group: str | None = None, src: Source | None = None) -> dict:
    """The fields of a TimeSeries from table ``df``, by the rules of ``load_csv`` and checked in
    their order (see :meth:`TimeSeries.from_pandas`): ``ts`` (T,), ``ys`` (T, P, d) with NaN
    where missing, ``names``, ``time_name``, ``time_origin``, ``groups`` and ``source``."""
    pd, src = import_pandas(), src or Source()
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, but got {type(df).__name__}.")
    if time is None and (df.index.name is not None or isinstance(df.index, pd.DatetimeIndex)):
        df = df.reset_index()  # a named or datetime index is the time
    names, time = header_keys(df.columns, time, group, src)
    df = df.copy(deep=False)  # the data shared, the names its own
    df.columns = names
    if len(df) == 0:
        raise src.fail(f"no data rows below {src.header}.")
    times, origin = _times(pd, df, time, src)
    ids, labels = _groups(pd, df, time, group, times, src)
    grid = np.unique(times)
    zero = np.flatnonzero(grid == 0.0)
    if zero.size:  # of 0.0 and -0.0, the grid keeps the one that comes first
        grid[zero[0]] = times[np.flatnonzero(times == 0.0)[0]]
    values = _values(pd, df, names, time, group, columns, src)
    ys = np.full((grid.size, len(labels), len(values)), np.nan)
    for j, column in enumerate(values.values()):
        ys[np.searchsorted(grid, times), ids, j] = column
    return {"ts": grid, "ys": ys, "names": tuple(values), "time_name": time,
            "time_origin": origin, "groups": labels, "source": src.where}


def _row(df, k: int) -> str:
    label = df.index[k]
    return f"row {label.item() if isinstance(label, np.generic) else label!r}"


def _text(pd, cell) -> str:
    """A cell as text: ``""`` when missing, dates in ISO format."""
    if isinstance(cell, str) or np.ndim(cell) or not pd.isna(cell):
        return cell if isinstance(cell, str) else getattr(cell, "isoformat", cell.__str__)()
    return ""


def _raw(pd, df, src: Source, k: int, name: str, strip: bool = True) -> str:
    """The cell in row ``k``, column ``name`` as written (stripped)."""
    j = df.columns.get_loc(name)
    cell = _text(pd, df.iat[k, j]) if src.raw is None else src.raw(k, j)
    return cell.strip() if strip else cell


def _texts(pd, column) -> list[str]:
    """The cells as stripped text; datetimes as pandas writes them to CSV."""
    if column.dtype.kind == "M" and not column.dt.tz and column.eq(column.dt.normalize()).all():
        return [stamp.date().isoformat() for stamp in column]  # midnights: dates alone
    return [_text(pd, cell).strip() for cell in column.tolist()]


def _try(parse, text: str):
    try:
        return parse(text)
    except ValueError:
        return None


def _numbers(pd, column) -> tuple[np.ndarray, int | None, int | None, bool]:
    """The cells as float64 (NaN unless a finite number), the first cell that is not a number
    and the first not finite (positions or None; no cell after a non-number is read), and
    whether a cell is not missing."""
    if column.dtype.kind in "iuf":
        values = column.to_numpy(np.float64, na_value=np.nan)
        infinite = np.flatnonzero(np.isinf(values)).tolist()
        return values, None, (infinite or [None])[0], not np.isnan(values).all()
    values, not_finite, has_value = np.full(len(column), np.nan), None, False
    for k, cell in enumerate(column.tolist()):
        cell = _text(pd, cell).strip()
        if cell.lower() not in MISSING_TOKENS:
            has_value, value = True, _try(float, cell)
            if value is None:
                return values, k, not_finite, True
            if math.isfinite(value):
                values[k] = value
            elif not_finite is None:
                not_finite = k
    return values, None, not_finite, has_value


def _times(pd, df, time: str, src: Source) -> tuple[np.ndarray, str | None]:
    """Every row's time: numbers if the first is one, else float days (``total_seconds() /
    86400``) since the earliest ISO date, which is returned as written."""
    column = df[time]
    texts = None if column.dtype.kind in "iuf" else _texts(pd, column)
    missing = (np.flatnonzero(column.isna().to_numpy()).tolist() if texts is None else
               [k for k, text in enumerate(texts) if text.lower() in MISSING_TOKENS])
    if missing:
        raise src.fail(f"{_row(df, missing[0])}: missing time in column {time!r} (cell "
                       f"{_raw(pd, df, src, missing[0], time, strip=False)!r}); every row needs "
                       "a time.")
    if texts is None or _try(float, texts[0]) is not None:
        values, not_number, not_finite, _ = _numbers(pd, column)
        k = min((i for i in (not_number, not_finite) if i is not None), default=None)
        if k is None:
            return values, None
        what = (f"not a number (the first time, {_row(df, 0)}, is a number, so all must be)"
                if k == not_number else "not finite")
        raise src.fail(f"{_row(df, k)}: time {_raw(pd, df, src, k, time)!r} in column {time!r} "
                       f"is {what}.")
    stamps = [_try(parse_iso, text) for text in texts]
    if None in stamps:
        k = stamps.index(None)
        raise src.fail(f"{_row(df, k)}: time {_raw(pd, df, src, k, time)!r} in column {time!r} "
                       "is neither a number nor an ISO date/datetime (e.g. 2024-01-31 or "
                       "2024-01-31T12:00:00).")
    zones = {stamp.tzinfo is not None for stamp in stamps}
    if len(zones) > 1:
        raise src.fail(f"column {time!r} mixes dates with and without a time zone; use one kind "
                       "throughout.")
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc if zones.pop() else None)
    micros = [(stamp - epoch) // timedelta(microseconds=1) for stamp in stamps]
    first = micros.index(min(micros))
    return np.array([(m - micros[first]) / 10**6 / 86400.0 for m in micros]), texts[first]


def _groups(pd, df, time: str, group: str | None, times: np.ndarray, src: Source):
    """Each row's group (a position in the labels) and the labels in order of appearance,
    checked: labels present, times increasing within each group, at least 2 in each."""
    texts = None if group is None else _texts(pd, df[group])
    ids, labels = ((np.zeros(len(df), dtype=int), ("0",)) if texts is None else
                   pd.factorize(np.array(texts, dtype=object)))
    order = np.argsort(ids, kind="stable")  # each group's rows together, in table order
    after, prior = order[1:], order[:-1]
    late = np.flatnonzero((ids[after] == ids[prior]) & (times[after] <= times[prior]))
    k = late[np.argmin(after[late])] if late.size else None  # the first such row in the table
    now, before = (None, None) if k is None else (int(after[k]), int(prior[k]))
    missing = texts.index("") if texts is not None and "" in texts else None
    if missing is not None and (now is None or missing < now):
        raise src.fail(f"{_row(df, missing)}: missing group label in column {group!r}.")
    if now is not None:
        cell, cell_before = _raw(pd, df, src, now, time), _raw(pd, df, src, before, time)
        within = f"column {time!r}" if texts is None else f"group {texts[now]!r}"
        if times[now] == times[before]:
            raise src.fail(f"{_row(df, now)}: duplicate time {cell!r} in {within} (already at "
                           f"{_row(df, before)}); times must be strictly increasing within each "
                           "series.")
        raise src.fail(f"{_row(df, now)}: time {cell!r} comes before {cell_before!r} "
                       f"({_row(df, before)}) in {within}; times must be strictly increasing "
                       "within each series (sort the rows by time).")
    for label, count in zip(labels, np.bincount(ids, minlength=len(labels))):
        if count < 2:
            what = src.whole if texts is None else f"group {label!r}"
            raise src.fail(f"{what} has {count} time point; a series needs at least 2 time points.")
    return ids, tuple(labels)


def _values(pd, df, names: list, time: str, group: str | None, columns, src: Source) -> dict:
    """The value columns' values by name: ``columns``, checked, or every other column with a
    value and only numbers; each then needs a value and only finite numbers."""
    read = {}
    if columns is None:
        read = {name: _numbers(pd, df[name]) for name in names if name not in (time, group)}
        columns = [name for name, (_, bad, _, has) in read.items() if has and bad is None]
        if not columns:
            reasons = [f"{name!r} (no values)" if k is None else
                       f"{name!r} ({_row(df, k)} has {_raw(pd, df, src, k, name)!r})"
                       for name, (_, k, _, _) in read.items()]
            detail = ("non-numeric or empty columns: " + ", ".join(reasons) if reasons else
                      "the header has no column besides the time and group columns")
            raise src.fail(f"no numeric value column; {detail}. Name the value columns with "
                           "columns=.")
    elif isinstance(columns, str) or not isinstance(columns, Sequence):
        raise src.fail(f"columns={columns!r} is not supported; expected a sequence of column "
                       f"names, e.g. columns=[{columns!r}].")
    elif not columns:
        raise src.fail("columns=[] names no value column; give at least one, or leave columns "
                       "out to take every numeric column.")
    for name in [] if read else columns:  # the columns given
        _column(names, src, "columns", name)
        if name in (time, group):
            raise src.fail(f"columns contains {name!r}, which is the "
                           f"{'time' if name == time else 'group'} column; value columns must be "
                           "other columns.")
    if len(set(columns)) < len(columns):
        raise src.fail(f"columns={list(columns)!r} repeats a column name; names must be distinct.")
    result = {}
    for name in columns:
        values, not_number, not_finite, has_value = read.get(name) or _numbers(pd, df[name])
        k = min((i for i in (not_number, not_finite) if i is not None), default=None)
        if k is not None:
            what = (f"is not a number (a missing value may be empty or one of "
                    f"{MISSING_TOKENS[1:]})" if k == not_number else
                    "is not finite; use an empty cell for a missing value")
            raise src.fail(f"{_row(df, k)}, column {name!r}: value "
                           f"{_raw(pd, df, src, k, name)!r} {what}.")
        if not has_value:
            raise src.fail(f"column {name!r} has no values (every cell is missing).")
        result[name] = values
    return result
