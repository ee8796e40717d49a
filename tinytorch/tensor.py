"""Tensor: an n-dimensional array that records the operations applied to it, so that
`backward()` can compute gradients by reverse-mode automatic differentiation.

Each result of a differentiable operation keeps its inputs (`_parents`) and a closure
(`_backward`) that maps the gradient of the result to the gradients of the inputs.
`backward()` visits the recorded graph in reverse topological order, calling those closures.
"""

from collections import namedtuple

import numpy as np

from . import grad_mode

float16, float32, float64 = np.float16, np.float32, np.float64
int8, int32, int64, bool_ = np.int8, np.int32, np.int64, np.bool_

MinMax = namedtuple("MinMax", ["values", "indices"])


def _as_array(data, dtype=None):
    """NumPy array for `data`; Python floats default to float32, as in PyTorch."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    array = np.asarray(data, dtype=dtype)
    if dtype is None and array.dtype == np.float64:
        array = array.astype(np.float32)
    return array


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
    """Tuple of non-negative axes for `dim` (int, tuple or None = all)."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(d % max(ndim, 1) for d in dims))


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


class Tensor:
    """An array with optional gradient tracking. `data` is the underlying NumPy array."""

    # NumPy defers to our operators, so `np.float32(2) * t` returns a Tensor.
    __array_priority__ = 1000

    def __init__(self, data, dtype=None, requires_grad=False):
        self.data = _as_array(data, dtype)
        self.grad = None
        self._parents = ()
        self._backward = None
        self._op = ""
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ graph plumbing

    @classmethod
    def _result(cls, data, parents, backward, op):
        """The output of an operation; records it when any input requires grad."""
        out = cls.__new__(cls)
        out.data, out.grad, out._op, out._retains_grad = data, None, op, False
        if grad_mode.is_grad_enabled() and any(p.requires_grad for p in parents):
            out._parents, out._backward, out.requires_grad = parents, backward, True
        else:
            out._parents, out._backward, out.requires_grad = (), None, False
        return out

    @property
    def is_leaf(self):
        """True for tensors created by the user rather than by a recorded operation."""
        return not self._parents

    @property
    def grad_fn(self):
        """Name of the operation that produced this tensor, or None for leaves."""
        return self._op or None if self._parents else None

    def requires_grad_(self, requires_grad=True):
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise RuntimeError(
                f"requires_grad: only floating-point tensors can require gradients, got dtype {self.data.dtype}"
            )
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
        if not self.requires_grad:
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
        grads = {id(self): gradient}
        for node in reversed(self._topological_order()):
            grad = grads.pop(id(node), None)
            if grad is None:
                continue
            if node.is_leaf or node._retains_grad:
                node._accumulate(grad)
            if node.is_leaf:
                continue
            for parent, parent_grad in zip(node._parents, node._backward(grad)):
                if parent_grad is None or not parent.requires_grad:
                    continue
                key = id(parent)
                grads[key] = grads[key] + parent_grad if key in grads else parent_grad
            if not retain_graph:
                node._backward = _freed_backward

    def _topological_order(self):
        """Nodes that require grad, each after all of its inputs (iterative DFS)."""
        order, visited, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node._parents if p.requires_grad and id(p) not in visited)
        return order

    def _accumulate(self, grad):
        grad = np.asarray(grad, dtype=self.data.dtype)
        if self.grad is None:
            self.grad = Tensor(grad.copy())
        else:
            self.grad.data = self.grad.data + grad

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

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extra = ""
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.data.dtype}"
        if self._parents:
            extra += f", grad_fn=<{self._op}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"bool: the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ dtype conversion

    def to(self, dtype):
        """A copy with another dtype; gradients flow back through float casts."""
        source = self.data.dtype
        out_data = self.data.astype(dtype)
        if not np.issubdtype(out_data.dtype, np.floating):
            return Tensor(out_data)
        return Tensor._result(out_data, (self,), lambda g: (g.astype(source),), "ToBackward")

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def long(self):
        return self.to(np.int64)

    def bool(self):
        return self.to(np.bool_)

    # ------------------------------------------------------------------ arithmetic

    def _other(self, other):
        if isinstance(other, Tensor):
            return other
        floating = np.issubdtype(self.data.dtype, np.floating)
        return Tensor(np.asarray(other, dtype=self.data.dtype if floating else None))

    def _elementwise(self, other, fn, op):
        """Apply a broadcasting binary NumPy function with a clear error on bad shapes."""
        try:
            return fn(self.data, other.data)
        except ValueError:
            raise ValueError(
                f"{op}: shapes {self.shape} and {other.shape} cannot be broadcast together"
            ) from None

    def __add__(self, other):
        other = self._other(other)
        a_shape, b_shape = self.shape, other.shape
        out = self._elementwise(other, np.add, "add")
        return Tensor._result(
            out, (self, other),
            lambda g: (_unbroadcast(g, a_shape), _unbroadcast(g, b_shape)), "AddBackward",
        )

    def __sub__(self, other):
        other = self._other(other)
        a_shape, b_shape = self.shape, other.shape
        out = self._elementwise(other, np.subtract, "sub")
        return Tensor._result(
            out, (self, other),
            lambda g: (_unbroadcast(g, a_shape), _unbroadcast(-g, b_shape)), "SubBackward",
        )

    def __mul__(self, other):
        other = self._other(other)
        a, b = self.data, other.data
        out = self._elementwise(other, np.multiply, "mul")
        return Tensor._result(
            out, (self, other),
            lambda g: (_unbroadcast(g * b, a.shape), _unbroadcast(g * a, b.shape)), "MulBackward",
        )

    def __truediv__(self, other):
        other = self._other(other)
        a, b = self.data, other.data
        out = self._elementwise(other, np.divide, "div")
        return Tensor._result(
            out, (self, other),
            lambda g: (_unbroadcast(g / b, a.shape), _unbroadcast(-g * out / b, b.shape)),
            "DivBackward",
        )

    def __pow__(self, exponent):
        exponent = self._other(exponent)
        a, p = self.data, exponent.data
        out = self._elementwise(exponent, np.power, "pow")

        def backward(g):
            grad_a = _unbroadcast(g * p * np.power(a, p - 1), a.shape)
            grad_p = None
            if exponent.requires_grad:
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

    def _inplace(self, other, fn, op):
        """In-place update of `data`; refused where it would corrupt gradients."""
        if grad_mode.is_grad_enabled() and self.requires_grad:
            raise RuntimeError(
                f"{op}: a tensor that requires grad cannot be modified in place while recording; "
                "wrap the update in `with tinytorch.no_grad():`"
            )
        other = self._other(other)
        result = self._elementwise(other, fn, op)
        if result.shape != self.shape:
            raise ValueError(f"{op}: result shape {result.shape} does not match tensor shape {self.shape}")
        self.data[...] = result
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

    def mul_(self, other):
        return self._inplace(other, np.multiply, "mul_")

    def copy_(self, other):
        return self._inplace(other, lambda a, b: np.broadcast_to(b, a.shape).astype(a.dtype), "copy_")

    def zero_(self):
        return self._inplace(0, lambda a, b: np.zeros_like(a), "zero_")

    def fill_(self, value):
        return self._inplace(value, lambda a, b: np.full_like(a, b), "fill_")

    # ------------------------------------------------------------------ comparisons (no grad)

    def _compare(self, other, fn, op):
        return Tensor(self._elementwise(self._other(other), fn, op))

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

    # ------------------------------------------------------------------ matmul

    def matmul(self, other):
        """Matrix product with NumPy's rules: 1-D operands, batching and broadcasting."""
        other = self._other(other)
        if self.ndim == 0 or other.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {self.shape} and {other.shape}")
        a = self.data[None, :] if self.ndim == 1 else self.data  # (..., n, k)
        b = other.data[:, None] if other.ndim == 1 else other.data  # (..., k, m)
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"matmul: shapes {self.shape} and {other.shape} are not aligned: "
                f"{a.shape[-1]} != {b.shape[-2]}"
            )
        try:
            full = a @ b  # (..., n, m)
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
            g = g.reshape(full.shape)
            grad_a = grad_b = None
            if self.requires_grad:
                if a.ndim == 2 and b.ndim > 2:  # (n, k) shared across a batch of b
                    grad_a = np.einsum("...nm,...km->nk", g, b)
                else:
                    grad_a = _unbroadcast(g @ np.swapaxes(b, -1, -2), a.shape)
                grad_a = grad_a.reshape(self.shape)
            if other.requires_grad:
                if b.ndim == 2 and a.ndim > 2:  # weights shared across the batch: one big GEMM
                    k, m = b.shape
                    grad_b = a.reshape(-1, k).T @ g.reshape(-1, m)
                else:
                    grad_b = _unbroadcast(np.swapaxes(a, -1, -2) @ g, b.shape)
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

        return Tensor._result(out, (self,), backward, "SumBackward")

    def mean(self, dim=None, keepdim=False):
        dims = _normalize_dims(dim, self.ndim, "mean")
        count = int(np.prod([self.shape[d] for d in dims])) if dims else 1
        if count == 0:
            raise ValueError(f"mean: cannot average over an empty dimension of shape {self.shape}")
        return self.sum(dim=dim, keepdim=keepdim) / count

    def var(self, dim=None, keepdim=False, correction=1):
        """Variance; `correction=1` is Bessel's correction (PyTorch's default), 0 the biased one."""
        dims = _normalize_dims(dim, self.ndim, "var")
        count = int(np.prod([self.shape[d] for d in dims])) if dims else 1
        centered = self - self.mean(dim=dims, keepdim=True)
        return (centered * centered).sum(dim=dims, keepdim=keepdim) / max(count - correction, 1)

    def _extreme(self, dim, keepdim, pick, arg, op):
        if self.data.size == 0:
            raise ValueError(f"{op}: cannot reduce an empty tensor of shape {self.shape}")
        if dim is None:
            out = pick(self.data)
            # gradient shared evenly between tied extremes, as PyTorch does
            mask = self.data == out
            return Tensor._result(
                np.asarray(out), (self,), lambda g: (mask * (g / mask.sum()),), f"{op.capitalize()}Backward"
            )
        (axis,) = _normalize_dims(dim, self.ndim, op)
        indices = np.expand_dims(arg(self.data, axis=axis), axis)
        values = np.take_along_axis(self.data, indices, axis)
        shape = self.shape

        def backward(g):
            grad = np.zeros(shape, dtype=g.dtype)
            np.put_along_axis(grad, indices, g if keepdim else np.expand_dims(g, axis), axis)
            return (grad,)

        if not keepdim:
            values, indices = values.squeeze(axis), indices.squeeze(axis)
        result = Tensor._result(values, (self,), backward, f"{op.capitalize()}Backward")
        return MinMax(result, Tensor(indices.astype(np.int64)))

    def max(self, dim=None, keepdim=False):
        """Largest element; with `dim`, a (values, indices) pair like PyTorch."""
        return self._extreme(dim, keepdim, np.max, np.argmax, "max")

    def min(self, dim=None, keepdim=False):
        """Smallest element; with `dim`, a (values, indices) pair like PyTorch."""
        return self._extreme(dim, keepdim, np.min, np.argmin, "min")

    def argmax(self, dim=None, keepdim=False):
        if dim is None:
            return Tensor(np.asarray(self.data.argmax(), dtype=np.int64))
        (axis,) = _normalize_dims(dim, self.ndim, "argmax")
        return Tensor(self.data.argmax(axis=axis, keepdims=keepdim).astype(np.int64))

    def argmin(self, dim=None, keepdim=False):
        if dim is None:
            return Tensor(np.asarray(self.data.argmin(), dtype=np.int64))
        (axis,) = _normalize_dims(dim, self.ndim, "argmin")
        return Tensor(self.data.argmin(axis=axis, keepdims=keepdim).astype(np.int64))

    # ------------------------------------------------------------------ shape manipulation

    def reshape(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
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
        start, end = start_dim % self.ndim, end_dim % self.ndim
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1:])

    def unsqueeze(self, dim):
        dim = dim % (self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        (axis,) = _normalize_dims(dim, self.ndim, "squeeze")
        if self.shape[axis] != 1:
            return self
        return self.reshape(self.shape[:axis] + self.shape[axis + 1:])

    def expand(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        lead = len(shape) - self.ndim
        shape = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
        source = self.shape
        try:
            out = np.broadcast_to(self.data, shape)
        except ValueError:
            raise ValueError(f"expand: cannot expand shape {source} to {shape}") from None
        return Tensor._result(out, (self,), lambda g: (_unbroadcast(g, source),), "ExpandBackward")

    def permute(self, *dims):
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        if sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)):
            raise ValueError(f"permute: dims {dims} are not a permutation of the {self.ndim} dims of shape {self.shape}")
        inverse = np.argsort([d % self.ndim for d in dims])
        return Tensor._result(
            self.data.transpose(dims), (self,), lambda g: (g.transpose(inverse),), "PermuteBackward"
        )

    def transpose(self, dim0, dim1):
        dims = list(range(self.ndim))
        (a,), (b,) = _normalize_dims(dim0, self.ndim, "transpose"), _normalize_dims(dim1, self.ndim, "transpose")
        dims[a], dims[b] = dims[b], dims[a]
        return self.permute(*dims)

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
            grad = np.zeros(shape, dtype=g.dtype)
            if advanced:  # repeated indices must add up
                np.add.at(grad, index, g)
            else:
                grad[index] = g
            return (grad,)

        return Tensor._result(out, (self,), backward, "IndexBackward")

    def split(self, split_size, dim=0):
        """Chunks of `split_size` along `dim` (the last may be smaller)."""
        (axis,) = _normalize_dims(dim, self.ndim, "split")
        length = self.shape[axis]
        prefix = (slice(None),) * axis
        return [self[prefix + (slice(i, i + split_size),)] for i in range(0, length, split_size)]

    def chunk(self, chunks, dim=0):
        (axis,) = _normalize_dims(dim, self.ndim, "chunk")
        return self.split(-(-self.shape[axis] // chunks), dim)

    def masked_fill(self, mask, value):
        """Copy with `value` where `mask` is True (mask broadcasts to this shape)."""
        mask = _as_array(mask).astype(bool)
        try:
            np.broadcast_to(mask, self.shape)
        except ValueError:
            raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to {self.shape}") from None
        return where(Tensor(mask), self._other(value), self)

    # ------------------------------------------------------------------ elementwise functions

    def _unary(self, out, local_grad, op):
        """Result of an elementwise op whose derivative is `local_grad()` (computed lazily)."""
        return Tensor._result(out, (self,), lambda g: (g * local_grad(),), op)

    def exp(self):
        out = np.exp(self.data)
        return self._unary(out, lambda: out, "ExpBackward")

    def log(self):
        x = self.data
        return self._unary(np.log(x), lambda: 1.0 / x, "LogBackward")

    def sqrt(self):
        out = np.sqrt(self.data)
        return self._unary(out, lambda: 0.5 / out, "SqrtBackward")

    def abs(self):
        x = self.data
        return self._unary(np.abs(x), lambda: np.sign(x), "AbsBackward")

    def clamp(self, min=None, max=None):
        x = self.data
        inside = np.ones(x.shape, dtype=bool)  # gradient flows only where x was not clipped
        if min is not None:
            inside &= x >= min
        if max is not None:
            inside &= x <= max
        return self._unary(np.clip(x, min, max), lambda: inside.astype(x.dtype), "ClampBackward")

    clip = clamp

    def tanh(self):
        out = np.tanh(self.data)
        return self._unary(out, lambda: 1.0 - out * out, "TanhBackward")

    def sigmoid(self):
        # exp(-log(1 + e^-x)) never overflows, unlike 1 / (1 + e^-x) for very negative x
        out = np.exp(-np.logaddexp(0, -self.data)).astype(self.data.dtype)
        return self._unary(out, lambda: out * (1.0 - out), "SigmoidBackward")

    def relu(self):
        x = self.data
        return self._unary(np.maximum(x, 0), lambda: (x > 0).astype(x.dtype), "ReluBackward")

    def gelu(self, approximate="none"):
        """GELU: x * Phi(x); `approximate="tanh"` uses the tanh formula (as in GPT-2)."""
        x = self.data
        if approximate == "tanh":
            c = np.sqrt(2.0 / np.pi).astype(x.dtype)
            inner = np.tanh(c * (x + 0.044715 * x**3))
            out = 0.5 * x * (1.0 + inner)
            local = lambda: 0.5 * (1.0 + inner) + 0.5 * x * (1.0 - inner**2) * c * (1.0 + 3 * 0.044715 * x**2)
        elif approximate == "none":
            cdf = 0.5 * (1.0 + _erf(x / np.sqrt(2.0)))
            out = (x * cdf).astype(x.dtype)
            local = lambda: cdf + x * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
        else:
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return self._unary(out, lambda: local().astype(x.dtype), "GeluBackward")

    def softmax(self, dim=-1):
        (axis,) = _normalize_dims(dim, self.ndim, "softmax")
        shifted = np.exp(self.data - self.data.max(axis=axis, keepdims=True))
        out = shifted / shifted.sum(axis=axis, keepdims=True)
        return Tensor._result(
            out, (self,), lambda g: (out * (g - (g * out).sum(axis=axis, keepdims=True)),), "SoftmaxBackward"
        )

    def log_softmax(self, dim=-1):
        (axis,) = _normalize_dims(dim, self.ndim, "log_softmax")
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        return Tensor._result(
            out, (self,), lambda g: (g - np.exp(out) * g.sum(axis=axis, keepdims=True),), "LogSoftmaxBackward"
        )


def _numpy_index(index):
    """Translate Tensor indices (inside tuples too) to NumPy arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _is_advanced(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (np.ndarray, list)) for p in parts)


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
    (axis,) = _normalize_dims(dim, tensors[0].ndim if tensors else 1, "cat")
    _check_same_shapes(tensors, axis, "cat", skip_dim=True)
    out = np.concatenate([t.data for t in tensors], axis=axis)
    bounds = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    return Tensor._result(out, tuple(tensors), lambda g: tuple(np.split(g, bounds, axis=axis)), "CatBackward")


def stack(tensors, dim=0):
    """Join tensors along a new dimension."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    _check_same_shapes(tensors, 0, "stack", skip_dim=False)
    axis = dim % (tensors[0].ndim + 1)
    out = np.stack([t.data for t in tensors], axis=axis)
    return Tensor._result(
        out, tuple(tensors), lambda g: tuple(np.moveaxis(g, axis, 0)), "StackBackward"
    )


def where(condition, input, other):
    """Elementwise choice: `input` where `condition` is True, else `other` (broadcasting)."""
    cond = _as_array(condition).astype(bool)
    a = input if isinstance(input, Tensor) else Tensor(input)
    b = other if isinstance(other, Tensor) else Tensor(np.asarray(other, dtype=a.dtype))
    try:
        out = np.where(cond, a.data, b.data)
    except ValueError:
        raise ValueError(
            f"where: shapes {cond.shape}, {a.shape} and {b.shape} cannot be broadcast together"
        ) from None
    return Tensor._result(
        out, (a, b),
        lambda g: (_unbroadcast(np.where(cond, g, 0), a.shape), _unbroadcast(np.where(cond, 0, g), b.shape)),
        "WhereBackward",
    )
