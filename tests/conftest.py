import pytest
import torch

# Numerical tests run in float64 so that solver errors, not rounding, are what they measure.
torch.set_default_dtype(torch.float64)


@pytest.fixture(autouse=True)
def _float64_default():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float64)
