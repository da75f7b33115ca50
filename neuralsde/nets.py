"""Networks for drift and diffusion: cubic features, MLP builders and the reference nets.

The reference nets come from the DiffEqFlux neural SDE blog example:

* drift ``y**3 -> Linear(3, 20) -> tanh -> Linear(20, 3)``. The blog writes ``FastDense(20, 3)``
  straight
  after ``x.^3``, which cannot take a 3-vector; a hidden layer of 20 is the consistent reading.
* diffusion, the "Wiener net": ``Linear(3, 20) -> sigmoid -> Linear(20, 3)``, one output per state
  component (diagonal noise). It mixes components, so the noise is not commutative.
"""

from __future__ import annotations

from torch import nn

from ._checks import check_int

ACTIVATIONS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU, "softplus": nn.Softplus,
               "silu": nn.SiLU, "identity": nn.Identity}


class CubicFeatures(nn.Module):
    """Element-wise cube, ``y -> y**3``: the blog drift's input features."""

    def forward(self, y):
        return y * y * y


def _activation(name: str, argument: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"{argument}={name!r} is not supported; expected one of "
                         f"{tuple(ACTIVATIONS)}.")
    return ACTIVATIONS[name]()


class LinearSkip(nn.Module):
    """``net(x) + A x``: a network beside a linear map without bias that starts at zero.

    Where a drift net's hidden units saturate (tanh) outside the data, its output goes flat;
    the linear path keeps a mean reversion it learned in the data going into the sparse tails
    instead of flattening it there. Starting at zero, it leaves the initial model as the net
    alone.
    """

    def __init__(self, net: nn.Module, in_dim: int, out_dim: int):
        super().__init__()
        self.net = net
        self.linear = nn.Linear(in_dim, out_dim, bias=False)
        nn.init.zeros_(self.linear.weight)

    def forward(self, x):
        return self.net(x) + self.linear(x)


def mlp(in_dim: int, out_dim: int, *, hidden: int = 20, layers: int = 1, activation: str = "tanh",
        final_activation: str | None = None, cubic: bool = False) -> nn.Sequential:
    """A small multilayer perceptron.

    Args:
        in_dim: input size.
        out_dim: output size.
        hidden: width of each hidden layer.
        layers: number of hidden layers (0 gives a single ``Linear``).
        activation: hidden activation, one of ``ACTIVATIONS``.
        final_activation: optional activation after the last layer (e.g. ``"softplus"`` for a
            positive diffusion).
        cubic: prepend :class:`CubicFeatures` (``y**3``).

    Returns:
        ``nn.Sequential`` mapping ``(batch, in_dim)`` to ``(batch, out_dim)``.
    """
    for name, value in (("in_dim", in_dim), ("out_dim", out_dim), ("hidden", hidden)):
        check_int(name, value, 1)
    check_int("layers", layers, 0)
    modules: list[nn.Module] = [CubicFeatures()] if cubic else []
    width = in_dim
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), _activation(activation, "activation")]
        width = hidden
    modules.append(nn.Linear(width, out_dim))
    if final_activation is not None:
        modules.append(_activation(final_activation, "final_activation"))
    return nn.Sequential(*modules)


def reference_drift(dim: int = 3, hidden: int = 20) -> nn.Sequential:
    """The blog's drift: ``y**3 -> Linear(dim, hidden) -> tanh -> Linear(hidden, dim)``."""
    return mlp(dim, dim, hidden=hidden, layers=1, activation="tanh", cubic=True)


def reference_diffusion(dim: int = 3, hidden: int = 20) -> nn.Sequential:
    """The blog's "Wiener net": ``Linear(dim, hidden) -> sigmoid -> Linear(hidden, dim)``."""
    return mlp(dim, dim, hidden=hidden, layers=1, activation="sigmoid")
