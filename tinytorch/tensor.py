"""Tensor: an n-dimensional array that records the operations applied to it, so that
`backward()` can compute gradients by reverse-mode automatic differentiation.

Each result of a differentiable operation keeps its inputs (`_parents`) and a closure
(`_backward`) that maps the gradient of the result to the gradients of the inputs, plus a
sequence number (`_seq`) counting recorded operations. An operation is always recorded after
its inputs, so visiting nodes from the highest sequence number down is a topological order:
`backward()` does that with a heap, calling the closures.
"""

import heapq
import itertools
import math
from collections import namedtuple

import numpy as np

from . import grad_mode
from . import kernels
from .kernels import mm
from .random import rng_of

float16, float32, float64 = np.float16, np.float32, np.float64
int8, int32, int64, bool_ = np.int8, np.int32, np.int64, np.bool_

MinMax = namedtuple("MinMax", ["values", "indices"])
TopK = namedtuple("TopK", ["values", "indices"])

_sequence = itertools.count(1)  # numbers recorded operations in creation order


def _as_array(data, dtype=None):
    """NumPy array for `data`; Python floats default to float32 and ints to int64, as in PyTorch."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    array = np.asarray(data, dtype=dtype)
    if isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, like an array
        return array
    if dtype is None:
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        elif array.dtype.kind == "i" and array.dtype != np.int64:  # int32 default on 32-bit WebAssembly
            array = array.astype(np.int64)
    return array


def _promoted(a, b, to_float=False):
    """Operands with PyTorch's promotion: an integer or bool array takes the dtype of a floating
    one (NumPy would turn int64 with float32 into float64); `to_float` (true division) turns two
    non-floating operands into float32."""
    a_float, b_float = a.dtype.kind == "f", b.dtype.kind == "f"
    if a_float and not b_float:
        b = b.astype(a.dtype)
    elif b_float and not a_float:
        a = a.astype(b.dtype)
    elif to_float and not a_float:
        a, b = a.astype(np.float32), b.astype(np.float32)
    return a, b


def _unbroadcast(grad, shape):
    """Sum `grad` over the axes that broadcasting expanded, so it has `shape` again."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def _normalize_dims(dim, ndim, op):
    """Sorted tuple of non-negative axes for `dim` (int, tuple or None = all)."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dimensions")
    if ndim == 0:  # a 0-d tensor accepts dim 0 / -1 and has nothing to reduce
        return ()
    axes = tuple(sorted(d % ndim for d in dims))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dim {dim} names the same dimension twice")
    return axes


def _normalize_dim(dim, ndim, op):
    """One non-negative axis for `dim` (for ops that work along a single dimension)."""
    if ndim == 0:
        raise IndexError(f"{op}: needs a tensor with at least 1 dimension, got a 0-d tensor")
    (axis,) = _normalize_dims(dim, ndim, op)
    return axis


def _size_args(args):
    """Accept both `f(2, 3)` and `f((2, 3))` for shape arguments."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def _erf(x):
    """Error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7); NumPy has no erf."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _freed_backward(grad):
    raise RuntimeError(
        "backward: trying to backward through the graph a second time; its intermediate "
        "values were freed by the first backward(). Pass retain_graph=True to the first call "
        "if you need to call backward twice."
    )


def _scatter_add(shape, index, g):
    """Gradient of `x[index]`: zeros of `shape` with `g` added at `index` (repeats add up)."""
    grad = np.zeros(shape, dtype=g.dtype)
    if g.size == 0:
        return grad
    if isinstance(index, np.ndarray) and index.dtype.kind in "iu" and len(shape) > 1:
        # whole rows picked by one integer array (an embedding lookup): sorting the rows and
        # summing runs of equal rows is several times faster than np.add.at
        rows = index.reshape(-1) % shape[0]  # (N,)
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        starts = np.flatnonzero(np.diff(sorted_rows, prepend=-1))  # first of each run
        g_rows = g.reshape(rows.size, -1)[order]  # (N, row size)
        grad.reshape(shape[0], -1)[sorted_rows[starts]] = np.add.reduceat(g_rows, starts, axis=0)
    elif isinstance(index, np.ndarray) and index.dtype == np.bool_:
        grad[index] = g  # a mask selects each element at most once
    else:
        np.add.at(grad, index, g)
    return grad


class Tensor:
    """An array with optional gradient tracking. `data` is the underlying NumPy array."""

    # NumPy ufuncs and operators on arrays defer to our reflected operators, so
    # `np.float32(2) * t` and `array + t` return Tensors (recorded), never detached arrays.
    __array_ufunc__ = None
    _seq = 0  # leaves come after every recorded operation in backward's order

    def __init__(self, data, dtype=None, requires_grad=False):
        self.data = _as_array(data, dtype)
        self.grad = None
        self._parents = ()
        self._backward = None
        self._op = ""
        self._retains_grad = False
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    # ------------------------------------------------------------------ graph plumbing

    @classmethod
    def _result(cls, data, parents, backward, op):
        """The output of an operation; records it when any input requires grad.

        `backward(grad)` returns one gradient array (or None) per parent.
        """
        if type(data) is not np.ndarray:  # NumPy returns scalars, not 0-d arrays, from 0-d ops
            data = np.asarray(data)
        out = cls.__new__(cls)
        out.data, out.grad, out._op, out._retains_grad = data, None, op, False
        out._parents, out._backward, out._requires_grad = (), None, False
        if grad_mode._enabled:
            for p in parents:
                if p._requires_grad:
                    out._parents, out._backward, out._requires_grad = parents, backward, True
                    out._seq = next(_sequence)
                    break
        return out

    @classmethod
    def _constant(cls, array):
        """A tensor that does not require grad around `array` (fast path for scalar operands)."""
        out = cls.__new__(cls)
        out.data, out.grad, out._op, out._retains_grad = array, None, "", False
        out._parents, out._backward, out._requires_grad = (), None, False
        return out

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self.data.dtype.kind != "f":
            raise RuntimeError(
                f"requires_grad: only floating-point tensors can require gradients, got dtype {self.data.dtype}"
            )
        if not self.is_leaf and bool(value) != self._requires_grad:
            raise RuntimeError(
                "requires_grad: only leaf tensors can change requires_grad; use .detach() for a "
                "copy cut from the graph"
            )
        self._requires_grad = bool(value)

    @property
    def is_leaf(self):
        """True for tensors created by the user rather than by a recorded operation."""
        return self._backward is None

    @property
    def grad_fn(self):
        """Name of the operation that produced this tensor, or None for leaves."""
        return None if self._backward is None else self._op

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor after backward."""
        self._retains_grad = True
        return self

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def backward(self, gradient=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires grad."""
        if not self._requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no grad_fn")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly created only for scalar outputs, "
                    f"got shape {self.shape}; pass gradient= with that shape"
                )
            gradient = np.ones_like(self.data)
        else:
            gradient = _as_array(gradient, self.data.dtype)
            if gradient.shape != self.data.shape:
                raise ValueError(
                    f"backward: gradient shape {gradient.shape} does not match tensor shape {self.shape}"
                )
        with grad_mode.no_grad():  # a backward written with Tensor ops must not record a graph
            self._run_backward(gradient, retain_graph)

    def _run_backward(self, gradient, retain_graph):
        # `grads` holds the summed gradient of every node waiting in `queue`. The queue pops
        # the most recently recorded node first: all nodes that feed gradient into a node were
        # recorded after it, so its gradient is complete when it is popped.
        grads = {id(self): gradient}
        queue = [(-self._seq, id(self), self)]
        while queue:
            _, key, node = heapq.heappop(queue)
            grad = grads.pop(key)
            if node._backward is None:  # a leaf
                node._accumulate(grad)
                continue
            if node._retains_grad:
                node._accumulate(grad)
            for parent, parent_grad in zip(node._parents, node._backward(grad)):
                if parent_grad is None or not parent._requires_grad:
                    continue
                parent_grad = _checked_grad(parent_grad, parent, node)
                key = id(parent)
                if key in grads:
                    grads[key] = grads[key] + parent_grad
                else:
                    grads[key] = parent_grad
                    heapq.heappush(queue, (-parent._seq, key, parent))
            if not retain_graph:
                # drop the closure and the inputs so intermediate arrays can be freed now
                # rather than when the output tensor goes away
                node._backward, node._parents = _freed_backward, ()

    def _accumulate(self, grad):
        if self.grad is None:
            # a copy: `grad` may be shared with other nodes or be a read-only broadcast view
            self.grad = Tensor(np.array(grad, dtype=self.data.dtype))
        else:
            self.grad.data = np.asarray(self.grad.data + grad)

    # ------------------------------------------------------------------ basic properties

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return "cpu"

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self):
        return self.data.ndim

    def numel(self):
        return self.data.size

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted, got shape {self.shape}")
        return self.data.item()

    def numpy(self):
        return self.data

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        """`np.asarray(t)` gives the data (no gradient tracking)."""
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError(f"index: only one-element integer tensors can be used as an index, got {self.dtype} {self.shape}")
        return int(self.data.item())

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extra = ""
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.data.dtype}"
        if self._backward is not None:
            extra += f", grad_fn=<{self._op}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"bool: the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ dtype conversion

    def to(self, dtype):
        """A copy with another dtype (`to("cpu")` is accepted and returns self); gradients
        flow back through float casts."""
        if isinstance(dtype, str) and dtype == "cpu":
            return self
        source = self.data.dtype
        if np.dtype(dtype) == source:
            return self
        out_data = self.data.astype(dtype)
        if out_data.dtype.kind != "f":
            return Tensor(out_data)
        return Tensor._result(out_data, (self,), lambda g: (g.astype(source),), "ToBackward")

    def cpu(self):
        return self

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def type_as(self, other):
        return self.to(other.dtype)

    # ------------------------------------------------------------------ arithmetic

    def _other(self, other):
        """`other` as a Tensor. Python and NumPy scalars take this tensor's dtype (so a float32
        tensor times 0.5 stays float32); a float scalar with an integer tensor gives float32."""
        if isinstance(other, Tensor):
            return other
        kind = self.data.dtype.kind
        if kind == "f":
            return Tensor._constant(np.asarray(other, dtype=self.data.dtype))
        if isinstance(other, (bool, int, float, np.generic)):
            if isinstance(other, (float, np.floating)):
                return Tensor(np.asarray(other, dtype=np.float32))
            if kind in "iu" and not isinstance(other, (bool, np.bool_)):
                return Tensor(np.asarray(other, dtype=self.data.dtype))
        return Tensor(other)

    def _elementwise(self, other, fn, op):
        """`(fn(a, b), a, b)` for a broadcasting binary NumPy function, with a clear error on
        bad shapes. As in PyTorch, an integer operand takes the dtype of a floating one (NumPy
        would make int64 with float32 float64), and division of integers gives float32."""
        a, b = self.data, other.data
        if a.dtype != b.dtype or (fn is np.divide and a.dtype.kind != "f"):
            a, b = _promoted(a, b, to_float=fn is np.divide)
        try:
            return fn(a, b), a, b
        except ValueError:
            if _broadcast_shapes_or_none(a.shape, b.shape) is not None:
                raise  # not a shape problem (e.g. integers to negative integer powers)
            raise ValueError(
                f"{op}: shapes {self.shape} and {other.shape} cannot be broadcast together"
            ) from None

    def __add__(self, other):
        other = self._other(other)
        out, _, _ = self._elementwise(other, np.add, "add")

        def backward(g):
            return (
                _unbroadcast(g, self.shape) if self._requires_grad else None,
                _unbroadcast(g, other.shape) if other._requires_grad else None,
            )

        return Tensor._result(out, (self, other), backward, "AddBackward")

    def __sub__(self, other):
        other = self._other(other)
        out, _, _ = self._elementwise(other, np.subtract, "sub")

        def backward(g):
            return (
                _unbroadcast(g, self.shape) if self._requires_grad else None,
                _unbroadcast(-g, other.shape) if other._requires_grad else None,
            )

        return Tensor._result(out, (self, other), backward, "SubBackward")

    def __mul__(self, other):
        other = self._other(other)
        out, a, b = self._elementwise(other, np.multiply, "mul")

        def backward(g):
            return (
                _unbroadcast(g * b, a.shape) if self._requires_grad else None,
                _unbroadcast(g * a, b.shape) if other._requires_grad else None,
            )

        return Tensor._result(out, (self, other), backward, "MulBackward")

    def __truediv__(self, other):
        other = self._other(other)
        out, a, b = self._elementwise(other, np.divide, "div")

        def backward(g):
            grad_a = grad_b = None
            if self._requires_grad:
                grad_a = _unbroadcast(g / b, a.shape)
            if other._requires_grad:
                grad_b = _unbroadcast(-g * out / b, b.shape)
            return grad_a, grad_b

        return Tensor._result(out, (self, other), backward, "DivBackward")

    def __pow__(self, exponent):
        exponent = self._other(exponent)
        out, a, p = self._elementwise(exponent, np.power, "pow")

        def backward(g):
            grad_a = grad_p = None
            if self._requires_grad:
                with np.errstate(divide="ignore", invalid="ignore"):
                    local = p * np.power(a, p - 1)
                if np.any(p == 0):  # x ** 0 has zero gradient, also at x = 0 (not 0 * inf)
                    local = np.where(p == 0, 0, local)
                grad_a = _unbroadcast(g * local, a.shape)
            if exponent._requires_grad:
                with np.errstate(divide="ignore", invalid="ignore"):
                    grad_p = _unbroadcast(g * out * np.log(np.where(a > 0, a, 1)), p.shape)
            return grad_a, grad_p

        return Tensor._result(out, (self, exponent), backward, "PowBackward")

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
        return Tensor._result(-self.data, (self,), lambda g: (-g,), "NegBackward")

    def __pos__(self):
        return self

    # PyTorch's method forms
    add, sub, mul, div, pow = __add__, __sub__, __mul__, __truediv__, __pow__

    def clone(self):
        """A copy of the data that stays in the graph (gradients flow back unchanged)."""
        return Tensor._result(self.data.copy(), (self,), lambda g: (g,), "CloneBackward")

    # ------------------------------------------------------------------ in-place updates

    def _check_inplace(self, op, other=None):
        """In-place updates are not recorded, so refuse them where gradients would be wrong."""
        if not grad_mode._enabled:
            return
        if self._requires_grad:
            raise RuntimeError(
                f"{op}: a tensor that requires grad cannot be modified in place while recording; "
                "wrap the update in `with tinytorch.no_grad():`"
            )
        if isinstance(other, Tensor) and other._requires_grad:
            raise RuntimeError(
                f"{op}: the operand requires grad, but in-place updates are not recorded; "
                "use the out-of-place form (e.g. `a = a + b`) to keep the gradient"
            )

    def _inplace(self, other, fn, op):
        """`self.data = fn(self.data, other)` in place, with clear errors."""
        self._check_inplace(op, other)
        other = self._other(other)
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
        return self

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

    def _assign(self, index, value, op):
        self._check_inplace(op, value)
        value = value.data if isinstance(value, Tensor) else value
        try:
            self.data[index] = value
        except ValueError as error:
            if not self.data.flags.writeable:
                raise ValueError(f"{op}: this tensor is a read-only view (e.g. from expand); use .clone() first") from None
            raise ValueError(f"{op}: {error} (tensor shape {self.shape}, value shape {np.shape(value)})") from None
        except IndexError as error:
            raise IndexError(f"{op}: {error} (tensor shape {self.shape})") from None
        return self

    def copy_(self, src):
        """Copy `src` (broadcast to this shape, cast to this dtype) into this tensor."""
        src_shape = np.shape(src.data if isinstance(src, Tensor) else src)
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
        return Tensor(self._elementwise(self._other(other), fn, op)[0])

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
        return Tensor(~self.data)

    def __and__(self, other):
        return self._compare(other, np.logical_and, "logical_and")

    def __or__(self, other):
        return self._compare(other, np.logical_or, "logical_or")

    def all(self, dim=None, keepdim=False):
        return Tensor(self.data.all(axis=_normalize_dims(dim, self.ndim, "all"), keepdims=keepdim))

    def any(self, dim=None, keepdim=False):
        return Tensor(self.data.any(axis=_normalize_dims(dim, self.ndim, "any"), keepdims=keepdim))

    # ------------------------------------------------------------------ matmul

    def matmul(self, other):
        """Matrix product with NumPy's rules: 1-D operands, batching and broadcasting."""
        other = self._other(other)
        if self.ndim == 0 or other.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {self.shape} and {other.shape}")
        a, b = _promoted(self.data, other.data)
        a = a[None, :] if self.ndim == 1 else a  # (..., n, k)
        b = b[:, None] if other.ndim == 1 else b  # (..., k, m)
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"matmul: shapes {self.shape} and {other.shape} are not aligned: "
                f"{a.shape[-1]} != {b.shape[-2]}"
            )
        # (..., n, k) @ (k, m), e.g. activations @ weights: one big GEMM over all rows
        # instead of NumPy's loop of one small GEMM per batch item
        rows_times_matrix = a.ndim > 2 and b.ndim == 2
        if rows_times_matrix:
            full = mm(a.reshape(-1, a.shape[-1]), b).reshape(a.shape[:-1] + b.shape[-1:])
        else:
            try:
                full = mm(a, b)  # (..., n, m)
            except ValueError:
                raise ValueError(
                    f"matmul: batch dimensions of shapes {self.shape} and {other.shape} cannot be broadcast"
                ) from None
        out = full
        if self.ndim == 1:
            out = out[..., 0, :]
        if other.ndim == 1:
            out = out[..., 0]

        def backward(g):
            g = g.reshape(full.shape)  # (..., n, m)
            grad_a = grad_b = None
            if self._requires_grad:
                if rows_times_matrix:
                    grad_a = mm(g.reshape(-1, g.shape[-1]), b.T)
                elif a.ndim == 2 and b.ndim > 2:  # (n, k) shared across a batch of b: one GEMM
                    n, k = a.shape
                    grad_a = mm(np.moveaxis(g, -2, 0).reshape(n, -1), np.moveaxis(b, -2, 0).reshape(k, -1).T)
                else:
                    grad_a = _unbroadcast(mm(g, np.swapaxes(b, -1, -2)), a.shape)
                grad_a = grad_a.reshape(self.shape)
            if other._requires_grad:
                if b.ndim == 2 and (rows_times_matrix or a.ndim == 2):  # one GEMM over all rows
                    a2, g2 = a.reshape(-1, a.shape[-1]), g.reshape(-1, g.shape[-1])  # (N, k), (N, m)
                    if b.flags.f_contiguous and not b.flags.c_contiguous:
                        # b is a transposed view (x @ W.T): compute the gradient in W's layout,
                        # so transposing it back (and copying it into W.grad) is contiguous
                        grad_b = mm(g2.T, a2).T
                    else:
                        grad_b = mm(a2.T, g2)
                else:
                    grad_b = _unbroadcast(mm(np.swapaxes(a, -1, -2), g), b.shape)
                grad_b = grad_b.reshape(other.shape)
            return grad_a, grad_b

        return Tensor._result(out, (self, other), backward, "MatmulBackward")

    __matmul__ = matmul

    def __rmatmul__(self, other):
        return self._other(other).matmul(self)

    # ------------------------------------------------------------------ reductions

    def sum(self, dim=None, keepdim=False):
        dims = _normalize_dims(dim, self.ndim, "sum")
        shape = self.shape
        out = self.data.sum(axis=dims, keepdims=keepdim)

        def backward(g):
            if not keepdim:
                g = np.expand_dims(g, dims)
            return (np.broadcast_to(g, shape),)

        return Tensor._result(np.asarray(out), (self,), backward, "SumBackward")

    def _reduced_count(self, dims, op):
        if self.data.dtype.kind != "f":
            raise TypeError(f"{op}: input dtype must be floating point, got {self.dtype}; use .float() first")
        return math.prod(self.shape[d] for d in dims)

    def mean(self, dim=None, keepdim=False):
        dims = _normalize_dims(dim, self.ndim, "mean")
        count = self._reduced_count(dims, "mean")
        if count == 0:
            raise ValueError(f"mean: cannot average over an empty dimension of shape {self.shape}")
        shape = self.shape
        out = self.data.mean(axis=dims, keepdims=keepdim)

        def backward(g):
            if not keepdim:
                g = np.expand_dims(g, dims)
            return (np.broadcast_to(g / count, shape),)

        return Tensor._result(np.asarray(out), (self,), backward, "MeanBackward")

    def var(self, dim=None, keepdim=False, correction=1, unbiased=None):
        """Variance; `correction=1` is Bessel's correction (PyTorch's default), 0 the biased one
        (`unbiased=False` is the older spelling of `correction=0`)."""
        if unbiased is not None:
            correction = int(unbiased)
        dims = _normalize_dims(dim, self.ndim, "var")
        count = self._reduced_count(dims, "var")
        x = self.data
        centered = x - x.mean(axis=dims, keepdims=True)
        dof = max(count - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):  # no degrees of freedom: nan, as in PyTorch
            out = (centered * centered).sum(axis=dims, keepdims=keepdim) / dof
        scale = 2 / dof if dof else math.inf

        def backward(g):
            if not keepdim:
                g = np.expand_dims(g, dims)
            with np.errstate(invalid="ignore"):
                return (g * centered * scale,)

        return Tensor._result(out, (self,), backward, "VarBackward")

    def std(self, dim=None, keepdim=False, correction=1, unbiased=None):
        """Standard deviation: the square root of `var` with the same arguments."""
        return self.var(dim, keepdim, correction, unbiased).sqrt()

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) along `dim`, computed without overflow."""
        dims = _normalize_dims(dim, self.ndim, "logsumexp")
        x = self.data
        peak = x.max(axis=dims, keepdims=True)
        peak = np.where(np.isfinite(peak), peak, 0)  # rows of -inf stay -inf, not nan
        with np.errstate(divide="ignore"):  # log(0) = -inf for rows that are all -inf
            out = np.log(np.exp(x - peak).sum(axis=dims, keepdims=True)) + peak  # keepdim shape

        def backward(g):
            if not keepdim:
                g = np.expand_dims(g, dims)
            return (g * np.exp(x - out),)

        result = out if keepdim else out.squeeze(dims)
        return Tensor._result(result, (self,), backward, "LogsumexpBackward")

    def _extreme(self, dim, keepdim, pick, arg, op):
        if self.data.size == 0:
            raise ValueError(f"{op}: cannot reduce an empty tensor of shape {self.shape}")
        if dim is None:
            out = np.asarray(pick(self.data))
            # the gradient is shared evenly between tied extremes, as PyTorch does
            mask = self.data == out
            count = int(mask.sum())
            return Tensor._result(out, (self,), lambda g: (mask * (g / count),), f"{op.capitalize()}Backward")
        axis = _normalize_dim(dim, self.ndim, op)
        indices = np.expand_dims(arg(self.data, axis=axis), axis)
        values = np.take_along_axis(self.data, indices, axis)
        shape = self.shape

        def backward(g):  # with dim, the gradient goes to the returned index only
            grad = np.zeros(shape, dtype=g.dtype)
            np.put_along_axis(grad, indices, g if keepdim else np.expand_dims(g, axis), axis)
            return (grad,)

        if not keepdim:
            values = values.squeeze(axis)
        result = Tensor._result(values, (self,), backward, f"{op.capitalize()}Backward")
        return MinMax(result, Tensor((indices if keepdim else indices.squeeze(axis)).astype(np.int64)))

    def max(self, dim=None, keepdim=False):
        """Largest element; with `dim`, a (values, indices) pair like PyTorch."""
        return self._extreme(dim, keepdim, np.max, np.argmax, "max")

    def min(self, dim=None, keepdim=False):
        """Smallest element; with `dim`, a (values, indices) pair like PyTorch."""
        return self._extreme(dim, keepdim, np.min, np.argmin, "min")

    def argmax(self, dim=None, keepdim=False):
        if dim is None:
            return Tensor(np.asarray(self.data.argmax(), dtype=np.int64))
        axis = _normalize_dim(dim, self.ndim, "argmax")
        return Tensor(self.data.argmax(axis=axis, keepdims=keepdim).astype(np.int64))

    def argmin(self, dim=None, keepdim=False):
        if dim is None:
            return Tensor(np.asarray(self.data.argmin(), dtype=np.int64))
        axis = _normalize_dim(dim, self.ndim, "argmin")
        return Tensor(self.data.argmin(axis=axis, keepdims=keepdim).astype(np.int64))

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """The `k` largest (or smallest) elements along `dim` and their indices."""
        axis = _normalize_dim(dim, self.ndim, "topk")
        if not 0 <= k <= self.shape[axis]:
            raise ValueError(f"topk: k={k} is out of range for dim {dim} of size {self.shape[axis]} (shape {self.shape})")
        order = np.argsort(-self.data if largest else self.data, axis=axis, kind="stable")
        indices = np.take(order, np.arange(k), axis=axis)
        values = np.take_along_axis(self.data, indices, axis)
        shape = self.shape

        def backward(g):
            grad = np.zeros(shape, dtype=g.dtype)
            np.put_along_axis(grad, indices, g, axis)
            return (grad,)

        return TopK(Tensor._result(values, (self,), backward, "TopkBackward"), Tensor(indices.astype(np.int64)))

    # ------------------------------------------------------------------ shape manipulation

    def reshape(self, *shape):
        shape = _size_args(shape)
        source = self.shape
        try:
            out = self.data.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape tensor of shape {source} ({self.data.size} elements) into {shape}") from None
        return Tensor._result(out, (self,), lambda g: (g.reshape(source),), "ReshapeBackward")

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start = _normalize_dim(start_dim, self.ndim, "flatten")
        end = _normalize_dim(end_dim, self.ndim, "flatten")
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {self.shape})")
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1:])

    def unsqueeze(self, dim):
        if not -(self.ndim + 1) <= dim <= self.ndim:
            raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor with {self.ndim} dimensions")
        dim = dim % (self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        """Drop size-1 dimensions (all, or those in `dim`; others in `dim` are kept)."""
        dims = _normalize_dims(dim, self.ndim, "squeeze")
        shape = tuple(n for i, n in enumerate(self.shape) if not (i in dims and n == 1))
        return self if shape == self.shape else self.reshape(shape)

    def expand(self, *shape):
        shape = _size_args(shape)
        source = self.shape
        lead = len(shape) - self.ndim
        if lead < 0 or any(n == -1 for n in shape[:lead]):
            raise ValueError(f"expand: cannot expand shape {source} to {shape}")
        shape = tuple(source[i - lead] if n == -1 else n for i, n in enumerate(shape))
        try:
            out = np.broadcast_to(self.data, shape)
        except ValueError:
            raise ValueError(f"expand: cannot expand shape {source} to {shape}") from None
        return Tensor._result(out, (self,), lambda g: (_unbroadcast(g, source),), "ExpandBackward")

    def repeat(self, *sizes):
        """Tile the tensor `sizes[i]` times along each dimension (like `torch.Tensor.repeat`)."""
        sizes = _size_args(sizes)
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat: needs at least {self.ndim} sizes for shape {self.shape}, got {sizes}")
        source = (1,) * (len(sizes) - self.ndim) + self.shape
        out = np.tile(self.data.reshape(source), sizes)
        tiled = tuple(n for pair in zip(sizes, source) for n in pair)  # (r0, s0, r1, s1, ...)

        def backward(g):
            axes = tuple(range(0, 2 * len(sizes), 2))
            return (g.reshape(tiled).sum(axis=axes).reshape(self.shape),)

        return Tensor._result(out, (self,), backward, "RepeatBackward")

    def permute(self, *dims):
        dims = _size_args(dims)
        n = self.ndim
        if len(dims) != n or any(not -n <= d < n for d in dims) or len({d % n for d in dims}) != n:
            raise ValueError(f"permute: dims {dims} are not a permutation of the {n} dims of shape {self.shape}")
        dims = tuple(d % n for d in dims)
        inverse = tuple(np.argsort(dims))
        return Tensor._result(
            self.data.transpose(dims), (self,), lambda g: (g.transpose(inverse),), "PermuteBackward"
        )

    def transpose(self, dim0, dim1):
        dims = list(range(self.ndim))
        a, b = _normalize_dim(dim0, self.ndim, "transpose"), _normalize_dim(dim1, self.ndim, "transpose")
        dims[a], dims[b] = dims[b], dims[a]
        return self.permute(*dims)

    @property
    def mT(self):
        """Transpose of the last two dimensions (batched matrices)."""
        return self.transpose(-2, -1)

    def contiguous(self):
        return self

    def __getitem__(self, index):
        index = _numpy_index(index)
        shape = self.shape
        try:
            out = self.data[index]
        except IndexError as error:
            raise IndexError(f"index: {error} (tensor shape {shape})") from None
        advanced = _is_advanced(index)

        def backward(g):
            if advanced:
                return (_scatter_add(shape, index, g),)
            grad = np.zeros(shape, dtype=g.dtype)
            grad[index] = g
            return (grad,)

        return Tensor._result(np.asarray(out), (self,), backward, "IndexBackward")

    def split(self, split_size, dim=0):
        """Pieces along `dim`: of `split_size` each (the last may be smaller), or of the sizes
        in a list."""
        axis = _normalize_dim(dim, self.ndim, "split")
        length = self.shape[axis]
        if isinstance(split_size, (list, tuple)):
            if sum(split_size) != length or any(s < 0 for s in split_size):
                raise ValueError(f"split: sizes {list(split_size)} do not add up to {length} (dim {dim} of shape {self.shape})")
            bounds = np.cumsum([0, *split_size]).tolist()
        else:
            if split_size <= 0:
                raise ValueError(f"split: split_size must be positive, got {split_size}")
            bounds = list(range(0, length, split_size)) + [length]
        prefix = (slice(None),) * axis
        return tuple(self[prefix + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:]))

    def chunk(self, chunks, dim=0):
        axis = _normalize_dim(dim, self.ndim, "chunk")
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        return self.split(max(-(-self.shape[axis] // chunks), 1), dim)

    def masked_fill(self, mask, value):
        """Copy with `value` where `mask` is True (mask broadcasts to this shape)."""
        mask = _as_array(mask).astype(bool, copy=False)
        if _broadcast_shapes_or_none(mask.shape, self.shape) != self.shape:
            raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to {self.shape}")
        if isinstance(value, Tensor):
            if value._requires_grad:
                return where(Tensor(mask), value, self)
            value = value.data
        out = np.where(mask, np.asarray(value, dtype=self.data.dtype), self.data)
        keep = ~mask
        return Tensor._result(out, (self,), lambda g: (g * keep,), "MaskedFillBackward")

    def tril(self, diagonal=0):
        """Lower triangle of the last two dimensions (the rest set to zero)."""
        return self._triangle(np.tril, diagonal, "tril")

    def triu(self, diagonal=0):
        """Upper triangle of the last two dimensions (the rest set to zero)."""
        return self._triangle(np.triu, diagonal, "triu")

    def _triangle(self, fn, diagonal, op):
        if self.ndim < 2:
            raise ValueError(f"{op}: needs at least 2 dimensions, got shape {self.shape}")
        keep = fn(np.ones(self.shape[-2:], dtype=bool), diagonal)
        out = np.where(keep, self.data, 0)
        return Tensor._result(out, (self,), lambda g: (g * keep,), f"{op.capitalize()}Backward")

    # ------------------------------------------------------------------ elementwise functions

    # Backward passes below select gradients with `g * mask` rather than `np.where(mask, g, 0)`:
    # on irregular masks the multiply is ~10x faster.

    def _unary(self, out, local_grad, op):
        """Result of an elementwise op whose derivative is `local_grad()` (computed lazily)."""
        return Tensor._result(out, (self,), lambda g: (g * local_grad(),), op)

    def exp(self):
        out = np.exp(self.data)
        return self._unary(out, lambda: out, "ExpBackward")

    def log(self):
        x = self.data
        return Tensor._result(np.log(x), (self,), lambda g: (g / x,), "LogBackward")

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
        return Tensor._result(out, (self,), lambda g: (g * inside,), "ClampBackward")

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

        return Tensor._result(out, (self, other), backward, f"{op.capitalize()}Backward")

    def tanh(self):
        out = np.tanh(self.data)
        return self._unary(out, lambda: 1.0 - out * out, "TanhBackward")

    def sigmoid(self):
        # exp(-log(1 + e^-x)) never overflows, unlike 1 / (1 + e^-x) for very negative x
        out = np.exp(-np.logaddexp(0, -self.data)).astype(self.data.dtype, copy=False)
        return self._unary(out, lambda: out * (1.0 - out), "SigmoidBackward")

    def relu(self):
        x = self.data
        return Tensor._result(kernels.relu(x), (self,), lambda g: (kernels.masked(g, x > 0),), "ReluBackward")

    def gelu(self, approximate="none"):
        """GELU: x * Phi(x); `approximate="tanh"` uses the tanh formula (as in GPT-2)."""
        x = self.data
        if approximate == "tanh":
            # in-place steps: GELU sits on the largest activations of a transformer, and fresh
            # temporaries for every step cost about a third more time
            c = math.sqrt(2.0 / math.pi)
            inner = x * x  # becomes tanh(c * (x + 0.044715 x^3)); x**3 would be ~100x slower
            inner *= 0.044715
            inner += 1.0
            inner *= x
            inner *= c
            np.tanh(inner, out=inner)
            out = inner + 1.0
            out *= x
            out *= 0.5  # 0.5 x (1 + inner)

            def local():  # 0.5 (1 + inner) + 0.5 x (1 - inner^2) c (1 + 3 * 0.044715 x^2)
                d = x * x
                d *= 3 * 0.044715
                d += 1.0
                d *= x
                d *= 0.5 * c
                slope = inner * inner
                np.subtract(1.0, slope, out=slope)
                d *= slope
                half = inner + 1.0
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
        shifted = np.exp(self.data - self.data.max(axis=axis, keepdims=True))
        out = shifted / shifted.sum(axis=axis, keepdims=True)
        return Tensor._result(
            out, (self,), lambda g: (out * (g - (g * out).sum(axis=axis, keepdims=True)),), "SoftmaxBackward"
        )

    def log_softmax(self, dim=-1):
        axis = _normalize_dim(dim, self.ndim, "log_softmax")
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        return Tensor._result(
            out, (self,), lambda g: (g - np.exp(out) * g.sum(axis=axis, keepdims=True),), "LogSoftmaxBackward"
        )


def _checked_grad(grad, parent, node):
    """The gradient `node` computed for `parent`, as an array of the parent's shape and dtype
    (a wrong shape from a hand-written backward would otherwise broadcast silently)."""
    if type(grad) is not np.ndarray:
        grad = np.asarray(grad)
    if grad.shape != parent.data.shape:
        raise RuntimeError(
            f"backward: {node._op} returned a gradient of shape {grad.shape} for an input of shape {parent.shape}"
        )
    if grad.dtype != parent.data.dtype:  # e.g. a float64 constant must not upcast float32 gradients
        grad = grad.astype(parent.data.dtype)
    return grad


def _numpy_index(index):
    """Translate Tensor and list indices (inside tuples too) to NumPy arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    if isinstance(index, tuple):
        return tuple(_numpy_index(i) if isinstance(i, (Tensor, list)) else i for i in index)
    return index


def _is_advanced(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) for p in parts)


def _check_same_shapes(tensors, dim, op, skip_dim):
    """Shapes of all tensors agree (except along `dim` for cat)."""
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    first = tensors[0].shape
    for t in tensors[1:]:
        a, b = list(first), list(t.shape)
        if skip_dim and len(a) == len(b):
            a[dim], b[dim] = 0, 0
        if a != b:
            where_ = f" except in dim {dim}" if skip_dim else ""
            raise ValueError(f"{op}: tensors must have the same shape{where_}, got {first} and {t.shape}")


def cat(tensors, dim=0):
    """Join tensors along an existing dimension."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    if any(t.ndim == 0 for t in tensors):
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    axis = _normalize_dim(dim, tensors[0].ndim, "cat")
    _check_same_shapes(tensors, axis, "cat", skip_dim=True)
    out = np.concatenate([t.data for t in tensors], axis=axis)
    bounds = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    return Tensor._result(out, tuple(tensors), lambda g: tuple(np.split(g, bounds, axis=axis)), "CatBackward")


def stack(tensors, dim=0):
    """Join tensors along a new dimension."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    _check_same_shapes(tensors, 0, "stack", skip_dim=False)
    ndim = tensors[0].ndim
    if not -(ndim + 1) <= dim <= ndim:
        raise IndexError(f"stack: dim {dim} is out of range for stacking tensors with {ndim} dimensions")
    axis = dim % (ndim + 1)
    out = np.stack([t.data for t in tensors], axis=axis)
    return Tensor._result(
        out, tuple(tensors), lambda g: tuple(np.moveaxis(g, axis, 0)), "StackBackward"
    )


def where(condition, input, other):
    """Elementwise choice: `input` where `condition` is True, else `other` (broadcasting).
    A scalar `input` or `other` takes the dtype of the tensor operand."""
    cond = _as_array(condition).astype(bool, copy=False)
    if isinstance(input, Tensor):
        a = input
        b = a._other(other)
    elif isinstance(other, Tensor):
        b = other
        a = b._other(input)
    else:
        a, b = Tensor(input), Tensor(other)
    try:
        out = np.where(cond, a.data, b.data)
    except ValueError:
        raise ValueError(
            f"where: shapes {cond.shape}, {a.shape} and {b.shape} cannot be broadcast together"
        ) from None

    def backward(g):
        return (
            _unbroadcast(g * cond, a.shape) if a._requires_grad else None,
            _unbroadcast(g * ~cond, b.shape) if b._requires_grad else None,
        )

    return Tensor._result(out, (a, b), backward, "WhereBackward")


def _broadcast_shapes_or_none(*shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None
