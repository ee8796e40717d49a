"""The module 07 checks pass on correct loop pieces and fail, with a useful report, on an
unsolved stub and on typical mistakes."""

import math

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.checks import CheckFailed
from tinytorch.checks.training import (
    check_clip_grad_norm, check_cosine_lr, check_evaluate, check_train_one_epoch,
)

from solutions import load_solution


# The notebook's own solutions, so the course as shipped is what passes the checks.
clip_grad_norm_, cosine_lr = load_solution("07_training", "clip_grad_norm_", "cosine_lr")


def make_train_one_epoch(zero_grad=True, weighted=True, train_mode=True, clip=True):
    def train_one_epoch(model, loss_fn, optimizer, loader, max_grad_norm=None):
        if train_mode:
            model.train()
        total, count, losses = 0.0, 0, []
        for x, y in loader:
            loss = loss_fn(model(x), y)
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            if max_grad_norm is not None and clip:
                clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            total += loss.item() * len(y)
            count += len(y)
            losses.append(loss.item())
        return total / count if weighted else sum(losses) / len(losses)
    return train_one_epoch


def make_evaluate(no_grad=True, eval_mode=True, restore=True, weighted=True):
    def evaluate(model, loader, loss_fn):
        was_training = model.training
        if eval_mode:
            model.eval()
        total = correct = count = 0
        batch_losses = []
        with tt.no_grad() if no_grad else tt.enable_grad():
            for x, y in loader:
                out = model(x)
                loss = loss_fn(out, y).item()
                total += loss * len(y)
                batch_losses.append(loss)
                correct += int((out.data.argmax(axis=1) == y.data).sum())
                count += len(y)
        if restore:
            model.train(was_training)
        loss = total / count if weighted else sum(batch_losses) / len(batch_losses)
        return {"loss": loss, "accuracy": correct / count}
    return evaluate


CORRECT = [
    (check_clip_grad_norm, clip_grad_norm_), (check_cosine_lr, cosine_lr),
    (check_train_one_epoch, make_train_one_epoch()), (check_evaluate, make_evaluate()),
]


@pytest.mark.parametrize("check, solution", CORRECT)
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


def test_exported():
    import tinytorch.checks as exported
    for check, _ in CORRECT:
        assert getattr(exported, check.__name__) is check


def test_reference_cosine_matches_the_library_scheduler():
    opt = tt.optim.SGD([tt.nn.Parameter(np.zeros(1))], lr=0.3)
    sched = tt.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12, eta_min=0.01)
    for step in range(13):
        assert math.isclose(opt.param_groups[0]["lr"], tt.optim.lr_scheduler.warmup_cosine_lr(step, 12, 0.3, 0.01))
        sched.step()


# ------------------------------------------------------------------ clip_grad_norm_ mistakes

def grad_norm(params):
    """The total norm of the gradients of `params` (each must have one), in float64."""
    return math.sqrt(sum(float((p.grad.data.astype(np.float64) ** 2).sum()) for p in params))


def scale_grads(params, factor):
    for p in params:
        if p.grad is not None:
            p.grad.data *= factor


def clips_each_parameter_separately(parameters, max_norm):
    total = 0.0
    for p in parameters:
        if p.grad is None:
            continue
        norm = float(np.sqrt((p.grad.data ** 2).sum()))
        total += norm ** 2
        if norm > max_norm:
            p.grad.data *= max_norm / norm
    return math.sqrt(total)


def scales_up_too(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = grad_norm(params)
    scale_grads(params, max_norm / (total + 1e-6))
    return total


def returns_the_norm_after_clipping(parameters, max_norm):
    params = list(parameters)
    clip_grad_norm_(params, max_norm)
    return grad_norm(p for p in params if p.grad is not None)


def iterates_a_generator_twice(parameters, max_norm):
    total = grad_norm(p for p in parameters if p.grad is not None)
    if total > max_norm:
        scale_grads(parameters, max_norm / (total + 1e-6))  # the generator is empty by now
    return total


def crashes_on_a_missing_grad(parameters, max_norm):
    params = list(parameters)
    total = grad_norm(params)  # AttributeError on a parameter without a gradient
    if total > max_norm:
        scale_grads(params, max_norm / (total + 1e-6))
    return total


@pytest.mark.parametrize("wrong, message", [
    pytest.param(clips_each_parameter_separately, "scaled together by one factor", id="each_parameter_separately"),
    pytest.param(scales_up_too, "below max_norm", id="that_also_scales_up"),
    pytest.param(returns_the_norm_after_clipping, "returned total norm", id="returns_the_norm_after_clipping"),
    pytest.param(iterates_a_generator_twice, "generator can be iterated only once", id="iterating_a_generator_twice"),
    pytest.param(crashes_on_a_missing_grad, "raised AttributeError", id="crashes_on_missing_grad"),
])
def test_clipping_mistakes(wrong, message, failure):
    failure(check_clip_grad_norm, wrong, message)


# ------------------------------------------------------------------ cosine_lr mistakes

def with_warmup(after_warmup):
    """A cosine_lr whose warm-up is right, lr_max * (step + 1) / warmup_steps, and whose
    decay is `after_warmup(step, total_steps, lr_max, lr_min, warmup_steps)`."""
    def schedule(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
        if step < warmup_steps:
            return lr_max * (step + 1) / warmup_steps
        return after_warmup(step, total_steps, lr_max, lr_min, warmup_steps)
    schedule.__name__ = after_warmup.__name__
    return schedule


@with_warmup
def without_lr_min_offset(step, total_steps, lr_max, lr_min, warmup_steps):
    progress = min((step - warmup_steps) / (total_steps - warmup_steps), 1.0)
    return lr_max * (1 + math.cos(math.pi * progress)) / 2


def warmup_from_zero(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    if step < warmup_steps:
        return lr_max * step / warmup_steps
    return cosine_lr(step, total_steps, lr_max, lr_min, warmup_steps)


@with_warmup
def rises_again_after_the_end(step, total_steps, lr_max, lr_min, warmup_steps):
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * progress)) / 2


@with_warmup
def ignores_warmup_in_progress(step, total_steps, lr_max, lr_min, warmup_steps):
    if step >= total_steps:
        return lr_min
    return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * step / total_steps)) / 2


@pytest.mark.parametrize("wrong, message", [
    pytest.param(without_lr_min_offset, r"lr_min=0.01, step \d+:", id="without_lr_min_offset"),
    pytest.param(warmup_from_zero, r"(?s)warmup_steps=5, step 0:.*\(step \+ 1\) / warmup_steps", id="warmup_from_zero"),
    pytest.param(rises_again_after_the_end, "stay at lr_min", id="that_rises_again_after_the_end"),
    pytest.param(ignores_warmup_in_progress, "warmup_steps=5, step 5", id="ignoring_warmup_in_progress"),
])
def test_cosine_mistakes(wrong, message, failure):
    failure(check_cosine_lr, wrong, message)


# ------------------------------------------------------------------ train_one_epoch mistakes

@pytest.mark.parametrize("mistake, message", [
    (dict(zero_grad=False), r"SGD, 50 samples.*parameter .* after the epoch"),
    (dict(weighted=False), r"average loss: expected"),
    (dict(train_mode=False), r"ran in eval mode"),
    (dict(clip=False), r"(?s)Adam with max_grad_norm.*clip after loss.backward"),
])
def test_train_one_epoch_mistakes(mistake, message, failure):
    failure(check_train_one_epoch, make_train_one_epoch(**mistake), message)


def test_train_one_epoch_returning_nothing():
    def silent(model, loss_fn, optimizer, loader, max_grad_norm=None):
        make_train_one_epoch()(model, loss_fn, optimizer, loader, max_grad_norm)

    with pytest.raises(CheckFailed, match="returned None"):
        check_train_one_epoch(silent)


def test_train_one_epoch_calling_the_model_twice_per_batch():
    def twice(model, loss_fn, optimizer, loader, max_grad_norm=None):
        model.train()
        for x, y in loader:
            model(x)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return 0.0

    with pytest.raises(CheckFailed, match="called 8 times, expected once per batch"):
        check_train_one_epoch(twice)


# ------------------------------------------------------------------ evaluate mistakes

@pytest.mark.parametrize("mistake, message", [
    (dict(no_grad=False), "recorded a graph"),
    (dict(eval_mode=False), "ran in training mode"),
    (dict(restore=False), "left in eval mode"),
    (dict(weighted=False), r"batches of 16 \(last batch of 2\): loss: expected"),
])
def test_evaluate_mistakes(mistake, message, failure):
    failure(check_evaluate, make_evaluate(**mistake), message)


def test_evaluate_returning_a_tuple():
    def as_tuple(model, loader, loss_fn):
        result = make_evaluate()(model, loader, loss_fn)
        return result["loss"], result["accuracy"]

    with pytest.raises(CheckFailed, match=r'expected a dict with "loss" and "accuracy", got tuple'):
        check_evaluate(as_tuple)
