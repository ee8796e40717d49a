"""Helpers shared by the Tensor operations: dtype promotion, broadcasting, dims, indexing."""

import numpy as np

from ..seams import replaced, seam


def _promoted(a, b, to_float=False):
    """Operands with PyTorch's promotion: an integer or bool array takes the dtype of a floating
    one (NumPy would turn int64 with float32 into float64); `to_float` (true division) turns two
    non-floating operands into float32."""
    a_float, b_float = a.dtype.kind == "f", b.dtype.kind == "f"
    if a_float and not b_float:
        b = b.astype(a.dtype)
    elif b_float and not a_float:
        a = a.astype(b.dtype)
    elif to_float and not a_float:
        a, b = a.astype(np.float32), b.astype(np.float32)
    return a, b


@seam("unbroadcast")
def unbroadcast(grad, shape):
    """Sum `grad` over the axes that broadcasting expanded, so it has `shape` again."""
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def _unbroadcast(grad, shape):
    """`unbroadcast` as every backward rule calls it: the seam's implementation in use."""
    if grad.shape == shape:
        return grad
    return replaced.get("unbroadcast", unbroadcast)(grad, shape)


def forward_value(fn, *arrays, **options):
    """The array `fn` computes for `arrays`, where `fn` has an exercise's forward interface
    (Tensors in, a Tensor out, e.g. a learner's `relu(x)`): the arrays go in as Tensors that
    record no graph, and the result comes back in the dtype of the first input. The caller
    records the graph node itself, with the op's backward rule (a seam of its own)."""
    from ..tensor import Tensor  # at call time: tensor.py imports this module

    out = fn(*(Tensor(a) for a in arrays), **options)
    data = out.data if isinstance(out, Tensor) else np.asarray(out)
    return data.astype(arrays[0].dtype, copy=False)


def _broadcast_shapes_or_none(*shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


def _normalize_dims(dim, ndim, op):
    """Sorted tuple of non-negative axes for `dim` (int, tuple or None = all)."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dimensions")
    if ndim == 0:  # a 0-d tensor accepts dim 0 / -1 and has nothing to reduce
        return ()
    axes = tuple(sorted(d % ndim for d in dims))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dim {dim} names the same dimension twice")
    return axes


def _normalize_dim(dim, ndim, op):
    """One non-negative axis for `dim` (for ops that work along a single dimension)."""
    if ndim == 0:
        raise IndexError(f"{op}: needs a tensor with at least 1 dimension, got a 0-d tensor")
    (axis,) = _normalize_dims(dim, ndim, op)
    return axis


def _size_args(args):
    """Accept both `f(2, 3)` and `f((2, 3))` for shape arguments."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def _erf(x):
    """Error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7); NumPy has no erf."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _scatter_add(shape, index, g):
    """Gradient of `x[index]`: zeros of `shape` with `g` added at `index` (repeats add up)."""
    grad = np.zeros(shape, dtype=g.dtype)
    if g.size == 0:
        return grad
    if isinstance(index, np.ndarray) and index.dtype.kind in "iu" and len(shape) > 1:
        # whole rows picked by one integer array (an embedding lookup): sorting the rows and
        # summing runs of equal rows is several times faster than np.add.at
        rows = index.reshape(-1) % shape[0]  # (N,)
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        starts = np.flatnonzero(np.diff(sorted_rows, prepend=-1))  # first of each run
        g_rows = g.reshape(rows.size, -1)[order]  # (N, row size)
        grad.reshape(shape[0], -1)[sorted_rows[starts]] = np.add.reduceat(g_rows, starts, axis=0)
    elif isinstance(index, np.ndarray) and index.dtype == np.bool_:
        grad[index] = g  # a mask selects each element at most once
    else:
        np.add.at(grad, index, g)
    return grad


def _is_advanced(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) for p in parts)
