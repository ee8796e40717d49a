"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

import math

import numpy as np

from .. import versions
from ..seams import seam
from .optimizer import Optimizer, check_hyperparameter


@seam("Adam")
class Adam(Optimizer):
    """Same update as `torch.optim.Adam`. For each parameter p with gradient g, at step t:

        g = g + weight_decay * p          (L2 penalty; AdamW instead does p = p * (1 - lr * wd))
        m = beta1 * m + (1 - beta1) * g           first moment (mean of gradients)
        v = beta2 * v + (1 - beta2) * g * g       second moment (uncentred variance)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    With `amsgrad=True` the running maximum of v is used in the denominator.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group):
        super()._check_group(group)
        name = type(self).__name__
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = tuple(betas)
        check_hyperparameter(name, "beta1 (betas[0])", betas[0], high=1.0)
        check_hyperparameter(name, "beta2 (betas[1])", betas[1], high=1.0)
        check_hyperparameter(name, "eps", group["eps"])
        check_hyperparameter(name, "weight_decay", group["weight_decay"])

    def step(self):
        """Update every parameter that has a gradient (parameters with grad None are skipped)."""
        for group, p in self._updates():
            lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
            beta1, beta2 = (float(b) for b in group["betas"])
            g = p.grad.data
            if group["maximize"]:
                g = -g
            state = self.state.setdefault(p, {})
            if not state:
                state["step"] = 0
                state["exp_avg"] = np.zeros_like(p.data)
                state["exp_avg_sq"] = np.zeros_like(p.data)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = np.zeros_like(p.data)
            state["step"] += 1
            step = state["step"]
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    p.data *= 1 - lr * weight_decay
                    versions.bump(p.data)  # an in-place step of its own, as PyTorch counts it
                else:
                    g = g + weight_decay * p.data
            m, v = state["exp_avg"], state["exp_avg_sq"]
            # One scratch array, reused with out=, keeps the step to a single allocation.
            tmp = np.subtract(g, m)
            tmp *= 1 - beta1
            m += tmp  # PyTorch's m.lerp_(g, 1 - beta1): m + (1 - beta1) * (g - m)
            np.multiply(g, g, out=tmp)
            tmp *= 1 - beta2
            v *= beta2
            v += tmp
            if group["amsgrad"]:
                np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                v = state["max_exp_avg_sq"]
            # Bias corrections in Python floats (double precision), as PyTorch does.
            step_size = lr / (1 - beta1 ** step)
            bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
            denom = np.sqrt(v, out=tmp)
            denom /= bias_correction2_sqrt
            denom += eps
            update = np.divide(m, denom, out=tmp)
            update *= step_size
            p.data -= update


@seam("AdamW")
class AdamW(Adam):
    """Adam with decoupled weight decay (`torch.optim.AdamW`): p = p * (1 - lr * weight_decay)
    before the Adam update, instead of adding weight_decay * p to the gradient."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)
