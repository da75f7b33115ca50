"""Pieces both figures share: input coercion, NaN-aware statistics, legends, dates, saving, style.

Imports matplotlib without pyplot (no global figure state) and nothing of torch: tensors are
recognised by their ``detach`` method (:func:`neuralsde._checks.as_array`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
from matplotlib import dates as mdates
from matplotlib import rcParams
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.transforms import ScaledTranslation

from .._checks import as_array, atomic_write

#: Colour of the sample band, paths and mean.
_BAND_COLOR = "C0"
#: Colour of the data markers.
_DATA_COLOR = "black"
#: Colour of the noise-free curve.
_CLEAN_COLOR = "C3"
#: Font size of both figures' legends.
_LEGEND_FONTSIZE = 8
#: Resolution of :func:`save`.
_SAVE_DPI = 120


def _vector(x, name: str, length: int | None = None, length_name: str = "") -> np.ndarray:
    """``x`` as a 1-D float64 array of times.

    Args:
        x: the values (array or tensor).
        name: the argument's name, for messages.
        length: required number of entries, or None for any.
        length_name: name of the array that sets ``length``, for the message.

    Returns:
        ``x`` as a ``(T,)`` float64 array.

    Raises:
        ValueError: if ``x`` is not numeric, not 1-D, or does not have ``length`` entries.
    """
    a = as_array(x, name)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (times); got shape {a.shape}.")
    if length is not None and a.shape[0] != length:
        raise ValueError(f"{name} has {a.shape[0]} entries but {length_name} has {length} "
                         f"time points; they must match.")
    return a


def _channels(x, name: str, d: int, what: str) -> np.ndarray:
    """``x`` as ``(T, d)`` or ``(T, P, d)``; a 1-D array is accepted when ``d == 1``.

    Args:
        x: the values (array or tensor).
        name: the argument's name, for messages.
        d: number of channels the samples have.
        what: the accepted shapes as the message writes them; ``"(T_c, d)"`` allows 2-D only.

    Returns:
        ``x`` as a float64 array with ``d`` channels on its last axis.

    Raises:
        ValueError: on another number of dimensions or of channels.
    """
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

    Args:
        x: ``(S, T)`` values, NaN where missing.
        qs: quantile levels in ``[0, 1]``.

    Returns:
        ``(len(qs), T)`` quantiles.
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
    """Quantile ``q`` as a percentage with up to 3 significant digits (``0.05`` -> ``"5"``)."""
    return f"{100 * q:.3g}"


def _legend_above(ax, max_columns: int = 3) -> None:
    """The legend of ``ax`` in a row (or a few) just above the axes, so it never covers data.

    Args:
        ax: the axes; with several stacked panels, the top one.
        max_columns: most entries side by side.

    No legend when nothing is labelled. A title must then sit above the legend (a figure
    ``suptitle``), not at the axes' default title position.
    """
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                  ncol=min(len(handles), max_columns), fontsize=_LEGEND_FONTSIZE, frameon=False,
                  handlelength=1.8, borderaxespad=0.3, columnspacing=1.6)


def _legend_below(ax) -> None:
    """The legend of ``ax`` in one row below its x label, so it never covers data.

    The gap below the axes is worked out from the tick and label settings in
    :data:`matplotlib.rcParams`, so it clears the tick labels and the x label without drawing the
    figure first. No legend when nothing is labelled.
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return

    def points(size) -> float:
        return FontProperties(size=size).get_size_in_points()

    gap = (max(rcParams["xtick.major.size"], 0.0) + rcParams["xtick.major.pad"]
           + 1.3 * points(rcParams["xtick.labelsize"]) + rcParams["axes.labelpad"]
           + 1.3 * points(rcParams["axes.labelsize"]) + 2.0)
    below = ax.transAxes + ScaledTranslation(0.0, -gap / 72.0, ax.figure.dpi_scale_trans)
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
              bbox_transform=below, ncol=len(handles), fontsize=_LEGEND_FONTSIZE,
              frameon=False, handlelength=1.8, borderaxespad=0.0, columnspacing=1.6)


def _parse_time_origin(time_origin) -> datetime:
    """``time_origin`` as a naive :class:`~datetime.datetime` in its own wall-clock time.

    Args:
        time_origin: an ISO 8601 date or datetime string (``"2024-01-31"``,
            ``"2024-01-31T12:00:00+02:00"``, a trailing ``"Z"`` for UTC), or a
            :class:`~datetime.datetime`.

    Returns:
        The origin without its time zone: dates are shown in the origin's wall-clock time, as the
        data file writes them.

    Raises:
        ValueError: if ``time_origin`` is neither a datetime nor an ISO date/datetime string.
    """
    if isinstance(time_origin, datetime):
        return time_origin.replace(tzinfo=None)
    if isinstance(time_origin, str):
        text = time_origin.strip()
        if text.endswith(("Z", "z")):  # fromisoformat accepts "Z" only from Python 3.11
            text = text[:-1] + "+00:00"
        try:
            return datetime.fromisoformat(text).replace(tzinfo=None)
        except ValueError:
            pass
    raise ValueError(f"time_origin={time_origin!r} is not supported; expected an ISO date or "
                     f"datetime string such as '2024-01-31' or '2024-01-31T12:00:00'.")


def _time_to_x(time_origin) -> Callable[[np.ndarray], np.ndarray]:
    """The map from times to x coordinates: identity, or float days -> matplotlib dates.

    Args:
        time_origin: None for plain numbers, else the date that time 0 stands for (see
            :func:`_parse_time_origin`); times are then float days since it.

    Returns:
        A function taking an array (or a float) of times to x coordinates; with an origin these
        are matplotlib date numbers (days since :func:`matplotlib.dates.get_epoch`).
    """
    if time_origin is None:
        return lambda times: times
    origin = float(mdates.date2num(_parse_time_origin(time_origin)))
    return lambda times: origin + np.asarray(times, dtype=np.float64)


def _date_axis(ax) -> None:
    """Date ticks on the x axis of ``ax`` (shared by the panels sharing it): an
    :class:`~matplotlib.dates.AutoDateLocator` with a
    :class:`~matplotlib.dates.ConciseDateFormatter`."""
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def save(fig: Figure, path: str | os.PathLike) -> Path:
    """Save ``fig`` at 120 dpi with a tight bounding box, creating parent folders.

    Args:
        fig: the figure.
        path: the file; its suffix sets the format (``.png``, ``.pdf``, ``.svg``, ...).

    Returns:
        ``path`` as a :class:`pathlib.Path`.

    Raises:
        WriteError: the file could not be written; an older file at ``path`` is left whole (the
            figure goes to a temporary file that then replaces it).
    """
    path = Path(path)
    if not path.suffix:  # matplotlib appends the default format's suffix: not atomic
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=_SAVE_DPI, bbox_inches="tight")
        return path
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=path.suffix[1:], dpi=_SAVE_DPI,
                                                      bbox_inches="tight"))
