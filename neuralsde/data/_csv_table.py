"""A CSV file as a table of named columns, for :func:`~neuralsde.data.load_csv`: rows with their
line numbers, column lookup by name, and errors that start with the path.

Nothing here knows about times or values; :mod:`neuralsde.data.csv_file` gives the columns their
meaning.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Table", "file_error", "read_records", "read_table"]


def file_error(where: str, message: str) -> ValueError:
    """The error for a problem in file ``where``: the message, prefixed with the path."""
    return ValueError(f"{where}: {message}")


@dataclass(frozen=True)
class Table:
    """A CSV file's header and data rows, as read, with the path for error messages.

    Attributes:
        where: the path as given to ``load_csv``; every error message starts with it.
        header_line: line number of the header row (1 unless blank lines come first).
        header: column names, stripped of whitespace, non-empty and distinct.
        rows: ``(line number, cells)`` of each non-blank row below the header, cells as read.
        index: position of each column name in ``header``.
    """

    where: str
    header_line: int
    header: list[str]
    rows: list[tuple[int, list[str]]]
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

    def check_row_lengths(self) -> None:
        """Raise ValueError unless there is a data row and every row has one cell per column."""
        if not self.rows:
            raise self.fail(f"no data rows below the header (row {self.header_line}).")
        for line, row in self.rows:
            if len(row) != len(self.header):
                raise self.fail(f"row {line} has {len(row)} cells but the header has "
                                f"{len(self.header)} columns ({self.available}).")


def read_records(path: Path, where: str) -> list[tuple[int, list[str]]]:
    """The file's non-blank rows, each with its line number (the first line is 1).

    Args:
        path: the CSV file.
        where: ``path`` as the user gave it, for messages.

    Raises:
        FileNotFoundError: if ``path`` is not an existing file.
        ValueError: if the file is not UTF-8 CSV, or has no non-blank row.
    """
    if not path.is_file():
        reason = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"{where}: {reason}; load_csv needs the path of a CSV file.")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            records = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError as error:
        raise file_error(where, f"is not UTF-8 text ({error}).") from None
    except csv.Error as error:
        raise file_error(where, f"is not a readable CSV file ({error}).") from None
    records = [(line, row) for line, row in records if any(cell.strip() for cell in row)]
    if not records:
        raise file_error(where, "the file is empty; expected a header row naming the columns, "
                                "then data rows.")
    return records


def read_table(path: Path, where: str) -> Table:
    """Read the file (:func:`read_records`); its first non-blank row is the header.

    Args:
        path: the CSV file.
        where: ``path`` as the user gave it, for messages.

    Returns:
        The header and the data rows below it (possibly none).

    Raises:
        FileNotFoundError: if ``path`` is not an existing file.
        ValueError: as :func:`read_records`, or if the header has an empty or a repeated name.
    """
    records = read_records(path, where)
    header_line, header = records[0]
    header = [cell.strip() for cell in header]
    if any(name == "" for name in header):
        raise file_error(where, f"the header (row {header_line}) has an empty column name at "
                                f"position {header.index('') + 1}; every column needs a name.")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise file_error(where, f"the header (row {header_line}) repeats column name(s) "
                                f"{repeated}; names must be distinct.")
    return Table(where=where, header_line=header_line, header=header, rows=records[1:],
                 index={name: i for i, name in enumerate(header)})
