"""Activation functions and their Module forms (ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax).

`inplace=` is accepted for PyTorch compatibility; the result is always a new tensor, which
gives the same value for the usual `x = F.relu(x, inplace=True)`.
"""

import numpy as np

from .. import versions
from ..ops import differentiable
from ..tensor import Tensor
from .module import Module, check_input

# what PyTorch's backward reads (see versions.SavingOp): the input
_LEAKY_RELU, _SILU = (versions.SavingOp(name, saves=(0,)) for name in ("LeakyReluBackward", "SiluBackward"))


def relu(input, inplace=False):
    check_input(input, "relu")
    return input.relu()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x."""
    check_input(input, "leaky_relu")
    x = input.data
    positive = x > 0
    out = np.where(positive, x, x * negative_slope).astype(x.dtype)

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return differentiable.masked(g, np.where(positive, 1.0, negative_slope))
        return (np.where(positive, g, g * negative_slope).astype(g.dtype),)

    return Tensor._result(out, (input,), backward, _LEAKY_RELU)


def sigmoid(input):
    check_input(input, "sigmoid")
    return input.sigmoid()


def tanh(input):
    check_input(input, "tanh")
    return input.tanh()


def gelu(input, approximate="none"):
    check_input(input, "gelu")
    return input.gelu(approximate=approximate)


def _dim(dim, op):
    # PyTorch guesses a dim when none is given (and warns); we ask for it instead.
    if dim is None:
        raise ValueError(f"{op}: pass dim explicitly, e.g. {op}(x, dim=-1)")
    return dim


def softmax(input, dim=None):
    check_input(input, "softmax")
    return input.softmax(_dim(dim, "softmax"))


def log_softmax(input, dim=None):
    check_input(input, "log_softmax")
    return input.log_softmax(_dim(dim, "log_softmax"))


class ReLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return relu(input)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    def forward(self, input):
        return sigmoid(input)


class Tanh(Module):
    def forward(self, input):
        return tanh(input)


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        check_input(input, "Softmax")
        return input.softmax(_dim(self.dim, "Softmax"))

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        check_input(input, "LogSoftmax")
        return input.log_softmax(_dim(self.dim, "LogSoftmax"))

    def extra_repr(self):
        return f"dim={self.dim}"


def silu(input, inplace=False):
    """x * sigmoid(x) (also called swish), one node: d/dx = s * (1 + x * (1 - s))."""
    check_input(input, "silu")
    x = input.data
    s = 1.0 / (1.0 + np.exp(-x))
    out = x * s

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return differentiable.silu(g, input)
        return (g * (s * (1.0 + x * (1.0 - s))),)

    return Tensor._result(out.astype(x.dtype, copy=False), (input,), backward, _SILU)


class SiLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return silu(input)
