"""Module 04 checks: right losses pass; stubs and typical mistakes (unstable log-sum-exp,
sum instead of mean, wrong indexing, cut gradients) fail with a useful report."""

import numpy as np
import pytest

from tinytorch import Tensor
from tinytorch.checks import (
    CheckFailed, check_binary_cross_entropy_with_logits, check_cross_entropy, check_log_softmax, check_mse_loss,
)

from solutions import load_solution


# The notebook's own solutions, so the course as shipped is what passes the checks.
mse_loss, log_softmax, cross_entropy, bce_with_logits = load_solution("04_losses", "mse_loss", "log_softmax", "cross_entropy", "binary_cross_entropy_with_logits")


@pytest.mark.parametrize("check, solution", [
    (check_mse_loss, mse_loss), (check_log_softmax, log_softmax), (check_cross_entropy, cross_entropy),
    (check_binary_cross_entropy_with_logits, bce_with_logits),
])
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


def test_mse_mistakes():
    with pytest.raises(CheckFailed, match="over every element, not the sum"):
        check_mse_loss(lambda x, y: ((x - y) ** 2).sum())
    with pytest.raises(CheckFailed, match="does not require grad"):
        check_mse_loss(lambda x, y: Tensor(((x.data - y.data) ** 2).mean()))
    with pytest.raises(CheckFailed, match="expected dtype torch.float32, got torch.float64"):
        check_mse_loss(lambda x, y: Tensor(np.float64(1.0)) * ((x - y) ** 2).mean() if x.dtype == np.float32 else mse_loss(x, y))


def test_unstable_log_softmax_fails():
    naive = lambda x, dim=-1: x - x.exp().sum(dim, keepdim=True).log()
    with pytest.raises(CheckFailed, match="numerically unstable"):
        check_log_softmax(naive)
    log_of_softmax = lambda x, dim=-1: (x.exp() / x.exp().sum(dim, keepdim=True)).log()
    with pytest.raises(CheckFailed, match="numerically unstable"):
        check_log_softmax(log_of_softmax)


def test_log_softmax_ignoring_dim_fails():
    with pytest.raises(CheckFailed, match="dim=0 of"):
        check_log_softmax(lambda x, dim=-1: log_softmax(x, -1))


def test_cross_entropy_mistakes():
    # the whole (N, N) matrix of picks instead of one entry per row
    def column_pick(logits, target):
        return -log_softmax(logits, dim=1)[:, target.data].mean()

    with pytest.raises(CheckFailed, match=r"logits \(4, 3\)"):
        check_cross_entropy(column_pick)
    with pytest.raises(CheckFailed, match="not log_probs"):
        check_cross_entropy(lambda logits, target: -log_softmax(logits, 1)[np.arange(len(target.data)), target.data].sum())
    # unstable: log of a naive softmax overflows on logits of 1000
    def naive(logits, target):
        probs = logits.exp() / logits.exp().sum(1, keepdim=True)
        return -probs.log()[np.arange(len(target.data)), target.data].mean()

    with pytest.raises(CheckFailed, match="numerically unstable"):
        check_cross_entropy(naive)


def test_bce_mistakes():
    # sigmoid, then the textbook formula: log(0) for saturated logits
    def via_sigmoid(x, y):
        p = 1 / (1 + (-x).exp())
        return -(y * p.log() + (1 - y) * (1 - p).log()).mean()

    with pytest.raises(CheckFailed, match="numerically unstable|large logits"):
        check_binary_cross_entropy_with_logits(via_sigmoid)
    # stable sigmoid, then logs: no overflow, but log(0) = -inf at +-100
    def stable_sigmoid_then_log(x, y):
        e = (-x.abs()).exp()
        p = Tensor(np.where(x.data >= 0, 1, 0).astype(np.float32)) * (1 / (1 + e)) + \
            Tensor(np.where(x.data >= 0, 0, 1).astype(np.float32)) * (e / (1 + e))
        return -(y * p.log() + (1 - y) * (1 - p).log()).mean()

    with np.errstate(divide="ignore"):
        with pytest.raises(CheckFailed, match=r"large logits \(4,\) of \+-100|logits near"):
            check_binary_cross_entropy_with_logits(stable_sigmoid_then_log)
    with pytest.raises(CheckFailed, match=r"logits \(8,\)"):
        check_binary_cross_entropy_with_logits(lambda x, y: (x.relu() - x * y + ((-x.abs()).exp() + 1).log()).sum())
