"""benchmarks/collection.py: the origins tile the end of a series, the quantile CRPS is the
Gaussian closed form within 2 %, a quick run writes the documented JSON, and a forecast made at an
origin does not see the data after it.

statsforecast is a benchmark dependency (``pip install -e ".[bench]"``), not a test one: the
tests that fit its models are skipped without it. Timings are not asserted.
"""

import json
import math

import numpy as np
import pytest
import torch
from scripts import load_script

from neuralsde.data import TimeSeries
from neuralsde.data.collection import COLLECTION, load_series

# scripts run end to end: skipped by default
pytestmark = pytest.mark.slow

bc = load_script("benchmarks/collection.py")


# ----------------------------------------------------------------------------- origins

@pytest.mark.parametrize("n, h", [(144, 18), (52, 6), (1000, 24), (14, 4)])
def test_origins_tile_the_end(n, h):
    origins = bc.tiling_origins(n, h, 3)
    assert origins == [n - 3 * h, n - 2 * h, n - h]
    tested = [i for k in origins for i in range(k, k + h)]
    assert tested == list(range(n - 3 * h, n))  # consecutive windows, the last ends at n - 1
    assert bc.tiling_origins(n, h, 1) == [n - h]


def test_origins_refuse_a_short_series():
    with pytest.raises(ValueError, match="need more than"):
        bc.tiling_origins(13, 4, 3)  # the first origin would leave 1 training point
    with pytest.raises(ValueError):
        bc.tiling_origins(100, 0, 3)


# ----------------------------------------------------------------------------- quantile CRPS

@pytest.mark.parametrize("mean, sd", [(0.0, 1.0), (3.0, 0.2), (-50.0, 40.0)])
def test_quantile_crps_of_a_gaussian_is_the_closed_form(mean, sd):
    obs = mean + sd * np.array([-3.0, -1.5, -0.3, 0.0, 0.7, 2.0, 4.0])
    quantiles = bc.gaussian_quantiles(np.full(obs.shape, mean), np.full(obs.shape, sd))
    approx = bc.quantile_crps(quantiles, obs)
    exact = bc.gaussian_crps(mean, sd, obs)
    np.testing.assert_allclose(approx, exact, rtol=0.02)


def test_quantile_crps_matches_the_package_crps_of_samples():
    from neuralsde.metrics import crps_ensemble

    rng = np.random.default_rng(0)
    samples = rng.normal(1.0, 2.0, (20000, 5, 1))
    obs = np.array([[-2.0], [0.0], [1.0], [2.5], [6.0]])
    approx = bc.quantile_crps(bc.sample_quantiles(samples), obs).mean()
    assert approx == pytest.approx(crps_ensemble(samples, obs), rel=0.02)


def test_score_counts_coverage_and_skips_missing():
    quantiles = bc.gaussian_quantiles(np.zeros(4), np.ones(4))
    obs = np.array([0.0, 1.0, 3.0, np.nan])  # inside both, inside the 90 % band only, outside
    out = bc.score(quantiles, obs)
    assert out["entries"] == 3
    assert out["coverage_50"] == pytest.approx(1 / 3)
    assert out["coverage_90"] == pytest.approx(2 / 3)


# ----------------------------------------------------------------------------- exact laws

def test_exact_ou_is_its_gaussian_transition():
    law = bc.simulated_law("ou")["parameters"]
    ts, y = np.arange(5) * 0.25, np.array([0.1, 0.2, -0.1, 0.3, 0.4])
    future = ts[-1] + 0.25 * np.arange(1, 4)
    q = bc.exact_quantiles("ou", ts, y, future)
    decay = np.exp(-law["theta"] * (future - ts[-1]))
    np.testing.assert_allclose(q[bc._index(0.5)], 0.4 * decay, atol=1e-12)
    sd = law["sigma"] * np.sqrt((1 - decay**2) / (2 * law["theta"]))
    np.testing.assert_allclose(q[bc._index(0.95)] - q[bc._index(0.05)], 2 * 1.6448536 * sd,
                               rtol=1e-6)


# ----------------------------------------------------------------------------- a quick run

def test_quick_run_writes_finite_scores(tmp_path):
    pytest.importorskip("statsforecast")
    out = tmp_path / "collection.json"
    bc.main(series=["ou", "airline"], quick=True, iters=5, out=out)
    result = json.loads(out.read_text())
    assert set(result["series"]) == {"ou", "airline"}
    for name, entry in result["series"].items():
        assert entry["origins"] == [entry["points"] - COLLECTION[name]["horizon"]]
        expected = set(bc.FORECASTERS) - ({"exact"} if name == "airline" else set())
        assert set(entry["forecasters"]) == expected
        for forecaster, scores in entry["forecasters"].items():
            assert "error" not in scores, (name, forecaster, scores)
            assert math.isfinite(scores["crps"]) and scores["crps"] > 0
            assert 0 <= scores["coverage_50"] <= scores["coverage_90"] <= 1
            assert len(scores["fit_seconds"]) == 1
        assert entry["forecasters"]["seasonal_naive"]["relative_crps"] == pytest.approx(1.0)
    ou = result["series"]["ou"]["forecasters"]
    # the true law beats seasonal naive (here the naive forecast) at the last origin; both are
    # closed forms of fixed data, so this holds or fails the same way every run
    assert ou["exact"]["crps"] <= ou["seasonal_naive"]["crps"]
    for forecaster in bc.FORECASTERS:
        assert result["aggregate"][forecaster]["all"]["series"] == (
            1 if forecaster == "exact" else 2)
        assert result["aggregate"][forecaster]["all"]["geometric_mean_relative_crps"] > 0
    assert result["aggregate"]["neuralsde"]["real"]["series"] == 1


def test_params_reach_the_forecaster_and_the_candidates_are_recorded(tmp_path):
    args = bc.parse_args(["--series", "ou", "--params", '{"scaling": "standard"}'])
    assert args["params"] == {"scaling": "standard"} and args["series"] == ["ou"]
    out = tmp_path / "c.json"
    fixed = {"scaling": "standard", "state_dim": 1, "window_length": 3}
    bc.main(series=["ou"], forecasters=["neuralsde"], quick=True, iters=5, out=out,
            params=fixed)
    scores = json.loads(out.read_text())["series"]["ou"]["forecasters"]["neuralsde"]
    assert scores["chosen"] == [["given"]] and scores["candidates"] == [{}]  # nothing searched
    bc.main(series=["ou"], forecasters=["neuralsde"], quick=True, iters=5, out=out,
            params={"scaling": "standard"})
    scores = json.loads(out.read_text())["series"]["ou"]["forecasters"]["neuralsde"]
    keys = scores["candidates"][0]  # the scaling given: not searched, the rest is
    assert "base" in keys and "state_dim=2" in keys and not any("scaling" in k for k in keys)
    assert set(scores["chosen"][0]) <= set(keys)


# ----------------------------------------------------------------------------- no leak

def _changed_after(series: TimeSeries, cut: int) -> TimeSeries:
    ys = series.ys.clone()
    ys[cut:] = ys[cut:] * 10.0 + 1000.0
    return TimeSeries(series.ts, ys, ~torch.isnan(ys), series.names, series.time_name,
                      series.time_origin, series.groups)


@pytest.mark.parametrize("name, forecasters", [
    ("airline", ["arima", "ets", "theta", "seasonal_naive", "random_walk", "climatology"]),
    ("seasonal_ou", ["seasonal_naive", "random_walk", "climatology", "exact"]),
    ("damped_oscillator", ["exact"]),
])
def test_forecasts_at_an_origin_ignore_later_data(name, forecasters):
    if name == "airline":
        pytest.importorskip("statsforecast")
    series = load_series(name)
    cut = bc.tiling_origins(series.n_points, COLLECTION[name]["horizon"], 3)[0]
    changed = _changed_after(series, cut)
    assert not torch.equal(series.ys[cut:], changed.ys[cut:])
    for forecaster in forecasters:
        before = bc.origin_quantiles(name, series, cut, forecaster)
        after = bc.origin_quantiles(name, changed, cut, forecaster)
        np.testing.assert_array_equal(before, after, err_msg=forecaster)
