"""The windows objective split across processes: whole windows per process, the numbers of one
process."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from test_distributed import _losses
from test_windows import _ou
from test_windows_cli import _csv

import neuralsde as ns
from neuralsde.distributed import Shard, split
from neuralsde.train.windows import WindowConfig, Windows

# scripts run end to end (subprocesses or whole benchmark runs): skipped by default
pytestmark = pytest.mark.slow

TORCHRUN = os.path.join(os.path.dirname(sys.executable), "torchrun")


def test_a_shard_of_the_windows_batch_solves_exactly_its_windows():
    series = _ou(30, 0.5)
    torch.manual_seed(0)
    model = ns.build_model({"kind": "mlp", "state_dim": 2, "observed": 1, "lags": 3,
                            "period": 4.0})  # an encoder for the latent channel, absolute time
    config = WindowConfig(windows=5, samples=3, horizon=4)
    solver = ns.SolveConfig(tableau="sriw1", adaptive=False, dt=0.2)
    objective = Windows(series, config, solver)
    objective.setup(model)
    chosen = objective._draw(7)
    whole, _ = objective.simulate(model, chosen, 3, seed=7)  # (M, W, H, d)
    target, mask = objective.target[chosen], objective.target_mask[chosen]
    shares = []
    for rank in range(2):
        start, size = split(5, rank, 2)
        shard = Shard(start, size, 5)
        part, _ = objective.simulate(model, chosen, 3, seed=7, shard=shard)
        torch.testing.assert_close(part, whole[:, start:start + size], rtol=1e-12, atol=1e-12)
        mine = slice(start, start + size)
        shares.append(objective.window_scores(part, target[mine], mask[mine],
                                              scored=mask.sum(), windows=5))
    # the loss is the sum of the windows' shares, whichever process computed them
    torch.testing.assert_close(torch.cat(shares).sum(), objective.score(whole, target, mask),
                               rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="config.windows=5"):
        Windows(series, config, solver, shard=Shard(0, 2, 4))


@pytest.mark.skipif(not os.path.exists(TORCHRUN), reason="torchrun not installed")
@pytest.mark.parametrize("flags", [["--dt", "0.5", "--state-dim", "1"],
                                   ["--dt", "adaptive", "--state-dim", "2", "--lags", "2"]],
                         ids=["fixed", "adaptive-latent"])
def test_torchrun_two_processes_match_one_process_on_windows(tmp_path, flags):
    data = _csv(tmp_path / "ou.csv", n=20)
    common = ["--data", str(data), "--objective", "windows", "--method", "sri",
              "--scaling", "standard", "--iters", "4", "--windows", "5",
              "--window-samples", "4", "--window-length", "3", "--dtype", "float64",
              "--threads", "1", "--quiet", *flags]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "neuralsde.fit", *common, "--out",
                    str(tmp_path / "single")], check=True, capture_output=True, timeout=300,
                   env=env)
    done = subprocess.run([TORCHRUN, "--standalone", "--nproc_per_node=2", "-m", "neuralsde.fit",
                           *common, "--out", str(tmp_path / "split")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    a, b = _losses(tmp_path / "single"), _losses(tmp_path / "split")
    assert len(a) == len(b) == 4
    np.testing.assert_allclose(b, a, rtol=1e-6)
