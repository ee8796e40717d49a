"""torch.Tensor's legacy constructor, torch.Size from .shape / .size(), and einsum with a
repeated index in one operand (diagonals, traces), compared with PyTorch."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinytorch as tt

torch = pytest.importorskip("torch")


CONSTRUCTOR_CALLS = {
    "size": lambda m: m.Tensor(3),
    "sizes": lambda m: m.Tensor(2, 3),
    "zero size": lambda m: m.Tensor(0),
    "no argument": lambda m: m.Tensor(),
    "a Size": lambda m: m.Tensor(m.Size([2, 4])),
    "int list": lambda m: m.Tensor([1, 2]),
    "int tuple is data": lambda m: m.Tensor((2, 3)),
    "nested floats": lambda m: m.Tensor([[1.5, 2], [3, 4]]),
    "empty list": lambda m: m.Tensor([]),
    "another shape": lambda m: m.Tensor(m.zeros(3, 1).shape),
}


@pytest.mark.parametrize("name", list(CONSTRUCTOR_CALLS))
def test_legacy_constructor_matches_torch(name):
    theirs, ours = CONSTRUCTOR_CALLS[name](torch), CONSTRUCTOR_CALLS[name](tt)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype) == "torch.float32"
    if name in ("int list", "int tuple is data", "nested floats", "empty list"):  # data, not uninitialized memory
        np.testing.assert_array_equal(ours.data, theirs.numpy())


@pytest.mark.parametrize("args", [(3.0,), (True,), (2, 3.5), (2, "a")])
def test_legacy_constructor_rejects_what_torch_rejects(args):
    with pytest.raises(TypeError):
        torch.Tensor(*args)
    with pytest.raises(TypeError, match="Tensor: "):
        tt.Tensor(*args)


def test_legacy_constructor_negative_size_raises_like_torch():
    with pytest.raises(RuntimeError, match="negative dimension -1"):
        torch.Tensor(-1)
    with pytest.raises(RuntimeError, match="Tensor: .*negative dimension -1"):
        tt.Tensor(-1)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(0, 4), max_size=4))
def test_shape_and_size_are_sizes_as_in_torch(shape):
    results = []
    for m in (torch, tt):
        x = m.zeros(*shape) if shape else m.zeros(())
        s = x.shape
        results.append((type(s).__name__, repr(s), s == tuple(shape), x.size() == s, s.numel(), repr(s[1:]),
                        repr(s + (7,)), repr((7,) + s), repr(s * 2), hash(s) == hash(tuple(shape)),
                        [x.size(d) for d in range(-len(shape), len(shape))]))
    assert results[1] == results[0]


def test_size_keeps_working_as_a_tuple():
    s = tt.randn(2, 3).shape
    assert isinstance(s, tuple) and isinstance(s, tt.Size)
    assert np.zeros(s).shape == (2, 3) and np.broadcast_shapes(s, (1, 3)) == (2, 3)
    assert pickle.loads(pickle.dumps(s)) == s and type(pickle.loads(pickle.dumps(s))) is tt.Size
    assert f"{s}" == str(s) == "(2, 3)"  # messages read as tuples (PyTorch prints its repr here)
    with pytest.raises(TypeError):
        s + [4]  # noqa: B018  as torch.Size


EINSUM = [
    ("ii->i", [(3, 3)]),
    ("ii->", [(4, 4)]),
    ("ii", [(2, 2)]),
    ("bii->bi", [(2, 3, 3)]),
    ("bii->b", [(2, 3, 3)]),
    ("iij->ij", [(2, 2, 3)]),
    ("iji->j", [(3, 2, 3)]),
    ("ii,i->i", [(3, 3), (3,)]),
    ("ij,jj->i", [(2, 3), (3, 3)]),
    ("iik,kj->ij", [(2, 2, 4), (4, 3)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("iii->i", [(2, 2, 2)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUM)
@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2 ** 16))
def test_einsum_with_a_repeated_index_matches_torch_forward_and_backward(equation, shapes, seed):
    rng = np.random.default_rng(seed)
    data = [rng.standard_normal(s) for s in shapes]
    results = []
    for m in (torch, tt):
        xs = [m.tensor(d, requires_grad=True) for d in data]
        out = m.einsum(equation, *xs)
        weight = m.tensor(np.random.default_rng(seed + 1).standard_normal(tuple(out.shape)), dtype=out.dtype)
        (out * weight).sum().backward()
        as_array = (lambda t: t.detach().numpy()) if m is torch else (lambda t: t.data)
        results.append([as_array(out)] + [as_array(x.grad) for x in xs] + [str(out.dtype)])
    for ours, theirs in zip(results[1], results[0]):
        if isinstance(theirs, str):
            assert ours == theirs
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("equation, shapes", [("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bkj->bik", [(2, 3, 4), (2, 2, 4)]),
                                              ("ij,j->", [(2, 3), (3,)]), ("ij,kl->ijl", [(2, 3), (4, 2)])])
def test_einsum_second_derivatives_match_torch(equation, shapes):
    rng = np.random.default_rng(len(equation))
    data = [rng.standard_normal(s) for s in shapes]
    results = []
    for m in (torch, tt):
        xs = [m.tensor(d, requires_grad=True) for d in data]
        out = m.einsum(equation, *xs)
        grads = m.autograd.grad((out * out).sum(), xs, create_graph=True)
        sum((g ** 3).sum() for g in grads).backward()
        as_array = (lambda t: t.detach().numpy()) if m is torch else (lambda t: t.data)
        results.append([as_array(t) for t in (*grads, *(x.grad for x in xs))])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_einsum_repeated_index_under_create_graph_is_a_clear_error():
    x = tt.randn(3, 3, requires_grad=True)
    with pytest.raises(NotImplementedError, match="create_graph=True.*einsum.*'ii'"):
        tt.autograd.grad(tt.einsum("ii->i", x * x).sum(), x, create_graph=True)
