"""tinytorch against PyTorch at the tensor level: each case runs the same code with `torch` and
with `tinytorch` as the module `m`, and compares values, result dtypes, gradients and errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinytorch as tt

torch = pytest.importorskip("torch")


def _numpy(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x.data)


def _run(fn, arrays, grad):
    """Outputs and input gradients of `fn(m, *tensors)` for both modules."""
    results = {}
    for m in (torch, tt):
        inputs = [m.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        out = fn(m, *inputs)
        first = out[0] if isinstance(out, tuple) and out else out
        grads = None
        if grad and isinstance(first, (torch.Tensor, tt.Tensor)) and first.requires_grad:
            weights = np.linspace(0.5, 1.5, max(first.numel(), 1), dtype=np.float64)[: first.numel()]
            (first * m.tensor(weights.reshape(tuple(first.shape)), dtype=first.dtype)).sum().backward()
            grads = [None if t.grad is None else _numpy(t.grad) for t in inputs]
        results[m] = (out, grads)
    return results[torch], results[tt]


def assert_same(fn, *arrays, grad=True, atol=1e-5):
    """`fn` gives PyTorch's values, dtypes, shapes and (when differentiable) gradients, or
    raises where PyTorch raises."""
    try:
        _run(lambda m, *t: fn(torch, *t) if m is torch else None, arrays, grad)
    except (RuntimeError, IndexError, TypeError, ValueError):
        with pytest.raises((RuntimeError, IndexError, TypeError, ValueError)):
            fn(tt, *[tt.tensor(a) for a in arrays])
        return
    (theirs, their_grads), (ours, our_grads) = _run(fn, arrays, grad)
    pairs = zip(theirs, ours) if isinstance(theirs, tuple) else [(theirs, ours)]
    for a, b in pairs:
        if not isinstance(a, torch.Tensor):
            assert a == b
            continue
        assert str(b.dtype) == str(a.dtype)
        assert tuple(b.shape) == tuple(a.shape)
        np.testing.assert_allclose(_numpy(b), _numpy(a), atol=atol, rtol=1e-5)
    assert (our_grads is None) == (their_grads is None)
    for a, b in zip(their_grads or (), our_grads or ()):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(b, a, atol=atol, rtol=1e-5)


X = np.array([[1.5, -2.25, 0.0], [3.0, 0.5, -0.75]], dtype=np.float32)
POS = np.array([[0.5, 2.0, 1.0], [3.0, 0.25, 4.0]], dtype=np.float32)
INTS = np.array([[7, -7, 5], [-5, 0, 9]], dtype=np.int64)
DIVISORS = np.array([[2, 2, -3], [3, 4, -2]], dtype=np.int64)

CASES = {
    "log1p": (lambda m, x: x.log1p(), [POS]),
    "rsqrt": (lambda m, x: m.rsqrt(x), [POS]),
    "square": (lambda m, x: m.square(x), [X]),
    "floor/ceil/round/trunc": (lambda m, x: x.floor() + m.ceil(x) * 2 + x.round() * 3 + m.trunc(x) * 4, [X * 1.3]),
    "round decimals": (lambda m, x: m.round(x, decimals=1), [X * 1.37]),
    "sign": (lambda m, x: m.sign(x) * x, [X]),
    "abs()": (lambda m, x: abs(x), [X]),
    "pow": (lambda m, x: m.pow(x, 2) + m.pow(2.0, x), [X]),
    "cumsum": (lambda m, x: m.cumsum(x, dim=-1), [X]),
    "cumsum int": (lambda m, x: x.cumsum(0), [INTS]),
    "prod dim": (lambda m, x: x.prod(1), [X]),
    "prod all with a zero": (lambda m, x: m.prod(x), [X]),
    "prod keepdim": (lambda m, x: x.prod(dim=0, keepdim=True), [POS]),
    "amax": (lambda m, x: m.amax(x, dim=1), [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], np.float32)]),
    "amin all": (lambda m, x: x.amin(), [np.array([[1.0, 0.0], [0.0, 5.0]], np.float32)]),
    "norm": (lambda m, x: x.norm(), [X]),
    "norm dim": (lambda m, x: m.norm(x, dim=1, keepdim=True), [X]),
    "norm p=1": (lambda m, x: x.norm(p=1), [X]),
    "norm inf": (lambda m, x: x.norm(p=math.inf, dim=0), [X]),
    "norm p=3": (lambda m, x: x.norm(p=3), [X]),
    "norm of zeros": (lambda m, x: x.norm(), [np.zeros(3, np.float32)]),
    "sum dtype": (lambda m, x: x.sum(dtype=m.float64), [X]),
    "sum dtype int to float": (lambda m, x: m.sum(x, dim=0, dtype=m.float32), [INTS]),
    "mean dtype": (lambda m, x: x.mean(0, dtype=m.float64), [X]),
    "max(a, b)": (lambda m, a, b: m.max(a, b) + m.min(a, b) * 2, [X, POS]),
    "a.max(b)": (lambda m, a, b: a.max(b), [X, POS]),
    "max dim": (lambda m, x: m.max(x, dim=1), [X]),
    "sort": (lambda m, x: m.sort(x, dim=1), [X]),
    "sort descending with ties": (lambda m, x: x.sort(dim=0, descending=True, stable=True),
                                  [np.array([[1.0, 2.0], [3.0, 2.0], [1.0, 5.0]], np.float32)]),
    "argsort": (lambda m, x: m.argsort(x, descending=True), [X]),
    "gather": (lambda m, x: m.gather(x, 1, m.tensor([[2, 0], [1, 1]])), [X]),
    "gather dim 0 repeated": (lambda m, x: x.gather(0, m.tensor([[1, 0, 1], [1, 1, 1]])), [X]),
    "index_select": (lambda m, x: m.index_select(x, -1, m.tensor([2, 0, 2])), [X]),
    "flip": (lambda m, x: m.flip(x, [0, 1]) * m.tensor([[1.0, 2, 3], [4, 5, 6]]), [X]),
    "flip method int": (lambda m, x: x.flip(-1) * m.tensor([1.0, 2, 3]), [X]),
    "roll": (lambda m, x: m.roll(x, 1, 1) * m.tensor([1.0, 2, 3]), [X]),
    "roll flat": (lambda m, x: x.roll(-2) * m.tensor([1.0, 2, 3]), [X]),
    "roll dims": (lambda m, x: x.roll((1, 2), (0, 1)) * m.tensor([1.0, 2, 3]), [X]),
    "unbind": (lambda m, x: m.stack([u * (i + 1) for i, u in enumerate(x.unbind(1))]), [X]),
    "t": (lambda m, x: x.t() @ m.tensor([[1.0, 2.0], [3.0, 4.0]]), [X]),
    "t of 1-D": (lambda m, x: m.t(x[0]), [X]),
    "mm": (lambda m, a, b: m.mm(a, b.t()), [X, POS]),
    "bmm": (lambda m, a, b: a.bmm(b), [np.arange(12, dtype=np.float32).reshape(2, 2, 3) / 7,
                                       np.arange(18, dtype=np.float32).reshape(2, 3, 3) / 5]),
    "outer": (lambda m, a, b: m.outer(a, b), [X[0], POS[1]]),
    "einsum matmul": (lambda m, a, b: m.einsum("ij,kj->ik", a, b), [X, POS]),
    "einsum list form": (lambda m, a, b: m.einsum("ij,ij->i", [a, b]), [X, POS]),
    "einsum implicit": (lambda m, a, b: m.einsum("ij,jk", a, b.t()), [X, POS]),
    "einsum ellipsis": (lambda m, a, b: m.einsum("...ij,...jk->...ik", a, b),
                        [np.ones((2, 2, 3), np.float32) / 3, np.arange(18, dtype=np.float32).reshape(2, 3, 3)]),
    "einsum sum out a label": (lambda m, a, b: m.einsum("ij,k->i", a, b), [X, POS[0]]),
    "einsum attention": (lambda m, q, k: m.einsum("bhtd,bhsd->bhts", q, k),
                         [np.linspace(-1, 1, 24, dtype=np.float32).reshape(1, 2, 3, 4),
                          np.linspace(1, -2, 16, dtype=np.float32).reshape(1, 2, 2, 4)]),
    "broadcast_to": (lambda m, x: m.broadcast_to(x[0], (4, 3)), [X]),
    "view_as / expand_as": (lambda m, a, b: a.view_as(b.t()) + b[:1].expand_as(b).t(), [X, POS]),
    "floor_divide float": (lambda m, a, b: a.detach() // b.detach(), [X * 3, POS]),
    "floor_divide int": (lambda m, a, b: (a // b, m.floor_divide(a, 4), -9 // b), [INTS, DIVISORS]),
    "remainder int": (lambda m, a, b: (a % b, m.remainder(a, -4), 7 % b), [INTS, DIVISORS]),
    "remainder float": (lambda m, a, b: a % b, [X * 3, POS - 2.1]),
    "fmod": (lambda m, a, b: (m.fmod(a, b), a.fmod(-3)), [INTS, DIVISORS]),
    "fmod float grad": (lambda m, a, b: m.fmod(a, b), [X * 3, POS + 0.3]),
    "comparisons": (lambda m, a, b: (a.eq(b), a.ne(b), m.lt(a, b), a.le(1.5), m.gt(a, b), a.ge(b)), [X, POS]),
    "isclose": (lambda m, a, b: m.isclose(a, a + 1e-7) & ~a.isclose(b), [X, POS]),
    "allclose": (lambda m, a, b: (m.allclose(a, a * (1 + 1e-7)), a.allclose(b)), [X, POS]),
    "isnan/isinf/isfinite": (lambda m, x: (m.isnan(x), x.isinf(), m.isfinite(x)),
                             [np.array([1.0, np.nan, np.inf, -np.inf], np.float32)]),
    "all/any": (lambda m, x: (m.all(x > -5), m.any(x > 2, dim=1), x.all(dim=0)), [X]),
    "where(cond)": (lambda m, x: m.where(x > 0), [X]),
    "nonzero": (lambda m, x: m.nonzero(x), [X]),
    "clip": (lambda m, x: m.clip(x, -1, 1), [X]),
    "numel/nelement": (lambda m, x: (m.numel(x), x.nelement()), [X]),
    "new_* keep dtype": (lambda m, x: (x.new_zeros(2, 3), x.new_ones((2,)), x.new_full((2,), 7), x.new_tensor([1, 2]),
                                       x.new_zeros(2, dtype=m.float64)), [INTS]),
    "scatter": (lambda m, x, s: x.scatter(0, m.tensor([[0, 1, 2], [2, 0, 1]]), s), [np.full((3, 3), 0.5, np.float32), POS]),
    "scatter value": (lambda m, x: m.scatter(x, 1, m.tensor([[2], [0]]), value=-1.0), [X]),
    "scatter_add repeated": (lambda m, x, s: m.scatter_add(x, 1, m.tensor([[0, 0, 2], [1, 1, 1]]), s), [X, POS]),
    "repeat_interleave": (lambda m, x: (x.repeat_interleave(2, dim=1), m.repeat_interleave(x, m.tensor([2, 0]), dim=0),
                                        x.repeat_interleave(3)), [X]),
    "logical ops": (lambda m, a, b: (m.logical_not(a > 0), m.logical_and(a > 0, b > 1), (a > 0) ^ (b > 1)), [X, POS]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name):
    fn, arrays = CASES[name]
    fn(torch, *[torch.tensor(a) for a in arrays])  # the table holds valid calls: PyTorch accepts them
    assert_same(fn, *arrays)


# ---------------------------------------------------------------------- shapes: 0-d, empty, negative dims

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
# zero, or magnitudes in [1/16, 4]: tiny subnormal values only test how float32 rounding differs
floats = st.just(0.0) | st.floats(0.0625, 4, width=32) | st.floats(-4, -0.0625, width=32)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float32, shapes, elements=floats), st.data())
def test_dim_ops_over_shapes(x, data):
    dim = data.draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1))
    assert_same(lambda m, t: t.cumsum(dim), x)
    assert_same(lambda m, t: t.flip(dim) * 2, x)
    assert_same(lambda m, t: m.roll(t, 1, dim) * 2, x)
    assert_same(lambda m, t: t.sort(dim=dim, stable=True), x)
    assert_same(lambda m, t: t.argsort(dim=dim, stable=True), x)
    assert_same(lambda m, t: t.prod(dim), x)
    assert_same(lambda m, t: t.norm(dim=dim), x)
    if x.ndim:
        assert_same(lambda m, t: m.stack(t.unbind(dim)) * 2 if t.shape[dim] else t * 2, x)
    if x.size and x.ndim:
        index = data.draw(hnp.arrays(np.int64, x.shape, elements=st.integers(0, x.shape[dim] - 1)))
        assert_same(lambda m, t: t.gather(dim, m.tensor(index)), x)
        assert_same(lambda m, t: t.index_select(dim, m.tensor(index.reshape(-1)[:4])), x)
        assert_same(lambda m, t: t.amax(dim) + t.amin(dim), x)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float32, shapes, elements=floats))
def test_elementwise_over_shapes(x):
    assert_same(lambda m, t: (t.square() + t.floor() + t.sign() + m.log1p(t.abs())), x)
    assert_same(lambda m, t: (t.isnan(), t.isfinite(), t > 0, t // 1.5, t % 1.5), x, grad=False)
    assert_same(lambda m, t: m.where(t > 0), x, grad=False)
    assert_same(lambda m, t: t.sum(dtype=m.float64) + t.norm(), x)


def test_integer_division_by_zero_raises_like_torch():
    for fn in (lambda m: m.tensor([5]) // 0, lambda m: m.tensor([5]) % m.tensor([0]), lambda m: m.fmod(m.tensor([5]), 0)):
        with pytest.raises(RuntimeError):
            fn(torch)
        with pytest.raises(ZeroDivisionError, match="integer division by zero"):
            fn(tt)


def test_op_errors_name_the_op():
    x = tt.ones(2, 3)
    with pytest.raises(IndexError, match="gather: index 3 is out of bounds for dimension 1 with size 3"):
        x.gather(1, tt.tensor([[3], [0]]))
    with pytest.raises(TypeError, match="index_select: index must be an integer tensor"):
        x.index_select(0, tt.tensor([0.0]))
    with pytest.raises(ValueError, match=r"mm: both operands must be 2-D matrices, got shapes \(2, 3\) and \(3,\)"):
        x.mm(tt.ones(3))
    with pytest.raises(ValueError, match=r"bmm: expected \(B, n, k\) and \(B, k, m\)"):
        tt.ones(2, 2, 3).bmm(tt.ones(3, 3, 2))
    with pytest.raises(ValueError, match="t: expects a tensor with <= 2 dimensions"):
        tt.ones(2, 2, 2).t()
    with pytest.raises(ValueError, match="einsum: 'ij,jk->ik' does not fit operands of shapes"):
        tt.einsum("ij,jk->ik", x, x)
    with pytest.raises(RuntimeError, match="floor_divide: the derivative"):
        (tt.ones(2, requires_grad=True) // 2).sum().backward()
    for m in (torch, tt):
        with pytest.raises((RuntimeError, ValueError)):
            m.ones(2, 2, 2).t()


def test_in_place_ops_match_torch():
    for m in (torch, tt):
        x = m.tensor([[1.0, -2.0], [3.0, 0.5]])
        x.clamp_(-1, 1)
        x.masked_fill_(m.tensor([True, False]), 9.0)
        x //= 2
        x %= 3
        if m is torch:
            expected = x.numpy()
    np.testing.assert_allclose(x.data, expected)
    w = tt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="clamp_: a tensor that requires grad cannot be modified in place"):
        w.clamp_(0, 0.5)
    with tt.no_grad():
        w.clamp_(0, 0.5)
    assert w.tolist() == [0.5, 0.5]


def test_inference_mode_as_context_and_decorator():
    x = tt.ones(2, requires_grad=True)
    with tt.inference_mode():
        assert not (x * 2).requires_grad

    @tt.inference_mode()
    def f(t):
        return t * 2

    @tt.inference_mode
    def g(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad
    with tt.inference_mode(False):
        assert (x * 2).requires_grad
    assert (x * 2).requires_grad


# ---------------------------------------------------------------------- creation signatures

CREATION = [
    lambda m: m.zeros(2, 3), lambda m: m.zeros((2, 3)), lambda m: m.zeros([2, 3], dtype=m.long),
    lambda m: m.zeros(size=(2,)), lambda m: m.zeros(()), lambda m: m.ones(2, dtype=m.bool, device="cpu"),
    lambda m: m.ones(3, device=m.device("cpu"), requires_grad=True), lambda m: m.empty(2, 0),
    lambda m: m.full((2,), 3), lambda m: m.full((2,), 1.5), lambda m: m.full((1,), True),
    lambda m: m.full((2,), 3, dtype=m.float), lambda m: m.arange(5), lambda m: m.arange(1, 4, 0.5),
    lambda m: m.arange(2.0), lambda m: m.arange(0, 10, 3, dtype=m.float64), lambda m: m.arange(end=4),
    lambda m: m.linspace(0, 1, 5), lambda m: m.linspace(-1, 1, steps=3, dtype=m.double),
    lambda m: m.eye(3), lambda m: m.eye(2, 3, dtype=m.int), lambda m: m.tensor([1, 2], dtype=m.int16),
    lambda m: m.tensor(3.0, device="cpu"), lambda m: m.zeros_like(m.ones(2, dtype=m.long)),
    lambda m: m.ones_like(m.ones(2), dtype=m.float64), lambda m: m.full_like(m.ones(2), 7),
    lambda m: m.empty_like(m.ones(2, 2)).shape, lambda m: m.rand(2, 3).shape, lambda m: m.randn((4,), dtype=m.float64).dtype,
    lambda m: m.as_tensor([1.0, 2.0]), lambda m: m.tensor([1, 2], dtype=m.uint8),
    lambda m: m.LongTensor([1, 2]), lambda m: m.FloatTensor([[1, 2]]), lambda m: m.FloatTensor(2, 3).shape,
    lambda m: m.DoubleTensor(3).shape, lambda m: m.BoolTensor([True]), lambda m: m.ByteTensor([1, 255]),
    lambda m: m.IntTensor([]), lambda m: m.Tensor([1, 2]), lambda m: m.Tensor([[True, False]]), lambda m: m.Tensor([2.5]),
]


@pytest.mark.parametrize("index", range(len(CREATION)))
def test_creation_matches_torch(index):
    theirs, ours = CREATION[index](torch), CREATION[index](tt)
    if isinstance(theirs, torch.Tensor):
        assert str(ours.dtype) == str(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)
        assert ours.requires_grad == theirs.requires_grad
        np.testing.assert_allclose(ours.data, theirs.detach().numpy())
    else:
        assert tuple(ours) == tuple(theirs) if isinstance(theirs, torch.Size) else str(ours) == str(theirs)


RANDINT_FORMS = [
    lambda m, g: m.randint(2, (8,), generator=g),
    lambda m, g: m.randint(3, 10, (2, 5), generator=g),
    lambda m, g: m.randint(5, size=(4,), generator=g),
    lambda m, g: m.randint(low=-3, high=3, size=(6,), generator=g),
    lambda m, g: m.randint(0, 10, size=(3,), dtype=m.float32, generator=g),
    lambda m, g: m.randint(high=4, size=(2, 2), generator=g, dtype=m.int32),
    lambda m, g: m.randint(0, 2, (0,), generator=g),
]


@pytest.mark.parametrize("index", range(len(RANDINT_FORMS)))
def test_randint_overloads_match_torch(index):
    """`randint(2, (8,))` means 8 numbers in [0, 2), not one in [2, 8)."""
    theirs = RANDINT_FORMS[index](torch, torch.Generator().manual_seed(0))
    ours = RANDINT_FORMS[index](tt, tt.Generator(0))
    assert tuple(ours.shape) == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype)
    draws = RANDINT_FORMS[index](tt, tt.Generator(1))
    low, high = {0: (0, 2), 1: (3, 10), 2: (0, 5), 3: (-3, 3), 4: (0, 10), 5: (0, 4), 6: (0, 2)}[index]
    assert draws.numel() == 0 or (low <= draws.data.min() and draws.data.max() < high)


def test_randint_bad_calls_raise_like_torch():
    for call in (lambda m: m.randint(2, 8), lambda m: m.randint(0, 10, 5), lambda m: m.randint(5)):
        with pytest.raises(TypeError):
            call(torch)
        with pytest.raises(TypeError, match="randint"):
            call(tt)
    for m in (torch, tt):
        with pytest.raises((RuntimeError, ValueError)):
            m.randint(5, 5, (2,))


# ---------------------------------------------------------------------- dtypes

DTYPE_NAMES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "half", "float",
               "double", "short", "int", "long", "bfloat16"]


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_dtype_aliases_match_torch(name):
    ours, theirs = getattr(tt, name), getattr(torch, name)
    assert str(ours) == repr(ours) == str(theirs)
    assert ours.is_floating_point == theirs.is_floating_point and ours.is_signed == theirs.is_signed
    assert ours.itemsize == theirs.itemsize


def test_dtype_objects_compare_like_torch_and_numpy():
    x = tt.ones(2)
    assert x.dtype == tt.float32 and x.dtype is tt.float and x.dtype == np.float32 and np.float32 == x.dtype
    assert x.dtype != tt.float64 and tt.long is tt.int64 and x.dtype in (tt.float16, tt.float32)
    assert {np.dtype("float32"): "found"}[x.dtype] == "found"
    assert np.zeros(2, dtype=tt.long).dtype == np.int64
    assert x.dtype.is_floating_point and not tt.ones(2, dtype=tt.long).dtype.is_floating_point
    assert x.is_floating_point() and not x.long().is_floating_point() and tt.is_floating_point(x)
    assert tt.get_default_dtype() == tt.float32 == torch.get_default_dtype().__str__().replace("torch.", "")
    tt.set_default_dtype(tt.float32)
    with pytest.raises(NotImplementedError, match="set_default_dtype"):
        tt.set_default_dtype(tt.float64)


def test_bfloat16_raises_a_clear_error():
    for use in (lambda: tt.zeros(2, dtype=tt.bfloat16), lambda: tt.ones(2).to(tt.bfloat16),
                lambda: tt.tensor([1.0], dtype=tt.bfloat16)):
        with pytest.raises(TypeError, match="NumPy has no bfloat16"):
            use()


def test_to_and_type_forms_match_torch():
    for m in (torch, tt):
        x = m.tensor([1.7, -2.2], requires_grad=True)
        forms = [x.to(m.long), x.to("cpu"), x.to(m.device("cpu"), m.float64), x.to(device="cpu", dtype=m.half),
                 x.to(m.ones(1, dtype=m.int32)), x.type(m.float64), x.type("torch.LongTensor"), x.to(int), x.to(float),
                 x.type(m.IntTensor)]
        summary = [(str(f.dtype), f.requires_grad, np.round(_numpy(f).astype(np.float64), 3).tolist()) for f in forms]
        summary += [x.type(), x.to("cpu") is x, x.to(m.float32) is x, x.to(m.float32, copy=True) is x, x.get_device()]
        if m is torch:
            expected = summary
    assert summary == expected
    y = x.to(tt.float64)
    (y * 3).sum().backward()
    assert x.grad.dtype == tt.float32 and x.grad.tolist() == [3.0, 3.0]


# ---------------------------------------------------------------------- devices

def test_device_objects_match_torch():
    for spec in ["cpu", "cuda", "cuda:1", "mps"]:
        ours, theirs = tt.device(spec), torch.device(spec)
        assert (str(ours), repr(ours), ours.type, ours.index) == (str(theirs), repr(theirs), theirs.type, theirs.index)
    assert tt.device("cuda", 0) == "cuda:0" and tt.device("cpu") == tt.device("cpu") and tt.device("cpu") != "cuda"
    x = tt.ones(2)
    assert x.device == "cpu" and x.device == tt.device("cpu") and x.device.type == "cpu" and str(x.device) == "cpu"
    assert not x.is_cuda
    with pytest.raises(RuntimeError, match="device type at start of device string: gpu"):
        tt.device("gpu")


def test_gpu_devices_raise_a_clear_error():
    for use in (lambda: tt.ones(2).to("cuda"), lambda: tt.ones(2).cuda(), lambda: tt.zeros(2, device="cuda"),
                lambda: tt.tensor([1.0], device=tt.device("mps")), lambda: tt.randint(0, 3, (2,), device="cuda:0")):
        with pytest.raises(RuntimeError, match="tinytorch computes on the CPU only"):
            use()


def test_accelerator_queries_answer_like_a_cpu_only_torch():
    assert tt.cuda.is_available() is False and tt.cuda.device_count() == 0
    assert tt.backends.mps.is_available() is False and tt.accelerator.is_available() is False
    tt.cuda.manual_seed_all(0)
    tt.backends.cudnn.benchmark = True
    tt.backends.cudnn.deterministic = True
    tt.backends.cuda.matmul.allow_tf32 = True
    assert tt.backends.cudnn.benchmark and tt.backends.cuda.matmul.allow_tf32
    device = "cuda" if tt.cuda.is_available() else "cpu"
    assert tt.ones(2, device=device).device == "cpu"


# ---------------------------------------------------------------------- printing and formatting

REPRS = [
    lambda m: m.tensor(0.5), lambda m: m.tensor(3.0), lambda m: m.tensor([1, 2]), lambda m: m.tensor(3.0, dtype=m.float64),
    lambda m: m.tensor([[1.0, 2.0], [3.0, 4.5]]), lambda m: m.tensor([1e-5, 1.0]), lambda m: m.tensor([1.0, math.nan, math.inf]),
    lambda m: m.tensor([True, False]), lambda m: m.tensor([], dtype=m.long), lambda m: m.zeros(0, 3), lambda m: m.tensor([]),
    lambda m: m.arange(2000).float(), lambda m: m.arange(24).reshape(2, 3, 4), lambda m: m.arange(1200).reshape(40, 30) / 7,
    lambda m: m.tensor([1.0, 2.0], requires_grad=True), lambda m: m.tensor([1.0, 2.0], requires_grad=True) + 1,
    lambda m: m.tensor([123456789.0, 1.0]), lambda m: m.tensor([-1.5, 2.25], dtype=m.float16),
    lambda m: m.tensor([1, 2], dtype=m.int32), lambda m: m.tensor(-2), lambda m: m.zeros(2, 0, dtype=m.float64),
    lambda m: m.tensor(math.nan), lambda m: m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True) * 2,
    lambda m: m.ones(3, 3, requires_grad=True).sum(), lambda m: m.arange(30).reshape(2, 15) * 1000,
]


@pytest.mark.parametrize("index", range(len(REPRS)))
def test_repr_matches_torch(index):
    ours, theirs = REPRS[index](tt), REPRS[index](torch)
    assert repr(ours) == repr(theirs)
    assert str(ours) == str(theirs)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float32, np.float64]), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                  elements=st.floats(-1e5, 1e5, width=32) | st.sampled_from([0.0, 1.0, -2.0, 0.25])))
def test_repr_matches_torch_for_random_tensors(values):
    assert repr(tt.tensor(values)) == repr(torch.tensor(values))
    integers = values.astype(np.int64)
    assert repr(tt.tensor(integers)) == repr(torch.tensor(integers))


def test_format_of_scalars_like_torch():
    for m in (torch, tt):
        loss = m.tensor(0.123456)
        text = f"{loss:.4f} {loss:8.2e} {loss} {m.tensor([1.5, 2.0])} {m.tensor(3):d}"
        if m is torch:
            expected = text
        with pytest.raises(TypeError):
            f"{m.tensor([1.0, 2.0]):.2f}"
    assert text == expected


def test_type_names_match_torch():
    for dtype in ("float32", "float64", "int64", "int32", "bool", "uint8"):
        assert tt.zeros(1, dtype=getattr(tt, dtype)).type() == torch.zeros(1, dtype=getattr(torch, dtype)).type()


# ---------------------------------------------------------------------- .grad assignment

def test_grad_assignment_is_checked_like_torch():
    for value, error in [([1.0, 2.0], TypeError), (3, TypeError), ("ones(3)", RuntimeError), ("float64", RuntimeError)]:
        for m in (torch, tt):
            t = m.ones(2, requires_grad=True)
            bad = {"ones(3)": m.ones(3), "float64": m.ones(2, dtype=m.float64)}.get(value, value) if isinstance(value, str) else value
            with pytest.raises(error):
                t.grad = bad
    t = tt.ones(2, requires_grad=True)
    t.grad = tt.full((2,), 0.5)
    (t * 2).sum().backward()
    assert t.grad.tolist() == [2.5, 2.5]
    t.grad = None
    assert t.grad is None


# ---------------------------------------------------------------------- more of the torch namespace

def test_in_place_scatter_matches_torch():
    for m in (torch, tt):
        x = m.zeros(2, 4)
        x.scatter_(1, m.tensor([[3, 1], [0, 0]]), m.tensor([[1.0, 2.0], [3.0, 4.0]]))
        x.scatter_add_(0, m.tensor([[1, 0, 1, 0]]), m.ones(1, 4))
        x.scatter_(1, m.tensor([[2], [2]]), 9.0)
        if m is torch:
            expected = x.numpy()
    np.testing.assert_array_equal(x.data, expected)


def test_size_behaves_like_torch_size():
    for m in (torch, tt):
        size = m.Size([2, 3, 4])
        summary = (repr(size), size == (2, 3, 4), m.zeros(2, 3, 4).shape == size, repr(size[1:]), size.numel(), size[0])
        if m is torch:
            expected = summary
    assert summary == expected


def test_normal_and_bernoulli_shapes_and_dtypes_match_torch():
    forms = [lambda m: m.normal(0.0, 1.0, size=(2, 3)), lambda m: m.normal(m.zeros(4), 2.0),
             lambda m: m.normal(m.zeros(2, 1), m.ones(3)), lambda m: m.normal(2.0, 0.5, (3,), dtype=m.float64),
             lambda m: m.bernoulli(m.full((3, 2), 0.5)), lambda m: m.bernoulli(m.zeros(2, dtype=m.float64), p=1.0)]
    for form in forms:
        ours, theirs = form(tt), form(torch)
        assert tuple(ours.shape) == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype)
    assert tt.bernoulli(tt.ones(5)).tolist() == [1.0] * 5 and tt.bernoulli(tt.ones(2), p=0.0).tolist() == [0.0, 0.0]
    draws = tt.normal(3.0, 0.5, size=(20000,), generator=tt.Generator(0))
    assert abs(draws.mean().item() - 3.0) < 0.02 and abs(draws.std().item() - 0.5) < 0.02


@pytest.mark.parametrize("options", [dict(precision=2), dict(sci_mode=False), dict(sci_mode=True),
                                     dict(threshold=5, edgeitems=1), dict(linewidth=30), dict(profile="short")])
def test_set_printoptions_matches_torch(options):
    made = [lambda m: m.tensor([1e-5, 1.0]), lambda m: m.tensor([3.0, 4.0]), lambda m: m.arange(12).reshape(3, 4) / 3]
    try:
        for m in (tt, torch):
            m.set_printoptions(**options)
        for make in made:
            assert repr(make(tt)) == repr(make(torch))
    finally:
        for m in (tt, torch):
            m.set_printoptions(profile="default", sci_mode=None)
    assert repr(tt.tensor([1.23456])) == "tensor([1.2346])"


def test_runtime_settings_are_accepted():
    tt.set_num_threads(4)
    assert tt.get_num_threads() == 1  # tinytorch computes in one thread
    tt.use_deterministic_algorithms(True)
    assert tt.are_deterministic_algorithms_enabled()
    tt.use_deterministic_algorithms(False)
    tt.set_float32_matmul_precision("high")
    assert tt.get_float32_matmul_precision() == "high"
    tt.set_float32_matmul_precision("highest")
    with pytest.raises(ValueError, match="set_float32_matmul_precision"):
        tt.set_float32_matmul_precision("fast")
    x = tt.ones(2)
    assert x.pin_memory() is x and not x.is_pinned()
