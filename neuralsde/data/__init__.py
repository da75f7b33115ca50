"""Time series for fitting: the :class:`TimeSeries` container, built-in data, CSV loading, scaling.

Everything here is time-first, as in torchsde: observations ``ys`` have shape ``(T, P, d)`` for
``T`` time points, ``P`` observed sample paths (groups) and ``d`` observed channels. Missing
observations are NaN in ``ys`` and ``False`` in ``mask``.

Data flow::

    reference_dataset(seed)  (reference.py)  --+
                                               +--> TimeSeries (series.py) --> Scaling.fit
    load_csv(path)           (csv_file.py)   --+      .head / .tail_from        .transform
      reads the file with _csv_table.py                                          (scaling.py)

* :func:`reference_dataset` is the DiffEqFlux neural SDE blog example's data, ``exp(x)`` plus
  uniform noise at ``x = -3, ..., 3``; ``data/exp_noisy.csv`` holds it for ``seed=0``.
* :func:`load_csv` reads a CSV file in wide format (one column per channel) or in long/panel
  format (a group column, one sample path per group).
* :class:`Scaling` is the affine normalisation used for training; it round-trips through a plain
  ``dict`` so that checkpoints can store it.

This package is a leaf: it imports only numpy, torch, the standard library and
``neuralsde._checks``.
"""

# The ``_name as _name`` lines keep private helpers importable from here, as they were when this
# package was a single module; they are not public API.
from .csv_file import MISSING_TOKENS, load_csv
from .csv_file import _is_missing as _is_missing
from .csv_file import _parse_iso as _parse_iso
from .reference import reference_dataset
from .scaling import SCALING_METHODS, Scaling
from .series import TimeSeries
from .series import _as_float64 as _as_float64
from .series import _shape as _shape
from .series import _str_tuple as _str_tuple

__all__ = [
    "MISSING_TOKENS",
    "SCALING_METHODS",
    "Scaling",
    "TimeSeries",
    "load_csv",
    "reference_dataset",
]
