"""Losses: values against hand computations, masking, gradients and errors."""

import math

import pytest
import torch

from neuralsde.losses import LOSSES, get_loss, moments, mse_mean_path, mse_per_path

NAN = float("nan")
F64 = torch.float64


def t(x):
    return torch.tensor(x, dtype=F64)


def panel():
    """pred (T=2, B=2, d=1); data (T=2, P=3, d=1) with one NaN at t=1 (masked)."""
    pred = t([[[1.0], [3.0]], [[0.0], [4.0]]])
    data = t([[[1.0], [2.0], [6.0]], [[5.0], [NAN], [1.0]]])
    mask = ~torch.isnan(data)
    return pred, data, mask


def test_mse_mean_path_hand_value():
    pred, data, mask = panel()
    # targets: t0 mean(1, 2, 6) = 3, t1 mean(5, 1) = 3; pred means: t0 2, t1 2
    expected = ((2 - 3) ** 2 + (2 - 3) ** 2) / 2
    assert mse_mean_path(pred, data, mask).item() == pytest.approx(expected)


def test_mse_mean_path_single_path_is_plain_mse():
    pred = t([[[1.0]], [[2.0]], [[4.0]]])
    data = t([[[0.0]], [[NAN]], [[1.0]]])
    mask = ~torch.isnan(data)
    # observed t0 and t2: ((1 - 0)^2 + (4 - 1)^2) / 2
    assert mse_mean_path(pred, data, mask).item() == pytest.approx(5.0)


def test_mse_mean_path_excludes_time_points_with_no_observation():
    pred = t([[[1.0, 9.0]], [[2.0, 2.0]]])  # (T=2, B=1, d=2)
    data = t([[[1.0, NAN]], [[NAN, 0.0]]])
    mask = ~torch.isnan(data)
    # observed (t0, c0): error 0 and (t1, c1): error 4
    assert mse_mean_path(pred, data, mask).item() == pytest.approx(2.0)


def test_mse_per_path_hand_value():
    pred, data, mask = panel()
    # t0 target 3: (1-3)^2, (3-3)^2; t1 target 3: (0-3)^2, (4-3)^2 -> (4 + 0 + 9 + 1) / 4
    assert mse_per_path(pred, data, mask).item() == pytest.approx(14 / 4)


def test_mse_per_path_is_mean_path_error_plus_path_variance():
    gen = torch.Generator().manual_seed(0)
    pred = torch.randn(5, 8, 2, generator=gen, dtype=F64)
    data = torch.randn(5, 3, 2, generator=gen, dtype=F64)
    mask = torch.rand(5, 3, 2, generator=gen) > 0.3
    mask[0] = True
    data = torch.where(mask, data, torch.full_like(data, NAN))
    observed = mask.any(dim=1)  # (T, d)
    variance = pred.var(dim=1, unbiased=False)[observed].mean()
    expected = mse_mean_path(pred, data, mask) + variance
    assert mse_per_path(pred, data, mask).item() == pytest.approx(expected.item(), rel=1e-12)


def test_mse_per_path_with_one_path_equals_mse_mean_path():
    pred, data, mask = panel()
    one = pred[:, :1]
    expected = mse_mean_path(one, data, mask).item()
    assert mse_per_path(one, data, mask).item() == pytest.approx(expected)


def test_moments_hand_value_excludes_entries_with_one_observed_value():
    pred = t([[[1.0], [3.0]], [[0.0], [4.0]], [[2.0], [2.0]]])  # (T=3, B=2, d=1)
    data = t([[[1.0], [2.0], [6.0]], [[5.0], [NAN], [1.0]], [[NAN], [7.0], [NAN]]])
    mask = ~torch.isnan(data)
    # mean term: targets 3, 3, 7; pred means 2, 2, 2 -> (1 + 1 + 25) / 3 = 9
    # variance term: pred var (unbiased) 2, 8, 0; data var (unbiased) 7, 8, undefined (one value)
    # -> ((2 - 7)^2 + (8 - 8)^2) / 2 = 12.5
    assert moments(pred, data, mask).item() == pytest.approx(9 + 12.5)


def test_moments_single_path_needs_var_target():
    pred = t([[[1.0], [3.0]], [[0.0], [4.0]]])
    data = t([[[2.0]], [[NAN]]])
    mask = ~torch.isnan(data)
    with pytest.raises(ValueError, match=r"P=1.*var_target"):
        moments(pred, data, mask)
    # observed t0 only: mean (2 - 2)^2 = 0; variance (2 - 0.5)^2 = 2.25
    assert moments(pred, data, mask, var_target=0.5).item() == pytest.approx(2.25)
    # a (T, 1) target broadcasts; the entry at t1 is unobserved so its target does not matter
    assert moments(pred, data, mask, var_target=t([[0.5], [100.0]])).item() == pytest.approx(2.25)


def test_moments_var_target_replaces_data_variance():
    pred, data, mask = panel()
    # mean term as in mse_mean_path: 1; variance: pred var 2 and 8 against 0
    assert moments(pred, data, mask, var_target=0.0).item() == pytest.approx(1 + (4 + 64) / 2)


@pytest.mark.parametrize("var_target, match", [(t([1.0, 2.0, 3.0]), r"var_target.shape=\(3,\)"),
                                               (-1.0, "negative")])
def test_moments_bad_var_target(var_target, match):
    pred, data, mask = panel()
    with pytest.raises(ValueError, match=match):
        moments(pred, data, mask, var_target=var_target)


def test_moments_needs_two_simulated_paths():
    pred, data, mask = panel()
    with pytest.raises(ValueError, match=r"pred.shape=\(2, 1, 1\).*B=1"):
        moments(pred[:, :1], data, mask)


def test_moments_needs_an_entry_with_two_observed_values():
    pred, data, _ = panel()
    mask = torch.zeros_like(data, dtype=torch.bool)
    mask[:, 0] = True
    with pytest.raises(ValueError, match="variance term"):
        moments(pred, data, mask)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_masked_value_does_not_change_loss(name):
    loss = LOSSES[name]
    pred, data, mask = panel()
    before = loss(pred, data, mask)
    changed = data.clone()
    changed[1, 1, 0] = 1e6  # the masked entry
    assert loss(pred, changed, mask).item() == before.item()
    assert math.isfinite(before.item())


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradients_finite_with_nan_data(name):
    loss = LOSSES[name]
    _, data, mask = panel()
    data = torch.cat([data, torch.full((1, 3, 1), NAN, dtype=F64)])  # t2 never observed
    mask = ~torch.isnan(data)
    pred = torch.randn(3, 4, 1, dtype=F64, generator=torch.Generator().manual_seed(1))
    pred.requires_grad_(True)
    loss(pred, data, mask).backward()
    assert torch.isfinite(pred.grad).all()
    assert pred.grad[:2].abs().sum() > 0
    assert (pred.grad[2] == 0).all()  # no observation at t2: no gradient


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradcheck(name):
    loss = LOSSES[name]
    _, data, mask = panel()
    pred = torch.randn(2, 3, 1, dtype=F64, generator=torch.Generator().manual_seed(2))
    pred.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: loss(p, data, mask), (pred,))


@pytest.mark.parametrize("pred_shape, data_shape", [((3, 2, 1), (2, 2, 1)),  # T differs
                                                    ((2, 2, 2), (2, 2, 1)),  # d differs
                                                    ((2, 2), (2, 2, 1))])  # pred not 3-D
def test_shape_mismatch_names_both_shapes(pred_shape, data_shape):
    pred = torch.zeros(pred_shape, dtype=F64)
    data = torch.zeros(data_shape, dtype=F64)
    mask = torch.ones(data_shape, dtype=torch.bool)
    for loss in LOSSES.values():
        with pytest.raises(ValueError) as err:
            loss(pred, data, mask)
        assert f"pred.shape={pred_shape}" in str(err.value)
        assert f"data.shape={data_shape}" in str(err.value)


def test_mask_errors():
    pred, data, mask = panel()
    with pytest.raises(ValueError, match=r"mask.shape=\(2, 2, 1\).*data.shape=\(2, 3, 1\)"):
        mse_mean_path(pred, data, mask[:, :2])
    with pytest.raises(ValueError, match=r"mask.dtype=torch.float64.*torch.bool"):
        mse_mean_path(pred, data, mask.to(F64))
    with pytest.raises(ValueError, match="no observed entry"):
        mse_mean_path(pred, data, torch.zeros_like(mask))


def test_get_loss():
    assert get_loss("mse") is mse_mean_path
    assert get_loss("per_path") is mse_per_path
    assert get_loss("moments") is moments
    with pytest.raises(ValueError, match=r"loss='l1'.*'mse', 'per_path', 'moments'"):
        get_loss("l1")
