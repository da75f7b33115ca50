"""The fit figure: model sample paths against the data (:func:`plot_fit`).

:func:`plot_fit` checks its inputs (:func:`_check_samples`, :func:`_check_options`,
:func:`_check_data`), then draws each channel's panel (:func:`_draw_samples`, the clean curve,
:func:`_draw_observed`, :func:`_channel_label`), the train/holdout split (:func:`_mark_split`), the
time axis (numbers, or dates with ``time_origin``) and the legend above the top panel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from .._checks import as_array, check_int
from ._common import (
    _BAND_COLOR,
    _CLEAN_COLOR,
    _DATA_COLOR,
    _channels,
    _date_axis,
    _finite_mean,
    _finite_quantiles,
    _legend_above,
    _percent,
    _time_to_x,
    _vector,
)

__all__ = ["plot_fit"]


def plot_fit(t, samples, *, observed=None, obs_t=None, clean=None, clean_t=None,
             split_time: float | None = None, names: Sequence[str] | None = None,
             time_label: str = "t", value_label: str | None = None, title: str | None = None,
             n_paths_shown: int = 5, band: tuple[float, float] = (0.05, 0.95),
             clean_label: str = "true curve", time_origin=None) -> Figure:
    """Model sample paths against the data: one panel per channel, stacked with a shared time axis.

    Each panel shows the ``band`` quantile band of the samples (``"5–95 % band"``), their mean
    (``"mean of S paths"``), up to ``n_paths_shown`` individual sample paths (one legend entry
    ``"sample paths"``), the data as markers (``"data"``; with ``P > 1`` observed paths each path as
    small faint markers, ``"data (P paths)"``, and their mean as larger markers, ``"data mean"``),
    the noise-free curve dashed (``clean_label``), and, with ``split_time``, a dotted line
    ``"train | holdout"`` with the holdout region shaded. The legend belongs to the top panel and
    sits above it (below the title), so it never covers the data.

    Non-finite samples (diverged paths) are ignored by the band and the mean; if a channel has no
    finite sample at all, the panel says ``"no finite sample paths"`` instead of raising.

    Args:
        t: ``(T,)`` times of the samples.
        samples: ``(S, T, d)`` sample paths in data units (``(S, T)`` is read as ``d = 1``).
        observed: ``(T_o, d)`` or ``(T_o, P, d)`` data, NaN where missing.
        obs_t: ``(T_o,)`` times of ``observed``; defaults to ``t``.
        clean: ``(T_c, d)`` noise-free curve (e.g. ``exp(x)`` for the reference data).
        clean_t: ``(T_c,)`` times of ``clean``: a fine grid draws a smooth curve; by default
            ``obs_t`` when its length fits (a polyline through the data times), else ``t``.
        split_time: end of the training data; later times are marked as holdout.
        names: ``d`` channel names for the y labels.
        time_label: x-axis label, used as given (e.g. ``"t = x + 3"`` or ``"date"``).
        value_label: y-axis label when ``names`` is not given.
        title: figure title (above the top panel).
        n_paths_shown: how many individual sample paths to draw (``>= 0``).
        band: lower and upper quantile of the band, ``0 <= lower < upper <= 1``.
        clean_label: legend label of ``clean``.
        time_origin: optional ISO 8601 date or datetime string (as
            :attr:`neuralsde.data.TimeSeries.time_origin` holds it) that time 0 stands for; times
            (``t``, ``obs_t``, ``clean_t``, ``split_time``) are then days since it and the x axis
            shows dates (the artists' x data are then matplotlib date numbers). A time zone in
            it is dropped: dates show its wall-clock time.

    Returns:
        The figure, about 7 x 4.5 inches for one channel (taller for more).

    Raises:
        ValueError: on shapes that do not match (the message gives both), a bad ``band``,
            ``n_paths_shown < 0``, ``len(names) != d`` or a ``time_origin`` that is not ISO 8601.
    """
    t, samples = _check_samples(t, samples)
    d = samples.shape[2]
    lo_q, hi_q, names = _check_options(band, n_paths_shown, names, d)
    observed, obs_t, clean, clean_t = _check_data(t, d, observed, obs_t, clean, clean_t)
    to_x = _time_to_x(time_origin)

    fig = Figure(figsize=(7.0, 1.2 + 3.3 * d), layout="constrained")
    axes = fig.subplots(d, 1, sharex=True, squeeze=False)[:, 0]
    band_label = f"{_percent(lo_q)}–{_percent(hi_q)} % band"

    for i, ax in enumerate(axes):
        _draw_samples(ax, to_x(t), samples[:, :, i], lo_q, hi_q, n_paths_shown, band_label)
        if clean is not None:
            ax.plot(to_x(clean_t), clean[:, i], color=_CLEAN_COLOR, linestyle="--",
                    linewidth=1.4, zorder=4, label=clean_label, gid="clean")
        if observed is not None:
            _draw_observed(ax, to_x(obs_t), observed[:, :, i])
        ax.set_ylabel(_channel_label(i, d, names, value_label))
        ax.grid(True, alpha=0.25, linewidth=0.6)

    if split_time is not None:
        _mark_split(axes, float(to_x(float(split_time))))
    if time_origin is not None:
        _date_axis(axes[-1])

    axes[-1].set_xlabel(time_label)
    if title:
        fig.suptitle(title)
    _legend_above(axes[0])
    return fig


# ----------------------------------------------------------------------------------------------
# input checks


def _check_samples(t, samples) -> tuple[np.ndarray, np.ndarray]:
    """The sample times and the samples, with non-finite samples as NaN.

    Args:
        t: ``(T,)`` times.
        samples: ``(S, T, d)`` or ``(S, T)`` sample paths.

    Returns:
        ``t`` as ``(T,)`` and ``samples`` as ``(S, T, d)``, float64; ``inf`` (a diverged path)
        becomes NaN, so it counts as missing.

    Raises:
        ValueError: if ``t`` is not 1-D or ``samples`` does not have shape ``(S, T, d)``.
    """
    t = _vector(t, "t")
    samples = as_array(samples, "samples")
    if samples.ndim == 2:
        samples = samples[:, :, None]
    if samples.ndim != 3 or samples.shape[1] != t.shape[0]:
        raise ValueError(f"samples must have shape (S, T, d) with T = len(t) = {t.shape[0]}; "
                         f"got {samples.shape}.")
    samples = np.where(np.isfinite(samples), samples, np.nan)  # inf (diverged) counts as missing
    return t, samples


def _check_options(band, n_paths_shown, names, d: int) -> tuple[float, float, list[str] | None]:
    """Checks the band, the number of paths shown and the channel names.

    Args:
        band: ``(lower, upper)`` quantiles.
        n_paths_shown: number of individual sample paths to draw.
        names: ``d`` channel names, or None.
        d: number of channels of the samples.

    Returns:
        The lower and upper quantile as floats, and ``names`` as a list of strings (or None).

    Raises:
        ValueError: unless ``0 <= lower < upper <= 1``, ``n_paths_shown`` is an integer ``>= 0``
            and ``names`` (if given) has ``d`` entries.
    """
    lo_q, hi_q = (float(q) for q in band)
    if not 0.0 <= lo_q < hi_q <= 1.0:
        raise ValueError(f"band={band!r} is not supported; expected (lower, upper) with "
                         f"0 <= lower < upper <= 1.")
    check_int("n_paths_shown", n_paths_shown, 0)
    if names is not None:
        names = [str(n) for n in names]
        if len(names) != d:
            raise ValueError(f"names has {len(names)} entries but samples have {d} channels.")
    return lo_q, hi_q, names


def _check_data(t: np.ndarray, d: int, observed, obs_t, clean, clean_t):
    """The observations and the clean curve with their times, checked against the samples.

    Args:
        t: ``(T,)`` times of the samples.
        d: number of channels of the samples.
        observed: ``(T_o, d)`` or ``(T_o, P, d)`` data, or None.
        obs_t: ``(T_o,)`` times of ``observed``, or None for ``t``.
        clean: ``(T_c, d)`` noise-free curve, or None.
        clean_t: ``(T_c,)`` times of ``clean``, or None for ``obs_t`` when its length fits,
            else ``t``.

    Returns:
        ``(observed, obs_t, clean, clean_t)``: ``observed`` as ``(T_o, P, d)``, the rest as
        float64 arrays; each is None where it was not given (``obs_t`` only when ``observed``
        was not given either).

    Raises:
        ValueError: if a shape does not match the samples or its times.
    """
    if observed is not None:
        observed = _channels(observed, "observed", d, "(T_o, d) or (T_o, P, d)")
        if observed.ndim == 2:
            observed = observed[:, None, :]  # (T_o, P=1, d)
        obs_t = t if obs_t is None else obs_t
        obs_t = _vector(obs_t, "obs_t" if obs_t is not t else "t", observed.shape[0], "observed")
    elif obs_t is not None:
        obs_t = _vector(obs_t, "obs_t")
    if clean is not None:
        clean = _channels(clean, "clean", d, "(T_c, d)")
        if clean_t is None:
            clean_t = obs_t if obs_t is not None and len(obs_t) == clean.shape[0] else t
        clean_t = _vector(clean_t, "clean_t", clean.shape[0], "clean")
    return observed, obs_t, clean, clean_t


# ----------------------------------------------------------------------------------------------
# drawing


def _draw_samples(ax, t: np.ndarray, x: np.ndarray, lo_q: float, hi_q: float,
                  n_paths_shown: int, band_label: str) -> None:
    """One channel's quantile band, first ``n_paths_shown`` finite paths and mean.

    Args:
        ax: the panel.
        t: ``(T,)`` times.
        x: ``(S, T)`` samples of the channel, NaN where missing.
        lo_q: lower quantile of the band.
        hi_q: upper quantile of the band.
        n_paths_shown: how many individual paths to draw.
        band_label: legend label of the band.

    With no finite sample at all, a note in the middle of the panel says so instead.
    """
    n_samples = x.shape[0]
    finite_paths = np.flatnonzero(np.isfinite(x).any(axis=1))
    n_bad = n_samples - int(np.isfinite(x).all(axis=1).sum())

    if finite_paths.size:
        lo, hi = _finite_quantiles(x, [lo_q, hi_q])
        ax.fill_between(t, lo, hi, color=_BAND_COLOR, alpha=0.22, linewidth=0,
                        label=band_label, gid="band", zorder=1)
        for k, p in enumerate(finite_paths[:n_paths_shown]):
            ax.plot(t, x[p], color=_BAND_COLOR, linewidth=0.7, alpha=0.45, zorder=2,
                    label="sample paths" if k == 0 else "_nolegend_", gid="sample_path")
        mean_label = f"mean of {n_samples} paths"
        if n_bad:
            mean_label += f" ({n_bad} non-finite, ignored)"
        ax.plot(t, _finite_mean(x), color=_BAND_COLOR, linewidth=2.2, zorder=3,
                label=mean_label, gid="mean")
    else:
        ax.text(0.5, 0.5, "no finite sample paths", transform=ax.transAxes, ha="center",
                va="center", fontsize=10, color="0.35", gid="no_samples_note")


def _draw_observed(ax, obs_t: np.ndarray, y: np.ndarray) -> None:
    """One channel's data as markers.

    Args:
        ax: the panel.
        obs_t: ``(T_o,)`` times.
        y: ``(T_o, P)`` data of the channel, NaN where missing. One path is drawn as markers
            (``"data"``); several as small faint markers (``"data (P paths)"``) with their mean
            as larger markers (``"data mean"``).
    """
    n_paths = y.shape[1]
    if n_paths == 1:
        ax.plot(obs_t, y[:, 0], linestyle="none", marker="o", markersize=5.5,
                color=_DATA_COLOR, zorder=5, label="data", gid="data")
    else:
        ax.plot(np.repeat(obs_t, n_paths), y.reshape(-1), linestyle="none", marker="o",
                markersize=3, color=_DATA_COLOR, alpha=0.25, markeredgewidth=0,
                zorder=5, label=f"data ({n_paths} paths)", gid="data_path")
        ax.plot(obs_t, _finite_mean(y.T), linestyle="none", marker="o", markersize=6.5,
                color=_DATA_COLOR, zorder=6, label="data mean", gid="data_mean")


def _channel_label(i: int, d: int, names: list[str] | None, value_label: str | None) -> str:
    """The y label of channel ``i`` of ``d``.

    Args:
        i: channel index.
        d: number of channels.
        names: channel names, or None.
        value_label: label used when ``names`` is None; default ``"value"`` for one channel and
            ``"channel"`` for several.

    Returns:
        ``names[i]``, else ``value_label`` with ``" [i]"`` appended when ``d > 1``.
    """
    if names is not None:
        return names[i]
    ylabel = value_label or ("value" if d == 1 else "channel")
    ylabel += f" [{i}]" if d > 1 else ""
    return ylabel


def _mark_split(axes, split_time: float) -> None:
    """A dotted line at ``split_time`` on every panel, and the holdout region after it shaded.

    Args:
        axes: the panels, sharing their x axis.
        split_time: end of the training data.

    Runs after every panel is drawn: the shading reaches the right end of the x limits, which are
    read once autoscaling has seen every panel, and then fixed so the shading does not widen them.
    """
    for ax in axes:
        ax.axvline(split_time, color="0.3", linestyle=":", linewidth=1.3, zorder=4,
                   label="train | holdout", gid="split")
    left, right = axes[0].get_xlim()
    if split_time < right:
        for ax in axes:
            ax.axvspan(max(split_time, left), right, color="0.5", alpha=0.08, linewidth=0,
                       zorder=0, gid="holdout")
        axes[0].set_xlim(left, right)
