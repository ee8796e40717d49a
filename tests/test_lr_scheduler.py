"""Learning-rate schedulers: sequences equal PyTorch's; errors; state_dict."""

import math

import numpy as np
import pytest

import tinytorch
from tinytorch.optim import SGD, Adam
from tinytorch.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, StepLR, warmup_cosine_lr

try:
    import torch
except ImportError:  # inside Pyodide: the PyTorch comparisons are skipped
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def tt_optimizer(lrs=(0.1,)):
    groups = [{"params": [tinytorch.Tensor(np.ones(2, dtype=np.float32), requires_grad=True)],
               "lr": lr} for lr in lrs]
    return SGD(groups, lr=lrs[0], momentum=0.9)


def torch_optimizer(lrs=(0.1,)):
    groups = [{"params": [torch.ones(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)


def lr_sequence(optimizer, scheduler, epochs):
    """The learning rates in use during each epoch, for every group."""
    sequence = []
    for _ in range(epochs):
        sequence.append([group["lr"] for group in optimizer.param_groups])
        assert scheduler.get_last_lr() == sequence[-1]
        optimizer.step()
        scheduler.step()
    return sequence


SCHEDULES = {
    "step": (StepLR, "StepLR", dict(step_size=3, gamma=0.5)),
    "step_default_gamma": (StepLR, "StepLR", dict(step_size=2)),
    "cosine": (CosineAnnealingLR, "CosineAnnealingLR", dict(T_max=10)),
    "cosine_eta_min_restart": (CosineAnnealingLR, "CosineAnnealingLR", dict(T_max=4, eta_min=0.001)),
    "lambda_warmup": (LambdaLR, "LambdaLR", dict(lr_lambda=lambda e: min(1.0, (e + 1) / 5))),
}


@needs_torch
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_lr_sequence_matches_pytorch(name):
    ours, theirs, kwargs = SCHEDULES[name]
    lrs = (0.1, 0.03)
    optimizer = tt_optimizer(lrs)
    got = lr_sequence(optimizer, ours(optimizer, **kwargs), 25)
    torch_opt = torch_optimizer(lrs)
    expected = lr_sequence(torch_opt, getattr(torch.optim.lr_scheduler, theirs)(torch_opt, **kwargs), 25)
    assert got == expected  # same recursive formulas: equal floats, not just close


def test_step_lr_by_hand():
    optimizer = tt_optimizer()
    sequence = lr_sequence(optimizer, StepLR(optimizer, step_size=2, gamma=0.1), 6)
    np.testing.assert_allclose([s[0] for s in sequence], [0.1, 0.1, 0.01, 0.01, 0.001, 0.001])


def test_cosine_follows_the_closed_form():
    optimizer = tt_optimizer((1.0,))
    sequence = lr_sequence(optimizer, CosineAnnealingLR(optimizer, T_max=8, eta_min=0.1), 9)
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * t / 8)) / 2 for t in range(9)]
    np.testing.assert_allclose([s[0] for s in sequence], expected, rtol=1e-12, atol=1e-15)


def test_warmup_cosine_lr_by_hand():
    lrs = [warmup_cosine_lr(step, 6, 1.0, 0.1, warmup_steps=2) for step in range(8)]
    # warmup: (step + 1) / 2; then the cosine over the remaining 4 steps; lr_min from step 6 on
    expected = [0.5, 1.0] + [0.1 + 0.9 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(4)] + [0.1, 0.1]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert lrs[1] == 1.0 and lrs[6] == lrs[7] == 0.1


def test_warmup_cosine_lr_without_warmup_is_cosine_annealing():
    optimizer = tt_optimizer((0.3,))
    sequence = lr_sequence(optimizer, CosineAnnealingLR(optimizer, T_max=12, eta_min=0.01), 13)
    np.testing.assert_allclose([warmup_cosine_lr(step, 12, 0.3, 0.01) for step in range(13)],
                               [s[0] for s in sequence], rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("total, warmup, lr_min", [(20, 5, 0.0), (9, 1, 1e-3), (30, 10, 0.02)])
def test_warmup_cosine_lr_matches_pytorch_linear_then_cosine(total, warmup, lr_min):
    lr_max = 0.5
    torch_opt = torch_optimizer((lr_max,))
    schedulers = torch.optim.lr_scheduler
    # PyTorch's warmup: LinearLR from lr_max / warmup up to lr_max, then CosineAnnealingLR
    scheduler = schedulers.SequentialLR(torch_opt, [
        schedulers.LinearLR(torch_opt, start_factor=1 / warmup, end_factor=1.0, total_iters=max(warmup - 1, 1)),
        schedulers.CosineAnnealingLR(torch_opt, T_max=total - warmup, eta_min=lr_min),
    ], milestones=[warmup])
    expected = [lrs[0] for lrs in lr_sequence(torch_opt, scheduler, total)]
    got = [warmup_cosine_lr(step, total, lr_max, lr_min, warmup) for step in range(total)]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_lambda_lr_per_group():
    optimizer = tt_optimizer((1.0, 2.0))
    scheduler = LambdaLR(optimizer, [lambda e: 0.5 ** e, lambda e: e + 1])
    scheduler.step()
    scheduler.step()
    assert scheduler.get_last_lr() == [0.25, 6.0]


def test_scheduler_drives_the_optimizer_update():
    p = tinytorch.Tensor(np.zeros(1, dtype=np.float32), requires_grad=True)
    optimizer = SGD([p], lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = tinytorch.Tensor(np.ones(1, dtype=np.float32))
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(p.data, [-(1 + 0.5 + 0.25)])


def test_state_dict_round_trip():
    optimizer = tt_optimizer()
    scheduler = CosineAnnealingLR(optimizer, T_max=10)
    for _ in range(4):
        scheduler.step()
    state = scheduler.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 4
    new_optimizer = tt_optimizer()
    new_optimizer.load_state_dict(optimizer.state_dict())
    restored = CosineAnnealingLR(new_optimizer, T_max=10)
    restored.load_state_dict(state)
    for _ in range(3):
        scheduler.step()
        restored.step()
        assert restored.get_last_lr() == scheduler.get_last_lr()


def test_state_dict_of_lambda_lr_leaves_out_the_functions():
    optimizer = tt_optimizer()
    state = LambdaLR(optimizer, lambda e: 1.0).state_dict()
    assert "lr_lambdas" not in state and not any(callable(v) for v in state.values())


@pytest.mark.parametrize("make, error, message", [
    (lambda o: StepLR(o, step_size=0), ValueError, "StepLR: step_size must be a positive int, got 0"),
    (lambda o: StepLR(o, step_size=2.5), ValueError, "step_size must be a positive int"),
    (lambda o: StepLR(o, step_size=2, gamma=-0.1), ValueError, "StepLR: invalid gamma"),
    (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be a positive int"),
    (lambda o: CosineAnnealingLR(o, T_max=5, eta_min=-1), ValueError, "invalid eta_min"),
    (lambda o: LambdaLR(o, [lambda e: 1.0] * 3), ValueError, "expected 1 lr_lambdas"),
    (lambda o: LambdaLR(o, 0.5), TypeError, "lr_lambda must be callable"),
    (lambda o: StepLR(o, step_size=2, last_epoch=3), KeyError, "initial_lr"),
    (lambda o: StepLR("not an optimizer", step_size=2), TypeError, "expected a tinytorch Optimizer"),
])
def test_bad_arguments_raise_clear_errors(make, error, message):
    with pytest.raises(error, match=message):
        make(tt_optimizer())


def test_adam_learning_rate_is_scheduled_too():
    p = tinytorch.Tensor(np.zeros(1, dtype=np.float32), requires_grad=True)
    optimizer = Adam([p], lr=0.1)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.1)
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)
