"""A CSV file read as a stream of records, for :func:`~neuralsde.data.load_csv`: the header as a
:class:`Table` (column lookup by name, errors that start with the path), the data rows in chunks
(:class:`CsvSource`), single rows read again by position for messages (:meth:`Table.rows_at`),
and a progress bar for the reading (:func:`csv_progress_bar`).

Nothing here knows about times or values; :mod:`neuralsde.data.csv_file` gives the columns their
meaning.

Rules shared by every reader here: the file is UTF-8 (a byte order mark is dropped), read with
the ``csv`` module's default (Excel) dialect; a record's line number is ``csv.reader.line_num``
after it is read (the first line is 1); a record is blank when it has no cell or only whitespace,
and blank records are skipped. The first non-blank record is the header; the data rows are the
non-blank records below it, numbered from 0 in file order (a row's *position*).
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

__all__ = ["CsvSource", "Progress", "Table", "csv_progress_bar", "file_error", "is_blank"]

#: ``progress(bytes_read, total_bytes)``: how far :class:`CsvSource` has read the file.
Progress = Callable[[int, int], None]


def file_error(where: str, message: str) -> ValueError:
    """The error for a problem in file ``where``: the message, prefixed with the path."""
    return ValueError(f"{where}: {message}")


def is_blank(row: list[str]) -> bool:
    """Whether a record is blank: no cell, or only whitespace in every cell."""
    return not "".join(row).strip()


@contextmanager
def _reading(where: str) -> Iterator[None]:
    """Turn the errors of decoding or parsing the file into ValueError naming the file."""
    try:
        yield
    except UnicodeDecodeError as error:
        raise file_error(where, f"is not UTF-8 text ({error}).") from None
    except csv.Error as error:
        raise file_error(where, f"is not a readable CSV file ({error}).") from None


def _open(path: Path, where: str):
    """Open ``path`` for reading as CSV text.

    Raises:
        FileNotFoundError: if ``path`` is not an existing file.
    """
    if not path.is_file():
        reason = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"{where}: {reason}; load_csv needs the path of a CSV file.")
    return open(path, newline="", encoding="utf-8-sig")


@dataclass(frozen=True)
class Table:
    """A CSV file's header, with the path for error messages and for reading rows again.

    Attributes:
        path: the file.
        where: the path as given to ``load_csv``; every error message starts with it.
        header_line: line number of the header row (1 unless blank lines come first).
        header: column names, stripped of whitespace, non-empty and distinct.
        index: position of each column name in ``header``.
    """

    path: Path
    where: str
    header_line: int
    header: list[str]
    index: dict[str, int]

    @property
    def available(self) -> str:
        """The column names for messages: ``'t', 'y'``."""
        return ", ".join(repr(name) for name in self.header)

    def fail(self, message: str) -> ValueError:
        """The error for a problem in this file (see :func:`file_error`)."""
        return file_error(self.where, message)

    def column(self, argument: str, name) -> int:
        """Position of column ``name``, which the argument ``argument`` of ``load_csv`` named.

        Raises:
            ValueError: if ``name`` is not a string or not in the header; the message lists the
                available columns.
        """
        if not isinstance(name, str):
            raise self.fail(f"{argument}={name!r} is not supported; expected a column name "
                            "(string).")
        if name not in self.index:
            given = f"{argument} contains {name!r}" if argument == "columns" else \
                f"{argument}={name!r}"
            raise self.fail(f"{given}, but column {name!r} is not in the header; available "
                            f"columns: {self.available}.")
        return self.index[name]

    def rows_at(self, positions: Iterable[int]) -> dict[int, tuple[int, list[str]]]:
        """Read the data rows at ``positions`` again, for messages.

        Returns:
            ``{position: (line number, cells as read)}``; the file is read only as far as the last
            position.
        """
        wanted = set(positions)
        found: dict[int, tuple[int, list[str]]] = {}
        with _open(self.path, self.where) as handle, _reading(self.where):
            reader = csv.reader(handle)
            records = ((reader.line_num, row) for row in reader)
            data = (record for record in records if not is_blank(record[1]))
            next(data, None)  # the header
            for position, record in enumerate(data):
                if len(found) == len(wanted):
                    break
                if position in wanted:
                    found[position] = record
        return found


def _make_table(path: Path, where: str, header_line: int, cells: list[str]) -> Table:
    """The :class:`Table` of a header record.

    Raises:
        ValueError: if the header has an empty or a repeated name.
    """
    header = [cell.strip() for cell in cells]
    if any(name == "" for name in header):
        raise file_error(where, f"the header (row {header_line}) has an empty column name at "
                                f"position {header.index('') + 1}; every column needs a name.")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise file_error(where, f"the header (row {header_line}) repeats column name(s) "
                                f"{repeated}; names must be distinct.")
    return Table(path=path, where=where, header_line=header_line, header=header,
                 index={name: i for i, name in enumerate(header)})


class CsvSource:
    """A CSV file read once, front to back: the header, then the records below it in chunks.

    Use it as a context manager. Errors of reading (not UTF-8, not CSV) anywhere in the file come
    before any other problem, as if the whole file were read first: :meth:`drain` reads to the end
    before another error is raised.

    Args:
        path: the CSV file.
        where: ``path`` as the user gave it, for messages.
        progress: called with ``(bytes_read, total_bytes)`` when reading starts, after each chunk
            that read more of the file, and with ``(total_bytes, total_bytes)`` at the end;
            ``None`` for no reports.

    Raises:
        FileNotFoundError: if ``path`` is not an existing file.
    """

    def __init__(self, path: Path, where: str, progress: Progress | None = None):
        self.path, self.where = path, where
        self._handle = _open(path, where)
        self._reader = csv.reader(self._handle)
        self._progress = progress
        self._total = os.fstat(self._handle.fileno()).st_size
        self._reported = -1
        self._report(0)

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *exc) -> None:
        self._handle.close()

    def _report(self, done: int) -> None:
        """Tell ``progress`` that ``done`` bytes are read, if that is more than last time."""
        if self._progress is not None and done > self._reported:
            self._reported = done
            self._progress(done, self._total)

    def read_header(self) -> Table:
        """Read up to the first non-blank record, the header.

        Raises:
            ValueError: if the file cannot be read, has no non-blank record, or the header has an
                empty or repeated name (after reading the whole file, see :meth:`drain`).
        """
        with _reading(self.where):
            for row in self._reader:
                if not is_blank(row):
                    break
            else:
                self._report(self._total)
                raise file_error(self.where, "the file is empty; expected a header row naming "
                                             "the columns, then data rows.")
        try:
            return _make_table(self.path, self.where, self._reader.line_num, row)
        except ValueError:
            self.drain()
            raise

    def chunks(self, size: int) -> Iterator[list[list[str]]]:
        """The records below the header, ``size`` at a time, blank ones included, as read.

        Raises:
            ValueError: if the file is not UTF-8 text or not readable CSV.
        """
        while True:
            with _reading(self.where):
                chunk = list(islice(self._reader, size))
            if not chunk:
                self._report(self._total)
                return
            self._report(self._handle.buffer.tell())
            yield chunk

    def drain(self) -> None:
        """Read the rest of the file, only to raise its reading errors.

        Raises:
            ValueError: if the rest of the file is not UTF-8 text or not readable CSV.
        """
        for _ in self.chunks(65536):
            pass


def csv_progress_bar(path: str | os.PathLike, *, enabled: bool | None = None
                     ) -> tuple[Progress | None, Callable[[], None]]:
    """A progress bar (``tqdm``, on stderr, in bytes) for the ``progress`` argument of
    :func:`~neuralsde.data.load_csv`.

    Example::

        progress, close = csv_progress_bar(path)
        try:
            series = load_csv(path, progress=progress)
        finally:
            close()

    Args:
        path: the CSV file, for the bar's label and size.
        enabled: whether to draw the bar; default only when stderr is a terminal.

    Returns:
        ``(progress, close)``: the callable to pass as ``progress`` (None when the bar is not
        drawn) and a function that removes the bar (call it when loading ends, also on error).
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm  # only here: the rest of the package does not need it

    size = os.path.getsize(path) if os.path.isfile(path) else None
    bar = tqdm(total=size, desc=f"reading {Path(path).name}", unit="B", unit_scale=True,
               unit_divisor=1024, leave=False, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    return progress, bar.close
