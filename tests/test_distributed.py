"""Data-parallel training: the split of paths across processes does not change the numbers."""

import csv
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from neuralsde import SolveConfig, build_model, solve
from neuralsde.distributed import Shard, split

# scripts run end to end (subprocesses or whole benchmark runs): skipped by default
pytestmark = pytest.mark.slow


def test_split_covers_every_path_once():
    for total in (2, 7, 64, 1025):
        for world in (1, 2, 3, 8):
            if total < world:
                continue
            blocks = [split(total, r, world) for r in range(world)]
            covered = [i for start, size in blocks for i in range(start, start + size)]
            assert covered == list(range(total))
            assert max(s for _, s in blocks) - min(s for _, s in blocks) <= 1
    with pytest.raises(ValueError, match="--paths >= 4"):
        split(3, 0, 4)


def test_a_shard_solves_exactly_its_rows_of_the_whole_batch():
    torch.manual_seed(0)
    model = build_model({"kind": "reference"})
    y0 = torch.randn(9, 3) * 0.3
    ts = torch.linspace(0, 2, 5)
    config = SolveConfig(tableau="sriw1", adaptive=False, dt=0.1)
    whole = solve(model, y0, ts, config, seed=4)
    start, size = split(9, 1, 3)
    part = solve(model, y0[start:start + size], ts, config, seed=4,
                 shard=Shard(start, size, 9))
    torch.testing.assert_close(part, whole[:, start:start + size], rtol=1e-12, atol=1e-12)


def test_shard_rejects_torchsde_methods_and_wrong_sizes():
    model = build_model({"kind": "reference"})
    ts = torch.linspace(0, 1, 3)
    with pytest.raises(ValueError, match="method='sri'"):
        solve(model, torch.zeros(2, 3), ts, SolveConfig(method="euler", adaptive=False, dt=0.1),
              shard=Shard(0, 2, 4))
    with pytest.raises(ValueError, match="shard holds 3"):
        solve(model, torch.zeros(2, 3), ts, shard=Shard(0, 3, 4))


def _panel(path):
    rng = np.random.default_rng(1)
    rows = ["t,id,x"]
    for g in range(6):
        x = 1.5
        for k in range(5):
            rows.append(f"{k * 0.5},{g},{x:.5f}")
            x += -0.5 * x * 0.5 + 0.3 * np.sqrt(0.5) * rng.standard_normal()
    path.write_text("\n".join(rows) + "\n")


def _losses(folder):
    with open(folder / "history.csv", newline="") as file:
        return [float(r["loss"]) for r in csv.DictReader(file)]


@pytest.mark.skipif(shutil.which("torchrun") is None and not os.path.exists(
    os.path.join(os.path.dirname(sys.executable), "torchrun")), reason="torchrun not installed")
@pytest.mark.parametrize("solver", [["--dt", "0.25"], []], ids=["fixed", "adaptive"])
def test_torchrun_two_processes_match_one_process(tmp_path, solver):
    data = tmp_path / "panel.csv"
    _panel(data)
    common = ["--data", str(data), "--objective", "start", "--group-column", "id", "--loss",
              "moments", "--paths", "7",
              "--iters", "12", "--stage-iters", "2", "--samples", "4", "--dtype", "float64",
              "--quiet", *solver]
    single, runs = tmp_path / "single", tmp_path / "runs"
    subprocess.run([sys.executable, "-m", "neuralsde.fit", *common, "--out", str(single)],
                   check=True, capture_output=True, timeout=300)
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    done = subprocess.run([torchrun, "--standalone", "--nproc_per_node=2", "-m", "neuralsde.fit",
                           *common, "--out", str(runs / "split")],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p.name for p in runs.iterdir()] == ["split"]  # one run folder, written by rank 0
    a, b = _losses(single), _losses(runs / "split")
    assert len(a) == len(b) == 12 + 4 * 2
    np.testing.assert_allclose(b, a, rtol=1e-6)
