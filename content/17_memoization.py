# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 17: Memoization
#
# A language model writes one token at a time, and each new token needs the attention keys
# and values of every token before it. Those never change once computed, yet plain
# generation recomputes all of them at every step. Memoization (remembering results instead
# of recomputing them) turns that quadratic work into linear work: the **KV cache**, the
# reason chat models answer at a steady pace however long the conversation gets. You build
# the cache and the cached attention step, check that generation gives exactly the same
# tokens, and measure what it saves in time and what it costs in memory.
#
# **Learning objectives.** By the end of this module you can:
#
# - explain why causal attention lets generation reuse past keys and values exactly
# - write a preallocated KV cache and the cached attention step for one new token
# - verify that cached generation gives the same tokens as recomputation
# - measure the time saved and the memory the cache costs, and compute it for large models

# %%
import math
import time
import tracemalloc

import numpy as np

import tinytorch as tt
import tinytorch.mine
from tinytorch.checks import check_cached_attention, check_kv_cache, check_kv_cache_bytes
from tinytorch.nn.transformer import attend_one_token as reference_attend_one_token  # tinytorch's own step
from tinytorch.models import GPT, GPTConfig
from tinytorch.models import KVCache as ReferenceKVCache
from tinytorch.platform import describe
from tinytorch.profiling.timing import best_time  # fastest of several calls, in seconds

print(describe())

# %% [markdown]
# ## Generation repeats itself
#
# `model.generate` (module 13) appends one token per step, and each step runs the whole
# model on the whole context:
#
# ```
#   step 1:  model([t0 t1 t2 t3])          -> t4
#   step 2:  model([t0 t1 t2 t3 t4])       -> t5      t0..t3 processed again
#   step 3:  model([t0 t1 t2 t3 t4 t5])    -> t6      t0..t4 processed again
# ```
#
# Attention is **causal**: position `i` only looks at positions `<= i`, so everything
# computed for `t0..t3` in step 1 (every layer's hidden state, every key and value) comes out
# exactly the same in steps 2 and 3. Check it on a GPT: the logits of the first 40 positions
# computed with 40 tokens of context, and again with 41.

# %%
tt.manual_seed(0)
config = GPTConfig(vocab_size=65, block_size=256, n_layer=2, n_head=4, n_embd=64)
gpt = GPT(config).eval()
ids = tt.randint(0, config.vocab_size, (1, 41), generator=tt.Generator(1))
with tt.no_grad():
    short, _ = gpt(ids[:, :40])
    longer, _ = gpt(ids)
difference = np.abs(short.data - longer.data[:, :40]).max()
print(f"largest difference between the two runs over the first 40 positions: {difference:.1e}")

# %% [markdown]
# What the next step actually needs from the past is, per layer, each earlier position's
# **key** and **value**: the new token's query is compared with all keys, and the values are
# averaged with those weights. Keep them, and each step only has to process the one new
# token:
#
# ```
#   without cache, step t:  all t positions through every layer   ~ t x (work per token)
#   with cache,    step t:  1 new position through every layer    ~ 1 x (work per token)
#                           + its attention over t cached keys     (grows with t, but small)
# ```
#
# ## The cache
#
# One `KVCache` per layer holds that layer's keys and values, shape `(B, H, T, D)`: batch,
# heads, positions, head dimension. Growing arrays with `np.concatenate` at every step would
# copy everything stored so far each time (quadratic again), so the cache is **preallocated**
# at its maximum length once, and a counter says how much of it is filled:
#
# ```
#   keys (B, H, max_len, D):   [ k0 k1 k2 k3 | .  .  .  .  .  . ]
#                                            ^ length = 4
#   append(k4):                [ k0 k1 k2 k3 k4 | .  .  .  .  . ]   writes one slot, copies nothing else
#   returns keys[:, :, :5]     a view: no copy either
# ```
#
# Appending past `max_len` must fail loudly: NumPy silently clips a slice that runs past the
# end of an array, so without a check the new keys would simply be lost.

# %%
class KVCache:
    """Preallocated keys and values of one attention layer: (B, H, max_len, D) each."""

    def __init__(self, batch_size, num_heads, max_len, head_dim, dtype=np.float32):
        ### BEGIN SOLUTION
        # HINT: keys and values allocated once at full size (B, H, max_len, D) in the given dtype; nothing is stored yet
        self.keys = np.zeros((batch_size, num_heads, max_len, head_dim), dtype=dtype)
        self.values = np.zeros_like(self.keys)
        self.length = 0
        ### END SOLUTION

    @property
    def max_len(self):
        return self.keys.shape[2]

    @property
    def nbytes(self):
        """Memory held by the preallocated keys and values, in bytes."""
        return self.keys.nbytes + self.values.nbytes

    def append(self, k, v):
        """Store k, v (NumPy arrays of shape (B, H, T, D)) at positions length .. length+T-1;
        raise ValueError if they do not fit. Returns (keys, values), views of shape
        (B, H, length + T, D) of every position stored so far."""
        ### BEGIN SOLUTION
        # HINT: the T new positions go to slots length .. length+T-1 of axis 2; check first that they fit (NumPy clips slices silently)
        start, stop = self.length, self.length + k.shape[2]
        if stop > self.max_len:
            raise ValueError(f"KVCache: cannot append {k.shape[2]} positions to {start} of max_len {self.max_len}")
        self.keys[:, :, start:stop] = k
        self.values[:, :, start:stop] = v
        self.length = stop
        return self.keys[:, :, :stop], self.values[:, :, :stop]
        ### END SOLUTION

    def reset(self):
        """Forget every stored position (the memory stays allocated)."""
        self.length = 0


# %% tags=["check"]
check_kv_cache(KVCache)

# %% [markdown]
# ## One attention step with the cache
#
# Inside each transformer block, the attention layer (`nn.MultiHeadAttention`, module 12)
# projects its input to queries, keys and values with one packed matrix, `in_proj_weight`
# `(3E, E)` and `in_proj_bias` `(3E,)`: columns `0..E` of the result are the query, `E..2E`
# the key, `2E..3E` the value. Each is split into `H` heads of `D = E / H` numbers.
#
# For one new position `x` `(B, 1, E)`:
#
# ```
#   q, k, v = split(x @ in_proj_weight.T + in_proj_bias)      each (B, H, 1, D)
#   keys, values = cache.append(k, v)                         (B, H, t+1, D): the past and itself
#   weights = softmax(q @ keys^T / sqrt(D))                   (B, H, 1, t+1)
#   out = merge heads (weights @ values)                      (B, 1, E)
#   return out_proj(out)
# ```
#
# No causal mask is needed: the one new query sits after every cached position and may see
# all of them. Work on the NumPy arrays (`x.data`, `attn.in_proj_weight.data`); the step runs
# under `tt.no_grad()`, as generation does.

# %%
def attend_one_token(attn, x, cache):
    """Self-attention output (B, 1, E) Tensor of the new position x (B, 1, E) Tensor over the
    positions in `cache` and itself, using the weights of `attn` (an nn.MultiHeadAttention);
    appends the new key and value to `cache`."""
    ### BEGIN SOLUTION
    # HINT: project with the packed weights, split into q, k, v of shape (B, H, 1, D), append k and v, then attend over what the cache returns
    batch, heads, size = x.shape[0], attn.num_heads, attn.head_dim
    qkv = x.data @ attn.in_proj_weight.data.T  # (B, 1, 3E)
    if attn.in_proj_bias is not None:
        qkv = qkv + attn.in_proj_bias.data
    q, k, v = qkv.reshape(batch, 1, 3, heads, size).transpose(2, 0, 3, 1, 4)  # each (B, H, 1, D)
    keys, values = cache.append(k, v)  # (B, H, t + 1, D)
    scores = q @ keys.transpose(0, 1, 3, 2) / math.sqrt(size)  # (B, H, 1, t + 1)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    out = (weights @ values).transpose(0, 2, 1, 3).reshape(batch, 1, heads * size)  # (B, 1, E)
    return attn.out_proj(tt.Tensor(out))
    ### END SOLUTION


# %% tags=["check"]
check_cached_attention(attend_one_token)

# %% [markdown]
# ## Use it: generation with your cache
#
# A GPT generation loop with one cache per layer: every position (the prompt included) goes
# through the model once, as a single token, and each block calls the attention step on its
# own cache. The rest of the block is unchanged: layer norms and the MLP work on each
# position independently, so they only ever need the new one.

# %%
# Yours, where saved (tinytorch's where a check did not pass). tinytorch's GPT.generate now
# keeps its keys and values in your KVCache and steps each new token with your attend_one_token.
tinytorch.mine.use("KVCache", "attend_one_token")
Cache, attend = tinytorch.mine.load("KVCache"), tinytorch.mine.load("attend_one_token")


def greedy_generate(model, ids, new_tokens, attend=attend, cache_class=Cache):
    """Append `new_tokens` greedily chosen tokens to ids (B, T), one position per step."""
    config = model.config
    ids = np.array(ids.data)
    batch, prompt = ids.shape
    caches = [cache_class(batch, config.n_head, config.block_size, config.n_embd // config.n_head)
              for _ in model.blocks]
    with tt.no_grad():
        for t in range(prompt + new_tokens - 1):
            x = model.wpe(model.wte(tt.tensor(ids[:, t:t + 1])), offset=t)  # (B, 1, C): token + position t
            for block, cache in zip(model.blocks, caches):
                x = x + attend(block.attn, block.ln1(x), cache)
                x = x + block.mlp(block.ln2(x))
            if t >= prompt - 1:  # the prompt is read: each step now adds a token
                logits = model.lm_head(model.ln_f(x[:, -1])).data  # (B, vocab)
                ids = np.concatenate([ids, logits.argmax(axis=-1)[:, None]], axis=1)
    return tt.tensor(ids)


prompt = tt.randint(0, config.vocab_size, (2, 8), generator=tt.Generator(2))
start = time.perf_counter()
cached = greedy_generate(gpt, prompt, 120)
cached_s = time.perf_counter() - start
start = time.perf_counter()
with tt.no_grad():
    plain = gpt.generate(prompt, 120, temperature=0, use_cache=False)
plain_s = time.perf_counter() - start
same = np.array_equal(cached.data, plain.data)
print(f"120 new tokens for 2 prompts: {'identical tokens' if same else 'DIFFERENT tokens'}")
print(f"without cache {plain_s:6.2f} s;  with your cache {cached_s:6.2f} s  ({plain_s / cached_s:.1f}x faster)")
print("first sequence:", cached.data[0, :24].tolist(), "...")

# %% [markdown]
# The model is untrained (random weights), so its tokens are meaningless; neither the
# speed nor the equality depends on the weights. Sampled generation (`temperature > 0`)
# agrees too, as long as both runs draw the same random numbers: the cache changes how the
# logits are computed, not their values.
#
# ## Systems analysis
#
# ### Time per step
#
# Without the cache, step `t` runs the model on `t` positions; with it, on one. Timing each
# step on its own shows how the two grow with the context length.

# %%
import matplotlib.pyplot as plt

lengths = [16, 32, 64, 96, 128, 192, 255]
caches = [ReferenceKVCache(1, config.n_head, config.block_size, config.n_embd // config.n_head) for _ in gpt.blocks]
context = tt.randint(0, config.vocab_size, (1, 256), generator=tt.Generator(3))


def cached_step(t):
    """The step at position t, with positions 0..t-1 already in the caches."""
    for cache in caches:
        cache.length = t
    x = gpt.wpe(gpt.wte(context[:, t:t + 1]), offset=t)
    for block, cache in zip(gpt.blocks, caches):
        x = x + reference_attend_one_token(block.attn, block.ln1(x), cache)
        x = x + block.mlp(block.ln2(x))
    return gpt.lm_head(gpt.ln_f(x[:, -1]))


plain_ms, cached_ms = [], []
with tt.no_grad():
    gpt(context[:, :64])  # warm-up
    for t in lengths:
        plain_ms.append(best_time(lambda: gpt(context[:, :t + 1])) * 1e3)
        cached_ms.append(best_time(cached_step, t) * 1e3)
        print(f"step at position {t:3d}: without cache {plain_ms[-1]:7.2f} ms, with cache {cached_ms[-1]:5.2f} ms "
              f"({plain_ms[-1] / cached_ms[-1]:5.1f}x)")

plt.figure(figsize=(6, 3.5))
plt.plot(lengths, plain_ms, "o-", label="without cache: whole context")
plt.plot(lengths, cached_ms, "o-", label="with cache: one new position")
plt.xlabel("position of the new token (context length)")
plt.ylabel("ms per generated token")
plt.title("Cost of one generation step")
plt.legend()
plt.show()

# %% [markdown]
# Without the cache the cost of a step grows with the context (linearly for the
# projections and the MLP, quadratically for the attention scores, which only dominate at
# much longer contexts); summed over a whole sequence of `T` tokens that is `~T^2` work. With
# the cache each step costs about the same, plus an attention term that grows slowly with
# `t`; the sum is `~T`. At short contexts the gain is small: there Python's and NumPy's
# fixed cost per operation, not arithmetic, is most of the time, and the cached step pays it
# just the same. (A single step far above its neighbours is the machine doing something
# else at that moment: each point is the fastest of five runs, but that cannot hide
# everything.)
#
# ### The prompt: one pass or one token at a time?
#
# `greedy_generate` reads the prompt one token at a time. tinytorch's `generate` puts the
# whole prompt through the model in one pass (**prefill**, with a causal mask), filling the
# caches, then continues token by token (**decode**). Same arithmetic; the difference is
# how it is batched.

# %%
long_prompt = context[:, :200]
one_at_a_time = best_time(greedy_generate, gpt, long_prompt, 1, repeats=2)
with tt.no_grad():
    one_pass = best_time(lambda: gpt.generate(long_prompt, 1, temperature=0, use_cache=True), repeats=2)
print(f"reading a 200-token prompt: one token at a time {one_at_a_time * 1e3:7.1f} ms, "
      f"in one pass {one_pass * 1e3:6.1f} ms ({one_at_a_time / one_pass:.0f}x)")

# %% [markdown]
# Two hundred small matrix-vector products cost far more than one matrix-matrix product
# doing the same arithmetic: each call has a fixed overhead, and a large product uses the
# hardware (vector units, caches, BLAS) far better. That is why servers prefill prompts in
# one pass and, when many users are waiting, batch their decode steps together.
#
# ### Memory: what the cache costs
#
# The speed is bought with memory: every layer keeps a key and a value vector per head for
# every position of every sequence in the batch. Write the formula.

# %%
def kv_cache_bytes(n_layer, batch_size, n_head, seq_len, head_dim, dtype=np.float32):
    """Bytes (an int) of the keys and values of all layers for seq_len positions."""
    ### BEGIN SOLUTION
    # HINT: count every number stored (keys and values, in every layer, sequence, head, position), times the bytes per number
    return int(2 * n_layer * batch_size * n_head * seq_len * head_dim * np.dtype(dtype).itemsize)
    ### END SOLUTION


# %% tags=["check"]
check_kv_cache_bytes(kv_cache_bytes)

# %% [markdown]
# The formula against real allocations: the caches `generate` allocates for this GPT, and
# the peak memory NumPy actually requested (`tracemalloc`) while generating 60 tokens with
# and without them.

# %%
tinytorch.mine.use("KVCache", "attend_one_token", "kv_cache_bytes")
cache_bytes = tinytorch.mine.load("kv_cache_bytes")
head_dim = config.n_embd // config.n_head
for batch in (1, 8):
    allocated = sum(c.nbytes for c in gpt.make_kv_caches(batch))
    predicted = cache_bytes(config.n_layer, batch, config.n_head, config.block_size, head_dim)
    print(f"batch {batch}: caches allocated {allocated:>9,} bytes, formula {predicted:>9,} bytes")


def peak_bytes(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


parameters = sum(p.data.nbytes for p in gpt.parameters())
with tt.no_grad():
    for use_cache in (False, True):
        peak = peak_bytes(lambda: gpt.generate(prompt[:1], 60, temperature=0, use_cache=use_cache))
        print(f"generate 60 tokens, use_cache={use_cache!s:5}: peak {peak:>9,} bytes above the model's "
              f"{parameters:,} bytes of parameters")

# %% [markdown]
# Both runs need temporary arrays (activations, the attention scores); the cached run also
# holds the caches for the whole sequence. For this small model that is little. For real
# models it is not: the plot shows the cache of GPT-2 small (12 layers, 12 heads of 64) and
# of a 7-billion-parameter model of the Llama-2 shape (32 layers, 32 heads of 128, float16),
# against the memory of their parameters.

# %%
import matplotlib.pyplot as plt

positions = np.arange(0, 4097, 128)
models = {
    "this GPT, batch 1 (float32)": ((config.n_layer, config.n_head, head_dim, np.float32), 1, parameters),
    "GPT-2 small, batch 1 (float32)": ((12, 12, 64, np.float32), 1, 124e6 * 4),
    "GPT-2 small, batch 16 (float32)": ((12, 12, 64, np.float32), 16, 124e6 * 4),
    "7B Llama-2 shape, batch 1 (float16)": ((32, 32, 128, np.float16), 1, 6.7e9 * 2),
}
plt.figure(figsize=(7, 4))
for label, ((layers, heads, size, dtype), batch, params) in models.items():
    curve = [cache_bytes(layers, batch, heads, int(t), size, dtype) for t in positions]
    line, = plt.plot(positions, np.array(curve) / 2**20, label=label)
    plt.axhline(params / 2**20, color=line.get_color(), ls=":", lw=1)
    per_token = cache_bytes(layers, batch, heads, 1, size, dtype)
    crossing = params / per_token
    print(f"{label:38s} {per_token / 1024:8.1f} KiB per position; cache = parameters at {crossing:12,.0f} positions")
plt.xscale("linear")
plt.yscale("log")
plt.xlabel("sequence length (positions)")
plt.ylabel("MiB")
plt.title("KV cache (solid) vs parameters (dotted)")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# The cache grows linearly with sequence length, layers, heads and batch; the parameters do
# not grow at all. Serving many users at long contexts, the caches outgrow the model itself,
# which is why production systems store them in float16 or int8, share keys and values
# between heads (multi-query and grouped-query attention divide the cache by the number of
# heads sharing them) and manage cache memory in pages.
#
# ## Reflection
#
# 1. Generation with the cache gave exactly the same tokens as without. Why is that
#    guaranteed by causal attention, and what would break if the model attended to future
#    positions (as a BERT-style encoder does)?
# 2. Using your time-per-step numbers, estimate the total time to generate 255 tokens with and
#    without the cache. Which grows as `T^2`, and at what length does the cache save 10x?
# 3. The 7B model's cache equals its parameters' memory at some sequence length for batch 1.
#    At what length does that happen for batch 32, and what does that mean for a server
#    answering 32 users at once?
# 4. Grouped-query attention lets groups of query heads share one key and value head. How
#    does `kv_cache_bytes` change with 8 key/value heads instead of 32, and what does the
#    attention step have to do differently?
# 5. `generate` rebuilds the cache from scratch when the context exceeds `block_size` and is
#    cropped. Why can't it just drop the oldest position from the cache and continue?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. With a causal mask, position `t`'s keys and values depend only on tokens up to `t`,
#    which never change when tokens are appended: the cached values are exactly what
#    recomputation gives. In a bidirectional encoder every position attends to later ones,
#    so each new token changes all earlier keys and values (from the second layer on).
# 2. Without the cache, step `t` recomputes the whole prefix, so the total grows as `T^2 /
#    2` steps' worth; with it each step costs about the same plus an attention over `t`
#    keys, so the total grows about linearly. Sum your measured times per step over 255
#    steps; the ratio grows about like `T / 2`, reaching 10x at a few tens of tokens, plus
#    the cached step's fixed cost.
# 3. The cache grows linearly with batch times length, so for batch 32 it equals the
#    parameters' memory at 1/32 of the batch-1 length. A server answering 32 users at once
#    is limited by cache memory after a few hundred to a few thousand tokens each, which is
#    why servers use grouped-query attention, paged or quantized caches.
# 4. It shrinks 4x: the cache stores 8 key/value heads instead of 32. The attention step has
#    to let each group of 4 query heads read its shared key/value head: reshape the queries
#    to `(B, 8, 4, T, D)` and broadcast the keys and values over the group axis.
# 5. Every cached key and value was computed with its absolute position (the position
#    embedding enters at the input and flows through every layer), and in the upper layers
#    it also depends on the tokens before it, including the one being dropped. After
#    cropping, positions shift by one and the context changes, so the cached values are
#    stale and must be recomputed.
