"""Reading a time series from a CSV file: :func:`load_csv`, and :func:`csv_progress_bar`. pandas
parses the cells, each row's line number and count of cells come from the bytes (a file with
quotes is split by the ``csv`` module), and the rules are those of ``TimeSeries.from_pandas``."""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ._frame import MISSING_TOKENS, Source, frame_arrays, header_keys, import_pandas
from .series import TimeSeries

__all__ = ["MISSING_TOKENS", "csv_progress_bar", "load_csv"]

#: Bytes read at a time; ``progress`` is told after each block.
BLOCK_BYTES = 1 << 20
_NA = sorted({"".join(cs) for token in MISSING_TOKENS  # every case: pandas compares exactly
              for cs in itertools.product(*({c.lower(), c.upper()} for c in token))})
_NEGATIVE_ZERO = re.compile(rb"-0+[ \t]*(?:,|\n|\Z)")  # pandas reads an integer -0 as 0
_MAY_BE_BLANK = np.zeros(256, dtype=bool)  # the bytes a blank line can start with
_MAY_BE_BLANK[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 44, *range(128, 256)]] = True


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
    header_line, header, lines, widths, rows, raw = _records(_read(Path(path), where, progress),
                                                             where)
    src = Source(where, "time_column", "group_column", f"the header (row {header_line})",
                 "the file", raw)
    names, time = header_keys(header, time_column, group_column, src)
    if (widths != len(names)).any():
        k = np.flatnonzero(widths != len(names))[0]
        raise src.fail(f"row {lines[k]} has {widths[k]} cells but the header has {len(names)} "
                       f"columns ({', '.join(map(repr, names))}).")
    frame = rows(() if group_column is None else (names.index(group_column),))
    frame.columns, frame.index = names, lines
    fields = frame_arrays(frame, time, columns, group_column, src)
    ys = torch.from_numpy(fields.pop("ys"))
    return TimeSeries(ts=torch.from_numpy(fields.pop("ts")), ys=ys, mask=~torch.isnan(ys),
                      **fields)


def _read(path: Path, where: str, progress) -> bytes:
    """The file's bytes, checked to be UTF-8, without a byte order mark."""
    if not path.is_file():
        reason = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"{where}: {reason}; load_csv needs the path of a CSV file.")
    report = progress or (lambda done, total: None)
    blocks, done, total = [], 0, path.stat().st_size
    with open(path, "rb") as handle:
        report(0, total)
        while block := handle.read(BLOCK_BYTES):
            blocks.append(block)
            done += len(block)
            report(done, total)
    data = b"".join(blocks).removeprefix(b"\xef\xbb\xbf")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{where}: is not UTF-8 text ({error}).") from None
    return data


def _records(data: bytes, where: str):
    """The non-blank records: the header's line number and cells, each data row's line number
    and count of cells, ``rows(text_columns)``, the data rows as a DataFrame (see
    :func:`_parse`), and ``raw(row, column)``, a cell as written."""
    pd = import_pandas()
    if b'"' in data or b"\0" in data:
        reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
        try:
            records = [(reader.line_num, row) for row in reader if "".join(row).strip()]
        except csv.Error as error:
            raise ValueError(f"{where}: is not a readable CSV file ({error}).") from None
        lines, cells = zip(*records) if records else ((0,), ([],))
        return (lines[0], cells[0], np.array(lines[1:], dtype=int),
                np.array([len(row) for row in cells[1:]], dtype=int),
                lambda _: pd.DataFrame(cells[1:], columns=range(len(cells[0])), dtype=object),
                lambda k, j: cells[k + 1][j])
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    array = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(array == 10)
    ends = ends if data.endswith(b"\n") or not data else np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))[:ends.size]
    widths = np.diff(np.searchsorted(np.flatnonzero(array == 44), ends), prepend=0) + 1
    keep = np.ones(ends.size, dtype=bool)
    for i in np.flatnonzero((starts == ends) | _MAY_BE_BLANK[array[starts]]):
        keep[i] = bool(data[starts[i]:ends[i]].decode().replace(",", "").strip())
    if not keep.any():
        return 0, [], None, None, None, None
    head, kept = np.flatnonzero(keep)[0], np.flatnonzero(keep)[1:]
    body = (data[ends[head] + 1:] if kept.size == ends.size - head - 1 else  # no blank line
            b"\n".join(data[s:e] for s, e in zip(starts[kept].tolist(), ends[kept].tolist())))
    return (head + 1, data[starts[head]:ends[head]].decode().split(","), kept + 1, widths[kept],
            lambda text_columns: _parse(pd, body, widths[head], text_columns),
            lambda k, j: data[starts[kept[k]]:ends[kept[k]]].decode().split(",")[j])


def _parse(pd, body: bytes, width: int, text_columns: tuple[int, ...]):
    """The rows ``body`` as a DataFrame of ``width`` columns: numbers parsed as ``float`` does
    (missing cells NaN), but the cells of the columns at ``text_columns`` as text."""
    if not body:
        return pd.DataFrame(columns=range(width))
    read = dict(header=None, names=range(width), index_col=False, skip_blank_lines=False,
                skipinitialspace=True, float_precision="round_trip", low_memory=False,
                keep_default_na=False, na_values={j: _NA for j in range(width)
                                                  if j not in text_columns})
    dtype = dict.fromkeys(text_columns, str)
    frame = pd.read_csv(io.BytesIO(body), dtype=dtype, **read)
    numbers = {j: float for j in frame if frame[j].dtype.kind in "iuf"}
    if numbers and _NEGATIVE_ZERO.search(body):  # as floats, which keep the sign of -0
        frame = pd.read_csv(io.BytesIO(body), dtype={**dtype, **numbers}, **read)
    return frame


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
