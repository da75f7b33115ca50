"""Training checkpoints: model, optimiser, position and RNG states, written atomically, and the
in-memory snapshot the ``restore`` divergence policy goes back to."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import numpy as np
import torch

from .._checks import atomic_write, write_bytes_with

CHECKPOINT_FORMAT = "neuralsde-checkpoint-1"


def rng_state() -> dict:
    """The states of every random generator a run touches (torch, numpy, Python, CUDA)."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Put back what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path, state: dict) -> Path:
    """Write a training checkpoint atomically (a temporary file, then a rename)."""
    payload = {"format": CHECKPOINT_FORMAT, **state}
    return atomic_write(path, write_bytes_with(lambda handle: torch.save(payload, handle)))


def load_checkpoint(path) -> dict:
    """Read what :func:`fit` checkpointed; ValueError names the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no checkpoint (the file does not exist).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unreadable file is reported the same way
        raise ValueError(f"{path}: the checkpoint is corrupt or unreadable ({type(err).__name__}: "
                         f"{err}).") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a neuralsde checkpoint (no {CHECKPOINT_FORMAT!r} format).")
    return state


class Snapshot:
    """The last good state: model and optimiser weights in memory, for the restore policy."""

    def __init__(self, model, optimizer):
        self.model = copy.deepcopy(model.state_dict())
        self.optimizer = copy.deepcopy(optimizer.state_dict())

    def restore(self, model, optimizer):
        model.load_state_dict(self.model)
        optimizer.load_state_dict(copy.deepcopy(self.optimizer))
