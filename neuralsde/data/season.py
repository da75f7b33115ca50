"""A fixed seasonal profile: the least-squares sum of a few harmonics of a known period. The
``"-season"`` scalings (:class:`~neuralsde.data.Scaling`) remove it, so that the SDE models what
the calendar does not explain and a forecast carries the profile on, as a classical seasonal
decomposition does; a short fit then need not learn the season's shape through the nets'
``sin``/``cos`` inputs."""

from __future__ import annotations

import dataclasses
import math
import numbers

import torch

__all__ = ["HARMONICS_MAX", "SEASONS_MIN", "fit_profile", "harmonics", "profile", "with_profile"]

#: At most this many harmonics of the period (a smooth profile; the last few describe detail
#: that the noise can fit as well as the calendar).
HARMONICS_MAX = 6
#: The data must span at least this many periods to fit a profile.
SEASONS_MIN = 2


def harmonics(per_period: float) -> int:
    """The number of harmonics for a season of ``per_period`` observations: each harmonic needs
    two coefficients and must lie below the grid's Nyquist frequency, so ``(m - 1) // 2`` for
    ``m`` observations per period, at most :data:`HARMONICS_MAX`; 0 for fewer than 3."""
    m = int(math.floor(per_period + 1e-9))
    return max(0, min((m - 1) // 2, HARMONICS_MAX))


def _basis(t: torch.Tensor, period: float, k: int) -> torch.Tensor:
    """``cos(2 pi j t / period)`` and ``sin(...)`` for ``j = 1..k``, shape ``t.shape + (2k,)``."""
    j = torch.arange(1, k + 1, dtype=t.dtype, device=t.device)
    angle = t[..., None] * j * (2 * math.pi / period)
    return torch.cat([torch.cos(angle), torch.sin(angle)], dim=-1)


def profile(t, coefficients: torch.Tensor, period: float) -> torch.Tensor:
    """The profiles at times ``t`` (measured from the phase origin), shape ``t.shape + (d,)``.

    Args:
        t: times in data units, any shape.
        coefficients: (d, 2k), per channel the cosine then the sine coefficients.
        period: the period in data units.
    """
    t = torch.as_tensor(t, dtype=coefficients.dtype, device=coefficients.device)
    return _basis(t, period, coefficients.shape[-1] // 2) @ coefficients.T


def fit_profile(t: torch.Tensor, values: torch.Tensor, period: float,
                k: int) -> tuple[float, list[float]]:
    """The least-squares intercept and ``2k`` harmonic coefficients of ``values`` at times ``t``
    (both 1-d, observed points only), float64.

    Raises:
        ValueError: if ``t`` spans fewer than :data:`SEASONS_MIN` periods or ``k`` is 0.
    """
    if k < 1:
        raise ValueError(f"a season of period {period!r} has fewer than 3 observations per "
                         "period, too few for a seasonal profile; use a scaling without "
                         "'-season'.")
    t = t.to(torch.float64)
    if t.numel() == 0 or float(t.max() - t.min()) < SEASONS_MIN * period:
        raise ValueError(f"a seasonal profile needs data spanning {SEASONS_MIN} periods "
                         f"({SEASONS_MIN * period:g} time units); these span "
                         f"{float(t.max() - t.min()) if t.numel() else 0.0:g}; use a scaling "
                         "without '-season'.")
    design = torch.cat([torch.ones(len(t), 1, dtype=torch.float64), _basis(t, period, k)], dim=1)
    solution = torch.linalg.lstsq(design, values.to(torch.float64)[:, None]).solution[:, 0]
    return float(solution[0]), solution[1:].tolist()


def _fit_rest(base, series, period: float, k: int):
    """Per channel, the profile fitted to what ``base`` leaves of ``series``: the shifts and
    scales with it removed, and its coefficients in (logged) data units."""
    t = (series.ts - base.t_shift)[:, None].expand(series.ys.shape[:2])  # (T, P)
    z = base.transform_y(series.ys.to(torch.float64), series.ts[:, None])  # (T, P, d)
    shifts, scales, coefficients = [], [], []
    for j in range(series.dim):
        seen = series.mask[..., j]
        intercept, coef = fit_profile(t[seen], z[..., j][seen], period, k)
        rest = z[..., j][seen] - intercept - profile(
            t[seen], torch.tensor([coef], dtype=torch.float64), period)[:, 0]
        spread = float(rest.square().mean().sqrt()) if rest.numel() else 1.0
        scale = base.y_scale[j]
        shifts.append(base.y_shift[j] + scale * intercept)
        scales.append(scale * spread if spread > 0 else scale)
        coefficients.extend(scale * c for c in coef)
    return tuple(shifts), tuple(scales), tuple(coefficients)


def with_profile(fit_base, series, method: str, period):
    """The scaling ``fit_base(series)`` with a seasonal profile of ``period`` fitted, per channel,
    to what it leaves, and the rest standardised again; its method becomes ``method``. A base
    with a trend is fitted again to the series less that profile, so that a season cut off at
    the data's ends does not tilt the line or its end, and the profile once more to what the
    new line leaves.

    Raises:
        ValueError: if ``period`` is not a number > 0, or :func:`fit_profile` refuses.
    """
    if not isinstance(period, numbers.Real) or isinstance(period, bool) or not period > 0:
        raise ValueError(f"scaling={method!r} removes a seasonal profile, so it needs a "
                         f"period (a number > 0 in data time units); got period={period!r}.")
    period = float(period)
    base = fit_base(series)
    k = harmonics(period / base.t_scale)  # t_scale: the mean spacing
    shifts, scales, coefficients = _fit_rest(base, series, period, k)
    if base.y_trend:
        removed = profile(series.ts.to(torch.float64) - base.t_shift,
                          torch.tensor(coefficients).reshape(series.dim, -1), period)  # (T, d)
        ys = series.ys.to(torch.float64)
        ys = torch.exp(torch.log(ys) - removed[:, None]) if base.log else ys - removed[:, None]
        base = fit_base(dataclasses.replace(series, ys=ys.to(series.ys.dtype), clean=None))
        shifts, scales, coefficients = _fit_rest(base, series, period, k)
    return dataclasses.replace(base, method=method, y_shift=shifts, y_scale=scales,
                               season_period=period, y_season=coefficients)
