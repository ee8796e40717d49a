"""The module 06 checks pass on correct optimizers and fail, with a useful report, on an
unsolved stub and on typical mistakes."""

import numpy as np
import pytest

from tinytorch.checks import CheckFailed
from tinytorch.checks.optim import check_adam, check_adamw, check_sgd

from solutions import load_solution

# The notebook's own solutions: the shipped course must pass its checks.
SGD, Adam, AdamW = load_solution("06_optimizers", "SGD", "Adam", "AdamW")


def unsolved(cls):
    """The optimizer as the student edition ships it: constructor written, step and zero_grad not."""
    class Stub(cls):
        def step(self):
            raise NotImplementedError("Exercise: write step")

        def zero_grad(self):
            raise NotImplementedError("Exercise: write zero_grad")
    return Stub


@pytest.mark.parametrize("check, solution", [(check_sgd, SGD), (check_adam, Adam), (check_adamw, AdamW)])
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution, unsolved(solution))


def params_with_grad(optimizer):
    """(group, parameter) for each parameter of `optimizer` that has a gradient."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.grad is not None:
                yield group, p


def test_exported():
    import tinytorch.checks as exported
    assert exported.check_sgd is check_sgd and exported.check_adam is check_adam and exported.check_adamw is check_adamw


def test_not_an_optimizer_subclass():
    class Plain:
        def __init__(self, params, lr):
            self.params = list(params)

    with pytest.raises(CheckFailed, match="no param_groups"):
        check_sgd(Plain)


def test_sgd_zero_grad_that_does_nothing():
    class Lazy(SGD):
        def zero_grad(self):
            pass

    with pytest.raises(CheckFailed, match="still has a non-zero gradient"):
        check_sgd(Lazy)


def test_sgd_zero_grad_filling_zeros_is_accepted():
    class Zeros(SGD):
        def zero_grad(self):
            for _, p in params_with_grad(self):
                p.grad.data[...] = 0

    check_sgd(Zeros)


def test_sgd_caching_lr_at_construction(failure):
    class Cached(SGD):
        def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0):
            super().__init__(params, lr, momentum, weight_decay)
            self.lr = lr

        def step(self):
            for _, p in params_with_grad(self):
                p.data -= self.lr * p.grad.data

    assert "group['lr']" in failure(check_sgd, Cached, "learning rate was changed")


def test_sgd_moving_parameters_without_gradients():
    class Crashes(SGD):
        def step(self):
            for group in self.param_groups:
                for p in group["params"]:
                    p.data -= group["lr"] * p.grad.data

    with pytest.raises(CheckFailed, match="raised AttributeError"):
        check_sgd(Crashes)


def test_sgd_momentum_with_dampening(failure):
    class Dampened(SGD):
        def step(self):
            for group, p in params_with_grad(self):
                state = self.state.setdefault(p, {"buf": np.zeros_like(p.data)})
                g = p.grad.data + group["weight_decay"] * p.data
                state["buf"] = group["momentum"] * state["buf"] + (1 - group["momentum"]) * g
                p.data -= group["lr"] * (state["buf"] if group["momentum"] else g)

    assert "buf = momentum * buf + g" in failure(check_sgd, Dampened, "momentum=0.9")


def test_sgd_upcasting_float32():
    class Upcasts(SGD):
        def step(self):
            for group, p in params_with_grad(self):
                state = self.state.setdefault(p, {})
                g = p.grad.data + group["weight_decay"] * p.data
                if group["momentum"]:
                    state["buf"] = g.copy() if "buf" not in state else group["momentum"] * state["buf"] + g
                    g = state["buf"]
                p.data = p.data - np.float64(group["lr"]) * g

    with pytest.raises(CheckFailed, match="dtype changed from float32 to float64"):
        check_sgd(Upcasts)


def adam_variant(**changes):
    """An Adam with one typical mistake."""
    class Variant(Adam):
        def step(self):
            self.global_t = getattr(self, "global_t", 0) + 1
            for group, p in params_with_grad(self):
                lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
                g = p.grad.data + wd * p.data
                state = self.state.setdefault(p, {"t": 0, "m": np.zeros_like(p.data), "v": np.zeros_like(p.data)})
                state["t"] += 1
                t = self.global_t if changes.get("global_step") else state["t"]
                state["m"] = b1 * state["m"] + (1 - b1) * g
                state["v"] = b2 * state["v"] + (1 - b2) * g * g
                m_hat, v_hat = state["m"], state["v"]
                if not changes.get("no_bias_correction"):
                    m_hat, v_hat = m_hat / (1 - b1 ** t), v_hat / (1 - b2 ** t)
                if changes.get("eps_inside"):
                    p.data -= lr * m_hat / np.sqrt(v_hat + eps)
                else:
                    p.data -= lr * m_hat / (np.sqrt(v_hat) + eps)
    return Variant


@pytest.mark.parametrize("mistake, message", [
    ("no_bias_correction", r"lr=0.01, parameter 0 .* after step 1"),
    ("eps_inside", r"sqrt\(v_hat\) \+ eps"),
    ("global_step", r"first gradient at step 3"),
])
def test_adam_mistakes(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        check_adam(adam_variant(**{mistake: True}))


def test_adamw_with_l2_instead_of_decoupled_decay():
    class Coupled(Adam):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
            super().__init__(params, lr, betas, eps, weight_decay)

    with pytest.raises(CheckFailed, match="decoupled decay"):
        check_adamw(Coupled)


def test_adamw_decaying_after_the_update():
    class After(Adam):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
            super().__init__(params, lr, betas, eps, 0.0)
            self.decay = weight_decay

        def step(self):
            super().step()
            for group, p in params_with_grad(self):
                p.data *= 1 - group["lr"] * self.decay

    with pytest.raises(CheckFailed, match=r"AdamW on .*difference"):
        check_adamw(After)


def test_adamw_wrong_default_decay():
    class NoDefault(AdamW):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
            super().__init__(params, lr, betas, eps, weight_decay)

    with pytest.raises(CheckFailed, match="default weight_decay"):
        check_adamw(NoDefault)
