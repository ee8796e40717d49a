"""Elementwise functions of Tensor (exp, log, activations, softmax) with their derivatives."""

import math

import numpy as np

from .. import kernels, tensor  # tensor: circular on purpose (tensor.py builds Tensor from this class)
from ..seams import replaced, seam
from ._common import _erf, _normalize_dim, _unbroadcast, forward_value

_GELU_C = math.sqrt(2.0 / math.pi)


# The activations' forward values, with the exercises' interface (module 02: a Tensor in, a
# Tensor out, no graph). Tensor.relu() etc. compute the value with the implementation in use
# and record the graph node with the backward rule (the *_backward seams, module 05).

@seam("relu")
def relu(x):
    """max(x, 0) elementwise."""
    return tensor.Tensor(kernels.relu(x.data))


def _sigmoid(x):
    # exp(-log(1 + e^-x)) never overflows, unlike 1 / (1 + e^-x) for very negative x
    return np.exp(-np.logaddexp(0, -x)).astype(x.dtype, copy=False)


@seam("sigmoid")
def sigmoid(x):
    """1 / (1 + exp(-x)) elementwise, without overflow."""
    return tensor.Tensor(_sigmoid(x.data))


@seam("tanh")
def tanh(x):
    """Hyperbolic tangent elementwise."""
    return tensor.Tensor(np.tanh(x.data))


def _gelu_tanh_inner(x):
    """tanh(c * (x + 0.044715 x^3)) of the tanh-approximated GELU, in place steps: GELU sits on
    the largest activations of a transformer, and fresh temporaries for every step cost about
    a third more time (x**3 would be ~100x slower than x * x * x)."""
    inner = x * x
    inner *= 0.044715
    inner += 1.0
    inner *= x
    inner *= _GELU_C
    np.tanh(inner, out=inner)
    return inner


def _gelu_tanh_from_inner(x, inner):
    out = inner + 1.0
    out *= x
    out *= 0.5  # 0.5 x (1 + inner)
    return out


@seam("gelu")
def gelu(x):
    """GELU with the tanh approximation (as in GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return tensor.Tensor(_gelu_tanh_from_inner(x.data, _gelu_tanh_inner(x.data)))


def _softmax(x, axis):
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


@seam("softmax")
def softmax(x, dim=-1):
    """exp(x) / sum(exp(x)) along dim, without overflow."""
    return tensor.Tensor(_softmax(x.data, _normalize_dim(dim, x.ndim, "softmax")))


@seam("log_softmax")
def log_softmax(x, dim=-1):
    """x - logsumexp(x) along dim, stable for any logits (records its graph node, like the
    exercise of module 04, which is built from Tensor operations)."""
    axis = _normalize_dim(dim, x.ndim, "log_softmax")
    shifted = x.data - x.data.max(axis=axis, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return x._result(
        out, (x,), lambda g: (g - np.exp(out) * g.sum(axis=axis, keepdims=True),), "LogSoftmaxBackward"
    )


@seam("relu_backward")
def relu_backward(grad, x):
    """Gradient for the input of relu(x): grad where x > 0, else 0."""
    return kernels.masked(grad, x > 0)


@seam("sigmoid_backward")
def sigmoid_backward(grad, out):
    """Gradient for the input of sigmoid, from its output: grad * s * (1 - s)."""
    return grad * (out * (1.0 - out))


@seam("tanh_backward")
def tanh_backward(grad, out):
    """Gradient for the input of tanh, from its output: grad * (1 - t^2)."""
    return grad * (1.0 - out * out)


class ElementwiseOps:
    """Elementwise functions; each backward multiplies by the local derivative."""

    # Backward passes below select gradients with `g * mask` rather than `np.where(mask, g, 0)`:
    # on irregular masks the multiply is ~10x faster.

    def _unary(self, out, local_grad, op):
        """Result of an elementwise op whose derivative is `local_grad()` (computed lazily)."""
        return self._result(out, (self,), lambda g: (g * local_grad(),), op)

    def exp(self):
        out = np.exp(self.data)
        return self._unary(out, lambda: out, "ExpBackward")

    def log(self):
        x = self.data
        return self._result(np.log(x), (self,), lambda g: (g / x,), "LogBackward")

    def sqrt(self):
        out = np.sqrt(self.data)
        return self._unary(out, lambda: 0.5 / out, "SqrtBackward")

    def abs(self):
        x = self.data
        return self._unary(np.abs(x), lambda: np.sign(x), "AbsBackward")

    def sin(self):
        x = self.data
        return self._unary(np.sin(x), lambda: np.cos(x), "SinBackward")

    def cos(self):
        x = self.data
        return self._unary(np.cos(x), lambda: -np.sin(x), "CosBackward")

    def clamp(self, min=None, max=None):
        x = self.data
        inside = np.ones(x.shape, dtype=bool)  # gradient flows only where x was not clipped
        if min is not None:
            inside &= x >= min
        if max is not None:
            inside &= x <= max
        out = np.clip(x, min, max).astype(x.dtype, copy=False)
        return self._result(out, (self,), lambda g: (g * inside,), "ClampBackward")

    clip = clamp

    def maximum(self, other):
        """Elementwise maximum; tied elements share the gradient equally, as in PyTorch."""
        return self._pick(other, np.greater, np.maximum, "maximum")

    def minimum(self, other):
        """Elementwise minimum; tied elements share the gradient equally, as in PyTorch."""
        return self._pick(other, np.less, np.minimum, "minimum")

    def _pick(self, other, wins, fn, op):
        other = self._other(other)
        out, a, b = self._elementwise(other, fn, op)

        def backward(g):
            share = np.where(a == b, 0.5, wins(a, b)).astype(g.dtype)  # 1 where a is picked, 0.5 on ties
            return (
                _unbroadcast(g * share, a.shape) if self._requires_grad else None,
                _unbroadcast(g * (1 - share), b.shape) if other._requires_grad else None,
            )

        return self._result(out, (self, other), backward, f"{op.capitalize()}Backward")

    def tanh(self):
        x = self.data
        mine = replaced.get("tanh")
        out = np.tanh(x) if mine is None else forward_value(mine, x)
        return self._result(out, (self,), lambda g: (replaced.get("tanh_backward", tanh_backward)(g, out),),
                            "TanhBackward")

    def sigmoid(self):
        x = self.data
        mine = replaced.get("sigmoid")
        out = _sigmoid(x) if mine is None else forward_value(mine, x)
        return self._result(out, (self,), lambda g: (replaced.get("sigmoid_backward", sigmoid_backward)(g, out),),
                            "SigmoidBackward")

    def relu(self):
        x = self.data
        mine = replaced.get("relu")
        out = kernels.relu(x) if mine is None else forward_value(mine, x)
        return self._result(out, (self,), lambda g: (replaced.get("relu_backward", relu_backward)(g, x),),
                            "ReluBackward")

    def gelu(self, approximate="none"):
        """GELU: x * Phi(x); `approximate="tanh"` uses the tanh formula (as in GPT-2)."""
        x = self.data
        if approximate == "tanh":
            mine = replaced.get("gelu")
            if mine is None:
                inner = _gelu_tanh_inner(x)
                out = _gelu_tanh_from_inner(x, inner)
            else:
                inner = None  # computed for the backward pass only if it runs
                out = forward_value(mine, x)

            def local():  # 0.5 (1 + inner) + 0.5 x (1 - inner^2) c (1 + 3 * 0.044715 x^2)
                t = _gelu_tanh_inner(x) if inner is None else inner
                d = x * x
                d *= 3 * 0.044715
                d += 1.0
                d *= x
                d *= 0.5 * _GELU_C
                slope = t * t
                np.subtract(1.0, slope, out=slope)
                d *= slope
                half = t + 1.0
                half *= 0.5
                d += half
                return d
        elif approximate == "none":
            cdf = 0.5 * (1.0 + _erf(x * (1 / math.sqrt(2.0))))
            out = x * cdf
            local = lambda: cdf + x * np.exp(-0.5 * x * x) * (1 / math.sqrt(2.0 * math.pi))
        else:
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return self._unary(out, local, "GeluBackward")

    def softmax(self, dim=-1):
        axis = _normalize_dim(dim, self.ndim, "softmax")
        mine = replaced.get("softmax")
        out = _softmax(self.data, axis) if mine is None else forward_value(mine, self.data, dim=axis)
        return self._result(
            out, (self,), lambda g: (out * (g - (g * out).sum(axis=axis, keepdims=True)),), "SoftmaxBackward"
        )

    def log_softmax(self, dim=-1):
        return replaced.get("log_softmax", log_softmax)(self, dim)
