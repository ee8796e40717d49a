"""im2col and col2im on NumPy arrays: a 2-D convolution's receptive fields as the rows of one
matrix (N * Hout * Wout, C * kh * kw), and its adjoint.

Below both course layers that use them: the formulations compared in module 18
(tinytorch.acceleration) and the integer layers of module 15 (tinytorch.quantization).
"""

import numpy as np

from ..kernels import mm
from ..seams import replaced, seam
from .conv import _col2im, _pair


def _geometry(kernel_size, stride, padding, op):
    """((kh, kw), (sh, sw), (ph, pw)) from ints or pairs, checked."""
    return (_pair(kernel_size, "kernel_size", op, 1), _pair(stride, "stride", op, 1),
            _pair(padding, "padding", op, 0))


def conv_output_size(height, width, kernel, stride=1, padding=0, op="conv2d"):
    """(Hout, Wout) of a convolution; a kernel larger than the padded input is an error."""
    (kh, kw), (sh, sw), (ph, pw) = _geometry(kernel, stride, padding, op)
    if kh > height + 2 * ph or kw > width + 2 * pw:
        raise ValueError(
            f"{op}: kernel ({kh}, {kw}) is larger than the padded input ({height + 2 * ph}, {width + 2 * pw})"
        )
    return (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1


def im2col(x, kernel_size, stride=1, padding=0, pad_value=0):
    """Patches of x (N, C, H, W) as rows: (N * Hout * Wout, C * kh * kw), plus (Hout, Wout).

    A strided view picks every window without copying; the single reshape at the end makes
    the one copy the matrix product needs. `pad_value` lets integer inputs pad with their
    zero point (the integer that stands for 0.0).
    """
    if x.ndim != 4:
        raise ValueError(f"im2col: expected input (N, C, H, W), got shape {x.shape}")
    (kh, kw), (sh, sw), (ph, pw) = geometry = _geometry(kernel_size, stride, padding, "im2col")
    hout, wout = conv_output_size(x.shape[2], x.shape[3], *geometry, "im2col")
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))  # (N, C, H', W', kh, kw)
    windows = windows[:, :, ::sh, ::sw][:, :, :hout, :wout]  # (N, C, Hout, Wout, kh, kw)
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(x.shape[0] * hout * wout, -1)
    return cols, (hout, wout)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    """Add every row of `cols` (N * Hout * Wout, C * kh * kw), im2col's layout, back onto the
    pixels of an (N, C, H, W) input that im2col copied it from: im2col's adjoint, and the input
    gradient of a convolution computed through it. Overlapping windows add up; padding drops.
    """
    if len(x_shape) != 4:
        raise ValueError(f"col2im: expected x_shape (N, C, H, W), got {tuple(x_shape)}")
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = geometry = _geometry(kernel_size, stride, padding, "col2im")
    hout, wout = conv_output_size(h, w, *geometry, "col2im")
    if cols.shape != (n * hout * wout, c * kh * kw):
        raise ValueError(f"col2im: expected cols of shape {(n * hout * wout, c * kh * kw)} for input {tuple(x_shape)} "
                         f"and kernel ({kh}, {kw}), got {cols.shape}")
    per_position = cols.reshape(n, hout, wout, c, kh, kw).transpose(3, 4, 5, 0, 1, 2)  # (C, kh, kw, N, Hout, Wout)
    # the scatter Conv2d's backward does: one strided add per kernel position
    return _col2im(per_position, (n, c, h + 2 * ph, w + 2 * pw), (sh, sw), (1, 1), ((ph, ph), (pw, pw)))


# ---------------------------------------------------------------------- the course's exercises
# Module 09's interfaces (square kernels' stride and padding as ints), the seams nn.Conv2d runs
# through once tinytorch.mine.use() puts a learner's in (see nn.conv._conv_through_seams).

@seam("im2col")
def im2col_rows(x, kh, kw, stride=1, padding=0):
    """x (N, C, H, W) -> (N*Ho*Wo, C*kh*kw): one row per output pixel, in (n, i, j) order, one
    column per window entry, in (c, a, b) order."""
    return im2col(x, (kh, kw), stride, padding)[0]


@seam("col2im")
def col2im_rows(cols, x_shape, kh, kw, stride=1, padding=0):
    """The adjoint of im2col_rows: every entry of cols (N*Ho*Wo, C*kh*kw) added onto the pixel
    of an x_shape (N, C, H, W) input it came from (overlaps add up, padding is dropped)."""
    return col2im(cols, x_shape, (kh, kw), stride, padding)


@seam("conv2d_im2col")
def conv2d_im2col(x, weight, bias=None, stride=1, padding=0):
    """The convolution of x (N, C, H, W) with weight (O, C, kh, kw): im2col, one matrix product."""
    O, _, kh, kw = weight.shape
    N, _, H, W = x.shape
    rows = replaced.get("im2col", im2col_rows)(x, kh, kw, stride, padding)  # (N*Ho*Wo, C*kh*kw)
    out = mm(rows, weight.reshape(O, -1).T)  # (N*Ho*Wo, O)
    Ho, Wo = conv_output_size(H, W, (kh, kw), stride, padding, "conv2d_im2col")
    out = out.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)  # (N, O, Ho, Wo)
    return np.ascontiguousarray(out) if bias is None else out + bias.reshape(O, 1, 1)


@seam("conv2d_backward")
def conv2d_backward(grad, x, weight, stride=1, padding=0):
    """grad (N, O, Ho, Wo) of conv2d_im2col's output -> (grad_x, grad_weight, grad_bias)."""
    O, _, kh, kw = weight.shape
    rows = replaced.get("im2col", im2col_rows)(x, kh, kw, stride, padding)  # (P, K)
    g = grad.transpose(0, 2, 3, 1).reshape(-1, O)  # (P, O)
    grad_weight = mm(g.T, rows).reshape(weight.shape)
    grad_x = replaced.get("col2im", col2im_rows)(mm(g, weight.reshape(O, -1)), x.shape, kh, kw, stride, padding)
    return grad_x, grad_weight, grad.sum(axis=(0, 2, 3))
