"""1-D convolution: a 2-D convolution over a height-1 image, so it shares conv2d's im2col
forward and fused backward (the reshapes around it are views)."""

import numpy as np

from .conv import _check_layer_arguments, _make_parameters, _reset_parameters, conv2d
from .module import Module, check_input


def _single(value, name, op, minimum):
    value = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{op}: {name} must be an int >= {minimum} (or a 1-tuple), got {value!r}")
    return int(value)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, _op="conv1d"):
    """Cross-correlation of input (N, C, L) or (C, L) with weight (O, C/groups, k) -> (N, O, Lo)."""
    op = _op
    check_input(input, op)
    check_input(weight, op)
    if input.ndim not in (2, 3):
        raise ValueError(f"{op}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape {tuple(input.shape)}")
    if weight.ndim != 3:
        raise ValueError(f"{op}: weight must be 3-D (out_channels, in_channels/groups, k), got shape {tuple(weight.shape)}")
    stride = _single(stride, "stride", op, 1)
    dilation = _single(dilation, "dilation", op, 1)
    pad2d = padding if isinstance(padding, str) else (0, _single(padding, "padding", op, 0))
    image = input.unsqueeze(-2)  # (N, C, 1, L)
    out = conv2d(image, weight.unsqueeze(-2), bias, (1, stride), pad2d, (1, dilation), groups, _op=op)
    return out.squeeze(-2)  # (N, O, Lo)


class Conv1d(Module):
    """1-D convolution over inputs (N, in_channels, L) with weight (out, in/groups, kernel_size)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=None):
        super().__init__()
        op = "Conv1d"
        _check_layer_arguments(op, in_channels, out_channels, groups, padding_mode)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = (_single(kernel_size, "kernel_size", op, 1),)
        self.stride = (_single(stride, "stride", op, 1),)
        self.dilation = (_single(dilation, "dilation", op, 1),)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{op}: padding must be an int, 'valid' or 'same', got {padding!r}")
            if padding == "same" and self.stride != (1,):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = (_single(padding, "padding", op, 0),)
        self.padding_mode = padding_mode
        _make_parameters(self, bias, dtype)

    def reset_parameters(self):
        _reset_parameters(self)

    def forward(self, input):
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return conv1d(input, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups,
                      _op="Conv1d")

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0,), "valid"):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
