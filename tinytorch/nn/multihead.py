"""`nn.MultiheadAttention` exactly as PyTorch's: the course's MultiHeadAttention (same
parameters, masks and fused kernels) with PyTorch's signature and its default
`batch_first=False`, i.e. inputs (L, B, E), plus unbatched (L, E) inputs."""

from ..device import check_device
from .attention import MultiHeadAttention
from .module import check_input


class MultiheadAttention(MultiHeadAttention):
    """Multi-head attention with PyTorch's signature and defaults (sequence-first inputs).

    `add_bias_kv`, `add_zero_attn` and different `kdim`/`vdim` are not supported (a clear
    NotImplementedError); `device` may only be the CPU.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are not supported by tinytorch")
        if kdim not in (None, embed_dim) or vdim not in (None, embed_dim):
            raise NotImplementedError("MultiheadAttention: kdim/vdim different from embed_dim are not supported by tinytorch")
        check_device(device, "MultiheadAttention")
        super().__init__(embed_dim, num_heads, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype)
        self.kdim = self.vdim = embed_dim
        self._qkv_same_embed_dim = True

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """(attn_output, attn_weights) as PyTorch's; note the argument order differs from the
        course class (key_padding_mask comes fourth). `is_causal` is a hint that `attn_mask`
        is the causal mask, so it needs `attn_mask`, as in PyTorch."""
        name = type(self).__name__
        check_input(query, name)
        if is_causal and attn_mask is None:
            raise RuntimeError(f"{name}: Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask` to create this mask.")
        if query.ndim != 2:
            return super().forward(query, key, value, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                   need_weights=need_weights, average_attn_weights=average_attn_weights)
        # unbatched (L, E): add a batch of one where this layout expects it, then remove it
        batch_dim = 0 if self.batch_first else 1
        same = query is key and key is value
        query = query.unsqueeze(batch_dim)
        key, value = (query, query) if same else (key.unsqueeze(batch_dim), value.unsqueeze(batch_dim))
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask[None]
        output, weights = super().forward(query, key, value, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                          need_weights=need_weights, average_attn_weights=average_attn_weights)
        return output.squeeze(batch_dim), None if weights is None else weights.squeeze(0)
