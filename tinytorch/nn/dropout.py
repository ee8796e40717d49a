"""Dropout: zero each element with probability p during training, scale the rest by 1/(1-p)."""

import numpy as np

from .. import kernels
from ..ops import differentiable
from ..random import rng_of
from ..seams import seam
from ..tensor import Tensor
from .module import Module, check_input


def _check_p(p, op):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise ValueError(f"{op}: dropout probability must be in [0, 1), got {p!r}")


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Inverted dropout: the expected value is unchanged, so evaluation needs no rescaling."""
    _check_p(p, "dropout")
    check_input(input, "dropout")
    if not training or p == 0:
        return input
    x = input.data
    # mask holds 0 or 1/(1-p) so forward and backward are a single multiply each.
    # float32 draws are half the work of float64 ones and plenty to compare against p.
    keep = rng_of(generator).random(x.shape, dtype=np.float32) >= p
    mask = np.multiply(keep, np.asarray(1.0 / (1.0 - p), dtype=x.dtype), out=kernels.empty(x.shape, x.dtype))

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return differentiable.masked(g, mask)
        return (g * mask,)

    return Tensor._result(kernels.product(x, mask), (input,), backward, "DropoutBackward")


@seam("Dropout")
class Dropout(Module):
    """Dropout in training mode, identity in eval mode (`model.eval()`)."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        _check_p(p, "Dropout")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
