"""Drawing sample paths from a model, and the initial state paths start from."""

from __future__ import annotations

import torch

from .._checks import check_int
from ..data import Scaling, TimeSeries
from ..solvers import SolveConfig, solve


def initial_state(series: TimeSeries, state_dim: int) -> torch.Tensor:
    """``y0`` of shape (state_dim,): the first observation (mean over observed paths) in the
    observed channels, zeros in the latent ones. Channels missing at the first time use their
    first observed value."""
    d = series.dim
    if state_dim < d:
        raise ValueError(f"state_dim={state_dim} is smaller than the {d} observed channels; "
                         f"expected state_dim >= {d}.")
    y0 = torch.zeros(state_dim, dtype=torch.float64)
    for c in range(d):
        observed = series.mask[:, :, c].any(dim=1).nonzero()
        if len(observed) == 0:
            continue
        k = int(observed[0])
        m = series.mask[k, :, c]
        y0[c] = series.ys[k, :, c][m].mean()
    return y0


def model_dtype_device(model) -> tuple[torch.dtype, torch.device]:
    """The dtype and device of the model's first parameter (the defaults when it has none)."""
    params = list(model.parameters())
    if not params:
        return torch.get_default_dtype(), torch.device("cpu")
    return params[0].dtype, params[0].device


def _to_model_units(y0, ts, t0, scaling):
    d = scaling.dim
    if y0.shape[0] < d:
        raise ValueError(f"y0 has {y0.shape[0]} entries but the scaling has {d} channels.")
    # a forecast (t0 given) goes on past t0: its start is measured against the line just after
    y0[:d] = scaling.transform_y(y0[:d], ts[0] if t0 is None else float(t0), after=t0 is not None)
    ts = scaling.transform_t(ts)
    if t0 is not None:
        t0 = float(scaling.transform_t(torch.tensor([float(t0)], dtype=torch.float64))[0])
    return y0, ts, t0


@torch.no_grad()
def sample(model, y0, ts, n: int, *, solve_config: SolveConfig | None = None, seed: int = 0,
           t0: float | None = None, scaling: Scaling | None = None) -> torch.Tensor:
    """Draw ``n`` sample paths of ``model`` from the state ``y0``, saved at times ``ts``.

    Args:
        model: the SDE (``f``, ``g``).
        y0: initial state, shape (state_dim,).
        ts: (T,) increasing output times.
        n: number of paths.
        solve_config: how to solve (default :class:`SolveConfig`).
        seed: seeds the Brownian paths; the same seed gives the same samples.
        t0: the time of ``y0``, at or before ``ts[0]`` (default ``ts[0]``). With ``t0 < ts[0]`` the
            paths start at ``t0`` and only the times ``ts`` are returned (forecasting from the
            last observation).
        scaling: when given, ``t0``, ``ts``, the observed part of ``y0`` (its first
            ``scaling.dim`` entries) and the returned observed channels are in data units; latent
            channels stay in model units. A forecast (``t0`` given) of a trend scaling with a
            slope spread gets each path's slope error (:meth:`Scaling.trend_error`, seeded
            by ``seed``).

    Returns:
        (n, T, state_dim) paths.
    """
    check_int("n", n, 1)
    dtype, device = model_dtype_device(model)
    y0 = torch.as_tensor(y0, dtype=torch.float64).clone()
    if y0.dim() != 1:
        raise ValueError(f"y0 must have shape (state_dim,); got {tuple(y0.shape)}.")
    ts = torch.as_tensor(ts, dtype=torch.float64)
    if ts.dim() != 1 or len(ts) < 1:
        raise ValueError(f"ts must have shape (T,) with T >= 1; got {tuple(ts.shape)}.")
    data_ts, data_t0 = ts, t0
    if scaling is not None:
        y0, ts, t0 = _to_model_units(y0, ts, t0, scaling)
    drop = 0
    if t0 is not None:
        if t0 > float(ts[0]):
            raise ValueError(f"t0={t0!r} is after the first output time {float(ts[0])!r}; "
                             "expected t0 <= ts[0].")
        if t0 < float(ts[0]):
            ts = torch.cat([ts.new_tensor([t0]), ts])
            drop = 1
    y = y0.to(dtype=dtype, device=device).expand(n, -1).contiguous()
    if len(ts) == 1:
        ys = y.unsqueeze(0)
    else:
        ys = solve(model, y, ts.to(dtype=dtype, device=device), solve_config, seed=seed)
    ys = ys[drop:].transpose(0, 1).to(torch.float64)
    if scaling is not None:
        d = scaling.dim
        observed = ys[..., :d]
        if data_t0 is not None:  # a forecast: the trend's slope is uncertain too
            observed = observed + scaling.trend_error(n, data_ts, float(data_t0), seed)
        ys = torch.cat([scaling.inverse_y(observed, data_ts[None, :]), ys[..., d:]], dim=-1)
    return ys
