"""scaled_dot_product_attention (fused) and MultiHeadAttention: values, gradients, masks, errors."""

import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.gradcheck import gradcheck
from tinytorch.nn import functional as F

rng = np.random.default_rng(0)


def t64(*shape):
    return tinytorch.Tensor(rng.standard_normal(shape), requires_grad=True)


def naive_attention(q, k, v, allowed=None, scale=None):
    """Reference in plain NumPy, bool mask True = may attend."""
    scores = q @ np.swapaxes(k, -1, -2) * (scale or 1 / np.sqrt(q.shape[-1]))
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    return weights / weights.sum(-1, keepdims=True) @ v


# ---------------------------------------------------------------------- scaled_dot_product_attention

def test_sdpa_matches_naive_reference():
    q, k, v = t64(2, 3, 4, 5), t64(2, 3, 6, 5), t64(2, 3, 6, 7)
    out = F.scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 4, 7)
    np.testing.assert_allclose(out.data, naive_attention(q.data, k.data, v.data), atol=1e-12)


def test_sdpa_causal_ignores_future_keys():
    q, k, v = t64(1, 2, 5, 4), t64(1, 2, 5, 4), t64(1, 2, 5, 4)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    v.data[..., 3:, :] += 100.0  # changing later values must not move earlier outputs
    again = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    np.testing.assert_allclose(out.data[..., :3, :], again.data[..., :3, :])
    assert not np.allclose(out.data[..., 3:, :], again.data[..., 3:, :])


def test_sdpa_bool_and_float_masks_agree():
    q, k, v = t64(2, 4, 3), t64(2, 5, 3), t64(2, 5, 3)
    allowed = rng.random((4, 5)) > 0.4
    allowed[:, 0] = True
    additive = np.where(allowed, 0.0, -np.inf)
    a = F.scaled_dot_product_attention(q, k, v, attn_mask=tinytorch.tensor(allowed))
    b = F.scaled_dot_product_attention(q, k, v, attn_mask=tinytorch.tensor(additive))
    np.testing.assert_allclose(a.data, b.data)
    np.testing.assert_allclose(a.data, naive_attention(q.data, k.data, v.data, allowed), atol=1e-12)


def test_sdpa_fully_masked_row_gives_zeros_not_nan():
    q, k, v = t64(1, 3, 2), t64(1, 4, 2), t64(1, 4, 2)
    allowed = np.ones((3, 4), dtype=bool)
    allowed[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
    out.sum().backward()
    assert np.all(np.isfinite(out.data)) and np.all(out.data[0, 1] == 0)
    assert np.all(np.isfinite(q.grad.data))


@pytest.mark.parametrize("kwargs", [
    {},
    {"is_causal": True},
    {"attn_mask": rng.random((3, 4)) > 0.3},
    {"attn_mask": rng.standard_normal((2, 1, 3, 4))},
    {"scale": 0.3},
])
def test_sdpa_gradcheck(kwargs):
    q, k, v = t64(2, 2, 3, 3), t64(2, 2, 4, 3), t64(2, 2, 4, 2)
    if kwargs.get("is_causal"):
        k, v = t64(2, 2, 3, 3), t64(2, 2, 3, 2)
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs), [q, k, v])


def test_sdpa_gradcheck_with_broadcast_batch():
    q, k, v = t64(2, 3, 4), t64(1, 5, 4), t64(5, 4)
    assert gradcheck(F.scaled_dot_product_attention, [q, k, v])


def test_sdpa_dropout_is_seeded_and_scales():
    q, k, v = t64(1, 1, 6, 4), t64(1, 1, 6, 4), t64(1, 1, 6, 4)
    outs = [
        F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, generator=tinytorch.Generator(3)).data
        for _ in range(2)
    ]
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.allclose(outs[0], F.scaled_dot_product_attention(q, k, v).data)
    # gradient of the dropped path: check with the same generator seed on every evaluation
    fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=0.3, generator=tinytorch.Generator(1))
    assert gradcheck(fn, [q, k, v])


def test_sdpa_keeps_float32_with_a_float64_mask():
    q = tinytorch.randn(2, 3, 4)
    out = F.scaled_dot_product_attention(q, q, q, attn_mask=np.zeros((3, 3)))
    assert out.dtype == np.float32


def test_sdpa_mask_shape_error():
    q = k = v = tinytorch.zeros(2, 4, 5, 8)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: attn_mask of shape \(3, 5\) "
                                         r"does not broadcast to attention scores \(2, 4, 5, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=tinytorch.ones(3, 5).bool())


def test_sdpa_input_errors():
    with pytest.raises(ValueError, match=r"query \(2, 3, 4\) and key \(2, 3, 5\) must have the same last dimension"):
        F.scaled_dot_product_attention(tinytorch.zeros(2, 3, 4), tinytorch.zeros(2, 3, 5), tinytorch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="must have the same sequence length"):
        F.scaled_dot_product_attention(tinytorch.zeros(2, 3, 4), tinytorch.zeros(2, 3, 4), tinytorch.zeros(2, 2, 4))
    with pytest.raises(ValueError, match="pass either attn_mask or is_causal=True, not both"):
        F.scaled_dot_product_attention(*[tinytorch.zeros(3, 4)] * 3, attn_mask=np.ones((3, 3), bool), is_causal=True)
    with pytest.raises(TypeError, match="attn_mask must be bool or floating point, got dtype int64"):
        F.scaled_dot_product_attention(*[tinytorch.zeros(3, 4)] * 3, attn_mask=np.ones((3, 3), np.int64))
    with pytest.raises(ValueError, match=r"dropout probability must be in \[0, 1\)"):
        F.scaled_dot_product_attention(*[tinytorch.zeros(3, 4)] * 3, dropout_p=1.0)


def test_attention_weights_helper_rows_sum_to_one_and_are_causal():
    q, k = t64(2, 5, 4), t64(2, 5, 4)
    w = F.attention_weights(q, k, is_causal=True).data
    np.testing.assert_allclose(w.sum(-1), 1)
    assert np.all(np.triu(w[0], 1) == 0)


def test_sdpa_matches_pytorch():
    torch = pytest.importorskip("torch")
    q, k, v = t64(2, 3, 5, 4), t64(2, 3, 6, 4), t64(2, 3, 6, 4)
    for kwargs in ({}, {"attn_mask": rng.random((5, 6)) > 0.3}, {"attn_mask": rng.standard_normal((3, 5, 6))}):
        for t in (q, k, v):
            t.grad = None
        out = F.scaled_dot_product_attention(q, k, v, **kwargs)
        grad = rng.standard_normal(out.shape)
        out.backward(grad)
        tq, tk, tv = (torch.tensor(t.data, requires_grad=True) for t in (q, k, v))
        tkw = {name: torch.tensor(value) for name, value in kwargs.items()}
        ref = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **tkw)
        ref.backward(torch.tensor(grad))
        np.testing.assert_allclose(out.data, ref.detach().numpy(), atol=1e-12)
        for ours, theirs in zip((q, k, v), (tq, tk, tv)):
            np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), atol=1e-12)
    causal = F.scaled_dot_product_attention(q, q, v[..., :5, :], is_causal=True)
    tq = torch.tensor(q.data)
    ref = torch.nn.functional.scaled_dot_product_attention(tq, tq, torch.tensor(v.data[..., :5, :]), is_causal=True)
    np.testing.assert_allclose(causal.data, ref.numpy(), atol=1e-12)


# ---------------------------------------------------------------------- MultiHeadAttention

def test_mha_shapes_and_parameters():
    mha = nn.MultiHeadAttention(8, 2)
    assert issubclass(nn.MultiheadAttention, nn.MultiHeadAttention) and not nn.MultiheadAttention(8, 2).batch_first
    assert [name for name, _ in mha.named_parameters()] == [
        "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert mha.in_proj_weight.shape == (24, 8)
    np.testing.assert_array_equal(mha.in_proj_bias.data, 0)
    x = tinytorch.randn(3, 5, 8)
    out, weights = mha(x, x, x)
    assert out.shape == (3, 5, 8) and weights.shape == (3, 5, 5)
    np.testing.assert_allclose(weights.data.sum(-1), 1, rtol=1e-5)
    _, per_head = mha(x, x, x, average_attn_weights=False)
    assert per_head.shape == (3, 2, 5, 5)
    assert mha(x, x, x, need_weights=False)[1] is None
    assert "num_heads=2" in repr(mha)


def test_mha_packed_and_separate_paths_agree():
    mha = nn.MultiHeadAttention(8, 4).double()
    x = t64(2, 5, 8)
    packed, _ = mha(x, x, x, is_causal=True)
    copy = tinytorch.Tensor(x.data.copy())  # a different object takes the separate-projection path
    separate, _ = mha(x, copy, copy, is_causal=True)
    np.testing.assert_allclose(packed.data, separate.data, atol=1e-12)


def test_mha_gradcheck_self_attention_causal():
    mha = nn.MultiHeadAttention(4, 2).double()
    x = t64(2, 3, 4)
    params = list(mha.parameters())
    assert gradcheck(lambda x, *p: mha(x, x, x, is_causal=True)[0], [x] + params)


def test_mha_gradcheck_cross_attention_with_masks():
    mha = nn.MultiHeadAttention(4, 2).double()
    q, kv = t64(2, 3, 4), t64(2, 5, 4)
    padding = np.zeros((2, 5), dtype=bool)
    padding[1, 3:] = True
    fn = lambda q, kv, *p: mha(q, kv, kv, key_padding_mask=padding)[0]
    assert gradcheck(fn, [q, kv] + list(mha.parameters()))


def test_mha_key_padding_mask_hides_keys():
    mha = nn.MultiHeadAttention(4, 1)
    q, kv = tinytorch.randn(1, 2, 4), tinytorch.randn(1, 3, 4)
    padding = np.array([[False, False, True]])
    _, weights = mha(q, kv, kv, key_padding_mask=padding)
    assert np.all(weights.data[..., 2] == 0)


def test_mha_sequence_first_layout():
    mha = nn.MultiHeadAttention(4, 2, batch_first=False)
    x = tinytorch.randn(5, 3, 4)  # (T, B, E)
    out, weights = mha(x, x, x)
    assert out.shape == (5, 3, 4) and weights.shape == (3, 5, 5)
    first = nn.MultiHeadAttention(4, 2)
    first.load_state_dict(mha.state_dict())
    xb = x.transpose(0, 1)
    np.testing.assert_allclose(first(xb, xb, xb)[0].data, out.transpose(0, 1).data, rtol=1e-5, atol=1e-6)


def test_mha_dropout_only_in_training():
    mha = nn.MultiHeadAttention(4, 2, dropout=0.5)
    x = tinytorch.randn(2, 6, 4)
    mha.eval()
    a, _ = mha(x, x, x)
    b, _ = mha(x, x, x)
    np.testing.assert_array_equal(a.data, b.data)
    mha.train()
    c, _ = mha(x, x, x)
    assert not np.allclose(a.data, c.data)


def test_mha_errors():
    with pytest.raises(ValueError, match="MultiHeadAttention: embed_dim 10 is not divisible by num_heads 3"):
        nn.MultiHeadAttention(10, 3)
    mha = nn.MultiHeadAttention(4, 2)
    x = tinytorch.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"expected query, key and value of shape \(B, T, 4\)"):
        mha(x, tinytorch.zeros(2, 3, 5), tinytorch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(3, 3\) or \(4, 3, 3\), got \(2, 3\)"):
        mha(x, x, x, attn_mask=np.zeros((2, 3), bool))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(2, 3\), got \(3,\)"):
        mha(x, x, x, key_padding_mask=np.zeros(3, bool))
    with pytest.raises(ValueError, match="do not match"):
        mha(x, tinytorch.zeros(2, 3, 4), tinytorch.zeros(2, 4, 4))


def test_mha_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.MultiHeadAttention(8, 2).double()
    ref = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    ref.load_state_dict({name: torch.tensor(value.numpy()) for name, value in ours.state_dict().items()})
    x, y = rng.standard_normal((2, 5, 8)), rng.standard_normal((2, 6, 8))
    padding = np.zeros((2, 6), dtype=bool)
    padding[0, 4:] = True
    cases = [
        ("self", (x, x, x), {}),
        ("self + bool attn_mask", (x, x, x), {"attn_mask": np.triu(np.ones((5, 5), bool), 1)}),
        ("cross + key padding", (x, y, y), {"key_padding_mask": padding}),
        ("cross + per-head float mask", (x, y, y), {"attn_mask": rng.standard_normal((4, 5, 6))}),
    ]
    for label, inputs, kwargs in cases:
        ours.zero_grad()
        ref.zero_grad()
        ts = [tinytorch.Tensor(a, requires_grad=True) for a in inputs]
        rs = [torch.tensor(a, requires_grad=True) for a in inputs]
        if inputs[0] is inputs[1]:
            ts, rs = [ts[0]] * 3, [rs[0]] * 3
        out, weights = ours(*ts, **kwargs)
        grad = rng.standard_normal(out.shape)
        out.backward(grad)
        ref_out, ref_weights = ref(*rs, **{name: torch.tensor(m) for name, m in kwargs.items()})
        ref_out.backward(torch.tensor(grad))
        np.testing.assert_allclose(out.data, ref_out.detach().numpy(), atol=1e-12, err_msg=label)
        np.testing.assert_allclose(weights.data, ref_weights.detach().numpy(), atol=1e-12, err_msg=label)
        np.testing.assert_allclose(ts[0].grad.data, rs[0].grad.numpy(), atol=1e-12, err_msg=label)
        for (name, p), rp in zip(ours.named_parameters(), ref.parameters()):
            np.testing.assert_allclose(p.grad.data, rp.grad.numpy(), atol=1e-12, err_msg=f"{label}: {name}")
