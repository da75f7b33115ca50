"""Rewrite ``data/exp_noisy.csv`` from ``neuralsde.data.reference_dataset(seed=0)``.

Command, from the repository root::

    python data/make_exp_noisy.py                # rewrites data/exp_noisy.csv
    python data/make_exp_noisy.py --out other.csv --seed 1

Columns ``t,y``; floats are written with ``repr`` so that ``load_csv`` reads back exactly the
same numbers (the test suite checks that the file equals the reference data).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from neuralsde.data import reference_dataset

DEFAULT_OUT = Path(__file__).resolve().parent / "exp_noisy.csv"


def write(path: str | Path, *, seed: int = 0) -> Path:
    """Write ``reference_dataset(seed)`` to ``path`` as CSV (columns ``t,y``); return the path."""
    series = reference_dataset(seed=seed)
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([series.time_name, *series.names])
        for t, row in zip(series.ts.tolist(), series.ys[:, 0, :].tolist()):  # one path
            writer.writerow([repr(t), *(repr(value) for value in row)])
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV file to write")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (the checked-in file: 0)")
    args = parser.parse_args(argv)
    print(f"wrote {write(args.out, seed=args.seed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
