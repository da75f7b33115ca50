"""Scoring rules: values against scoringrules, masking, gradients, properness and bad input."""

import math

import numpy as np
import pytest
import scoringrules
import torch

from neuralsde.scores import crps_fair, energy_score

F64 = torch.float64
NAN = float("nan")
TOL = {"atol": 1e-10, "rtol": 1e-10}


def t(x):
    return torch.as_tensor(np.asarray(x), dtype=F64)


def energy_reference(samples, obs, beta):
    """Brute-force fair energy score of one vector: samples (M, k), obs (k,), numpy."""
    m = samples.shape[0]
    error = np.mean(np.linalg.norm(samples - obs, axis=-1) ** beta)
    spread = np.linalg.norm(samples[:, None] - samples[None], axis=-1) ** beta
    return error - spread.sum() / (2 * m * (m - 1))


# --- against scoringrules -------------------------------------------------------------------------

@pytest.mark.parametrize("m", [2, 3, 50])
@pytest.mark.parametrize("shape", [(), (7,), (3, 4)])
def test_crps_matches_scoringrules(shape, m):
    rng = np.random.default_rng(m * 100 + len(shape))
    obs = rng.normal(size=shape)
    fct = rng.normal(0.3, 1.5, size=shape + (m,))  # scoringrules: ensemble on the last axis
    expected = scoringrules.crps_ensemble(obs, fct, estimator="fair", backend="numpy")
    got = crps_fair(t(np.moveaxis(fct, -1, 0)), t(obs))
    assert got.shape == shape
    torch.testing.assert_close(got, t(expected), **TOL)


@pytest.mark.parametrize("dim", [1, -1, 2])
def test_crps_ensemble_dimension_can_be_anywhere(dim):
    rng = np.random.default_rng(1)
    obs = rng.normal(size=(3, 4))
    fct = rng.normal(size=(3, 4, 9))
    expected = scoringrules.crps_ensemble(obs, fct, estimator="fair", backend="numpy")
    samples = np.moveaxis(fct, -1, dim)
    torch.testing.assert_close(crps_fair(t(samples), t(obs), dim=dim), t(expected), **TOL)


@pytest.mark.parametrize("m", [2, 3, 50])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
@pytest.mark.parametrize("k", [1, 4])
def test_energy_matches_scoringrules(shape, m, k):
    rng = np.random.default_rng(m * 100 + len(shape) * 10 + k)
    obs = rng.normal(size=shape + (k,))
    fct = rng.normal(-0.2, 1.3, size=shape + (m, k))  # scoringrules: (..., M, k)
    expected = scoringrules.es_ensemble(obs, fct, estimator="fair", backend="numpy")
    got = energy_score(t(np.moveaxis(fct, -2, 0)), t(obs))
    assert got.shape == shape
    torch.testing.assert_close(got, t(expected), **TOL)


@pytest.mark.parametrize("beta", [0.5, 1.5])
def test_energy_with_beta_matches_brute_force(beta):
    rng = np.random.default_rng(2)
    samples = rng.normal(size=(6, 4, 3))
    obs = rng.normal(size=(4, 3))
    expected = [energy_reference(samples[:, i], obs[i], beta) for i in range(4)]
    torch.testing.assert_close(energy_score(t(samples), t(obs), beta=beta), t(expected), **TOL)


def test_energy_of_one_coordinate_is_the_crps():
    rng = np.random.default_rng(3)
    samples, obs = t(rng.normal(size=(7, 5, 1))), t(rng.normal(size=(5, 1)))
    torch.testing.assert_close(energy_score(samples, obs), crps_fair(samples, obs)[..., 0], **TOL)


# --- missing observations -------------------------------------------------------------------------

def masked_inputs(shape, m, seed):
    gen = torch.Generator().manual_seed(seed)
    samples = torch.randn((m,) + shape, generator=gen, dtype=F64)
    obs = torch.randn(shape, generator=gen, dtype=F64)
    mask = torch.rand(shape, generator=gen) > 0.4
    return samples, obs.masked_fill(~mask, NAN), mask


def test_crps_masked_equals_the_observed_entries_and_zero_elsewhere():
    samples, obs, mask = masked_inputs((6, 5), 8, seed=0)
    assert mask.any() and not mask.all()
    got = crps_fair(samples, obs, mask)
    expected = scoringrules.crps_ensemble(obs[mask].numpy(), samples[:, mask].T.numpy(),
                                          estimator="fair", backend="numpy")
    torch.testing.assert_close(got[mask], t(expected), **TOL)
    assert torch.equal(got[~mask], torch.zeros_like(got[~mask]))
    torch.testing.assert_close(crps_fair(samples, obs), got, **TOL)  # mask=None: ~isnan(obs)
    other = obs.masked_fill(~mask, 1e6)
    torch.testing.assert_close(crps_fair(samples, other, mask), got, **TOL)


def test_energy_masked_equals_the_observed_coordinates_and_zero_when_none():
    samples, obs, mask = masked_inputs((6, 5), 8, seed=1)
    mask[2] = False  # a vector with no observed coordinate
    obs = obs.masked_fill(~mask, NAN)
    mask[3] = True
    obs[3] = torch.randn(5, generator=torch.Generator().manual_seed(9), dtype=F64)
    got = energy_score(samples, obs, mask)
    for i in range(6):
        if not mask[i].any():
            assert got[i].item() == 0.0
            continue
        observed = mask[i]
        expected = scoringrules.es_ensemble(obs[i, observed].numpy(),
                                             samples[:, i, observed].numpy(),
                                             estimator="fair", backend="numpy")
        torch.testing.assert_close(got[i], t(expected), **TOL)
    torch.testing.assert_close(energy_score(samples, obs), got, **TOL)  # mask=None: ~isnan(obs)
    other = obs.masked_fill(~mask, -3e5)
    torch.testing.assert_close(energy_score(samples, other, mask), got, **TOL)


@pytest.mark.parametrize("score", [crps_fair, energy_score])
def test_nan_at_masked_places_gives_finite_values_and_gradients(score):
    samples, obs, mask = masked_inputs((4, 6), 5, seed=2)
    mask[1] = False
    obs = obs.masked_fill(~mask, NAN)
    samples = samples.masked_fill(~mask, NAN).requires_grad_(True)  # NaN members at masked places
    value = score(samples, obs, mask)
    value.sum().backward()
    assert torch.isfinite(value).all()
    assert torch.isfinite(samples.grad).all()
    assert samples.grad.abs().sum() > 0


# --- gradients ------------------------------------------------------------------------------------

def test_crps_gradcheck():
    gen = torch.Generator().manual_seed(3)
    samples = torch.randn(5, 3, 2, generator=gen, dtype=F64, requires_grad=True)
    obs = torch.randn(3, 2, generator=gen, dtype=F64)
    mask = torch.tensor([[True, False], [True, True], [False, True]])
    assert torch.autograd.gradcheck(lambda x: crps_fair(x, obs, mask), (samples,))
    assert torch.autograd.gradcheck(lambda x: crps_fair(x, obs, dim=-1),
                                    (samples.detach().movedim(0, -1).requires_grad_(True),))


@pytest.mark.parametrize("beta", [1.0, 0.5, 1.5])
def test_energy_gradcheck(beta):
    gen = torch.Generator().manual_seed(4)
    samples = torch.randn(4, 3, 5, generator=gen, dtype=F64, requires_grad=True)
    obs = torch.randn(3, 5, generator=gen, dtype=F64)
    mask = torch.rand(3, 5, generator=gen) > 0.3
    assert torch.autograd.gradcheck(lambda x: energy_score(x, obs, mask, beta=beta), (samples,))


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_energy_gradient_is_finite_at_zero_distance(beta):
    obs = t([[1.0, 2.0], [0.0, 0.0]])
    samples = t([[[1.0, 2.0], [0.0, 0.0]],  # member 0 equals obs
                 [[1.0, 2.0], [0.0, 0.0]],  # a tie with member 0
                 [[0.0, 5.0], [0.0, 0.0]]]).requires_grad_(True)
    energy_score(samples, obs, beta=beta).sum().backward()
    assert torch.isfinite(samples.grad).all()


def test_crps_gradient_is_finite_with_ties():
    samples = t([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0]]).requires_grad_(True)
    crps_fair(samples, t([1.0, 0.0])).sum().backward()
    assert torch.isfinite(samples.grad).all()


# --- properness -----------------------------------------------------------------------------------

CANDIDATES = {"over-dispersed": (0.0, 2.0), "under-dispersed": (0.0, 0.5), "biased": (0.5, 1.0)}


def assert_calibrated_wins(score, calibrated, candidate, name):
    """``candidate - calibrated`` per draw (paired on the same observation) is positive on
    average by more than five standard errors."""
    diff = score(candidate) - score(calibrated)
    mean, se = diff.mean().item(), diff.std().item() / math.sqrt(diff.numel())
    assert mean > 5 * se, f"{name}: mean gap {mean:.4g} is not > 5 standard errors ({se:.3g})"


@pytest.mark.parametrize("name", sorted(CANDIDATES))
def test_crps_prefers_the_true_distribution(name):
    gen = torch.Generator().manual_seed(5)
    n, m = 20_000, 16
    obs = torch.randn(n, generator=gen, dtype=F64)
    noise = torch.randn(m, n, generator=gen, dtype=F64)  # common to all forecasts
    mu, sigma = CANDIDATES[name]
    assert_calibrated_wins(lambda x: crps_fair(x, obs), noise, mu + sigma * noise, name)


@pytest.mark.parametrize("name", sorted(CANDIDATES))
def test_energy_score_prefers_the_true_distribution(name):
    gen = torch.Generator().manual_seed(6)
    n, m, k = 20_000, 16, 3
    obs = torch.randn(n, k, generator=gen, dtype=F64)
    noise = torch.randn(m, n, k, generator=gen, dtype=F64)
    mu, sigma = CANDIDATES[name]
    assert_calibrated_wins(lambda x: energy_score(x, obs), noise, mu + sigma * noise, name)


def test_crps_of_a_large_gaussian_ensemble_is_the_closed_form():
    gen = torch.Generator().manual_seed(7)
    m = 200_000  # O(M log M): the pairwise form would need M^2 = 4e10 differences per entry
    mu, sigma = 0.3, 1.7
    obs = t([-3.0, -1.0, 0.0, 0.3, 2.0, 5.0])
    samples = mu + sigma * torch.randn(m, obs.numel(), generator=gen, dtype=F64)
    expected = t(scoringrules.crps_normal(obs.numpy(), mu, sigma, backend="numpy"))
    # both terms are means of M (pairs of) draws with standard deviations below
    # sqrt(E (X - y)^2) and sqrt(2) sigma: five standard errors of their sum
    tol = 5 * (torch.sqrt(sigma**2 + (obs - mu) ** 2) + math.sqrt(2) * sigma) / math.sqrt(m)
    assert ((crps_fair(samples, obs) - expected).abs() < tol).all()


# --- bad input ------------------------------------------------------------------------------------

def test_bad_crps_input_names_the_argument():
    samples, obs = torch.randn(4, 3, 2), torch.randn(3, 2)
    with pytest.raises(ValueError, match="samples"):
        crps_fair(samples, torch.randn(3, 5))
    with pytest.raises(ValueError, match="samples"):
        crps_fair(samples, torch.randn(4, 3, 2))
    with pytest.raises(ValueError, match="samples"):
        crps_fair(samples[:1], obs)
    with pytest.raises(ValueError, match="samples"):
        crps_fair(samples.to(torch.int64), obs)
    with pytest.raises(ValueError, match="samples"):
        crps_fair(samples.numpy(), obs)
    with pytest.raises(ValueError, match="obs"):
        crps_fair(samples, obs.numpy())
    with pytest.raises(ValueError, match="mask"):
        crps_fair(samples, obs, torch.ones(3, 1, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        crps_fair(samples, obs, torch.ones(3, 2))
    with pytest.raises(ValueError, match="dim"):
        crps_fair(samples, obs, dim=3)
    with pytest.raises(ValueError, match="dim"):
        crps_fair(samples, obs, dim=1.0)


def test_bad_energy_input_names_the_argument():
    samples, obs = torch.randn(4, 3, 2), torch.randn(3, 2)
    with pytest.raises(ValueError, match="samples"):
        energy_score(samples, torch.randn(3, 5))
    with pytest.raises(ValueError, match="samples"):
        energy_score(samples.movedim(0, 1), obs)
    with pytest.raises(ValueError, match="samples"):
        energy_score(samples[:1], obs)
    with pytest.raises(ValueError, match="obs"):
        energy_score(torch.randn(4), torch.tensor(0.0))
    with pytest.raises(ValueError, match="mask"):
        energy_score(samples, obs, torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        energy_score(samples, obs, torch.ones(3, 2, dtype=torch.int64))
    for beta in (0.0, 2.0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="beta"):
            energy_score(samples, obs, beta=beta)


def test_scores_follow_the_samples_dtype():
    samples, obs = torch.randn(4, 3, 2, dtype=torch.float32), torch.randn(3, 2, dtype=F64)
    assert crps_fair(samples, obs).dtype == torch.float32
    assert energy_score(samples, obs).dtype == torch.float32
