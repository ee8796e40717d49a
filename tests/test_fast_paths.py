"""Fast paths must give exactly what the general code gives: max pooling over tiling windows,
and the inference shortcuts of Linear, LayerNorm and attention when nothing records a graph."""

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn as nn
import tinytorch.nn.functional as F
from tinytorch.gradcheck import gradcheck


def rand(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def reference_max_pool(x, kernel, g):
    """Loops over windows: the maximum, and the gradient sent to the window's first maximum in
    row-major order (its first cell when the maximum is NaN)."""
    kh, kw = kernel
    N, C, H, W = x.shape
    out = np.zeros((N, C, H // kh, W // kw), dtype=x.dtype)
    grad = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H // kh):
                for j in range(W // kw):
                    window = x[n, c, i * kh:(i + 1) * kh, j * kw:(j + 1) * kw].ravel()
                    top = window.max()  # NaN if any is NaN
                    out[n, c, i, j] = top
                    first = 0 if np.isnan(top) else int(np.flatnonzero(window == top)[0])
                    grad[n, c, i * kh + first // kw, j * kw + first % kw] += g[n, c, i, j]
    return out, grad


@pytest.mark.parametrize("shape, kernel", [
    ((2, 3, 8, 8), (2, 2)),
    ((2, 2, 7, 9), (2, 2)),  # odd sizes: the last row / column belongs to no window
    ((1, 2, 9, 9), (3, 3)),
    ((2, 1, 6, 8), (2, 4)),
    ((1, 1, 5, 5), (1, 1)),
])
def test_tiled_max_pool_matches_window_loops(shape, kernel):
    x = np.round(rand(*shape), 0)  # many ties
    x.flat[::7] = np.nan
    g = rand(shape[0], shape[1], shape[2] // kernel[0], shape[3] // kernel[1], seed=1)
    t = tt.tensor(x, requires_grad=True)
    out = F.max_pool2d(t, kernel)
    out.backward(g)
    expected_out, expected_grad = reference_max_pool(x, kernel, g)
    np.testing.assert_array_equal(out.numpy(), expected_out)
    np.testing.assert_array_equal(t.grad.numpy(), expected_grad)


def test_tiled_max_pool_unbatched_float32_and_gradcheck():
    x = rand(3, 6, 4, dtype=np.float32)
    out = nn.MaxPool2d(2)(tt.tensor(x))
    assert out.shape == (3, 3, 2) and out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), x.reshape(3, 3, 2, 2, 2).max(axis=(2, 4)))
    assert gradcheck(lambda t: F.max_pool2d(t, 2), [tt.tensor(rand(1, 2, 4, 6), requires_grad=True)])


def test_tiled_max_pool_matches_pytorch_with_ties():
    torch = pytest.importorskip("torch")
    x = np.maximum(np.round(rand(2, 3, 8, 10), 0), 0)  # ReLU-like: whole windows of zeros
    ours, theirs = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g = rand(2, 3, 4, 5, seed=2)
    F.max_pool2d(ours, 2).backward(g)
    torch.nn.functional.max_pool2d(theirs, 2).backward(torch.tensor(g))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape, axes", [((3, 5, 128), (2,)), ((8, 4, 6, 6), (0, 2, 3)), ((5, 999), (1,))])
def test_normalization_mean_is_bitwise_np_mean(dtype, shape, axes):
    from tinytorch.nn.normalization import _mean

    x = (rand(*shape) * 37).astype(dtype)
    ours, theirs = _mean(x, axes), x.mean(axis=axes, keepdims=True)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_cached_decoding_gives_the_uncached_logits():
    from tinytorch.models import GPT, GPTConfig

    tt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=16)).eval()
    ids = np.random.default_rng(0).integers(0, 11, (2, 9))
    caches = model.make_kv_caches(2)
    with tt.no_grad():
        full = model.lm_head(model._hidden(ids)).numpy()  # (B, T, V)
        model._hidden(ids[:, :5], caches)
        steps = [model.lm_head(model._hidden(ids[:, t:t + 1], caches)).numpy()[:, 0] for t in range(5, 9)]
    np.testing.assert_allclose(np.stack(steps, axis=1), full[:, 5:], rtol=1e-5, atol=1e-6)
