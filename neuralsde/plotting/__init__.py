"""Figures for a fit: sample paths against the data, and the loss history.

Arrays in (numpy arrays, or torch tensors, which are detached and moved to the CPU), a
:class:`matplotlib.figure.Figure` out; the caller saves it (:func:`save`). This is the only package
of neuralsde that imports matplotlib, and it uses only the object-oriented API (``Figure`` with no
pyplot state), so it works headless and from worker threads.

Artists that tests and callers may want to find carry a ``gid``: ``"band"``, ``"mean"``,
``"sample_path"``, ``"data"``, ``"data_path"``, ``"data_mean"``, ``"clean"``, ``"split"``,
``"holdout"`` in :func:`plot_fit`; ``"raw"``, ``"smoothed"``, ``"stage_boundary"``,
``"stage_label"`` in :func:`plot_loss`.

Modules: ``_common`` (input coercion, NaN-aware statistics, legend, :func:`save`, style),
``fit_figure`` (:func:`plot_fit`), ``loss_figure`` (:func:`plot_loss`, :func:`moving_average`).
"""

# Besides the public names, the private helpers stay importable under the names they had when
# this package was a single module.
from .._checks import as_array as _array  # noqa: F401  (was plotting._array)
from ._common import _BAND_COLOR as _BAND_COLOR
from ._common import _CLEAN_COLOR as _CLEAN_COLOR
from ._common import _DATA_COLOR as _DATA_COLOR
from ._common import _LEGEND_FONTSIZE as _LEGEND_FONTSIZE
from ._common import _SAVE_DPI as _SAVE_DPI
from ._common import _channels as _channels
from ._common import _finite_mean as _finite_mean
from ._common import _finite_quantiles as _finite_quantiles
from ._common import _legend as _legend
from ._common import _percent as _percent
from ._common import _vector as _vector
from ._common import save
from .fit_figure import plot_fit
from .loss_figure import _mark_stages as _mark_stages
from .loss_figure import _stage_label as _stage_label
from .loss_figure import moving_average, plot_loss

__all__ = ["plot_fit", "plot_loss", "save", "moving_average"]
