"""Time series for fitting: the :class:`TimeSeries` container, built-in data, CSV loading, scaling.

Everything here is time-first, as in torchsde: observations ``ys`` have shape ``(T, P, d)`` for
``T`` time points, ``P`` observed sample paths (groups) and ``d`` observed channels. Missing
observations are NaN in ``ys`` and ``False`` in ``mask``.

Data flow::

    reference_dataset(seed)  (reference.py)  --+
                                               +--> TimeSeries (series.py) --> Scaling.fit
    load_csv(path)           (csv_file.py)   --+      .head / .tail_from        .transform
      rows by the csv module, cells by _frame.py (as from_pandas)                (scaling.py)

* :func:`reference_dataset` is the DiffEqFlux neural SDE blog example's data, ``exp(x)`` plus
  uniform noise at ``x = -3, ..., 3``; ``data/exp_noisy.csv`` holds it for ``seed=0``.
* :func:`load_csv` reads a CSV file in wide format (one column per channel) or in long/panel
  format (a group column, one sample path per group).
* :func:`dominant_period` reads a cycle's period off a series (``--period auto``);
  :func:`memory_length` how many observations its autocorrelation stays above 1/e (the windows'
  default length without a period).
* :mod:`neuralsde.data.calendar` continues a dated series' times on its calendar (month ends
  stay month ends, quarter ends stay quarter ends), or at a pandas offset alias, for forecasts.
* :class:`Scaling` is the affine normalisation used for training; it round-trips through a plain
  ``dict`` so that checkpoints can store it. :func:`net_slope_error` nets a trend scaling's
  forecast slope error of what a fitted model's own paths produce.

This package is a leaf: it imports only numpy, torch, the standard library and
``neuralsde._checks`` (and pandas and scipy inside the functions that use them).
"""

from .collection import COLLECTION, collection_names, load_series  # noqa: F401
from .csv_file import MISSING_TOKENS, load_csv
from .memory import memory_length
from .period import dominant_period
from .reference import reference_dataset
from .scaling import SCALING_METHODS, SCALINGS, Scaling
from .series import TimeSeries
from .slope_error import net_slope_error

__all__ = [
    "MISSING_TOKENS",
    "SCALINGS",
    "SCALING_METHODS",
    "Scaling",
    "TimeSeries",
    "dominant_period",
    "load_csv",
    "memory_length",
    "net_slope_error",
    "reference_dataset",
]
