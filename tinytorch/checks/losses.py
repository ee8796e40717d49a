"""Checks for module 04 (losses): the learner's loss functions, written with Tensor operations,
compared with tinytorch's on values and on the gradient with respect to the input."""

import numpy as np

from .. import seams
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, fail, passed
from .tensor import run_hinted

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'mse_loss': (
        'the mean squared error: how far predictions are from targets, squared and averaged',
        'input and target have the same shape; the result is a 0-d tensor (one number)',
        'mean over every element of (input - target)^2',
    ),
    'log_softmax': (
        'log(softmax(x)) computed without ever forming softmax itself, so it cannot underflow to log(0)',
        "subtract each slice's max along dim (a size-1 axis), then the log-sum-exp of the shifted slice, also kept as a size-1 axis",
        'log_softmax(x) = (x - m) - log(sum(exp(x - m))), with m the max along dim',
    ),
    'cross_entropy': (
        'cross-entropy is minus the log probability the model gives to the right class, averaged over the batch',
        'logits are (N, C), targets are N class indices; pick one log-probability per row',
        'mean over rows of -log_softmax(logits)[i, target[i]]',
    ),
    'binary_cross_entropy_with_logits': (
        'the loss of a sigmoid output against a 0/1 target, computed from the logit so exp never overflows',
        'logits and targets have the same shape; the result is their mean',
        'max(x, 0) - x y + log(1 + exp(-|x|)), averaged',
    ),
})

exercise = registry.module("04_losses", "Losses")

_TENSOR_OPS = "use Tensor operations (x - m, .exp(), .sum(dim, keepdim=True), .log(), indexing), not .data, so gradients flow"


def _compare(name, case, learner_fn, reference_fn, x, others=(), hint=None, strict_float=False, grad=True,
             atol=1e-5, rtol=1e-4):
    """Call both on copies of `x` (requiring grad) and `others`; compare values and d/dx."""
    x_mine = Tensor(x.copy(), requires_grad=True)
    x_ref = Tensor(x.copy(), requires_grad=True)
    got = run_hinted(name, case, learner_fn, x_mine, *others, hint=hint, strict_float=strict_float)
    if not isinstance(got, Tensor):
        fail(name, case, f"expected a tinytorch.Tensor, got {type(got).__name__}", "return a Tensor")
    expected = reference_fn(x_ref, *others)
    if got.dtype != expected.dtype:
        fail(name, case, f"expected dtype {expected.dtype}, got {got.dtype}",
             "keep the input's dtype (a float64 constant or np.log of a Python float can upcast)")
    assert_close(name, case, got, expected, hint, atol=atol, rtol=rtol)
    if not grad:
        return
    if not got.requires_grad:
        fail(name, case, "the result does not require grad, so no gradient can reach the input", _TENSOR_OPS)
    rng = np.random.default_rng(0)
    upstream = rng.standard_normal(expected.shape).astype(expected.dtype)
    run_hinted(name, f"{case}, backward", lambda: (got * Tensor(upstream)).sum().backward())
    (expected * Tensor(upstream)).sum().backward()
    if x_mine.grad is None:
        fail(name, f"{case}, gradient", "no gradient reached the input", _TENSOR_OPS)
    assert_close(name, f"{case}, gradient with respect to the input", x_mine.grad, x_ref.grad,
                 hint or _TENSOR_OPS, atol=atol, rtol=rtol)


def _f32(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# ---------------------------------------------------------------------- MSE


@exercise("mse_loss", seam="mse_loss")
def check_mse_loss(mse_loss):
    """mse_loss(input, target): the mean over all elements of (input - target)^2."""
    name = "mse_loss"
    rng = np.random.default_rng(11)
    cases = [
        ("vectors (5,)", _f32(rng, 5), _f32(rng, 5)),
        ("batch (4, 3)", _f32(rng, 4, 3), _f32(rng, 4, 3)),
        ("batch (2, 3, 4)", _f32(rng, 2, 3, 4), _f32(rng, 2, 3, 4)),
        ("equal input and target (3,)", np.ones(3, np.float32), np.ones(3, np.float32)),
        ("one element (1,)", np.array([2.0], np.float32), np.array([-1.0], np.float32)),
        ("large values (6,)", _f32(rng, 6, scale=1e3), _f32(rng, 6, scale=1e3)),
        ("float64 (3, 2)", rng.standard_normal((3, 2)), rng.standard_normal((3, 2))),
    ]
    for case, x, y in cases:
        _compare(name, case, mse_loss, seams.tinytorch("mse_loss"), x, (Tensor(y),),
                 hint="the mean of the squared differences over every element, not the sum")
    passed(name, len(cases), [c for c, _, _ in cases])


# ---------------------------------------------------------------------- log-softmax


@exercise("log_softmax", seam="log_softmax")
def check_log_softmax(log_softmax):
    """log_softmax(x, dim=-1) = x - logsumexp(x, dim), stable for any logits."""
    name = "log_softmax"
    rng = np.random.default_rng(12)
    cases = [
        ("logits (4, 3)", _f32(rng, 4, 3), -1),
        ("one row (1, 5)", _f32(rng, 1, 5), -1),
        ("vector (6,)", _f32(rng, 6), -1),
        ("dim=0 of (3, 4)", _f32(rng, 3, 4), 0),
        ("equal logits (2, 4)", np.zeros((2, 4), np.float32), -1),
        ("large logits [[1000, 0, -1000]]", np.array([[1000.0, 0.0, -1000.0]], np.float32), -1),
        # one max for the whole array would make exp underflow to 0 in the small row: log(0)
        ("rows of very different scale [[1000, 999], [0, -1]]", np.array([[1000.0, 999.0], [0.0, -1.0]], np.float32), -1),
        ("batch (2, 3, 5) * 50", _f32(rng, 2, 3, 5, scale=50), -1),
    ]
    hint = "subtract m = the max of each slice along dim (one per row, as a constant), then subtract the log of the sum of exp of the shifted values along dim"
    for case, x, dim in cases:
        _compare(name, case, lambda t: log_softmax(t, dim=dim), lambda t: seams.tinytorch("log_softmax")(t, dim=dim), x,
                 hint=hint, strict_float=True, atol=1e-4)
    passed(name, len(cases), [c for c, _, _ in cases])


# ---------------------------------------------------------------------- cross-entropy


@exercise("cross_entropy", seam="cross_entropy")
def check_cross_entropy(cross_entropy):
    """cross_entropy(logits (N, C), target (N,) int64): mean over rows of -log_softmax(logits)[i, target[i]]."""
    name = "cross_entropy"
    rng = np.random.default_rng(13)

    def labels(n, c):
        return Tensor(rng.integers(0, c, size=n).astype(np.int64))

    cases = [
        ("logits (4, 3)", _f32(rng, 4, 3), labels(4, 3)),
        ("one example (1, 5)", _f32(rng, 1, 5), Tensor(np.array([2]))),
        ("10 classes (8, 10)", _f32(rng, 8, 10, scale=3), labels(8, 10)),
        ("uniform logits (3, 4): loss log(4)", np.zeros((3, 4), np.float32), labels(3, 4)),
        ("confident and right", np.array([[20.0, 0.0, 0.0]], np.float32), Tensor(np.array([0]))),
        ("confident and wrong", np.array([[20.0, 0.0, 0.0]], np.float32), Tensor(np.array([2]))),
        ("large logits (2, 3) of +-1000", np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]], np.float32),
         Tensor(np.array([1, 2]))),
        ("float64 (5, 4)", rng.standard_normal((5, 4)), labels(5, 4)),
    ]
    hint = ("log_probs = log_softmax(logits, dim=1); pick log_probs[np.arange(N), target.data] (one entry per row, "
            "not log_probs[:, target]) and return minus their mean")
    for case, x, y in cases:
        _compare(name, case, cross_entropy, seams.tinytorch("cross_entropy"), x, (y,), hint=hint, strict_float=True, atol=1e-4)
    passed(name, len(cases), [c for c, _, _ in cases])


# ---------------------------------------------------------------------- binary cross-entropy


@exercise("binary_cross_entropy_with_logits", seam="binary_cross_entropy_with_logits")
def check_binary_cross_entropy_with_logits(bce_with_logits):
    """bce_with_logits(logits, target): mean of -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))],
    computed stably as max(x, 0) - x * y + log(1 + exp(-|x|))."""
    name = "binary_cross_entropy_with_logits"
    rng = np.random.default_rng(14)

    def bits(*shape):
        return Tensor(rng.integers(0, 2, size=shape).astype(np.float32))

    cases = [
        ("logits (8,)", _f32(rng, 8), bits(8)),
        ("batch (4, 3)", _f32(rng, 4, 3, scale=2), bits(4, 3)),
        ("soft targets 0.3 (5,)", _f32(rng, 5), Tensor(np.full(5, 0.3, np.float32))),
        ("large logits (4,) of +-100", np.array([100.0, -100.0, 100.0, -100.0], np.float32),
         Tensor(np.array([1.0, 0.0, 0.0, 1.0], np.float32))),
        ("logits near +-30 (4,)", np.array([30.0, -30.0, 25.0, -25.0], np.float32),
         Tensor(np.array([0.0, 1.0, 1.0, 0.0], np.float32))),
    ]
    hint = ("loss = max(x, 0) - x * y + log(1 + exp(-|x|)): exp only sees values <= 0; "
            "sigmoid followed by log gives log(0) = -inf once sigmoid rounds to 0 or 1")
    for case, x, y in cases:
        _compare(name, case, bce_with_logits, seams.tinytorch("binary_cross_entropy_with_logits"), x, (y,), hint=hint,
                 strict_float=True, atol=1e-4)
    zero = np.array([0.0, 0.0], np.float32)
    _compare(name, "logits exactly 0 (value only)", bce_with_logits, seams.tinytorch("binary_cross_entropy_with_logits"), zero,
             (Tensor(np.array([1.0, 0.0], np.float32)),), hint=hint, strict_float=True, grad=False)
    passed(name, len(cases) + 1, [c for c, _, _ in cases] + ["logits 0"])
