"""experiments/single_path.py: a smoke run at test size (the CLI on a short CIR path), the exact
CIR simulation and the two parametric estimates.

The full-size accuracy target (drift and diffusion relative L2 errors <= 0.15) is too slow for
the suite; the script's default run reports it in
experiments/results/single_path/single_path.json.
"""

import csv
import json
import math
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from scripts import load_script

# scripts run end to end (subprocesses or whole benchmark runs): skipped by default
pytestmark = pytest.mark.slow


def _load():
    return load_script("experiments/single_path.py")


sp = _load()


def _finite_nonnegative(value) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value >= 0


def test_quick_run_writes_data_run_json_and_figure(tmp_path):
    out = tmp_path / "sp"
    assert sp.main(["--quick", "--out", str(out)]) == 0

    with open(out / "data.csv", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["t", "y"] and len(rows) == 1 + sp.QUICK["points"]
    values = np.array(rows[1:], dtype=float)
    assert np.all(np.isfinite(values)) and np.all(values[:, 1] > 0)
    np.testing.assert_allclose(np.diff(values[:, 0]), sp.QUICK["spacing"])
    for name in ("model.pt", "metrics.json", "run.json"):
        assert (out / "run" / name).is_file(), name

    report = json.loads((out / "single_path.json").read_text())
    required = {"drift_rel_l2", "diffusion_rel_l2", "y_range", "euler", "conditional_mean_ls",
                "true", "data", "cli_args", "settings", "scaling", "final_loss"}
    assert required <= set(report)
    assert "seconds" not in report  # timings: timings.json
    assert _finite_nonnegative(report["drift_rel_l2"])
    assert _finite_nonnegative(report["diffusion_rel_l2"])
    for name in ("euler", "conditional_mean_ls"):
        for key in ("kappa", "theta", "sigma", "drift_rel_l2", "diffusion_rel_l2"):
            assert math.isfinite(report[name][key]), (name, key)
        assert report[name]["drift_rel_l2"] >= 0 and report[name]["diffusion_rel_l2"] >= 0
    lo, hi = report["y_range"]
    assert 0 < lo < hi
    assert report["true"] == {"kappa": sp.KAPPA, "theta": sp.THETA, "sigma": sp.SIGMA}
    assert report["data"]["points"] == sp.QUICK["points"]
    settings = report["settings"]
    assert settings["objective"] == "windows" and settings["iters"] == sp.QUICK["iters"]
    assert settings["window_length"] == sp.QUICK["window_length"]
    assert settings["model_spec"]["kind"] == "mlp"
    assert report["cli_args"][:4] == ["--data", "data.csv", "--out", "run"]
    assert report["cli_args"][9:13] == ["--scaling", "standard", "--state-dim", "1"]
    assert report["scaling"]["method"] == "standard"

    timings = json.loads((out / "timings.json").read_text())
    assert _finite_nonnegative(timings["seconds"]) and _finite_nonnegative(timings["fit_seconds"])

    image = matplotlib.image.imread(out / "drift_diffusion.png")
    assert image.ndim == 3 and image.shape[0] >= 300 and image.shape[1] >= 800
    assert image[..., :3].std() > 0.05  # not blank

    # a second run into the same folder replaces the CLI's run folder instead of failing
    assert sp.main(["--quick", "--iters", "1", "--out", str(out)]) == 0
    assert json.loads((out / "single_path.json").read_text())["settings"]["iters"] == 1


def test_cli_args_pass_on_only_the_given_sizes():
    args = sp.parse(["--iters", "7", "--window-length", "16"])
    argv = sp.cli_args(args, Path("d.csv"), Path("r"))
    assert argv[:4] == ["--data", "d.csv", "--out", "r"]
    assert argv[argv.index("--iters") + 1] == "7"
    assert argv[argv.index("--window-length") + 1] == "16"
    assert "--windows" not in argv and "--window-samples" not in argv
    with pytest.raises(SystemExit):
        sp.parse(["--points", "2"])


def test_simulate_cir_follows_the_stationary_and_transition_laws():
    t, y = sp.simulate_cir(kappa=2.0, theta=0.5, sigma=0.6, points=40000, spacing=0.05, seed=3)
    np.testing.assert_allclose(t[:3], [0.0, 0.05, 0.1])
    assert np.all(y > 0)
    # stationary Gamma(2 kappa theta / sigma^2, sigma^2 / (2 kappa)): mean theta, variance
    # theta sigma^2 / (2 kappa)
    assert y.mean() == pytest.approx(0.5, rel=0.03)
    assert y.var() == pytest.approx(0.5 * 0.36 / 4.0, rel=0.08)
    # the exact transition: the conditional-mean estimate has no discretisation bias
    exact = sp.conditional_mean_estimate(t, y)
    assert exact["kappa"] == pytest.approx(2.0, rel=0.08)
    assert exact["theta"] == pytest.approx(0.5, rel=0.03)
    assert exact["sigma"] == pytest.approx(0.6, rel=0.02)
    # Euler shrinks kappa to about (1 - e^{-kappa h}) / h and sigma by about sqrt(1 - kappa h)
    euler = sp.euler_estimate(t, y)
    assert euler["kappa"] == pytest.approx((1 - math.exp(-0.1)) / 0.05, rel=0.08)
    assert euler["sigma"] == pytest.approx(0.6 * math.sqrt(1 - 0.1), rel=0.02)
    again = sp.simulate_cir(kappa=2.0, theta=0.5, sigma=0.6, points=40000, spacing=0.05, seed=3)
    assert np.array_equal(again[1], y)


def test_true_fields():
    y = np.array([0.0, 0.25, 1.0, 4.0])
    np.testing.assert_allclose(sp.true_drift(y), sp.KAPPA * (sp.THETA - y))
    np.testing.assert_allclose(sp.true_diffusion(y), sp.SIGMA * np.sqrt(y))
