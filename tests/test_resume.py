"""Long runs: checkpoints, kill-and-resume, Ctrl-C, bad --resume folders, divergence policies."""

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from torch import nn

from neuralsde import NeuralDSDE, SolveConfig
from neuralsde.data import Scaling, reference_dataset
from neuralsde.fit import main
from neuralsde.train import TrainConfig, fit, load_checkpoint

RUN = ["--iters", "150", "--stage-iters", "25", "--paths", "4", "--samples", "5",
       "--checkpoint-every", "10", "--dt", "0.25", "--quiet"]
DETERMINISTIC = ("iteration", "stage", "stage_name", "points", "loss", "lr", "grad_norm", "steps",
                 "rejected", "f_evals", "g_evals", "event")
ARTIFACTS = ("fit.png", "loss.png", "history.csv", "metrics.json", "model.pt", "samples.npz",
             "checkpoint.pt", "run.json")


def _cli(*argv):
    return subprocess.Popen([sys.executable, "-m", "neuralsde.fit", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _rows(folder):
    with open(folder / "history.csv", newline="") as file:
        return [{k: r[k] for k in DETERMINISTIC} for r in csv.DictReader(file)]


def _wait_for(predicate, process, timeout=120):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert process.poll() is None, "the run ended before the test could interrupt it"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _checkpointed(folder, at_least=1):
    def ready():
        path = folder / "checkpoint.pt"
        if not path.exists():
            return False
        try:
            return load_checkpoint(path)["iteration"] >= at_least
        except ValueError:
            return False
    return ready


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("whole") / "run"
    process = _cli(*RUN, "--out", str(folder))
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return folder


@pytest.mark.slow
def test_kill_and_resume_gives_the_uninterrupted_run(tmp_path, uninterrupted):
    folder = tmp_path / "run"
    process = _cli(*RUN, "--out", str(folder))
    _wait_for(_checkpointed(folder, at_least=20), process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = len(_rows(folder))
    total = len(_rows(uninterrupted))
    assert 20 <= killed_at < total
    resumed = _cli("--resume", str(folder), "--quiet")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert _rows(folder) == _rows(uninterrupted)  # no row lost, none duplicated
    got = json.loads((folder / "metrics.json").read_text())
    want = json.loads((uninterrupted / "metrics.json").read_text())
    for key in ("final_loss", "final_loss_smoothed", "path_mean_mse", "iterations", "solver"):
        assert got[key] == want[key], key


@pytest.mark.slow
def test_sigint_stops_cleanly_with_every_artifact(tmp_path):
    folder = tmp_path / "run"
    process = _cli(*RUN, "--out", str(folder))
    _wait_for(_checkpointed(folder, at_least=10), process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    for name in ARTIFACTS:
        assert (folder / name).exists(), name
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["stopped"] == "interrupted (SIGINT)"
    assert load_checkpoint(folder / "checkpoint.pt")["iteration"] == metrics["iterations"]
    assert len(_rows(folder)) == metrics["iterations"] < 150 + 6 * 25


def _finished_run(tmp_path):
    folder = tmp_path / "done"
    assert main(["--iters", "4", "--stage-iters", "1", "--paths", "2", "--samples", "3",
                 "--dt", "0.5", "--quiet", "--out", str(folder)]) == 0
    return folder


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _resume_fails(folder, capsys, *extra):
    before = _snapshot(folder) if folder.is_dir() else None
    with pytest.raises(SystemExit) as exit_info:
        main(["--resume", str(folder), *extra])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert str(folder) in err
    if before is not None:
        assert _snapshot(folder) == before  # nothing overwritten
    return err


def test_resume_without_checkpoint(tmp_path, capsys):
    folder = _finished_run(tmp_path)
    (folder / "checkpoint.pt").unlink()
    assert "no checkpoint" in _resume_fails(folder, capsys)


def test_resume_with_corrupt_checkpoint(tmp_path, capsys):
    folder = _finished_run(tmp_path)
    (folder / "checkpoint.pt").write_bytes(b"\x00garbage" * 10)
    assert "corrupt" in _resume_fails(folder, capsys)


def test_resume_with_checkpoint_of_another_model(tmp_path, capsys):
    folder = _finished_run(tmp_path)
    state = torch.load(folder / "checkpoint.pt", weights_only=False)
    state["spec"] = {"kind": "reference", "state_dim": 5, "hidden": 20}
    torch.save(state, folder / "checkpoint.pt")
    assert "incompatible" in _resume_fails(folder, capsys)


def test_resume_of_a_missing_folder_and_with_problem_flags(tmp_path, capsys):
    assert "no such folder" in _resume_fails(tmp_path / "nothing", capsys)
    folder = _finished_run(tmp_path)
    assert "--iters" in _resume_fails(folder, capsys, "--iters", "5")


class _Exploding(nn.Module):
    """A drift that turns non-finite once its bias is pushed past a threshold (big steps do)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 3)
        nn.init.zeros_(self.linear.bias)

    def forward(self, y):
        broken = self.linear.bias.detach().abs().max() > 0.5
        return self.linear(y) + torch.where(broken, math.nan, 0.0)


def _diverging(policy, iters=12):
    torch.manual_seed(0)
    model = NeuralDSDE(_Exploding(), nn.Linear(3, 3))
    model.spec = {"state_dim": 3}
    series = reference_dataset(0)
    series = Scaling.fit(series).transform(series)
    cfg = TrainConfig(iters=iters, curriculum=False, lr=0.3, paths=2)
    return fit(model, series, solve_config=SolveConfig(adaptive=False, dt=0.5), train_config=cfg,
               on_divergence=policy, checkpoint_every=1, quiet=True), model


def test_divergence_stop_policy_ends_the_run_with_a_reason():
    result, _ = _diverging("stop")
    assert result.stopped.startswith("diverged at iteration")
    assert result.history[-1]["event"] and not any(r["event"] for r in result.history[:-1])


def test_divergence_skip_policy_goes_on_without_updates():
    result, model = _diverging("skip")
    events = [r for r in result.history if r["event"]]
    assert len(result.history) == 12 and events and result.stopped == "finished"
    # Stuck: every later step diverges.
    assert float(model.drift.linear.bias.detach().abs().max()) > 0.5


def test_divergence_restore_policy_halves_the_learning_rate_then_gives_up():
    result, model = _diverging("restore", iters=60)
    restored = [r for r in result.history if "restored" in r["event"]]
    assert restored, "expected at least one restore"
    # Each restore halves the learning rate of the following iterations.
    first = result.history.index(restored[0])
    nxt = result.history[first + 1]
    assert nxt["lr"] == pytest.approx(result.history[first]["lr"] * 0.5)
    # The weights after a restore are a good checkpoint's: finite and below the threshold.
    bias = float(model.drift.linear.bias.detach().abs().max())
    assert bias <= 0.5 or result.stopped != "finished"
    assert result.stopped == "finished" or "restores in a row" in result.stopped


@pytest.mark.slow
def test_divergence_in_the_cli_is_counted_not_raised(tmp_path):
    folder = tmp_path / "nan"
    status = main(["--iters", "8", "--no-curriculum", "--paths", "2", "--samples", "3",
                   "--lr", "1e30", "--dt", "0.5", "--on-divergence", "stop", "--quiet",
                   "--out", str(folder)])
    assert status == 0
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["stopped"].startswith("diverged") and metrics["events"] >= 1
    for name in ARTIFACTS:
        assert (folder / name).exists(), name
    rows = _rows(folder)
    assert rows[-1]["event"] and len(rows) == metrics["iterations"]


def test_checkpoint_is_written_atomically_at_stage_ends(tmp_path):
    torch.manual_seed(0)
    from neuralsde import build_model

    model = build_model({"kind": "reference"})
    series = reference_dataset(0)
    series = Scaling.fit(series).transform(series)
    seen = []

    def record(row, model):
        seen.append(row["iteration"])

    path = tmp_path / "ck.pt"
    cfg = TrainConfig(iters=3, stage_iters=2, first=6, paths=2)
    fit(model, series, solve_config=SolveConfig(adaptive=False, dt=0.5), train_config=cfg,
        checkpoint_path=path, checkpoint_every=1000, callbacks=[record], quiet=True)
    state = load_checkpoint(path)
    assert state["iteration"] == 3 + 2 * 2 and not os.path.exists(str(path) + ".tmp")
    assert all(torch.equal(v, state["model"][k]) for k, v in model.state_dict().items())
