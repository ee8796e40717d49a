"""Optimizers: update formulas, parameter groups, validation, state_dict; trajectories vs PyTorch."""

import numpy as np
import pytest

import tinytorch
from tinytorch.optim import SGD, Adam, AdamW

try:
    import torch
except ImportError:  # inside Pyodide: the PyTorch comparisons are skipped
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

SHAPES = [(5, 4), (5,), (3, 5), (3,)]


def make_params(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) * 0.5 for shape in SHAPES]


def make_batches(steps, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((8, 4)).astype(np.float32),
             rng.standard_normal((8, 3)).astype(np.float32)) for _ in range(steps)]


def tt_loss(params, x, y):
    w1, b1, w2, b2 = params
    h = (tinytorch.tensor(x) @ w1.T + b1).tanh()  # (8, 5)
    out = h @ w2.T + b2  # (8, 3)
    return ((out - tinytorch.tensor(y)) ** 2).mean()


def run_tinytorch(make_optimizer, steps=6):
    params = [tinytorch.Tensor(a, requires_grad=True) for a in make_params()]
    optimizer = make_optimizer(params)
    trajectory = []
    for x, y in make_batches(steps):
        optimizer.zero_grad()
        tt_loss(params, x, y).backward()
        optimizer.step()
        trajectory.append([p.data.copy() for p in params])
    return trajectory


def run_torch(make_optimizer, steps=6):
    params = [torch.tensor(a, requires_grad=True) for a in make_params()]
    optimizer = make_optimizer(params)
    trajectory = []
    for x, y in make_batches(steps):
        optimizer.zero_grad()
        w1, b1, w2, b2 = params
        h = torch.tanh(torch.tensor(x) @ w1.T + b1)
        ((h @ w2.T + b2 - torch.tensor(y)) ** 2).mean().backward()
        optimizer.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory


CONFIGS = {
    "sgd": (SGD, "SGD", dict(lr=0.1)),
    "sgd_momentum": (SGD, "SGD", dict(lr=0.1, momentum=0.9)),
    "sgd_dampening": (SGD, "SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    "sgd_nesterov_wd": (SGD, "SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    "sgd_maximize": (SGD, "SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    "adam": (Adam, "Adam", dict(lr=0.01)),
    "adam_wd": (Adam, "Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    "adam_amsgrad": (Adam, "Adam", dict(lr=0.01, amsgrad=True)),
    "adamw": (AdamW, "AdamW", dict(lr=0.01)),
    "adamw_wd": (AdamW, "AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
}


@needs_torch
@pytest.mark.parametrize("name", list(CONFIGS))
def test_trajectory_matches_pytorch(name):
    ours, theirs, kwargs = CONFIGS[name]
    got = run_tinytorch(lambda ps: ours(ps, **kwargs))
    expected = run_torch(lambda ps: getattr(torch.optim, theirs)(ps, **kwargs))
    for step, (got_step, expected_step) in enumerate(zip(got, expected)):
        for g, e in zip(got_step, expected_step):
            assert g.dtype == np.float32
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6, err_msg=f"{name}, step {step}")


@needs_torch
def test_param_groups_match_pytorch():
    def groups(ps, lib):
        return lib.optim.SGD([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.01, "momentum": 0.5}],
                             lr=0.1, momentum=0.9)
    got = run_tinytorch(lambda ps: groups(ps, tinytorch))
    expected = run_torch(lambda ps: groups(ps, torch))
    for g, e in zip(got[-1], expected[-1]):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- formulas, without torch

def param_with_grad(value, grad):
    p = tinytorch.Tensor(np.array(value, dtype=np.float32), requires_grad=True)
    p.grad = tinytorch.Tensor(np.array(grad, dtype=np.float32))
    return p


def test_sgd_plain_step():
    p = param_with_grad([1.0, -2.0], [0.5, 1.0])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -2.1], rtol=1e-6)


def test_sgd_momentum_two_steps_by_hand():
    p = param_with_grad([1.0], [1.0])
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    optimizer.step()  # buf = 1, p = 0.9
    optimizer.step()  # buf = 0.9 * 1 + 1 = 1.9, p = 0.9 - 0.19
    np.testing.assert_allclose(p.data, [0.71], rtol=1e-6)
    np.testing.assert_allclose(optimizer.state[p]["momentum_buffer"], [1.9], rtol=1e-6)


def test_adam_first_step_moves_by_lr():
    # With bias correction the first Adam step is lr * g / (|g| + eps') = lr * sign(g).
    p = param_with_grad([1.0, 1.0, 1.0], [3.0, -0.01, 100.0])
    Adam([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.9, 1.1, 0.9], rtol=1e-5)


def test_adamw_decays_weights_without_gradient_signal():
    p = param_with_grad([2.0], [0.0])
    AdamW([p], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(p.data, [2.0 * (1 - 0.1 * 0.5)], rtol=1e-6)


def test_update_is_in_place_and_keeps_float32():
    p = param_with_grad(np.ones((2, 3)), np.ones((2, 3)))
    array = p.data
    for optimizer in (SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1), Adam([p]), AdamW([p])):
        optimizer.step()
        assert p.data is array and p.data.dtype == np.float32


def test_parameters_without_grad_are_skipped():
    used = param_with_grad([1.0], [1.0])
    unused = tinytorch.Tensor(np.array([5.0], dtype=np.float32), requires_grad=True)
    for optimizer in (SGD([used, unused], lr=0.1, momentum=0.9, weight_decay=0.1),
                      Adam([used, unused], weight_decay=0.1), AdamW([used, unused])):
        optimizer.step()
        assert unused.data[0] == 5.0 and unused not in optimizer.state


def test_zero_grad():
    p = param_with_grad([1.0], [2.0])
    optimizer = SGD([p], lr=0.1)
    optimizer.zero_grad(set_to_none=False)
    assert p.grad is not None and p.grad.data[0] == 0.0
    optimizer.zero_grad()
    assert p.grad is None


def test_param_groups_take_defaults_and_overrides():
    a, b = param_with_grad([1.0], [1.0]), param_with_grad([1.0], [1.0])
    optimizer = SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert optimizer.param_groups[0]["lr"] == 0.1 and optimizer.param_groups[1]["lr"] == 0.5
    assert optimizer.param_groups[1]["momentum"] == 0.9
    optimizer.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.5], rtol=1e-6)


def test_works_with_a_generator_of_parameters():
    params = [param_with_grad([1.0], [1.0]), param_with_grad([2.0], [1.0])]
    optimizer = SGD((p for p in params), lr=0.1)
    optimizer.step()
    assert len(optimizer.param_groups[0]["params"]) == 2


@pytest.mark.parametrize("make, message", [
    (lambda p: SGD([], lr=0.1), "empty parameter list"),
    (lambda p: SGD([p, np.ones(2)], lr=0.1), "parameter 1 is a ndarray"),
    (lambda p: SGD(p, lr=0.1), "single Tensor"),
    (lambda p: SGD([p * 2], lr=0.1), "non-leaf"),
    (lambda p: SGD([p, p], lr=0.1), "more than once"),
    (lambda p: SGD([{"params": [p]}, {"params": [p]}], lr=0.1), "more than once"),
    (lambda p: SGD([p], lr=-0.1), "invalid lr -0.1"),
    (lambda p: SGD([p], lr=0.1, momentum=-0.9), "invalid momentum"),
    (lambda p: SGD([p], lr=0.1, weight_decay=-1), "invalid weight_decay"),
    (lambda p: SGD([p], lr=0.1, nesterov=True), "nesterov momentum requires momentum > 0"),
    (lambda p: SGD([p], lr="0.1"), "lr must be a number"),
    (lambda p: Adam([p], lr=float("nan")), "invalid lr nan"),
    (lambda p: Adam([p], betas=(1.0, 0.999)), r"invalid beta1 \(betas\[0\]\) 1.0"),
    (lambda p: Adam([p], betas=(0.9, -0.1)), "invalid beta2"),
    (lambda p: Adam([p], betas=(0.9,)), "betas must be a pair"),
    (lambda p: Adam([p], eps=-1e-8), "invalid eps"),
    (lambda p: AdamW([p], weight_decay=-0.01), "AdamW: invalid weight_decay"),
])
def test_bad_arguments_raise_clear_errors(make, message):
    p = tinytorch.Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    with pytest.raises((ValueError, TypeError), match=message):
        make(p)


def test_integer_parameters_are_refused():
    with pytest.raises(TypeError, match="only floating-point"):
        SGD([tinytorch.Tensor(np.ones(2, dtype=np.int64))], lr=0.1)


# ---------------------------------------------------------------------- state_dict

@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: AdamW([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.03}], lr=0.01),
])
def test_state_dict_round_trip_continues_identically(make):
    batches = make_batches(6)

    def train(params, optimizer, batches):
        for x, y in batches:
            optimizer.zero_grad()
            tt_loss(params, x, y).backward()
            optimizer.step()

    params = [tinytorch.Tensor(a, requires_grad=True) for a in make_params()]
    optimizer = make(params)
    train(params, optimizer, batches[:3])
    saved_state = optimizer.state_dict()
    saved_params = [p.data.copy() for p in params]
    train(params, optimizer, batches[3:])  # uninterrupted; must not touch the saved copies

    resumed = [tinytorch.Tensor(a, requires_grad=True) for a in saved_params]
    new_optimizer = make(resumed)
    new_optimizer.load_state_dict(saved_state)
    train(resumed, new_optimizer, batches[3:])
    for a, b in zip(params, resumed):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_layout_is_pytorch_like():
    p = param_with_grad([1.0, 2.0], [1.0, 1.0])
    optimizer = Adam([p], lr=0.01)
    optimizer.step()
    state = optimizer.state_dict()
    assert state["param_groups"][0]["params"] == [0]
    assert state["param_groups"][0]["lr"] == 0.01
    assert set(state["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    state["state"][0]["exp_avg"][:] = 123.0  # a copy: the optimizer is unaffected
    assert optimizer.state[p]["exp_avg"][0] != 123.0


def test_load_state_dict_restores_hyperparameters():
    p = param_with_grad([1.0], [1.0])
    source = SGD([p], lr=0.5, momentum=0.9)
    target = SGD([param_with_grad([1.0], [1.0])], lr=0.1, momentum=0.9)
    target.load_state_dict(source.state_dict())
    assert target.param_groups[0]["lr"] == 0.5


def test_load_state_dict_errors():
    a = param_with_grad(np.ones(3), np.ones(3))
    source = SGD([a], lr=0.1, momentum=0.9)
    source.step()
    state = source.state_dict()
    with pytest.raises(ValueError, match="has shape \\(3,\\), but the parameter has shape \\(4,\\)"):
        SGD([param_with_grad(np.ones(4), np.ones(4))], lr=0.1, momentum=0.9).load_state_dict(state)
    two = [param_with_grad(np.ones(3), np.ones(3)) for _ in range(2)]
    with pytest.raises(ValueError, match="group 0 has 1 parameters in the state but 2"):
        SGD(two, lr=0.1).load_state_dict(state)
    with pytest.raises(ValueError, match="1 parameter groups, this optimizer has 2"):
        SGD([{"params": two[:1]}, {"params": two[1:]}], lr=0.1).load_state_dict(state)
