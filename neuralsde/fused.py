"""Drift and diffusion of a :class:`neuralsde.NeuralDSDE` in one pass, their layers stacked.

A fixed-step solve evaluates ``f`` and ``g`` at every step on the same input. When both are
MLPs of :func:`neuralsde.nets.mlp` (the forecaster's models), they can run as one network: the
two first layers' weights (and a :class:`neuralsde.nets.LinearSkip`'s map, which reads the same
input) concatenated into one matrix, the later layers block-diagonal. A step then makes one
matrix product per layer instead of two or three, computes the seasonal features once and
applies a shared activation once: at the forecaster's sizes an Euler step's cost is mostly the
number of operations, not their arithmetic. A ``tanh`` layer runs as ``2 sigmoid(2x) - 1``
with the factors folded into the weights around it (one sigmoid call per layer; torch's CPU
``tanh`` costs about four sigmoids). ``benchmarks/README.md``, *The Brownian increments,
and drift and diffusion in one pass*, measures it. The weights are stacked once per solve, so gradients reach the parameters
through the stacking. It is the same function: results agree with separate calls to rounding
(``tests/test_fused.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .nets import ACTIVATIONS, LinearSkip

#: Parameterless activations as functions; a folded ``tanh`` becomes a sigmoid.
_FUNCTIONS = {nn.Tanh: torch.sigmoid, nn.Sigmoid: torch.sigmoid, nn.ReLU: torch.relu,
              nn.SiLU: F.silu, nn.Identity: lambda z: z}
_KNOWN = tuple(ACTIVATIONS.values())


def _mlp_parts(net: nn.Module):
    """``(linears, hidden activations, final activation or None)`` of a plain MLP
    (``Linear, act, ..., Linear[, act]``, every Linear with a bias), or None for anything
    else (cubic features, other modules)."""
    if type(net) is not nn.Sequential:
        return None
    mods = list(net)
    final = mods.pop() if mods and isinstance(mods[-1], _KNOWN) else None
    linears, acts = mods[0::2], mods[1::2]
    if len(linears) != len(acts) + 1:
        return None
    if not all(type(m) is nn.Linear and m.bias is not None for m in linears):
        return None
    if not all(isinstance(a, _KNOWN) for a in acts):
        return None
    return linears, acts, final


def _fold_tanh(layer: list, after: list, tanh: torch.Tensor, n_skip: int) -> None:
    """Rewrite the products around a hidden layer so that its ``tanh`` columns (mask ``tanh``)
    can run as sigmoids: ``tanh(p) = 2 sigmoid(2p) - 1``, so the layer's own product doubles on
    those columns and the next one doubles those rows and subtracts their sum from its bias.
    ``layer`` and ``after`` are ``[weight (in, out), bias]`` lists, changed in place; the
    layer's last ``n_skip`` columns (the linear skip's) are left alone."""
    scale = 1 + tanh
    columns = torch.cat([scale, scale.new_ones(n_skip)])
    layer[0], layer[1] = layer[0] * columns, layer[1] * columns
    after[1] = after[1] - tanh @ after[0]
    after[0] = after[0] * scale[:, None]


def _activate(z: torch.Tensor, drift_act, diffusion_act, width: int):
    """The hidden activations on a stacked layer: the drift's on its first ``width`` columns,
    the diffusion's on the rest (one call when they are the same function)."""
    if drift_act is diffusion_act:
        return drift_act(z)
    return torch.cat([drift_act(z[:, :width]), diffusion_act(z[:, width:])], dim=-1)


def _function(act: nn.Module):
    return _FUNCTIONS.get(type(act), act)


def stacked_fields(model, times: Sequence[float], t0: torch.Tensor | None = None
                   ) -> Callable | None:
    """A function ``(k, y) -> (f(t, y), g(t, y))`` at ``t = times[k]`` (plus ``t0``) for
    ``model`` (a NeuralDSDE) that evaluates both networks in one stacked pass with the model's
    current weights, or None where the nets are not plain MLPs with as many layers each (then
    call ``f`` and ``g``).

    Build it once per solve, for the solve's step times: it holds the stacked weights (made from
    the parameters, so gradients reach them) and, for a seasonal model, the seasonal features'
    part of the first layer at every one of ``times``, so a step multiplies the state alone.
    ``t0`` (batch, 1), a start time per path (windows solved on relative time), turns each
    path's seasonal features by its own start phase (:func:`_first_layer`)."""
    drift, skip = model.drift, None
    if type(drift) is LinearSkip:
        drift, skip = drift.net, drift.linear
    d_parts, g_parts = _mlp_parts(drift), _mlp_parts(model.diffusion)
    if d_parts is None or g_parts is None or d_parts[2] is not None:
        return None
    (d_lin, d_act, _), (g_lin, g_act, g_final) = d_parts, g_parts
    if len(d_lin) != len(g_lin):
        return None
    first = [[d_lin[0].weight, g_lin[0].weight], [d_lin[0].bias, g_lin[0].bias]]
    if skip is not None:  # the skip reads the input, so it rides on the first product
        first[0].append(skip.weight)
        first[1].append(torch.zeros_like(skip.weight[:, 0]))
    layers = [[torch.cat(first[0]).t(), torch.cat(first[1])]]
    layers += [[torch.block_diag(a.weight, b.weight).t(), torch.cat([a.bias, b.bias])]
               for a, b in zip(d_lin[1:], g_lin[1:])]
    n_skip = 0 if skip is None else skip.out_features
    widths = [lin.out_features for lin in d_lin]
    for j in range(len(layers) - 1):
        tanh = torch.tensor([type(d_act[j]) is nn.Tanh] * widths[j]
                            + [type(g_act[j]) is nn.Tanh] * g_lin[j].out_features,
                            dtype=layers[0][0].dtype, device=layers[0][0].device)
        if tanh.any():
            _fold_tanh(layers[j], layers[j + 1], tanh, n_skip if j == 0 else 0)
    acts = [(_function(a), _function(b)) for a, b in zip(d_act, g_act)]
    (w0, b0), later = layers[0], layers[1:]
    first = _first_layer(model, w0, b0, times, t0)

    def fields(k, y):
        z = first(k, y)
        if n_skip:
            z, linear = z[:, :-n_skip], z[:, -n_skip:]
        for j, (w, b) in enumerate(later):
            z = torch.addmm(b, _activate(z, *acts[j], widths[j]), w)
        f, g = z[:, :widths[-1]], z[:, widths[-1]:]
        if n_skip:
            f = f + linear
        return f, (g if g_final is None else g_final(g))

    return fields



def _first_layer(model, w0: torch.Tensor, b0: torch.Tensor, times: Sequence[float], t0):
    """The first layer's product as a function ``(k, y)``. For a seasonal model the features
    ``sin`` and ``cos`` of the phase (as :meth:`neuralsde.NeuralDSDE.f` computes them) enter
    through the last two rows of ``w0``: their product is made for every one of ``times`` at
    once, as a bias per step. With a start time ``t0`` per path the phase is ``a + b`` (``a``
    the path's start phase, ``b`` the step's), and ``[sin, cos](a + b) = [sin a, cos a] R(b)``
    with ``R(b)`` the rotation ``[[cos b, -sin b], [sin b, cos b]]``, so each step's seasonal
    rows are turned once per solve and a step adds one small product."""
    if model.period is None:
        return lambda k, y: torch.addmm(b0, y, w0)
    state, seasonal = w0[:-2], w0[-2:]
    scale = 2 * math.pi / model.period
    phase = torch.tensor(list(times), dtype=w0.dtype, device=w0.device) * scale
    if t0 is None:
        biases = torch.addmm(b0, torch.stack([phase.sin(), phase.cos()], dim=-1), seasonal)
        return lambda k, y: torch.addmm(biases[k], y, state)
    start = torch.as_tensor(t0, dtype=w0.dtype, device=w0.device).reshape(-1) * scale
    at_start = torch.stack([start.sin(), start.cos()], dim=-1)  # (batch, 2)
    cos, sin = phase.cos(), phase.sin()
    rotation = torch.stack([torch.stack([cos, -sin], dim=-1), torch.stack([sin, cos], dim=-1)],
                           dim=-2)  # (steps, 2, 2)
    turned = rotation @ seasonal  # (steps, 2, width)
    return lambda k, y: torch.addmm(torch.addmm(b0, at_start, turned[k]), y, state)
