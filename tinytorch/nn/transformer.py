"""TransformerBlock: a pre-norm, causal decoder block (as in GPT-2 and nanoGPT)."""

from collections import OrderedDict

from .. import seams
from ..seams import seam
from .activation import GELU
from ..tensor import Tensor
from .attention import MultiHeadAttention, cached_attention
from .dropout import Dropout
from .linear import Linear
from .module import Module, Sequential, check_input


@seam("TransformerBlock")
class TransformerBlock(Module):
    """x + attn(ln1(x)), then x + mlp(ln2(x)); attention is causal (decoder-only models).

    The MLP widens to `mlp_ratio * d_model` with a GELU in between (the tanh approximation, as
    in GPT-2: several times cheaper in NumPy than the erf form). `dropout` applies to the
    attention weights and to both residual branches. The norms and the attention are built
    through their seams (`LayerNorm`, `MultiHeadAttention`): the learner's, once
    `tinytorch.mine.use()` puts them in (a learner's attention gets no attention-weight dropout:
    its interface has none).
    """

    def __init__(self, d_model, n_heads, mlp_ratio=4, dropout=0.0):
        super().__init__()
        self.d_model = d_model
        norm = seams.implementation("LayerNorm")
        attention = seams.implementation("MultiHeadAttention")
        self.ln1 = norm(d_model)
        if attention is MultiHeadAttention:
            self.attn = attention(d_model, n_heads, dropout=dropout)
        else:
            self.attn = attention(d_model, n_heads)  # the exercise's constructor
        self.attn_dropout = Dropout(dropout)  # on the attention branch, before the residual add
        self.ln2 = norm(d_model)
        hidden = int(mlp_ratio * d_model)
        self.mlp = Sequential(OrderedDict(
            fc=Linear(d_model, hidden),
            gelu=GELU(approximate="tanh"),
            proj=Linear(hidden, d_model),
            dropout=Dropout(dropout),
        ))

    def forward(self, x, kv_cache=None):
        """x (B, T, d_model) -> (B, T, d_model). With `kv_cache` (inference), x holds only the
        new positions; earlier ones are read from the cache."""
        name = type(self).__name__
        check_input(x, name)
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"{name}: expected input (B, T, {self.d_model}), got shape {tuple(x.shape)}")
        if kv_cache is not None:
            return forward_cached(self, x, kv_cache)
        h = self.ln1(x)
        attended, _ = self.attn(h, h, h, need_weights=False, is_causal=True)
        x = x + self.attn_dropout(attended)  # (B, T, C)
        return x + self.mlp(self.ln2(x))  # (B, T, C)

    def extra_repr(self):
        return f"d_model={self.d_model}"


def forward_cached(block, x, cache):
    """The output (B, T, C) of a pre-norm block for the new positions x (B, T, C), its attention
    reading the earlier positions from `cache` and appending the new ones (inference). `block`
    is tinytorch's TransformerBlock or module 13's (the same parts: ln1, attn, ln2, mlp), its
    attention tinytorch's MultiHeadAttention or module 12's."""
    h = block.ln1(x)
    # module 17's step covers one new position of tinytorch's attention; tinytorch's own
    # fills the cache from a prompt and steps module 12's attention
    exercise = h.shape[1] == 1 and isinstance(block.attn, MultiHeadAttention)
    attend = seams.replaced.get("attend_one_token", attend_one_token) if exercise else attend_one_token
    x = x + attend(block.attn, h, cache)  # (B, T, C)
    return x + block.mlp(block.ln2(x))  # (B, T, C)


@seam("attend_one_token")
def attend_one_token(attn, x, cache):
    """Self-attention output (B, T, E) of the new positions x (B, T, E) by `attn` over the
    positions in `cache` and themselves (causal); appends their keys and values to the cache
    (module 17's exercise, for T = 1 and tinytorch's MultiHeadAttention). `attn` is tinytorch's
    MultiHeadAttention or module 12's (q_proj, k_proj, v_proj, out_proj)."""
    if isinstance(attn, MultiHeadAttention):
        out, _ = attn(x, x, x, need_weights=False, is_causal=True, kv_cache=cache)
        return out
    batch, length, _ = x.shape
    q, k, v = (proj(x).data.reshape(batch, length, attn.num_heads, attn.head_dim).transpose(0, 2, 1, 3)
               for proj in (attn.q_proj, attn.k_proj, attn.v_proj))  # (B, H, T, D)
    merged, _ = cached_attention(q, k, v, cache)
    return attn.out_proj(Tensor(merged))
