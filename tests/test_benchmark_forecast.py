"""benchmarks/forecast.py: rolling origins never leak, the scoring of a Gaussian forecaster is the
closed form, the tables mark the best forecaster, and the neuralsde path runs at tiny size.

Timings are not asserted. ARIMA and ETS need statsmodels, which is not a test dependency: their
tests are skipped without it.
"""

import math
import sys

import numpy as np
import pytest
from scripts import load_script

# scripts run end to end (subprocesses or whole benchmark runs): skipped by default
pytestmark = pytest.mark.slow

bf = load_script("benchmarks/forecast.py")

# ----------------------------------------------------------------------------- no leaks

N, JUMP, H = 100, 86, 10


def _step_series(seed=0):
    """Noise about 0, then +50 from index JUMP on: inside the evaluation region [80, 90]."""
    values = np.random.default_rng(seed).normal(0.0, 1.0, (N, 1))
    values[JUMP:] += 50.0
    return values, np.arange(N, dtype=float)


def _forecaster(name):
    if name in ("arima", "ets"):
        pytest.importorskip("statsmodels")
    return {"random_walk": lambda: bf.random_walk,
            "climatology": lambda: bf.climatology,
            "seasonal_naive": lambda: bf.seasonal_naive(5),
            "arima": lambda: bf.ARIMAForecaster(max_p=1, max_q=1),
            "ets": lambda: bf.ETSForecaster(steps=5)}[name]()


def test_origins_are_spread_over_the_last_fifth():
    assert bf.rolling_origins(N, H, 3) == [80, 85, 90]
    assert bf.rolling_origins(N, H, 1) == [80]
    assert bf.rolling_origins(114, 10, 5) == [91, 94, 98, 101, 104]
    with pytest.raises(ValueError, match="distinct"):
        bf.rolling_origins(N, H, 12)
    with pytest.raises(ValueError, match="does not fit"):
        bf.rolling_origins(N, 25, 2)


def test_each_origin_gives_only_the_data_before_it():
    values, times = _step_series()
    calls = []

    def record(train_values, train_times, horizon_times, n_samples, seed):
        calls.append((train_values.copy(), train_times.copy(), horizon_times.copy(), seed))
        return np.zeros((n_samples, len(horizon_times), 1))

    origins = bf.rolling_origins(N, H, 3)
    bf.rolling_forecasts(values, times, origins, H, record, n_samples=4, seed=7)
    assert len(calls) == len(origins)
    for k, (train_values, train_times, horizon_times, seed) in zip(origins, calls):
        assert train_times[-1] == times[k - 1] and len(train_times) == k
        np.testing.assert_array_equal(train_values, values[:k])
        np.testing.assert_array_equal(horizon_times, times[k:k + H])
        assert seed == 7 + k


@pytest.mark.parametrize("name", ["random_walk", "climatology", "seasonal_naive", "arima", "ets"])
def test_forecasts_before_a_jump_do_not_see_it(name):
    values, times = _step_series()
    origins = bf.rolling_origins(N, H, 3)  # 80, 85: before the jump; 90: after it
    forecasts = bf.rolling_forecasts(values, times, origins, H, _forecaster(name),
                                     n_samples=200, seed=0)
    for fc in forecasts[:2]:
        assert fc.origin <= JUMP
        assert np.abs(fc.samples.mean(axis=0)).max() < 5.0  # forecasts about 0, not 50
        crps = bf.score_forecasts([fc])["horizon"]["crps"]
        past_jump = range(JUMP - fc.origin, H)  # horizons whose target is after the jump
        assert min(crps[h] for h in past_jump) > 40.0
        # the same forecast whatever the series holds from the origin on
        other = values.copy()
        other[fc.origin:] = np.random.default_rng(1).normal(-1000.0, 5.0, (N - fc.origin, 1))
        again = bf.rolling_forecasts(other, times, [fc.origin], H, _forecaster(name),
                                     n_samples=200, seed=0)[0]
        np.testing.assert_array_equal(again.samples, fc.samples)
    if name == "random_walk":  # the origin after the jump does see it
        assert forecasts[2].samples.mean() > 40.0


def test_the_oracles_law_is_the_processes():
    process = bf.SeasonalOU(theta=0.3, sigma=0.8, mu=1.0, amplitude=3.0, period=20.0)
    t, eps = np.linspace(0.0, 40.0, 401), 1e-5
    slope = (process.periodic_mean(t + eps) - process.periodic_mean(t - eps)) / (2 * eps)
    m = 1.0 + 3.0 * np.sin(2 * np.pi * t / 20.0)
    np.testing.assert_allclose(slope, 0.3 * (m - process.periodic_mean(t)), atol=1e-6)
    # two transitions of length 1 compose to one of length 2 (Chapman-Kolmogorov, Gaussian)
    mean1, sd1 = process.law(1.5, 0.0, np.array(1.0))
    mean2, sd2 = process.law(mean1, 1.0, np.array(2.0))
    mean, sd = process.law(1.5, 0.0, np.array(2.0))
    assert mean2 == pytest.approx(mean)
    assert sd2**2 + (np.exp(-0.3) * sd1) ** 2 == pytest.approx(sd**2)


# ----------------------------------------------------------------------------- scoring

def test_a_gaussian_forecasters_crps_is_the_closed_form():
    scoringrules = pytest.importorskip("scoringrules")
    times = np.arange(60, dtype=float)
    values = np.sin(times / 5.0)[:, None]
    mu = 0.1 * np.arange(1, 6)  # per horizon
    sd = 0.5 + 0.1 * np.arange(1, 6)

    def gaussian(train_values, train_times, horizon_times, n_samples, seed):
        return bf._gaussian_samples(mu[:, None], sd[:, None], n_samples, seed)

    origins = [40, 45, 50]
    scores = bf.score_forecasts(bf.rolling_forecasts(values, times, origins, 5, gaussian,
                                                     n_samples=20000))
    obs = np.stack([values[k:k + 5, 0] for k in origins])  # (origins, H)
    exact = np.asarray(scoringrules.crps_normal(obs, mu, sd)).mean(axis=0)
    # Monte Carlo error of a 20,000-member ensemble: about 0.005 here
    np.testing.assert_allclose(scores["horizon"]["crps"], exact, atol=0.02)
    assert scores["average"]["crps"] == pytest.approx(exact.mean(), abs=0.02)
    np.testing.assert_allclose(scores["horizon"]["mse"], ((obs - mu) ** 2).mean(axis=0),
                               atol=0.03)
    assert scores["scored"] == 15


def test_unobserved_targets_are_left_out():
    times = np.arange(30, dtype=float)
    values = np.zeros((30, 1))
    values[25] = np.nan  # origin 24, horizon 2

    def constant(train_values, train_times, horizon_times, n_samples, seed):
        return np.ones((n_samples, len(horizon_times), 1))

    scores = bf.score_forecasts(bf.rolling_forecasts(values, times, [24], 3, constant,
                                                     n_samples=3))
    assert scores["horizon"]["crps"] == [1.0, None, 1.0] and scores["scored"] == 2
    assert scores["average"]["coverage_90"] == 0.0


# ----------------------------------------------------------------------------- tables

def _result():
    def entry(**crps):
        return {"horizon": 12, "origins": [1, 2, 3],
                "forecasters": {n: {"average": {"crps": v, "coverage_50": 0.5,
                                                "coverage_90": 0.9}}
                                if v is not None else {"error": "failed"}
                                for n, v in crps.items()}}
    return {"series": {"a": entry(neuralsde=1.0, arima=2.0, random_walk=3.0, oracle=0.5),
                       "b": entry(neuralsde=3.0, arima=2.5, random_walk=None, oracle=2.0)}}


def test_the_markdown_table_marks_the_best_forecaster_per_row():
    lines = bf.markdown_table(_result()).splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["series", "H", "origins", "neuralsde", "ARIMA", "RW", "oracle"]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in lines[2:]}
    assert rows["a"] == ["a", "12", "3", "**1**", "2", "3", "0.5"]  # the oracle is never best
    assert rows["b"] == ["b", "12", "3", "3", "**2.5**", "–", "2"]
    text = bf.text_tables(_result())
    assert "1*" in text and "2.5*" in text and "0.5*" not in text


def test_a_missing_statsmodels_is_named_in_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "statsmodels", None)  # import statsmodels fails
    with pytest.raises(SystemExit) as exit_info:
        bf.main(["--series", "lynx", "--out", "unused.json"])
    message = str(exit_info.value)
    assert 'pip install -e ".[bench]"' in message and "statsmodels" in message
    assert "\n" not in message


# ----------------------------------------------------------------------------- neuralsde

def test_neuralsde_fits_before_the_first_origin_and_forecasts_from_each(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    y = np.zeros(60)
    for k in range(1, 60):
        y[k] = 0.8 * y[k - 1] + 0.3 * rng.standard_normal()
    data = tmp_path / "y.csv"
    data.write_text("t,y\n" + "".join(f"{k},{v!r}\n" for k, v in enumerate(y.tolist())))
    model = bf.NeuralSDEForecaster(
        data, 48, ["--data", "ignored.csv"], tmp_path,
        extra=["--iters", "2", "--windows", "8", "--window-samples", "4", "--window-length", "3",
               "--samples", "4"])
    assert model.run.series.n_points == 48 and model.run.n_train == 48
    assert "ignored.csv" not in model.command and model.fit_seconds > 0

    seen = []
    original = bf.forecast

    def recording(model_, series, horizon, **kwargs):
        seen.append((series.n_points, float(series.ts[-1]), np.asarray(kwargs["times"])))
        return original(model_, series, horizon, **kwargs)

    monkeypatch.setattr(bf, "forecast", recording)
    times = np.arange(60, dtype=float)
    scores = bf.evaluate(y, times, [48, 52], 5, model, n_samples=8)
    assert [s[:2] for s in seen] == [(48, 47.0), (52, 51.0)]
    np.testing.assert_array_equal(seen[1][2], times[52:57])
    for score in bf.SCORES:
        assert all(math.isfinite(v) for v in scores["horizon"][score])
    with pytest.raises(ValueError, match="does not start with the fitted data"):
        model(y[:50, None] + 1.0, times[:50], times[50:55], 4, 0)
