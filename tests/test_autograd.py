"""Autograd: every differentiable op against finite differences (float64), float32 kept through
forward and backward, and the engine's semantics (accumulation, retain_graph, no_grad, detach,
retain_grad, in-place refusal, graph freeing).

`CASES` is shared with test_tensor_torch.py: each op is written once as `fn(lib, *tensors)` so
the same code runs on tinytorch and on torch.
"""

import gc
import weakref
from dataclasses import dataclass

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.gradcheck import gradcheck, numerical_grad


def gelu(lib, x, approximate="none"):
    if lib is tt:
        return x.gelu(approximate=approximate)
    return lib.nn.functional.gelu(x, approximate=approximate)  # torch.Tensor has no .gelu


MASK_34 = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])


@dataclass
class Case:
    name: str
    fn: object  # fn(lib, *tensors) -> tensor
    shapes: list
    positive: tuple = ()  # indices of inputs that must be positive (log, sqrt, division)
    layout: str = "contiguous"  # or "transposed" / "sliced": inputs are non-contiguous views

    def inputs(self, rng, dtype=np.float64, lib=tt):
        """Fresh leaf tensors (same values for the same rng state) for `lib`."""
        arrays = []
        for i, shape in enumerate(self.shapes):
            if self.layout == "transposed":
                a = rng.standard_normal(shape[::-1]).T
            elif self.layout == "sliced":
                a = rng.standard_normal(tuple(2 * n for n in shape))[tuple(slice(None, None, 2) for _ in shape)]
            else:
                a = rng.standard_normal(shape)
            if i in self.positive:
                a = np.abs(a) + 0.5
            arrays.append(a.astype(dtype, copy=False))  # keep views for float64
        if lib is tt:
            return [tt.Tensor(a, requires_grad=True) for a in arrays]  # keeps the views' layout
        return [lib.tensor(a, requires_grad=True) for a in arrays]


def index(lib, values):
    return lib.tensor(np.asarray(values))


CASES = [
    # arithmetic, broadcasting both ways
    Case("add", lambda L, a, b: a + b, [(3, 4), (3, 4)]),
    Case("add_broadcast_left", lambda L, a, b: a + b, [(3, 1), (4,)]),
    Case("add_broadcast_right", lambda L, a, b: a + b, [(2, 3, 4), (3, 1)]),
    Case("add_scalar", lambda L, a: a + 2.0, [(3,)]),
    Case("radd_scalar", lambda L, a: 2.0 + a, [(3,)]),
    Case("sub_broadcast_both", lambda L, a, b: a - b, [(4, 1), (1, 5)]),
    Case("rsub_scalar", lambda L, a: 1.0 - a, [(2, 3)]),
    Case("mul_broadcast", lambda L, a, b: a * b, [(2, 1, 4), (3, 1)]),
    Case("mul_self", lambda L, a: a * a, [(3, 2)]),
    Case("rmul_scalar", lambda L, a: 3.0 * a, [(3,)]),
    Case("div", lambda L, a, b: a / b, [(3, 4), (4,)], positive=(1,)),
    Case("div_broadcast_left", lambda L, a, b: a / b, [(4,), (3, 4)], positive=(1,)),
    Case("rdiv_scalar", lambda L, a: 2.0 / a, [(3,)], positive=(0,)),
    Case("pow_int", lambda L, a: a**3, [(3, 2)]),
    Case("pow_half", lambda L, a: a**0.5, [(3,)], positive=(0,)),
    Case("pow_tensor", lambda L, a, b: a**b, [(3, 4), (4,)], positive=(0,)),
    Case("rpow", lambda L, a: 2.0**a, [(3,)]),
    Case("neg", lambda L, a: -a, [(2, 3)]),
    Case("clone", lambda L, a: a.clone() * 2, [(2, 3)]),
    # matmul: 2-D, batched with broadcast batch dims, 1-D operands, shared weights
    Case("matmul_2d", lambda L, a, b: a @ b, [(3, 4), (4, 5)]),
    Case("matmul_batched_broadcast", lambda L, a, b: a @ b, [(2, 1, 3, 4), (3, 4, 5)]),
    Case("matmul_batch_of_rows_times_matrix", lambda L, a, b: a @ b, [(2, 3, 4), (4, 5)]),
    Case("matmul_matrix_times_batch", lambda L, a, b: a @ b, [(3, 4), (2, 4, 5)]),
    Case("matmul_batch1_broadcast", lambda L, a, b: a @ b, [(1, 3, 4), (2, 4, 5)]),
    Case("matmul_1d_1d", lambda L, a, b: a @ b, [(4,), (4,)]),
    Case("matmul_1d_2d", lambda L, a, b: a @ b, [(4,), (4, 5)]),
    Case("matmul_2d_1d", lambda L, a, b: a @ b, [(3, 4), (4,)]),
    Case("matmul_1d_3d", lambda L, a, b: a @ b, [(4,), (2, 4, 5)]),
    Case("matmul_3d_1d", lambda L, a, b: a @ b, [(2, 3, 4), (4,)]),
    Case("matmul_transposed_weight", lambda L, a, w: a @ w.T, [(2, 3, 4), (5, 4)]),
    # reductions
    Case("sum_all", lambda L, a: a.sum(), [(3, 4)]),
    Case("sum_dim", lambda L, a: a.sum(dim=1), [(3, 4, 2)]),
    Case("sum_dims_keepdim", lambda L, a: a.sum(dim=(0, 2), keepdim=True), [(3, 4, 2)]),
    Case("sum_negative_dim", lambda L, a: a.sum(dim=-1), [(3, 4)]),
    Case("mean_all", lambda L, a: a.mean(), [(3, 4)]),
    Case("mean_dim_keepdim", lambda L, a: a.mean(dim=-1, keepdim=True), [(3, 4)]),
    Case("var_unbiased", lambda L, a: a.var(dim=1), [(3, 5)]),
    Case("var_biased_keepdim", lambda L, a: a.var(dim=-1, keepdim=True, correction=0), [(2, 3, 4)]),
    Case("var_all", lambda L, a: a.var(), [(3, 4)]),
    Case("std", lambda L, a: a.std(dim=0), [(4, 3)]),
    Case("logsumexp", lambda L, a: a.logsumexp(dim=1), [(3, 5)]),
    Case("max_all", lambda L, a: a.max(), [(3, 4)]),
    Case("max_dim", lambda L, a: a.max(dim=1).values, [(3, 4)]),
    Case("min_dim_keepdim", lambda L, a: a.min(dim=0, keepdim=True).values, [(3, 4)]),
    Case("topk", lambda L, a: a.topk(2, dim=1).values, [(3, 5)]),
    # shape manipulation
    Case("reshape", lambda L, a: a.reshape(4, 3) * L.arange(12).reshape(4, 3), [(3, 4)]),
    Case("view_flat", lambda L, a: a.view(-1), [(3, 4)]),
    Case("flatten", lambda L, a: a.flatten(1), [(2, 3, 4)]),
    Case("unsqueeze", lambda L, a: a.unsqueeze(-1) * L.tensor([[[1.0, 2.0]]]), [(3, 4)]),
    Case("squeeze", lambda L, a: a.squeeze(1), [(3, 1, 4)]),
    Case("expand", lambda L, a: a.expand(2, 3, 4), [(3, 1)]),
    Case("repeat", lambda L, a: a.repeat(2, 1, 3), [(3, 2)]),
    Case("permute", lambda L, a: a.permute(2, 0, 1), [(2, 3, 4)]),
    Case("transpose", lambda L, a: a.transpose(0, -1), [(2, 3, 4)]),
    Case("T", lambda L, a: a.T, [(3, 4)]),
    Case("mT", lambda L, a: a.mT, [(2, 3, 4)]),
    # indexing: basic, fancy with repeated indices, masks
    Case("index_slices", lambda L, a: a[1:, ::2], [(3, 4)]),
    Case("index_int", lambda L, a: a[1], [(3, 4)]),
    Case("index_ellipsis_none", lambda L, a: a[..., None, 0], [(2, 3, 4)]),
    Case("index_rows_repeated", lambda L, a: a[index(L, [0, 2, 0, 0, -1])], [(3, 4)]),
    Case("index_rows_2d_embedding", lambda L, a: a[index(L, [[0, 4], [4, 4], [1, 0]])], [(5, 3, 2)]),
    Case("index_1d_repeated_list", lambda L, a: a[[0, 0, 1, 0]], [(3,)]),
    Case("index_pairs_repeated", lambda L, a: a[index(L, [0, 1, 1, 0]), index(L, [2, 0, 0, 2])], [(3, 4)]),
    Case("index_slice_then_array", lambda L, a: a[:, index(L, [0, 0, 3])], [(3, 4)]),
    Case("index_bool_mask", lambda L, a: a[L.tensor(MASK_34)], [(3, 4)]),
    Case("split", lambda L, a: L.cat([p * (i + 1) for i, p in enumerate(a.split(2, dim=1))], dim=1), [(3, 5)]),
    Case("split_sizes", lambda L, a: L.cat([p * (i + 1) for i, p in enumerate(a.split([1, 3], dim=0))], 0), [(4, 2)]),
    Case("chunk", lambda L, a: L.cat([p * (i + 1) for i, p in enumerate(a.chunk(3, dim=-1))], dim=-1), [(2, 6)]),
    Case("masked_fill", lambda L, a: a.masked_fill(L.tensor(MASK_34[0]), -1.0), [(3, 4)]),
    Case("tril", lambda L, a: a.tril(), [(2, 3, 3)]),
    Case("triu_offset", lambda L, a: a.triu(1), [(3, 4)]),
    # elementwise functions
    Case("exp", lambda L, a: a.exp(), [(3, 4)]),
    Case("log", lambda L, a: a.log(), [(3, 4)], positive=(0,)),
    Case("sqrt", lambda L, a: a.sqrt(), [(3, 4)], positive=(0,)),
    Case("abs", lambda L, a: a.abs(), [(3, 4)]),
    Case("sin", lambda L, a: a.sin(), [(3, 4)]),
    Case("cos", lambda L, a: a.cos(), [(3, 4)]),
    Case("clamp", lambda L, a: a.clamp(min=-0.5, max=0.5), [(3, 4)]),
    Case("clamp_min", lambda L, a: a.clamp(min=0.1), [(3, 4)]),
    Case("maximum_broadcast", lambda L, a, b: a.maximum(b), [(3, 4), (4,)]),
    Case("minimum", lambda L, a, b: a.minimum(b), [(3, 4), (3, 4)]),
    Case("tanh", lambda L, a: a.tanh(), [(3, 4)]),
    Case("sigmoid", lambda L, a: a.sigmoid(), [(3, 4)]),
    Case("relu", lambda L, a: a.relu(), [(3, 4)]),
    Case("gelu", lambda L, a: gelu(L, a), [(3, 4)]),
    Case("gelu_tanh", lambda L, a: gelu(L, a, "tanh"), [(3, 4)]),
    Case("softmax_last", lambda L, a: a.softmax(dim=-1), [(3, 4)]),
    Case("softmax_first", lambda L, a: a.softmax(dim=0), [(3, 4)]),
    Case("log_softmax", lambda L, a: a.log_softmax(dim=1), [(2, 5, 3)]),
    # joining and choosing
    Case("cat", lambda L, a, b, c: L.cat([a, b, c], dim=1), [(2, 3), (2, 1), (2, 2)]),
    Case("stack", lambda L, a, b: L.stack([a, b], dim=-1), [(2, 3), (2, 3)]),
    Case("where_broadcast", lambda L, a, b: L.where(L.tensor(MASK_34), a, b), [(3, 1), (4,)]),
    # non-contiguous inputs (transposed / sliced views)
    Case("matmul_transposed_inputs", lambda L, a, b: a @ b, [(3, 4), (4, 5)], layout="transposed"),
    Case("mul_transposed_inputs", lambda L, a, b: a * b, [(3, 4), (3, 4)], layout="transposed"),
    Case("softmax_sliced_input", lambda L, a: a.softmax(dim=0), [(3, 4)], layout="sliced"),
    Case("sum_sliced_input", lambda L, a: a.sum(dim=1), [(3, 4)], layout="sliced"),
    Case("index_sliced_input", lambda L, a: a[index(L, [1, 1, 0])], [(3, 4)], layout="sliced"),
    # compositions: shared subexpressions, chains
    Case("diamond", lambda L, a: (a * a + a).exp().sum(dim=0), [(3, 2)]),
    Case("layer_norm_like", lambda L, a: (a - a.mean(-1, keepdim=True)) / (a.var(-1, keepdim=True, correction=0) + 1e-5).sqrt(), [(2, 5)]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradcheck(case, rng):
    inputs = case.inputs(rng)
    if case.layout != "contiguous":
        assert not all(x.data.flags.c_contiguous for x in inputs)
    assert gradcheck(lambda *xs: case.fn(tt, *xs), inputs)


def graph_nodes(out):
    """All tensors that require grad and that `out` was computed from (and `out`)."""
    nodes, stack = {}, [out]
    while stack:
        node = stack.pop()
        if id(node) not in nodes:
            nodes[id(node)] = node
            stack.extend(p for p in node._parents if p.requires_grad)
    return list(nodes.values())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_float32_stays_float32_in_forward_and_every_backward(case, rng):
    inputs = case.inputs(rng, np.float32)
    out = case.fn(tt, *inputs)
    assert out.dtype == np.float32
    # call every recorded backward directly: a float64 constant inside one would otherwise be
    # hidden by the engine casting gradients back to each input's dtype
    for node in graph_nodes(out):
        if node.is_leaf:
            continue
        grads = node._backward(np.ones(node.shape, dtype=np.float32))
        for parent, grad in zip(node._parents, grads):
            if grad is not None and parent.requires_grad:
                assert np.asarray(grad).dtype == np.float32, node.grad_fn
    out.backward(np.ones(out.shape, dtype=np.float32))
    for x in inputs:
        assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


# ---------------------------------------------------------------------- engine semantics

def test_backward_twice_raises_and_retain_graph_allows_it(leaf):
    x = leaf(3)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.data.copy()
    y.backward()  # graph kept by the first call
    np.testing.assert_allclose(x.grad.data, 2 * first)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_twice_through_a_shared_subgraph_raises(leaf):
    x = leaf(3)
    h = x.exp()
    h.sum().backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        (h * 2).sum().backward()


def test_gradients_accumulate_across_backward_calls(leaf):
    x = leaf(4)
    (x * 2).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 + 2 * x.data)


def test_grad_reset_to_none_starts_fresh(leaf):
    x = leaf(2)
    (x * 3).sum().backward()
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5, 5])


def test_non_scalar_backward_needs_gradient(leaf):
    x = leaf(2, 3)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(2, 3\)"):
        y.backward()
    g = np.arange(6.0).reshape(2, 3)
    y.backward(gradient=g)
    np.testing.assert_allclose(x.grad.data, 2 * g)


def test_backward_of_a_one_element_non_0d_tensor(leaf):
    x = leaf(1, 1)
    (x * 3).backward()
    np.testing.assert_allclose(x.grad.data, [[3.0]])


def test_backward_on_leaf_accumulates_ones():
    x = tt.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_no_grad_stops_recording_and_restores_mode(leaf):
    x = leaf(3)
    with tt.no_grad():
        y = x * 2
        assert not tt.is_grad_enabled()
        with tt.enable_grad():
            z = x * 2
    assert tt.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert z.requires_grad and z.grad_fn == "MulBackward"


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(ZeroDivisionError):
        with tt.no_grad():
            1 / 0
    assert tt.is_grad_enabled()


def test_no_grad_as_decorator_with_and_without_parentheses(leaf):
    x = leaf(2)

    @tt.no_grad()
    def called(t):
        return t * 2

    @tt.no_grad
    def bare(t):
        return t * 2

    assert not called(x).requires_grad and not bare(x).requires_grad
    assert bare.__name__ == "bare" and tt.is_grad_enabled()


def test_set_grad_enabled(leaf):
    x = leaf(2)
    with tt.grad_mode.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert tt.is_grad_enabled()
    with tt.grad_mode.set_grad_enabled(True):
        assert (x * 2).requires_grad


def test_detach_shares_data_and_blocks_gradient(leaf):
    x = leaf(3)
    d = x.detach()
    assert d.data is x.data and not d.requires_grad and d.is_leaf
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, x.data)  # d treated as a constant


def test_retain_grad_keeps_non_leaf_gradient(leaf):
    x = leaf(3)
    h = x * 2
    h.retain_grad()
    other = x * 3  # not retained
    (h * h + other).sum().backward()
    np.testing.assert_allclose(h.grad.data, 2 * h.data)
    assert other.grad is None
    np.testing.assert_allclose(x.grad.data, 8 * x.data + 3)


def test_only_inputs_that_require_grad_get_gradients(leaf):
    w = leaf(3)
    x = tt.tensor([1.0, 2.0, 3.0], dtype=tt.float64)
    (w * x).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad.data, x.data)


def test_ops_on_tensors_without_grad_are_not_recorded():
    a, b = tt.ones(2), tt.ones(2)
    c = a * b + 1
    assert not c.requires_grad and c.is_leaf and c.grad_fn is None


def test_inplace_refused_on_tensor_requiring_grad_while_recording(leaf):
    x = leaf(3)
    for update in (lambda: x.__iadd__(1), lambda: x.mul_(2), lambda: x.zero_(), lambda: x.copy_(x.detach())):
        with pytest.raises(RuntimeError, match="in place while recording.*no_grad"):
            update()
    before = x.data.copy()
    with tt.no_grad():
        x -= 0.5
    np.testing.assert_allclose(x.data, before - 0.5)
    assert x.requires_grad and x.is_leaf


def test_inplace_with_operand_requiring_grad_is_refused(leaf):
    a = tt.zeros(3, dtype=tt.float64)
    w = leaf(3)
    with pytest.raises(RuntimeError, match="operand requires grad"):
        a += w
    with pytest.raises(RuntimeError, match="operand requires grad"):
        a[0] = w[0]


def test_inplace_on_non_leaf_is_recorded_and_refused_once_used(leaf):
    x = leaf(3)
    h = x * 2
    h[0] = 1.0  # recorded, as in PyTorch: no gradient reaches the overwritten entry
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 2.0, 2.0])
    used = x * 2
    _ = used + 1
    with pytest.raises(RuntimeError, match="in-place update .* only right after the op that made it"):
        used[0] = 1.0


def test_backward_frees_intermediates(leaf):
    x = leaf(100)
    h = x.exp()
    ref = weakref.ref(h)
    y = (h * 2).sum()
    del h
    y.backward()
    gc.collect()
    assert ref() is None  # only `y` is alive; its graph no longer holds the activations
    assert y.grad_fn == "SumBackward" and not y.is_leaf


def test_retain_graph_keeps_intermediates(leaf):
    x = leaf(3)
    h = x.exp()
    ref = weakref.ref(h)
    y = (h * 2).sum()
    del h
    y.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None


def test_long_chain_has_no_recursion_limit(leaf):
    x = leaf(2)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0])


def test_same_tensor_as_both_operands(leaf):
    x = leaf(3)
    (x * x + x / x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data, atol=1e-12)


def test_max_all_shares_gradient_between_ties():
    x = tt.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.data, [0, 0.5, 0.5, 0])
    assert x.grad.dtype == np.float32


def test_max_dim_gives_gradient_to_the_returned_index_only():
    x = tt.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert indices.tolist() == [1, 0]
    values.sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0, 1, 0], [1, 0, 0]])


def test_fancy_index_with_repeated_indices_adds_gradients():
    x = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_allclose(x.grad.data, [3, 0, 1])


def test_embedding_style_index_matches_add_at(rng):
    table = tt.tensor(rng.standard_normal((7, 4)), requires_grad=True)
    idx = rng.integers(-7, 7, size=(5, 6))
    out = table[tt.tensor(idx)]  # (5, 6, 4)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected = np.zeros((7, 4))
    np.add.at(expected, idx, g)
    np.testing.assert_allclose(table.grad.data, expected)


def test_zero_dim_tensors(leaf):
    x = tt.tensor(3.0, requires_grad=True)
    y = (x * x + 1).sum(dim=0)  # PyTorch accepts dim 0 / -1 on 0-d tensors
    assert isinstance(y.data, np.ndarray) and y.shape == ()
    y.backward()
    assert x.grad.item() == 6.0
    assert isinstance((x[...] * 2).data, np.ndarray)


def test_negative_dims_match_positive(leaf):
    x = leaf(2, 3, 4)
    for op in ("sum", "mean", "softmax", "log_softmax"):
        np.testing.assert_allclose(getattr(x, op)(dim=-1).data, getattr(x, op)(dim=2).data)


def test_mixed_float_dtypes_promote_and_gradients_keep_input_dtype():
    a = tt.tensor([1.0, 2.0], requires_grad=True)  # float32
    b = tt.tensor([3.0, 4.0], dtype=tt.float64, requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.data, [3, 4])


def test_to_dtype_is_differentiable():
    a = tt.tensor([1.0, 2.0], requires_grad=True)
    y = a.double() * 3
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32
    np.testing.assert_allclose(a.grad.data, [3, 3])
    assert a.float() is a  # same dtype: no copy, as in PyTorch


def test_pow_zero_exponent_has_zero_gradient_at_zero():
    x = tt.tensor([0.0, 2.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0])


def test_relu_gradient_at_zero_is_zero():
    x = tt.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0, 1])


def test_masked_fill_with_inf_then_softmax_gives_zero_gradient_there():
    x = tt.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    mask = tt.tensor([[False, False, True]])
    p = x.masked_fill(mask, float("-inf")).softmax(dim=-1)
    assert p.data[0, 2] == 0
    (p * tt.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    assert x.grad.data[0, 2] == 0 and np.all(np.isfinite(x.grad.data))


def test_backward_written_with_tensor_ops_records_nothing(leaf):
    x = leaf(3)
    seen = []

    def backward(g):
        grad = tt.Tensor(g) * 2  # Tensor ops inside a backward
        seen.append(grad.requires_grad or tt.is_grad_enabled())
        return (grad.data,)

    tt.Tensor._result(x.data * 2, (x,), backward, "TwiceBackward").sum().backward()
    assert seen == [False] and tt.is_grad_enabled()
    np.testing.assert_allclose(x.grad.data, [2, 2, 2])


def test_custom_op_with_wrong_gradient_shape_is_reported(leaf):
    x = leaf(3)
    y = tt.Tensor._result(x.data * 2, (x,), lambda g: (g.sum(),), "BrokenBackward")
    with pytest.raises(RuntimeError, match=r"BrokenBackward returned a gradient of shape \(\) for an input of shape \(3,\)"):
        y.sum().backward()


# ---------------------------------------------------------------------- gradcheck itself

def test_gradcheck_catches_a_wrong_backward(leaf):
    def wrong_square(x):
        return tt.Tensor._result(x.data**2, (x,), lambda g: (g * x.data,), "WrongSquareBackward")  # missing 2*

    with pytest.raises(AssertionError, match="input 0 .*gradient mismatch"):
        gradcheck(wrong_square, [leaf(3)])


def test_gradcheck_requires_float64_inputs(leaf):
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda x: x * 2, [leaf(3, dtype=np.float32)])


def test_gradcheck_passes_through_inputs_without_grad(leaf):
    idx = tt.tensor([0, 2, 2])
    assert gradcheck(lambda x, i: x[i], [leaf(4), idx])


def test_numerical_grad_on_transposed_view():
    base = np.arange(6.0).reshape(2, 3)
    x = tt.Tensor(base.T)  # a non-contiguous view
    (grad,) = numerical_grad(lambda t: t * t, [x])
    np.testing.assert_allclose(grad, 2 * base.T, atol=1e-6)
    np.testing.assert_array_equal(x.data, base.T)  # restored


@pytest.mark.parametrize("use", ["all", "middle only", "first and last", "x also before and after"])
def test_split_pieces_gradients_match_pytorch(use):
    """split/chunk assemble x's gradient in one array (ops/shape.py _split_pieces): pieces
    unused, x used by other ops recorded before and after the split, and a second backward."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 9, 3)).astype(np.float32)

    def program(m, x):
        before = (x * 3).sum()
        a, b, c = x.split([2, 3, 4], dim=1)
        terms = {"all": [a.sum() * 2, (b * b).sum(), c.exp().sum()], "middle only": [(b ** 3).sum()],
                 "first and last": [a.sum(), (c * 5).sum()]}.get(use, [(a * a).sum(), c.sum(), before, (x ** 2).sum()])
        return sum(terms[1:], terms[0]) + x.chunk(3, 2)[1].sum()

    ours, theirs = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    loss, expected = program(tt, ours), program(torch, theirs)
    for _ in range(2):  # retain_graph: the second pass through the same graph adds the gradient again
        loss.backward(retain_graph=True)
        expected.backward(retain_graph=True)
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)
