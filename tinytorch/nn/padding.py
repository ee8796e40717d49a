"""`F.pad`: constant, reflect, replicate and circular padding of the last dimensions.

`pad` lists (before, after) amounts from the last dimension backwards, as in PyTorch:
(left, right) pads the last dim, (left, right, top, bottom) the last two. Constant padding
also accepts negative amounts (cropping). The other modes map every output position to an
input index, so the forward is one gather and the backward one scatter-add per padded dim.
"""

import numbers

import numpy as np

from ..tensor import Tensor
from . import functional_twice
from .module import check_input

_INDEX_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pairs(pad, ndim, op):
    """[(axis, before, after)] from PyTorch's flat pad list."""
    pad = tuple(pad)
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in pad):
        raise TypeError(f"{op}: pad must be a sequence of ints, got {pad!r}")
    if len(pad) % 2:
        raise ValueError(f"{op}: Padding length must be divisible by 2, got {pad!r}")
    if len(pad) // 2 > ndim:
        raise ValueError(f"{op}: Padding length should be less than or equal to two times the input "
                         f"dimension, got pad {pad!r} for an input with {ndim} dimensions")
    return [(ndim - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(len(pad) // 2)]


def _constant(input, pairs, value):
    x = input.data
    out_shape, src, dst = list(x.shape), [slice(None)] * x.ndim, [slice(None)] * x.ndim
    for axis, before, after in pairs:
        n = x.shape[axis]
        out_shape[axis] = n + before + after
        if out_shape[axis] < 0:
            raise ValueError(f"pad: the padded size of dim {axis} of input {tuple(x.shape)} would be negative")
        start, stop = max(-before, 0), max(n - max(-after, 0), max(-before, 0))
        src[axis] = slice(start, stop)
        dst[axis] = slice(max(before, 0), max(before, 0) + stop - start)
    out = np.full(out_shape, value, dtype=x.dtype)
    src, dst = tuple(src), tuple(dst)
    out[dst] = x[src]

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return functional_twice.constant_pad(g, x.shape, src, dst)
        grad = np.zeros_like(x)
        grad[src] = g[dst]
        return (grad,)

    return Tensor._result(out, (input,), backward, "ConstantPadNdBackward")


def _indexed(input, pairs, mode, op):
    x = input.data
    if len(pairs) > 3 or x.ndim not in (len(pairs) + 1, len(pairs) + 2):
        # as PyTorch: padding n dims needs an (n+1)-D unbatched or (n+2)-D batched input
        raise NotImplementedError(
            f"{op}: Padding size {2 * len(pairs)} is not supported for {x.ndim}D input tensor "
            f"({mode} padding of the last n dims, n = 1 to 3, takes (n+1)-D or (n+2)-D input)"
        )
    indices = []
    for axis, before, after in pairs:
        n = x.shape[axis]
        if min(before, after) < 0:
            raise ValueError(f"{op}: negative padding is only supported in 'constant' mode, got ({before}, {after})")
        if mode == "reflect" and max(before, after) >= n:
            raise ValueError(f"{op}: Padding size should be less than the corresponding input dimension, but got: "
                             f"padding ({before}, {after}) at dimension {axis} of input {tuple(x.shape)}")
        if mode == "circular" and max(before, after) > n:
            raise ValueError(f"{op}: Padding value causes wrapping around more than once: padding "
                             f"({before}, {after}) at dimension {axis} of input {tuple(x.shape)}")
        indices.append((axis, np.pad(np.arange(n), (before, after), mode=_INDEX_MODES[mode])))
    out = x
    for axis, index in indices:
        out = np.take(out, index, axis=axis)

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return functional_twice.indexed_pad(g, x.shape, indices)
        for axis, index in reversed(indices):
            shape = list(g.shape)
            shape[axis] = x.shape[axis]
            grad = np.zeros(shape, dtype=g.dtype)
            moved = np.moveaxis(grad, axis, 0)  # a view: adds land in `grad`
            np.add.at(moved, index, np.moveaxis(g, axis, 0))
            g = grad
        return (g,)

    return Tensor._result(np.ascontiguousarray(out), (input,), backward, f"{mode.capitalize()}PadBackward")


def pad(input, pad, mode="constant", value=None):
    """`input` padded by `pad` = (last_before, last_after, second_last_before, ...)."""
    op = "pad"
    check_input(input, op)
    pairs = _pairs(pad, input.ndim, op)
    if mode == "constant":
        return _constant(input, pairs, 0 if value is None else value)
    if mode not in _INDEX_MODES:
        raise ValueError(f"{op}: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if value not in (None, 0):
        raise ValueError(f"{op}: padding mode {mode!r} doesn't take in value argument")
    return _indexed(input, pairs, mode, op)
