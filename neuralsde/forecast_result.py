"""What :func:`neuralsde.forecasting.forecast` returns: :class:`Forecast`, the sample paths of one
series (or one group of a panel) at future times with their summaries (mean, standard deviation,
quantiles) as arrays, rows, a CSV file or a DataFrame; and :class:`PanelForecast`, a panel's
forecasts by group.

Dates are read with the CSV loader's ISO parser, so every origin a series can have is
understood; pandas is imported only by ``to_pandas``.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path

import numpy as np

from ._checks import atomic_write, preview
from .data._frame import parse_iso

__all__ = ["QUANTILE_LEVELS", "Forecast", "PanelForecast"]

#: The quantile levels of the rows, as columns ``q05``, ``q25``, ``q50``, ``q75``, ``q95``.
QUANTILE_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
_SUMMARY = ("mean", "std", *(f"q{round(100 * q):02d}" for q in QUANTILE_LEVELS))
_PANDAS_MISSING = ("Forecast.to_pandas needs pandas (pip install pandas); Forecast.to_csv works "
                   "without it.")


class _Table:
    """``to_csv`` and ``to_pandas`` of what has ``to_rows`` and ``columns``."""

    columns: tuple[str, ...]

    def to_rows(self) -> list[dict]:  # pragma: no cover - each subclass defines it
        raise NotImplementedError

    def to_csv(self, path) -> Path:
        """Write the rows to ``path`` (atomically: readers see the old or the whole new file).

        The header is ``time,channel[,group],mean,std,q05,q25,q50,q75,q95``; numbers are
        written exactly (``repr``).

        Returns:
            The path written.
        """
        rows = self.to_rows()

        def write(tmp: Path) -> None:
            with open(tmp, "w", newline="") as file:
                writer = csv.DictWriter(file, fieldnames=list(self.columns))
                writer.writeheader()
                writer.writerows(rows)

        return atomic_write(path, write)

    def to_pandas(self):
        """The rows as a pandas DataFrame with the columns of :meth:`to_csv`.

        Raises:
            ImportError: when pandas is not installed.
        """
        try:
            import pandas
        except ImportError:
            raise ImportError(_PANDAS_MISSING) from None
        return pandas.DataFrame(self.to_rows(), columns=list(self.columns))


@dataclass(frozen=True, eq=False)
class Forecast(_Table):
    """Sample paths of one series (or one group of a panel) at future times, in data units.

    Attributes:
        times: (K,) the forecast times in data time units (days since ``time_origin`` for a
            series whose times are ISO dates).
        samples: (S, K, d) the sample paths' observed channels.
        names: the ``d`` channel names.
        time_origin: the ISO date the times count days from, or None for numeric times.
        group: the group label for a forecast of a panel's group, else None.
    """

    times: np.ndarray
    samples: np.ndarray
    names: tuple[str, ...]
    time_origin: str | None = None
    group: str | None = None

    def __post_init__(self):
        """Copy the arrays as read-only float64 and check their shapes against each other."""
        times = np.array(self.times, dtype=np.float64)
        samples = np.array(self.samples, dtype=np.float64)
        names = tuple(str(n) for n in self.names)
        if times.ndim != 1 or len(times) < 1:
            raise ValueError(f"times has shape {times.shape}; expected (K,) with K >= 1.")
        if samples.ndim != 3 or samples.shape[1:] != (len(times), len(names)) \
                or samples.shape[0] < 1:
            raise ValueError(f"samples has shape {samples.shape}; expected (S, K, d) = "
                             f"(S, {len(times)}, {len(names)}) for {len(times)} times and "
                             f"{len(names)} channel name(s).")
        for name, value in (("times", times), ("samples", samples), ("names", names)):
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of :meth:`to_rows` (``group`` only for a panel's group)."""
        return ("time", "channel", *(() if self.group is None else ("group",)), *_SUMMARY)

    @property
    def mean(self) -> np.ndarray:
        """(K, d) the mean over the sample paths."""
        return self.samples.mean(axis=0)

    @property
    def std(self) -> np.ndarray:
        """(K, d) the standard deviation over the sample paths (``ddof=0``)."""
        return self.samples.std(axis=0)

    def quantiles(self, levels: Sequence[float]) -> np.ndarray:
        """Quantiles over the sample paths (linear interpolation, ``numpy.quantile``).

        Args:
            levels: the levels, each in [0, 1].

        Returns:
            (len(levels), K, d); for increasing levels each row is non-decreasing.
        """
        levels = np.asarray(levels, dtype=np.float64)
        if levels.ndim != 1 or not np.all((levels >= 0) & (levels <= 1)):
            raise ValueError(f"levels={preview(levels)} is not supported; expected a sequence "
                             "of numbers in [0, 1].")
        return np.quantile(self.samples, levels, axis=0)

    def time_labels(self) -> list:
        """The times as the data wrote them: floats, or ISO dates for dated data (see
        :meth:`to_rows`)."""
        if self.time_origin is None:
            return [float(t) for t in self.times]
        origin, date_only = parse_iso(self.time_origin), _is_date(self.time_origin)
        labels = []
        for t in self.times:
            when = origin + timedelta(days=float(t))
            midnight = when.time() == time(0) and when.tzinfo is None
            labels.append(when.date().isoformat() if date_only and midnight else when.isoformat())
        return labels

    def to_rows(self) -> list[dict]:
        """One dict per time and channel, time first: ``time``, ``channel``, ``group`` (for a
        panel's group), ``mean``, ``std``, ``q05``, ``q25``, ``q50``, ``q75``, ``q95``, in data
        units.

        ``time`` is a float for numeric times; for dated data it is ``time_origin`` plus the
        days in ISO format: ``YYYY-MM-DD`` when the origin is a date without a time of day and
        the time falls on a midnight, else the full ISO datetime.
        """
        stats = np.stack([self.mean, self.std, *self.quantiles(QUANTILE_LEVELS)])  # (7, K, d)
        rows = []
        for k, label in enumerate(self.time_labels()):
            for c, name in enumerate(self.names):
                row = {"time": label, "channel": name}
                if self.group is not None:
                    row["group"] = self.group
                row.update(zip(_SUMMARY, map(float, stats[:, k, c])))
                rows.append(row)
        return rows


class PanelForecast(_Table, Mapping):
    """The forecasts of a panel's groups: a read-only mapping from group label to
    :class:`Forecast`, in the series' group order.

    Args:
        forecasts: one :class:`Forecast` per group, each with its ``group`` label.
    """

    def __init__(self, forecasts: Sequence[Forecast]):
        labels = [f.group for f in forecasts]
        if not forecasts or None in labels or len(set(labels)) != len(labels):
            raise ValueError("a PanelForecast needs at least one Forecast, each with a distinct "
                             f"group label; got groups {labels!r}.")
        self._by_group = {f.group: f for f in forecasts}
        self.columns = forecasts[0].columns

    def __getitem__(self, group: str) -> Forecast:
        return self._by_group[group]

    def __iter__(self):
        return iter(self._by_group)

    def __len__(self) -> int:
        return len(self._by_group)

    def to_rows(self) -> list[dict]:
        """The rows of every group's :meth:`Forecast.to_rows`, one block per group in order."""
        return [row for f in self._by_group.values() for row in f.to_rows()]


def _is_date(text: str) -> bool:
    """Whether ``text`` is an ISO date without a time of day."""
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True
