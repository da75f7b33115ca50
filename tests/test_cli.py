"""`python -m neuralsde.fit`: the run folder it writes, and the errors for bad flags."""

import csv
import json
import math

import matplotlib.image
import numpy as np
import pytest
import torch

from neuralsde.fit import BLOG, DEFAULTS, METRICS_KEYS, build_parser, main, resolve
from neuralsde.solvers import SolveConfig
from neuralsde.train import load_model, sample

TINY = ["--iters", "6", "--stage-iters", "2", "--paths", "3", "--samples", "11", "--quiet",
        "--objective", "start"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "folder"
    status = main(TINY + ["--seed", "2", "--out", str(out)])
    return status, out


def test_main_writes_every_artifact(run):
    status, out = run
    assert status == 0
    names = {"fit.png", "loss.png", "history.csv", "metrics.json", "model.pt", "samples.npz"}
    assert names <= {p.name for p in out.iterdir()}
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())


def test_pngs_are_images_of_sensible_size(run):
    _, out = run
    for name in ("fit.png", "loss.png"):
        image = matplotlib.image.imread(out / name)
        height, width = image.shape[:2]
        assert 300 <= height <= 2000 and 500 <= width <= 2500
        assert image[..., :3].std() > 0.05  # not a blank canvas


def test_metrics_json_has_the_documented_keys(run):
    _, out = run
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == set(METRICS_KEYS)
    # 6 iterations on all 7 points, then 6 stages (2..7 points) of 2 iterations.
    assert metrics["iterations"] == 6 + 6 * 2
    assert metrics["settings"]["seed"] == 2 and metrics["settings"]["paths"] == 3
    assert metrics["settings"]["solve_config"]["tableau"] == DEFAULTS["tableau"]
    assert set(metrics["solver"]) == {"steps", "rejected", "f_evals", "g_evals"}
    assert metrics["solver"]["steps"] > 0 and metrics["wall_seconds"] > 0
    # The path-mean MSE is what the saved samples give against the data.
    data = np.load(out / "samples.npz")
    mean = data["samples"].mean(axis=0)
    assert math.isclose(metrics["path_mean_mse"], float(np.mean((mean - data["observed"]) ** 2)),
                        rel_tol=1e-9)
    # exp(x) against the built-in noisy data (the issue quotes 1.34).
    assert math.isclose(metrics["clean_vs_data_mse"], 1.34, abs_tol=0.005)


def test_history_csv_has_a_row_per_iteration(run):
    _, out = run
    with open(out / "history.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(rows) == metrics["iterations"]
    assert float(rows[-1]["loss"]) == pytest.approx(metrics["final_loss"], rel=1e-12)


def test_samples_npz_has_the_documented_shapes(run):
    _, out = run
    data = np.load(out / "samples.npz")
    assert data["t"].shape == (7,) and data["samples"].shape == (11, 7, 1)
    assert data["observed"].shape == (7, 1)
    np.testing.assert_array_equal(data["t"], np.arange(7.0))
    # Samples are in data units: every path starts at the first observation.
    np.testing.assert_allclose(data["samples"][:, 0, 0], data["observed"][0, 0], rtol=1e-6)


def test_model_pt_rebuilds_a_model_with_the_same_samples(run):
    _, out = run
    model, scaling, extra = load_model(out / "model.pt")
    saved = np.load(out / "samples.npz")
    again = sample(model, torch.tensor(extra["y0"]), torch.as_tensor(saved["t"]),
                   saved["samples"].shape[0], solve_config=SolveConfig(**extra["solve_config"]),
                   seed=extra["sample_seed"], scaling=scaling)[..., :1]
    np.testing.assert_array_equal(again.numpy(), saved["samples"])


@pytest.mark.parametrize("argv,flag", [
    (["--iters", "-1"], "--iters"),
    (["--stage-iters", "x"], "--stage-iters"),
    (["--loss", "mae"], "--loss"),
    (["--method", "rk4"], "--method"),
    (["--paths", "0"], "--paths"),
    (["--rtol", "0"], "--rtol"),
    (["--dt", "-0.1"], "--dt"),
    (["--lr", "nan"], "--lr"),
    (["--gradient", "reverse"], "--gradient"),
    (["--method", "euler"], "--dt"),
    (["--loss", "moments", "--paths", "1"], "--paths"),
    (["--time-column", "t"], "--data"),
    (["--data", "/nonexistent/file.csv"], "--data"),
    (["--state-dim", "0"], "--state-dim"),
    (["--iters", "0", "--no-curriculum"], "--iters"),
])
def test_bad_flags_exit_2_naming_the_flag(argv, flag, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(argv + ["--out", str(tmp_path / "never")])
    assert exit_info.value.code == 2
    assert flag in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_blog_flag_selects_the_literal_configuration_and_explicit_flags_win():
    parser = build_parser()
    assert resolve(parser.parse_args([])) == {**DEFAULTS, "blog": False}
    blog = resolve(parser.parse_args(["--blog"]))
    assert blog == {**DEFAULTS, **BLOG, "blog": True}
    assert blog["tableau"] == "sosri" and blog["paths"] == 1 and blog["scaling"] == "none"
    assert resolve(parser.parse_args(["--blog", "--paths", "4"]))["paths"] == 4


def test_out_folder_with_a_run_is_not_overwritten(run, capsys):
    _, out = run
    before = (out / "history.csv").read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        main(TINY + ["--out", str(out)])
    assert exit_info.value.code == 2 and "--out" in capsys.readouterr().err
    assert (out / "history.csv").read_bytes() == before


def test_holdout_split_rule():
    from neuralsde.fit import holdout_split

    assert holdout_split(7, None) == 7
    assert holdout_split(7, 0.3) == 5 and holdout_split(10, 0.2) == 8
    assert holdout_split(3, 0.9) == 2 and holdout_split(100, 0.001) == 99


def test_holdout_forecast_and_baseline_scores(tmp_path):
    from neuralsde.fit import HOLDOUT_KEYS
    from neuralsde.metrics import forecast_scores, random_walk_sigma2

    out = tmp_path / "h"
    assert main(TINY + ["--holdout", "0.3", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(HOLDOUT_KEYS) <= set(metrics)
    assert metrics["n_train"] == 5 and metrics["n_holdout"] == 2
    data = np.load(out / "samples.npz")
    assert data["forecast"].shape == (11, 2, 1) and data["baseline"].shape == (11, 2, 1)
    np.testing.assert_array_equal(data["forecast_t"], [5.0, 6.0])
    future = data["observed"][5:]
    for prefix, key in (("holdout_", "forecast"), ("baseline_holdout_", "baseline")):
        scores = forecast_scores(data[key], future)
        for name in ("mse", "crps", "coverage_90"):
            assert metrics[prefix + name] == pytest.approx(scores[name], rel=1e-12)
    # The baseline is a driftless random walk from the last training value with the variance per
    # unit time of the training increments: its sample spread grows like sqrt(t - t_last).
    sigma2 = random_walk_sigma2(data["t"][:5], data["observed"][:5])
    spread = data["baseline"].std(axis=0)[:, 0] / np.sqrt(sigma2[0] * np.array([1.0, 2.0]))
    assert np.all(np.abs(spread - 1) < 0.5)
    assert abs(data["baseline"].mean() - data["observed"][4, 0]) < 3 * np.sqrt(sigma2[0] * 2)
    # The scaling was fitted on the training part only.
    train = data["observed"][:5, 0]
    assert metrics["settings"]["scaling"]["y_shift"][0] == pytest.approx(train.mean())


def test_csv_with_iso_dates_two_columns_and_a_gap(tmp_path):
    csv_path = tmp_path / "obs.csv"
    rows = ["date,temp,flow,site"]
    for k in range(8):
        flow = "" if k == 3 else f"{1 + 0.1 * k:.2f}"
        rows.append(f"2024-01-{k + 1:02d},{10 + k * 0.5:.2f},{flow},A")
    csv_path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    assert main(TINY + ["--data", str(csv_path), "--out", str(out)]) == 0
    data = np.load(out / "samples.npz")
    assert data["samples"].shape == (11, 8, 2) and data["observed"].shape == (8, 2)
    assert np.isnan(data["observed"][3, 1]) and list(data["names"]) == ["temp", "flow"]
    np.testing.assert_allclose(data["t"], np.arange(8.0))  # days since the first date
    # In data units: every path starts at the first observation of each channel.
    np.testing.assert_allclose(data["samples"][:, 0, :], np.broadcast_to([10.0, 1.0], (11, 2)),
                               rtol=1e-5)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["state_dim"] == 4 and metrics["data"]["names"] == ["temp", "flow"]


def test_panel_csv_with_moment_matching(tmp_path):
    csv_path = tmp_path / "panel.csv"
    rng = np.random.default_rng(0)
    rows = ["t,id,x"]
    for g in range(5):
        x = 1.0
        for k in range(6):
            rows.append(f"{k * 0.5},{g},{x:.4f}")
            x += 0.3 * rng.standard_normal()
    csv_path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    argv = TINY + ["--data", str(csv_path), "--group-column", "id", "--loss", "moments",
                   "--out", str(out)]
    assert main(argv) == 0
    data = np.load(out / "samples.npz")
    assert data["observed"].shape == (6, 5, 1) and data["samples"].shape == (11, 6, 1)
    metrics = json.loads((out / "metrics.json").read_text())
    target = data["observed"].mean(axis=1)
    assert metrics["path_mean_mse"] == pytest.approx(
        float(np.mean((data["samples"].mean(axis=0) - target) ** 2)), rel=1e-9)


def test_model_ode_runs_the_same_workflow_deterministically(tmp_path):
    out = tmp_path / "ode"
    assert main(TINY + ["--model", "ode", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["model_spec"]["kind"] == "ode"
    assert resolve(build_parser().parse_args(["--model", "ode"]))["paths"] == 1
    assert metrics["solver"]["g_evals"] == 0 and metrics["solver"]["f_evals"] > 0
    data = np.load(out / "samples.npz")
    assert data["samples"].shape == (11, 7, 1)
    np.testing.assert_array_equal(data["samples"], np.broadcast_to(data["samples"][:1], (11, 7, 1)))
    model, scaling, extra = load_model(out / "model.pt")
    again = sample(model, torch.tensor(extra["y0"]), torch.as_tensor(data["t"]), 11,
                   solve_config=SolveConfig(**extra["solve_config"]), scaling=scaling)[..., :1]
    np.testing.assert_array_equal(again.numpy(), data["samples"])


def test_model_ode_refuses_moment_matching(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", "ode", "--loss", "moments", "--out", str(tmp_path / "x")])
    assert exit_info.value.code == 2 and "--loss moments" in capsys.readouterr().err


def test_times_that_do_not_fall_on_a_binary_grid(tmp_path):
    # 0, 0.2, ..., 3.0: a figure grid built by linspace near these times must not create
    # near-duplicates that float32 collapses into non-increasing times.
    csv_path = tmp_path / "fifths.csv"
    rows = ["t,x"] + [f"{k * 0.2:.1f},{np.sin(k / 3):.4f}" for k in range(16)]
    csv_path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    assert main(TINY + ["--data", str(csv_path), "--holdout", "0.25", "--out", str(out)]) == 0
    fine_t = np.load(out / "samples.npz")["t"]
    np.testing.assert_allclose(fine_t, np.arange(16) * 0.2, atol=1e-12)
