"""Algorithmic sequence tasks for decoder-only transformers: reversal, sorting and addition.

An example is one token sequence `prompt answer`. Reversing three digits, with `|` the
separator token:

    sequence   3 1 4 | 4 1 3
    inputs     3 1 4 | 4 1        sequence[:-1]
    targets    _ _ _ 4 1 3        sequence[1:], prompt positions set to IGNORE_INDEX (_)

A model reads `inputs` and predicts the next token at every position; IGNORE_INDEX (-100,
the default `ignore_index` of PyTorch's `cross_entropy`) keeps the prompt out of the loss.
Because the answer is teacher-forced, "argmax is right at every answer position" is exactly
"greedy generation from the prompt reproduces the answer", so `exact_match_accuracy` on one
forward pass measures what generation would.

Train and test never overlap: whether an input is a test input is a fixed hash of the input
itself (TEST_FRACTION of all possible inputs), so any `n` and `seed` keep the splits disjoint.
"""

import operator
from dataclasses import dataclass

import numpy as np

from ..tensor import Tensor

IGNORE_INDEX = -100
TEST_FRACTION = 0.2
_ENUMERATE_LIMIT = 1 << 16  # input spaces up to this size are listed instead of sampled


@dataclass(frozen=True)
class SequenceTask:
    """What a model needs to know about a task: vocabulary, lengths, and how to print tokens.

    `seq_len` is the length of `inputs` and `targets` (the model's block size); the first
    `prompt_len` tokens of a sequence are the prompt, the next `answer_len` the answer.
    """

    name: str
    vocab_size: int
    seq_len: int
    prompt_len: int
    itos: tuple

    @property
    def answer_len(self):
        return self.seq_len + 1 - self.prompt_len

    def decode(self, ids):
        """Printable text of token ids; IGNORE_INDEX prints as `_`."""
        ids = ids.numpy() if isinstance(ids, Tensor) else np.asarray(ids)
        if ids.ndim != 1:
            raise ValueError(f"SequenceTask.decode: expected a 1-D sequence of ids, got shape {ids.shape}")
        bad = (ids != IGNORE_INDEX) & ((ids < 0) | (ids >= self.vocab_size))
        if bad.any():
            raise ValueError(
                f"SequenceTask.decode: token id {int(ids[np.argmax(bad)])} is out of range for "
                f"{self.name} (vocab_size {self.vocab_size})"
            )
        tokens = ["_" if i == IGNORE_INDEX else self.itos[i] for i in ids.tolist()]
        return ("" if all(len(t) == 1 for t in self.itos) else " ").join(tokens)


# ---------------------------------------------------------------- tasks

def reversal_task(length=8, vocab=10):
    """Digits 0..vocab-1, then the separator `|` (id vocab), then the digits reversed."""
    length = _check_int("reversal_task", "length", length, 1)
    vocab = _check_int("reversal_task", "vocab", vocab, 2)
    return SequenceTask("reversal", vocab + 1, 2 * length, length + 1, _digit_itos(vocab) + ("|",))


def make_reversal(n, length=8, vocab=10, seed=0, split="train"):
    """`n` reversal examples as int64 `(inputs, targets)`, each of shape (n, 2 * length)."""
    task = reversal_task(length, vocab)
    digits = _sample_inputs("make_reversal", n, length, vocab, seed, split)  # (n, L)
    return _examples(task, digits, np.full((len(digits), 1), vocab), digits[:, ::-1])


def sorting_task(length=8, vocab=10):
    """Digits 0..vocab-1, then the separator `|` (id vocab), then the digits in ascending order."""
    length = _check_int("sorting_task", "length", length, 1)
    vocab = _check_int("sorting_task", "vocab", vocab, 2)
    return SequenceTask("sorting", vocab + 1, 2 * length, length + 1, _digit_itos(vocab) + ("|",))


def make_sorting(n, length=8, vocab=10, seed=0, split="train"):
    """`n` sorting examples as int64 `(inputs, targets)`, each of shape (n, 2 * length)."""
    task = sorting_task(length, vocab)
    digits = _sample_inputs("make_sorting", n, length, vocab, seed, split)  # (n, L)
    return _examples(task, digits, np.full((len(digits), 1), vocab), np.sort(digits, axis=1))


def addition_task(digits=2, reverse_answer=True):
    """`a + b = c` in decimal: a and b zero-padded to `digits` digits, c to `digits + 1`.

    Tokens: 0-9, `+` (10), `=` (11). With `reverse_answer` (the default, as in minGPT's adder)
    c is written least significant digit first, the order in which carries are computed, which
    makes the task much easier to learn.
    """
    # 18 digits: a + b still fits in int64.
    digits = _check_int("addition_task", "digits", digits, 1, maximum=18)
    return SequenceTask("addition", 12, 3 * digits + 2, 2 * digits + 2, _digit_itos(10) + ("+", "="))


def make_addition(n, digits=2, seed=0, split="train", reverse_answer=True):
    """`n` addition examples as int64 `(inputs, targets)`, each of shape (n, 3 * digits + 2)."""
    task = addition_task(digits, reverse_answer)
    operands = _sample_inputs("make_addition", n, 2 * digits, 10, seed, split)  # (n, 2D): a then b
    place = 10 ** np.arange(digits - 1, -1, -1, dtype=np.int64)  # (D,) most significant first
    total = operands[:, :digits] @ place + operands[:, digits:] @ place  # (n,)
    answer = total[:, None] // (10 ** np.arange(digits, -1, -1, dtype=np.int64)) % 10  # (n, D+1)
    if reverse_answer:
        answer = answer[:, ::-1]
    count = len(operands)
    prompt = np.concatenate(
        [operands[:, :digits], np.full((count, 1), 10), operands[:, digits:], np.full((count, 1), 11)],
        axis=1,
    )
    return _examples(task, prompt, np.zeros((count, 0), dtype=np.int64), answer)


def exact_match_accuracy(pred, target):
    """Fraction of rows whose every non-ignored target token is predicted exactly.

    `pred` is predicted ids with the shape of `target`, or logits with one more trailing
    dimension (argmax is taken). Positions where `target` is IGNORE_INDEX are not compared.
    """
    pred = pred.numpy() if isinstance(pred, Tensor) else np.asarray(pred)
    target = target.numpy() if isinstance(target, Tensor) else np.asarray(target)
    if pred.ndim == target.ndim + 1:
        pred = pred.argmax(axis=-1)  # (N, T, V) logits -> (N, T) ids
    if pred.shape != target.shape:
        raise ValueError(
            f"exact_match_accuracy: pred shape {pred.shape} does not match target shape {target.shape} "
            f"(pass ids of the target's shape, or logits with one extra trailing dimension)"
        )
    if target.ndim < 1 or target.shape[0] == 0:
        raise ValueError(f"exact_match_accuracy: need at least one example, got target shape {target.shape}")
    correct = (pred == target) | (target == IGNORE_INDEX)
    return float(correct.reshape(len(correct), -1).all(axis=1).mean())


# ---------------------------------------------------------------- helpers

def _check_int(func, name, value, minimum, maximum=None):
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{func}: {name} must be an int, got {value!r}") from None
    if value < minimum:
        raise ValueError(f"{func}: {name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{func}: {name} must be <= {maximum}, got {value}")
    return value


def _digit_itos(vocab):
    return tuple(str(i) for i in range(vocab))


def _examples(task, prompt, separator, answer):
    """(inputs, targets) from the parts of each sequence; prompt targets are IGNORE_INDEX."""
    sequence = np.concatenate([prompt, separator, answer], axis=1).astype(np.int64)  # (n, seq_len + 1)
    assert sequence.shape[1] == task.seq_len + 1
    inputs = sequence[:, :-1].copy()
    targets = sequence[:, 1:].copy()
    targets[:, : task.prompt_len - 1] = IGNORE_INDEX  # these targets are still prompt tokens
    return inputs, targets


def _is_test(digits):
    """Whether each row of `digits` (N, K) is a test input: a fixed hash, TEST_FRACTION of inputs."""
    powers = np.uint64(1_000_003) ** np.arange(digits.shape[1], dtype=np.uint64)  # wraps mod 2**64
    h = (digits.astype(np.uint64) + np.uint64(1)) * powers  # (N, K)
    h = h.sum(axis=1, dtype=np.uint64)  # (N,) polynomial hash; overflow wraps, which is intended
    # splitmix64's finalizer scrambles the bits so that nearby inputs land in either split.
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    h = h ^ (h >> np.uint64(31))
    return h % np.uint64(1_000_000) < np.uint64(TEST_FRACTION * 1_000_000)


def _sample_inputs(func, n, width, base, seed, split):
    """`n` rows of `width` digits in 0..base-1, all from `split` ("train" or "test")."""
    n = _check_int(func, "n", n, 1)
    if split not in ("train", "test"):
        raise ValueError(f"{func}: split must be 'train' or 'test', got {split!r}")
    want_test = split == "test"
    rng = np.random.default_rng(seed)
    if base**width <= _ENUMERATE_LIMIT:
        # Small input space: list every input and draw from the ones in this split.
        index = np.arange(base**width, dtype=np.int64)[:, None]  # (M, 1)
        every = index // base ** np.arange(width - 1, -1, -1, dtype=np.int64) % base  # (M, width)
        pool = every[_is_test(every) == want_test]
        if len(pool) == 0:
            raise ValueError(
                f"{func}: the {split} split is empty: only {base**width} possible inputs "
                f"(base {base}, {width} digits); use more digits or a larger vocab"
            )
        return pool[rng.integers(0, len(pool), size=n)]
    # Large input space: draw, keep this split's rows, repeat until there are n.
    fraction = TEST_FRACTION if want_test else 1 - TEST_FRACTION
    kept, have = [], 0
    while have < n:
        batch = rng.integers(0, base, size=(int((n - have) / fraction * 1.1) + 16, width))
        batch = batch[_is_test(batch) == want_test]
        kept.append(batch)
        have += len(batch)
    return np.concatenate(kept)[:n]
