"""The module 05 checks pass on correct backward rules and graph code, and fail with a useful
report on an unsolved stub and on typical mistakes."""

import sys

import numpy as np
import pytest

from tinytorch import Tensor, seams
from tinytorch.checks import CheckFailed
from tinytorch.checks import autograd as checks

from solutions import load_solution


# ------------------------------------------------------------------ correct solutions

# The notebook's own solutions, so the course as shipped is what passes the checks.
unbroadcast, add_backward, mul_backward, matmul_backward, sum_backward, relu_backward, sigmoid_backward, tanh_backward, topological_sort = load_solution("05_autograd", "unbroadcast", "add_backward", "mul_backward", "matmul_backward", "sum_backward", "relu_backward", "sigmoid_backward", "tanh_backward", "topological_sort")


def make_backward(sort=topological_sort, combine=lambda old, new: old + new, store=lambda g: Tensor(np.array(g)),
                  accumulate=lambda leaf, g: Tensor(leaf.grad.data + g)):
    def backward(root, grad=None):
        grads = {id(root): np.ones_like(root.data) if grad is None else np.asarray(grad)}
        for node in reversed(sort(root)):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._backward is None:
                node.grad = store(g) if node.grad is None else accumulate(node, g)
                continue
            for parent, pg in zip(node._parents, node._backward(g)):
                if pg is None or not parent.requires_grad:
                    continue
                grads[id(parent)] = combine(grads[id(parent)], pg) if id(parent) in grads else pg
    return backward


backward = make_backward()

CORRECT = [
    (checks.check_unbroadcast, unbroadcast), (checks.check_add_backward, add_backward),
    (checks.check_mul_backward, mul_backward), (checks.check_matmul_backward, matmul_backward),
    (checks.check_sum_backward, sum_backward), (checks.check_relu_backward, relu_backward),
    (checks.check_sigmoid_backward, sigmoid_backward), (checks.check_tanh_backward, tanh_backward),
    (checks.check_topological_sort, topological_sort), (checks.check_backward, backward),
]


@pytest.mark.parametrize("check, solution", CORRECT)
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


@pytest.mark.parametrize("check, name", [(c, s.__name__) for c, s in CORRECT])
def test_checks_are_exported(check, name):
    import tinytorch.checks as exported
    assert getattr(exported, check.__name__) is check


# ------------------------------------------------------------------ tinytorch's rules (the seams' implementations)

def test_tinytorchs_rules_agree_with_the_solutions():
    rng = np.random.default_rng(0)
    g, a, b = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))
    for mine, ref in zip(matmul_backward(g, a, b), seams.tinytorch("matmul_backward")(g, a, b)):
        np.testing.assert_allclose(mine, ref)
    g2, x = rng.standard_normal((3, 4)), rng.standard_normal(4)
    np.testing.assert_allclose(mul_backward(g2, g2, x)[1], seams.tinytorch("mul_backward")(g2, g2, x)[1])
    np.testing.assert_allclose(sum_backward(g2.sum(0), (3, 4), 0), seams.tinytorch("sum_backward")(g2.sum(0), (3, 4), 0))


# ------------------------------------------------------------------ typical mistakes

def only_leading_axes(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad


def no_keepdims(grad, shape):
    grad = only_leading_axes(grad, shape)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            return grad.sum(axis=axis)
    return grad


@pytest.mark.parametrize("wrong, message", [
    (only_leading_axes, r"stretched size-1 axis \(3, 4\) -> \(1, 4\): expected shape \(1, 4\), got shape \(3, 4\)"),
    (no_keepdims, r"expected shape \(1, 4\), got shape \(4,\)"),
])
def test_unbroadcast_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message) as info:
        checks.check_unbroadcast(wrong)
    assert "keepdims=True" in str(info.value)


def test_add_backward_without_unbroadcast_reports_the_shape():
    with pytest.raises(CheckFailed, match=r"bias row .*gradient of input b.*expected shape \(3,\), got shape \(4, 3\)"):
        checks.check_add_backward(lambda g, a, b: (g, g))


def test_mul_backward_with_swapped_factors_is_caught_by_finite_differences():
    with pytest.raises(CheckFailed, match="vs finite differences"):
        checks.check_mul_backward(lambda g, a, b: (unbroadcast(g * a, a.shape), unbroadcast(g * b, b.shape)))


def test_mul_backward_must_return_two_gradients():
    with pytest.raises(CheckFailed, match="expected a tuple of 2 gradients"):
        checks.check_mul_backward(lambda g, a, b: g * b)


def test_matmul_backward_without_unbroadcast_on_a_batch():
    no_unbroadcast = lambda g, a, b: (g @ np.swapaxes(b, -1, -2), np.swapaxes(a, -1, -2) @ g)
    with pytest.raises(CheckFailed, match=r"batch of inputs @ weights.*input b.*expected shape \(4, 5\), got shape \(2, 4, 5\)"):
        checks.check_matmul_backward(no_unbroadcast)


def test_matmul_backward_with_wrong_transposes_is_reported_not_raised():
    with pytest.raises(CheckFailed, match="raised ValueError"):
        checks.check_matmul_backward(lambda g, a, b: (g @ b, a @ g))


def test_sum_backward_without_expand_dims_fails_on_a_square_input():
    def forgets_axes(grad, shape, dim=None, keepdim=False):
        return np.broadcast_to(grad, shape)

    with pytest.raises(CheckFailed, match=r"dim=1 of \(3, 3\)"):
        checks.check_sum_backward(forgets_axes)


def test_relu_backward_at_zero():
    with pytest.raises(CheckFailed, match="exactly zero"):
        checks.check_relu_backward(lambda g, x: np.where(x >= 0, g, 0.0))


def test_sigmoid_backward_recomputing_sigmoid_of_the_output():
    def wrong(grad, out):
        s = 1 / (1 + np.exp(-out))
        return grad * s * (1 - s)

    with pytest.raises(CheckFailed, match="out \\* \\(1 - out\\)"):
        checks.check_sigmoid_backward(wrong)


def recursive_sort(root):
    order, visited = [], set()

    def visit(node):
        if id(node) in visited:
            return
        visited.add(id(node))
        for p in node._parents:
            if p.requires_grad:
                visit(p)
        order.append(node)

    visit(root)
    return order


def test_recursive_topological_sort_fails_on_the_deep_chain():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        with pytest.raises(CheckFailed, match="deep chain.*RecursionError"):
            checks.check_topological_sort(recursive_sort)
    finally:
        sys.setrecursionlimit(limit)


def test_topological_sort_mistakes():
    def keeps_data(root):
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for p in node._parents:
                    visit(p)
                order.append(node)
        visit(root)
        return order

    with pytest.raises(CheckFailed, match="leaf without grad"):
        checks.check_topological_sort(keeps_data)

    def pre_order(root):
        return list(reversed(topological_sort(root)))

    with pytest.raises(CheckFailed, match="comes before its input"):
        checks.check_topological_sort(pre_order)

    def duplicates(root):
        order = topological_sort(root)
        return order[:1] + order

    with pytest.raises(CheckFailed, match="appears more than once"):
        checks.check_topological_sort(duplicates)

    with pytest.raises(CheckFailed, match="missing"):
        checks.check_topological_sort(lambda root: [root])


def test_backward_that_overwrites_instead_of_summing():
    with pytest.raises(CheckFailed, match=r"chain relu.*x.grad.*values differ"):
        checks.check_backward(make_backward(combine=lambda old, new: new))


def test_backward_that_assigns_instead_of_accumulating():
    with pytest.raises(CheckFailed, match="gradients add up"):
        checks.check_backward(make_backward(accumulate=lambda leaf, g: Tensor(np.array(g))))


def test_backward_that_shares_gradient_arrays_between_leaves():
    def in_place(leaf, g):
        leaf.grad.data += g
        return leaf.grad

    with pytest.raises(CheckFailed) as info:
        checks.check_backward(make_backward(store=lambda g: Tensor(g), accumulate=in_place))
    assert "gradients add up" in str(info.value) or "read-only" in str(info.value)


def test_backward_storing_arrays_not_tensors():
    with pytest.raises(CheckFailed, match="assigned grad expected to be a Tensor"):
        checks.check_backward(make_backward(store=lambda g: np.array(g)))


def test_backward_calling_the_library_is_refused():
    with pytest.raises(CheckFailed, match="called tinytorch's Tensor.backward"):
        checks.check_backward(lambda root, grad=None: root.backward(grad))


def test_backward_with_recursive_sort_fails_on_the_deep_chain():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        with pytest.raises(CheckFailed, match="deep chain.*RecursionError"):
            checks.check_backward(make_backward(sort=recursive_sort))
    finally:
        sys.setrecursionlimit(limit)


def test_tinytorchs_rules_work_inside_a_backward_pass():
    """tinytorch runs backward closures with recording off, and the seams' rules must still work there."""
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.full((3, 4), 2.0), requires_grad=True)
    out = Tensor._result(a.data @ b.data, (a, b),
                         lambda g: seams.tinytorch("matmul_backward")(g, a.data, b.data), "MatmulBackward")
    out.sum().backward()
    np.testing.assert_allclose(a.grad.data, np.full((2, 3), 8.0))
    np.testing.assert_allclose(b.grad.data, np.full((3, 4), 2.0))
