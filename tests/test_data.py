"""Tests for neuralsde.data: reference data, CSV loading, TimeSeries validation and Scaling."""

from __future__ import annotations

import json
import math
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralsde.data import SCALING_METHODS, Scaling, TimeSeries, load_csv, reference_dataset

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def write(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def panel_series() -> TimeSeries:
    """Two paths, two channels, irregular times, some missing values."""
    ys = torch.tensor([[[1.0, 10.0], [2.0, float("nan")]],
                       [[3.0, 30.0], [float("nan"), float("nan")]],
                       [[-4.0, 20.0], [6.0, 50.0]],
                       [[float("nan"), 40.0], [8.0, 70.0]]], dtype=torch.float64)  # (4, 2, 2)
    return TimeSeries(ts=torch.tensor([1.0, 2.0, 4.0, 9.0], dtype=torch.float64), ys=ys,
                      mask=~torch.isnan(ys), names=("a", "b"), groups=("p", "q"),
                      clean=torch.ones(4, 2, dtype=torch.float64), source="test")


# --------------------------------------------------------------------------------------------------
# reference data
# --------------------------------------------------------------------------------------------------


def test_reference_dataset_shapes_and_metadata():
    series = reference_dataset(0)
    assert series.ts.shape == (7,) and series.ys.shape == (7, 1, 1)
    assert series.mask.shape == (7, 1, 1)
    assert series.clean.shape == (7, 1)
    assert series.ts.dtype == series.ys.dtype == torch.float64
    assert (series.n_points, series.n_paths, series.dim) == (7, 1, 1)
    assert series.names == ("y",) and series.time_name == "t" and series.groups == ("0",)
    assert series.time_origin is None
    assert series.source == "reference(seed=0)"
    assert bool(series.mask.all())


def test_reference_dataset_values_follow_the_blog_recipe():
    series = reference_dataset(0)
    x = np.arange(-3, 4).astype(float)
    assert series.ts.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    torch.testing.assert_close(series.clean[:, 0], torch.from_numpy(np.exp(x)), rtol=0, atol=0)
    expected = np.exp(x) + 2.0 * np.random.default_rng(0).uniform(0.0, 1.0, size=7)
    torch.testing.assert_close(series.ys[:, 0, 0], torch.from_numpy(expected), rtol=0, atol=0)
    noise = series.ys[:, 0, 0] - series.clean[:, 0]
    assert bool((noise >= 0).all()) and bool((noise < 2).all())


def test_reference_dataset_seeding():
    a, b, c = reference_dataset(0), reference_dataset(0), reference_dataset(1)
    assert torch.equal(a.ys, b.ys)
    assert not torch.equal(a.ys, c.ys)
    assert torch.equal(a.clean, c.clean)
    assert c.source == "reference(seed=1)"


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_reference_dataset_rejects_bad_seed(seed):
    with pytest.raises(ValueError, match="seed="):
        reference_dataset(seed)


def test_exp_noisy_csv_equals_reference_dataset():
    path = DATA_DIR / "exp_noisy.csv"
    assert path.read_text().splitlines()[0] == "t,y"
    series, reference = load_csv(path), reference_dataset(seed=0)
    assert series.names == ("y",) and series.time_name == "t"
    assert series.ys.shape == reference.ys.shape
    torch.testing.assert_close(series.ts, reference.ts, rtol=0, atol=1e-12)
    torch.testing.assert_close(series.ys, reference.ys, rtol=0, atol=1e-12)


def test_generator_script_reproduces_the_csv_byte_for_byte(tmp_path):
    script = runpy.run_path(str(DATA_DIR / "make_exp_noisy.py"))
    out = tmp_path / "exp_noisy.csv"
    assert script["main"](["--out", str(out)]) == 0
    assert out.read_bytes() == (DATA_DIR / "exp_noisy.csv").read_bytes()


# --------------------------------------------------------------------------------------------------
# load_csv: good files
# --------------------------------------------------------------------------------------------------


def test_load_plain_numbers(tmp_path):
    path = write(tmp_path, "time,value\n0,1.5\n0.5,2.5\n2,-3e-1\n")
    series = load_csv(path)
    assert series.ts.tolist() == [0.0, 0.5, 2.0]
    assert series.ys[:, 0, 0].tolist() == [1.5, 2.5, -0.3]
    assert series.names == ("value",) and series.time_name == "time"
    assert series.groups == ("0",) and series.time_origin is None
    assert series.source == str(path)
    assert bool(series.mask.all()) and series.clean is None


def test_load_accepts_str_path_whitespace_and_blank_lines(tmp_path):
    path = write(tmp_path, " t , y \n\n1, 2\n 2 ,3\n\n")
    series = load_csv(str(path))
    assert series.names == ("y",) and series.time_name == "t"
    assert series.ts.tolist() == [1.0, 2.0] and series.ys[:, 0, 0].tolist() == [2.0, 3.0]


def test_load_iso_dates_irregular(tmp_path):
    path = write(tmp_path, "date,y\n2024-01-01,1\n2024-01-02,2\n2024-01-05,3\n"
                           "2024-01-05T12:00:00,4\n2024-03-01,5\n")
    series = load_csv(path)
    assert series.time_origin == "2024-01-01"
    # January has 31 days and 2024 is a leap year: March 1 is day 31 + 29 = 60.
    assert series.ts.tolist() == [0.0, 1.0, 4.0, 4.5, 60.0]
    assert series.ys[:, 0, 0].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_load_iso_datetimes_with_utc_suffix(tmp_path):
    path = write(tmp_path, "t,y\n2024-01-01T00:00:00Z,1\n2024-01-01T06:00:00+00:00,2\n")
    series = load_csv(path)
    assert series.ts.tolist() == [0.0, 0.25]
    assert series.time_origin == "2024-01-01T00:00:00Z"


def test_load_several_columns_default_and_selection(tmp_path):
    path = write(tmp_path, "t,a,label,b,empty\n0,1,x,10,\n1,2,y,20,\n2,3,z,30,NA\n")
    series = load_csv(path)
    assert series.names == ("a", "b")  # text column and all-missing column left out
    assert series.ys.shape == (3, 1, 2)
    assert series.ys[:, 0, 1].tolist() == [10.0, 20.0, 30.0]
    chosen = load_csv(path, columns=["b", "a"])
    assert chosen.names == ("b", "a")
    assert chosen.ys[:, 0, 0].tolist() == [10.0, 20.0, 30.0]
    assert chosen.ys[:, 0, 1].tolist() == [1.0, 2.0, 3.0]


def test_load_time_column_not_first(tmp_path):
    path = write(tmp_path, "y,when\n5,10\n6,20\n")
    series = load_csv(path, time_column="when")
    assert series.time_name == "when" and series.names == ("y",)
    assert series.ts.tolist() == [10.0, 20.0] and series.ys[:, 0, 0].tolist() == [5.0, 6.0]


def test_load_panel_groups_on_different_times(tmp_path):
    # Group "b" appears first in the file; rows of the groups are interleaved.
    path = write(tmp_path, "t,id,y,z\n1,b,10,100\n0,a,1,\n2,a,2,20\n3,b,30,300\n4,a,4,40\n")
    series = load_csv(path, group_column="id")
    assert series.groups == ("b", "a")
    assert series.names == ("y", "z")
    assert series.ts.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]  # sorted union of both groups' times
    assert series.ys.shape == (5, 2, 2)
    expected_mask = torch.tensor([[[False, False], [True, False]],
                                  [[True, True], [False, False]],
                                  [[False, False], [True, True]],
                                  [[True, True], [False, False]],
                                  [[False, False], [True, True]]])
    assert torch.equal(series.mask, expected_mask)
    assert torch.equal(series.mask, ~torch.isnan(series.ys))
    assert series.ys[:, 0, 0][series.mask[:, 0, 0]].tolist() == [10.0, 30.0]
    assert series.ys[:, 1, 0][series.mask[:, 1, 0]].tolist() == [1.0, 2.0, 4.0]
    assert series.ys[:, 1, 1][series.mask[:, 1, 1]].tolist() == [20.0, 40.0]


def test_load_missing_values_are_masked(tmp_path):
    path = write(tmp_path, "t,y,z\n0,1,\n1,nan,2\n2,NaN,NA\n3, ,4\n4,5,n/a\n")
    series = load_csv(path)
    expected = torch.tensor([[True, False], [False, True], [False, False], [False, True],
                             [True, False]])
    assert torch.equal(series.mask[:, 0, :], expected)
    assert bool(torch.isnan(series.ys[~series.mask]).all())
    assert series.ys[series.mask].tolist() == [1.0, 2.0, 4.0, 5.0]


# --------------------------------------------------------------------------------------------------
# load_csv: bad files
# --------------------------------------------------------------------------------------------------

BAD_FILES = {
    # name: (file text, keyword arguments, words the message must contain)
    "empty": ("", {}, ["empty"]),
    "blank_only": ("\n\n  \n", {}, ["empty"]),
    "header_only": ("t,y\n", {}, ["no data rows"]),
    "unknown_time_column": ("t,y\n0,1\n1,2\n", {"time_column": "time"},
                            ["'time'", "available columns", "'t', 'y'"]),
    "unknown_value_column": ("t,y\n0,1\n1,2\n", {"columns": ["y", "w"]}, ["'w'", "'t', 'y'"]),
    "unknown_group_column": ("t,y\n0,1\n1,2\n", {"group_column": "id"}, ["'id'", "'t', 'y'"]),
    "non_numeric_value": ("t,y\n0,1\n1,abc\n2,3\n", {"columns": ["y"]},
                          ["row 3", "'y'", "'abc'", "not a number"]),
    "infinite_value": ("t,y\n0,1\n1,inf\n", {}, ["row 3", "'inf'", "finite"]),
    "no_numeric_column": ("t,name\n0,x\n1,y\n", {}, ["no numeric value column", "'name'"]),
    "only_time_column": ("t\n0\n1\n", {}, ["no numeric value column"]),
    "unparsable_time": ("t,y\n2024-01-01,1\n2024-13-45,2\n", {},
                        ["row 3", "'2024-13-45'", "ISO"]),
    "number_then_text_time": ("t,y\n0,1\nsoon,2\n", {}, ["row 3", "'soon'", "not a number"]),
    "missing_time": ("t,y\n0,1\n,2\n2,3\n", {}, ["row 3", "missing time"]),
    "duplicate_time": ("t,y\n0,1\n1,2\n1,3\n", {}, ["row 4", "duplicate", "'1'"]),
    "unsorted_times": ("t,y\n0,1\n2,2\n1,3\n", {}, ["row 4", "increasing", "'1'", "'2'"]),
    "unsorted_in_group": ("t,g,y\n0,a,1\n0,b,1\n5,a,2\n3,a,3\n1,b,2\n", {"group_column": "g"},
                          ["row 5", "group 'a'", "increasing"]),
    "one_time_point": ("t,y\n0,1\n", {}, ["at least 2"]),
    "group_with_one_point": ("t,g,y\n0,a,1\n1,a,2\n0,b,3\n", {"group_column": "g"},
                             ["group 'b'", "at least 2"]),
    "missing_group_label": ("t,g,y\n0,a,1\n1,,2\n", {"group_column": "g"},
                            ["row 3", "missing group"]),
    "ragged_row": ("t,y\n0,1\n1,2,3\n", {}, ["row 3", "3 cells", "2 columns"]),
    "repeated_header": ("t,y,y\n0,1,2\n1,2,3\n", {}, ["repeats", "'y'"]),
    "columns_as_string": ("t,y\n0,1\n1,2\n", {"columns": "y"}, ["columns='y'", "sequence"]),
    "columns_include_time": ("t,y\n0,1\n1,2\n", {"columns": ["t", "y"]}, ["'t'", "time column"]),
    "all_missing_column": ("t,y,z\n0,1,\n1,2,NA\n", {"columns": ["y", "z"]}, ["'z'", "no values"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_load_bad_file_names_file_and_problem(tmp_path, case):
    text, kwargs, words = BAD_FILES[case]
    path = write(tmp_path, text, name=f"bad_{case}.csv")
    with pytest.raises(ValueError) as info:
        load_csv(path, **kwargs)
    message = str(info.value)
    assert f"bad_{case}.csv" in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_load_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nowhere.csv"
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        load_csv(path)


def test_load_rejects_unknown_keyword(tmp_path):
    path = write(tmp_path, "t,y\n0,1\n1,2\n")
    with pytest.raises(TypeError):
        load_csv(path, time_col="t")  # a typo is an error, not silently ignored


# --------------------------------------------------------------------------------------------------
# TimeSeries
# --------------------------------------------------------------------------------------------------


def test_timeseries_shape_mismatch_names_both_shapes():
    ys = torch.zeros(5, 1, 2, dtype=torch.float64)
    with pytest.raises(ValueError) as info:
        TimeSeries(ts=torch.arange(4.0), ys=ys, mask=torch.ones(5, 1, 2, dtype=torch.bool),
                   names=("a", "b"))
    assert "(5, 1, 2)" in str(info.value) and "(4,)" in str(info.value)


def test_timeseries_mask_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError) as info:
        TimeSeries(ts=torch.arange(3.0), ys=torch.zeros(3, 1, 1),
                   mask=torch.ones(3, 2, 1, dtype=torch.bool), names=("a",))
    assert "(3, 2, 1)" in str(info.value) and "(3, 1, 1)" in str(info.value)


@pytest.mark.parametrize("field, value, words", [
    ("names", ("a",), ["names", "d=2"]),
    ("groups", ("0", "1"), ["groups", "P=1"]),
    ("clean", torch.zeros(3, 1), ["clean", "(3, 1)", "(3, 2)"]),
    ("ts", torch.tensor([0.0, 2.0, 1.0]), ["strictly increasing", "ts[2]"]),
    ("mask", torch.zeros(3, 1, 2, dtype=torch.bool), ["mask disagrees"]),
    ("mask", torch.ones(3, 1, 2), ["mask has dtype"]),
])
def test_timeseries_validation(field, value, words):
    fields = {"ts": torch.arange(3.0), "ys": torch.zeros(3, 1, 2),
              "mask": torch.ones(3, 1, 2, dtype=torch.bool), "names": ("a", "b")}
    fields[field] = value
    with pytest.raises(ValueError) as info:
        TimeSeries(**fields)
    for word in words:
        assert word in str(info.value)


def test_timeseries_two_dimensional_ys_is_one_path():
    ys = torch.tensor([[1.0, 2.0], [3.0, float("nan")]])
    series = TimeSeries(ts=[0.0, 1.0], ys=ys, mask=~torch.isnan(ys), names=("a", "b"))
    assert series.ys.shape == (2, 1, 2) and series.mask.shape == (2, 1, 2)
    assert series.ts.dtype == torch.float64 and series.ys.dtype == torch.float64
    assert series.mask[:, 0, :].tolist() == [[True, True], [True, False]]


def test_head_and_tail_from():
    series = panel_series()
    head, tail = series.head(3), series.tail_from(3)
    assert head.ts.tolist() == [1.0, 2.0, 4.0] and tail.ts.tolist() == [9.0]
    assert head.ys.shape == (3, 2, 2) and tail.ys.shape == (1, 2, 2)
    assert head.clean.shape == (3, 2) and tail.clean.shape == (1, 2)
    joined = torch.cat([head.ys, tail.ys])
    assert torch.equal(torch.isnan(joined), torch.isnan(series.ys))
    assert torch.equal(joined.nan_to_num(0.5), series.ys.nan_to_num(0.5))
    assert head.names == series.names and tail.groups == series.groups
    assert series.head(4).n_points == 4 and series.tail_from(0).n_points == 4


@pytest.mark.parametrize("method, value", [("head", 0), ("head", 5), ("tail_from", 4),
                                           ("tail_from", -1), ("head", 2.0)])
def test_head_and_tail_from_reject_out_of_range(method, value):
    argument = "n" if method == "head" else "k"
    with pytest.raises(ValueError, match=f"{argument}={value!r}"):
        getattr(panel_series(), method)(value)


# --------------------------------------------------------------------------------------------------
# Scaling
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", SCALING_METHODS)
def test_scaling_round_trip(method):
    series = panel_series()
    scaling = Scaling.fit(series, method)
    scaled = scaling.transform(series)
    assert torch.equal(scaled.mask, series.mask)
    assert torch.equal(torch.isnan(scaled.ys), torch.isnan(series.ys))
    back = scaling.inverse_y(scaled.ys)
    torch.testing.assert_close(back, series.ys, rtol=0, atol=1e-12, equal_nan=True)
    torch.testing.assert_close(scaling.inverse_t(scaled.ts), series.ts, rtol=0, atol=1e-12)
    torch.testing.assert_close(scaling.inverse_y(scaled.clean), series.clean, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["standard", "minmax", "max"])
def test_scaling_time_starts_at_zero_with_unit_mean_spacing(method):
    series = panel_series()  # times 1, 2, 4, 9: span 8 over 3 intervals
    scaling = Scaling.fit(series, method)
    assert scaling.t_shift == 1.0 and scaling.t_scale == pytest.approx(8.0 / 3.0)
    scaled_ts = scaling.transform(series).ts
    assert scaled_ts[0].item() == 0.0 and scaled_ts[-1].item() == pytest.approx(3.0)


def test_scaling_keeps_reference_time():
    series = reference_dataset(0)
    scaled = Scaling.fit(series).transform(series)
    torch.testing.assert_close(scaled.ts, series.ts, rtol=0, atol=1e-15)


def test_scaling_standard_gives_zero_mean_unit_std_per_channel():
    series = panel_series()
    scaled = Scaling.fit(series, "standard").transform(series)
    for j in range(series.dim):
        values = scaled.ys[..., j][scaled.mask[..., j]]
        assert values.mean().item() == pytest.approx(0.0, abs=1e-12)
        assert values.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-12)


def test_scaling_minmax_maps_onto_unit_interval():
    series = panel_series()
    scaled = Scaling.fit(series, "minmax").transform(series)
    for j in range(series.dim):
        values = scaled.ys[..., j][scaled.mask[..., j]]
        assert values.min().item() == 0.0 and values.max().item() == pytest.approx(1.0)


def test_scaling_max_divides_by_largest_magnitude_without_shift():
    series = panel_series()
    scaling = Scaling.fit(series, "max")
    assert scaling.y_shift == (0.0, 0.0) and scaling.y_scale == (8.0, 70.0)
    scaled = scaling.transform(series)
    assert scaled.ys[2, 0, 0].item() == -0.5  # signs kept: -4 / 8


def test_scaling_none_is_identity():
    series = panel_series()
    scaling = Scaling.fit(series, "none")
    assert (scaling.t_shift, scaling.t_scale) == (0.0, 1.0)
    assert scaling.y_shift == (0.0, 0.0) and scaling.y_scale == (1.0, 1.0)
    scaled = scaling.transform(series)
    assert torch.equal(scaled.ts, series.ts)
    assert torch.equal(scaled.ys.nan_to_num(0.5), series.ys.nan_to_num(0.5))


def test_scaling_ignores_masked_values():
    series = panel_series()
    scaling = Scaling.fit(series, "standard")
    observed_a = np.array([1.0, 2.0, 3.0, -4.0, 6.0, 8.0])
    observed_b = np.array([10.0, 30.0, 20.0, 50.0, 40.0, 70.0])
    assert all(math.isfinite(v) for v in scaling.y_shift + scaling.y_scale)
    assert scaling.y_shift == pytest.approx((observed_a.mean(), observed_b.mean()), abs=1e-12)
    assert scaling.y_scale == pytest.approx((observed_a.std(), observed_b.std()), abs=1e-12)
    minmax = Scaling.fit(series, "minmax")
    assert minmax.y_shift == (-4.0, 10.0) and minmax.y_scale == (12.0, 60.0)


@pytest.mark.parametrize("method", SCALING_METHODS)
def test_scaling_constant_channel_is_finite(method):
    ys = torch.tensor([[[0.1, 0.0]], [[0.1, 0.0]], [[0.1, 0.0]]], dtype=torch.float64)
    series = TimeSeries(ts=torch.arange(3.0), ys=ys, mask=torch.ones_like(ys, dtype=torch.bool),
                        names=("c", "zero"))
    scaling = Scaling.fit(series, method)
    scaled = scaling.transform(series)
    assert bool(torch.isfinite(scaled.ys).all())
    assert scaling.y_scale[1] == 1.0  # all-zero channel: scale 1, never 0
    # constant channel: spread 0 gives scale 1 ("max" divides by |0.1| instead), values near 0 or 1
    assert scaling.y_scale[0] == (0.1 if method == "max" else 1.0)
    expected = {"none": 0.1, "max": 1.0}.get(method, 0.0)
    assert scaled.ys[..., 0].sub(expected).abs().max().item() < 1e-12
    torch.testing.assert_close(scaling.inverse_y(scaled.ys), ys, rtol=0, atol=1e-15)


def test_scaling_single_time_point_and_unobserved_channel_are_finite():
    ys = torch.tensor([[[2.0, float("nan")]]], dtype=torch.float64)  # (1, 1, 2)
    series = TimeSeries(ts=[5.0], ys=ys, mask=~torch.isnan(ys), names=("a", "b"))
    scaling = Scaling.fit(series, "standard")
    assert scaling.t_scale == 1.0 and scaling.y_shift == (2.0, 0.0)
    assert scaling.y_scale == (1.0, 1.0)


def test_scaling_dict_round_trip_is_json_safe():
    scaling = Scaling.fit(panel_series(), "standard")
    data = json.loads(json.dumps(scaling.to_dict()))
    assert Scaling.from_dict(data) == scaling
    assert set(data) == {"method", "t_shift", "t_scale", "y_shift", "y_scale"}


def test_scaling_from_dict_names_missing_keys():
    data = Scaling.fit(panel_series(), "minmax").to_dict()
    del data["y_scale"]
    with pytest.raises(ValueError, match="y_scale"):
        Scaling.from_dict(data)


def test_scaling_unknown_method_names_method_and_choices():
    with pytest.raises(ValueError) as info:
        Scaling.fit(panel_series(), "zscore")
    message = str(info.value)
    assert "method='zscore'" in message
    assert all(name in message for name in SCALING_METHODS)


@pytest.mark.parametrize("fields, word", [
    ({"t_scale": 0.0}, "t_scale"),
    ({"y_scale": (1.0, -2.0)}, "y_scale"),
    ({"y_shift": (0.0,)}, "y_shift"),
    ({"t_shift": float("nan")}, "t_shift"),
])
def test_scaling_constructor_validates(fields, word):
    values = {"t_shift": 0.0, "t_scale": 1.0, "y_shift": (0.0, 0.0), "y_scale": (1.0, 1.0),
              "method": "standard"}
    values.update(fields)
    with pytest.raises(ValueError, match=word):
        Scaling(**values)


def test_scaling_channel_count_mismatch():
    scaling = Scaling.fit(reference_dataset(0))
    with pytest.raises(ValueError) as info:
        scaling.transform(panel_series())
    assert "d=2" in str(info.value) and "1 channel" in str(info.value)
    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        scaling.inverse_y(torch.zeros(4, 3))


def test_scaling_inverse_y_keeps_dtype_and_broadcasts_over_batches():
    scaling = Scaling.fit(reference_dataset(0))
    y = torch.zeros(7, 5, 1, dtype=torch.float32)  # (T, batch, d), e.g. solver output
    out = scaling.inverse_y(y)
    assert out.dtype == torch.float32 and out.shape == (7, 5, 1)
    assert torch.allclose(out, torch.full_like(out, scaling.y_shift[0]))
