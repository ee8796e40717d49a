"""Affine quantization of arrays: x ~ scale * (q - zero_point), with q a small integer.

Symmetric: zero_point = 0 and q in [-(2^(b-1) - 1), 2^(b-1) - 1] (weights: centred on 0).
Asymmetric: q in [-2^(b-1), 2^(b-1) - 1] covers [min, max] exactly; the zero point is the
integer that stands for 0.0, so zero padding and ReLU zeros stay exact (activations).
Per-tensor: one scale. Per-channel (`axis=`): one scale per slice along `axis`, so a row of
small weights is not crushed by another row's large ones.
"""

import numpy as np

from ..seams import replaced, seam
from ..tensor import Tensor


def _array(x, op):
    array = x.data if isinstance(x, Tensor) else np.asarray(x)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{op}: expected a floating-point input, got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{op}: input contains NaN or Inf; cannot choose a finite scale")
    return array


def check_num_bits(num_bits, op):
    if isinstance(num_bits, bool) or not isinstance(num_bits, (int, np.integer)) or not 2 <= num_bits <= 8:
        raise ValueError(f"{op}: num_bits must be an int in [2, 8] (stored as int8), got {num_bits!r}")


def integer_range(symmetric, num_bits):
    """(qmin, qmax) of the integers used."""
    qmax = 2 ** (num_bits - 1) - 1
    return (-qmax if symmetric else -qmax - 1), qmax


@seam("calculate_qparams")
def calculate_qparams(min_val, max_val, symmetric=True, num_bits=8):
    """(scale float32, zero_point int32) arrays, shaped like min_val, for the range [min, max]."""
    check_num_bits(num_bits, "calculate_qparams")
    qmin, qmax = integer_range(symmetric, num_bits)
    # The range always contains 0, so 0.0 is represented exactly.
    low = np.minimum(np.asarray(min_val, dtype=np.float64), 0.0)
    high = np.maximum(np.asarray(max_val, dtype=np.float64), 0.0)
    if symmetric:
        scale = np.maximum(-low, high) / qmax
        zero_point = np.zeros(scale.shape, dtype=np.int32)
    else:
        scale = (high - low) / (qmax - qmin)
        zero_point = np.zeros(scale.shape, dtype=np.int32)
    scale = np.where(scale > 0, scale, 1.0)  # an all-zero range: any scale maps it to 0
    if not symmetric:
        zero_point = np.clip(np.round(qmin - low / scale), qmin, qmax).astype(np.int32)
    return scale.astype(np.float32), zero_point


def _along(values, axis, ndim):
    """Reshape per-channel values (C,) to broadcast along `axis` of an ndim-array."""
    values = np.asarray(values)
    if axis is None or values.ndim == 0:
        return values
    shape = [1] * ndim
    shape[axis] = -1
    return values.reshape(shape)


def quantize_with(x, scale, zero_point, num_bits=8, symmetric=False, axis=None):
    """int8 array round(x / scale) + zero_point, clipped to the integer range, by the quantize
    in use (the learner's after tinytorch.mine.use()); per-channel parameters along `axis`."""
    scale, zero_point = _along(scale, axis, x.ndim), _along(zero_point, axis, x.ndim)
    return replaced.get("quantize", quantize)(x, scale, zero_point, num_bits, symmetric)


@seam("quantize")
def quantize(x, scale, zero_point, num_bits=8, symmetric=False):
    """int8 array round(x / scale) + zero_point, clipped to the integer range (scale and
    zero_point broadcast against x)."""
    qmin, qmax = integer_range(symmetric, num_bits)
    q = np.round(x / scale) + zero_point
    return np.clip(q, qmin, qmax).astype(np.int8)


def _check_axis(axis, ndim, op):
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{op}: axis {axis!r} is out of range for an input with {ndim} dimensions")
    return axis % ndim


def quantize_tensor(x, symmetric=True, num_bits=8, axis=None):
    """Quantize x to (q int8 array, scale, zero_point), using x's own min/max.

    Per-tensor (axis=None): scale is a float and zero_point an int. Per-channel (axis=k):
    float32 and int32 arrays with one entry per index along axis k.
    """
    op = "quantize_tensor"
    check_num_bits(num_bits, op)
    array = _array(x, op)
    axis = _check_axis(axis, array.ndim, op)
    if array.size == 0:
        raise ValueError(f"{op}: cannot quantize an empty input of shape {array.shape}")
    reduce = None if axis is None else tuple(d for d in range(array.ndim) if d != axis)
    qparams = replaced.get("calculate_qparams", calculate_qparams)  # the learner's after tinytorch.mine.use()
    scale, zero_point = qparams(array.min(axis=reduce), array.max(axis=reduce), symmetric, num_bits)
    scale, zero_point = np.asarray(scale, np.float32), np.asarray(zero_point, np.int32)
    q = quantize_with(array, scale, zero_point, num_bits, symmetric, axis)
    if axis is None:
        return q, float(scale), int(zero_point)
    return q, scale, zero_point


def dequantize(q, scale, zero_point=0, axis=None):
    """float32 array scale * (q - zero_point); per-channel parameters apply along `axis`."""
    q = q.data if isinstance(q, Tensor) else np.asarray(q)
    if not np.issubdtype(q.dtype, np.integer):
        raise TypeError(f"dequantize: expected an integer array, got dtype {q.dtype}")
    axis = _check_axis(axis, q.ndim, "dequantize")
    scale, zero_point = np.asarray(scale, np.float32), np.asarray(zero_point, np.int32)
    if axis is not None and scale.shape != (q.shape[axis],):
        raise ValueError(
            f"dequantize: per-channel scale of shape {scale.shape} does not match {q.shape[axis]} "
            f"channels along axis {axis} of shape {q.shape}"
        )
    if axis is None and scale.ndim:
        raise ValueError(f"dequantize: got per-channel scales of shape {scale.shape}; pass axis=")
    return dequantize_with(q, scale, zero_point, axis)


def dequantize_with(q, scale, zero_point, axis=None):
    """float32 array scale * (q - zero_point), unchecked (the inverse of quantize_with), by the
    dequantize in use (the learner's after tinytorch.mine.use())."""
    scale, zero_point = _along(scale, axis, q.ndim), _along(zero_point, axis, q.ndim)
    return replaced.get("dequantize", dequantize_array)(q, scale, zero_point)


@seam("dequantize")
def dequantize_array(q, scale, zero_point):
    """float32 array scale * (q - zero_point); q is widened to int32 first: an int8 difference
    like 127 - (-128) would wrap around."""
    centered = q.astype(np.int32) - zero_point
    return (centered * scale).astype(np.float32)
