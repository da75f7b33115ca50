"""The development series' flags in ``benchmarks/real_series.py`` come from their training part
alone: lynx's ``--period`` is the highest periodogram peak of the log of the part before the
holdout (``--period auto``)."""

from pathlib import Path

from scripts import load_script

from neuralsde.data import load_csv
from neuralsde.data.period import dominant_period
from neuralsde.run_files import holdout_split

ROOT = Path(__file__).resolve().parents[1]


def _real_series():
    return load_script("benchmarks/real_series.py")


def test_lynx_period_is_read_off_the_training_part():
    rs = _real_series()
    flags = rs.SERIES["lynx"]
    period = float(flags[flags.index("--period") + 1])
    series = load_csv(ROOT / "data" / "lynx.csv")
    train = series.head(holdout_split(series.n_points, 0.2))  # real_series.py's --holdout 0.2
    assert train.n_points == 91  # 1821-1911
    peak = dominant_period(train, log=True)  # what --period auto --scaling log finds
    assert round(peak, 1) == period


def test_seed_and_iters_are_passed_on_to_every_run(tmp_path, monkeypatch):
    rs = _real_series()
    calls = []

    def fake_run_one(name, extra, out):
        calls.append((name, list(extra)))
        return {"series": name, "holdout_crps": 1.0, "baseline_holdout_crps": 2.0,
                "climatology_holdout_crps": 3.0, "holdout_coverage_90": 0.9, "wall_seconds": 1.0}

    monkeypatch.setattr(rs, "run_one", fake_run_one)
    out = tmp_path / "r.json"
    result = rs.main(["--series", "lynx,co2", "--seed", "3", "--iters", "7", "--out", str(out)])
    assert calls == [("lynx", ["--iters", "7", "--seed", "3"]),
                     ("co2", ["--iters", "7", "--seed", "3"])]
    assert [row["series"] for row in result["rows"]] == ["lynx", "co2"]
    assert out.exists() and '"seed": 3' in out.read_text()
    calls.clear()
    rs.main(["--series", "lynx", "--out", str(out)])
    assert calls == [("lynx", [])]  # no flags: the CLI's own defaults
