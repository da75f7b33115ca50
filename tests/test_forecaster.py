"""neuralsde.Forecaster: data in (numpy, pandas, TimeSeries), forecasts out as DataFrames, the same
numbers as the command line, save and load, cross-validation."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

import neuralsde as ns
from neuralsde.data import TimeSeries
from neuralsde.fit import main
from neuralsde.forecaster import as_series
from neuralsde.metrics import crps_ensemble

TINY = {"iters": 3, "windows": 4, "window_samples": 4, "window_length": 3, "samples": 20}
CLI_TINY = ["--iters", "3", "--windows", "4", "--window-samples", "4", "--window-length", "3",
            "--samples", "20", "--quiet"]


def _ar1(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = 0.8 * x[i - 1] + rng.normal()
    return x + 5.0


@pytest.fixture(scope="module")
def monthly():
    return pd.Series(_ar1(), index=pd.date_range("2000-01-01", periods=60, freq="MS"),
                     name="sales")


@pytest.fixture(scope="module")
def fitted(monthly):
    return ns.Forecaster(**TINY).fit(monthly)


def test_every_input_type_becomes_the_same_series(monthly):
    values = monthly.to_numpy()
    from_array = as_series(values)
    assert from_array.names == ("y",) and from_array.ts.tolist() == list(range(60))
    np.testing.assert_array_equal(from_array.ys[:, 0, 0].numpy(), values)
    two = as_series(np.stack([values, 2 * values], axis=1))
    assert two.dim == 2 and two.names == ("y0", "y1")
    dated = as_series(monthly)
    assert dated.names == ("sales",) and dated.time_origin == "2000-01-01"
    assert dated.ts[1].item() == 31.0  # days since the first date
    np.testing.assert_array_equal(dated.ys[:, 0, 0].numpy(), values)
    wide = as_series(pd.DataFrame({"a": values, "b": -values}, index=monthly.index))
    assert wide.names == ("a", "b") and torch.equal(wide.ts, dated.ts)
    long = pd.DataFrame({"unique_id": np.repeat(["u1", "u2"], 60),
                         "ds": np.tile(monthly.index, 2), "y": np.concatenate([values, -values])})
    panel = as_series(long)
    assert panel.groups == ("u1", "u2") and panel.n_paths == 2 and panel.names == ("y",)
    np.testing.assert_array_equal(panel.ys[:, 1, 0].numpy(), -values)
    assert as_series(dated) is dated
    with pytest.raises(TypeError, match="data of type dict"):
        as_series({"y": values})
    with pytest.raises(ValueError, match=r"expected \(T,\) or \(T, d\)"):
        as_series(np.zeros((3, 2, 2)))


def test_predict_gives_named_interval_columns_in_order(fitted, monthly):
    out = fitted.predict(6, level=[50, 90], quantiles=[0.1, 0.9])
    assert list(out.columns) == ["ds", "mean", "median", "lo-50", "hi-50", "lo-90", "hi-90",
                                 "q-0.1", "q-0.9"]
    assert len(out) == 6 and pd.api.types.is_datetime64_any_dtype(out["ds"])
    assert (out["ds"] > monthly.index[-1]).all()
    assert (out["lo-90"] <= out["lo-50"]).all() and (out["lo-50"] <= out["median"]).all()
    assert (out["median"] <= out["hi-50"]).all() and (out["hi-50"] <= out["hi-90"]).all()
    # the summaries are those of the sample paths
    paths = fitted.forecast(6).samples[:, :, 0]
    np.testing.assert_allclose(out["mean"], paths.mean(axis=0))
    np.testing.assert_allclose(out["hi-90"], np.quantile(paths, 0.95, axis=0))
    with pytest.raises(ValueError, match="level="):
        fitted.predict(3, level=[150])


def test_simulate_returns_the_forecasts_paths(fitted):
    sims = fitted.simulate(4, n_paths=7, seed=3)
    assert list(sims.columns) == ["sample_id", "ds", "sales"] and len(sims) == 28
    paths = fitted.forecast(4, samples=7, seed=3).samples[:, :, 0]
    np.testing.assert_array_equal(sims["sales"].to_numpy().reshape(7, 4), paths)


def test_the_cli_load_run_and_the_object_give_identical_numbers(tmp_path):
    """One code path: the CLI's holdout samples, load_run(...).forecaster and a Forecaster
    fitted to the same training part with the same settings and seed agree to the last digit."""
    values = _ar1(40)
    csv = tmp_path / "y.csv"
    pd.DataFrame({"t": np.arange(40.0), "y": values}).to_csv(csv, index=False)
    out = tmp_path / "run"
    assert main(["--data", str(csv), "--holdout", "0.25", "--out", str(out), *CLI_TINY]) == 0
    held = np.load(out / "samples.npz")["forecast"]  # (S, 10, 1)
    run_paths = ns.load_run(out).forecaster.forecast(10).samples
    model = ns.Forecaster(**TINY).fit(values[:30])
    own = model.forecast(10).samples
    np.testing.assert_array_equal(run_paths, held)
    np.testing.assert_array_equal(own, held)
    predicted = model.predict(10)
    np.testing.assert_array_equal(predicted["mean"].to_numpy(), held[:, :, 0].mean(axis=0))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["holdout_crps"] == pytest.approx(crps_ensemble(held, values[30:, None]))


def test_save_and_load_forecast_the_same_numbers(fitted, tmp_path):
    path = fitted.save(tmp_path / "model.pt")
    again = ns.Forecaster.load(path)
    pd.testing.assert_frame_equal(again.predict(5), fitted.predict(5))
    assert again.get_params() == fitted.get_params()
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="junk.pt"):
        ns.Forecaster.load(tmp_path / "junk.pt")


def test_cross_validation_scores_each_origin_on_what_followed(monthly):
    model = ns.Forecaster(**TINY)
    cv = model.cross_validation(monthly, h=4, n_windows=2)
    assert len(cv) == 8 and cv["cutoff"].nunique() == 2
    assert list(cv["ds"]) == list(monthly.index[-8:])  # the test windows tile the end
    np.testing.assert_array_equal(cv["y"], monthly.to_numpy()[-8:])
    assert list(cv["cutoff"].unique()) == [monthly.index[-9], monthly.index[-5]]
    # the second origin's forecast is the one a forecaster fitted on the data before it makes
    before = ns.Forecaster(**TINY).fit(monthly.iloc[:-4])
    paths = before.forecast(None, times=as_series(monthly).ts[-4:].numpy()).samples
    np.testing.assert_allclose(cv["mean"].to_numpy()[4:], paths[:, :, 0].mean(axis=0))
    np.testing.assert_allclose(cv["crps"].to_numpy()[4:].mean(),
                               crps_ensemble(paths, monthly.to_numpy()[-4:, None]))
    inside = (cv["lo-90"] <= cv["y"]) & (cv["y"] <= cv["hi-90"])
    np.testing.assert_array_equal(cv["inside-90"].to_numpy(), inside.to_numpy().astype(float))
    with pytest.raises(ValueError, match="need more than"):
        model.cross_validation(monthly, h=30, n_windows=3)


def test_the_forecaster_owns_its_threads_and_defaults(monthly):
    before = torch.get_num_threads()
    model = ns.Forecaster(**TINY, threads=1, scaling="standard", state_dim=1).fit(monthly)
    assert torch.get_num_threads() == before
    from neuralsde.fit.settings import build_parser, resolve

    settings = resolve(build_parser().parse_args(["--data", "any.csv"]))
    for key, value in ns.forecaster.FORECASTER_DEFAULTS.items():
        assert settings[key] == value, key  # a user's series gets the object's defaults
    assert model.summary()["iterations"] == 3


def test_refusals_name_the_setting(monthly):
    with pytest.raises(RuntimeError, match="not fitted"):
        ns.Forecaster().predict(3)
    with pytest.raises(ValueError, match="objective='start'"):
        ns.Forecaster(objective="start")
    with pytest.raises(ValueError, match="period=-1"):
        ns.Forecaster(period=-1)
    with pytest.raises(TypeError):
        ns.Forecaster(iterations=5)  # a typo is an error, not a silent default
    with pytest.raises(ValueError, match="--window-length 70"):
        ns.Forecaster(window_length=70).fit(monthly)


def test_plots_return_figures(fitted):
    import matplotlib.figure

    assert isinstance(fitted.plot(6), matplotlib.figure.Figure)
    assert isinstance(fitted.plot_loss(), matplotlib.figure.Figure)


def test_a_panel_forecasts_each_path_from_its_own_end():
    rng = np.random.default_rng(1)
    ys = torch.tensor(rng.normal(size=(30, 3, 1)).cumsum(axis=0))
    ys[:, 2] += 50.0
    series = TimeSeries(ts=torch.arange(30.0), ys=ys, mask=torch.ones(30, 3, 1, dtype=bool),
                        names=("y",), groups=("a", "b", "c"))
    model = ns.Forecaster(**TINY).fit(series)
    out = model.predict(2)
    assert list(out["unique_id"]) == ["a", "a", "b", "b", "c", "c"]
    assert out[out.unique_id == "c"]["mean"].min() > out[out.unique_id == "a"]["mean"].max()
