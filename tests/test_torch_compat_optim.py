"""Optimizers, schedulers and the amp tools against torch: the same parameters and gradients
give the same updates step after step, the same learning-rate sequences and the same errors."""

import warnings

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import optim
from tinytorch.optim import lr_scheduler

torch = pytest.importorskip("torch")


def run_steps(lib, opt_cls, kwargs, start, targets, steps=6):
    """Minimise sum((p * target - 1)^2 * |p|) style losses (non-quadratic, gradients change sign)
    with `opt_cls(**kwargs)`; returns the parameters after each step and the optimizer."""
    params = [lib.tensor(a.copy(), requires_grad=True) for a in start]
    opt = getattr(lib.optim, opt_cls)([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}], **kwargs)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss = sum((((p * lib.tensor(t)) - 1) ** 2).sum() + (p ** 4).sum() * 0.1 for p, t in zip(params, targets))
        loss.backward()
        opt.step()
        history.append([p.detach().numpy().copy() if lib is torch else p.data.copy() for p in params])
    return history, opt


OPTIMIZERS = [
    ("RMSprop", {}), ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.8, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(momentum=0.5, maximize=True)),
    ("Adagrad", {}), ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.2, initial_accumulator_value=0.3)),
    ("Adadelta", {}), ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)), ("AdamW", dict(lr=0.01, weight_decay=0.1)), ("SGD", dict(lr=0.01, momentum=0.9)),
]


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
def test_updates_match_torch(name, kwargs, rng):
    start = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    targets = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    ours, _ = run_steps(tt, name, kwargs, start, targets)
    theirs, _ = run_steps(torch, name, kwargs, start, targets)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for p, q in zip(a, b):
            np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12, err_msg=f"step {step}")


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS[:7], ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS[:7])])
def test_state_and_param_groups_like_torch(name, kwargs, rng):
    start = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    targets = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    _, ours = run_steps(tt, name, kwargs, start, targets, steps=2)
    _, theirs = run_steps(torch, name, kwargs, start, targets, steps=2)
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert mine["state"].keys() == ref["state"].keys()
    for index in ref["state"]:
        assert set(mine["state"][index]) == set(ref["state"][index])
        for key, value in ref["state"][index].items():
            np.testing.assert_allclose(np.asarray(mine["state"][index][key], dtype=float), value.numpy(), rtol=1e-10)
    for group_ours, group_theirs in zip(mine["param_groups"], ref["param_groups"]):
        shared = {k for k in group_theirs if k in ("lr", "alpha", "eps", "rho", "momentum", "lr_decay",
                                                   "weight_decay", "centered", "initial_accumulator_value", "params")}
        assert {k: group_ours[k] for k in shared} == {k: group_theirs[k] for k in shared}


def test_state_dict_round_trip_continues_identically(rng):
    start = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    targets = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    _, first = run_steps(tt, "RMSprop", dict(momentum=0.9, centered=True), start, targets, steps=3)
    params = [p for group in first.param_groups for p in group["params"]]
    second = optim.RMSprop([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}], momentum=0.9, centered=True)
    second.load_state_dict(first.state_dict())
    for p in params:
        p.grad = tt.ones(*p.shape, dtype=p.dtype)
    before = [p.data.copy() for p in params]
    first.step()
    after_first = [p.data.copy() for p in params]
    for p, b in zip(params, before):
        p.data[...] = b
    second.step()
    for p, a in zip(params, after_first):
        np.testing.assert_array_equal(p.data, a)


@pytest.mark.parametrize("name, kwargs, message", [
    ("RMSprop", dict(alpha=-0.1), "alpha"), ("RMSprop", dict(lr=-1), "lr"), ("Adagrad", dict(lr_decay=-1), "lr_decay"),
    ("Adagrad", dict(eps=-1), "eps"), ("Adadelta", dict(rho=1.5), "rho"), ("Adadelta", dict(weight_decay=-1), "weight_decay"),
])
def test_bad_hyperparameters_raise_like_torch(name, kwargs, message):
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=message):
        getattr(optim, name)([tt.zeros(2, requires_grad=True)], **kwargs)


# ---------------------------------------------------------------------- schedulers


def lr_sequence(lib, make, steps=12, metrics=None, optimizer="SGD", **opt_kwargs):
    param = lib.zeros(1, requires_grad=True)
    opt = getattr(lib.optim, optimizer)([param], **{"lr": 0.1, **opt_kwargs})
    scheduler = make(lib.optim.lr_scheduler, opt)
    lrs, momenta = [], []
    for step in range(steps):
        opt.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[step])
        lrs.append(scheduler.get_last_lr()[0])
        group = opt.param_groups[0]
        momenta.append(group["betas"][0] if "betas" in group else group.get("momentum"))
    return lrs, momenta


SCHEDULERS = {
    "MultiStepLR": lambda s, o: s.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.5),
    "ExponentialLR": lambda s, o: s.ExponentialLR(o, gamma=0.8),
    "LinearLR": lambda s, o: s.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=6),
    "LinearLR-default": lambda s, o: s.LinearLR(o),
    "LambdaLR": lambda s, o: s.LambdaLR(o, lambda epoch: 1 / (1 + epoch)),
    "StepLR": lambda s, o: s.StepLR(o, step_size=3, gamma=0.3),
    "OneCycleLR-cos": lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=12),
    "OneCycleLR-linear-3phase": lambda s, o: s.OneCycleLR(o, max_lr=0.5, epochs=3, steps_per_epoch=4,
                                                          anneal_strategy="linear", three_phase=True, pct_start=0.25),
}


@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_sequences_match_torch(name):
    ours = lr_sequence(tt, SCHEDULERS[name], momentum=0.9)
    theirs = lr_sequence(torch, SCHEDULERS[name], momentum=0.9)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)


def test_one_cycle_cycles_adam_beta1_and_stops_after_total_steps():
    make = SCHEDULERS["OneCycleLR-cos"]
    ours = lr_sequence(tt, make, optimizer="AdamW")
    theirs = lr_sequence(torch, make, optimizer="AdamW")
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    for lib in (tt, torch):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
        scheduler = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=2)
        scheduler.step()
        scheduler.step()
        with pytest.raises(ValueError, match="Tried to step 3 times"):
            scheduler.step()
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(optim.Adagrad([tt.zeros(1, requires_grad=True)]), max_lr=1.0, total_steps=3)


@pytest.mark.parametrize("kwargs", [
    dict(), dict(mode="max", factor=0.5, patience=1, threshold=0.1, threshold_mode="abs", cooldown=2),
    dict(patience=0, min_lr=0.02, factor=0.3),
])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.9, 0.7, 0.7, 0.7, 0.71, 0.72, 0.73] * 2
    make = lambda s, o: s.ReduceLROnPlateau(o, **kwargs)  # noqa: E731
    ours = lr_sequence(tt, make, steps=len(metrics), metrics=metrics)[0]
    theirs = lr_sequence(torch, make, steps=len(metrics), metrics=metrics)[0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(optim.SGD([tt.zeros(1, requires_grad=True)], lr=0.1), factor=1.5)


def test_scheduler_state_dict_resumes():
    param = tt.zeros(1, requires_grad=True)
    opt = optim.SGD([param], lr=0.1)
    scheduler = lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.5)
    for _ in range(3):
        scheduler.step()
    saved = scheduler.state_dict()
    opt2 = optim.SGD([param], lr=0.1)
    resumed = lr_scheduler.MultiStepLR(opt2, milestones=[2, 4], gamma=0.5)
    resumed.load_state_dict(saved)
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    scheduler.step()
    resumed.step()
    assert resumed.get_last_lr() == scheduler.get_last_lr() == [0.025]


# ---------------------------------------------------------------------- amp


def scaled_steps(lib, enabled, scale, grads_per_step):
    """Run a GradScaler over given gradients; returns (param values, scale) after each update."""
    param = lib.zeros(3, requires_grad=True)
    opt = lib.optim.SGD([param], lr=1.0)
    scaler = lib.amp.GradScaler("cpu", init_scale=scale, growth_interval=2, enabled=enabled)
    history = []
    for grad in grads_per_step:
        opt.zero_grad()
        loss = (param * lib.tensor(np.asarray(grad, dtype=np.float32))).sum()
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        values = param.detach().numpy() if lib is torch else param.data
        history.append((values.copy(), scaler.get_scale()))
    return history


@pytest.mark.parametrize("enabled", [True, False])
def test_grad_scaler_matches_torch(enabled):
    grads = [[1.0, 2.0, 3.0], [np.inf, 0.0, 1.0], [0.5, 0.5, 0.5], [1.0, 1.0, 1.0], [np.nan, 1.0, 1.0], [1, 2, 3]]
    ours = scaled_steps(tt, enabled, 8.0, grads)
    theirs = scaled_steps(torch, enabled, 8.0, grads)
    for (p, s), (q, t) in zip(ours, theirs):
        np.testing.assert_array_equal(p, q)
        assert s == t


def test_grad_scaler_misuse_and_state_dict():
    param = tt.ones(2, requires_grad=True)
    opt = optim.SGD([param], lr=0.1)
    scaler = tt.amp.GradScaler("cpu", init_scale=4.0)
    scaler.scale(param.sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    scaler.update()
    reference = torch.amp.GradScaler("cpu", init_scale=4.0)
    assert scaler.state_dict().keys() == reference.state_dict().keys()
    with pytest.warns(UserWarning, match="CUDA is not available"):
        cuda_scaler = tt.amp.GradScaler()
    assert not cuda_scaler.is_enabled() and cuda_scaler.state_dict() == {}


def test_disabled_loss_scaler_unscales_any_number_of_times():
    from tinytorch.acceleration import LossScaler

    param = tt.ones(2, requires_grad=True)
    opt = optim.SGD([param], lr=0.1)
    scaler = LossScaler(enabled=False)
    for _ in range(3):
        scaler.scale(param.sum()).backward()
        assert scaler.unscale_(opt) is False
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
    np.testing.assert_allclose(param.grad.data, [3.0, 3.0])


def test_autocast_is_an_honest_no_op_on_cpu():
    x = tt.randn(4, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with tt.autocast(device_type="cpu", dtype=tt.float16):
            assert tt.amp.is_autocast_enabled()
            y = x @ x
        with tt.amp.autocast("cpu"):
            z = x @ x
    assert not tt.amp.is_autocast_enabled()
    assert y.dtype == z.dtype == np.float32
    np.testing.assert_array_equal(y.data, (x @ x).data)

    @tt.autocast("cpu", enabled=False)
    def double(t):
        return t * 2

    np.testing.assert_array_equal(double(x).data, (x * 2).data)
    with pytest.raises(RuntimeError, match="unsupported autocast device_type"):
        tt.autocast("tpu")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        tt.autocast("cuda")


@pytest.mark.parametrize("optimizer, options", [("SGD", {"momentum": 0.9}), ("SGD", {"weight_decay": 0.1}),
                                                ("Adam", {"amsgrad": True}), ("AdamW", {}), ("AdamW", {"weight_decay": 0}),
                                                ("RMSprop", {}), ("Adagrad", {}), ("Adadelta", {})])
def test_each_step_counts_as_an_in_place_change_of_the_updated_parameters_only(optimizer, options):
    counts = []
    for m in (torch, tt):
        used, unused = m.nn.Parameter(m.tensor([1.0, -2.0])), m.nn.Parameter(m.tensor([3.0]))
        opt = getattr(m.optim, optimizer)([{"params": [used]}, {"params": [unused], "lr": 0.5}], lr=0.1, **options)
        for _ in range(3):
            opt.zero_grad()
            (used * used).sum().backward()
            opt.step()
        counts.append((used._version, unused._version, used.detach().numpy().tolist()))
    assert counts[1][:2] == counts[0][:2]
    np.testing.assert_allclose(counts[1][2], counts[0][2], rtol=1e-6)
