"""The run folder: where a new run may write, the ``run.json`` that makes a folder a run, and
the fingerprint of the data that ``--resume`` checks.

A run writes only into a new folder, an empty one, or (with ``--resume``) its own run folder:
never into a folder that holds someone's files, so nothing of theirs is overwritten.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

from .. import __version__
from .._checks import WriteError
from ..data import TimeSeries
from ..run_files import RUN_FORMAT
from .errors import fail
from .json_file import write_json

#: Files that make a folder a run folder.
RUN_MARKERS = ("run.json", "history.csv")


def run_folder(out: str | None) -> Path:
    """``out``, or a new ``runs/<timestamp>[-k]`` folder that does not exist yet."""
    if out is not None:
        return Path(out)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path("runs") / stamp
    k = 1
    while folder.exists():
        k += 1
        folder = Path("runs") / f"{stamp}-{k}"
    return folder


def check_new_folder(folder: Path) -> None:
    """Refuse (exit status 2, nothing written) an ``--out`` that is not a new or empty folder:
    a file, a run folder (continue it with ``--resume``) or a folder with other files."""
    if folder.exists() and not folder.is_dir():
        fail(f"--out {folder}: is a file, not a folder; choose a new folder for the run")
    if not folder.is_dir():
        return
    if any((folder / name).exists() for name in RUN_MARKERS):
        fail(f"--out {folder}: the folder already holds a run; choose another folder or "
             f"continue it with --resume {folder}")
    try:
        entries = sorted(p.name for p in folder.iterdir())
    except OSError as err:
        fail(f"--out {folder}: cannot list the folder ({err.strerror or err})")
    if entries:
        shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5
                                          else "")
        fail(f"--out {folder}: the folder holds files that are not a neuralsde run ({shown}); "
             "a run writes only into a new or empty folder, so that nothing of yours is "
             "overwritten: choose another --out")


def create_run(folder: Path, settings: dict, data_args: dict, argv: list,
               fingerprint: dict) -> None:
    """Create ``folder`` and its ``run.json``; a folder that cannot be written is a bad
    ``--out``: one line, exit status 2."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / "run.json", {"format": RUN_FORMAT, "settings": settings,
                                         "data_args": data_args, "data_fingerprint": fingerprint,
                                         "argv": argv, "neuralsde": __version__})
    except OSError as err:
        fail(str(WriteError.of(err, folder)))


def read_run(folder: Path) -> dict:
    """The contents of ``folder/run.json`` (``settings``, ``data_args``, and
    ``data_fingerprint`` for runs that stored one); exits 2 if the folder or file is unusable."""
    if not folder.is_dir():
        fail(f"--resume {folder}: " + ("is a file, not a run folder" if folder.exists()
                                       else "no such folder"))
    try:
        run = json.loads((folder / "run.json").read_text())
        if run.get("format") != RUN_FORMAT:
            raise ValueError("not a neuralsde run.json")
        run["settings"], run["data_args"]  # noqa: B018 - both must be there
    except (OSError, ValueError, KeyError, TypeError) as err:
        fail(f"--resume {folder}: cannot read the run's settings from run.json ({err})")
    return run


def data_fingerprint(path: str | None, series: TimeSeries) -> dict:
    """What identifies a run's data: the sha256 of the file's bytes (None for the built-in data),
    the parsed shape (T, P, d) and the value and time column names."""
    return {"sha256": file_sha256(Path(path)) if path else None,
            "shape": list(series.ys.shape), "names": list(series.names),
            "time_name": series.time_name}


def file_sha256(path: Path) -> str:
    """The sha256 of ``path``'s bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_same_data(folder: Path, run: dict, series: TimeSeries | None = None) -> None:
    """Refuse (exit status 2) to resume on data that differ from those the run started with.

    Without ``series``, only the file's bytes are compared (before parsing it); with it, also
    the parsed shape and column names. A run folder written before fingerprints is not checked.
    """
    stored = run.get("data_fingerprint")
    path = run["data_args"].get("data")
    if not isinstance(stored, dict):
        return
    where = path or "the built-in data"
    problems = []
    if series is None:
        try:
            now = file_sha256(Path(path)) if path and stored.get("sha256") else None
        except OSError:  # missing or unreadable: loading the file will say so
            now = None
        if now is not None and now != stored["sha256"]:
            problems.append(f"its content changed (sha256 {stored['sha256'][:12]}... when the "
                            f"run started, {now[:12]}... now)")
    else:
        now = data_fingerprint(None, series)
        for key, what in (("shape", "shape (T, P, d)"), ("names", "value columns"),
                          ("time_name", "time column")):
            if key in stored and stored[key] != now[key]:
                problems.append(f"its {what} was {stored[key]} and is {now[key]}")
    if problems:
        fail(f"--resume {folder}: the data no longer match the run: {where}: "
             + "; ".join(problems) + "; restore the data the run started from, or start a new "
             "run with --out")
