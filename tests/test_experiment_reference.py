"""experiments/reference_workflow.py at tiny size: the three figures and a summary that adds up."""
import json

import matplotlib.image
import numpy as np
import pytest
from scripts import load_script

# scripts run end to end (subprocesses or whole benchmark runs): skipped by default
pytestmark = pytest.mark.slow


def _load():
    return load_script("experiments/reference_workflow.py")


def test_reference_workflow_writes_the_blog_figures(tmp_path):
    module = _load()
    out = tmp_path / "rw"
    assert module.main(["--iters", "3", "--stage-iters", "1", "--paths", "2", "--samples", "5",
                        "--out", str(out)]) == 0
    for name in ("fit_initial.png", "loss.png", "fit_final.png"):
        image = matplotlib.image.imread(out / name)
        assert image.shape[0] > 300 and image.shape[1] > 500 and image[..., :3].std() > 0.05
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == set(module.SUMMARY_KEYS)
    assert summary["iterations"] == 3 + 6 * 1 and summary["iterations_initial"] == 3
    data = np.load(out / "samples.npz")
    for phase in ("initial", "final"):
        paths = data[phase]
        assert paths.shape == (5, 7, 1)
        mse = float(np.mean((paths.mean(axis=0) - data["observed"]) ** 2))
        assert summary[f"mse_{phase}"] == mse
    # The two phases are different models: the curriculum changed the weights.
    assert not np.array_equal(data["initial"], data["final"])
    assert abs(summary["clean_vs_data_mse"] - 1.339) < 1e-3
