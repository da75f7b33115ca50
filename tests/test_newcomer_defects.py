"""A new user's first runs of the CLI: horizons and holdouts checked against the data before
training, forecast dates on the data's calendar, help groups that say which objective a flag
applies to, and a fit.png title that describes what the figure shows."""

import csv
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralsde import build_model, forecast
from neuralsde.data import Scaling, load_csv
from neuralsde.data.calendar import calendar_times, offset_times
from neuralsde.fit import main
from neuralsde.fit.settings import build_parser

LYNX = str(Path(__file__).resolve().parents[1] / "data" / "lynx.csv")


def _dated(tmp_path, dates, name="dated.csv"):
    """A one-channel CSV at ``dates`` (ISO strings), values a gentle wave."""
    path = tmp_path / name
    rows = [f"{d},{10 + np.sin(k / 2):.4f}" for k, d in enumerate(dates)]
    path.write_text("date,y\n" + "\n".join(rows) + "\n")
    return path


def _quarter_ends(n=12):
    import pandas as pd

    return [str(d.date()) for d in pd.date_range("2009-03-31", periods=n, freq="QE")]


def _month_starts(n=12):
    import pandas as pd

    return [str(d.date()) for d in pd.date_range("2009-01-01", periods=n, freq="MS")]


def _refused(capsys, argv):
    """Run the CLI, expecting a refusal before anything is written: the stderr line."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    return capsys.readouterr().err


# ----------------------------------------------------------------------------- 1. horizons

@pytest.mark.parametrize("horizon", ["100000000", "100000"])
def test_a_horizon_past_the_solver_is_refused_before_training(tmp_path, capsys, horizon):
    out = tmp_path / "run"
    err = _refused(capsys, ["--data", LYNX, "--horizon", horizon, "--iters", "2", "--quiet",
                            "--out", str(out)])
    assert err.count("\n") == 1 and len(err) < 600  # one bounded line
    assert f"--horizon {horizon}" in err and "expected --horizon <= 10000" in err
    assert "step attempts" in err  # why: the solver's limit
    assert not out.exists()  # nothing trained, nothing written


def test_a_horizon_past_the_memory_limit_is_refused_naming_samples(tmp_path, capsys):
    err = _refused(capsys, ["--data", LYNX, "--horizon", "5000", "--samples", "100000",
                            "--out", str(tmp_path / "run")])
    assert "--horizon 5000 with --samples 100000" in err and "expected --horizon <= 1000" in err


def test_a_horizon_step_too_fine_for_float32_is_refused(tmp_path, capsys):
    err = _refused(capsys, ["--data", LYNX, "--horizon", "3", "--horizon-step", "1e-9",
                            "--out", str(tmp_path / "run")])
    assert "--horizon-step 1e-09" in err and "--dtype float32" in err and len(err) < 600


def test_errors_quote_only_a_few_values_of_an_array(tmp_path):
    from neuralsde.solvers.config import check_state_and_times

    series = load_csv(_dated(tmp_path, _month_starts()))
    times = np.full(10**6, 1e6)  # not increasing, a million values
    with pytest.raises(ValueError, match=r"times=\[1000000\.0, 1000000\.0, 1000000\.0, \.\.\.\] "
                                         r"\(1000000 values\)") as info:
        forecast(None, series, None, times=times)
    assert len(str(info.value)) < 400
    with pytest.raises(ValueError, match=r"\(1000000 values\)") as info:
        check_state_and_times(torch.zeros(1, 1), torch.zeros(10**6))
    assert len(str(info.value)) < 400


# ----------------------------------------------------------------------------- 2. calendar

def _model(series):
    torch.manual_seed(0)
    return build_model({"kind": "mlp", "state_dim": series.dim, "hidden": 4})


def test_quarter_ends_and_month_starts_forecast_on_their_calendar(tmp_path):
    quarterly = load_csv(_dated(tmp_path, _quarter_ends(), "q.csv"))  # to 2011-12-31
    fc = forecast(_model(quarterly), quarterly, 5, samples=2, scaling=Scaling.fit(quarterly))
    assert fc.time_labels() == ["2012-03-31", "2012-06-30", "2012-09-30", "2012-12-31",
                                "2013-03-31"]
    monthly = load_csv(_dated(tmp_path, _month_starts(), "m.csv"))  # to 2009-12-01
    fc = forecast(_model(monthly), monthly, 3, samples=2, scaling=Scaling.fit(monthly))
    assert fc.time_labels() == ["2010-01-01", "2010-02-01", "2010-03-01"]
    assert fc.times.tolist() == [365.0, 396.0, 424.0]  # whole days, exactly


def test_month_ends_and_yearly_dates_keep_their_day(tmp_path):
    ends = load_csv(_dated(tmp_path, ["2009-01-31", "2009-02-28", "2009-04-30"], "e.csv"))
    days = calendar_times(ends, 3)  # a missing month: still month ends
    assert list(days) == [120.0, 150.0, 181.0]  # 2009-05-31, 2009-06-30, 2009-07-31
    yearly = load_csv(_dated(tmp_path, ["2001-07-15", "2002-07-15", "2003-07-15"], "y.csv"))
    fc = forecast(_model(yearly), yearly, 2, samples=2, scaling=Scaling.fit(yearly))
    assert fc.time_labels() == ["2004-07-15", "2005-07-15"]  # across a leap year


def test_weekly_and_numeric_times_keep_the_fixed_step(tmp_path):
    weekly = load_csv(_dated(tmp_path, ["2024-01-01", "2024-01-08", "2024-01-15"], "w.csv"))
    assert calendar_times(weekly, 2) is None
    numeric = load_csv(LYNX)
    assert calendar_times(numeric, 2) is None
    fc = forecast(_model(numeric), numeric, 2, samples=2, scaling=Scaling.fit(numeric))
    assert fc.times.tolist() == [1935.0, 1936.0]


def test_forecast_accepts_an_offset_alias_for_dates_only(tmp_path):
    series = load_csv(_dated(tmp_path, _quarter_ends()))
    fc = forecast(_model(series), series, 3, samples=2, step="MS")
    assert fc.time_labels() == ["2012-01-01", "2012-02-01", "2012-03-01"]
    assert offset_times(series, 2, "Q").tolist() == offset_times(series, 2, "QE").tolist()
    numeric = load_csv(LYNX)
    with pytest.raises(ValueError, match="step='MS'.*numeric times"):
        forecast(_model(numeric), numeric, 3, step="MS")
    with pytest.raises(ValueError, match="step='fortnightly' is not supported.*MS"):
        forecast(_model(series), series, 3, step="fortnightly")


def test_the_horizon_step_flag_takes_an_alias_and_refuses_a_bad_one(tmp_path, capsys):
    parser = build_parser()
    assert parser.parse_args(["--horizon-step", "QE"]).horizon_step == "QE"
    assert parser.parse_args(["--horizon-step", "7"]).horizon_step == 7.0
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--horizon-step", "fortnightly"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "--horizon-step" in err and "'fortnightly'" in err
    assert "MS" in err and "QE" in err  # examples of what is accepted
    err = _refused(capsys, ["--horizon", "3", "--horizon-step", "MS",
                            "--out", str(tmp_path / "run")])  # the built-in data: numbers
    assert "--horizon-step MS" in err and "numeric times" in err


@pytest.mark.slow
def test_the_cli_writes_quarter_end_forecast_dates(tmp_path):
    data = _dated(tmp_path, _quarter_ends(16))  # to 2012-12-31
    rows = {}
    for step in (None, "QE"):
        out = tmp_path / f"run-{step}"
        argv = ["--data", str(data), "--iters", "2", "--windows", "2", "--window-samples", "2",
                "--window-length", "2", "--samples", "3", "--horizon", "3", "--quiet",
                "--out", str(out)] + ([] if step is None else ["--horizon-step", step])
        assert main(argv) == 0
        with open(out / "forecast.csv", newline="") as handle:
            rows[step] = [r["time"] for r in csv.DictReader(handle)]
    assert rows[None] == rows["QE"] == ["2013-03-31", "2013-06-30", "2013-09-30"]


# ----------------------------------------------------------------------------- 3. holdout

def test_a_holdout_leaving_one_point_is_refused_with_the_largest_that_works(tmp_path, capsys):
    out = tmp_path / "run"
    err = _refused(capsys, ["--data", LYNX, "--holdout", "0.99", "--iters", "2", "--quiet",
                            "--out", str(out)])
    assert err.count("\n") == 1
    assert "--holdout 0.99 leaves 1 of the 114 time points" in err
    assert "at least 2" in err and "expected --holdout <= 0.98" in err
    assert not out.exists()


def test_a_holdout_leaving_no_window_is_refused_naming_the_minimum(tmp_path, capsys):
    err = _refused(capsys, ["--data", LYNX, "--holdout", "0.95", "--window-length", "8",
                            "--out", str(tmp_path / "run")])
    # 0.95 of 114 leaves 6; a window of 8 needs 9 training points, so at most 0.92 (9 left)
    assert "--holdout 0.95 leaves 6 of the 114 time points" in err
    assert "needs at least 9" in err and "--window-length 8" in err
    assert "expected --holdout <= 0.92" in err


def test_largest_holdout_leaves_the_training_points_it_names():
    from neuralsde.fit.data_checks import largest_holdout

    def left(n, fraction):  # the training points a holdout leaves, before any clamping
        return int(round(n * (1.0 - fraction)))

    for n in (3, 7, 114, 1000):
        for k in range(2, n):
            fraction = largest_holdout(n, k)
            assert fraction is not None and 0 < fraction < 1 and left(n, fraction) >= k
            if round(fraction, 2) == fraction and fraction + 0.01 < 1:
                assert left(n, fraction + 0.01) < k  # the largest at two decimals
    assert largest_holdout(5, 5) is None


# ----------------------------------------------------------------------------- 4. --help

def _groups_of_flags() -> dict:
    """Each flag of ``--help`` with the title of the group it is listed under."""
    text = build_parser().format_help()
    groups, title = {}, None
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            title = line[:-1]
        for flag in re.findall(r"^  (--[a-z-]+)", line):
            groups[flag] = title
    return groups


def test_help_groups_name_the_objective_their_flags_apply_to():
    groups = _groups_of_flags()
    for flag in ("--paths", "--stage-iters", "--no-curriculum", "--loss"):
        assert "start objective" in groups[flag] and "reference" in groups[flag], flag
    for flag in ("--windows", "--window-length", "--window-samples", "--lags"):
        assert groups[flag].startswith("windows objective"), flag
    for flag in ("--iters", "--lr", "--seed", "--scaling", "--objective"):
        assert "all objectives" in groups[flag], flag


# ----------------------------------------------------------------------------- 5. fit.png

def _title(monkeypatch, tmp_path, zoom_from):
    """The fit.png title ``_write_figures`` gives, with plot_fit replaced by a recorder."""
    import neuralsde.plotting as plotting
    from neuralsde.fit.artifacts import _Sampled, _write_figures

    seen = {}
    monkeypatch.setattr(plotting, "plot_fit", lambda *a, **k: seen.update(k))
    monkeypatch.setattr(plotting, "save", lambda fig, path: None)
    series = load_csv(LYNX)
    t = series.ts.numpy()
    sampled = _Sampled(y0=torch.zeros(1), arrays={"observed": series.ys[:, 0, :].numpy()},
                       fine_t=t[-20:], fine_samples=np.zeros((3, 20, 1)),
                       zoom_from=zoom_from, scores={"path_mean_mse": 12345.0}, holdout={},
                       scaling=None)
    settings = {"model": "sde", "blog": False, "objective": "windows"}
    _write_figures(tmp_path, sampled, series, series.n_points, settings, None, [])
    return seen["title"]


def test_the_band_figure_title_describes_the_band_not_a_path_mean_mse(monkeypatch, tmp_path):
    series_t = load_csv(LYNX).ts.numpy()
    title = _title(monkeypatch, tmp_path, zoom_from=float(series_t[-20]))
    assert "one-step-ahead 5-95 % band over the last 20 training points" in title
    assert "MSE" not in title
    title = _title(monkeypatch, tmp_path, zoom_from=None)  # free-run paths: their MSE
    assert "path-mean MSE 1.23e+04" in title and "band" not in title


# ----------------------------------------------------------------------------- the model behind
# forecast.csv

def test_the_forecast_line_says_which_model_made_forecast_csv(tmp_path, capsys):
    data = tmp_path / "y.csv"
    data.write_text("t,y\n" + "".join(f"{i},{(i * 7) % 5 + 0.5 * i}\n" for i in range(40)))
    small = ["--iters", "2", "--windows", "4", "--window-samples", "4", "--window-length", "3",
             "--samples", "5", "--horizon", "3"]
    assert main(["--data", str(data), "--holdout", "0.25", "--out", str(tmp_path / "a"),
                 *small]) == 0
    said = capsys.readouterr().out
    assert "by the model trained on the first 30 of the 40 time points (--holdout)" in said
    assert (tmp_path / "a" / "forecast.csv").is_file()
    assert main(["--data", str(data), "--out", str(tmp_path / "b"), *small]) == 0
    said = capsys.readouterr().out
    assert "forecast: 3 steps past the data ->" in said and "trained on the first" not in said
