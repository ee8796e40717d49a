"""Indexing operations of Tensor: gather, index_select, sort/argsort, nonzero."""

from collections import namedtuple

import numpy as np

from .. import tensor  # circular on purpose: tensor.py builds Tensor from this class; used at call time
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
        index = _index_array(index, "gather")
        axis = _normalize_dim(dim, max(self.ndim, 1), "gather") if self.ndim else 0
        if index.ndim != self.ndim:
            raise ValueError(f"gather: index has {index.ndim} dimensions, the input has {self.ndim} (shapes {index.shape} and {self.shape})")
        if any(n > m for d, (n, m) in enumerate(zip(index.shape, self.shape)) if d != axis):
            raise ValueError(f"gather: index shape {index.shape} is larger than input shape {self.shape} outside dim {dim}")
        _check_bounds(index, self.shape[axis] if self.ndim else 1, "gather", dim)
        if self.ndim == 0:
            return self._result(self.data.copy(), (self,), lambda g: (g,), "GatherBackward")
        where = list(np.indices(index.shape, sparse=True))
        where[axis] = index
        where = tuple(where)
        shape = self.shape

        def backward(g):
            grad = np.zeros(shape, dtype=g.dtype)
            np.add.at(grad, where, g)
            return (grad,)

        return self._result(self.data[where], (self,), backward, "GatherBackward")

    def index_select(self, dim, index):
        """The slices at positions `index` (a 1-D integer tensor) along `dim`."""
        index = _index_array(index, "index_select")
        if index.ndim > 1:
            raise ValueError(f"index_select: index must be 0-D or 1-D, got shape {index.shape}")
        index = index.reshape(-1)
        if self.ndim == 0:
            _check_bounds(index, 1, "index_select", dim)
            return self._result(self.data.copy(), (self,), lambda g: (g,), "IndexSelectBackward")
        axis = _normalize_dim(dim, self.ndim, "index_select")
        _check_bounds(index, self.shape[axis], "index_select", dim)
        where = (slice(None),) * axis + (index,)
        shape = self.shape

        def backward(g):
            grad = np.zeros(shape, dtype=g.dtype)
            np.add.at(grad, where, g)
            return (grad,)

        return self._result(np.take(self.data, index, axis=axis), (self,), backward, "IndexSelectBackward")

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
