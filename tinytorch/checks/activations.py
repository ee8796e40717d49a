"""Checks for module 02 (activations): each takes the learner's function `f(x: Tensor) -> Tensor`."""

import numpy as np

from .. import seams
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, check_function, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'relu': (
        'keep positive values, replace negative ones with 0, elementwise',
        "the output has exactly the input's shape and dtype",
        'relu(x) = max(x, 0) for each element, returned as a new Tensor',
    ),
    'sigmoid': (
        '1 / (1 + exp(-x)) overflows for very negative x: compute it so no exponent is ever positive',
        'same shape as the input; work on the raw array and wrap the result in a Tensor',
        'with e = exp(-|x|) (always in (0, 1]): for x >= 0 the answer is 1 / (1 + e), for x < 0 it is e / (1 + e)',
    ),
    'tanh': (
        'tanh squashes into (-1, 1); NumPy has it, or build it from your sigmoid',
        'same shape as the input',
        'tanh(x) = 2 sigmoid(2x) - 1',
    ),
    'gelu': (
        'the tanh approximation of GELU: x times a smooth step that goes from 0 to 1',
        'elementwise, same shape as the input; the constant 0.044715 matters for large |x|',
        '0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))',
    ),
    'softmax': (
        'exponentiate and normalize so each slice along dim sums to 1; shift first so nothing overflows',
        'the shift is the maximum of each slice along dim (one per row, not one for the whole array), kept as a size-1 axis so it broadcasts',
        'softmax(x) = exp(x - max) / sum(exp(x - max)), both the max and the sum taken along dim',
    ),
})

exercise = registry.module("02_activations", "Activations")


def _cases():
    rng = np.random.default_rng(2)
    return [
        ("mixed signs (5,)", (Tensor(np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=np.float32)),)),
        ("all zeros (3,)", (Tensor(np.zeros(3, dtype=np.float32)),)),
        ("random (4, 3)", (Tensor(rng.standard_normal((4, 3)).astype(np.float32)),)),
        ("large magnitudes (4,)", (Tensor(np.array([-100.0, -30.0, 30.0, 100.0], dtype=np.float32)),)),
        ("batch (2, 3, 4)", (Tensor(rng.standard_normal((2, 3, 4)).astype(np.float32) * 3),)),
    ]


@exercise("relu", seam="relu")
def check_relu(relu):
    """relu(x) = max(x, 0), elementwise."""
    check_function("relu", relu, seams.tinytorch("relu"), _cases(), hint="negative inputs become 0, the others pass unchanged")


@exercise("sigmoid", seam="sigmoid")
def check_sigmoid(sigmoid):
    """sigmoid(x) = 1 / (1 + exp(-x)), without overflow warnings for large |x|."""
    check_function(
        "sigmoid", sigmoid, seams.tinytorch("sigmoid"), _cases(), strict_float=True,
        hint="for very negative x, exp(-x) overflows: compute with exp(x) / (1 + exp(x)) there",
    )


@exercise("tanh", seam="tanh")
def check_tanh(tanh):
    check_function("tanh", tanh, seams.tinytorch("tanh"), _cases(), hint="tanh of every element, in (-1, 1)")


@exercise("gelu", seam="gelu")
def check_gelu(gelu):
    """gelu(x): the tanh approximation, with its constants exactly as written."""
    name = "gelu"
    hint = "the tanh approximation given above, every constant exactly as written (the cubic term matters for large |x|)"
    reference = seams.tinytorch("gelu")
    # float32 cases allow float32 rounding; in float64 a constant off in its 4th digit (0.0447
    # for 0.044715) moves gelu(-3) by about 0.1 %, which only a tight tolerance sees
    precise = Tensor(np.linspace(-4.0, -1.5, 11))
    cases = [(case, args, 1e-4, 1e-4) for case, args in _cases()]
    cases += [("float64 in [-4, -1.5], where the cubic term shows", (precise,), 1e-9, 1e-5)]
    for case, args, atol, rtol in cases:
        got = run_learner(name, case, gelu, *args, hint=hint)
        assert_close(name, case, got, reference(*args), hint, atol=atol, rtol=rtol)
    passed(name, len(cases), [case for case, *_ in cases])


@exercise("softmax", seam="softmax")
def check_softmax(softmax):
    """softmax(x, dim): positive numbers summing to 1 along dim, stable for large inputs."""
    cases = [(f"{case} dim=-1", (x, -1)) for case, (x,) in _cases()]
    x = _cases()[4][1][0]
    cases += [("batch (2, 3, 4) dim=0", (x, 0)), ("batch (2, 3, 4) dim=1", (x, 1))]
    # one max for the whole array would make every exp of the small row underflow to 0 (0 / 0)
    different = Tensor(np.array([[1000.0, 999.0, 998.0], [1.0, 0.0, -1.0]], dtype=np.float32))
    cases += [("rows of very different scale (2, 3) dim=-1", (different, -1))]
    check_function(
        "softmax", lambda x, dim: softmax(x, dim=dim), lambda x, dim: seams.tinytorch("softmax")(x, dim=dim), cases, strict_float=True,
        hint="subtract the maximum along dim (keepdims=True) before exp, so exp never overflows; sum along the same dim",
    )
