"""experiments/ou_panel.py: smoke runs at test size (windows, the default, and moments), the unit
conversion of the learned fields, the exact OU simulation, moments and least-squares baseline.

The full-size accuracy targets (process mean and standard deviation within 10 % at t >= 1) are
too slow for the suite; the script's default run reports them in
experiments/results/ou_panel/ou_panel.json.
"""

import json
import math
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import torch
from scripts import load_script

from neuralsde.data import Scaling
from neuralsde.sde import build_model
from neuralsde.solvers import SolveConfig
from neuralsde.train import sample

# scripts run end to end (subprocesses or whole benchmark runs): skipped by default
pytestmark = pytest.mark.slow


def _load():
    return load_script("experiments/ou_panel.py")


ou = _load()


def _constant_or_linear_model(f_weight, f_bias, g_weight, g_bias):
    """A 1-D model with ``f_train(y) = f_weight y + f_bias`` and ``g_train(y) = g_weight y +
    g_bias`` (single linear layers, no activation)."""
    model = build_model({"kind": "mlp", "state_dim": 1, "layers": 0})
    with torch.no_grad():
        model.drift[0].weight.fill_(f_weight)
        model.drift[0].bias.fill_(f_bias)
        model.diffusion[0].weight.fill_(g_weight)
        model.diffusion[0].bias.fill_(g_bias)
    return model


def _check_report(out: Path) -> dict:
    """What every run writes: the JSON reports parse, their numbers are finite, the figures are
    images."""
    report = json.loads((out / "ou_panel.json").read_text())
    required = {"objective", "drift_rel_l2", "diffusion_rel_l2", "mean_max_rel_error",
                "std_max_rel_error", "moments_t_min", "process", "data_moments", "y_range",
                "true", "settings", "final_loss", "fitted_line", "ou_least_squares", "scaling"}
    assert required <= set(report)
    assert "seconds" not in report and "fit_seconds" not in report  # timings: timings.json
    for key in ("drift_rel_l2", "diffusion_rel_l2", "mean_max_rel_error", "std_max_rel_error",
                "final_loss"):
        assert isinstance(report[key], float) and math.isfinite(report[key]), key
        assert report[key] >= 0, key
    timings = json.loads((out / "timings.json").read_text())
    for key in ("seconds", "fit_seconds"):
        assert isinstance(timings[key], float) and math.isfinite(timings[key]), key
        assert timings[key] >= 0, key
    assert timings["threads"] == 1

    process, errors = report["process"], report["process"]["errors"]
    points = report["settings"]["points"]
    for key in ("t", "mean", "std", "exact_mean", "exact_std"):
        assert len(process[key]) == points and all(map(math.isfinite, process[key])), key
    compared = [t for t in process["t"] if t >= 1.0 - 1e-9]
    assert errors["t"] == pytest.approx(compared)
    assert max(errors["mean_rel_error"]) == report["mean_max_rel_error"]
    assert max(errors["std_rel_error"]) == report["std_max_rel_error"]
    data = report["data_moments"]
    assert math.isfinite(data["mean_max_rel_error"]) and data["mean_max_rel_error"] >= 0
    assert math.isfinite(data["std_max_rel_error"]) and data["std_max_rel_error"] >= 0

    lo, hi = report["y_range"]
    assert math.isfinite(lo) and math.isfinite(hi) and lo < hi
    # every path starts at y0 = 3 and relaxes towards mu = 1, so the range lies around [mu, y0]
    assert 0.0 < lo < 1.5 and 2.0 < hi <= 3.5
    assert report["true"] == {"theta": ou.THETA, "mu": ou.MU, "sigma": ou.SIGMA, "y0": ou.Y0,
                              "t_end": ou.T_END}
    assert report["scaling"]["method"] == "standard"
    for name, min_width in (("drift_diffusion.png", 800), ("fit.png", 500)):
        image = matplotlib.image.imread(out / name)
        assert image.ndim == 3 and image.shape[2] in (3, 4), name
        assert image.shape[0] >= 300 and image.shape[1] >= min_width, (name, image.shape)
        assert image[..., :3].std() > 0.05, name  # not blank
    return report


def test_quick_run_writes_json_and_figures(tmp_path):
    out = tmp_path / "ou"
    assert ou.main(["--quick", "--out", str(out)]) == 0
    report = _check_report(out)
    assert report["objective"] == "windows"
    settings = report["settings"]
    assert (settings["groups"], settings["points"], settings["seed"]) == (32, 6, 0)
    assert settings["objective"]["objective"] == "windows"
    assert (settings["objective"]["windows"], settings["objective"]["samples"],
            settings["objective"]["horizon"]) == (4, 4, 2)
    # every group's observations but its last `horizon` can start a window
    assert settings["objective"]["valid_windows"] == 32 * (6 - 2)
    assert settings["training"]["lr_final"] == 0.1
    assert settings["solver"]["tableau"] == "sriw1" and settings["solver"]["adaptive"]
    assert settings["model"]["state_dim"] == 1
    assert math.isclose(report["scaling"]["t_scale"], ou.T_END / 5)  # mean spacing of 6 points


def test_quick_run_with_moments(tmp_path):
    out = tmp_path / "ou"
    assert ou.main(["--quick", "--objective", "moments", "--out", str(out)]) == 0
    report = _check_report(out)
    settings = report["settings"]
    assert report["objective"] == settings["objective"]["objective"] == "moments"
    assert settings["training"]["loss"] == "moments"
    assert settings["training"]["iters"] == 4 and settings["training"]["paths"] == 8
    assert settings["solver"]["method"] == "sri" and not settings["solver"]["adaptive"]


def test_flags_override_quick_sizes(tmp_path):
    out = tmp_path / "ou"
    ou.main(["--quick", "--objective", "moments", "--groups", "5", "--points", "4", "--iters",
             "1", "--paths", "3", "--seed", "2", "--out", str(out)])
    settings = json.loads((out / "ou_panel.json").read_text())["settings"]
    assert (settings["groups"], settings["points"], settings["seed"]) == (5, 4, 2)
    assert settings["training"]["paths"] == 3 and settings["training"]["seed"] == 2
    ou.main(["--quick", "--windows", "3", "--window-samples", "2", "--horizon", "1",
             "--eval-paths", "10", "--out", str(out)])
    report = json.loads((out / "ou_panel.json").read_text())
    objective = report["settings"]["objective"]
    assert (objective["windows"], objective["samples"], objective["horizon"]) == (3, 2, 1)
    assert report["process"]["paths"] == 10


def test_bad_sizes_are_refused():
    for argv in (["--horizon", "6"], ["--window-samples", "1"], ["--objective", "moments",
                                                                 "--paths", "1"]):
        with pytest.raises(SystemExit):
            ou.main(["--quick", *argv])


def test_exact_moments_and_their_errors():
    t = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
    mean, std = ou.exact_moments(t)
    np.testing.assert_allclose(mean, ou.MU + (ou.Y0 - ou.MU) * np.exp(-ou.THETA * t))
    assert std[0] == 0.0
    assert std[-1] == pytest.approx(0.5 * math.sqrt((1 - math.exp(-6.0)) / 2.0))
    errors = ou.moment_errors(t, mean, std)
    assert errors["t"] == [1.0, 2.0, 3.0]
    assert errors["mean_max_rel_error"] == 0.0 and errors["std_max_rel_error"] == 0.0
    errors = ou.moment_errors(t, mean * 1.05, std * np.array([1, 1, 0.9, 1.02, 1]))
    assert errors["mean_max_rel_error"] == pytest.approx(0.05)
    assert errors["std_max_rel_error"] == pytest.approx(0.1)
    assert errors["std_rel_error"] == pytest.approx([0.1, 0.02, 0.0])
    with pytest.raises(ValueError, match="t_min"):
        ou.moment_errors(t[:2], mean[:2], std[:2])


def test_fields_in_data_units_linear_model():
    # y_train = (y - a) / b, t_train = (t - c) / s
    a, b, c, s = 1.5, 2.0, 7.0, 0.25
    scaling = Scaling(t_shift=c, t_scale=s, y_shift=(a,), y_scale=(b,), method="standard")
    model = _constant_or_linear_model(-0.5, 0.3, 0.2, 1.0)
    y = np.linspace(-1.0, 4.0, 11)
    f, g = ou.fields_in_data_units(model, scaling, y)
    y_train = (y - a) / b
    np.testing.assert_allclose(f, (b / s) * (-0.5 * y_train + 0.3), rtol=1e-6)
    np.testing.assert_allclose(g, (b / math.sqrt(s)) * (0.2 * y_train + 1.0), rtol=1e-6)
    assert f.shape == g.shape == y.shape

    # an OU model written in training units maps back to theta (mu - y) and sigma
    theta, mu, sigma = 0.8, 2.0, 0.6
    model = _constant_or_linear_model(-theta * s, theta * s * (mu - a) / b, 0.0,
                                      sigma * math.sqrt(s) / b)
    f, g = ou.fields_in_data_units(model, scaling, y)
    np.testing.assert_allclose(f, theta * (mu - y), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(g, sigma, rtol=1e-6)

    # (N, 1) input keeps its shape; a wrong channel count is refused
    f2, g2 = ou.fields_in_data_units(model, scaling, y[:, None])
    assert f2.shape == (11, 1) and np.allclose(f2[:, 0], f)
    with pytest.raises(ValueError, match="expected"):
        ou.fields_in_data_units(model, scaling, np.zeros((3, 2)))


def test_fields_in_data_units_agree_with_simulation():
    """Simulate a constant-field model in training units and read the paths in data units: the
    mean moves at the converted drift and the variance grows at the converted g squared."""
    a, b, c, s = -1.0, 3.0, 2.0, 0.5
    scaling = Scaling(t_shift=c, t_scale=s, y_shift=(a,), y_scale=(b,), method="standard")
    model = _constant_or_linear_model(0.0, 0.4, 0.0, 0.7)
    f, g = ou.fields_in_data_units(model, scaling, np.array([0.0]))
    duration = 4.0  # data time
    ts = torch.tensor([c, c + duration])
    paths = sample(model, torch.tensor([5.0]), ts, 20000, seed=0, scaling=scaling,
                   solve_config=SolveConfig(adaptive=False, dt=0.5))  # (n, 2, 1), data units
    end = paths[:, -1, 0].numpy()
    drift_rate = (end.mean() - 5.0) / duration
    variance_rate = end.var() / duration
    assert drift_rate == pytest.approx(f[0], rel=0.05)  # f = (3 / 0.5) 0.4 = 2.4
    assert variance_rate == pytest.approx(g[0] ** 2, rel=0.05)  # g^2 = (3 / sqrt(0.5) 0.7)^2
    assert f[0] == pytest.approx(2.4) and g[0] == pytest.approx(2.1 * math.sqrt(2))


def test_simulate_ou_matches_the_exact_law_and_least_squares_recovers_it():
    theta, mu, sigma, y0, t_end = 1.3, -0.5, 0.4, 2.0, 2.0
    series = ou.simulate_ou(theta=theta, mu=mu, sigma=sigma, y0=y0, t_end=t_end, points=5,
                            groups=40000, seed=1)
    assert tuple(series.ys.shape) == (5, 40000, 1) and bool(series.mask.all())
    assert torch.all(series.ys[0] == y0)
    t = series.ts.numpy()
    np.testing.assert_allclose(t, np.linspace(0.0, t_end, 5))
    mean = mu + (y0 - mu) * np.exp(-theta * t)
    var = sigma ** 2 * (1 - np.exp(-2 * theta * t)) / (2 * theta)
    np.testing.assert_allclose(series.ys[..., 0].mean(1).numpy(), mean, atol=0.01)
    np.testing.assert_allclose(series.ys[..., 0].var(1).numpy(), var, rtol=0.03, atol=1e-12)
    np.testing.assert_allclose(series.clean[:, 0].numpy(), mean)
    fitted = ou.ou_least_squares(series)
    assert fitted["theta"] == pytest.approx(theta, rel=0.03)
    assert fitted["mu"] == pytest.approx(mu, abs=0.02)
    assert fitted["sigma"] == pytest.approx(sigma, rel=0.02)
    # the same seed gives the same panel
    again = ou.simulate_ou(theta=theta, mu=mu, sigma=sigma, y0=y0, t_end=t_end, points=5,
                           groups=40000, seed=1)
    assert torch.equal(again.ys, series.ys)


def test_rel_l2():
    assert ou.rel_l2([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert ou.rel_l2([0.0, 0.0], [3.0, 4.0]) == pytest.approx(1.0)
    assert ou.rel_l2([3.0, 5.0], [3.0, 4.0]) == pytest.approx(0.2)
