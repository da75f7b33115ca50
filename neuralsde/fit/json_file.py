"""JSON files of a run (``run.json``, ``metrics.json``): written atomically, NaN as null."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .._checks import atomic_write


def _json_default(value):
    """numpy scalars and paths as JSON values; anything else is refused."""
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _finite_or_none(value):
    """JSON has no NaN or infinity: such numbers are written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` as indented JSON, atomically (readers see the old or the new file).

    Args:
        path: the file.
        payload: numbers that are not finite are written as null; numpy scalars and paths are
            converted.
    """
    text = json.dumps(_finite_or_none(payload), indent=2, default=_json_default,
                      allow_nan=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))
