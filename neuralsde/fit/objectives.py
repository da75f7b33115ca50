"""The CLI's choice of objective and model: the recipe of :mod:`neuralsde.train.recipe` (shared
with :class:`neuralsde.Forecaster`), its refusals turned into the CLI's exit status 2."""

from __future__ import annotations

import argparse

from ..data import TimeSeries
from ..train import recipe
from ..train.recipe import (
    REAL_SERIES_NET,
    WINDOW_LENGTH,
    WINDOW_LENGTH_MAX,
    default_state_dim,
    default_window_length,
    make_objective,
    model_spec,
    resolve_period,
)

__all__ = ["REAL_SERIES_NET", "WINDOW_LENGTH", "WINDOW_LENGTH_MAX", "check_objective",
           "default_state_dim", "default_window_length", "make_objective", "model_spec",
           "resolve_period"]


def check_objective(settings: dict, series: TimeSeries, parser: argparse.ArgumentParser) -> None:
    """:func:`neuralsde.train.recipe.check_objective`, a refusal reported by ``parser.error``
    (exit status 2, flags named)."""
    try:
        recipe.check_objective(settings, series)
    except ValueError as err:
        parser.error(str(err))
