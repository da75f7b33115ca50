"""benchmarks/long_run.py: its Wasserstein distance and stationary law against facts, and the
OU panel part end to end at tiny size writing the documented JSON."""
import json

import numpy as np
import pytest
from scripts import load_script


@pytest.fixture(scope="module")
def module():
    return load_script("benchmarks/long_run.py")


GRID = np.linspace(-3.0, 3.0, 6001)


def test_stationary_law_is_symmetric_with_modes_in_the_wells(module):
    cdf = module.stationary_cdf(GRID, 0.5)
    assert cdf[0] == 0.0 and cdf[-1] == pytest.approx(1.0)
    assert np.interp(0.0, GRID, cdf) == pytest.approx(0.5, abs=1e-9)
    density = np.gradient(cdf, GRID)
    assert abs(GRID[np.argmax(density)]) == pytest.approx(1.0, abs=0.01)


def test_wasserstein_of_a_point_mass_is_the_mean_distance_to_it(module):
    cdf = module.stationary_cdf(GRID, 0.5)
    density = np.gradient(cdf, GRID)
    mean_abs = float(np.sum(np.abs(GRID) * density) * (GRID[1] - GRID[0]))
    assert module.wasserstein_to(np.zeros(10), GRID, cdf) == pytest.approx(mean_abs, rel=1e-3)
    # samples drawn from the law itself (inverse CDF) are close to it
    rng = np.random.default_rng(0)
    draws = np.interp(rng.uniform(size=20000), cdf, GRID)
    assert module.wasserstein_to(draws, GRID, cdf) < 0.02


def test_true_sde_paths_reach_the_stationary_law(module):
    cdf = module.stationary_cdf(GRID, 0.5)
    paths = module.euler_paths(1.0, 0.5, far=100.0, n=2000, seed=0, step=0.01)
    assert module.wasserstein_to(paths, GRID, cdf) < 0.1
    assert abs((paths > 0).mean() - 0.5) < 0.1  # both wells visited from one


@pytest.mark.slow
def test_ou_panel_part_writes_json(module, tmp_path):
    out = tmp_path / "long_run.json"
    module.main(["--quick", "--only", "ou_panel", "--groups", "20", "--out", str(out)])
    result = json.loads(out.read_text())
    part = result["parts"]["ou_panel"]
    assert part["groups"] == 20 and part["points"] == 31
    for key in ("mean_max_rel_error", "std_max_rel_error", "panel_mean_max_rel_error",
                "panel_std_max_rel_error"):
        assert np.isfinite(part[key]) and part[key] >= 0
    assert "double_well" not in result["parts"]
