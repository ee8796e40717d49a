# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 12: Attention
#
# Attention lets every position of a sequence read from every other position, with weights
# the model computes from the data itself. It is the core of the transformer (module 13) and
# of every large language model. You write scaled dot-product attention with causal and
# padding masks, then multi-head attention; a one-layer attention model then learns to
# reverse sequences, and its attention weights show how. Finally you measure the price:
# time and memory that grow with the square of the sequence length.
#
# **Learning objectives.** By the end of this module you can:
#
# - write scaled dot-product attention with causal, boolean and additive masks
# - write multi-head attention: projections, splitting into heads and merging them back
# - explain the `1/sqrt(D)` scale and why masks use `-inf` before the softmax
# - measure how attention's time and memory grow with the sequence length

# %%
import math
import time

import numpy as np

import tinytorch as tt
from tinytorch import Tensor, nn
import tinytorch.mine
from tinytorch.checks import (check_head_weights, check_multi_head_attention, check_scaled_dot_product_attention,
                              yours_or_reference)
from tinytorch.checks.attention import reference_head_weights
from tinytorch.nn import Linear, Module
from tinytorch.nn import functional as F
from tinytorch.platform import describe, native_handoff
from tinytorch.profiling.timing import best_time  # fastest of several calls, in seconds
# Components of earlier modules: yours where saved, else tinytorch's (one line each says which).
# Linear stays tinytorch's: MultiHeadAttention is built on it, and a class built on your saved
# Linear could not itself be saved for later notebooks.
from tinytorch.mine import Embedding, Adam

print(describe())

# %% [markdown]
# ## A soft dictionary lookup
#
# Each position emits three vectors, computed from its embedding by three `Linear` layers:
# a **query** (what am I looking for?), a **key** (what do I contain?) and a **value** (what
# do I hand over?). Position `i` scores every position `j` by the dot product of its query
# with `j`'s key, turns the scores into weights with a softmax, and takes the weighted
# average of the values:
#
# ```
#   Q (L, D)   K (S, D)   V (S, Dv)          L queries, S keys/values
#
#   scores  = Q @ K.T / sqrt(D)     (L, S)   row i: how well query i matches each key
#   weights = softmax(scores)       (L, S)   each row sums to 1
#   output  = weights @ V           (L, Dv)  row i: a blend of the values
# ```
#
# A dictionary returns the value of the one key that matches; attention returns a blend,
# weighted by how well each key matches. Because the blend is differentiable, the model
# learns what to look for.
#
# **Why divide by `sqrt(D)`?** For random vectors with unit-variance entries, `q . k` sums
# `D` products, so its standard deviation is `sqrt(D)`. Large scores push the softmax to a
# one-hot vector whose gradient is almost zero everywhere, and learning stalls. Dividing by
# `sqrt(D)` brings the scores back to unit spread, whatever the width:

# %%
rng = np.random.default_rng(0)
for d in (4, 64, 512):
    q, k = rng.standard_normal((1000, d)), rng.standard_normal((16, d))
    for label, scores in (("q.k", q @ k.T), ("q.k / sqrt(D)", q @ k.T / math.sqrt(d))):
        w = np.exp(scores - scores.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        print(f"D={d:3d}  {label:14s} score std {scores.std():6.2f}   mean largest weight of 16: {w.max(axis=1).mean():.2f}")

# %% [markdown]
# ## Masks
#
# Two situations forbid some of the `L x S` pairs:
#
# - **Causal** (language models): position `i` predicts token `i + 1`, so it must not see
#   positions after `i`. Query `i` may attend to keys `0..i`: a lower-triangular pattern.
# - **Padding**: sequences of different lengths are padded to one length to share a batch;
#   no query may attend to a padding key.
#
# A forbidden score is set to `-inf` before the softmax, so its weight is exactly
# `exp(-inf) = 0`, and the remaining weights of the row still sum to 1. Following PyTorch's
# `scaled_dot_product_attention`, a **bool** `attn_mask` is True where attention is
# **allowed**; a **float** `attn_mask` is **added** to the scores (0 keeps a pair, `-inf`
# removes it, other values bias it). Masks broadcast against the `(..., L, S)` scores, so a
# padding mask of shape `(B, 1, 1, S)` serves every head and every query.

# %%
import matplotlib.pyplot as plt

T = 6
causal = np.tril(np.ones((T, T), dtype=bool))
lengths = np.array([6, 4])
keys_kept = np.arange(T)[None, :] < lengths[:, None]  # (B, S): True for real tokens
padding = np.broadcast_to(keys_kept[1][None, :], (T, T))  # second sequence: 4 real tokens
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, (title, mask) in zip(axes, (("causal", causal), ("padding (length 4 of 6)", padding),
                                    ("causal and padding", causal & padding))):
    ax.imshow(mask, cmap="Greys_r", vmin=0, vmax=1)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("key position j")
    ax.set_ylabel("query position i")
plt.suptitle("allowed (white) query-key pairs", fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Exercise.** Write `scaled_dot_product_attention(query, key, value, attn_mask=None,
# is_causal=False)` with Tensor operations, so that autograd differentiates it: query
# `(..., L, D)`, key `(..., S, D)`, value `(..., S, Dv)`, any number of batch dimensions
# (broadcasting like `@`), output `(..., L, Dv)`. Useful: `key.transpose(-2, -1)`,
# `scores.masked_fill(mask, float("-inf"))` (fills where `mask` is True), and
# `scores.softmax(dim=-1)` (stable: it subtracts the row maximum). `attn_mask` may be a
# Tensor or a NumPy array; `is_causal` and `attn_mask` are not used together. Keep float32:
# scale by a Python float.

# %%
def scaled_dot_product_attention(query, key, value, attn_mask=None, is_causal=False):
    """softmax(query @ key^T / sqrt(D) + mask) @ value, as torch.nn.functional's."""
    ### BEGIN SOLUTION
    # HINT: the scores of every query against every key, scaled; masked positions can receive no weight; softmax over the keys; the weighted sum of the values
    scores = query @ key.transpose(-2, -1) * (1.0 / math.sqrt(query.shape[-1]))  # (..., L, S)
    if is_causal:
        length, source = scores.shape[-2:]
        allowed = np.tril(np.ones((length, source), dtype=bool))
        scores = scores.masked_fill(~allowed, float("-inf"))
    if attn_mask is not None:
        mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if mask.dtype == np.bool_:
            scores = scores.masked_fill(~mask, float("-inf"))
        else:
            scores = scores + Tensor(mask.astype(scores.dtype))
    weights = scores.softmax(dim=-1)  # (..., L, S), rows sum to 1
    return weights @ value  # (..., L, Dv)
    ### END SOLUTION

# %% tags=["check"]
check_scaled_dot_product_attention(scaled_dot_product_attention)

# %% [markdown]
# ## Multi-head attention
#
# One attention computes one set of weights per query: one way of relating positions. A
# sentence needs several at once (which noun does this verb belong to? what came just
# before?). **Multi-head attention** splits the width `E` into `H` heads of `D = E / H`
# features, runs attention in each head independently, and concatenates the results. It
# costs the same FLOPs as one head of full width; the heads just see different slices of
# the projected vectors.
#
# ```
#   x (B, T, E) --q_proj--> (B, T, E) --reshape--> (B, T, H, D) --transpose(1, 2)--> (B, H, T, D)
#                                         (same for k_proj and v_proj)
#   attention over the last two axes, every (batch, head) pair at once:    (B, H, T, D)
#   merge: transpose(1, 2) -> (B, T, H, D) -> reshape (B, T, E) --out_proj--> (B, T, E)
# ```
#
# The transpose matters: reshaping `(B, T, E)` straight to `(B, H, T, D)` would slice the
# memory in the wrong order and mix features of different tokens into one "token".
#
# Masks: `key_padding_mask` `(B, S)` follows PyTorch's `nn.MultiheadAttention`, where **True
# marks padding** (positions to ignore): the opposite of the bool `attn_mask` of the function
# you just wrote. Convert it to an allowed-mask of shape `(B, 1, 1, S)`; with `is_causal` as
# well, combine both into one mask (a query may attend where both allow it).
#
# **Exercise.** Write `MultiHeadAttention(embed_dim, num_heads)`: raise `ValueError` if
# `embed_dim` is not divisible by `num_heads`; store `embed_dim`, `num_heads` and `head_dim`;
# create four `Linear(embed_dim, embed_dim)` layers named `q_proj`, `k_proj`, `v_proj` and
# `out_proj`. `forward(query, key, value, key_padding_mask=None, need_weights=True, is_causal=False)`
# takes query `(B, L, E)` and key, value `(B, S, E)` (the same tensor for self-attention) and
# returns the pair `(output, None)`: output `(B, L, E)`, and in place of the weights PyTorch's
# (and tinytorch's) `MultiHeadAttention` also returns, None. With the same call as tinytorch's,
# yours can stand in for it inside tinytorch's `TransformerBlock`. Call
# `F.scaled_dot_product_attention`: after `tinytorch.mine.use()` that runs your function above.

# %%
class MultiHeadAttention(Module):
    """Multi-head attention with separate q/k/v/out projections (PyTorch's math, its mask conventions)."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        ### BEGIN SOLUTION
        # HINT: check divisibility (ValueError), store embed_dim, num_heads, head_dim; four Linear(embed_dim, embed_dim) named q_proj, k_proj, v_proj, out_proj
        if embed_dim % num_heads != 0:
            raise ValueError(f"MultiHeadAttention: embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.q_proj = Linear(embed_dim, embed_dim)
        self.k_proj = Linear(embed_dim, embed_dim)
        self.v_proj = Linear(embed_dim, embed_dim)
        self.out_proj = Linear(embed_dim, embed_dim)
        ### END SOLUTION

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, is_causal=False):
        ### BEGIN SOLUTION
        # HINT: project q, k and v; split the features into heads; attend with the masks (key padding, causal); merge the heads; output projection; return (output, None)
        batch, length, source = query.shape[0], query.shape[1], key.shape[1]

        def split(x):  # (B, T, E) -> (B, H, T, D)
            return x.reshape(batch, x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

        q, k, v = split(self.q_proj(query)), split(self.k_proj(key)), split(self.v_proj(value))
        mask = None
        if key_padding_mask is not None:
            pad = key_padding_mask.data if isinstance(key_padding_mask, Tensor) else np.asarray(key_padding_mask)
            mask = ~pad[:, None, None, :]  # (B, 1, 1, S): True where a key may be attended
            if is_causal:
                mask = mask & np.tril(np.ones((length, source), dtype=bool))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal and mask is None)  # (B, H, L, D)
        merged = out.transpose(1, 2).reshape(batch, length, self.embed_dim)  # (B, L, E)
        return self.out_proj(merged), None
        ### END SOLUTION

# %% tags=["check"]
check_multi_head_attention(MultiHeadAttention)

# %% [markdown]
# What the padding mask buys: with it, the outputs at real positions do not depend on what
# sits in the padding; without it, they do (here the padding holds random numbers; in
# practice the embedding of a pad token, which would still leak in).

# %%
# tinytorch runs your attention from here on: `F.scaled_dot_product_attention` (and every
# MultiHeadAttention of tinytorch's) calls your function, tinytorch's TransformerBlock builds
# your class. MHA is your saved class (tinytorch's where yours did not pass; same call).
tinytorch.mine.use("scaled_dot_product_attention", "MultiHeadAttention")
MHA = tinytorch.mine.load("MultiHeadAttention")
tt.manual_seed(0)
mha = MHA(16, 4)
x = tt.randn(2, 6, 16)
pad = np.arange(6)[None, :] >= np.array([6, 4])[:, None]  # sequence 2 has 4 real tokens
x_other = Tensor(np.where(pad[:, :, None], rng.standard_normal((2, 6, 16)), x.data).astype(np.float32))
with tt.no_grad():
    for label, mask in (("with key_padding_mask", Tensor(pad)), ("without mask", None)):
        a = mha(x, x, x, key_padding_mask=mask)[0].data
        b = mha(x_other, x_other, x_other, key_padding_mask=mask)[0].data
        change = np.abs(a[1, :4] - b[1, :4]).max()
        print(f"{label:22s} largest change at the 4 real positions of sequence 2: {change:.2e}")

# %% [markdown]
# ## Use it: one attention layer learns to reverse
#
# Reversing a sequence is pure routing: the answer's first token is the prompt's last,
# and so on. The task comes from `tinytorch.datasets`: a prompt of 6 digits, a separator
# `|`, then the digits reversed; the model reads the sequence and predicts every next token,
# and only the answer positions count in the loss.
#
# The model is as small as it gets: token embedding plus learned position embedding, **one**
# causal multi-head attention layer (yours) with a residual connection, and a `Linear` layer
# to the 11 token scores. No MLP, no normalization: attention alone must do the routing.

# %%
task = tt.datasets.reversal_task(length=6)
x_train, y_train = tt.datasets.make_reversal(10_000, length=6, seed=0)
x_test, y_test = tt.datasets.make_reversal(1_000, length=6, seed=1, split="test")
print(f"example: {task.decode(x_train[0])}  ->  targets {task.decode(y_train[0])}")


class Reverser(Module):
    def __init__(self, vocab_size, length, width=32, heads=2):
        super().__init__()
        self.tokens = Embedding(vocab_size, width)
        self.positions = nn.LearnedPositionalEmbedding(length, width)
        self.attn = MHA(width, heads)
        self.head = Linear(width, vocab_size)

    def forward(self, ids):
        x = self.positions(self.tokens(ids))  # (B, T, E)
        attended, _ = self.attn(x, x, x, is_causal=True, need_weights=False)
        return self.head(x + attended)  # (B, T, vocab)


tt.manual_seed(0)
model = Reverser(task.vocab_size, task.seq_len)
optimizer = Adam(model.parameters(), lr=1e-2)
batches = np.random.default_rng(0).integers(0, len(x_train), size=(150, 64))
start = time.perf_counter()
for step, rows in enumerate(batches):
    logits = model(Tensor(x_train[rows]))
    loss = F.cross_entropy(logits.reshape(-1, task.vocab_size), Tensor(y_train[rows].reshape(-1)))  # ignores -100
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 25 == 0 or step == len(batches) - 1:
        print(f"step {step:3d}  loss {loss.item():.3g}")
print(f"trained in {time.perf_counter() - start:.1f} s")
with tt.no_grad():
    test_logits = model(Tensor(x_test))
print(f"test sequences reversed exactly: {tt.datasets.exact_match_accuracy(test_logits, y_test):.1%}")

# %% [markdown]
# Where does each position look? The attention layer returns only its output; the weights of
# each head have to be recomputed from its trained projections.
#
# **Exercise.** Write `head_weights(mha, x)`: the `(B, H, T, T)` causal attention weights of
# every head of a trained `MultiHeadAttention` (its `q_proj`, `k_proj`, `num_heads`,
# `head_dim`) on `x` of shape `(B, T, E)`, as a NumPy array: the same queries, keys, scaling,
# mask and softmax as inside your layer, without the values.

# %%
def head_weights(mha, x):
    """(B, H, T, T) causal attention weights of `mha` (with q_proj, k_proj) on x (B, T, E)."""
    ### BEGIN SOLUTION
    # HINT: the queries and keys of every head, as your MultiHeadAttention splits them; the causal, scaled softmax of their scores over the keys
    batch, length, _ = x.shape
    q, k = (proj(x).data.reshape(batch, length, mha.num_heads, mha.head_dim).transpose(0, 2, 1, 3)
            for proj in (mha.q_proj, mha.k_proj))  # (B, H, T, D)
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(mha.head_dim)  # (B, H, T, T)
    scores = np.where(np.tril(np.ones((length, length), dtype=bool)), scores, -np.inf)  # no future keys
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)
    ### END SOLUTION


# %% tags=["check"]
check_head_weights(head_weights)

# %%
import matplotlib.pyplot as plt

weights_of = yours_or_reference("head_weights", head_weights, reference_head_weights)
sample = x_test[:1]
with tt.no_grad():
    weights = weights_of(model.attn, model.positions(model.tokens(Tensor(sample))))[0]  # (H, T, T)
labels = list(task.decode(sample[0]))
fig, axes = plt.subplots(1, weights.shape[0], figsize=(4.2 * weights.shape[0], 4))
for h, ax in enumerate(np.atleast_1d(axes)):
    ax.imshow(weights[h], cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (predicting the next token)")
    ax.set_title(f"head {h}")
plt.tight_layout()
plt.show()
print("prediction:", task.decode(test_logits.data[0].argmax(axis=-1)[task.prompt_len - 1:]),
      "  expected:", task.decode(y_test[0][task.prompt_len - 1:]))

# %% [markdown]
# From the separator on (lower half), each row puts its weight on one prompt position: the
# anti-diagonal, exactly the mirrored position whose digit comes next. The model learned
# this routing from position embeddings alone; the prompt rows above do not matter (they
# are not scored).
#
# ## Systems analysis: the price of all pairs
#
# Self-attention over `T` tokens scores `T x T` pairs, per head and per batch item. For
# `B` sequences, `H` heads of width `D`:
#
# ```
#   scores  Q @ K^T      2 * B * H * T * T * D   FLOPs
#   output  weights @ V  2 * B * H * T * T * D   FLOPs
#   memory  weights      B * H * T * T           floats, kept for the backward pass
# ```
#
# Doubling the context quadruples both. The projections, `4 x Linear(E, E)`, cost
# `8 * B * T * E^2` FLOPs: linear in `T`. Measured on a batch of 1 with `E = 128` and 4
# heads, against the fused q/k/v projection (`6 * T * E^2` FLOPs; attention's core is
# `4 * T^2 * E`, so by FLOPs alone the two are equal at `T = 1.5 E = 192`):

# %%
import matplotlib.pyplot as plt

E, H = 128, 4
D = E // H
full = native_handoff("the sequence-length sweep (up to T = 512 instead of 1024)",
                      "modules/12_attention.ipynb")
lengths = [64, 128, 256, 512] + ([1024] if full else [])
projections = nn.Linear(E, 3 * E)
rows = []
for T in lengths:
    q, k, v = (tt.randn(1, H, T, D, requires_grad=True) for _ in range(3))
    x = tt.randn(1, T, E)

    def forward_backward():
        F.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()

    with tt.no_grad():
        forward = best_time(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), repeats=3) * 1e3
        project = best_time(lambda: projections(x), repeats=3) * 1e3
    both = best_time(forward_backward, repeats=3) * 1e3
    weights_mib = F.attention_weights(q, k, is_causal=True).data.nbytes / 2**20
    flops, project_flops = 4 * H * T * T * D, 6 * T * E * E
    rows.append((T, forward, both, project, weights_mib))
    print(f"T={T:5d}  attention: forward {forward:8.2f} ms ({flops / forward / 1e6:5.1f} GFLOP/s), "
          f"+backward {both:8.2f} ms, weights kept {weights_mib:6.2f} MiB   "
          f"q/k/v projections: {project:6.2f} ms ({project_flops / project / 1e6:5.1f} GFLOP/s)")

T_, forward, both, project, mib = map(np.array, zip(*rows))
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
left.loglog(T_, forward, "o-", label="attention forward")
left.loglog(T_, both, "o-", label="attention forward + backward")
left.loglog(T_, project, "o-", label="q/k/v projections (forward)")
left.loglog(T_, both[-1] * (T_ / T_[-1]) ** 2, "k:", label="slope 2 (T^2)")
left.set_xlabel("sequence length T")
left.set_ylabel("ms")
left.legend(fontsize=8)
right.loglog(T_, mib, "o-")
right.set_xlabel("sequence length T")
right.set_ylabel("MiB")
right.set_title(f"attention weights, 1 sequence x {H} heads (float32)")
plt.tight_layout()
plt.show()

# %% [markdown]
# At short lengths the fixed cost of each call hides the quadratic term; at long lengths it
# dominates. Compare the GFLOP/s: the projections are one large matrix product, the fastest
# thing NumPy does, while attention runs many small products with an inner dimension of only
# `D = 32` and a softmax that reads and writes all `T x T` numbers several times, limited by
# memory bandwidth rather than arithmetic. So attention costs more time than its FLOPs
# suggest, and well before the FLOP crossover.
#
# The memory is what bites first in practice: the weights of every layer are kept for the
# backward pass. Scale the measured MiB by batch size, heads and layers of a real model:

# %%
per_layer = lambda batch, heads, T: batch * heads * T * T * 4 / 2**30  # GiB of float32 weights
print(f"GPT-2 small, batch 8, 12 heads, 12 layers, T = 1024: {12 * per_layer(8, 12, 1024):6.1f} GiB")
print(f"                                          T = 8192: {12 * per_layer(8, 12, 8192):6.1f} GiB")

# %% [markdown]
# FlashAttention (Dao et al., 2022) computes exactly the same output without ever storing the
# `T x T` matrix: it walks over blocks of keys, keeping a running maximum and sum for the
# softmax, and recomputes the weights during the backward pass. The FLOPs stay quadratic;
# the memory becomes linear in `T`.
#
# ## Reflection
#
# 1. Why do the scores need the `1/sqrt(D)` factor, and what would happen to the gradients of
#    a 512-wide head without it? Use the numbers printed at the start of the module.
# 2. Your causal mask sets scores to `-inf` rather than multiplying the weights by zero after
#    the softmax. What would go wrong with the second approach?
# 3. Splitting `E` into `H` heads does not change the FLOPs of the attention. What does it
#    change, and what would the reversal model lose with 1 head instead of 2? Try it.
# 4. `key_padding_mask` marks padding with True, while your function's bool `attn_mask`
#    marks allowed pairs with True. Which convention did you find easier to reason about,
#    and how did you make sure you converted correctly?
# 5. In your measurements, how many GFLOP/s did attention reach compared with the q/k/v
#    projections, and why the difference? How much memory would the attention weights of a
#    12-layer, 12-head model take for one 4096-token sequence?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. A dot product of two `D`-dimensional vectors with unit-variance entries has variance
#    `D`: for `D = 512`, a standard deviation of about 23. Softmax then saturates (one
#    weight near 1, the rest near 0) and its gradient vanishes. Dividing by `sqrt(D)` brings
#    the variance back to 1.
# 2. The future positions would still take part in the normalisation: the remaining weights
#    would no longer sum to 1, and the output would still depend on the future scores
#    through the denominator, so information (and gradient) would leak from the future.
#    `-inf` before the softmax gives exactly zero weight and a correct normalisation.
# 3. It gives `H` separate attention patterns, each with its own queries and keys (one can
#    follow positions, another content), as more, smaller matrix products and `H` score
#    matrices. With one head the reversal model has a single pattern for everything; expect
#    slower or worse learning, then check with your run.
# 4. Either works if you convert once, at one place, and name the variable by its meaning
#    (`allowed = ~key_padding_mask`). Check the conversion with a case where it shows: a
#    padded key must receive exactly zero weight.
# 5. Attention's products have a short inner dimension (the head size) and come in many
#    small batched pieces, with softmax and masking passes around them: less arithmetic per
#    byte and per call than the large `E x E` projections, so fewer GFLOP/s. The weights:
#    `12 * 12 * 4096 * 4096` float32 values, about 9 GiB for one sequence if all are kept
#    for backward.
