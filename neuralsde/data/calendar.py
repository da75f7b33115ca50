"""Forecast times that follow a dated series' calendar.

A series read from ISO dates stores its times as float days since ``time_origin``
(:class:`~neuralsde.data.TimeSeries`). Monthly, quarterly and yearly dates are not equally
spaced in days, so a forecast at a fixed step of days drifts off the pattern (quarter ends at
91 days: 2009-09-30, 2009-12-30, 2010-03-31, ...). :func:`calendar_times` continues such dates
on their calendar instead: month ends stay month ends, month starts stay month starts, quarter
ends stay quarter ends, yearly dates stay on the same day of the year. :func:`offset_times`
continues any dated series at a pandas offset alias (``"MS"``, ``"QE"``, ``"W"``, ``"h"``, ...)
that the caller chooses.

Both return times in the series' representation, float days since ``time_origin``, computed
from whole microseconds as the CSV loader computes them, so whole dates come out as whole
days exactly. Dates are read in the origin's own time zone offset (as
:meth:`neuralsde.Forecast.time_labels` writes them back).

pandas does the calendar arithmetic (``pandas.infer_freq`` and its offsets); it is imported
only here, when a function is called. Without pandas, :func:`calendar_times` returns None (the
caller's fixed step applies) and :func:`parse_offset` raises ValueError.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime

import numpy as np

from .series import TimeSeries

__all__ = ["OFFSET_EXAMPLES", "calendar_times", "offset_times", "parse_offset"]

#: Offset aliases named in messages as examples of what is accepted.
OFFSET_EXAMPLES = "MS, ME (or M), QS, QE (or Q), YS, YE (or Y), W, D, h, or a multiple such as 2MS"

#: Older pandas aliases and the names pandas >= 2.2 gives them (the old ones warn there).
_RENAMED = {"M": "ME", "Q": "QE", "Y": "YE", "A": "YE", "BM": "BME", "BQ": "BQE", "BY": "BYE",
            "BA": "BYE", "SM": "SME", "H": "h", "BH": "bh", "T": "min", "S": "s", "L": "ms",
            "U": "us", "N": "ns"}
_ALIAS = re.compile(r"^\s*([+]?\d*)\s*([A-Za-z]+)(-[A-Za-z]+)?\s*$")
_MICROS_PER_DAY = 86_400 * 10**6


def parse_offset(alias: str, name: str = "alias"):
    """A pandas offset alias as a positive pandas offset.

    Args:
        alias: a pandas offset alias such as ``"MS"`` (month starts), ``"ME"`` or ``"M"`` (month
            ends), ``"QS"``, ``"QE"`` or ``"Q"`` (quarters), ``"YS"``, ``"YE"`` or ``"Y"``
            (years), ``"W"`` (weeks ending on Sunday), ``"D"``, ``"h"``, with an optional
            multiple (``"2MS"``) and anchor (``"QE-NOV"``).
        name: the argument's name in messages.

    Returns:
        The ``pandas.DateOffset``.

    Raises:
        ValueError: naming ``name``, the alias and examples of accepted ones, when it is not
            a string, pandas does not know it, it is not a positive step, or pandas is not
            installed.
    """
    accepted = f"expected a pandas offset alias such as {OFFSET_EXAMPLES}"
    if not isinstance(alias, str):
        raise ValueError(f"{name}={alias!r} is not supported; {accepted}.")
    try:
        import pandas
        from pandas.tseries.frequencies import to_offset
    except ImportError:
        raise ValueError(f"{name}={alias!r}: an offset alias needs pandas (pip install pandas), "
                         "which is not installed.") from None
    match = _ALIAS.match(alias)
    if match is None:
        raise ValueError(f"{name}={alias!r} is not supported; {accepted}.")
    multiple, base, anchor = match.groups()
    text = f"{multiple}{_RENAMED.get(base, base)}{anchor or ''}"
    try:
        with warnings.catch_warnings():  # an alias pandas renames still means what it says
            warnings.simplefilter("ignore", FutureWarning)
            offset = to_offset(text)
    except (ValueError, TypeError):
        raise ValueError(f"{name}={alias!r} is not supported; {accepted}.") from None
    step = pandas.Timestamp("2000-01-01")
    if offset.n <= 0 or not step + offset > step:
        raise ValueError(f"{name}={alias!r} is not a positive step; {accepted}.")
    return offset


def calendar_times(series: TimeSeries, h: int) -> np.ndarray | None:
    """The next ``h`` times of a dated series on its own calendar, or None.

    The dates' pattern is read with ``pandas.infer_freq``: a month-, quarter- or year-based
    frequency (``"MS"``, ``"ME"``, ``"QE-DEC"``, ``"YS-JAN"``, business months, ...) or
    business days continue at that frequency. Where pandas finds none, or only a fixed number
    of days (a missing month; two dates; yearly dates on a day other than a month's first or
    last, which pandas reads as 365 days), dates that are all month ends, or all on the same
    day of the month at the same time of day, on a grid of a whole number of months, continue
    on that grid (every 12 months on 15 July, say).

    Args:
        series: the data; its times are days since ``series.time_origin``.
        h: how many times, an integer >= 1.

    Returns:
        (h,) float64 days since ``time_origin``, after the last time of the series; None for
        numeric times, dates with a fixed step (weekly, daily, hourly, ...), irregular dates,
        a single date, or without pandas (the caller then uses its fixed step).
    """
    if series.time_origin is None or series.n_points < 2:
        return None
    try:
        import pandas
    except ImportError:
        return None
    try:
        base, dates = _dates(series)
        offset = _inferred_offset(pandas, dates)
        if offset is not None:
            future = _on_offset(pandas, dates[-1], offset, h)
        else:
            future = _on_month_grid(pandas, dates, h)
            if future is None:
                return None
        return _days(future, base)
    except (ValueError, OverflowError, TypeError, pandas.errors.OutOfBoundsDatetime):
        return None  # dates pandas cannot represent: the fixed step applies


def offset_times(series: TimeSeries, h: int, alias: str) -> np.ndarray:
    """The next ``h`` dates of a pandas offset after the last time of a dated series.

    Args:
        series: the data; its times are days since ``series.time_origin``.
        h: how many times, an integer >= 1.
        alias: a pandas offset alias (see :func:`parse_offset`); an anchored one such as
            ``"MS"`` gives the offset's dates strictly after the last time (after 2009-03-31,
            ``"MS"`` gives 2009-04-01, 2009-05-01, ...).

    Returns:
        (h,) float64 days since ``time_origin``.

    Raises:
        ValueError: for numeric times (no ``time_origin``), or a bad ``alias`` (naming it, with
            examples of accepted aliases), or dates beyond what pandas represents.
    """
    offset = parse_offset(alias, "step")
    if series.time_origin is None:
        raise ValueError(f"step={alias!r} is a calendar offset, which needs dated times, but "
                         f"{series.source or 'the series'} has numeric times "
                         f"({series.time_name!r}); expected step as a number > 0 in its time "
                         "units.")
    import pandas

    base, dates = _dates(series)
    try:
        return _days(_on_offset(pandas, dates[-1], offset, h), base)
    except (OverflowError, pandas.errors.OutOfBoundsDatetime):
        raise ValueError(f"step={alias!r}: {h} steps of it from {dates[-1]} go beyond the dates "
                         "pandas can represent; expected fewer steps.") from None


def _dates(series: TimeSeries):
    """``(base, dates)``: the origin as a naive wall-clock ``numpy.datetime64`` in its own
    offset, and the series' times as a microsecond ``pandas.DatetimeIndex`` on that clock."""
    import pandas

    text = series.time_origin.strip()
    if text.endswith(("Z", "z")):  # UTC, which datetime.fromisoformat reads from Python 3.11
        text = text[:-1] + "+00:00"
    origin = datetime.fromisoformat(text)
    base = np.datetime64(origin.replace(tzinfo=None), "us")
    micros = np.rint(series.ts.numpy() * _MICROS_PER_DAY).astype(np.int64)
    return base, pandas.DatetimeIndex(base + micros.astype("timedelta64[us]"))


def _inferred_offset(pandas, dates):
    """The calendar offset ``pandas.infer_freq`` reads off ``dates``, or None for none, fewer
    than 3 dates, or a fixed-length step (``Tick``: days, hours, ...; weeks)."""
    if len(dates) < 3:
        return None
    try:
        freq = pandas.infer_freq(dates)
    except (ValueError, TypeError):
        return None
    if freq is None:
        return None
    offset = pandas.tseries.frequencies.to_offset(freq)
    if isinstance(offset, (pandas.offsets.Tick, pandas.offsets.Week)):
        return None
    return offset


def _on_month_grid(pandas, dates, h: int):
    """The next ``h`` dates on a grid of ``m`` months that ``dates`` lie on (all month ends, or
    all the same day of the month, at one time of day; every gap a multiple of the smallest),
    or None."""
    months = np.asarray(dates.year, dtype=np.int64) * 12 + np.asarray(dates.month) - 1
    gaps = np.diff(months)
    if gaps.size == 0 or (gaps <= 0).any():  # two dates in one month: no month grid
        return None
    m = int(gaps.min())
    time_of_day = np.asarray(dates.values - dates.normalize().values)
    if (gaps % m).any() or (time_of_day != time_of_day[0]).any():
        return None
    last = dates[-1]
    if bool(np.all(dates.is_month_end)):
        return _on_offset(pandas, last, pandas.offsets.MonthEnd(m), h)
    days = np.asarray(dates.day)
    if (days != days[0]).any():
        return None
    return pandas.DatetimeIndex([last + pandas.DateOffset(months=m * k) for k in range(1, h + 1)])


def _on_offset(pandas, last, offset, h: int):
    """The first ``h`` dates of ``offset`` strictly after ``last``."""
    dates = pandas.date_range(start=last, periods=h + 1, freq=offset, unit="us")
    return dates[dates > last][:h]


def _days(dates, base) -> np.ndarray:
    """``dates`` as float64 days since ``base``, from whole microseconds (as the CSV loader)."""
    micros = (np.asarray(dates.values, dtype="datetime64[us]") - base).astype(np.int64)
    return micros.astype(np.float64) / 1e6 / 86400.0
