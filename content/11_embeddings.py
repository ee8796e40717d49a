# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 11: Embeddings
#
# A language model reads token ids: integers that name a character or a word piece and mean
# nothing as numbers. An **embedding** turns each id into a learned vector, and a
# **positional encoding** tells the model where in the sequence each token sits. You write
# the gradient of a table lookup (a scatter-add), the `Embedding` module and the sinusoidal
# position table of the original transformer; then you train character embeddings on a
# small corpus and measure what embedding tables cost as vocabularies grow.
#
# **Learning objectives.** By the end of this module you can:
#
# - write the gradient of a table lookup as a scatter-add, and say why repeated ids need an
#   unbuffered add
# - write an `Embedding` module with a padding index, recorded in the autograd graph
# - build the sinusoidal position table and explain why a model needs positions at all
# - measure what embedding tables cost as vocabularies grow

# %%
import time

import numpy as np

import tinytorch as tt
from tinytorch import Tensor, nn
from tinytorch.checks import check_embedding, check_scatter_add_rows, check_sinusoidal_positions, yours_or_reference
import tinytorch.mine
from tinytorch.nn import Module, Parameter
from tinytorch.nn.embedding import scatter_add_rows as library_scatter_add_rows  # tinytorch's own
from tinytorch.platform import describe
from tinytorch.profiling.timing import best_time  # fastest of several calls, in seconds
# Components of earlier modules: yours where saved, else tinytorch's (one line each says which).
from tinytorch.mine import Linear, Adam, CharTokenizer

print(describe())

# %% [markdown]
# ## A lookup table is a matrix product
#
# Feeding an id to a `Linear` layer as a number would claim that token 7 is "between" tokens
# 6 and 8. The honest encoding is **one-hot**: a vector of length `V` (the vocabulary size)
# with a single 1. Multiplying it by a weight matrix `W (V, D)` picks out one row:
#
# ```
#   id 2  ->  one-hot [0, 0, 1, 0]  @  W (4, D)  =  W[2]        (row 2 of W)
#
#   ids (B, T)  ->  one-hot (B, T, V)  @  W (V, D)  =  W[ids]   (B, T, D)
# ```
#
# So an embedding is a `Linear` layer without bias applied to one-hot vectors, computed the
# cheap way: index the rows instead of multiplying by a matrix of zeros. The rows are
# trained like any other weights; tokens used in similar contexts end up with similar rows.

# %%
rng = np.random.default_rng(0)
W = rng.standard_normal((4, 3)).astype(np.float32)
ids = np.array([2, 0, 2])
one_hot = np.eye(4, dtype=np.float32)[ids]  # (3, 4)
print("one_hot @ W:\n", one_hot @ W)
print("W[ids]:\n", W[ids])
print("same:", np.allclose(one_hot @ W, W[ids]))

# %% [markdown]
# ## The gradient of a lookup: scatter-add
#
# Forward copies rows out of the table (a **gather**). Backward must send each output row's
# gradient back to the row it came from (a **scatter**). When an id appears several times,
# as in any real text, all of its gradients **add up**, exactly as the one-hot matmul's
# gradient `one_hot.T @ grad` would:
#
# ```
#   ids        [1, 3, 1]
#   grad       g0, g1, g2           (one row of D values per looked-up token)
#
#   table grad  row 0: 0
#               row 1: g0 + g2      <- id 1 was used twice
#               row 2: 0
#               row 3: g1
# ```
#
# NumPy has a trap here: `out[ids] += grad` does *not* add twice for a repeated id. It reads
# `out[ids]`, adds, and writes back, so the last write wins. `np.add.at(out, ids, grad)`
# adds unbuffered, once per occurrence.
#
# **Exercise.** Write `scatter_add_rows(grad, ids, num_rows)`: `ids` is an integer array of
# any shape `(*)`, `grad` has shape `(*, D)`; return the `(num_rows, D)` gradient of the
# table, in `grad`'s dtype.

# %%
def scatter_add_rows(grad, ids, num_rows):
    """(num_rows, D) array: row r is the sum of the rows of grad (*, D) whose id in ids (*) is r."""
    ### BEGIN SOLUTION
    # HINT: a (num_rows, D) gradient whose rows are the sums of the gradient rows of the positions that looked them up (ids can repeat)
    out = np.zeros((num_rows, grad.shape[-1]), dtype=grad.dtype)
    np.add.at(out, ids.reshape(-1), grad.reshape(-1, grad.shape[-1]))
    return out
    ### END SOLUTION

# %% tags=["check"]
check_scatter_add_rows(scatter_add_rows)

# %% [markdown]
# The trap, live:

# %%
ids = np.array([1, 3, 1])
grad = np.ones((3, 2), dtype=np.float32)
buffered = np.zeros((4, 2), dtype=np.float32)
buffered[ids] += grad
print("out[ids] += grad  -> row 1 =", buffered[1], "(one of the two gradients is lost)")
print("scatter-add       -> row 1 =", library_scatter_add_rows(grad, ids, 4)[1])

# %% [markdown]
# ## The Embedding module
#
# `Embedding(num_embeddings, embedding_dim, padding_idx=None)` holds the table as a
# `Parameter` `weight (num_embeddings, embedding_dim)`, drawn from `N(0, 1)` as PyTorch does.
# Its forward is the gather; to give it your backward, record the operation yourself with
# `Tensor._result(data, parents, backward, name)` (module 05): `backward(g)` receives the
# gradient of the output, of shape `(*ids.shape, D)`, and returns one gradient per parent.
#
# `padding_idx` names an id used to pad sequences of different lengths to one length (more
# in module 12): its row starts at zero and never receives gradient, so padding adds nothing
# and never changes.
#
# **Exercise.** Write `Embedding`. `forward(ids)` takes a Tensor (or array) of integer ids of
# any shape and returns a Tensor of shape `(*ids.shape, embedding_dim)`. Use `scatter`
# (your `scatter_add_rows` if its check passed) in the backward.

# %%
scatter = yours_or_reference("scatter_add_rows", scatter_add_rows, library_scatter_add_rows)


class Embedding(Module):
    """A table of num_embeddings learned vectors of size embedding_dim, indexed by id."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None):
        super().__init__()
        ### BEGIN SOLUTION
        # HINT: store the arguments; the table is a standard-normal Parameter (num_embeddings, embedding_dim) whose padding_idx row is zero
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(tt.randn(num_embeddings, embedding_dim))
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0
        ### END SOLUTION

    def forward(self, ids):
        ids = ids.data if isinstance(ids, Tensor) else np.asarray(ids)
        ### BEGIN SOLUTION
        # HINT: look up one row per id; record the op with a backward that sends the gradient to the table's rows (your scatter), padding row zeroed
        out = self.weight.data[ids]  # (*ids.shape, D)

        def backward(g):
            table_grad = scatter(g, ids, self.num_embeddings)
            if self.padding_idx is not None:
                table_grad[self.padding_idx] = 0
            return (table_grad,)

        return Tensor._result(out, (self.weight,), backward, "EmbeddingBackward")
        ### END SOLUTION

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"

# %% tags=["check"]
check_embedding(Embedding)

# %% [markdown]
# ## Where is each token? Positions
#
# An embedding knows *which* token, not *where*. The attention layers of module 12 mix
# tokens with weights computed from their vectors alone, so without extra information a
# transformer treats its input as a bag of tokens. The same holds for the simplest sequence
# model, the average of the token vectors:

# %%
# tinytorch runs on yours from here on (where saved; tinytorch's where a check did not pass):
# nn.Embedding's backward adds up rows with your scatter_add_rows, and the models tinytorch
# builds (tinytorch.models.GPT) take their token table from your Embedding class.
tinytorch.mine.use("scatter_add_rows", "Embedding")
Table = tinytorch.mine.load("Embedding")
tt.manual_seed(0)
words = {"dog": 0, "bites": 1, "man": 2}
table = Table(3, 8)
for sentence in ("dog bites man", "man bites dog"):
    vectors = table(Tensor(np.array([words[w] for w in sentence.split()])))  # (3, 8)
    print(f"{sentence!r:16s} mean of embeddings: {np.round(vectors.data.mean(axis=0)[:4], 3)} ...")

# %% [markdown]
# Two fixes are in use. GPT-2 learns a second table, one vector per **position**, and adds
# it to the token vectors (`tinytorch.nn.LearnedPositionalEmbedding`). The original
# transformer (Vaswani et al., 2017) adds a fixed table of sines and cosines instead, which
# needs no training and is defined for any position:
#
# ```
#   PE[p, 2i]     = sin(p / 10000^(2i / d_model))        i = 0, 1, ..., d_model/2 - 1
#   PE[p, 2i + 1] = cos(p / 10000^(2i / d_model))
#
#   feature pairs (0, 1): wavelength 2*pi (changes fast)  ...  last pair: wavelength ~10000*2*pi
# ```
#
# Each pair of features is a clock hand turning at its own speed, so every position gets a
# distinct pattern, and moving `k` positions rotates each pair by a fixed angle: `PE[p + k]`
# is a linear function of `PE[p]`, which makes relative offsets easy to read for a linear
# layer.
#
# **Exercise.** Write `sinusoidal_positions(max_len, d_model)`: the `(max_len, d_model)`
# float32 table above (sin on the even features, cos on the odd ones, interleaved). For odd
# `d_model` the last feature is a sin. Vectorize: positions as a column, frequencies as a
# row, one broadcast product.

# %%
def sinusoidal_positions(max_len, d_model):
    """(max_len, d_model) float32: sin on even features, cos on odd, as in Vaswani et al."""
    ### BEGIN SOLUTION
    # HINT: one angle per position and frequency pair (the formula above): sines in the even columns, cosines in the odd ones (mind an odd d_model)
    position = np.arange(max_len, dtype=np.float64)[:, None]  # (L, 1)
    angle = position / 10000.0 ** (np.arange(0, d_model, 2) / d_model)  # (L, ceil(d/2))
    table = np.zeros((max_len, d_model))
    table[:, 0::2] = np.sin(angle)
    table[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return table.astype(np.float32)
    ### END SOLUTION

# %% tags=["check"]
check_sinusoidal_positions(sinusoidal_positions)

# %% [markdown]
# The table, and the dot product between the encodings of every pair of positions: it
# depends (almost) only on the distance `|p - q|`, and decays with it, so nearby positions
# look alike.

# %%
import matplotlib.pyplot as plt

# tinytorch's SinusoidalPositionalEncoding fills its table with your function once it is in use:
tinytorch.mine.use("scatter_add_rows", "Embedding", "sinusoidal_positions")
pe = nn.SinusoidalPositionalEncoding(64, 64).pe.data
similarity = pe @ pe.T
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
left.imshow(pe, cmap="RdBu", aspect="auto")
left.set_xlabel("feature")
left.set_ylabel("position")
left.set_title("sinusoidal table (64 x 64)")
right.imshow(similarity, cmap="viridis")
right.set_xlabel("position q")
right.set_ylabel("position p")
right.set_title("PE[p] . PE[q]")
plt.tight_layout()
plt.show()
for k in (0, 1, 4, 16, 23):
    print(f"distance {k:2d}:  PE[10].PE[{10 + k}] = {similarity[10, 10 + k]:6.2f}"
          f"   PE[40].PE[{40 + k}] = {similarity[40, 40 + k]:6.2f}")

# %% [markdown]
# Adding positions makes the same word a different vector at a different place. (Averaging
# right after the addition would still lose the order, since `mean(token + position)` is
# `mean(token) + mean(position)`; any layer in between, here a `tanh`, keeps it.)

# %%
add_positions = nn.SinusoidalPositionalEncoding(3, 8)  # positions 0, 1, 2, width 8 like the table
for sentence in ("dog bites man", "man bites dog"):
    x = add_positions(table(Tensor(np.array([words[w] for w in sentence.split()]))))  # (3, 8)
    print(f"{sentence!r:16s} mean of tanh(token + position): {np.round(x.tanh().data.mean(axis=0)[:4], 3)} ...")

# %% [markdown]
# ## Use it: character embeddings that learn
#
# The smallest language model predicts the next character from the current one alone (a
# **bigram** model): embed the current character, then a `Linear` layer gives one score per
# possible next character. Every training batch repeats common characters (spaces, `e`)
# hundreds of times, so the scatter-add is doing real work. The corpus is tinytorch's own
# small English text, split into characters by the tokenizer of module 10.

# %%
text = tt.datasets.load_corpus()
tokenizer = CharTokenizer(text)
data = np.array(tokenizer.encode(text), dtype=np.int64)
V = tokenizer.vocab_size
print(f"{len(text):,} characters, vocabulary of {V}: {tokenizer.decode(range(V))!r}")

tt.manual_seed(0)
embed = Table(V, 16)
head = Linear(16, V)
optimizer = Adam(list(embed.parameters()) + list(head.parameters()), lr=0.02)
batches = np.random.default_rng(0).integers(0, len(data) - 1, size=(200, 1024))  # start positions
start = time.perf_counter()
for step, rows in enumerate(batches):
    logits = head(embed(Tensor(data[rows])))  # (1024, V)
    loss = nn.functional.cross_entropy(logits, Tensor(data[rows + 1]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0 or step == len(batches) - 1:
        print(f"step {step:3d}  loss {loss.item():.3f}")
print(f"trained in {time.perf_counter() - start:.2f} s")

counts = np.zeros(V)
np.add.at(counts, data, 1)  # occurrences of each character (np.bincount fails on int64 in the browser)
frequency = counts / len(data)
unigram = -(frequency[frequency > 0] * np.log(frequency[frequency > 0])).sum()
print(f"for comparison: guessing uniformly costs log(V) = {np.log(V):.2f} nats per character; "
      f"knowing only letter frequencies, {unigram:.2f}; knowing the previous character, {loss.item():.2f}")

# %% [markdown]
# What did the 16 numbers per character learn? Project them onto their two main directions
# (a principal component analysis via the SVD) and list some characters' nearest neighbours
# by cosine similarity. Only characters seen at least 100 times are shown: the rows of rare
# ones received few gradient updates and are still close to their random start.

# %%
import matplotlib.pyplot as plt

common = np.flatnonzero(counts >= 100)  # ids of common characters
vectors = embed.weight.data[common] - embed.weight.data[common].mean(axis=0)
_, _, directions = np.linalg.svd(vectors, full_matrices=False)
xy = vectors @ directions[:2].T  # (len(common), 2)
plt.figure(figsize=(6, 5))
for i, ch in enumerate(tokenizer.decode(common)):
    kind = "tab:red" if ch in "aeiouAEIOU" else "tab:blue" if ch.isalpha() else "tab:green"
    label = {" ": "space", "\n": "\\n"}.get(ch, ch)
    plt.text(xy[i, 0], xy[i, 1], label, color=kind, fontsize=9, ha="center", va="center")
plt.xlim(xy[:, 0].min() - 0.3, xy[:, 0].max() + 0.3)
plt.ylim(xy[:, 1].min() - 0.3, xy[:, 1].max() + 0.3)
plt.title("character embeddings, first two principal components\n(red: vowels, blue: consonants, green: other)")
plt.show()

unit = embed.weight.data[common] / np.linalg.norm(embed.weight.data[common], axis=1, keepdims=True)
names = list(tokenizer.decode(common))
for ch in "aetT.":
    nearest = np.argsort(-(unit @ unit[names.index(ch)]))[1:6]
    print(f"{ch!r}: nearest {[names[i] for i in nearest]}")

# %% [markdown]
# Characters that are followed by similar characters get similar vectors: the model was
# only ever asked to predict the next character, and grouping emerged because it helps.
# Sampling from the model shows what one character of context is worth:

# %%
generator = np.random.default_rng(1)
token, sample = tokenizer.encode("T")[0], ["T"]
with tt.no_grad():
    for _ in range(150):
        logits = head(embed(Tensor(np.array([token])))).data[0]
        probs = np.exp(logits - logits.max())
        token = int(generator.choice(V, p=probs / probs.sum()))
        sample.append(tokenizer.decode([token]))
print("".join(sample))

# %% [markdown]
# Plausible letter pairs, no words. Longer context is what attention (module 12) adds.
#
# ## Systems analysis: what embedding tables cost
#
# A table holds `V x D` parameters. At the scale of real language models it is one of the
# largest single arrays in the model: training keeps, per parameter, the weight, its
# gradient and Adam's two moments, 16 bytes in float32.

# %%
configs = {"this module (chars)": (V, 16), "chars, width 64": (V, 64), "GPT-2 small": (50_257, 768),
           "GPT-2 XL": (50_257, 1600), "vocab 32k, width 4096": (32_000, 4096),
           "vocab 256k, width 2304": (256_000, 2304)}
print(f"{'table':26s} {'vocab':>8s} {'width':>6s} {'parameters':>14s} {'float32':>10s} {'training (16 B/param)':>22s}")
for label, (vocab, width) in configs.items():
    n = vocab * width
    print(f"{label:26s} {vocab:8,d} {width:6,d} {n:14,d} {4 * n / 2**20:7.2f} MiB {16 * n / 2**30:18.3f} GiB")

tables = {vocab: nn.Embedding(vocab, 64) for vocab in (64, 512, 4096, 32_768)}
print("measured: weight.data.nbytes of Embedding(V, 64):",
      ", ".join(f"V={v:,}: {t.weight.data.nbytes / 2**20:.2f} MiB" for v, t in tables.items()))

# %% [markdown]
# **A lookup costs the same for any vocabulary; its gradient does not.** Forward copies
# `N x D` numbers whatever `V` is. But the gradient is a dense `(V, D)` array, almost all
# zeros, and the optimizer then updates all `V x D` entries, though a batch touched at most
# `N` rows. Measured for a batch of 1024 ids, `D = 64`:

# %%
import matplotlib.pyplot as plt

vocabs = [256, 2048, 16_384, 65_536]
batch_ids = Tensor(np.random.default_rng(0).integers(0, 256, 1024))  # common tokens: ids < 256
measured = {"forward (gather)": [], "backward (dense scatter-add)": [], "Adam step (whole table)": []}
for vocab in vocabs:
    tt.manual_seed(0)
    layer = nn.Embedding(vocab, 64)
    adam = Adam(layer.parameters(), lr=1e-3)
    upstream = Tensor(np.ones((1024, 64), dtype=np.float32))

    def backward():
        layer.weight.grad = None
        (layer(batch_ids) * upstream).sum().backward()

    measured["forward (gather)"].append(best_time(lambda: layer(batch_ids)) * 1e3)
    measured["backward (dense scatter-add)"].append(best_time(backward) * 1e3)
    measured["Adam step (whole table)"].append(best_time(adam.step) * 1e3)
print(f"{'V':>8s}" + "".join(f"{label:>32s}" for label in measured))
for i, vocab in enumerate(vocabs):
    print(f"{vocab:8,d}" + "".join(f"{times[i]:30.3f}ms" for times in measured.values()))

plt.figure(figsize=(5.5, 3.5))
for label, times in measured.items():
    plt.loglog(vocabs, times, "o-", label=label)
plt.xlabel("vocabulary size V")
plt.ylabel("ms (batch of 1024 ids, D = 64)")
plt.legend(fontsize=8)
plt.title("the lookup is O(N D); its gradient and update are O(V D)")
plt.show()

# %% [markdown]
# PyTorch offers `Embedding(..., sparse=True)` with `optim.SparseAdam` for this: the gradient
# keeps only the touched rows. Large recommendation models, whose tables have millions of
# rows, depend on it.
#
# How the scatter-add is written matters too. `np.add.at` handles any index pattern;
# tinytorch instead sorts the ids and sums each run of equal ids with `np.add.reduceat`.
# Which is faster depends on the NumPy version (`np.add.at` got much faster in NumPy 1.25)
# and on the runtime, so measure:

# %%
many_ids = np.random.default_rng(0).integers(0, V, 16_384)
many_grads = np.random.default_rng(1).standard_normal((16_384, 64)).astype(np.float32)
for label, fn in (("np.add.at", lambda: np.add.at(np.zeros((V, 64), np.float32), many_ids, many_grads)),
                  ("sort + np.add.reduceat (tinytorch)", lambda: library_scatter_add_rows(many_grads, many_ids, V)),
                  ("your scatter_add_rows", lambda: scatter(many_grads, many_ids, V))):
    print(f"{label:36s} {best_time(fn, repeats=3) * 1e3:7.2f} ms for 16,384 ids of width 64")

# %% [markdown]
# ## Reflection
#
# 1. An embedding equals a bias-free `Linear` layer on one-hot vectors. For `V = 50,257` and
#    `D = 768`, how many multiply-adds per token does the one-hot matmul spend, against how
#    many numbers the lookup copies?
# 2. Why does `out[ids] += grad` lose gradients for repeated ids, and which tokens of a real
#    text would be hurt most by that bug?
# 3. Without positional information, what does a model that averages token vectors (or
#    attends over them) output for "dog bites man" and "man bites dog"? Name one advantage
#    of sinusoidal encodings over a learned position table, and one of the learned table.
# 4. GPT-2 uses the same `(V, D)` matrix to embed tokens and to produce the output logits
#    ("tied weights"). How much memory does that save for GPT-2 small, in float32, and with
#    Adam during training?
# 5. In your measurements, at which vocabulary size did the dense gradient and the Adam
#    step cost more than the lookup itself? What would a sparse gradient store instead?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. `50,257 * 768`, about 38.6 million multiply-adds per token, against 768 numbers copied
#    by the lookup: about 50,000 times more work for the same result.
# 2. NumPy evaluates `out[ids] += grad` as one read of `out[ids]`, one addition and one
#    write back: for a repeated id the last write wins, so only one occurrence's gradient
#    survives. The most frequent tokens (spaces, `the`, punctuation), which repeat in every
#    batch, lose the most.
# 3. The same output: an average is a bag of words, and attention without positions is
#    permutation-equivariant. Sinusoidal: no parameters, defined for any length, and
#    relative offsets are linear maps of it. Learned: fits the data and task, often a little
#    better within the trained length.
# 4. `50,257 * 768` = 38.6 million parameters: about 147 MiB in float32. During training
#    with Adam (weight, gradient, two moments) about 589 MiB.
# 5. Backward (dense) and the Adam step both touch the whole `(V, D)` table, while the
#    lookup touches only the ids: they cost more once `V` is well above the number of ids
#    per batch (1,024 here). A sparse gradient stores only the rows that were used: their
#    unique ids and a `(n_unique, D)` array of summed gradients.
