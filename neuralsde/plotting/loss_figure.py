"""The loss figure: the loss history on a log scale with the curriculum stages marked.

:func:`plot_loss` checks its inputs (:func:`_check_loss_inputs`), draws the raw and the smoothed
loss (:func:`_draw_losses`, smoothing with :func:`moving_average`), sets the limits from the data
(:func:`_set_limits`, :func:`_robust_log_range`) and marks the stages above the axes
(:func:`_mark_stages`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.textpath import TextPath
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from .._checks import check_int, is_int
from ._common import _legend_below, _vector

__all__ = ["moving_average", "plot_loss"]

#: Percentiles of the raw losses that set the bulk of the y range.
_Y_PERCENTILES = (0.5, 99.5)
#: Raw losses this many decades beyond the bulk are still shown; further ones fall outside.
_Y_REACH = 1.0
#: Margin around the range, as a share of its span in decades, and at least this many decades.
_Y_MARGIN, _Y_MIN_MARGIN = 0.03, 0.03
#: Font size of the stage names, in points.
_STAGE_FONTSIZE = 7.5


def moving_average(x, window: int, *, groups=None, edges: str = "truncate") -> np.ndarray:
    """Centred moving average over ``window`` entries that skips non-finite values.

    Entry ``i`` averages the finite values among ``x[i - behind : i + ahead + 1]``, where away from
    the ends ``behind = (window - 1) // 2`` and ``ahead = window // 2``. Only values that exist are
    averaged (no padding); an entry whose window holds no finite value is NaN. With ``groups``
    (one label per entry) the average never crosses a change of label, so the jump of a loss at a
    curriculum stage stays sharp; the ends below are then the ends of each run of equal labels.

    Near the ends the window shrinks, as ``edges`` says:

    * ``"truncate"``: the window is cut at the ends, so the first entry averages the first
      ``ahead + 1`` values (it looks ahead only) and the last the last ``behind + 1``.
    * ``"shrink_start"``: the window reaches no further ahead than there are entries behind, so
      near the start it shrinks towards the entry itself: the first smoothed value is the first
      raw value, so a loss that starts high is not pulled down by later values, nor a calm start
      pulled up by later spikes. Near the end it is cut as with ``"truncate"``, averaging the
      values behind.

    Args:
        x: ``(N,)`` values.
        window: window length, ``>= 1``.
        groups: optional ``(N,)`` labels; runs of equal labels are smoothed separately.
        edges: ``"truncate"`` or ``"shrink_start"``, see above.

    Returns:
        ``(N,)`` smoothed values, each between the smallest and the largest finite value of its
        window.

    Raises:
        ValueError: if ``x`` is not 1-D, ``window`` is not an integer ``>= 1``, ``groups`` does
            not have ``x``'s shape or ``edges`` is not one of the above.
    """
    x = _vector(x, "x")
    check_int("window", window, 1)
    if edges not in ("truncate", "shrink_start"):
        raise ValueError(f"edges={edges!r} is not supported; expected 'truncate' or "
                         f"'shrink_start'.")
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
        behind = np.minimum(half_lo, idx)
        ahead = np.minimum(half_hi, len(seg) - 1 - idx)
        if edges == "shrink_start":
            ahead = np.minimum(ahead, idx)
        lo, hi = idx - behind, idx + ahead + 1
        count = ccount[hi] - ccount[lo]
        np.divide(csum[hi] - csum[lo], count, out=out[a:b], where=count > 0)
    return out


def plot_loss(iterations, losses, *, stages=None,
              stage_names: Mapping[int, str] | Sequence[str] | None = None, smooth: int = 25,
              title: str | None = None, ylabel: str = "loss") -> Figure:
    """The loss history on a log scale, with the curriculum stages marked.

    Draws the raw loss as a thin light line and its centred moving average over ``smooth``
    iterations as a thicker line (:func:`moving_average` with ``edges="shrink_start"``: computed
    per stage, skipping non-finite values, starting at the raw value). A dotted vertical line
    marks every change of stage, and each stage's name stands rotated just above the axes, where
    it covers no data; names are left out where a stage is too narrow to hold its label without
    touching the previous one. The legend sits below the x label.

    The y range comes from the data shown, never from fixed values: the 0.5th to 99.5th
    percentile of the positive finite raw losses, widened to hold every raw loss and the smoothed
    curve wherever they lie within a decade of that, with a small margin in decades. Far
    outliers (a diverged iteration) therefore lie outside it; the legend then says how many raw
    losses do. Losses that are non-finite or ``<= 0`` cannot be shown on a log scale and leave
    gaps.

    Args:
        iterations: ``(N,)`` iteration numbers.
        losses: ``(N,)`` loss values.
        stages: optional ``(N,)`` integer stage index of each iteration.
        stage_names: stage index -> label (a mapping or a sequence); default ``"stage k"``.
        smooth: moving-average window in iterations; ``<= 1`` (or ``None``) draws no smoothed line.
        title: axes title (above the stage names).
        ylabel: y-axis label.

    Returns:
        The figure, 7 x 4.5 inches.

    Raises:
        ValueError: if the arrays are not 1-D of equal length, or ``stages`` is not integer.
    """
    iterations, losses, stages = _check_loss_inputs(iterations, losses, stages, smooth)

    shown = np.where(np.isfinite(losses) & (losses > 0), losses, np.nan)
    fig = Figure(figsize=(7.0, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.set_yscale("log")
    raw, smoothed = _draw_losses(ax, iterations, losses, shown, stages, smooth)
    bottom, top = _set_limits(ax, iterations, shown, smoothed)
    off_scale = int(np.sum((shown < bottom) | (shown > top)))
    if off_scale:
        raw.set_label(f"loss ({off_scale} value{'s' * (off_scale > 1)} outside the y range)")

    label_height = 0.0
    if stages is not None and len(stages):
        label_height = _mark_stages(fig, ax, iterations, stages, stage_names)

    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.25, linewidth=0.6)
    if title:
        ax.set_title(title, pad=6.0 + label_height)
    _legend_below(ax)
    return fig


def _check_loss_inputs(iterations, losses, stages, smooth):
    """The loss history as arrays, checked.

    Args:
        iterations: ``(N,)`` iteration numbers.
        losses: ``(N,)`` loss values.
        stages: ``(N,)`` integer stage indices (array or tensor), or None.
        smooth: moving-average window, an integer or None.

    Returns:
        ``(iterations, losses, stages)``: float64 ``iterations`` and ``losses``, and ``stages``
        as a numpy array of its own dtype (or None).

    Raises:
        ValueError: if the arrays are not 1-D of equal length, ``stages`` is not integer or
            ``smooth`` is neither an integer nor None.
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
    if smooth is not None and not is_int(smooth):  # check_int would word this "None or an integer"
        raise ValueError(f"smooth={smooth!r} is not supported; expected an integer or None.")
    return iterations, losses, stages


def _draw_losses(ax, iterations: np.ndarray, losses: np.ndarray, shown: np.ndarray,
                 stages: np.ndarray | None, smooth: int | None):
    """The raw loss as a thin light line and, for ``smooth > 1``, its moving average.

    Args:
        ax: the axes, on a log y scale.
        iterations: ``(N,)`` iteration numbers.
        losses: ``(N,)`` loss values as given.
        shown: ``losses`` with the values a log scale cannot show (non-finite, ``<= 0``) as NaN.
        stages: ``(N,)`` stage indices, or None; the average does not cross a change of stage.
        smooth: moving-average window, or None for no smoothed line.

    Returns:
        The raw line and the smoothed values as drawn (``(N,)``, NaN where not positive), or
        None without a smoothed line.
    """
    (raw,) = ax.plot(iterations, shown, color="C0", linewidth=0.7, alpha=0.4, label="loss",
                     gid="raw")
    smoothed = None
    if smooth is not None and smooth > 1 and len(losses):
        smoothed = moving_average(np.where(np.isfinite(losses), losses, np.nan), smooth,
                                  groups=stages, edges="shrink_start")
        smoothed = np.where(smoothed > 0, smoothed, np.nan)
        ax.plot(iterations, smoothed, color="C0", linewidth=1.8,
                label=f"moving average ({smooth} it.)", gid="smoothed")
    return raw, smoothed


def _robust_log_range(shown: np.ndarray, smoothed: np.ndarray | None) -> tuple[float, float]:
    """Log-scale y limits from the data: the bulk of the raw losses and the smoothed curve.

    Args:
        shown: ``(N,)`` raw losses, NaN where they cannot be shown on a log scale; at least one
            is finite.
        smoothed: ``(N,)`` smoothed losses (NaN where not positive), or None.

    Returns:
        ``(bottom, top)``: the :data:`_Y_PERCENTILES` range of the finite raw losses (the
        bulk), widened to every raw loss and every smoothed value within :data:`_Y_REACH` decades
        of it, plus a margin of :data:`_Y_MARGIN` of the span in decades (at least
        :data:`_Y_MIN_MARGIN` decades). Only far outliers, such as one diverged iteration (and
        the bump it puts into the moving average), fall outside. A single level gets a factor 2
        either side.
    """
    logs = np.log10(shown[np.isfinite(shown)])
    bulk_lo, bulk_hi = np.percentile(logs, _Y_PERCENTILES)
    if smoothed is not None:
        logs = np.concatenate([logs, np.log10(smoothed[np.isfinite(smoothed)])])
    near = logs[(logs >= bulk_lo - _Y_REACH) & (logs <= bulk_hi + _Y_REACH)]
    lo, hi = min(bulk_lo, near.min()), max(bulk_hi, near.max())
    if hi - lo <= 1e-12:
        return 10 ** (lo - np.log10(2.0)), 10 ** (hi + np.log10(2.0))
    margin = max(_Y_MARGIN * (hi - lo), _Y_MIN_MARGIN)
    return 10 ** (lo - margin), 10 ** (hi + margin)


def _set_limits(ax, iterations: np.ndarray, shown: np.ndarray,
                smoothed: np.ndarray | None) -> tuple[float, float]:
    """Y limits from the shown losses (:func:`_robust_log_range`) and x limits on the iterations.

    Args:
        ax: the axes, on a log y scale.
        iterations: ``(N,)`` iteration numbers.
        shown: ``(N,)`` losses, NaN where they cannot be shown on a log scale.
        smoothed: ``(N,)`` smoothed losses, or None.

    Returns:
        The y limits ``(bottom, top)``. With no loss to show they are ``(0.1, 10)`` and a note
        says why the axes are empty.
    """
    if np.isfinite(shown).any():
        bottom, top = _robust_log_range(shown, smoothed)
    else:
        bottom, top = 0.1, 10.0
        ax.text(0.5, 0.5, "no positive finite loss values", transform=ax.transAxes,
                ha="center", va="center", fontsize=10, color="0.35")
    ax.set_ylim(bottom, top)
    if len(iterations):
        lo_x, hi_x = np.nanmin(iterations), np.nanmax(iterations)
        if hi_x > lo_x:
            ax.set_xlim(lo_x, hi_x)
    return bottom, top


def _stage_label(stage_names, k) -> str:
    """The label of stage ``k``.

    Args:
        stage_names: stage index -> label (a mapping or a sequence), or None.
        k: the stage index.

    Returns:
        ``str(stage_names[k])``, or ``"stage k"`` where ``stage_names`` has no entry for ``k``.
    """
    if stage_names is None:
        return f"stage {k}"
    try:
        return str(stage_names[k])
    except (KeyError, IndexError, TypeError):
        return f"stage {k}"


def _mark_stages(fig: Figure, ax, iterations: np.ndarray, stages: np.ndarray,
                 stage_names) -> float:
    """Dotted lines at stage changes; each stage's name, rotated, just above the axes.

    Args:
        fig: the figure (its width sets how much room a label needs in data units).
        ax: the axes, with their x limits already set.
        iterations: ``(N,)`` iteration numbers.
        stages: ``(N,)`` integer stage index of each iteration, ``N >= 1``.
        stage_names: stage index -> label, or None; see :func:`_stage_label`.

    Returns:
        How far the names reach above the axes, in points (0 when none is drawn), so a title
        can stand above them.
    """
    change = np.flatnonzero(stages[1:] != stages[:-1]) + 1
    starts = np.concatenate([[0], change])
    for j in change:
        ax.axvline(iterations[j], color="0.35", linestyle=":", linewidth=1.0, zorder=1,
                   gid="stage_boundary")

    # Room check in points: a rotated label needs about 1.4 line heights of horizontal space.
    font = _STAGE_FONTSIZE
    x_lo, x_hi = ax.get_xlim()
    width_pts = (fig.get_figwidth() - 1.1) * 72  # axes width less the typical margins
    need = 1.5 * font * (x_hi - x_lo) / max(width_pts, 1.0)
    gap = 2.0  # points between the top of the axes and the labels
    trans = blended_transform_factory(ax.transData, ax.transAxes) + ScaledTranslation(
        0.25 * font / 72.0, gap / 72.0, fig.dpi_scale_trans)
    last_x, height = -np.inf, 0.0
    for j in starts:
        x = iterations[j]
        end = iterations[starts[starts > j][0]] if (starts > j).any() else x_hi
        # the label sits just right of its line; it must fit before the next line and after the
        # previous label
        if end - x < need or x - last_x < need:
            continue
        label = _stage_label(stage_names, stages[j].item())
        ax.text(x, 1.0, label, transform=trans, rotation=90, ha="left", va="bottom",
                fontsize=font, color="0.25", gid="stage_label", clip_on=False)
        height = max(height, TextPath((0, 0), label, size=font).get_extents().width + gap)
        last_x = x
    return height
