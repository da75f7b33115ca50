"""Reading a time series from a pandas DataFrame, for :meth:`TimeSeries.from_pandas`.

The DataFrame is converted directly, not through a CSV file, but by the rules of
:func:`~neuralsde.data.load_csv` (and with its scanners for ISO dates, so origins and day counts
are the same): the time column is numbers or ISO dates (datetime columns count as ISO dates),
times strictly increase within each group, every group has at least 2 time points, and by
default the value columns are the numeric columns with at least one value. A row is named in
messages by its index label. The result is plain arrays; the caller builds the TimeSeries (this
module must not import :mod:`~neuralsde.data.series`, which imports it).

pandas is imported only when a DataFrame is converted, so the package works without it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._csv_scan import IsoColumn, first_disorder

#: Prefix of every error message about the DataFrame.
WHERE = "DataFrame"


def import_pandas():
    """The pandas module; ImportError with what to do when it is not installed."""
    try:
        import pandas
    except ImportError:
        raise ImportError("TimeSeries.from_pandas needs pandas (pip install pandas); "
                          "neuralsde.data.load_csv reads the same data from a CSV file."
                          ) from None
    return pandas


def _fail(message: str) -> ValueError:
    return ValueError(f"{WHERE}: {message}")


def frame_arrays(df, time: str | None, columns: Sequence[str] | None,
                 group: str | None) -> dict:
    """The fields of a TimeSeries from ``df`` (see :meth:`TimeSeries.from_pandas`).

    Returns:
        ``ts`` (T,), ``ys`` (T, P, d) with NaN where missing, ``names``, ``time_name``,
        ``time_origin``, ``groups`` and ``source``.

    Raises:
        TypeError: if ``df`` is not a DataFrame.
        ValueError: for a problem in the data or the arguments, starting ``"DataFrame: "``.
    """
    pd = import_pandas()
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, but got {type(df).__name__}.")
    if time is None and (df.index.name is not None or isinstance(df.index, pd.DatetimeIndex)):
        df = df.reset_index()  # a named or datetime index is the time
    header = [str(c) for c in df.columns]
    if len(set(header)) != len(header):
        raise _fail(f"column names {header!r} repeat a name; they must be distinct.")
    if not header:
        raise _fail("no columns.")
    df = df.set_axis(header, axis=1)
    time = header[0] if time is None else time
    _column(header, "time", time)
    if group is not None:
        _column(header, "group", group)
        if group == time:
            raise _fail(f"group={group!r} is also the time column; they must differ.")
    if len(df) == 0:
        raise _fail("no rows.")
    times, origin = _times(pd, df, time)
    ids, groups = _groups(pd, df, group, times, df[time].astype(str).tolist())
    names = _value_names(pd, df, header, time, group, columns)
    grid = np.unique(times)
    at = np.searchsorted(grid, times)
    ys = np.full((len(grid), len(groups), len(names)), np.nan)
    for j, name in enumerate(names):
        ys[at, ids, j] = _values(pd, df, name)
    return {"ts": grid, "ys": ys, "names": tuple(names), "time_name": time,
            "time_origin": origin, "groups": groups, "source": WHERE}


def _column(header: list[str], argument: str, name) -> None:
    """Raise ValueError unless ``name`` is one of the ``header``'s columns."""
    if not isinstance(name, str) or name not in header:
        raise _fail(f"{argument}={name!r} is not a column; available columns: "
                    f"{', '.join(map(repr, header))}.")


def _times(pd, df, time: str) -> tuple[np.ndarray, str | None]:
    """Every row's time: numbers, or days since the earliest ISO date (and that date)."""
    column = df[time]
    missing = np.flatnonzero(column.isna().to_numpy())
    if missing.size:
        raise _fail(f"row {df.index[missing[0]]!r}: missing time in column {time!r}; every row "
                    "needs a time.")
    if pd.api.types.is_bool_dtype(column):
        raise _fail(f"column {time!r} holds booleans; times must be numbers or dates.")
    if pd.api.types.is_numeric_dtype(column):
        return _finite_times(df, time, column.to_numpy(dtype=np.float64)), None
    cells = _time_cells(pd, column)
    numbers = [_number(c) for c in cells]
    if numbers[0] is not None:  # the first time decides, as in a CSV file
        if None in numbers:
            k = numbers.index(None)
            raise _fail(f"row {df.index[k]!r}: time {cells[k]!r} in column {time!r} is not a "
                        "number (the first time is a number, so all must be).")
        return _finite_times(df, time, np.array(numbers)), None
    dates = IsoColumn()
    dates.add(cells, 0)
    if dates.first_bad is not None:
        raise _fail(f"row {df.index[dates.first_bad]!r}: time {cells[dates.first_bad]!r} in "
                    f"column {time!r} is neither a number nor an ISO date/datetime (e.g. "
                    "2024-01-31 or 2024-01-31T12:00:00).")
    if dates.naive and dates.aware:
        raise _fail(f"column {time!r} mixes dates with and without a time zone; use one kind "
                    "throughout.")
    return dates.days(), dates.origin[1]


def _number(cell: str) -> float | None:
    """``float(cell)``, or None when it is not a number."""
    try:
        return float(cell)
    except ValueError:
        return None


def _finite_times(df, time: str, values: np.ndarray) -> np.ndarray:
    """``values``, checked finite."""
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise _fail(f"row {df.index[bad[0]]!r}: time {values[bad[0]]!r} in column {time!r} is "
                    "not finite.")
    return values


def _time_cells(pd, column) -> list[str]:
    """The times as ISO text: datetimes in ISO format (date only for a time zone-free column
    of midnights, as pandas writes it to CSV), other cells as text, stripped."""
    if pd.api.types.is_datetime64_any_dtype(column):
        stamps = pd.DatetimeIndex(column)
        if stamps.tz is None and (stamps == stamps.normalize()).all():
            return [s.date().isoformat() for s in stamps]
        return [s.isoformat() for s in stamps]
    return [c.isoformat() if hasattr(c, "isoformat") else str(c).strip() for c in column]


def _groups(pd, df, group: str | None, times: np.ndarray, shown: list[str]
            ) -> tuple[np.ndarray, tuple]:
    """Each row's group (its position in the labels) and the labels in order of appearance.

    Raises:
        ValueError: for a missing label, a time not after the group's previous one, or a group
            with fewer than 2 rows.
    """
    if group is None:
        ids, labels = np.zeros(len(df), dtype=np.int64), ("0",)
    else:
        column = df[group]
        text = ["" if m else str(c).strip() for c, m in zip(column, column.isna().to_numpy())]
        if "" in text:
            raise _fail(f"row {df.index[text.index('')]!r}: missing group label in column "
                        f"{group!r}.")
        codes, uniques = pd.factorize(pd.Series(text), sort=False)
        ids, labels = codes.astype(np.int64), tuple(uniques)
    disorder = first_disorder(times, None if group is None else ids)
    if disorder is not None:
        now, before = disorder
        what = "duplicate time" if times[now] == times[before] else "time"
        raise _fail(f"row {df.index[now]!r}: {what} {shown[now]!r} is not after the time "
                    f"{shown[before]!r} of row {df.index[before]!r} in its series; times must "
                    "be strictly increasing within each series (sort the rows by time).")
    for label, count in zip(labels, np.bincount(ids, minlength=len(labels))):
        if count < 2:
            what = "the DataFrame" if group is None else f"group {label!r}"
            raise _fail(f"{what} has {count} time point; a series needs at least 2 time points.")
    return ids, labels


def _value_names(pd, df, header: list[str], time: str, group: str | None,
                 columns) -> list[str]:
    """The value columns: ``columns`` checked, or every numeric column with a value."""
    reserved = {time, group}
    if columns is None:
        names = [c for c in header if c not in reserved and not pd.api.types.is_bool_dtype(df[c])
                 and pd.api.types.is_numeric_dtype(df[c]) and df[c].notna().any()]
        if not names:
            raise _fail("no numeric value column; name the value columns with columns=.")
        return names
    if isinstance(columns, str) or not isinstance(columns, Sequence) or not columns:
        raise _fail(f"columns={columns!r} is not supported; expected a non-empty sequence of "
                    "column names.")
    columns = list(columns)
    for name in columns:
        _column(header, "columns", name)
        if name in reserved:
            raise _fail(f"columns contains {name!r}, which is the time or group column; value "
                        "columns must be other columns.")
    if len(set(columns)) != len(columns):
        raise _fail(f"columns={columns!r} repeats a column name; names must be distinct.")
    return columns


def _values(pd, df, name: str) -> np.ndarray:
    """Column ``name`` as float64, NaN where missing.

    Raises:
        ValueError: for a value that is not a finite number, or a column with no value.
    """
    column = df[name]
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(column.notna().to_numpy() & ~np.isfinite(values))
    if bad.size:
        raise _fail(f"row {df.index[bad[0]]!r}, column {name!r}: value "
                    f"{column.iloc[bad[0]]!r} is not a finite number (a missing value is NaN or "
                    "None).")
    if np.isnan(values).all():
        raise _fail(f"column {name!r} has no values (every cell is missing).")
    return values
