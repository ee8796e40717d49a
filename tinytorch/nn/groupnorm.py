"""Group normalization (`nn.GroupNorm`) and vector normalization (`F.normalize`), each one graph
node with a fused backward."""

import numbers

import numpy as np

from .. import versions
from ..tensor import Tensor
from . import functional_twice, init
from .module import Module, check_input
from .normalization import _check_param, _for_parents, _normalize_backward, _standardize, affine_parameters


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize input (N, C, *) over each group of C // num_groups channels (and all of *),
    then scale and shift per channel."""
    op = "group_norm"
    check_input(input, op, min_ndim=2)
    x = input.data
    n, c = x.shape[:2]
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral) or num_groups <= 0 \
            or c % num_groups:
        raise ValueError(f"{op}: expected the number of channels {c} of input {tuple(x.shape)} to be "
                         f"divisible by num_groups {num_groups!r}")
    for name, param in (("weight", weight), ("bias", bias)):
        _check_param(param, (c,), name, op, x.dtype)
    grouped = x.reshape(n, num_groups, -1)  # (N, G, C/G * spatial)
    xhat, invstd, _, _ = _standardize(grouped, (2,), eps)
    xhat = xhat.reshape(x.shape)
    channel = (1, c) + (1,) * (x.ndim - 2)  # broadcasts a (C,) parameter over (N, C, *)
    w = None if weight is None else weight.data.reshape(channel)
    out = xhat if w is None else xhat * w
    if bias is not None:
        out = out + bias.data.reshape(channel)
    elif w is None:
        out = out.copy()  # backward keeps xhat

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return functional_twice.group_norm(g, input, num_groups, weight, bias, eps)
        reduce_axes = (0,) + tuple(range(2, x.ndim))
        grad_x = None
        if input.requires_grad:
            gxhat = (g if w is None else g * w).reshape(n, num_groups, -1)
            grad_x = _normalize_backward(gxhat, xhat.reshape(n, num_groups, -1), invstd, None, (2,))
            grad_x = grad_x.reshape(x.shape)
        grad_w = None if weight is None else (g * xhat).sum(axis=reduce_axes)
        grad_b = None if bias is None else g.sum(axis=reduce_axes)
        return _for_parents((grad_x, grad_w, grad_b), (input, weight, bias))

    parents = tuple(t for t in (input, weight, bias) if t is not None)
    return Tensor._result(out, parents, backward, versions.saving("NativeGroupNormBackward", parents, (input, weight)))


class GroupNorm(Module):
    """GroupNorm(num_groups, num_channels, eps=1e-5, affine=True): per-group statistics,
    per-channel `weight` (ones) and `bias` (zeros), the same in training and evaluation."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, bias=True, dtype=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("GroupNorm: num_channels must be divisible by num_groups, "
                             f"got num_channels={num_channels}, num_groups={num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        affine_parameters(self, num_channels, affine, bias, dtype)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        check_input(input, "GroupNorm", min_ndim=2)
        if input.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input with {self.num_channels} channels, got shape {tuple(input.shape)}")
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


_NORMALIZE = versions.SavingOp("NormalizeBackward", saves=(0,))  # PyTorch's reads the input


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """input / max(||input||_p along dim, eps), as `torch.nn.functional.normalize`."""
    op = "normalize"
    check_input(input, op)
    x = input.data
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise IndexError(f"{op}: dim {dim} is out of range for input of shape {tuple(x.shape)}")
    p = float(p)
    if p <= 0:
        raise ValueError(f"{op}: only p > 0 is supported, got p={p}")
    axis = dim if x.ndim else None
    magnitude = np.abs(x)
    if p == 2.0:
        norm = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    elif np.isinf(p):
        norm = np.max(magnitude, axis=axis, keepdims=True)
    else:
        norm = np.sum(magnitude ** p, axis=axis, keepdims=True) ** (1.0 / p)
    denom = np.maximum(norm, np.asarray(eps, dtype=x.dtype))
    out = x / denom

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return functional_twice.normalize(g, input, p, axis, eps, norm)
        grad = g / denom
        # where the norm was used (above eps): minus x / norm^2 * sum(g * x) * d(norm)/dx
        coeff = np.where(norm > eps, -np.sum(g * x, axis=axis, keepdims=True) / (denom * denom), 0)
        if p == 2.0:
            dnorm = x / np.where(norm > 0, norm, 1)
        elif np.isinf(p):
            dnorm = np.sign(x) * (magnitude == norm)
        else:
            dnorm = np.sign(x) * magnitude ** (p - 1) / np.where(norm > 0, norm, 1) ** (p - 1)
        return ((grad + coeff * dnorm).astype(x.dtype),)

    return Tensor._result(out, (input,), backward, _NORMALIZE)
