"""The trend scalings' line past the data, which carries on the last stretch's slope, and its
slope uncertainty: measured as the changes of slope from one of the data's stretches to the next,
and carried into forecasts as a per-path slope error growing with the horizon."""

import numpy as np
import pytest
import torch

from neuralsde.data import Scaling, TimeSeries
from neuralsde.data.trend import TREND_SEGMENTS
from neuralsde.train import sample


def _series(y, t=None):
    y = torch.as_tensor(y, dtype=torch.float64)
    t = torch.arange(len(y), dtype=torch.float64) if t is None else t
    return TimeSeries(ts=t, ys=y[:, None, None].clone(), names=("y",),
                      mask=torch.ones(len(y), 1, 1, dtype=torch.bool))


class _Still(torch.nn.Module):
    """No drift, no diffusion: the paths stay at their start, so only the slope error moves."""

    noise_type, sde_type = "diagonal", "ito"

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def f(self, t, y):
        return torch.zeros_like(y)

    def g(self, t, y):
        return torch.zeros_like(y)


def _bent_line(slopes=(1.0, 2.0, 3.0, 4.0), per=100):
    """A continuous line whose slope changes at the boundaries of the four stretches."""
    y, value = [], 0.0
    for slope in slopes:
        for _ in range(per):
            y.append(value)
            value += slope
    return np.array(y)


@pytest.mark.parametrize("slopes", [(1.0, 2.0, 3.0, 4.0), (1.0, 2.0, 4.0, 7.0)])
def test_the_slope_spread_is_the_rms_change_of_the_stretches_slopes(slopes):
    """A rising slope: the previous stretch's slope predicts each stretch's better than the
    slope of all the data before it, so the line bends and the spread is the RMS change."""
    assert TREND_SEGMENTS == 4
    rms = np.sqrt(np.mean(np.diff(slopes) ** 2))  # 1 and sqrt(14 / 3)
    scaling = Scaling.fit(_series(_bent_line(slopes)), "trend")
    assert scaling.y_trend_sd[0] == pytest.approx(rms, rel=1e-9)
    assert scaling.y_trend_end[0] == pytest.approx(slopes[-1], rel=1e-9)
    logged = Scaling.fit(_series(np.exp(_bent_line(slopes) / 400)), "log-trend")
    assert logged.y_trend_sd[0] == pytest.approx(rms / 400, rel=1e-9)
    assert logged.y_trend_end[0] == pytest.approx(slopes[-1] / 400, rel=1e-9)


def test_past_the_data_the_line_carries_on_the_last_stretchs_own_line():
    """Up to the data's end the least-squares line; just after it the last stretch's line, with
    its slope and its level there (the bent line has no noise: no shrinkage)."""
    y = _bent_line()  # slopes 1, 2, 3, 4; times 0..399
    scaling = Scaling.fit(_series(y), "trend")
    assert scaling.t_end == 399.0
    zeros = torch.zeros(5, 1, dtype=torch.float64)
    before = torch.tensor([0.0, 100.0, 250.0, 398.0, 399.0], dtype=torch.float64)
    straight = scaling.y_shift[0] + scaling.y_trend[0] * before  # the least-squares line
    np.testing.assert_allclose(scaling.inverse_y(zeros, before)[:, 0], straight, rtol=1e-12)
    after = torch.tensor([399.5, 400.0, 410.0, 499.0, 1399.0], dtype=torch.float64)
    np.testing.assert_allclose(scaling.inverse_y(zeros, after)[:, 0],
                               y[-1] + 4.0 * (after - 399.0), rtol=1e-12)
    assert scaling.y_trend_jump[0] == pytest.approx(y[-1] - float(straight[-1]), rel=1e-12)
    end = torch.tensor([[y[-1]]], dtype=torch.float64)  # the last value, as a forecast start:
    assert float(scaling.transform_y(end, 399.0, after=True)) == pytest.approx(0, abs=1e-9)
    assert float(scaling.transform_y(end, 399.0)) == pytest.approx(
        scaling.y_trend_jump[0] / scaling.y_scale[0], rel=1e-12)  # training reads the line
    values = torch.tensor([[7.0], [-3.0], [2.5], [0.0], [1e3]], dtype=torch.float64)
    np.testing.assert_allclose(scaling.inverse_y(scaling.transform_y(values, after), after),
                               values, rtol=1e-12)


def test_a_line_whose_stretches_cannot_be_measured_does_not_bend():
    y = 2.0 + 0.5 * np.arange(10) + np.sin(np.arange(10))
    scaling = Scaling.fit(_series(y), "trend")  # 10 points: fewer than 3 per stretch
    assert scaling.y_trend_end == scaling.y_trend and scaling.y_trend_sd == (0.0,)
    far = torch.tensor([100.0], dtype=torch.float64)
    expected = scaling.y_shift[0] + scaling.y_trend[0] * 100.0
    assert float(scaling.inverse_y(torch.zeros(1, 1, dtype=torch.float64), far)) == \
        pytest.approx(expected, rel=1e-12)


def test_a_straight_line_and_the_other_scalings_have_no_slope_spread():
    line = 3.0 + 0.5 * np.arange(200)
    assert Scaling.fit(_series(line), "trend").y_trend_sd[0] == pytest.approx(0, abs=1e-9)
    assert Scaling.fit(_series(line), "standard").y_trend_sd == ()
    assert Scaling.fit(_series(line[:10]), "trend").y_trend_sd == (0.0,)  # too short to tell


def test_the_slope_spread_and_bend_survive_a_round_trip_and_old_files_load_without_them():
    scaling = Scaling.fit(_series(_bent_line()), "trend")
    again = Scaling.from_dict(scaling.to_dict())
    assert again == scaling
    old = {k: v for k, v in scaling.to_dict().items()
           if k not in ("y_trend_sd", "y_trend_end", "t_end", "y_trend_jump")}
    loaded = Scaling.from_dict(old)
    assert loaded.y_trend_sd == () and loaded.y_trend_end == ()
    far = torch.tensor([1000.0], dtype=torch.float64)  # an old file's line does not bend
    assert float(loaded.inverse_y(torch.zeros(1, 1, dtype=torch.float64), far)) == \
        pytest.approx(scaling.y_shift[0] + scaling.y_trend[0] * 1000.0, rel=1e-12)
    base = dict(t_shift=0, t_scale=1, y_shift=(0,), y_scale=(1,), method="trend", y_trend=(1.0,))
    with pytest.raises(ValueError, match="y_trend_sd"):
        Scaling(**base, y_trend_sd=(-1.0,))
    with pytest.raises(ValueError, match="y_trend_end"):
        Scaling(**base, y_trend_end=(1.0, 2.0))
    with pytest.raises(ValueError, match="y_trend_end"):
        Scaling(**base, y_trend_end=(float("nan"),))
    with pytest.raises(ValueError, match="t_end"):
        Scaling(**base, y_trend_end=(2.0,), t_end=float("inf"))
    with pytest.raises(ValueError, match="y_trend_jump"):
        Scaling(**base, y_trend_jump=(float("inf"),))
    assert "y_trend_jump" in scaling.to_dict() and loaded.y_trend_jump == ()


def test_a_forecast_band_widens_by_the_slope_spread_times_the_horizon():
    scaling = Scaling.fit(_series(_bent_line()), "trend")
    sd = scaling.y_trend_sd[0]
    t0 = 399.0
    times = torch.tensor([409.0, 449.0, 499.0], dtype=torch.float64)
    start = torch.tensor([_bent_line()[-1]])  # on the line that goes on past the data
    paths = sample(_Still(), start, times, 4000, seed=3, t0=t0, scaling=scaling)[..., 0].numpy()
    line = scaling.inverse_y(torch.zeros(3, 1, dtype=torch.float64), times)[:, 0]
    horizon = (times - t0).numpy()
    np.testing.assert_allclose(line, float(start) + 4.0 * horizon, rtol=1e-12)  # no step
    np.testing.assert_allclose(paths.std(axis=0), sd * horizon, rtol=0.05)
    # the mean is the line within 4 standard errors of a mean of 4,000 draws
    assert np.all(np.abs(paths.mean(axis=0) - line.numpy()) < 4 * sd * horizon / np.sqrt(4000))
    corr = np.corrcoef(paths[:, 0], paths[:, 2])[0, 1]
    assert corr == pytest.approx(1.0, abs=1e-9)  # one slope error per path: a straight fan
    same = sample(_Still(), start, times, 4000, seed=3, t0=t0, scaling=scaling)[..., 0].numpy()
    other = sample(_Still(), start, times, 4000, seed=4, t0=t0, scaling=scaling)[..., 0].numpy()
    assert np.array_equal(paths, same) and not np.array_equal(paths, other)


def test_paths_from_the_start_of_the_data_get_no_slope_error():
    scaling = Scaling.fit(_series(_bent_line()), "trend")
    times = torch.tensor([0.0, 100.0, 399.0], dtype=torch.float64)
    start = torch.tensor([float(scaling.inverse_y(torch.zeros(1, dtype=torch.float64), 0.0)[0])])
    paths = sample(_Still(), start, times, 50, seed=0, scaling=scaling)[..., 0].numpy()
    assert np.ptp(paths, axis=0).max() == pytest.approx(0, abs=1e-9)


def test_the_slope_past_the_data_shrinks_noisy_stretch_slopes_toward_the_whole_line():
    """On a straight line plus white noise the stretches' slopes differ only by their estimation
    errors, and the slope carried on stays near the whole line's (true) slope; the last
    stretch's own slope would be several times further off."""
    rng = np.random.default_rng(0)
    t = np.arange(200.0)
    carried, last = [], []
    for _ in range(200):
        y = 2.0 + 0.1 * t + rng.normal(0.0, 5.0, t.size)
        scaling = Scaling.fit(_series(y), "trend")
        carried.append(scaling.y_trend_end[0] - 0.1)
        last.append(np.polyfit(t[150:], y[150:], 1)[0] - 0.1)
    assert np.sqrt(np.mean(np.square(carried))) < 0.5 * np.sqrt(np.mean(np.square(last)))


def test_the_shrinkage_weight_follows_the_standard_errors_of_the_stretches():
    rng = np.random.default_rng(1)
    t = np.arange(400.0)
    y = _bent_line((1.0, 1.2, 1.5, 2.0)) + rng.normal(0.0, 60.0, t.size)
    fits = [np.polyfit(t[k * 100:(k + 1) * 100], y[k * 100:(k + 1) * 100], 1, cov=True)
            for k in range(4)]
    slopes = np.array([p[0] for p, _ in fits])
    long_run = [slopes[k] - np.polyfit(t[:k * 100], y[:k * 100], 1)[0] for k in range(1, 4)]
    assert np.mean(np.diff(slopes) ** 2) < np.mean(np.square(long_run))  # the recent slope wins
    se2 = np.array([c[0, 0] for _, c in fits])  # numpy scales by the residuals over n - 2
    tau2 = max(np.mean(np.diff(slopes) ** 2) - np.mean(se2[1:] + se2[:-1]), 0.0)
    weight = tau2 / (tau2 + se2[-1])
    assert 0.2 < weight < 0.9  # the changes of slope stand partly out of this series' noise
    whole = np.polyfit(t, y, 1)[0]
    expected = whole + weight * (slopes[-1] - whole)
    scaling = Scaling.fit(_series(y), "trend")
    assert scaling.y_trend_end[0] == pytest.approx(expected, rel=1e-9)
    last = np.polyval(fits[-1][0], 399.0)  # the last stretch's own line at the data's end
    assert scaling.y_trend_jump[0] == pytest.approx(weight * (last - np.polyval(
        np.polyfit(t, y, 1), 399.0)), rel=1e-9)  # its level, shrunk like its slope
    assert scaling.y_trend_sd[0] == pytest.approx(np.sqrt(np.mean(np.diff(slopes) ** 2)), rel=1e-9)


def test_a_cycle_that_swings_the_stretches_slopes_leaves_the_line_straight():
    """A cycle of 2.3 cycles per stretch plus a gentle rise: the stretches' slopes swing with its
    phase, the slope of all the data before each stretch predicts it better than the previous
    stretch's, so forecasts keep the whole line's slope, with that prediction's RMS error as
    the spread."""
    t = np.arange(400.0)
    y = 0.02 * t + 5.0 * np.sin(2 * np.pi * t / 43.0)
    scaling = Scaling.fit(_series(y), "trend")
    assert scaling.y_trend_end == scaling.y_trend and scaling.y_trend_jump == (0.0,)
    slopes = np.array([np.polyfit(t[k * 100:(k + 1) * 100], y[k * 100:(k + 1) * 100], 1)[0]
                       for k in range(4)])
    long_run = [slopes[k] - np.polyfit(t[:k * 100], y[:k * 100], 1)[0] for k in range(1, 4)]
    assert np.mean(np.square(long_run)) < np.mean(np.diff(slopes) ** 2)
    assert scaling.y_trend_sd[0] == pytest.approx(np.sqrt(np.mean(np.square(long_run))),
                                                  rel=1e-9)
