# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 13: Transformers
#
# A transformer is a stack of identical blocks, each one attention layer and one small MLP,
# wrapped in layer normalization and residual connections. GPT is that stack between a token
# embedding and a layer that scores the next token. You write `LayerNorm`, the pre-norm
# `TransformerBlock` of GPT-2, and the sampler that turns scores into text with temperature
# and top-k; then you assemble a small GPT from your parts, train it to reverse sequences
# and to write character-level English, and measure how parameters and memory grow with
# depth and width.
#
# **Learning objectives.** By the end of this module you can:
#
# - write `LayerNorm` and explain why transformers use it rather than BatchNorm
# - write the pre-norm transformer block with its residual connections
# - write a sampler with temperature and top-k, and explain why greedy decoding loops
# - assemble and train a small GPT from your parts, and measure how its size and memory
#   scale

# %%
import math
import time
import tracemalloc

import numpy as np

import tinytorch as tt
from tinytorch import Tensor, nn
import tinytorch.mine
from tinytorch.checks import check_layer_norm, check_sample_next_token, check_transformer_block
from tinytorch.models import GPT, GPTConfig
from tinytorch.nn import GELU, Linear, Module, Parameter, Sequential
from tinytorch.nn import functional as F
from tinytorch.platform import describe, native_handoff
from tinytorch.random import rng_of
# Components of earlier modules: yours where saved, else tinytorch's (one line each says which).
# Linear and Sequential stay tinytorch's: TransformerBlock is built on them, and a class built on
# your saved ones could not itself be saved for later notebooks.
from tinytorch.mine import Embedding, AdamW, CharTokenizer
# tinytorch runs on your components from here on (tinytorch's where you have none), and your
# MultiHeadAttention of module 12 is the attention your block below builds.
tinytorch.mine.use()
MultiHeadAttention = tinytorch.mine.load("MultiHeadAttention")

print(describe())

# %% [markdown]
# ## Layer normalization
#
# Each block adds its output to a running sum, the **residual stream**. Without control,
# the scale of that stream drifts from token to token and from layer to layer, and the
# softmax and GELU see inputs far from the range they work well in. **LayerNorm** (Ba et al.,
# 2016) rescales every token's vector on its own, over its `C` features:
#
# ```
#   x (..., C)   mean = x.mean(-1)   var = ((x - mean)^2).mean(-1)     (biased: divide by C)
#   y = (x - mean) / sqrt(var + eps) * weight + bias                  weight = 1, bias = 0 at start
# ```
#
# Unlike BatchNorm (the normalization of convolutional networks), it uses no statistics
# across the batch: it behaves the same in training and evaluation, for a batch of 1, and
# for any sequence length, which is what a model that generates one token at a time needs.
# `weight` and `bias` (one per feature) let the model undo the normalization where that
# helps.
#
# A numerical trap: `var = mean(x^2) - mean(x)^2` is the same formula on paper, but in
# float32 it subtracts two large, nearly equal numbers when `|mean| >> std`, and the
# difference is noise. Subtract the mean first.

# %%
x = np.float32(3000) + np.random.default_rng(0).standard_normal(64).astype(np.float32)
print(f"true variance (float64)   {x.astype(np.float64).var():.4f}")
print(f"mean(x^2) - mean(x)^2     {float((x * x).mean() - x.mean() ** 2):.4f}")
print(f"mean((x - mean)^2)        {float(((x - x.mean()) ** 2).mean()):.4f}")

# %% [markdown]
# **Exercise.** Write `LayerNorm(normalized_shape, eps=1e-5)` for an int `normalized_shape`
# (the size `C` of the last dimension; PyTorch also accepts a tuple of trailing dimensions):
# `weight` (ones) and `bias` (zeros) as float32 `Parameter`s of shape `(C,)`, and a forward
# built from Tensor operations (`x.mean(dim=-1, keepdim=True)`, arithmetic, `.sqrt()`), so
# autograd differentiates it.

# %%
class LayerNorm(Module):
    """Normalizes the last dimension of x to mean 0 and variance 1, then scales and shifts."""

    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        ### BEGIN SOLUTION
        # HINT: store normalized_shape and eps; weight = ones, bias = zeros: float32 Parameters of shape (normalized_shape,)
        self.normalized_shape, self.eps = normalized_shape, eps
        self.weight = Parameter(np.ones(normalized_shape, dtype=np.float32))
        self.bias = Parameter(np.zeros(normalized_shape, dtype=np.float32))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        # HINT: normalize each vector over its last dim (mean 0, variance 1, eps inside the square root), then scale and shift
        mean = x.mean(dim=-1, keepdim=True)
        centered = x - mean
        var = (centered * centered).mean(dim=-1, keepdim=True)
        return centered / (var + self.eps).sqrt() * self.weight + self.bias
        ### END SOLUTION

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"

# %% tags=["check"]
check_layer_norm(LayerNorm)

# %% [markdown]
# ## The transformer block
#
# A block lets the tokens exchange information (attention), then lets each token think on
# its own (an MLP applied to every position separately), and adds each result back to the
# residual stream. GPT-2 normalizes at the *entrance* of each branch (**pre-norm**):
#
# ```
#   x ──┬──────────────────────────────────(+)──┬────────────────────────────(+)──> out
#       └─ ln1 ─ causal multi-head attn ────┘   └─ ln2 ─ Linear ─ GELU ─ Linear ─┘
#                                                         C -> 4C      4C -> C
# ```
#
# The original transformer normalized *after* each addition (post-norm). With pre-norm, the
# residual path is a plain sum from the input to the output, so gradients reach the first
# layers undiminished and deep stacks train without special learning-rate warm-up tricks.
# The MLP widens to `mlp_ratio * C` features (4 in GPT-2) with a GELU in between, in the
# tanh approximation GPT-2 uses.
#
# **Exercise.** Write `TransformerBlock(d_model, n_heads, mlp_ratio=4)` with exactly these
# attributes: `ln1` and `ln2` (`Norm(d_model)`, your `LayerNorm` once its check passes),
# `attn = MultiHeadAttention(d_model, n_heads)` (yours from module 12 where it is saved, else
# tinytorch's; both are called as `attn(q, k, v, is_causal=True, need_weights=False)` and
# return `(output, None)`), and
# `mlp = Sequential(Linear(d_model, hidden), GELU(approximate="tanh"), Linear(hidden, d_model))`
# with `hidden = int(mlp_ratio * d_model)`. `forward(x)` takes `(B, T, d_model)` and returns
# the same shape; the attention is causal.

# %%
tinytorch.mine.use()  # again: your LayerNorm, saved when its check passed, is in use now
Norm = tinytorch.mine.load("LayerNorm")


class TransformerBlock(Module):
    """Pre-norm decoder block: x + attn(ln1(x)) (causal), then x + mlp(ln2(x))."""

    def __init__(self, d_model, n_heads, mlp_ratio=4):
        super().__init__()
        ### BEGIN SOLUTION
        # HINT: ln1, attn, ln2, mlp as described above (the MLP widens to int(mlp_ratio * d_model))
        hidden = int(mlp_ratio * d_model)
        self.ln1 = Norm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads)
        self.ln2 = Norm(d_model)
        self.mlp = Sequential(Linear(d_model, hidden), GELU(approximate="tanh"), Linear(hidden, d_model))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        # HINT: pre-norm: each sub-layer (causal self-attention, then the MLP) reads a normalized x and adds its result to x
        h = self.ln1(x)
        attended, _ = self.attn(h, h, h, is_causal=True, need_weights=False)
        x = x + attended  # (B, T, C)
        return x + self.mlp(self.ln2(x))  # (B, T, C)
        ### END SOLUTION

# %% tags=["check"]
check_transformer_block(TransformerBlock)

# %% [markdown]
# ## A GPT from your parts
#
# GPT (Radford et al., 2018, 2019) is: token embedding plus learned position embedding
# (module 11), `n_layers` of your blocks, a final LayerNorm, and a `Linear` layer that gives
# one score (**logit**) per vocabulary entry for the next token at every position. Trained
# with cross-entropy on "the next token", every position of every sequence is a training
# example, and the causal mask keeps each prediction honest.
#
# The initialisation follows GPT-2: small weights (`N(0, 0.02)`), and the two layers that
# write into the residual stream in every block scaled down by `sqrt(2 * n_layers)`, so the
# stream's variance does not grow with depth.

# %%
tinytorch.mine.use()  # and your TransformerBlock (tinytorch's models.GPT builds it too)
Block = tinytorch.mine.load("TransformerBlock")


class MiniGPT(Module):
    def __init__(self, vocab_size, block_size, d_model=32, n_layers=2, n_heads=4):
        super().__init__()
        self.block_size = block_size
        self.tokens = Embedding(vocab_size, d_model)
        self.positions = nn.LearnedPositionalEmbedding(block_size, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_heads) for _ in range(n_layers))
        self.ln_f = Norm(d_model)
        self.head = Linear(d_model, vocab_size, bias=False)
        for module in self.modules():  # GPT-2's initialisation
            if isinstance(module, (Linear, Embedding, nn.LearnedPositionalEmbedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
            if isinstance(module, MultiHeadAttention):
                nn.init.normal_(module.in_proj_weight, std=0.02)
        for block in self.blocks:  # the layers that write into the residual stream
            nn.init.normal_(block.attn.out_proj.weight, std=0.02 / math.sqrt(2 * n_layers))
            nn.init.normal_(block.mlp[-1 if isinstance(block.mlp[-1], Linear) else -2].weight,
                            std=0.02 / math.sqrt(2 * n_layers))

    def forward(self, ids):
        """Token ids (B, T) -> next-token logits (B, T, vocab_size)."""
        x = self.positions(self.tokens(ids))  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def train(model, batches, lr, log_every):
    """AdamW on (inputs, targets) id arrays from `batches`; returns the losses."""
    optimizer = AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses, start = [], time.perf_counter()
    for step, (inputs, targets) in enumerate(batches):
        logits = model(Tensor(inputs))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Tensor(targets.reshape(-1)))  # skips -100
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % log_every == 0:
            print(f"step {step:4d}  loss {losses[-1]:.4f}")
    print(f"step {step:4d}  loss {losses[-1]:.4f}   ({time.perf_counter() - start:.1f} s)")
    return losses

# %% [markdown]
# ## Use it: reversing sequences
#
# The task of module 12, harder: 8 digits instead of 6, the answer read off by a 2-layer GPT
# of width 32 built from your blocks.

# %%
task = tt.datasets.reversal_task(length=8)
x_train, y_train = tt.datasets.make_reversal(10_000, length=8, seed=0)
x_test, y_test = tt.datasets.make_reversal(1_000, length=8, seed=1, split="test")
tt.manual_seed(0)
reverser = MiniGPT(task.vocab_size, task.seq_len, d_model=32, n_layers=2, n_heads=4)
print(f"{sum(p.numel() for p in reverser.parameters()):,} parameters")
rows = np.random.default_rng(0).integers(0, len(x_train), size=(100, 32))
train(reverser, ((x_train[r], y_train[r]) for r in rows), lr=5e-3, log_every=25)
with tt.no_grad():
    predicted = reverser(Tensor(x_test)).data.argmax(axis=-1)
accuracy = tt.datasets.exact_match_accuracy(predicted, y_test)
print(f"test sequences reversed exactly: {accuracy:.1%}")
for i in range(3):
    prompt = task.decode(x_test[i][:task.prompt_len])
    print(f"  {prompt} -> {task.decode(predicted[i][task.prompt_len - 1:])}")

# %% [markdown]
# ## Sampling: temperature and top-k
#
# To generate, the model scores the next token, one token is chosen, appended, and the
# model runs again. How it is chosen decides the character of the text:
#
# - **greedy** (`temperature = 0`): always the highest score. Deterministic, and prone to
#   loops ("the the the").
# - **temperature** `t`: sample from `softmax(logits / t)`. `t < 1` sharpens the
#   distribution toward the likely tokens, `t > 1` flattens it toward randomness.
# - **top-k**: keep only the `k` highest scores (the rest get `-inf`) before the softmax, so a
#   rare, nonsensical token can never be drawn.
#
# ```
#   logits  [2.0, 1.0, 0.5, 0.0, -1.0]     t = 1:   probabilities [0.56, 0.21, 0.13, 0.08, 0.03]
#                                           t = 0.5: probabilities [0.83, 0.11, 0.04, 0.02, 0.00]
#                                           top_k=2: probabilities [0.73, 0.27, 0,    0,    0   ]
# ```
#
# To draw one token per row without a Python loop: the cumulative sum of a row of
# probabilities cuts `[0, 1)` into one interval per token; a uniform random number `u`
# falls into token `i`'s interval exactly with probability `p_i`, and the index is the number
# of cumulative sums below `u`.
#
# **Exercise.** Write `sample_next_token(logits, temperature=1.0, top_k=None,
# generator=None)`: `logits` is a `(B, V)` NumPy array; return a `(B,)` int64 array of
# token ids. Temperature 0 means greedy. Draw random numbers only from
# `rng_of(generator)` (the NumPy generator inside a `tinytorch.Generator`, or tinytorch's
# default one for `None`), so a seeded generator repeats its text. Large logits must not
# overflow.

# %%
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    """One token id per row of logits (B, V): greedy, or drawn from softmax(logits / temperature) over the top_k."""
    ### BEGIN SOLUTION
    # HINT: greedy: the largest logit; otherwise temper the logits, keep the top k, turn them into probabilities and draw one token per row with the generator
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return logits.argmax(axis=-1).astype(np.int64)
    logits = logits / temperature
    vocab = logits.shape[-1]
    if top_k is not None and top_k < vocab:
        kth = np.sort(logits, axis=-1)[:, vocab - top_k, None]  # (B, 1): the k-th largest
        logits = np.where(logits < kth, -np.inf, logits)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    u = rng_of(generator).random((len(probs), 1))  # one uniform draw per row
    return (probs.cumsum(axis=-1) < u).sum(axis=-1).clip(max=vocab - 1).astype(np.int64)
    ### END SOLUTION

# %% tags=["check"]
check_sample_next_token(sample_next_token)

# %% [markdown]
# ## Use it: a character-level GPT on the corpus
#
# The same model reads tinytorch's small English corpus, one character per token, with a
# context of 32 characters. In a few seconds the loss falls to about the level of module
# 11's bigram model, and with 150 steps (natively) below it: spelling-like fragments, few
# real words. **More training gives better text**: raise `steps` below (or train the
# 2017 milestone's larger model) and the loss keeps falling, and words, then phrases,
# appear. Without BLAS, the browser runs fewer steps by default.

# %%
text = tt.datasets.load_corpus()
tokenizer = CharTokenizer(text)
data = np.array(tokenizer.encode(text), dtype=np.int64)
native = native_handoff("the character-level training (80 steps instead of 150)",
                        "modules/13_transformers.ipynb")
context, batch, steps = 32, 32, 150 if native else 80
tt.manual_seed(0)
writer = MiniGPT(tokenizer.vocab_size, context, d_model=64, n_layers=1, n_heads=4)
print(f"{len(data):,} characters, vocabulary {tokenizer.vocab_size}, "
      f"{sum(p.numel() for p in writer.parameters()):,} parameters")
starts = np.random.default_rng(0).integers(0, len(data) - context - 1, size=(steps, batch))
windows = (s[:, None] + np.arange(context) for s in starts)  # (B, T) positions in the text
losses = train(writer, ((data[w], data[w + 1]) for w in windows), lr=5e-3, log_every=50)

# %% [markdown]
# Generation: crop the context to the last `block_size` tokens, take the logits of the last
# position, sample, append. The library's `tinytorch.models.GPT` is the same model, and its
# `generate(ids, max_new_tokens, temperature, top_k)` runs this loop. Recomputing the whole
# context for every new token is wasteful: module 17 keeps the keys and values of earlier
# positions in a KV cache.

# %%
tinytorch.mine.use()  # your sampler: tinytorch's GPT.generate draws with it as well
sample = tinytorch.mine.load("sample_next_token")


def generate(model, prompt, new_tokens, temperature=1.0, top_k=None, seed=0):
    generator = tt.Generator(seed)
    ids = np.array([tokenizer.encode(prompt)], dtype=np.int64)  # (1, T)
    with tt.no_grad():
        for _ in range(new_tokens):
            logits = model(Tensor(ids[:, -model.block_size:])).data[:, -1]  # (1, V): the last position
            ids = np.concatenate([ids, sample(logits, temperature, top_k, generator)[:, None]], axis=1)
    return tokenizer.decode(ids[0])


for label, options in (("greedy", dict(temperature=0)), ("temperature 0.8, top-k 10", dict(temperature=0.8, top_k=10)),
                       ("temperature 1.5", dict(temperature=1.5))):
    print(f"--- {label}\n{generate(writer, 'The ', 120, **options)}\n")

# %% [markdown]
# ## Systems analysis: parameters and memory with depth and width
#
# Per block, the attention holds `4 C^2` weights (query, key, value, output) and the MLP
# `8 C^2` (`C -> 4C -> C`), plus biases and LayerNorms: about `12 C^2`. A GPT of `L` blocks
# has about `12 L C^2` parameters plus the embeddings `(V + T) C`. Parameters grow
# linearly with depth and quadratically with width. Counted on real models:

# %%
V, T = tokenizer.vocab_size, 64
widths, depths = [32, 64, 128, 256], [1, 2, 4, 8]
counts = {}
print(f"{'width':>6s} {'depth':>6s} {'parameters':>12s} {'12 L C^2 + (V + T) C':>22s} {'MiB float32':>12s}")
for width in widths:
    for depth in depths:
        model = GPT(GPTConfig(vocab_size=V, block_size=T, n_layer=depth, n_head=4, n_embd=width))
        counts[width, depth] = model.num_parameters()
        if depth in (1, 8) or width == 64:
            estimate = 12 * depth * width**2 + (V + T) * width
            print(f"{width:6d} {depth:6d} {counts[width, depth]:12,d} {estimate:22,d} "
                  f"{4 * counts[width, depth] / 2**20:12.2f}")

# %% [markdown]
# Training needs more memory than the parameters: the forward pass keeps every
# intermediate result that the backward pass will use (the **activations**), and those
# scale with batch and sequence length, not with the parameters. Python's `tracemalloc`
# counts what the arrays of the graph hold after the forward pass, and the peak during the
# backward pass, for a batch of 4 sequences of 64 tokens (the library's GPT, the same
# architecture as yours):

# %%
import matplotlib.pyplot as plt

def training_memory(width, depth, batch=4, length=64):
    """MiB of weights, of what the graph holds after the forward pass, and the peak during backward."""
    tt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=V, block_size=length, n_layer=depth, n_head=4, n_embd=width))
    ids = Tensor(np.random.default_rng(0).integers(0, V, (batch, length)))
    tracemalloc.start()
    _, loss = model(ids, ids)
    activations, _ = tracemalloc.get_traced_memory()  # allocated now = held by the graph for backward
    tracemalloc.reset_peak()
    loss.backward()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return 4 * model.num_parameters() / 2**20, activations / 2**20, peak / 2**20


print(f"{'width':>6s} {'depth':>6s} {'weights MiB':>12s} {'activations MiB':>16s} {'peak in backward':>17s}")
memory = {}
for width, depth in [(64, 1), (64, 2), (64, 4), (64, 8), (32, 2), (128, 2)]:
    memory[width, depth] = training_memory(width, depth)
    weights, act, peak = memory[width, depth]
    print(f"{width:6d} {depth:6d} {weights:12.2f} {act:16.2f} {peak:15.2f} MiB")
by_depth = [(d, memory[64, d]) for d in (1, 2, 4, 8)]
by_width = [(w, memory[w, 2]) for w in (32, 64, 128)]

fig, (left, middle, right) = plt.subplots(1, 3, figsize=(12, 3.4))
for depth in depths:
    left.loglog(widths, [counts[w, depth] for w in widths], "o-", label=f"{depth} block(s)")
left.set_xticks(widths, [str(w) for w in widths])
left.minorticks_off()
left.set_xlabel("width C")
left.set_ylabel("parameters")
left.set_title("parameters ~ L C^2")
left.legend(fontsize=8)
middle.plot([d for d, _ in by_depth], [m[1] for _, m in by_depth], "o-", label="activations")
middle.plot([d for d, _ in by_depth], [m[0] for _, m in by_depth], "s-", label="weights")
middle.set_xlabel("depth (width 64)")
middle.set_ylabel("MiB")
middle.set_title("both grow linearly with depth")
middle.legend(fontsize=8)
right.loglog([w for w, _ in by_width], [m[1] for _, m in by_width], "o-", label="activations")
right.loglog([w for w, _ in by_width], [m[0] for _, m in by_width], "s-", label="weights")
right.set_xticks([32, 64, 128], ["32", "64", "128"])
right.minorticks_off()
right.set_xlabel("width (2 blocks)")
right.set_ylabel("MiB")
right.set_title("weights ~ C^2, activations ~ a + b C")
right.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# At these small widths the activations of one batch outweigh the weights many times over:
# per block they grow with `B x T x C` (the MLP's `4C` hidden activations dominate) plus
# `B x H x T x T` for the attention weights, which does not depend on the width at all,
# while the weights grow with `C^2`. That is why training large models uses activation
# checkpointing (recompute instead of store) and why the batch size, not the model, often
# decides whether training fits in memory.
#
# ## Reflection
#
# 1. Why does LayerNorm fit transformers better than BatchNorm? Think of generating one
#    token at a time, and of sequences of different lengths in one batch.
# 2. In your block, which path does the gradient take from the output back to `x` without
#    passing through any LayerNorm or weight matrix? Why does that matter for depth?
# 3. With `temperature = 0` the corpus model repeats itself. Why does greedy decoding loop,
#    and how do temperature and top-k each break the loop?
# 4. Using `12 L C^2`, how many parameters does a GPT with `L = 12`, `C = 768` (GPT-2 small)
#    have in its blocks? Compare with the embedding table of module 11 for `V = 50,257`.
# 5. From your memory measurements: what grows when you double the width, and what when you
#    double the depth? Predict the activation memory for width 64, depth 2 with batch 32,
#    then measure it with `training_memory(64, 2, batch=32)`.

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. BatchNorm normalises with statistics over the batch: generating one token has no
#    meaningful batch (so it needs running statistics that differ from training), and
#    padding in a batch of different-length sequences pollutes the statistics. LayerNorm
#    normalises each token's vector alone: the same computation in training and generation,
#    whatever else is in the batch.
# 2. The residual stream: `x` is added unchanged to each sub-layer's output, so the gradient
#    reaches `x` through an identity path. It does not shrink or grow with a product of many
#    Jacobians, which is what lets deep stacks train.
# 3. Greedy decoding is deterministic: once the text reaches a context it has produced
#    before, the same argmax follows and the cycle repeats forever. Temperature above 0
#    samples, so a less likely token eventually breaks the cycle; top-k keeps the sampling
#    among plausible tokens (with `k = 1` it is greedy again).
# 4. `12 * 12 * 768**2` = 84.9 million parameters in the blocks. The embedding table has
#    `50,257 * 768` = 38.6 million: almost half as many again.
# 5. Doubling the width multiplies the parameters by about 4 (terms in `C^2`) and the
#    activations by 2; doubling the depth multiplies both by 2. Activation memory is
#    proportional to batch, sequence length, width and depth: scale a configuration you
#    measured to predict `training_memory(64, 2, batch=32)`, then check.
