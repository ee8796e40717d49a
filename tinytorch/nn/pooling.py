"""2-D pooling (max, average, adaptive average) over strided window views, hand-written backward.

Windows come from the same no-copy view as convolution; gradients go back to the input with
one strided add per kernel position (see conv._col2im), never a loop over pixels.
"""

import numpy as np

from .. import kernels, versions
from ..seams import learners, replaced, seam
from ..tensor import Tensor
from . import functional_twice
from .conv import _batched, _kernel_slices, _pad, _pair, _unpad, _windows
from .module import Module

# PyTorch's pooling backward reads the input (see versions.SavingOp)
_MAX_POOL, _AVG_POOL, _ADAPTIVE_AVG_POOL = (
    versions.SavingOp(name, saves=(0,))
    for name in ("MaxPool2DBackward", "AvgPool2DBackward", "AdaptiveAvgPool2DBackward")
)


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
    square = kernel[0] == kernel[1] and stride[0] == stride[1]
    if replaced and square and padding == (0, 0) and dilation == (1, 1) and any([learners(n) for n in POOL_SEAMS]):
        out, backward = _max_pool_through_seams(x, kernel[0], stride[0], op)
    else:
        out, backward = _max_pool(x, kernel, stride, padding, dilation, op)

    def backward_batched(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return functional_twice.max_pool2d(g, input, kernel, stride, padding, dilation)
        grad = backward(g if batched else g[None])  # (N, C, H, W)
        return (grad if batched else grad[0],)

    return Tensor._result(out if batched else out[0], (input,), backward_batched, _MAX_POOL)


def _max_pool(x, kernel, stride, padding, dilation, op):
    """tinytorch's max pooling of x (N, C, H, W): (out (N, C, Ho, Wo), backward g -> grad_x)."""
    tiles = stride == kernel and padding == (0, 0) and dilation == (1, 1)
    if tiles and x.shape[2] >= kernel[0] and x.shape[3] >= kernel[1]:
        return _max_pool_tiles(x, kernel)
    pads = ((padding[0],) * 2, (padding[1],) * 2)
    xp = _pad(x, pads, value=-np.inf)
    N, C, Ho, Wo = _windows(xp, kernel, stride, dilation, op).shape[:4]
    slices = list(_kernel_slices(kernel, stride, dilation, (Ho, Wo)))
    positions = [xp[:, :, rows, cols] for _, _, (rows, cols) in slices]  # kh*kw views (N, C, Ho, Wo)
    out = positions[0].copy()
    for candidate in positions[1:]:
        np.maximum(out, candidate, out=out)  # propagates NaN, as PyTorch does
    # Which position holds the maximum: going backwards, the first one that matches wins ties
    # (as in PyTorch). A window whose maximum is NaN sends its gradient to position 0.
    arg = np.zeros(out.shape, dtype=np.int32)
    for k in range(len(positions) - 1, -1, -1):
        np.copyto(arg, k, where=positions[k] == out)

    def backward(g):
        grad = np.zeros(xp.shape, dtype=x.dtype)
        with np.errstate(invalid="ignore"):  # inf and -inf meeting in a cell make NaN, as in PyTorch, silently
            for k, (_, _, (rows, cols)) in enumerate(slices):
                grad[:, :, rows, cols] += np.where(arg == k, g, 0)
        return _unpad(grad, pads)

    return out, backward


# ---------------------------------------------------------------------- the course's exercises
# Module 09's max pooling on NumPy arrays, with its interface (square windows, no padding).
# tinytorch calls them through these seams only when one is replaced (tinytorch.mine.use());
# otherwise, and for pooling they do not cover, _max_pool above runs.

POOL_SEAMS = ("max_pool2d", "max_pool2d_backward")


@seam("max_pool2d")
def max_pool2d_forward(x, kernel_size, stride=None):
    """x (N, C, H, W) -> (N, C, Ho, Wo): the maximum of each kernel_size x kernel_size window."""
    stride = stride or kernel_size
    return _max_pool(x, (kernel_size,) * 2, (stride,) * 2, (0, 0), (1, 1), "max_pool2d")[0]


@seam("max_pool2d_backward")
def max_pool2d_backward(grad, x, kernel_size, stride=None):
    """grad (N, C, Ho, Wo) -> grad_x (N, C, H, W): each window's gradient to its first maximum."""
    stride = stride or kernel_size
    return _max_pool(x, (kernel_size,) * 2, (stride,) * 2, (0, 0), (1, 1), "max_pool2d_backward")[1](grad)


def _max_pool_through_seams(x, kernel_size, stride, op):
    """Max pooling through the exercises' seams: (out, backward g -> grad_x)."""
    if x.shape[2] < kernel_size or x.shape[3] < kernel_size:
        _windows(x, (kernel_size,) * 2, (stride,) * 2, (1, 1), op)  # raises the usual error
    out = np.asarray(replaced.get("max_pool2d", max_pool2d_forward)(x, kernel_size, stride), dtype=x.dtype)

    def backward(g):
        return replaced.get("max_pool2d_backward", max_pool2d_backward)(g, x, kernel_size, stride)

    return out, backward


def _running_max(arrays):
    """Elementwise maximum of equally shaped arrays, in a new array (NaN propagates)."""
    if len(arrays) == 1:
        return arrays[0].copy()
    out = np.maximum(arrays[0], arrays[1])
    for array in arrays[2:]:
        np.maximum(out, array, out=out)
    return out


def _max_pool_tiles(x, kernel):
    """max_pool2d when the windows tile the input (stride = kernel, no padding, no dilation),
    as in nearly every CNN: no window view, no index array, no scatter-add.

    Rows left over when H or W is not a multiple of the kernel belong to no window. 2x2
    windows (the usual case) keep which row and column won in the forward, so the backward is
    four multiplies instead of comparing every input with the output again.
    """
    (kh, kw), (H, W) = kernel, x.shape[2:]
    Ho, Wo = H // kh, W // kw
    if (kh, kw) == (2, 2):
        return _max_pool_2x2(x)

    def at(array, i, j):  # (N, C, Ho, Wo): offset (i, j) of every window, a strided view
        return array[:, :, i:Ho * kh:kh, j:Wo * kw:kw]

    # Rows of a tile first: whole input rows are contiguous, so this pass runs at memory speed.
    row_max = _running_max([x[:, :, i:Ho * kh:kh, :Wo * kw] for i in range(kh)])  # (N, C, Ho, Wo*kw)
    out = _running_max([row_max[:, :, :, j::kw] for j in range(kw)])  # (N, C, Ho, Wo)

    def backward(g):  # g (N, C, Ho, Wo)
        covered = H == Ho * kh and W == Wo * kw
        grad = kernels.empty(x.shape, x.dtype)
        if not covered:
            grad.fill(0)
        # Each window's gradient goes to its first maximum in row-major order (PyTorch's tie
        # rule); a window whose maximum is NaN sends it to its first cell. The last offset
        # takes the windows no earlier offset served.
        offsets = [(i, j) for i in range(kh) for j in range(kw)]
        finite = kernels.all_finite(g)  # else 0 * inf would be NaN where PyTorch's gradient is 0
        taken = None  # (N, C, Ho, Wo) bool: windows already served
        for k, (i, j) in enumerate(offsets):
            if taken is None:
                pick = at(x, i, j) == out
                pick |= np.isnan(out)
                taken = pick
            elif k == len(offsets) - 1:
                pick = np.logical_not(taken, out=taken)
            else:
                pick = at(x, i, j) == out
                np.greater(pick, taken, out=pick)  # a maximum here, and not served before
                taken |= pick
            if finite:
                np.multiply(g, pick.view(np.uint8), out=at(grad, i, j))  # g or 0, exactly
            else:
                np.copyto(at(grad, i, j), np.where(pick, g, 0))
        return grad

    return out, backward


def _route(g, mask, chosen, other):
    """g where `mask` into `chosen`, g where not into `other`, 0 elsewhere in each (exact)."""
    np.copyto(chosen, np.where(mask, g, 0))
    np.copyto(other, np.where(mask, 0, g))


def _max_pool_2x2(x):
    """2x2 tiles of x (N, C, H, W): (out, backward g -> grad_x). Window [[a, b], [c, d]]: per column the lower row wins only
    when strictly greater, then the right column wins when strictly greater, or on a tie when
    its winner sits in an earlier row (b == c beats c): the first maximum in row-major order,
    PyTorch's rule. A window whose maximum is NaN routes its gradient to its first cell."""
    N, C, H, W = x.shape
    Ho, Wo = H // 2, W // 2
    top, bottom = x[:, :, 0:2 * Ho:2, :2 * Wo], x[:, :, 1:2 * Ho:2, :2 * Wo]  # (N, C, Ho, 2Wo), contiguous rows
    lower = bottom > top  # (N, C, Ho, 2Wo): the lower row won this column
    row_max = np.maximum(top, bottom, out=kernels.result_buffer(top.shape, x.dtype))
    left, right = row_max[..., 0::2], row_max[..., 1::2]  # (N, C, Ho, Wo)
    out = np.maximum(left, right)
    take_right = right > left
    tie = right == left
    tie &= np.greater(lower[..., 0::2], lower[..., 1::2])  # left's winner below right's
    take_right |= tie
    nan = np.isnan(out)
    if nan.any():  # rare: a NaN window routes to its first cell
        take_right[nan] = False
        lower[..., 0::2][nan] = False
    rows, cols = lower.view(np.uint8), take_right.view(np.uint8)

    def backward(g):  # g (N, C, Ho, Wo)
        per_column = kernels.empty((N, C, Ho, Wo, 2), g.dtype)  # g on each window's winning column
        covered = H == 2 * Ho and W == 2 * Wo
        grad = kernels.empty(x.shape, x.dtype)
        if not covered:
            grad.fill(0)
        below, above = grad[:, :, 1:2 * Ho:2, :2 * Wo], grad[:, :, 0:2 * Ho:2, :2 * Wo]
        if kernels.all_finite(g):  # g or 0, exactly, by a multiply and a subtraction
            np.multiply(g, cols, out=per_column[..., 1])
            np.subtract(g, per_column[..., 1], out=per_column[..., 0])
            per_column = per_column.reshape(N, C, Ho, 2 * Wo)
            np.multiply(per_column, rows, out=below)
            np.subtract(per_column, below, out=above)
        else:  # inf or NaN in g: 0 * inf would be NaN where PyTorch's gradient is 0
            _route(g, take_right, per_column[..., 1], per_column[..., 0])
            _route(per_column.reshape(N, C, Ho, 2 * Wo), lower, below, above)
        return grad

    return out, backward


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
    slices = [sl for _, _, sl in _kernel_slices(kernel, stride, (1, 1), (Ho, Wo))]
    total = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for rows, cols in slices:
        total += xp[:, :, rows, cols]
    out = total / divisor  # (N, C, Ho, Wo)

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return functional_twice.avg_pool2d(g, input, kernel, stride, padding, divisor)
        g = g if batched else g[None]
        share = g / divisor  # each input cell gets this from every window that contains it
        grad = np.zeros(xp.shape, dtype=x.dtype)
        for rows, cols in slices:
            grad[:, :, rows, cols] += share
        grad = _unpad(grad, pads)
        return (grad if batched else grad[0],)

    return Tensor._result(out if batched else out[0], (input,), backward, _AVG_POOL)


def _valid_counts(size, out_size, kernel, stride, pad):
    """How many of each window's `kernel` positions along one axis fall inside the unpadded input."""
    start = np.arange(out_size) * stride - pad
    return np.minimum(start + kernel, size) - np.maximum(start, 0)


def adaptive_avg_pool2d(input, output_size, _op="adaptive_avg_pool2d"):
    """Average-pool input (N, C, H, W) or (C, H, W) to (N, C, *output_size).

    Supported when each output size divides the input size (e.g. 1: global average pooling),
    so that the windows are equal and do not overlap.
    """
    op = _op
    x, batched = _batched(input, op)
    _check_floating(x, op)
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
    (oh, ow), (kh, kw) = sizes, (H // sizes[0], W // sizes[1])
    N, C = x.shape[:2]
    # Equal, non-overlapping windows: a reshape exposes them as axes 3 and 5, no copy, no loop.
    out = x.reshape(N, C, oh, kh, ow, kw).mean(axis=(3, 5))  # (N, C, oh, ow)

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return functional_twice.adaptive_avg_pool2d(g, input, (oh, ow))
        share = (g.reshape(N, C, oh, 1, ow, 1) / (kh * kw)).astype(x.dtype, copy=False)
        return (np.broadcast_to(share, (N, C, oh, kh, ow, kw)).reshape(input.shape),)

    # to one value per channel PyTorch takes a mean, which reads nothing back
    op = _ADAPTIVE_AVG_POOL if sizes != (1, 1) else "AdaptiveAvgPool2DBackward"
    return Tensor._result(out if batched else out[0], (input,), backward, op)


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
