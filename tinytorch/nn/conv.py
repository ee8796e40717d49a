"""2-D convolution: im2col (a strided window view) + one matrix product, hand-written backward.

The forward turns every receptive field into a column of a matrix `cols` (C*kh*kw, N*Ho*Wo),
so the whole convolution is `weight (O, C*kh*kw) @ cols`. The backward is two more matrix
products; the input gradient is scattered back from columns to pixels (col2im) with one strided
add per kernel position, never a loop over pixels or batch items. The products go through
tinytorch.kernels.mm (BLAS natively, einsum in the browser).
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import kernels, seams, versions
from ..kernels import mm
from ..seams import replaced
from ..tensor import Tensor
from . import functional_twice, init
from .module import Module, Parameter, check_input

_CONV = versions.SavingOp("ConvolutionBackward", saves=(0, 1))  # reads input and weight, as PyTorch


def _pair(value, name, op, minimum):
    """(int, int) from an int or a pair, checking each is >= minimum."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _padding(padding, kernel, dilation, stride, op):
    """((top, bottom), (left, right)) from an int, a pair, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions (stride {stride})")
        # PyTorch puts the odd extra row/column of padding at the bottom/right.
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple((t // 2, t - t // 2) for t in totals)
    ph, pw = _pair(padding, "padding", op, 0)
    return (ph, ph), (pw, pw)


def _windows(x, kernel, stride, dilation, op, pad_value=0.0):
    """Padded input and its (N, C, Ho, Wo, kh, kw) window view (no copy) for x (N, C, Hp, Wp)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1  # extent of a dilated kernel
    if x.shape[2] < span_h or x.shape[3] < span_w:
        raise ValueError(
            f"{op}: kernel size ({kh}, {kw}) (dilated extent ({span_h}, {span_w})) is larger than "
            f"the padded input size ({x.shape[2]}, {x.shape[3]})"
        )
    view = sliding_window_view(x, (span_h, span_w), axis=(2, 3))  # (N, C, Hp-span+1, Wp-span+1, span_h, span_w)
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


def _pad(x, pads, value=0.0):
    """x (N, C, H, W) padded by ((top, bottom), (left, right)); no copy when there is none."""
    if not any(pads[0] + pads[1]):
        return x
    return np.pad(x, ((0, 0), (0, 0)) + tuple(pads), constant_values=value)


def _kernel_slices(kernel, stride, dilation, out_size):
    """For each kernel position (i, j): the (rows, cols) slices of the padded input that it
    reads for every output pixel at once. Loops over these replace loops over pixels."""
    (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out_size
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh), slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw))


def _unpad(x, pads):
    """x (N, C, Hp, Wp) without its ((top, bottom), (left, right)) padding."""
    (pt, pb), (pl, pr) = pads
    return x[:, :, pt:x.shape[2] - pb, pl:x.shape[3] - pr]


def _col2im(grad_cols, padded_shape, stride, dilation, pads):
    """Sum grad_cols (C, kh, kw, N, Ho, Wo) back onto the input (N, C, H, W) they were cut from.

    One strided add per kernel position (kh*kw of them); overlapping windows accumulate. The
    sum is built channel-major, (C, N, Hp, Wp), the layout of grad_cols, so every add walks
    both arrays in memory order; one copy at the end returns it to (N, C, H, W).
    """
    C, kh, kw, N, Ho, Wo = grad_cols.shape
    Hp, Wp = padded_shape[2:]
    grad = np.zeros((C, N, Hp, Wp), dtype=grad_cols.dtype)  # (C, N, Hp, Wp)
    for i, j, (rows, cols) in _kernel_slices((kh, kw), stride, dilation, (Ho, Wo)):
        grad[:, :, rows, cols] += grad_cols[:, i, j]
    return np.ascontiguousarray(_unpad(grad, pads).transpose(1, 0, 2, 3))  # (N, C, H, W)


def _input_grad_padded_images(g_full, w, out, kernel, dilation, pads):
    """Input gradient of a stride-1 convolution into out (n, C, H, W), from w (G, Og, K) and
    g_full (O, n, Hp, Wp): the output gradient placed on every pixel of the padded images,
    zero at the pixels that are no output (the last rows and columns).

    Flattened, the padded images are one row of n*Hp*Wp pixels per channel, and kernel position
    (i, j) reads the pixel i*dh*Wp + j*dw further along than the output pixel: col2im becomes
    kh*kw adds of one (C, n*Hp*Wp) run each (kernels.input_grad_on_padded_images). The pixels
    that are no output add exact zeros: w must be finite, as 0 * inf is NaN.
    """
    O, n, Hp, Wp = g_full.shape
    (kh, kw), (dh, dw), (G, Og, _), C = kernel, dilation, w.shape, out.shape[1]
    length = n * Hp * Wp
    grad_cols = mm(w.transpose(0, 2, 1), g_full.reshape(G, Og, length)).reshape(C, kh, kw, length)
    grad = np.empty((C, length + (kh - 1) * dh * Wp + (kw - 1) * dw), dtype=grad_cols.dtype)
    grad[:, length:] = 0
    np.copyto(grad[:, :length], grad_cols[:, 0, 0])  # kernel position (0, 0): no shift
    for i in range(kh):
        for j in range(kw):
            if i or j:
                start = i * dh * Wp + j * dw
                grad[:, start:start + length] += grad_cols[:, i, j]
    np.copyto(out, _unpad(grad[:, :length].reshape(C, n, Hp, Wp), pads).transpose(1, 0, 2, 3))


# ---------------------------------------------------------------------- the course's exercises
# Module 09's functions on NumPy arrays (declared in nn/im2col.py, with its interfaces: square
# kernels' stride and padding as ints). tinytorch calls them through these seams only when
# one is replaced (tinytorch.mine.use()), for convolutions they cover: groups=1, no dilation,
# the same stride and padding on both axes; otherwise its fused convolution above runs.

CONV_SEAMS = ("im2col", "col2im", "conv2d_im2col", "conv2d_backward")


def _in_use(name):
    """The implementation in use for the seam `name` (declared in nn/im2col.py)."""
    return replaced.get(name) or seams.tinytorch(name)


def _conv_through_seams(x, weight, bias, stride, padding):
    """The convolution through the exercises' seams: (out (N, O, Ho, Wo), backward g -> grads)."""
    w, b = weight.data, None if bias is None else bias.data
    out = np.asarray(_in_use("conv2d_im2col")(x, w, b, stride, padding), dtype=x.dtype)

    def backward(g):
        grad_x, grad_w, grad_b = _in_use("conv2d_backward")(g, x, w, stride, padding)
        return (grad_x, grad_w) if bias is None else (grad_x, grad_w, grad_b)

    return out, backward


def _batched(input, op):
    """(N, C, H, W) array for a 4-D input or a 3-D (C, H, W) one, and whether it was batched."""
    check_input(input, op)
    if input.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(input.shape)}")
    return (input.data, True) if input.ndim == 4 else (input.data[None], False)


def _conv(input, x, weight, bias, stride, dilation, pads, groups, op):
    """tinytorch's convolution of x (N, C, H, W): (out (N, O, Ho, Wo), backward g -> grads).

    Batch-blocked: im2col, the product and col2im run on blocks of images whose columns fit
    in cache (kernels.images_per_block); in the browser one block holds the whole batch.
    """
    O, Cg, kh, kw = weight.shape
    N, C = x.shape[:2]
    G, Og, K = groups, O // groups, Cg * kh * kw
    xp = _pad(x, pads)
    windows = _windows(xp, (kh, kw), stride, dilation, op)  # (N, C, Ho, Wo, kh, kw)
    Ho, Wo = windows.shape[2:4]
    # im2col, transposed: one column per (image, output pixel), one row per (channel, ki, kj).
    # Keeping Wo innermost makes this copy (and col2im's adds) walk memory contiguously.
    by_kernel = windows.transpose(1, 4, 5, 0, 2, 3)  # (C, kh, kw, N, Ho, Wo), a view
    per_image = C * kh * kw * Ho * Wo
    step = kernels.images_per_block(per_image * x.itemsize, N)
    blocks = [(lo, min(lo + step, N)) for lo in range(0, N, step)]
    # every block's columns kept for the backward where the runtime says so; else one block's
    keep_all = kernels.keep_conv_columns(per_image * N * x.itemsize)
    buffer = kernels.empty((per_image * (N if keep_all else min(step, N)),), x.dtype)
    held = set()  # the blocks (lo, hi) whose columns are in `buffer`

    def columns(lo, hi):
        """im2col of images lo:hi into `buffer`: (G, K, (hi-lo)*Ho*Wo)."""
        start = per_image * lo if keep_all else 0
        cols = buffer[start:start + per_image * (hi - lo)].reshape(C, kh, kw, hi - lo, Ho, Wo)
        if (lo, hi) not in held:
            np.copyto(cols, by_kernel[:, :, :, lo:hi])
            if not keep_all:
                held.clear()
            held.add((lo, hi))
        return cols.reshape(G, K, (hi - lo) * Ho * Wo)

    w = weight.data.reshape(G, Og, K)  # (G, Og, K)
    out = kernels.empty((N, O, Ho, Wo), x.dtype)
    for lo, hi in blocks:
        out_cols = mm(w, columns(lo, hi)).reshape(O, hi - lo, Ho, Wo)  # (O, n, Ho, Wo)
        # back to (N, O, Ho, Wo), C-contiguous (the bias add does the copy), so the layers
        # after this one (ReLU, pooling, the next conv) get contiguous memory
        if bias is not None:
            np.add(out_cols.transpose(1, 0, 2, 3), bias.data.reshape(O, 1, 1), out=out[lo:hi])
        else:
            np.copyto(out[lo:hi], out_cols.transpose(1, 0, 2, 3))
    # the blocks' columns still in `buffer` serve the weight gradient (columns() knows); the others are rebuilt

    def backward(g):
        grad_x = grad_w = grad_b = None
        if input.requires_grad:
            padded_images = stride == (1, 1) and kernels.input_grad_on_padded_images() and np.isfinite(w).all()
            g_full = None  # (O, n, Hp, Wp), kept from block to block: its zeros stay where they are
            # written block by block; col2im's single block is its own array
            grad_x = kernels.empty(x.shape, x.dtype) if padded_images or len(blocks) != 1 else None
        for lo, hi in reversed(blocks):  # the last block first: its columns are in `buffer`
            n = hi - lo
            g_cols = g[lo:hi].transpose(1, 0, 2, 3).reshape(G, Og, n * Ho * Wo)  # (G, Og, n*Ho*Wo)
            if input.requires_grad:
                if padded_images:
                    if g_full is None or g_full.shape[1] != n:
                        g_full = np.zeros((O, n) + xp.shape[2:], dtype=g.dtype)
                    g_full[:, :, :Ho, :Wo] = g_cols.reshape(O, n, Ho, Wo)
                    _input_grad_padded_images(g_full, w, grad_x[lo:hi], (kh, kw), dilation, pads)
                else:
                    grad_cols = mm(w.transpose(0, 2, 1), g_cols)  # (G, K, n*Ho*Wo)
                    block = _col2im(grad_cols.reshape(C, kh, kw, n, Ho, Wo), (n, C) + xp.shape[2:], stride, dilation, pads)
                    if grad_x is None:
                        grad_x = block
                    else:
                        grad_x[lo:hi] = block
            if weight.requires_grad:
                cols = columns(lo, hi)
                part = kernels.conv_weight_grad(g_cols, cols)  # (G, Og, K)
                grad_w = part if grad_w is None else np.add(grad_w, part, out=grad_w)
        if weight.requires_grad:
            grad_w = (np.zeros((G, Og, K), x.dtype) if grad_w is None else grad_w).reshape(O, Cg, kh, kw)  # N = 0: zeros
        if bias is not None and bias.requires_grad:
            grad_b = g.sum(axis=(0, 2, 3))
        return (grad_x, grad_w) if bias is None else (grad_x, grad_w, grad_b)

    return out, backward


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, _op="conv2d"):
    """2-D cross-correlation of input (N, C, H, W) or (C, H, W) with weight (O, C/groups, kh, kw).

    `padding` is an int, a pair, 'valid' or 'same' (zeros). Output (N, O, Ho, Wo) with
    Ho = (H + 2*pad - dilation*(kh-1) - 1) // stride + 1.
    """
    op = _op
    x, batched = _batched(input, op)
    check_input(weight, op)
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D (out_channels, in_channels/groups, kh, kw), got shape {tuple(weight.shape)}")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    O, Cg, kh, kw = weight.shape
    N, C, H, W = x.shape
    if C != Cg * groups:
        raise ValueError(f"{op}: expected input with {Cg * groups} channels, got shape {tuple(input.shape)}")
    if O % groups:
        raise ValueError(f"{op}: out_channels ({O}) must be divisible by groups ({groups})")
    if bias is not None and tuple(bias.shape) != (O,):
        raise ValueError(f"{op}: bias shape {tuple(bias.shape)} does not match out_channels {O} of weight {tuple(weight.shape)}")
    for other in (weight, bias):
        if other is not None and other.dtype != x.dtype:
            raise TypeError(f"{op}: input dtype {x.dtype} and parameter dtype {other.data.dtype} differ; convert one with .to()")
    stride = _pair(stride, "stride", op, 1)
    dilation = _pair(dilation, "dilation", op, 1)
    pads = _padding(padding, (kh, kw), dilation, stride, op)

    parents = (input, weight) if bias is None else (input, weight, bias)
    square = stride[0] == stride[1] and pads[0] == pads[1] and pads[0][0] == pads[0][1]
    # any() over a list: every seam the convolution covers is noted as used, yours or not
    if replaced and groups == 1 and dilation == (1, 1) and square and any([seams.learners(n) for n in CONV_SEAMS]):
        out, backward = _conv_through_seams(x, weight, bias, stride[0], pads[0][0])
    else:
        out, backward = _conv(input, x, weight, bias, stride, dilation, pads, groups, op)

    def backward_batched(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return functional_twice.conv2d(g, input, weight, bias, stride, dilation, pads, groups)
        grads = backward(g if batched else g[None])  # (N, O, Ho, Wo)
        grad_x = grads[0] if grads[0] is None or batched else grads[0][0]
        return (grad_x, *grads[1:])

    return Tensor._result(out if batched else out[0], parents, backward_batched, _CONV)


def _check_layer_arguments(op, in_channels, out_channels, groups, padding_mode):
    """What every convolution layer checks in its constructor, as PyTorch does."""
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"{op}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be divisible by groups ({groups})"
        )
    if padding_mode != "zeros":
        raise NotImplementedError(f"{op}: only padding_mode='zeros' is supported, got {padding_mode!r}")


def _make_parameters(layer, bias, dtype):
    """A convolution layer's weight (out, in/groups, *kernel_size) and bias, initialized."""
    dtype = dtype or np.float32
    shape = (layer.out_channels, layer.in_channels // layer.groups) + layer.kernel_size
    layer.weight = Parameter(np.empty(shape, dtype=dtype))
    if bias:
        layer.bias = Parameter(np.empty(layer.out_channels, dtype=dtype))
    else:
        layer.register_parameter("bias", None)
    layer.reset_parameters()


def _reset_parameters(layer):
    """PyTorch's default: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups * kernel."""
    init.kaiming_uniform_(layer.weight, a=math.sqrt(5))
    if layer.bias is not None:
        bound = 1 / math.sqrt(math.prod(layer.weight.shape[1:]))
        init.uniform_(layer.bias, -bound, bound)


class Conv2d(Module):
    """2-D convolution over inputs (N, in_channels, H, W) with weight (out, in/groups, kh, kw)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=None):
        super().__init__()
        op = "Conv2d"
        _check_layer_arguments(op, in_channels, out_channels, groups, padding_mode)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _pair(kernel_size, "kernel_size", op, 1)
        self.stride = _pair(stride, "stride", op, 1)
        self.dilation = _pair(dilation, "dilation", op, 1)
        _padding(padding, self.kernel_size, self.dilation, self.stride, op)  # validate now, not at first call
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding", op, 0)
        self.padding_mode = padding_mode
        _make_parameters(self, bias, dtype)

    def reset_parameters(self):
        _reset_parameters(self)

    def forward(self, input):
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups, _op="Conv2d")

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0, 0), "valid"):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
