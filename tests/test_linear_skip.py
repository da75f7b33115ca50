"""The drift's linear path (``drift_linear``, on in the CLI's real-series model)."""

import pytest
import torch

import neuralsde as ns
from neuralsde.fit.objectives import REAL_SERIES_NET, model_spec
from neuralsde.nets import LinearSkip, mlp


def test_the_linear_path_starts_at_zero_and_adds_a_linear_map():
    torch.manual_seed(0)
    net = mlp(3, 2, hidden=4)
    skip = LinearSkip(net, 3, 2)
    x = torch.randn(5, 3)
    torch.testing.assert_close(skip(x), net(x), rtol=0, atol=0)
    with torch.no_grad():
        skip.linear.weight.copy_(torch.tensor([[1.0, 0.0, 2.0], [0.0, -1.0, 0.0]]))
    expected = net(x) + torch.stack([x[:, 0] + 2 * x[:, 2], -x[:, 1]], dim=1)
    torch.testing.assert_close(skip(x), expected)
    assert skip.linear.bias is None  # the net has the bias


def test_far_outside_the_data_the_drift_keeps_its_slope_where_the_net_alone_goes_flat():
    torch.manual_seed(0)
    model = ns.build_model({"kind": "mlp", "state_dim": 1, "drift_linear": True})
    with torch.no_grad():
        model.drift.linear.weight.fill_(-1.0)  # mean reversion at rate 1
    far = torch.tensor([[1e3], [2e3]])
    with torch.no_grad():
        f = model.f(0.0, far)[:, 0]
        alone = model.drift.net(far)[:, 0]
    assert float(f[1] - f[0]) == pytest.approx(-1e3, rel=1e-6)  # tanh units saturated
    assert float((alone[1] - alone[0]).abs()) < 1e-6


def test_the_spec_switch_defaults_off_and_the_cli_turns_it_on():
    plain = ns.build_model({"kind": "mlp", "state_dim": 2})  # a spec saved before the switch
    assert not isinstance(plain.drift, LinearSkip)
    assert plain.spec["drift_linear"] is False
    assert REAL_SERIES_NET["drift_linear"] is True
    settings = {"model": "sde", "objective": "windows", "state_dim": 1, "period": None,
                "lags": 4}
    spec = model_spec(settings)
    assert spec["drift_linear"] is True
    assert isinstance(ns.build_model(spec).drift, LinearSkip)
    with pytest.raises(ValueError, match="drift_linear"):
        ns.build_model({"kind": "mlp", "state_dim": 1, "drift_linear": 1})
