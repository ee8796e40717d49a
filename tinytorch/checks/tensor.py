"""Checks for module 01 (tensors): broadcasting shapes, matmul, a reduction with dim/keepdim
and C-order strides. Forward only: gradients come in module 05."""

import numpy as np

from .. import seams
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, fail, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'broadcast_shape': (
        'compare the two shapes from their right ends, one position at a time',
        'the shorter shape counts as if padded with 1s on the left; the result has as many dims as the longer one',
        'in each position the sizes must be equal or one of them 1; the result takes the other size (so 1 meets 0 gives 0); anything else is a ValueError naming both shapes',
    ),
    'matmul': (
        'every output entry is a dot product: a row of the left operand with a column of the right one',
        'a is (..., n, k) and b is (..., k, m): the k must agree, the leading dims broadcast, the result is (..., n, m)',
        'out[..., i, j] is the sum over k of a[..., i, k] times b[..., k, j]: give a a trailing axis of size 1 and b an axis of size 1 before its last two, multiply, and sum over the shared k axis',
    ),
    'var': (
        'variance is the average squared distance from the mean, with a correction for estimating it from a sample',
        'reduce over dim with the mean kept as a size-1 axis, so it broadcasts against x; the count per group is the product of the reduced sizes',
        'sum of (x - mean)^2 over dim, divided by (count - correction)',
    ),
    'strides': (
        'a stride is how many bytes to step in memory to move one position along an axis',
        'one stride per dim; the last dim is contiguous, so its stride is the itemsize',
        'go from right to left: stride[i] = stride[i + 1] times shape[i + 1], starting from the itemsize',
    ),
})

exercise = registry.module("01_tensor", "Tensor")


def _expect_tensor(name, case, got, expected):
    """The learner returned a Tensor of the reference's dtype (values are compared after)."""
    if not isinstance(got, Tensor):
        fail(name, case, f"expected a tinytorch.Tensor, got {type(got).__name__}",
             "wrap the NumPy result: Tensor(array)")
    if got.dtype != expected.dtype:
        fail(name, case, f"expected dtype {expected.dtype}, got {got.dtype}",
             "keep the inputs' dtype (no float64 constants or np.zeros without dtype=)")


def _expect_value_error(name, case, fn, args, mentions=(), hint=None):
    """`fn(*args)` must raise ValueError whose message contains every string in `mentions`."""
    try:
        got = fn(*args)
    except NotImplementedError as error:
        fail(name, case, f"not implemented yet ({error})" if str(error) else "not implemented yet")
    except ValueError as error:
        missing = [m for m in mentions if m not in str(error)]
        if missing:
            fail(name, case, f"the ValueError message {str(error)!r} does not mention {', '.join(missing)}", hint)
        return str(error)
    except Exception as error:
        fail(name, case, f"expected ValueError, got {type(error).__name__}: {error}", hint)
    else:
        fail(name, case, f"expected ValueError, but it returned {_short(got)}", hint)


def run_hinted(name, case, fn, *args, hint=None, strict_float=False):
    """`run_learner`, with `hint` in the report when the learner's code raises."""
    return run_learner(name, case, fn, *args, strict_float=strict_float, hint=hint)


def _short(value):
    if isinstance(value, Tensor):
        return f"a Tensor of shape {value.shape}"
    return repr(value)


# ---------------------------------------------------------------------- broadcasting


_BROADCAST_OK = [
    ((2, 3), (2, 3)),
    ((4, 3), (3,)),
    ((4, 1), (1, 5)),
    ((), (2, 3)),
    ((8, 1, 6, 1), (7, 1, 5)),
    ((5, 1, 4), (3, 1)),
    ((0, 3), (1, 3)),
    ((1,), (0,)),
    ((3,), (2, 1, 1)),
]
_BROADCAST_BAD = [((3,), (4,)), ((2, 3), (3, 2)), ((2, 1), (8, 4, 3))]


@exercise("broadcast_shape")
def check_broadcast_shape(broadcast_shape):
    """broadcast_shape(a, b): the shape NumPy/PyTorch broadcasting gives two shapes (tuples),
    or ValueError naming both shapes when they are incompatible."""
    name = "broadcast_shape"
    hint = ("align the shapes on the right (pad the shorter one with 1s on the left); in each "
            "position the sizes must be equal or one of them 1, and the result takes the other")
    for a, b in _BROADCAST_OK:
        case = f"shapes {a} and {b}"
        got = run_learner(name, case, broadcast_shape, a, b)
        expected = np.broadcast_shapes(a, b)
        if not isinstance(got, tuple):
            fail(name, case, f"expected a tuple, got {type(got).__name__} {got!r}", "return tuple(result)")
        if tuple(int(n) for n in got) != expected:
            fail(name, case, f"expected {expected}, got {got}", hint)
    for a, b in _BROADCAST_BAD:
        case = f"incompatible shapes {a} and {b}"
        _expect_value_error(name, case, broadcast_shape, (a, b), (str(a), str(b)),
                            "raise ValueError(f'shapes {a} and {b} cannot be broadcast together')")
    cases = [f"{a}+{b}" for a, b in _BROADCAST_OK] + [f"{len(_BROADCAST_BAD)} incompatible pairs"]
    passed(name, len(_BROADCAST_OK) + len(_BROADCAST_BAD), cases)


# ---------------------------------------------------------------------- matmul


def _matmul_cases():
    rng = np.random.default_rng(1)

    def t(*shape, dtype=np.float32):
        return Tensor(rng.standard_normal(shape).astype(dtype))

    return [
        ("(2, 3) @ (3, 4)", t(2, 3), t(3, 4)),
        ("row times column (1, 5) @ (5, 1)", t(1, 5), t(5, 1)),
        ("outer product (3, 1) @ (1, 4)", t(3, 1), t(1, 4)),
        ("empty inner dim (4, 0) @ (0, 3)", t(4, 0), t(0, 3)),
        ("batch times matrix (2, 3, 4) @ (4, 5)", t(2, 3, 4), t(4, 5)),
        ("batch (2, 3, 4) @ (2, 4, 2)", t(2, 3, 4), t(2, 4, 2)),
        ("broadcast batch (2, 1, 3, 4) @ (3, 4, 2)", t(2, 1, 3, 4), t(3, 4, 2)),
        ("float64 (3, 3) @ (3, 2)", t(3, 3, dtype=np.float64), t(3, 2, dtype=np.float64)),
        ("int64 (2, 2) @ (2, 3)", Tensor(np.arange(4).reshape(2, 2)), Tensor(np.arange(6).reshape(2, 3))),
    ]


@exercise("matmul", seam="matmul")
def check_matmul(matmul):
    """matmul(a, b) for Tensors with at least 2 dims: (..., n, k) @ (..., k, m) -> (..., n, m),
    batch dims broadcast; ValueError naming both shapes when the inner sizes differ."""
    name = "matmul"
    hint = "out[..., i, j] = sum over p of a[..., i, p] * b[..., p, j]: multiply a[..., :, :, None] by b[..., None, :, :] and sum axis -2"
    cases = _matmul_cases()
    for case, a, b in cases:
        got = run_learner(name, case, matmul, a, b)
        expected = seams.tinytorch("matmul")(a, b)
        _expect_tensor(name, case, got, expected)
        assert_close(name, case, got, expected, hint)
    misaligned = [((2, 3), (4, 5)), ((2, 1), (3, 4)), ((2, 3, 4), (2, 5, 6))]
    for a_shape, b_shape in misaligned:
        a = Tensor(np.ones(a_shape, np.float32))
        b = Tensor(np.ones(b_shape, np.float32))
        _expect_value_error(
            name, f"misaligned {a_shape} @ {b_shape}", matmul, (a, b), (str(a_shape), str(b_shape)),
            "check a.shape[-1] == b.shape[-2] first and raise ValueError(f'matmul: shapes {a.shape} and "
            "{b.shape} are not aligned: ...')",
        )
    passed(name, len(cases) + len(misaligned),
           [c for c, _, _ in cases[:4]] + ["batched", "float64", "int64", f"{len(misaligned)} misaligned"])


# ---------------------------------------------------------------------- reductions


@exercise("var", seam="var")
def check_var(var):
    """var(x, dim=None, keepdim=False, correction=1) of a float Tensor, like `torch.var`."""
    name = "var"
    rng = np.random.default_rng(3)
    x43 = Tensor(rng.standard_normal((4, 3)).astype(np.float32))
    x33 = Tensor(rng.standard_normal((3, 3)).astype(np.float32) * 2 + 1)
    x234 = Tensor(rng.standard_normal((2, 3, 4)).astype(np.float32))
    x64 = Tensor(rng.standard_normal((5, 2)))
    x64 = Tensor(x64.data.astype(np.float64))
    offset = Tensor((1000 + rng.standard_normal((2, 500))).astype(np.float32))
    cases = [
        ("all elements (4, 3)", (x43,), {}),
        ("dim=0 (4, 3)", (x43,), {"dim": 0}),
        ("dim=-1 (4, 3)", (x43,), {"dim": -1}),
        ("dim=1 of a square (3, 3)", (x33,), {"dim": 1}),
        ("dim=1, keepdim=True (3, 3)", (x33,), {"dim": 1, "keepdim": True}),
        ("dim=(0, 2) (2, 3, 4)", (x234,), {"dim": (0, 2)}),
        ("dim=-1, keepdim=True, correction=0 (2, 3, 4)", (x234,), {"dim": -1, "keepdim": True, "correction": 0}),
        ("float64 dim=0 (5, 2)", (x64,), {"dim": 0}),
        ("values near 1000 (2, 500), dim=1", (offset,), {"dim": 1}),
    ]
    hints = {
        "dim=1 of a square (3, 3)": "take the mean with keepdim=True so it broadcasts against x along the right axis",
        "values near 1000 (2, 500), dim=1": "E[x^2] - E[x]^2 cancels catastrophically in float32; subtract the mean first, then square",
    }
    for case, args, kwargs in cases:
        got = run_hinted(name, case, lambda: var(*args, **kwargs), hint=(
            "a broadcasting error here usually means the mean lost its reduced dims: take it with keepdim=True"))
        expected = seams.tinytorch("var")(*args, **kwargs)
        _expect_tensor(name, case, got, expected)
        assert_close(name, case, got, expected,
                     hints.get(case, "sum((x - mean)^2) over dim, divided by (count - correction)"),
                     atol=1e-4, rtol=1e-4)
    passed(name, len(cases), [c for c, _, _ in cases])


# ---------------------------------------------------------------------- memory layout


@exercise("strides")
def check_strides(strides):
    """strides(shape, itemsize): bytes to step in each dimension of a C-order (row-major) array."""
    name = "strides"
    cases = [((3, 4), 4), ((2, 3, 4), 8), ((5,), 4), ((), 4), ((3, 1, 2), 4), ((1, 1), 2), ((2, 3, 5, 7), 1)]
    for shape, itemsize in cases:
        case = f"shape {shape}, itemsize {itemsize}"
        got = run_learner(name, case, strides, shape, itemsize)
        expected = np.empty(shape, dtype=f"i{itemsize}" if itemsize > 1 else "i1").strides
        if not isinstance(got, tuple):
            fail(name, case, f"expected a tuple, got {type(got).__name__} {got!r}", "return tuple(result)")
        if tuple(int(n) for n in got) != expected:
            hint = "the last dimension steps by itemsize; each earlier one by the next one's stride times its size"
            if tuple(got) == expected[::-1]:
                hint = "that is column-major (Fortran) order, reversed: in C order the LAST dimension is contiguous"
            fail(name, case, f"expected {expected}, got {got}", hint)
    passed(name, len(cases), [str(s) for s, _ in cases])
