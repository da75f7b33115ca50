"""Tests for the development collection: neuralsde.data.collection and the files in data/dev/."""

from __future__ import annotations

import importlib.util
import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from neuralsde.data import COLLECTION, collection_names, load_series
from neuralsde.data.collection import DATA_DIR, HORIZONS, KINDS

DEV = DATA_DIR / "dev"
SCRIPT = DATA_DIR / "make_dev_collection.py"
M4_HORIZONS = {"yearly": 6, "quarterly": 8, "monthly": 18, "weekly": 13, "half-hourly": 48}
#: (lowest, highest) median spacing in days of a dated series of each frequency.
DATED_SPACING = {"yearly": (365, 366), "quarterly": (89, 93), "monthly": (28, 31),
                 "weekly": (7, 7), "half-hourly": (1 / 48, 1 / 48)}


def generator():
    spec = importlib.util.spec_from_file_location("make_dev_collection", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def meta(name: str) -> dict:
    return json.loads((DEV / f"{name}.json").read_text(encoding="utf-8"))


def values(name: str) -> np.ndarray:
    """The series' values, (T, P, d)."""
    return load_series(name).ys.numpy()


def dates(series) -> list[str]:
    """A dated series' times as ISO dates."""
    origin = datetime.fromisoformat(series.time_origin)
    return [(origin + timedelta(days=float(t))).date().isoformat() for t in series.ts]


def quarter_ends(start: str, periods: int) -> list[str]:
    pd = pytest.importorskip("pandas")
    ends = pd.period_range(start, periods=periods, freq="Q").end_time
    return [t.date().isoformat() for t in ends]


# --------------------------------------------------------------------------------------------------
# the table and the loader
# --------------------------------------------------------------------------------------------------


def test_entries_are_described_consistently():
    assert set(collection_names()) == set(COLLECTION)
    for name, entry in COLLECTION.items():
        assert set(entry) == {"path", "frequency", "horizon", "columns", "group_column",
                              "simulated", "kind"}, name
        assert entry["kind"] in KINDS and entry["simulated"] == (entry["kind"] == "simulated")
        assert entry["horizon"] == HORIZONS[entry["frequency"]]
        if entry["simulated"]:
            assert entry["frequency"] == "regular" and entry["horizon"] == 24
        else:
            assert entry["horizon"] == M4_HORIZONS[entry["frequency"]], name
        assert (entry["group_column"] is not None) == (entry["kind"] == "panel")
        assert (DATA_DIR / entry["path"]).is_file(), entry["path"]


def test_collection_names_by_kind():
    assert collection_names("panel") == ["fertility"]
    assert collection_names("simulated") == ["ou", "cir", "random_walk_drift", "seasonal_ou",
                                             "damped_oscillator", "double_well"]
    assert len(collection_names("real")) == 15
    with pytest.raises(ValueError, match="kind='bogus' is not supported"):
        collection_names("bogus")


@pytest.mark.parametrize("name", ["nope", None, 3])
def test_unknown_name_lists_the_accepted_names(name):
    with pytest.raises(ValueError) as info:
        load_series(name)
    message = str(info.value)
    assert f"name={name!r} is not in the collection" in message
    assert all(known in message for known in COLLECTION)


@pytest.mark.parametrize("name", list(COLLECTION))
def test_every_entry_loads_at_its_frequency(name):
    entry = COLLECTION[name]
    series = load_series(name)
    assert series.names == tuple(entry["columns"])
    ts = series.ts.numpy()
    assert np.all(np.diff(ts) > 0), "duplicate or unordered times"
    assert series.n_points >= 2 * entry["horizon"] + 20
    steps = np.diff(ts)
    if entry["frequency"] == "regular":
        np.testing.assert_array_equal(steps, meta(name)["spacing"])
    elif series.time_origin is None:  # yearly, written as years
        assert entry["frequency"] == "yearly"
        np.testing.assert_array_equal(steps, 1.0)
    else:
        low, high = DATED_SPACING[entry["frequency"]]
        assert low - 1e-9 <= np.median(steps) <= high + 1e-9
        assert steps.max() <= 2 * high + 1e-9
    if entry["kind"] == "panel":
        assert series.n_paths > 1 and bool(series.mask.all())


def test_two_channel_and_panel_entries():
    rates = load_series("interest_inflation")
    assert rates.names == ("Dp", "R") and rates.dim == 2
    fertility = load_series("fertility")
    assert fertility.n_paths == 19 and fertility.groups[:2] == ("ARG", "AUS")
    assert fertility.ts.tolist() == [float(year) for year in range(1960, 2012)]


# --------------------------------------------------------------------------------------------------
# the real series equal their sources
# --------------------------------------------------------------------------------------------------


def test_macrodata_matches_statsmodels():
    datasets = pytest.importorskip("statsmodels.datasets")
    macro = datasets.macrodata.load_pandas().data
    for name in ("realgdp", "realcons", "cpi", "infl", "m1"):
        np.testing.assert_array_equal(values(name)[:, 0, 0], macro[name].to_numpy())
    assert dates(load_series("m1")) == quarter_ends("1959Q1", len(macro))
    rates = datasets.interest_inflation.load_pandas().data
    np.testing.assert_array_equal(values("interest_inflation")[:, 0, :],
                                  rates[["Dp", "R"]].to_numpy())
    assert dates(load_series("interest_inflation")) == quarter_ends("1972Q2", len(rates))


def test_fertility_matches_statsmodels():
    datasets = pytest.importorskip("statsmodels.datasets")
    wide = datasets.fertility.load_pandas().data.set_index("Country Code")
    series = load_series("fertility")
    years = [str(int(t)) for t in series.ts]
    expected = wide.loc[list(series.groups), years].to_numpy().T  # (T, P)
    np.testing.assert_array_equal(series.ys.numpy()[:, :, 0], expected)


def test_co2_and_elnino_match_statsmodels():
    datasets = pytest.importorskip("statsmodels.datasets")
    co2 = datasets.co2.load_pandas().data["co2"]
    np.testing.assert_array_equal(values("co2")[:, 0, 0], co2.to_numpy())
    el = datasets.elnino.load_pandas().data
    np.testing.assert_array_equal(values("elnino")[:, 0, 0], el.iloc[:, 1:].to_numpy().ravel())


def test_sktime_series_match_sktime():
    sk = pytest.importorskip("sktime.datasets")
    _, frame = sk.load_uschange()
    for column in ("Income", "Production", "Savings", "Unemployment"):
        np.testing.assert_array_equal(values(f"uschange_{column.lower()}")[:, 0, 0],
                                      frame[column].to_numpy())
    assert dates(load_series("uschange_income")) == quarter_ends("1970Q1", len(frame))
    solar = sk.load_solar(api_version=None)  # the bundled sample; no network
    series = load_series("solar")
    np.testing.assert_array_equal(series.ys.numpy()[:, 0, 0], solar.to_numpy())
    assert series.time_origin == solar.index[0].isoformat()
    np.testing.assert_allclose(series.ts.numpy(), np.arange(len(solar)) / 48, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(values("lynx")[:, 0, 0], sk.load_lynx().to_numpy())
    np.testing.assert_array_equal(values("airline")[:, 0, 0], sk.load_airline().to_numpy())


# --------------------------------------------------------------------------------------------------
# the generator and the simulated series
# --------------------------------------------------------------------------------------------------


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_generator_is_deterministic_and_wrote_the_committed_files(tmp_path, capsys):
    script = generator()
    first, second = tmp_path / "a", tmp_path / "b"
    script.main(["--out", str(first), "--part", "simulated"])
    script.main(["--out", str(second), "--part", "simulated"])
    written = _files(first)
    assert written == _files(second)
    assert sorted(written) == sorted(f"{name}.{ext}" for name in collection_names("simulated")
                                     for ext in ("csv", "json"))
    for name, data in written.items():
        assert (DEV / name).read_bytes() == data, name


def test_generator_wrote_the_committed_real_files(tmp_path, capsys):
    pytest.importorskip("statsmodels")
    pytest.importorskip("sktime")
    generator().main(["--out", str(tmp_path), "--part", "real"])
    written = _files(tmp_path)
    assert sorted(written) == ["fertility.csv", "interest_inflation.csv", "macrodata.csv",
                               "solar.csv", "uschange.csv"]
    for name, data in written.items():
        assert (DEV / name).read_bytes() == data, name


def test_another_seed_gives_other_paths(tmp_path, capsys):
    generator().main(["--out", str(tmp_path), "--part", "simulated", "--seed", "7"])
    assert (tmp_path / "ou.csv").read_bytes() != (DEV / "ou.csv").read_bytes()
    assert json.loads((tmp_path / "ou.json").read_text())["seed"] == 7


def test_simulated_metadata():
    for k, name in enumerate(collection_names("simulated")):
        record = meta(name)
        assert record["name"] == name and record["seed"] == k
        assert record["points"] == load_series(name).n_points
        assert {"law", "parameters", "spacing"} <= set(record)
        if name != "double_well":
            assert {"conditional_mean", "conditional_variance"} <= set(record)


def test_ou_lag1_autocorrelation_is_exp_minus_theta_spacing():
    record = meta("ou")
    y = values("ou")[:, 0, 0]
    phi = math.exp(-record["parameters"]["theta"] * record["spacing"])
    z = y - y.mean()
    r1 = float(np.dot(z[1:], z[:-1]) / np.dot(z, z))
    se = math.sqrt((1 - phi ** 2) / len(y))
    assert abs(r1 - phi) < 3 * se


def _one_step(name: str):
    """Observed next values, and their exact conditional means and variances."""
    record = meta(name)
    p, h = record["parameters"], record["spacing"]
    y = values(name)[:, 0, 0]
    prev, nxt = y[:-1], y[1:]
    if name == "ou":
        a = math.exp(-p["theta"] * h)
        return nxt, a * prev, p["sigma"] ** 2 * (1 - a * a) / (2 * p["theta"])
    if name == "cir":
        a = math.exp(-p["kappa"] * h)
        var = (prev * p["sigma"] ** 2 * a * (1 - a) / p["kappa"]
               + p["theta"] * p["sigma"] ** 2 * (1 - a) ** 2 / (2 * p["kappa"]))
        return nxt, p["theta"] + (prev - p["theta"]) * a, var
    if name == "random_walk_drift":
        return nxt, prev + p["mu"] * h, p["sigma"] ** 2 * h
    t = h * np.arange(len(y))
    w = 2 * math.pi / p["period"]
    m = p["amplitude"] * p["theta"] * (p["theta"] * np.sin(w * t) - w * np.cos(w * t)) \
        / (p["theta"] ** 2 + w ** 2)
    a = math.exp(-p["theta"] * h)
    return nxt, m[1:] + a * (prev - m[:-1]), p["sigma"] ** 2 * (1 - a * a) / (2 * p["theta"])


@pytest.mark.parametrize("name", ["ou", "cir", "random_walk_drift", "seasonal_ou"])
def test_exact_one_step_moments_fit_the_file(name):
    observed, mean, var = _one_step(name)
    z = (observed - mean) / np.sqrt(var)
    n = len(z)
    assert abs(z.mean()) < 4 / math.sqrt(n)
    assert abs(z.var() - 1) < 0.15


def test_oscillator_transition_is_the_documented_one():
    record = meta("damped_oscillator")
    p = dict(record["parameters"], spacing=record["spacing"])
    phi, q = generator().oscillator_transition(**p)
    np.testing.assert_allclose(phi, record["Phi"], rtol=1e-12)
    np.testing.assert_allclose(q, record["Q"], rtol=1e-12)
    x = values("damped_oscillator")[:, 0, 0]
    stationary = p["sigma"] ** 2 / (4 * p["zeta"] * p["omega"] ** 3)
    assert 0.5 < x.var() / stationary < 2


def test_double_well_switches_wells_often():
    y = values("double_well")[:, 0, 0]
    side, switches = 0, 0
    for value in y:
        new = 1 if value > 0.5 else -1 if value < -0.5 else side
        switches += side != 0 and new != side
        side = new
    assert switches >= 20
    assert switches == meta("double_well")["switches"]
    assert (y > 0.5).mean() > 0.2 and (y < -0.5).mean() > 0.2
