import pytest
import torch

# Numerical tests run in float64 so that solver errors, not rounding, are what they measure.
torch.set_default_dtype(torch.float64)


@pytest.fixture(autouse=True)
def _float64_default():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float64)

# The tensors of the tests are tiny: one thread avoids thread start-up costs and contention on
# a loaded machine, as the CLI does by default (--threads 1).
torch.set_num_threads(1)
