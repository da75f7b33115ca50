"""The windows' time grid on calendar-like times: monthly windows share a few relative times
(fewer solver landings), each within half a grid unit of the exact one; other series keep their
exact times."""

import numpy as np
import pandas as pd
import pytest
import torch

import neuralsde as ns
from neuralsde.fit import main
from neuralsde.train.windows import WindowConfig, Windows


def _series(ts) -> ns.TimeSeries:
    n = len(ts)
    ys = torch.sin(torch.arange(n, dtype=torch.float64))[:, None]
    return ns.TimeSeries(ts=torch.as_tensor(ts, dtype=torch.float64), ys=ys,
                         mask=torch.ones(n, 1, dtype=torch.bool), names=("y",))


def _relative_times(series, time_grid, horizon=12):
    objective = Windows(series, WindowConfig(horizon=horizon, time_grid=time_grid))
    objective.setup(ns.build_model({"kind": "mlp", "state_dim": 1}))
    exact = (series.ts[objective.target_index] - series.ts[objective.starts][:, None]).numpy()
    return objective.rel.numpy() * objective.unit, exact


def test_monthly_windows_share_few_relative_times_close_to_the_exact_ones():
    days = pd.date_range("2000-01-01", periods=120, freq="MS")
    series = _series((days - days[0]).days.to_numpy(dtype=float))
    gridded, exact = _relative_times(series, 0.125)
    spacing = float(np.median(np.diff(series.ts.numpy())))
    assert np.abs(gridded - exact).max() <= spacing * 0.125 / 2 + 1e-9
    exact_times, _ = _relative_times(series, 0.0)
    np.testing.assert_allclose(exact_times, exact, atol=1e-4)
    # the union the solver lands on: 20 grid points here instead of 46 exact relative times
    assert 2 * len(np.unique(gridded)) < len(np.unique(np.round(exact, 6)))


def test_regular_and_irregular_times_keep_their_exact_times():
    regular = _series(np.arange(60.0) * 7.0)
    gridded, exact = _relative_times(regular, 0.125, horizon=5)
    np.testing.assert_array_equal(gridded, exact)  # multiples of the spacing, bit for bit
    rng = np.random.default_rng(0)
    irregular = _series(np.cumsum(rng.uniform(0.2, 1.8, size=60)))
    gridded, exact = _relative_times(irregular, 0.125, horizon=5)
    np.testing.assert_allclose(gridded, exact, rtol=0, atol=1e-5)  # not on a coarse grid


def test_bad_time_grids_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="time_grid=0.7"):
        WindowConfig(time_grid=0.7)
    csv = tmp_path / "y.csv"
    csv.write_text("t,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    with pytest.raises(SystemExit) as info:
        main(["--data", str(csv), "--time-grid", "0.7", "--out", str(tmp_path / "run")])
    assert info.value.code == 2 and "--time-grid" in capsys.readouterr().err
