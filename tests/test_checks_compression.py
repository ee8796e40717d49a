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
    (check_magnitude_prune, magnitude_prune),
    (check_structured_prune, structured_prune),
    (check_low_rank_factorize, low_rank_factorize),
    (check_distillation_loss, distillation_loss),
]


@pytest.mark.parametrize("check, solution", CORRECT)
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


# ---------------------------------------------------------------------- magnitude

def test_threshold_pruning_of_ties_fails(failure):
    def threshold(weight, amount):
        k = round(amount * weight.size)
        if k == 0:
            return np.ones(weight.shape, bool)
        t = np.sort(np.abs(weight), axis=None)[k - 1]
        return np.abs(weight) > t

    assert "sort instead" in failure(check_magnitude_prune, threshold)


def test_signed_ranking_fails(failure):
    def signed(weight, amount):
        k = round(amount * weight.size)
        keep = np.ones(weight.size, dtype=bool)
        keep[np.argsort(weight, axis=None, kind="stable")[:k]] = False
        return keep.reshape(weight.shape)

    assert "np.abs(weight)" in failure(check_magnitude_prune, signed)


def test_int_instead_of_round_fails(failure):
    def truncating(weight, amount):
        k = int(amount * weight.size)
        keep = np.ones(weight.size, dtype=bool)
        keep[np.argsort(np.abs(weight), axis=None, kind="stable")[:k]] = False
        return keep.reshape(weight.shape)

    assert "28.999999999999996" in failure(check_magnitude_prune, truncating)


def test_amount_zero_with_argpartition_fails(failure):
    def partition(weight, amount):
        k = round(amount * weight.size)
        keep = np.ones(weight.size, dtype=bool)
        keep[np.argpartition(np.abs(weight).ravel(), k - 1)[:k] if k else slice(None, -1)] = False
        return keep.reshape(weight.shape)

    assert "amount 0" in failure(check_magnitude_prune, partition)


def test_zeroing_the_weight_in_place_fails(failure):
    def in_place(weight, amount):
        keep = magnitude_prune(weight, amount)
        weight[~keep] = 0
        return keep

    assert "modified" in failure(check_magnitude_prune, in_place)


def test_returning_the_pruned_weight_fails(failure):
    assert "bool mask" in failure(check_magnitude_prune, lambda w, a: w * magnitude_prune(w, a))


# ---------------------------------------------------------------------- structured

def test_row_mask_only_fails(failure):
    def rows(weight, amount, norm=2):
        return structured_prune(weight, amount, norm).reshape(weight.shape[0], -1).all(axis=1)

    assert "one entry per row" in failure(check_structured_prune, rows)


def test_columns_instead_of_rows_fails(failure):
    def columns(weight, amount, norm=2):
        if weight.ndim != 2:
            return structured_prune(weight, amount, norm)
        return structured_prune(weight.T, amount, norm).T.copy()

    failure(check_structured_prune, columns)


def test_ignoring_the_norm_fails(failure):
    message = failure(check_structured_prune, lambda w, a, norm=2: structured_prune(w, a, 2))
    assert "use the norm asked for" in message


def test_signed_row_sums_fail(failure):
    def signed(weight, amount, norm=2):
        norms = weight.reshape(weight.shape[0], -1).sum(axis=1)
        keep = np.ones(weight.shape[0], dtype=bool)
        keep[np.argsort(norms, kind="stable")[:round(amount * weight.shape[0])]] = False
        return np.broadcast_to(keep.reshape((-1,) + (1,) * (weight.ndim - 1)), weight.shape).copy()

    failure(check_structured_prune, signed)


def test_unstructured_mask_fails(failure):
    assert "whole rows" in failure(check_structured_prune, lambda w, a, norm=2: magnitude_prune(w, a))


# ---------------------------------------------------------------------- low rank

def test_smallest_singular_values_fail(failure):
    def smallest(linear, rank):
        w = linear.weight.data.astype(np.float64)
        u, s, vt = np.linalg.svd(w, full_matrices=False)
        first = nn.Linear(linear.in_features, rank, bias=False)
        second = nn.Linear(rank, linear.out_features, bias=linear.bias is not None)
        first.weight.data[...] = s[-rank:, None] * vt[-rank:]
        second.weight.data[...] = u[:, -rank:]
        if linear.bias is not None:
            second.bias.data[...] = linear.bias.data
        return nn.Sequential(first, second), 0.0

    assert "LARGEST singular values" in failure(check_low_rank_factorize, smallest)


def test_forgetting_the_bias_fails(failure):
    def no_bias(linear, rank):
        model, error = low_rank_factorize(linear, rank)
        if model[1].bias is not None:
            model[1].bias.data[...] = 0
        return model, error

    assert "original bias" in failure(check_low_rank_factorize, no_bias)


def test_bias_on_the_first_layer_fails(failure):
    def both_biases(linear, rank):
        model, error = low_rank_factorize(linear, rank)
        first = nn.Linear(linear.in_features, rank)
        first.weight.data[...] = model[0].weight.data
        first.bias.data[...] = 0
        return nn.Sequential(first, model[1]), error

    assert "first Linear has a bias" in failure(check_low_rank_factorize, both_biases)


def test_unsquared_error_fails(failure):
    def linear_error(linear, rank):
        model, _ = low_rank_factorize(linear, rank)
        s = np.linalg.svd(linear.weight.data.astype(np.float64), compute_uv=False)
        return model, float(s[rank:].sum() / s.sum())

    assert "relative error" in failure(check_low_rank_factorize, linear_error)


# ---------------------------------------------------------------------- distillation

def test_missing_temperature_squared_fails(failure):
    def no_t2(student_logits, teacher_logits, targets, temperature=4.0, alpha=0.5):
        log_ps = (student_logits / temperature).log_softmax(dim=1)
        log_pt = (teacher_logits / temperature).log_softmax(dim=1)
        kl = (log_pt.exp() * (log_pt - log_ps)).sum() / student_logits.shape[0]
        return alpha * kl + (1 - alpha) * tt.nn.functional.cross_entropy(student_logits, targets)

    assert "T**2" in failure(check_distillation_loss, no_t2)


def test_reversed_kl_fails(failure):
    def reverse(student_logits, teacher_logits, targets, temperature=4.0, alpha=0.5):
        log_ps = (student_logits / temperature).log_softmax(dim=1)
        log_pt = (teacher_logits / temperature).log_softmax(dim=1)
        kl = (log_ps.exp() * (log_ps - log_pt)).sum() / student_logits.shape[0]
        return alpha * temperature ** 2 * kl + (1 - alpha) * tt.nn.functional.cross_entropy(student_logits, targets)

    assert "teacher's probabilities weight" in failure(check_distillation_loss, reverse)


def test_naive_softmax_overflows(failure):
    def naive(student_logits, teacher_logits, targets, temperature=4.0, alpha=0.5):
        def log_softmax(z):
            e = z.exp()
            return (e / e.sum(dim=1, keepdim=True)).log()

        log_ps = log_softmax(student_logits / temperature)
        log_pt = log_softmax(teacher_logits / temperature)
        kl = (log_pt.exp() * (log_pt - log_ps)).sum() / student_logits.shape[0]
        return alpha * temperature ** 2 * kl + (1 - alpha) * tt.nn.functional.cross_entropy(student_logits, targets)

    assert "numerically unstable" in failure(check_distillation_loss, naive)


def test_mean_over_classes_fails(failure):
    def class_mean(student_logits, teacher_logits, targets, temperature=4.0, alpha=0.5):
        log_ps = (student_logits / temperature).log_softmax(dim=1)
        log_pt = (teacher_logits / temperature).log_softmax(dim=1)
        kl = (log_pt.exp() * (log_pt - log_ps)).mean()
        return alpha * temperature ** 2 * kl + (1 - alpha) * tt.nn.functional.cross_entropy(student_logits, targets)

    assert "average over the batch" in failure(check_distillation_loss, class_mean)


def test_numpy_loss_without_graph_fails(failure):
    def detached(student_logits, teacher_logits, targets, temperature=4.0, alpha=0.5):
        value = distillation_loss(Tensor(student_logits.data), teacher_logits, targets, temperature, alpha)
        return Tensor(value.data)

    assert "does not require grad" in failure(check_distillation_loss, detached)
