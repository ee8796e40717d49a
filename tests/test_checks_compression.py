"""Module 16 checks: right solutions pass; stubs and typical mistakes fail with a useful report."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor, nn
from tinytorch.checks import (
    check_distillation_loss, check_low_rank_factorize, check_magnitude_prune, check_structured_prune,
)

from solutions import load_solution


# The notebook's own solutions, so the course as shipped is what passes the checks.
magnitude_prune, structured_prune, low_rank_factorize, distillation_loss = load_solution("16_compression", "magnitude_prune", "structured_prune", "low_rank_factorize", "distillation_loss")


CORRECT = [
    (check_magnitude_prune, magnitude_prune), (check_structured_prune, structured_prune),
    (check_low_rank_factorize, low_rank_factorize), (check_distillation_loss, distillation_loss),
]


@pytest.mark.parametrize("check, solution", CORRECT)
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


# ---------------------------------------------------------------------- magnitude

def make_magnitude_prune(count=round, score=np.abs, smallest=lambda s, k: np.argsort(s, axis=None, kind="stable")[:k]):
    """Magnitude pruning with one typical mistake: how k is counted, what is ranked, how the
    k smallest are found."""
    def prune(weight, amount):
        k = count(amount * weight.size)
        keep = np.ones(weight.size, dtype=bool)
        keep[smallest(score(weight), k)] = False
        return keep.reshape(weight.shape)
    return prune


def threshold(weight, amount):
    k = round(amount * weight.size)
    if k == 0:
        return np.ones(weight.shape, bool)
    t = np.sort(np.abs(weight), axis=None)[k - 1]
    return np.abs(weight) > t


def zeroes_the_weight_in_place(weight, amount):
    keep = magnitude_prune(weight, amount)
    weight[~keep] = 0
    return keep


# ---------------------------------------------------------------------- structured

def row_mask_only(weight, amount, norm=2):
    return structured_prune(weight, amount, norm).reshape(weight.shape[0], -1).all(axis=1)


def columns_instead_of_rows(weight, amount, norm=2):
    if weight.ndim != 2:
        return structured_prune(weight, amount, norm)
    return structured_prune(weight.T, amount, norm).T.copy()


def signed_row_sums(weight, amount, norm=2):
    norms = weight.reshape(weight.shape[0], -1).sum(axis=1)
    keep = np.ones(weight.shape[0], dtype=bool)
    keep[np.argsort(norms, kind="stable")[:round(amount * weight.shape[0])]] = False
    return np.broadcast_to(keep.reshape((-1,) + (1,) * (weight.ndim - 1)), weight.shape).copy()


# ---------------------------------------------------------------------- low rank

def smallest_singular_values(linear, rank):
    w = linear.weight.data.astype(np.float64)
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    first = nn.Linear(linear.in_features, rank, bias=False)
    second = nn.Linear(rank, linear.out_features, bias=linear.bias is not None)
    first.weight.data[...] = s[-rank:, None] * vt[-rank:]
    second.weight.data[...] = u[:, -rank:]
    if linear.bias is not None:
        second.bias.data[...] = linear.bias.data
    return nn.Sequential(first, second), 0.0


def forgets_the_bias(linear, rank):
    model, error = low_rank_factorize(linear, rank)
    if model[1].bias is not None:
        model[1].bias.data[...] = 0
    return model, error


def bias_on_the_first_layer(linear, rank):
    model, error = low_rank_factorize(linear, rank)
    first = nn.Linear(linear.in_features, rank)
    first.weight.data[...] = model[0].weight.data
    first.bias.data[...] = 0
    return nn.Sequential(first, model[1]), error


def unsquared_error(linear, rank):
    model, _ = low_rank_factorize(linear, rank)
    s = np.linalg.svd(linear.weight.data.astype(np.float64), compute_uv=False)
    return model, float(s[rank:].sum() / s.sum())


# ---------------------------------------------------------------------- distillation

def naive_log_softmax(z):
    e = z.exp()
    return (e / e.sum(dim=1, keepdim=True)).log()


def make_distillation_loss(t_squared=True, reverse_kl=False, log_softmax=lambda z: z.log_softmax(dim=1),
                           class_mean=False):
    """The distillation loss with one typical mistake."""
    def loss(student_logits, teacher_logits, targets, temperature=4.0, alpha=0.5):
        log_ps = log_softmax(student_logits / temperature)
        log_pt = log_softmax(teacher_logits / temperature)
        terms = log_ps.exp() * (log_ps - log_pt) if reverse_kl else log_pt.exp() * (log_pt - log_ps)
        kl = terms.mean() if class_mean else terms.sum() / student_logits.shape[0]
        return alpha * (temperature ** 2 if t_squared else 1) * kl + (1 - alpha) * tt.nn.functional.cross_entropy(
            student_logits, targets)
    return loss


def detached_distillation_loss(student_logits, teacher_logits, targets, temperature=4.0, alpha=0.5):
    value = distillation_loss(Tensor(student_logits.data), teacher_logits, targets, temperature, alpha)
    return Tensor(value.data)


@pytest.mark.parametrize("check, wrong, expected", [
    pytest.param(check_magnitude_prune, threshold, "sort instead", id="threshold_pruning_of_ties"),
    pytest.param(check_magnitude_prune, make_magnitude_prune(score=lambda w: w), "rank by magnitude |w|", id="signed_ranking"),
    pytest.param(check_magnitude_prune, make_magnitude_prune(count=int), "28.999999999999996",
                 id="int_instead_of_round"),
    pytest.param(check_magnitude_prune, make_magnitude_prune(
        smallest=lambda s, k: np.argpartition(s.ravel(), k - 1)[:k] if k else slice(None, -1)),
        "amount 0", id="amount_zero_with_argpartition"),
    pytest.param(check_magnitude_prune, zeroes_the_weight_in_place, "modified", id="zeroing_the_weight_in_place"),
    pytest.param(check_magnitude_prune, lambda w, a: w * magnitude_prune(w, a), "bool mask",
                 id="returning_the_pruned_weight"),
    pytest.param(check_structured_prune, row_mask_only, "one entry per row", id="row_mask_only"),
    pytest.param(check_structured_prune, columns_instead_of_rows, "", id="columns_instead_of_rows"),
    pytest.param(check_structured_prune, lambda w, a, norm=2: structured_prune(w, a, 2), "use the norm asked for",
                 id="ignoring_the_norm"),
    pytest.param(check_structured_prune, signed_row_sums, "", id="signed_row_sums"),
    pytest.param(check_structured_prune, lambda w, a, norm=2: magnitude_prune(w, a), "whole rows",
                 id="unstructured_mask"),
    pytest.param(check_low_rank_factorize, smallest_singular_values, "LARGEST singular values",
                 id="smallest_singular_values"),
    pytest.param(check_low_rank_factorize, forgets_the_bias, "original bias", id="forgetting_the_bias"),
    pytest.param(check_low_rank_factorize, bias_on_the_first_layer, "first Linear has a bias",
                 id="bias_on_the_first_layer"),
    pytest.param(check_low_rank_factorize, unsquared_error, "relative error", id="unsquared_error"),
    pytest.param(check_distillation_loss, make_distillation_loss(t_squared=False), "T**2",
                 id="missing_temperature_squared"),
    pytest.param(check_distillation_loss, make_distillation_loss(reverse_kl=True), "teacher's probabilities weight",
                 id="reversed_kl"),
    pytest.param(check_distillation_loss, make_distillation_loss(log_softmax=naive_log_softmax), "numerically unstable",
                 id="naive_softmax_overflows"),
    pytest.param(check_distillation_loss, make_distillation_loss(class_mean=True), "average over the batch",
                 id="mean_over_classes"),
    pytest.param(check_distillation_loss, detached_distillation_loss, "does not require grad",
                 id="numpy_loss_without_graph"),
])
def test_mistakes_fail(check, wrong, expected, failure):
    assert expected in failure(check, wrong)  # "": any failure report
