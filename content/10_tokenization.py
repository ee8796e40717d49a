# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 10: Tokenization
#
# A language model reads and writes integers, not text. A **tokenizer** turns text into a
# sequence of integer ids and back, and its choice of units decides how long the sequences
# are, how large the model's vocabulary tables are, and whether any text at all can be
# represented. You build a character tokenizer, then byte-level **byte-pair encoding** (BPE,
# the tokenizer family of GPT-2 and its successors): training on a corpus, encoding and exact
# decoding of any Unicode text. Then you measure the trade-off between vocabulary size and
# sequence length.
#
# **Learning objectives.** By the end of this module you can:
#
# - write a character tokenizer and explain its limits
# - train byte-level BPE: count pairs, merge them, record the merges
# - encode and decode any Unicode text exactly with the learned merges
# - measure how the vocabulary size trades sequence length against table size

# %%
import re
import time

import numpy as np

import tinytorch as tt
from tinytorch.checks import (
    check_bpe_decode, check_bpe_encode, check_char_tokenizer, check_merge, check_pair_counts, check_train_bpe,
)
import tinytorch.mine
from tinytorch.profiling.timing import best_time  # fastest of several calls, in seconds
from tinytorch.text import GPT2_SPLIT_PATTERN

# %% [markdown]
# ## Characters
#
# The simplest tokenizer gives every distinct character of a training text an id. Sorting the
# characters (by Unicode code point) makes the ids reproducible:
#
# ```
#   text  "hello"       vocabulary sorted(set(text)) = ['e', 'h', 'l', 'o']
#   stoi  {'e': 0, 'h': 1, 'l': 2, 'o': 3}           itos = the list itself
#   encode("hell") = [1, 0, 2, 2]          decode([3, 1]) = "oh"
# ```
#
# The vocabulary is tiny and every text the tokenizer was built from can be encoded, but a
# character it never saw cannot (raise a `ValueError` that names it), and sequences are as long
# as the text.
#
# **Exercise.** Write `CharTokenizer(text)` with `vocab_size`, `encode(text)` (a list of ints)
# and `decode(ids)` (ids may be a list or a NumPy array).

# %%
class CharTokenizer:
    """One token per distinct character of `text`, ids in code-point order."""

    def __init__(self, text):
        ### BEGIN SOLUTION
        # HINT: the vocabulary: the distinct characters of the text in sorted order, and a lookup from each character to its position
        self.itos = sorted(set(text))
        self.stoi = {ch: i for i, ch in enumerate(self.itos)}
        ### END SOLUTION

    @property
    def vocab_size(self):
        ### BEGIN SOLUTION
        # HINT: the number of distinct characters
        return len(self.itos)
        ### END SOLUTION

    def encode(self, text):
        ### BEGIN SOLUTION
        # HINT: the id of every character; a character outside the vocabulary is a ValueError naming it
        unknown = set(text) - self.stoi.keys()
        if unknown:
            raise ValueError(f"CharTokenizer.encode: characters not in the vocabulary: {sorted(unknown)}")
        return [self.stoi[ch] for ch in text]
        ### END SOLUTION

    def decode(self, ids):
        ### BEGIN SOLUTION
        # HINT: the characters of the ids, joined into one string
        return "".join(self.itos[int(i)] for i in ids)
        ### END SOLUTION


# %% tags=["check"]
check_char_tokenizer(CharTokenizer)

# %% [markdown]
# The course's corpus (`tt.datasets.load_corpus()`) is about 44,000 characters of original
# English prose: stories, a short history of computing, explanations and dialogues. We keep
# the last 10 % aside to measure how well a tokenizer does on text it was not trained on.

# %%
corpus = tt.datasets.load_corpus()
split = int(0.9 * len(corpus))
train_text, heldout_text = corpus[:split], corpus[split:]
# Your CharTokenizer, saved when its check passed (tinytorch's where it did not):
tinytorch.mine.use("CharTokenizer")
Char = tinytorch.mine.load("CharTokenizer")
chars = Char(train_text)
print(f"corpus: {len(corpus):,d} characters; training part {len(train_text):,d}, held out {len(heldout_text):,d}")
print(f"character vocabulary: {chars.vocab_size} symbols: {''.join(chars.decode(list(range(chars.vocab_size))))!r}")
print("first ids:", chars.encode(train_text[:40]))
try:
    chars.encode("café 🙂")
except ValueError as error:
    print("ValueError:", error)

# %% [markdown]
# ## Bytes: a vocabulary that covers everything
#
# Any string is a sequence of Unicode code points, and UTF-8 writes each code point as 1 to 4
# bytes. Starting from the 256 byte values instead of from characters, a tokenizer can encode
# *every* text, including characters it has never seen: at worst, one token per byte.

# %%
for ch in ["a", "é", "Ω", "日", "🙂"]:
    data = ch.encode("utf-8")
    print(f"{ch!r}: code point U+{ord(ch):04X}, UTF-8 bytes {list(data)} ({len(data)} byte{'s' if len(data) > 1 else ''})")
print("and back:", bytes([99, 97, 102, 195, 169]).decode("utf-8"))

# %% [markdown]
# ## Byte-pair encoding
#
# One token per byte makes sequences even longer than characters. BPE fixes that by learning
# which byte sequences are common and giving each one its own id. Training repeats one step:
# **count every adjacent pair of ids, and replace the most frequent pair by a new id**.
#
# ```
#   ids    a a a b d a a a b a c          most frequent pair (a, a): 4 times -> new id Z = 256
#          Z a b d Z a b a c              (a, b): 2 times (ties: the smallest pair) -> Y = 257
#          Z Y d Z Y a c                  (Z, Y): 2 times -> X = 258
#          X d X a c                      11 ids -> 5; the merges, in order, are the tokenizer
# ```
#
# Pairs are counted with overlaps (`a a a` holds the pair `(a, a)` twice), but merging walks left
# to right and replaces non-overlapping occurrences (`a a a` becomes `Z a`).
#
# **Exercise.** Write `get_pair_counts(ids, counts=None)`, which counts adjacent pairs (adding
# into `counts` when one is given, so that counts over many pieces of text can be summed), and
# `merge(ids, pair, new_id)`, which returns a new list.

# %%
def get_pair_counts(ids, counts=None):
    """{(a, b): number of times b follows a in ids}; adds into `counts` if given and returns it."""
    ### BEGIN SOLUTION
    # HINT: how often each pair of neighbouring ids occurs, added into counts when it is given
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts
    ### END SOLUTION


def merge(ids, pair, new_id):
    """A new list: every non-overlapping occurrence of `pair`, left to right, replaced by new_id."""
    ### BEGIN SOLUTION
    # HINT: a new list in which every occurrence of pair, scanning left to right without overlaps, is replaced by new_id
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
    ### END SOLUTION


# %% tags=["check"]
check_pair_counts(get_pair_counts)

# %% tags=["check"]
check_merge(merge)

# %% [markdown]
# ### Pre-splitting, then training
#
# Trained on raw text, BPE happily learns tokens such as `"e t"` or `"s. Th"` that glue the end of
# one word to the start of the next: frequent, but useless. GPT-2 first splits the text into
# **chunks** with a regular expression (words with their leading space, numbers, runs of
# punctuation, whitespace) and counts pairs only inside chunks. tinytorch ships that pattern as
# `GPT2_SPLIT_PATTERN`:

# %%
print(re.findall(GPT2_SPLIT_PATTERN, "The model's loss fell to 0.25 -- twice as fast!\n  Really?"))

# %% [markdown]
# Training on chunks: encode each chunk to its list of UTF-8 bytes, then for every merge sum
# the pair counts over all chunks, pick the most frequent pair, and merge it in every chunk.
# The `k`-th merge (from 0) gets id `256 + k`, until `vocab_size` ids exist. Two rules make the
# result exactly reproducible (and equal to `tinytorch.text.BPETokenizer.train`):
#
# - on equal counts, take the **smallest** pair (compare the tuples, `(97, 98) < (97, 99)`);
# - stop early, without error, when no chunk has two ids left to pair.
#
# Identical chunks (" the" occurs hundreds of times) can be counted once and weighted by how
# often they occur; that makes training several times faster, but is not required.
#
# **Exercise.** Write `train_bpe(text, vocab_size)`, returning the merges as a dict
# `{(a, b): new_id}` in the order they were learned (Python dicts keep insertion order).

# %%
def train_bpe(text, vocab_size):
    """The merges {(a, b): new_id} that byte-level BPE learns from `text`, in order."""
    ### BEGIN SOLUTION
    # HINT: start from the UTF-8 bytes of each regex chunk; for each new id from 256 up to vocab_size, merge the most frequent pair (ties: the smallest pair) in every chunk and record it; stop early when no pair is left
    frequency = {}
    for chunk in re.findall(GPT2_SPLIT_PATTERN, text):
        frequency[chunk] = frequency.get(chunk, 0) + 1
    words = [list(chunk.encode("utf-8")) for chunk in frequency]
    weights = list(frequency.values())
    merges = {}
    for new_id in range(256, vocab_size):
        counts = {}
        for word, weight in zip(words, weights):
            for pair in zip(word, word[1:]):
                counts[pair] = counts.get(pair, 0) + weight
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))
        merges[pair] = new_id
        words = [merge(word, pair, new_id) if len(word) > 1 else word for word in words]
    return merges
    ### END SOLUTION


# %% tags=["check"]
check_train_bpe(train_bpe)

# %% [markdown]
# ### Encoding and decoding
#
# To **encode** a new text, split it into chunks the same way and turn each chunk into its bytes.
# Then apply the merges in the order training learned them: among the adjacent pairs of the
# chunk that have a merge, merge the one with the **smallest id** (learned earliest), and repeat
# until no pair of the chunk has a merge. (Merging "the most frequent pair of this chunk"
# instead would not reproduce what training did.)
#
# To **decode**, build each id's bytes (`vocab[i] = bytes([i])` for the 256 bytes, then
# `vocab[new] = vocab[a] + vocab[b]` for every merge, in order), join the bytes of all ids and
# decode once as UTF-8. A model may generate a sequence that stops in the middle of a
# multi-byte character: decode with `errors="replace"`, which turns the broken piece into `'�'`
# instead of raising.
#
# **Exercise.** Write `encode(text, merges)` and `decode(ids, merges)`.

# %%
def encode(text, merges):
    """Token ids of `text` for the BPE `merges` {(a, b): new_id}."""
    ### BEGIN SOLUTION
    # HINT: per chunk, start from its bytes and keep merging the pair that was learned earliest until no neighbouring pair is a learned one
    out = []
    for chunk in re.findall(GPT2_SPLIT_PATTERN, text):
        ids = list(chunk.encode("utf-8"))
        while len(ids) >= 2:
            pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, float("inf")))
            if pair not in merges:
                break
            ids = merge(ids, pair, merges[pair])
        out.extend(ids)
    return out
    ### END SOLUTION


def decode(ids, merges):
    """The text for token ids (a list or NumPy array) under `merges`."""
    ### BEGIN SOLUTION
    # HINT: the bytes of every id (a merged token's bytes are its two parts' bytes), concatenated and decoded as UTF-8 with invalid bytes replaced
    vocab = {i: bytes([i]) for i in range(256)}
    for (a, b), new in merges.items():
        vocab[new] = vocab[a] + vocab[b]
    return b"".join(vocab[int(i)] for i in ids).decode("utf-8", errors="replace")
    ### END SOLUTION


# %% tags=["check"]
check_bpe_encode(encode)

# %% tags=["check"]
check_bpe_decode(decode)

# %% [markdown]
# ## Use it: a tokenizer for the corpus
#
# Train your BPE on the training part of the corpus with 384 ids (128 merges), and compare with
# tinytorch's `BPETokenizer`, which learns the same merges incrementally (it updates only the
# counts a merge changes instead of recounting everything).

# %%
# Yours from here on, where saved (tinytorch's where a check did not pass); tinytorch's
# BPETokenizer also counts pairs and merges with your get_pair_counts and merge now.
tinytorch.mine.use("CharTokenizer", "get_pair_counts", "merge", "train_bpe", "bpe_encode", "bpe_decode")
train, bpe_encode, bpe_decode = (tinytorch.mine.load(name) for name in ("train_bpe", "bpe_encode", "bpe_decode"))

start = time.perf_counter()
merges = train(train_text, 384)
seconds = time.perf_counter() - start
library = tt.text.BPETokenizer()
start = time.perf_counter()
library.train(train_text, 384)
library_seconds = time.perf_counter() - start
print(f"trained 128 merges in {seconds:.2f} s (tinytorch: {library_seconds:.3f} s); "
      f"same merges as tinytorch: {merges == library.merges}")

vocab = {i: bytes([i]) for i in range(256)}
for (a, b), new in merges.items():
    vocab[new] = vocab[a] + vocab[b]
print("first 12 merges:", [vocab[new].decode("utf-8", "replace") for new in list(merges.values())[:12]])
print("longest tokens: ", sorted((t.decode("utf-8", "replace") for t in vocab.values()), key=len)[-8:])

# %% [markdown]
# Token boundaries on a held-out sentence and on text unlike the corpus (the `|` separates
# tokens), and the exact round trip:

# %%
sentence = heldout_text[heldout_text.index(". ", 200) + 2:][:100]
for sample in [sentence, "Tokenizers différent: 日本語 and 🙂 still round-trip."]:
    ids = bpe_encode(sample, merges)
    pieces = [vocab[i].decode("utf-8", "replace") for i in ids]
    print(f"{len(sample)} characters -> {len(ids)} tokens: {'|'.join(pieces)!r}")
    print("  decode(encode(text)) == text:", bpe_decode(ids, merges) == sample)

# %% [markdown]
# The first merges are the commonest letter pairs and short words with their leading space
# (`" t"`, `"he"`, `" the"`). Characters the corpus never contained are still encoded, byte by
# byte: the pieces shown as `'�'` are single bytes of a multi-byte character, which only make
# sense joined together.
#
# ## Systems analysis: vocabulary size against sequence length
#
# A larger vocabulary gives shorter sequences, and a language model's cost grows with both:
#
# - its **embedding** table (and usually the output layer) has `vocab_size x d_model` weights;
# - its **attention** compares every token with every other: cost ~ `length**2` per layer.
#
# Merges are learned one at a time, so a tokenizer trained to 2,048 ids contains the ones
# trained to every smaller size: its first `k` merges are exactly what training to `256 + k`
# gives. We train tinytorch's tokenizer once and measure the tokens per character on the
# training text and on the held-out text for growing prefixes of its merges.

# %%
import matplotlib.pyplot as plt

start = time.perf_counter()
big = tt.text.BPETokenizer()
big.train(train_text, 2048)
print(f"tinytorch trained 1,792 merges in {time.perf_counter() - start:.2f} s")
all_merges = list(big.merges.items())

sizes = [256, 320, 384, 512, 768, 1024, 1536, 2048]
train_rate, heldout_rate = [], []
for size in sizes:
    tok = tt.text.BPETokenizer()
    tok.merges = dict(all_merges[:size - 256])
    tok._rebuild()
    train_rate.append(len(tok.encode(train_text)) / len(train_text))
    heldout_rate.append(len(tok.encode(heldout_text)) / len(heldout_text))

d_model, context_chars = 128, 1000
print(f"{'vocab':>6s} {'tokens/char train':>18s} {'held out':>9s} {'tokens per 1,000 chars':>23s} "
      f"{'embedding params (d=128)':>25s} {'attention cost vs bytes':>24s}")
for size, tr, ho in zip(sizes, train_rate, heldout_rate):
    length = ho * context_chars
    print(f"{size:6d} {tr:18.3f} {ho:9.3f} {length:23.0f} {size * d_model:25,d} "
          f"{(length / (heldout_rate[0] * context_chars)) ** 2:24.2f}")
char_rate = 1.0
print(f"characters ({chars.vocab_size} ids): 1.000 token per character, {chars.vocab_size * d_model:,d} embedding params")

plt.figure(figsize=(6, 4))
plt.semilogx(sizes, train_rate, "o-", label="BPE, training text")
plt.semilogx(sizes, heldout_rate, "o-", label="BPE, held-out text")
plt.semilogx([chars.vocab_size], [char_rate], "s", label="characters")
plt.xlabel("vocabulary size")
plt.ylabel("tokens per character")
plt.title("Vocabulary size against sequence length")
plt.legend()
plt.show()

# %% [markdown]
# The first few hundred merges roughly halve the sequence; after that each doubling of the
# vocabulary buys less, and the held-out curve flattens earlier than the training curve: the
# later merges are whole words and phrases of this particular corpus (names in its stories,
# for example), which rarely occur in new text. The embedding table grows linearly with the
# vocabulary; attention cost falls with the square of the sequence length. Real models
# (GPT-2: 50,257 ids; recent models 100,000 to 250,000) train their tokenizers on vastly more
# text, where those later merges still pay off.
#
# ### Training time: recounting against incremental updates
#
# Your `train_bpe` recounts every pair of every chunk for each merge: the cost is about
# `merges x text length`. tinytorch's trainer counts once, then for each merge updates only the
# chunks that contain the merged pair. Measured on growing slices of the corpus, 32 merges
# each (best of two runs):

# %%
import matplotlib.pyplot as plt

lengths = [2_000, 4_000, 8_000, 16_000]
yours_s, library_s = [], []
for n in lengths:
    yours_s.append(best_time(lambda: train(train_text[:n], 288), repeats=2))
    library_s.append(best_time(lambda: tt.text.BPETokenizer().train(train_text[:n], 288), repeats=2))
    print(f"{n:6,d} characters: train_bpe {yours_s[-1] * 1e3:7.1f} ms   incremental {library_s[-1] * 1e3:6.1f} ms"
          f"   ({yours_s[-1] / library_s[-1]:.0f}x)")

plt.figure(figsize=(5, 3.5))
plt.loglog(lengths, yours_s, "o-", label="recount every merge (train_bpe)")
plt.loglog(lengths, library_s, "o-", label="incremental (tinytorch)")
plt.xlabel("characters of training text")
plt.ylabel("seconds for 32 merges")
plt.legend()
plt.show()
print(f"runtime: {tt.platform.describe()}")

# %% [markdown]
# Both grow with the text, the recount by the full text (in distinct chunks) times the number
# of merges, the incremental trainer mostly by its one initial count. The gap widens with the
# number of merges: GPT-2 learned 50,000 of them, on gigabytes of text.
#
# ## Reflection
#
# 1. Your character tokenizer raises on a character it has never seen; BPE never does. What does
#    a byte-level tokenizer do with a Chinese character it never saw in training, and what does
#    that cost in sequence length?
# 2. Why must `encode` apply merges in the order they were learned, rather than, say, always
#    merging the most frequent pair of the chunk?
# 3. Construct a short text for which training without pre-splitting learns a token that spans
#    two words. Why is such a token a poor use of a vocabulary slot?
# 4. From your table, pick the vocabulary size you would use for a small GPT trained on this
#    corpus with a context of 256 tokens, and justify it with the measured numbers.
# 5. A model generates token ids one at a time and prints each one as soon as it is produced.
#    Why can printing `decode([id])` token by token show `'�'` where decoding the whole sequence
#    would not, and how would you print correctly as you go?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. It encodes the character's UTF-8 bytes, 3 for most Chinese characters, as byte tokens:
#    nothing fails, but an unseen script costs about 3 tokens per character instead of 1 or
#    less, so sequences get longer (less text per context, more compute).
# 2. Each merge was learned on text where the earlier merges had already been applied, and
#    later merges are often built from earlier tokens. Another order produces segmentations
#    never seen in training (and different ones for the same word in different contexts), so
#    the model sees ids for pieces it never learned.
# 3. For example `"it is a test. it is a test. it is a test."`: without pre-splitting, `"s
#    "` and `" a"` merge and soon `"is a"` becomes one token. It only helps that exact word
#    pair; the slot would serve far more text as a whole word or a common word piece, and
#    `"is"` elsewhere is now tokenized differently.
# 4. Choose where the characters-per-token curve flattens (more merges add little
#    compression) while the embedding table stays a small share of a small model and every
#    token still occurs often enough to learn its vector. With a 256-token context, a few
#    hundred to about a thousand tokens usually balances these; justify your choice with
#    your table's numbers.
# 5. A multi-byte UTF-8 character can be split across tokens; decoding one token alone
#    yields an incomplete byte sequence, which becomes `'�'`. Keep a byte buffer: append
#    each token's bytes and print only the complete characters (an incremental decoder,
#    `codecs.getincrementaldecoder("utf-8")()`, does exactly that).
