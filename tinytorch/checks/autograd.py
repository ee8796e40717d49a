"""Checks for module 05 (autograd).

Backward rules take NumPy arrays: `rule(grad, *inputs) -> one gradient per input`. Each is run
on varied inputs (broadcasting, batches, scalars, float64) and compared with central finite
differences of the forward op and with tinytorch's own backward. The graph exercises
(`topological_sort`, `backward`) run on real tinytorch graphs, built twice with the same data:
once for the learner's function, once for the library's `Tensor.backward()`.
"""

import numpy as np

from ..grad_mode import enable_grad
from ..gradcheck import numerical_grad
from .. import seams
from ..tensor import Tensor, _freed_backward
from ..course import registry
from .core import add_hints, assert_close, fail, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'unbroadcast': (
        'broadcasting copied a value to many places in the forward pass, so its gradient is the sum over those places',
        'first sum away the leading axes that broadcasting added, then sum (keeping the axis) over every axis where the original shape had size 1',
        "the result must have exactly the input's shape: grad summed over the broadcast axes",
    ),
    'add_backward': (
        'a + b passes the upstream gradient unchanged to both inputs',
        "each input's gradient must have that input's own shape, which broadcasting may have enlarged",
        "grad_a and grad_b are both the upstream grad, each unbroadcast to its input's shape",
    ),
    'mul_backward': (
        "the product rule: each factor's gradient is the upstream grad times the other factor",
        "the products have the broadcast shape; reduce each back to its own input's shape",
        'grad_a = grad times b, grad_b = grad times a, each unbroadcast',
    ),
    'matmul_backward': (
        "each input's gradient is the upstream gradient multiplied by the other input, transposed",
        'grad is (..., n, m), a is (..., n, k), b is (..., k, m): pick the products whose shapes come out as (n, k) and (k, m)',
        'grad_a = grad times b^T, grad_b = a^T times grad (transposing the last two axes), each unbroadcast over leading dims',
    ),
    'sum_backward': (
        "every input element contributes once to its sum, so each gets that sum's gradient",
        "put the summed axes back as size-1 axes (unless keepdim kept them), then broadcast to the input's shape",
        'grad_x[i] = grad[the sum that i went into]; dim None means every axis',
    ),
    'relu_backward': (
        'relu passes gradient where its input was positive and blocks it elsewhere',
        "the result has x's shape, one value per element",
        'grad where x > 0, and 0 where x <= 0',
    ),
    'sigmoid_backward': (
        'the derivative of sigmoid can be written with its own output, which the forward pass already computed',
        'elementwise: same shape as the output',
        'd sigmoid/dx = out (1 - out); multiply the upstream grad by it',
    ),
    'tanh_backward': (
        'the derivative of tanh can be written with its own output',
        'elementwise: same shape as the output',
        'd tanh/dx = 1 - out^2; multiply the upstream grad by it',
    ),
    'topological_sort': (
        'order the graph so every node comes after all the nodes it was computed from',
        'a depth-first search without recursion: a stack of nodes, each pushed once to expand its parents and once to be emitted',
        'emit a node when it comes off the stack for the second time (all its parents emitted); skip nodes already visited (by id)',
    ),
    'backward': (
        'walk the graph from the output back to the leaves, handing each node the sum of the gradients of its uses',
        "one gradient per node, with that node's shape, starting from ones for the root; keep them in a dict keyed by id",
        "in reverse topological order: a leaf adds its gradient (a copy) to .grad; any other node calls its backward and adds each result to its parent's entry",
    ),
})

exercise = registry.module("05_autograd", "Autograd")


def _leaf(array, requires_grad=True):
    return Tensor(np.array(array, dtype=np.float64), requires_grad=requires_grad)


def _describe(t):
    kind = t.grad_fn or ("leaf" if t.requires_grad else "leaf without grad")
    return f"{kind} of shape {t.shape}"


# ---------------------------------------------------------------------------- tinytorch's gradients

def _library_grads(forward, grad, arrays):
    """Gradients of sum(grad * forward(*inputs)) by tinytorch's backward, one per input."""
    inputs = [Tensor(np.array(a), requires_grad=True) for a in arrays]
    with enable_grad():  # also when called from inside a backward pass, which records nothing
        out = forward(*inputs)
        out.backward(np.asarray(grad, dtype=out.dtype))
    return tuple(np.zeros_like(a) if t.grad is None else t.grad.data for a, t in zip(arrays, inputs))


# ---------------------------------------------------------------------------- backward rules

def _as_tuple(name, case, got, count):
    if count == 1:
        return (got,)
    if not isinstance(got, (tuple, list)) or len(got) != count:
        kind = f"a {type(got).__name__}" + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
        fail(name, case, f"expected a tuple of {count} gradients (one per input), got {kind}")
    return tuple(got)


def _check_rule(name, rule, forward, cases, hint, learner_args=None):
    """`cases`: (case name, grad, inputs, use finite differences). `forward` maps Tensors to a
    Tensor; `learner_args(grad, inputs)` gives the learner's arguments (default: grad, *inputs)."""
    names = "abcdefgh"
    for case, grad, inputs, finite_differences in cases:
        args = learner_args(grad, inputs) if learner_args else (grad, *inputs)
        got = run_learner(name, case, rule, *[np.array(a) for a in args])
        got = _as_tuple(name, case, got, len(inputs))
        library = _library_grads(forward, grad, inputs)
        numeric = None
        if finite_differences:
            tensors = [_leaf(a) for a in inputs]
            numeric = numerical_grad(forward, tensors, weights=grad)
        for i, (g, expected) in enumerate(zip(got, library)):
            shapes = " and ".join(str(np.shape(x)) for x in inputs)
            which = (f"{case} (input {shapes})" if len(inputs) == 1
                     else f"{case} (inputs {shapes}), gradient of input {names[i]}")
            if g is None:
                fail(name, which, "got None", hint)
            if numeric is not None:
                assert_close(name, which + " vs finite differences", np.asarray(g, dtype=np.float64),
                             numeric[i], hint, atol=1e-6, rtol=1e-5)
            assert_close(name, which + " vs tinytorch", g, expected, hint, atol=1e-6, rtol=1e-5)
    passed(name, len(cases), [case for case, *_ in cases])
    print("  (each gradient matched central finite differences and tinytorch's backward)")


def _rng():
    return np.random.default_rng(5)


@exercise("unbroadcast", seam="unbroadcast")
def check_unbroadcast(unbroadcast):
    """unbroadcast(grad, shape): sum `grad` back down to `shape` (the inverse of broadcasting)."""
    name = "unbroadcast"
    rng = _rng()
    hint = ("sum over the leading axes broadcasting added, then (keepdims=True) over the axes "
            "where `shape` has a 1 but grad does not")
    cases = [
        ("same shape (3, 4) -> (3, 4)", (3, 4), (3, 4)),
        ("added leading axis (2, 3, 4) -> (3, 4)", (2, 3, 4), (3, 4)),
        ("row vector (3, 4) -> (4,)", (3, 4), (4,)),
        ("stretched size-1 axis (3, 4) -> (1, 4)", (3, 4), (1, 4)),
        ("stretched size-1 axis (3, 4) -> (3, 1)", (3, 4), (3, 1)),
        ("both (2, 3, 4) -> (3, 1)", (2, 3, 4), (3, 1)),
        ("both (5, 2, 3) -> (2, 1)", (5, 2, 3), (2, 1)),
        ("kept size-1 axis (2, 1, 4) -> (1, 4)", (2, 1, 4), (1, 4)),
        ("to a scalar (5,) -> ()", (5,), ()),
        ("to a scalar (2, 3) -> ()", (2, 3), ()),
        ("empty (4, 0) -> (1, 0)", (4, 0), (1, 0)),
    ]
    for case, grad_shape, shape in cases:
        grad = rng.standard_normal(grad_shape)
        got = run_learner(name, case, unbroadcast, grad.copy(), shape)
        assert_close(name, case, got, seams.tinytorch("unbroadcast")(grad, shape), hint, atol=1e-9)
    passed(name, len(cases), ["same shape", "leading axes", "size-1 axes", "both", "to a scalar", "empty"])


@exercise("add_backward", seam="add_backward")
def check_add_backward(add_backward):
    """add_backward(grad, a, b) -> (grad_a, grad_b) for out = a + b (broadcasting)."""
    rng = _rng()
    n = rng.standard_normal
    cases = [
        ("same shapes", n((3, 4)), (n((3, 4)), n((3, 4))), True),
        ("bias row", n((4, 3)), (n((4, 3)), n(3)), True),
        ("column", n((2, 3)), (n((2, 3)), n((2, 1))), True),
        ("scalar", n(3), (n(()), n(3)), True),
        ("both stretched", n((2, 4, 3)), (n((2, 1, 3)), n((4, 1))), True),
    ]
    _check_rule("add_backward", add_backward, lambda a, b: a + b, cases,
                "each input gets grad itself, summed back to that input's shape with unbroadcast")


@exercise("mul_backward", seam="mul_backward")
def check_mul_backward(mul_backward):
    """mul_backward(grad, a, b) -> (grad_a, grad_b) for out = a * b (broadcasting)."""
    rng = _rng()
    n = rng.standard_normal
    cases = [
        ("same shapes", n((3, 4)), (n((3, 4)), n((3, 4))), True),
        ("row scale", n((4, 3)), (n((4, 3)), n(3)), True),
        ("column scale", n((2, 3)), (n((2, 3)), n((2, 1))), True),
        ("scalar", n(3), (n(()), n(3)), True),
        ("both stretched", n((2, 4, 3)), (n((2, 1, 3)), n((4, 1))), True),
        ("large magnitudes", n(3), (n(3) * 1e3, n(3) * 1e-3), False),
    ]
    _check_rule("mul_backward", mul_backward, lambda a, b: a * b, cases,
                "d(a*b)/da = b, so grad_a = unbroadcast(grad * b, a.shape); likewise for b")


@exercise("matmul_backward", seam="matmul_backward")
def check_matmul_backward(matmul_backward):
    """matmul_backward(grad, a, b) -> (grad_a, grad_b) for out = a @ b, with a (..., n, k) and
    b (..., k, m) (at least 2-D; batch dimensions broadcast)."""
    rng = _rng()
    n = rng.standard_normal
    cases = [
        ("matrices", n((3, 5)), (n((3, 4)), n((4, 5))), True),
        ("one row", n((1, 1)), (n((1, 4)), n((4, 1))), True),
        ("batch of inputs @ weights", n((2, 3, 5)), (n((2, 3, 4)), n((4, 5))), True),
        ("batched", n((2, 3, 2)), (n((2, 3, 4)), n((2, 4, 2))), True),
        ("broadcast batch", n((2, 5, 3, 2)), (n((2, 1, 3, 4)), n((5, 4, 2))), True),
    ]
    _check_rule("matmul_backward", matmul_backward, lambda a, b: a @ b, cases,
                "each input's gradient is grad multiplied by the other input with its last two axes swapped, "
                "on the side that gives that input's shape; then unbroadcast each")


@exercise("sum_backward", seam="sum_backward")
def check_sum_backward(sum_backward):
    """sum_backward(grad, shape, dim=None, keepdim=False) -> the gradient for the input of
    x.sum(dim, keepdim), where x had `shape`."""
    rng = _rng()
    n = rng.standard_normal
    cases = [
        ("all elements of (3, 4)", (3, 4), None, False),
        ("dim=0 of (3, 4)", (3, 4), 0, False),
        ("dim=1 of (3, 3)", (3, 3), 1, False),
        ("dim=-1 of (2, 3, 4)", (2, 3, 4), -1, False),
        ("dim=(0, 2) of (2, 3, 4)", (2, 3, 4), (0, 2), False),
        ("dim=1, keepdim=True of (2, 3, 4)", (2, 3, 4), 1, True),
        ("all elements of a scalar ()", (), None, False),
    ]
    name = "sum_backward"
    hint = ("every input element contributes once to its sum, so it gets that sum's grad: put the "
            "summed axes back as size-1 axes (unless keepdim kept them), then broadcast to the input's shape")
    for case, shape, dim, keepdim in cases:
        forward = lambda t: t.sum(dim=dim, keepdim=keepdim)
        x = n(shape)
        grad = n(np.zeros(shape).sum(axis=dim, keepdims=keepdim).shape)
        got = run_learner(name, case, sum_backward, grad.copy(), shape, dim, keepdim)
        if got is None:
            fail(name, case, "got None", hint)
        numeric = numerical_grad(forward, [_leaf(x)], weights=grad)[0]
        assert_close(name, case + " vs finite differences", np.asarray(got, dtype=np.float64), numeric, hint, atol=1e-6)
        assert_close(name, case + " vs tinytorch", got, _library_grads(forward, grad, (x,))[0], hint, atol=1e-6)
    passed(name, len(cases), ["all", "dim=0", "dim=1 (square)", "dim=-1", "two dims", "keepdim", "scalar"])
    print("  (each gradient matched central finite differences and tinytorch's backward)")


def _activation_cases(rng, with_zero):
    n = rng.standard_normal
    x_kink = np.array([-2.0, -0.5, 0.3, 1.5, 4.0])
    cases = [
        ("mixed signs", n(5), (x_kink,), True),
        ("batch", n((4, 3)), (n((4, 3)) * 2,), True),
        ("large magnitudes", n(4), (np.array([-30.0, -8.0, 8.0, 30.0]),), True),
    ]
    if with_zero:
        cases.append(("exactly zero", n(3), (np.array([-1.0, 0.0, 1.0]),), False))
    return cases


@exercise("relu_backward", seam="relu_backward")
def check_relu_backward(relu_backward):
    """relu_backward(grad, x) -> grad for the input of relu(x) (0 where x <= 0, as PyTorch)."""
    _check_rule("relu_backward", relu_backward, lambda t: t.relu(), _activation_cases(_rng(), True),
                "the slope is 1 where x > 0 and 0 elsewhere (also at x == 0)")


@exercise("sigmoid_backward", seam="sigmoid_backward")
def check_sigmoid_backward(sigmoid_backward):
    """sigmoid_backward(grad, out) -> grad for the input, from the saved output out = sigmoid(x)."""
    def args(grad, inputs):
        (x,) = inputs
        return grad, Tensor(x).sigmoid().data

    _check_rule("sigmoid_backward", sigmoid_backward, lambda t: t.sigmoid(), _activation_cases(_rng(), False),
                "sigmoid'(x) = out * (1 - out), where out is the forward output you are given",
                learner_args=args)


@exercise("tanh_backward", seam="tanh_backward")
def check_tanh_backward(tanh_backward):
    """tanh_backward(grad, out) -> grad for the input, from the saved output out = tanh(x)."""
    def args(grad, inputs):
        (x,) = inputs
        return grad, np.tanh(x)

    _check_rule("tanh_backward", tanh_backward, lambda t: t.tanh(), _activation_cases(_rng(), False),
                "tanh'(x) = 1 - out**2, where out is the forward output you are given",
                learner_args=args)


# ---------------------------------------------------------------------------- graphs

class _Graph:
    """A test graph: fixed leaf data, a forward function of the leaves and an optional grad."""

    def __init__(self, case, forward, leaves, grad=None, no_grad=(), finite_differences=True):
        self.case, self.forward, self.grad = case, forward, grad
        self.values, self.no_grad, self.finite_differences = leaves, set(no_grad), finite_differences

    def leaves(self):
        """Fresh leaf tensors (float64) with the fixed data."""
        return {k: _leaf(v, requires_grad=k not in self.no_grad) for k, v in self.values.items()}

    def build(self):
        leaves = self.leaves()
        return self.forward(**leaves), leaves


def _diamond(a):
    """(a * (a + 1)).sum() with `a` one tensor that two paths reach."""
    return (a * (a + 1.0)).sum()


def _graphs(deep=2000):
    rng = np.random.default_rng(1)
    n = rng.standard_normal

    def deep_chain(x):
        y = x
        for _ in range(deep):
            y = y * 0.999 + 0.001
        return y.sum()

    return [
        _Graph("chain relu(3x + 1) * x", lambda x: ((x * 3.0 + 1.0).relu() * x).sum(),
               {"x": np.array([-0.9, -0.1, 0.4, 1.2])}),
        _Graph("x used twice: x * x + x", lambda x: (x * x + x).sum(), {"x": n(4)}),
        _Graph("diamond: a = x * w, (a * (a + 1)).sum()", lambda x, w: _diamond(x * w),
               {"x": n((2, 3)), "w": n(3)}),
        _Graph("MLP tanh(relu(x @ W1 + b1) @ W2 + b2)",
               lambda x, W1, b1, W2, b2: ((x @ W1 + b1).relu() @ W2 + b2).tanh().sum(),
               {"x": n((5, 3)), "W1": n((3, 4)), "b1": n(4), "W2": n((4, 2)), "b2": n(2)}, no_grad={"x"}),
        _Graph("root is a leaf, with grad=", lambda x: x, {"x": n(3)}, grad=np.array([1.0, -2.0, 0.5])),
        _Graph("non-scalar root sigmoid(x * w), with grad=", lambda x, w: (x * w).sigmoid(),
               {"x": n(3), "w": n(3)}, grad=np.array([0.5, -1.0, 2.0])),
        _Graph(f"deep chain of {2 * deep} operations", deep_chain, {"x": n(2)}, finite_differences=False),
    ]


_GRAPH_NAMES = ["chain", "reuse", "diamond", "MLP", "leaf root", "vector root", "deep chain"]


@exercise("topological_sort", seam="topological_sort")
def check_topological_sort(topological_sort):
    """topological_sort(root) -> list of every tensor that requires grad and that `root`
    depends on (root included), each one after all of its inputs; root last."""
    name = "topological_sort"
    graphs = _graphs()
    for graph in graphs:
        case = graph.case
        root, _ = graph.build()
        expected = seams.tinytorch("topological_sort")(root)
        got = run_learner(name, case, topological_sort, root)
        if not isinstance(got, (list, tuple)):
            fail(name, case, f"expected a list of tensors, got {type(got).__name__}")
        got = list(got)
        if not all(isinstance(t, Tensor) for t in got):
            bad = next(t for t in got if not isinstance(t, Tensor))
            fail(name, case, f"expected a list of tensors, but it holds a {type(bad).__name__}")
        ids = [id(t) for t in got]
        if len(set(ids)) != len(ids):
            dup = next(t for i, t in enumerate(got) if ids.index(id(t)) != i)
            fail(name, case, f"the {_describe(dup)} appears more than once",
                 "keep a set of visited tensors (by id) and skip those already visited")
        wanted = {id(t) for t in expected}
        extra = [t for t in got if id(t) not in wanted]
        if extra:
            fail(name, case, f"your list holds a tensor that should not be there: the {_describe(extra[0])}",
                 "follow t._parents, skipping tensors with requires_grad False: no gradient flows to them")
        present = set(ids)
        missing = [t for t in expected if id(t) not in present]
        if missing:
            fail(name, case, f"{len(missing)} of {len(expected)} tensors are missing, e.g. the {_describe(missing[0])}",
                 "visit every parent in t._parents that requires grad, and their parents, and so on")
        position = {id(t): i for i, t in enumerate(got)}
        for t in got:
            for p in t._parents:
                if p.requires_grad and position[id(p)] > position[id(t)]:
                    fail(name, case, f"the {_describe(t)} comes before its input, the {_describe(p)}",
                         "append a tensor only after all of its parents have been appended (post-order)")
        if got[-1] is not root:
            fail(name, case, f"the root should come last, but last is the {_describe(got[-1])}")
    passed(name, len(graphs), _GRAPH_NAMES)


@exercise("backward", seam="backward")
def check_backward(backward):
    """backward(root, grad=None): like root.backward(grad), accumulate d(root)/d(leaf) into the
    `.grad` (a Tensor) of every leaf that requires grad, calling each node's `_backward`."""
    name = "backward"
    graphs = _graphs()
    for graph in graphs:
        case, grad = graph.case, graph.grad
        mine, mine_leaves = graph.build()
        ref, ref_leaves = graph.build()
        nodes = seams.tinytorch("topological_sort")(mine)
        run_learner(name, case, backward, mine, None if grad is None else grad.copy())
        if any(t._backward is _freed_backward for t in nodes):
            fail(name, case, "the graph was freed: your function called tinytorch's Tensor.backward()",
                 "write the loop yourself: topological order, then each node's _backward in reverse")
        ref.backward(None if grad is None else grad.copy())
        expected = {k: None if t.grad is None else t.grad.data for k, t in ref_leaves.items()}
        _compare_leaves(name, case, mine_leaves, expected)
        if graph.finite_differences:
            leaves = graph.leaves()
            keys = list(leaves)
            wanted = [leaves[k] for k in keys if leaves[k].requires_grad]
            numeric = numerical_grad(lambda *ts: graph.forward(**dict(zip(keys, ts))),
                                     [leaves[k] for k in keys], weights=grad, wrt=wanted)
            for t, expected_grad in zip(wanted, numeric):
                key = next(k for k in keys if leaves[k] is t)
                assert_close(name, f"{case}, {key}.grad vs finite differences", mine_leaves[key].grad,
                             expected_grad, atol=1e-5, rtol=1e-4)

    # gradients accumulate across calls, and two leaves never share one gradient array
    case = "two backward calls on (a + b).sum(): gradients add up"
    a, b = _leaf(np.ones(3)), _leaf(np.ones((2, 3)))
    for _ in range(2):
        run_learner(name, case, backward, (a + b).sum(), None)
    _compare_leaves(name, case, {"a": a, "b": b}, {"a": np.full(3, 4.0), "b": np.full((2, 3), 2.0)})
    case = "(a + b).sum() with equal shapes: each leaf gets its own gradient array"
    a, b = _leaf(np.ones(3)), _leaf(np.ones(3))
    run_learner(name, case, backward, (a + b).sum(), None)
    _compare_leaves(name, case, {"a": a, "b": b}, {"a": np.ones(3), "b": np.ones(3)})
    if np.shares_memory(a.grad.data, b.grad.data):
        fail(name, case, "a.grad and b.grad share one array: an in-place update of one (gradient clipping "
             "scales .grad in place) would change the other", "store a copy of the gradient in each leaf")
    passed(name, len(graphs) + 2, _GRAPH_NAMES + ["accumulation", "own arrays"])
    print("  (leaf gradients matched tinytorch's backward, and finite differences on the small graphs)")


def _compare_leaves(name, case, mine, expected):
    for leaf_name, t in mine.items():
        want = expected[leaf_name]
        where = f"{case}, {leaf_name}.grad"
        if want is None:
            if t.grad is not None:
                fail(name, where, "expected None (this leaf does not require grad), got a gradient",
                     "give gradients only to tensors with requires_grad True")
            continue
        if t.grad is None:
            fail(name, where, "expected a gradient, got None",
                 "a leaf (t._backward is None) that requires grad receives its gradient in t.grad")
        if not isinstance(t.grad, Tensor):
            fail(name, where, f"expected .grad to be a Tensor, got {type(t.grad).__name__}",
                 "set leaf.grad = Tensor(np.array(g)) (a copy of the gradient array)")
        assert_close(name, where, t.grad, want, atol=1e-6, rtol=1e-5,
                     hint="sum the gradients of a tensor used several times; add to an existing .grad; "
                          "store a copy (np.array(g)) so two leaves never share one array")
