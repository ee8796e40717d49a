"""GPT: a decoder-only transformer language model, after nanoGPT's model.py.

Token + learned position embeddings, `n_layer` pre-norm causal TransformerBlocks, a final
LayerNorm and a linear head to vocabulary logits (sharing the token embedding's weight when
`tie_weights`). `generate` samples autoregressively, with or without a KV cache.
"""

import math
from dataclasses import dataclass

import numpy as np

from .. import grad_mode, seams
from ..random import rng_of
from ..seams import replaced, seam
from ..tensor import Tensor
from .. import nn
from ..nn import functional as F
from ..nn.transformer import forward_cached


@dataclass
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 64  # longest context the model sees
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    tie_weights: bool = True  # lm_head shares wte's weight (as in GPT-2)


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        if config.n_embd % config.n_head != 0:
            raise ValueError(f"GPT: n_embd {config.n_embd} is not divisible by n_head {config.n_head}")
        self.config = config
        # The parts the course's exercises implement come through their seams (the learner's
        # after tinytorch.mine.use()).
        block = seams.implementation("TransformerBlock")
        options = {"dropout": config.dropout} if block is nn.TransformerBlock else {}  # the exercise's has none
        self.wte = seams.implementation("Embedding")(config.vocab_size, config.n_embd)
        self.wpe = nn.LearnedPositionalEmbedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(block(config.n_embd, config.n_head, **options) for _ in range(config.n_layer))
        self.ln_f = seams.implementation("LayerNorm")(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.wte.weight
        self._init_weights()

    def _init_weights(self):
        """GPT-2's init: N(0, 0.02) weights, zero biases; residual projections scaled by
        1/sqrt(2 * n_layer) so the residual stream's variance does not grow with depth."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.Embedding, nn.LearnedPositionalEmbedding)) or module is self.wte:
                nn.init.normal_(module.weight, std=0.02)
            elif isinstance(module, nn.MultiHeadAttention):
                nn.init.normal_(module.in_proj_weight, std=0.02)
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for block in self.blocks:
            nn.init.normal_(block.attn.out_proj.weight, std=residual_std)
            proj = block.mlp.proj if hasattr(block.mlp, "proj") else block.mlp[-1]  # the exercise's: no names
            nn.init.normal_(proj.weight, std=residual_std)

    def num_parameters(self):
        """Number of trainable values (a tied weight counted once)."""
        return sum(p.numel() for p in self.parameters())

    def _ids(self, idx, op):
        ids = idx.data if isinstance(idx, Tensor) else np.asarray(idx)
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"{op}: token ids must be integers, got dtype {ids.dtype}")
        if ids.ndim != 2:
            raise ValueError(f"{op}: expected token ids of shape (B, T), got {tuple(ids.shape)}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.config.vocab_size):
            bad = ids.max() if ids.max() >= self.config.vocab_size else ids.min()
            raise IndexError(f"{op}: token id {bad} is out of range for vocab_size {self.config.vocab_size}")
        return ids

    def _hidden(self, ids, kv_caches=None):
        """Final-LayerNorm features (B, T, C) of ids (B, T); with caches, T new positions."""
        offset = kv_caches[0].length if kv_caches else 0
        x = self.drop(self.wpe(self.wte(ids), offset=offset))  # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = forward_cached(block, x, kv_caches[i]) if kv_caches else block(x)
        return self.ln_f(x)

    def forward(self, idx, targets=None):
        """(logits (B, T, vocab_size), loss or None) for token ids idx (B, T).

        targets (B, T): the next token at each position; IGNORE (-100) positions are skipped.
        """
        ids = self._ids(idx, "GPT")
        length = ids.shape[1]
        if length > self.config.block_size:
            raise ValueError(f"GPT: sequence length {length} exceeds block_size {self.config.block_size}")
        logits = self.lm_head(self._hidden(ids))  # (B, T, V)
        if targets is None:
            return logits, None
        target = targets if isinstance(targets, Tensor) else Tensor(np.asarray(targets))
        if target.shape != ids.shape:
            raise ValueError(f"GPT: targets shape {tuple(target.shape)} does not match idx shape {ids.shape}")
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
        return logits, loss

    def make_kv_caches(self, batch_size):
        """One empty KVCache per block (through its seam), each holding up to block_size positions."""
        c = self.config
        dtype = self.wte.weight.dtype
        cache = seams.implementation("KVCache")
        return [cache(batch_size, c.n_head, c.block_size, c.n_embd // c.n_head, dtype) for _ in range(c.n_layer)]

    def can_cache(self):
        """Whether generation can use KV caches: every block has the parts of a pre-norm block
        (ln1, attn, ln2, mlp), its attention tinytorch's MultiHeadAttention or module 12's."""
        return all(all(hasattr(b, part) for part in ("ln1", "attn", "ln2", "mlp"))
                   and (isinstance(b.attn, nn.MultiHeadAttention) or hasattr(b.attn, "q_proj")) for b in self.blocks)

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None, use_cache=True):
        """Append `max_new_tokens` sampled tokens to idx (B, T); returns ids (B, T + max_new_tokens).

        Each step samples from softmax(logits / temperature), restricted to the `top_k` most
        likely tokens if given; `temperature=0` picks the most likely token (greedy). Sampling
        draws from `generator` (seedable). The context is cropped to the last block_size tokens.
        With `use_cache`, keys and values of earlier positions come from a KV cache; once the
        context is cropped, positions shift, so the cache is rebuilt from the cropped context.
        Cached and uncached generation give the same tokens (for blocks tinytorch can cache:
        see can_cache). Each token is drawn by the sample_next_token seam.
        """
        ids = self._ids(idx, "GPT.generate")
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 0:
            raise ValueError(f"GPT.generate: max_new_tokens must be a non-negative int, got {max_new_tokens!r}")
        if ids.shape[1] == 0:
            raise ValueError("GPT.generate: need at least one token of context, got shape (B, 0)")
        if temperature < 0:
            raise ValueError(f"GPT.generate: temperature must be >= 0, got {temperature}")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1):
            raise ValueError(f"GPT.generate: top_k must be a positive int or None, got {top_k!r}")
        block = self.config.block_size
        use_cache = use_cache and self.can_cache()
        caches = self.make_kv_caches(ids.shape[0]) if use_cache else None
        sample = replaced.get("sample_next_token", sample_next_token)
        with grad_mode.no_grad():
            for _ in range(max_new_tokens):
                if not use_cache:
                    hidden = self._hidden(ids[:, -block:])
                elif caches[0].length == 0 or caches[0].length >= block:
                    for cache in caches:  # first step, or the context was cropped: (re)fill
                        cache.reset()
                    hidden = self._hidden(ids[:, -block:], caches)
                else:
                    hidden = self._hidden(ids[:, -1:], caches)
                logits = self.lm_head(hidden[:, -1]).data  # (B, V)
                next_ids = np.asarray(sample(logits, temperature, top_k, generator), dtype=np.int64)  # (B,)
                ids = np.concatenate([ids, next_ids[:, None]], axis=1)
        return Tensor(ids)


@seam("sample_next_token")
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    """One token id per row of logits (B, V): the argmax when temperature is 0, else a draw
    from softmax(logits / temperature) over the top_k largest (all when None), with the
    randomness of `generator` (tinytorch's default one when None)."""
    logits = logits.data if isinstance(logits, Tensor) else np.asarray(logits)
    return _sample(logits, temperature, top_k, rng_of(generator))


def _sample(logits, temperature, top_k, rng):
    """One token id per row of logits (B, V)."""
    if temperature == 0:
        return logits.argmax(axis=-1).astype(np.int64)
    logits = logits.astype(np.float64) / temperature
    vocab = logits.shape[-1]
    if top_k is not None and top_k < vocab:
        kth = np.partition(logits, vocab - top_k, axis=-1)[:, vocab - top_k, None]  # (B, 1)
        logits = np.where(logits < kth, -np.inf, logits)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    cdf = np.cumsum(probs, axis=-1)  # (B, V), unnormalised
    u = rng.random((len(logits), 1)) * cdf[:, -1:]  # one uniform draw per row
    return (cdf <= u).sum(axis=-1).clip(max=vocab - 1).astype(np.int64)
