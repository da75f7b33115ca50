"""The trend scalings' line: continuous and piecewise, its slope free to change at fixed knots,
fitted beside the season's harmonics, so that a forecast carries on the data's recent slope."""

import numpy as np
import pytest
import torch

from neuralsde.data import Scaling, TimeSeries
from neuralsde.data.trend import TREND_HARMONICS, TREND_SEGMENTS, trend_knots


def _series(y, t=None, mask=None):
    y = torch.as_tensor(np.asarray(y, dtype=float))
    t = torch.arange(len(y), dtype=torch.float64) if t is None else torch.as_tensor(t)
    mask = torch.ones(len(y), dtype=torch.bool) if mask is None else torch.as_tensor(mask)
    return TimeSeries(ts=t, ys=y[:, None, None].clone(), names=("y",), mask=mask[:, None, None])


def _accelerating(n=401):
    """Slopes 1, 2, 3, 4 on the four stretches of t = 0..400, continuous."""
    t = np.arange(float(n))
    return t, np.cumsum(np.r_[0.0, np.repeat([1.0, 2.0, 3.0, 4.0], (n - 1) // 4)])


def test_the_line_follows_a_slope_that_grows_and_the_forecast_carries_the_last_slope():
    t, y = _accelerating()
    scaling = Scaling.fit(_series(y, t), "trend")
    assert scaling.trend_knots == pytest.approx((100.0, 200.0, 300.0))
    assert scaling.y_trend[0] == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(scaling.y_trend_kinks, [[1.0], [1.0], [1.0]], atol=1e-9)
    zero = torch.zeros(3, 1, dtype=torch.float64)
    ahead = scaling.inverse_y(zero, torch.tensor([400.0, 450.0, 500.0]))[:, 0].numpy()
    np.testing.assert_allclose(ahead, y[-1] + 4.0 * np.array([0.0, 50.0, 100.0]), atol=1e-6)
    # a scaling saved before the line had knots loads as a straight line
    old = {k: v for k, v in scaling.to_dict().items() if k not in ("trend_knots", "y_trend_kinks")}
    assert Scaling.from_dict(old).trend_knots == ()
    assert Scaling.from_dict(scaling.to_dict()) == scaling


def test_a_scaling_saved_without_knots_keeps_its_straight_line():
    straight = Scaling(t_shift=0.0, t_scale=1.0, y_shift=(2.0,), y_scale=(1.0,),
                       method="trend", y_trend=(0.5,))
    back = Scaling.from_dict(straight.to_dict())
    values = back.inverse_y(torch.zeros(2, 1, dtype=torch.float64), torch.tensor([0.0, 10.0]))
    np.testing.assert_allclose(values[:, 0].numpy(), [2.0, 7.0])


def test_each_stretch_holds_a_whole_period():
    assert TREND_SEGMENTS == 4
    assert trend_knots(0.0, 400.0) == pytest.approx((100.0, 200.0, 300.0))
    assert trend_knots(0.0, 400.0, period=12.0) == pytest.approx((100.0, 200.0, 300.0))
    assert trend_knots(0.0, 30.0, period=12.0) == pytest.approx((15.0,))
    assert trend_knots(0.0, 23.0, period=12.0) == ()


@pytest.mark.parametrize("phase", [0.0, 1.0, 2.5])
def test_the_harmonics_keep_the_season_out_of_the_slopes(phase):
    period = 12.0
    t = np.arange(0.0, 130.0)  # 10.8 periods: the stretches end at different phases
    season = 3.0 * np.sin(2 * np.pi * t / period + phase) + np.sin(4 * np.pi * t / period)
    y = 0.05 * t + season
    with_period = Scaling.fit(_series(y, t), "trend", period=period)
    assert TREND_HARMONICS >= 2
    assert with_period.y_trend[0] == pytest.approx(0.05, abs=1e-9)
    np.testing.assert_allclose(with_period.y_trend_kinks, 0.0, atol=1e-9)
    assert with_period.y_trend_sd[0] == pytest.approx(0.0, abs=1e-9)
    without = Scaling.fit(_series(y, t), "trend")
    assert np.abs(np.asarray(without.y_trend_kinks)).max() > 1e-3  # the season tilts them


def test_a_stretch_with_too_few_observations_gets_a_straight_line():
    t, y = _accelerating()
    mask = np.ones(len(t), dtype=bool)
    mask[302:] = False  # the last stretch keeps 1 observation
    scaling = Scaling.fit(_series(np.where(mask, y, np.nan), t, mask), "trend")
    assert scaling.trend_knots == pytest.approx((100.0, 200.0, 300.0))
    assert scaling.y_trend_kinks == ((0.0,), (0.0,), (0.0,))
    assert scaling.y_trend_sd == (0.0,)
    slope = np.polyfit(t[mask], y[mask], 1)[0]
    assert scaling.y_trend[0] == pytest.approx(slope, rel=1e-9)


def test_log_trend_fits_the_line_on_the_log():
    t, y = _accelerating()
    scaling = Scaling.fit(_series(np.exp(y / 400), t), "log-trend")
    np.testing.assert_allclose(scaling.y_trend_kinks, [[1 / 400]] * 3, atol=1e-12)
    series = _series(np.exp(y / 400), t)
    back = scaling.inverse_y(scaling.transform(series).ys, series.ts[:, None])
    torch.testing.assert_close(back, series.ys, rtol=1e-12, atol=0)


@pytest.mark.parametrize("knots, kinks", [
    ((1.0,), ()),                     # a knot without its slope change
    ((1.0,), ((1.0, 2.0),)),          # two channels' changes for one channel
    ((2.0, 1.0), ((1.0,), (1.0,))),   # knots out of order
    ((float("nan"),), ((1.0,),)),     # a knot that is not finite
])
def test_bad_knots_are_refused_naming_them(knots, kinks):
    with pytest.raises(ValueError, match="trend_knots"):
        Scaling(t_shift=0.0, t_scale=1.0, y_shift=(0.0,), y_scale=(1.0,), method="trend",
                y_trend=(1.0,), trend_knots=knots, y_trend_kinks=kinks)
    with pytest.raises(ValueError, match="trend_knots"):  # knots without a trend
        Scaling(t_shift=0.0, t_scale=1.0, y_shift=(0.0,), y_scale=(1.0,), method="standard",
                trend_knots=(1.0,), y_trend_kinks=((1.0,),))
