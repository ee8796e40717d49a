"""Checks for module 09 (convolutions). The learner's functions take and return NumPy arrays:

    conv2d_loops(x, weight, bias=None, stride=1, padding=0)      -> (N, O, Ho, Wo)
    im2col(x, kh, kw, stride=1, padding=0)                       -> (N*Ho*Wo, C*kh*kw)
    conv2d_im2col(x, weight, bias=None, stride=1, padding=0)     -> (N, O, Ho, Wo)
    col2im(cols, x_shape, kh, kw, stride=1, padding=0)           -> x_shape
    conv2d_backward(grad, x, weight, stride=1, padding=0)        -> (grad_x, grad_weight, grad_bias)
    max_pool2d(x, kernel_size, stride=None)                      -> (N, C, Ho, Wo)
    max_pool2d_backward(grad, x, kernel_size, stride=None)       -> grad_x

Each is compared with tinytorch's own implementation of the same seam (tinytorch.nn.conv and
tinytorch.nn.pooling: what nn.Conv2d and nn.MaxPool2d run through once `tinytorch.mine.use()`
puts the learner's in) on varied shapes: stride, padding, several channels, non-square images
and kernels, a batch of one, float64. `conv2d_loops` is an exercise only: a loop per output
pixel is far too slow to train with, so tinytorch never calls it.
"""

import time

import numpy as np

from .. import nn  # noqa: F401  (declares the convolution and pooling seams)
from .. import seams
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, fail, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'conv2d_loops': (
        'each output value is the dot product of the kernel with one window of the padded input',
        'the output is (N, out_channels, Ho, Wo) with Ho = (H + 2 padding - kh) // stride + 1; a window covers all input channels',
        'out[n, o, i, j] = sum over c, a, b of x_padded[n, c, i stride + a, j stride + b] weight[o, c, a, b], plus bias[o]',
    ),
    'im2col': (
        'lay out every window of the padded input as one row, so convolution becomes a single matrix product',
        'one row per output position (N Ho Wo rows) and one column per (channel, kernel row, kernel column): C kh kw columns',
        'row (n, i, j) holds x_padded[n, :, i stride : i stride + kh, j stride : j stride + kw] flattened in channel-major order',
    ),
    'conv2d_im2col': (
        'with the windows as rows, every output value is a row times a flattened kernel',
        'im2col gives (N Ho Wo, C kh kw); the weight flattens to (O, C kh kw); the product is (N Ho Wo, O)',
        "multiply the rows by the flattened weight's transpose, add the bias, then reshape to (N, Ho, Wo, O) and move O to axis 1",
    ),
    'col2im': (
        'the adjoint of im2col: every column entry goes back to the pixel it was copied from, and overlaps add up',
        'the rows reshape to (N, Ho, Wo, C, kh, kw); accumulate into a zero padded image, then cut the padding off',
        "for each kernel offset (a, b), add that offset's values into the strided grid of pixels starting at (a, b)",
    ),
    'conv2d_backward': (
        'the conv is a matrix product of im2col rows and the flat weight, so use the matmul backward rule and col2im',
        'the upstream grad (N, O, Ho, Wo) becomes a (N Ho Wo, O) matrix like the forward product',
        'grad_weight = grad_matrix^T times rows, reshaped to the weight; grad_x = col2im of grad_matrix times the flat weight; grad_bias sums grad over N, Ho, Wo',
    ),
    'max_pool2d': (
        'each output is the maximum of one window',
        'windows of size k by k, moving by stride (default k); Ho = (H - k) // stride + 1',
        'out[n, c, i, j] = max over the window x[n, c, i stride : i stride + k, j stride : j stride + k]',
    ),
    'max_pool2d_backward': (
        'only the winner of each window receives gradient; the others get none',
        "grad_x has x's shape; each window's winner is the position of its maximum (the first one on ties)",
        "for each window, add the upstream grad of that output to grad_x at the window's argmax position; overlapping windows add",
    ),
})

exercise = registry.module("09_convolutions", "Convolutions")


# ---------------------------------------------------------------------------- tinytorch's own
# The seams' implementations (tinytorch.nn.conv, tinytorch.nn.pooling) are what each check
# compares with; conv2d_loops is compared with tinytorch's conv2d_im2col too.

reference_conv2d = seams.tinytorch("conv2d_im2col")
reference_im2col = seams.tinytorch("im2col")
reference_col2im = seams.tinytorch("col2im")
reference_conv2d_backward = seams.tinytorch("conv2d_backward")
reference_max_pool2d = seams.tinytorch("max_pool2d")
reference_max_pool2d_backward = seams.tinytorch("max_pool2d_backward")


# ---------------------------------------------------------------------------- cases

def _conv_cases(include_large=False):
    """(case name, x, weight, bias, stride, padding)."""
    rng = np.random.default_rng(9)

    def r(*shape, dtype=np.float32):
        return rng.standard_normal(shape).astype(dtype)

    cases = [
        ("one 5x5 image, one 3x3 filter", r(1, 1, 5, 5), r(1, 1, 3, 3), None, 1, 0),
        ("batch 2, 3 -> 4 channels, bias", r(2, 3, 6, 6), r(4, 3, 3, 3), r(4), 1, 0),
        ("stride 2", r(2, 2, 7, 7), r(3, 2, 3, 3), r(3), 2, 0),
        ("padding 1 (same size out)", r(1, 2, 5, 5), r(2, 2, 3, 3), r(2), 1, 1),
        ("stride 2 and padding 1", r(2, 1, 6, 6), r(2, 1, 3, 3), None, 2, 1),
        ("non-square image 5x7, kernel 2x3", r(2, 2, 5, 7), r(3, 2, 2, 3), r(3), 1, 0),
        ("stride 3 that does not divide evenly", r(1, 2, 8, 8), r(2, 2, 3, 3), r(2), 3, 0),
        ("1x1 kernel (mixes channels only)", r(2, 4, 3, 3), r(5, 4, 1, 1), r(5), 1, 0),
        ("kernel as large as the image", r(3, 2, 4, 4), r(2, 2, 4, 4), r(2), 1, 0),
        ("padding 2 with a 5x5 kernel", r(1, 1, 4, 4), r(1, 1, 5, 5), None, 1, 2),
        ("float64", r(2, 2, 5, 5, dtype=np.float64), r(3, 2, 3, 3, dtype=np.float64), r(3, dtype=np.float64), 1, 1),
    ]
    if include_large:
        cases.append(("larger: 8 images, 8 -> 16 channels, 12x12", r(8, 8, 12, 12), r(16, 8, 3, 3), r(16), 1, 1))
    return cases


def _short(case):
    return case.split(" (")[0]


def _output_shape_hint(got, expected):
    return ("the output size is Ho = (H + 2*padding - kh) // stride + 1 (and the same for W); "
            f"expected {expected.shape}, got {np.shape(got)}")


def _conv_hint(got, x, weight, bias, stride, padding):
    """A specific hint when `got` matches a typical wrong convolution."""
    got = np.asarray(got)
    flipped = reference_conv2d(x, np.ascontiguousarray(weight[:, :, ::-1, ::-1]), bias, stride, padding)
    if got.shape == flipped.shape and np.allclose(got, flipped, atol=1e-4) and weight.shape[2] * weight.shape[3] > 1:
        return ("you flipped the kernel (the textbook convolution); deep learning's conv2d is a "
                "cross-correlation: out = sum(window * weight), no flip")
    if bias is not None:
        plain = reference_conv2d(x, weight, None, stride, padding)
        if got.shape == plain.shape and np.allclose(got, plain, atol=1e-4):
            return "the bias is missing: add bias[o] to every output pixel of channel o"
    return ("out[n, o, i, j] = sum over c, a, b of xp[n, c, i*stride + a, j*stride + b] * weight[o, c, a, b] "
            "(+ bias[o]), with xp the zero-padded input")


def _check_conv(name, conv, cases, hint_fn=_conv_hint):
    for case, x, weight, bias, stride, padding in cases:
        expected = reference_conv2d(x, weight, bias, stride, padding)
        got = run_learner(name, case, conv, x.copy(), weight.copy(), None if bias is None else bias.copy(), stride, padding)
        if isinstance(got, Tensor):
            got = got.data
        if np.shape(got) != expected.shape:
            fail(name, case, f"expected shape {expected.shape}, got shape {np.shape(got)}", _output_shape_hint(got, expected))
        if not np.allclose(got, expected, atol=1e-4, rtol=1e-4):
            assert_close(name, case, got, expected, hint_fn(got, x, weight, bias, stride, padding), atol=1e-4, rtol=1e-4)
        if np.asarray(got).dtype != expected.dtype:
            fail(name, case, f"expected dtype {expected.dtype}, got {np.asarray(got).dtype}",
                 "keep the input's dtype (create the output with dtype=x.dtype)")


# ---------------------------------------------------------------------------- the checks

@exercise("conv2d_loops")
def check_conv2d_loops(conv2d_loops):
    """conv2d_loops(x, weight, bias, stride, padding): the convolution written as loops."""
    name = "conv2d_loops"
    cases = _conv_cases()
    _check_conv(name, conv2d_loops, cases)
    passed(name, len(cases), [_short(c) for c, *_ in cases])


@exercise("im2col", seam="im2col")
def check_im2col(im2col):
    """im2col(x, kh, kw, stride, padding) -> (N*Ho*Wo, C*kh*kw): one row per output pixel
    (rows in (n, i, j) order), one column per (c, a, b) input position of the window."""
    name = "im2col"
    for case, x, weight, _, stride, padding in _conv_cases():
        kh, kw = weight.shape[2:]
        expected = reference_im2col(x, kh, kw, stride, padding)
        got = run_learner(name, case, im2col, x.copy(), kh, kw, stride, padding)
        got_shape = np.shape(got)
        if got_shape != expected.shape:
            hint = ("one row per output pixel: N*Ho*Wo rows, Ho = (H + 2*padding - kh) // stride + 1; "
                    "one column per window entry: C*kh*kw columns")
            if got_shape == expected.shape[::-1]:
                hint = "that is the transpose: rows are output pixels (N*Ho*Wo), columns window entries (C*kh*kw)"
            fail(name, case, f"expected shape {expected.shape}, got shape {got_shape}", hint)
        got = np.asarray(got)
        hint = "row n*Ho*Wo + i*Wo + j is the window of output pixel (i, j) of image n, flattened in (c, a, b) order"
        C = x.shape[1]
        alt = expected.reshape(-1, C, kh * kw).transpose(0, 2, 1).reshape(expected.shape)
        if C > 1 and kh * kw > 1 and np.allclose(got, alt):
            hint = ("the columns are in (a, b, c) order; flatten each window as (C, kh, kw), i.e. "
                    "windows of shape (N, Ho, Wo, C, kh, kw) reshaped to (N*Ho*Wo, C*kh*kw)")
        assert_close(name, case, got, expected, hint, atol=0, rtol=0)
    cases = _conv_cases()
    passed(name, len(cases), [_short(c) for c, *_ in cases])


@exercise("conv2d_im2col", seam="conv2d_im2col")
def check_conv2d_im2col(conv2d_im2col):
    """conv2d_im2col(x, weight, bias, stride, padding): im2col, then one matrix product."""
    name = "conv2d_im2col"
    cases = _conv_cases(include_large=True)
    _check_conv(name, conv2d_im2col, cases, hint_fn=lambda got, *args: (
        "out = cols @ weight.reshape(O, -1).T has shape (N*Ho*Wo, O): reshape to (N, Ho, Wo, O), then "
        "transpose to (N, O, Ho, Wo) (a plain reshape to (N, O, Ho, Wo) scrambles the pixels)"
        if _conv_hint(got, *args).startswith("out[n") else _conv_hint(got, *args)))
    _, x, weight, bias, stride, padding = cases[-1]
    times = []
    for fn in (conv2d_im2col, reference_conv2d):
        start = time.perf_counter()
        for _ in range(5):
            fn(x, weight, bias, stride, padding)
        times.append((time.perf_counter() - start) / 5)
    passed(name, len(cases), [_short(c) for c, *_ in cases])
    print(f"  (larger case: yours {times[0] * 1e3:.2f} ms, tinytorch {times[1] * 1e3:.2f} ms)")


@exercise("col2im", seam="col2im")
def check_col2im(col2im):
    """col2im(cols, x_shape, kh, kw, stride, padding): the adjoint of im2col; every entry of
    `cols` is added to the input pixel it was copied from (overlaps add up, padding dropped)."""
    name = "col2im"
    rng = np.random.default_rng(10)
    cases = _conv_cases()
    for case, x, weight, _, stride, padding in cases:
        kh, kw = weight.shape[2:]
        shape = reference_im2col(x, kh, kw, stride, padding).shape
        cols = rng.standard_normal(shape).astype(x.dtype)
        expected = reference_col2im(cols, x.shape, kh, kw, stride, padding)
        got = run_learner(name, case, col2im, cols.copy(), x.shape, kh, kw, stride, padding)
        if np.shape(got) != expected.shape:
            fail(name, case, f"expected shape {expected.shape} (the input's), got {np.shape(got)}",
                 "build the padded input shape, add into it, then cut the padding off")
        hint = ("add, do not assign: windows overlap when stride < kernel, and a pixel read by several "
                "windows receives the sum of their entries")
        assert_close(name, case, got, expected, hint, atol=1e-4, rtol=1e-4)
    passed(name, len(cases), [_short(c) for c, *_ in cases])


@exercise("conv2d_backward", seam="conv2d_backward")
def check_conv2d_backward(conv2d_backward):
    """conv2d_backward(grad, x, weight, stride, padding) -> (grad_x, grad_weight, grad_bias)."""
    name = "conv2d_backward"
    rng = np.random.default_rng(11)
    hints = {
        "grad_x": "grad_cols = grad_rows @ weight.reshape(O, -1), then col2im back to the input's shape",
        "grad_weight": "grad_rows.T @ cols, reshaped to weight.shape (grad_rows: grad as (N*Ho*Wo, O))",
        "grad_bias": "every output pixel of channel o received bias[o]: sum grad over axes (0, 2, 3)",
    }
    cases = _conv_cases()
    for case, x, weight, _, stride, padding in cases:
        out_shape = reference_conv2d(x, weight, None, stride, padding).shape
        grad = rng.standard_normal(out_shape).astype(x.dtype)
        expected = reference_conv2d_backward(grad, x, weight, stride, padding)
        got = run_learner(name, case, conv2d_backward, grad.copy(), x.copy(), weight.copy(), stride, padding)
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            fail(name, case, f"expected a tuple (grad_x, grad_weight, grad_bias), got {type(got).__name__}"
                 + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""))
        for which, g, e in zip(("grad_x", "grad_weight", "grad_bias"), got, expected):
            if g is None:
                fail(name, f"{case}, {which}", "got None", hints[which])
            assert_close(name, f"{case}, {which}", np.asarray(g), e, hints[which], atol=1e-4, rtol=1e-4)
    passed(name, len(cases), [_short(c) for c, *_ in cases])
    print("  (grad_x, grad_weight and grad_bias matched tinytorch's autograd)")


def _pool_cases():
    """(case name, x, kernel_size, stride)."""
    rng = np.random.default_rng(12)

    def r(*shape, dtype=np.float32):
        return rng.standard_normal(shape).astype(dtype)

    return [
        ("2x2 windows, stride 2 (default)", r(2, 3, 8, 8), 2, None),
        ("all values negative", -np.abs(r(1, 2, 4, 4)) - 1, 2, None),
        ("3x3 windows, stride 1 (overlapping)", r(1, 2, 5, 5), 3, 1),
        ("3x3 windows, stride 2 on 7x7", r(2, 1, 7, 7), 3, 2),
        ("odd size 5x5 with 2x2 windows (last row and column unused)", r(1, 1, 5, 5), 2, None),
        ("non-square 4x6", r(2, 2, 4, 6), 2, 2),
        ("ties: a constant image", np.ones((1, 1, 4, 4), np.float32), 2, None),
        ("window as large as the image", r(3, 2, 3, 3), 3, None),
        ("float64", r(1, 2, 6, 6, dtype=np.float64), 2, None),
    ]


@exercise("max_pool2d", seam="max_pool2d")
def check_max_pool2d(max_pool2d):
    """max_pool2d(x, kernel_size, stride=None): maximum of every window (stride defaults to
    kernel_size; no padding)."""
    name = "max_pool2d"
    cases = _pool_cases()
    for case, x, kernel, stride in cases:
        expected = reference_max_pool2d(x, kernel, stride)
        got = run_learner(name, case, max_pool2d, x.copy(), kernel, stride)
        if isinstance(got, Tensor):
            got = got.data
        if np.shape(got) != expected.shape:
            fail(name, case, f"expected shape {expected.shape}, got shape {np.shape(got)}",
                 "stride None means stride = kernel_size; Ho = (H - kernel_size) // stride + 1")
        hint = "the maximum over each kernel_size x kernel_size window, windows stride apart"
        if np.shape(got) == expected.shape and np.array_equal(got, np.maximum(expected, 0)) and (expected < 0).any():
            hint = "a running maximum must start from the first window entry (or -inf), not from 0"
        assert_close(name, case, got, expected, hint, atol=0, rtol=0)
    passed(name, len(cases), [_short(c) for c, *_ in cases])


@exercise("max_pool2d_backward", seam="max_pool2d_backward")
def check_max_pool2d_backward(max_pool2d_backward):
    """max_pool2d_backward(grad, x, kernel_size, stride=None): each window's gradient goes to
    its maximum (the first one on ties, as PyTorch); overlapping windows add up."""
    name = "max_pool2d_backward"
    rng = np.random.default_rng(13)
    cases = _pool_cases()
    for case, x, kernel, stride in cases:
        grad = rng.standard_normal(reference_max_pool2d(x, kernel, stride).shape).astype(x.dtype)
        expected = reference_max_pool2d_backward(grad, x, kernel, stride)
        got = run_learner(name, case, max_pool2d_backward, grad.copy(), x.copy(), kernel, stride)
        hint = "only the position of each window's maximum receives that window's gradient; all others get 0"
        if "ties" in case:
            hint = ("on ties only the FIRST maximum of a window (row by row) gets the gradient, as in PyTorch: "
                    "argmax over the flattened window gives it")
        elif "overlapping" in case or "stride 2 on 7x7" in case:
            hint = "windows overlap here: a pixel that is the maximum of several windows receives the sum of their gradients"
        elif "unused" in case:
            hint = "pixels in no window (the last row and column here) get gradient 0"
        assert_close(name, case, got, expected, hint, atol=1e-6, rtol=1e-5)
    passed(name, len(cases), [_short(c) for c, *_ in cases])
