"""Tests for the layout of the neuralsde.data package and what its shared validators changed."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

import neuralsde.data
from neuralsde.data import TimeSeries

PACKAGE_DIR = Path(neuralsde.data.__file__).parent


def series() -> TimeSeries:
    ys = torch.arange(8.0, dtype=torch.float64).reshape(4, 1, 2)  # (T, P, d)
    return TimeSeries(ts=torch.arange(4.0), ys=ys, mask=torch.ones_like(ys, dtype=torch.bool),
                      names=("a", "b"))


def test_head_and_tail_from_accept_numpy_integers():
    s = series()
    assert torch.equal(s.head(np.int64(2)).ts, s.head(2).ts)
    assert torch.equal(s.tail_from(np.int32(1)).ys, s.tail_from(1).ys)


@pytest.mark.parametrize("method, value, accepted", [
    ("head", True, "[1, 4]"), ("head", np.int64(5), "[1, 4]"), ("head", 2.0, "[1, 4]"),
    ("tail_from", 4, "[0, 3]"), ("tail_from", np.bool_(False), "[0, 3]"),
])
def test_head_and_tail_from_messages(method, value, accepted):
    argument = "n" if method == "head" else "k"
    with pytest.raises(ValueError) as info:
        getattr(series(), method)(value)
    assert str(info.value) == f"{argument}={value!r} is not supported; expected an integer in " \
                              f"{accepted}."


@pytest.mark.parametrize("seed", [True, np.bool_(False), -1, 1.0])
def test_reference_dataset_seed_message(seed):
    with pytest.raises(ValueError) as info:
        neuralsde.data.reference_dataset(seed)
    assert str(info.value) == f"seed={seed!r} is not supported; expected a non-negative integer."


def test_reference_dataset_accepts_numpy_integer_seed():
    assert torch.equal(neuralsde.data.reference_dataset(np.int64(3)).ys,
                       neuralsde.data.reference_dataset(3).ys)


def test_every_public_name_is_importable_from_the_package():
    assert sorted(neuralsde.data.__all__) == ["MISSING_TOKENS", "SCALINGS", "SCALING_METHODS",
                                              "Scaling", "TimeSeries", "dominant_period",
                                              "load_csv", "memory_length", "net_slope_error",
                                              "reference_dataset"]
    for name in neuralsde.data.__all__:
        assert getattr(neuralsde.data, name) is not None


def test_package_is_a_leaf():
    """Only neuralsde._checks may be imported from the rest of neuralsde."""
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level == 0:
                    module = node.module or ""
                    assert not module.startswith("neuralsde") or module == "neuralsde._checks", \
                        f"{path.name} imports {module}"
                elif node.level >= 2:
                    assert node.level == 2 and node.module == "_checks", \
                        f"{path.name} imports {'.' * node.level}{node.module}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("neuralsde"), \
                        f"{path.name} imports {alias.name}"

