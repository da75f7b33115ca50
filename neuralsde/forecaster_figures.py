"""The figures of a fitted :class:`neuralsde.Forecaster` (a mixin): the forecast fan and the
training loss, as matplotlib Figures."""

from __future__ import annotations

from .frames import as_series, groups_of


class ForecasterFigures:
    """``plot`` and ``plot_loss`` for :class:`neuralsde.Forecaster`."""

    def plot(self, h: int, *, history: int | None = None, data=None):
        """A figure of the data and the forecast ``h`` steps ahead (fan of bands, a few paths).

        Returns:
            A matplotlib Figure (not shown; ``fig.savefig(path)`` to keep it).
        """
        from .plotting import plot_forecast

        result = self.forecast(h, data=data)
        series = self.series_ if data is None else as_series(data)
        _, one = groups_of(result)[0]
        observed = series.ys.numpy()
        kwargs = {} if history is None else {"history": history}
        return plot_forecast(one.times, one.samples, obs_t=series.ts.numpy(),
                             observed=observed, origin=float(series.ts[-1]),
                             names=series.names, time_label=series.time_name,
                             time_origin=series.time_origin,
                             title=f"Forecast {h} steps ahead from {len(one.samples)} sample "
                                   f"paths", **kwargs)

    def plot_loss(self):
        """A figure of the training loss per iteration (matplotlib Figure)."""
        from .plotting import plot_loss

        self._check_fitted()
        rows = self.history_
        return plot_loss([int(r["iteration"]) for r in rows], [float(r["loss"]) for r in rows],
                         title="Training loss (CRPS + energy score)"
                         if self.settings_["objective"] == "windows" else "Training loss")
