"""Where an automatic fit (:mod:`neuralsde.auto`) keeps what finished, so that a killed fit,
run again, skips it and ends with the numbers an uninterrupted one gives."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from ._checks import atomic_write, write_bytes_with
from .data import TimeSeries

__all__ = ["Store", "fingerprint"]


def fingerprint(params: dict, series: TimeSeries) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    for array in (series.ts, series.ys):
        digest.update(np.ascontiguousarray(array.numpy()).tobytes())
    return digest.hexdigest()[:16]


class Store:
    """Finished candidates' scores (``selection.json``) and fitted members (``member-*.pt``)
    in ``directory``; nothing is kept without one."""

    def __init__(self, directory, fingerprint: str):
        self.dir = None if directory is None else Path(directory)
        self.rows: dict[str, dict] = {}
        self.fingerprint = fingerprint
        if self.dir is None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / "selection.json"
        if path.exists():
            saved = json.loads(path.read_text())
            if saved.get("fingerprint") != fingerprint:
                raise ValueError(f"checkpoint_dir={str(self.dir)!r} holds the selection of other "
                                 "data or settings; give an empty folder.")
            self.rows = {r["key"]: r for r in saved["candidates"]}

    def put(self, row: dict) -> None:
        self.rows[row["key"]] = row
        if self.dir is not None:
            text = json.dumps({"fingerprint": self.fingerprint,
                               "candidates": list(self.rows.values())}, indent=1)
            _write_text(self.dir / "selection.json", text)

    def path(self, kind: str, key: str) -> Path | None:
        if self.dir is None:
            return None
        return self.dir / f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.pt"

    def put_weights(self, key: str, state: dict | None) -> None:
        path = self.path("candidate", key)
        if path is not None and state is not None:
            atomic_write(path, write_bytes_with(lambda handle: torch.save(state, handle)))

    def get_weights(self, key: str) -> dict | None:
        path = self.path("candidate", key)
        if path is None or not path.exists():
            return None
        return torch.load(path, map_location="cpu", weights_only=True)


def _write_text(path, text: str) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))
