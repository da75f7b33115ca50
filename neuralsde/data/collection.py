"""The development collection: named series shipped as CSV files in the repository's ``data/``
folder, loaded by name with :func:`load_series`.

* real series: co2 (weekly), elnino and airline (monthly), lynx (yearly), five US macro series
  from statsmodels' ``macrodata`` (quarterly, quarter-end dates), West German interest and
  inflation (quarterly, two channels), four US growth-rate series from sktime's ``uschange``
  (quarterly) and six days of GB solar generation from sktime's ``solar`` (half-hourly);
* a panel: World Bank fertility rates of the 19 G20 countries, 1960-2011 (yearly, one path per
  country);
* simulated series with known laws (``data/dev/<name>.json`` has each one's law, parameters,
  spacing, seed and exact conditional mean and variance where they exist): ``ou``, ``cir``,
  ``random_walk_drift``, ``seasonal_ou``, ``damped_oscillator``, ``double_well``.

Each entry of :data:`COLLECTION` gives the file (``path``, relative to ``data/``), its
``frequency``, the forecast ``horizon`` in observations, the value ``columns``, the
``group_column`` (panels only), ``simulated`` and ``kind`` ("real", "simulated" or "panel").
Horizons follow the M4 competition's rule: yearly 6, quarterly 8, monthly 18, weekly 13,
half-hourly 48 (one day); the simulated series (frequency "regular": equally spaced numeric
times) use 24 observations. ``data/README.md`` gives every file's source and licence;
``python data/make_dev_collection.py`` rewrites the files under ``data/dev/``.

The files are read from the ``data/`` folder of a source checkout (found from this file's
location), so :func:`load_series` works in a repository clone or an editable install.
"""

from __future__ import annotations

from pathlib import Path

from .csv_file import load_csv
from .series import TimeSeries

__all__ = ["COLLECTION", "DATA_DIR", "HORIZONS", "KINDS", "collection_names", "load_series"]

#: The repository's ``data/`` folder.
DATA_DIR = Path(__file__).resolve().parents[2] / "data"

#: The values of an entry's ``kind``.
KINDS = ("real", "simulated", "panel")

#: Forecast horizon, in observations, of each frequency (M4's rule; "regular": simulated).
HORIZONS = {"yearly": 6, "quarterly": 8, "monthly": 18, "weekly": 13, "half-hourly": 48,
            "regular": 24}


def _entry(path: str, frequency: str, columns: tuple[str, ...], kind: str = "real",
           group_column: str | None = None) -> dict:
    return {"path": path, "frequency": frequency, "horizon": HORIZONS[frequency],
            "columns": columns, "group_column": group_column, "simulated": kind == "simulated",
            "kind": kind}


#: name -> {"path", "frequency", "horizon", "columns", "group_column", "simulated", "kind"}.
COLLECTION: dict[str, dict] = {
    "co2": _entry("co2.csv", "weekly", ("co2",)),
    "elnino": _entry("elnino.csv", "monthly", ("sst",)),
    "lynx": _entry("lynx.csv", "yearly", ("lynx",)),
    "airline": _entry("airline.csv", "monthly", ("passengers",)),
    **{name: _entry("dev/macrodata.csv", "quarterly", (name,))
       for name in ("realgdp", "realcons", "cpi", "infl", "m1")},
    "interest_inflation": _entry("dev/interest_inflation.csv", "quarterly", ("Dp", "R")),
    **{f"uschange_{column.lower()}": _entry("dev/uschange.csv", "quarterly", (column,))
       for column in ("Income", "Production", "Savings", "Unemployment")},
    "solar": _entry("dev/solar.csv", "half-hourly", ("solar_gen",)),
    "fertility": _entry("dev/fertility.csv", "yearly", ("value",), "panel", "id"),
    **{name: _entry(f"dev/{name}.csv", "regular", ("y",), "simulated")
       for name in ("ou", "cir", "random_walk_drift", "seasonal_ou", "damped_oscillator",
                    "double_well")},
}


def collection_names(kind: str | None = None) -> list[str]:
    """The collection's names, in :data:`COLLECTION`'s order; only those of ``kind`` if given.

    Raises:
        ValueError: if ``kind`` is not None or one of :data:`KINDS`.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not supported; expected None or one of "
                         f"{', '.join(map(repr, KINDS))}.")
    return [name for name, entry in COLLECTION.items() if kind is None or entry["kind"] == kind]


def load_series(name: str) -> TimeSeries:
    """The collection's series ``name``, read with :func:`~neuralsde.data.load_csv`.

    Raises:
        ValueError: if ``name`` is not a name of :data:`COLLECTION`; the message lists them.
        FileNotFoundError: if the file is missing (``data/`` is not beside the package).
    """
    if not isinstance(name, str) or name not in COLLECTION:
        raise ValueError(f"name={name!r} is not in the collection; expected one of "
                         f"{', '.join(COLLECTION)}.")
    entry = COLLECTION[name]
    return load_csv(DATA_DIR / entry["path"], columns=list(entry["columns"]),
                    group_column=entry["group_column"])
