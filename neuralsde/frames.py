"""pandas in and out for :class:`neuralsde.Forecaster`: :func:`as_series` turns numpy arrays,
pandas Series and DataFrames (wide, or long with ``unique_id``, ``ds``, ``y``) into a
:class:`~neuralsde.data.TimeSeries`; :func:`summary_frame` turns a forecast into the DataFrame
of ``predict`` (``ds``, ``mean``, ``median``, ``lo-90``, ``hi-90``, ...)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .data import TimeSeries
from .forecast_result import Forecast, PanelForecast

__all__ = ["as_series", "entries", "groups_of", "summary_frame", "time_labels"]


def as_series(data, *, time: str | None = None, columns: Sequence[str] | None = None,
              group: str | None = None) -> TimeSeries:
    """A :class:`~neuralsde.data.TimeSeries` from what :meth:`Forecaster.fit` accepts (see
    there); TypeError for other types."""
    if isinstance(data, TimeSeries):
        return data
    if isinstance(data, (np.ndarray, list, tuple, torch.Tensor)):
        ys = np.asarray(data, dtype=np.float64)
        if ys.ndim not in (1, 2) or len(ys) < 1:
            raise ValueError(f"data has shape {ys.shape}; expected (T,) or (T, d) values, one "
                             "row per time.")
        ys = ys.reshape(len(ys), -1)
        names = ("y",) if ys.shape[1] == 1 else tuple(f"y{c}" for c in range(ys.shape[1]))
        ys_t = torch.from_numpy(ys)
        return TimeSeries(ts=torch.arange(len(ys), dtype=torch.float64), ys=ys_t,
                          mask=~torch.isnan(ys_t), names=names, source="array")
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(data, pd.Series):
        name = str(data.name) if data.name is not None else "y"
        frame = data.to_frame(name)
        return as_series(frame, time=time, columns=columns, group=group)
    if pd is not None and isinstance(data, pd.DataFrame):
        frame = data
        if time is None and group is None and {"unique_id", "ds", "y"} <= set(frame.columns):
            return TimeSeries.from_pandas(frame, time="ds", columns=columns or ["y"],
                                          group="unique_id")
        if time is None and "ds" in frame.columns:
            time = "ds"
        if time is None:  # the index is the time
            index_name = frame.index.name or ("ds" if isinstance(frame.index, pd.DatetimeIndex)
                                              else "t")
            frame = frame.rename_axis(index_name).reset_index()
            time = index_name
        return TimeSeries.from_pandas(frame, time=time, columns=columns, group=group)
    raise TypeError(f"data of type {type(data).__name__} is not supported; expected a numpy "
                    "array, a pandas Series or DataFrame, or a neuralsde TimeSeries.")


# ----------------------------------------------------------------------------- frames out

def groups_of(result) -> list:
    """``(group label or None, Forecast)`` pairs of a forecast."""
    if isinstance(result, PanelForecast):
        return [(g, result[g]) for g in result]
    return [(None, result)]


def summary_frame(result, *, level: Sequence[float] | None = (50, 90),
                  quantiles: Sequence[float] | None = None):
    """The DataFrame of :meth:`Forecaster.predict` from a forecast."""
    import pandas as pd

    level = list(level or ())
    for lv in level:
        if isinstance(lv, bool) or not isinstance(lv, (int, float)) or not 0 < lv < 100:
            raise ValueError(f"level={level!r} is not supported; expected percentages in "
                             "(0, 100), e.g. [50, 90].")
    quantiles = list(quantiles or ())
    for q in quantiles:
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q < 1:
            raise ValueError(f"quantiles={quantiles!r} is not supported; expected numbers in "
                             "(0, 1), e.g. [0.1, 0.5, 0.9].")
    frames = []
    for label, one in groups_of(result):
        probs = [0.5, *[0.5 - lv / 200 for lv in level], *[0.5 + lv / 200 for lv in level],
                 *quantiles]
        q = np.quantile(one.samples, probs, axis=0)  # (len(probs), K, d)
        for c, name in enumerate(one.names):
            cols = {"ds": one.time_labels()}
            if len(one.names) > 1:
                cols["channel"] = name
            cols["mean"] = one.mean[:, c]
            cols["median"] = q[0, :, c]
            for i, lv in enumerate(level):
                cols[f"lo-{lv:g}"] = q[1 + i, :, c]
                cols[f"hi-{lv:g}"] = q[1 + len(level) + i, :, c]
            for i, qq in enumerate(quantiles):
                cols[f"q-{qq:g}"] = q[1 + 2 * len(level) + i, :, c]
            frame = pd.DataFrame(cols)
            if label is not None:
                frame.insert(0, "unique_id", label)
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    if groups_of(result)[0][1].time_origin is not None:
        out["ds"] = pd.to_datetime(out["ds"])
    return out


def entries(values: np.ndarray) -> np.ndarray:
    """``values`` (K, P, d) in :func:`summary_frame`'s row order: path, then channel, then
    time."""
    return np.transpose(values, (1, 2, 0)).reshape(-1)


def time_labels(series: TimeSeries, times: list[float]) -> list:
    """``times`` as the data wrote them (Timestamps for dated data)."""
    labels = Forecast(np.asarray(times), np.zeros((1, len(times), series.dim)), series.names,
                      series.time_origin).time_labels()
    if series.time_origin is None:
        return labels
    import pandas as pd

    return list(pd.to_datetime(labels))


def paths_frame(result, *, dated: bool):
    """The sample paths of a forecast as a long DataFrame with columns ``[unique_id,]
    sample_id, ds`` and one column per channel (``ds`` Timestamps when ``dated``)."""
    import pandas as pd

    frames = []
    for label, one in groups_of(result):
        s, k, _ = one.samples.shape
        frame = pd.DataFrame({"sample_id": np.repeat(np.arange(s), k),
                              "ds": np.tile(np.asarray(one.time_labels(), dtype=object), s)})
        if label is not None:
            frame.insert(0, "unique_id", label)
        for c, name in enumerate(one.names):
            frame[name] = one.samples[:, :, c].reshape(-1)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    if dated:
        out["ds"] = pd.to_datetime(out["ds"])
    return out
