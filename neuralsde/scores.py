"""Strictly proper scoring rules for ensembles of simulated paths, in torch.

A scoring rule ``S(F, y)`` rates a forecast distribution ``F`` once ``y`` is observed (lower is
better). It is *proper* when the true distribution ``G`` of ``y`` minimises the expected score,
``E_G S(G, y) <= E_G S(F, y)`` for every ``F``, and *strictly* proper when ``G`` is the only
minimiser. Training on a strictly proper score therefore fits the whole predictive distribution:
the mean *and* the spread of the simulated paths. A squared error of each simulated path against
the data does not: its expectation is the squared error of the path mean plus the variance of the
paths, so it rewards collapsing the spread (it drives a neural SDE's diffusion to zero), and a
squared error on the path mean ignores the spread altogether.

Two scores, both with the *fair* (unbiased) ensemble estimator, whose expectation over the
ensemble members is the score of the distribution they are drawn from; the plain estimator (``M^2``
in the denominator) instead favours under-dispersed ensembles for finite ``M`` (Ferro 2014):

* :func:`crps_fair`: the continuous ranked probability score of each scalar entry,
  ``CRPS(F, y) = E|X - y| - E|X - X'| / 2`` with ``X, X' ~ F`` independent. For an ensemble
  ``x_1..x_M``::

      mean_i |x_i - y| - 1 / (2 M (M - 1)) * sum_{i,j} |x_i - x_j|

  computed in ``O(M log M)`` time and ``O(M)`` memory per entry by sorting:
  ``sum_{i<j} |x_(j) - x_(i)| = sum_k (2k - M - 1) x_(k)`` for the sorted ``x_(1) <= .. <= x_(M)``.
* :func:`energy_score`: its multivariate generalisation over a vector (for a window of a series:
  its whole horizon times channels, flattened), strictly proper for ``0 < beta < 2``, which
  also rewards the right dependence between the coordinates::

      mean_i ||x_i - y||^beta - 1 / (2 M (M - 1)) * sum_{i != j} ||x_i - x_j||^beta

  with the Euclidean norm; it needs the ``M x M`` distances of each vector's ensemble.

Missing observations (``mask`` False, NaN allowed in ``obs``) never reach the arithmetic: they are
replaced with ``torch.where`` first, so a NaN leaks neither into the value nor into the gradient.
The CRPS of a missing entry is 0; the energy score measures norms over the observed coordinates of
each vector only, and a vector with no observed coordinate scores 0. Both are differentiable in
``samples`` (the gradient of a distance is taken as 0 where the distance is 0) and meant both as
training losses and for evaluation; reduce them (e.g. a masked mean) as the task needs.

References:
    T. Gneiting and A. E. Raftery (2007). Strictly proper scoring rules, prediction, and
    estimation. Journal of the American Statistical Association 102(477), 359-378.

    C. A. T. Ferro (2014). Fair scores for ensemble forecasts. Quarterly Journal of the Royal
    Meteorological Society 140(683), 1917-1923.

    The fair energy score: the same unbiased correction applied to the energy score's spread
    term, as e.g. in ``scoringrules.energy_score(..., estimator="fair")``.
"""

from __future__ import annotations

import math
import numbers

import torch

from neuralsde._checks import check_int

__all__ = ["crps_fair", "energy_score"]


def _check_tensors(samples, obs, mask, layout: str, given: tuple) -> torch.Tensor:
    """Checks shared by both scores, on ``samples`` with its ensemble moved first; ``layout`` and
    ``given`` (the caller's ``samples.shape``) are for messages. Returns the mask (``~isnan(obs)``
    if None) on ``samples``'s device."""
    for name, value in (("samples", samples), ("obs", obs)):
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor; got {type(value).__name__}.")
    if not samples.is_floating_point():
        raise ValueError(f"samples.dtype={samples.dtype} is not supported; expected a floating "
                         f"dtype.")
    if samples.ndim != obs.ndim + 1 or tuple(samples.shape[1:]) != tuple(obs.shape):
        raise ValueError(
            f"samples must have shape {layout}; got samples.shape={given} and "
            f"obs.shape={tuple(obs.shape)}.")
    if samples.shape[0] < 2:
        raise ValueError(f"samples has M={samples.shape[0]} ensemble member(s); the fair "
                         f"estimator needs M >= 2.")
    if mask is None:
        return ~torch.isnan(obs).to(samples.device)
    if not isinstance(mask, torch.Tensor):
        raise ValueError(f"mask must be None or a torch.Tensor; got {type(mask).__name__}.")
    if mask.dtype != torch.bool:
        raise ValueError(f"mask.dtype={mask.dtype} is not supported; expected torch.bool "
                         f"(True = observed).")
    if tuple(mask.shape) != tuple(obs.shape):
        raise ValueError(f"mask.shape={tuple(mask.shape)} must equal "
                         f"obs.shape={tuple(obs.shape)}.")
    return mask.to(samples.device)


def _safe_pow(sq: torch.Tensor, exponent: float) -> torch.Tensor:
    """``sq ** exponent`` with 0 (value and gradient) where ``sq == 0``.

    The inner ``where`` keeps ``0 ** (exponent - 1)`` (infinite for ``exponent < 1``) out of the
    backward pass, so the gradient of a zero distance is 0 instead of NaN.
    """
    positive = sq > 0
    return torch.where(positive, torch.where(positive, sq, torch.ones_like(sq)) ** exponent,
                       torch.zeros_like(sq))


def crps_fair(samples: torch.Tensor, obs: torch.Tensor, mask: torch.Tensor | None = None, *,
              dim: int = 0) -> torch.Tensor:
    """The fair (unbiased) ensemble CRPS of each entry of ``obs``.

    ``mean_i |x_i - y| - 1 / (2 M (M - 1)) sum_{i,j} |x_i - x_j|`` per entry, by sorting the
    ensemble (``O(M log M)``; no ``M x M`` tensor). Lower is better.

    Args:
        samples: ``(..., M, ...)`` floating tensor: ``M >= 2`` ensemble members along ``dim`` and
            otherwise the shape of ``obs``.
        obs: ``(*S)`` observations; NaN allowed where ``mask`` is False. Cast to ``samples``'s
            dtype and device.
        mask: ``(*S)`` bool, True where ``obs`` is observed; None means ``~torch.isnan(obs)``.
        dim: the ensemble dimension of ``samples``.

    Returns:
        ``(*S)`` tensor, 0 where ``mask`` is False (with a zero gradient there), differentiable
        in ``samples``.

    Raises:
        ValueError: naming the argument, for a non-tensor, a non-floating ``samples``, a ``dim``
            out of range, shapes that do not match, ``M < 2`` or a bad ``mask``.
    """
    if not isinstance(samples, torch.Tensor):
        raise ValueError(f"samples must be a torch.Tensor; got {type(samples).__name__}.")
    if samples.ndim == 0:
        raise ValueError("samples must have an ensemble dimension; got a 0-dimensional tensor.")
    check_int("dim", dim, -samples.ndim, samples.ndim - 1)
    x = samples.movedim(dim, 0)  # (M, *S)
    mask = _check_tensors(x, obs, mask, f"obs.shape with the M members inserted at dim={dim}",
                          tuple(samples.shape))
    m = x.shape[0]
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    y = torch.where(mask, obs.to(dtype=x.dtype, device=x.device), zero)
    x = torch.where(mask, x, zero)
    error = (x - y).abs().mean(dim=0)  # (*S)
    ranks = torch.arange(1, m + 1, dtype=x.dtype, device=x.device)
    weights = (2 * ranks - m - 1).reshape((m,) + (1,) * (x.ndim - 1))
    pair_sum = (weights * torch.sort(x, dim=0).values).sum(dim=0)  # sum_{i<j} |x_i - x_j|
    score = error - pair_sum / (m * (m - 1))
    return torch.where(mask, score, torch.zeros_like(score))


def energy_score(samples: torch.Tensor, obs: torch.Tensor, mask: torch.Tensor | None = None, *,
                 beta: float = 1.0) -> torch.Tensor:
    """The fair (unbiased) ensemble energy score of each vector of ``obs``.

    ``mean_i ||x_i - y||^beta - 1 / (2 M (M - 1)) sum_{i != j} ||x_i - x_j||^beta`` over the last
    dimension, with norms over the observed coordinates of each vector only. Lower is better.

    Args:
        samples: ``(M, *S, k)`` floating tensor, ``M >= 2`` ensemble members of each vector.
        obs: ``(*S, k)`` observed vectors; NaN allowed where ``mask`` is False. Cast to
            ``samples``'s dtype and device.
        mask: ``(*S, k)`` bool, True where ``obs`` is observed; None means ``~torch.isnan(obs)``.
        beta: the exponent of the distances, in ``(0, 2)`` (strictly proper there; ``beta = 1``
            is the usual energy score).

    Returns:
        ``(*S)`` tensor, 0 for a vector with no observed coordinate, differentiable in
        ``samples`` (memory ``O(M^2)`` per vector for the pairwise distances).

    Raises:
        ValueError: naming the argument, for a non-tensor, a non-floating ``samples``, an ``obs``
            without a vector dimension, shapes that do not match, ``M < 2``, a bad ``mask`` or
            ``beta`` outside ``(0, 2)``.
    """
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not math.isfinite(beta) \
            or not 0 < beta < 2:
        raise ValueError(f"beta={beta!r} is not supported; expected a number in (0, 2).")
    if isinstance(obs, torch.Tensor) and obs.ndim == 0:
        raise ValueError("obs must have a vector dimension (..., k); got a 0-dimensional tensor.")
    mask = _check_tensors(samples, obs, mask, "(M, *obs.shape)", tuple(samples.shape))
    m = samples.shape[0]
    zero = torch.zeros((), dtype=samples.dtype, device=samples.device)
    y = torch.where(mask, obs.to(dtype=samples.dtype, device=samples.device), zero)
    x = torch.where(mask, samples, zero)  # unobserved coordinates are 0 in every vector
    error = _safe_pow((x - y).square().sum(dim=-1), beta / 2).mean(dim=0)  # (*S)
    members = x.movedim(0, -2)  # (*S, M, k)
    dist = torch.cdist(members, members, compute_mode="donot_use_mm_for_euclid_dist")
    spread = _safe_pow(dist, beta).sum(dim=(-2, -1))  # (*S); the diagonal is exactly 0
    score = error - spread / (2 * m * (m - 1))
    return torch.where(mask.any(dim=-1), score, torch.zeros_like(score))
