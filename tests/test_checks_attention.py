"""Module 12 checks: right solutions pass; stubs and typical mistakes fail with a useful report."""

import math

import numpy as np
import pytest

from tinytorch import Tensor, nn
from tinytorch.checks import CheckFailed, check_head_weights, check_multi_head_attention, check_scaled_dot_product_attention
from tinytorch.nn import Module
from tinytorch.nn import functional as F

from solutions import load_solution


def _array(mask):
    return mask.data if isinstance(mask, Tensor) else np.asarray(mask)


def make_sdpa(scale=lambda d: 1 / math.sqrt(d), softmax_dim=-1, causal_diagonal=0, invert_bool=False,
              manual_softmax=False, ignore_mask=False):
    def sdpa(query, key, value, attn_mask=None, is_causal=False):
        scores = query @ key.transpose(-2, -1) * scale(query.shape[-1])
        if is_causal:
            length, source = scores.shape[-2:]
            scores = scores.masked_fill(~np.tri(length, source, k=causal_diagonal, dtype=bool), float("-inf"))
        if attn_mask is not None and not ignore_mask:
            mask = _array(attn_mask)
            if mask.dtype == np.bool_:
                scores = scores.masked_fill(mask if invert_bool else ~mask, float("-inf"))
            else:
                scores = scores + Tensor(mask)
        if manual_softmax:  # no max subtraction
            e = scores.exp()
            weights = e / e.sum(dim=-1, keepdim=True)
        else:
            weights = scores.softmax(dim=softmax_dim)
        return weights @ value
    return sdpa


sdpa = make_sdpa()


class MultiHeadAttention(Module):
    def __init__(self, embed_dim, num_heads, attention=sdpa):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.q_proj, self.k_proj = nn.Linear(embed_dim, embed_dim), nn.Linear(embed_dim, embed_dim)
        self.v_proj, self.out_proj = nn.Linear(embed_dim, embed_dim), nn.Linear(embed_dim, embed_dim)
        self.attention = attention

    def split(self, x):
        batch, length, _ = x.shape
        return x.reshape(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

    def merge(self, x):
        batch, _, length, _ = x.shape
        return x.transpose(1, 2).reshape(batch, length, self.embed_dim)

    def mask(self, key_padding_mask, is_causal, length, source):
        if key_padding_mask is None:
            return None, is_causal
        allowed = ~_array(key_padding_mask)[:, None, None, :]
        if is_causal:
            allowed = allowed & np.tri(length, source, dtype=bool)
        return allowed, False

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, is_causal=False):
        q, k, v = self.split(self.q_proj(query)), self.split(self.k_proj(key)), self.split(self.v_proj(value))
        mask, causal = self.mask(key_padding_mask, is_causal, query.shape[1], key.shape[1])
        out = self.attention(q, k, v, attn_mask=None if mask is None else Tensor(mask), is_causal=causal)
        return self.out_proj(self.merge(out)), None


@pytest.mark.parametrize("check, solution", [
    (check_scaled_dot_product_attention, sdpa), (check_multi_head_attention, MultiHeadAttention),
])
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


def test_library_passes():
    check_scaled_dot_product_attention(F.scaled_dot_product_attention)


@pytest.mark.parametrize("mistake, message", [
    (make_sdpa(scale=lambda d: 1 / d), r"q, k, v \(2, 3, 5, 4\)(.|\n)*sqrt\(D\)"),
    (make_sdpa(scale=lambda d: 1.0), r"q, k, v \(2, 3, 5, 4\)"),
    (make_sdpa(softmax_dim=-2), r"LAST axis"),
    (make_sdpa(causal_diagonal=1), r"is_causal=True \(2, 2, 6, 4\)(.|\n)*query i may see keys 0..i"),
    (make_sdpa(invert_bool=True), r"bool attn_mask(.|\n)*True where attention is ALLOWED"),
    (make_sdpa(ignore_mask=True), r"bool attn_mask"),
    (make_sdpa(manual_softmax=True), r"large scores.*numerically unstable"),
])
def test_sdpa_mistakes(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        check_scaled_dot_product_attention(mistake)


def test_sdpa_without_graph_or_float64():
    def numpy_only(query, key, value, attn_mask=None, is_causal=False):
        return Tensor(F.scaled_dot_product_attention(query, key, value, attn_mask, is_causal=is_causal).data)

    with pytest.raises(CheckFailed, match="does not require grad"):
        check_scaled_dot_product_attention(numpy_only)

    def float64_scale(query, key, value, attn_mask=None, is_causal=False):
        scale = Tensor(np.full(1, 1 / math.sqrt(query.shape[-1])))  # a float64 tensor of one element promotes (a 0-d one would not)
        return F.scaled_dot_product_attention(query * scale, key, value, attn_mask, is_causal=is_causal, scale=1.0)

    with pytest.raises(CheckFailed, match="expected dtype torch.float32, got torch.float64"):
        check_scaled_dot_product_attention(float64_scale)


def test_mha_mistakes():
    class NoTranspose(MultiHeadAttention):  # (B, T, E) -> (B, H, T, D) by reshape alone mixes tokens
        def split(self, x):
            batch, length, _ = x.shape
            return x.reshape(batch, self.num_heads, length, self.head_dim)

    with pytest.raises(CheckFailed, match=r"self-attention \(2, 5, 8\), 2 heads(.|\n)*transpose\(1, 2\)"):
        check_multi_head_attention(NoTranspose)

    class MergeWithoutTranspose(MultiHeadAttention):
        def merge(self, x):
            batch, _, length, _ = x.shape
            return x.reshape(batch, length, self.embed_dim)

    with pytest.raises(CheckFailed, match=r"2 heads"):
        check_multi_head_attention(MergeWithoutTranspose)

    class NoOutProj(MultiHeadAttention):
        def forward(self, query, key, value, key_padding_mask=None, is_causal=False):
            q, k, v = self.split(self.q_proj(query)), self.split(self.k_proj(key)), self.split(self.v_proj(value))
            mask, causal = self.mask(key_padding_mask, is_causal, query.shape[1], key.shape[1])
            return self.merge(self.attention(q, k, v, attn_mask=None if mask is None else Tensor(mask), is_causal=causal))

    with pytest.raises(CheckFailed, match="2 heads"):
        check_multi_head_attention(NoOutProj)

    class PaddingAsAllowed(MultiHeadAttention):  # passes the padding mask on unchanged
        def mask(self, key_padding_mask, is_causal, length, source):
            if key_padding_mask is None:
                return None, is_causal
            return _array(key_padding_mask)[:, None, None, :], is_causal

    with pytest.raises(CheckFailed, match=r"key_padding_mask, lengths 5, 3, 1(.|\n)*True at PADDING"):
        check_multi_head_attention(PaddingAsAllowed)

    class DropsCausalWithPadding(MultiHeadAttention):
        def mask(self, key_padding_mask, is_causal, length, source):
            if key_padding_mask is None:
                return None, is_causal
            return ~_array(key_padding_mask)[:, None, None, :], False

    with pytest.raises(CheckFailed, match=r"with is_causal(.|\n)*logical and"):
        check_multi_head_attention(DropsCausalWithPadding)

    class ReturnsOutputOnly(MultiHeadAttention):  # not the call tinytorch's TransformerBlock makes
        def forward(self, *args, **kwargs):
            return super().forward(*args, **kwargs)[0]

    with pytest.raises(CheckFailed, match=r"expected a pair \(output, None\)"):
        check_multi_head_attention(ReturnsOutputOnly)

    class OneBigProjection(MultiHeadAttention):  # no q_proj attribute
        def __init__(self, embed_dim, num_heads):
            super().__init__(embed_dim, num_heads)
            del self.q_proj

    with pytest.raises(CheckFailed, match="no q_proj"):
        check_multi_head_attention(OneBigProjection)

    class NoDivisibilityCheck(MultiHeadAttention):
        def __init__(self, embed_dim, num_heads):
            Module.__init__(self)
            self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
            self.q_proj, self.k_proj = nn.Linear(embed_dim, embed_dim), nn.Linear(embed_dim, embed_dim)
            self.v_proj, self.out_proj = nn.Linear(embed_dim, embed_dim), nn.Linear(embed_dim, embed_dim)
            self.attention = sdpa

    with pytest.raises(CheckFailed, match=r"MultiHeadAttention\(10, 4\): expected ValueError"):
        check_multi_head_attention(NoDivisibilityCheck)

    class DetachedHeads(MultiHeadAttention):  # splits heads in NumPy: no gradient reaches the projections
        def split(self, x):
            batch, length, _ = x.shape
            return Tensor(x.data.reshape(batch, length, self.num_heads, self.head_dim).transpose(0, 2, 1, 3))

    with pytest.raises(CheckFailed, match=r"no gradient reached query \(= key = value\)"):
        check_multi_head_attention(DetachedHeads)


def test_a_passing_attention_is_what_tinytorchs_transformer_block_builds():
    from tinytorch import seams
    seams.replace("MultiHeadAttention", MultiHeadAttention)
    try:
        block = nn.TransformerBlock(8, 2)
        out = block(Tensor(np.ones((2, 3, 8), dtype=np.float32)))
    finally:
        seams.restore()
    assert isinstance(block.attn, MultiHeadAttention) and out.shape == (2, 3, 8)


head_weights = load_solution("12_attention", "head_weights")  # the notebook's own solution


def test_head_weights_solution_passes_and_stub_fails(passes_and_stub_fails):
    passes_and_stub_fails(check_head_weights, head_weights)


def test_the_head_weights_stand_in_reads_tinytorchs_attention_too():
    from tinytorch.checks.attention import reference_head_weights
    attn = nn.MultiHeadAttention(8, 2)
    x = Tensor(np.random.default_rng(0).standard_normal((1, 4, 8)).astype(np.float32))
    weights = reference_head_weights(attn, x)
    assert weights.shape == (1, 2, 4, 4) and np.allclose(weights.sum(-1), 1) and np.all(np.triu(weights[0, 0], 1) == 0)
