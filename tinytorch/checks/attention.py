"""Checks for module 12 (attention): the learner's `scaled_dot_product_attention` and
`MultiHeadAttention`, compared with tinytorch.nn on outputs and on the gradients of every input
and parameter, with causal, boolean, additive and padding masks, T=1 and several batch shapes."""

import numpy as np

from .. import nn
from ..nn import functional as F
from ..random import manual_seed
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, fail, passed
from .layers import _build, _grad_of
from .tensor import run_hinted

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'scaled_dot_product_attention': (
        'each query scores every key, the scores become weights with a softmax, and the output is the weighted sum of values',
        'query (..., L, D) against key (..., S, D) gives scores (..., L, S); the output is (..., L, Dv)',
        'scores = Q K^T / sqrt(D); masked positions get -inf (causal: keys after the query), a float mask is added; softmax over S; times V',
    ),
    'head_weights': (
        "recompute each head's attention pattern: the same queries, keys, scaling and causal softmax as inside your MultiHeadAttention, without the values",
        "x (B, T, E) gives q and k of (B, T, E), split into (B, H, T, D) with D = E / H; the scores and the weights are (B, H, T, T)",
        "weights = softmax over the keys of q k^T / sqrt(D), with -inf where a key comes after its query",
    ),
    'multi_head_attention': (
        'project queries, keys and values, split the features into heads that attend independently, then merge and project',
        '(B, T, E) becomes (B, heads, T, E / heads) for each of q, k, v; the merged result is (B, T, E) again',
        'q, k, v projections; reshape and swap the time and head axes; attention per head with the masks combined; swap back, reshape, output projection',
    ),
})

exercise = registry.module("12_attention", "Attention")

_TENSOR_OPS = "use Tensor operations (@, .transpose, .masked_fill, .softmax), not .data, so gradients flow"


def _random(rng, *shape, scale=1.0):
    return Tensor((rng.standard_normal(shape) * scale).astype(np.float32), requires_grad=True)


def _copy(t):
    return Tensor(t.data.copy(), requires_grad=True)


def _padding(lengths, size):
    """(B, S) bool, True at padding positions (after each sequence's length)."""
    return np.arange(size)[None, :] >= np.array(lengths)[:, None]


# ---------------------------------------------------------------------- scaled_dot_product_attention


def _sdpa_cases(rng):
    allowed = rng.random((5, 7)) > 0.4
    allowed[:, 0] = True  # every query sees at least one key
    bias = np.where(rng.random((4, 4)) > 0.3, rng.standard_normal((4, 4)), -np.inf).astype(np.float32)
    np.fill_diagonal(bias, 0.0)
    keep = ~_padding([6, 3], 6)[:, None, None, :]  # (2, 1, 1, 6): True = attend
    return [
        # (case, query, key, value, kwargs)
        ("q, k, v (2, 3, 5, 4)", _random(rng, 2, 3, 5, 4), _random(rng, 2, 3, 5, 4), _random(rng, 2, 3, 5, 4), {}),
        ("3-D, L=3 queries over S=6 keys, value width 5", _random(rng, 2, 3, 8), _random(rng, 2, 6, 8),
         _random(rng, 2, 6, 5), {}),
        ("unbatched 2-D (4, 6)", _random(rng, 4, 6), _random(rng, 4, 6), _random(rng, 4, 6), {}),
        ("one token, T=1 (2, 2, 1, 8)", _random(rng, 2, 2, 1, 8), _random(rng, 2, 2, 1, 8),
         _random(rng, 2, 2, 1, 8), {}),
        ("is_causal=True (2, 2, 6, 4)", _random(rng, 2, 2, 6, 4), _random(rng, 2, 2, 6, 4),
         _random(rng, 2, 2, 6, 4), {"is_causal": True}),
        ("is_causal=True, T=1", _random(rng, 3, 1, 4), _random(rng, 3, 1, 4), _random(rng, 3, 1, 4),
         {"is_causal": True}),
        ("bool attn_mask (5, 7) broadcast over (2, 2)", _random(rng, 2, 2, 5, 4), _random(rng, 2, 2, 7, 4),
         _random(rng, 2, 2, 7, 4), {"attn_mask": Tensor(allowed)}),
        ("padding mask (2, 1, 1, 6), sequence lengths 6 and 3", _random(rng, 2, 3, 6, 4),
         _random(rng, 2, 3, 6, 4), _random(rng, 2, 3, 6, 4), {"attn_mask": Tensor(keep)}),
        ("float attn_mask (4, 4) added to the scores, with -inf", _random(rng, 2, 4, 8), _random(rng, 2, 4, 8),
         _random(rng, 2, 4, 8), {"attn_mask": Tensor(bias)}),
        ("query (2, 3, 4, 8), key and value (3, 5, 8) broadcast", _random(rng, 2, 3, 4, 8),
         _random(rng, 3, 5, 8), _random(rng, 3, 5, 8), {}),
        ("large scores (q, k scaled by 30)", _random(rng, 2, 5, 8, scale=30.0), _random(rng, 2, 5, 8, scale=30.0),
         _random(rng, 2, 5, 8), {"is_causal": True}),
    ]


def _sdpa_hint(kwargs):
    if kwargs.get("is_causal"):
        return ("causal: query i may see keys 0..i; set scores above the diagonal to -inf "
                "(a lower triangle of allowed positions) before the softmax")
    mask = kwargs.get("attn_mask")
    if mask is not None and mask.dtype == np.bool_:
        return "a bool attn_mask is True where attention is ALLOWED: fill the scores where it is False with -inf"
    if mask is not None:
        return "a float attn_mask is added to the scores (after scaling), before the softmax"
    return ("weights = softmax(q @ k^T / sqrt(D)) over the LAST axis (the keys), D = query.shape[-1]; "
            "output = weights @ value")


def _compare_input_grads(name, case, rng, out, expected, labels, mine, refs):
    """Backpropagate the same random upstream gradient through the learner's output and the
    reference's, then compare the gradients of the inputs."""
    if not out.requires_grad:
        fail(name, case, "the output does not require grad", _TENSOR_OPS)
    upstream = Tensor(rng.standard_normal(expected.shape).astype(np.float32))
    run_hinted(name, f"{case}, backward", lambda: (out * upstream).sum().backward(), strict_float=True)
    (expected * upstream).sum().backward()
    for label, got, ref in zip(labels, mine, refs):
        assert_close(name, f"{case}, gradient of {label}", _grad_of(name, case, got, label), ref.grad,
                     _TENSOR_OPS, atol=1e-4)


@exercise("scaled_dot_product_attention", seam="scaled_dot_product_attention")
def check_scaled_dot_product_attention(scaled_dot_product_attention):
    """scaled_dot_product_attention(query, key, value, attn_mask=None, is_causal=False):
    softmax(query @ key^T / sqrt(D) + mask) @ value, as torch.nn.functional's; gradients too."""
    name = "scaled_dot_product_attention"
    rng = np.random.default_rng(21)
    cases = _sdpa_cases(rng)
    for case, q, k, v, kwargs in cases:
        hint = _sdpa_hint(kwargs)
        mine = [_copy(t) for t in (q, k, v)]
        out = run_hinted(name, case, lambda: scaled_dot_product_attention(*mine, **kwargs), hint=hint,
                         strict_float=True)
        expected = F.scaled_dot_product_attention(q, k, v, **kwargs)
        if not isinstance(out, Tensor):
            fail(name, case, f"returned {type(out).__name__}, expected a Tensor")
        if out.dtype != expected.dtype:
            fail(name, case, f"expected dtype {expected.dtype}, got {out.dtype}",
                 "keep float32: scale with a Python float and build masks without float64 arrays")
        assert_close(name, case, out, expected, hint, atol=1e-5)
        _compare_input_grads(name, case, rng, out, expected, ("query", "key", "value"), mine, (q, k, v))
    passed(name, len(cases), ["4-D", "cross L != S", "2-D", "T=1", "causal", "causal T=1", "bool mask",
                              "padding mask", "float mask", "batch broadcast", "large scores"])


# ---------------------------------------------------------------------- MultiHeadAttention


def _projections(name, case, mha, embed_dim):
    """The learner's q/k/v/out projections (Linear-like, weight (E, E), bias (E,))."""
    layers = []
    for attr in ("q_proj", "k_proj", "v_proj", "out_proj"):
        layer = getattr(mha, attr, None)
        weight, bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
        if weight is None or bias is None:
            fail(name, case, f"no {attr} with weight and bias found",
                 "create self.q_proj, self.k_proj, self.v_proj and self.out_proj as Linear(embed_dim, embed_dim)")
        if weight.shape != (embed_dim, embed_dim) or bias.shape != (embed_dim,):
            fail(name, case, f"{attr} has weight {weight.shape} and bias {bias.shape}, "
                 f"expected ({embed_dim}, {embed_dim}) and ({embed_dim},)", "Linear(embed_dim, embed_dim)")
        layers.append(layer)
    return layers


def _reference_like(mine, embed_dim, num_heads):
    """tinytorch's MultiHeadAttention with the learner's weights (PyTorch's packed layout)."""
    q, k, v, o = mine
    reference = nn.MultiHeadAttention(embed_dim, num_heads)
    reference.in_proj_weight.data[...] = np.concatenate([q.weight.data, k.weight.data, v.weight.data])
    reference.in_proj_bias.data[...] = np.concatenate([q.bias.data, k.bias.data, v.bias.data])
    reference.out_proj.weight.data[...] = o.weight.data
    reference.out_proj.bias.data[...] = o.bias.data
    return reference


def _reference_grads(reference, embed_dim):
    e = embed_dim
    w, b = reference.in_proj_weight.grad.data, reference.in_proj_bias.grad.data
    return {
        "q_proj": (w[:e], b[:e]), "k_proj": (w[e:2 * e], b[e:2 * e]), "v_proj": (w[2 * e:], b[2 * e:]),
        "out_proj": (reference.out_proj.weight.grad.data, reference.out_proj.bias.grad.data),
    }


def _mha_hint(case, kwargs):
    if "key_padding_mask" in kwargs:
        return ("key_padding_mask (B, S) is True at PADDING (PyTorch's nn.MultiheadAttention convention), the "
                "opposite of scaled_dot_product_attention's attn_mask: pass ~mask reshaped to (B, 1, 1, S)"
                + ("; with is_causal, combine it with the causal mask (logical and)" if kwargs.get("is_causal") else ""))
    if kwargs.get("is_causal"):
        return "pass is_causal=True on to the attention of every head"
    return ("project, then split heads: (B, T, E) -> reshape (B, T, H, D) -> transpose(1, 2) -> (B, H, T, D); "
            "after attention merge back: transpose(1, 2) -> reshape (B, T, E); then out_proj")


@exercise("MultiHeadAttention", seam="MultiHeadAttention",
          interface="MultiHeadAttention(embed_dim, num_heads) with q_proj, k_proj, v_proj, out_proj; "
                    "forward(query, key, value, key_padding_mask=None, need_weights=True, is_causal=False) "
                    "-> (output, None)")
def check_multi_head_attention(MultiHeadAttention):
    """MultiHeadAttention(embed_dim, num_heads) with q_proj, k_proj, v_proj, out_proj (Linear E -> E);
    forward(query, key, value, key_padding_mask=None, need_weights=True, is_causal=False) ->
    (output (B, L, E), None), called as tinytorch.nn.MultiHeadAttention is (so tinytorch's
    TransformerBlock can use it); the output as tinytorch's with the same weights; gradients of
    inputs and weights."""
    name = "multi_head_attention"
    rng = np.random.default_rng(22)
    manual_seed(22)  # the same weights every run, so a report reproduces

    mha, case = _build(name, MultiHeadAttention, 8, 2)
    for attr, value in (("embed_dim", 8), ("num_heads", 2), ("head_dim", 4)):
        if getattr(mha, attr, None) != value:
            fail(name, case, f"{attr} is {getattr(mha, attr, None)!r}, expected {value}",
                 "store embed_dim, num_heads and head_dim = embed_dim // num_heads")
    _projections(name, case, mha, 8)
    count = sum(p.numel() for p in mha.parameters())
    if count != 4 * (8 * 8 + 8):
        fail(name, case, f"{count} parameters, expected 4 * (8 * 8 + 8) = {4 * 72}",
             "exactly four Linear(embed_dim, embed_dim) layers, registered as attributes")
    try:
        MultiHeadAttention(10, 4)
    except NotImplementedError:
        raise
    except ValueError:
        pass
    except Exception as error:
        fail(name, "MultiHeadAttention(10, 4)", f"expected ValueError, got {type(error).__name__}: {error}",
             "raise ValueError when embed_dim is not divisible by num_heads")
    else:
        fail(name, "MultiHeadAttention(10, 4)", "expected ValueError: 10 is not divisible by 4 heads",
             "raise ValueError when embed_dim is not divisible by num_heads")

    cases = [
        # (case, E, H, query shape, key/value shape or None for self-attention, kwargs)
        ("self-attention (2, 5, 8), 2 heads", 8, 2, (2, 5, 8), None, {}),
        ("self-attention (3, 4, 8), 1 head", 8, 1, (3, 4, 8), None, {}),
        ("self-attention (2, 6, 16), 4 heads, is_causal", 16, 4, (2, 6, 16), None, {"is_causal": True}),
        ("cross-attention: query (2, 3, 8), key and value (2, 7, 8)", 8, 2, (2, 3, 8), (2, 7, 8), {}),
        ("one token (4, 1, 8), is_causal", 8, 4, (4, 1, 8), None, {"is_causal": True}),
        ("batch of 1 (1, 5, 12), 3 heads", 12, 3, (1, 5, 12), None, {}),
        ("key_padding_mask, lengths 5, 3, 1", 8, 2, (3, 5, 8), None,
         {"key_padding_mask": _padding([5, 3, 1], 5)}),
        ("key_padding_mask with is_causal, lengths 6 and 2", 8, 2, (2, 6, 8), None,
         {"key_padding_mask": _padding([6, 2], 6), "is_causal": True}),
    ]
    for case, e, h, q_shape, kv_shape, kwargs in cases:
        hint = _mha_hint(case, kwargs)
        mha, built = _build(name, MultiHeadAttention, e, h)
        case = f"{built}, {case}"
        reference = _reference_like(_projections(name, case, mha, e), e, h)
        query = _random(rng, *q_shape)
        key = _random(rng, *kv_shape) if kv_shape else query
        value = _random(rng, *kv_shape) if kv_shape else query
        mine_inputs = [_copy(query)] if kv_shape is None else [_copy(query), _copy(key), _copy(value)]
        args = mine_inputs * 3 if kv_shape is None else mine_inputs
        ref_args = (query, key, value)
        ref_kwargs = dict(kwargs)
        if "key_padding_mask" in ref_kwargs:
            ref_kwargs["key_padding_mask"] = Tensor(ref_kwargs["key_padding_mask"])
        learner_kwargs = {k: Tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        got = run_hinted(name, case, lambda: mha(*args, need_weights=False, **learner_kwargs), hint=hint,
                         strict_float=True)
        if not isinstance(got, tuple) or len(got) != 2:
            fail(name, case, f"forward returned {type(got).__name__}, expected a pair (output, None)",
                 "return self.out_proj(merged), None: the call of tinytorch's (and PyTorch's) "
                 "MultiHeadAttention, which also returns the weights")
        out = got[0]
        if not isinstance(out, Tensor):
            fail(name, case, f"forward returned ({type(out).__name__}, ...), expected a Tensor first")
        expected, _ = reference(*ref_args, need_weights=False, **ref_kwargs)
        assert_close(name, case, out, expected, hint, atol=1e-5)
        labels = ["query (= key = value)"] if kv_shape is None else ["query", "key", "value"]
        _compare_input_grads(name, case, rng, out, expected, labels, mine_inputs, ref_args)
        grads = _reference_grads(reference, e)
        for attr, (w_grad, b_grad) in grads.items():
            layer = getattr(mha, attr)
            assert_close(name, f"{case}, gradient of {attr}.weight", _grad_of(name, case, layer.weight, f"{attr}.weight"),
                         w_grad, _TENSOR_OPS, atol=1e-4)
            assert_close(name, f"{case}, gradient of {attr}.bias", _grad_of(name, case, layer.bias, f"{attr}.bias"),
                         b_grad, _TENSOR_OPS, atol=1e-4)
    passed(name, 2 + len(cases), ["parameters", "embed_dim % num_heads", "2 heads", "1 head", "4 heads causal",
                                  "cross-attention", "T=1", "batch of 1", "padding", "padding + causal"])


# ---------------------------------------------------------------------- the weights of each head


def reference_head_weights(mha, x):
    """(B, H, T, T) causal attention weights of each head of `mha` (q_proj, k_proj, num_heads,
    head_dim) on x (B, T, E), as NumPy; tinytorch's MultiHeadAttention (the notebook's stand-in
    where the learner's did not pass) gives its own."""
    if isinstance(mha, nn.MultiHeadAttention):
        return mha(x, x, x, is_causal=True, average_attn_weights=False)[1].data
    batch, length, _ = x.shape
    q, k = (proj(x).data.reshape(batch, length, mha.num_heads, mha.head_dim).transpose(0, 2, 1, 3)
            for proj in (mha.q_proj, mha.k_proj))  # (B, H, T, D)
    return F.attention_weights(Tensor(q), Tensor(k), is_causal=True).data


class _Projections:
    """Just what head_weights reads of a MultiHeadAttention: q_proj, k_proj, num_heads, head_dim."""

    def __init__(self, embed_dim, num_heads, scale):
        self.q_proj, self.k_proj = nn.Linear(embed_dim, embed_dim), nn.Linear(embed_dim, embed_dim)
        for proj in (self.q_proj, self.k_proj):
            proj.weight.data *= scale
        self.num_heads, self.head_dim = num_heads, embed_dim // num_heads


@exercise("head_weights")
def check_head_weights(head_weights):
    """head_weights(mha, x) -> (B, H, T, T): each head's causal attention weights, from the
    trained q_proj and k_proj of a MultiHeadAttention."""
    name = "head_weights"
    rng = np.random.default_rng(12)
    manual_seed(12)
    cases = [("B=2, T=5, E=8, 2 heads", 2, 5, 8, 2, 1.0), ("B=1, T=4, E=12, 3 heads", 1, 4, 12, 3, 1.0),
             ("one position: T=1, 1 head", 3, 1, 4, 1, 1.0), ("large scores (weights x 30), T=6, 2 heads", 2, 6, 8, 2, 30.0)]
    for case, batch, length, embed_dim, heads, scale in cases:
        mha = _Projections(embed_dim, heads, scale)
        x = Tensor(_random(rng, batch, length, embed_dim))
        got = run_hinted(name, case, head_weights, mha, x, strict_float=True,
                         hint="subtract each row's maximum score before exp (masked scores are -inf)")
        assert_close(name, case, got, reference_head_weights(mha, x), atol=1e-5, rtol=1e-4,
                     hint="split heads as in MultiHeadAttention (reshape to (B, T, H, D), then swap T and H); scores "
                          "q k^T / sqrt(D) with -inf above the diagonal; softmax over the keys (the last axis)")
    passed(name, len(cases), [case for case, *_ in cases])
