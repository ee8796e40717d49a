"""Training recipes: a small GPT trained on an algorithmic sequence task, in seconds.

`train_reversal()` is the recipe the 2017 "attention" milestone and the tests use: a 2-layer,
32-wide GPT learns to reverse 8-digit sequences to >= 98 % exact-sequence accuracy on unseen
test inputs in 150 AdamW steps (seconds natively).
"""

import time
from dataclasses import dataclass, field

import numpy as np

from .. import grad_mode, seams
from ..random import manual_seed
from ..tensor import Tensor
from ..datasets import sequences
from .gpt import GPT, GPTConfig


@dataclass
class SequenceRun:
    """What a training run produced."""

    model: GPT
    task: sequences.SequenceTask
    test_accuracy: float  # fraction of test sequences whose whole answer is right
    seconds: float  # training time, without evaluation
    losses: list = field(default_factory=list)  # training loss at every step


def exact_match(model, inputs, targets, batch_size=500):
    """Fraction of rows of `inputs` (N, T) whose non-ignored `targets` are all predicted.

    Answers are teacher-forced, so this equals greedy generation from the prompt.
    """
    was_training = model.training
    model.eval()
    correct = 0.0
    with grad_mode.no_grad():
        for start in range(0, len(inputs), batch_size):
            logits, _ = model(Tensor(inputs[start:start + batch_size]))
            rows = len(logits)
            correct += rows * sequences.exact_match_accuracy(logits, targets[start:start + batch_size])
    model.train(was_training)
    return correct / len(inputs)


def train_sequence_model(task, train, test, n_embd=32, n_layer=2, n_head=4, steps=150, batch_size=64,
                         lr=5e-3, seed=0, log_every=0, log=print):
    """Train a GPT sized for `task` on `train` = (inputs, targets) arrays; score it on `test`.

    Deterministic for a given `seed` (model init and batch order). Every `log_every` steps
    (0: never) the step and loss are passed to `log`.
    """
    manual_seed(seed)
    config = GPTConfig(vocab_size=task.vocab_size, block_size=task.seq_len, n_layer=n_layer,
                       n_head=n_head, n_embd=n_embd)
    model = GPT(config)
    optimizer = seams.implementation("AdamW")(model.parameters(), lr=lr, weight_decay=0.0)
    inputs, targets = train
    order = np.random.default_rng(seed).integers(0, len(inputs), size=(steps, batch_size))  # (steps, B)
    losses = []
    start = time.perf_counter()
    for step, rows in enumerate(order):
        _, loss = model(Tensor(inputs[rows]), Tensor(targets[rows]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if log_every and (step % log_every == 0 or step == steps - 1):
            log(f"step {step:4d}  loss {losses[-1]:.4f}")
    seconds = time.perf_counter() - start
    return SequenceRun(model, task, exact_match(model, *test), seconds, losses)


def train_reversal(length=8, train_size=10_000, test_size=1_000, seed=0, **options):
    """Train a small GPT to reverse `length`-digit sequences (see train_sequence_model for options)."""
    task = sequences.reversal_task(length)
    train = sequences.make_reversal(train_size, length=length, seed=seed, split="train")
    test = sequences.make_reversal(test_size, length=length, seed=seed + 1, split="test")
    return train_sequence_model(task, train, test, seed=seed, **options)
