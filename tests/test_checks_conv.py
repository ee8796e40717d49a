"""The module 09 checks pass on correct convolution and pooling code and fail, with a useful
report, on an unsolved stub and on typical mistakes."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.checks import conv as checks


# ------------------------------------------------------------------ correct solutions

def out_size(size, k, stride, padding):
    return (size + 2 * padding - k) // stride + 1


def conv2d_loops(x, weight, bias=None, stride=1, padding=0, flip=False, size=out_size, step=None):
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    Ho, Wo = size(H, kh, stride, padding), size(W, kw, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    w = weight[:, :, ::-1, ::-1] if flip else weight
    out = np.zeros((N, O, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    s = stride if step is None else step
                    window = xp[n, :, i * s:i * s + kh, j * s:j * s + kw]
                    out[n, o, i, j] = np.sum(window * w[o]) + (0 if bias is None else bias[o])
    return out


def im2col(x, kh, kw, stride=1, padding=0, order=(0, 2, 3, 1, 4, 5)):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    N, C, Ho, Wo = windows.shape[:4]
    return windows.transpose(*order).reshape(N * Ho * Wo, C * kh * kw)


def conv2d_im2col(x, weight, bias=None, stride=1, padding=0, scramble=False):
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    Ho, Wo = out_size(H, kh, stride, padding), out_size(W, kw, stride, padding)
    out = im2col(x, kh, kw, stride, padding) @ weight.reshape(O, -1).T
    if bias is not None:
        out = out + bias
    if scramble:
        return out.reshape(N, O, Ho, Wo)
    return out.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)


def col2im(cols, x_shape, kh, kw, stride=1, padding=0, assign=False):
    N, C, H, W = x_shape
    Ho, Wo = out_size(H, kh, stride, padding), out_size(W, kw, stride, padding)
    windows = cols.reshape(N, Ho, Wo, C, kh, kw)
    xp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, cols_ = slice(i, i + stride * Ho, stride), slice(j, j + stride * Wo, stride)
            if assign:
                xp[:, :, rows, cols_] = windows[:, :, :, :, i, j].transpose(0, 3, 1, 2)
            else:
                xp[:, :, rows, cols_] += windows[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return xp[:, :, padding:padding + H, padding:padding + W]


def conv2d_backward(grad, x, weight, stride=1, padding=0, mistake=None):
    O, C, kh, kw = weight.shape
    cols = im2col(x, kh, kw, stride, padding)
    g = grad.transpose(0, 2, 3, 1).reshape(-1, O)  # (N*Ho*Wo, O)
    grad_w = (g.T @ cols).reshape(weight.shape)
    grad_x = col2im(g @ weight.reshape(O, -1), x.shape, kh, kw, stride, padding, assign=mistake == "assign")
    grad_b = grad.sum(axis=(0, 2, 3))
    if mistake == "bias mean":
        grad_b = grad.mean(axis=(0, 2, 3))
    if mistake == "weight transposed":
        grad_w = (cols.T @ g).T.reshape(C, O, kh, kw).transpose(1, 0, 2, 3)
    return grad_x, grad_w, grad_b


def max_pool2d(x, kernel_size, stride=None, start_at_zero=False):
    stride = stride or kernel_size
    windows = np.lib.stride_tricks.sliding_window_view(x, (kernel_size, kernel_size), axis=(2, 3))[:, :, ::stride, ::stride]
    if start_at_zero:
        return np.maximum(windows.max(axis=(-2, -1)), 0)
    return windows.max(axis=(-2, -1))


def max_pool2d_backward(grad, x, kernel_size, stride=None, spread_ties=False, assign=False):
    stride = stride or kernel_size
    k = kernel_size
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    N, C, Ho, Wo = windows.shape[:4]
    flat = windows.reshape(N, C, Ho, Wo, k * k)
    if spread_ties:
        mask = flat == flat.max(axis=-1, keepdims=True)
    else:
        mask = np.arange(k * k) == flat.argmax(axis=-1)[..., None]
    grad_windows = (mask * grad[..., None]).reshape(N, C, Ho, Wo, k, k)
    out = np.zeros_like(x)
    for i in range(k):
        for j in range(k):
            region = (slice(None), slice(None), slice(i, i + stride * Ho, stride), slice(j, j + stride * Wo, stride))
            if assign:
                out[region] = np.where(grad_windows[..., i, j] != 0, grad_windows[..., i, j], out[region])
            else:
                out[region] += grad_windows[..., i, j]
    return out


CORRECT = [
    (checks.check_conv2d_loops, conv2d_loops), (checks.check_im2col, im2col),
    (checks.check_conv2d_im2col, conv2d_im2col), (checks.check_col2im, col2im),
    (checks.check_conv2d_backward, conv2d_backward), (checks.check_max_pool2d, max_pool2d),
    (checks.check_max_pool2d_backward, max_pool2d_backward),
]


@pytest.mark.parametrize("check, solution", CORRECT)
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


def test_the_references_pass_their_own_checks():
    checks.check_conv2d_loops(checks.reference_conv2d)
    checks.check_conv2d_im2col(checks.reference_conv2d)
    checks.check_im2col(checks.reference_im2col)
    checks.check_col2im(checks.reference_col2im)
    checks.check_conv2d_backward(checks.reference_conv2d_backward)
    checks.check_max_pool2d(checks.reference_max_pool2d)
    checks.check_max_pool2d_backward(checks.reference_max_pool2d_backward)


def test_reference_col2im_is_the_adjoint_of_im2col():
    rng = np.random.default_rng(0)
    for shape, k, stride, padding in [((2, 3, 7, 6), (3, 2), 2, 1), ((1, 2, 5, 5), (3, 3), 1, 2)]:
        x = rng.standard_normal(shape)
        cols = checks.reference_im2col(x, *k, stride, padding)
        c = rng.standard_normal(cols.shape)
        np.testing.assert_allclose((cols * c).sum(), (x * checks.reference_col2im(c, shape, *k, stride, padding)).sum())


def test_reference_col2im_gives_the_library_input_gradient():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 7))
    w = rng.standard_normal((4, 3, 3, 2))
    grad = rng.standard_normal(checks.reference_conv2d(x, w, None, 2, 1).shape)
    grad_x, _, _ = conv2d_backward(grad, x, w, 2, 1)
    np.testing.assert_allclose(grad_x, checks.reference_conv2d_backward(grad, x, w, 2, 1)[0], atol=1e-10)


# ------------------------------------------------------------------ typical mistakes

def padded_pool(x, k, s=None):  # ceil_mode output size
    s = s or k
    H, W = x.shape[2:]
    extra_h, extra_w = (-(H - k)) % s, (-(W - k)) % s
    xp = np.pad(x, ((0, 0), (0, 0), (0, extra_h), (0, extra_w)), constant_values=-np.inf)
    return max_pool2d(xp, k, s)


@pytest.mark.parametrize("check, wrong, message", [
    pytest.param(checks.check_conv2d_loops, lambda *a: conv2d_loops(*a, flip=True), "flipped the kernel",
                 id="flipped_kernel"),
    pytest.param(checks.check_conv2d_loops, lambda x, w, b=None, s=1, p=0: conv2d_loops(x, w, None, s, p),
                 "bias is missing", id="missing_bias"),
    pytest.param(checks.check_conv2d_loops, lambda *a: conv2d_loops(*a, size=lambda n, k, s, p: (n + 2 * p - k) // s),
                 r"\(H \+ 2\*padding - kh\) // stride \+ 1", id="output_size_off_by_one"),
    pytest.param(checks.check_conv2d_loops, lambda *a: conv2d_loops(*a, step=1), "on stride 2:", id="stride_ignored"),
    pytest.param(checks.check_im2col, lambda *a: im2col(*a, order=(0, 2, 3, 4, 5, 1)), r"\(a, b, c\) order",
                 id="im2col_with_channel_last_columns"),
    pytest.param(checks.check_im2col, lambda *a: im2col(*a).T, "transpose", id="im2col_transposed"),
    pytest.param(checks.check_conv2d_im2col, lambda *a: conv2d_im2col(*a, scramble=True), "scrambles the pixels",
                 id="scrambling_reshape"),
    pytest.param(checks.check_col2im, lambda *a: col2im(*a, assign=True), "add, do not assign",
                 id="col2im_that_assigns_instead_of_adding"),
    pytest.param(checks.check_conv2d_backward, lambda *a: conv2d_backward(*a, mistake="assign"), "grad_x",
                 id="backward_assign"),
    pytest.param(checks.check_conv2d_backward, lambda *a: conv2d_backward(*a, mistake="bias mean"), "grad_bias",
                 id="backward_bias_mean"),
    pytest.param(checks.check_conv2d_backward, lambda *a: conv2d_backward(*a, mistake="weight transposed"),
                 "grad_weight", id="backward_weight_transposed"),
    pytest.param(checks.check_max_pool2d, lambda *a: max_pool2d(*a, start_at_zero=True),
                 "start from the first window entry", id="pool_starting_at_zero"),
    pytest.param(checks.check_max_pool2d, padded_pool, "expected shape", id="pool_with_ceil_mode_output"),
    pytest.param(checks.check_max_pool2d_backward, lambda *a: max_pool2d_backward(*a, spread_ties=True),
                 "FIRST maximum", id="pool_backward_spreading_ties"),
    pytest.param(checks.check_max_pool2d_backward, lambda *a: max_pool2d_backward(*a, assign=True), "overlap",
                 id="pool_backward_overwriting_overlaps"),
])
def test_mistakes_fail(check, wrong, message, failure):
    failure(check, wrong, message)


def test_the_library_layers_agree_with_the_references():
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 6)).astype(np.float32)
    conv = tt.nn.Conv2d(3, 4, 3, stride=2, padding=1)
    np.testing.assert_allclose(
        conv(Tensor(x)).data, conv2d_im2col(x, conv.weight.data, conv.bias.data, 2, 1), atol=1e-5)


def test_reference_backwards_work_inside_another_backward_pass():
    """The notebook's fallback ops call them from a backward closure, where recording is off."""
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((2, 1, 6, 6)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((2, 1, 3, 3)).astype(np.float32), requires_grad=True)
    b = Tensor(np.zeros(2, np.float32), requires_grad=True)
    out = Tensor._result(checks.reference_conv2d(x.data, w.data, b.data), (x, w, b),
                         lambda g: checks.reference_conv2d_backward(g, x.data, w.data), "Conv")
    pooled = Tensor._result(checks.reference_max_pool2d(out.data, 2), (out,),
                            lambda g: (checks.reference_max_pool2d_backward(g, out.data, 2),), "Pool")
    pooled.sum().backward()
    xt = Tensor(x.data, requires_grad=True)
    tt.nn.functional.max_pool2d(tt.nn.functional.conv2d(xt, Tensor(w.data), Tensor(b.data)), 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.data, atol=1e-6)
