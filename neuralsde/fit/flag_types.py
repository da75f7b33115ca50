"""argparse types of the CLI's flags: each parses a flag's text or raises ArgumentTypeError
(exit status 2, with the flag named by argparse)."""

from __future__ import annotations

import argparse
import math


def integer_at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``.

    Args:
        minimum: the smallest accepted value.

    Returns:
        A function that parses a flag's text into such an integer.
    """
    def parse(text):
        """``text`` as an integer >= ``minimum``, or ArgumentTypeError (exit status 2)."""
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be an integer >= {minimum}")
        return value
    return parse


positive_int = integer_at_least(1)
count = integer_at_least(0)


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number > 0")
    return value


def fraction(text: str) -> float:
    """An argparse type: a number in (0, 1]."""
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number in (0, 1]")
    return value


def open_fraction(text: str) -> float:
    """An argparse type: a number in (0, 1)."""
    value = positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number in (0, 1)")
    return value


def period_flag(text: str) -> float | str:
    """An argparse type for ``--period``: ``auto``, ``dates`` or a finite number > 0."""
    if text in ("auto", "dates"):
        return text
    try:
        float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number > 0 nor auto nor dates"
                                         ) from None
    try:
        return positive_float(text)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"{error}, or auto, or dates") from None


def horizon_step(text: str) -> float | str:
    """An argparse type for ``--horizon-step``: a finite number > 0 (the data's time units, days
    for dates), or a pandas offset alias for dated data (``MS``, ``QE``, ...), returned as
    written; whether the data has dates is checked against the data later."""
    try:
        float(text)
    except ValueError:
        pass
    else:
        return positive_float(text)
    from ..data.calendar import OFFSET_EXAMPLES, parse_offset

    try:
        import pandas  # noqa: F401  (the offset aliases are pandas')
    except ImportError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number > 0, and an offset alias "
                                         "needs pandas (pip install pandas)") from None
    try:
        parse_offset(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a number > 0 (days for dates, the data's time units "
            f"otherwise) nor a pandas offset alias for dated data such as {OFFSET_EXAMPLES}"
        ) from None
    return text.strip()


def step(text: str):
    """``--dt``: ``adaptive`` (None: the adaptive solver's steps), or a finite number > 0."""
    return None if text == "adaptive" else positive_float(text)


def auto_or_positive_int(text: str):
    """``auto`` (chosen by validation), or an integer >= 1."""
    return "auto" if text == "auto" else positive_int(text)
