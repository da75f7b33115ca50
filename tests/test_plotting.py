"""Tests for neuralsde.plotting: the figures hold the artists they promise, and save as PNG."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imread

from neuralsde.plotting import moving_average, plot_fit, plot_loss, save

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _by_gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


def _render(fig):
    """Draw ``fig`` for real (the default canvas's draw is a no-op) and return the renderer."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _legend_texts(ax):
    legend = ax.get_legend()
    assert legend is not None
    return [text.get_text() for text in legend.get_texts()]


@pytest.fixture
def fit_data():
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 6.0, 61)
    samples = np.exp(t - 3)[None, :, None] + rng.normal(size=(40, 61, 2))  # (S, T, d)
    obs_t = np.arange(7.0)
    observed = np.exp(obs_t - 3)[:, None] + rng.uniform(size=(7, 2))  # (T_o, d)
    observed[2, 1] = np.nan
    return t, samples, obs_t, observed


def test_plot_fit_artists(fit_data):
    t, samples, obs_t, observed = fit_data
    fig = plot_fit(t, samples, observed=observed, obs_t=obs_t, clean=np.exp(obs_t - 3)[:, None]
                   .repeat(2, 1), split_time=4.5, names=["a", "b"], n_paths_shown=5)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    texts = _legend_texts(fig.axes[0])
    for label in ["data", "5–95 % band", "mean of 40 paths", "sample paths", "true curve",
                  "train | holdout"]:
        assert label in texts
    assert texts.count("sample paths") == 1
    for i, ax in enumerate(fig.axes):
        assert ax.get_ylabel() == ["a", "b"][i]
        assert len(_by_gid(ax, "sample_path")) == 5
        (mean,) = _by_gid(ax, "mean")
        np.testing.assert_allclose(mean.get_ydata(), samples[:, :, i].mean(0))
        np.testing.assert_allclose(mean.get_xdata(), t)
        # the band polygon's vertices lie between the sample quantiles
        (band,) = _by_gid(ax, "band")
        ys = band.get_paths()[0].vertices[:, 1]
        lo, hi = np.quantile(samples[:, :, i], [0.05, 0.95], axis=0)
        np.testing.assert_allclose(ys.min(), lo.min())
        np.testing.assert_allclose(ys.max(), hi.max())
        (data,) = _by_gid(ax, "data")
        np.testing.assert_array_equal(data.get_ydata(), observed[:, i])
        assert _by_gid(ax, "clean")[0].get_linestyle() == "--"
        (split,) = _by_gid(ax, "split")
        assert split.get_xdata()[0] == 4.5
        assert len(_by_gid(ax, "holdout")) == 1
    assert fig.axes[1].get_xlabel() == "t"


def test_plot_fit_paths_shown_capped_by_samples(fit_data):
    t, samples, *_ = fit_data
    fig = plot_fit(t, samples[:3, :, :1], n_paths_shown=10)
    assert len(_by_gid(fig.axes[0], "sample_path")) == 3
    fig = plot_fit(t, samples[:, :, :1], n_paths_shown=0)
    assert _by_gid(fig.axes[0], "sample_path") == []
    assert "sample paths" not in _legend_texts(fig.axes[0])


def test_plot_fit_band_quantiles_custom_and_nan_ignored(fit_data):
    t, samples, *_ = fit_data
    x = samples[:, :, :1].copy()
    x[0, 10:] = np.nan
    x[1, 20] = np.inf  # a diverged path counts as missing
    fig = plot_fit(t, x, band=(0.1, 0.9))
    ax = fig.axes[0]
    texts = _legend_texts(ax)
    assert "10–90 % band" in texts
    assert any(s.startswith("mean of 40 paths") for s in texts)
    clean = np.where(np.isfinite(x[:, :, 0]), x[:, :, 0], np.nan)
    (mean,) = _by_gid(ax, "mean")
    np.testing.assert_allclose(mean.get_ydata(), np.nanmean(clean, axis=0))
    ys = _by_gid(ax, "band")[0].get_paths()[0].vertices[:, 1]
    assert np.isclose(ys.max(), np.nanquantile(clean, 0.9, axis=0).max())


def test_plot_fit_all_nan_samples_gives_note(fit_data):
    t, _, obs_t, observed = fit_data
    samples = np.full((10, len(t), 1), np.nan)
    fig = plot_fit(t, samples, observed=observed[:, :1], obs_t=obs_t)
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert "no finite sample paths" in [text.get_text() for text in ax.texts]
    assert _by_gid(ax, "mean") == []
    assert "data" in _legend_texts(ax)
    _render(fig)  # renders without raising


def test_plot_fit_panel_data_and_torch_inputs(fit_data):
    t, samples, obs_t, _ = fit_data
    rng = np.random.default_rng(1)
    observed = rng.normal(size=(7, 4, 1))  # (T_o, P, d)
    fig = plot_fit(torch.tensor(t), torch.tensor(samples[:, :, :1], requires_grad=True),
                   observed=torch.tensor(observed), obs_t=obs_t, value_label="price")
    ax = fig.axes[0]
    texts = _legend_texts(ax)
    assert "data (4 paths)" in texts and "data mean" in texts
    (group,) = _by_gid(ax, "data_path")
    assert len(group.get_ydata()) == 28
    (mean,) = _by_gid(ax, "data_mean")
    np.testing.assert_allclose(mean.get_ydata(), observed[:, :, 0].mean(1))
    assert ax.get_ylabel() == "price"


def test_plot_fit_shape_errors(fit_data):
    t, samples, obs_t, observed = fit_data
    with pytest.raises(ValueError, match="samples must have shape"):
        plot_fit(t[:-1], samples)
    with pytest.raises(ValueError, match="channels"):
        plot_fit(t, samples[:, :, :1], observed=observed, obs_t=obs_t)
    with pytest.raises(ValueError, match="obs_t"):
        plot_fit(t, samples, observed=observed, obs_t=obs_t[:-1])
    with pytest.raises(ValueError, match="band"):
        plot_fit(t, samples, band=(0.9, 0.1))
    with pytest.raises(ValueError, match="names"):
        plot_fit(t, samples, names=["only one"])


def test_fit_figure_size_grows_with_channels(fit_data):
    t, samples, *_ = fit_data
    one = plot_fit(t, samples[:, :, :1]).get_size_inches()
    two = plot_fit(t, samples).get_size_inches()
    assert one[0] == pytest.approx(7.0) and one[1] == pytest.approx(4.5)
    assert two[1] > one[1]


def test_moving_average():
    x = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    # centred window of 3, truncated at the ends, NaN skipped
    np.testing.assert_allclose(moving_average(x, 3), [1.5, 1.5, 3.0, 4.5, 4.5])
    # N < window: every entry averages the whole (finite) series
    np.testing.assert_allclose(moving_average(x, 25), [3.0] * 5)
    # groups are smoothed separately
    np.testing.assert_allclose(moving_average([1.0, 1.0, 9.0, 9.0], 4, groups=[0, 0, 1, 1]),
                               [1.0, 1.0, 9.0, 9.0])
    assert np.isnan(moving_average([np.nan, np.nan], 2)).all()


def _loss_history(rng):
    sizes = [500] + [300] * 6
    stages = np.repeat(np.arange(7), sizes)
    iterations = np.arange(len(stages))
    losses = np.exp(-iterations / 800 + rng.normal(scale=0.3, size=len(stages))) * (1 + stages)
    return iterations, losses, stages


def test_plot_loss_artists():
    iterations, losses, stages = _loss_history(np.random.default_rng(0))
    losses[[10, 20, 30]] = [np.nan, 0.0, -2.0]
    names = ["all 7 points"] + [f"first {k} points" for k in range(2, 8)]
    fig = plot_loss(iterations, losses, stages=stages, stage_names=names, smooth=25)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "iteration"
    boundaries = _by_gid(ax, "stage_boundary")
    assert len(boundaries) == 6
    assert sorted(line.get_xdata()[0] for line in boundaries) == [500, 800, 1100, 1400, 1700,
                                                                   2000]
    assert [text.get_text() for text in _by_gid(ax, "stage_label")] == names
    assert all(text.get_rotation() == 90 for text in _by_gid(ax, "stage_label"))
    (smoothed,) = _by_gid(ax, "smoothed")
    assert len(smoothed.get_ydata()) == len(losses)
    (raw,) = _by_gid(ax, "raw")
    assert np.isnan(raw.get_ydata()[[10, 20, 30]]).all()  # masked on the log scale
    assert smoothed.get_linewidth() > raw.get_linewidth()
    # the smoothing does not cross the stage boundary at 500
    assert smoothed.get_ydata()[499] == pytest.approx(np.mean(losses[500 - 13:500]))
    _render(fig)


def test_plot_loss_short_stages_labels_do_not_overlap():
    stages = np.repeat(np.arange(6), [2, 2, 2, 2, 300, 300])
    iterations = np.arange(len(stages))
    fig = plot_loss(iterations, np.ones(len(stages)), stages=stages, smooth=1000)
    ax = fig.axes[0]
    assert len(_by_gid(ax, "stage_boundary")) == 5
    renderer = _render(fig)
    boxes = [t.get_window_extent(renderer) for t in _by_gid(ax, "stage_label")]
    assert 1 <= len(boxes) < 6
    for a, b in zip(boxes, boxes[1:]):
        assert not a.overlaps(b)


def test_plot_loss_degenerate_inputs():
    fig = plot_loss([0, 1, 2], [np.nan, 0.0, -1.0])
    _render(fig)
    assert fig.axes[0].get_yscale() == "log"
    fig = plot_loss([0, 1, 2], [1.0, 0.5, 0.25], smooth=25)  # N < smooth
    assert len(_by_gid(fig.axes[0], "smoothed")[0].get_ydata()) == 3
    with pytest.raises(ValueError, match="losses"):
        plot_loss([0, 1], [1.0])
    with pytest.raises(ValueError, match="stages"):
        plot_loss([0, 1], [1.0, 2.0], stages=[0])


def test_save_writes_png(tmp_path, fit_data):
    t, samples, obs_t, observed = fit_data
    path = save(plot_fit(t, samples[:, :, :1], observed=observed[:, :1], obs_t=obs_t),
                tmp_path / "new" / "dir" / "fit.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    height, width = imread(path).shape[:2]
    assert 600 <= width <= 2000 and 350 <= height <= 1200
    assert 1.2 < width / height < 1.9


def test_works_in_threads(tmp_path):
    iterations, losses, stages = _loss_history(np.random.default_rng(0))

    def job(k):
        return save(plot_loss(iterations, losses, stages=stages), tmp_path / f"loss{k}.png")

    with ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(job, range(4)))
    assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in paths)


@pytest.mark.slow
def test_no_pyplot_import():
    code = "import sys, neuralsde.plotting; sys.exit('matplotlib.pyplot' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
