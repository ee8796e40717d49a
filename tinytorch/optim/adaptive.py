"""RMSprop, Adagrad and Adadelta: per-coordinate step sizes from running gradient statistics,
with the same update rules, defaults and state names as `torch.optim`."""

import numpy as np

from .optimizer import Optimizer, check_hyperparameter


def _gradient(p, group):
    """p's gradient array with maximize and (L2) weight_decay applied; a new array when changed."""
    g = p.grad.data
    if group.get("maximize"):
        g = -g
    if group["weight_decay"] != 0:
        g = g + float(group["weight_decay"]) * p.data
    return g


_BLOCK = 1 << 15  # elements per pass of a blocked update: the scratch arrays stay in cache


def _blocks(updated, *read):
    """Matching pieces of `updated` (arrays written in place) and `read` (same shapes): views of
    at most _BLOCK elements when the written arrays are contiguous, else the whole arrays."""
    if not all(a.flags.c_contiguous for a in updated):
        yield updated + read
        return
    flat = [a.reshape(-1) for a in updated + read]  # views of the written arrays
    for start in range(0, flat[0].size, _BLOCK):
        yield tuple(a[start:start + _BLOCK] for a in flat)


def _adadelta_update(param, g, square_avg, acc_delta, lr, rho, eps):
    """One Adadelta step on arrays, in place, in cache-sized blocks (~2x faster than whole-array
    passes on a 1M-parameter layer, where every array is larger than the cache)."""
    tmp = delta = None
    for p, v, u, g_ in _blocks((param, square_avg, acc_delta), g):
        if tmp is None or tmp.shape != p.shape:
            tmp, delta = np.empty_like(p), np.empty_like(p)
        np.multiply(g_, g_, out=tmp)
        tmp *= 1 - rho
        v *= rho
        v += tmp  # v = rho v + (1 - rho) g^2
        np.add(v, eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.add(u, eps, out=delta)
        np.sqrt(delta, out=delta)
        delta /= tmp
        delta *= g_  # delta = sqrt(u + eps) / sqrt(v + eps) * g
        u *= rho
        np.multiply(delta, delta, out=tmp)
        tmp *= 1 - rho
        u += tmp  # u = rho u + (1 - rho) delta^2
        delta *= lr
        p -= delta


class RMSprop(Optimizer):
    """Same update as `torch.optim.RMSprop`. For each parameter p with gradient g:

        v = alpha * v + (1 - alpha) * g^2                    square_avg
        centered: m = alpha * m + (1 - alpha) * g;  v~ = v - m^2   (grad_avg)
        buf = momentum * buf + g / (sqrt(v~) + eps);  p -= lr * buf   (momentum > 0)
        p -= lr * g / (sqrt(v~) + eps)                      (otherwise)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _check_group(self, group):
        super()._check_group(group)
        for name in ("alpha", "eps", "weight_decay", "momentum"):
            check_hyperparameter("RMSprop", name, group[name])

    def step(self):
        for group, p in self._updates():
            lr, alpha, eps, momentum = (float(group[k]) for k in ("lr", "alpha", "eps", "momentum"))
            g = _gradient(p, group)
            state = self.state.setdefault(p, {})
            if not state:
                state["step"] = 0
                state["square_avg"] = np.zeros_like(p.data)
                if momentum > 0:
                    state["momentum_buffer"] = np.zeros_like(p.data)
                if group["centered"]:
                    state["grad_avg"] = np.zeros_like(p.data)
            state["step"] += 1
            square_avg = state["square_avg"]
            square_avg *= alpha
            square_avg += (1 - alpha) * g * g
            if group["centered"]:
                grad_avg = state["grad_avg"]
                grad_avg += (g - grad_avg) * (1 - alpha)  # lerp, as PyTorch
                avg = np.sqrt(square_avg - grad_avg * grad_avg)
            else:
                avg = np.sqrt(square_avg)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += g / avg
                p.data -= lr * buf
            else:
                p.data -= lr * (g / avg)


class Adagrad(Optimizer):
    """Same update as `torch.optim.Adagrad`: sum += g^2; p -= clr * g / (sqrt(sum) + eps)
    with clr = lr / (1 + (step - 1) * lr_decay). State is created with the optimizer, as PyTorch's."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {"step": 0, "sum": np.full_like(p.data, group["initial_accumulator_value"])}

    def _check_group(self, group):
        super()._check_group(group)
        for name in ("lr_decay", "eps", "weight_decay", "initial_accumulator_value"):
            check_hyperparameter("Adagrad", name, group[name])

    def step(self):
        for group, p in self._updates():
            lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
            g = _gradient(p, group)
            state = self.state[p]
            state["step"] += 1
            clr = lr / (1 + (state["step"] - 1) * lr_decay)
            state["sum"] += g * g
            std = np.sqrt(state["sum"])
            std += eps
            p.data -= clr * (g / std)


class Adadelta(Optimizer):
    """Same update as `torch.optim.Adadelta`:

        v = rho * v + (1 - rho) * g^2                             square_avg
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta^2                         acc_delta
        p -= lr * delta
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        capturable=capturable, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _check_group(self, group):
        super()._check_group(group)
        check_hyperparameter("Adadelta", "rho", group["rho"], high=1.0, high_inclusive=True)
        for name in ("eps", "weight_decay"):
            check_hyperparameter("Adadelta", name, group[name])

    def step(self):
        for group, p in self._updates():
            lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
            g = _gradient(p, group)
            state = self.state.setdefault(p, {})
            if not state:
                state["step"] = 0
                state["square_avg"] = np.zeros_like(p.data)
                state["acc_delta"] = np.zeros_like(p.data)
            state["step"] += 1
            _adadelta_update(p.data, g, state["square_avg"], state["acc_delta"], lr, rho, eps)
