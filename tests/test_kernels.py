"""tinytorch.kernels: the runtime's choice of matrix-product formulation, and that every layer
gives the same results whichever formulation computes its products."""

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch import kernels
from tinytorch.gradcheck import gradcheck


def rand(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.fixture(params=["matmul", "einsum"])
def formulation(request, monkeypatch):
    monkeypatch.setattr(kernels, "FORMULATION", request.param)
    return request.param


@pytest.mark.parametrize("a_shape, b_shape", [
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),  # batch of a, shared b
    ((4, 5), (2, 5, 3)),  # shared a, batch of b
    ((2, 1, 3, 4), (5, 4, 2)),  # batch dims broadcast
])
def test_mm_matches_numpy_matmul(formulation, a_shape, b_shape):
    a, b = rand(*a_shape), rand(*b_shape, seed=1)
    np.testing.assert_allclose(kernels.mm(a, b), np.matmul(a, b), rtol=1e-12, atol=1e-12)
    assert kernels.uses_einsum(a, b) == (formulation == "einsum")


def test_mm_keeps_float32_and_handles_transposed_views(formulation):
    w = rand(6, 4, dtype=np.float32)
    x = rand(5, 4, seed=1, dtype=np.float32)
    out = kernels.mm(x, w.T)  # w.T is a transposed (F-contiguous) view, as in linear
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x @ w.T, rtol=1e-5, atol=1e-5)


def test_auto_uses_matmul_natively(monkeypatch):
    monkeypatch.setattr(kernels, "BROWSER", False)
    big = np.ones((512, 512), dtype=np.float32)
    assert not kernels.uses_einsum(big, big)


def test_auto_without_blas_uses_einsum_for_large_float_products_only(monkeypatch):
    monkeypatch.setattr(kernels, "BROWSER", True)
    big = np.ones((64, 1024), dtype=np.float32)
    weight = np.ones((1024, 1024), dtype=np.float32)
    assert kernels.uses_einsum(big, weight)
    heads = np.ones((8, 4, 256, 32), dtype=np.float32)  # a batch of matrices: `@` wins there
    assert not kernels.uses_einsum(heads, np.swapaxes(heads, -1, -2))
    cols = np.ones((1, 144, 12544), dtype=np.float32)  # conv: one matrix with a batch dim of 1
    assert kernels.uses_einsum(np.ones((1, 32, 144), dtype=np.float32), cols)
    small = np.ones((8, 128), dtype=np.float32)  # a few thousand multiply-adds: `@`
    assert not kernels.uses_einsum(small, small.T)
    ints = np.ones((512, 512), dtype=np.int64)  # einsum is only chosen for floating point
    assert not kernels.uses_einsum(ints, ints)
    np.testing.assert_array_equal(kernels.mm(big, weight), np.full((64, 1024), 1024, dtype=np.float32))


def test_tensor_matmul_gradients_in_both_formulations(formulation):
    a = tt.tensor(rand(2, 3, 4), requires_grad=True)
    b = tt.tensor(rand(4, 5, seed=1), requires_grad=True)
    c = tt.tensor(rand(2, 5, 3, seed=2), requires_grad=True)
    assert gradcheck(lambda a, b: a @ b, [a, b])
    assert gradcheck(lambda b, c: b @ c, [b, c])  # shared (n, k) against a batch


def test_linear_and_conv_agree_across_formulations(monkeypatch):
    x = tt.tensor(rand(3, 2, 6, 6, dtype=np.float32), requires_grad=True)
    w = tt.tensor(rand(4, 2, 3, 3, seed=1, dtype=np.float32), requires_grad=True)
    lw = tt.tensor(rand(5, 4 * 36, seed=2, dtype=np.float32), requires_grad=True)
    results = []
    for name in ("matmul", "einsum"):
        monkeypatch.setattr(kernels, "FORMULATION", name)
        x.grad = w.grad = lw.grad = None
        hidden = F.conv2d(x, w, padding=1).relu()
        out = F.linear(hidden.flatten(1), lw)
        out.backward(np.ones(out.shape, dtype=np.float32))
        results.append([out.numpy(), x.grad.numpy(), w.grad.numpy(), lw.grad.numpy()])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("browser", [False, True])
def test_relu_formulations_agree(monkeypatch, browser):
    monkeypatch.setattr(kernels, "BROWSER", browser)
    x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0, np.nan, -np.inf, np.inf], dtype=np.float32)
    out = kernels.relu(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [0, 0, 0, 0.5, 3, np.nan, 0, np.inf])
    t = tt.tensor(rand(4, 5), requires_grad=True)
    t.relu().sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), (t.numpy() > 0).astype(np.float64))


def test_masked_keeps_dtype_and_zeroes_where_false():
    g = rand(3, 4, dtype=np.float32)
    mask = g > 0
    out = kernels.masked(g, mask)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.where(mask, g, 0))
    np.testing.assert_array_equal(kernels.masked(g, mask[:1]), g * mask[:1])  # broadcasting mask
