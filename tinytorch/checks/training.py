"""Checks for module 07 (training): the learner's loop pieces against `tinytorch.train`,
`tinytorch.nn.utils.clip_grad_norm_` and `tinytorch.optim.lr_scheduler` (`warmup_cosine_lr`,
which without warmup follows `CosineAnnealingLR`).

Models are built twice with the same weights; the learner's function runs on one copy and the
library's on the other, with the same batches (and the same dropout masks: the global
generator is reseeded before each run).
"""

import math

import numpy as np

from .. import grad_mode, seams
from .. import nn
from ..data import DataLoader, TensorDataset
from ..optim import SGD, Adam
from ..optim.lr_scheduler import CosineAnnealingLR
from ..random import manual_seed
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, fail, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'clip_grad_norm_': (
        'measure all gradients together as one long vector; if it is longer than max_norm, shrink every gradient by the same factor',
        'one total norm over all parameters that have a gradient; returns that norm (before clipping)',
        'total = sqrt(sum of squares of every gradient entry); if total > max_norm, multiply each gradient in place by max_norm / (total + 1e-6)',
    ),
    'cosine_lr': (
        'the learning rate rises linearly during warmup, then follows half a cosine down to the minimum',
        'a function of the step number only: three regions (warmup, decay, after the end)',
        'warmup: max_lr (step+1) / warmup; decay: min_lr + (max_lr - min_lr) (1 + cos(pi progress)) / 2; after the end: min_lr',
    ),
    'train_one_epoch': (
        'one pass over the loader: forward, loss, backward, (clip), step, for every batch',
        "the returned loss is the mean per sample: weight each batch's loss by its size",
        'put the model in train mode; zero the gradients before each backward; sum loss times batch size and divide by the number of samples',
    ),
    'evaluate': (
        'measure loss and accuracy without training: no gradients, eval mode, and restore the mode afterwards',
        'the mean loss per sample and the fraction of rows whose largest logit is the label',
        'sum loss times batch size and the count of correct argmax predictions over all batches, divide both by the number of samples',
    ),
})

exercise = registry.module("07_training", "Training")


# ---------------------------------------------------------------------------- fixtures

class _Probe(nn.Module):
    """A small classifier that records, on each forward, whether gradients were recorded and
    whether it was in training mode."""

    def __init__(self, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, 3))
        self.calls = []

    def forward(self, x):
        self.calls.append((grad_mode.is_grad_enabled(), self.training))
        return self.net(x)


def _models(dropout=0.0):
    manual_seed(11)
    mine, ref = _Probe(dropout), _Probe(dropout)
    ref.load_state_dict(mine.state_dict())
    return mine, ref


def _loader(n=50, batch_size=16, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = rng.integers(0, 3, n)
    return DataLoader(TensorDataset(Tensor(x), Tensor(y)), batch_size=batch_size, shuffle=False)


def _compare_models(name, case, mine, ref, hint):
    for (key, p), q in zip(mine.named_parameters(), ref.parameters()):
        assert_close(name, f"{case}, parameter {key} after the epoch", p, q, hint, atol=1e-6, rtol=1e-5)


def _as_float(name, case, value, what):
    try:
        value = float(value.item() if isinstance(value, Tensor) else value)
    except (TypeError, ValueError):
        fail(name, case, f"expected {what} as a number, got {type(value).__name__}")
    return value


def _assert_number(name, case, got, expected, hint, what):
    if not math.isclose(got, expected, rel_tol=1e-5, abs_tol=1e-6):
        fail(name, case, f"{what}: expected {expected:.6f}, got {got:.6f}", hint)


# ---------------------------------------------------------------------------- clip_grad_norm_

@exercise("clip_grad_norm_", seam="clip_grad_norm_")
def check_clip_grad_norm(clip_grad_norm_):
    """clip_grad_norm_(parameters, max_norm) -> total norm before clipping; scales all gradients
    together (in place) so their joint L2 norm is at most max_norm."""
    name = "clip_grad_norm_"
    hint = ("total = sqrt(sum of squares of all gradients together); if total > max_norm, multiply "
            "every gradient by max_norm / (total + 1e-6); return total")
    rng = np.random.default_rng(4)
    shapes = [(3, 4), (4,), (2, 2)]
    cases = [
        ("joint norm above max_norm (gradients scaled down)", 1.0, 3.0, False, False),
        ("joint norm below max_norm (nothing changes)", 100.0, 1.0, False, False),
        ("one parameter has no gradient (grad None)", 0.5, 2.0, True, False),
        ("parameters given as a generator, like model.parameters()", 0.5, 2.0, False, True),
        ("float64 gradients, max_norm=2.5", 2.5, 5.0, False, False),
    ]
    for case, max_norm, scale, with_none, as_generator in cases:
        dtype = np.float64 if "float64" in case else np.float32
        grads = [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]
        if with_none:
            grads[1] = None
        mine = [nn.Parameter(np.zeros(s, dtype=dtype)) for s in shapes]
        ref = [nn.Parameter(np.zeros(s, dtype=dtype)) for s in shapes]
        for params in (mine, ref):
            for p, g in zip(params, grads):
                p.grad = None if g is None else Tensor(g.copy())
        argument = (p for p in mine) if as_generator else mine
        got = run_learner(name, case, clip_grad_norm_, argument, max_norm)
        expected = float(seams.tinytorch("clip_grad_norm_")(ref, max_norm).item())
        if got is None:
            fail(name, case, "returned None; return the total norm (before clipping)", hint)
        got = _as_float(name, case, got, "the total norm")
        _assert_number(name, case, got, expected, hint, "returned total norm (before clipping)")
        for i, (p, q) in enumerate(zip(mine, ref)):
            if q.grad is None:
                if p.grad is not None:
                    fail(name, case, f"parameter {i} had no gradient but has one now", "skip parameters whose grad is None")
                continue
            note = " (gradients must be scaled together by one factor, not each to max_norm)" if max_norm < scale else ""
            assert_close(name, f"{case}, gradient {i}{note}", p.grad, q.grad,
                         "a generator can be iterated only once: make a list of it first"
                         if as_generator else hint, atol=1e-6)
            if p.grad.data.dtype != q.grad.data.dtype:
                fail(name, case, f"gradient {i} changed dtype from {q.grad.data.dtype} to {p.grad.data.dtype}")
    passed(name, len(cases), ["above", "below", "grad None", "generator", "float64"])


# ---------------------------------------------------------------------------- cosine_lr

@exercise("cosine_lr", seam="cosine_lr")
def check_cosine_lr(cosine_lr):
    """cosine_lr(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0) -> the learning rate."""
    name = "cosine_lr"
    hint = ("after warmup, progress = (step - warmup_steps) / (total_steps - warmup_steps) and "
            "lr = lr_min + (lr_max - lr_min) * (1 + cos(pi * progress)) / 2; lr_min from total_steps on")
    warmup_hint = "during warmup (step < warmup_steps): lr = lr_max * (step + 1) / warmup_steps"
    cases = [
        ("total_steps=10, lr_max=0.1", (10, 0.1, 0.0, 0)),
        ("total_steps=100, lr_max=1.0, lr_min=0.01", (100, 1.0, 0.01, 0)),
        ("total_steps=20, lr_max=0.5, warmup_steps=5", (20, 0.5, 0.0, 5)),
        ("total_steps=7, lr_max=3e-3, lr_min=1e-4, warmup_steps=1", (7, 3e-3, 1e-4, 1)),
        ("total_steps=1, lr_max=0.2", (1, 0.2, 0.0, 0)),
    ]
    for case, (total, lr_max, lr_min, warmup) in cases:
        # tinytorch's CosineAnnealingLR gives the same curve without warmup (up to total_steps)
        library = None
        if warmup == 0:
            optimizer = SGD([nn.Parameter(np.zeros(1))], lr=lr_max)
            scheduler = CosineAnnealingLR(optimizer, T_max=total, eta_min=lr_min)
            library = []
            for _ in range(total + 1):
                library.append(optimizer.param_groups[0]["lr"])
                scheduler.step()
        for step in range(total + 3):
            where = f"{case}, step {step}"
            got = run_learner(name, where, cosine_lr, step, total, lr_max, lr_min, warmup)
            got = _as_float(name, where, got, "the learning rate")
            expected = seams.tinytorch("cosine_lr")(step, total, lr_max, lr_min, warmup)
            if library is not None and step <= total:
                assert math.isclose(expected, library[step], rel_tol=1e-9, abs_tol=1e-12)
            if step >= total:
                step_hint = "from step total_steps on, stay at lr_min"
            elif step < warmup:
                step_hint = warmup_hint
            else:
                step_hint = hint
            _assert_number(name, where, got, expected, step_hint, "learning rate")
    passed(name, len(cases), ["plain", "lr_min", "warmup", "short warmup", "one step"])
    print("  (without warmup, the same values as tinytorch's CosineAnnealingLR)")


# ---------------------------------------------------------------------------- train_one_epoch

@exercise("train_one_epoch", seam="train_one_epoch")
def check_train_one_epoch(train_one_epoch):
    """train_one_epoch(model, loss_fn, optimizer, loader, max_grad_norm=None) -> the average
    training loss per sample; one optimizer step per batch, in training mode."""
    name = "train_one_epoch"
    loss_fn = nn.CrossEntropyLoss()
    cases = [
        ("SGD, 50 samples in batches of 16 (last batch of 2)", dict(dropout=0.0), lambda ps: SGD(ps, lr=0.5), None, False),
        ("model in eval mode before the call, with Dropout(0.3)", dict(dropout=0.3), lambda ps: SGD(ps, lr=0.2), None, True),
        ("Adam with max_grad_norm=0.1", dict(dropout=0.0), lambda ps: Adam(ps, lr=0.01), 0.1, False),
    ]
    hints = {
        "loss": "return the mean loss per sample: sum of loss.item() * batch size, divided by the number of samples",
        "params": "per batch: outputs = model(x); loss = loss_fn(outputs, y); optimizer.zero_grad(); loss.backward(); "
                  "(clip); optimizer.step()",
    }
    for case, model_kwargs, make_optimizer, max_norm, starts_in_eval in cases:
        mine, ref = _models(**model_kwargs)
        if starts_in_eval:
            mine.eval()
            ref.eval()
        my_opt, ref_opt = make_optimizer(mine.parameters()), make_optimizer(ref.parameters())
        # a gradient left over from before: zero_grad must clear it before the first backward
        for p, q in zip(mine.parameters(), ref.parameters()):
            p.grad, q.grad = Tensor(np.ones_like(p.data)), Tensor(np.ones_like(q.data))
        manual_seed(5)
        args = (mine, loss_fn, my_opt, _loader())
        got = run_learner(name, case, lambda: train_one_epoch(*args) if max_norm is None
                          else train_one_epoch(*args, max_grad_norm=max_norm))
        manual_seed(5)
        expected = seams.tinytorch("train_one_epoch")(ref, loss_fn, ref_opt, _loader(), max_norm)
        batches = len(_loader())
        if len(mine.calls) != batches:
            fail(name, case, f"the model was called {len(mine.calls)} times, expected once per batch ({batches})",
                 hints["params"])
        if not all(training for _, training in mine.calls):
            fail(name, case, "the model ran in eval mode", "call model.train() at the start: dropout must be active")
        if not all(recording for recording, _ in mine.calls):
            fail(name, case, "the forward pass ran without recording gradients", hints["params"])
        if got is None:
            fail(name, case, "returned None; return the average loss", hints["loss"])
        got = _as_float(name, case, got, "the average loss")
        params_hint = hints["params"]
        if max_norm is not None:
            params_hint = "clip after loss.backward() and before optimizer.step(): clip_grad_norm_(model.parameters(), max_grad_norm)"
        _compare_models(name, case, mine, ref, params_hint)
        _assert_number(name, case, got, expected, hints["loss"], "average loss")
    passed(name, len(cases), ["SGD", "eval mode + dropout", "Adam + clipping"])


# ---------------------------------------------------------------------------- evaluate

@exercise("evaluate", seam="evaluate")
def check_evaluate(evaluate):
    """evaluate(model, loader, loss_fn) -> {"loss": mean loss per sample, "accuracy": fraction
    correct}; in eval mode, without recording gradients, restoring the model's mode."""
    name = "evaluate"
    loss_fn = nn.CrossEntropyLoss()
    cases = [
        ("model in training mode, with Dropout(0.5), batches of 16 (last batch of 2)", True, 16),
        ("model in eval mode, all 50 samples in one batch", False, 50),
        ("batches of 7", True, 7),
    ]
    for case, training, batch_size in cases:
        mine, ref = _models(dropout=0.5)
        mine.train(training)
        ref.train(training)
        before = [p.data.copy() for p in mine.parameters()]
        manual_seed(9)
        got = run_learner(name, case, evaluate, mine, _loader(batch_size=batch_size), loss_fn)
        manual_seed(9)
        expected = seams.tinytorch("evaluate")(ref, _loader(batch_size=batch_size), loss_fn)
        if not isinstance(got, dict) or not {"loss", "accuracy"} <= set(got):
            kind = f"keys {sorted(got)}" if isinstance(got, dict) else type(got).__name__
            fail(name, case, f'expected a dict with "loss" and "accuracy", got {kind}')
        if any(recording for recording, _ in mine.calls):
            fail(name, case, "the forward passes recorded a graph",
                 "wrap the loop in `with tinytorch.no_grad():` (no backward follows, so recording only costs memory)")
        if any(mode for _, mode in mine.calls):
            fail(name, case, "the model ran in training mode (dropout active)", "call model.eval() before the loop")
        if mine.training != training:
            fail(name, case, f"the model was left in {'training' if mine.training else 'eval'} mode; it was in "
                 f"{'training' if training else 'eval'} mode before",
                 "remember was_training = model.training and call model.train(was_training) at the end")
        for p, b in zip(mine.parameters(), before):
            if not np.array_equal(p.data, b) or p.grad is not None:
                fail(name, case, "evaluation changed the parameters or their gradients", "no backward, no step")
        _assert_number(name, case, _as_float(name, case, got["accuracy"], "accuracy"), expected["accuracy"],
                       "count argmax(outputs, axis=1) == targets over all batches, divide by the number of samples",
                       "accuracy")
        _assert_number(name, case, _as_float(name, case, got["loss"], "loss"), expected["loss"],
                       "average per sample: sum of loss.item() * batch size over batches, divided by the number of samples",
                       "loss")
    passed(name, len(cases), ["train mode + dropout", "eval mode + one batch", "uneven batches"])
