"""neuralsde: fit neural stochastic differential equations to time series.

The pipeline, in the order data flows through it (each a package or module of its own):

1. :mod:`neuralsde.data` -- a :class:`~neuralsde.data.TimeSeries` from a CSV file or the built-in
   reference data, and the :class:`~neuralsde.data.Scaling` that normalises it for training;
2. :mod:`neuralsde.sde` and :mod:`neuralsde.nets` -- the model: drift and diffusion networks
   (:class:`NeuralDSDE`, :func:`build_model`; :class:`NeuralODE` in :mod:`neuralsde.ode`);
3. :mod:`neuralsde.solve` -- :func:`solve` and :class:`SolveConfig`: our SRI solver, torchsde and
   torchdiffeq behind one call;
4. :mod:`neuralsde.losses` and :mod:`neuralsde.scores` -- how simulated paths meet data (squared
   errors, moments; the proper scoring rules CRPS and energy score);
5. :mod:`neuralsde.train` -- objectives (from the start with a curriculum, windows, transitions)
   and the training loop, checkpoints, sampling and model files;
6. :mod:`neuralsde.metrics`, :mod:`neuralsde.calibration` and :mod:`neuralsde.plotting` --
   forecast scores, baselines, PIT and coverage, figures;
7. :mod:`neuralsde.fit` -- the command line, ``python -m neuralsde.fit``, which runs all of it and
   writes a run folder;
8. :mod:`neuralsde.forecast` -- :func:`forecast` past the end of a series, :func:`load_run` to
   forecast from a run folder, and the :class:`Forecast` they return.

Below them all, :mod:`neuralsde._checks` holds the shared argument checks and atomic writes;
:mod:`neuralsde.curriculum`, :mod:`neuralsde.distributed` and :mod:`neuralsde.machine` serve
training, torchrun and benchmarks.
"""

from importlib.metadata import PackageNotFoundError, version

# ``solve`` is the package neuralsde.solve, not the function: calling the package solves (see
# neuralsde/solve/__init__.py), so ``from neuralsde import solve; solve(model, y0, ts)`` works and
# ``import neuralsde.solve as m`` still gives the package.
from . import solve

# ``neuralsde.forecast`` is the function; the module is ``sys.modules["neuralsde.forecast"]``, and
# ``from neuralsde.forecast import ...`` works as usual.
from .forecast import Forecast, forecast, load_run
from .nets import CubicFeatures, mlp, reference_diffusion, reference_drift
from .ode import NeuralODE
from .sde import NeuralDSDE, build_model
from .solve import (
    MaxStepsError,
    NonFiniteStateError,
    SolveConfig,
    SolverError,
    SolveStats,
    brownian_interval,
)

try:
    __version__ = version("neuralsde")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = [
    "CubicFeatures", "Forecast", "MaxStepsError", "NeuralDSDE", "NeuralODE", "NonFiniteStateError",
    "SolveConfig", "SolveStats", "SolverError", "brownian_interval", "mlp", "reference_diffusion",
    "reference_drift", "solve", "build_model", "forecast", "load_run",
]
