"""neuralsde: fit neural stochastic differential equations to time series.

Most users need one name: :class:`Forecaster` (``Forecaster().fit(y).predict(h=12)``). The
package, in the order data flows through it (each a package or module of its own):

1. :mod:`neuralsde.data` -- a :class:`TimeSeries` from a CSV file (:func:`load_csv`), pandas or
   the built-in reference data, and the :class:`~neuralsde.data.Scaling` that normalises it;
2. :mod:`neuralsde.nets` and :mod:`neuralsde.sde` -- the model: drift and diffusion networks
   (:class:`NeuralDSDE`, :func:`build_model`; :class:`NeuralODE` in :mod:`neuralsde.ode`);
3. :mod:`neuralsde.solvers` -- :func:`solve` and :class:`SolveConfig`: our SRI solver, torchsde
   and torchdiffeq behind one call;
4. :mod:`neuralsde.losses` and :mod:`neuralsde.scores` -- how simulated paths meet data (squared
   errors, moments; the proper scoring rules CRPS and energy score);
5. :mod:`neuralsde.train` -- objectives (from the start with a curriculum, windows, transitions),
   the recipe that builds them from settings, the training loop, checkpoints and model files;
6. :mod:`neuralsde.forecasting` -- :func:`forecast`, the one forecast path, and the
   :class:`Forecast` it returns;
7. :mod:`neuralsde.forecaster` -- :class:`Forecaster`, which owns the defaults: fit, predict,
   simulate, cross-validate, save, plot;
8. :mod:`neuralsde.metrics`, :mod:`neuralsde.calibration` and :mod:`neuralsde.plotting` --
   forecast scores, baselines, PIT and coverage, figures;
9. :mod:`neuralsde.fit` -- the command line, ``python -m neuralsde.fit``, a thin shell over the
   forecaster (and the reference workflow) that writes a run folder; :mod:`neuralsde.runs` reads
   one back (:func:`load_run`).

Below them all, :mod:`neuralsde._checks` holds the shared argument checks and atomic writes;
:mod:`neuralsde.curriculum`, :mod:`neuralsde.distributed` and :mod:`neuralsde.machine` serve
training, torchrun and benchmarks.
"""

from importlib.metadata import PackageNotFoundError, version

from .data import TimeSeries, load_csv
from .forecast_result import Forecast, PanelForecast
from .forecaster import Forecaster
from .forecasting import forecast
from .nets import CubicFeatures, mlp, reference_diffusion, reference_drift
from .ode import NeuralODE
from .runs import Run, load_run
from .sde import NeuralDSDE, build_model
from .solvers import (
    MaxStepsError,
    NonFiniteStateError,
    SolveConfig,
    SolverError,
    SolveStats,
    brownian_interval,
    solve,
)

try:
    __version__ = version("neuralsde")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = [
    "CubicFeatures", "Forecast", "Forecaster", "MaxStepsError", "NeuralDSDE", "NeuralODE",
    "NonFiniteStateError", "PanelForecast", "Run", "SolveConfig", "SolveStats", "SolverError",
    "TimeSeries", "brownian_interval", "build_model", "forecast", "load_csv", "load_run", "mlp",
    "reference_diffusion", "reference_drift", "solve",
]
