"""A trend's forecast slope error net of the slope changes a fitted model's own paths produce:
the data's mean squared error of the chosen slope prediction in excess of the paths' average,
measured with numpy's least squares as the oracle."""

import json

import numpy as np
import pytest
import torch

from neuralsde import load_run
from neuralsde._checks import sample_seed
from neuralsde.data import Scaling, TimeSeries, net_slope_error
from neuralsde.data.trend import TREND_SEGMENTS
from neuralsde.fit import main
from neuralsde.forecasting import forecast as forecast_paths
from neuralsde.train import initial_state, sample


def _series(y, mask=None):
    y = torch.as_tensor(np.asarray(y, dtype=np.float64))
    mask = torch.ones(len(y), 1, 1, dtype=torch.bool) if mask is None else \
        torch.as_tensor(mask)[:, None, None]
    return TimeSeries(ts=torch.arange(len(y), dtype=torch.float64),
                      ys=y[:, None, None].clone(), names=("y",), mask=mask)


def _bent(slopes, per=100):
    """A continuous line whose slope changes at the four stretches' boundaries."""
    steps = np.repeat(np.asarray(slopes, dtype=np.float64), per)
    return np.concatenate([[0.0], np.cumsum(steps)[:-1]])


def _paths(*rows):
    return np.stack(rows)[..., None]  # (S, T, 1)


def _mean_squares(y, t):
    """numpy's oracle: the mean squared errors of the recent and the long-run predictions."""
    cut = np.array_split(np.arange(len(t)), TREND_SEGMENTS)
    slopes = np.array([np.polyfit(t[k], y[k], 1)[0] for k in cut])
    before = np.array([np.polyfit(t[:k[0]], y[:k[0]], 1)[0] for k in cut[1:]])
    return np.mean(np.diff(slopes) ** 2), np.mean((slopes[1:] - before) ** 2)


def test_the_slope_error_keeps_the_datas_slope_changes_in_excess_of_the_paths():
    data = _bent((1.0, 2.0, 3.0, 4.0))  # mean squared change 1
    scaling = Scaling.fit(_series(data), "trend")
    assert scaling.y_trend_sd[0] == pytest.approx(1.0, rel=1e-9)
    paths = _paths(_bent((0.0, 0.5, 1.0, 1.5)), _bent((3.0, 3.7, 4.4, 5.1)))  # 0.25 and 0.49
    net = net_slope_error(scaling, _series(data), paths)
    assert net.y_trend_sd[0] == pytest.approx(np.sqrt(1 - (0.25 + 0.49) / 2), rel=1e-9)
    assert net.y_trend_end == scaling.y_trend_end and net.y_trend == scaling.y_trend
    t = np.arange(400.0)
    oracle = 1 - np.mean([_mean_squares(p[:, 0], t)[0] for p in paths])
    assert net.y_trend_sd[0] == pytest.approx(np.sqrt(oracle), rel=1e-9)


def test_paths_that_tilt_the_stretches_as_much_as_the_data_leave_no_slope_error():
    data = _bent((1.0, 2.0, 3.0, 4.0))
    scaling = Scaling.fit(_series(data), "trend")
    same = net_slope_error(scaling, _series(data), _paths(data, data + 7.0))
    assert same.y_trend_sd[0] == pytest.approx(0.0, abs=1e-9)
    steeper = net_slope_error(scaling, _series(data), _paths(_bent((0.0, 2.0, 4.0, 6.0))))
    assert steeper.y_trend_sd == (0.0,)  # more than the data: none left, never negative
    straight = net_slope_error(scaling, _series(data), _paths(3.0 + 0.5 * np.arange(400.0)))
    assert straight.y_trend_sd[0] == pytest.approx(scaling.y_trend_sd[0], rel=1e-9)


def test_a_cycle_nets_the_long_run_prediction_the_data_chose():
    """A cycle swings the stretches' slopes: the data keeps the long-run slope, and a path with
    half the cycle makes a quarter of its mean squared error (the recent prediction's would
    give another number)."""
    t = np.arange(400.0)
    cycle = 5.0 * np.sin(2 * np.pi * t / 43.0)
    data = 0.02 * t + cycle
    scaling = Scaling.fit(_series(data), "trend")
    assert scaling.y_trend_end == scaling.y_trend
    recent, long_run = _mean_squares(data, t)
    assert long_run < recent and scaling.y_trend_sd[0] == pytest.approx(np.sqrt(long_run))
    net = net_slope_error(scaling, _series(data), _paths(1.0 - 0.3 * t + 0.5 * cycle))
    assert net.y_trend_sd[0] == pytest.approx(np.sqrt(0.75 * long_run), rel=1e-9)
    assert abs(net.y_trend_sd[0] - np.sqrt(long_run - 0.25 * recent)) > 0.01 * np.sqrt(long_run)


def test_log_trend_nets_on_the_log_scale_and_skips_missing_observations():
    data = np.exp(_bent((1.0, 2.0, 3.0, 4.0)) / 400)
    mask = np.ones(400, dtype=bool)
    mask[[5, 150, 151, 398]] = False
    series = _series(np.where(mask, data, np.nan), mask)
    scaling = Scaling.fit(series, "log-trend")
    half = np.exp(_bent((1.0, 1.5, 2.0, 2.5)) / 400)  # its log: a quarter of the changes
    net = net_slope_error(scaling, series, _paths(half))
    x = np.arange(400.0)[mask]
    data_ms = _mean_squares(np.log(data)[mask], x)[0]
    path_ms = _mean_squares(np.log(half)[mask], x)[0]
    assert scaling.y_trend_sd[0] == pytest.approx(np.sqrt(data_ms), rel=1e-9)
    assert net.y_trend_sd[0] == pytest.approx(np.sqrt(data_ms - path_ms), rel=1e-9)
    odd = half.copy()
    odd[~mask] = 1e9  # the paths at the missing times are not looked at
    assert net_slope_error(scaling, series, _paths(odd)) == net


def test_nothing_is_netted_without_a_slope_error_a_single_path_or_finite_paths():
    data = _bent((1.0, 2.0, 3.0, 4.0))
    series = _series(data)
    paths = _paths(3.0 + 0.5 * np.arange(400.0))
    standard = Scaling.fit(series, "standard")
    assert net_slope_error(standard, series, paths) is standard
    scaling = Scaling.fit(series, "trend")
    nan = paths.copy()
    nan[0, 7, 0] = np.nan  # a diverged model
    assert net_slope_error(scaling, series, nan) is scaling
    assert net_slope_error(scaling, series, _paths(data)).y_trend_sd[0] < 1e-9  # would net
    panel = TimeSeries(ts=series.ts, ys=series.ys.expand(-1, 2, -1).clone(), names=("y",),
                       mask=series.mask.expand(-1, 2, -1).clone(), groups=("a", "b"))
    pooled = Scaling.fit(panel, "trend")
    assert pooled.y_trend_sd[0] > 0.5 and net_slope_error(pooled, panel, _paths(data)) is pooled
    with pytest.raises(ValueError, match=r"paths has shape \(1, 399, 1\).*\(S, 400, 1\)"):
        net_slope_error(scaling, series, paths[:, 1:])
    with pytest.raises(TypeError, match="series must be a TimeSeries"):
        net_slope_error(scaling, data, paths)


def _trend_run(tmp_path, seed):
    """A tiny CLI run (``--scaling trend --holdout 0.2``) on 80 points of an accelerating rise
    plus a random walk: its folder, ``metrics.json`` and the run read back."""
    rng = np.random.default_rng(seed)
    t = np.arange(80)
    y = 0.05 * t + 0.002 * t ** 2 + np.cumsum(rng.normal(0.0, 0.3, t.size))
    path = tmp_path / "trend.csv"
    path.write_text("t,y\n" + "".join(f"{a},{b:.6f}\n" for a, b in zip(t, y)))
    out = tmp_path / "run"
    assert main(["--data", str(path), "--scaling", "trend", "--state-dim", "1",
                 "--window-length", "4", "--holdout", "0.2", "--iters", "3",
                 "--windows", "4", "--window-samples", "3", "--samples", "9", "--quiet",
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    run = load_run(out)
    return out, metrics, run


def test_the_cli_forecasts_with_the_net_slope_error_and_stores_it(tmp_path):
    out, metrics, run = _trend_run(tmp_path, seed=0)
    n = run.n_train
    train = run.series.head(n)
    gross = Scaling.fit(train, "trend")
    assert metrics["trend_slope_sd"]["data"] == list(gross.y_trend_sd) and gross.y_trend_sd[0] > 0
    # measured on a free run over the training times alone (the forecaster's own fit)
    start = initial_state(gross.transform(train), 1)
    start[:1] = gross.inverse_y(start[:1], train.ts[0])
    free = sample(run.model, start, train.ts, 9, solve_config=run.solve_config,
                  seed=sample_seed(run.settings["seed"]), scaling=gross)
    expected = net_slope_error(gross, train, free)
    assert metrics["trend_slope_sd"]["forecast"] == list(expected.y_trend_sd)
    assert run.scaling.to_dict() == expected.to_dict()  # model.pt keeps what forecasts used
    assert metrics["settings"]["scaling"] == expected.to_dict()
    redrawn = forecast_paths(run.model, train, None, times=run.series.ts[n:].numpy(),
                             samples=9, seed=sample_seed(run.settings["seed"]),
                             scaling=expected, solve_config=run.solve_config)
    np.testing.assert_array_equal(redrawn.samples, np.load(out / "samples.npz")["forecast"])


def test_a_training_part_longer_than_the_free_run_is_netted_on_every_kth_time(tmp_path,
                                                                               monkeypatch):
    """The free run covers at most FREE_RUN_POINTS times; past that the net slope error comes
    from a free run of its own on every k-th training time (here k = ceil(64 / 25) = 3)."""
    from neuralsde.train import recipe

    monkeypatch.setattr(recipe, "FREE_RUN_POINTS", 25)
    out, metrics, run = _trend_run(tmp_path, seed=1)
    assert run.n_train == 64
    train = run.series.head(64)
    gross = Scaling.fit(train, "trend")
    every = train._slice(slice(None, None, 3))
    start = initial_state(gross.transform(train), 1)
    start[:1] = gross.inverse_y(start[:1], train.ts[0])
    own = sample(run.model, start, every.ts, 9, solve_config=run.solve_config,
                 seed=sample_seed(run.settings["seed"]), scaling=gross)
    expected = net_slope_error(gross, every, own)
    assert len(every.ts) == 22 and metrics["trend_slope_sd"]["forecast"] == list(
        expected.y_trend_sd)
