"""Attention: scaled dot-product attention (fused forward and backward) and multi-head attention.

The kernels work on NumPy arrays of shape (..., L, D) for queries and (..., S, D) for keys
and values (usually (B, H, T, D)), so one matrix product covers every batch item and head.
"""

import math

import numpy as np

from .. import grad_mode, versions
from ..kernels import mm
from ..random import rng_of
from ..ops._common import _unbroadcast
from ..seams import learners, replaced, seam
from ..ops.differentiable import Grads
from ..tensor import Tensor, cat
from . import functional_twice, init
from .linear import Linear, linear, linear_array
from .module import Module, Parameter, check_input


# ---------------------------------------------------------------------- kernels (NumPy arrays)

def _causal(query_len, key_len, offset=0):
    """(L, S) bool, True where query i (at position offset + i) may see key j: j <= offset + i."""
    return np.tri(query_len, key_len, k=offset, dtype=bool)


def _attention_weights(q, k, mask, scale):
    """softmax(q @ k^T * scale + mask) over the last axis: (..., L, S).

    `mask` is None, a bool array (True = may attend) or a float array added to the scores; it
    broadcasts to the scores (..., L, S). Rows where every key is masked get zero weights
    (PyTorch's math backend does the same) instead of NaN.
    """
    scores = mm(q, np.swapaxes(k, -1, -2))  # (..., L, S)
    scores *= scale
    if mask is not None:
        if mask.dtype == np.bool_:
            np.copyto(scores, -np.inf, where=~mask)
        else:
            scores = scores + mask  # not in place: keeps the dtype rules of a plain add
    # np.maximum.reduce / np.add.reduce are what .max() / .sum() run, minus a Python-level
    # wrapper that costs more than the arithmetic when generating one token at a time
    row_max = np.maximum.reduce(scores, axis=-1, keepdims=True)
    np.copyto(row_max, 0, where=~np.isfinite(row_max))  # fully masked rows: exp(-inf) = 0
    scores -= row_max
    weights = np.exp(scores, out=scores)  # reuse the buffer
    total = np.add.reduce(weights, axis=-1, keepdims=True)
    np.copyto(total, 1, where=total == 0)
    weights /= total
    return weights


def _attention_forward(q, k, v, mask, scale, dropout_p, generator=None):
    """Attention output (..., L, Dv) plus the weights and dropout mask that backward needs."""
    weights = _attention_weights(q, k, mask, scale)
    dropped, keep = weights, None
    if dropout_p > 0:
        # keep holds 0 or 1/(1-p): forward and backward are one multiply each
        keep = (rng_of(generator).random(weights.shape) >= dropout_p).astype(weights.dtype)
        keep *= np.asarray(1.0 / (1.0 - dropout_p), dtype=weights.dtype)
        dropped = weights * keep
    return mm(dropped, v), weights, keep


def _attention_backward(g, q, k, v, weights, keep, scale):
    """Gradients of the attention output with respect to q, k and v (before unbroadcasting)."""
    dropped = weights if keep is None else weights * keep
    grad_v = mm(np.swapaxes(dropped, -1, -2), g)  # (..., S, Dv)
    grad_w = mm(g, np.swapaxes(v, -1, -2))  # (..., L, S)
    if keep is not None:
        grad_w *= keep
    # softmax backward: dS = P * (dP - sum(dP * P))
    grad_s = grad_w
    grad_s -= (grad_w * weights).sum(axis=-1, keepdims=True)
    grad_s *= weights
    grad_s *= scale
    grad_q = mm(grad_s, k)  # (..., L, D)
    grad_k = mm(np.swapaxes(grad_s, -1, -2), q)  # (..., S, D)
    return grad_q, grad_k, grad_v


# ---------------------------------------------------------------------- validation

def _check_mask(mask, scores_shape, op):
    """Mask as a NumPy array (bool or float) that broadcasts to the scores shape."""
    if mask is None:
        return None
    array = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if array.dtype != np.bool_ and not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{op}: attn_mask must be bool or floating point, got dtype {array.dtype}")
    try:
        fits = np.broadcast_shapes(array.shape, scores_shape) == tuple(scores_shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"{op}: attn_mask of shape {tuple(array.shape)} does not broadcast to attention scores {tuple(scores_shape)}"
        )
    return array


def _scores_shape(query, key, value, op):
    """Shape (..., L, S) of q @ k^T, after checking that query, key and value fit together."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        check_input(t, op, min_ndim=2)
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(
            f"{op}: query {tuple(query.shape)} and key {tuple(key.shape)} must have the same last dimension"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"{op}: key {tuple(key.shape)} and value {tuple(value.shape)} must have the same sequence length (dim -2)"
        )
    try:
        batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ValueError(
            f"{op}: batch dimensions of query {tuple(query.shape)}, key {tuple(key.shape)} and "
            f"value {tuple(value.shape)} cannot be broadcast together"
        ) from None
    return batch + (query.shape[-2], key.shape[-2])


def _check_dropout(p, op):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise ValueError(f"{op}: dropout probability must be in [0, 1), got {p!r}")


def _combined_mask(attn_mask, is_causal, scores_shape, op):
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{op}: pass either attn_mask or is_causal=True, not both")
        return _causal(scores_shape[-2], scores_shape[-1])
    return _check_mask(attn_mask, scores_shape, op)


# ---------------------------------------------------------------------- public functions

# backward reads query, key and value; PyTorch's fused CPU kernel (4-D float32, what a transformer
# runs) keeps those and the output, so a change to any of them is refused as there (its math
# fallback for 3-D inputs keeps scaled copies of query and key instead)
_ATTENTION = versions.SavingOp("ScaledDotProductAttentionBackward", saves=(0, 1, 2), saves_output=True)


def _attention(query, key, value, mask, dropout_p, scale, generator=None):
    """Fused attention over Tensors; returns (output Tensor, attention weights array)."""
    q, k, v = query.data, key.data, value.data
    out, weights, keep = _attention_forward(q, k, v, mask, scale, dropout_p, generator)

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return functional_twice.attention(g, query, key, value, mask, keep, scale)
        grad_q, grad_k, grad_v = _attention_backward(g, q, k, v, weights, keep, scale)
        return _unbroadcast(grad_q, q.shape), _unbroadcast(grad_k, k.shape), _unbroadcast(grad_v, v.shape)

    shown = weights if keep is None else weights * keep  # PyTorch reports the weights after dropout
    return Tensor._result(out, (query, key, value), backward, _ATTENTION), shown


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 generator=None):
    """softmax(query @ key^T * scale + mask) @ value, as PyTorch's function of the same name.

    query (..., L, D), key (..., S, D), value (..., S, Dv) -> (..., L, Dv); `scale` defaults to
    1/sqrt(D). A bool `attn_mask` marks with True the scores that take part in attention; a
    float one is added to the scores. `is_causal=True` lets query i see keys 0..i only.
    Dropout (probability `dropout_p`) is applied to the attention weights.
    The seam's implementation in use (module 12's exercise, once `tinytorch.mine.use()` puts
    the learner's in) runs the calls its interface covers: no dropout, the default scale.
    """
    mine = replaced.get("scaled_dot_product_attention")
    if mine is None or dropout_p or scale is not None or generator is not None:
        return _scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, scale, generator)
    return mine(query, key, value, attn_mask=attn_mask, is_causal=is_causal)


@seam("scaled_dot_product_attention")
def _scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                  generator=None):
    """tinytorch's scaled_dot_product_attention: one fused node (forward and backward kernels)."""
    op = "scaled_dot_product_attention"
    shape = _scores_shape(query, key, value, op)
    _check_dropout(dropout_p, op)
    mask = _combined_mask(attn_mask, is_causal, shape, op)
    if mask is not None and mask.dtype != np.bool_:
        mask = mask.astype(query.dtype, copy=False)  # a float64 mask must not promote float32 scores
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    return _attention(query, key, value, mask, dropout_p, scale, generator)[0]


def attention_weights(query, key, attn_mask=None, is_causal=False, scale=None):
    """The (..., L, S) softmax weights that scaled_dot_product_attention would use (for plots)."""
    op = "attention_weights"
    shape = _scores_shape(query, key, key, op)
    mask = _combined_mask(attn_mask, is_causal, shape, op)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    return Tensor(_attention_weights(query.data, key.data, mask, scale))


# ---------------------------------------------------------------------- multi-head attention

@seam("MultiHeadAttention")
class MultiHeadAttention(Module):
    """Multi-head attention with PyTorch's `nn.MultiheadAttention` parameters and call.

    The call module 12's exercise implements too (with q_proj, k_proj, v_proj, out_proj
    instead of the packed projection): `MultiHeadAttention(embed_dim, num_heads)`, then
    `attn(query, key, value, key_padding_mask=None, need_weights=True, is_causal=False)`
    -> (output, weights or None). TransformerBlock builds its attention through that seam.

    Parameters: `in_proj_weight` (3E, E) stacking the query, key and value projections,
    `in_proj_bias` (3E,), and `out_proj` (Linear E -> E), so weights copy to and from PyTorch.
    Inputs are (B, L, E) with `batch_first=True` (the default here; PyTorch's default is False).

    Masks follow PyTorch's nn.MultiheadAttention, which is the opposite of
    scaled_dot_product_attention for bool masks: in `attn_mask` (L, S) or (B * num_heads, L, S)
    and `key_padding_mask` (B, S), True marks positions that may NOT be attended; float masks
    are added to the scores. `is_causal=True` applies the causal mask itself.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, batch_first=True, dtype=None):
        super().__init__()
        name = type(self).__name__
        if embed_dim % num_heads != 0:
            raise ValueError(f"{name}: embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        _check_dropout(dropout, name)
        dtype = dtype or np.float32
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dtype))
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's init: Xavier-uniform input projection, zero biases."""
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(self, query, key, value, attn_mask=None, key_padding_mask=None, need_weights=True,
                is_causal=False, average_attn_weights=True, kv_cache=None):
        """(output (B, L, E), weights) where weights are (B, L, S), or (B, H, L, S) when
        `average_attn_weights=False`, or None when `need_weights=False`.

        The weights are for inspection and plots; no gradient flows through them.
        `kv_cache` (inference only, self-attention): keys and values of earlier positions are
        read from it and those of the new positions appended (see tinytorch.models.KVCache).
        """
        name = type(self).__name__
        self_attention = query is key and key is value
        for t in (query,) if self_attention else (query, key, value):
            check_input(t, name)
            if t.data.ndim != 3 or t.data.shape[-1] != self.embed_dim:
                raise ValueError(
                    f"{name}: expected query, key and value of shape (B, T, {self.embed_dim}), "
                    f"got {tuple(query.shape)}, {tuple(key.shape)} and {tuple(value.shape)}"
                )
        if not self.batch_first:  # (T, B, E) -> (B, T, E)
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
            if self_attention:
                key = value = query
        if key.shape[:2] != value.shape[:2] or key.shape[0] != query.shape[0]:
            raise ValueError(
                f"{name}: batch and sequence sizes of query {tuple(query.shape)}, key {tuple(key.shape)} "
                f"and value {tuple(value.shape)} do not match"
            )
        batch, length, source = query.shape[0], query.shape[1], key.shape[1]
        dropout_p = self.dropout if self.training else 0.0
        if kv_cache is not None:
            if not self_attention or attn_mask is not None or key_padding_mask is not None:
                raise ValueError(f"{name}: kv_cache works only for self-attention without attn_mask or key_padding_mask")
            output, weights = self._cached(query, kv_cache, is_causal)
        else:
            scores_shape = (batch, self.num_heads, length, source)
            mask = self._mask(attn_mask, key_padding_mask, is_causal, scores_shape)
            if self_attention:
                output, weights = self._packed(query, mask, dropout_p, need_weights)
            else:
                output, weights = self._separate(query, key, value, mask, dropout_p, need_weights)
        output = self.out_proj(output)  # (B, L, E)
        if not self.batch_first:
            output = output.transpose(0, 1)
        if not need_weights:
            return output, None
        return output, Tensor(weights.mean(axis=1) if average_attn_weights else weights)

    def _mask(self, attn_mask, key_padding_mask, is_causal, scores_shape):
        """One mask in scaled_dot_product_attention's convention (True / 0 = may attend)."""
        name = type(self).__name__
        batch, heads, length, source = scores_shape
        if attn_mask is None and key_padding_mask is None:
            return _causal(length, source) if is_causal else None
        additive = np.zeros((1, 1, length, source), dtype=self.in_proj_weight.dtype)
        if attn_mask is not None:
            mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
            if mask.shape == (batch * heads, length, source):
                mask = mask.reshape(batch, heads, length, source)
            elif mask.shape != (length, source):
                raise ValueError(
                    f"{name}: attn_mask must have shape ({length}, {source}) or "
                    f"({batch * heads}, {length}, {source}), got {tuple(mask.shape)}"
                )
            additive = additive + _as_additive(mask, additive.dtype, name, "attn_mask")
        if key_padding_mask is not None:
            mask = key_padding_mask.data if isinstance(key_padding_mask, Tensor) else np.asarray(key_padding_mask)
            if mask.shape != (batch, source):
                raise ValueError(f"{name}: key_padding_mask must have shape ({batch}, {source}), got {tuple(mask.shape)}")
            additive = additive + _as_additive(mask, additive.dtype, name, "key_padding_mask")[:, None, None, :]
        if is_causal:
            additive = np.where(_causal(length, source), additive, -np.inf).astype(additive.dtype)
        return additive

    def _packed(self, x, mask, dropout_p, need_weights=True):
        """Self-attention: one (B, T, E) @ (E, 3E) projection, then one fused attention node."""
        qkv = linear(x, self.in_proj_weight, self.in_proj_bias)  # (B, T, 3E)
        batch, length, _ = qkv.shape
        if replaced and not dropout_p and learners("scaled_dot_product_attention"):
            e = self.embed_dim
            q, k, v = (self._split_heads(qkv[:, :, i * e:(i + 1) * e]) for i in range(3))  # (B, H, T, D)
            return self._through_seam(q, k, v, mask, need_weights)
        heads, size, scale = self.num_heads, self.head_dim, 1.0 / math.sqrt(self.head_dim)
        # views (B, H, T, D) into the packed projections: no copies
        split = qkv.data.reshape(batch, length, 3, heads, size).transpose(2, 0, 3, 1, 4)
        q, k, v = split[0], split[1], split[2]
        out, weights, keep = _attention_forward(q, k, v, mask, scale, dropout_p)
        merged = out.transpose(0, 2, 1, 3).reshape(batch, length, self.embed_dim)  # (B, T, E)

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return self._packed_twice(g, qkv, mask, keep, scale)
            g = g.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)  # (B, H, T, D)
            grads = _attention_backward(g, q, k, v, weights, keep, scale)
            grad_qkv = np.empty((batch, length, 3, heads, size), dtype=g.dtype)
            for i, grad in enumerate(grads):  # three slices, not a loop over data
                grad_qkv[:, :, i] = grad.transpose(0, 2, 1, 3)
            return (grad_qkv.reshape(batch, length, 3 * self.embed_dim),)

        shown = weights if keep is None else weights * keep  # PyTorch reports the weights after dropout
        return Tensor._result(merged, (qkv,), backward, "MultiHeadAttentionBackward"), shown

    def _packed_twice(self, g, qkv, mask, keep, scale):
        """`_packed`'s gradient for qkv (B, T, 3E) with Tensor ops (recorded, for create_graph)."""
        e = self.embed_dim
        q, k, v = (self._split_heads(qkv[:, :, i * e:(i + 1) * e]) for i in range(3))  # (B, H, T, D)
        grads = functional_twice.attention(self._split_heads(g), q, k, v, mask, keep, scale)
        merged = [grad.transpose(1, 2).reshape(g.shape) for grad in grads]  # (B, T, E) each
        return Grads((cat(merged, -1),))

    def _separate(self, query, key, value, mask, dropout_p, need_weights=True):
        """Attention with distinct query, key and value inputs (e.g. cross-attention)."""
        e = self.embed_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        projected = [
            linear(x, w[i * e:(i + 1) * e], None if b is None else b[i * e:(i + 1) * e])
            for i, x in enumerate((query, key, value))
        ]
        q, k, v = (self._split_heads(t) for t in projected)  # (B, H, T, D)
        if replaced and not dropout_p and learners("scaled_dot_product_attention"):
            return self._through_seam(q, k, v, mask, need_weights)
        out, weights = _attention(q, k, v, mask, dropout_p, 1.0 / math.sqrt(self.head_dim))
        return out.transpose(1, 2).reshape(query.shape[0], query.shape[1], e), weights

    def _through_seam(self, q, k, v, mask, need_weights):
        """Attention of the heads q, k, v (B, H, T, D) by the scaled_dot_product_attention in use
        (the learner's after tinytorch.mine.use()); (merged output (B, L, E), weights or None)."""
        batch, _, length, _ = q.shape
        out = replaced["scaled_dot_product_attention"](q, k, v, attn_mask=None if mask is None else Tensor(mask))
        weights = _attention_weights(q.data, k.data, mask, 1.0 / math.sqrt(self.head_dim)) if need_weights else None
        return out.transpose(1, 2).reshape(batch, length, self.embed_dim), weights

    def _split_heads(self, x):
        batch, length, _ = x.shape
        return x.reshape(batch, length, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)

    def _cached(self, x, cache, is_causal):
        """Self-attention of new positions x (B, T, E) over the cached ones plus themselves."""
        if grad_mode.is_grad_enabled() and any(p.requires_grad for p in self.parameters()):
            raise RuntimeError(
                f"{type(self).__name__}: kv_cache is for inference; run generation under tinytorch.no_grad()"
            )
        qkv = linear_array(x.data, self.in_proj_weight.data, _data(self.in_proj_bias))  # (B, T, 3E)
        batch, length, _ = qkv.shape
        split = qkv.reshape(batch, length, 3, self.num_heads, self.head_dim).transpose(2, 0, 3, 1, 4)
        out, weights = cached_attention(split[0], split[1], split[2], cache, is_causal)
        return Tensor._constant(out), weights

    def extra_repr(self):
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
            f"bias={self.in_proj_bias is not None}, batch_first={self.batch_first}"
        )


def cached_attention(q, k, v, cache, is_causal=True):
    """Attention of the new positions' heads q, k, v (B, H, T, D) over the positions stored in
    `cache` and themselves, after appending k and v to it: (merged output (B, T, H*D), weights)."""
    batch, heads, length, size = q.shape
    start = cache.length
    keys, values = cache.append(k, v)  # (B, H, start + T, D)
    mask = _causal(length, start + length, offset=start) if is_causal and length > 1 else None
    out, weights, _ = _attention_forward(q, keys, values, mask, 1.0 / math.sqrt(size), 0.0)
    return out.transpose(0, 2, 1, 3).reshape(batch, length, heads * size), weights


def _data(tensor):
    return None if tensor is None else tensor.data


def _as_additive(mask, dtype, op, name):
    """PyTorch nn.MultiheadAttention mask -> additive float mask (True -> -inf)."""
    if mask.dtype == np.bool_:
        return np.where(mask, -np.inf, 0.0).astype(dtype)
    if np.issubdtype(mask.dtype, np.floating):
        return mask.astype(dtype, copy=False)
    raise TypeError(f"{op}: {name} must be bool or floating point, got dtype {mask.dtype}")
