"""Indexing operations of Tensor: gather, index_select, sort/argsort, nonzero."""

from collections import namedtuple

import numpy as np

from .. import versions
from .. import tensor  # circular on purpose: tensor.py builds Tensor from this class; used at call time
from . import differentiable
from ._common import _normalize_dim

Sort = namedtuple("Sort", ["values", "indices"])


def _index_array(index, op):
    """The integer NumPy array inside an index tensor (or list), with a clear error otherwise."""
    array = tensor._as_array(index)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor (torch.long), got dtype {tensor.dtypes.from_numpy(array.dtype)}")
    return array


def _check_bounds(index, size, op, dim):
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index.min() if index.min() < 0 else index.max()
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {dim} with size {size}")


class IndexingOps:
    """Selecting elements by index tensors; gradients are scattered back (repeats add up)."""

    def gather(self, dim, index):
        """`out[i][j] = self[index[i][j]][j]` (for dim=0): values picked along `dim`. `index` has
        the same number of dimensions, and no larger sizes than self outside `dim`."""
        op = versions.saving("GatherBackward", (self,), (self, index))  # backward reads both, as PyTorch's
        index = _index_array(index, "gather")
        axis = _normalize_dim(dim, max(self.ndim, 1), "gather") if self.ndim else 0
        if index.ndim != self.ndim:
            raise ValueError(f"gather: index has {index.ndim} dimensions, the input has {self.ndim} (shapes {index.shape} and {self.shape})")
        if any(n > m for d, (n, m) in enumerate(zip(index.shape, self.shape)) if d != axis):
            raise ValueError(f"gather: index shape {index.shape} is larger than input shape {self.shape} outside dim {dim}")
        _check_bounds(index, self.shape[axis] if self.ndim else 1, "gather", dim)
        if self.ndim == 0:
            return self._result(self.data.copy(), (self,), lambda g: (g,), op)
        where = list(np.indices(index.shape, sparse=True))
        where[axis] = index
        where = tuple(where)
        shape = self.shape

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return differentiable.scatter(g, shape, where)
            grad = np.zeros(shape, dtype=g.dtype)
            np.add.at(grad, where, g)
            return (grad,)

        return self._result(self.data[where], (self,), backward, op)

    def index_select(self, dim, index):
        """The slices at positions `index` (a 1-D integer tensor) along `dim`."""
        op = versions.saving("IndexSelectBackward", (self,), (index,))  # backward reads the index
        index = _index_array(index, "index_select")
        if index.ndim > 1:
            raise ValueError(f"index_select: index must be 0-D or 1-D, got shape {index.shape}")
        index = index.reshape(-1)
        if self.ndim == 0:
            _check_bounds(index, 1, "index_select", dim)
            return self._result(self.data.copy(), (self,), lambda g: (g,), op)
        axis = _normalize_dim(dim, self.ndim, "index_select")
        _check_bounds(index, self.shape[axis], "index_select", dim)
        where = (slice(None),) * axis + (index,)
        shape = self.shape

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return differentiable.scatter(g, shape, where)
            grad = np.zeros(shape, dtype=g.dtype)
            np.add.at(grad, where, g)
            return (grad,)

        return self._result(np.take(self.data, index, axis=axis), (self,), backward, op)

    def _sort_order(self, dim, descending, op):
        """(axis, indices) that sort along `dim`; stable, NaN counted as the largest value."""
        axis = _normalize_dim(dim, self.ndim, op)
        x = self.data
        if not descending:
            return axis, np.argsort(x, axis=axis, kind="stable")
        # a stable ascending sort of the reversed data, reversed back: descending, ties in order
        n = x.shape[axis]
        return axis, (n - 1) - np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)

    def sort(self, dim=-1, descending=False, *, stable=False):
        """(values, indices) sorted along `dim`; gradients go back to where each value came from."""
        if self.ndim == 0:
            return Sort(self.clone(), tensor.Tensor(np.zeros((), dtype=np.int64)))
        axis, order = self._sort_order(dim, descending, "sort")
        shape = self.shape

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops  # each value back to its place
                return differentiable.Grads((g.gather(axis, tensor.Tensor(np.argsort(order, axis=axis))),))
            grad = np.empty(shape, dtype=g.dtype)
            np.put_along_axis(grad, order, g, axis)
            return (grad,)

        values = self._result(np.take_along_axis(self.data, order, axis), (self,), backward, "SortBackward")
        return Sort(values, tensor.Tensor(order.astype(np.int64)))

    def argsort(self, dim=-1, descending=False, *, stable=False):
        if self.ndim == 0:
            return tensor.Tensor(np.zeros((), dtype=np.int64))
        return tensor.Tensor(self._sort_order(dim, descending, "argsort")[1].astype(np.int64))

    def nonzero(self, as_tuple=False):
        """Indices of the nonzero elements: an (N, ndim) tensor, or one 1-D tensor per dimension."""
        if as_tuple:
            return tuple(tensor.Tensor(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(self.data)))
        return tensor.Tensor(np.argwhere(self.data).astype(np.int64))

    def _scatter_args(self, dim, index, src, op):
        """(positions, values, src tensor or None) for the scatter ops: with dim=0,
        `self[index[i][j]][j]` receives `src[i][j]`; `src` may also be a number."""
        index = _index_array(index, op)
        if index.ndim != self.ndim:
            raise ValueError(f"{op}: index has {index.ndim} dimensions, the input has {self.ndim} (shapes {index.shape} and {self.shape})")
        axis = _normalize_dim(dim, self.ndim, op)
        _check_bounds(index, self.shape[axis], op, dim)
        if any(n > m for d, (n, m) in enumerate(zip(index.shape, self.shape)) if d != axis):
            raise ValueError(f"{op}: index shape {index.shape} is larger than input shape {self.shape} outside dim {dim}")
        where = list(np.indices(index.shape, sparse=True))
        where[axis] = index
        if not isinstance(src, tensor.Tensor):
            return tuple(where), np.broadcast_to(np.asarray(src, dtype=self.data.dtype), index.shape), None
        if src.ndim != index.ndim or any(n > m for n, m in zip(index.shape, src.shape)):
            raise ValueError(f"{op}: src shape {src.shape} must cover index shape {index.shape}")
        corner = tuple(slice(0, n) for n in index.shape)  # the part of src that is used
        return tuple(where), src.data[corner].astype(self.data.dtype, copy=False), src

    def scatter(self, dim, index, src=None, value=None):
        """A copy with `src` (a tensor, or the number `value`) written at `index` along `dim`."""
        where, values, src = self._scatter_args(dim, index, value if src is None else src, "scatter")
        op = versions.saving("ScatterBackward", (self, src), (index,))  # backward reads the index
        out = self.data.copy()
        out[where] = values

        def backward(g):
            grad_self = g.copy()
            grad_self[where] = 0  # overwritten entries do not reach the output
            return grad_self, None if src is None else _placed(g[where], src.shape)

        return self._scatter_result(out, src, backward, op)

    def scatter_add(self, dim, index, src):
        """A copy with `src` added at `index` along `dim` (repeated indices add up)."""
        where, values, src = self._scatter_args(dim, index, src, "scatter_add")
        out = self.data.copy()
        np.add.at(out, where, values)
        read = (index,) if src is not None and src._requires_grad else ()  # only src's gradient reads the index
        return self._scatter_result(out, src, lambda g: (g, None if src is None else _placed(g[where], src.shape)),
                                    versions.saving("ScatterAddBackward", (self, src), read))

    def _scatter_result(self, out, src, backward, op):
        if src is None:
            return self._result(out, (self,), lambda g: backward(g)[:1], op)
        return self._result(out, (self, src), backward, op)

    def scatter_(self, dim, index, src=None, value=None):
        where, values, _ = self._scatter_args(dim, index, value if src is None else src, "scatter_")
        return self._assign(where, values, "scatter_")

    def scatter_add_(self, dim, index, src):
        return self._assign(Ellipsis, self.scatter_add(dim, index, src).data, "scatter_add_")

    def repeat_interleave(self, repeats, dim=None):
        """Each element (or slice along `dim`) repeated `repeats` times in place:
        [1, 2] -> [1, 1, 2, 2]. Without `dim`, over the flattened tensor."""
        source = self.reshape(-1) if dim is None else self
        axis = 0 if dim is None else _normalize_dim(dim, self.ndim, "repeat_interleave")
        counts = tensor._as_array(repeats)
        if counts.dtype.kind not in "iu" or np.any(counts < 0):
            raise ValueError(f"repeat_interleave: repeats must be non-negative integers, got {repeats!r}")
        if counts.ndim and counts.shape != (source.shape[axis],):
            raise ValueError(f"repeat_interleave: {counts.size} repeats for dim {axis} of size {source.shape[axis]}")
        positions = np.repeat(np.arange(source.shape[axis]), counts)  # which input slice each output slice is
        return source.index_select(axis, positions)


def _placed(values, shape):
    """`values` in the top corner of zeros of `shape` (the gradient of the used part of src)."""
    grad = np.zeros(shape, dtype=values.dtype)
    grad[tuple(slice(0, n) for n in values.shape)] = values
    return grad
