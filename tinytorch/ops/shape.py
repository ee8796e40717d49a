"""Shape manipulation and indexing of Tensor, and joining tensors (cat, stack, where)."""

import numpy as np

from .. import grad_mode, kernels, versions
from .. import tensor  # circular on purpose: tensor.py builds Tensor from this class; used at call time
from ..seams import replaced
from . import differentiable
from ._common import (
    _broadcast_shapes_or_none, _is_advanced, _normalize_dim, _normalize_dims, _promoted, _result_type, _scatter_add,
    _size_args, _unbroadcast,
)


def _roll_back(g, shifts, axes):
    """roll's gradient: g rolled back (`shifts` already negated)."""
    if isinstance(g, (np.ndarray, np.generic)):
        return (np.roll(g, shifts, axes),)
    return differentiable.Grads((g.roll(shifts, axes),))


class ShapeOps:
    """Views and copies that move elements around; gradients move them back."""

    def reshape(self, *shape):
        shape = _size_args(shape)
        source = self.shape
        try:
            out = self.data.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape tensor of shape {source} ({self.data.size} elements) into {shape}") from None
        def backward(g):
            return differentiable.reshape(g, source) if not isinstance(g, (np.ndarray, np.generic)) else (g.reshape(source),)

        return self._result(out, (self,), backward, "ReshapeBackward")

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start = _normalize_dim(start_dim, self.ndim, "flatten")
        end = _normalize_dim(end_dim, self.ndim, "flatten")
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {self.shape})")
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1:])

    def unsqueeze(self, dim):
        if not -(self.ndim + 1) <= dim <= self.ndim:
            raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor with {self.ndim} dimensions")
        dim = dim % (self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        """Drop size-1 dimensions (all, or those in `dim`; others in `dim` are kept)."""
        dims = _normalize_dims(dim, self.ndim, "squeeze")
        shape = tuple(n for i, n in enumerate(self.shape) if not (i in dims and n == 1))
        return self if shape == self.shape else self.reshape(shape)

    def expand(self, *shape):
        shape = _size_args(shape)
        source = self.shape
        lead = len(shape) - self.ndim
        if lead < 0 or any(n == -1 for n in shape[:lead]):
            raise ValueError(f"expand: cannot expand shape {source} to {shape}")
        shape = tuple(source[i - lead] if n == -1 else n for i, n in enumerate(shape))
        try:
            out = np.broadcast_to(self.data, shape)
        except ValueError:
            raise ValueError(f"expand: cannot expand shape {source} to {shape}") from None
        def backward(g):
            return differentiable.expand(g, source) if not isinstance(g, (np.ndarray, np.generic)) else (_unbroadcast(g, source),)

        return self._result(out, (self,), backward, "ExpandBackward")

    def repeat(self, *sizes):
        """Tile the tensor `sizes[i]` times along each dimension (like `torch.Tensor.repeat`)."""
        sizes = _size_args(sizes)
        if not sizes:
            raise TypeError("repeat: missing the number of repeats per dimension, e.g. repeat(2, 1)")
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat: needs at least {self.ndim} sizes for shape {self.shape}, got {sizes}")
        source = (1,) * (len(sizes) - self.ndim) + self.shape
        out = np.tile(self.data.reshape(source), sizes)
        tiled = tuple(n for pair in zip(sizes, source) for n in pair)  # (r0, s0, r1, s1, ...)

        def backward(g):
            axes = tuple(range(0, 2 * len(sizes), 2))
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return differentiable.Grads((g.reshape(tiled).sum(axes).reshape(self.shape),))
            return (g.reshape(tiled).sum(axis=axes).reshape(self.shape),)

        return self._result(out, (self,), backward, "RepeatBackward")

    def permute(self, *dims):
        dims = _size_args(dims)
        n = self.ndim
        if len(dims) != n or any(not -n <= d < n for d in dims) or len({d % n for d in dims}) != n:
            raise ValueError(f"permute: dims {dims} are not a permutation of the {n} dims of shape {self.shape}")
        dims = tuple(d % n for d in dims)
        inverse = tuple(np.argsort(dims))
        def backward(g):
            return differentiable.permute(g, inverse) if not isinstance(g, (np.ndarray, np.generic)) else (g.transpose(inverse),)

        return self._result(self.data.transpose(dims), (self,), backward, "PermuteBackward")

    def transpose(self, dim0, dim1):
        if self.ndim == 0:  # dims 0 and -1 of a 0-d tensor: nothing to swap
            _normalize_dims((dim0, dim1) if dim0 != dim1 else dim0, 0, "transpose")
            return self.permute()
        dims = list(range(self.ndim))
        a, b = _normalize_dim(dim0, self.ndim, "transpose"), _normalize_dim(dim1, self.ndim, "transpose")
        dims[a], dims[b] = dims[b], dims[a]
        return self.permute(*dims)

    @property
    def mT(self):
        """Transpose of the last two dimensions (batched matrices)."""
        return self.transpose(-2, -1)

    def contiguous(self):
        return self

    def __getitem__(self, index):
        # backward reads an integer index tensor (PyTorch's too): a change to it must be noticed
        op = _INDEX if type(index) is not tensor.Tensor or index.data.dtype == np.bool_ else \
            versions.saving("IndexBackward", (self,), (index,))
        index = _numpy_index(index)
        shape = self.shape
        try:
            out = self.data[index]
        except IndexError as error:
            raise IndexError(f"index: {error} (tensor shape {shape})") from None
        advanced = _is_advanced(index)
        if type(out) is not np.ndarray:  # one element: a 0-d view (as in PyTorch), not a copy
            out = self.data[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return differentiable.index(g, shape, index, advanced)
            if advanced:
                return (_scatter_add(shape, index, g),)
            grad = np.zeros(shape, dtype=g.dtype)
            grad[index] = g
            return (grad,)

        return self._result(np.asarray(out), (self,), backward, op)

    def split(self, split_size, dim=0):
        """Pieces along `dim`: of `split_size` each (the last may be smaller), or of the sizes
        in a list."""
        axis = _normalize_dim(dim, self.ndim, "split")
        length = self.shape[axis]
        if isinstance(split_size, (list, tuple)):
            if sum(split_size) != length or any(s < 0 for s in split_size):
                raise ValueError(f"split: sizes {list(split_size)} do not add up to {length} (dim {dim} of shape {self.shape})")
            bounds = np.cumsum([0, *split_size]).tolist()
        else:
            if split_size < 0 or (split_size == 0 and length):
                raise ValueError(f"split: split_size must be positive, got {split_size}")
            # an empty dimension still gives one (empty) piece, as in PyTorch
            bounds = list(range(0, length, split_size or 1)) + [length] if length else [0, 0]
        prefix = (slice(None),) * axis
        indices = [prefix + (slice(lo, hi),) for lo, hi in zip(bounds[:-1], bounds[1:])]
        if len(indices) == 1 or not (grad_mode._enabled and self._requires_grad):
            return tuple(self[index] for index in indices)
        return _split_pieces(self, indices)

    def chunk(self, chunks, dim=0):
        axis = _normalize_dim(dim, self.ndim, "chunk")
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        length = self.shape[axis]
        if length == 0:  # PyTorch keeps the number of chunks: `chunks` empty pieces
            return self.split([0] * chunks, dim)
        return self.split(-(-length // chunks), dim)

    def masked_fill(self, mask, value):
        """Copy with `value` where `mask` is True (mask broadcasts to this shape)."""
        mask = tensor._as_array(mask).astype(bool, copy=False)
        if _broadcast_shapes_or_none(mask.shape, self.shape) != self.shape:
            raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to {self.shape}")
        if isinstance(value, tensor.Tensor):
            if value._requires_grad:
                return where(tensor.Tensor(mask), value, self)
            value = value.data
        out = kernels.result_buffer_like(self.data)
        if out is None:
            out = np.where(mask, np.asarray(value, dtype=self.data.dtype), self.data)
        else:  # a large result, into a pooled array: the copy, then the value where the mask says
            np.copyto(out, self.data)
            np.copyto(out, np.asarray(value, dtype=self.data.dtype), where=mask)
        keep = ~mask
        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):
                return differentiable.masked(g, keep)
            return (kernels.product(g, keep),)

        return self._result(out, (self,), backward, "MaskedFillBackward")

    def tril(self, diagonal=0):
        """Lower triangle of the last two dimensions (the rest set to zero)."""
        return self._triangle(np.tril, diagonal, "tril")

    def triu(self, diagonal=0):
        """Upper triangle of the last two dimensions (the rest set to zero)."""
        return self._triangle(np.triu, diagonal, "triu")

    def _triangle(self, fn, diagonal, op):
        if self.ndim < 2:
            raise ValueError(f"{op}: needs at least 2 dimensions, got shape {self.shape}")
        keep = fn(np.ones(self.shape[-2:], dtype=bool), diagonal)
        out = np.where(keep, self.data, np.zeros((), self.data.dtype))  # keeps bool bool
        return self._result(out, (self,), lambda g: (g * keep,), f"{op.capitalize()}Backward")

    # ------------------------------------------------------------------ more of PyTorch's shape ops

    def view_as(self, other):
        return self.reshape(other.shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def broadcast_to(self, *shape):
        return self.expand(*shape)

    def t(self):
        """Transpose of a matrix; 0-D and 1-D tensors are returned as they are."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with <= 2 dimensions, got shape {self.shape}; use transpose or mT")
        return self if self.ndim < 2 else self.transpose(0, 1)

    def flip(self, *dims):
        """Reverse the order of elements along `dims` (a copy, as in PyTorch)."""
        axes = _normalize_dims(_size_args(dims), self.ndim, "flip")
        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient
                return differentiable.Grads((g.flip(*axes),))
            return (np.flip(g, axes),)

        return self._result(np.flip(self.data, axes).copy(), (self,), backward, "FlipBackward")

    def roll(self, shifts, dims=None):
        """Shift elements cyclically by `shifts` along `dims` (over the flattened tensor by default)."""
        if dims is None:
            out = np.roll(self.data, shifts)
            back = -np.asarray(shifts)
            return self._result(out, (self,), lambda g: _roll_back(g, back, None), "RollBackward")
        shifts_t = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
        dims_t = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
        if len(shifts_t) != len(dims_t):
            raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
        axes = tuple(_normalize_dim(d, self.ndim, "roll") for d in dims_t)
        back = tuple(-s for s in shifts_t)
        out = np.roll(self.data, shifts_t, axes)
        return self._result(out, (self,), lambda g: _roll_back(g, back, axes), "RollBackward")

    def unbind(self, dim=0):
        """The slices along `dim`, as a tuple of tensors with that dimension removed."""
        axis = _normalize_dim(dim, self.ndim, "unbind")
        prefix = (slice(None),) * axis
        return tuple(self[prefix + (i,)] for i in range(self.shape[axis]))

    def masked_fill_(self, mask, value):
        """In place: `value` where `mask` is True (mask broadcasts to this shape)."""
        mask = tensor._as_array(mask).astype(bool, copy=False)
        if _broadcast_shapes_or_none(mask.shape, self.shape) != self.shape:
            raise ValueError(f"masked_fill_: mask of shape {mask.shape} does not broadcast to {self.shape}")
        value = value.data if isinstance(value, tensor.Tensor) else value
        return self._assign(np.broadcast_to(mask, self.shape), value, "masked_fill_")

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """Zeros of `size` with this tensor's dtype (unless `dtype=` says otherwise)."""
        return self.new_full(_size_args(size), 0, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_size_args(size), 1, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_size_args(size), 0, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        from .. import creation  # at call time: creation imports tensor

        return creation.full(size, fill_value, dtype=self.dtype if dtype is None else dtype, device=device,
                             requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A copy of `data` with this tensor's dtype (unless `dtype=` says otherwise)."""
        from .. import creation  # at call time: creation imports tensor

        return creation.tensor(data, dtype=self.dtype if dtype is None else dtype, device=device,
                               requires_grad=requires_grad)


def _split_pieces(x, indices):
    """x[index] for each of `indices` (disjoint basic slices along one axis), recorded so that
    backward writes every piece's gradient into one array of x's shape, instead of one
    zero-padded array per piece summed by the engine (three full-size arrays and two adds
    for attention's q, k, v).

    The pieces hang off `joined`, an alias of x that only they use, so the gradient pending
    for `joined` in the engine is exactly the array the first piece to run returned: the
    others write into it and return None, and `joined` (processed after all its pieces)
    passes it on to x. Under create_graph (Tensor gradients) or a learner's backward engine
    (tinytorch.mine.use()), whose bookkeeping of that array we cannot count on, each piece
    returns its own zero-padded gradient as x[index] does.
    """
    pending = {"grad": None, "written": set()}  # x's gradient being assembled in this pass, and by which pieces

    def joined_backward(g):
        pending["grad"] = None  # the next backward pass (retain_graph) starts a new array
        pending["written"] = set()
        return differentiable.Grads((g,)) if not isinstance(g, (np.ndarray, np.generic)) else (g,)

    joined = x._result(x.data, (x,), joined_backward, "SplitBackward")

    def piece(number, index):
        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: Tensor ops
                return differentiable.index(g, x.shape, index, False)
            # a piece runs once per pass: finding itself written means a new pass began
            # without `joined` running (a backward called by hand, or an aborted pass)
            if replaced.get("backward") is not None or pending["grad"] is None or number in pending["written"]:
                grad = kernels.empty(x.shape, x.data.dtype)  # x's dtype: the engine keeps this very array
                grad.fill(0)
                grad[index] = g
                if replaced.get("backward") is None:
                    pending["grad"], pending["written"] = grad, {number}
                return (grad,)
            pending["grad"][index] = g  # the pieces' slices are disjoint
            pending["written"].add(number)
            return (None,)

        return x._result(x.data[index], (joined,), backward, "SplitBackward")

    return tuple(piece(number, index) for number, index in enumerate(indices))


_INDEX = "IndexBackward"


def _numpy_index(index):
    """Translate Tensor and list indices (inside tuples too) to NumPy arrays."""
    if isinstance(index, tensor.Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    if isinstance(index, tuple):
        return tuple(_numpy_index(i) if isinstance(i, (tensor.Tensor, list)) else i for i in index)
    return index


def _check_same_shapes(tensors, dim, op, skip_dim):
    """Shapes of all tensors agree (except along `dim` for cat)."""
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    first = tensors[0].shape
    for t in tensors[1:]:
        a, b = list(first), list(t.shape)
        if skip_dim and len(a) == len(b):
            a[dim], b[dim] = 0, 0
        if a != b:
            where_ = f" except in dim {dim}" if skip_dim else ""
            raise ValueError(f"{op}: tensors must have the same shape{where_}, got {first} and {t.shape}")


def _common_dtype(tensors):
    """The tensors' arrays cast to PyTorch's common dtype (float32 with int64 stays float32)."""
    arrays = [t.data for t in tensors]
    dtype = _result_type(*arrays)
    return [a.astype(dtype, copy=False) for a in arrays]


def cat(tensors, dim=0):
    """Join tensors along an existing dimension."""
    tensors = [t if isinstance(t, tensor.Tensor) else tensor.Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    if any(t.ndim == 0 for t in tensors):
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    axis = _normalize_dim(dim, tensors[0].ndim, "cat")
    _check_same_shapes(tensors, axis, "cat", skip_dim=True)
    out = np.concatenate(_common_dtype(tensors), axis=axis)
    bounds = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return differentiable.pieces(g, axis, bounds.tolist())
        return tuple(np.split(g, bounds, axis=axis))

    return tensor.Tensor._result(out, tuple(tensors), backward, "CatBackward")


def stack(tensors, dim=0):
    """Join tensors along a new dimension."""
    tensors = [t if isinstance(t, tensor.Tensor) else tensor.Tensor(t) for t in tensors]
    _check_same_shapes(tensors, 0, "stack", skip_dim=False)
    ndim = tensors[0].ndim
    if not -(ndim + 1) <= dim <= ndim:
        raise IndexError(f"stack: dim {dim} is out of range for stacking tensors with {ndim} dimensions")
    axis = dim % (ndim + 1)
    out = np.stack(_common_dtype(tensors), axis=axis)

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):
            return differentiable.unstack(g, axis)
        return tuple(np.moveaxis(g, axis, 0))

    return tensor.Tensor._result(out, tuple(tensors), backward, "StackBackward")


def where(condition, input=None, other=None):
    """Elementwise choice: `input` where `condition` is True, else `other` (broadcasting).
    A scalar `input` or `other` takes the dtype of the tensor operand. With the condition alone,
    the indices of its True elements, one tensor per dimension (`nonzero(as_tuple=True)`)."""
    if input is None and other is None:
        cond = condition if isinstance(condition, tensor.Tensor) else tensor.Tensor(condition)
        return cond.nonzero(as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: give both input and other, or neither (where(condition) lists indices)")
    cond = tensor._as_array(condition).astype(bool, copy=False)
    if isinstance(input, tensor.Tensor):
        a = input
        b = a._other(other)
    elif isinstance(other, tensor.Tensor):
        b = other
        a = b._other(input)
    else:
        a, b = tensor.Tensor(tensor._as_array(input)), tensor.Tensor(tensor._as_array(other))  # ints stay int64
    try:
        out = np.where(cond, *_promoted(a.data, b.data))
    except ValueError:
        raise ValueError(
            f"where: shapes {cond.shape}, {a.shape} and {b.shape} cannot be broadcast together"
        ) from None

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):
            return differentiable.choose(g, a, b, np.broadcast_to(cond, g.shape))
        return (
            _unbroadcast(g * cond, a.shape) if a._requires_grad else None,
            _unbroadcast(g * ~cond, b.shape) if b._requires_grad else None,
        )

    return tensor.Tensor._result(out, (a, b), backward, "WhereBackward")
