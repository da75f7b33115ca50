"""Figures for a fit: sample paths against the data, and the loss history.

Arrays in (numpy arrays, or torch tensors, which are detached and moved to the CPU), a
:class:`matplotlib.figure.Figure` out; the caller saves it (:func:`save`). This is the only module
of the package that imports matplotlib, and it uses only the object-oriented API (``Figure`` with no
pyplot state), so it works headless and from worker threads.

Artists that tests and callers may want to find carry a ``gid``: ``"band"``, ``"mean"``,
``"sample_path"``, ``"data"``, ``"data_path"``, ``"data_mean"``, ``"clean"``, ``"split"``,
``"holdout"`` in :func:`plot_fit`; ``"raw"``, ``"smoothed"``, ``"stage_boundary"``,
``"stage_label"`` in :func:`plot_loss`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

__all__ = ["plot_fit", "plot_loss", "save", "moving_average"]

_BAND_COLOR = "C0"
_DATA_COLOR = "black"
_CLEAN_COLOR = "C3"
_LEGEND_FONTSIZE = 8
_SAVE_DPI = 120


def _array(x, name: str) -> np.ndarray:
    """``x`` as a float64 numpy array; torch tensors are detached and moved to the CPU."""
    if hasattr(x, "detach"):  # a torch tensor; plotting does not import torch
        x = x.detach().cpu()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array or tensor; got {type(x).__name__}."
                         ) from None


def _vector(x, name: str, length: int | None = None, length_name: str = "") -> np.ndarray:
    a = _array(x, name)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (times); got shape {a.shape}.")
    if length is not None and a.shape[0] != length:
        raise ValueError(f"{name} has {a.shape[0]} entries but {length_name} has {length} "
                         f"time points; they must match.")
    return a


def _channels(x, name: str, d: int, what: str) -> np.ndarray:
    """``x`` as ``(T, d)`` or ``(T, P, d)``; a 1-D array is accepted when ``d == 1``."""
    a = _array(x, name)
    if a.ndim == 1 and d == 1:
        a = a[:, None]
    if a.ndim not in (2, 3) or (what == "(T_c, d)" and a.ndim != 2):
        raise ValueError(f"{name} must have shape {what}; got {a.shape}.")
    if a.shape[-1] != d:
        raise ValueError(
            f"{name} has shape {a.shape} (meaning {a.shape[-1]} channels) but samples have {d} "
            f"channels; pass only the observed channels of samples, e.g. samples[..., :1].")
    return a


# ----------------------------------------------------------------------------------------------
# plot_fit


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


def plot_fit(t, samples, *, observed=None, obs_t=None, clean=None, clean_t=None,
             split_time: float | None = None, names: Sequence[str] | None = None,
             time_label: str = "t", value_label: str | None = None, title: str | None = None,
             n_paths_shown: int = 5, band: tuple[float, float] = (0.05, 0.95),
             clean_label: str = "true curve") -> Figure:
    """Model sample paths against the data: one panel per channel, stacked with a shared time axis.

    Each panel shows the ``band`` quantile band of the samples (``"5–95 % band"``), their mean
    (``"mean of S paths"``), up to ``n_paths_shown`` individual sample paths (one legend entry
    ``"sample paths"``), the data as markers (``"data"``; with ``P > 1`` observed paths each path as
    small faint markers, ``"data (P paths)"``, and their mean as larger markers, ``"data mean"``),
    the noise-free curve dashed (``clean_label``), and, with ``split_time``, a dotted line
    ``"train | holdout"`` with the holdout region shaded. The legend is drawn on the top panel.

    Non-finite samples (diverged paths) are ignored by the band and the mean; if a channel has no
    finite sample at all, the panel says ``"no finite sample paths"`` instead of raising.

    Args:
        t: ``(T,)`` times of the samples.
        samples: ``(S, T, d)`` sample paths in data units (``(S, T)`` is read as ``d = 1``).
        observed: ``(T_o, d)`` or ``(T_o, P, d)`` data, NaN where missing.
        obs_t: ``(T_o,)`` times of ``observed``; defaults to ``t``.
        clean: ``(T_c, d)`` noise-free curve (e.g. ``exp(x)`` for the reference data).
        clean_t: ``(T_c,)`` times of ``clean``; defaults to ``obs_t`` (then ``t``).
        split_time: end of the training data; later times are marked as holdout.
        names: ``d`` channel names for the y labels.
        time_label: x-axis label.
        value_label: y-axis label when ``names`` is not given.
        title: figure title (above the top panel).
        n_paths_shown: how many individual sample paths to draw (``>= 0``).
        band: lower and upper quantile of the band, ``0 <= lower < upper <= 1``.
        clean_label: legend label of ``clean``.

    Returns:
        The figure, about 7 x 4.5 inches for one channel (taller for more).

    Raises:
        ValueError: on shapes that do not match (the message gives both), a bad ``band``,
            ``n_paths_shown < 0`` or ``len(names) != d``.
    """
    t = _vector(t, "t")
    samples = _array(samples, "samples")
    if samples.ndim == 2:
        samples = samples[:, :, None]
    if samples.ndim != 3 or samples.shape[1] != t.shape[0]:
        raise ValueError(f"samples must have shape (S, T, d) with T = len(t) = {t.shape[0]}; "
                         f"got {samples.shape}.")
    n_samples, _, d = samples.shape
    samples = np.where(np.isfinite(samples), samples, np.nan)  # inf (diverged) counts as missing

    lo_q, hi_q = (float(q) for q in band)
    if not 0.0 <= lo_q < hi_q <= 1.0:
        raise ValueError(f"band={band!r} is not supported; expected (lower, upper) with "
                         f"0 <= lower < upper <= 1.")
    if isinstance(n_paths_shown, bool) or not isinstance(n_paths_shown, (int, np.integer)) \
            or n_paths_shown < 0:
        raise ValueError(f"n_paths_shown={n_paths_shown!r} is not supported; expected an "
                         f"integer >= 0.")
    if names is not None:
        names = [str(n) for n in names]
        if len(names) != d:
            raise ValueError(f"names has {len(names)} entries but samples have {d} channels.")

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

    fig = Figure(figsize=(7.0, 1.2 + 3.3 * d), layout="tight")
    axes = fig.subplots(d, 1, sharex=True, squeeze=False)[:, 0]
    band_label = f"{_percent(lo_q)}–{_percent(hi_q)} % band"

    for i, ax in enumerate(axes):
        x = samples[:, :, i]  # (S, T)
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

        if clean is not None:
            ax.plot(clean_t, clean[:, i], color=_CLEAN_COLOR, linestyle="--", linewidth=1.4,
                    zorder=4, label=clean_label, gid="clean")

        if observed is not None:
            y = observed[:, :, i]  # (T_o, P)
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

        if names is not None:
            ylabel = names[i]
        else:
            ylabel = value_label or ("value" if d == 1 else "channel")
            ylabel += f" [{i}]" if d > 1 else ""
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.25, linewidth=0.6)

    if split_time is not None:
        split_time = float(split_time)
        for ax in axes:  # x limits are shared: read them once autoscaling has seen every panel
            ax.axvline(split_time, color="0.3", linestyle=":", linewidth=1.3, zorder=4,
                       label="train | holdout", gid="split")
        left, right = axes[0].get_xlim()
        if split_time < right:
            for ax in axes:
                ax.axvspan(max(split_time, left), right, color="0.5", alpha=0.08, linewidth=0,
                           zorder=0, gid="holdout")
            axes[0].set_xlim(left, right)

    axes[-1].set_xlabel(time_label)
    if title:
        axes[0].set_title(title)
    _legend(axes[0])
    return fig


def _legend(ax) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="best", fontsize=_LEGEND_FONTSIZE, framealpha=0.85,
                  handlelength=1.8, borderaxespad=0.4)


# ----------------------------------------------------------------------------------------------
# plot_loss


def moving_average(x, window: int, *, groups=None) -> np.ndarray:
    """Centred moving average over ``window`` entries that skips non-finite values.

    Near the ends (and with fewer than ``window`` entries) the window is truncated; an entry
    whose window holds no finite value is NaN. With ``groups`` (one label per entry) the average
    never crosses a change of label, so the jump of a loss at a curriculum stage stays sharp.

    Args:
        x: ``(N,)`` values.
        window: window length, ``>= 1``.
        groups: optional ``(N,)`` labels; runs of equal labels are smoothed separately.

    Returns:
        ``(N,)`` smoothed values.
    """
    x = _vector(x, "x")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window={window!r} is not supported; expected an integer >= 1.")
    out = np.full(x.shape, np.nan)
    if groups is None:
        starts = np.array([0, len(x)]) if len(x) else np.array([0])
    else:
        groups = np.asarray(groups)
        if groups.shape != x.shape:
            raise ValueError(f"groups has shape {groups.shape} but x has shape {x.shape}.")
        starts = np.concatenate([[0], np.flatnonzero(groups[1:] != groups[:-1]) + 1, [len(x)]])
    half_lo, half_hi = (window - 1) // 2, window // 2
    for a, b in zip(starts[:-1], starts[1:]):
        seg = x[a:b]
        finite = np.isfinite(seg)
        csum = np.concatenate([[0.0], np.cumsum(np.where(finite, seg, 0.0))])
        ccount = np.concatenate([[0], np.cumsum(finite)])
        idx = np.arange(len(seg))
        lo = np.clip(idx - half_lo, 0, len(seg))
        hi = np.clip(idx + half_hi + 1, 0, len(seg))
        count = ccount[hi] - ccount[lo]
        np.divide(csum[hi] - csum[lo], count, out=out[a:b], where=count > 0)
    return out


def _stage_label(stage_names, k) -> str:
    if stage_names is None:
        return f"stage {k}"
    try:
        return str(stage_names[k])
    except (KeyError, IndexError, TypeError):
        return f"stage {k}"


def plot_loss(iterations, losses, *, stages=None,
              stage_names: Mapping[int, str] | Sequence[str] | None = None, smooth: int = 25,
              title: str | None = None, ylabel: str = "loss") -> Figure:
    """The loss history on a log scale, with the curriculum stages marked.

    Draws the raw loss as a thin light line, its centred moving average over ``smooth``
    iterations (computed per stage, skipping non-finite values) as a thicker line, a dotted vertical
    line at every change of stage and each stage's name, rotated, near the top of the axes. Names
    are left out where a stage is too narrow to hold its label without touching the previous one.
    Losses that are non-finite or ``<= 0`` cannot be shown on a log scale and leave gaps.

    Args:
        iterations: ``(N,)`` iteration numbers.
        losses: ``(N,)`` loss values.
        stages: optional ``(N,)`` integer stage index of each iteration.
        stage_names: stage index -> label (a mapping or a sequence); default ``"stage k"``.
        smooth: moving-average window in iterations; ``<= 1`` (or ``None``) draws no smoothed line.
        title: axes title.
        ylabel: y-axis label.

    Returns:
        The figure, 7 x 4.5 inches.

    Raises:
        ValueError: if the arrays are not 1-D of equal length, or ``stages`` is not integer.
    """
    iterations = _vector(iterations, "iterations")
    losses = _vector(losses, "losses", len(iterations), "iterations")
    if stages is not None:
        stages_arr = np.asarray(stages.detach().cpu() if hasattr(stages, "detach") else stages)
        if stages_arr.shape != iterations.shape:
            raise ValueError(f"stages has shape {stages_arr.shape} but iterations has shape "
                             f"{iterations.shape}; give one stage index per iteration.")
        if stages_arr.size and not np.issubdtype(stages_arr.dtype, np.integer):
            raise ValueError(f"stages must hold integer stage indices; got dtype "
                             f"{stages_arr.dtype}.")
        stages = stages_arr
    if smooth is not None and (isinstance(smooth, bool)
                               or not isinstance(smooth, (int, np.integer))):
        raise ValueError(f"smooth={smooth!r} is not supported; expected an integer or None.")

    shown = np.where(np.isfinite(losses) & (losses > 0), losses, np.nan)
    fig = Figure(figsize=(7.0, 4.5), layout="tight")
    ax = fig.subplots()
    ax.set_yscale("log")
    ax.plot(iterations, shown, color="C0", linewidth=0.7, alpha=0.4, label="loss", gid="raw")
    smoothed = None
    if smooth is not None and smooth > 1 and len(losses):
        smoothed = moving_average(np.where(np.isfinite(losses), losses, np.nan), smooth,
                                  groups=stages)
        smoothed = np.where(smoothed > 0, smoothed, np.nan)
        ax.plot(iterations, smoothed, color="C0", linewidth=1.8,
                label=f"moving average ({smooth} it.)", gid="smoothed")

    valid = shown[np.isfinite(shown)]
    if valid.size:
        bottom, top = valid.min(), valid.max()
        if top <= bottom:
            bottom, top = bottom / 2, top * 2
        span = np.log10(top) - np.log10(bottom)
        # headroom above the curve for the stage names
        head = 0.35 if stages is not None else 0.05
        ax.set_ylim(10 ** (np.log10(bottom) - 0.05 * span),
                    10 ** (np.log10(top) + head * span))
    else:
        ax.set_ylim(0.1, 10.0)
        ax.text(0.5, 0.5, "no positive finite loss values", transform=ax.transAxes,
                ha="center", va="center", fontsize=10, color="0.35")
    if len(iterations):
        lo_x, hi_x = np.nanmin(iterations), np.nanmax(iterations)
        if hi_x > lo_x:
            ax.set_xlim(lo_x, hi_x)

    if stages is not None and len(stages):
        _mark_stages(fig, ax, iterations, stages, stage_names)

    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.25, linewidth=0.6)
    if title:
        ax.set_title(title)
    _legend(ax)
    return fig


def _mark_stages(fig: Figure, ax, iterations: np.ndarray, stages: np.ndarray,
                 stage_names) -> None:
    """Dotted lines at stage changes; each stage's name, rotated, near the top of the axes."""
    change = np.flatnonzero(stages[1:] != stages[:-1]) + 1
    starts = np.concatenate([[0], change])
    for j in change:
        ax.axvline(iterations[j], color="0.35", linestyle=":", linewidth=1.0, zorder=1,
                   gid="stage_boundary")

    # Room check in points: a rotated label needs about 1.4 line heights of horizontal space.
    font = 7.5
    x_lo, x_hi = ax.get_xlim()
    width_pts = (fig.get_figwidth() - 1.1) * 72  # axes width less the typical margins
    need = 1.5 * font * (x_hi - x_lo) / max(width_pts, 1.0)
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    pad = 0.25 * font * (x_hi - x_lo) / max(width_pts, 1.0)
    last_x = -np.inf
    for j in starts:
        x = iterations[j]
        end = iterations[starts[starts > j][0]] if (starts > j).any() else x_hi
        # the label sits just right of its line; it must fit before the next line and after the
        # previous label
        if end - x < need or x - last_x < need:
            continue
        ax.text(x + pad, 0.98, _stage_label(stage_names, stages[j].item()), transform=trans,
                rotation=90, ha="left", va="top", fontsize=font, color="0.25", gid="stage_label",
                bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none",
                          alpha=0.7))
        last_x = x


# ----------------------------------------------------------------------------------------------


def save(fig: Figure, path: str | os.PathLike) -> Path:
    """Save ``fig`` at 120 dpi with a tight bounding box, creating parent folders.

    Returns:
        ``path`` as a :class:`pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_SAVE_DPI, bbox_inches="tight")
    return path
