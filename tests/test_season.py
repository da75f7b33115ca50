"""The "-season" scalings (neuralsde.data.season): a least-squares seasonal profile of a known
period removed before training and carried on by forecasts; refused where it cannot be fitted;
proposed by the automatic configuration where the dates give a season."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

import neuralsde as ns
from neuralsde import auto
from neuralsde.data import Scaling, TimeSeries
from neuralsde.data.season import HARMONICS_MAX, harmonics
from neuralsde.train.recipe import resolve_period

YEAR = 365.25


def _series(values, spacing=YEAR / 12) -> TimeSeries:
    values = torch.as_tensor(np.asarray(values, dtype=float))
    n = len(values)
    return TimeSeries(ts=torch.arange(n, dtype=torch.float64) * spacing,
                      ys=values[:, None, None], mask=torch.ones(n, 1, 1, dtype=torch.bool),
                      names=["y"])


def _seasonal(n=120, noise=0.1, seed=0, level=10.0, slope=0.0):
    t = np.arange(n) * YEAR / 12
    rng = np.random.default_rng(seed)
    profile = 3.0 * np.cos(2 * math.pi * t / YEAR) + 1.0 * np.sin(4 * math.pi * t / YEAR)
    return level + slope * t + profile + rng.normal(0.0, noise, n), profile


@pytest.mark.parametrize("method", ["standard-season", "trend-season", "log-season",
                                    "log-trend-season"])
def test_profile_is_recovered_and_values_round_trip(method):
    values, _ = _seasonal(slope=0.002)
    series = _series(values)
    scaling = Scaling.fit(series, method, YEAR)
    k = harmonics(12)
    assert len(scaling.y_season) == 2 * k == 10  # cosines then sines, 5 harmonics of a month
    scaled = scaling.transform(series)
    assert torch.allclose(scaling.inverse_y(scaled.ys, series.ts[:, None]), series.ys,
                          rtol=0, atol=1e-10)
    assert Scaling.from_dict(scaling.to_dict()) == scaling
    assert float(scaled.ys.std()) == pytest.approx(1.0, abs=0.02)  # the rest standardised
    if method == "trend-season":  # the line and the profile both removed
        cos1, sin2 = scaling.y_season[0], scaling.y_season[k + 1]
        assert cos1 == pytest.approx(3.0, abs=0.05) and sin2 == pytest.approx(1.0, abs=0.05)
    if method.startswith("trend"):  # what is left is the noise: its spread, not the season's
        assert scaling.y_scale[0] == pytest.approx(0.1, rel=0.25)


def test_harmonics_stay_below_nyquist_and_capped():
    assert [harmonics(m) for m in (2, 3, 4, 12, 52, 48)] == [0, 1, 1, 5, HARMONICS_MAX,
                                                             HARMONICS_MAX]


def test_refused_without_a_period_or_enough_data():
    values, _ = _seasonal(n=30)
    with pytest.raises(ValueError, match="needs a period"):
        Scaling.fit(_series(values), "standard-season")
    with pytest.raises(ValueError, match="spanning 2 periods"):
        Scaling.fit(_series(values[:20]), "standard-season", YEAR)
    with pytest.raises(ValueError, match="fewer than 3 observations per period"):
        Scaling.fit(_series(values, spacing=YEAR / 2), "standard-season", YEAR)


def test_forecast_carries_the_profile_on():
    values, profile = _seasonal(n=96, noise=0.2)
    dates = pd.date_range("2000-01-01", periods=96 + 12, freq="MS")
    y = pd.Series(values, index=dates[:96])
    model = ns.Forecaster(scaling="standard-season", state_dim=1, window_length=4, iters=10,
                          windows=4, window_samples=4, samples=200, ensemble=1).fit(y)
    assert model.settings_["period"] == pytest.approx(YEAR)
    median = np.median(model.forecast(12).samples[:, :, 0], axis=0)
    t = (dates[96:] - dates[0]).days.to_numpy(dtype=float)
    truth = 10.0 + 3.0 * np.cos(2 * math.pi * t / YEAR) + np.sin(4 * math.pi * t / YEAR)
    # a profile of amplitude ~4 followed within the noise's scale, a year ahead
    assert np.corrcoef(median, truth)[0, 1] > 0.95
    assert np.abs(median - truth).mean() < 0.5
    # the same model with the season left to the nets after 10 iterations does not
    plain = ns.Forecaster(scaling="standard", state_dim=1, window_length=4, iters=10,
                          windows=4, window_samples=4, samples=200, ensemble=1).fit(y)
    flat = np.median(plain.forecast(12).samples[:, :, 0], axis=0)
    assert np.abs(flat - truth).mean() > 2 * np.abs(median - truth).mean()
    assert profile.std() > 1.0


def _first_stage(forecaster, series):
    base = auto.base_settings({**forecaster.params,
                               "period": resolve_period(
                                   forecaster._settings(), series)})
    h = auto._validation_horizon(base["period"], series)
    return auto._stages(forecaster, base, series, h)[0]([])


def test_automatic_configuration_proposes_seasonal_scalings_where_dates_give_a_season():
    values, _ = _seasonal(n=96)
    dated = ns.frames.as_series(pd.Series(values, index=pd.date_range("2000-01-01", periods=96,
                                                                      freq="MS")))
    plain = _series(values)
    forecaster = ns.Forecaster()
    assert [c["scaling"] for c in _first_stage(forecaster, dated)] == [
        "standard-season", "log-season", "trend-season", "log-trend-season"]
    assert [c["scaling"] for c in _first_stage(forecaster, plain)] == [
        "standard", "log", "trend", "log-trend"]
    short = ns.frames.as_series(pd.Series(values[:30], index=pd.date_range(
        "2000-01-01", periods=30, freq="MS")))  # under two years before the validation
    assert [c["scaling"] for c in _first_stage(forecaster, short)][0] == "standard"


@pytest.mark.parametrize("n", [100, 105, 110])
def test_a_season_cut_off_at_the_ends_does_not_tilt_the_line(n):
    values, _ = _seasonal(n=n, noise=0.05, slope=0.002)  # 8.3 to 9.2 years: partial seasons
    plain = Scaling.fit(_series(values), "trend").y_trend[0]
    seasonal = Scaling.fit(_series(values), "trend-season", YEAR).y_trend[0]
    assert seasonal == pytest.approx(0.002, rel=0.005)
    assert abs(seasonal - 0.002) < abs(plain - 0.002)
