"""Operator fusion: one pass and one graph node instead of a chain of small operations.

Each Tensor operation reads its inputs from memory, writes a new array, and (when recording)
adds a graph node that backward visits. `bias_gelu` does bias + GELU in one node whose
forward and backward reuse a couple of buffers in place (NumPy ufuncs with `out=`), so it
allocates and traverses far less than `gelu_op_chain`, the same formula as separate ops.
"""

import math

import numpy as np

from ..ops._common import _erf, _unbroadcast
from ..seams import replaced, seam
from ..tensor import Tensor

_C = math.sqrt(2.0 / math.pi)
_A = 0.044715


def gelu_op_chain(x):
    """GELU (tanh form) written as ten separate Tensor operations: the unfused baseline."""
    inner = (x + x * x * x * _A) * _C
    return x * 0.5 * (inner.tanh() + 1.0)


def _check(input, bias):
    if not isinstance(input, Tensor) or not isinstance(bias, Tensor):
        raise TypeError("bias_gelu: input and bias must be Tensors")
    if bias.ndim != 1 or input.ndim == 0 or input.shape[-1] != bias.shape[0]:
        raise ValueError(f"bias_gelu: bias of shape {tuple(bias.shape)} does not match input {tuple(input.shape)} (last dim)")


def bias_gelu(input, bias, approximate="tanh"):
    """gelu(input + bias) for input (*, F) and bias (F,), fused into one node; the tanh form by
    the implementation in use (module 18's exercise once tinytorch.mine.use() puts it in)."""
    if approximate == "tanh":
        return replaced.get("bias_gelu", _bias_gelu)(input, bias)
    return _bias_gelu(input, bias, approximate)


@seam("bias_gelu")
def _bias_gelu(input, bias, approximate="tanh"):
    """tinytorch's fused bias + GELU: one graph node with its own backward."""
    _check(input, bias)
    z = input.data + bias.data  # (*, F): the only full-size array kept for backward besides one more
    if approximate == "tanh":
        inner = z * z
        inner *= _A
        inner += 1.0
        inner *= z
        inner *= _C
        np.tanh(inner, out=inner)  # tanh(c (z + a z^3))
        out = inner + 1.0
        out *= z
        out *= 0.5

        def local():  # 0.5 (1 + t) + 0.5 z (1 - t^2) c (1 + 3 a z^2)
            d = z * z
            d *= 3 * _A
            d += 1.0
            d *= z
            d *= _C
            square = inner * inner
            np.subtract(1.0, square, out=square)
            d *= square
            d += inner
            d += 1.0
            d *= 0.5
            return d
    elif approximate == "none":
        cdf = _erf(z * (1 / math.sqrt(2.0)))
        cdf += 1.0
        cdf *= 0.5  # Phi(z)
        out = z * cdf

        def local():  # Phi(z) + z phi(z)
            d = z * z
            d *= -0.5
            np.exp(d, out=d)
            d *= z
            d *= 1 / math.sqrt(2.0 * math.pi)
            d += cdf
            return d
    else:
        raise ValueError(f"bias_gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    out = out.astype(z.dtype, copy=False)

    def backward(g):
        grad = local()
        grad *= g
        return grad, _unbroadcast(grad, bias.shape)

    return Tensor._result(out, (input, bias), backward, "BiasGeluBackward")


def _forward_backward(fn):
    """A function of (x, b) running fn forward and backward; returns the gradients."""
    def run(x, b):
        x.grad = b.grad = None
        fn(x, b).sum().backward()
        return x.grad.data, b.grad.data
    return run


FUSION_CANDIDATES = {
    "op chain (11 nodes)": _forward_backward(lambda x, b: gelu_op_chain(x + b)),
    "add + Tensor.gelu (2 nodes)": _forward_backward(lambda x, b: (x + b).gelu(approximate="tanh")),
    "fused bias_gelu (1 node)": _forward_backward(lambda x, b: bias_gelu(x, b)),
}
