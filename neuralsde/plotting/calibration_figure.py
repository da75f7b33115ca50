"""The calibration figure: the PIT histogram and the coverage of central intervals against their
level (:func:`plot_calibration`).

Takes what :func:`neuralsde.calibration.calibration_summary` reports (counts and edges of the PIT
histogram, levels and observed coverage) and, optionally, the sampling ranges of
:func:`neuralsde.calibration.binomial_band`; this module computes no statistic itself.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .._checks import as_array
from ._common import _BAND_COLOR, _legend_below, _percent

__all__ = ["plot_calibration"]

#: Colour of what a calibrated forecast gives (the flat line, the diagonal) and its range.
_IDEAL_COLOR = "0.3"


def plot_calibration(counts, edges, levels, coverage, *, pit_band=None, coverage_band=None,
                     band_level: float = 0.95, if_calibrated=None,
                     title: str | None = None) -> Figure:
    """Two panels: (a) the PIT histogram as a density, with the flat line of a calibrated
    forecast; (b) the share of observations inside central intervals against their level, with
    the diagonal. A U-shaped histogram and points below the diagonal say the forecast is too
    narrow; a hump and points above it, too wide; a slope, biased.

    Artists carry the gids ``"pit_bars"``, ``"pit_flat"``, ``"pit_band"``, ``"diagonal"``,
    ``"coverage"``, ``"coverage_band"`` and ``"if_calibrated"``.

    Args:
        counts: ``(bins,)`` PIT counts.
        edges: ``(bins + 1,)`` increasing bin edges in ``[0, 1]``.
        levels: ``(L,)`` nominal levels of the central intervals.
        coverage: ``(L,)`` observed shares inside them.
        pit_band: optional ``(lo, hi)``: range of a bin's count for a calibrated forecast
            (numbers, or ``(bins,)`` arrays), shaded around the flat line.
        coverage_band: optional ``(lo, hi)``, each ``(L,)``: range of the share for a calibrated
            forecast, shaded around the diagonal.
        band_level: probability of the ranges, for the legend. Binomial ranges assume
            independent values; the held-out values of one forecast are correlated in time, so
            read them as the least a calibrated forecast would stray.
        if_calibrated: optional ``(level, lo, hi)``: the 5 % and 95 % quantiles of the coverage
            of that level a calibrated forecast would get with the forecast's own correlation
            across times (:func:`neuralsde.calibration.coverage_if_calibrated`), drawn as a
            vertical bar.
        title: figure title.

    Returns:
        The figure, about 10 x 4.6 inches.

    Raises:
        ValueError: on shapes that do not match, edges that do not increase, or no count.
    """
    counts, edges, levels, coverage = _check(counts, edges, levels, coverage)
    n = counts.sum()
    widths = np.diff(edges)
    fig = Figure(figsize=(10.0, 4.6), layout="constrained")
    ax_pit, ax_cov = fig.subplots(1, 2)
    range_label = f"{_percent(band_level)} % range if calibrated"

    ax_pit.bar(edges[:-1], counts / (n * widths), width=widths, align="edge", color=_BAND_COLOR,
               alpha=0.75, edgecolor="white", linewidth=0.8, label="held-out values",
               gid="pit_bars")
    ax_pit.axhline(1.0, color=_IDEAL_COLOR, linestyle="--", linewidth=1.2, label="calibrated",
                   gid="pit_flat")
    if pit_band is not None:
        lo, hi = (np.broadcast_to(as_array(b, "pit_band") / (n * widths), widths.shape)
                  for b in pit_band)
        ax_pit.fill_between(edges, np.append(lo, lo[-1]), np.append(hi, hi[-1]), step="post",
                            color=_IDEAL_COLOR, alpha=0.15, linewidth=0, label=range_label,
                            gid="pit_band", zorder=0)
    ax_pit.set_xlim(edges[0], edges[-1])
    ax_pit.set_ylim(0.0, None)
    ax_pit.set_xlabel("PIT: share of the forecast ensemble below the held-out value")
    ax_pit.set_ylabel("density")
    ax_pit.set_title(f"(a) PIT histogram of {int(n)} held-out values\n"
                     "U shape: bands too narrow; hump: too wide; slope: biased", fontsize=10)

    _coverage_panel(ax_cov, levels, coverage, coverage_band, range_label, if_calibrated)
    for ax in (ax_pit, ax_cov):
        ax.grid(True, alpha=0.25, linewidth=0.6)
        _legend_below(ax)
    if title:
        fig.suptitle(title)
    return fig


def _coverage_panel(ax_cov, levels, coverage, coverage_band, range_label, if_calibrated) -> None:
    """Panel (b) of :func:`plot_calibration`: coverage against the level, the diagonal and the
    ranges of a calibrated forecast."""
    ax_cov.plot([0, 1], [0, 1], color=_IDEAL_COLOR, linestyle="--", linewidth=1.2,
                label="calibrated", gid="diagonal")
    if coverage_band is not None:
        lo, hi = (as_array(b, "coverage_band") for b in coverage_band)
        ax_cov.fill_between(levels, lo, hi, color=_IDEAL_COLOR, alpha=0.15, linewidth=0,
                            label=range_label + ",\nvalues independent" if if_calibrated
                            else range_label, gid="coverage_band", zorder=0)
    if if_calibrated is not None:
        level, low, high = (float(v) for v in if_calibrated)
        ax_cov.plot([level, level], [low, high], color=_IDEAL_COLOR, linewidth=3.0, alpha=0.6,
                    solid_capstyle="butt", gid="if_calibrated", zorder=2,
                    label="90 % range if calibrated, with the\n"
                          "forecast's own correlation in time")
    ax_cov.plot(levels, coverage, color=_BAND_COLOR, marker="o", markersize=5, linewidth=1.5,
                label="forecast", gid="coverage", clip_on=False, zorder=3)
    ax_cov.set_xlim(0.0, 1.0)
    ax_cov.set_ylim(0.0, 1.0)
    ax_cov.set_aspect("equal", adjustable="box")
    ax_cov.set_xlabel("nominal level of the central interval")
    ax_cov.set_ylabel("share of held-out values inside")
    ax_cov.set_title("(b) coverage of central intervals\nbelow the diagonal: too narrow",
                     fontsize=10)


def _check(counts, edges, levels, coverage):
    """The four arrays as float64, checked against each other.

    Raises:
        ValueError: on shapes that do not match, edges that do not increase, or no count.
    """
    counts = as_array(counts, "counts")
    edges = as_array(edges, "edges")
    if counts.ndim != 1 or edges.shape != (counts.size + 1,) or counts.size == 0:
        raise ValueError(f"counts must have shape (bins,) and edges (bins + 1,); got "
                         f"counts.shape={counts.shape}, edges.shape={edges.shape}.")
    if (np.diff(edges) <= 0).any() or not counts.sum() > 0 or (counts < 0).any():
        raise ValueError("edges must increase and counts be >= 0 with a positive total.")
    levels = as_array(levels, "levels")
    coverage = as_array(coverage, "coverage")
    if levels.ndim != 1 or coverage.shape != levels.shape:
        raise ValueError(f"levels and coverage must have the same shape (L,); got "
                         f"levels.shape={levels.shape}, coverage.shape={coverage.shape}.")
    return counts, edges, levels, coverage
