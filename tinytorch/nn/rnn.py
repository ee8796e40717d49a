"""Recurrent layers RNN, LSTM and GRU with PyTorch's parameters, shapes and equations.

Parameters are named as in PyTorch (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
`bias_hh_l0`, `..._reverse` for the backward direction of a bidirectional layer), with gates
stacked in PyTorch's order (LSTM: input, forget, cell, output; GRU: reset, update, new), so
state_dicts copy either way. Each layer projects the whole input sequence in one matrix
product; the time loop then does one (B, H) @ (H, G*H) product and a few elementwise ops per
step, recorded as ordinary tensor operations so autograd differentiates through time.
"""

import math

import numpy as np

from ..tensor import Tensor, cat, stack
from . import functional_twice, init
from .dropout import dropout
from .linear import linear
from .module import Module, Parameter, check_input

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_cell(xw, h, w_hh, b_hh, relu):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh); xw holds the input part (B, H)."""
    pre = xw + linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _sigmoid(a):
    """1 / (1 + exp(-a)) without overflow for large negative a."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(a.dtype, copy=False)


def _lstm_pointwise(gates, c):
    """The elementwise part of an LSTM step as one node: pre-activation gates (B, 4H) in
    PyTorch's order i, f, g, o and the cell state c (B, H) -> [h', c'] side by side (B, 2H).

    c' = f c + i g, h' = o tanh(c'). One node with a hand-written backward instead of a dozen
    recorded ops per time step (chunks, activations, products), which dominated the step.
    """
    a, c_prev = gates.data, c.data
    H = c_prev.shape[-1]
    act = _sigmoid(a)
    act[..., 2 * H:3 * H] = np.tanh(a[..., 2 * H:3 * H])
    i, f, g, o = act[..., :H], act[..., H:2 * H], act[..., 2 * H:3 * H], act[..., 3 * H:]
    out = np.empty(a.shape[:-1] + (2 * H,), dtype=a.dtype)
    c_new = out[..., H:]
    np.multiply(f, c_prev, out=c_new)
    c_new += i * g
    tanh_c = np.tanh(c_new)
    np.multiply(o, tanh_c, out=out[..., :H])

    def backward(grad):
        if not isinstance(grad, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return functional_twice.lstm_cell(grad, gates, c)
        dh, dc = grad[..., :H], grad[..., H:]
        dc_total = dh * o * (1.0 - tanh_c * tanh_c) + dc  # through h' = o tanh(c'), plus c' itself
        d_gates = np.empty_like(a)
        d_gates[..., :H] = dc_total * g * i * (1.0 - i)
        d_gates[..., H:2 * H] = dc_total * c_prev * f * (1.0 - f)
        d_gates[..., 2 * H:3 * H] = dc_total * i * (1.0 - g * g)
        d_gates[..., 3 * H:] = dh * tanh_c * o * (1.0 - o)
        return d_gates, dc_total * f

    return Tensor._result(out, (gates, c), backward, "LstmCellBackward")


def _lstm_cell(xw, h, c, w_hh, b_hh):
    """One LSTM step: returns (h', c')."""
    hidden = h.shape[-1]
    both = _lstm_pointwise(xw + linear(h, w_hh, b_hh), c)  # (B, 2H)
    return both[..., :hidden], both[..., hidden:]


def _gru_cell(xw, h, w_hh, b_hh):
    """One GRU step: r, z from input and hidden parts; n = tanh(x_n + r * h_n); h' = n + z * (h - n)."""
    x_r, x_z, x_n = xw.chunk(3, -1)
    h_r, h_z, h_n = linear(h, w_hh, b_hh).chunk(3, -1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return n + z * (h - n)


class RNNBase(Module):
    """Shared machinery: parameters per layer and direction, shapes, the loop over time."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, dtype=None):
        super().__init__()
        name = type(self).__name__
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name}: {arg} must be a positive int, got {value!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size > 0 (projected LSTM) is not supported by tinytorch")
        self.mode, self.input_size, self.hidden_size = mode, int(input_size), int(hidden_size)
        self.num_layers, self.bias, self.batch_first = int(num_layers), bool(bias), bool(batch_first)
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bool(bidirectional), 0
        dtype = dtype or np.float32
        gates = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                setattr(self, "weight_ih" + suffix, Parameter(np.empty((gates, layer_input), dtype=dtype)))
                setattr(self, "weight_hh" + suffix, Parameter(np.empty((gates, hidden_size), dtype=dtype)))
                if bias:
                    setattr(self, "bias_ih" + suffix, Parameter(np.empty(gates, dtype=dtype)))
                    setattr(self, "bias_hh" + suffix, Parameter(np.empty(gates, dtype=dtype)))
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's init: every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def flatten_parameters(self):
        """A no-op (PyTorch compacts cuDNN weights here; there is no cuDNN)."""

    def _weights(self, layer, direction):
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = self._parameters.get
        return get("weight_ih" + suffix), get("weight_hh" + suffix), get("bias_ih" + suffix), get("bias_hh" + suffix)

    def _initial_state(self, hx, batch, dtype, batched, what="hx"):
        """(layers * directions, B, H) initial state: zeros, or `hx` after checking its shape."""
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, batch, self.hidden_size)
        if hx is None:
            return Tensor(np.zeros(expected, dtype=dtype))
        check_input(hx, type(self).__name__)
        if not batched:
            if hx.ndim != 2:
                raise RuntimeError(f"{type(self).__name__}: for unbatched 2-D input, {what} should also be 2-D "
                                   f"but got {hx.ndim}-D tensor")
            hx = hx.unsqueeze(1)
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"{type(self).__name__}: Expected hidden size {expected}, got {tuple(hx.shape)}")
        return hx

    def _run(self, input, states):
        """input (T, B, I); states: a list (h0 and, for LSTM, c0) of (L*D, B, H) tensors.
        Returns output (T, B, D*H) and the final states, stacked as the initial ones."""
        directions = 2 if self.bidirectional else 1
        x = input
        finals = [[] for _ in states]
        length = input.shape[0]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, direction)
                xw = linear(x, w_ih, b_ih)  # (T, B, G*H): the input part of every step at once
                index = layer * directions + direction
                carry = [s[index] for s in states]
                steps = range(length - 1, -1, -1) if direction else range(length)
                out = [None] * length
                for t in steps:
                    carry = self._step(xw[t], carry, w_hh, b_hh)
                    out[t] = carry[0]
                outputs.append(stack(out, 0))  # (T, B, H)
                for final, value in zip(finals, carry):
                    final.append(value)
            x = outputs[0] if directions == 1 else cat(outputs, -1)  # (T, B, D*H)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = dropout(x, self.dropout, training=True)
        return x, [stack(final, 0) for final in finals]

    def _step(self, xw, carry, w_hh, b_hh):
        if self.mode == "LSTM":
            return _lstm_cell(xw, carry[0], carry[1], w_hh, b_hh)
        if self.mode == "GRU":
            return (_gru_cell(xw, carry[0], w_hh, b_hh),)
        return (_rnn_cell(xw, carry[0], w_hh, b_hh, self.mode == "RNN_RELU"),)

    def _prepare(self, input):
        """(T, B, I) input and whether the caller's input had a batch dimension."""
        name = type(self).__name__
        check_input(input, name)
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D tensor of shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]}")
        batched = input.ndim == 3
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        if input.shape[0] == 0:
            raise ValueError(f"{name}: expected a sequence of length >= 1, got input of shape {tuple(input.shape)}")
        return input, batched

    def _finish(self, output, batched):
        if not batched:
            return output.squeeze(1)
        return output.transpose(0, 1) if self.batch_first else output

    def forward(self, input, hx=None):
        x, batched = self._prepare(input)
        h0 = self._initial_state(hx, x.shape[1], x.dtype, batched)
        output, (h_n,) = self._run(x, [h0])
        return self._finish(output, batched), h_n if batched else h_n.squeeze(1)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    forward(input (T, B, I) or (B, T, I) with batch_first, h0 (L*D, B, H)) -> (output, h_n).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit; forward(input, h0) -> (output, h_n) as RNN."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory; forward(input, (h0, c0)) -> (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, dtype=dtype)

    def forward(self, input, hx=None):
        x, batched = self._prepare(input)
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError("LSTM: hx must be a tuple (h_0, c_0)")
        h0, c0 = (None, None) if hx is None else hx
        states = [self._initial_state(h0, x.shape[1], x.dtype, batched, "h_0"),
                  self._initial_state(c0, x.shape[1], x.dtype, batched, "c_0")]
        output, (h_n, c_n) = self._run(x, states)
        if not batched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish(output, batched), (h_n, c_n)
