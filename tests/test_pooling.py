"""MaxPool2d / AvgPool2d / AdaptiveAvgPool2d: values, gradients (ties, overlaps, padding), errors."""

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn as nn
import tinytorch.nn.functional as F
from tinytorch.gradcheck import gradcheck


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def naive_pool(x, k, s, p, reduce, pad_value):
    """Reference pooling, one window at a time."""
    xp = np.pad(x, ((0, 0), (0, 0), (p[0],) * 2, (p[1],) * 2), constant_values=pad_value)
    Ho, Wo = (xp.shape[2] - k[0]) // s[0] + 1, (xp.shape[3] - k[1]) // s[1] + 1
    out = np.zeros(x.shape[:2] + (Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
            out[:, :, i, j] = reduce(window, axis=(2, 3))
    return out


GEOMETRIES = [  # (kernel, stride, padding)
    ((2, 2), (2, 2), (0, 0)),
    ((3, 3), (2, 2), (1, 1)),  # overlapping windows and padding
    ((3, 3), (1, 1), (0, 0)),  # heavily overlapping
    ((3, 2), (1, 2), (1, 0)),  # non-square
]


@pytest.mark.parametrize("k, s, p", GEOMETRIES)
def test_max_pool_matches_naive(k, s, p):
    x = rand(2, 3, 7, 8) - 3  # mostly negative: -inf padding must never win against them
    out = F.max_pool2d(tt.tensor(x), k, s, p)
    np.testing.assert_array_equal(out.numpy(), naive_pool(x, k, s, p, np.max, -np.inf))


@pytest.mark.parametrize("k, s, p", GEOMETRIES)
def test_avg_pool_matches_naive(k, s, p):
    x = rand(2, 3, 7, 8)
    out = F.avg_pool2d(tt.tensor(x), k, s, p)
    np.testing.assert_allclose(out.numpy(), naive_pool(x, k, s, p, np.mean, 0.0), atol=1e-12)


@pytest.mark.parametrize("k, s, p", GEOMETRIES)
def test_gradcheck_max_pool(k, s, p):
    x = tt.tensor(rand(2, 2, 7, 6), requires_grad=True)  # continuous values: no ties
    assert gradcheck(lambda x: F.max_pool2d(x, k, s, p), [x])


def test_gradcheck_max_pool_dilated():
    x = tt.tensor(rand(1, 2, 9, 8), requires_grad=True)
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 1, 1, dilation=2), [x])


@pytest.mark.parametrize("k, s, p", GEOMETRIES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_gradcheck_avg_pool(k, s, p, count_include_pad):
    x = tt.tensor(rand(2, 2, 7, 6), requires_grad=True)
    assert gradcheck(lambda x: F.avg_pool2d(x, k, s, p, count_include_pad=count_include_pad), [x])


def test_count_include_pad_false_averages_real_cells_only():
    x = tt.ones(1, 1, 4, 4)
    assert np.allclose(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False).numpy(), 1.0)
    corner = F.avg_pool2d(x, 3, 1, 1).numpy()[0, 0, 0, 0]
    assert np.isclose(corner, 4 / 9)  # 4 real ones out of 9 cells


def test_divisor_override():
    x = tt.tensor(rand(1, 2, 4, 4))
    np.testing.assert_allclose(F.avg_pool2d(x, 2, divisor_override=1).numpy(),
                               F.avg_pool2d(x, 2).numpy() * 4, atol=1e-12)


def test_max_pool_tie_sends_gradient_to_one_position():
    x = tt.ones(1, 1, 4, 4, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    grad = x.grad.numpy()[0, 0]
    # Each 2x2 window passes its gradient to exactly one cell: the first (top-left) one.
    np.testing.assert_array_equal(grad, np.tile([[1, 0], [0, 0]], (2, 2)))


def test_overlapping_max_pool_accumulates_gradient():
    x = tt.tensor(np.arange(9.0).reshape(1, 1, 3, 3), requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()  # the four 2x2 windows' maxima: 4, 5, 7, 8
    expected = np.zeros((3, 3))
    expected[1, 1] = expected[1, 2] = expected[2, 1] = expected[2, 2] = 1
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)
    y = tt.tensor(np.full((1, 1, 3, 3), -1.0), requires_grad=True)
    y.data[0, 0, 1, 1] = 5.0  # the centre is the max of all four windows
    F.max_pool2d(y, 2, stride=1).sum().backward()
    assert y.grad.numpy()[0, 0, 1, 1] == 4 and y.grad.numpy().sum() == 4


def test_max_pool_propagates_nan():
    x = tt.tensor(np.array([[[[1.0, np.nan], [3.0, 2.0]]]]))
    assert np.isnan(F.max_pool2d(x, 2).numpy()).all()


def test_adaptive_avg_pool():
    x = tt.tensor(rand(2, 3, 6, 4), requires_grad=True)
    out = F.adaptive_avg_pool2d(x, 1)
    np.testing.assert_allclose(out.numpy(), x.numpy().mean(axis=(2, 3), keepdims=True), atol=1e-12)
    assert F.adaptive_avg_pool2d(x, (3, None)).shape == (2, 3, 3, 4)
    assert nn.AdaptiveAvgPool2d((2, 2))(x).shape == (2, 3, 2, 2)
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (2, 1)), [x])
    unbatched = tt.tensor(rand(3, 4, 4), requires_grad=True)
    assert F.adaptive_avg_pool2d(unbatched, 2).shape == (3, 2, 2)
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, 2), [unbatched])


def test_unbatched_input():
    x = tt.tensor(rand(3, 6, 6), requires_grad=True)
    assert F.max_pool2d(x, 2).shape == (3, 3, 3) and F.avg_pool2d(x, 3).shape == (3, 2, 2)
    assert gradcheck(lambda x: F.max_pool2d(x, 2), [x])


def test_modules_defaults_and_dtype():
    m = nn.MaxPool2d(2)
    assert m.stride == 2
    out = m(tt.randn(2, 3, 8, 8))
    assert out.shape == (2, 3, 4, 4) and out.dtype == np.float32
    assert nn.AvgPool2d(3, stride=1, padding=1)(tt.randn(1, 1, 5, 5)).shape == (1, 1, 5, 5)
    assert nn.AvgPool2d(2)(tt.randn(1, 1, 5, 5)).dtype == np.float32
    assert repr(m) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool2d(2)) == "AvgPool2d(kernel_size=2, stride=2, padding=0)"
    assert list(m.parameters()) == []


# ---------------------------------------------------------------------- errors


def test_errors():
    x = tt.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match=r"MaxPool2d: padding \(2, 2\) should be at most half of kernel size \(3, 3\)"):
        nn.MaxPool2d(3, padding=2)
    with pytest.raises(ValueError, match=r"avg_pool2d: padding \(2, 2\) should be at most half of kernel size \(2, 2\)"):
        F.avg_pool2d(x, 2, padding=2)
    with pytest.raises(NotImplementedError, match=r"ceil_mode=True is not supported"):
        F.max_pool2d(x, 2, ceil_mode=True)
    with pytest.raises(NotImplementedError, match=r"MaxPool2d: return_indices=True is not supported"):
        nn.MaxPool2d(2, return_indices=True)
    with pytest.raises(ValueError, match=r"MaxPool2d: kernel size \(5, 5\).*larger than the padded input size \(4, 4\)"):
        nn.MaxPool2d(5)(x)
    with pytest.raises(ValueError, match=r"MaxPool2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got shape \(4, 4\)"):
        nn.MaxPool2d(2)(tt.zeros(4, 4))
    with pytest.raises(ValueError, match=r"avg_pool2d: stride must be >= 1, got 0"):
        F.avg_pool2d(x, 2, stride=0)
    with pytest.raises(TypeError, match=r"max_pool2d: expected a floating-point input, got dtype int64"):
        F.max_pool2d(tt.tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)), 2)
    with pytest.raises(NotImplementedError, match=r"AdaptiveAvgPool2d: output size \(3, 3\) must divide the input size \(4, 4\)"):
        nn.AdaptiveAvgPool2d(3)(x)
    with pytest.raises(ValueError, match=r"avg_pool2d: divisor_override must be a positive int"):
        F.avg_pool2d(x, 2, divisor_override=0)


# ---------------------------------------------------------------------- against PyTorch


@pytest.mark.parametrize("k, s, p", GEOMETRIES)
@pytest.mark.parametrize("kind", ["max", "avg", "avg_exclude_pad"])
def test_matches_pytorch(k, s, p, kind):
    torch = pytest.importorskip("torch")
    x = rand(2, 3, 9, 8)
    ours, theirs = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if kind == "max":
        out, ref = F.max_pool2d(ours, k, s, p), torch.nn.functional.max_pool2d(theirs, k, s, p)
    else:
        include = kind == "avg"
        out = F.avg_pool2d(ours, k, s, p, count_include_pad=include)
        ref = torch.nn.functional.avg_pool2d(theirs, k, s, p, count_include_pad=include)
    g = rand(*out.shape, seed=1)
    out.backward(g)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-12)


def test_max_pool_tie_breaking_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.round(rand(2, 2, 6, 6), 0)  # many ties
    ours, theirs = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.max_pool2d(ours, 3, 1).sum().backward()
    torch.nn.functional.max_pool2d(theirs, 3, 1).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
