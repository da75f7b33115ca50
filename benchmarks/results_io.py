"""Writing a benchmark's result: the JSON file every benchmark script ends with."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_json(result: dict, out: str | None) -> None:
    """Write ``result`` as indented JSON to ``out`` (relative to the repository root unless
    absolute; its folder is made) and say where; nothing when ``out`` is empty or None."""
    if not out:
        return
    path = Path(out) if Path(out).is_absolute() else ROOT / out
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
