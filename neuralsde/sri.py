"""SRI stochastic Runge–Kutta schemes of strong order 1.5 for diagonal Itô noise.

Rößler, "Runge–Kutta methods for the strong approximation of solutions of stochastic
differential equations", SIAM J. Numer. Anal. 48(3), 2010 (the SRI family, order conditions);
Rackauckas & Nie, "Adaptive methods for SDEs via natural embeddings and rejection sampling with
memory", 2017 (the embedded error estimate); Rackauckas & Nie, "Stability-optimized high order
methods and stiffness detection for pathwise stiff SDEs", 2018 (SOSRI).

One step from ``t`` to ``t + h`` (all products element-wise, sums over earlier stages ``j < i``)::

    H0_i = y + h Σ A0[i][j] F_j + chi2 Σ B0[i][j] G_j         F_i = f(t + c0_i h, H0_i)
    H1_i = y + h Σ A1[i][j] F_j + √h  Σ B1[i][j] G_j          G_i = g(t + c1_i h, H1_i)
    y'   = y + h Σ α_i F_i + Σ (β1_i ΔW + β2_i chi1 + β3_i chi2 + β4_i chi3) G_i

with ``chi1 = (ΔW² − h) / (2√h)``, ``chi2 = I10 / h``, ``chi3 = (ΔW³ − 3hΔW) / (6h)`` and
``I10 = ∫ (W(s) − W(t)) ds`` over the step. Each stage's ``F`` and ``G`` is evaluated once and
reused, so a step costs 4 drift and 4 diffusion calls (fewer where a stage provably repeats the
first: SRIW1 needs 2 drift calls).

Strong order 1.5 needs commutative noise, e.g. ``g_i`` depending on ``y_i`` only. The reference
"Wiener net" mixes components, so on it these schemes have strong order 1 (still with far fewer
function calls per step than torchsde's ``srk``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import torch


@dataclass(frozen=True)
class Tableau:
    """Coefficients of a 4-stage SRI scheme plus its embedded error estimate.

    ``A0, A1, B0, B1`` are strictly lower triangular (row ``i`` holds entries ``j < i``);
    ``error_terms`` is how many leading ``F_i`` enter ``E1 = h Σ F_i`` and ``delta`` weighs ``E1``.
    """

    name: str
    A0: tuple[tuple[float, ...], ...]
    A1: tuple[tuple[float, ...], ...]
    B0: tuple[tuple[float, ...], ...]
    B1: tuple[tuple[float, ...], ...]
    alpha: tuple[float, ...]
    beta1: tuple[float, ...]
    beta2: tuple[float, ...]
    beta3: tuple[float, ...]
    beta4: tuple[float, ...]
    error_terms: int
    delta: float

    @cached_property
    def stages(self) -> int:
        return len(self.alpha)

    @cached_property
    def c0(self) -> tuple[float, ...]:
        return tuple(sum(row) for row in self.A0)

    @cached_property
    def c1(self) -> tuple[float, ...]:
        return tuple(sum(row) for row in self.A1)

    @cached_property
    def drift_calls(self) -> int:
        """Drift evaluations per step."""
        return sum(1 for s in self.drift_source() if s is None)

    @cached_property
    def noise_matrix(self) -> tuple[tuple[float, ...], ...]:
        """Rows 0..s-1: each stage's weights of (ΔW, chi1, chi2, chi3); rows s..2s-1: the error
        part (chi2, chi3 only)."""
        full = tuple((b1, b2, b3, b4) for b1, b2, b3, b4 in
                     zip(self.beta1, self.beta2, self.beta3, self.beta4))
        err = tuple((0.0, 0.0, b3, b4) for b3, b4 in zip(self.beta3, self.beta4))
        return full + err

    def drift_source(self) -> tuple[int | None, ...]:
        """For each stage, the stage whose ``F`` it provably equals, or None if it must be
        evaluated.

        Stage ``i`` repeats stage 0 when its ``A0`` and ``B0`` rows are zero and ``c0_i = 0``
        (then ``H0_i = y`` at the same time). A stage whose ``F`` is never used is marked -1.
        """
        cached = self.__dict__.get("_drift_source")
        if cached is not None:
            return cached
        n = self.stages
        used = [self.alpha[i] != 0 or i < self.error_terms
                or any(self.A0[k][i] != 0 or self.A1[k][i] != 0 for k in range(i + 1, n))
                for i in range(n)]
        out: list[int | None] = []
        for i in range(n):
            if not used[i]:
                out.append(-1)
            elif i > 0 and not any(self.A0[i]) and not any(self.B0[i]) and self.c0[i] == 0:
                out.append(0)
            else:
                out.append(None)
        self.__dict__["_drift_source"] = tuple(out)
        return self.__dict__["_drift_source"]


def _lower(rows):
    """Pad the given lower-triangular rows (stage 2..s) into full rows with a zero first row."""
    return ((),) + tuple(tuple(r) for r in rows)


SOSRI = Tableau(
    name="sosri",
    A0=_lower([[-0.04199224421316468],
               [2.842612915017106, -2.0527723684000727],
               [4.338237071435815, -2.8895936137439793, 2.3017575594644466]]),
    A1=_lower([[0.26204282091330466],
               [0.20903646383505375, -0.1502377115150361],
               [0.05836595312746999, 0.6149440396332373, 0.08535117634046772]]),
    B0=_lower([[-0.21641093549612528],
               [1.5336352863679572, 0.26066223492647056],
               [-1.0536037558179159, 1.7015284721089472, -0.20725685784180017]]),
    B1=_lower([[-0.5119011827621657],
               [2.67767339866713, -4.9395031322250995],
               [0.15580956238299215, 3.2361551006624674, -1.4223118283355949]]),
    alpha=(1.140099274172029, -0.6401334255743456, 0.4736296532772559, 0.026404498125060714),
    beta1=(-1.8453464565104432, 2.688764531100726, -0.2523866501071323, 0.40896857551684956),
    beta2=(0.4969658141589478, -0.5771202869753592, -0.12919702470322217, 0.2093514975196336),
    beta3=(2.8453464565104425, -2.688764531100725, 0.2523866501071322, -0.40896857551684945),
    beta4=(0.11522663875443433, -0.57877086147738, 0.2857851028163886, 0.17775911990655704),
    error_terms=4,
    delta=1.0,
)

SRIW1 = Tableau(
    name="sriw1",
    A0=_lower([[3 / 4], [0, 0], [0, 0, 0]]),
    A1=_lower([[1 / 4], [1, 0], [0, 0, 1 / 4]]),
    B0=_lower([[3 / 2], [0, 0], [0, 0, 0]]),
    B1=_lower([[1 / 2], [-1, 0], [-5, 3, 1 / 2]]),
    alpha=(1 / 3, 2 / 3, 0.0, 0.0),
    beta1=(-1.0, 4 / 3, 2 / 3, 0.0),
    beta2=(-1.0, 4 / 3, -1 / 3, 0.0),
    beta3=(2.0, -4 / 3, -2 / 3, 0.0),
    beta4=(-2.0, 5 / 3, -2 / 3, 1.0),
    error_terms=2,
    delta=1 / 6,
)

# torchsde's `srk` scheme for diagonal noise (DifferentialEquations.jl's SRIW2): with it, our
# solver reproduces torchsde's `srk` step for step on a shared Brownian path (a cross-check).
SRID2 = Tableau(
    name="srid2",
    A0=_lower([[1.0], [1 / 4, 1 / 4], [0, 0, 0]]),
    A1=_lower([[1 / 4], [1, 0], [0, 0, 1 / 4]]),
    B0=_lower([[0.0], [1, 1 / 2], [0, 0, 0]]),
    B1=_lower([[-1 / 2], [1, 0], [2, -1, 1 / 2]]),
    alpha=(1 / 6, 1 / 6, 2 / 3, 0.0),
    beta1=(-1.0, 4 / 3, 2 / 3, 0.0),
    beta2=(1.0, -4 / 3, 1 / 3, 0.0),
    beta3=(2.0, -4 / 3, -2 / 3, 0.0),
    beta4=(-2.0, 5 / 3, -2 / 3, 1.0),
    error_terms=4,
    delta=1.0,
)

TABLEAUS = {"sosri": SOSRI, "sriw1": SRIW1, "srid2": SRID2}


def get_tableau(name: str) -> Tableau:
    if name not in TABLEAUS:
        raise ValueError(f"tableau={name!r} is not supported; expected one of {tuple(TABLEAUS)}.")
    return TABLEAUS[name]


_MATRIX_CACHE: dict = {}


def _noise_matrix(tab: Tableau, dtype, device) -> torch.Tensor:
    key = (tab.name, dtype, str(device))
    if key not in _MATRIX_CACHE:
        _MATRIX_CACHE[key] = torch.tensor(tab.noise_matrix, dtype=dtype, device=device)
    return _MATRIX_CACHE[key]


class Noise:
    """The random terms of one step or of a stack of steps, in the form the step needs.

    Built from ``ΔW`` and ``I10`` of shape ``(..., batch, d)`` for step sizes ``h`` (a float or a
    tensor broadcastable to the leading dims). Holds ``chi2`` and, per stage, the weights
    ``w_i = β1_i ΔW + β2_i chi1 + β3_i chi2 + β4_i chi3`` (all terms) and
    ``e_i = β3_i chi2 + β4_i chi3``
    (the error part), stacked on a stage axis: ``(..., stages, batch, d)``.
    """

    __slots__ = ("chi2", "weights", "err_weights")

    def __init__(self, chi2, weights, err_weights):
        self.chi2 = chi2
        self.weights = weights
        self.err_weights = err_weights

    @classmethod
    def build(cls, tab: Tableau, dW: torch.Tensor, I10: torch.Tensor, h) -> Noise:
        sqrt_h = h.sqrt() if torch.is_tensor(h) else math.sqrt(h)
        dW2 = dW * dW
        chi1 = (dW2 - h) / (2 * sqrt_h)
        chi2 = I10 / h
        chi3 = dW * (dW2 - 3 * h) / (6 * h)
        terms = torch.stack([dW, chi1, chi2, chi3], dim=-3)  # (..., 4, batch, d)
        # every stage's full and error weights in one contraction: (..., 2 stages, batch, d)
        w = torch.matmul(_noise_matrix(tab, dW.dtype, dW.device),
                         terms.flatten(-2)).unflatten(-1, dW.shape[-2:])
        s = tab.stages
        return cls(chi2, w[..., :s, :, :], w[..., s:, :, :])

    def __getitem__(self, k) -> Noise:
        return Noise(self.chi2[k], self.weights[k], self.err_weights[k])


def sri_step(f, g, tab: Tableau, t: float, h: float, y: torch.Tensor, noise: Noise,
             *, with_error: bool):
    """One SRI step.

    Args:
        f, g: drift and diffusion callables ``(t, y) -> (batch, d)``.
        tab: the tableau.
        t, h: start time and step size (floats).
        y: state, (batch, d).
        noise: this step's :class:`Noise` (``chi2`` (batch, d), weights (stages, batch, d)).
        with_error: also return the error pieces.

    Returns:
        ``(y_new, E1, E2, n_f, n_g)``: the new state (batch, d); ``E1 = h Σ F_i`` over the
        tableau's error terms and ``E2 = Σ e_i G_i`` (None unless ``with_error``); the number of
        drift and diffusion calls made.
    """
    sqrt_h = math.sqrt(h)
    stages = tab.stages
    source = tab.drift_source()
    c0, c1 = tab.c0, tab.c1
    F: list = [None] * stages
    G: list = [None] * stages
    n_f = 0
    for i in range(stages):
        # drift stage
        if source[i] is None:
            H0 = y
            gsum = None
            for j in range(i):
                a, b = tab.A0[i][j], tab.B0[i][j]
                if a != 0.0:
                    H0 = torch.add(H0, F[j], alpha=h * a)
                if b != 0.0:
                    gsum = G[j] * b if gsum is None else torch.add(gsum, G[j], alpha=b)
            if gsum is not None:
                H0 = torch.addcmul(H0, gsum, noise.chi2)
            F[i] = f(t + c0[i] * h, H0)
            n_f += 1
        elif source[i] >= 0:
            F[i] = F[source[i]]
        # diffusion stage
        H1 = y
        for j in range(i):
            a, b = tab.A1[i][j], tab.B1[i][j]
            if a != 0.0:
                H1 = torch.add(H1, F[j], alpha=h * a)
            if b != 0.0:
                H1 = torch.add(H1, G[j], alpha=sqrt_h * b)
        G[i] = g(t + c1[i] * h, H1)
    y_new = y
    for i in range(stages):
        if tab.alpha[i] != 0.0:
            y_new = torch.add(y_new, F[i], alpha=h * tab.alpha[i])
    Gs = torch.stack(G)  # (stages, batch, d)
    y_new = y_new + (noise.weights * Gs).sum(0)
    if not with_error:
        return y_new, None, None, n_f, stages
    with torch.no_grad():  # the error estimate only steers the step size
        E1 = F[0]
        for i in range(1, tab.error_terms):
            E1 = E1 + F[i]
        E1 = E1 * h
        E2 = (noise.err_weights * Gs).sum(0)
    return y_new, E1, E2, n_f, stages
