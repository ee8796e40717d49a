"""2-D pooling (max, average, adaptive average) over strided window views, hand-written backward.

Windows come from the same no-copy view as convolution; gradients go back to the input with
one strided add per kernel position (see conv._col2im), never a loop over pixels.
"""

import numpy as np

from ..tensor import Tensor
from .conv import _batched, _col2im, _pad, _pair, _windows
from .module import Module


def _pool_geometry(kernel_size, stride, padding, dilation, ceil_mode, op):
    """Checked (kernel, stride, padding, dilation) pairs for a pooling call."""
    kernel = _pair(kernel_size, "kernel_size", op, 1)
    # stride=None (or an empty list, as torch's functional form allows) means stride = kernel.
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _pair(stride, "stride", op, 1)
    padding = _pair(padding, "padding", op, 0)
    dilation = _pair(dilation, "dilation", op, 1)
    if ceil_mode:
        raise NotImplementedError(f"{op}: ceil_mode=True is not supported")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} should be at most half of kernel size {kernel}")
    return kernel, stride, padding, dilation


def _check_floating(x, op):
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, _op="max_pool2d"):
    """Maximum over each (kernel_size) window of input (N, C, H, W) or (C, H, W).

    Padding is -inf, so it never wins. The gradient goes to the first maximum of each window.
    """
    op = _op
    x, batched = _batched(input, op)
    if return_indices:
        raise NotImplementedError(f"{op}: return_indices=True is not supported")
    _check_floating(x, op)
    kernel, stride, padding, dilation = _pool_geometry(kernel_size, stride, padding, dilation, ceil_mode, op)
    pads = ((padding[0],) * 2, (padding[1],) * 2)
    xp = _pad(x, pads, value=-np.inf)
    windows = _windows(xp, kernel, stride, dilation, op)  # (N, C, Ho, Wo, kh, kw)
    N, C, Ho, Wo, kh, kw = windows.shape
    flat = windows.reshape(N, C, Ho, Wo, kh * kw)  # copy
    arg = flat.argmax(axis=-1)[..., None]  # (N, C, Ho, Wo, 1); first max, NaN wins (propagates)
    out = np.take_along_axis(flat, arg, axis=-1)[..., 0]  # (N, C, Ho, Wo)

    def backward(g):
        g = g if batched else g[None]
        grad_windows = np.zeros((N, C, Ho, Wo, kh * kw), dtype=x.dtype)
        np.put_along_axis(grad_windows, arg, g[..., None], axis=-1)
        grad = _col2im(grad_windows.reshape(N, C, Ho, Wo, kh, kw), xp.shape, stride, dilation, pads, x.dtype)
        return (grad if batched else grad[0],)

    return Tensor._result(out if batched else out[0], (input,), backward, "MaxPool2DBackward")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None, _op="avg_pool2d"):
    """Mean over each (kernel_size) window of input (N, C, H, W) or (C, H, W).

    Zero padding counts towards the mean unless count_include_pad=False; divisor_override
    replaces the divisor altogether.
    """
    op = _op
    x, batched = _batched(input, op)
    _check_floating(x, op)
    kernel, stride, padding, _ = _pool_geometry(kernel_size, stride, padding, 1, ceil_mode, op)
    pads = ((padding[0],) * 2, (padding[1],) * 2)
    xp = _pad(x, pads)
    windows = _windows(xp, kernel, stride, (1, 1), op)  # (N, C, Ho, Wo, kh, kw)
    N, C, Ho, Wo, kh, kw = windows.shape
    if divisor_override is not None:
        if not isinstance(divisor_override, (int, np.integer)) or isinstance(divisor_override, bool) or divisor_override < 1:
            raise ValueError(f"{op}: divisor_override must be a positive int, got {divisor_override!r}")
        divisor = np.asarray(divisor_override, dtype=x.dtype)
    elif count_include_pad or not any(padding):
        divisor = np.asarray(kh * kw, dtype=x.dtype)
    else:
        # Real (unpadded) cells per window: rows in range times columns in range.   (Ho, Wo)
        rows = _valid_counts(x.shape[2], Ho, kh, stride[0], padding[0])
        cols = _valid_counts(x.shape[3], Wo, kw, stride[1], padding[1])
        divisor = np.outer(rows, cols).astype(x.dtype)
    out = windows.sum(axis=(-2, -1)) / divisor  # (N, C, Ho, Wo)

    def backward(g):
        g = g if batched else g[None]
        share = (g / divisor)[..., None, None]  # (N, C, Ho, Wo, 1, 1)
        grad_windows = np.broadcast_to(share, (N, C, Ho, Wo, kh, kw))
        grad = _col2im(grad_windows, xp.shape, stride, (1, 1), pads, x.dtype)
        return (grad if batched else grad[0],)

    return Tensor._result(out if batched else out[0], (input,), backward, "AvgPool2DBackward")


def _valid_counts(size, out_size, kernel, stride, pad):
    """How many of each window's `kernel` positions along one axis fall inside the unpadded input."""
    start = np.arange(out_size) * stride - pad
    return np.minimum(start + kernel, size) - np.maximum(start, 0)


def adaptive_avg_pool2d(input, output_size, _op="adaptive_avg_pool2d"):
    """Average-pool input (N, C, H, W) or (C, H, W) to (N, C, *output_size).

    Supported when each output size divides the input size (e.g. 1: global average pooling);
    then the windows are equal, non-overlapping and it is avg_pool2d with kernel = stride.
    """
    op = _op
    x, _ = _batched(input, op)
    sizes = (output_size, output_size) if output_size is None or isinstance(output_size, (int, np.integer)) else tuple(output_size)
    if len(sizes) != 2:
        raise TypeError(f"{op}: output_size must be an int, None or a pair, got {output_size!r}")
    H, W = x.shape[2:]
    sizes = tuple(full if s is None else s for s, full in zip(sizes, (H, W)))
    if not all(isinstance(s, (int, np.integer)) and s >= 1 for s in sizes):
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    if H % sizes[0] or W % sizes[1]:
        raise NotImplementedError(
            f"{op}: output size {sizes} must divide the input size ({H}, {W}); uneven adaptive windows are not supported"
        )
    kernel = (H // sizes[0], W // sizes[1])
    return avg_pool2d(input, kernel, kernel, _op=op)


class MaxPool2d(Module):
    """Max pooling over (N, C, H, W) inputs; stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride or kernel_size, padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        _pool_geometry(kernel_size, stride, padding, dilation, ceil_mode, "MaxPool2d")  # fail early
        if return_indices:
            raise NotImplementedError("MaxPool2d: return_indices=True is not supported")

    def forward(self, input):
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, _op="MaxPool2d")

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Average pooling over (N, C, H, W) inputs; stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override
        _pool_geometry(kernel_size, stride, padding, 1, ceil_mode, "AvgPool2d")  # fail early

    def forward(self, input):
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override, _op="AvgPool2d")

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (which must divide the input size); 1 = global average."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return adaptive_avg_pool2d(input, self.output_size, _op="AdaptiveAvgPool2d")

    def extra_repr(self):
        return f"output_size={self.output_size}"
