"""Arithmetic, in-place updates and comparisons of Tensor (broadcasting, PyTorch's dtype promotion)."""

import numpy as np

from .. import grad_mode, kernels, versions
from .. import tensor  # circular on purpose: tensor.py builds Tensor from this class; used at call time
from ..random import rng_of
from ..seams import replaced, seam
from . import differentiable
from ._common import _broadcast_shapes_or_none, _normalize_dims, _promoted, _unbroadcast
from .shape import _numpy_index


def _power(a, p):
    """a ** p; integer tensors to negative integer powers follow PyTorch's integer division
    (1 and -1 stay +-1, every other base gives 0) where NumPy raises."""
    if p.dtype.kind not in "iu" or not np.any(p < 0):
        return np.power(a, p)
    negative = p < 0
    out = np.power(a, np.where(negative, 0, p))
    unit = np.where(a == 1, 1, np.where(a == -1, 1 - 2 * (p % 2), 0)).astype(out.dtype)
    return np.where(negative, unit, out)


@seam("add_backward")
def add_backward(grad, a, b, need_a=True, need_b=True):
    """Gradients (grad_a, grad_b) of out = a + b (arrays; None where not `need_*`)."""
    return (_unbroadcast(grad, a.shape) if need_a else None,
            _unbroadcast(grad, b.shape) if need_b else None)


@seam("mul_backward")
def mul_backward(grad, a, b, need_a=True, need_b=True):
    """Gradients (grad_a, grad_b) of out = a * b (arrays; None where not `need_*`)."""
    return (_unbroadcast(grad * b, a.shape) if need_a else None,
            _unbroadcast(grad * a, b.shape) if need_b else None)


# what each op's backward reads (see versions.SavingOp); an operand read only for the other's
# gradient counts only when the other requires grad, as in PyTorch
_MUL = versions.SavingOp("MulBackward", saves=(0, 1), needed_by={0: (1,), 1: (0,)})
_DIV = versions.SavingOp("DivBackward", saves=(0, 1), needed_by={0: (1,)})
_POW = versions.SavingOp("PowBackward", saves=(0, 1), saves_output=True)
_POW_SCALAR = versions.SavingOp("PowBackward", saves=(0,))  # x ** 2: only the base
_MODULO = {op: versions.SavingOp(f"{op.capitalize()}Backward", saves=(0, 1), needed_by={0: (1,), 1: (1,)})
           for op in ("remainder", "fmod")}  # both read only for the divisor's gradient


# the out-of-place forms of the in-place arithmetic updates (recorded when they must be)
_OUT_OF_PLACE = {
    "add_": lambda t, other: t + other, "sub_": lambda t, other: t - other,
    "mul_": lambda t, other: t * other, "div_": lambda t, other: t / other,
}


def _negated(g):
    return differentiable.neg(g) if not isinstance(g, (np.ndarray, np.generic)) else (-g,)


def _unchanged(g):
    return differentiable.same(g) if not isinstance(g, (np.ndarray, np.generic)) else (g,)


_ARITHMETIC = (np.add, np.subtract, np.multiply, np.divide)  # same-dtype results of floats


class ArithmeticOps:
    """Operators + - * / ** (and their reflected forms) with broadcasting-aware gradients, in-place
    updates (refused where they would corrupt gradients) and comparisons (no gradient)."""

    def _other(self, other):
        """`other` as a Tensor. Python and NumPy scalars take this tensor's dtype (so a float32
        tensor times 0.5 stays float32); a float scalar with an integer tensor gives float32."""
        if isinstance(other, tensor.Tensor):
            return other
        kind = self.data.dtype.kind
        if kind == "f":
            return self._constant(np.asarray(other, dtype=self.data.dtype))
        if isinstance(other, (bool, int, float, np.generic)):
            if isinstance(other, (float, np.floating)):
                return tensor.Tensor(np.asarray(other, dtype=np.float32))
            if kind in "iu" and not isinstance(other, (bool, np.bool_)):
                return tensor.Tensor(np.asarray(other, dtype=self.data.dtype))
        return tensor.Tensor(tensor._as_array(other))  # int64 for ints, unlike Tensor([1])

    def _elementwise(self, other, fn, op):
        """`(fn(a, b), a, b)` for a broadcasting binary NumPy function, with a clear error on
        bad shapes. As in PyTorch, an integer operand takes the dtype of a floating one (NumPy
        would make int64 with float32 float64), and division of integers gives float32."""
        a, b = self.data, other.data
        if a.dtype != b.dtype or (fn is np.divide and a.dtype.kind != "f"):
            a, b = _promoted(a, b, to_float=fn is np.divide)
        try:
            if (a.nbytes >= kernels.POOLED_MIN_BYTES or b.nbytes >= kernels.POOLED_MIN_BYTES) \
                    and fn in _ARITHMETIC and a.dtype == b.dtype and a.dtype.kind == "f":
                shape = a.shape if a.shape == b.shape else _broadcast_shapes_or_none(a.shape, b.shape)
                if shape is not None:  # natively a large result goes into a pooled array
                    return fn(a, b, out=kernels.result_buffer(shape, a.dtype)), a, b
            return fn(a, b), a, b
        except ValueError as error:
            if _broadcast_shapes_or_none(a.shape, b.shape) is not None:
                # not a shape problem (e.g. integers to negative integer powers)
                raise ValueError(f"{op}: {error}") from None
            raise ValueError(
                f"{op}: shapes {self.shape} and {other.shape} cannot be broadcast together"
            ) from None

    def __add__(self, other):
        other = self._other(other)
        out, _, _ = self._elementwise(other, np.add, "add")

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return differentiable.add(g, self, other)
            mine = replaced.get("add_backward")
            if mine is not None:
                return mine(g, self.data, other.data)
            return add_backward(g, self.data, other.data, self._requires_grad, other._requires_grad)

        return self._result(out, (self, other), backward, "AddBackward")

    def __sub__(self, other):
        other = self._other(other)
        if self.data.dtype == np.bool_ or other.data.dtype == np.bool_:
            raise TypeError("sub: subtraction with a bool tensor is not supported; to invert a mask use ~ or logical_not()")
        out, _, _ = self._elementwise(other, np.subtract, "sub")

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):
                return differentiable.add(g, self, other, sign=-1)
            return (
                _unbroadcast(g, self.shape) if self._requires_grad else None,
                _unbroadcast(-g, other.shape) if other._requires_grad else None,
            )

        return self._result(out, (self, other), backward, "SubBackward")

    def __mul__(self, other):
        other = self._other(other)
        out, a, b = self._elementwise(other, np.multiply, "mul")

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):
                return differentiable.mul(g, self, other)
            mine = replaced.get("mul_backward")
            if mine is not None:
                return mine(g, a, b)
            return mul_backward(g, a, b, self._requires_grad, other._requires_grad)

        return self._result(out, (self, other), backward, _MUL)

    def __truediv__(self, other):
        other = self._other(other)
        out, a, b = self._elementwise(other, np.divide, "div")

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):
                return differentiable.div(g, self, other)
            grad_a = grad_b = None
            if self._requires_grad:
                grad_a = _unbroadcast(g / b, a.shape)
            if other._requires_grad:
                grad_b = _unbroadcast(-g * (a / b) / b, b.shape)  # a / b again: out may have changed
            return grad_a, grad_b

        return self._result(out, (self, other), backward, _DIV)

    def __pow__(self, exponent):
        if self.data.dtype.kind in "biu" and isinstance(exponent, int) and exponent < 0:
            raise ValueError(f"pow: integers to negative integer powers are not allowed ({self.dtype} ** {exponent})")
        op = _POW if isinstance(exponent, tensor.Tensor) else _POW_SCALAR
        exponent = self._other(exponent)
        out, a, p = self._elementwise(exponent, _power, "pow")

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):
                return differentiable.power(g, self, exponent)
            grad_a = grad_p = None
            if self._requires_grad:
                with np.errstate(divide="ignore", invalid="ignore"):
                    local = p * np.power(a, p - 1)
                if np.any(p == 0):  # x ** 0 has zero gradient, also at x = 0 (not 0 * inf)
                    local = np.where(p == 0, 0, local)
                grad_a = _unbroadcast(g * local, a.shape)
            if exponent._requires_grad:
                # d(a^p)/dp = a^p log(a): NaN for a < 0 (as in PyTorch), 0 at a = 0 for p >= 0
                with np.errstate(divide="ignore", invalid="ignore"):
                    local = np.where((a == 0) & (p >= 0), 0, out * np.log(a))
                grad_p = _unbroadcast(g * local, p.shape)
            return grad_a, grad_p

        return self._result(out, (self, exponent), backward, op)

    def __radd__(self, other):
        return self._other(other) + self

    def __rsub__(self, other):
        return self._other(other) - self

    def __rmul__(self, other):
        return self._other(other) * self

    def __rtruediv__(self, other):
        return self._other(other) / self

    def __rpow__(self, other):
        return self._other(other) ** self

    def __neg__(self):
        if self.data.dtype == np.bool_:
            raise TypeError("neg: negation of a bool tensor is not supported; to invert a mask use ~ or logical_not()")
        return self._result(-self.data, (self,), _negated, "NegBackward")

    def __pos__(self):
        return self

    # PyTorch's method forms
    add, sub, mul, div, pow = __add__, __sub__, __mul__, __truediv__, __pow__

    def clone(self):
        """A copy of the data that stays in the graph (gradients flow back unchanged)."""
        return self._result(self.data.copy(), (self,), _unchanged, "CloneBackward")

    # ------------------------------------------------------------------ in-place updates

    def _check_inplace(self, op, other=None):
        """Refuse in-place updates where gradients would be wrong; True when the update must be
        recorded (this tensor is the output of a recorded op: see `_rebind`)."""
        if not grad_mode._enabled:
            return False
        if isinstance(other, tensor.Tensor) and other._requires_grad:
            raise RuntimeError(
                f"{op}: the operand requires grad, but in-place updates with such an operand are not "
                "recorded; use the out-of-place form (e.g. `a = a + b`) to keep the gradient"
            )
        if not self._requires_grad:
            return False
        if self._backward is None:  # PyTorch refuses this too, in these words
            raise RuntimeError(
                f"{op}: a tensor that requires grad cannot be modified in place while recording "
                "(a leaf Variable that requires grad is being used in an in-place operation); wrap "
                "the update in `with tinytorch.no_grad():`"
            )
        # Recorded only right after the op that made this tensor (so no recorded op can have read
        # it: its gradient would otherwise go through the in-place op) and when it is not a view
        # of an input (that input's gradient would miss the update); an input with this very
        # array is the node an earlier recorded update moved aside (`_rebind`).
        if self._seq != next(tensor._sequence) - 1 or any(
                p.data is not self.data and np.may_share_memory(self.data, p.data) for p in self._parents):
            raise RuntimeError(
                f"{op}: tinytorch records an in-place update of a tensor that requires grad only right "
                "after the op that made it (and not of a view); here use the out-of-place form (e.g. "
                "`y = y + 1`)"
            )
        return True

    def _rebind(self, result):
        """Record an in-place update as PyTorch does: `result` is the update computed out of
        place from this tensor (recorded, and already copied into this tensor's memory); this
        tensor becomes its graph node, and the node that made it moves to a new Tensor, input
        of the update."""
        old = tensor.Tensor.__new__(tensor.Tensor)
        old.__dict__.update(self.__dict__)  # the same data, inputs, backward, op and sequence number
        old._grad, old._retains_grad = None, False
        self._parents = tuple(old if p is self else p for p in result._parents)
        self._backward, self._op, self._seq = result._backward, result._op, result._seq
        self.__dict__.pop("_saved_versions", None)
        if "_saved_versions" in result.__dict__:
            self._saved_versions = result._saved_versions
        return self

    def _inplace(self, other, fn, op):
        """`self.data = fn(self.data, other)` in place, with clear errors."""
        recorded = None
        if self._check_inplace(op, other):
            if op not in _OUT_OF_PLACE:
                raise RuntimeError(f"{op}: has no gradient; it cannot update a tensor that requires grad while recording")
            recorded = _OUT_OF_PLACE[op](self, other)
        other = self._other(other)
        if fn is np.subtract and np.bool_ in (self.data.dtype, other.data.dtype):
            raise TypeError(f"{op}: subtraction with a bool tensor is not supported")
        a, b = _promoted(self.data, other.data, to_float=fn is np.divide)
        result = np.result_type(a, b)
        if not np.can_cast(result, self.dtype, casting="same_kind"):
            raise TypeError(f"{op}: result dtype {result} cannot be stored in a tensor of dtype {self.dtype}")
        try:
            fn(self.data, b, out=self.data, casting="same_kind")
        except ValueError:
            if not self.data.flags.writeable:
                raise ValueError(f"{op}: this tensor is a read-only view (e.g. from expand); use .clone() first") from None
            raise ValueError(
                f"{op}: shape {other.shape} does not broadcast to the tensor's shape {self.shape}"
            ) from None
        versions.bump(self.data)
        return self._rebind(recorded) if recorded is not None else self

    def __iadd__(self, other):
        return self._inplace(other, np.add, "add_")

    def __isub__(self, other):
        return self._inplace(other, np.subtract, "sub_")

    def __imul__(self, other):
        return self._inplace(other, np.multiply, "mul_")

    def __itruediv__(self, other):
        return self._inplace(other, np.divide, "div_")

    def add_(self, other):
        return self._inplace(other, np.add, "add_")

    def sub_(self, other):
        return self._inplace(other, np.subtract, "sub_")

    def mul_(self, other):
        return self._inplace(other, np.multiply, "mul_")

    def div_(self, other):
        return self._inplace(other, np.divide, "div_")

    def _assign(self, index, value, op, recorded=None):
        """`self.data[index] = value`, with clear errors. `recorded`: the update computed out of
        place by a caller that checked it must be recorded; by default, when recording, `value`
        overwrites, so no gradient reaches those entries."""
        if recorded is None and self._check_inplace(op, value):
            def backward(g):
                g = g.copy()
                g[index] = 0
                return (g,)

            recorded = self._result(self.data.copy(), (self,), backward, "CopySlices")
        value = value.data if isinstance(value, tensor.Tensor) else value
        try:
            self.data[index] = value
        except ValueError as error:
            if not self.data.flags.writeable:
                raise ValueError(f"{op}: this tensor is a read-only view (e.g. from expand); use .clone() first") from None
            raise ValueError(f"{op}: {error} (tensor shape {self.shape}, value shape {np.shape(value)})") from None
        except IndexError as error:
            raise IndexError(f"{op}: {error} (tensor shape {self.shape})") from None
        versions.bump(self.data)
        return self._rebind(recorded) if recorded is not None else self

    def copy_(self, src):
        """Copy `src` (broadcast to this shape, cast to this dtype) into this tensor."""
        src_shape = np.shape(src.data if isinstance(src, tensor.Tensor) else src)
        if _broadcast_shapes_or_none(src_shape, self.shape) != self.shape:
            raise ValueError(f"copy_: shape {src_shape} does not broadcast to the tensor's shape {self.shape}")
        return self._assign(Ellipsis, src, "copy_")

    def zero_(self):
        return self._assign(Ellipsis, 0, "zero_")

    def fill_(self, value):
        return self._assign(Ellipsis, value, "fill_")

    def __setitem__(self, index, value):
        self._assign(_numpy_index(index), value, "setitem")

    def uniform_(self, a=0.0, b=1.0, generator=None):
        """Fill with samples from U(a, b) (used by weight initialization)."""
        sample = rng_of(generator).uniform(a, b, self.shape)
        return self._assign(Ellipsis, sample, "uniform_")

    def normal_(self, mean=0.0, std=1.0, generator=None):
        """Fill with samples from N(mean, std^2) (used by weight initialization)."""
        sample = rng_of(generator).normal(mean, std, self.shape)
        return self._assign(Ellipsis, sample, "normal_")

    # ------------------------------------------------------------------ comparisons (no grad)

    def _compare(self, other, fn, op):
        return tensor.Tensor(self._elementwise(self._other(other), fn, op)[0])

    def __lt__(self, other):
        return self._compare(other, np.less, "lt")

    def __le__(self, other):
        return self._compare(other, np.less_equal, "le")

    def __gt__(self, other):
        return self._compare(other, np.greater, "gt")

    def __ge__(self, other):
        return self._compare(other, np.greater_equal, "ge")

    def __eq__(self, other):
        return self._compare(other, np.equal, "eq")

    def __ne__(self, other):
        return self._compare(other, np.not_equal, "ne")

    def __invert__(self):
        return tensor.Tensor(~self.data)

    def __and__(self, other):
        return self._compare(other, np.logical_and, "logical_and")

    def __or__(self, other):
        return self._compare(other, np.logical_or, "logical_or")

    def all(self, dim=None, keepdim=False):
        return tensor.Tensor(self.data.all(axis=_normalize_dims(dim, self.ndim, "all"), keepdims=keepdim))

    def any(self, dim=None, keepdim=False):
        return tensor.Tensor(self.data.any(axis=_normalize_dims(dim, self.ndim, "any"), keepdims=keepdim))

    # ------------------------------------------------------------------ integer-style division

    def _check_integer_divisor(self, other, op):
        """Integer division by zero raises, as in PyTorch (NumPy would return 0 with a warning);
        so does dividing two bool tensors."""
        if self.data.dtype == np.bool_ and other.data.dtype == np.bool_:
            raise TypeError(f"{op}: not defined for two bool tensors (as in PyTorch)")
        shape = _broadcast_shapes_or_none(self.shape, other.shape)
        empty = shape is not None and 0 in shape  # nothing is divided: PyTorch returns the empty result
        if self.data.dtype.kind in "iub" and other.data.dtype.kind in "iub" and not empty and np.any(other.data == 0):
            raise ZeroDivisionError(f"{op}: integer division by zero")

    def floor_divide(self, other):
        """`a // b`: the quotient rounded down (PyTorch's rule since 1.13); no derivative, as in PyTorch."""
        other = self._other(other)
        self._check_integer_divisor(other, "floor_divide")
        with np.errstate(divide="ignore", invalid="ignore"):
            out, _, _ = self._elementwise(other, np.floor_divide, "floor_divide")

        def backward(g):
            raise RuntimeError("floor_divide: the derivative of // is not defined (PyTorch does not implement it either)")

        return self._result(out, (self, other), backward, "FloorDivideBackward")

    def remainder(self, other):
        """`a % b`: the remainder with the sign of the divisor (Python's and PyTorch's rule)."""
        return self._modulo(other, np.remainder, np.floor, "remainder")

    def fmod(self, other):
        """The remainder with the sign of the dividend (C's rule, `torch.fmod`)."""
        return self._modulo(other, np.fmod, np.trunc, "fmod")

    def _modulo(self, other, fn, rounding, op):
        other = self._other(other)
        self._check_integer_divisor(other, op)
        with np.errstate(divide="ignore", invalid="ignore"):
            out, a, b = self._elementwise(other, fn, op)

        def backward(g):  # a - rounding(a / b) * b: d/da = 1, d/db = -rounding(a / b)
            grad_b = None
            if other._requires_grad:
                with np.errstate(divide="ignore", invalid="ignore"):
                    grad_b = _unbroadcast(-g * rounding(a / b), b.shape)
            return (_unbroadcast(g, a.shape) if self._requires_grad else None), grad_b

        return self._result(out, (self, other), backward, _MODULO[op])

    __floordiv__, __mod__ = floor_divide, remainder

    def __rfloordiv__(self, other):
        return self._other(other).floor_divide(self)

    def __rmod__(self, other):
        return self._other(other).remainder(self)

    def __ifloordiv__(self, other):
        self._check_integer_divisor(self._other(other), "floor_divide_")
        return self._inplace(other, np.floor_divide, "floor_divide_")

    def __imod__(self, other):
        self._check_integer_divisor(self._other(other), "remainder_")
        return self._inplace(other, np.remainder, "remainder_")

    # ------------------------------------------------------------------ comparisons by name

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def __xor__(self, other):
        return self._compare(other, np.logical_xor if self.data.dtype == np.bool_ else np.bitwise_xor, "xor")

    def __rand__(self, other):
        return self._other(other) & self

    def __ror__(self, other):
        return self._other(other) | self

    def logical_not(self):
        return tensor.Tensor(np.logical_not(self.data))

    logical_and, logical_or = __and__, __or__

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """Elementwise |a - b| <= atol + rtol * |b| (no gradient)."""
        other = self._other(other)
        if other.data.dtype != self.data.dtype:  # PyTorch compares like with like
            raise TypeError(f"isclose: both tensors need the same dtype, got {self.dtype} and {other.dtype}")
        out, _, _ = self._elementwise(other, lambda a, b: np.isclose(a, b, rtol, atol, equal_nan), "isclose")
        return tensor.Tensor(out)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """True when every element is close (a Python bool, as in PyTorch)."""
        return bool(self.isclose(other, rtol, atol, equal_nan).data.all())

    def equal(self, other):
        """True when both tensors have the same shape and elements."""
        other = self._other(other)
        return self.shape == other.shape and bool(np.array_equal(self.data, other.data))
