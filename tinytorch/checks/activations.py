"""Checks for module 02 (activations): each takes the learner's function `f(x: Tensor) -> Tensor`."""

import numpy as np

from .. import seams
from ..tensor import Tensor
from ..course import registry
from .core import check_function

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
    check_function("relu", relu, seams.tinytorch("relu"), _cases(), hint="np.maximum(x.data, 0)")


@exercise("sigmoid", seam="sigmoid")
def check_sigmoid(sigmoid):
    """sigmoid(x) = 1 / (1 + exp(-x)), without overflow warnings for large |x|."""
    check_function(
        "sigmoid", sigmoid, seams.tinytorch("sigmoid"), _cases(), strict_float=True,
        hint="for very negative x, exp(-x) overflows: compute with exp(x) / (1 + exp(x)) there",
    )


@exercise("tanh", seam="tanh")
def check_tanh(tanh):
    check_function("tanh", tanh, seams.tinytorch("tanh"), _cases(), hint="np.tanh, or 2 * sigmoid(2x) - 1")


@exercise("gelu", seam="gelu")
def check_gelu(gelu):
    check_function(
        "gelu", gelu, seams.tinytorch("gelu"), _cases(), atol=1e-4,
        hint="0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))",
    )


@exercise("softmax", seam="softmax")
def check_softmax(softmax):
    """softmax(x, dim): positive numbers summing to 1 along dim, stable for large inputs."""
    cases = [(f"{case} dim=-1", (x, -1)) for case, (x,) in _cases()]
    x = _cases()[4][1][0]
    cases += [("batch (2, 3, 4) dim=0", (x, 0)), ("batch (2, 3, 4) dim=1", (x, 1))]
    check_function(
        "softmax", lambda x, dim: softmax(x, dim=dim), lambda x, dim: seams.tinytorch("softmax")(x, dim=dim), cases, strict_float=True,
        hint="subtract the maximum along dim (keepdims=True) before exp, so exp never overflows; sum along the same dim",
    )
