"""``--period auto``: the period read off the training part's periodogram
(:func:`neuralsde.data.period.dominant_period`), against series whose period is known."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from neuralsde.data import TimeSeries
from neuralsde.data.period import dominant_period


def _series(y, t=None, name="y"):
    y = np.asarray(y, dtype=float)
    ys = torch.tensor(y.reshape(len(y), 1, 1) if y.ndim == 1 else y)
    t = np.arange(len(y), dtype=float) if t is None else np.asarray(t, dtype=float)
    groups = tuple(str(p) for p in range(ys.shape[1]))
    return TimeSeries(ts=torch.tensor(t), ys=ys, mask=~torch.isnan(ys), names=(name,),
                      groups=groups, source="test")


def _cycle(n, period, seed, phase=0.0, noise=0.3):
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    return np.sin(2 * math.pi * k / period + phase) + noise * rng.standard_normal(n)


@pytest.mark.parametrize("period", [5.0, 9.3, 24.0])
def test_finds_the_period_of_a_noisy_cycle(period):
    assert dominant_period(_series(_cycle(240, period, 0))) == pytest.approx(period, rel=0.02)


def test_reports_the_period_in_the_data_time_units():
    y = _cycle(200, 12.0, 1)
    days = 30.0 * np.arange(200)  # monthly data with times in days
    assert dominant_period(_series(y, days)) == pytest.approx(360.0, rel=0.02)


def test_a_trend_does_not_hide_the_cycle():
    y = _cycle(200, 10.0, 2) + 0.2 * np.arange(200)  # the line alone would peak at the lowest
    assert dominant_period(_series(y)) == pytest.approx(10.0, rel=0.02)


def test_log_reads_a_multiplicative_cycle_and_needs_positive_values():
    y = np.exp(0.02 * np.arange(150) + 0.5 * _cycle(150, 8.0, 3))
    assert dominant_period(_series(y), log=True) == pytest.approx(8.0, rel=0.02)
    with pytest.raises(ValueError, match="values <= 0"):
        dominant_period(_series(_cycle(150, 8.0, 3)), log=True)


def test_paths_are_pooled_and_missing_values_filled():
    a, b = _cycle(160, 16.0, 4), _cycle(160, 16.0, 5, phase=2.0)
    a[10:14] = np.nan
    b[::7] = np.nan
    assert dominant_period(_series(np.stack([a, b], axis=1)[:, :, None])) == pytest.approx(
        16.0, rel=0.02)


def test_a_peak_longer_than_half_the_span_is_never_returned():
    rng = np.random.default_rng(6)
    walk = np.cumsum(rng.standard_normal(100))  # red noise: the power sits at low frequencies
    assert dominant_period(_series(walk)) <= 50.0


@pytest.mark.parametrize("y, t, match", [
    (np.arange(5.0), None, "at least 8 time points"),
    (_cycle(40, 6.0, 7), np.r_[np.arange(20.0), 20.0 + 2 * np.arange(20.0)], "close to regular"),
    (np.ones(40), None, "no path and channel"),
    (3.0 + 0.5 * np.arange(40), None, "no path and channel"),
])
def test_refuses_what_has_no_period_to_read(y, t, match):
    with pytest.raises(ValueError, match=match):
        dominant_period(_series(y, t))


def test_refuses_a_bad_pad():
    with pytest.raises(ValueError, match="pad"):
        dominant_period(_series(_cycle(40, 6.0, 8)), pad=0)


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "neuralsde.fit", *args], cwd=cwd,
                          capture_output=True, text=True)


@pytest.mark.slow
def test_cli_period_auto_stores_the_training_parts_period(tmp_path):
    y = _cycle(120, 12.0, 9, noise=0.1)
    y[100:] = 5.0 * np.sin(2 * math.pi * np.arange(20) / 3.0)  # the held-out part: another cycle
    rows = "".join(f"{k},{float(v)!r}\n" for k, v in enumerate(y))
    (tmp_path / "y.csv").write_text("t,y\n" + rows)
    done = _cli("--data", "y.csv", "--period", "auto", "--holdout", "0.1667", "--iters", "1",
                "--windows", "2", "--window-samples", "2", "--samples", "2", "--out", "run",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    settings = json.loads((tmp_path / "run" / "run.json").read_text())["settings"]
    assert settings["period"] == pytest.approx(12.0, rel=0.02)  # not the held-out part's 3
    chosen = json.loads((tmp_path / "run" / "metrics.json").read_text())["settings"]
    one = math.ceil(settings["period"])  # one period's points, or 4 times (auto), at most 32
    assert chosen["window_length"] in (one, min(4 * one, 32))
    assert f"--period auto: {settings['period']:.6g}" in done.stdout


@pytest.mark.slow
def test_cli_period_auto_and_bad_periods_exit_2_naming_the_flag(tmp_path):
    times = np.r_[np.arange(20.0), 20.0 + 2 * np.arange(20.0)]
    rows = "".join(f"{float(t)!r},{float(v)!r}\n" for t, v in zip(times, _cycle(40, 6.0, 10)))
    (tmp_path / "irregular.csv").write_text("t,y\n" + rows)
    for flags, message in ((["--period", "auto"], "--period auto: a period is read off close "
                                                  "to regular times"),
                           (["--period", "monthly"], "argument --period: 'monthly' is neither"),
                           (["--period", "0"], "argument --period: '0' must be a finite number")):
        done = _cli("--data", "irregular.csv", *flags, "--iters", "1", "--out", "run",
                    cwd=tmp_path)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- period="dates"

def _dated(freq: str, n: int = 40):
    import pandas as pd

    from neuralsde.forecaster import as_series

    index = pd.date_range("2000-01-01", periods=n, freq=freq)
    return as_series(pd.Series(np.sin(np.arange(n)), index=index))


@pytest.mark.parametrize("freq, season", [("MS", 365.25), ("QE", 365.25), ("W", 365.25),
                                          ("30min", 1.0), ("D", None), ("YS", None)])
def test_the_season_the_dates_imply(freq, season):
    from neuralsde.data.period import season_from_dates

    assert season_from_dates(_dated(freq)) == season


def test_numeric_times_imply_no_season_and_the_forecaster_resolves_dates():
    import neuralsde as ns
    from neuralsde.data.period import season_from_dates
    from neuralsde.forecaster import as_series

    assert season_from_dates(as_series(np.sin(np.arange(40.0)))) is None
    model = ns.Forecaster(period="dates", iters=2, windows=4, window_samples=4)
    assert model.fit(_dated("MS")).settings_["period"] == 365.25
    assert model.fit(np.sin(np.arange(40.0))).settings_["period"] is None
    with pytest.raises(ValueError, match="'dates', 'auto' or None"):
        ns.Forecaster(period="yearly")


def test_the_cli_takes_period_dates(tmp_path, capsys):
    from neuralsde.fit import main

    csv = tmp_path / "monthly.csv"
    csv.write_text("month,y\n" + "".join(f"{2000 + k // 12}-{k % 12 + 1:02d}-01,{math.sin(k)}\n"
                                           for k in range(40)))
    out = tmp_path / "run"
    assert main(["--data", str(csv), "--period", "dates", "--iters", "2", "--windows", "4",
                 "--window-samples", "4", "--samples", "5", "--out", str(out)]) == 0
    assert "--period dates: 365.25 (the season the dates imply)" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["settings"]["period"] == 365.25
