"""The checks of a :class:`~neuralsde.data.Scaling`'s fields, kept apart from its arithmetic."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

__all__ = ["check_fields"]


def check_fields(scaling, methods: Sequence[str]) -> None:
    """Check every field of ``scaling`` (``method`` one of ``methods``) and store numbers as
    floats, sequences as tuples of floats; ValueError naming the field otherwise."""
    if scaling.method not in methods:
        raise ValueError(f"method={scaling.method!r} is not supported; expected one of "
                         f"{methods}.")
    for name in ("t_shift", "t_scale"):
        value = getattr(scaling, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not math.isfinite(value):
            raise ValueError(f"{name}={value!r} is not supported; expected a finite number.")
        object.__setattr__(scaling, name, float(value))
    if scaling.t_scale <= 0:
        raise ValueError(f"t_scale={scaling.t_scale!r} is not supported; expected a number > 0.")
    for name in ("y_shift", "y_scale"):
        value = getattr(scaling, name)
        if isinstance(value, str) or not isinstance(value, Sequence) or len(value) == 0 or any(
                isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v)
                for v in value):
            raise ValueError(f"{name}={value!r} is not supported; expected a non-empty "
                             "sequence of finite numbers, one per channel.")
        object.__setattr__(scaling, name, tuple(float(v) for v in value))
    trend = tuple(float(v) for v in scaling.y_trend)
    if trend and (len(trend) != len(scaling.y_shift) or not all(map(math.isfinite, trend))):
        raise ValueError(f"y_trend={scaling.y_trend!r} is not supported; expected one finite "
                         "slope per channel, or () for no trend.")
    object.__setattr__(scaling, "y_trend", trend)
    for name, what in (("y_trend_sd", "finite value >= 0 per slope of y_trend, or () for none"),
                       ("y_trend_end", "finite slope per slope of y_trend, or () for no bend"),
                       ("y_trend_jump", "finite number per slope of y_trend, or () for none")):
        value = tuple(float(v) for v in getattr(scaling, name))
        if value and (len(value) != len(trend) or not all(map(math.isfinite, value))
                      or name == "y_trend_sd" and min(value) < 0):
            raise ValueError(f"{name}={getattr(scaling, name)!r} is not supported; expected one "
                             f"{what}.")
        object.__setattr__(scaling, name, value)
    if isinstance(scaling.t_end, bool) or not isinstance(scaling.t_end, numbers.Real) \
            or not math.isfinite(scaling.t_end):
        raise ValueError(f"t_end={scaling.t_end!r} is not supported; expected a finite number.")
    object.__setattr__(scaling, "t_end", float(scaling.t_end))
    season = tuple(float(v) for v in scaling.y_season)
    if season and (len(season) % (2 * len(scaling.y_shift)) or not all(map(math.isfinite, season))
                   or not (math.isfinite(scaling.season_period) and scaling.season_period > 0)):
        raise ValueError(f"y_season={scaling.y_season!r} with season_period="
                         f"{scaling.season_period!r} is not supported; expected 2k finite "
                         "coefficients per channel and a period > 0, or () for none.")
    object.__setattr__(scaling, "y_season", season)
    object.__setattr__(scaling, "season_period", float(scaling.season_period))
    if len(scaling.y_shift) != len(scaling.y_scale):
        raise ValueError(f"y_shift has {len(scaling.y_shift)} entries but y_scale has "
                         f"{len(scaling.y_scale)}; both need one per channel.")
    if any(v <= 0 for v in scaling.y_scale):
        raise ValueError(f"y_scale={scaling.y_scale!r} is not supported; every scale must be > 0.")
