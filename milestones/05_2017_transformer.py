# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Milestone 2017: Attention and the transformer
#
# In 2017 Ashish Vaswani and seven colleagues at Google published *Attention Is All You
# Need*. Sequence models of the time were recurrent: they read a sentence one token after
# another, carrying a state along, so information from far back had to survive many steps and
# training could not be spread over the positions of a sequence. The **transformer** dropped
# recurrence. In each layer, every position computes a query, compares it with a key from
# every other position, and takes a weighted mix of their values: any two positions are one
# step apart, and all positions are computed at once with matrix products. It set new records
# in machine translation at a fraction of the training cost, and a year later the same block,
# stacked and trained to predict the next token, became GPT.
#
# Here a small GPT (decoder-only transformer) first learns an algorithmic task that needs
# exactly what attention provides, reversing a sequence, and you look at the attention
# pattern it found. Then a GPT learns to write from the course's own text corpus, one
# character at a time.
#
# **Needs:** Modules 01-08, 10 (Tokenization), 11 (Embeddings), 12 (Attention) and 13
# (Transformers): the GPTs are built from your embedding, attention, LayerNorm and blocks.
# **Target:** at least 98 % of unseen test sequences reversed exactly; readable generated text,
# measured crudely: at least half of the generated words occur in the corpus.
# **Run it as a script:** `python milestones/05_2017_transformer.py` (prints the same numbers;
# plots are drawn off-screen).

# %%
import re
import time

import numpy as np

import tinytorch as tt
from tinytorch.datasets import exact_match_accuracy, make_reversal, reversal_task
from tinytorch.profiling import intercept_forwards

import tinytorch.mine as mine

# Your framework: `mine.use()` makes tinytorch run on the components you built in the modules
# and saved once their checks passed (progress.ipynb lists them), and prints which are yours;
# tinytorch's own runs wherever you have none (or yours no longer passes its check). From here
# on tinytorch's layers, losses and `loss.backward()` call your code where it is yours, and
# `mine.Linear` etc. are the classes in use. `mine.use(False)` runs on tinytorch's alone.
mine.use()
AdamW, TransformerBlock = mine.AdamW, mine.TransformerBlock
# tinytorch's GPT builds its token embedding, transformer blocks (their attention, LayerNorms)
# and final LayerNorm through the seams: yours where they are yours (modules 11-13), and
# generation draws each token with your sample_next_token.
from tinytorch.text import BPETokenizer
from tinytorch.models import GPT, GPTConfig
from tinytorch.optim.lr_scheduler import CosineAnnealingLR

# %% [markdown]
# ## Part 1: reversing sequences
#
# The task: read 8 digits and a separator, then write the digits in reverse order. One
# example is one token sequence; the model reads it left to right and at every position
# predicts the next token. Only the answer positions count in the loss (the prompt's targets
# are `IGNORE_INDEX`, shown as `_`):
#
# ```
#   sequence   3 1 4 1 5 9 2 6 | 6 2 9 5 1 4 1 3
#   inputs     3 1 4 1 5 9 2 6 | 6 2 9 5 1 4 1        the first 16 tokens
#   targets    _ _ _ _ _ _ _ 6 2 9 5 1 4 1 3 ...      the next token, prompt ignored
# ```
#
# To write answer digit `k`, the model must fetch prompt digit `7 - k`: a lookup by
# *position*, which attention can learn directly. The test inputs are never in the training
# set (the split is a fixed hash of the input), so the model cannot succeed by memorising.

# %%
SEED = 0
task = reversal_task(length=8)
train_inputs, train_targets = make_reversal(10_000, length=8, seed=SEED, split="train")
test_inputs, test_targets = make_reversal(1_000, length=8, seed=SEED + 1, split="test")
print(f"vocabulary {task.itos}, sequence length {task.seq_len}")
for i in range(2):
    print(f"inputs  {task.decode(train_inputs[i])}\ntargets {task.decode(train_targets[i])}")

# %% [markdown]
# The model: a GPT with 2 transformer blocks of width 32 and 4 attention heads (the recipe of
# `tinytorch.models.recipes.train_reversal`), trained with AdamW on random batches of 64
# sequences for 150 steps.

# %%
tt.manual_seed(SEED)
config = GPTConfig(vocab_size=task.vocab_size, block_size=task.seq_len, n_layer=2, n_head=4, n_embd=32)
reverser = GPT(config)
print(f"{reverser.num_parameters():,} parameters")

STEPS, BATCH = 150, 64
optimizer = AdamW(reverser.parameters(), lr=5e-3, weight_decay=0.0)
batches = np.random.default_rng(SEED).integers(0, len(train_inputs), size=(STEPS, BATCH))
reversal_losses = []
start = time.perf_counter()
for step, rows in enumerate(batches):
    _, loss = reverser(tt.tensor(train_inputs[rows]), tt.tensor(train_targets[rows]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    reversal_losses.append(loss.item())
    if step % 30 == 0 or step == STEPS - 1:
        print(f"step {step:3d}  loss {loss.item():.4f}")
reversal_seconds = time.perf_counter() - start

reverser.eval()
with tt.no_grad():
    test_logits, _ = reverser(tt.tensor(test_inputs))
reversal_accuracy = exact_match_accuracy(test_logits, test_targets)
print(f"trained in {reversal_seconds:.1f} s; exact-sequence accuracy on {len(test_inputs):,} unseen "
      f"test sequences: {reversal_accuracy:.1%}")

# %% [markdown]
# Because the answers are teacher-forced, "every answer position is right" in one forward
# pass is exactly what generating the answer token by token would give. Generating, to see
# it (greedy, `temperature=0`):

# %%
prompt_len = task.prompt_len
prompts = tt.tensor(test_inputs[:5, :prompt_len])
generated = reverser.generate(prompts, task.answer_len, temperature=0).numpy()
for row in generated:
    prompt, answer = row[:prompt_len - 1], row[prompt_len:]
    ok = "ok" if np.array_equal(answer, prompt[::-1]) else "WRONG"
    print(f"{task.decode(prompt)} | {task.decode(answer)}   {ok}")

# %% [markdown]
# ## What attention learned
#
# Each attention layer's weights form a matrix: row `q` is how much query position `q` takes
# from each key position (rows sum to 1; the causal mask keeps the upper triangle empty). The
# model computes them in every forward pass; to see them, run one test sequence while
# intercepting each attention module's call and asking it for its per-head weights.

# %%
import matplotlib.pyplot as plt

attention = {}


def capture(name, module, forward, args, kwargs):
    if not isinstance(module, tt.nn.MultiHeadAttention):  # yours (module 12): recompute its weights
        h = args[0]  # (1, T, E)
        heads = [p(h).reshape(1, h.shape[1], module.num_heads, module.head_dim).transpose(1, 2)
                 for p in (module.q_proj, module.k_proj)]  # (1, H, T, D)
        attention[name] = tt.nn.functional.attention_weights(*heads, is_causal=True).numpy()[0]
        return forward(*args, **kwargs)
    output, weights = forward(*args, **{**kwargs, "need_weights": True, "average_attn_weights": False})
    attention[name] = weights.numpy()[0]  # (heads, T, T) for the first sequence
    return output, weights


attention_modules = [(f"block {i}", block.attn) for i, block in enumerate(reverser.blocks)]
with tt.no_grad(), intercept_forwards(attention_modules, capture):
    reverser(tt.tensor(test_inputs[:1]))

labels = task.decode(test_inputs[0]).replace(" ", "")
fig, axes = plt.subplots(2, 4, figsize=(13, 6.5))
for row, (name, weights) in enumerate(attention.items()):
    for head in range(4):
        ax = axes[row, head]
        ax.imshow(weights[head], cmap="Blues", vmin=0, vmax=1)
        ax.set_title(f"{name}, head {head}", fontsize=9)
        ax.set_xticks(range(len(labels)), list(labels), fontsize=7)
        ax.set_yticks(range(len(labels)), list(labels), fontsize=7)
axes[0, 0].set_ylabel("query position")
axes[1, 0].set_xlabel("key position")
plt.tight_layout()
plt.show()

# Where does the separator and each answer position (the queries that produce answer digits)
# look most, in the layer and head that concentrate most on the mirror position?
queries = np.arange(prompt_len - 1, task.seq_len)  # the positions that predict answer digits
mirror = (prompt_len - 2) - (queries - (prompt_len - 1))  # the prompt digit each one must copy
best = max(((name, h) for name in attention for h in range(4)),
           key=lambda nh: attention[nh[0]][nh[1]][queries, mirror].mean())
share = attention[best[0]][best[1]][queries, mirror]
print(f"{best[0]}, head {best[1]}: weight on the mirrored prompt position, per answer digit: "
      + " ".join(f"{w:.2f}" for w in share))

# %% [markdown]
# One head puts most of each answer position's attention on the prompt digit it must copy:
# the anti-diagonal in its plot. Nobody wrote "look at position `7 - k`"; gradient descent
# found it because it lowers the loss.

# %% [markdown]
# ## Part 2: a GPT that writes
#
# A GPT again (one block, twice as wide), trained on text: predict each next token of the
# course's corpus (44 KB of original stories, history and dialogues). The tokens come from
# byte-pair encoding (Module 10) with a vocabulary of 1,024: common words and word pieces
# become single tokens, so each prediction covers about three characters and the model
# spends its few training steps on which words follow which, not on spelling. (A
# character-level model given the same time in the browser still writes mostly non-words.)
# 90 % of the text trains, the last 10 % validates.
#
# The tokenizer is tinytorch's `BPETokenizer`: the same algorithm as your `train_bpe`, but it
# updates the pair counts after each merge instead of recounting the whole text, which makes
# its 768 merges take a fraction of a second even in the browser.

# %%
VOCAB_SIZE = 1024
text = tt.datasets.load_corpus()
tokenizer = BPETokenizer()
start = time.perf_counter()
tokenizer.train(text, VOCAB_SIZE)
ids = np.array(tokenizer.encode(text), dtype=np.int64)
split = int(0.9 * len(ids))
train_ids, val_ids = ids[:split], ids[split:]
chars_per_token = len(text) / len(ids)
print(f"{len(text):,} characters -> {len(ids):,} tokens ({chars_per_token:.1f} characters per token); "
      f"tokenizer trained in {time.perf_counter() - start:.2f} s")
print("its longest tokens:", sorted((tokenizer.decode([i]) for i in range(256, VOCAB_SIZE)), key=lambda t: (len(t), t))[-8:])


def random_windows(data, batch, length, rng):
    """(inputs, targets): `batch` random windows of `length` tokens and the next ones."""
    starts = rng.integers(0, len(data) - length - 1, size=batch)
    index = starts[:, None] + np.arange(length)  # (batch, length)
    return data[index], data[index + 1]


corpus_words = set(re.findall(r"[a-z]+", text.lower()))


def real_word_share(sample):
    """Fraction of the words in `sample` that occur in the corpus: a crude readability score."""
    words = re.findall(r"[a-z]+", sample.lower())
    return sum(w in corpus_words for w in words) / max(len(words), 1)


PROMPT_TOKENS, SAMPLES = 4, 8


def samples(model, length, seed=SEED):
    """(prompt, continuation) text pairs: the first PROMPT_TOKENS tokens of SAMPLES passages of
    the validation text, each continued by `length` sampled tokens (temperature 0.7: a little
    greedier than the model's own distribution), all generated as one batch."""
    starts = np.random.default_rng(seed).integers(0, len(val_ids) - PROMPT_TOKENS, size=SAMPLES)
    prompts = val_ids[starts[:, None] + np.arange(PROMPT_TOKENS)]  # (SAMPLES, PROMPT_TOKENS)
    out = model.generate(tt.tensor(prompts), length, temperature=0.7, generator=tt.Generator(seed)).numpy()
    return [(tokenizer.decode(row[:PROMPT_TOKENS]), tokenizer.decode(row[PROMPT_TOKENS:])) for row in out]

# %% [markdown]
# Four hundred steps of 16 windows of 24 tokens, at a learning rate of 0.003 (0.01 trains
# faster at first but ends worse, and less reproducibly). Validation loss stops improving about
# there: 44 KB is a small corpus for 1,024 token types, and longer training mostly memorizes it.

# %%
TEXT_STEPS, BLOCK, TEXT_BATCH = 400, 24, 16

tt.manual_seed(SEED)
writer = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=BLOCK, n_layer=1, n_head=4, n_embd=64))
print(f"{writer.num_parameters():,} parameters; {TEXT_STEPS} steps of {TEXT_BATCH} x {BLOCK} tokens")
untrained = samples(writer, 30)
print(f"before training: {untrained[0][0] + untrained[0][1]!r} "
      f"({np.mean([real_word_share(c) for _, c in untrained]):.0%} of the generated words occur in the corpus)")

optimizer = AdamW(writer.parameters(), lr=3e-3, weight_decay=0.0)
scheduler = CosineAnnealingLR(optimizer, T_max=TEXT_STEPS)
rng = np.random.default_rng(SEED)
text_losses = []
start = time.perf_counter()
for step in range(TEXT_STEPS):
    x, y = random_windows(train_ids, TEXT_BATCH, BLOCK, rng)
    _, loss = writer(tt.tensor(x), tt.tensor(y))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    text_losses.append(loss.item())
    if step % (TEXT_STEPS // 5) == 0 or step == TEXT_STEPS - 1:
        print(f"step {step:4d}  loss {loss.item():.3f}")
text_seconds = time.perf_counter() - start
mine.report()  # which components that ran were yours (both GPTs), and their share of the time

writer.eval()
val_rng = np.random.default_rng(SEED + 1)
with tt.no_grad():
    val_loss = float(np.mean([writer(*map(tt.tensor, random_windows(val_ids, 64, BLOCK, val_rng)))[1].item()
                              for _ in range(4)]))
print(f"trained in {text_seconds:.1f} s ({text_seconds / TEXT_STEPS * 1e3:.0f} ms per step); validation loss "
      f"{val_loss:.2f} per token = {val_loss / chars_per_token:.2f} per character "
      f"(a uniform guess over {tokenizer.vocab_size} tokens: {np.log(tokenizer.vocab_size):.2f} per token)")

# %%
import matplotlib.pyplot as plt

written = samples(writer, 60)
for prompt, continuation in written[:3]:
    print(f"[{prompt}]{continuation}", end="\n\n")
words_real = float(np.mean([real_word_share(c) for _, c in written]))
print(f"-- {words_real:.0%} of the generated words in {len(written)} samples occur in the corpus "
      f"(prompts in brackets: the first {PROMPT_TOKENS} tokens of validation passages)")

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(np.convolve(text_losses, np.ones(10) / 10, mode="valid"))
ax.set_xlabel("step")
ax.set_ylabel("training loss (10-step mean)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Systems analysis: what a transformer block spends its time on
#
# A block has two halves. Attention compares every position with every earlier one: `T x T`
# scores per head, so its cost per token grows with the context length `T`. The MLP works on
# each position alone: a fixed cost per token. Timing one block of width 64 (one sequence, no
# gradients) at growing `T`, with attention and MLP measured separately:

# %%
import matplotlib.pyplot as plt

def median_ms(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


tt.manual_seed(SEED)
block = TransformerBlock(64, 4).eval()
lengths = [32, 64, 128, 256, 512]
attn_ms, mlp_ms = [], []
with tt.no_grad():
    for length in lengths:
        h = tt.randn(1, length, 64)
        attn_ms.append(median_ms(lambda: block.attn(h, h, h, need_weights=False, is_causal=True)))
        mlp_ms.append(median_ms(lambda: block.mlp(h)))
print(f"{'T':>5} {'attention ms':>13} {'MLP ms':>8} {'attention share':>16} {'attention us/token':>19}")
for length, a, m in zip(lengths, attn_ms, mlp_ms):
    print(f"{length:5d} {a:13.2f} {m:8.2f} {a / (a + m):16.0%} {a * 1e3 / length:19.1f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(lengths, attn_ms, "o-", label="attention")
ax.plot(lengths, mlp_ms, "o-", label="MLP")
ax.set_xlabel("sequence length T")
ax.set_ylabel("ms per forward (one sequence)")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# The MLP grows linearly with `T`; attention grows faster (its score matrices are `T x T`) and
# takes a larger share the longer the context. At these small widths both are also paying a
# fixed Python and NumPy overhead per call, which dominates the shortest sequences. Where the
# parameters sit, and the arithmetic of one training step, from the profiler:

# %%
x, _ = random_windows(train_ids, TEXT_BATCH, BLOCK, np.random.default_rng(SEED))
report = tt.profiling.profile(writer, tt.tensor(x))
print(report)

# %% [markdown]
# ## Result

# %%
TARGET, WORDS_TARGET = 0.98, 0.5
met = reversal_accuracy >= TARGET and words_real >= WORDS_TARGET
print(f"RESULT: exact-sequence accuracy {reversal_accuracy:.1%}, generated words in the corpus {words_real:.0%} "
      f"(target {TARGET:.0%}, {WORDS_TARGET:.0%}): {'target met' if met else 'target MISSED'}; {mine.summary()}")

# %% [markdown]
# ## Reflection
#
# 1. Reversal needs "copy the token at position `7 - k`". How does the model know positions at
#    all (attention itself ignores order)? What would happen without the position embedding?
# 2. A recurrent network reads the 8 digits one by one into a fixed-size state before writing
#    any. What must that state hold, and why is the transformer's route shorter?
# 3. The writer reads byte-pair tokens. A character-level model trained for the same time
#    writes mostly non-words. What must it learn first that the BPE model gets for free, and
#    what does the BPE model lose (think of rare words and the 1,024-way output layer)?
# 4. From the table: when `T` doubles, by how much does attention's time grow, and the MLP's?
#    Extrapolate to a 10,000-token document: which half would dominate, and what would you
#    change?
