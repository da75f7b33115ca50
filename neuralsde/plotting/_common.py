"""Pieces both figures share: input coercion, NaN-aware statistics, the legend, saving, style.

Imports matplotlib only through :class:`~matplotlib.figure.Figure` (no pyplot state) and nothing of
torch: tensors are recognised by their ``detach`` method.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .._checks import as_array

_BAND_COLOR = "C0"
_DATA_COLOR = "black"
_CLEAN_COLOR = "C3"
_LEGEND_FONTSIZE = 8
_SAVE_DPI = 120


def _vector(x, name: str, length: int | None = None, length_name: str = "") -> np.ndarray:
    a = as_array(x, name)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (times); got shape {a.shape}.")
    if length is not None and a.shape[0] != length:
        raise ValueError(f"{name} has {a.shape[0]} entries but {length_name} has {length} "
                         f"time points; they must match.")
    return a


def _channels(x, name: str, d: int, what: str) -> np.ndarray:
    """``x`` as ``(T, d)`` or ``(T, P, d)``; a 1-D array is accepted when ``d == 1``."""
    a = as_array(x, name)
    if a.ndim == 1 and d == 1:
        a = a[:, None]
    if a.ndim not in (2, 3) or (what == "(T_c, d)" and a.ndim != 2):
        raise ValueError(f"{name} must have shape {what}; got {a.shape}.")
    if a.shape[-1] != d:
        raise ValueError(
            f"{name} has shape {a.shape} (meaning {a.shape[-1]} channels) but samples have {d} "
            f"channels; pass only the observed channels of samples, e.g. samples[..., :1].")
    return a


def _finite_quantiles(x: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles over axis 0 of ``x`` ``(S, T)``, ignoring NaN; NaN where a column has none.

    Computed only on columns with a finite value, so numpy emits no "All-NaN slice" warning
    (``warnings.catch_warnings`` is not thread-safe, so we avoid needing it).
    """
    out = np.full((len(qs), x.shape[1]), np.nan)
    ok = np.isfinite(x).any(axis=0)
    if ok.any():
        out[:, ok] = np.nanquantile(x[:, ok], qs, axis=0)
    return out


def _finite_mean(x: np.ndarray) -> np.ndarray:
    """Mean over axis 0 of ``x`` ``(S, T)``, ignoring NaN; NaN where a column has none."""
    finite = np.isfinite(x)
    count = finite.sum(axis=0)
    total = np.where(finite, x, 0.0).sum(axis=0)
    return np.divide(total, count, out=np.full(x.shape[1], np.nan), where=count > 0)


def _percent(q: float) -> str:
    return f"{100 * q:.3g}"


def _legend(ax) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="best", fontsize=_LEGEND_FONTSIZE, framealpha=0.85,
                  handlelength=1.8, borderaxespad=0.4)


def save(fig: Figure, path: str | os.PathLike) -> Path:
    """Save ``fig`` at 120 dpi with a tight bounding box, creating parent folders.

    Returns:
        ``path`` as a :class:`pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_SAVE_DPI, bbox_inches="tight")
    return path
