"""Elementwise functions of Tensor (exp, log, activations, softmax) with their derivatives."""

import math

import numpy as np

from .. import grad_mode, kernels
from .. import tensor  # circular on purpose: tensor.py builds Tensor from this class; used at call time
from .. import versions
from ..seams import replaced, seam
from . import differentiable
from ._common import (
    _floating, _gelu_parts, _normalize_dim, _normalize_dims, _result_type, _unbroadcast, forward_value,
)

_GELU_C = math.sqrt(2.0 / math.pi)


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


# what each op's backward reads (see versions.SavingOp): the input, or the output
_EXP, _SQRT, _RSQRT, _TANH, _SIGMOID, _SOFTMAX, _LOG_SOFTMAX, _RELU = (
    versions.SavingOp(name, saves_output=True)
    for name in ("ExpBackward", "SqrtBackward", "RsqrtBackward", "TanhBackward", "SigmoidBackward",
                 "SoftmaxBackward", "LogSoftmaxBackward", "ReluBackward")
)
_LOG, _ABS, _SIN, _COS, _GELU, _LOG1P, _SQUARE, _CLAMP = (
    versions.SavingOp(name, saves=(0,))
    for name in ("LogBackward", "AbsBackward", "SinBackward", "CosBackward", "GeluBackward", "Log1PBackward",
                 "PowBackward", "ClampBackward")
)
_CLAMP_TENSOR, _MAXIMUM, _MINIMUM = (  # PyTorch reads both operands even when one needs no gradient
    versions.SavingOp(name, saves=(0, 1)) for name in ("ClampBackward", "MaximumBackward", "MinimumBackward")
)


# The activations' forward values, with the exercises' interface (module 02: a Tensor in, a
# Tensor out, no graph). Tensor.relu() etc. compute the value with the implementation in use
# and record the graph node with the backward rule (the *_backward seams, module 05).

@seam("relu")
def relu(x):
    """max(x, 0) elementwise."""
    return tensor.Tensor(kernels.relu(x.data))


def _sigmoid(x):
    # exp(-log(1 + e^-x)) never overflows, unlike 1 / (1 + e^-x) for very negative x
    x = _floating(x)
    return np.exp(-np.logaddexp(0, -x)).astype(x.dtype, copy=False)


@seam("sigmoid")
def sigmoid(x):
    """1 / (1 + exp(-x)) elementwise, without overflow."""
    return tensor.Tensor(_sigmoid(x.data))


@seam("tanh")
def tanh(x):
    """Hyperbolic tangent elementwise."""
    return tensor.Tensor(np.tanh(_floating(x.data)))


def _gelu_tanh_inner(x):
    """tanh(c * (x + 0.044715 x^3)) of the tanh-approximated GELU (x at least 1-d), in place
    steps: GELU sits on the largest activations of a transformer, and fresh temporaries for
    every step cost about a third more time (x**3 would be ~100x slower than x * x * x)."""
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
    data = np.atleast_1d(x.data)
    return tensor.Tensor(_gelu_tanh_from_inner(data, _gelu_tanh_inner(data)).reshape(x.shape))


def _softmax(x, axis):
    """softmax of the array x along a non-empty axis; in place after the first subtraction:
    attention scores are the largest arrays of a transformer step, and fresh temporaries cost
    more than the arithmetic."""
    out = np.subtract(x, np.maximum.reduce(x, axis=axis, keepdims=True), out=kernels.result_buffer_like(x))
    np.exp(out, out=out)
    out /= np.add.reduce(out, axis=axis, keepdims=True)
    return out


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

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return differentiable.log_softmax(g, x, axis)
        return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

    return x._result(out, (x,), backward, _LOG_SOFTMAX)


def _zero_backward(g):
    """The backward of a piecewise-constant op: a zero gradient (recorded under create_graph)."""
    return (np.zeros_like(g),) if isinstance(g, (np.ndarray, np.generic)) else differentiable.zero(g)


class ElementwiseOps:
    """Elementwise functions; each backward multiplies by the local derivative."""

    # Backward passes below select gradients with `g * mask` rather than `np.where(mask, g, 0)`:
    # on irregular masks the multiply is ~10x faster.

    def _unary(self, out, local_grad, op, twice=None):
        """Result of an elementwise op whose derivative is `local_grad()` (computed lazily);
        `twice(g, x)` is its rule in `differentiable`, for create_graph."""

        def backward(g):
            if twice is not None and not isinstance(g, (np.ndarray, np.generic)):
                return twice(g, self)
            return (kernels.product(g, local_grad()),)

        return self._result(out, (self,), backward, op)

    def exp(self):
        out = np.exp(_floating(self.data))
        return self._unary(out, lambda: out, _EXP, differentiable.exp)

    def log(self):
        x = _floating(self.data)
        return self._unary(np.log(x), lambda: 1 / x, _LOG, differentiable.log)

    def sqrt(self):
        out = np.sqrt(_floating(self.data))
        return self._unary(out, lambda: 0.5 / out, _SQRT, differentiable.sqrt)

    def abs(self):
        x = self.data
        return self._unary(np.abs(x), lambda: np.sign(x), _ABS,
                           lambda g, t: differentiable.masked(g, np.sign(t.data)))

    def sin(self):
        x = _floating(self.data)
        return self._unary(np.sin(x), lambda: np.cos(x), _SIN, differentiable.sin)

    def cos(self):
        x = _floating(self.data)
        return self._unary(np.cos(x), lambda: -np.sin(x), _COS, differentiable.cos)

    def clamp(self, min=None, max=None):
        """Elementwise min(max(x, min), max); `min`/`max` may be numbers or tensors (which
        broadcast and receive gradients). The dtype follows PyTorch's promotion, so an integer
        tensor clamped to float bounds becomes float32."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        if isinstance(min, tensor.Tensor) or isinstance(max, tensor.Tensor):
            return self._clamp_tensors(min, max)
        x = self.data
        bounds = [np.asarray(b, dtype=np.float32 if isinstance(b, float) else None) for b in (min, max) if b is not None]
        dtype = x.dtype if x.dtype.kind == "f" else _result_type(x, *bounds)
        x = x.astype(dtype, copy=False)
        inside = np.ones(x.shape, dtype=bool)  # gradient flows only where x was not clipped
        if min is not None:
            inside &= x >= min
        if max is not None:
            inside &= x <= max
        out = np.clip(x, min, max).astype(dtype, copy=False)
        def backward(g):
            return differentiable.masked(g, inside) if not isinstance(g, (np.ndarray, np.generic)) else (g * inside,)

        return self._result(out, (self,), backward, _CLAMP)

    def _clamp_tensors(self, min, max):
        """clamp with tensor bounds: max(x, min) then min(., max), as PyTorch composes it
        (where min > max, the result is max)."""
        out = self
        if min is not None:
            out = out._bound(min, np.greater_equal, np.maximum)
        if max is not None:
            out = out._bound(max, np.less_equal, np.minimum)
        return out

    def _bound(self, bound, keeps, fn):
        """One side of a tensor clamp: `fn(x, bound)` where the gradient goes to x where
        `keeps(x, bound)` (ties go to x) and to the bound elsewhere."""
        bound = self._other(bound)
        out, a, b = self._elementwise(bound, fn, "clamp")

        def backward(g):
            own = keeps(a, b)
            if not isinstance(g, (np.ndarray, np.generic)):
                return differentiable.choose(g, self, bound, own)
            return (
                _unbroadcast(g * own, a.shape) if self._requires_grad else None,
                _unbroadcast(g * ~own, b.shape) if bound._requires_grad else None,
            )

        return self._result(out, (self, bound), backward, _CLAMP_TENSOR)

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
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return differentiable.shared(g, self, other, share)
            return (
                _unbroadcast(g * share, a.shape) if self._requires_grad else None,
                _unbroadcast(g * (1 - share), b.shape) if other._requires_grad else None,
            )

        return self._result(out, (self, other), backward, _MAXIMUM if op == "maximum" else _MINIMUM)

    def tanh(self):
        mine = replaced.get("tanh")
        x = _floating(self.data)
        out = np.tanh(x) if mine is None else forward_value(mine, x)

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return differentiable.tanh(g, self)
            return (replaced.get("tanh_backward", tanh_backward)(g, out),)

        return self._result(out, (self,), backward, _TANH)

    def sigmoid(self):
        mine = replaced.get("sigmoid")
        x = _floating(self.data)
        out = _sigmoid(x) if mine is None else forward_value(mine, x)

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):
                return differentiable.sigmoid(g, self)
            return (replaced.get("sigmoid_backward", sigmoid_backward)(g, out),)

        return self._result(out, (self,), backward, _SIGMOID)

    def relu(self):
        x = self.data
        mine = replaced.get("relu")
        out = kernels.relu(x) if mine is None else forward_value(mine, x)

        # backward reads the output, as PyTorch's does (out > 0 exactly where x > 0): an
        # in-place change of the input after relu is harmless there, so it must be here
        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):
                return differentiable.masked(g, out > 0)
            return (replaced.get("relu_backward", relu_backward)(g, out),)

        return self._result(out, (self,), backward, _RELU)

    def gelu(self, approximate="none"):
        """GELU: x * Phi(x); `approximate="tanh"` uses the tanh formula (as in GPT-2)."""
        self._need_float("gelu")
        x = self.data
        if x.ndim == 0:  # the in-place steps below need an array, not a NumPy scalar
            return self.reshape(1).gelu(approximate).reshape(())
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
            out, slope = _gelu_parts(x, slope=grad_mode._enabled and self._requires_grad)

            def local():  # Phi(x) + x * phi(x), made with the forward pass
                return slope
        else:
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return self._unary(out, local, _GELU, lambda g, t: differentiable.gelu(g, t, approximate))

    def softmax(self, dim=-1):
        if self.ndim == 0:  # a 0-d tensor is one row of one element
            _normalize_dims(dim, 0, "softmax")
            return self.reshape(1).softmax(0).reshape(())
        axis = _normalize_dim(dim, self.ndim, "softmax")
        self._need_float("softmax")
        x = self.data
        if x.shape[axis] == 0:  # nothing to normalize; max() would fail on the empty axis
            return self._result(x.copy(), (self,), lambda g: (g,), "SoftmaxBackward")
        mine = replaced.get("softmax")
        out = _softmax(x, axis) if mine is None else forward_value(mine, x, dim=axis)

        def backward(g):  # out * (g - sum(g * out))
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return differentiable.softmax(g, self, axis)
            grad = kernels.product(g, out)
            total = np.add.reduce(grad, axis=axis, keepdims=True)
            np.subtract(g, total, out=grad)
            grad *= out
            return (grad,)

        return self._result(out, (self,), backward, _SOFTMAX)

    def log_softmax(self, dim=-1):
        if self.ndim == 0:
            _normalize_dims(dim, 0, "log_softmax")
            return self.reshape(1).log_softmax(0).reshape(())
        axis = _normalize_dim(dim, self.ndim, "log_softmax")
        self._need_float("log_softmax")
        x = self.data
        if x.shape[axis] == 0:
            return self._result(x.copy(), (self,), lambda g: (g,), "LogSoftmaxBackward")
        return replaced.get("log_softmax", log_softmax)(self, axis)

    def _need_float(self, op):
        if self.data.dtype.kind != "f":
            raise TypeError(f"{op}: input dtype must be floating point, got {self.dtype}; use .float() first")

    # ------------------------------------------------------------------ more math, PyTorch's names

    def _as_float(self):
        """The data as floats: integer inputs of float functions give float32, as in PyTorch."""
        return _floating(self.data)

    def log1p(self):
        x = self._as_float()
        return self._unary(np.log1p(x), lambda: 1 / (1 + x), _LOG1P, differentiable.log1p)

    def rsqrt(self):
        with np.errstate(divide="ignore"):
            out = 1 / np.sqrt(self._as_float())
        return self._unary(out, lambda: -0.5 * out * out * out, _RSQRT, differentiable.rsqrt)

    def square(self):
        x = self.data if self.data.dtype != np.bool_ else self.data.astype(np.int64)  # bool: int64, as PyTorch
        return self._unary(x * x, lambda: 2 * x, _SQUARE, differentiable.square)

    def _stepwise(self, fn, op):
        """A piecewise-constant function: its gradient is zero (as PyTorch defines it). Integer
        tensors are already whole numbers and keep their dtype."""
        x = self.data
        if x.dtype == np.bool_:
            raise TypeError(f"{op[:-len('Backward')].lower()}: not defined for bool tensors (as in PyTorch)")
        out = fn(x) if x.dtype.kind == "f" else x.copy()
        return self._result(out, (self,), _zero_backward, op)

    def floor(self):
        return self._stepwise(np.floor, "FloorBackward")

    def ceil(self):
        return self._stepwise(np.ceil, "CeilBackward")

    def trunc(self):
        return self._stepwise(np.trunc, "TruncBackward")

    def round(self, decimals=0):
        """Round half to even, as PyTorch (and NumPy) do."""
        return self._stepwise(lambda x: np.round(x, decimals), "RoundBackward")

    def sign(self):
        x = self.data
        out = x.copy() if x.dtype == np.bool_ else np.sign(x)  # NumPy has no sign of bool
        return self._result(out, (self,), _zero_backward, "SignBackward")

    def _test(self, fn):
        """A bool tensor from an elementwise NumPy test (no gradient)."""
        return self._constant(np.asarray(fn(self.data)))

    def isnan(self):
        return self._test(np.isnan)

    def isinf(self):
        return self._test(np.isinf)

    def isfinite(self):
        return self._test(np.isfinite)

    def clamp_(self, min=None, max=None):
        """In-place clamp (as used on parameters inside `no_grad`; recorded on a tensor that
        requires grad, as PyTorch does)."""
        recording = self._check_inplace("clamp_")
        clamped = self.clamp(min, max)
        if not recording:
            return self._assign(Ellipsis, clamped.data, "clamp_")
        if isinstance(min, tensor.Tensor) or isinstance(max, tensor.Tensor):
            raise RuntimeError("clamp_: with tensor bounds, use the out-of-place clamp on a tensor that requires grad")
        clamped._op = "ClampBackward"  # reads nothing back (its mask was taken): the update overwrites its input
        return self._assign(Ellipsis, clamped.data, "clamp_", clamped)

    clip_ = clamp_

    def __abs__(self):
        return self.abs()
