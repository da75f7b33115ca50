"""The affine normalisation used for training, :class:`Scaling`, and its inverse; it round-trips
through a plain ``dict`` so that checkpoints can store it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from ._scaling_checks import check_fields
from .season import profile, with_profile
from .series import TimeSeries, _shape
from .trend import fit_line

__all__ = ["SCALINGS", "SCALING_METHODS", "Scaling"]

#: Accepted values of ``Scaling.fit(..., method=...)``.
SCALING_METHODS = ("standard", "minmax", "max", "none")
#: Every accepted method: those of ``SCALING_METHODS``, which convert each value alone, and
#: ``"trend"``, which also needs the value's time.
SCALINGS = (*SCALING_METHODS, "trend", "log", "log-trend", "standard-season", "trend-season",
            "log-season", "log-trend-season")
#: The ``"-season"`` scalings, each with the scaling it removes a seasonal profile after.
SEASONAL = {"standard-season": "standard", "trend-season": "trend", "log-season": "log",
            "log-trend-season": "log-trend"}
#: The slope errors of a forecast with seed ``s`` use the seed ``s + TREND_SEED_OFFSET``, apart
#: from the seeds of its Brownian paths.
TREND_SEED_OFFSET = 7919
#: The per-channel trend fields of a :class:`Scaling` (empty without a trend).
_TREND_FIELDS = ("y_trend", "y_trend_sd", "y_trend_end", "y_trend_jump")


@dataclass(frozen=True)
class Scaling:
    """Affine normalisation of a series for training, and its inverse.

    ``t_train = (t - t_shift) / t_scale`` and, per channel, ``y_train = (y - y_shift) / y_scale``.

    Rules of :meth:`fit` (``T`` time points on ``[t_0, t_end]``):

    * time, every method but ``"none"``: ``t_shift = t_0`` and
      ``t_scale = (t_end - t_0) / (T - 1)``, the mean spacing of the grid. Training time starts at
      0 and one unit is one observation interval on average; a regular grid becomes
      ``0, 1, ..., T-1``. Why not ``[0, 1]``: the nets output rates per unit of time, and with one
      unit per interval the rate they must produce is the data's change per interval, however long
      or dense the series (on ``[0, 1]``, 1000 points would need rates about 1000 times that).
      The reference data (``t = 0, ..., 6``) keeps its times, so step sizes and tolerances chosen
      for it mean the same with and without scaling.
    * ``"standard"``: ``y_shift`` = mean and ``y_scale`` = standard deviation (population,
      ``ddof=0``) of each channel over all observed points and paths.
    * ``"minmax"``: ``y_shift`` = minimum and ``y_scale`` = maximum - minimum, mapping onto
      ``[0, 1]``.
    * ``"max"``: ``y_shift = 0`` and ``y_scale`` = maximum of ``|y|``; signs are kept.
    * ``"none"``: the identity (shifts 0, scales 1), for time too.
    * ``"trend"``: a straight line in time is removed per channel, then the residuals are
      standardised: ``y_train = (y - y_shift - y_trend (t - t_shift)) / y_scale`` with the
      least-squares line (``y_shift`` its value at ``t_shift``, ``y_trend`` its slope per unit of
      data time) and ``y_scale`` the residuals' standard deviation. For a series that trends:
      the model then fits the fluctuations about the line, and forecasts carry the line on.
      Converting values then needs their times (``transform_y(y, t)``, ``inverse_y(y, t)``).
      Past the data's last time ``t_end`` the line goes on as the last of the data's
      :data:`~neuralsde.data.trend.TREND_SEGMENTS` stretches of equal duration has it: with its
      slope ``y_trend_end``, from its own line's level at ``t_end`` (``y_trend_jump`` above the
      whole line's), both shrunk toward the whole line as far as the stretches' slopes differ
      by noise alone; so forecasts follow the recent rate of change, unless the slope of all
      the data before each stretch predicted the stretches' slopes better (a cycle tilting
      them), and then the line goes straight on. That slope
      is uncertain as far as its prediction was off along the data: ``y_trend_sd`` is the root
      mean square error of the chosen prediction over the stretches (0 where a stretch has fewer
      than 3 observations, and then no bend either; :mod:`neuralsde.data.trend`), and a
      forecast adds to each sample path a slope error drawn from ``N(0, y_trend_sd²)`` times
      the time since its start (:meth:`trend_error`), so that its band widens linearly far
      ahead instead of trusting the line forever. Once a model is fitted,
      :func:`~neuralsde.data.net_slope_error` nets it of the changes the model's own
      fluctuations make (the CLI stores and forecasts with the net value).
    * ``"log"`` and ``"log-trend"``: ``"standard"`` and ``"trend"`` on ``log(y)``, for positive
      series whose changes are proportional to their level (counts, prices, populations,
      multiplicative seasonality); forecasts stay positive.
    * ``"standard-season"``, ``"trend-season"``, ``"log-season"``, ``"log-trend-season"``:
      ``"standard"``, ``"trend"``, ``"log"`` and ``"log-trend"``, then a seasonal profile of the
      given period (:mod:`neuralsde.data.season`: the least-squares harmonics, phase from
      ``t_shift``) is removed as well and the rest standardised; forecasts carry it on.

    Missing values (``mask`` False) are ignored. A scale that would be 0 (a constant channel, a
    single time point) or undefined (a channel with no observation) is 1, and a channel with no
    observation gets shift 0, so nothing divides by zero.

    Attributes:
        t_shift: time shift.
        t_scale: time scale, finite and > 0.
        y_shift: per-channel shift, length d.
        y_scale: per-channel scale, length d, each finite and > 0.
        method: the method that produced it, one of ``SCALING_METHODS``.
        y_trend: per-channel slope per unit of data time (``"trend"`` only); empty for none.
        y_trend_sd: per-channel standard deviation of the slope for forecasts (``"trend"``
            only); empty for none.
        y_trend_end: per-channel slope of the line after ``t_end`` (``"trend"`` only); empty:
            the line keeps ``y_trend`` (scalings stored before the bend existed).
        t_end: the data time where the line takes ``y_trend_end``: the fitted data's last time.
        y_trend_jump: per-channel step of the line just after ``t_end`` (``"trend"`` only);
            empty: none.
        log: values are log-transformed first (``"log"``, ``"log-trend"``).
        season_period: the removed profile's period in data time units; 0: none.
        y_season: per channel, the profile's cosine then sine coefficients (``2k`` each,
            channel after channel); empty for none.
    """

    t_shift: float
    t_scale: float
    y_shift: tuple[float, ...]
    y_scale: tuple[float, ...]
    method: str
    y_trend: tuple[float, ...] = ()
    log: bool = False
    y_trend_sd: tuple[float, ...] = ()
    y_trend_end: tuple[float, ...] = ()
    t_end: float = 0.0
    y_trend_jump: tuple[float, ...] = ()
    season_period: float = 0.0
    y_season: tuple[float, ...] = ()

    def __post_init__(self):
        """Check every field and store numbers as floats, sequences as tuples of floats."""
        check_fields(self, SCALINGS)

    @property
    def dim(self) -> int:
        """Number of channels ``d``."""
        return len(self.y_shift)

    @classmethod
    def fit(cls, series: TimeSeries, method: str = "standard",
            period: float | None = None) -> Scaling:
        """Fit a scaling to a series by the rules in the class docstring.

        Args:
            series: the data, usually the training part only.
            method: one of ``SCALINGS``.
            period: the season in data time units, for the ``"-season"`` methods only.

        Returns:
            The :class:`Scaling`.

        Raises:
            ValueError: if ``method`` is not one of ``SCALINGS``, or a ``"-season"`` method has
                no period, too few observations per period or fewer than two periods of data.
            TypeError: if ``series`` is not a :class:`TimeSeries`.
        """
        if method not in SCALINGS:
            raise ValueError(f"method={method!r} is not supported; expected one of "
                             f"{SCALINGS}.")
        if not isinstance(series, TimeSeries):
            raise TypeError(f"series must be a TimeSeries, but got {type(series).__name__}.")
        dim = series.dim
        if method in SEASONAL:
            return with_profile(lambda s: cls.fit(s, SEASONAL[method]), series, method, period)
        if method == "none":
            return cls(t_shift=0.0, t_scale=1.0, y_shift=(0.0,) * dim, y_scale=(1.0,) * dim,
                       method=method)
        ts = series.ts
        t_shift = ts[0].item()
        span = (ts[-1] - ts[0]).item()
        t_scale = span / (series.n_points - 1) if series.n_points > 1 else 1.0
        if method in ("log", "log-trend"):
            observed = series.ys[series.mask]
            if observed.numel() and float(observed.min()) <= 0:
                raise ValueError(f"method={method!r} needs positive values (it models log(y)); "
                                 f"the smallest value is {float(observed.min())!r}.")
            logged = dataclasses.replace(series, ys=torch.log(series.ys), clean=None)
            base = cls.fit(logged, "trend" if method == "log-trend" else "standard")
            return dataclasses.replace(base, method=method, log=True)
        if method == "trend":
            return cls._fit_trend(series, t_shift, t_scale)
        shifts, scales = [], []
        for j in range(dim):
            values = series.ys[..., j][series.mask[..., j]]  # observed values of channel j
            if values.numel() == 0:
                shift, scale = 0.0, 1.0
            else:
                low, high = values.min().item(), values.max().item()
                if method == "standard":
                    shift = values.mean().item()
                    scale = (values - shift).square().mean().sqrt().item()
                elif method == "minmax":
                    shift, scale = low, high - low
                else:  # "max"
                    shift, scale = 0.0, max(abs(low), abs(high))
                if high == low and method != "max":  # constant channel: spread 0
                    scale = 1.0
                if not scale > 0:
                    scale = 1.0
            shifts.append(shift)
            scales.append(scale)
        return cls(t_shift=t_shift, t_scale=t_scale, y_shift=tuple(shifts), y_scale=tuple(scales),
                   method=method)

    @classmethod
    def _fit_trend(cls, series: TimeSeries, t_shift: float, t_scale: float) -> Scaling:
        """The ``"trend"`` scaling: a line per channel (:func:`~neuralsde.data.trend.fit_line`),
        residuals standardised."""
        t = (series.ts - t_shift)[:, None].expand(series.ys.shape[:2])  # (T, P)
        span = float(series.ts[-1] - series.ts[0])
        lines = [fit_line(t[series.mask[..., j]], series.ys[..., j][series.mask[..., j]], span,
                          x_end=span) for j in range(series.dim)]
        return cls(t_shift=t_shift, t_scale=t_scale, y_shift=tuple(ln.shift for ln in lines),
                   y_scale=tuple(ln.scale for ln in lines), method="trend",
                   y_trend=tuple(ln.slope for ln in lines),
                   y_trend_sd=tuple(ln.slope_sd for ln in lines),
                   y_trend_end=tuple(ln.slope_end for ln in lines),
                   t_end=float(series.ts[-1]), y_trend_jump=tuple(ln.jump for ln in lines))

    def trend_error(self, n: int, t, t0: float, seed: int) -> torch.Tensor:
        """The slope errors of ``n`` forecast paths in training units, to add to the paths
        before :meth:`inverse_y`: ``delta (t - t0) / y_scale`` with one ``delta ~ N(0,
        y_trend_sd²)`` per path and channel (see the class docstring).

        Args:
            n: the number of paths.
            t: (T,) the forecast's data times.
            t0: the data time the forecast starts from.
            seed: seeds the slope errors (the same seed, the same errors).

        Returns:
            (n, T, d) float64; zeros for a scaling without a slope spread.
        """
        t = torch.as_tensor(t, dtype=torch.float64)
        if not any(self.y_trend_sd):
            return torch.zeros(n, len(t), self.dim, dtype=torch.float64)
        gen = torch.Generator().manual_seed(int(seed) + TREND_SEED_OFFSET)
        delta = torch.randn(n, 1, self.dim, generator=gen, dtype=torch.float64)
        sd = torch.tensor(self.y_trend_sd, dtype=torch.float64)
        scale = torch.tensor(self.y_scale, dtype=torch.float64)
        return delta * sd * (t - float(t0))[None, :, None] / scale

    def _line(self, y: torch.Tensor, t, after: bool = False) -> torch.Tensor:
        """The removed line at times ``t`` (broadcast against ``y[..., 0]``), shape of ``y``;
        with ``after``, its value just after ``t`` (the jump included at ``t_end`` itself)."""
        if not self.y_trend and not self.y_season:
            return torch.zeros((), dtype=y.dtype, device=y.device)
        if t is None:
            raise ValueError("this scaling removes a trend or a season, so converting values "
                             "needs their times: pass t (data time units, one per value of "
                             "y[..., 0]).")
        t = torch.as_tensor(t, dtype=y.dtype, device=y.device)
        season = 0.0
        if self.y_season:
            coefficients = torch.tensor(self.y_season, dtype=y.dtype, device=y.device)
            season = profile(t - self.t_shift, coefficients.reshape(self.dim, -1),
                             self.season_period)
        if not self.y_trend:
            return season
        slope = torch.tensor(self.y_trend, dtype=y.dtype, device=y.device)
        line = (t - self.t_shift)[..., None] * slope
        if self.y_trend_end:  # past t_end, the slope forecasts carry on
            end = torch.tensor(self.y_trend_end, dtype=y.dtype, device=y.device)
            line = line + (t - self.t_end).clamp(min=0)[..., None] * (end - slope)
        if self.y_trend_jump:
            past = (t >= self.t_end) if after else (t > self.t_end)
            line = line + past[..., None] * torch.tensor(self.y_trend_jump, dtype=y.dtype,
                                                         device=y.device)
        return line + season

    def _y_params(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``y_shift`` and ``y_scale`` as tensors (d,) on ``y``'s device, in ``y``'s dtype if it is
        floating point, else float64.

        Raises:
            ValueError: if the last axis of ``y`` is not ``d``.
        """
        if y.ndim < 1 or y.shape[-1] != self.dim:
            raise ValueError(f"y has shape {_shape(y)}, but this scaling has {self.dim} "
                             f"channel(s); expected shape (..., {self.dim}).")
        dtype = y.dtype if y.dtype.is_floating_point else torch.float64
        shift = torch.tensor(self.y_shift, dtype=dtype, device=y.device)
        scale = torch.tensor(self.y_scale, dtype=dtype, device=y.device)
        return shift, scale

    def transform_y(self, y: torch.Tensor, t=None, *, after: bool = False) -> torch.Tensor:
        """Data units to training units, ``(y - y_shift - trend) / y_scale``.

        Args:
            y: values of shape (..., d).
            t: their data times, broadcastable to ``y[..., 0]``; needed only for ``"trend"``.
            after: with the line just after ``t`` (``y_trend_jump`` at ``t_end`` itself): the
                start of a forecast, whose paths go on past ``t``.

        Returns:
            A tensor of the same shape; NaN stays NaN.
        """
        shift, scale = self._y_params(y)
        if self.log:
            y = torch.log(y)
        if self.y_trend or self.y_season:
            return (y - shift - self._line(y, t, after)) / scale
        return (y - shift) / scale

    def inverse_y(self, y: torch.Tensor, t=None) -> torch.Tensor:
        """Training units to data units, ``y * y_scale + y_shift (+ trend)``.

        Args:
            y: values of shape (..., d), e.g. solver output (T, batch, d) in training units.
            t: their data times, broadcastable to ``y[..., 0]``; needed only for ``"trend"``.

        Returns:
            A tensor of the same shape in data units.

        Raises:
            ValueError: if the last axis of ``y`` is not ``d``.
        """
        shift, scale = self._y_params(y)
        out = y * scale + shift
        if self.y_trend or self.y_season:
            out = out + self._line(y, t)
        return torch.exp(out) if self.log else out

    def transform_t(self, t: torch.Tensor) -> torch.Tensor:
        """Data time to training time, ``(t - t_shift) / t_scale``; any shape."""
        return (t - self.t_shift) / self.t_scale

    def inverse_t(self, t: torch.Tensor) -> torch.Tensor:
        """Training time to data time, ``t * t_scale + t_shift``; any shape."""
        return t * self.t_scale + self.t_shift

    def transform(self, series: TimeSeries) -> TimeSeries:
        """The series in training units: ``ts``, ``ys`` and ``clean`` transformed, ``mask`` kept.

        Other fields (names, ``time_origin``, source) are copied unchanged; they describe the
        data units.

        Args:
            series: a series with ``d`` channels.

        Returns:
            A new :class:`TimeSeries`.

        Raises:
            ValueError: if ``series`` has a different number of channels than this scaling.
        """
        if not isinstance(series, TimeSeries):
            raise TypeError(f"series must be a TimeSeries, but got {type(series).__name__}.")
        if series.dim != self.dim:
            raise ValueError(f"series has ys of shape {_shape(series.ys)} (d={series.dim} "
                             f"channels) but this scaling has {self.dim} channel(s).")
        return dataclasses.replace(
            series, ts=self.transform_t(series.ts),
            ys=self.transform_y(series.ys, series.ts[:, None]), mask=series.mask.clone(),
            clean=None if series.clean is None else self.transform_y(series.clean, series.ts))

    def to_dict(self) -> dict:
        """Plain ``dict`` of Python floats, lists and a string (JSON-safe), for checkpoints."""
        out = {"method": self.method, "t_shift": self.t_shift, "t_scale": self.t_scale,
               "y_shift": list(self.y_shift), "y_scale": list(self.y_scale)}
        for name in _TREND_FIELDS:  # the empty ones (all zero for a spread) left out
            value = getattr(self, name)
            if any(value) if name == "y_trend_sd" else value:
                out[name] = list(value)
        if self.log:
            out["log"] = True
        if self.y_trend_end:
            out["t_end"] = self.t_end
        if self.y_season:
            out["season_period"], out["y_season"] = self.season_period, list(self.y_season)
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> Scaling:
        """Rebuild a :class:`Scaling` from :meth:`to_dict`'s output.

        Raises:
            ValueError: if keys are missing or unexpected, or a value is invalid.
        """
        if not isinstance(d, Mapping):
            raise ValueError(f"d={d!r} is not supported; expected a dict from Scaling.to_dict().")
        expected = {"method", "t_shift", "t_scale", "y_shift", "y_scale"}
        missing = sorted(expected - set(d))
        extra = sorted(set(d) - expected - {*_TREND_FIELDS, "log", "t_end", "season_period",
                                            "y_season"})
        if missing or extra:
            raise ValueError(f"Scaling.from_dict got keys {sorted(d)}; missing {missing}, "
                             f"unexpected {extra}; expected exactly {sorted(expected)}.")
        return cls(t_shift=d["t_shift"], t_scale=d["t_scale"], y_shift=tuple(d["y_shift"]),
                   y_scale=tuple(d["y_scale"]), method=d["method"],
                   log=bool(d.get("log", False)), t_end=d.get("t_end", 0.0),
                   season_period=d.get("season_period", 0.0), y_season=tuple(d.get("y_season", ())),
                   **{name: tuple(d.get(name, ())) for name in _TREND_FIELDS})

