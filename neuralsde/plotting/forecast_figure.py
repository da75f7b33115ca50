"""The holdout forecast figure: the forecast's median and bands over the held-out data
(:func:`plot_forecast`).

:func:`plot_forecast` checks its inputs (:func:`_check_inputs`), keeps the tail of the training
data before the origin (:func:`_history_window`), then draws each channel's panel: the forecast
(:func:`_draw_forecast`), the training and the held-out data (:func:`_draw_data`) and the
origin; the time axis shows numbers, or dates with ``time_origin``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from .._checks import as_array, check_int
from ._common import (
    _BAND_COLOR,
    _DATA_COLOR,
    _channels,
    _date_axis,
    _finite_quantiles,
    _legend_above,
    _time_to_x,
    _vector,
)
from .fit_figure import _channel_label

__all__ = ["plot_forecast"]

#: Colour of the held-out data.
_HOLDOUT_COLOR = "C3"
#: Above this many data points shown in a panel, the data are a line with tiny markers.
_MANY_POINTS = 150


def plot_forecast(forecast_t, forecast, *, obs_t, observed, origin: float,
                  names: Sequence[str] | None = None, time_label: str = "t",
                  value_label: str | None = None, title: str | None = None,
                  n_paths_shown: int = 5, history: int | None = None,
                  time_origin=None) -> Figure:
    """A forecast from ``origin`` against the data it did not see: one panel per channel.

    Each panel shows the forecast's median (``"median"``), its 50 % and 90 % central bands
    (``"25–75 %"``, ``"5–95 %"``), up to ``n_paths_shown`` sample paths (``"sample paths"``),
    the last ``history`` training observations (black, ``"training data"``) and the held-out ones
    (red, ``"held-out data"``), and a dotted line at the origin (``"forecast origin"``). With
    ``P > 1`` observed paths each is drawn faintly. Artists carry the gids ``"band_90"``,
    ``"band_50"``, ``"median"``, ``"sample_path"``, ``"train_data"``, ``"holdout_data"`` and
    ``"origin"``. Non-finite forecast paths are ignored; with none finite the panel says so.

    Args:
        forecast_t: ``(T_f,)`` forecast times, after ``origin``.
        forecast: ``(S, T_f, d)`` forecast paths (``(S, T_f)`` is read as ``d = 1``).
        obs_t: ``(T_o,)`` times of ``observed``: training times up to ``origin``, held-out after.
        observed: ``(T_o, d)`` or ``(T_o, P, d)`` data, NaN where missing.
        origin: the last training time, where the forecast starts.
        names: ``d`` channel names for the y labels.
        time_label: x-axis label.
        value_label: y-axis label when ``names`` is not given.
        title: figure title (above the legend).
        n_paths_shown: how many forecast paths to draw, ``>= 0``.
        history: how many training times before the origin to show (``>= 1``); default
            ``max(3 * T_f, 50)``, so that a long series does not squeeze the forecast.
        time_origin: ISO date or datetime that time 0 stands for, as in
            :func:`neuralsde.plotting.plot_fit`; the x axis then shows dates.

    Returns:
        The figure, about 7 x 3.8 inches for one channel (taller for more).

    Raises:
        ValueError: on shapes that do not match (the message gives both), a bad
            ``n_paths_shown`` or ``history``, or ``len(names) != d``.
    """
    forecast_t, forecast, obs_t, observed, names = _check_inputs(
        forecast_t, forecast, obs_t, observed, names, n_paths_shown, history)
    d = forecast.shape[2]
    history = max(3 * forecast_t.size, 50) if history is None else history
    train, held = _history_window(obs_t, float(origin), history)
    to_x = _time_to_x(time_origin)

    fig = Figure(figsize=(7.0, 1.0 + 2.8 * d), layout="constrained")
    axes = fig.subplots(d, 1, sharex=True, squeeze=False)[:, 0]
    for i, ax in enumerate(axes):
        _draw_forecast(ax, to_x(forecast_t), forecast[:, :, i], n_paths_shown)
        _draw_data(ax, to_x(obs_t[train]), observed[train, :, i], _DATA_COLOR, "training data",
                   "train_data")
        _draw_data(ax, to_x(obs_t[held]), observed[held, :, i], _HOLDOUT_COLOR, "held-out data",
                   "holdout_data")
        ax.axvline(to_x(float(origin)), color="0.3", linestyle=":", linewidth=1.3, zorder=4,
                   label="forecast origin", gid="origin")
        ax.set_ylabel(_channel_label(i, d, names, value_label))
        ax.grid(True, alpha=0.25, linewidth=0.6)
    if time_origin is not None:
        _date_axis(axes[-1])
    axes[-1].set_xlabel(time_label)
    if title:
        fig.suptitle(title)
    _legend_above(axes[0], max_columns=4)
    return fig


def _check_inputs(forecast_t, forecast, obs_t, observed, names, n_paths_shown, history):
    """The inputs as float64 arrays (``observed`` as ``(T_o, P, d)``) and ``names`` as a list.

    Raises:
        ValueError: on shapes that do not match, a bad ``n_paths_shown`` or ``history``, or
            ``len(names) != d``.
    """
    forecast_t = _vector(forecast_t, "forecast_t")
    forecast = as_array(forecast, "forecast")
    if forecast.ndim == 2:
        forecast = forecast[:, :, None]
    if forecast.ndim != 3 or forecast.shape[1] != forecast_t.size:
        raise ValueError(f"forecast must have shape (S, T_f, d) with T_f = len(forecast_t) = "
                         f"{forecast_t.size}; got {forecast.shape}.")
    forecast = np.where(np.isfinite(forecast), forecast, np.nan)  # diverged paths are missing
    d = forecast.shape[2]
    observed = _channels(observed, "observed", d, "(T_o, d) or (T_o, P, d)")
    if observed.ndim == 2:
        observed = observed[:, None, :]
    obs_t = _vector(obs_t, "obs_t", observed.shape[0], "observed")
    check_int("n_paths_shown", n_paths_shown, 0)
    check_int("history", history, 1, allow_none=True)
    if names is not None:
        names = [str(n) for n in names]
        if len(names) != d:
            raise ValueError(f"names has {len(names)} entries but forecast has {d} channels.")
    return forecast_t, forecast, obs_t, observed, names


def _history_window(obs_t: np.ndarray, origin: float, history: int):
    """Indices of the last ``history`` times up to ``origin`` and of the times after it."""
    tol = 1e-9 * max(1.0, abs(origin))
    train = np.flatnonzero(obs_t <= origin + tol)[-history:]
    held = np.flatnonzero(obs_t > origin + tol)
    return train, held


def _draw_forecast(ax, t: np.ndarray, x: np.ndarray, n_paths_shown: int) -> None:
    """One channel's 90 % and 50 % bands, median and first ``n_paths_shown`` finite paths.

    Args:
        ax: the panel.
        t: ``(T_f,)`` x coordinates.
        x: ``(S, T_f)`` forecast paths of the channel, NaN where not finite.
        n_paths_shown: how many paths to draw.
    """
    finite = np.flatnonzero(np.isfinite(x).all(axis=1))
    if finite.size == 0:
        ax.text(0.5, 0.5, "no finite forecast paths", transform=ax.transAxes, ha="center",
                va="center", fontsize=10, color="0.35", gid="no_samples_note")
        return
    lo90, lo50, median, hi50, hi90 = _finite_quantiles(x[finite], [0.05, 0.25, 0.5, 0.75, 0.95])
    for lo, hi, alpha, label, gid in ((lo90, hi90, 0.18, "5–95 %", "band_90"),
                                      (lo50, hi50, 0.35, "25–75 %", "band_50")):
        if t.size > 1:
            ax.fill_between(t, lo, hi, color=_BAND_COLOR, alpha=alpha, linewidth=0, zorder=1,
                            label=label, gid=gid)
        else:  # one forecast time: a bar
            ax.vlines(t, lo, hi, color=_BAND_COLOR, alpha=alpha, linewidth=8, zorder=1,
                      label=label, gid=gid)
    for k, p in enumerate(finite[:n_paths_shown]):
        ax.plot(t, x[p], color=_BAND_COLOR, linewidth=0.6, alpha=0.5, zorder=2,
                label="sample paths" if k == 0 else "_nolegend_", gid="sample_path")
    ax.plot(t, median, color=_BAND_COLOR, linewidth=2.0, zorder=3, label="median",
            marker="o" if t.size == 1 else None, gid="median")


def _draw_data(ax, t: np.ndarray, y: np.ndarray, color: str, label: str, gid: str) -> None:
    """One channel's data ``y`` ``(T, P)`` at ``t``: a line with markers, each path of a panel
    faintly; the markers shrink when there are many points."""
    if t.size == 0:
        return
    n_paths = y.shape[1]
    many = t.size * n_paths > _MANY_POINTS
    alpha = 1.0 if n_paths == 1 else max(0.15, 1.0 / np.sqrt(n_paths))
    for p in range(n_paths):
        ax.plot(t, y[:, p], color=color, alpha=alpha, linewidth=0.7 if many else 0.9,
                marker="o", markersize=1.5 if many else 3.5, markeredgewidth=0, zorder=5,
                label=(label if n_paths == 1 else f"{label} ({n_paths} paths)") if p == 0
                else "_nolegend_", gid=gid)
