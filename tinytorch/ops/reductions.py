"""Reductions of Tensor: sum, mean, var, std, logsumexp, max/min, argmax/argmin, topk."""

import math
from collections import namedtuple

import numpy as np

from .. import tensor  # circular on purpose: tensor.py builds Tensor from this class; used at call time
from ..seams import replaced, seam
from ._common import _normalize_dim, _normalize_dims

MinMax = namedtuple("MinMax", ["values", "indices"])
TopK = namedtuple("TopK", ["values", "indices"])


@seam("sum_backward")
def sum_backward(grad, shape, dim=None, keepdim=False):
    """Gradient for the input (of `shape`) of x.sum(dim, keepdim): `grad` broadcast back."""
    dims = _normalize_dims(dim, len(shape), "sum_backward")
    if not keepdim:
        grad = np.expand_dims(grad, dims)
    return np.broadcast_to(grad, shape)


@seam("var")
def var(x, dim=None, keepdim=False, correction=1):
    """Variance of Tensor `x` over `dim` (int, tuple or None for all), divided by count - correction."""
    dims = _normalize_dims(dim, x.ndim, "var")
    count = x._reduced_count(dims, "var")
    data = x.data
    centered = data - data.mean(axis=dims, keepdims=True)
    dof = max(count - correction, 0)
    with np.errstate(divide="ignore", invalid="ignore"):  # no degrees of freedom: nan, as in PyTorch
        out = (centered * centered).sum(axis=dims, keepdims=keepdim) / dof
    scale = 2 / dof if dof else math.inf

    def backward(g):
        if not keepdim:
            g = np.expand_dims(g, dims)
        with np.errstate(invalid="ignore"):
            return (g * centered * scale,)

    return x._result(out, (x,), backward, "VarBackward")


class ReductionOps:
    """Reductions over `dim` (an int, a tuple or None = all) with `keepdim`."""

    def sum(self, dim=None, keepdim=False):
        dims = _normalize_dims(dim, self.ndim, "sum")
        shape = self.shape
        out = self.data.sum(axis=dims, keepdims=keepdim)

        def backward(g):
            return (replaced.get("sum_backward", sum_backward)(g, shape, dims, keepdim),)

        return self._result(np.asarray(out), (self,), backward, "SumBackward")

    def _reduced_count(self, dims, op):
        if self.data.dtype.kind != "f":
            raise TypeError(f"{op}: input dtype must be floating point, got {self.dtype}; use .float() first")
        return math.prod(self.shape[d] for d in dims)

    def mean(self, dim=None, keepdim=False):
        dims = _normalize_dims(dim, self.ndim, "mean")
        count = self._reduced_count(dims, "mean")
        if count == 0:
            raise ValueError(f"mean: cannot average over an empty dimension of shape {self.shape}")
        shape = self.shape
        out = self.data.mean(axis=dims, keepdims=keepdim)

        def backward(g):
            if not keepdim:
                g = np.expand_dims(g, dims)
            return (np.broadcast_to(g / count, shape),)

        return self._result(np.asarray(out), (self,), backward, "MeanBackward")

    def var(self, dim=None, keepdim=False, correction=1, unbiased=None):
        """Variance; `correction=1` is Bessel's correction (PyTorch's default), 0 the biased one
        (`unbiased=False` is the older spelling of `correction=0`)."""
        if unbiased is not None:
            correction = int(unbiased)
        return replaced.get("var", var)(self, dim, keepdim, correction)

    def std(self, dim=None, keepdim=False, correction=1, unbiased=None):
        """Standard deviation: the square root of `var` with the same arguments."""
        return self.var(dim, keepdim, correction, unbiased).sqrt()

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) along `dim`, computed without overflow."""
        dims = _normalize_dims(dim, self.ndim, "logsumexp")
        x = self.data
        peak = x.max(axis=dims, keepdims=True)
        peak = np.where(np.isfinite(peak), peak, 0)  # rows of -inf stay -inf, not nan
        with np.errstate(divide="ignore"):  # log(0) = -inf for rows that are all -inf
            out = np.log(np.exp(x - peak).sum(axis=dims, keepdims=True)) + peak  # keepdim shape

        def backward(g):
            if not keepdim:
                g = np.expand_dims(g, dims)
            return (g * np.exp(x - out),)

        result = out if keepdim else out.squeeze(dims)
        return self._result(result, (self,), backward, "LogsumexpBackward")

    def _extreme(self, dim, keepdim, pick, arg, op):
        if self.data.size == 0:
            raise ValueError(f"{op}: cannot reduce an empty tensor of shape {self.shape}")
        if dim is None:
            out = np.asarray(pick(self.data))
            # the gradient is shared evenly between tied extremes, as PyTorch does
            mask = self.data == out
            count = int(mask.sum())
            return self._result(out, (self,), lambda g: (mask * (g / count),), f"{op.capitalize()}Backward")
        axis = _normalize_dim(dim, self.ndim, op)
        indices = np.expand_dims(arg(self.data, axis=axis), axis)
        values = np.take_along_axis(self.data, indices, axis)
        shape = self.shape

        def backward(g):  # with dim, the gradient goes to the returned index only
            grad = np.zeros(shape, dtype=g.dtype)
            np.put_along_axis(grad, indices, g if keepdim else np.expand_dims(g, axis), axis)
            return (grad,)

        if not keepdim:
            values = values.squeeze(axis)
        result = self._result(values, (self,), backward, f"{op.capitalize()}Backward")
        return MinMax(result, tensor.Tensor((indices if keepdim else indices.squeeze(axis)).astype(np.int64)))

    def max(self, dim=None, keepdim=False):
        """Largest element; with `dim`, a (values, indices) pair like PyTorch."""
        return self._extreme(dim, keepdim, np.max, np.argmax, "max")

    def min(self, dim=None, keepdim=False):
        """Smallest element; with `dim`, a (values, indices) pair like PyTorch."""
        return self._extreme(dim, keepdim, np.min, np.argmin, "min")

    def argmax(self, dim=None, keepdim=False):
        if dim is None:
            return tensor.Tensor(np.asarray(self.data.argmax(), dtype=np.int64))
        axis = _normalize_dim(dim, self.ndim, "argmax")
        return tensor.Tensor(self.data.argmax(axis=axis, keepdims=keepdim).astype(np.int64))

    def argmin(self, dim=None, keepdim=False):
        if dim is None:
            return tensor.Tensor(np.asarray(self.data.argmin(), dtype=np.int64))
        axis = _normalize_dim(dim, self.ndim, "argmin")
        return tensor.Tensor(self.data.argmin(axis=axis, keepdims=keepdim).astype(np.int64))

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """The `k` largest (or smallest) elements along `dim` and their indices."""
        axis = _normalize_dim(dim, self.ndim, "topk")
        if not 0 <= k <= self.shape[axis]:
            raise ValueError(f"topk: k={k} is out of range for dim {dim} of size {self.shape[axis]} (shape {self.shape})")
        order = np.argsort(-self.data if largest else self.data, axis=axis, kind="stable")
        indices = np.take(order, np.arange(k), axis=axis)
        values = np.take_along_axis(self.data, indices, axis)
        shape = self.shape

        def backward(g):
            grad = np.zeros(shape, dtype=g.dtype)
            np.put_along_axis(grad, indices, g, axis)
            return (grad,)

        return TopK(self._result(values, (self,), backward, "TopkBackward"), tensor.Tensor(indices.astype(np.int64)))
