"""Tensor basics: construction and dtypes, properties, forward values against NumPy, creation
functions, in-place updates, conversion, and the function forms."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import creation, functional_ops as F


# ---------------------------------------------------------------------- construction and dtypes

def test_default_dtypes_follow_pytorch():
    assert tt.tensor([1.0, 2.0]).dtype == np.float32
    assert tt.tensor(3.5).dtype == np.float32
    assert tt.tensor([1, 2]).dtype == np.int64
    assert tt.tensor([True, False]).dtype == np.bool_
    assert tt.tensor([1, 2], dtype=tt.float64).dtype == np.float64


def test_numpy_scalars_keep_their_dtype():
    assert tt.tensor(np.float64(1.5)).dtype == np.float64 and tt.tensor(np.int32(2)).dtype == np.int32


def test_numpy_arrays_keep_their_dtype_and_from_numpy_shares_memory():
    a = np.arange(3, dtype=np.float64)
    assert tt.tensor(a).dtype == np.float64
    shared = tt.from_numpy(a)
    a[0] = 7
    assert shared.data[0] == 7
    copied = tt.tensor(a)
    a[1] = 9
    assert copied.data[1] == 1


def test_tensor_from_list_of_tensors_and_np_asarray():
    t = tt.tensor([tt.tensor(1.0), tt.tensor(2.0)])
    assert t.tolist() == [1.0, 2.0]
    x = tt.tensor([[1.0, 2.0]])
    assert np.asarray(x) is x.data
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert np.array(x, copy=True) is not x.data


def test_numpy_operands_defer_to_tensor():
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    for y in (np.float32(2) * x, np.array([1.0, 1.0]) + x, np.float64(1.0) - x):
        assert isinstance(y, tt.Tensor) and y.requires_grad and y.dtype == np.float32
    with pytest.raises(TypeError):
        np.exp(x)  # ufuncs would silently detach; use x.exp()


def test_properties():
    x = tt.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.dim() == 3
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.numel() == 24 and len(x) == 2 and x.device == "cpu"
    assert x.is_leaf and x.grad is None and x.grad_fn is None and not x.requires_grad


def test_scalar_conversions():
    x = tt.tensor([[2.5]])
    assert x.item() == 2.5 and float(x) == 2.5 and int(x) == 2
    assert [10, 20, 30][tt.tensor(1)] == 20
    assert bool(tt.tensor(1.0)) and not bool(tt.tensor([0.0]))


def test_repr():
    assert repr(tt.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "dtype=torch.float64" in repr(tt.tensor([1.0], dtype=tt.float64))
    assert "requires_grad=True" in repr(tt.ones(2, requires_grad=True))
    assert "grad_fn=<MulBackward0>" in repr(tt.ones(2, requires_grad=True) * 2)


def test_dtype_conversion():
    x = tt.tensor([1.7, -2.2])
    assert x.long().tolist() == [1, -2] and x.long().dtype == np.int64
    assert x.int().dtype == np.int32 and x.half().dtype == np.float16 and x.double().dtype == np.float64
    assert x.bool().tolist() == [True, True]
    assert x.to(tt.float64).dtype == np.float64 and x.to("cpu") is x and x.cpu() is x
    assert tt.arange(2).type_as(x).dtype == np.float32
    assert not x.to(tt.int64).requires_grad


# ---------------------------------------------------------------------- forward values

@pytest.mark.parametrize("name", ["exp", "tanh", "sin", "cos", "abs"])
def test_unary_forward_matches_numpy(name, rng):
    data = rng.standard_normal((3, 4)).astype(np.float32)
    out = getattr(tt.tensor(data), name)()
    np.testing.assert_allclose(out.data, getattr(np, name)(data), rtol=1e-6)
    assert out.dtype == np.float32


def test_activation_values():
    x = tt.tensor([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(x.relu().data, [0, 0, 3])
    np.testing.assert_allclose(x.sigmoid().data, 1 / (1 + np.exp(-x.data)), rtol=1e-6)
    np.testing.assert_allclose(x.clamp(-1, 1).data, [-1, 0, 1])
    np.testing.assert_allclose(tt.tensor([1.0, 4.0]).sqrt().data, [1, 2])
    np.testing.assert_allclose(tt.tensor([1.0, np.e]).log().data, [0, 1], atol=1e-7)
    # gelu(x) = x * Phi(x); Phi(1) = 0.8413447460685429
    np.testing.assert_allclose(tt.tensor([1.0], dtype=tt.float64).gelu().data, [0.8413447460685429], atol=2e-7)


def test_softmax_rows_sum_to_one_and_handle_large_values():
    x = tt.tensor([[1000.0, 1000.0], [-1000.0, 0.0]])
    p = x.softmax(dim=-1)
    np.testing.assert_allclose(p.data, [[0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(x.log_softmax(dim=-1).data, [[-np.log(2), -np.log(2)], [-1000, 0]], rtol=1e-6)
    np.testing.assert_allclose(x.logsumexp(dim=1).data, [1000 + np.log(2), 0.0], rtol=1e-6)


def test_logsumexp_of_all_minus_inf_row():
    x = tt.tensor([[-np.inf, -np.inf], [0.0, 0.0]])
    out = x.logsumexp(dim=-1, keepdim=True)
    assert out.shape == (2, 1) and out.data[0, 0] == -np.inf


def test_reductions_match_numpy(rng):
    data = rng.standard_normal((2, 3, 4))
    x = tt.tensor(data)
    np.testing.assert_allclose(x.sum().data, data.sum())
    np.testing.assert_allclose(x.mean(dim=(0, 2)).data, data.mean(axis=(0, 2)))
    np.testing.assert_allclose(x.var(dim=1, keepdim=True).data, data.var(axis=1, ddof=1, keepdims=True))
    np.testing.assert_allclose(x.std(correction=0).data, data.std())
    np.testing.assert_allclose(x.max().data, data.max())
    values, indices = x.min(dim=-1)
    np.testing.assert_allclose(values.data, data.min(axis=-1))
    np.testing.assert_array_equal(indices.data, data.argmin(axis=-1))
    assert indices.dtype == np.int64
    assert x.argmax().item() == data.argmax()
    assert x.argmax(dim=1, keepdim=True).shape == (2, 1, 4)


def test_matmul_matches_numpy_for_all_rank_combinations(rng):
    shapes = [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)),
              ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 5)), ((2, 3, 4), (4,))]
    for a_shape, b_shape in shapes:
        a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
        out = tt.tensor(a) @ tt.tensor(b)
        np.testing.assert_allclose(out.data, a @ b, rtol=1e-12)
        assert isinstance(out.data, np.ndarray)
    np.testing.assert_allclose(F.matmul(np.eye(2), tt.tensor([1.0, 2.0])).data, [1, 2])
    np.testing.assert_allclose((np.eye(2) @ tt.tensor([[1.0], [2.0]])).data, [[1], [2]])


def test_indexing_matches_numpy(rng):
    data = rng.standard_normal((4, 5, 3))
    x = tt.tensor(data)
    for index in [1, -1, (slice(1, 3), 2), (Ellipsis, 0), (None, 0), ([0, 2, 2],), (slice(None), [4, 0]),
                  (np.array([[0, 1], [3, 3]]),), (data[..., 0] > 0,), ([0, 1], [1, 2], 0)]:
        np.testing.assert_allclose(x[index].data, data[index])
    np.testing.assert_allclose(x[tt.tensor([3, 0])].data, data[[3, 0]])


def test_iteration_yields_rows():
    rows = list(tt.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4]]


def test_shape_ops_forward(rng):
    data = rng.standard_normal((2, 3, 4))
    x = tt.tensor(data)
    np.testing.assert_allclose(x.permute(2, 0, 1).data, data.transpose(2, 0, 1))
    np.testing.assert_allclose(x.permute((2, 0, 1)).data, data.transpose(2, 0, 1))
    np.testing.assert_allclose(x.transpose(0, 2).data, data.swapaxes(0, 2))
    np.testing.assert_allclose(x.mT.data, data.swapaxes(-1, -2))
    np.testing.assert_allclose(x[0].T.data, data[0].T)
    assert x.reshape(-1, 4).shape == (6, 4) and x.view((4, 6)).shape == (4, 6)
    assert x.flatten().shape == (24,) and x.flatten(0, 1).shape == (6, 4) and tt.tensor(1.0).flatten().shape == (1,)
    assert x.unsqueeze(0).shape == (1, 2, 3, 4) and x.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert x.contiguous() is x
    np.testing.assert_allclose(x.repeat(2, 1, 1).data, np.tile(data, (2, 1, 1)))
    np.testing.assert_allclose(tt.tensor([[1.0], [2.0]]).expand(-1, 3).data, [[1, 1, 1], [2, 2, 2]])


def test_split_and_chunk():
    x = tt.arange(10).float()
    assert [p.tolist() for p in x.split(4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [p.shape for p in x.split([2, 8])] == [(2,), (8,)]
    assert [p.shape for p in x.chunk(3)] == [(4,), (4,), (2,)]
    assert isinstance(x.split(5), tuple)


def test_cat_stack_where():
    a, b = tt.tensor([[1.0, 2.0]]), tt.tensor([[3.0, 4.0]])
    np.testing.assert_allclose(tt.cat([a, b]).data, [[1, 2], [3, 4]])
    np.testing.assert_allclose(tt.cat([a, b], dim=-1).data, [[1, 2, 3, 4]])
    assert tt.stack([a, b]).shape == (2, 1, 2) and tt.stack([a, b], dim=-1).shape == (1, 2, 2)
    cond = tt.tensor([True, False])
    np.testing.assert_allclose(tt.where(cond, tt.tensor([1.0, 2.0]), 0).data, [1, 0])
    assert tt.where(cond, 0, tt.tensor([1.0, 2.0])).dtype == np.float32  # scalar takes the tensor's dtype
    assert tt.where(cond, 1.5, 0.5).dtype == np.float32


def test_masked_fill_tril_triu():
    x = tt.ones(3, 3)
    causal = tt.tensor(np.triu(np.ones((3, 3), dtype=bool), k=1))
    np.testing.assert_allclose(x.masked_fill(causal, 0.0).data, np.tril(np.ones((3, 3))))
    np.testing.assert_allclose(x.tril().data, np.tril(np.ones((3, 3))))
    np.testing.assert_allclose(x.triu(1).data, np.triu(np.ones((3, 3)), 1))
    assert tt.ones(2, 2).masked_fill(tt.tensor([True, False]), 5).dtype == np.float32


def test_comparisons_and_logic():
    x = tt.tensor([1.0, 2.0, 3.0])
    assert (x > 1.5).tolist() == [False, True, True] and (x > 1.5).dtype == np.bool_
    assert (x == 2).tolist() == [False, True, False] and (x != 2).tolist() == [True, False, True]
    assert (x <= 2).tolist() == [True, True, False] and (x >= 3).tolist() == [False, False, True]
    assert ((x > 1) & (x < 3)).tolist() == [False, True, False]
    assert ((x < 2) | (x > 2)).tolist() == [True, False, True]
    assert (~(x > 1)).tolist() == [True, False, False]
    assert (x > 0).all().item() and not (x > 2).all().item() and (x > 2).any().item()
    assert (x > 1).any(dim=0, keepdim=True).shape == (1,)
    assert {x: 1}[x] == 1  # tensors stay hashable (by identity) although == is elementwise


def test_topk_values_sorted():
    values, indices = tt.tensor([[1.0, 5.0, 3.0, 4.0]]).topk(2)
    assert values.tolist() == [[5.0, 4.0]] and indices.tolist() == [[1, 3]]
    assert tt.tensor([3.0, 1.0, 2.0]).topk(2, largest=False).indices.tolist() == [1, 2]


def test_maximum_minimum_forward():
    a, b = tt.tensor([1.0, 5.0]), tt.tensor([3.0, 2.0])
    assert a.maximum(b).tolist() == [3, 5] and F.minimum(a, b).tolist() == [1, 2]
    assert a.maximum(2.0).tolist() == [2, 5]


# ---------------------------------------------------------------------- in-place updates

def test_inplace_ops_update_data_and_return_self():
    x = tt.tensor([1.0, 2.0])
    data = x.data
    assert (x.add_(1) is x) and x.tolist() == [2, 3]
    x.sub_(tt.tensor([1.0, 1.0]))
    x.mul_(3)
    x.div_(2)
    x += 1
    x -= 0.5
    x *= 2
    x /= 4
    assert x.data is data  # truly in place
    np.testing.assert_allclose(x.data, [(1.5 + 0.5) * 2 / 4, (3.0 + 0.5) * 2 / 4])
    assert x.fill_(7).tolist() == [7, 7] and x.zero_().tolist() == [0, 0]
    assert x.copy_(tt.tensor([5, 6])).tolist() == [5, 6] and x.dtype == np.float32


def test_inplace_through_view_updates_base():
    x = tt.zeros(2, 3)
    row = x[1]
    row += 1
    assert x.tolist() == [[0, 0, 0], [1, 1, 1]]


def test_setitem():
    x = tt.zeros(3, 4)
    x[0] = 1.0
    x[:, 1] = tt.tensor([5.0, 6.0, 7.0])
    x[tt.tensor([2])] = 9.0
    x[x.data < 0] = -1.0  # boolean mask
    expected = np.zeros((3, 4))
    expected[0] = 1
    expected[:, 1] = [5, 6, 7]
    expected[2] = 9
    np.testing.assert_allclose(x.data, expected)


def test_inplace_float64_operand_keeps_float32():
    x = tt.ones(2)
    x += tt.tensor([0.5, 0.5], dtype=tt.float64)
    assert x.dtype == np.float32 and x.tolist() == [1.5, 1.5]


def test_random_fill_uses_generator():
    a = tt.zeros(1000).uniform_(-2, 3, generator=tt.Generator(1))
    b = tt.zeros(1000).uniform_(-2, 3, generator=tt.Generator(1))
    assert a.tolist() == b.tolist() and a.data.min() >= -2 and a.data.max() < 3
    n = tt.zeros(4000).normal_(1.0, 2.0, generator=tt.Generator(0))
    assert abs(n.data.mean() - 1) < 0.15 and abs(n.data.std() - 2) < 0.15 and n.dtype == np.float32
    w = tt.zeros(3, requires_grad=True)
    with tt.no_grad():
        w.normal_()
    assert w.requires_grad and w.data.std() > 0


# ---------------------------------------------------------------------- creation functions

def test_creation_functions():
    assert tt.zeros(2, 3).tolist() == [[0] * 3] * 2 and tt.zeros((2, 3)).shape == (2, 3)
    assert tt.ones(2, dtype=tt.int64).dtype == np.int64
    assert creation.empty(2, 2).shape == (2, 2)
    assert tt.full((2,), 3).dtype == np.int64 and tt.full((2,), 3.0).dtype == np.float32
    assert tt.full((2,), True).dtype == np.bool_ and tt.full(3, 1.5).tolist() == [1.5] * 3
    x = tt.tensor([[1.0, 2.0]])
    assert tt.zeros_like(x).shape == (1, 2) and tt.ones_like(x, dtype=tt.int64).dtype == np.int64
    assert creation.full_like(x, 4.0).tolist() == [[4, 4]]
    assert tt.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert tt.arange(3).tolist() == [0, 1, 2] and tt.arange(1, 2, 0.5).tolist() == [1.0, 1.5]
    assert tt.linspace(0, 1, 5).tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert tt.ones(2, requires_grad=True).requires_grad


def test_random_creation_is_reproducible_and_typed():
    g1, g2 = tt.Generator(3), tt.Generator(3)
    assert tt.randn(2, 3, generator=g1).tolist() == tt.randn(2, 3, generator=g2).tolist()
    assert tt.randn(2).dtype == np.float32 and tt.rand(2, dtype=tt.float64).dtype == np.float64
    r = tt.randint(0, 5, (1000,), generator=g1)
    assert r.dtype == np.int64 and r.data.min() == 0 and r.data.max() == 4
    assert sorted(tt.randperm(6, generator=g1).tolist()) == list(range(6))
    assert creation.randn_like(tt.zeros(2, 3)).shape == (2, 3) and creation.rand_like(tt.zeros(2)).dtype == np.float32
    tt.manual_seed(5)
    a = tt.rand(3)
    tt.manual_seed(5)
    assert tt.rand(3).tolist() == a.tolist()


def test_multinomial():
    g = tt.Generator(0)
    probs = tt.tensor([[0.0, 1.0, 0.0], [0.2, 0.0, 0.8]])
    draws = F.multinomial(probs, 2000, replacement=True, generator=g)
    assert draws.shape == (2, 2000) and draws.dtype == np.int64
    assert np.all(draws.data[0] == 1) and not np.any(draws.data[1] == 1)
    assert abs((draws.data[1] == 2).mean() - 0.8) < 0.05
    without = F.multinomial(tt.tensor([1.0, 1.0, 0.0, 1.0]), 3, generator=g)
    assert sorted(without.tolist()) == [0, 1, 3]
    assert F.multinomial(tt.tensor([5.0, 0.0]), 1, generator=g).tolist() == [0]


def test_function_forms_match_methods(rng):
    data = rng.standard_normal((2, 3))
    x = tt.tensor(data)
    for name in ["exp", "tanh", "sigmoid", "relu", "abs", "sin", "cos", "clone"]:
        np.testing.assert_allclose(getattr(F, name)(x).data, getattr(x, name)().data)
    np.testing.assert_allclose(F.log(x.abs()).data, np.log(np.abs(data)), rtol=1e-6)
    np.testing.assert_allclose(F.sqrt(x.abs()).data, np.sqrt(np.abs(data)), rtol=1e-6)
    np.testing.assert_allclose(F.softmax(x, dim=0).data, x.softmax(dim=0).data)
    np.testing.assert_allclose(F.log_softmax(x).data, x.log_softmax().data)
    np.testing.assert_allclose(F.logsumexp(x, 1).data, x.logsumexp(1).data)
    np.testing.assert_allclose(F.sum(x, 1).data, data.sum(1))
    np.testing.assert_allclose(F.mean(x).data, data.mean())
    np.testing.assert_allclose(F.var(x, 0).data, data.var(0, ddof=1))
    np.testing.assert_allclose(F.std(x).data, data.std(ddof=1))
    np.testing.assert_allclose(F.max(x).data, data.max())
    np.testing.assert_allclose(F.min(x, 1).values.data, data.min(1))
    assert F.argmax(x, 1).tolist() == data.argmax(1).tolist() and F.argmin(x).item() == data.argmin()
    assert F.topk(x, 1).values.shape == (2, 1)
    assert F.reshape(x, 3, 2).shape == (3, 2) and F.transpose(x, 0, 1).shape == (3, 2)
    assert F.permute(x, 1, 0).shape == (3, 2) and F.flatten(x).shape == (6,)
    assert F.unsqueeze(x, 0).shape == (1, 2, 3) and F.squeeze(F.unsqueeze(x, 0)).shape == (2, 3)
    assert len(F.split(x, 1, dim=1)) == 3 and len(F.chunk(x, 2)) == 2
    np.testing.assert_allclose(F.clamp(x, 0, 0.5).data, np.clip(data, 0, 0.5))
    np.testing.assert_allclose(F.maximum(x, 0.0).data, np.maximum(data, 0))
    np.testing.assert_allclose(F.masked_fill(x, x.data > 0, 0.0).data, np.where(data > 0, 0, data))
    np.testing.assert_allclose(F.tril(x).data, np.tril(data))
    np.testing.assert_allclose(F.triu(x).data, np.triu(data))
