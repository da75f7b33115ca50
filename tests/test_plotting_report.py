"""Tests for report-quality figures: the defects a user found in fit.png and loss.png stay fixed.

Each test names the defect it guards: the noise-free curve on a fine grid, the time label as
given, dates on the time axis, legends that cover no data, a moving average that is not distorted
at the start, and loss y limits that come from the data.
"""

import calendar
import re
from datetime import datetime

import numpy as np
import pytest
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from neuralsde.plotting import moving_average, plot_fit, plot_loss


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
# 1. the noise-free curve on its own fine grid


def test_clean_t_draws_the_clean_curve_on_its_fine_grid(reference_like):
    fine_t, samples, obs_t, observed = reference_like
    clean = np.exp(fine_t - 3)[:, None]
    fig = plot_fit(fine_t, samples, observed=observed, obs_t=obs_t, clean=clean, clean_t=fine_t)
    (line,) = _by_gid(fig.axes[0], "clean")
    np.testing.assert_array_equal(line.get_xdata(), fine_t)
    np.testing.assert_array_equal(line.get_ydata(), clean[:, 0])


def test_clean_without_clean_t_keeps_the_data_times(reference_like):
    fine_t, samples, obs_t, observed = reference_like
    fig = plot_fit(fine_t, samples, observed=observed, obs_t=obs_t,
                   clean=np.exp(obs_t - 3)[:, None])
    (line,) = _by_gid(fig.axes[0], "clean")
    np.testing.assert_array_equal(line.get_xdata(), obs_t)


def test_clean_t_of_the_wrong_length_is_refused(reference_like):
    fine_t, samples, *_ = reference_like
    with pytest.raises(ValueError, match="clean_t"):
        plot_fit(fine_t, samples, clean=np.exp(fine_t - 3)[:, None], clean_t=fine_t[:-1])


# ----------------------------------------------------------------------------------------------
# 2. the x label as the caller gives it


def test_time_label_is_the_x_label_as_given(reference_like):
    fine_t, samples, obs_t, observed = reference_like
    fig = plot_fit(fine_t, samples, observed=observed, obs_t=obs_t, time_label="t = x + 3",
                   clean=np.exp(fine_t - 3)[:, None], clean_t=fine_t,
                   clean_label="exp(x), noise-free")
    assert fig.axes[-1].get_xlabel() == "t = x + 3"
    assert "exp(x), noise-free" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_time_label_is_kept_on_a_date_axis(reference_like):
    fine_t, samples, *_ = reference_like
    fig = plot_fit(fine_t, samples, time_label="date", time_origin="2024-01-31")
    assert fig.axes[-1].get_xlabel() == "date"


# ----------------------------------------------------------------------------------------------
# 3. dates on the time axis


_MONTHS = {m for m in calendar.month_abbr if m}


def _is_date_label(text: str) -> bool:
    """A tick label ConciseDateFormatter writes: a year, a month, a day of the month, a date or a
    time of day."""
    if text in _MONTHS or re.fullmatch(r"\d{4}", text) or re.fullmatch(r"\d{1,2}", text):
        return True
    if re.fullmatch(r"\d{2}:\d{2}(:\d{2})?", text):
        return True
    for fmt in ("%Y-%m-%d", "%Y-%b", "%b %d", "%Y-%b-%d"):
        try:
            datetime.strptime(text, fmt)
            return True
        except ValueError:
            pass
    return False


@pytest.mark.parametrize("origin, span_days", [("2024-01-31", 200.0),
                                               ("2019-06-01T00:00:00Z", 1500.0)])
def test_time_origin_shows_dates(origin, span_days):
    rng = np.random.default_rng(2)
    t = np.linspace(0.0, span_days, 101)
    samples = np.sin(t / 40)[None, :, None] + 0.1 * rng.normal(size=(20, 101, 2))
    obs_t = t[::10]
    observed = np.sin(obs_t / 40)[:, None].repeat(2, 1)
    split = 0.75 * span_days
    fig = plot_fit(t, samples, observed=observed, obs_t=obs_t, clean=observed, clean_t=obs_t,
                   split_time=split, names=["a", "b"], time_label="date", time_origin=origin)
    start = mdates.date2num(datetime.fromisoformat(origin.replace("Z", "")))
    for ax in fig.axes:
        assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
        assert isinstance(ax.xaxis.get_major_locator(), mdates.AutoDateLocator)
        # samples, observations, the clean curve and the split line all on the date axis
        np.testing.assert_allclose(_by_gid(ax, "mean")[0].get_xdata(), start + t)
        np.testing.assert_allclose(_by_gid(ax, "data")[0].get_xdata(), start + obs_t)
        np.testing.assert_allclose(_by_gid(ax, "clean")[0].get_xdata(), start + obs_t)
        assert _by_gid(ax, "split")[0].get_xdata()[0] == pytest.approx(start + split)
    _draw(fig)
    ax = fig.axes[-1]
    labels = [label.get_text() for label in ax.get_xticklabels() if label.get_text()]
    assert len(labels) >= 3
    assert all(_is_date_label(text) for text in labels), labels
    # the axis spans the data's dates, not 0 .. span_days
    lo, hi = (mdates.num2date(x).replace(tzinfo=None) for x in ax.get_xlim())
    first = datetime.fromisoformat(origin.replace("Z", ""))
    assert abs((lo - first).days) <= 0.1 * span_days
    assert abs((hi - first).days - span_days) <= 0.1 * span_days


def test_time_origin_with_a_time_zone_shows_its_wall_clock_time(reference_like):
    fine_t, samples, *_ = reference_like
    fig = plot_fit(fine_t, samples, time_origin="2024-03-01T06:00:00+02:00")
    (mean,) = _by_gid(fig.axes[0], "mean")
    assert mdates.num2date(mean.get_xdata()[0]).replace(tzinfo=None) == datetime(2024, 3, 1, 6)


def test_time_origin_that_is_not_a_date_is_refused(reference_like):
    fine_t, samples, *_ = reference_like
    with pytest.raises(ValueError, match="time_origin"):
        plot_fit(fine_t, samples, time_origin="31/01/2024")


# ----------------------------------------------------------------------------------------------
# 4. legends outside the data area


def _assert_legend_clear(fig, legend, renderer):
    box = legend.get_window_extent(renderer)
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent(renderer)), (box, ax.get_window_extent())
    figure_box = fig.bbox
    assert figure_box.x0 - 1 <= box.x0 and box.x1 <= figure_box.x1 + 1
    assert figure_box.y0 - 1 <= box.y0 and box.y1 <= figure_box.y1 + 1


@pytest.mark.parametrize("d", [1, 2])
def test_fit_legend_does_not_cover_the_axes(reference_like, d):
    fine_t, samples, obs_t, observed = reference_like
    samples = samples.repeat(d, 2)
    title = "Neural SDE fit: path-mean MSE 0.231, holdout CRPS 0.5"
    fig = plot_fit(fine_t, samples, observed=observed.repeat(d, 1), obs_t=obs_t,
                   clean=np.exp(fine_t - 3)[:, None].repeat(d, 1), clean_t=fine_t,
                   split_time=4.0, title=title)
    renderer = _draw(fig)
    legend = fig.axes[0].get_legend()
    assert legend is not None
    _assert_legend_clear(fig, legend, renderer)
    # and the title does not sit on the legend
    (title_text,) = [t for t in fig.findobj(Text) if t.get_text() == title]
    assert not title_text.get_window_extent(renderer).overlaps(legend.get_window_extent(renderer))


def test_loss_legend_and_stage_names_do_not_cover_the_axes():
    stages = np.repeat(np.arange(4), 300)
    iterations = np.arange(len(stages))
    losses = np.exp(-iterations / 500) * (1 + stages)
    fig = plot_loss(iterations, losses, stages=stages, title="Training loss",
                    stage_names=["all 7 points", "first 2 points", "first 3 points", "x"])
    renderer = _draw(fig)
    (ax,) = fig.axes
    _assert_legend_clear(fig, ax.get_legend(), renderer)
    axes_box = ax.get_window_extent(renderer)
    title_box = ax.title.get_window_extent(renderer)
    labels = _by_gid(ax, "stage_label")
    assert len(labels) == 4
    for text in labels:
        box = text.get_window_extent(renderer)
        assert box.y0 >= axes_box.y1 - 0.5  # above the data area
        assert not box.overlaps(title_box)
        assert box.y1 <= fig.bbox.y1 + 1  # inside the figure


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


# ----------------------------------------------------------------------------------------------
# 6. loss y limits from the data


def _spiky_losses(n=2000, seed=5):
    rng = np.random.default_rng(seed)
    losses = np.clip(1.2 * np.exp(-np.arange(n) / 500 + 0.3 * rng.normal(size=n)), 0.01, 1.2)
    losses[[3, 7, 12]] = [30.0, 22.0, 26.0]  # a few early spikes
    return np.arange(n), losses


def test_loss_y_limits_come_from_the_data():
    iterations, losses = _spiky_losses()
    assert losses.min() >= 0.01 and np.sort(losses)[-4] <= 1.2
    for stages in (None, np.repeat(np.arange(4), 500)):
        fig = plot_loss(iterations, losses, stages=stages, smooth=25)
        ax = fig.axes[0]
        bottom, top = ax.get_ylim()
        assert 1.2 < top < 50
        assert bottom < 0.01
        assert bottom > 0.01 / 10  # a small margin, not decades of empty space
        smoothed = _by_gid(ax, "smoothed")[0].get_ydata()
        assert bottom <= np.nanmin(smoothed) and np.nanmax(smoothed) <= top  # all shown


def test_a_far_outlier_does_not_stretch_the_loss_axis():
    iterations, losses = _spiky_losses()
    losses[1500] = 1e8  # one diverged iteration
    fig = plot_loss(iterations, losses, smooth=25)
    ax = fig.axes[0]
    bottom, top = ax.get_ylim()
    assert 1.2 < top < 50 and bottom < 0.01
    outside = int(np.sum((losses < bottom) | (losses > top)))
    assert outside >= 1  # the diverged iteration, and maybe the early spikes
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"loss ({outside} value{'s' * (outside > 1)} outside the y range)" in legend


def test_loss_y_limits_follow_the_scale_of_the_losses():
    """No fixed or padded limits: scaling the losses by 1e-6 scales the limits by 1e-6, and a loss
    below 1 with stages marked does not reach up to 1e3."""
    stages = np.repeat(np.arange(7), [500] + [300] * 6)
    iterations = np.arange(len(stages))
    rng = np.random.default_rng(6)
    losses = np.exp(-iterations / 300 % 5 - 5 * stages / 7 + 0.5 * rng.normal(size=len(stages)))
    losses = np.minimum(losses, 1.0)
    bottom, top = plot_loss(iterations, losses, stages=stages).axes[0].get_ylim()
    assert 1.0 <= top < 2.0
    small = plot_loss(iterations, 1e-6 * losses, stages=stages).axes[0].get_ylim()
    np.testing.assert_allclose(small, (1e-6 * bottom, 1e-6 * top), rtol=1e-9)


def test_loss_y_limits_of_a_constant_loss():
    bottom, top = plot_loss(np.arange(50), np.full(50, 0.3)).axes[0].get_ylim()
    assert bottom < 0.3 < top and top / bottom < 10
