"""Learning-rate schedulers, as in `torch.optim.lr_scheduler`.

Call `scheduler.step()` once per epoch, after the epoch's `optimizer.step()` calls. Each
scheduler rewrites `group["lr"]` for every parameter group of its optimizer, using the same
(recursive) formulas as PyTorch so that the learning-rate sequences match PyTorch's.
"""

import math
import numbers

from ..seams import replaced, seam
from .optimizer import Optimizer, check_hyperparameter


def warmup_cosine_lr(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    """The learning rate at `step` of a warmup + cosine schedule (see _warmup_cosine_lr), by the
    implementation in use (a learner's `cosine_lr`, module 07, or tinytorch's)."""
    return replaced.get("cosine_lr", _warmup_cosine_lr)(step, total_steps, lr_max, lr_min, warmup_steps)


@seam("cosine_lr")
def _warmup_cosine_lr(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    """The learning rate at `step` (counted from 0) of a warmup + cosine schedule, in closed form.

    Linear warmup to lr_max over the first `warmup_steps` steps (lr_max * (step + 1) /
    warmup_steps), then half a cosine from lr_max down to lr_min at `total_steps`, and lr_min
    from there on. Without warmup, CosineAnnealingLR(T_max=total_steps, eta_min=lr_min)'s
    curve; as a scheduler: LambdaLR(optimizer, lambda s: warmup_cosine_lr(s, total, 1.0, ...)).
    """
    if step < warmup_steps:
        return lr_max * (step + 1) / warmup_steps
    if step >= total_steps:
        return lr_min
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return lr_min + (lr_max - lr_min) * 0.5 * (1.0 + math.cos(math.pi * progress))


class LRScheduler:
    """Base class: subclasses implement `get_lr()`, the learning rates at `last_epoch`."""

    def __init__(self, optimizer, last_epoch=-1):
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected a tinytorch Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{name}: param 'initial_lr' is not specified in param_groups[{i}] when "
                        f"resuming with last_epoch={last_epoch}; load the scheduler's "
                        "state_dict() instead"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        # The first step happens here, so the optimizer starts at the epoch-0 learning rate.
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self):
        raise NotImplementedError(f"{type(self).__name__}.get_lr is not implemented")

    def get_last_lr(self):
        """The learning rates (one per parameter group) set by the latest `step()`."""
        return list(self._last_lr)

    def step(self):
        """Advance one epoch and write the new learning rates into the optimizer."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Everything except the optimizer (and functions, which cannot be saved)."""
        return {key: value for key, value in self.__dict__.items()
                if key not in ("optimizer", "lr_lambdas")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch); `lr_lambda` is a function or one per group."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = optimizer.param_groups if isinstance(optimizer, Optimizer) else []
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(groups):
                raise ValueError(
                    f"LambdaLR: expected {len(groups)} lr_lambdas (one per parameter group), "
                    f"got {len(lr_lambda)}"
                )
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(groups)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class StepLR(LRScheduler):
    """Multiply the learning rate by `gamma` every `step_size` epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if isinstance(step_size, bool) or not isinstance(step_size, numbers.Integral) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        check_hyperparameter("StepLR", "gamma", gamma)
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    """Anneal from the initial lr down to `eta_min` along half a cosine over `T_max` epochs:

        lr(t) = eta_min + (initial_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2

    (computed recursively, like PyTorch; after T_max epochs it rises again).
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if isinstance(T_max, bool) or not isinstance(T_max, numbers.Integral) or T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive int, got {T_max!r}")
        check_hyperparameter("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max, self.eta_min = int(T_max), eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:  # resumed at epoch t: closed form
            return [eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:  # bottom of the cosine: climb again
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base, lr in zip(self.base_lrs, self._current_lrs())]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (lr - eta_min) + eta_min for lr in self._current_lrs()]
