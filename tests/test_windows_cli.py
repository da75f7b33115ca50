"""The windows and transition objectives through the CLI and across a resume."""

import json
import math

import numpy as np
import pytest
import torch
from test_windows import _ou

import neuralsde as ns
from neuralsde.fit import main
from neuralsde.train import TrainConfig, fit, load_checkpoint
from neuralsde.train.windows import WindowConfig, Windows


def _csv(path, n=40, groups=1, seed=0):
    rng = np.random.default_rng(seed)
    rows = ["t,id,y"] if groups > 1 else ["t,y"]
    for g in range(groups):
        y = 0.0
        for k in range(n if g == 0 else n // 4):
            y += 0.3 * rng.standard_normal() - 0.2 * y
            rows.append(f"{k},{g},{y:.5f}" if groups > 1 else f"{k},{y:.5f}")
    path.write_text("\n".join(rows) + "\n")
    return path


def _error(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("flags, words", [
    (["--window-length", "60"], ["--window-length 60", "expected --window-length <="]),
    (["--state-dim", "2", "--lags", "39"], ["--lags 39"]),
    (["--period", "0"], ["--period", "> 0"]),
    (["--period", "-3"], ["--period"]),
    (["--objective", "transition", "--state-dim", "2"], ["--objective transition", "latent"]),
    (["--objective", "start", "--period", "12"], ["--period", "--objective windows"]),
])
def test_bad_window_settings_name_the_flag(tmp_path, capsys, flags, words):
    err = _error(["--data", str(_csv(tmp_path / "y.csv")), "--out", str(tmp_path / "run"),
                  "--quiet", *flags], capsys)
    for word in words:
        assert word in err
    assert not (tmp_path / "run").exists()


def test_a_panel_group_shorter_than_a_window_is_named(tmp_path, capsys):
    data = _csv(tmp_path / "panel.csv", n=40, groups=3)  # groups 1 and 2 have 10 points
    err = _error(["--data", str(data), "--group-column", "id", "--window-length", "12",
                  "--quiet", "--out", str(tmp_path / "run")], capsys)
    assert "group '1'" in err and "--window-length 12" in err


def test_windows_is_the_default_for_data_and_metrics_record_it(tmp_path):
    out = tmp_path / "run"
    argv = ["--data", str(_csv(tmp_path / "y.csv", n=60)), "--iters", "4", "--windows", "8",
            "--window-samples", "4", "--window-length", "3", "--samples", "7", "--holdout", "0.2",
            "--quiet", "--out", str(out)]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["objective"] == "windows"
    objective = metrics["settings"]["objective_settings"]
    assert objective["objective"] == "windows" and objective["horizon"] == 3
    assert objective["windows"] == 8 and objective["samples"] == 4
    assert metrics["settings"]["model_spec"]["kind"] == "mlp"
    assert math.isfinite(metrics["holdout_crps"]) and math.isfinite(
        metrics["climatology_holdout_crps"])
    data = np.load(out / "samples.npz")  # documented arrays keep their meaning
    assert data["samples"].shape == (7, 60, 1) and data["forecast"].shape == (7, 12, 1)
    assert (out / "fit.png").stat().st_size > 0 and (out / "loss.png").stat().st_size > 0


def test_a_stopped_windows_run_resumes_bit_identically(tmp_path):
    series = _ou(150, 0.2)
    cfg = TrainConfig(lr=0.01, seed=2)

    def objective():
        return Windows(series, WindowConfig(iters=12, windows=8, samples=4, horizon=3))

    def model():
        torch.manual_seed(0)
        return ns.build_model({"kind": "mlp", "state_dim": 1, "diffusion_final": "softplus"})

    whole = fit(model(), objective=objective(), train_config=cfg, quiet=True)
    path = tmp_path / "checkpoint.pt"
    first = fit(model(), objective=objective(), train_config=cfg, quiet=True,
                checkpoint_path=path, checkpoint_every=5,
                callbacks=[lambda row, m: row["iteration"] == 6])
    assert len(first.history) == 7
    state = load_checkpoint(path)
    rest = fit(model(), objective=objective(), train_config=cfg, quiet=True, resume=state)
    resumed = [r["loss"] for r in first.history] + [r["loss"] for r in rest.history]
    assert resumed == [r["loss"] for r in whole.history]


def _regular(n, spacing=1.0, paths=1):
    ts = torch.arange(n, dtype=torch.float64) * spacing
    from neuralsde.data import TimeSeries
    return TimeSeries(ts=ts, ys=torch.zeros(n, paths, 1, dtype=torch.float64), names=("y",),
                      mask=torch.ones(n, paths, 1, dtype=torch.bool))


@pytest.mark.parametrize("period, spacing, n, expected", [
    (None, 1.0, 200, 8),      # no period, a constant series (no memory to read): 8
    (12.0, 1.0, 200, 12),     # one period of monthly data
    (365.25, 30.5, 200, 12),  # the same with dates (days)
    (365.25, 7.0, 200, 32),   # weekly data: one period is 53 times, capped at 32
    (4.0, 1.0, 200, 8),       # a short period: never below 8
    (20.0, 1.0, 15, 14),      # a short series: the longest window it has room for
])
def test_the_default_window_length_spans_a_period_within_bounds(period, spacing, n, expected):
    from neuralsde.fit.objectives import WINDOW_LENGTH, WINDOW_LENGTH_MAX, default_window_length
    assert (WINDOW_LENGTH, WINDOW_LENGTH_MAX) == (8, 32)
    settings = {"window_length": None, "period": period, "state_dim": None, "lags": 4}
    assert default_window_length(settings, _regular(n, spacing)) == expected
    assert default_window_length({**settings, "window_length": 5}, _regular(n, spacing)) == 5


def test_the_cli_records_the_default_window_length_it_used(tmp_path):
    out = tmp_path / "run"
    argv = ["--data", str(_csv(tmp_path / "y.csv", n=40)), "--period", "10", "--iters", "2",
            "--windows", "4", "--window-samples", "4", "--samples", "5", "--quiet",
            "--out", str(out)]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["window_length"] == 10
    assert metrics["settings"]["objective_settings"]["horizon"] == 10
