"""Small shared helpers every room of the package needs: argument validators with one message
format, float64 array coercion, atomic file writes (and the :class:`WriteError` they raise) and
the per-iteration seed formula.

A leaf: imports only numpy and the standard library (plotting must not pull in torch).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["WriteError", "as_array", "atomic_write", "check_int", "check_positive", "is_int",
           "iteration_seed", "preview", "sample_seed", "write_bytes_with"]


def is_int(value) -> bool:
    """An integer (Python or numpy), and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None, *,
              allow_none: bool = False) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is an integer in ``[minimum, maximum]``
    (either bound may be None), or None when ``allow_none``."""
    if value is None and allow_none:
        return
    ok = is_int(value) and (minimum is None or value >= minimum) and \
        (maximum is None or value <= maximum)
    if ok:
        return
    if minimum is not None and maximum is not None:
        accepted = f"an integer in [{minimum}, {maximum}]"
    elif minimum is not None:
        accepted = f"an integer >= {minimum}"
    elif maximum is not None:
        accepted = f"an integer <= {maximum}"
    else:
        accepted = "an integer"
    if allow_none:
        accepted = f"None or {accepted}"
    raise ValueError(f"{name}={value!r} is not supported; expected {accepted}.")


def check_positive(name: str, value, *, allow_none: bool = False) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is a finite number > 0 (or None when
    ``allow_none``)."""
    if value is None and allow_none:
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        accepted = "a finite number > 0" + (" or None" if allow_none else "")
        raise ValueError(f"{name}={value!r} is not supported; expected {accepted}.")


def preview(values, first: int = 3) -> str:
    """A bounded text of an array for messages: all of it when it has at most ``first + 1``
    values, else its first ``first`` values and the count, ``[1.0, 2.0, 3.0, ...] (1000 values)``.

    Args:
        values: anything ``numpy.asarray`` takes (a tensor on the CPU too); it is flattened.
        first: how many values to show of a longer array.
    """
    try:
        flat = np.asarray(values).ravel()
    except (TypeError, ValueError, RuntimeError):
        return f"<{type(values).__name__}>"
    if flat.size <= first + 1:
        return repr(flat.tolist())
    shown = ", ".join(repr(v) for v in flat[:first].tolist())
    return f"[{shown}, ...] ({flat.size} values)"


def as_array(x, name: str) -> np.ndarray:
    """``x`` as a float64 numpy array; torch tensors are detached and moved to the CPU."""
    try:
        if hasattr(x, "detach"):  # a torch tensor, without importing torch here
            x = x.detach().cpu().numpy()
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array or tensor; got {type(x).__name__}."
                         ) from None


class WriteError(OSError):
    """A file (or folder) that could not be written, and why: ``str()`` is ``"cannot write
    <path>: <reason>"``. An OSError, so code that handles OSError handles it too.

    Args:
        path: what could not be written.
        reason: the operating system's reason (an OSError's ``strerror``) or a sentence.
    """

    def __init__(self, path: str | os.PathLike, reason: str):
        super().__init__(f"cannot write {path}: {reason}")
        self.path = Path(path)
        self.reason = reason

    @classmethod
    def of(cls, err: OSError, path: str | os.PathLike) -> WriteError:
        """``err`` as a WriteError naming its own file when it has one, else ``path``."""
        if isinstance(err, WriteError):
            return err
        where = err.filename if getattr(err, "filename", None) else path
        return cls(where, err.strerror or str(err) or type(err).__name__)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Write a file so that readers only ever see the old or the new whole file: ``write(tmp)``
    fills a temporary file beside ``path``, which then replaces ``path`` in one rename.

    Raises:
        WriteError: the folder, the temporary file or the rename failed (read-only folder or file
            system, disk full...): it names ``path``; the old file, if any, is left as it was.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise WriteError(path, err.strerror or str(err)) from err
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return path


def write_bytes_with(save: Callable[[object], object]) -> Callable[[Path], None]:
    """A ``write`` for :func:`atomic_write` that hands ``save`` an open binary file, so that a
    library writer (``torch.save``, ``np.savez``) fails with Python's OSError, not its own
    error, when the disk is full or the folder read-only."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            save(handle)
    return write


#: Multiplier that separates the seeds of different runs' iterations.
_SEED_STRIDE = 1_000_003
#: Offset of the seed used for the samples drawn after training.
_SAMPLE_OFFSET = 999_999


def iteration_seed(seed: int, iteration: int) -> int:
    """The Brownian seed of training iteration ``iteration`` of a run seeded ``seed``: it depends
    on these two alone, so a resumed run replays exactly what an uninterrupted one does."""
    return seed * _SEED_STRIDE + iteration


def sample_seed(seed: int) -> int:
    """The Brownian seed of the samples (figures, forecasts) drawn after a run seeded ``seed``."""
    return iteration_seed(seed, _SAMPLE_OFFSET)
