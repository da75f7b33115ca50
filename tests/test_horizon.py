"""--horizon: forecast.csv past the end of the data, equal to the Python API's forecast."""

import csv
import json

import numpy as np
import pytest

import neuralsde as ns
from neuralsde.fit import main


def _dated_csv(path, n=30):
    rng = np.random.default_rng(0)
    days = np.datetime64("2024-01-01") + np.arange(n) * 7
    rows = ["date,y"] + [f"{d},{10 + np.sin(k / 3) + 0.1 * rng.standard_normal():.4f}"
                         for k, d in enumerate(days)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_horizon_writes_forecast_csv_equal_to_load_run_forecast(tmp_path):
    out = tmp_path / "run"
    argv = ["--data", str(_dated_csv(tmp_path / "y.csv")), "--iters", "3", "--windows", "4",
            "--window-samples", "2", "--window-length", "2", "--samples", "9", "--horizon", "5",
            "--quiet", "--out", str(out)]
    assert main(argv) == 0
    with open(out / "forecast.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["time", "channel", "mean", "std", "q05", "q25", "q50", "q75", "q95"]
    assert [r["time"] for r in rows] == ["2024-07-29", "2024-08-05", "2024-08-12", "2024-08-19",
                                         "2024-08-26"]  # ISO dates in, ISO dates out, weekly
    for r in rows:
        q = [float(r[k]) for k in ("q05", "q25", "q50", "q75", "q95")]
        assert q == sorted(q)
    seed = json.loads((out / "metrics.json").read_text())["sample_seed"]
    again = ns.load_run(out).forecast(5, seed=seed).to_rows()
    assert [float(r["mean"]) for r in rows] == [r["mean"] for r in again]
    assert [float(r["q95"]) for r in rows] == [r["q95"] for r in again]


@pytest.mark.parametrize("flags, flag", [
    (["--horizon", "0"], "--horizon"), (["--horizon", "-2"], "--horizon"),
    (["--horizon", "2.5"], "--horizon"), (["--horizon", "3", "--horizon-step", "0"],
                                          "--horizon-step"),
])
def test_bad_horizons_exit_2_naming_the_flag(tmp_path, capsys, flags, flag):
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path / "run"), *flags])
    assert exit_info.value.code == 2 and flag in capsys.readouterr().err


def test_readme_forecast_example_runs(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## From Python"):]
    block = re.findall(r"```python\n(.*?)```", section, re.S)[1]
    monkeypatch.chdir(tmp_path)
    data = _dated_csv(tmp_path / "y.csv")
    assert main(["--data", str(data), "--iters", "2", "--windows", "4", "--window-samples", "2",
                 "--window-length", "2", "--samples", "6", "--quiet", "--out", "runs/mine"]) == 0
    namespace = {"ns": ns}
    exec(compile(block, "README.md", "exec"), namespace)
    fc = namespace["fc"]
    assert fc.samples.shape == (6, 12, 1) and (tmp_path / "forecast.csv").is_file()
