"""Reusable SDE problems for the tests, with exact solutions where they exist."""

import math

import torch
from torch import nn

from neuralsde import NeuralDSDE


class GBM(nn.Module):
    """Geometric Brownian motion ``dy = mu y dt + sigma y dW`` (Itô, element-wise).

    Exact solution on the same path: ``y(t) = y0 exp((mu - sigma^2/2) t + sigma W(t))``.
    """

    noise_type = "diagonal"
    sde_type = "ito"

    def __init__(self, mu=0.5, sigma=0.8):
        super().__init__()
        self.mu = mu
        self.sigma = sigma

    def f(self, t, y):
        return self.mu * y

    def g(self, t, y):
        return self.sigma * y

    def exact(self, y0, t, W):
        return y0 * torch.exp((self.mu - 0.5 * self.sigma**2) * t + self.sigma * W)


class ElementwiseNonlinear(nn.Module):
    """``dy = sin(y) dt + 0.5 cos(y) dW``: nonlinear, diagonal and element-wise (commutative)."""

    noise_type = "diagonal"
    sde_type = "ito"

    def f(self, t, y):
        return torch.sin(y)

    def g(self, t, y):
        return 0.5 * torch.cos(y)


class Brownian(nn.Module):
    """``dy = dW``: drift 0, diffusion 1, so ``y(t) - y(0) = W(t) ~ N(0, t)``."""

    def f(self, t, y):
        return torch.zeros_like(y)

    def g(self, t, y):
        return torch.ones_like(y)


class Counting(nn.Module):
    """Wraps a model and counts drift and diffusion calls."""

    noise_type = "diagonal"
    sde_type = "ito"

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.n_f = 0
        self.n_g = 0

    def f(self, t, y):
        self.n_f += 1
        return self.model.f(t, y)

    def g(self, t, y):
        self.n_g += 1
        return self.model.g(t, y)


class Scaled(nn.Module):
    def __init__(self, net, scale):
        super().__init__()
        self.net = net
        self.scale = scale

    def forward(self, y):
        return self.scale * self.net(y)


def tiny_model(d=2, hidden=8, noise_scale=0.1, seed=0):
    """A small neural SDE; the diffusion is scaled down (small noise makes backprop and adjoint
    comparable at a moderate dt, as in torchsde's own adjoint tests)."""
    torch.manual_seed(seed)
    drift = nn.Sequential(nn.Linear(d, hidden), nn.Tanh(), nn.Linear(hidden, d))
    diffusion = Scaled(nn.Sequential(nn.Linear(d, hidden), nn.Sigmoid(), nn.Linear(hidden, d)),
                       noise_scale)
    return NeuralDSDE(drift, diffusion)


def strong_order(dts, errors):
    """Least-squares slope of log(error) against log(dt)."""
    xs = [math.log(h) for h in dts]
    ys = [math.log(e) for e in errors]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
