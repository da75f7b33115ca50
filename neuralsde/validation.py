"""Rolling-origin evaluation: forecasts from several origins of a series, each made only from the
data before it, scored entry by entry against what followed (:meth:`neuralsde.Forecaster.
cross_validation`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._checks import check_int
from .frames import as_series, entries, groups_of, summary_frame, time_labels
from .metrics import _crps_entries

__all__ = ["rolling_origin"]


def rolling_origin(forecaster, data, h: int, n_windows: int, step: int | None, *,
                   level: Sequence[float] = (50, 90), refit: bool = True):
    """See :meth:`neuralsde.Forecaster.cross_validation`; ``forecaster`` is the one whose
    settings (``refit``) or fitted model (not ``refit``) forecast."""
    import pandas as pd

    series = as_series(data)
    check_int("h", h, 1)
    check_int("n_windows", n_windows, 1)
    step = h if step is None else step
    check_int("step", step, 1)
    first = series.n_points - h - (n_windows - 1) * step
    if first < 2:
        raise ValueError(f"h={h}, n_windows={n_windows}, step={step} need more than "
                         f"{h + (n_windows - 1) * step + 1} time points; the data has "
                         f"{series.n_points}.")
    frames = []
    for w in range(n_windows):
        cut = first + w * step
        train = series.head(cut)
        model = forecaster
        if refit:
            model = type(forecaster)(**forecaster.get_params()).fit(train)
        elif forecaster.model_ is None:
            raise RuntimeError("refit=False forecasts with this model: fit it first.")
        future = series.ts[cut:cut + h].numpy()
        result = model.forecast(None, data=train, times=future)
        frame = summary_frame(result, level=level)
        truth = series.ys[cut:cut + h].numpy()  # (h, P, d)
        crps = []
        for p, (_, one) in enumerate(groups_of(result)):
            for c in range(series.dim):
                x, y = one.samples[:, :, c], truth[:, p, c]
                ok = np.isfinite(y)
                entry = np.full(len(y), np.nan)
                entry[ok] = _crps_entries(x[:, ok], y[ok])
                crps.append(entry)
        frame.insert(0, "cutoff", time_labels(series, [float(series.ts[cut - 1])])[0])
        frame["config"] = (" | ".join(model.selection_["members"]) if model.selection_
                           else "given")  # the automatic configuration's mixture
        y = entries(truth)
        frame.insert(frame.columns.get_loc("mean"), "y", y)
        frame["crps"] = np.concatenate(crps)
        for lv in level:  # inside the band summary_frame wrote, NaN where y is missing
            lo, hi = frame[f"lo-{lv:g}"].to_numpy(), frame[f"hi-{lv:g}"].to_numpy()
            frame[f"inside-{lv:g}"] = np.where(np.isfinite(y), (lo <= y) & (y <= hi), np.nan)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
