"""Command line: fit a neural SDE to the built-in data or a CSV file and write a run folder.

    python -m neuralsde.fit                      # the reference workflow -> runs/<timestamp>/
    python -m neuralsde.fit --blog               # the DiffEqFlux blog's literal configuration
    python -m neuralsde.fit --data my.csv --out runs/mine

The run folder holds ``fit.png``, ``loss.png``, ``history.csv`` (written while training),
``metrics.json``, ``model.pt`` and ``samples.npz``, and with ``--holdout`` ``forecast.png`` and
``calibration.png``; ``python -m neuralsde.fit --help`` lists every flag. A bad flag value exits
with status 2 and a message naming the flag.

The package: :mod:`~neuralsde.fit.settings` (defaults, flags and their checks),
:mod:`~neuralsde.fit.errors` (the one-line refusals and failures),
:mod:`~neuralsde.fit.objectives` (the objective and model of a run, and their checks),
:mod:`~neuralsde.fit.folder` (where a run may write, ``run.json``, the data's fingerprint),
:mod:`~neuralsde.fit.signals` (Ctrl-C and SIGTERM),
:mod:`~neuralsde.fit.run` (a new run, ``--resume``, torchrun, exit statuses) and
:mod:`~neuralsde.fit.artifacts` (samples, scores, figures, metrics and the model file) and
:mod:`~neuralsde.fit.holdout` (the holdout forecast's calibration, scores per horizon, figures).
"""

from .artifacts import write_artifacts
from .objectives import model_spec
from .run import RESUME_FLAGS, RUN_FORMAT, holdout_split, main
from .settings import BLOG, DEFAULTS, HOLDOUT_KEYS, METRICS_KEYS, build_parser, resolve

__all__ = ["BLOG", "DEFAULTS", "HOLDOUT_KEYS", "METRICS_KEYS", "RESUME_FLAGS", "RUN_FORMAT",
           "build_parser", "holdout_split", "main", "model_spec", "resolve", "write_artifacts"]
