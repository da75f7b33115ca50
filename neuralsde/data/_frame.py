"""The rules that turn a table into TimeSeries arrays, shared by :func:`~neuralsde.data.load_csv`
and :meth:`TimeSeries.from_pandas`. pandas is imported on use."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np

#: Cell contents (compared after stripping whitespace, case-insensitively) read as a missing value.
MISSING_TOKENS = ("", "nan", "na", "n/a", "null")


def parse_iso(cell: str) -> datetime:
    """An ISO 8601 date or datetime (``datetime.fromisoformat``, also with a trailing ``Z``);
    ValueError if ``cell`` is not one."""
    text = cell.strip()
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)


class Source(NamedTuple):
    """A table and where it comes from, for messages: their prefix, the arguments naming the time
    and group columns, what the header and the table are called, and the table once read."""

    where: str = "DataFrame"
    time_arg: str = "time"
    group_arg: str = "group"
    header: str = "the header"
    whole: str = "the DataFrame"
    df: Any = None

    def fail(self, message: str) -> ValueError:
        return ValueError(f"{self.where}: {message}")

    def row(self, k: int) -> str:  # by its index label: in a file, its line number
        label = self.df.index[k]
        return f"row {label.item() if isinstance(label, np.generic) else label!r}"

    def cell(self, k: int, name: str, strip: bool = True) -> str:
        cell = _text(self.df.iat[k, self.df.columns.get_loc(name)])
        return cell.strip() if strip else cell


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
    """The fields of a TimeSeries from table ``df``, checked in the order of ``load_csv``'s rules
    (see :meth:`TimeSeries.from_pandas`); ``ys`` (T, P, d) is NaN where missing."""
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
    src = src._replace(df=df)
    times, origin = _times(src, time)
    ids, labels = _groups(src, time, group, times)
    values = _values(src, names, time, group, columns)
    grid = np.unique(times)
    grid[grid == 0.0] = times[times == 0.0][:1]  # of 0.0 and -0.0, the one that comes first
    ys = np.full((grid.size, len(labels), len(values)), np.nan)
    ys[np.searchsorted(grid, times), ids] = np.column_stack(list(values.values()))
    return {"ts": grid, "ys": ys, "names": tuple(values), "time_name": time,
            "time_origin": origin, "groups": labels, "source": src.where}


def _text(cell) -> str:
    """A cell as text: ``""`` when missing, dates in ISO format."""
    if isinstance(cell, str) or np.ndim(cell) or not import_pandas().isna(cell):
        return cell if isinstance(cell, str) else getattr(cell, "isoformat", cell.__str__)()
    return ""


def _texts(column) -> list[str]:
    """The cells as stripped text; datetimes as pandas writes them to CSV."""
    if column.dtype.kind == "M" and not column.dt.tz and column.eq(column.dt.normalize()).all():
        return [stamp.date().isoformat() for stamp in column]  # midnights: dates alone
    return [_text(cell).strip() for cell in column.tolist()]


def _numbers(column) -> tuple[np.ndarray, int | None, int | None, bool]:
    """The cells as float64 (NaN unless a finite number), the first cell that is not a finite
    number and the first not a number (positions or None), and whether a cell is not missing."""
    if column.dtype.kind in "iuf":
        values = column.to_numpy(np.float64, na_value=np.nan)
        return values, _first(np.isinf(values)), None, not np.isnan(values).all()
    cells = column.tolist()
    with contextlib.suppress(ValueError):  # fast, where each cell is a number and none missing
        values = np.fromiter(map(float, map(str, cells)), float, len(cells))
        if not np.isnan(values).any():
            return values, _first(np.isinf(values)), None, True
    values, bad, has_value = np.full(len(column), np.nan), None, False
    for k, cell in enumerate(cells):
        if (cell := _text(cell).strip()).lower() not in MISSING_TOKENS:
            if (value := _try(float, cell)) is None:
                return values, k if bad is None else bad, k, True
            has_value, values[k] = True, value if math.isfinite(value) else np.nan
            bad = k if bad is None and not math.isfinite(value) else bad
    return values, bad, None, has_value


def _try(parse, text: str):
    try:
        return parse(text)
    except ValueError:
        return None


def _first(flags) -> int | None:
    return int(np.argmax(flags)) if np.any(flags) else None


def _times(src: Source, time: str) -> tuple[np.ndarray, str | None]:
    """Every row's time: numbers if the first is one, else float days since the earliest ISO
    date, which is returned as written."""
    column, row = src.df[time], src.row
    texts = None if column.dtype.kind in "iuf" else _texts(column)
    if (k := _first(column.isna().to_numpy() if texts is None else
                    [text.lower() in MISSING_TOKENS for text in texts])) is not None:
        raise src.fail(f"{row(k)}: missing time in column {time!r} (cell "
                       f"{src.cell(k, time, strip=False)!r}); every row needs a time.")
    if texts is None or _try(float, texts[0]) is not None:
        values, k, text, _ = _numbers(column)
        if k is None:
            return values, None
        what = (f"not a number (the first time, {row(0)}, is a number, so all must be)"
                if k == text else "not finite")
    elif None in (stamps := [_try(parse_iso, text) for text in texts]):
        k, what = stamps.index(None), ("neither a number nor an ISO date/datetime (e.g. "
                                       "2024-01-31 or 2024-01-31T12:00:00)")
    elif len({stamp.tzinfo is not None for stamp in stamps}) > 1:
        raise src.fail(f"column {time!r} mixes dates with and without a time zone; use one kind "
                       "throughout.")
    else:
        first = stamps.index(min(stamps))
        return (np.array([(stamp - stamps[first]).total_seconds() / 86400.0 for stamp in stamps]),
                texts[first])
    raise src.fail(f"{row(k)}: time {src.cell(k, time)!r} in column {time!r} is {what}.")


def _groups(src: Source, time: str, group: str | None, times: np.ndarray):
    """Each row's group (a position in the labels) and the labels in order of appearance,
    checked: labels present, times increasing within each group, at least 2 in each."""
    n, row = len(times), src.row
    texts = None if group is None else _texts(src.df[group])
    ids, labels = ((np.zeros(n, dtype=int), ("0",)) if texts is None else
                   import_pandas().factorize(np.array(texts, dtype=object)))
    order = np.argsort(ids, kind="stable")  # each group's rows together, in table order
    after, prior = order[1:], order[:-1]
    late = (ids[after] == ids[prior]) & (times[after] <= times[prior])
    now, before = (after[late].min(), prior[late][after[late].argmin()]) if late.any() else (n, 0)
    if texts is not None and "" in texts[:now]:
        raise src.fail(f"{row(texts.index(''))}: missing group label in column {group!r}.")
    if now < n:
        cell = src.cell(now, time)
        within = f"column {time!r}" if texts is None else f"group {texts[now]!r}"
        if times[now] == times[before]:
            raise src.fail(f"{row(now)}: duplicate time {cell!r} in {within} (already at "
                           f"{row(before)}); times must be strictly increasing within each "
                           "series.")
        raise src.fail(f"{row(now)}: time {cell!r} comes before {src.cell(before, time)!r} "
                       f"({row(before)}) in {within}; times must be strictly increasing within "
                       "each series (sort the rows by time).")
    counts = np.bincount(ids, minlength=len(labels))
    if (k := _first(counts < 2)) is not None:
        what = src.whole if texts is None else f"group {labels[k]!r}"
        raise src.fail(f"{what} has {counts[k]} time point; a series needs at least 2 time "
                       "points.")
    return ids, tuple(labels)


def _values(src: Source, names: list, time: str, group: str | None, columns) -> dict:
    """The value columns' values by name: ``columns``, checked, or every other column with a
    value and only numbers; each then needs a value and only finite numbers."""
    if columns is None:
        read = {name: _numbers(src.df[name]) for name in names if name not in (time, group)}
        columns = [name for name, (_, _, text, has) in read.items() if has and text is None]
        if not columns:
            reasons = [f"{name!r} (no values)" if k is None else
                       f"{name!r} ({src.row(k)} has {src.cell(k, name)!r})"
                       for name, (_, _, k, _) in read.items()]
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
    else:
        for name in columns:
            _column(names, src, "columns", name)
            if name in (time, group):
                raise src.fail(f"columns contains {name!r}, which is the "
                               f"{'time' if name == time else 'group'} column; value columns "
                               "must be other columns.")
        if len(set(columns)) < len(columns):
            raise src.fail(f"columns={list(columns)!r} repeats a column name; names must be "
                           "distinct.")
        read = {name: _numbers(src.df[name]) for name in columns}
    for name in columns:
        _, k, text, has_value = read[name]
        if k is not None:
            what = (f"is not a number (a missing value may be empty or one of "
                    f"{MISSING_TOKENS[1:]})" if k == text else
                    "is not finite; use an empty cell for a missing value")
            raise src.fail(f"{src.row(k)}, column {name!r}: value {src.cell(k, name)!r} {what}.")
        if not has_value:
            raise src.fail(f"column {name!r} has no values (every cell is missing).")
    return {name: read[name][0] for name in columns}
