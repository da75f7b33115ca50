"""The per-iteration history: ``history.csv``, appended and flushed row by row, so a crash loses
nothing, and read back with typed values on resume."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

HISTORY_FIELDS = ("iteration", "stage", "stage_name", "points", "loss", "lr", "grad_norm",
                  "seconds", "elapsed", "steps", "rejected", "f_evals", "g_evals", "event")


class HistoryFile:
    """Appends history rows to a CSV file, flushed row by row.

    Opening an existing file keeps its rows (a resumed run): :meth:`write` skips the rows of
    iterations the file already holds, so a resume neither truncates nor duplicates it. A last
    line cut short by a crash is the only thing removed.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict] = []
        if self.path.exists() and self.path.stat().st_size > 0:
            text = self.path.read_text()
            if not text.endswith("\n"):  # a row cut short by a crash
                text = text[: text.rfind("\n") + 1]
                tmp = self.path.with_name(self.path.name + ".tmp")
                tmp.write_text(text)
                os.replace(tmp, self.path)
            self.rows = list(csv.DictReader(text.splitlines()))
        new = not self.rows and (not self.path.exists() or self.path.stat().st_size == 0)
        self.file = open(self.path, "a", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=HISTORY_FIELDS)
        if new:
            self.writer.writeheader()
        self.have = {int(r["iteration"]) for r in self.rows}

    def write(self, row):
        if row["iteration"] in self.have:
            return
        self.writer.writerow({k: row[k] for k in HISTORY_FIELDS})
        self.file.flush()
        self.have.add(row["iteration"])

    def close(self):
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
