"""Batch and layer normalization, each one graph node with a fused backward.

Both normalize x to xhat = (x - mean) / sqrt(var + eps) (biased variance) and then scale and
shift it. For statistics taken over the same M values, the input gradient collapses to
    dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),   dxhat = g * weight,
which is what both backwards compute instead of differentiating mean and var separately.
"""

import math
import numbers

import numpy as np

from .. import kernels, versions
from ..kernels import mm
from ..ops import differentiable
from ..seams import seam
from ..tensor import Tensor
from . import functional_twice
from .module import Module, Parameter, check_input


def _mean(x, axes):
    """x.mean(axis=axes, keepdims=True) with np.mean's result, without its Python-level
    wrapper, which costs more than the arithmetic on the small rows of token-by-token
    generation. np.mean divides the float32 sum by the count in float64 and rounds; dividing
    in float32 gives the same bits (double rounding is harmless for division) while the count
    is exact in float32."""
    if x.dtype != np.float32 and x.dtype != np.float64:  # np.mean sums float16 in float32
        return x.mean(axis=axes, keepdims=True)
    count = 1
    for axis in axes:
        count *= x.shape[axis]
    total = np.add.reduce(x, axis=axes, keepdims=True)
    if count > 1 << 24:
        return np.true_divide(total, np.intp(count), out=total, casting="unsafe")
    total /= count
    return total


def _standardize(x, axes, eps):
    """xhat = (x - mean) / sqrt(var + eps) over `axes`; returns xhat, invstd, mean, biased var."""
    mean = _mean(x, axes)
    xhat = np.subtract(x, mean, out=kernels.result_buffer_like(x)) if x.dtype == mean.dtype else x - mean
    var = _mean(np.square(xhat, out=kernels.result_buffer_like(xhat)), axes)
    invstd = 1.0 / np.sqrt(var + eps)
    xhat *= invstd  # in place: one pass and one array fewer
    return xhat, invstd, mean, var


def _scale_shift(xhat, weight, bias):
    """xhat * weight + bias; a new array even without affine (backward keeps xhat)."""
    out = xhat.copy() if weight is None else kernels.product(xhat, weight)
    if bias is not None:
        out += bias
    return out


def _normalize_backward(g, xhat, invstd, weight, axes):
    """dx for out = xhat * weight with statistics over `axes` (see module docstring)."""
    gxhat = g if weight is None else g * weight
    grad = xhat * -_mean(gxhat * xhat, axes)
    grad += gxhat
    grad -= _mean(gxhat, axes)
    grad *= invstd
    return grad


def _layer_norm_backward(g, xhat, invstd, weight, shape, need_x, need_weight, need_bias):
    """(dx, dweight, dbias) of out = xhat * weight + bias, normalized over the trailing D
    values of each row (`shape`): `_normalize_backward`'s formula on rows (M, D), with g * xhat computed
    once for both dweight and the row means (mean(dxhat * xhat) = (g * xhat) @ weight / D, a
    matrix-vector product instead of another full-size product and reduction)."""
    D = math.prod(shape)
    rows = g.reshape(-1, D)  # (M, D)
    xhat_rows = xhat.reshape(-1, D)
    g_xhat = kernels.product(rows, xhat_rows)  # (M, D)
    grad_w = g_xhat.sum(axis=0).reshape(shape) if need_weight else None
    grad_b = rows.sum(axis=0).reshape(shape) if need_bias else None
    grad_x = None
    if need_x:
        if weight is None:
            grad = rows.copy()
            mean_xhat, mean_g = g_xhat.sum(axis=1, keepdims=True), rows.sum(axis=1, keepdims=True)  # (M, 1)
        else:
            w = weight.reshape(D, 1)
            grad = kernels.product(rows, weight.reshape(D))  # dxhat
            mean_xhat, mean_g = mm(g_xhat, w), mm(rows, w)  # (M, 1) sums
        mean_xhat /= D
        mean_g /= D
        grad -= np.multiply(xhat_rows, mean_xhat, out=g_xhat)
        grad -= mean_g
        grad *= invstd.reshape(-1, 1)
        grad_x = grad.reshape(xhat.shape)
    return grad_x, grad_w, grad_b


# PyTorch's layer_norm backward reads every input (x, weight, bias): by how many were given
_LAYER_NORM = {n: versions.SavingOp("NativeLayerNormBackward", saves=tuple(range(n))) for n in (1, 2, 3)}


def _for_parents(grads, tensors):
    """The gradients of the tensors that are not None (the op's recorded parents), in order."""
    return tuple(grad for grad, tensor in zip(grads, tensors) if tensor is not None)


def _check_param(param, shape, name, op, dtype):
    if param is None:
        return
    check_input(param, op)
    if tuple(param.shape) != shape:
        raise ValueError(f"{op}: {name} shape {tuple(param.shape)} does not match expected {shape}")
    if param.dtype != dtype:
        raise TypeError(f"{op}: input dtype {dtype} and {name} dtype {param.dtype} differ; convert one with .to()")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, _op="batch_norm"):
    """Normalize input (N, C, *) per channel C.

    training=True: use this batch's statistics and, when running_mean/running_var are given,
    update them in place: running = (1 - momentum) * running + momentum * batch (the running
    variance uses the unbiased batch variance, as PyTorch does). training=False: use the
    running statistics.
    """
    op = _op
    check_input(input, op)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected input (N, C) or (N, C, *), got shape {tuple(input.shape)}")
    x = input.data
    C = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))  # every axis but the channel one
    per_channel = (1, C) + (1,) * (x.ndim - 2)  # (1, C, 1, ...): broadcasts over N and space
    for name, param in (("weight", weight), ("bias", bias)):
        _check_param(param, (C,), name, op, x.dtype)
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None and tuple(stat.shape) != (C,):
            raise ValueError(f"{op}: {name} shape {tuple(stat.shape)} does not match {C} channels of input {tuple(input.shape)}")
    w = None if weight is None else weight.data.reshape(per_channel)

    count = x.size // C  # values per channel
    if training:
        if count <= 1:
            raise ValueError(f"{op}: expected more than 1 value per channel when training, got input shape {tuple(input.shape)}")
        xhat, invstd, mean, var = _standardize(x, axes, eps)
        if running_mean is not None:
            running_mean.data[...] = (1 - momentum) * running_mean.data + momentum * mean.reshape(C)
        if running_var is not None:
            unbiased = var.reshape(C) * (count / (count - 1))
            running_var.data[...] = (1 - momentum) * running_var.data + momentum * unbiased
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: running_mean and running_var must be given when training=False")
        invstd = (1.0 / np.sqrt(running_var.data + eps)).astype(x.dtype).reshape(per_channel)
        xhat = x - running_mean.data.astype(x.dtype).reshape(per_channel)
        xhat *= invstd
    out = _scale_shift(xhat, w, None if bias is None else bias.data.reshape(per_channel))

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            running = None if training else (running_mean.data.astype(x.dtype).reshape(per_channel), invstd)
            return functional_twice.batch_norm(g, input, weight, bias, axes, eps, running)
        # The weight is constant per channel, so the generic formula's sums of g * weight and
        # g * weight * xhat are weight times these two, which are also the parameter gradients.
        sum_g = g.sum(axis=axes, keepdims=True)  # (1, C, 1, ...)
        sum_gx = (g * xhat).sum(axis=axes, keepdims=True)
        grad_x = None
        if input.requires_grad:
            scale = invstd if w is None else w * invstd
            if training:  # dx = weight * invstd * (g - mean(g) - xhat * mean(g * xhat))
                grad_x = xhat * (-sum_gx / count)
                grad_x += g
                grad_x -= sum_g / count
                grad_x *= scale
            else:  # the statistics are constants: out is affine in x
                grad_x = g * scale
        grad_w = sum_gx.reshape(C) if weight is not None and weight.requires_grad else None
        grad_b = sum_g.reshape(C) if bias is not None and bias.requires_grad else None
        return _for_parents((grad_x, grad_w, grad_b), (input, weight, bias))

    parents = tuple(t for t in (input, weight, bias) if t is not None)
    # what PyTorch's backward reads: the statistics it used, never the bias
    saved = (input, weight) if training else (input, running_mean, running_var, weight)
    return Tensor._result(out, parents, backward, versions.saving("NativeBatchNormBackward", parents, saved))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, _op="layer_norm"):
    """Normalize over the last len(normalized_shape) dimensions of input, then scale and shift."""
    op = _op
    check_input(input, op)
    if type(normalized_shape) is not tuple:
        shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else tuple(normalized_shape)
    else:
        shape = normalized_shape
    x = input.data
    if not shape or tuple(x.shape[x.ndim - len(shape):]) != shape or len(shape) > x.ndim:
        raise ValueError(
            f"{op}: normalized_shape {shape} does not match the last dimensions of input shape {tuple(input.shape)}"
        )
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and not (isinstance(param, Tensor) and param.data.shape == shape and param.data.dtype == x.dtype):
            _check_param(param, shape, name, op, x.dtype)  # raises the error that fits
    axes = tuple(range(x.ndim - len(shape), x.ndim))  # the normalized dims

    xhat, invstd, _, _ = _standardize(x, axes, eps)  # invstd: (*, 1, ..., 1)
    w = None if weight is None else weight.data
    out = _scale_shift(xhat, w, None if bias is None else bias.data)

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return differentiable.layer_norm(g, input, weight, bias, axes, eps)
        grads = _layer_norm_backward(g, xhat, invstd, w, shape, input.requires_grad,
                                     weight is not None and weight.requires_grad, bias is not None and bias.requires_grad)
        return _for_parents(grads, (input, weight, bias))

    parents = (input, weight, bias) if weight is not None and bias is not None else \
        tuple(t for t in (input, weight, bias) if t is not None)
    return Tensor._result(out, parents, backward, _LAYER_NORM[len(parents)])


class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d: parameters, running statistics and the train/eval switch."""

    expected_ndims = ()  # input ranks the subclass accepts
    expected_layout = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, dtype=None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(num_features, numbers.Integral) or isinstance(num_features, bool) or num_features < 1:
            raise ValueError(f"{name}: num_features must be a positive int, got {num_features!r}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = dtype or np.float32
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            for buffer in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(buffer, None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            self.bias.data[...] = 0

    def forward(self, input):
        name = type(self).__name__
        check_input(input, name)
        if input.ndim not in self.expected_ndims:
            raise ValueError(f"{name}: expected {self.expected_layout} input, got shape {tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{name}: expected input with {self.num_features} channels, got shape {tuple(input.shape)}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # cumulative moving average over all batches so far
                momentum = 1.0 / float(self.num_batches_tracked.data)
        # Batch statistics in training, and also in eval when no running statistics are kept.
        use_batch_stats = self.training or self.running_mean is None
        keep_stats = not self.training or self.track_running_stats
        return batch_norm(
            input, self.running_mean if keep_stats else None, self.running_var if keep_stats else None,
            self.weight, self.bias, use_batch_stats, momentum, self.eps, _op=name,
        )

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) inputs, per channel C."""

    expected_ndims = (2, 3)
    expected_layout = "2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) inputs, per channel C."""

    expected_ndims = (4,)
    expected_layout = "4-D (N, C, H, W)"


def affine_parameters(layer, shape, affine, bias, dtype):
    """A normalization layer's `weight` (ones) and `bias` (zeros) of `shape`, or None without `affine`."""
    dtype = dtype or np.float32
    layer.register_parameter("weight", Parameter(np.ones(shape, dtype=dtype)) if affine else None)
    layer.register_parameter("bias", Parameter(np.zeros(shape, dtype=dtype)) if affine and bias else None)


@seam("LayerNorm")
class LayerNorm(Module):
    """Layer normalization over the last dims given by normalized_shape, with per-element affine."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else tuple(normalized_shape)
        if not shape or not all(isinstance(n, numbers.Integral) and n >= 1 for n in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be positive ints, got {normalized_shape!r}")
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        affine_parameters(self, shape, elementwise_affine, bias, dtype)

    def reset_parameters(self):
        if self.weight is not None:
            self.weight.data[...] = 1
        if self.bias is not None:
            self.bias.data[...] = 0

    def forward(self, input):
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps, _op="LayerNorm")

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
