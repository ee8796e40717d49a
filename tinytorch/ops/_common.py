"""Helpers shared by the Tensor operations: dtype promotion, broadcasting, dims, indexing."""

import math

import numpy as np

from .. import kernels
from ..seams import replaced, seam


# PyTorch promotes by category first (bool < integer < floating): int64 with float32 gives
# float32, where NumPy would give float64. Within a category the wider dtype wins.
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _promote_types(a, b):
    """PyTorch's promoteTypes for two dtypes."""
    if a == b:
        return a
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _result_type(*arrays):
    """PyTorch's result dtype for operands `arrays`: tensors with dimensions decide, and a 0-d
    operand only counts when its category is higher (float32 + 0-d float64 stays float32,
    int64 + 0-d float64 gives float64)."""
    dimensioned = zero_dim = None
    for a in arrays:
        if a.ndim:
            dimensioned = a.dtype if dimensioned is None else _promote_types(dimensioned, a.dtype)
        else:
            zero_dim = a.dtype if zero_dim is None else _promote_types(zero_dim, a.dtype)
    if dimensioned is None or zero_dim is None:
        return zero_dim if dimensioned is None else dimensioned
    return zero_dim if _CATEGORY[zero_dim.kind] > _CATEGORY[dimensioned.kind] else dimensioned


def _promoted(a, b, to_float=False):
    """Operands cast to PyTorch's common dtype (see `_result_type`); `to_float` (true division)
    turns non-floating operands into float32."""
    dtype = a.dtype if a.dtype == b.dtype else _result_type(a, b)
    if to_float and dtype.kind != "f":
        dtype = np.dtype(np.float32)
    return a.astype(dtype, copy=False), b.astype(dtype, copy=False)


def _floating(x):
    """`x` as a floating array: integer and bool inputs of float functions (exp, sigmoid, ...)
    give float32, as in PyTorch."""
    return x if x.dtype.kind == "f" else x.astype(np.float32)


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


# W. J. Cody's rational approximations (Math. Comp. 23, 1969; netlib CALERF): erf for
# |x| <= 0.5, erfc = exp(-x^2) R(x) on (0.5, 4] and exp(-x^2)/x (1/sqrt(pi) + R(1/x^2)/x^2) above,
# accurate to float64 rounding (NumPy has no erf).
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03,
          1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_ERFC_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
           8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
           2.15311535474403846e-8)
_ERFC_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
           3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)
_ERFC_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
           6.58749161529837803e-4, 1.63153871373020978e-2)
_ERFC_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
           2.33520497626869185e-3)


def _erf(x):
    """Error function, elementwise, in the dtype of `x` (float64-accurate for float64)."""
    x = np.asarray(x)
    a = np.abs(x)
    out = np.empty_like(a)
    small = a <= 0.5
    y = a[small]
    z = y * y
    num = (((_ERF_A[4] * z + _ERF_A[0]) * z + _ERF_A[1]) * z + _ERF_A[2]) * z + _ERF_A[3]
    den = (((z + _ERF_B[0]) * z + _ERF_B[1]) * z + _ERF_B[2]) * z + _ERF_B[3]
    out[small] = y * num / den
    middle = (a > 0.5) & (a <= 4.0)
    y = a[middle]
    num, den = _ERFC_C[8] * y, y
    for c, d in zip(_ERFC_C[:7], _ERFC_D[:7]):
        num, den = (num + c) * y, (den + d) * y
    out[middle] = 1.0 - _exp_minus_square(y) * (num + _ERFC_C[7]) / (den + _ERFC_D[7])
    large = ~(small | middle)  # includes inf; nan falls here too and stays nan
    y = a[large]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = 1.0 / (y * y)
        num, den = _ERFC_P[5] * z, z
        for p, q in zip(_ERFC_P[:4], _ERFC_Q[:4]):
            num, den = (num + p) * z, (den + q) * z
        tail = (0.5641895835477563 - z * (num + _ERFC_P[4]) / (den + _ERFC_Q[4])) / y
        out[large] = np.where(y > 6.0, 1.0, 1.0 - _exp_minus_square(y) * tail)
    out[np.isnan(a)] = np.nan
    return np.copysign(out, x)


def _exp_minus_square(y):
    """exp(-y^2) without the rounding error of squaring y: y^2 = s^2 + (y - s)(y + s), s = y
    rounded down to a multiple of 1/16, so s^2 is exact."""
    s = np.trunc(y * 16.0) / 16.0
    return np.exp(-s * s) * np.exp(-(y - s) * (y + s))


_ERF_COEFFICIENTS = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)  # A&S 7.1.26
_CDF_BLOCK = 1 << 15  # elements per pass: the scratch arrays stay in cache (measured ~1.6x faster)


def _normal_cdf(x):
    """Phi(x), the standard normal CDF, in the dtype of `x` (float64-accurate for float64)."""
    return 0.5 * (1.0 + _erf(x * (1 / math.sqrt(2.0))))


def _gelu_parts(x, slope=True):
    """x * Phi(x) (GELU) and its derivative Phi(x) + x phi(x), phi the standard normal density
    (None with `slope=False`: no backward will need it).

    float32: Abramowitz & Stegun 7.1.26 (erf to 1.5e-7), evaluated in place, block by block,
    with its constants folded, and the left tail Phi(-|x|) taken directly rather than as
    1 - Phi(|x|) (no cancellation): at least as close to the true values as PyTorch's float32
    GELU, and ~10x faster than `_erf`'s masked path. The derivative is made in the same pass,
    while the block is in cache: backward keeps one array instead of Phi and phi. Other
    dtypes use `_erf` (float64-accurate).
    """
    if x.dtype != np.float32:
        cdf = _normal_cdf(x)
        if not slope:
            return x * cdf, None
        derivative = x * np.exp(-0.5 * x * x)
        derivative *= 1 / math.sqrt(2.0 * math.pi)
        derivative += cdf
        return x * cdf, derivative
    flat = x.reshape(-1)
    gelu = kernels.empty(flat.shape, flat.dtype)
    derivative = kernels.empty(flat.shape, flat.dtype) if slope else None
    block = min(flat.size, _CDF_BLOCK)
    z, t, c, d = (kernels.empty((block,), x.dtype) for _ in range(4))
    right = np.empty(block, dtype=bool)
    for start in range(0, flat.size, _CDF_BLOCK):
        part = flat[start:start + _CDF_BLOCK]
        n = part.size
        zs, ts, cs, ds, rs = z[:n], t[:n], c[:n], d[:n], right[:n]
        np.abs(part, out=zs)
        np.multiply(zs, 0.3275911 / math.sqrt(2.0), out=ts)
        ts += 1.0
        np.reciprocal(ts, out=ts)  # t = 1 / (1 + p |x| / sqrt(2))
        np.multiply(ts, 0.5 * _ERF_COEFFICIENTS[0], out=cs)
        for a in _ERF_COEFFICIENTS[1:]:
            cs += 0.5 * a
            cs *= ts
        np.multiply(zs, zs, out=zs)
        zs *= -0.5
        np.exp(zs, out=ds)  # exp(-x^2 / 2)
        cs *= ds  # h = 0.5 * erfc(|x| / sqrt(2)) = Phi(-|x|)
        np.greater_equal(part, 0, out=rs)
        np.multiply(cs, -2.0, out=ts)
        ts += 1.0
        ts *= rs  # 1 - 2h on the right half, 0 on the left (and for NaN)
        cs += ts  # Phi(x): h for x < 0, 1 - h for x >= 0; a where= mask instead costs ~10x more
        np.multiply(part, cs, out=gelu[start:start + n])
        if slope:
            np.multiply(part, ds, out=ts)  # x exp(-x^2 / 2)
            ts *= 1 / math.sqrt(2.0 * math.pi)
            np.add(ts, cs, out=derivative[start:start + n])
    return gelu.reshape(x.shape), None if derivative is None else derivative.reshape(x.shape)


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
