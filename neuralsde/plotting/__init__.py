"""Figures for a fit: sample paths against the data, the loss history, and a holdout forecast
with its calibration.

Arrays in (numpy arrays, or torch tensors, which are detached and moved to the CPU), a
:class:`matplotlib.figure.Figure` out; the caller saves it (:func:`save`). This is the only package
of neuralsde that imports matplotlib, and it uses only the object-oriented API (``Figure`` with no
pyplot state), so it works headless and from worker threads.

Artists that tests and callers may want to find carry a ``gid``: ``"band"``, ``"mean"``,
``"sample_path"``, ``"data"``, ``"data_path"``, ``"data_mean"``, ``"clean"``, ``"split"``,
``"holdout"`` in :func:`plot_fit`; ``"raw"``, ``"smoothed"``, ``"stage_boundary"``,
``"stage_label"`` in :func:`plot_loss`; those listed in :func:`plot_forecast` and
:func:`plot_calibration`.

Modules: ``_common`` (input coercion, NaN-aware statistics, legends, dates, :func:`save`, style),
``fit_figure`` (:func:`plot_fit`), ``loss_figure`` (:func:`plot_loss`, :func:`moving_average`),
``forecast_figure`` (:func:`plot_forecast`), ``calibration_figure`` (:func:`plot_calibration`).
"""

from ._common import save
from .calibration_figure import plot_calibration
from .fit_figure import plot_fit
from .forecast_figure import plot_forecast
from .loss_figure import moving_average, plot_loss

__all__ = ["plot_calibration", "plot_fit", "plot_forecast", "plot_loss", "save", "moving_average"]
