"""One pass over a CSV file's data rows for :func:`~neuralsde.data.load_csv`: every cell that
matters parsed once, into compact arrays, with the position of the first problem of each kind.

:func:`scan_rows` reads the rows of a :class:`~neuralsde.data._csv_table.CsvSource` in chunks and
works on each chunk column by column: numbers through ``float`` (as ``load_csv`` always did), ISO
dates through ``datetime.fromisoformat`` as integer microseconds, group labels interned to small
integers. It raises nothing about the contents: it records where the first missing, unparsable
or non-finite cell of each column is (positions of data rows, counted from 0 in file order), so
that :mod:`neuralsde.data.csv_file` can raise the errors in the order of its rules and read the
offending rows again for the messages. The cyclic garbage collector pauses while it reads (the
millions of short-lived lists it makes hold no cycles; a collection would scan every object).
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import repeat
from operator import attrgetter

import numpy as np

from ._csv_table import CsvSource, is_blank

__all__ = ["CHUNK_ROWS", "MISSING_TOKENS", "GroupColumn", "IsoColumn", "NumberColumn", "Scan",
           "first_disorder", "parse_iso", "scan_rows"]

#: Cell contents (compared after stripping whitespace, case-insensitively) read as a missing value.
MISSING_TOKENS = ("", "nan", "na", "n/a", "null")

#: Records read and parsed at a time; progress is reported after each chunk.
CHUNK_ROWS = 16384

#: Common spellings of missing cells, read as "nan" on the fast path (then checked one by one).
_AS_NAN = {token: "nan" for token in ("", "NA", "na", "N/A", "n/a", "NULL", "null", "Null")}

_NAIVE_EPOCH = datetime(1970, 1, 1)
_AWARE_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_NO_DATE = np.iinfo(np.int64).max  # the microseconds of a missing or bad date
_TZINFO = attrgetter("tzinfo")
_UTC_SUFFIXES = ("Z", "z")


def _first(*positions: int | None) -> int | None:
    """The smallest of the positions that are not None, or None."""
    given = [p for p in positions if p is not None]
    return min(given) if given else None


def parse_iso(cell: str) -> datetime:
    """An ISO 8601 date or datetime, also with a trailing ``Z`` for UTC.

    Raises:
        ValueError: if ``cell`` is not ISO 8601 as ``datetime.fromisoformat`` reads it.
    """
    text = cell.strip()
    if text.endswith(_UTC_SUFFIXES):  # datetime.fromisoformat accepts "Z" only from Python 3.11
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


class NumberColumn:
    """A column of numbers, read chunk by chunk.

    Attributes:
        first_missing: position of the first missing cell (empty or one of ``MISSING_TOKENS``).
        first_not_number: position of the first cell that is neither missing nor a number.
        first_not_finite: position of the first cell that is a number but not finite.
        has_value: whether any cell is not missing.
        stop_at_not_number: stop reading (and drop the values) after the first non-number.
    """

    def __init__(self, stop_at_not_number: bool = False):
        self.first_missing: int | None = None
        self.first_not_number: int | None = None
        self.first_not_finite: int | None = None
        self.has_value = False
        self.stop_at_not_number = stop_at_not_number
        self._parts: list[np.ndarray] = []

    @property
    def first_bad(self) -> int | None:
        """Position of the first cell that is not missing and not a finite number."""
        return _first(self.first_not_number, self.first_not_finite)

    @property
    def values(self) -> np.ndarray:
        """The numbers, float64 of shape (rows,): NaN where a cell is missing or bad."""
        if len(self._parts) != 1:
            self._parts = [np.concatenate(self._parts) if self._parts else np.empty(0)]
        return self._parts[0]

    def add(self, cells: Sequence[str], offset: int) -> None:
        """Parse the ``cells`` (as read, or stripped) of the rows at positions ``offset, ...``.

        Where ``float`` reads a cell as read, it reads the stripped cell the same (it ignores the
        whitespace around a number); so only the other cells, those :meth:`_check_cells` reads,
        need stripping. A chunk with a cell ``float`` rejects is read cell by cell.
        """
        if self.stop_at_not_number and self.first_not_number is not None:
            return
        try:  # the common case: numbers, and missing cells spelled as in _AS_NAN
            values = np.fromiter(map(float, map(_AS_NAN.get, cells, cells)), np.float64,
                                 len(cells))
            check = np.flatnonzero(~np.isfinite(values)).tolist()
        except ValueError:
            values, check = np.full(len(cells), np.nan), range(len(cells))
        self.has_value = self.has_value or len(check) < len(cells)
        self._check_cells(cells, offset, values, check)
        if self.stop_at_not_number and self.first_not_number is not None:
            self._parts = []
        else:
            self._parts.append(values)

    def _check_cells(self, cells: Sequence[str], offset: int, values: np.ndarray,
                     check: Iterable[int]) -> None:
        """Parse the stripped cells at positions ``check`` (increasing) one by one, into
        ``values`` (NaN unless a finite number), recording the first problems."""
        for k in check:
            cell = cells[k].strip()
            values[k] = math.nan
            if cell.lower() in MISSING_TOKENS:
                if self.first_missing is None:
                    self.first_missing = offset + k
                continue
            self.has_value = True
            try:
                value = float(cell)
            except ValueError:
                if self.first_not_number is None:
                    self.first_not_number = offset + k
                continue
            if math.isfinite(value):
                values[k] = value
            elif self.first_not_finite is None:
                self.first_not_finite = offset + k


class IsoColumn:
    """A column of ISO dates/datetimes, read chunk by chunk.

    Attributes:
        first_missing: position of the first missing cell.
        first_bad: position of the first cell that is not missing and not an ISO date.
        naive, aware: whether some dates have no time zone, and some have one.
        origin: position and stripped cell of the earliest date (the first, among equal ones).
    """

    def __init__(self):
        self.first_missing: int | None = None
        self.first_bad: int | None = None
        self.naive = self.aware = False
        self.origin: tuple[int, str] | None = None
        self._earliest: int | None = None
        self._parts: list[np.ndarray] = []

    @property
    def micros(self) -> np.ndarray:
        """Microseconds since 1970-01-01 (UTC for dates with a time zone), int64 of shape (rows,);
        the largest int64 where a cell is missing or bad."""
        return np.concatenate(self._parts) if self._parts else np.empty(0, dtype=np.int64)

    def days(self) -> np.ndarray:
        """Every row's time as float days since the origin, float64 of shape (rows,): exactly
        ``(date - origin).total_seconds() / 86400.0``. Only for a column without problems."""
        micros = self.micros
        micros -= micros[self.origin[0]]  # >= 0, exact
        if micros.max() < 2**53:  # exact as float64: one rounding, as int / int in Python
            return micros.astype(np.float64) / 1e6 / 86400.0
        return np.array([m / 10**6 / 86400.0 for m in micros.tolist()], dtype=np.float64)

    def add(self, cells: list[str], offset: int) -> None:
        """Parse the stripped ``cells`` of the rows at positions ``offset, offset + 1, ...``."""
        micros = self._parse_all(cells)
        if micros is None:
            micros = self._parse_cells(cells, offset)
        micros = np.array(micros, dtype=np.int64)
        k = int(np.argmin(micros))  # the first earliest
        if self._earliest is None or micros[k] < self._earliest:
            self._earliest, self.origin = int(micros[k]), (offset + k, cells[k])
        self._parts.append(micros)

    def _parse_all(self, cells: list[str]) -> list[int] | None:
        """The microseconds of all cells at once, as :func:`parse_iso` reads them; None if some
        cell needs a closer look (missing, not ISO, or dates with and without a time zone)."""
        if any(map(str.endswith, cells, repeat(_UTC_SUFFIXES))):
            cells = [c[:-1] + "+00:00" if c.endswith(_UTC_SUFFIXES) else c for c in cells]
        try:
            stamps = list(map(datetime.fromisoformat, cells))
        except ValueError:
            return None
        zones = set(map(_TZINFO, stamps))
        if None in zones and len(zones) > 1:
            return None
        if None in zones:
            self.naive, epoch = True, _NAIVE_EPOCH
        else:
            self.aware, epoch = True, _AWARE_EPOCH
        return list(map(_MICROSECOND.__rfloordiv__, map(epoch.__rsub__, stamps)))

    def _parse_cells(self, cells: list[str], offset: int) -> list[int]:
        """The microseconds of the cells, one by one, recording the first problems."""
        micros = [_NO_DATE] * len(cells)
        for k, cell in enumerate(cells):
            if cell.lower() in MISSING_TOKENS:
                if self.first_missing is None:
                    self.first_missing = offset + k
                continue
            try:
                stamp = parse_iso(cell)
            except ValueError:
                if self.first_bad is None:
                    self.first_bad = offset + k
                continue
            if stamp.utcoffset() is None:
                self.naive, micros[k] = True, (stamp - _NAIVE_EPOCH) // _MICROSECOND
            else:
                self.aware, micros[k] = True, (stamp - _AWARE_EPOCH) // _MICROSECOND
        return micros


class GroupColumn:
    """A column of group labels, read chunk by chunk and interned to integers.

    Attributes:
        labels: each distinct stripped label (``""`` too, when a label is missing) and its
            integer, in order of first appearance.
        first_missing: position of the first empty label.
    """

    def __init__(self):
        self.labels: dict[str, int] = {}
        self.first_missing: int | None = None
        self._parts: list[np.ndarray] = []

    @property
    def ids(self) -> np.ndarray:
        """Each row's label as its integer, int32 of shape (rows,)."""
        return np.concatenate(self._parts) if self._parts else np.empty(0, dtype=np.int32)

    def add(self, cells: list[str], offset: int) -> None:
        """Intern the stripped ``cells`` of the rows at positions ``offset, offset + 1, ...``."""
        ids = list(map(self.labels.get, cells))
        if None in ids:  # new labels in this chunk
            for cell in cells:
                self.labels.setdefault(cell, len(self.labels))
            ids = list(map(self.labels.get, cells))
            if self.first_missing is None and "" in self.labels:
                self.first_missing = offset + cells.index("")
        self._parts.append(np.array(ids, dtype=np.int32))


@dataclass
class Scan:
    """What :func:`scan_rows` found.

    Attributes:
        rows: number of data rows read (up to the first one with the wrong number of cells).
        ragged: position of the first data row with the wrong number of cells, or None.
        times: the time column (numbers or ISO dates, as the first row's time decides); None when
            no row was read.
        groups: the group column, or None without one.
        values: the value columns read, by their position in the header.
    """

    rows: int
    ragged: int | None
    times: NumberColumn | IsoColumn | None
    groups: GroupColumn | None
    values: dict[int, NumberColumn]


def _split(chunk: list[list[str]], width: int, time_i: int):
    """A chunk's non-blank records as columns.

    Returns:
        ``(time cells stripped, columns, ragged)``: ``ragged`` is the position in the chunk's
        non-blank records of the first one without ``width`` cells (then the other two are None).
    """
    if set(map(len, chunk)) != {width}:  # blank records, or rows of the wrong length
        chunk = [row for row in chunk if not is_blank(row)]
        ragged = next((k for k, row in enumerate(chunk) if len(row) != width), None)
        if ragged is not None:
            return None, None, ragged
    columns = list(zip(*chunk))
    times = list(map(str.strip, columns[time_i])) if chunk else []
    if "" in times:  # blank records of the right length have an empty time
        kept = [row for row, time in zip(chunk, times) if time or not is_blank(row)]
        if len(kept) < len(chunk):
            return _split(kept, width, time_i)
    return times, columns, None


def _is_number(cell: str) -> bool:
    """Whether ``float`` reads ``cell``."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def scan_rows(source: CsvSource, width: int, time_i: int, group_i: int | None,
              value_columns: list[int]) -> Scan:
    """Read the data rows of ``source`` (after its header) once, to the end of the file.

    Args:
        source: the file, its header read.
        width: number of columns of the header.
        time_i: position of the time column; the first data row's time decides between numbers
            and ISO dates.
        group_i: position of the group column, or None.
        value_columns: positions of the value columns to read; each is read up to its first
            non-number, which decides its fate (left out, or the error).

    Returns:
        The columns read. After a row with the wrong number of cells, the rest of the file is read
        only for errors of reading.
    """
    scan = Scan(0, None, None, None if group_i is None else GroupColumn(),
                {i: NumberColumn(stop_at_not_number=True) for i in value_columns})
    with _no_gc():
        _scan_chunks(source, width, time_i, group_i, scan)
    return scan


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: reading makes millions of short-lived lists (no
    cycles), and with torch loaded each full collection it triggers scans every object."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _scan_chunks(source: CsvSource, width: int, time_i: int, group_i: int | None,
                 scan: Scan) -> None:
    """The loop of :func:`scan_rows`, filling ``scan``."""
    for chunk in source.chunks(CHUNK_ROWS):
        times, columns, ragged = _split(chunk, width, time_i)
        if ragged is not None:
            scan.ragged = scan.rows + ragged
            source.drain()
            break
        if not times:
            continue
        if scan.times is None:
            scan.times = NumberColumn() if _is_number(times[0]) else IsoColumn()
        scan.times.add(times, scan.rows)
        if scan.groups is not None:
            scan.groups.add(list(map(str.strip, columns[group_i])), scan.rows)
        for i, column in scan.values.items():
            column.add(columns[i], scan.rows)
        scan.rows += len(times)


def first_disorder(times: np.ndarray, ids: np.ndarray | None) -> tuple[int, int] | None:
    """The first row (in file order) whose time is not after the previous time of its group.

    Returns:
        ``(position, position of the group's previous row)``, or None if times increase.
    """
    if ids is None:
        late = np.flatnonzero(times[1:] <= times[:-1])
        return None if late.size == 0 else (int(late[0]) + 1, int(late[0]))
    order = np.argsort(ids, kind="stable")  # rows of each group together, in file order
    now, before = order[1:], order[:-1]
    late = np.flatnonzero((ids[now] == ids[before]) & (times[now] <= times[before]))
    if late.size == 0:
        return None
    k = late[np.argmin(now[late])]
    return int(now[k]), int(before[k])
