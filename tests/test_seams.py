"""The seams: tinytorch calls a replaceable implementation at each exercise's place, and a
replacement is used everywhere tinytorch uses that piece (and only until it is restored)."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, seams


@pytest.fixture(autouse=True)
def _restore():
    yield
    seams.restore()


def recording(name, calls):
    """tinytorch's own implementation of `name`, recording each call's seam name."""
    own = seams.tinytorch(name)

    def spy(*args):
        calls.append(name)
        return own(*args)
    return spy


def test_every_autograd_seam_is_called_by_a_training_step():
    calls = []
    for name in ("unbroadcast", "add_backward", "mul_backward", "matmul_backward", "sum_backward",
                 "relu_backward", "sigmoid_backward", "tanh_backward", "topological_sort"):
        seams.replace(name, recording(name, calls))
    x = tt.randn(4, 3)
    w = tt.randn(3, 2, requires_grad=True)
    b = tt.randn(2, requires_grad=True)
    h = nn.ReLU()(x @ w + b)
    loss = (h.sigmoid() * h.tanh()).sum()
    loss.backward()
    assert set(calls) == {"unbroadcast", "add_backward", "mul_backward", "matmul_backward", "sum_backward",
                          "relu_backward", "sigmoid_backward", "tanh_backward", "topological_sort"}


def test_a_replacement_changes_the_gradients_and_restore_undoes_it(leaf):
    x = leaf(5)
    seams.replace("relu_backward", lambda grad, x: 2 * grad * (x > 0))
    x.relu().sum().backward()
    np.testing.assert_allclose(x.grad.data, 2.0 * (x.data > 0))
    seams.restore("relu_backward")
    x.grad = None
    x.relu().sum().backward()
    np.testing.assert_allclose(x.grad.data, 1.0 * (x.data > 0))


def test_a_replaced_backward_engine_runs_instead_of_tinytorchs(leaf):
    ran = []

    def engine(root, grad=None):
        ran.append(root)
        seams.tinytorch("backward")(root, grad)

    seams.replace("backward", engine)
    x = leaf(3)
    loss = (x * x).sum()
    loss.backward()
    assert ran == [loss]
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


def test_tinytorch_topological_sort_puts_every_node_after_its_inputs(leaf):
    x = leaf(2)
    a = x * 2
    b = a + 1
    c = a * b
    order = seams.tinytorch("topological_sort")(c)
    position = {id(t): i for i, t in enumerate(order)}
    assert order[-1] is c and len(order) == 4
    for node in order:
        assert all(position[id(p)] < position[id(node)] for p in node._parents if p.requires_grad)


def test_unknown_or_uncallable_replacements_are_refused():
    with pytest.raises(KeyError, match="no seam named 'relu_backwards'"):
        seams.replace("relu_backwards", print)
    with pytest.raises(TypeError, match="must be callable"):
        seams.replace("relu_backward", 3)
