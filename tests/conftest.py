"""Shared fixtures: a seeded NumPy generator and float64 leaf tensors for gradient checks."""

import numpy as np
import pytest

import tinytorch as tt


@pytest.fixture
def rng():
    """A NumPy generator seeded per test, so failures reproduce."""
    return np.random.default_rng(0)


@pytest.fixture
def leaf(rng):
    """`leaf(*shape)`: a float64 tensor of standard-normal values that requires grad."""
    def make(*shape, dtype=np.float64):
        return tt.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
    return make
