"""The "windows" and "transition" objectives: window sampling, scoring, recovery of known laws."""

import math

import numpy as np
import pytest
import torch

import neuralsde as ns
from neuralsde.data import TimeSeries
from neuralsde.train import TrainConfig, fit
from neuralsde.train.transition import Transition, TransitionConfig, transition_pairs
from neuralsde.train.windows import WindowConfig, Windows, window_index


def _series(values, ts=None, mask=None):
    ys = torch.as_tensor(np.asarray(values, dtype=float))
    if ys.dim() == 1:
        ys = ys[:, None, None]
    elif ys.dim() == 2:
        ys = ys[:, :, None]
    if mask is None:
        mask = ~torch.isnan(ys)
    ts = torch.arange(ys.shape[0], dtype=torch.float64) if ts is None else torch.as_tensor(ts)
    return TimeSeries(ts=ts.to(torch.float64), ys=ys, mask=mask,
                      names=tuple(f"y{c}" for c in range(ys.shape[2])), time_name="t",
                      groups=tuple(str(p) for p in range(ys.shape[1])))


def _ou(n, dt, theta=1.0, sigma=0.5, seed=0, paths=1):
    rng = np.random.default_rng(seed)
    a = math.exp(-theta * dt)
    s = sigma * math.sqrt((1 - a * a) / (2 * theta))
    y = np.zeros((n, paths))
    for k in range(1, n):
        y[k] = y[k - 1] * a + s * rng.standard_normal(paths)
    return _series(y, ts=np.arange(n) * dt)


def _slope_and_level(model, lo=-0.5, hi=0.5):
    x = torch.linspace(lo, hi, 21)[:, None].to(next(model.parameters()).dtype)
    with torch.no_grad():
        f, g = model.f(0.0, x)[:, 0], model.g(0.0, x)[:, 0]
    return -float(np.polyfit(x[:, 0].numpy(), f.numpy(), 1)[0]), float(g.mean())


def test_every_start_can_be_drawn_and_windows_stay_in_their_group():
    # two groups of different lengths (the second ends early: NaN after index 6)
    values = np.arange(20.0).reshape(10, 2)
    values[7:, 1] = np.nan
    series = _series(values)
    index = window_index(series, horizon=3)
    starts = {(int(p), int(s)) for p, s in index[:, :2]}
    assert starts == {(0, s) for s in range(7)} | {(1, s) for s in range(4)}
    for p, s, *targets in index:
        assert targets == [s + 1, s + 2, s + 3]
        assert series.mask[targets, p].all()  # never past the group's last observation
    objective = Windows(series, WindowConfig(windows=64, iters=1, horizon=3))
    objective.setup(ns.build_model({"kind": "mlp", "state_dim": 1}))
    drawn = torch.cat([objective._draw(seed) for seed in range(20)])
    assert set(drawn.tolist()) == set(range(len(index)))


def test_starts_need_a_full_observation_and_gaps_are_skipped_in_the_targets():
    values = np.arange(12.0)
    values[4] = np.nan
    series = _series(values)
    index = window_index(series, horizon=2)
    assert 4 not in index[:, 1].tolist()  # no start at a missing value
    assert [3, 5, 6] in index[:, 1:].tolist()  # the targets skip the gap
    lagged = window_index(series, horizon=2, lags=3)
    assert lagged[0].tolist() == [0, 2, 3, 5, 0, 1, 2]  # lags up to and including the start


def test_a_window_is_scored_only_where_observed():
    series = _series(np.zeros((6, 1, 2)))
    objective = Windows(series, WindowConfig(samples=4, horizon=2, energy_weight=1.0))
    objective.setup(ns.build_model({"kind": "mlp", "state_dim": 2}))
    pred = torch.randn(4, 1, 2, 2, dtype=torch.float64)
    target = torch.zeros(1, 2, 2, dtype=torch.float64)
    mask = torch.tensor([[[True, False], [True, True]]])
    changed = target.clone()
    changed[0, 0, 1] = float("nan")  # the unobserved entry: its value must not matter
    a, b = objective.score(pred, target, mask), objective.score(pred, changed, mask)
    assert torch.equal(a, b) and torch.isfinite(a)
    pred2 = pred.clone()
    pred2[:, 0, 0, 1] += 100.0  # the prediction there must not matter either
    assert torch.equal(objective.score(pred2, target, mask), a)


def test_too_long_a_window_is_refused_with_the_setting_named():
    series = _series(np.arange(5.0))
    with pytest.raises(ValueError, match="horizon=5"):
        window_index(series, horizon=5)
    assert len(window_index(series, horizon=2, lags=3)) == 1  # exactly fits
    with pytest.raises(ValueError, match="lags=4"):
        window_index(series, horizon=2, lags=4)


def test_transition_pairs_are_consecutive_observations():
    values = np.arange(8.0)
    values[3] = np.nan  # a gap: the pair (2, 4) spans it with twice the spacing
    pairs = transition_pairs(_series(values))
    assert [tuple(int(v) for v in r[1:]) for r in pairs] == [(0, 1), (1, 2), (2, 4), (4, 5),
                                                           (5, 6), (6, 7)]


def test_transition_refuses_latent_channels():
    model = ns.build_model({"kind": "mlp", "state_dim": 2, "observed": 1, "lags": 2})
    with pytest.raises(ValueError, match="latent"):
        fit(model, objective=Transition(_series(np.arange(10.0))), quiet=True)


def test_windows_recover_an_ornstein_uhlenbeck_process():
    torch.manual_seed(0)
    series = _ou(1000, 0.2)
    model = ns.build_model({"kind": "mlp", "state_dim": 1, "hidden": 16,
                            "diffusion_final": "softplus"})
    solver = ns.SolveConfig(tableau="sriw1", adaptive=False, dt=0.2)
    fit(model, objective=Windows(series, WindowConfig(iters=200, horizon=6), solver),
        train_config=TrainConfig(lr=0.02, lr_final=0.1), quiet=True)
    theta, sigma = _slope_and_level(model)
    assert abs(theta - 1.0) < 0.2 and abs(sigma - 0.5) < 0.1, (theta, sigma)


def test_transition_recovers_a_densely_sampled_ornstein_uhlenbeck_process():
    torch.manual_seed(0)
    series = _ou(5000, 0.05)
    model = ns.build_model({"kind": "mlp", "state_dim": 1, "hidden": 16,
                            "diffusion_final": "softplus"}).double()
    fit(model, objective=Transition(series, TransitionConfig(iters=300)),
        train_config=TrainConfig(lr=0.02, lr_final=0.1), quiet=True)
    theta, sigma = _slope_and_level(model)
    assert abs(theta - 1.0) < 0.1 and abs(sigma - 0.5) < 0.05, (theta, sigma)


def test_same_seed_same_numbers():
    series = _ou(200, 0.2)
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        model = ns.build_model({"kind": "mlp", "state_dim": 1, "diffusion_final": "softplus"})
        result = fit(model, objective=Windows(series, WindowConfig(iters=5)),
                     train_config=TrainConfig(seed=4), quiet=True)
        runs.append([r["loss"] for r in result.history])
    assert runs[0] == runs[1]


def test_trend_scaling_removes_a_line_and_round_trips():
    from neuralsde.data import Scaling

    t = np.arange(50.0) * 7.0
    values = 300.0 + 0.01 * t + np.sin(t / 10.0)
    series = _series(values, ts=t)
    scaling = Scaling.fit(series, "trend")
    assert scaling.y_trend[0] == pytest.approx(0.01, rel=0.05)
    scaled = scaling.transform(series)
    assert float(scaled.ys.std(unbiased=False)) == pytest.approx(1.0, rel=1e-6)
    back = scaling.inverse_y(scaled.ys, series.ts[:, None])
    torch.testing.assert_close(back, series.ys, rtol=0, atol=1e-10)
    assert Scaling.from_dict(scaling.to_dict()) == scaling
    with pytest.raises(ValueError, match="times"):
        scaling.transform_y(series.ys)


_FAST = ns.SolveConfig(tableau="sriw1", adaptive=False, dt=0.5)  # test-sized fits


def _heldout_crps(model, test, horizon, seed=123):
    objective = Windows(test, WindowConfig(horizon=horizon, samples=32, energy_weight=0.0), _FAST)
    objective.setup(model)
    chosen = torch.arange(objective.n_windows)
    with torch.no_grad():
        pred, _ = objective.simulate(model, chosen, 32, seed)
        return float(objective.score(pred, objective.target[chosen],
                                     objective.target_mask[chosen]))


def _train_windows(series, spec, iters=60, horizon=6):
    torch.manual_seed(0)
    model = ns.build_model({"kind": "mlp", "hidden": 32, "layers": 2,
                            "diffusion_final": "softplus", **spec})
    fit(model, objective=Windows(series, WindowConfig(iters=iters, horizon=horizon, windows=32),
                                 _FAST),
        train_config=TrainConfig(lr=0.01, lr_final=0.1), quiet=True)
    return model


def test_a_latent_channel_started_by_the_encoder_forecasts_an_oscillator_better():
    # a damped noisy oscillator observed in its position only: the velocity must be inferred
    rng = np.random.default_rng(0)
    n, dt, sub = 700, 0.5, 20
    x, v, h = 1.0, 0.0, dt / sub
    xs = np.zeros(n)
    for k in range(n):
        xs[k] = x
        for _ in range(sub):
            v += (-x - 0.1 * v) * h + 0.3 * math.sqrt(h) * rng.standard_normal()
            x += v * h
    xs = (xs - xs.mean()) / xs.std()
    train, test = _series(xs[:550], ts=np.arange(550) * dt), _series(
        xs[550:], ts=np.arange(550, n) * dt)
    one = _train_windows(train, {"state_dim": 1})
    two = _train_windows(train, {"state_dim": 2, "observed": 1, "lags": 3})
    assert _heldout_crps(two, test, 6) < 0.85 * _heldout_crps(one, test, 6)


def test_a_period_lets_a_seasonal_series_be_forecast():
    rng = np.random.default_rng(1)
    n, period = 600, 12.0
    y = np.zeros(n)
    for k in range(1, n):
        y[k] = y[k - 1] + 0.5 * (2 * math.sin(2 * math.pi * (k - 1) / period) - y[k - 1]) \
            + 0.3 * rng.standard_normal()
    train, test = _series(y[:450], ts=np.arange(450.0)), _series(y[450:],
                                                                 ts=np.arange(450.0, n))
    plain = _train_windows(train, {"state_dim": 1})
    seasonal = _train_windows(train, {"state_dim": 1, "period": period})
    assert _heldout_crps(seasonal, test, 6) < 0.7 * _heldout_crps(plain, test, 6)


def test_log_scalings_round_trip_and_refuse_non_positive_values():
    from neuralsde.data import Scaling

    t = np.arange(60.0)
    values = 100.0 * np.exp(0.02 * t) * (1 + 0.2 * np.sin(t / 2.0))
    series = _series(values, ts=t)
    for method in ("log", "log-trend"):
        scaling = Scaling.fit(series, method)
        scaled = scaling.transform(series)
        back = scaling.inverse_y(scaled.ys, series.ts[:, None])
        torch.testing.assert_close(back, series.ys, rtol=1e-12, atol=0)
        assert Scaling.from_dict(scaling.to_dict()) == scaling
    assert Scaling.fit(series, "log-trend").y_trend[0] == pytest.approx(0.02, rel=0.1)
    with pytest.raises(ValueError, match="positive"):
        Scaling.fit(_series(np.linspace(-1.0, 1.0, 10)), "log")
