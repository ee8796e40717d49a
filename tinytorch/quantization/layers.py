"""Integer inference layers: int8 weights and activations, int32 accumulation.

y = x @ W.T + b becomes, with x ~ sx * (qx - zx) and W ~ sw * qw (symmetric, zw = 0):
    y ~ sx * sw * ((qx - zx) @ qw.T) + b
so the product runs on integers and one float multiply per output rescales it. Weights are
stored as int8 buffers (a quarter of float32); they are widened to int32 only inside the
product, as integer hardware does in its accumulators. Inference only: no gradients.
"""

import numpy as np

from ..nn.conv import _pair
from ..nn.im2col import im2col
from ..nn.module import Module, check_input
from ..tensor import Tensor
from ..seams import seam
from .qparams import check_num_bits, quantize_tensor, quantize_with


def int32_matmul(a, b):
    """a (N, K) @ b (M, K)^T accumulated in int32, from integer inputs of any width.

    NumPy has no BLAS kernel for integers. Measured natively (NumPy 2.4, 360x128 @ 128x64):
    einsum over int32 casts 0.8 ms, np.matmul on the same casts 3.4 ms, einsum reading
    the int8 arrays with dtype=int32 1.6 ms; so: einsum on int32.
    """
    return np.einsum("nk,mk->nm", a.astype(np.int32, copy=False), b.astype(np.int32, copy=False))


class _QuantizedLayer(Module):
    """Shared parts: int8 weight with per-channel (or per-tensor) scales, calibrated input."""

    def _store(self, weight, bias, input_scale, input_zero_point, per_channel, num_bits):
        check_num_bits(num_bits, type(self).__name__)
        q, scale, _ = quantize_tensor(weight, symmetric=True, num_bits=num_bits, axis=0 if per_channel else None)
        self.num_bits = num_bits
        self.register_buffer("weight", Tensor(q))  # int8 (out, ...)
        self.register_buffer("weight_scale", Tensor(np.asarray(scale, dtype=np.float32)))  # (out,) or ()
        self.register_buffer("bias", None if bias is None else Tensor(bias.data.astype(np.float32)))
        # 0-d arrays, not NumPy scalars: Tensor() widens scalar ints to int64
        self.register_buffer("input_scale", Tensor(np.asarray(input_scale, dtype=np.float32)))
        self.register_buffer("input_zero_point", Tensor(np.asarray(input_zero_point, dtype=np.int32)))

    def _quantize_input(self, x):
        """int8 activations with the calibrated (asymmetric) scale and zero point."""
        return quantize_with(x, self.input_scale.data, self.input_zero_point.data, self.num_bits, symmetric=False)

    def _rescale(self, accumulator):
        """float32 output from the int32 accumulator (..., out): scale per output channel."""
        out = accumulator.astype(np.float32)
        out *= self.input_scale.data * self.weight_scale.data
        if self.bias is not None:
            out += self.bias.data
        return out


class QuantizedLinear(_QuantizedLayer):
    """Linear layer with an int8 weight (out, in) and int8 inputs; float32 in and out."""

    def __init__(self, weight, bias, input_scale, input_zero_point, per_channel=True, num_bits=8):
        super().__init__()
        self.out_features, self.in_features = weight.shape
        self._store(weight, bias, input_scale, input_zero_point, per_channel, num_bits)

    @classmethod
    def from_float(cls, linear, input_scale, input_zero_point, per_channel=True, num_bits=8):
        """Quantize a trained `nn.Linear`, given its input's calibrated scale and zero point."""
        return cls(linear.weight.data, linear.bias, input_scale, input_zero_point, per_channel, num_bits)

    def forward(self, input):
        check_input(input, "QuantizedLinear", min_ndim=1)
        if input.shape[-1] != self.in_features:
            raise ValueError(f"QuantizedLinear: expected input (*, {self.in_features}), got shape {tuple(input.shape)}")
        x = input.data.reshape(-1, self.in_features)  # (N, in)
        qx = self._quantize_input(x).astype(np.int32) - self.input_zero_point.data  # (N, in) int32
        accumulator = int32_matmul(qx, self.weight.data)  # (N, out) int32
        out = self._rescale(accumulator).reshape(input.shape[:-1] + (self.out_features,))
        return Tensor(out)

    def extra_repr(self):
        scales = "per-channel" if self.weight_scale.ndim else "per-tensor"
        return f"in_features={self.in_features}, out_features={self.out_features}, int{self.num_bits} {scales}"


# Module 15's QuantizedLinear(linear, input_scale, input_zero_point): per-channel int8 weights.
seam("QuantizedLinear")(QuantizedLinear.from_float)


def _numeric_padding(padding, kernel_size):
    """Numbers for 'valid' and for 'same' with odd kernels (equal padding on both sides)."""
    if padding == "valid":
        return 0
    if padding == "same":
        if any(k % 2 == 0 for k in kernel_size):
            raise NotImplementedError(f"QuantizedConv2d: padding='same' with the even kernel {tuple(kernel_size)} is not supported")
        return tuple(k // 2 for k in kernel_size)
    return padding


class QuantizedConv2d(_QuantizedLayer):
    """Conv2d with an int8 weight (F, C, kh, kw): int8 im2col patches times int8 kernels."""

    def __init__(self, weight, bias, input_scale, input_zero_point, stride=1, padding=0, per_channel=True,
                 num_bits=8):
        super().__init__()
        self.out_channels, self.in_channels = weight.shape[:2]
        self.kernel_size = tuple(weight.shape[2:])
        self.stride = _pair(stride, "stride", "QuantizedConv2d", 1)
        self.padding = _pair(padding, "padding", "QuantizedConv2d", 0)
        self._store(weight, bias, input_scale, input_zero_point, per_channel, num_bits)

    @classmethod
    def from_float(cls, conv, input_scale, input_zero_point, per_channel=True, num_bits=8):
        """Quantize a trained `nn.Conv2d` (groups=1, dilation=1, numeric padding)."""
        for name, plain in (("groups", 1), ("dilation", (1, 1))):
            value = getattr(conv, name, plain)
            if (value if name == "groups" else _pair(value, name, "QuantizedConv2d", 1)) != plain:
                raise NotImplementedError(f"QuantizedConv2d: {name}={value!r} is not supported (only {plain})")
        if getattr(conv, "padding_mode", "zeros") != "zeros":
            raise NotImplementedError(f"QuantizedConv2d: padding_mode={conv.padding_mode!r} is not supported (only 'zeros')")
        return cls(conv.weight.data, conv.bias, input_scale, input_zero_point, conv.stride,
                   _numeric_padding(conv.padding, conv.weight.shape[2:]), per_channel, num_bits)

    def forward(self, input):
        check_input(input, "QuantizedConv2d")
        if input.ndim != 4 or input.shape[1] != self.in_channels:
            raise ValueError(
                f"QuantizedConv2d: expected input (N, {self.in_channels}, H, W), got shape {tuple(input.shape)}"
            )
        zero_point = int(self.input_zero_point.data)
        qx = self._quantize_input(input.data)  # (N, C, H, W) int8
        # Padding with the zero point is padding with 0.0, as the float layer does.
        cols, (hout, wout) = im2col(qx, self.kernel_size, self.stride, self.padding, pad_value=zero_point)
        kernels = self.weight.data.reshape(self.out_channels, -1)  # (F, C*kh*kw) int8
        accumulator = int32_matmul(cols.astype(np.int32) - zero_point, kernels)  # (N*Hout*Wout, F) int32
        out = self._rescale(accumulator)
        n = input.shape[0]
        return Tensor(out.reshape(n, hout, wout, self.out_channels).transpose(0, 3, 1, 2).copy())  # (N, F, Hout, Wout)

    def extra_repr(self):
        scales = "per-channel" if self.weight_scale.ndim else "per-tensor"
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, int{self.num_bits} {scales}")
