"""The library's default fit against the command line's on the same data: a 200-point series
fitted by ``neuralsde.Forecaster().fit(y)`` (plus a 12-step ``predict``) and by
``python -m neuralsde.fit --data y.csv`` (which also draws its samples and writes its figures
and files), each in a fresh process, one after the other, timed as wall-clock seconds from
the start of the process to its end.

    python benchmarks/forecaster_cost.py    # writes benchmarks/results/forecaster_cost.json
    python benchmarks/forecaster_cost.py --iters 20 --out /tmp/cost.json   # a short smoke run

The data: an AR(1) series (coefficient 0.8, unit noise, level 5) from a seeded generator.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from neuralsde.machine import machine

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package
from results_io import write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

_LIBRARY = """
import sys
import pandas as pd
import neuralsde as ns
y = pd.read_csv(sys.argv[1]).set_index("t")["y"]
iters = int(sys.argv[2])
model = ns.Forecaster(**({} if iters < 0 else {"iters": iters})).fit(y)
model.predict(12)
"""


def _series(path: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = 0.8 * x[i - 1] + rng.normal()
    lines = ["t,y"] + [f"{i},{float(v) + 5.0!r}" for i, v in enumerate(x)]
    path.write_text("\n".join(lines) + "\n")


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(n: int = 200, iters: int | None = None, repeats: int = 2, seed: int = 0,
         out: str | None = "benchmarks/results/forecaster_cost.json") -> dict:
    """Time both ways ``repeats`` times (alternating) and print the table.

    Args:
        n: points of the series.
        iters: training iterations (None: the defaults, 500).
        repeats: runs of each way; the table reports the median.
        seed: the data's seed.
        out: the JSON file (None: none).
    """
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "y.csv"
        _series(data, n, seed)
        extra = [] if iters is None else ["--iters", str(iters)]
        cli, lib = [], []
        for r in range(repeats):
            cli.append(_timed([sys.executable, "-m", "neuralsde.fit", "--data", str(data),
                               "--horizon", "12", "--quiet", "--out", f"{tmp}/run{r}", *extra]))
            lib.append(_timed([sys.executable, "-c", _LIBRARY, str(data),
                               str(-1 if iters is None else iters)]))
    result = {"n_points": n, "iters": iters or 500, "repeats": repeats,
              "cli_seconds": cli, "forecaster_seconds": lib,
              "cli_median": float(np.median(cli)), "forecaster_median": float(np.median(lib)),
              "machine": machine()}
    result["ratio"] = result["forecaster_median"] / result["cli_median"]
    print(f"{'way':<44}{'wall seconds (median of ' + str(repeats) + ')':>34}")
    print(f"{'python -m neuralsde.fit --data y.csv':<44}{result['cli_median']:>34.1f}")
    print(f"{'neuralsde.Forecaster().fit(y).predict(12)':<44}{result['forecaster_median']:>34.1f}")
    print(f"ratio Forecaster / CLI: {result['ratio']:.2f}")
    write_json(result, out)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--iters", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/forecaster_cost.json")
    args = parser.parse_args()
    main(args.n, args.iters, args.repeats, args.seed, args.out)
