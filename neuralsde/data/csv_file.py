"""Reading a time series from a CSV file: :func:`load_csv`, and :func:`csv_progress_bar`. The
``csv`` module splits the file into rows, each numbered by the line it ends on; the rules are those
of ``TimeSeries.from_pandas``."""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from ._frame import MISSING_TOKENS, Source, frame_arrays, header_keys, import_pandas
from .series import TimeSeries

__all__ = ["MISSING_TOKENS", "csv_progress_bar", "load_csv"]

#: Bytes read at a time; ``progress`` is told after each block.
BLOCK_BYTES = 1 << 20


def load_csv(path: str | os.PathLike, *, time_column: str | None = None,
             columns: Sequence[str] | None = None, group_column: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> TimeSeries:
    """Read a time series from a CSV file with a header row.

    Wide format: one row per time, one column per channel. Long/panel format (``group_column``
    given): each group is one sample path with its own times, its rows interleaved or not; ``ts``
    is the sorted union of all groups' times, NaN (``mask`` False) where a group has no row.

    Rules:

    * Rows are numbered as lines of the file: the header is row 1. Blank lines (no cell, or only
      whitespace) are skipped; every other row must have as many cells as the header.
      Surrounding whitespace is stripped; numbers are read as ``float`` reads them.
    * Times are numbers, or ISO 8601 dates/datetimes (``datetime.fromisoformat``, plus a trailing
      ``Z``); the first row decides which. ISO times become float days since the earliest time,
      and ``time_origin`` keeps that time as written. Times may be irregular but must be strictly
      increasing, row by row, within each group.
    * A cell that is empty or one of ``MISSING_TOKENS`` (``nan``, ``NA``, ``n/a``, ``null``; any
      case) is a missing observation. A missing time is an error.
    * Without ``columns``, the value columns are all columns but the time and group columns that
      have a value and only numbers.

    Args:
        path: the CSV file.
        time_column: name of the time column; default the first column.
        columns: the value columns, in the order wanted; each needs a value, and finite numbers.
        group_column: the column that labels sample paths; default none (one path, ``"0"``).
        progress: called as ``progress(bytes_read, total_bytes)`` with 0 at the start and after
            each block of :data:`BLOCK_BYTES`, up to ``total_bytes``; see :func:`csv_progress_bar`.

    Returns:
        A :class:`TimeSeries`: ``ts`` (T,), ``ys`` and ``mask`` (T, P, d), ``names`` the value
        columns, ``time_name``, ``time_origin``, ``groups`` in order of first appearance, and
        ``source`` the path.

    Raises:
        FileNotFoundError: if ``path`` is not an existing file.
        ValueError: for a problem in the file or the arguments; the message starts with the path
            and names the row, the column and the cell, or the available columns. Of several
            problems, the first in this order is named: not UTF-8 or CSV; the header; the time and
            group columns; no data rows, a row of the wrong length; a missing, then a bad time,
            mixed time zones; a missing group label or times out of order (the first row), a
            series of 1 point; ``columns``; each value column's first bad value, or no value.
    """
    where = str(path)
    if progress is not None and not callable(progress):
        raise ValueError(f"{where}: progress={progress!r} is not supported; expected a callable "
                         "progress(bytes_read, total_bytes) or None.")
    reader = csv.reader(io.StringIO(_read(Path(path), where, progress), newline=""))
    try:  # tuples, not lists: the garbage collector stops tracking them
        records = [(reader.line_num, tuple(row)) for row in reader if "".join(row).strip()]
    except csv.Error as error:
        raise ValueError(f"{where}: is not a readable CSV file ({error}).") from None
    (first, header), rows = (records or [(0, ())])[0], records[1:]
    src = Source(where, "time_column", "group_column", f"the header (row {first})", "the file")
    names, time = header_keys(header, time_column, group_column, src)
    for line, cells in rows:
        if len(cells) != len(names):
            raise src.fail(f"row {line} has {len(cells)} cells but the header has {len(names)} "
                           f"columns ({', '.join(map(repr, names))}).")
    frame = import_pandas().DataFrame([cells for _, cells in rows], columns=names, dtype=object,
                                      index=[line for line, _ in rows])
    fields = frame_arrays(frame, time, columns, group_column, src)
    ys = torch.from_numpy(fields.pop("ys"))
    return TimeSeries(ts=torch.from_numpy(fields.pop("ts")), ys=ys, mask=~torch.isnan(ys),
                      **fields)


def _read(path: Path, where: str, progress) -> str:
    """The file's text, checked to be UTF-8, without a byte order mark."""
    if not path.is_file():
        reason = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"{where}: {reason}; load_csv needs the path of a CSV file.")
    report, data, total = progress or (lambda done, total: None), bytearray(), path.stat().st_size
    with open(path, "rb") as handle:
        report(0, total)
        while block := handle.read(BLOCK_BYTES):
            data += block
            report(len(data), total)
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{where}: is not UTF-8 text ({error}).") from None


def csv_progress_bar(path: str | os.PathLike, *, enabled: bool | None = None):
    """A progress bar (``tqdm``, on stderr; by default only on a terminal) for the ``progress``
    of :func:`load_csv`: ``(progress, close)``, with ``progress`` None when no bar is drawn;
    call ``close()`` when loading ends, also on error."""
    if not (sys.stderr.isatty() if enabled is None else enabled):
        return None, lambda: None
    from tqdm import tqdm  # only here: the rest of the package does not need it

    bar = tqdm(total=os.path.getsize(path) if os.path.isfile(path) else None, unit="B",
               unit_scale=True, unit_divisor=1024, desc=f"reading {Path(path).name}",
               leave=False, file=sys.stderr)
    return (lambda done, total: bar.update(done - bar.n)), bar.close
