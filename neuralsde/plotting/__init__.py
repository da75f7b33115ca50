"""Figures for a fit: sample paths against the data, and the loss history.

Arrays in (numpy arrays, or torch tensors, which are detached and moved to the CPU), a
:class:`matplotlib.figure.Figure` out; the caller saves it (:func:`save`). This is the only package
of neuralsde that imports matplotlib, and it uses only the object-oriented API (``Figure`` with no
pyplot state), so it works headless and from worker threads.

Artists that tests and callers may want to find carry a ``gid``: ``"band"``, ``"mean"``,
``"sample_path"``, ``"data"``, ``"data_path"``, ``"data_mean"``, ``"clean"``, ``"split"``,
``"holdout"`` in :func:`plot_fit`; ``"raw"``, ``"smoothed"``, ``"stage_boundary"``,
``"stage_label"`` in :func:`plot_loss`.

Modules: ``_common`` (input coercion, NaN-aware statistics, legends, dates, :func:`save`, style),
``fit_figure`` (:func:`plot_fit`), ``loss_figure`` (:func:`plot_loss`, :func:`moving_average`).
"""

from ._common import save
from .fit_figure import plot_fit
from .loss_figure import moving_average, plot_loss

__all__ = ["plot_fit", "plot_loss", "save", "moving_average"]
