"""The SRI tableaus satisfy the strong order 1.5 conditions (Rößler 2010) listed in sri.md."""

import numpy as np
import pytest
from torchsde._core.methods.tableaus import srid2 as torchsde_srid2

from neuralsde.sri import TABLEAUS, Tableau


def _mat(rows, n):
    out = np.zeros((n, n))
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


@pytest.mark.parametrize("name", sorted(TABLEAUS))
def test_order_conditions(name):
    tab: Tableau = TABLEAUS[name]
    n = tab.stages
    A0, A1, B0, B1 = (_mat(m, n) for m in (tab.A0, tab.A1, tab.B0, tab.B1))
    a, b1, b2, b3, b4 = (np.array(v) for v in (tab.alpha, tab.beta1, tab.beta2, tab.beta3,
                                                tab.beta4))
    e = np.ones(n)
    B1e, A0e, B0e, A1e = B1 @ e, A0 @ e, B0 @ e, A1 @ e
    conditions = [
        (a @ e, 1), (b1 @ e, 1), (b2 @ e, 0), (b3 @ e, 0), (b4 @ e, 0),
        (b1 @ B1e, 0), (b2 @ B1e, 1), (b3 @ B1e, 0), (b4 @ B1e, 0),
        (a @ A0e, 0.5), (a @ B0e, 1), (a @ B0e**2, 1.5),
        (b1 @ A1e, 1), (b2 @ A1e, 0), (b3 @ A1e, -1), (b4 @ A1e, 0),
        (b1 @ B1e**2, 1), (b2 @ B1e**2, 0), (b3 @ B1e**2, -1), (b4 @ B1e**2, 2),
        (b1 @ B1 @ B1e, 0), (b2 @ B1 @ B1e, 0), (b3 @ B1 @ B1e, 0), (b4 @ B1 @ B1e, 1),
        (0.5 * b1 @ A1 @ B0e + (1 / 3) * b3 @ A1 @ B0e, 0),
    ]
    values = np.array([c[0] for c in conditions])
    targets = np.array([c[1] for c in conditions])
    np.testing.assert_allclose(values, targets, atol=1e-12)


def test_srid2_is_torchsde_srk_tableau():
    tab = TABLEAUS["srid2"]
    np.testing.assert_allclose(tab.alpha, torchsde_srid2.alpha, atol=1e-15)
    np.testing.assert_allclose(tab.beta2, torchsde_srid2.beta2, atol=1e-15)
    np.testing.assert_allclose(tab.c0, torchsde_srid2.C0, atol=1e-15)
    np.testing.assert_allclose(tab.c1, torchsde_srid2.C1, atol=1e-15)


def test_stage_reuse_only_where_provable():
    # SOSRI has dense rows: every stage is evaluated. SRIW1's stage 3 has H0 = y at time t, so its
    # drift equals stage 1's, and stage 4's drift is never used (alpha_4 = 0, no later stage).
    assert TABLEAUS["sosri"].drift_source() == (None, None, None, None)
    assert TABLEAUS["sriw1"].drift_source() == (None, None, 0, -1)
