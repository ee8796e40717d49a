"""Property tests (hypothesis): random broadcast-compatible shapes, reductions over random dims,
matmul batch shapes and indexing, checked against NumPy and against an independent reference
for the broadcast gradient reduction."""

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import tinytorch as tt  # noqa: E402

SETTINGS = settings(max_examples=40, deadline=None)

two_broadcastable_shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4)


def values(shape, seed, positive=False):
    a = np.asarray(np.random.default_rng(seed).standard_normal(shape))  # an array even for shape ()
    return np.abs(a) + 0.5 if positive else a


def reduce_to(grad, shape):
    """Reference for the broadcast gradient: every output element's gradient is added to the
    input element it was broadcast from (bincount over the broadcast input positions)."""
    size = int(np.prod(shape))
    source = np.broadcast_to(np.arange(size).reshape(shape), grad.shape)
    return np.bincount(source.ravel(), weights=grad.ravel(), minlength=size).reshape(shape)


# elementwise op: (tinytorch fn, numpy fn, d out/d a, d out/d b, b must be positive)
BINARY = {
    "add": (lambda a, b: a + b, np.add, lambda a, b: np.ones_like(a * b), lambda a, b: np.ones_like(a * b), False),
    "sub": (lambda a, b: a - b, np.subtract, lambda a, b: np.ones_like(a * b), lambda a, b: -np.ones_like(a * b), False),
    "mul": (lambda a, b: a * b, np.multiply, lambda a, b: b + 0 * a, lambda a, b: a + 0 * b, False),
    "div": (lambda a, b: a / b, np.divide, lambda a, b: 1 / b + 0 * a, lambda a, b: -a / b**2, True),
    "maximum": (lambda a, b: a.maximum(b), np.maximum, lambda a, b: (a > b) + 0.0 * b, lambda a, b: (b > a) + 0.0 * a, False),
    "where": (lambda a, b: tt.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b),
              lambda a, b: (a > 0) + 0.0 * b, lambda a, b: (a <= 0) + 0.0 * b, False),
}


@SETTINGS
@given(shapes=two_broadcastable_shapes, op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16),
       swap=st.booleans())
def test_broadcasting_binary_ops(shapes, op, seed, swap):
    (a_shape, b_shape), out_shape = shapes.input_shapes, shapes.result_shape
    if swap:  # the smaller shape on either side
        a_shape, b_shape = b_shape, a_shape
    fn, np_fn, d_a, d_b, positive_b = BINARY[op]
    a_np, b_np = values(a_shape, seed), values(b_shape, seed + 1, positive_b)
    a, b = tt.tensor(a_np, requires_grad=True), tt.tensor(b_np, requires_grad=True)
    out = fn(a, b)
    np.testing.assert_allclose(out.data, np_fn(a_np, b_np), rtol=1e-12)
    assert out.shape == out_shape
    g = values(out_shape, seed + 2)
    out.backward(g)
    assert a.grad.shape == a_shape and b.grad.shape == b_shape
    np.testing.assert_allclose(a.grad.data, reduce_to(g * d_a(a_np, b_np), a_shape), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.grad.data, reduce_to(g * d_b(a_np, b_np), b_shape), rtol=1e-9, atol=1e-12)


@SETTINGS
@given(shapes=two_broadcastable_shapes, seed=st.integers(0, 2**16))
def test_broadcasting_keeps_float32(shapes, seed):
    (a_shape, b_shape), _ = shapes.input_shapes, shapes.result_shape
    a = tt.tensor(values(a_shape, seed).astype(np.float32), requires_grad=True)
    b = tt.tensor(values(b_shape, seed + 1).astype(np.float32), requires_grad=True)
    out = (a * b + 0.5) / 2.0 - a
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float32
    assert a.grad.shape == a_shape and b.grad.shape == b_shape


@st.composite
def tensor_and_dims(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    dims = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=len(shape),
                         unique_by=lambda d: d % len(shape)))
    dim = dims[0] if len(dims) == 1 and draw(st.booleans()) else tuple(dims)
    return shape, dim, draw(st.booleans()), draw(st.integers(0, 2**16))


def as_axis(dim):
    return dim if isinstance(dim, int) else tuple(dim)


@SETTINGS
@given(case=tensor_and_dims(), op=st.sampled_from(["sum", "mean", "var", "std", "logsumexp"]))
def test_reductions_over_random_dims(case, op):
    shape, dim, keepdim, seed = case
    data = values(shape, seed)
    x = tt.tensor(data, requires_grad=True)
    out = getattr(x, op)(dim=dim, keepdim=keepdim)
    axis = as_axis(dim)
    count = int(np.prod([shape[d] for d in np.atleast_1d(np.array(axis)) % len(shape)]))
    expected = {
        "sum": lambda: data.sum(axis=axis, keepdims=keepdim),
        "mean": lambda: data.mean(axis=axis, keepdims=keepdim),
        "var": lambda: data.var(axis=axis, ddof=1, keepdims=keepdim) if count > 1 else None,
        "std": lambda: data.std(axis=axis, ddof=1, keepdims=keepdim) if count > 1 else None,
        "logsumexp": lambda: np.log(np.exp(data).sum(axis=axis, keepdims=keepdim)),
    }[op]()
    if expected is None:  # one element per group: Bessel-corrected spread is nan, as in PyTorch
        assert np.all(np.isnan(out.data))
        return
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    out.backward(np.ones(out.shape))
    assert x.grad.shape == shape
    if op == "sum":
        np.testing.assert_array_equal(x.grad.data, np.ones(shape))
    if op == "mean":
        np.testing.assert_allclose(x.grad.data, np.full(shape, 1 / count))


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4), seed=st.integers(0, 2**16),
       keepdim=st.booleans(), data=st.data())
def test_max_min_over_random_dim(shape, seed, keepdim, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x_np = values(shape, seed)
    for op in ("max", "min"):
        x = tt.tensor(x_np, requires_grad=True)
        result = getattr(x, op)(dim=dim, keepdim=keepdim)
        np.testing.assert_array_equal(result.values.data, getattr(x_np, op)(axis=dim, keepdims=keepdim))
        np.testing.assert_array_equal(result.indices.data, getattr(x_np, "arg" + op)(axis=dim, keepdims=keepdim))
        result.values.sum().backward()
        assert x.grad.shape == shape
        assert np.all(x.grad.data.sum(axis=dim) == 1)  # exactly one element per slice gets the gradient


@st.composite
def matmul_shapes(draw):
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    a_batch, b_batch = batch.input_shapes
    a_shape = (k,) if draw(st.booleans()) and not a_batch else a_batch + (n, k)
    b_shape = (k,) if draw(st.booleans()) and not b_batch else b_batch + (k, m)
    return a_shape, b_shape


@SETTINGS
@given(shapes=matmul_shapes(), seed=st.integers(0, 2**16))
def test_matmul_random_batch_shapes(shapes, seed):
    a_shape, b_shape = shapes
    a_np, b_np = values(a_shape, seed), values(b_shape, seed + 1)
    a, b = tt.tensor(a_np, requires_grad=True), tt.tensor(b_np, requires_grad=True)
    out = a @ b
    expected = a_np @ b_np
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    g = values(np.shape(expected), seed + 2)
    out.backward(g)
    assert a.grad.shape == a_shape and b.grad.shape == b_shape
    # <g, a @ b> is linear in a: its gradient dotted with a gives back the same number
    total = float(np.sum(g * expected))
    np.testing.assert_allclose(np.sum(a.grad.data * a_np), total, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.sum(b.grad.data * b_np), total, rtol=1e-9, atol=1e-9)


@st.composite
def slice_index(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    index = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    return shape, index


@SETTINGS
@given(case=slice_index(), seed=st.integers(0, 2**16))
def test_basic_indexing_forward_and_scatter_gradient(case, seed):
    shape, index = case
    x_np = values(shape, seed)
    x = tt.tensor(x_np, requires_grad=True)
    out = x[index]
    np.testing.assert_array_equal(out.data, x_np[index])
    if out.data.size == 0:
        return
    g = values(out.shape, seed + 1)
    out.backward(g)
    expected = np.zeros(shape)
    expected[index] = g
    np.testing.assert_array_equal(x.grad.data, expected)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), seed=st.integers(0, 2**16),
       data=st.data())
def test_integer_array_indexing_with_repeats(shape, seed, data):
    idx = np.array(data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=8)))
    x_np = values(shape, seed)
    x = tt.tensor(x_np, requires_grad=True)
    out = x[tt.tensor(idx)]
    np.testing.assert_array_equal(out.data, x_np[idx])
    g = values(out.shape, seed + 1)
    out.backward(g)
    expected = np.zeros(shape)
    np.add.at(expected, idx, g)
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4), seed=st.integers(0, 2**16),
       data=st.data())
def test_permute_and_reshape_round_trip(shape, seed, data):
    perm = data.draw(st.permutations(range(len(shape))))
    x_np = values(shape, seed)
    x = tt.tensor(x_np, requires_grad=True)
    y = x.permute(*perm)
    np.testing.assert_array_equal(y.data, x_np.transpose(perm))
    z = y.reshape(-1)
    g = values(z.shape, seed + 1)
    z.backward(g)
    np.testing.assert_array_equal(x.grad.data, g.reshape(y.shape).transpose(np.argsort(perm)))
