"""The forecasting API: neuralsde.forecasting, Forecast (summaries, rows, CSV, DataFrame),
load_run on a run folder, and TimeSeries.from_pandas."""

import csv
import subprocess
import sys

import numpy as np
import pytest
import torch

import neuralsde
from neuralsde import Forecast, build_model, forecast, load_run
from neuralsde._checks import sample_seed
from neuralsde.data import Scaling, TimeSeries, load_csv
from neuralsde.fit import main as fit_main
from neuralsde.forecasting import QUANTILE_LEVELS, PanelForecast

HEADER = ["time", "channel", "mean", "std", "q05", "q25", "q50", "q75", "q95"]
DATED = """date,x,y
2024-01-01,1.0,2.0
2024-01-02,1.2,2.1
2024-01-03,1.1,
2024-01-04,1.4,2.4
2024-01-05,1.3,2.2
2024-01-06,1.5,2.5
2024-01-07,1.6,2.4
2024-01-08,1.5,2.6
"""
PANEL = """t,g,v
0,a,1.0
1,a,1.5
2,a,1.2
3,a,1.7
0,b,3.0
1,b,2.5
2,b,2.8
"""


def _csv(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A tiny run on the dated series, the last quarter held out."""
    folder = tmp_path_factory.mktemp("run")
    data = _csv(folder, "dated.csv", DATED)
    status = fit_main(["--data", str(data), "--holdout", "0.25", "--iters", "3", "--windows", "4",
                       "--window-samples", "2", "--window-length", "2", "--samples", "5",
                       "--quiet", "--out", str(folder / "out")])
    assert status == 0
    return folder / "out"


def _small(tmp_path, text=DATED, **kwargs):
    """A series and an untrained one-layer model with its scaling."""
    series = load_csv(_csv(tmp_path, "data.csv", text), **kwargs)
    torch.manual_seed(0)
    model = build_model({"kind": "mlp", "state_dim": series.dim, "hidden": 4})
    return series, model, Scaling.fit(series)


def _read(path):
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        return reader.fieldnames, list(reader)


def test_quantiles_are_monotone_per_row(tmp_path):
    series, model, scaling = _small(tmp_path)
    fc = forecast(model, series, 5, samples=20, scaling=scaling)
    q = fc.quantiles(QUANTILE_LEVELS)
    assert q.shape == (5, 5, 2) and fc.samples.shape == (20, 5, 2)
    assert (np.diff(q, axis=0) >= 0).all()
    for row in fc.to_rows():
        values = [row[k] for k in HEADER[4:]]
        assert values == sorted(values)


def test_times_continue_at_the_median_spacing_or_as_given(tmp_path):
    series, model, scaling = _small(tmp_path)
    assert forecast(model, series, 3, samples=2, scaling=scaling).times.tolist() == [8, 9, 10]
    assert forecast(model, series, 2, samples=2, scaling=scaling, step=0.5).times.tolist() == \
        [7.5, 8.0]
    given = forecast(model, series, None, samples=2, scaling=scaling, times=[7.5, 9.0])
    assert given.times.tolist() == [7.5, 9.0]


def test_to_csv_parses_with_the_documented_columns(tmp_path):
    series, model, scaling = _small(tmp_path)
    fc = forecast(model, series, 3, samples=4, scaling=scaling)
    header, rows = _read(fc.to_csv(tmp_path / "out" / "forecast.csv"))
    assert header == HEADER
    assert [(r["time"], r["channel"]) for r in rows] == \
        [(d, c) for d in ("2024-01-09", "2024-01-10", "2024-01-11") for c in ("x", "y")]
    np.testing.assert_allclose([float(r["mean"]) for r in rows], fc.mean.ravel())
    np.testing.assert_allclose([float(r["q50"]) for r in rows], np.median(fc.samples, 0).ravel())


def test_iso_dates_in_give_iso_dates_out(run_folder):
    fc = load_run(run_folder).forecast(3, seed=1)
    assert fc.time_origin == "2024-01-01"
    assert [r["time"] for r in fc.to_rows()] == \
        ["2024-01-09", "2024-01-09", "2024-01-10", "2024-01-10", "2024-01-11", "2024-01-11"]


def test_times_between_midnights_and_with_a_time_of_day_are_written_in_full():
    samples = np.zeros((1, 2, 1))
    assert Forecast([1.0, 1.5], samples, ("x",), "2024-01-31").time_labels() == \
        ["2024-02-01", "2024-02-01T12:00:00"]
    assert Forecast([1.0, 2.0], samples, ("x",), "2024-01-31T06:00").time_labels() == \
        ["2024-02-01T06:00:00", "2024-02-02T06:00:00"]
    assert Forecast([1.0, 2.0], samples, ("x",)).time_labels() == [1.0, 2.0]


def test_a_panel_gives_one_block_per_group(tmp_path):
    series, model, scaling = _small(tmp_path, PANEL, group_column="g")
    fc = forecast(model, series, 2, samples=3, scaling=scaling)
    assert isinstance(fc, PanelForecast) and list(fc) == ["a", "b"]
    assert fc["a"].group == "a" and fc["b"].samples.shape == (3, 2, 1)
    assert fc["a"].times.tolist() == fc["b"].times.tolist() == [4.0, 5.0]
    header, rows = _read(fc.to_csv(tmp_path / "panel.csv"))
    assert header == ["time", "channel", "group", *HEADER[2:]]
    assert [r["group"] for r in rows] == ["a", "a", "b", "b"]
    assert [r["time"] for r in rows] == ["4.0", "5.0", "4.0", "5.0"]


@pytest.mark.parametrize("kwargs, name", [
    ({"horizon": 0}, "horizon"), ({"horizon": 2.5}, "horizon"), ({"horizon": None}, "horizon"),
    ({"horizon": True}, "horizon"), ({"step": 0.0}, "step"), ({"step": -1.0}, "step"),
    ({"step": float("nan")}, "step"), ({"samples": 0}, "samples"),
    ({"times": [6.0, 9.0]}, "times"), ({"times": [9.0, 8.5]}, "times"),
])
def test_bad_arguments_raise_value_error_naming_them(tmp_path, kwargs, name):
    series, model, scaling = _small(tmp_path)
    arguments = {"horizon": 3, **kwargs}
    horizon = arguments.pop("horizon")
    if "times" in kwargs:
        horizon = None
    with pytest.raises(ValueError, match=name):
        forecast(model, series, horizon, scaling=scaling, **arguments)


def test_the_encoder_starts_the_latent_channels_from_the_last_lags(tmp_path, monkeypatch):
    series = load_csv(_csv(tmp_path, "data.csv", DATED), columns=["x"])
    torch.manual_seed(0)
    model = build_model({"kind": "mlp", "state_dim": 3, "hidden": 4, "observed": 1, "lags": 2})
    scaling = Scaling.fit(series)
    seen = []
    encode = model.latent_start
    monkeypatch.setattr(model, "latent_start", lambda v, m: seen.append((v, m)) or encode(v, m))
    forecast(model, series, 2, samples=2, scaling=scaling)
    values, mask = seen[0]
    assert values.shape == (1, 2, 1) and mask.all()
    expected = scaling.transform(series).ys[-2:, 0, :]
    np.testing.assert_allclose(values[0].double().numpy(), expected.numpy(), rtol=1e-6)


def test_the_encoder_reads_the_lags_against_the_line_the_start_is_measured_against(
        tmp_path, monkeypatch):
    """In training, a window's start is its last lag; a forecast from a trend scaling whose
    line jumps at the data's end moves its start by the jump, and must move the lags with it."""
    series = load_csv(_csv(tmp_path, "data.csv", DATED), columns=["x"])
    torch.manual_seed(0)
    model = build_model({"kind": "mlp", "state_dim": 2, "hidden": 4, "observed": 1, "lags": 2})
    fitted = Scaling.fit(series, "trend")
    jump = 0.7 * fitted.y_scale[0]
    scaling = Scaling(**{**fitted.__dict__, "y_trend_jump": (jump,),
                         "y_trend_end": fitted.y_trend, "t_end": float(series.ts[-1])})
    seen, starts = [], []
    encode = model.latent_start
    monkeypatch.setattr(model, "latent_start", lambda v, m: seen.append(v) or encode(v, m))
    draw = neuralsde.forecasting.sample
    monkeypatch.setattr(neuralsde.forecasting, "sample",
                        lambda model, y0, *a, **k: starts.append(y0) or draw(model, y0, *a, **k))
    forecast(model, series, 2, samples=2, scaling=scaling)
    last_lag = float(seen[0][0, -1, 0])
    t_end = series.ts[-1]
    start = float(scaling.transform_y(series.ys[-1, 0, :], t_end, after=True)[0])
    assert last_lag == pytest.approx(start, abs=1e-6)  # the lag is the start, as in training
    assert start == pytest.approx(float(scaling.transform(series).ys[-1, 0, 0]) - 0.7, abs=1e-9)
    assert float(starts[0][0]) == pytest.approx(float(series.ys[-1, 0, 0]))  # data units


def test_load_run_forecasts_reproducibly(run_folder):
    run = load_run(run_folder)
    assert run.n_train == 6 and run.series.names == ("x", "y")
    assert isinstance(run.solve_config, neuralsde.SolveConfig)
    first, second = run.forecast(4, seed=1), run.forecast(4, seed=1)
    assert first.samples.shape == (5, 4, 2)
    np.testing.assert_array_equal(first.samples, second.samples)
    assert first.to_rows() == second.to_rows()


def test_the_api_redraws_the_runs_holdout_forecast(run_folder):
    """The run and the API draw from the same start with the same seed (both on one thread)."""
    run = load_run(run_folder)
    n = run.n_train
    fc = forecast(run.model, run.series.head(n), None, times=run.series.ts[n:].numpy(),
                  samples=run.settings["samples"], seed=sample_seed(run.settings["seed"]),
                  scaling=run.scaling, solve_config=run.solve_config)
    np.testing.assert_array_equal(fc.samples, np.load(run_folder / "samples.npz")["forecast"])


def test_load_run_names_the_folder_and_the_missing_file(tmp_path, run_folder):
    with pytest.raises(ValueError, match="no such folder"):
        load_run(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=f"{tmp_path}.*run.json is missing"):
        load_run(tmp_path)
    (tmp_path / "run.json").write_text((run_folder / "run.json").read_text())
    with pytest.raises(ValueError, match=f"{tmp_path}.*model.pt is missing"):
        load_run(tmp_path)


def test_from_pandas_equals_load_csv(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({
        "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-01",
                                "2024-01-04"]),
        "g": ["a", "a", "a", "b", "b"], "x": [1.0, np.nan, 3.0, 4.0, 5.5],
        "y": [1, 2, 3, 4, 5], "note": list("vwxyz")})
    df.to_csv(tmp_path / "df.csv", index=False)
    for kwargs in ({"group": "g"}, {"group": "g", "columns": ["y"]}):
        got = TimeSeries.from_pandas(df, **kwargs)
        want = load_csv(tmp_path / "df.csv", group_column=kwargs["group"],
                        columns=kwargs.get("columns"))
        assert torch.equal(got.ts, want.ts) and torch.equal(got.mask, want.mask)
        assert torch.equal(got.ys.nan_to_num(-1.0), want.ys.nan_to_num(-1.0))
        assert (got.names, got.time_name, got.time_origin, got.groups) == \
            (want.names, want.time_name, want.time_origin, want.groups)
    with pytest.raises(ValueError, match="strictly increasing"):
        TimeSeries.from_pandas(df)  # two groups' rows read as one series


def test_without_pandas_to_pandas_and_from_pandas_raise_a_clear_import_error(monkeypatch):
    fc = Forecast([1.0], np.zeros((2, 1, 1)), ("x",))
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError) as error:
        fc.to_pandas()
    assert str(error.value) == ("Forecast.to_pandas needs pandas (pip install pandas); "
                                "Forecast.to_csv works without it.")
    with pytest.raises(ImportError, match="from_pandas needs pandas"):
        TimeSeries.from_pandas(object())


@pytest.mark.slow
def test_the_package_imports_and_writes_forecasts_without_pandas(tmp_path):
    code = ("import sys; sys.modules['pandas'] = None\n"
            "import numpy as np, neuralsde\n"
            "f = neuralsde.Forecast([1.0], np.zeros((2, 1, 1)), ('x',))\n"
            f"f.to_csv({str(tmp_path / 'f.csv')!r})\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert _read(tmp_path / "f.csv")[0] == HEADER
