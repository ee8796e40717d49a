"""Reductions of Tensor: sum, mean, var, std, logsumexp, max/min, argmax/argmin, topk."""

import math
from collections import namedtuple

import numpy as np

from .. import versions
from .. import tensor  # circular on purpose: tensor.py builds Tensor from this class; used at call time
from ..seams import replaced, seam
from . import differentiable
from ._common import _floating, _normalize_dim, _normalize_dims

MinMax = namedtuple("MinMax", ["values", "indices"])
TopK = namedtuple("TopK", ["values", "indices"])


@seam("sum_backward")
def sum_backward(grad, shape, dim=None, keepdim=False):
    """Gradient for the input (of `shape`) of x.sum(dim, keepdim): `grad` broadcast back."""
    dims = _normalize_dims(dim, len(shape), "sum_backward")
    if not keepdim:
        grad = np.expand_dims(grad, dims)
    return np.broadcast_to(grad, shape)


# what each op's backward reads, as PyTorch's (see versions.SavingOp): var the input; the others
# the input and the output (max/min along a dim keep only their indices, cumsum nothing)
_VAR = versions.SavingOp("VarBackward", saves=(0,))
_STD, _LOGSUMEXP, _PROD, _NORM = (
    versions.SavingOp(name, saves=(0,), saves_output=True)
    for name in ("StdBackward", "LogsumexpBackward", "ProdBackward", "NormBackward")
)
_EXTREMES = {op: versions.SavingOp(f"{op.capitalize()}Backward", saves=(0,), saves_output=True)
             for op in ("max", "min", "amax", "amin")}


@seam("var")
def var(x, dim=None, keepdim=False, correction=1):
    """Variance of Tensor `x` over `dim` (int, tuple or None for all), divided by count - correction."""
    dims, centered, dof, squares = x._variance("var", dim, keepdim, correction)
    with np.errstate(divide="ignore", invalid="ignore"):  # no degrees of freedom: nan, as in PyTorch
        out = squares / dof

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return differentiable.spread(g, x, dims, keepdim, dof)
        if not keepdim:
            g = np.expand_dims(g, dims)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g * centered * (2 / dof if dof else np.inf),)

    return x._result(out, (x,), backward, _VAR)


def _correction(op, dim, unbiased, correction):
    """(dim, correction) of var/std's overloads: `x.var(False)` is var(unbiased), and
    `unbiased=True/False` is PyTorch's older spelling of correction 1/0."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise ValueError(f"{op}: pass either unbiased or correction, not both")
    if correction is None:
        correction = 1 if unbiased is None else int(unbiased)
    return dim, correction


class ReductionOps:
    """Reductions over `dim` (an int, a tuple or None = all) with `keepdim`."""

    def sum(self, dim=None, keepdim=False, dtype=None):
        if dtype is not None:  # PyTorch casts before summing (e.g. sum(dtype=torch.float64))
            return self.to(dtype).sum(dim, keepdim)
        dims = _reduced_dims(dim, self.ndim, "sum")
        shape = self.shape
        out = self.data.sum(axis=dims, keepdims=keepdim)

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return differentiable.reduce_sum(g, shape, dims, keepdim)
            return (replaced.get("sum_backward", sum_backward)(g, shape, dims, keepdim),)

        return self._result(np.asarray(out), (self,), backward, "SumBackward")

    def _reduced_count(self, dims, op):
        if self.data.dtype.kind != "f":
            raise TypeError(f"{op}: input dtype must be floating point, got {self.dtype}; use .float() first")
        return math.prod(self.shape[d] for d in dims)

    def mean(self, dim=None, keepdim=False, dtype=None):
        if dtype is not None:
            return self.to(dtype).mean(dim, keepdim)
        dims = _reduced_dims(dim, self.ndim, "mean")
        count = self._reduced_count(dims, "mean")
        shape = self.shape
        if count == 0:  # the mean of nothing is nan, as in PyTorch; the gradient is empty
            out = np.full(np.sum(self.data, axis=dims, keepdims=keepdim).shape, np.nan, self.data.dtype)
            count = 1
        else:
            out = self.data.mean(axis=dims, keepdims=keepdim)

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):
                return differentiable.reduce_sum(g, shape, dims, keepdim, 1 / count)
            if not keepdim:
                g = np.expand_dims(g, dims)
            return (np.broadcast_to(g / count, shape),)

        return self._result(np.asarray(out), (self,), backward, "MeanBackward")

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """Variance over `dim` divided by (count - correction): `correction=1` (Bessel's, the
        default) or 0; `unbiased=True/False` is PyTorch's older positional spelling of 1/0,
        as in `x.var(0, False)`. Computed by the implementation in use (a learner's, module 01)."""
        dim, correction = _correction("var", dim, unbiased, correction)
        return replaced.get("var", var)(self, dim, keepdim, correction)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """Standard deviation (the square root of `var`, same arguments). Where all values are
        equal the gradient is 0, as in PyTorch (not 0/0)."""
        dim, correction = _correction("std", dim, unbiased, correction)
        dims, centered, dof, squares = self._variance("std", dim, keepdim, correction)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.sqrt(squares / dof)

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):
                return differentiable.spread(g, self, dims, keepdim, dof, std=True)
            spread = out if keepdim else np.expand_dims(out, dims)
            if not keepdim:
                g = np.expand_dims(g, dims)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(spread == 0, 0, g / (spread * dof))
            return (centered * scale,)

        return self._result(out, (self,), backward, _STD)

    def _variance(self, op, dim, keepdim, correction):
        """(dims, x - mean, degrees of freedom, sum of squares) for var/std."""
        dims = _reduced_dims(dim, self.ndim, op)
        count = self._reduced_count(dims, op)
        x = self.data
        centered = x - x.mean(axis=dims, keepdims=True) if count else x
        squares = (centered * centered).sum(axis=dims, keepdims=keepdim)
        return dims, centered, max(count - correction, 0), squares

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) along `dim`, computed without overflow."""
        dims = _reduced_dims(dim, self.ndim, "logsumexp")
        x = _floating(self.data)
        peak = x.max(axis=dims, keepdims=True, initial=-np.inf)  # -inf over an empty dim
        peak = np.where(np.isfinite(peak), peak, 0)  # rows of -inf stay -inf, not nan
        with np.errstate(divide="ignore"):  # log(0) = -inf for rows that are all -inf
            out = np.log(np.exp(x - peak).sum(axis=dims, keepdims=True)) + peak  # keepdim shape

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):
                return differentiable.logsumexp(g, self, dims, keepdim)
            if not keepdim:
                g = np.expand_dims(g, dims)
            return (g * np.exp(x - out),)

        result = out if keepdim else out.squeeze(dims)
        return self._result(result, (self,), backward, _LOGSUMEXP)

    def _extreme(self, dim, keepdim, pick, arg, op):
        if self.data.size == 0 and (dim is None or self.shape[_normalize_dims(dim, self.ndim, op)[0]] == 0):
            raise ValueError(f"{op}: cannot reduce an empty tensor of shape {self.shape}")
        if dim is None:
            out = np.asarray(pick(self.data))
            # the gradient is shared evenly between tied extremes, as PyTorch does
            mask = self.data == out
            count = int(mask.sum())

            def backward_all(g):
                return differentiable.masked(g, mask / count) if not isinstance(g, (np.ndarray, np.generic)) else (mask * (g / count),)

            return self._result(out, (self,), backward_all, _EXTREMES[op])
        if self.ndim == 0:  # along dim 0 of a 0-d tensor: the element itself, index 0
            _normalize_dims(dim, 0, op)
            values, indices = self.reshape(1)._extreme(0, False, pick, arg, op)
            return MinMax(values.reshape(()), indices.reshape(()))
        axis = _normalize_dim(dim, self.ndim, op)
        indices = np.expand_dims(arg(self.data, axis=axis), axis)
        values = np.take_along_axis(self.data, indices, axis)
        shape = self.shape

        def backward(g):  # with dim, the gradient goes to the returned index only
            if not isinstance(g, (np.ndarray, np.generic)):
                picked = np.zeros(shape, dtype=bool)
                np.put_along_axis(picked, indices, True, axis)
                return differentiable.masked(differentiable.kept(g, shape, (axis,), keepdim), picked)
            grad = np.zeros(shape, dtype=g.dtype)
            np.put_along_axis(grad, indices, g if keepdim else np.expand_dims(g, axis), axis)
            return (grad,)

        if not keepdim:
            values = values.squeeze(axis)
        result = self._result(values, (self,), backward, f"{op.capitalize()}Backward")
        return MinMax(result, tensor.Tensor((indices if keepdim else indices.squeeze(axis)).astype(np.int64)))

    def max(self, dim=None, keepdim=False):
        """Largest element; with `dim`, a (values, indices) pair like PyTorch; with a tensor,
        the elementwise maximum (`torch.max(a, b)`)."""
        if isinstance(dim, tensor.Tensor):
            return self.maximum(dim)
        return self._extreme(dim, keepdim, np.max, np.argmax, "max")

    def min(self, dim=None, keepdim=False):
        """Smallest element; with `dim`, a (values, indices) pair like PyTorch; with a tensor,
        the elementwise minimum (`torch.min(a, b)`)."""
        if isinstance(dim, tensor.Tensor):
            return self.minimum(dim)
        return self._extreme(dim, keepdim, np.min, np.argmin, "min")

    def argmax(self, dim=None, keepdim=False):
        self._check_arg_input(dim, "argmax")
        if dim is None or self.ndim == 0:
            _normalize_dims(dim, self.ndim, "argmax")
            return tensor.Tensor(np.asarray(self.data.argmax(), dtype=np.int64))
        axis = _normalize_dim(dim, self.ndim, "argmax")
        return tensor.Tensor(self.data.argmax(axis=axis, keepdims=keepdim).astype(np.int64))

    def argmin(self, dim=None, keepdim=False):
        self._check_arg_input(dim, "argmin")
        if dim is None or self.ndim == 0:
            _normalize_dims(dim, self.ndim, "argmin")
            return tensor.Tensor(np.asarray(self.data.argmin(), dtype=np.int64))
        axis = _normalize_dim(dim, self.ndim, "argmin")
        return tensor.Tensor(self.data.argmin(axis=axis, keepdims=keepdim).astype(np.int64))

    def _check_arg_input(self, dim, op):
        if self.data.size == 0 and (dim is None or self.shape[_normalize_dims(dim, self.ndim, op)[0]] == 0):
            raise IndexError(f"{op}: cannot take the {op} of an empty dimension (tensor shape {self.shape})")

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
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                where = list(np.indices(indices.shape, sparse=True))
                where[axis] = indices
                return differentiable.scatter(g, shape, tuple(where))
            grad = np.zeros(shape, dtype=g.dtype)
            np.put_along_axis(grad, indices, g, axis)
            return (grad,)

        return TopK(self._result(values, (self,), backward, "TopkBackward"), tensor.Tensor(indices.astype(np.int64)))

    # ------------------------------------------------------------------ more reductions

    def amax(self, dim=(), keepdim=False):
        """Largest values over `dim` (all dims by default); tied maxima share the gradient."""
        return self._extreme_values(dim, keepdim, np.max, "amax")

    def amin(self, dim=(), keepdim=False):
        """Smallest values over `dim` (all dims by default); tied minima share the gradient."""
        return self._extreme_values(dim, keepdim, np.min, "amin")

    def _extreme_values(self, dim, keepdim, pick, op):
        dims = _normalize_dims(None if dim == () else dim, self.ndim, op)
        if any(self.shape[d] == 0 for d in dims):
            raise ValueError(f"{op}: cannot reduce over an empty dimension of shape {self.shape}")
        x = self.data
        peak = pick(x, axis=dims, keepdims=True)

        def backward(g):
            mask = x == peak
            share = mask / mask.sum(axis=dims, keepdims=True)  # evenly among ties, as PyTorch
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return differentiable.masked(differentiable.kept(g, x.shape, dims, keepdim), share)
            return ((g if keepdim else np.expand_dims(g, dims)) * share,)

        out = peak if keepdim else peak.squeeze(dims)
        return self._result(out, (self,), backward, _EXTREMES[op])

    def prod(self, dim=None, keepdim=False, dtype=None):
        """Product of the elements (over one `dim`, or all); the gradient is exact at zeros."""
        if dtype is not None:
            return self.to(dtype).prod(dim, keepdim)
        x = self.data
        if dim is None:
            flat = self.reshape(-1) if self.ndim != 1 else self
            return flat.prod(0, keepdim=False).reshape(() if not keepdim else (1,) * self.ndim)
        axis = _normalize_dim(dim, self.ndim, "prod") if self.ndim else None
        if axis is None:
            return self._result(_accumulator(x), (self,), lambda g: (g,), "ProdBackward")
        out = np.prod(x, axis=axis, keepdims=True)
        if x.dtype.kind == "b":
            out = out.astype(np.int64)

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return differentiable.product(g, self, axis, keepdim)
            if x.shape[axis] == 0:
                return (np.zeros_like(x),)
            # product of all the other elements = exclusive prefix product * exclusive suffix product
            ones = np.ones_like(np.take(x, [0], axis=axis))
            before = np.cumprod(np.concatenate([ones, np.take(x, range(x.shape[axis] - 1), axis=axis)], axis=axis), axis=axis)
            after = np.flip(np.cumprod(np.concatenate(
                [ones, np.flip(np.take(x, range(1, x.shape[axis]), axis=axis), axis=axis)], axis=axis), axis=axis), axis=axis)
            return ((g if keepdim else np.expand_dims(g, axis)) * before * after,)

        return self._result(out if keepdim else out.squeeze(axis), (self,), backward, _PROD)

    def cumsum(self, dim, dtype=None):
        """Running sum along `dim`; its gradient is the running sum of the gradient from the end."""
        if dtype is not None:
            return self.to(dtype).cumsum(dim)
        if self.ndim == 0:  # integers and bool accumulate in int64, as PyTorch
            return self._result(_accumulator(self.data), (self,), lambda g: (g,), "CumsumBackward")
        axis = _normalize_dim(dim, self.ndim, "cumsum")
        x = self.data
        out = np.cumsum(x, axis=axis, dtype=np.int64 if x.dtype.kind in "bi" else x.dtype)

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return differentiable.Grads((g.flip(axis).cumsum(axis).flip(axis),))
            return (np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis),)

        return self._result(out, (self,), backward, "CumsumBackward")

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """Vector p-norm over `dim` (all elements by default): p = 2 ('fro'), 1, inf, -inf, 0 or
        any other number; the gradient of the 2-norm at zero is zero, as in PyTorch."""
        if dtype is not None:
            return self.to(dtype).norm(p, dim, keepdim)
        if self.data.dtype.kind != "f":
            raise TypeError(f"norm: input dtype must be floating point, got {self.dtype}")
        if p in ("fro", 2, 2.0):
            dims = _normalize_dims(dim, self.ndim, "norm")
            x = self.data
            wide = x.astype(np.float64)  # float32 squares would underflow below 1e-19 (PyTorch's don't)
            out = np.sqrt((wide * wide).sum(axis=dims, keepdims=True)).astype(x.dtype)

            def backward(g):
                if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                    return differentiable.two_norm(g, self, out, dims, keepdim)
                with np.errstate(divide="ignore", invalid="ignore"):
                    # (x * g) / norm in PyTorch's order: the same rounding where values are subnormal
                    return (np.where(out == 0, 0, x * (g if keepdim else np.expand_dims(g, dims)) / out),)

            return self._result(out if keepdim else out.squeeze(dims), (self,), backward, _NORM)
        if p in (math.inf, -math.inf):
            pick = self.abs().amax if p > 0 else self.abs().amin
            return pick(() if dim is None else dim, keepdim)
        if p == 0:
            return (self != 0).to(self.dtype).sum(dim, keepdim)
        if isinstance(p, str) or not isinstance(p, (int, float)):
            raise ValueError(f"norm: unsupported p={p!r}; use a number, 'fro', inf or -inf")
        return (self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)

def _accumulator(x):
    """A copy of `x` in the dtype PyTorch sums and multiplies it in: int64 for integers and bool."""
    return x.astype(np.int64) if x.dtype.kind in "biu" else x.copy()


def _reduced_dims(dim, ndim, op):
    """Axes for sum/mean/var/std/logsumexp: as `_normalize_dims`, and an empty tuple or list
    means all dimensions, as in PyTorch (`x.sum(())` is the total)."""
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None
    return _normalize_dims(dim, ndim, op)
