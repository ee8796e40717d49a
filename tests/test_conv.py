"""Conv2d / conv2d: values (vs a naive loop and PyTorch), gradients, init, errors."""

import math

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn as nn
import tinytorch.nn.functional as F
from tinytorch.gradcheck import gradcheck
from tinytorch import kernels


def naive_conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Reference: the definition, one output element at a time (small inputs only)."""
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    Ho = (xp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    Wo = (xp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((N, O, Ho, Wo))
    Og = O // groups
    for n in range(N):
        for o in range(O):
            g = o // Og
            for i in range(Ho):
                for j in range(Wo):
                    patch = xp[n, g * Cg:(g + 1) * Cg,
                               i * stride[0]:i * stride[0] + dilation[0] * (kh - 1) + 1:dilation[0],
                               j * stride[1]:j * stride[1] + dilation[1] * (kw - 1) + 1:dilation[1]]
                    out[n, o, i, j] = (patch * w[o]).sum() + (0 if b is None else b[o])
    return out


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


CASES = [
    # (x shape, weight shape, kwargs)
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((2, 3, 7, 6), (4, 3, 3, 3), dict(stride=2, padding=1)),
    ((1, 2, 8, 9), (3, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2))),  # non-square everything
    ((2, 2, 9, 8), (2, 2, 3, 3), dict(dilation=2, padding=2)),
    ((2, 4, 6, 6), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((1, 2, 5, 5), (3, 2, 5, 5), {}),  # kernel covers the whole input: 1x1 output
    ((2, 3, 5, 5), (2, 3, 1, 1), {}),  # 1x1 convolution
]


@pytest.mark.parametrize("xs, ws, kwargs", CASES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_forward_matches_naive_definition(xs, ws, kwargs, with_bias):
    x, w, b = rand(*xs), rand(*ws, seed=1), rand(ws[0], seed=2) if with_bias else None
    out = F.conv2d(tt.tensor(x), tt.tensor(w), None if b is None else tt.tensor(b), **kwargs)
    pair = lambda v: (v, v) if isinstance(v, int) else v
    expected = naive_conv2d(x, w, b, pair(kwargs.get("stride", 1)), pair(kwargs.get("padding", 0)),
                            pair(kwargs.get("dilation", 1)), kwargs.get("groups", 1))
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-10)


@pytest.mark.parametrize("xs, ws, kwargs", CASES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_gradcheck(xs, ws, kwargs, with_bias):
    x = tt.tensor(rand(*xs), requires_grad=True)
    w = tt.tensor(rand(*ws, seed=1), requires_grad=True)
    inputs = [x, w] + ([tt.tensor(rand(ws[0], seed=2), requires_grad=True)] if with_bias else [])
    assert gradcheck(lambda *t: F.conv2d(*t, **kwargs), inputs)


def test_gradcheck_same_padding_with_even_kernel_and_unbatched_input():
    # 'same' with an even kernel pads asymmetrically; (C, H, W) input gives (O, H, W).
    x = tt.tensor(rand(2, 5, 6), requires_grad=True)
    w = tt.tensor(rand(3, 2, 2, 4, seed=1), requires_grad=True)
    assert F.conv2d(x, w, padding="same").shape == (3, 5, 6)
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding="same"), [x, w])


def test_valid_padding_is_no_padding():
    x, w = tt.tensor(rand(1, 2, 6, 6)), tt.tensor(rand(3, 2, 3, 3, seed=1))
    np.testing.assert_array_equal(F.conv2d(x, w, padding="valid").numpy(), F.conv2d(x, w).numpy())


def test_einsum_and_matmul_formulations_agree(monkeypatch):
    x = tt.tensor(rand(2, 4, 7, 7), requires_grad=True)
    w = tt.tensor(rand(6, 2, 3, 3, seed=1), requires_grad=True)
    results = []
    for formulation in ("matmul", "einsum"):
        monkeypatch.setattr(kernels, "FORMULATION", formulation)
        x.grad = w.grad = None
        out = F.conv2d(x, w, stride=2, padding=1, groups=2)
        out.backward(np.ones(out.shape))
        results.append((out.numpy(), x.grad.numpy(), w.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_only_requested_gradients_are_computed():
    x = tt.tensor(rand(1, 2, 5, 5))  # no grad
    w = tt.tensor(rand(3, 2, 3, 3, seed=1), requires_grad=True)
    out = F.conv2d(x, w)
    out.sum().backward()
    assert x.grad is None and w.grad.shape == (3, 2, 3, 3)
    with tt.no_grad():
        assert not F.conv2d(x, w).requires_grad


def test_module_defaults_float32_and_shapes():
    m = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    assert m.weight.shape == (8, 3, 3, 3) and m.bias.shape == (8,)
    assert m.weight.dtype == np.float32
    out = m(tt.randn(4, 3, 9, 9))
    assert out.shape == (4, 8, 5, 5) and out.dtype == np.float32
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert nn.Conv2d(2, 2, 3, bias=False).bias is None
    assert repr(m) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    assert repr(nn.Conv2d(4, 4, (1, 3), groups=2, dilation=2, bias=False)) == (
        "Conv2d(4, 4, kernel_size=(1, 3), stride=(1, 1), dilation=(2, 2), groups=2, bias=False)"
    )


def test_default_init_is_pytorch_uniform_bound_and_seedable():
    tt.manual_seed(0)
    m = nn.Conv2d(16, 32, 3, groups=2)
    fan_in = 8 * 3 * 3  # in_channels / groups * kh * kw
    bound = 1 / math.sqrt(fan_in)
    w = m.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(m.bias.numpy()).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound  # U(-b, b) has std b / sqrt(3)
    tt.manual_seed(0)
    np.testing.assert_array_equal(nn.Conv2d(16, 32, 3, groups=2).weight.numpy(), w)


def test_module_trains_a_step():
    tt.manual_seed(0)
    m = nn.Conv2d(1, 2, 3, padding=1)
    x = tt.randn(4, 1, 6, 6)
    loss = (m(x) ** 2).mean()
    loss.backward()
    assert m.weight.grad.shape == m.weight.shape and m.bias.grad.shape == (2,)
    with tt.no_grad():
        m.weight -= 0.1 * m.weight.grad
        m.bias -= 0.1 * m.bias.grad
    assert (m(x) ** 2).mean().item() < loss.item()


# ---------------------------------------------------------------------- errors


def test_wrong_channel_count_names_layer_and_shape():
    m = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"^Conv2d: expected input with 3 channels, got shape \(2, 4, 8, 8\)$"):
        m(tt.zeros(2, 4, 8, 8))


def test_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"Conv2d: kernel size \(5, 5\).*larger than the padded input size \(4, 4\)"):
        nn.Conv2d(1, 1, 5)(tt.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"conv2d: kernel size \(3, 3\) \(dilated extent \(5, 5\)\)"):
        F.conv2d(tt.zeros(1, 1, 4, 4), tt.zeros(1, 1, 3, 3), dilation=2)


@pytest.mark.parametrize("shape", [(8, 8), (1, 1, 1, 8, 8)])
def test_wrong_rank(shape):
    with pytest.raises(ValueError, match=r"Conv2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input"):
        nn.Conv2d(1, 1, 3)(tt.zeros(*shape))


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(stride=0), ValueError, r"conv2d: stride must be >= 1, got 0"),
    (dict(padding=-1), ValueError, r"conv2d: padding must be >= 0, got -1"),
    (dict(padding=(1, 2, 3)), TypeError, r"conv2d: padding must be an int or a pair of ints"),
    (dict(padding="full"), ValueError, r"conv2d: padding must be an int, a pair, 'valid' or 'same', got 'full'"),
    (dict(padding="same", stride=2), ValueError, r"padding='same' is not supported for strided convolutions"),
    (dict(dilation=0), ValueError, r"conv2d: dilation must be >= 1"),
    (dict(groups=0), ValueError, r"conv2d: groups must be a positive int"),
])
def test_functional_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        F.conv2d(tt.zeros(1, 2, 6, 6), tt.zeros(2, 2, 3, 3), **kwargs)


def test_weight_bias_and_dtype_errors():
    x = tt.zeros(1, 4, 6, 6)
    with pytest.raises(ValueError, match=r"conv2d: weight must be 4-D .*got shape \(2, 4, 3\)"):
        F.conv2d(x, tt.zeros(2, 4, 3))
    with pytest.raises(ValueError, match=r"conv2d: bias shape \(3,\) does not match out_channels 2"):
        F.conv2d(x, tt.zeros(2, 4, 3, 3), tt.zeros(3))
    with pytest.raises(ValueError, match=r"conv2d: out_channels \(3\) must be divisible by groups \(2\)"):
        F.conv2d(x, tt.zeros(3, 2, 3, 3), groups=2)
    with pytest.raises(TypeError, match=r"conv2d: input dtype float64 and parameter dtype float32 differ"):
        F.conv2d(x.double(), tt.zeros(2, 4, 3, 3))
    with pytest.raises(TypeError, match=r"conv2d: expected a Tensor input, got ndarray"):
        F.conv2d(np.zeros((1, 4, 6, 6)), tt.zeros(2, 4, 3, 3))


def test_constructor_errors():
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(3\) and out_channels \(4\) must both be divisible by groups \(2\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"Conv2d: out_channels must be a positive int, got 0"):
        nn.Conv2d(3, 0, 3)
    with pytest.raises(ValueError, match=r"Conv2d: kernel_size must be >= 1"):
        nn.Conv2d(3, 4, 0)
    with pytest.raises(NotImplementedError, match=r"Conv2d: only padding_mode='zeros' is supported, got 'reflect'"):
        nn.Conv2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"Conv2d: padding='same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")


# ---------------------------------------------------------------------- against PyTorch


@pytest.mark.parametrize("browser", [False, True])  # the runtimes' backward formulations (kernels)
@pytest.mark.parametrize("one_image_per_block", [False, True])
@pytest.mark.parametrize("xs, ws, kwargs", CASES + [
    ((2, 2, 6, 7), (4, 2, 2, 3), dict(padding="same")),
    ((3, 1, 6, 5), (8, 1, 2, 2), dict(padding=1)),  # K (4) < O (8): kernels.conv_weight_grad's other product
])
def test_matches_pytorch_forward_and_backward(xs, ws, kwargs, one_image_per_block, browser, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(kernels, "BROWSER", browser)
    if one_image_per_block:  # the batch-blocked path large images take (kernels.images_per_block)
        monkeypatch.setattr(kernels, "CONV_BLOCK_BYTES", 1)
    x, w, b = rand(*xs), rand(*ws, seed=1), rand(ws[0], seed=2)
    g = None
    ours = [tt.tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = F.conv2d(*ours, **kwargs)
    ref = torch.nn.functional.conv2d(*theirs, **kwargs)
    g = rand(*out.shape, seed=3)
    out.backward(g)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-10)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("one_image_per_block", [False, True])
def test_backward_twice_gives_the_same_gradients(one_image_per_block, monkeypatch):
    # the weight gradient reuses the forward's im2col buffer for the block still in it
    if one_image_per_block:
        monkeypatch.setattr(kernels, "CONV_BLOCK_BYTES", 1)
    x = tt.tensor(rand(3, 2, 6, 5), requires_grad=True)
    w = tt.tensor(rand(4, 2, 3, 3, seed=1), requires_grad=True)
    out = F.conv2d(x, w, padding=1)
    g = rand(*out.shape, seed=3)
    out.backward(g, retain_graph=True)
    first = (x.grad.numpy().copy(), w.grad.numpy().copy())
    x.grad = w.grad = None
    out.backward(g)
    np.testing.assert_array_equal(x.grad.numpy(), first[0])
    np.testing.assert_array_equal(w.grad.numpy(), first[1])


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_non_finite_weight_gradients_match_pytorch(bad):
    # the native input gradient adds zeros for pixels that are no output; 0 * inf would not be 0
    torch = pytest.importorskip("torch")
    x, w, g = rand(2, 2, 5, 6), rand(3, 2, 3, 3, seed=1), rand(2, 3, 5, 6, seed=3)
    w[1, 0, 2, 2] = bad
    ours = tt.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    F.conv2d(ours, tt.tensor(w), padding=1).backward(g)
    torch.nn.functional.conv2d(theirs, torch.tensor(w), padding=1).backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-10)


def test_module_matches_pytorch_with_copied_weights_float32():
    torch = pytest.importorskip("torch")
    ref = torch.nn.Conv2d(3, 8, (3, 5), stride=(1, 2), padding=(1, 2))
    m = nn.Conv2d(3, 8, (3, 5), stride=(1, 2), padding=(1, 2))
    m.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = rand(4, 3, 10, 11).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    xo = tt.tensor(x, requires_grad=True)
    ref(xt).square().sum().backward()
    (m(xo) ** 2).sum().backward()
    np.testing.assert_allclose(m(xo).numpy(), ref(xt).detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(m.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(m.bias.grad.numpy(), ref.bias.grad.numpy(), rtol=1e-4, atol=1e-3)
