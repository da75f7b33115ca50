"""What a run folder is, shared by the CLI that writes run folders (:mod:`neuralsde.fit`) and
:func:`neuralsde.load_run`, which reads them: the ``run.json`` format tag and the holdout rule."""

from __future__ import annotations

#: The ``format`` field of ``run.json``.
RUN_FORMAT = "neuralsde-run-1"


def holdout_split(n_points: int, fraction: float | None) -> int:
    """Number of training points when the last ``fraction`` of the time points is held out.

    Args:
        n_points: time points of the data.
        fraction: the held-out fraction, or None for no holdout.

    Returns:
        ``round(n_points * (1 - fraction))``, at least 2 for training and at least 1 held out
        (``n_points`` without a holdout).
    """
    if fraction is None:
        return n_points
    n_train = int(round(n_points * (1.0 - fraction)))
    return max(2, min(n_train, n_points - 1))
