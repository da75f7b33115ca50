"""Model files: weights with everything needed to rebuild the model (spec, scaling, settings)."""

from __future__ import annotations

from pathlib import Path

import torch

from .._checks import atomic_write, write_bytes_with
from ..data import Scaling
from ..sde import build_model

MODEL_FORMAT = "neuralsde-model-1"


def save_model(path, model, *, scaling: Scaling | None = None, extra: dict | None = None) -> Path:
    """Save weights with everything needed to rebuild the model: its spec (``model.spec``), the
    scaling and any ``extra`` settings (solver and training configs, data source...)."""
    spec = getattr(model, "spec", None)
    if spec is None:
        raise ValueError("model has no .spec; build it with neuralsde.build_model(spec) to save "
                         "it.")
    payload = {"format": MODEL_FORMAT, "spec": dict(spec),
               "state_dict": model.state_dict(),
               "scaling": scaling.to_dict() if scaling is not None else None,
               "extra": extra or {}}
    return atomic_write(path, write_bytes_with(lambda handle: torch.save(payload, handle)))


def load_model(path, *, map_location="cpu"):
    """Load what :func:`save_model` wrote.

    Returns:
        ``(model, scaling, extra)``; ``scaling`` is a :class:`Scaling` or None.
    """
    try:
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unreadable file is reported the same way
        raise ValueError(f"{path}: not a readable model file ({type(err).__name__}: {err}).") \
            from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path} is not a neuralsde model file (no {MODEL_FORMAT!r} format).")
    model = build_model(payload["spec"])
    first = next(iter(payload["state_dict"].values()))
    model.to(dtype=first.dtype)
    model.load_state_dict(payload["state_dict"])
    scaling = Scaling.from_dict(payload["scaling"]) if payload["scaling"] is not None else None
    return model, scaling, payload["extra"]
