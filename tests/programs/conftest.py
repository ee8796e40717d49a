"""Helpers shared by the program tests: each program is a function of the `torch` module, run
once with tinytorch and once with PyTorch (when installed), with the same initial weights and
the same batches, so their losses can be compared step by step."""

import numpy as np
import pytest


def pattern(shape, seed):
    """Deterministic weights in [-0.3, 0.3], the same for both libraries (their random streams differ)."""
    n = int(np.prod(shape))
    return (0.3 * np.sin(np.arange(n) * 0.7 + seed)).astype(np.float32).reshape(shape)


def fill_parameters(torch, model):
    """Overwrite every parameter of `model` with `pattern`, as a program's own init would."""
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.tensor(pattern(tuple(p.shape), i)))


class Replay:
    """Batch indices: drawn with `torch.randint` and recorded, or replayed from a recording (so the
    PyTorch run sees tinytorch's batches)."""

    def __init__(self, torch, recorded=None):
        self.torch, self.recorded, self.drawn = torch, recorded, []

    def randint(self, high, size):
        if self.recorded is not None:
            ix = self.torch.tensor(self.recorded[len(self.drawn)])
        else:
            ix = self.torch.randint(high, size)
        self.drawn.append(ix.tolist())
        return ix


@pytest.fixture
def torch_module():
    """PyTorch, or a skip when it is not installed."""
    return pytest.importorskip("torch")


def assert_steps_match(ours, theirs, rtol=1e-4, atol=1e-5):
    """Two loss curves agree at every step."""
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert abs(a - b) <= atol + rtol * abs(b), f"step {step}: tinytorch {a}, PyTorch {b}"
