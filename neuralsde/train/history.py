"""The per-iteration history: ``history.csv``, appended and flushed row by row, so a crash loses
nothing, and read back with typed values on resume."""

from __future__ import annotations

import contextlib
import csv
import math
from pathlib import Path

from .._checks import WriteError, atomic_write

HISTORY_FIELDS = ("iteration", "stage", "stage_name", "points", "loss", "lr", "grad_norm",
                  "seconds", "elapsed", "steps", "rejected", "f_evals", "g_evals", "event")


class HistoryFile:
    """Appends history rows to a CSV file, flushed row by row.

    Opening an existing file keeps its rows (a resumed run): :meth:`write` skips the rows of
    iterations the file already holds, so a resume neither truncates nor duplicates it. A last
    line cut short by a crash is the only thing removed. Missing parent folders are created.

    Args:
        path: the CSV file.

    Raises:
        WriteError: (here and from :meth:`write`) the file or its folder cannot be written; the
            rows written before stay in the file.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.rows: list[dict] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size > 0:
                text = self.path.read_text()
                if not text.endswith("\n"):  # a row cut short by a crash
                    text = text[: text.rfind("\n") + 1]
                    atomic_write(self.path, lambda tmp: tmp.write_text(text))
                self.rows = list(csv.DictReader(text.splitlines()))
            new = not self.rows and (not self.path.exists() or self.path.stat().st_size == 0)
            self.file = open(self.path, "a", newline="")
        except OSError as err:
            raise WriteError.of(err, self.path) from err
        self.writer = csv.DictWriter(self.file, fieldnames=HISTORY_FIELDS)
        if new:
            self._guarded(self.writer.writeheader)
        self.have = {int(r["iteration"]) for r in self.rows}

    def _guarded(self, write) -> None:
        """``write()`` and a flush; an OSError (disk full...) becomes a WriteError naming the
        file."""
        try:
            write()
            self.file.flush()
        except OSError as err:
            raise WriteError(self.path, err.strerror or str(err)) from err

    def write(self, row):
        """Append ``row`` (a dict with every field of HISTORY_FIELDS) unless its iteration is
        already in the file."""
        if row["iteration"] in self.have:
            return
        self._guarded(lambda: self.writer.writerow({k: row[k] for k in HISTORY_FIELDS}))
        self.have.add(row["iteration"])

    def close(self):
        """Close the file; a failure to flush its last bytes is not raised again."""
        with contextlib.suppress(OSError):
            self.file.close()


def typed(row: dict) -> dict:
    """A history row read back from CSV, with numbers as numbers."""
    out = dict(row)
    for key in ("iteration", "stage", "points", "steps", "rejected", "f_evals", "g_evals"):
        out[key] = int(row[key]) if row[key] not in ("", None) else None
    for key in ("loss", "lr", "grad_norm", "seconds", "elapsed"):
        out[key] = float(row[key]) if row[key] not in ("", None) else math.nan
    out["event"] = row["event"] or ""
    return out
