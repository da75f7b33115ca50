"""Training losses: simulated sample paths against observed, possibly incomplete, data.

Every loss takes

* ``pred`` of shape ``(T, B, d)``: ``B`` simulated sample paths of the ``d`` observed channels
  (the caller slices the observed channels out of the state);
* ``data`` of shape ``(T, P, d)``: ``P`` observed sample paths (``P = 1`` for a single series,
  ``P > 1`` for a panel), NaN where missing;
* ``mask`` of shape ``(T, P, d)``, ``torch.bool``, ``True`` where ``data`` is observed;

and returns a scalar tensor that is differentiable in ``pred``. Masked entries never reach the
arithmetic (they are replaced with ``torch.where`` first), so a NaN in ``data`` leaks neither into
the value nor into the gradient, and changing a masked value does not change the loss.

Three losses, because they fit different things:

* :func:`mse_mean_path`: the mean of the simulated paths against the mean of the data (with
  ``B = P = 1`` this is the DiffEqFlux neural SDE blog's loss on one sample path). It says nothing
  about the spread of the paths.
* :func:`mse_per_path`: each simulated path against the data; it penalises the variance of the
  paths and so drives the diffusion towards zero.
* :func:`moments`: the mean and the variance across paths against the data's (DiffEqFlux's
  neural SDE tutorial); needs several observed paths or a variance target.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["mse_mean_path", "mse_per_path", "moments", "LOSSES", "get_loss"]


def _check(pred: torch.Tensor, data: torch.Tensor, mask: torch.Tensor):
    """Validates shapes and dtypes once; returns ``data`` on ``pred``'s dtype/device, and mask."""
    for name, value in (("pred", pred), ("data", data), ("mask", mask)):
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor; got {type(value).__name__}.")
    if pred.ndim != 3 or data.ndim != 3:
        raise ValueError(
            f"pred must have shape (T, B, d) and data shape (T, P, d) (time, sample paths, "
            f"observed channels); got pred.shape={tuple(pred.shape)}, "
            f"data.shape={tuple(data.shape)}.")
    if pred.shape[0] != data.shape[0] or pred.shape[2] != data.shape[2]:
        raise ValueError(
            f"pred.shape={tuple(pred.shape)} (T, B, d) and data.shape={tuple(data.shape)} "
            f"(T, P, d) must agree in T (time points) and d (observed channels).")
    if mask.shape != data.shape:
        raise ValueError(
            f"mask.shape={tuple(mask.shape)} must equal data.shape={tuple(data.shape)} "
            f"(T, P, d).")
    if mask.dtype != torch.bool:
        raise ValueError(f"mask.dtype={mask.dtype} is not supported; expected torch.bool "
                         f"(True = observed).")
    if not pred.is_floating_point():
        raise ValueError(f"pred.dtype={pred.dtype} is not supported; expected a floating dtype.")
    mask = mask.to(pred.device)
    if not bool(mask.any()):
        raise ValueError(f"mask (shape {tuple(mask.shape)}) has no observed entry; there is "
                         f"nothing to fit.")
    return data.to(dtype=pred.dtype, device=pred.device), mask


def _observed_mean(data: torch.Tensor, mask: torch.Tensor):
    """Masked mean over the paths axis.

    Args:
        data: ``(T, P, d)``, NaN allowed where ``mask`` is False.
        mask: ``(T, P, d)`` bool.

    Returns:
        ``(target, count, filled)``: ``target`` ``(T, d)`` the mean of the observed values (0 where
        none is observed), ``count`` ``(T, d)`` the number of observed values, ``filled``
        ``(T, P, d)`` the data with masked entries set to 0.
    """
    filled = torch.where(mask, data, torch.zeros_like(data))  # (T, P, d), NaN-free
    count = mask.sum(dim=1)  # (T, d)
    target = filled.sum(dim=1) / count.clamp(min=1).to(data.dtype)  # (T, d)
    return target, count, filled


def mse_mean_path(pred: torch.Tensor, data: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the mean simulated path against the mean observed path.

    The target is the masked mean of ``data`` over its ``P`` paths, defined at the ``(t, channel)``
    entries where at least one path is observed; the prediction is the mean of ``pred`` over its
    ``B`` paths. The squared error is averaged over those observed entries. With ``B = P = 1``
    this is the DiffEqFlux blog's loss on a single sample path.

    Args:
        pred: ``(T, B, d)`` simulated paths of the observed channels.
        data: ``(T, P, d)`` observations, NaN where missing.
        mask: ``(T, P, d)`` bool, True where observed.

    Returns:
        A scalar tensor, differentiable in ``pred``.

    Raises:
        ValueError: if the shapes disagree, ``mask`` is not bool or observes nothing.
    """
    data, mask = _check(pred, data, mask)
    target, count, _ = _observed_mean(data, mask)  # (T, d)
    observed = count > 0  # (T, d)
    diff = torch.where(observed, pred.mean(dim=1) - target, torch.zeros_like(target))  # (T, d)
    return (diff * diff).sum() / observed.sum()


def mse_per_path(pred: torch.Tensor, data: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average over the simulated paths of each path's mean squared error against the data.

    The target is the same as in :func:`mse_mean_path` (masked mean of ``data`` over ``P``); each
    of the ``B`` simulated paths is compared with it and the ``B`` errors are averaged.

    Caveat: this loss drives the diffusion towards zero. For paths ``X_b`` with mean ``E X`` and
    target ``y``, ``E ||X_b - y||^2 = ||E X - y||^2 + tr Var X``: the variance of the paths is
    penalised directly, on top of the error of their mean, so for any drift the loss is lowest
    when the paths do not spread at all, and the minimiser is a deterministic model. Use it to fit
    paths, not to learn noise; :func:`moments` fits the spread.

    Args:
        pred: ``(T, B, d)`` simulated paths of the observed channels.
        data: ``(T, P, d)`` observations, NaN where missing.
        mask: ``(T, P, d)`` bool, True where observed.

    Returns:
        A scalar tensor, differentiable in ``pred``.

    Raises:
        ValueError: if the shapes disagree, ``mask`` is not bool or observes nothing.
    """
    data, mask = _check(pred, data, mask)
    target, count, _ = _observed_mean(data, mask)  # (T, d)
    observed = (count > 0).unsqueeze(1)  # (T, 1, d)
    diff = torch.where(observed, pred - target.unsqueeze(1), torch.zeros_like(pred))  # (T, B, d)
    return (diff * diff).sum() / (observed.sum() * pred.shape[1])


def moments(pred: torch.Tensor, data: torch.Tensor, mask: torch.Tensor, *,
            var_target: torch.Tensor | None = None) -> torch.Tensor:
    """Moment matching: squared error of the mean and of the variance across paths.

    In the style of DiffEqFlux's neural SDE tutorial
    (``sum(abs2, data_means - means) + sum(abs2, data_vars - vars)``), with means instead of sums
    so that the value does not grow with the number of points:

    ``loss = mean_{observed} (mean_B pred - mean_P data)^2
    + mean_{var entries} (var_B pred - var_P data)^2``.

    Both variances are unbiased (divide by ``B - 1`` and by the number of observed values minus
    one). The data variance is defined only at entries with at least 2 observed values; entries
    with fewer are left out of the variance term (they still count in the mean term).

    Args:
        pred: ``(T, B, d)`` simulated paths of the observed channels, ``B >= 2``.
        data: ``(T, P, d)`` observations, NaN where missing.
        mask: ``(T, P, d)`` bool, True where observed.
        var_target: optional variance target broadcastable to ``(T, d)``; it replaces the data
            variance, and the variance term then runs over the entries where at least one path is
            observed and ``var_target`` is finite. Needed when ``P == 1``.

    Returns:
        A scalar tensor, differentiable in ``pred``.

    Raises:
        ValueError: if the shapes disagree, ``mask`` is not bool or observes nothing, ``B < 2``,
            ``P == 1`` without ``var_target``, ``var_target`` does not broadcast or is negative,
            or no entry is left for the variance term.
    """
    data, mask = _check(pred, data, mask)
    T, B, d = pred.shape
    P = data.shape[1]
    if B < 2:
        raise ValueError(
            f"moments needs at least 2 simulated paths to estimate a variance; got "
            f"pred.shape={tuple(pred.shape)} (T, B, d) with B={B}.")
    if P == 1 and var_target is None:
        raise ValueError(
            f"moments matches the variance across observed paths, which one path cannot give: "
            f"data.shape={tuple(data.shape)} (T, P, d) has P=1. Pass a panel (P >= 2 observed "
            f"paths) or var_target (broadcastable to (T, d) = ({T}, {d})), or use another loss.")
    target, count, filled = _observed_mean(data, mask)  # (T, d)
    observed = count > 0  # (T, d)
    zero = torch.zeros_like(target)
    mean_diff = torch.where(observed, pred.mean(dim=1) - target, zero)  # (T, d)
    mean_term = (mean_diff * mean_diff).sum() / observed.sum()

    if var_target is None:
        dev = torch.where(mask, filled - target.unsqueeze(1), torch.zeros_like(filled))  # (T, P, d)
        var_ok = count >= 2  # (T, d)
        denom = (count - 1).clamp(min=1).to(pred.dtype)
        data_var = torch.where(var_ok, (dev * dev).sum(dim=1) / denom, zero)  # (T, d)
    else:
        vt = torch.as_tensor(var_target, dtype=pred.dtype, device=pred.device)
        try:
            vt = torch.broadcast_to(vt, (T, d))
        except RuntimeError:
            raise ValueError(
                f"var_target.shape={tuple(vt.shape)} does not broadcast to (T, d) = ({T}, {d})."
            ) from None
        finite = torch.isfinite(vt)
        if bool((torch.where(finite, vt, zero) < 0).any()):
            raise ValueError("var_target has negative entries; a variance must be >= 0.")
        var_ok = observed & finite
        data_var = torch.where(var_ok, vt, zero)  # (T, d)
    n_var = var_ok.sum()
    if int(n_var) == 0:
        raise ValueError(
            f"moments has no entry for the variance term: no (time, channel) entry of mask "
            f"(shape {tuple(mask.shape)}) has 2 or more observed paths"
            + ("." if var_target is None else " or a finite var_target."))
    var_diff = torch.where(var_ok, pred.var(dim=1, unbiased=True) - data_var, zero)  # (T, d)
    return mean_term + (var_diff * var_diff).sum() / n_var


LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "mse": mse_mean_path,
    "per_path": mse_per_path,
    "moments": moments,
}


def get_loss(name: str) -> Callable[..., torch.Tensor]:
    """Looks a loss up by name in :data:`LOSSES`.

    Args:
        name: one of ``"mse"``, ``"per_path"``, ``"moments"``.

    Returns:
        The loss function ``(pred, data, mask) -> scalar``.

    Raises:
        ValueError: naming ``loss``, the value and the accepted names, if ``name`` is unknown.
    """
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"loss={name!r} is not supported; expected one of {tuple(LOSSES)}.")
    return LOSSES[name]
