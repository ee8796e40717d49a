"""Algorithmic sequence tasks: correct targets, disjoint splits, determinism, accuracy, errors."""

import numpy as np
import pytest

import tinytorch
from tinytorch.datasets.sequences import (
    IGNORE_INDEX,
    addition_task,
    exact_match_accuracy,
    make_addition,
    make_reversal,
    make_sorting,
    reversal_task,
    sorting_task,
)


def full_sequences(inputs, targets):
    """The whole token sequence: inputs plus the last target."""
    return np.concatenate([inputs, targets[:, -1:]], axis=1)


def check_layout(task, inputs, targets):
    assert inputs.dtype == np.int64 and targets.dtype == np.int64
    assert inputs.shape == targets.shape == (len(inputs), task.seq_len)
    assert ((inputs >= 0) & (inputs < task.vocab_size)).all()
    sequence = full_sequences(inputs, targets)
    # Next-token pairs: targets are inputs shifted by one, the prompt part ignored.
    assert (targets[:, : task.prompt_len - 1] == IGNORE_INDEX).all()
    np.testing.assert_array_equal(targets[:, task.prompt_len - 1 :], sequence[:, task.prompt_len :])
    np.testing.assert_array_equal(inputs[:, 1:], sequence[:, 1:-1])
    return sequence[:, : task.prompt_len], sequence[:, task.prompt_len :]  # prompt, answer


@pytest.mark.parametrize(
    "length, vocab, split",
    [(8, 10, "train"), (8, 10, "test"), (3, 10, "train"), (3, 10, "test"), (5, 20, "test"), (1, 2, "train")],
)
def test_reversal_targets_are_reversed_inputs(length, vocab, split):
    task = reversal_task(length, vocab)
    inputs, targets = make_reversal(300, length=length, vocab=vocab, seed=1, split=split)
    prompt, answer = check_layout(task, inputs, targets)
    assert (prompt[:, -1] == vocab).all()  # separator
    assert (prompt[:, :-1] < vocab).all()
    np.testing.assert_array_equal(answer, prompt[:, -2::-1])
    assert task.answer_len == length


@pytest.mark.parametrize("length, vocab", [(8, 10), (4, 3), (6, 50)])
def test_sorting_targets_are_sorted_inputs(length, vocab):
    task = sorting_task(length, vocab)
    inputs, targets = make_sorting(300, length=length, vocab=vocab, seed=2)
    prompt, answer = check_layout(task, inputs, targets)
    assert (prompt[:, -1] == vocab).all()
    np.testing.assert_array_equal(answer, np.sort(prompt[:, :-1], axis=1))
    assert not (prompt[:, :-1] == answer).all()  # the inputs are not already sorted


def digits_to_int(digits):
    return digits @ 10 ** np.arange(digits.shape[1] - 1, -1, -1)


@pytest.mark.parametrize("digits", [1, 2, 4, 9])
@pytest.mark.parametrize("reverse_answer", [True, False])
def test_addition_targets_are_sums(digits, reverse_answer):
    task = addition_task(digits, reverse_answer)
    inputs, targets = make_addition(400, digits=digits, seed=3, reverse_answer=reverse_answer)
    prompt, answer = check_layout(task, inputs, targets)
    assert (prompt[:, digits] == 10).all() and (prompt[:, -1] == 11).all()  # "+" and "="
    a, b = digits_to_int(prompt[:, :digits]), digits_to_int(prompt[:, digits + 1 : -1])
    assert answer.shape[1] == digits + 1
    c = digits_to_int(answer[:, ::-1] if reverse_answer else answer)
    np.testing.assert_array_equal(c, a + b)
    assert (a + b >= 10**digits).any()  # carries into the extra digit occur


def test_decode_prints_tokens():
    task = addition_task(2)
    inputs, targets = make_addition(1, digits=2, seed=0)
    text = task.decode(inputs[0])
    assert text[2] == "+" and text[5] == "=" and len(text) == task.seq_len
    assert task.decode(targets[0]).startswith("_" * (task.prompt_len - 1))
    assert reversal_task(2, 12).decode([11, 3, 12]) == "11 3 |"  # multi-character tokens get spaces
    with pytest.raises(ValueError, match=r"token id 12 is out of range for reversal \(vocab_size 12\)"):
        reversal_task(2, 11).decode([12])


def rows(array):
    return set(map(tuple, array.tolist()))


@pytest.mark.parametrize(
    "make, kwargs",
    [
        (make_reversal, dict(length=3, vocab=10)),  # 1000 inputs: listed, many repeats
        (make_reversal, dict(length=8, vocab=10)),  # sampled
        (make_sorting, dict(length=4, vocab=5)),
        (make_addition, dict(digits=2)),
        (make_addition, dict(digits=5)),
    ],
)
def test_train_and_test_splits_are_disjoint(make, kwargs):
    train = np.concatenate([make(2000, seed=s, split="train", **kwargs)[0] for s in range(3)])
    test = np.concatenate([make(2000, seed=s, split="test", **kwargs)[0] for s in range(3, 6)])
    assert rows(train).isdisjoint(rows(test))
    assert len(rows(test)) > 50


def test_test_split_is_about_a_fifth_of_all_inputs():
    # 1000 possible inputs; drawing 20000 from each split sees every one of them.
    train = rows(make_reversal(20000, length=3, vocab=10, split="train")[0])
    test = rows(make_reversal(20000, length=3, vocab=10, split="test")[0])
    assert len(train) + len(test) == 1000
    assert 150 < len(test) < 250


def test_generation_is_seeded():
    a = make_reversal(50, seed=7)
    b = make_reversal(50, seed=7)
    c = make_reversal(50, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_exact_match_accuracy():
    inputs, targets = make_reversal(10, length=4, seed=0)
    pred = np.where(targets == IGNORE_INDEX, 0, targets)
    assert exact_match_accuracy(pred, targets) == 1.0
    pred[3, 0] = 7  # a prompt position: ignored
    assert exact_match_accuracy(pred, targets) == 1.0
    pred[3, -1] = (pred[3, -1] + 1) % 10  # one wrong answer token fails the whole row
    pred[5, 4] = (pred[5, 4] + 1) % 10
    assert exact_match_accuracy(pred, targets) == 0.8
    logits = np.eye(11, dtype=np.float32)[pred]  # (N, T, V) one-hot "logits"
    assert exact_match_accuracy(logits, targets) == 0.8
    assert exact_match_accuracy(tinytorch.tensor(logits), tinytorch.tensor(targets)) == 0.8


def test_exact_match_accuracy_errors():
    _, targets = make_reversal(4, length=3)
    with pytest.raises(ValueError, match=r"pred shape \(4, 5\) does not match target shape \(4, 6\)"):
        exact_match_accuracy(np.zeros((4, 5), dtype=np.int64), targets)
    with pytest.raises(ValueError, match="need at least one example"):
        exact_match_accuracy(np.zeros((0, 6)), np.zeros((0, 6)))


def test_empty_split_error():
    with pytest.raises(ValueError, match=r"make_reversal: the test split is empty: only 2 possible inputs"):
        make_reversal(5, length=1, vocab=2, split="test")


def test_argument_errors():
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
        make_reversal(5, split="val")
    with pytest.raises(ValueError, match="make_sorting: n must be >= 1, got 0"):
        make_sorting(0)
    with pytest.raises(TypeError, match="make_reversal: n must be an int, got 2.5"):
        make_reversal(2.5)
    with pytest.raises(ValueError, match="reversal_task: vocab must be >= 2, got 1"):
        make_reversal(5, vocab=1)
    with pytest.raises(ValueError, match="sorting_task: length must be >= 1, got 0"):
        make_sorting(5, length=0)
    with pytest.raises(ValueError, match="addition_task: digits must be <= 18, got 19"):
        make_addition(5, digits=19)


def test_ignore_index_matches_pytorch_cross_entropy():
    torch = pytest.importorskip("torch")
    inputs, targets = make_reversal(8, length=4, seed=0)
    logits = torch.randn(8, 8, 11)
    cross_entropy = torch.nn.functional.cross_entropy
    loss = cross_entropy(logits.reshape(-1, 11), torch.from_numpy(targets).reshape(-1))
    answer = torch.from_numpy(targets[:, 3:].copy())  # the answer positions only
    expected = cross_entropy(logits[:, 3:].reshape(-1, 11), answer.reshape(-1))
    torch.testing.assert_close(loss, expected)


def test_tinytorch_cross_entropy_ignores_the_prompt():
    from tinytorch.nn import functional as F

    _, targets = make_reversal(8, length=4, seed=0)
    logits = np.random.default_rng(0).normal(size=(8, 8, 11)).astype(np.float32)
    def loss_of(logits, targets):
        return F.cross_entropy(tinytorch.tensor(logits.reshape(-1, 11)), tinytorch.tensor(targets.reshape(-1)))

    loss, answer = loss_of(logits, targets), loss_of(logits[:, 4:], targets[:, 4:])
    np.testing.assert_allclose(loss.item(), answer.item(), rtol=1e-6)
