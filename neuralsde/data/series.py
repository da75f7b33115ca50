"""The :class:`TimeSeries` container: observations of ``P`` sample paths of ``d`` channels on one
time grid, checked once at construction.

Time-first, as in torchsde: ``ys`` has shape ``(T, P, d)`` for ``T`` time points, ``P`` observed
sample paths (groups) and ``d`` observed channels. Missing observations are NaN in ``ys`` and
``False`` in ``mask``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .._checks import check_int

__all__ = ["TimeSeries"]


def _shape(x) -> tuple[int, ...]:
    """The shape of a tensor or array as a plain tuple, for messages: ``(3, 1, 2)``."""
    return tuple(x.shape)


@dataclass(eq=False, repr=False)
class TimeSeries:
    """Observations of ``P`` sample paths of ``d`` channels on one strictly increasing time grid.

    Construction checks shapes and consistency once (:meth:`__post_init__`); code below the
    boundary may rely on them. ``ts``, ``ys`` and ``clean`` are converted to float64; a 2-D ``ys``
    of shape ``(T, d)`` (and a ``mask`` of the same shape) is read as one path, ``(T, 1, d)``.

    Attributes:
        ts: time grid of shape (T,), float64, finite and strictly increasing. For panel data it is
            the union of all groups' times.
        ys: observations of shape (T, P, d), float64; NaN where missing, otherwise finite.
        mask: bool tensor of shape (T, P, d), True where observed; must equal ``~torch.isnan(ys)``.
        names: channel names, ``d`` distinct strings.
        time_name: name of the time axis (the CSV's time column).
        time_origin: when the times came from ISO dates, the origin as written in the file; ``ts``
            is then in days since it. ``None`` for numeric times.
        groups: labels of the ``P`` paths, distinct strings.
        clean: optional noise-free values of shape (T, d), when known (the reference data).
        source: where the data came from (a file path, or ``"reference(seed=0)"``).

    Raises:
        ValueError: when a shape, dtype or value breaks the rules above; shape errors name both
            shapes and what each axis means.
    """

    ts: torch.Tensor
    ys: torch.Tensor
    mask: torch.Tensor
    names: tuple[str, ...]
    time_name: str = "t"
    time_origin: str | None = None
    groups: tuple[str, ...] = ("0",)
    clean: torch.Tensor | None = None
    source: str = ""

    def __post_init__(self):
        """Convert ``ts``, ``ys``, ``clean`` to float64 and check every field (see the class)."""
        self.ts = _as_float64("ts", self.ts)
        self.ys = _as_float64("ys", self.ys)
        self.mask = torch.as_tensor(self.mask)
        if self.mask.dtype != torch.bool:
            raise ValueError(f"mask has dtype {self.mask.dtype}; expected torch.bool "
                             "(True where observed).")
        if self.ts.ndim != 1 or self.ts.shape[0] < 1:
            raise ValueError(f"ts has shape {_shape(self.ts)}; expected (T,) with T >= 1 time "
                             "points.")
        if self.ys.ndim == 2:  # (T, d) -> one path
            self.ys = self.ys.unsqueeze(1)
            if self.mask.ndim == 2:
                self.mask = self.mask.unsqueeze(1)
        if self.ys.ndim != 3:
            raise ValueError(f"ys has shape {_shape(self.ys)}; expected (T, P, d) = (time points, "
                             "paths, channels), or (T, d) for a single path.")
        n_points, n_paths, dim = self.ys.shape
        if n_points != self.ts.shape[0]:
            raise ValueError(f"ys has shape {_shape(self.ys)} (T={n_points} time points) but ts "
                             f"has shape {_shape(self.ts)} (T={self.ts.shape[0]}); the first axis "
                             "of ys must match ts.")
        if n_paths < 1 or dim < 1:
            raise ValueError(f"ys has shape {_shape(self.ys)}; expected at least one path (P >= 1) "
                             "and one channel (d >= 1).")
        if _shape(self.mask) != _shape(self.ys):
            raise ValueError(f"mask has shape {_shape(self.mask)} but ys has shape "
                             f"{_shape(self.ys)}; they must be equal (T, P, d).")
        if not torch.isfinite(self.ts).all():
            raise ValueError("ts contains NaN or infinite values; times must be finite.")
        steps = self.ts[1:] - self.ts[:-1]
        if (steps <= 0).any():
            i = int(torch.nonzero(steps <= 0)[0, 0])
            raise ValueError(f"ts must be strictly increasing, but ts[{i + 1}]="
                             f"{self.ts[i + 1].item()!r} follows ts[{i}]={self.ts[i].item()!r}.")
        if torch.isinf(self.ys).any():
            raise ValueError("ys contains infinite values; observations must be finite, or NaN "
                             "where missing.")
        if not torch.equal(self.mask, ~torch.isnan(self.ys)):
            raise ValueError("mask disagrees with ys: mask must be True exactly where ys is not "
                             "NaN (set missing observations to NaN in ys).")
        self.names = _str_tuple("names", self.names)
        if len(self.names) != dim:
            raise ValueError(f"names={self.names!r} has {len(self.names)} entries but ys has shape "
                             f"{_shape(self.ys)} (d={dim} channels); give one name per channel.")
        self.groups = _str_tuple("groups", self.groups)
        if len(self.groups) != n_paths:
            raise ValueError(f"groups={self.groups!r} has {len(self.groups)} entries but ys has "
                             f"shape {_shape(self.ys)} (P={n_paths} paths); give one label per "
                             "path.")
        if not isinstance(self.time_name, str):
            raise ValueError(f"time_name={self.time_name!r} is not supported; expected a string.")
        if self.time_origin is not None and not isinstance(self.time_origin, str):
            raise ValueError(f"time_origin={self.time_origin!r} is not supported; expected an ISO "
                             "date string or None.")
        if not isinstance(self.source, str):
            raise ValueError(f"source={self.source!r} is not supported; expected a string.")
        if self.clean is not None:
            self.clean = _as_float64("clean", self.clean)
            if _shape(self.clean) != (n_points, dim):
                raise ValueError(f"clean has shape {_shape(self.clean)} but ys has shape "
                                 f"{_shape(self.ys)}; expected clean of shape (T, d) = "
                                 f"{(n_points, dim)}.")

    @property
    def n_points(self) -> int:
        """Number of time points ``T``."""
        return self.ys.shape[0]

    @property
    def n_paths(self) -> int:
        """Number of observed sample paths (groups) ``P``."""
        return self.ys.shape[1]

    @property
    def dim(self) -> int:
        """Number of observed channels ``d``."""
        return self.ys.shape[2]

    def head(self, n: int) -> TimeSeries:
        """The first ``n`` time points (a training part, or one curriculum stage).

        Args:
            n: number of time points to keep, ``1 <= n <= n_points``.

        Returns:
            A new :class:`TimeSeries` with ``ts`` of shape (n,) and ``ys``, ``mask`` of shape
            (n, P, d); times are not shifted.

        Raises:
            ValueError: if ``n`` is not an integer in ``[1, n_points]``.
        """
        check_int("n", n, 1, self.n_points)
        return self._slice(slice(0, n))

    def tail_from(self, k: int) -> TimeSeries:
        """Time points ``k, k+1, ..., T-1`` (a holdout part).

        Args:
            k: first time point to keep, ``0 <= k <= n_points - 1``.

        Returns:
            A new :class:`TimeSeries` with ``T - k`` time points; times are not shifted.

        Raises:
            ValueError: if ``k`` is not an integer in ``[0, n_points - 1]``.
        """
        check_int("k", k, 0, self.n_points - 1)
        return self._slice(slice(k, self.n_points))

    @classmethod
    def from_pandas(cls, df, time: str | None = None, columns: Sequence[str] | None = None,
                    group: str | None = None) -> TimeSeries:
        """A series from a pandas DataFrame, by the rules of :func:`~neuralsde.data.load_csv`
        (the same function turns both tables into arrays).

        The DataFrame is converted directly (no CSV file is written), but the result equals
        what ``load_csv`` gives for the same table written with ``df.to_csv(index=False)``:
        the same times (numbers, or days since the earliest ISO date), values, names and
        groups, and the same checks. Datetime columns count as ISO dates (written as dates
        when every time is a midnight without a time zone, else as ISO datetimes); strings
        holding numbers or ISO dates are read as ``load_csv`` reads cells. Messages name rows
        by their index label and start with ``"DataFrame: "``.

        Args:
            df: the table, one row per time (and group).
            time: the time column; default the first column, or the index when it is named
                or a DatetimeIndex.
            columns: the value columns, in order; default every column but the time and group
                columns with at least one value and only numbers (a numeric column, or text
                that ``float`` reads; booleans are not numbers).
            group: the column that labels sample paths (long/panel format); default none.

        Returns:
            A :class:`TimeSeries` with ``source="DataFrame"``.

        Raises:
            ImportError: when pandas is not installed.
            TypeError: when ``df`` is not a DataFrame.
            ValueError: for a problem in the data or the arguments (see ``load_csv``).
        """
        from ._frame import frame_arrays

        fields = frame_arrays(df, time, columns, group)
        ys = torch.from_numpy(fields.pop("ys"))
        return cls(ts=torch.from_numpy(fields.pop("ts")), ys=ys, mask=~torch.isnan(ys), **fields)

    def _slice(self, index: slice) -> TimeSeries:
        """A copy of the time points ``index`` selects; other fields are shared."""
        return dataclasses.replace(
            self, ts=self.ts[index].clone(), ys=self.ys[index].clone(),
            mask=self.mask[index].clone(),
            clean=None if self.clean is None else self.clean[index].clone())

    def __repr__(self) -> str:
        """One line: sizes, names, time span, observed count and source."""
        span = f"[{self.ts[0].item():g}, {self.ts[-1].item():g}]"
        origin = "" if self.time_origin is None else f", time_origin={self.time_origin!r}"
        return (f"TimeSeries(n_points={self.n_points}, n_paths={self.n_paths}, dim={self.dim}, "
                f"names={self.names!r}, {self.time_name} in {span}{origin}, "
                f"observed={int(self.mask.sum())}/{self.mask.numel()}, source={self.source!r})")


def _as_float64(name: str, value) -> torch.Tensor:
    """``value`` (a tensor, array or nested list of real numbers) as a float64 tensor.

    Raises:
        ValueError: naming ``name``, if ``value`` cannot become a tensor or is complex or bool.
    """
    try:
        tensor = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{name} could not be converted to a tensor: {error}") from None
    if tensor.dtype.is_complex or tensor.dtype == torch.bool:
        raise ValueError(f"{name} has dtype {tensor.dtype}; expected real numbers (converted to "
                         "float64).")
    return tensor.to(torch.float64)


def _str_tuple(name: str, value) -> tuple[str, ...]:
    """``value`` (a sequence of distinct strings, not a string itself) as a tuple.

    Raises:
        ValueError: naming ``name``, if ``value`` is not such a sequence.
    """
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"{name}={value!r} is not supported; expected a tuple of strings.")
    value = tuple(value)
    if not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name}={value!r} is not supported; expected a tuple of strings.")
    if len(set(value)) != len(value):
        raise ValueError(f"{name}={value!r} has repeated entries; they must be distinct.")
    return value

