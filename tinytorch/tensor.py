"""Tensor: an n-dimensional array that records the operations applied to it, so that
`backward()` can compute gradients by reverse-mode automatic differentiation.

Each result of a differentiable operation keeps its inputs (`_parents`) and a closure
(`_backward`) that maps the gradient of the result to the gradients of the inputs, plus a
sequence number (`_seq`) counting recorded operations. An operation is always recorded after
its inputs, so visiting nodes from the highest sequence number down is a topological order:
`backward()` does that with a heap, calling the closures.

An op whose backward reads some of its tensors names them in its `versions.SavingOp`; an
in-place change to one of them before backward makes backward raise (versions.py). Under
`create_graph=True` (and `tinytorch.autograd.grad`) `run_graph` hands the closures Tensor
gradients and they compute with Tensor ops (ops/differentiable.py), so the backward pass is
recorded and can be differentiated again.

This file holds that machinery (recording, backward, properties, dtype conversion); the
operations themselves live in tinytorch/ops/, one group per module, and `Tensor` inherits them:
arithmetic.py (+ - * / ** // %, in-place updates, comparisons), matmul.py, reductions.py,
shape.py (reshape, indexing, cat/stack/where), elementwise.py (exp, activations, softmax) and
indexing.py (gather, index_select, sort). Printing is in printing.py, dtypes in dtypes.py.
"""

import heapq
import itertools

import numpy as np

from . import dtypes, grad_mode, printing, versions
from .versions import SavingOp, counts as _version_counts
from .device import CPU, check_device
from .seams import replaced, seam
from .size import Size, of_shape
from .ops import differentiable
from .ops.arithmetic import ArithmeticOps
from .ops.elementwise import ElementwiseOps
from .ops.indexing import IndexingOps
from .ops.matmul import MatmulOps
from .ops.reductions import ReductionOps
from .ops.shape import ShapeOps, cat, stack, where  # noqa: F401


_sequence = itertools.count(1)  # numbers recorded operations in creation order


def _as_array(data, dtype=None):
    """NumPy array for `data`; Python floats default to float32 and ints to int64, as in PyTorch."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None and not isinstance(dtype, np.dtype):
        dtype = dtypes.to_numpy(dtype)
    if isinstance(data, np.ndarray):
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    try:
        array = np.asarray(data, dtype=dtype)
    except ValueError as error:
        if "inhomogeneous" not in str(error):
            raise ValueError(f"tensor: cannot convert {_abbreviated(data)}: {error}") from None
        raise ValueError(
            "tensor: nested lists must be rectangular (every row of a dimension the same length), "
            f"got {_abbreviated(data)}"
        ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"tensor: data must be numbers or booleans, got {_abbreviated(data)} (NumPy dtype {array.dtype})"
        )
    if isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, like an array
        return array
    if dtype is None:
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        elif array.dtype.kind == "i" and array.dtype != np.int64:  # int32 default on 32-bit WebAssembly
            array = array.astype(np.int64)
    return array


def _legacy_shape(first, more):
    """The shape of `torch.Tensor(*sizes)` / `torch.Tensor(size)`, checked as PyTorch does."""
    sizes = tuple(first) if type(first) is Size else (first, *more)
    for n in sizes:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise TypeError(f"Tensor: sizes must be ints, got {sizes!r} (use tinytorch.tensor(data) for data)")
        if n < 0:
            raise RuntimeError(f"Tensor: trying to create a tensor with negative dimension {n}: {list(sizes)}")
    return sizes


def _abbreviated(data):
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."


def _freed_backward(grad):
    raise RuntimeError(
        "backward: trying to backward through the graph a second time; its intermediate "
        "values were freed by the first backward(). Pass retain_graph=True to the first call "
        "if you need to call backward twice."
    )


class Tensor(ArithmeticOps, MatmulOps, ReductionOps, ShapeOps, ElementwiseOps, IndexingOps):
    """An array with optional gradient tracking. `data` is the underlying NumPy array."""

    # NumPy ufuncs and operators on arrays defer to our reflected operators, so
    # `np.float32(2) * t` and `array + t` return Tensors (recorded), never detached arrays.
    __array_ufunc__ = None
    _seq = 0  # leaves come after every recorded operation in backward's order
    _saved_versions = None  # versions of what the op saved, when it ran after an in-place change

    def __init__(self, data=(), *sizes, dtype=None, requires_grad=False):
        if sizes or type(data) is int or type(data) is Size:
            # torch.Tensor(3), Tensor(2, 3), Tensor(x.shape): float32 of that shape (zeros here,
            # where PyTorch leaves the memory uninitialized)
            data, dtype = np.zeros(_legacy_shape(data, sizes), np.float32), None
        elif type(data) is float or type(data) is bool:
            raise TypeError(f"Tensor: data must be a sequence, got {type(data).__name__} {data!r}; "
                            f"tinytorch.tensor({data!r}) makes a 0-d tensor")
        elif dtype is None and isinstance(data, (list, tuple)):
            # torch.Tensor(data), the legacy constructor, makes float32 from Python data;
            # arrays, NumPy scalars and tensors keep their dtype (library code relies on that)
            dtype = np.float32
        self.data = _as_array(data, dtype)
        self._grad = None
        self._parents = ()
        self._backward = None
        self._op = ""
        self._retains_grad = False
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    # ------------------------------------------------------------------ graph plumbing

    @staticmethod
    def _result(data, parents, backward, op):
        """The output of an operation (a plain Tensor, also for a Parameter's operations);
        records it when any input requires grad.

        `backward(grad)` returns one gradient array (or None) per parent. When `op` is a
        `versions.SavingOp`, it names the tensors backward reads: backward refuses to run if
        one of them was changed in place since.
        """
        if type(data) is not np.ndarray:  # NumPy returns scalars, not 0-d arrays, from 0-d ops
            data = np.asarray(data)
        out = Tensor.__new__(Tensor)
        out.data, out._grad, out._op, out._retains_grad = data, None, op, False
        out._parents, out._backward, out._requires_grad = (), None, False
        if grad_mode._enabled:
            for p in parents:
                if p._requires_grad:
                    out._parents, out._backward, out._requires_grad = parents, backward, True
                    out._seq = next(_sequence)
                    if _version_counts and type(op) is SavingOp:  # after an in-place change: note versions
                        out._saved_versions = versions.snapshot(out)
                    break
        return out

    @staticmethod
    def _constant(array):
        """A plain tensor that does not require grad around `array` (fast path for scalar operands)."""
        out = Tensor.__new__(Tensor)
        out.data, out._grad, out._op, out._retains_grad = array, None, "", False
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
        """The same data (and version counter), cut from the graph."""
        return Tensor(self.data)

    @property
    def _version(self):
        """How many times this tensor's memory was changed in place (shared with its views)."""
        return versions.version(self.data)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires grad.

        `create_graph=True` records the backward pass itself, so the gradients can be
        differentiated again (higher-order gradients); `inputs` limits accumulation to those
        tensors. As in PyTorch, `retain_graph` defaults to `create_graph`."""
        if create_graph or inputs is not None:
            targets = None if inputs is None else tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)
            run_graph((self,), (gradient,), targets, accumulate=True,
                      retain_graph=create_graph if retain_graph is None else retain_graph,
                      create_graph=create_graph)
            return
        gradient = _initial_gradient(self, gradient)
        mine = replaced.get("backward")
        with grad_mode.no_grad():  # a backward written with Tensor ops must not record a graph
            if mine is not None:
                mine(self, gradient)
            else:
                _run_backward(self, gradient, retain_graph)

    def _accumulate(self, grad):
        if self._grad is None:
            # a copy: `grad` may be shared with other nodes or be a read-only broadcast view
            self._grad = Tensor(np.array(grad, dtype=self.data.dtype))
        else:
            self._grad.data = np.asarray(self._grad.data + grad)

    @property
    def grad(self):
        """The gradient accumulated by backward() (None until then)."""
        return self._grad

    @grad.setter
    def grad(self, value):
        # checked here, as PyTorch does, so a wrong assignment fails where it is made
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad: assigned grad expected to be a Tensor or None but got {type(value).__name__}")
            if value.data.dtype != self.data.dtype:
                raise RuntimeError(f"grad: assigned grad has dtype {value.dtype}, but the tensor has dtype {self.dtype}")
            if value.shape != self.shape:
                raise RuntimeError(f"grad: assigned grad has shape {value.shape}, but the tensor has shape {self.shape}")
        self._grad = value

    # ------------------------------------------------------------------ basic properties

    @property
    def shape(self):
        return of_shape(self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        """PyTorch's dtype object (`torch.float32`); compares equal to the NumPy dtype too."""
        return dtypes.from_numpy(self.data.dtype)

    @property
    def device(self):
        return CPU

    is_cuda = False

    def get_device(self):
        """-1: the tensor is on the CPU (as PyTorch answers for CPU tensors)."""
        return -1

    def is_floating_point(self):
        return self.data.dtype.kind == "f"

    def is_complex(self):
        return self.data.dtype.kind == "c"

    def element_size(self):
        return self.data.dtype.itemsize

    @property
    def itemsize(self):
        return self.data.dtype.itemsize

    @property
    def nbytes(self):
        return self.data.nbytes

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim=None):
        return of_shape(self.data.shape) if dim is None else self.data.shape[dim]

    def dim(self):
        return self.data.ndim

    def numel(self):
        return self.data.size

    nelement = numel

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

    def __iter__(self):
        # without this, Python would iterate a 0-d tensor through __getitem__ and stop at once
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError(f"index: only one-element integer tensors can be used as an index, got {self.dtype} {self.shape}")
        return int(self.data.item())

    def __repr__(self):
        return printing.tensor_repr(self)

    def __format__(self, format_spec):
        # as in PyTorch: a 0-d tensor formats like its number (f"{loss:.4f}"); other tensors
        # accept only an empty spec
        if self.data.ndim == 0:
            return self.data.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"bool: the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ dtype conversion

    def to(self, *args, **kwargs):
        """`to(dtype)`, `to(device)`, `to(device, dtype)`, `to(other)` (its dtype), with keywords
        `device=`, `dtype=`, `non_blocking=`, `copy=`. Only the CPU is available; gradients flow
        back through float casts."""
        device, dtype, copy = _to_arguments(args, kwargs)
        check_device(device, "to")
        source = self.data.dtype
        target = source if dtype is None else dtypes.to_numpy(dtype, "to")
        if target == source:
            return self.clone() if copy else self
        out_data = self.data.astype(target)
        if out_data.dtype.kind != "f" or source.kind != "f":
            return Tensor(out_data)
        def backward(g):
            return differentiable.cast(g, source) if not isinstance(g, (np.ndarray, np.generic)) else (g.astype(source),)

        return Tensor._result(out_data, (self,), backward, "ToCopyBackward")

    def type(self, dtype=None, non_blocking=False):
        """With no argument, the type name (`'torch.FloatTensor'`); otherwise `to(dtype)`,
        also for a name such as `'torch.LongTensor'`."""
        if dtype is None:
            return printing.type_name(self.data.dtype)
        if isinstance(dtype, str):
            dtype = printing.dtype_of_type_name(dtype)
        elif callable(dtype) and getattr(dtype, "__name__", "").endswith("Tensor"):  # x.type(torch.LongTensor)
            dtype = printing.dtype_of_type_name(dtype.__name__)
        return self.to(dtype)

    def cuda(self, device=None, non_blocking=False):
        check_device("cuda" if device is None else device, "cuda")

    def cpu(self):
        return self

    def pin_memory(self):
        """Page-locked memory only matters for copies to a GPU: returns self."""
        return self

    def is_pinned(self):
        return False

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


def _initial_gradient(root, gradient):
    """The gradient backward starts from: ones for a one-element root, else `gradient` checked."""
    if not root._requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no grad_fn")
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs, "
                f"got shape {root.shape}; pass gradient= with that shape"
            )
        return np.ones_like(root.data)
    gradient = _as_array(gradient, root.data.dtype)
    if gradient.shape != root.data.shape:
        raise ValueError(
            f"backward: gradient shape {gradient.shape} does not match tensor shape {root.shape}"
        )
    return gradient


@seam("topological_sort")
def topological_sort(root):
    """Every tensor that requires grad and that `root` depends on (root included), each after
    all of its inputs, `root` last: an iterative depth-first search (graphs can be deeper
    than Python's recursion limit)."""
    order, visited, pending = [], set(), [(root, False)]
    while pending:
        node, expanded = pending.pop()
        if expanded:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            pending.append((node, True))
            pending.extend((p, False) for p in node._parents if p._requires_grad and id(p) not in visited)
    return order


@seam("backward")
def backward(root, grad=None):
    """tinytorch's autograd engine: accumulate d(root)/d(leaf) into `leaf.grad` for every leaf
    that requires grad, as `root.backward(grad)` does."""
    gradient = _initial_gradient(root, grad)
    with grad_mode.no_grad():
        _run_backward(root, gradient, retain_graph=False)


def _run_backward(root, gradient, retain_graph):
    """Send `gradient` from `root` back through the graph, each node once its gradient is complete.

    `grads` holds the summed gradient of every node not yet processed. tinytorch's own order
    pops the most recently recorded node first from a heap: every node that feeds gradient
    into a node was recorded after it. A replaced `topological_sort` seam gives the order instead.
    """
    grads = {id(root): gradient}
    sort = replaced.get("topological_sort")
    if sort is not None:
        for node in reversed(sort(root)):
            grad = grads.pop(id(node), None)
            if grad is not None:
                _propagate(node, grad, grads, retain_graph, _ignore)
        return
    queue = [(-root._seq, id(root), root)]

    def push(parent):
        heapq.heappush(queue, (-parent._seq, id(parent), parent))

    while queue:
        _, key, node = heapq.heappop(queue)
        _propagate(node, grads.pop(key), grads, retain_graph, push)


def run_graph(roots, root_grads, targets=None, accumulate=False, retain_graph=False, create_graph=False):
    """The general backward behind `backward(create_graph=True / inputs=)` and
    `tinytorch.autograd.grad`: several roots, each with its gradient (None: ones for a
    one-element root). With `accumulate`, gradients are added into `.grad` (of `targets` only,
    when given); otherwise the gradients of `targets` are returned, in order (None where a
    target is not reached). With `create_graph`, gradients are Tensors and the backward pass is
    recorded, so they can be differentiated again."""
    grads, queue = {}, []
    for root, given in zip(roots, root_grads):
        seed = _initial_gradient(root, given.data if isinstance(given, Tensor) else given)
        if create_graph:  # a given gradient that requires grad stays in the graph
            seed = given if isinstance(given, Tensor) and given._requires_grad else Tensor._constant(seed)
        _add_pending(grads, queue, root, seed)
    wanted = {} if targets is None else {id(t): i for i, t in enumerate(targets)}
    found = [None] * len(wanted)
    with grad_mode.set_grad_enabled(create_graph):
        while queue:
            _, key, node = heapq.heappop(queue)
            grad = grads.pop(key)
            if key in wanted:
                found[wanted[key]] = grad
            elif accumulate and targets is None and (node._backward is None or node._retains_grad):
                _add_to_grad(node, grad)
            if node._backward is not None:
                _propagate_any(node, grad, grads, queue, retain_graph, create_graph)
    if accumulate:
        for target, grad in zip(targets or (), found):
            if grad is not None:
                _add_to_grad(target, grad)
    return found


def _propagate_any(node, grad, grads, queue, retain_graph, create_graph):
    """`_propagate` for run_graph: gradients may be Tensors (create_graph)."""
    if _version_counts and type(node._op) is SavingOp:
        versions.check_node(node)
    if not create_graph:
        parent_grads = node._backward(grad)
    else:
        try:
            parent_grads = node._backward(grad)
        except (TypeError, AttributeError) as error:  # a NumPy-only backward handed a Tensor
            raise _not_twice_differentiable(node) from error
        if type(parent_grads) is not differentiable.Grads:
            raise _not_twice_differentiable(node)
    for parent, parent_grad in zip(node._parents, parent_grads):
        if parent_grad is None or not parent._requires_grad:
            continue
        if create_graph:
            parent_grad = _checked_tensor_grad(parent_grad, parent, node)
        else:
            parent_grad = _checked_grad(parent_grad, parent, node)
        _add_pending(grads, queue, parent, parent_grad)
    if not retain_graph:
        node._backward, node._parents = _freed_backward, ()


def _not_twice_differentiable(node):
    return NotImplementedError(
        f"backward(create_graph=True): {node._op} has no differentiable backward in tinytorch, so "
        "gradients through it cannot be differentiated again; the ops that have one: + - * / ** @, "
        "sum, mean, var, std, prod, norm (2), logsumexp, cumsum, max/min, amax/amin, maximum/minimum, sort, topk, exp, log, log1p, "
        "sqrt, rsqrt, square, abs, sign, floor/ceil/round/trunc, sin, cos, tanh, sigmoid, relu, leaky_relu, gelu, silu, "
        "clamp, softmax, log_softmax, reshape, permute/transpose, expand, repeat, roll, flip, indexing, gather, "
        "index_select, cat, stack, where, masked_fill, .to(), einsum, dropout, nn.Linear, embedding, pad, "
        "conv1d/conv2d, max_pool2d, avg_pool2d, adaptive_avg_pool2d, layer_norm, batch_norm, group_norm, normalize, "
        "scaled_dot_product_attention, MultiheadAttention, RNN/LSTM/GRU, cross_entropy, nll_loss, binary_cross_entropy (with logits), mse_loss, l1_loss, "
        "smooth_l1_loss and huber_loss"
    )


def _add_pending(grads, queue, node, grad):
    """Add `grad` to the gradient waiting for `node`, queueing the node the first time."""
    key = id(node)
    if key in grads:
        grads[key] = grads[key] + grad
    else:
        grads[key] = grad
        heapq.heappush(queue, (-node._seq, key, node))


def _add_to_grad(t, grad):
    """Add `grad` (an array, or a Tensor under create_graph) into `t.grad`."""
    if not isinstance(grad, Tensor):
        t._accumulate(grad)
    elif t._grad is None:
        # a recorded gradient stays in its graph; a constant one is copied (it may be shared)
        t._grad = grad if grad._requires_grad else Tensor(np.array(grad.data))
    else:
        t._grad = t._grad + grad


def _checked_tensor_grad(grad, parent, node):
    """`_checked_grad` for a Tensor gradient: the parent's shape and dtype, still recorded."""
    if not isinstance(grad, Tensor):
        grad = Tensor._constant(np.asarray(grad))
    if grad.shape != parent.data.shape:
        raise RuntimeError(
            f"backward: {node._op} returned a gradient of shape {grad.shape} for an input of shape {parent.shape}"
        )
    return grad if grad.data.dtype == parent.data.dtype else grad.to(parent.data.dtype)


def _ignore(parent):
    """`discovered` for a precomputed order: nothing to schedule."""


def _propagate(node, grad, grads, retain_graph, discovered):
    """Process one node: a leaf keeps `grad`; any other node adds its inputs' shares into
    `grads` (calling `discovered(parent)` for a parent seen for the first time)."""
    if node._backward is None:  # a leaf
        node._accumulate(grad)
        return
    if node._retains_grad:
        node._accumulate(grad)
    if _version_counts and type(node._op) is SavingOp:  # no counts: nothing was changed in place
        versions.check_node(node)
    for parent, parent_grad in zip(node._parents, node._backward(grad)):
        if parent_grad is None or not parent._requires_grad:
            continue
        parent_grad = _checked_grad(parent_grad, parent, node)
        key = id(parent)
        if key in grads:
            grads[key] = grads[key] + parent_grad
        else:
            grads[key] = parent_grad
            discovered(parent)
    if not retain_graph:
        # drop the closure and the inputs so intermediate arrays can be freed now
        # rather than when the output tensor goes away
        node._backward, node._parents = _freed_backward, ()


def _to_arguments(args, kwargs):
    """(device, dtype, copy) from the argument forms of `Tensor.to`."""
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to: unexpected keyword argument(s) {', '.join(sorted(kwargs))}")
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, (str, type(CPU))):
            device = arg
        elif isinstance(arg, bool):  # non_blocking / copy given positionally
            continue
        else:
            dtype = arg
    return device, dtype, copy


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
