"""benchmarks/euler_backend.py: our Euler–Maruyama against torchsde's, and with its stacked
fields against without, side by side; ours and torchsde's forecast the same law, and the run
leaves ours, stacked, in place."""

import json

from scripts import load_script

from neuralsde.sde import NeuralDSDE
from neuralsde.solvers import api


def test_both_solvers_are_timed_and_forecast_the_same_law(tmp_path):
    ours, stacked = api.BACKENDS["euler-fixed"], NeuralDSDE.stacked_fields
    bench = load_script("benchmarks/euler_backend.py")
    out = tmp_path / "euler.json"
    bench.main(["airline"], iters=3, repeats=1, samples=400, out=str(out))
    row = json.loads(out.read_text())["series"]["airline"]
    for kind in ("member", "validation"):
        median = row[kind]["median"]
        assert min(median["ours"], median["unstacked"], median["torchsde"]) > 0
        assert row[kind]["ratio"] == median["ours"] / median["torchsde"]
        assert row[kind]["ratio_stacked"] == median["ours"] / median["unstacked"]
    law = row["law"]  # 2,000 paths each: the sd agrees within a few per cent
    assert abs(law["ours"]["sd"] / law["torchsde"]["sd"] - 1) < 0.1, law
    assert api.BACKENDS["euler-fixed"] is ours
    assert NeuralDSDE.stacked_fields is stacked
