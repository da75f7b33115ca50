"""Tests for report-quality figures: the defects a user found in fit.png and loss.png stay fixed.

Each test names the defect it guards: the noise-free curve on a fine grid, the time label as
given, dates on the time axis, legends that cover no data, a moving average that is not distorted
at the start, and loss y limits that come from the data.
"""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from neuralsde.plotting import moving_average, plot_loss


def _by_gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


def _draw(fig):
    """Lay out and draw ``fig`` for real; return its renderer."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


@pytest.fixture
def reference_like():
    """Samples on a fine grid, 7 observations and the noise-free exp(t - 3) (one channel)."""
    rng = np.random.default_rng(0)
    fine_t = np.linspace(0.0, 6.0, 121)
    obs_t = np.arange(7.0)
    samples = np.exp(fine_t - 3)[None, :, None] + 0.3 * rng.normal(size=(30, 121, 1))
    observed = (np.exp(obs_t - 3) + 2 * rng.uniform(size=7))[:, None]
    return fine_t, samples, obs_t, observed


# ----------------------------------------------------------------------------------------------
# 5. the moving average at the start


def _window_bounds(i, a, b, window):
    """The ``shrink_start`` window of entry ``i`` in the run ``[a, b)``."""
    behind = min((window - 1) // 2, i - a)
    ahead = min(window // 2, b - 1 - i, i - a)
    return i - behind, i + ahead + 1


@pytest.mark.parametrize("window", [1, 2, 5, 25, 400])
def test_moving_average_shrink_start_uses_only_values_in_its_window(window):
    rng = np.random.default_rng(3)
    x = np.exp(rng.normal(size=300))
    x[[0, 3, 40]] = [7.3, 30.0, 25.0]
    x[[7, 100]] = np.nan
    groups = np.repeat([0, 1, 2], [120, 80, 100])
    smoothed = moving_average(x, window, groups=groups, edges="shrink_start")
    starts = [0, 120, 200]
    for a in starts:
        assert smoothed[a] == x[a]  # each run starts at its raw value
    for a, b in zip(starts, [120, 200, 300]):
        for i in range(a, b):
            lo, hi = _window_bounds(i, a, b, window)
            values = x[lo:hi][np.isfinite(x[lo:hi])]
            if values.size == 0:
                assert np.isnan(smoothed[i])
                continue
            assert values.min() * (1 - 1e-12) <= smoothed[i] <= values.max() * (1 + 1e-12)
            assert smoothed[i] == pytest.approx(values.mean(), rel=1e-12)


def test_moving_average_rejects_unknown_edges():
    with pytest.raises(ValueError, match="edges"):
        moving_average([1.0, 2.0], 2, edges="pad")


def test_loss_smoothing_starts_at_the_first_raw_loss():
    """The user's report: the smoothed line read 13 at the start where the raw loss was 7.3."""
    rng = np.random.default_rng(4)
    losses = np.exp(-np.arange(400) / 100 + 0.2 * rng.normal(size=400)) * 7.3
    losses[0] = 7.3
    losses[[2, 5, 9]] = [30.0, 28.0, 25.0]  # early spikes
    stages = np.repeat([0, 1], 200)
    fig = plot_loss(np.arange(400), losses, stages=stages, smooth=25)
    (smoothed,) = _by_gid(fig.axes[0], "smoothed")
    y = smoothed.get_ydata()
    assert y[0] == pytest.approx(7.3)
    assert y[200] == pytest.approx(losses[200])  # and every stage starts at its raw loss
    for i in range(len(losses)):
        a, b = (0, 200) if i < 200 else (200, 400)
        lo, hi = _window_bounds(i, a, b, 25)
        assert losses[lo:hi].min() * (1 - 1e-12) <= y[i] <= losses[lo:hi].max() * (1 + 1e-12)
