"""Training schedule: fit all points first, then a curriculum over growing prefixes of the data.

The DiffEqFlux blog trains 500 iterations on all 7 points, then fits the first 2 points, then 3,
..., 7, 300 iterations each; a stage integrates only up to its last point, so early stages are
short and cheap. This module only computes that schedule (integers in, :class:`Stage` out); the
training loop slices the data and the time grid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ._checks import check_int

__all__ = ["Stage", "stages", "total_iters"]


@dataclass(frozen=True)
class Stage:
    """One stage of the schedule.

    Attributes:
        name: a label for logs and plots, e.g. ``"all 7 points"`` or ``"first 2 points"``.
        n_points: the stage fits, and integrates up to, the first ``n_points`` time points
            (``>= 2``).
        iters: number of optimiser iterations (``>= 0``).
    """

    name: str
    n_points: int
    iters: int

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise ValueError(f"name={self.name!r} is not supported; expected a str.")
        check_int("n_points", self.n_points, 2)
        check_int("iters", self.iters, 0)


def stages(n_points: int, *, initial_iters: int = 500, first: int = 2, step: int = 1,
           iters: int = 300, curriculum: bool = True) -> list[Stage]:
    """The training schedule: an initial stage on all points, then a curriculum of prefixes.

    The initial stage ``Stage("all {n_points} points", n_points, initial_iters)`` comes first
    (omitted when ``initial_iters == 0``). With ``curriculum=True`` stages on the first
    ``k = first, first + step, first + 2 * step, ...`` points follow, ``iters`` iterations each,
    always ending with exactly ``k = n_points`` (the last step is clipped to ``n_points``); they are
    named ``"first {k} points"``. With ``iters == 0`` the curriculum stages are omitted as well
    (a stage without iterations does nothing), so the result may be empty.

    Example: ``stages(7)`` is ``all 7 points`` (500), then ``first 2 points`` ... ``first 7 points``
    (300 each): 2300 iterations in all.

    Args:
        n_points: number of time points in the data, ``>= 2``.
        initial_iters: iterations on all points before the curriculum, ``>= 0``.
        first: points in the first curriculum stage, ``2 <= first <= n_points``.
        step: points added per curriculum stage, ``>= 1``.
        iters: iterations per curriculum stage, ``>= 0``.
        curriculum: whether to add the curriculum stages after the initial stage.

    Returns:
        The stages in order.

    Raises:
        ValueError: naming the argument, its value and what is accepted, if an integer argument
            is not an ``int`` (``bool`` is rejected) in its range or ``curriculum`` is not a bool.
    """
    check_int("n_points", n_points, 2)
    check_int("initial_iters", initial_iters, 0)
    check_int("first", first, 2)
    if first > n_points:
        raise ValueError(f"first={first!r} is not supported; expected an integer with "
                         f"2 <= first <= n_points={n_points}.")
    check_int("step", step, 1)
    check_int("iters", iters, 0)
    if not isinstance(curriculum, bool):
        raise ValueError(f"curriculum={curriculum!r} is not supported; expected True or False.")

    schedule: list[Stage] = []
    if initial_iters > 0:
        schedule.append(Stage(f"all {n_points} points", n_points, initial_iters))
    if curriculum and iters > 0:
        ks = list(range(first, n_points, step)) + [n_points]
        schedule += [Stage(f"first {k} points", k, iters) for k in ks]
    return schedule


def total_iters(stages: Iterable[Stage]) -> int:
    """Total number of iterations of a schedule.

    Args:
        stages: the schedule, e.g. from :func:`stages`.

    Returns:
        The sum of ``stage.iters``.

    Raises:
        ValueError: if an element is not a :class:`Stage`.
    """
    total = 0
    for stage in stages:
        if not isinstance(stage, Stage):
            raise ValueError(f"stages must hold Stage objects; got {stage!r}.")
        total += stage.iters
    return total
