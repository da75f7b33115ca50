"""Write the development series (co2, elnino, lynx, airline) into data/ from the pip packages that
bundle them: statsmodels (co2, elnino) and sktime (lynx, airline).

    pip install statsmodels sktime   # only to regenerate; the CSV files are committed
    python data/make_dev_series.py

Times are ISO dates for the weekly and monthly series and years for lynx; missing values are
empty cells. See data/README.md for sources and licences.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _write(path: Path, header: tuple[str, str], rows) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for t, v in rows:
            writer.writerow([t, "" if v != v else repr(float(v))])
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(HERE), help="folder to write to (default: data/)")
    out = Path(p.parse_args(argv).out)
    import sktime
    import statsmodels.api as sm

    co2 = sm.datasets.co2.load_pandas().data["co2"]
    _write(out / "co2.csv", ("date", "co2"),
           ((t.strftime("%Y-%m-%d"), v) for t, v in co2.items()))
    el = sm.datasets.elnino.load_pandas().data
    months = el.columns[1:]
    _write(out / "elnino.csv", ("date", "sst"),
           ((f"{int(year)}-{m + 1:02d}-01", row[months[m]]) for year, (_, row) in
            zip(el["YEAR"], el.iterrows()) for m in range(12)))
    base = Path(sktime.__file__).parent / "datasets" / "data"
    with open(base / "Lynx" / "Lynx.csv") as handle:
        lynx = list(csv.reader(handle))[1:]
    _write(out / "lynx.csv", ("year", "lynx"), ((int(y), float(v)) for y, v in lynx))
    with open(base / "Airline" / "Airline.csv") as handle:
        air = list(csv.reader(handle))[1:]
    _write(out / "airline.csv", ("month", "passengers"),
           ((f"{m}-01", float(v)) for m, v in air))


if __name__ == "__main__":
    main()
