"""Checks for module 06 (optimizers): each takes the learner's optimizer class.

The learner's optimizer and tinytorch's are built over identical parameters and fed the same
gradient sequence; the parameters must agree after every step. The sequences include a
parameter without a gradient (it must not move), a parameter whose gradient appears only from
the third step (per-parameter state), a learning-rate change between steps (as a scheduler
does), tiny gradients (where eps matters) and float32 parameters (the dtype must be kept).
"""

import numpy as np

from ..nn.module import Parameter
from ..optim import SGD, Adam, AdamW
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, fail, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'SGD': (
        'step moves each parameter a little against its gradient; zero_grad forgets the gradients',
        'every parameter group has its own lr, momentum and weight decay; a momentum buffer per parameter lives in self.state',
        'g = grad + weight_decay p; with momentum, buf = momentum buf + g and g = buf; p -= lr g',
    ),
    'Adam': (
        'Adam keeps running averages of the gradient and of its square, and steps by their ratio',
        "per parameter: a step count t and two buffers m and v with the parameter's shape, in self.state",
        'm = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)',
    ),
    'AdamW': (
        'AdamW is Adam with weight decay applied to the parameter directly, not added to the gradient',
        'the same state as Adam; the decay does not enter m or v',
        'first p *= 1 - lr weight_decay, then the plain Adam update',
    ),
})

exercise = registry.module("06_optimizers", "Optimizers")

SHAPES = [(3, 4), (4,), (1,), (2, 3)]
STEPS = 5
LATE = 2  # parameter index 2 gets its first gradient at step 3
FROZEN = 3  # parameter index 3 never gets a gradient


def _params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(shape).astype(dtype)) for shape in SHAPES]


def _gradients(dtype, scale, seed=1):
    """One list of gradients (None where a parameter has none) per step."""
    rng = np.random.default_rng(seed)
    steps = []
    for step in range(STEPS):
        grads = [(rng.standard_normal(shape) * scale).astype(dtype) for shape in SHAPES]
        if step < LATE:
            grads[LATE] = None
        grads[FROZEN] = None
        steps.append(grads)
    return steps


def _build(name, case, cls, params, kwargs):
    optimizer = run_learner(name, case + " (constructing it)", lambda: cls(params, **kwargs))
    groups = getattr(optimizer, "param_groups", None)
    if not groups or "lr" not in groups[0]:
        fail(name, case, "the optimizer has no param_groups with an 'lr' entry",
             "subclass tinytorch.optim.Optimizer and call super().__init__(params, defaults)")
    return optimizer


def _run(name, cls, reference_cls, case, kwargs, hint, dtype=np.float64, scale=1.0, lr_change=None,
         reference_kwargs=None):
    """Step both optimizers through the same gradients; compare the parameters after each step."""
    mine, ref = _params(dtype), _params(dtype)
    optimizer = _build(name, case, cls, mine, kwargs)
    reference = reference_cls(ref, **(reference_kwargs if reference_kwargs is not None else kwargs))
    tolerance = dict(atol=1e-6, rtol=1e-5) if dtype == np.float32 else dict(atol=1e-10, rtol=1e-8)
    for step, grads in enumerate(_gradients(dtype, scale), start=1):
        if lr_change and step == lr_change[0]:
            for opt in (optimizer, reference):
                for group in opt.param_groups:
                    group["lr"] = lr_change[1]
        for params in (mine, ref):
            for p, g in zip(params, grads):
                p.grad = None if g is None else Tensor(g.copy())
        run_learner(name, f"{case}, step {step}", optimizer.step)
        reference.step()
        for i, (p, q) in enumerate(zip(mine, ref)):
            where = f"{case}, parameter {i} {SHAPES[i]} after step {step}"
            if not isinstance(p.data, np.ndarray):
                fail(name, where, f"p.data became a {type(p.data).__name__}, expected a NumPy array",
                     "update the array: p.data -= ..., not p.data = <a Tensor>")
            if p.data.dtype != q.data.dtype:
                fail(name, where, f"the parameter's dtype changed from {q.data.dtype} to {p.data.dtype}",
                     "use Python floats for hyper-parameters (float(group['lr'])) so float32 stays float32")
            note = ""
            if i == FROZEN:
                note = " (this parameter has no gradient: it must not change)"
            elif i == LATE and step <= LATE + 1:
                note = f" (this parameter got its first gradient at step {LATE + 1}: its state starts then)"
            elif lr_change and step >= lr_change[0]:
                note = f" (the learning rate was changed to {lr_change[1]} before step {lr_change[0]})"
            _assert_params_close(name, where + note, p.data, q.data, hint, **tolerance)


def _assert_params_close(name, case, got, expected, hint, atol, rtol):
    """Like assert_close, but shows enough digits (and the difference) for small deviations."""
    if got.shape != expected.shape:
        fail(name, case, f"expected shape {expected.shape}, got shape {got.shape}", hint)
    bad = ~np.isclose(got, expected, atol=atol, rtol=rtol)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        fail(name, case,
             f"at index {where} expected {expected[where]:.9g}, got {got[where]:.9g} "
             f"(difference {got[where] - expected[where]:.2g}; {int(bad.sum())} of {expected.size} values differ)",
             hint)


def _check_zero_grad(name, cls, kwargs):
    case = "zero_grad()"
    params = _params(np.float32)
    optimizer = _build(name, case, cls, params, kwargs)
    for p in params[:FROZEN]:
        p.grad = Tensor(np.ones(p.shape, dtype=np.float32))
    run_learner(name, case, optimizer.zero_grad)
    for i, p in enumerate(params):
        if p.grad is not None and np.any(p.grad.data != 0):
            fail(name, case, f"parameter {i} {SHAPES[i]} still has a non-zero gradient after zero_grad()",
                 "set p.grad = None for every parameter of every group (PyTorch's default)")


@exercise("SGD", seam="SGD")
def check_sgd(cls):
    """cls(params, lr, momentum=0, weight_decay=0) with step() and zero_grad(), as torch.optim.SGD."""
    name = "SGD"
    _check_zero_grad(name, cls, dict(lr=0.1))
    cases = [
        ("plain SGD, lr=0.1", dict(lr=0.1), {}, "p.data -= lr * p.grad.data, for each p that has a gradient"),
        ("lr changed to 0.02 before step 3", dict(lr=0.1), dict(lr_change=(3, 0.02)),
         "read the learning rate from group['lr'] at every step: schedulers change it there"),
        ("weight_decay=0.1", dict(lr=0.1, weight_decay=0.1), {}, "first g = g + weight_decay * p, then the update"),
        ("momentum=0.9", dict(lr=0.1, momentum=0.9), {},
         "buf = g on a parameter's first step, then buf = momentum * buf + g; p -= lr * buf. "
         "Keep buf per parameter in self.state[p]"),
        ("momentum=0.9, weight_decay=0.01", dict(lr=0.05, momentum=0.9, weight_decay=0.01), {},
         "add the weight decay to g before it enters the momentum buffer"),
        ("float32 parameters, momentum=0.5", dict(lr=0.1, momentum=0.5), dict(dtype=np.float32), None),
    ]
    for case, kwargs, options, hint in cases:
        _run(name, cls, SGD, case, kwargs, hint, **options)
    passed(name, len(cases) + 1, ["zero_grad", "plain", "lr change", "weight decay", "momentum",
                                  "momentum + decay", "float32"])


_ADAM_HINT = ("m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g; m_hat = m / (1 - b1**t); "
              "v_hat = v / (1 - b2**t); p -= lr * m_hat / (sqrt(v_hat) + eps), with t counted per "
              "parameter in self.state[p]")


@exercise("Adam", seam="Adam")
def check_adam(cls):
    """cls(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0), as torch.optim.Adam."""
    name = "Adam"
    cases = [
        ("lr=0.01", dict(lr=0.01), {}, _ADAM_HINT),
        ("betas=(0.8, 0.99), lr=0.05", dict(lr=0.05, betas=(0.8, 0.99)), {}, _ADAM_HINT),
        ("tiny gradients (1e-8), eps=1e-8", dict(lr=0.01, eps=1e-8), dict(scale=1e-8),
         "eps goes outside the square root: m_hat / (sqrt(v_hat) + eps)"),
        ("eps=0.1", dict(lr=0.01, eps=0.1), {}, "eps goes outside the square root: m_hat / (sqrt(v_hat) + eps)"),
        ("weight_decay=0.1 (L2)", dict(lr=0.01, weight_decay=0.1), {},
         "Adam's weight decay is L2: g = g + weight_decay * p before the moments"),
        ("lr changed to 0.002 before step 3", dict(lr=0.01), dict(lr_change=(3, 0.002)),
         "read the learning rate from group['lr'] at every step: schedulers change it there"),
        ("float32 parameters", dict(lr=0.01), dict(dtype=np.float32), None),
    ]
    for case, kwargs, options, hint in cases:
        _run(name, cls, Adam, case, kwargs, hint, **options)
    passed(name, len(cases), ["lr", "betas", "tiny gradients", "large eps", "L2 decay", "lr change", "float32"])


@exercise("AdamW", seam="AdamW")
def check_adamw(cls):
    """cls(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2), as torch.optim.AdamW."""
    name = "AdamW"
    hint = ("decoupled decay: p.data *= 1 - lr * weight_decay (before the Adam update), and the "
            "gradient does not get weight_decay * p added")
    cases = [
        ("default weight_decay (0.01), lr=0.01", dict(lr=0.01), {}),
        ("weight_decay=0.5, lr=0.05", dict(lr=0.05, weight_decay=0.5), {}),
        ("weight_decay=0.5, lr changed to 0.01 before step 3", dict(lr=0.05, weight_decay=0.5),
         dict(lr_change=(3, 0.01))),
        ("float32 parameters, weight_decay=0.1", dict(lr=0.01, weight_decay=0.1), dict(dtype=np.float32)),
    ]
    for case, kwargs, options in cases:
        _run(name, cls, AdamW, case, kwargs, hint, **options)
    passed(name, len(cases), ["default decay", "strong decay", "lr change", "float32"])
